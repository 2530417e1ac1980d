/*
 * test_query.c - the query language against a brute-force reference.
 *
 * A corpus of articles from the bundled Reuters sample, given varied
 * sources, languages, dates and urls, is indexed in several segments (with
 * some articles deleted afterwards). The test tokenises every article with
 * the analyzer itself and answers queries by scanning: words, phrases,
 * proximity windows, prefixes, field scopes, keyword and date filters, and
 * boolean groups with the documented rules (docs/QUERY.md). Hundreds of
 * random queries are rendered as strings, run through nd_search_run and
 * compared: the same match set, the same BM25 scores, facet counts that
 * match and add up, date orders and pages that are right. Then parser
 * errors with their positions, limits on absurd queries, snippets, and
 * nd_date_period.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include <cmocka.h>

#include "analysis/analysis.h"
#include "ingest/ingest.h"
#include "newsdex.h"
#include "testutil.h"

#define SAMPLE ND_SOURCE_DIR "/examples/data/reuters21578-sample.jsonl.gz"
#define N_DOCS 1500
#define N_SEGS 3
#define DAY 86400

/* ---- the corpus -------------------------------------------------------- */

enum { F_TITLE, F_BODY, F_URL, N_TF };

typedef struct tok {
    uint32_t id;  /* interned term */
    uint32_t pos;
} tok;

typedef struct rdoc {
    char *id;
    char *text[N_TF]; /* title, body, url */
    char *source, *lang; /* raw, NULL if absent */
    char *src_norm, *lang_norm; /* normalised, NULL if absent */
    int64_t date;
    int deleted;
    tok *t[N_TF];
    uint32_t nt[N_TF];
    uint32_t *at[N_TF]; /* position -> term id (UINT32_MAX = none) */
    uint32_t npos[N_TF];
} rdoc;

typedef struct vocab {
    char **s;
    uint32_t *len;
    uint32_t n, cap;
    uint32_t *table;
    uint32_t tcap;
} vocab;

static struct {
    char *dir;
    nd_index *ix;
    nd_search *s;
    nd_analyzer *an;
    rdoc d[N_DOCS];
    vocab v;
    uint32_t *df[N_TF];     /* per term, documents (deleted included) */
    uint64_t sum_len[N_TF];
    uint32_t *idtab;        /* id hash -> doc index + 1 */
    uint32_t idcap;
} C;

static const char *SOURCES[] = {"Reuters", "Associated Press", "AFP", "BBC News", "reuters ",
                                "Agence Europe"};
static const char *LANGS[] = {"en", "de", "EN", "fr"};
static const char *SECTIONS[] = {"world", "business", "markets", "politics"};

static uint32_t hstr(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static uint32_t intern(vocab *v, const char *s, size_t n)
{
    if ((v->n + 1) * 2 > v->tcap) {
        uint32_t cap = v->tcap ? v->tcap * 2 : 1024;
        uint32_t *t = calloc(cap, sizeof *t);
        assert_non_null(t);
        for (uint32_t i = 0; i < v->n; i++) {
            uint32_t h = hstr(v->s[i], v->len[i]) & (cap - 1);
            while (t[h])
                h = (h + 1) & (cap - 1);
            t[h] = i + 1;
        }
        free(v->table);
        v->table = t;
        v->tcap = cap;
    }
    uint32_t h = hstr(s, n) & (v->tcap - 1);
    for (uint32_t i; (i = v->table[h]) != 0; h = (h + 1) & (v->tcap - 1))
        if (v->len[i - 1] == n && memcmp(v->s[i - 1], s, n) == 0)
            return i - 1;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 1024;
        v->s = realloc(v->s, v->cap * sizeof *v->s);
        v->len = realloc(v->len, v->cap * sizeof *v->len);
        assert_true(v->s && v->len);
    }
    v->s[v->n] = malloc(n + 1);
    memcpy(v->s[v->n], s, n);
    v->s[v->n][n] = 0;
    v->len[v->n] = (uint32_t)n;
    v->table[h] = ++v->n;
    return v->n - 1;
}

typedef struct tokv {
    tok *t;
    uint32_t n, cap;
} tokv;

static int on_tok(void *ctx, const nd_token *t)
{
    tokv *v = ctx;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 64;
        v->t = realloc(v->t, v->cap * sizeof *v->t);
        assert_non_null(v->t);
    }
    v->t[v->n].id = intern(&C.v, t->term, t->len);
    v->t[v->n].pos = t->pos;
    v->n++;
    return 0;
}

static char *dup_n(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = malloc(n + 1);
    assert_non_null(p);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static char *norm_keyword(const char *s)
{
    if (!s)
        return NULL;
    nd_buf b = {0};
    assert_int_equal(analyzer_keyword(C.an, s, strlen(s), &b), 0);
    char *r = b.len && b.len <= ND_MAX_TERM_BYTES ? dup_n((const char *)b.data, b.len) : NULL;
    buf_free(&b);
    return r;
}

static void analyse_doc(rdoc *d)
{
    for (int f = 0; f < N_TF; f++) {
        tokv v = {0};
        const char *s = d->text[f] ? d->text[f] : "";
        assert_true(analyzer_run(C.an, s, strlen(s), on_tok, &v) >= 0);
        d->t[f] = v.t;
        d->nt[f] = v.n;
        uint32_t maxpos = v.n ? v.t[v.n - 1].pos + 1 : 0;
        d->npos[f] = maxpos;
        d->at[f] = malloc((maxpos ? maxpos : 1) * sizeof *d->at[f]);
        for (uint32_t i = 0; i < maxpos; i++)
            d->at[f][i] = UINT32_MAX;
        for (uint32_t i = 0; i < v.n; i++)
            d->at[f][v.t[i].pos] = v.t[i].id;
    }
    d->src_norm = norm_keyword(d->source);
    d->lang_norm = norm_keyword(d->lang);
}

static int64_t doc_index(const char *id, size_t n)
{
    uint32_t h = hstr(id, n) & (C.idcap - 1);
    for (uint32_t i; (i = C.idtab[h]) != 0; h = (h + 1) & (C.idcap - 1))
        if (strlen(C.d[i - 1].id) == n && memcmp(C.d[i - 1].id, id, n) == 0)
            return i - 1;
    return -1;
}

static void load_corpus(uint64_t *seed)
{
    gzFile g = gzopen(SAMPLE, "rb");
    assert_non_null(g);
    size_t cap = 4 << 20;
    char *line = malloc(cap);
    nd_buf scratch = {0};
    assert_non_null(line);
    for (int i = 0; i < N_DOCS; i++) {
        assert_non_null(gzgets(g, line, (int)cap));
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        nd_doc doc;
        char err[256];
        assert_int_equal(json_parse_article(line, n, &scratch, &doc, err, sizeof err), ND_OK);
        rdoc *d = &C.d[i];
        d->id = dup_n(doc.id, doc.id_len);
        d->text[F_TITLE] = dup_n(doc.title ? doc.title : "", doc.title_len);
        d->text[F_BODY] = dup_n(doc.body ? doc.body : "", doc.body_len);
        uint64_t r = tu_rand(seed);
        /* a url made of a section and a few title words */
        char url[512];
        int k = snprintf(url, sizeof url, "https://news.example.com/%s/", SECTIONS[r % 4]);
        for (size_t c = 0; doc.title && c < doc.title_len && k < 200; c++) {
            char ch = doc.title[c];
            url[k++] = (char)((ch >= 'A' && ch <= 'Z') ? ch + 32 : (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ? ch : '-');
        }
        url[k] = 0;
        d->text[F_URL] = (r >> 8) % 10 ? dup_n(url, strlen(url)) : NULL;
        uint64_t rs = (r >> 16) % 8;
        d->source = rs < 6 ? dup_n(SOURCES[rs], strlen(SOURCES[rs])) : NULL;
        uint64_t rl = (r >> 24) % 6;
        d->lang = rl < 4 ? dup_n(LANGS[rl], strlen(LANGS[rl])) : NULL;
        /* dates over 2017-2020, some at midnight, some undated */
        if ((r >> 32) % 12 == 0) {
            d->date = ND_NO_DATE;
        } else {
            int64_t day0 = days_from_civil(2017, 1, 1);
            int64_t span = days_from_civil(2021, 1, 1) - day0;
            uint64_t r2 = tu_rand(seed);
            d->date = (day0 + (int64_t)(r2 % (uint64_t)span)) * DAY +
                      ((r2 >> 20) % 3 ? (int64_t)((r2 >> 24) % DAY) : 0);
        }
    }
    free(line);
    buf_free(&scratch);
    gzclose(g);
}

static nd_doc as_nd_doc(const rdoc *d)
{
    nd_doc x;
    memset(&x, 0, sizeof x);
    x.id = d->id;
    x.id_len = strlen(d->id);
    x.title = d->text[F_TITLE];
    x.title_len = strlen(d->text[F_TITLE]);
    x.body = d->text[F_BODY];
    x.body_len = strlen(d->text[F_BODY]);
    if (d->text[F_URL]) {
        x.url = d->text[F_URL];
        x.url_len = strlen(d->text[F_URL]);
    }
    if (d->source) {
        x.source = d->source;
        x.source_len = strlen(d->source);
    }
    if (d->lang) {
        x.lang = d->lang;
        x.lang_len = strlen(d->lang);
    }
    x.date = d->date;
    return x;
}

static int setup(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed1234abcdULL;
    nd_err e;
    memset(&C, 0, sizeof C);
    assert_int_equal(analyzer_open(&C.an, &e), 0);
    load_corpus(&seed);
    for (int i = 0; i < N_DOCS; i++)
        analyse_doc(&C.d[i]);
    C.idcap = 4096;
    C.idtab = calloc(C.idcap, sizeof *C.idtab);
    for (uint32_t i = 0; i < N_DOCS; i++) {
        uint32_t h = hstr(C.d[i].id, strlen(C.d[i].id)) & (C.idcap - 1);
        while (C.idtab[h])
            h = (h + 1) & (C.idcap - 1);
        C.idtab[h] = i + 1;
    }
    /* document frequencies and lengths over every document ever added */
    for (int f = 0; f < N_TF; f++) {
        C.df[f] = calloc(C.v.n, sizeof *C.df[f]);
        uint32_t *last = calloc(C.v.n, sizeof *last);
        for (uint32_t i = 0; i < N_DOCS; i++) {
            C.sum_len[f] += C.d[i].nt[f];
            for (uint32_t k = 0; k < C.d[i].nt[f]; k++) {
                uint32_t t = C.d[i].t[f][k].id;
                if (last[t] != i + 1) {
                    last[t] = i + 1;
                    C.df[f][t]++;
                }
            }
        }
        free(last);
    }
    /* the index: N_SEGS commits, then deletions */
    C.dir = tu_mkdtemp();
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, C.dir, NULL), ND_OK);
    for (int i = 0; i < N_DOCS; i++) {
        nd_doc x = as_nd_doc(&C.d[i]);
        assert_int_equal(nd_writer_add(w, &x), ND_OK);
        if ((i + 1) % (N_DOCS / N_SEGS) == 0)
            assert_int_equal(nd_writer_commit(w), ND_OK);
    }
    for (int i = 0; i < N_DOCS; i++)
        if (tu_rand(&seed) % 20 == 0) {
            C.d[i].deleted = 1;
            assert_int_equal(nd_writer_delete(w, C.d[i].id, strlen(C.d[i].id)), ND_OK);
        }
    assert_int_equal(nd_writer_commit(w), ND_OK);
    nd_writer_free(w);
    assert_int_equal(nd_index_open(&C.ix, C.dir, NULL, NULL, 0), ND_OK);
    assert_int_equal(nd_search_open(&C.s, C.ix), ND_OK);
    nd_index_stats st;
    nd_index_stats_get(C.ix, &st);
    assert_true(st.segments >= 2);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nd_search_free(C.s);
    nd_index_free(C.ix);
    tu_rmrf(C.dir);
    free(C.dir);
    for (int i = 0; i < N_DOCS; i++) {
        rdoc *d = &C.d[i];
        free(d->id);
        free(d->source);
        free(d->lang);
        free(d->src_norm);
        free(d->lang_norm);
        for (int f = 0; f < N_TF; f++) {
            free(d->text[f]);
            free(d->t[f]);
            free(d->at[f]);
        }
    }
    for (uint32_t i = 0; i < C.v.n; i++)
        free(C.v.s[i]);
    free(C.v.s);
    free(C.v.len);
    free(C.v.table);
    for (int f = 0; f < N_TF; f++)
        free(C.df[f]);
    free(C.idtab);
    analyzer_free(C.an);
    return 0;
}

/* ---- the reference ------------------------------------------------------ */

enum { L_WORD, L_PHRASE, L_PREFIX, L_SOURCE, L_LANG, L_DATE };
enum { G_AND, G_OR, G_SIDE }; /* explicit AND, explicit OR, side by side */
enum { M_NONE, M_PLUS, M_MINUS, M_NOT };
enum { O_SHOULD, O_MUST, O_NOT, O_FILTER };
#define FIELDS_ANY (-1)

typedef struct qn {
    int leaf; /* 1: leaf */
    /* leaf */
    int kind, field;
    uint32_t w[6];   /* term ids (word, phrase) */
    uint32_t nw, slop;
    char text[300];  /* prefix bytes, keyword value */
    int64_t lo, hi;
    /* group */
    int op;
    int n;
    struct qn *kid[4];
    int mod[4];
} qn;

typedef struct res {
    uint8_t m[N_DOCS];
    double sc[N_DOCS];
    int filter;
} res;

/* Combined-field BM25 with k1 0.9, b 0.4, title weight 2 (README): one
 * field's pseudo-frequency, and the saturated score of a word. */
static double ptf(int f, uint32_t tf, uint32_t len)
{
    static const double W[N_TF] = {2.0, 1.0, 1.0};
    double avg = (double)C.sum_len[f] / N_DOCS;
    double norm = avg > 0 ? len / avg : 0;
    return W[f] * tf / (0.6 + 0.4 * norm);
}

/* df: of the one field searched, or the larger of title and body */
static double bm25(double df, double p)
{
    double N = N_DOCS;
    double idf = log(1.0 + (N - df + 0.5) / (df + 0.5));
    return p > 0 ? idf * p * 1.9 / (p + 0.9) : 0;
}

static double word_df(const int *fs, int nf, uint32_t t)
{
    double df = 0;
    for (int k = 0; k < nf; k++)
        df = C.df[fs[k]][t] > df ? C.df[fs[k]][t] : df;
    return df;
}

static uint32_t tf_of(const rdoc *d, int f, uint32_t t)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < d->nt[f]; k++)
        n += d->t[f][k].id == t;
    return n;
}

static int nfields(int field, int out[2])
{
    if (field == FIELDS_ANY) {
        out[0] = F_TITLE;
        out[1] = F_BODY;
        return 2;
    }
    out[0] = field;
    return 1;
}

static int phrase_in(const rdoc *d, int f, const qn *x)
{
    uint32_t np = d->npos[f];
    if (x->slop == 0) {
        for (uint32_t p = 0; p + x->nw <= np; p++) {
            uint32_t k = 0;
            while (k < x->nw && d->at[f][p + k] == x->w[k])
                k++;
            if (k == x->nw)
                return 1;
        }
        return 0;
    }
    uint32_t win = x->nw - 1 + x->slop;
    for (uint32_t p = 0; p < np; p++) {
        int ok = 1;
        for (uint32_t k = 0; k < x->nw && ok; k++) {
            uint32_t need = 0, have = 0;
            for (uint32_t j = 0; j < x->nw; j++)
                need += x->w[j] == x->w[k];
            for (uint32_t q = p; q <= p + win && q < np; q++)
                have += d->at[f][q] == x->w[k];
            ok = have >= need;
        }
        if (ok)
            return 1;
    }
    return 0;
}

static int has_prefix(uint32_t t, const char *pre)
{
    size_t n = strlen(pre);
    return C.v.len[t] >= n && memcmp(C.v.s[t], pre, n) == 0;
}

static void eval_leaf(const qn *x, res *r)
{
    int fs[2], nf = nfields(x->field, fs);
    r->filter = x->kind >= L_SOURCE;
    for (uint32_t i = 0; i < N_DOCS; i++) {
        const rdoc *d = &C.d[i];
        int m = 0;
        double sc = 0;
        switch (x->kind) {
        case L_WORD: {
            double p = 0;
            for (int k = 0; k < nf; k++) {
                uint32_t tf = tf_of(d, fs[k], x->w[0]);
                if (tf) {
                    m = 1;
                    p += ptf(fs[k], tf, d->nt[fs[k]]);
                }
            }
            sc = bm25(word_df(fs, nf, x->w[0]), p);
            break;
        }
        case L_PHRASE:
            for (int k = 0; k < nf; k++)
                if (phrase_in(d, fs[k], x)) {
                    m = 1;
                    for (uint32_t j = 0; j < x->nw; j++)
                        sc += bm25(word_df(fs, nf, x->w[j]),
                                   ptf(fs[k], tf_of(d, fs[k], x->w[j]), d->nt[fs[k]]));
                }
            break;
        case L_PREFIX:
            for (int k = 0; k < nf; k++) {
                /* every distinct word of the field with the prefix */
                int f = fs[k];
                for (uint32_t a = 0; a < d->nt[f]; a++) {
                    uint32_t t = d->t[f][a].id;
                    if (!has_prefix(t, x->text))
                        continue;
                    int first = 1;
                    for (uint32_t b = 0; b < a && first; b++)
                        first = d->t[f][b].id != t;
                    m = 1;
                    if (first)
                        sc += bm25(C.df[f][t], ptf(f, tf_of(d, f, t), d->nt[f]));
                }
            }
            break;
        case L_SOURCE:
            m = d->src_norm && strcmp(d->src_norm, x->text) == 0;
            break;
        case L_LANG:
            m = d->lang_norm && strcmp(d->lang_norm, x->text) == 0;
            break;
        default:
            m = d->date != ND_NO_DATE && d->date >= x->lo && d->date <= x->hi;
            break;
        }
        r->m[i] = (uint8_t)m;
        r->sc[i] = m ? sc : 0;
    }
}

static void eval(const qn *x, int default_and, res *r);

/* A group by the rules of docs/QUERY.md. */
static void eval_group(const qn *x, int default_and, res *r)
{
    res *k = calloc((size_t)x->n, sizeof *k);
    int occ[4], fil[4], n = x->n;
    int is_or = x->op == G_OR || (x->op == G_SIDE && !default_and);
    int links = x->op == G_OR; /* explicit ORs between the clauses */
    for (int i = 0; i < n; i++) {
        eval(x->kid[i], default_and, &k[i]);
        fil[i] = k[i].filter;
        int m = x->mod[i];
        occ[i] = m == M_MINUS || m == M_NOT ? O_NOT : is_or && m == M_NONE ? O_SHOULD : O_MUST;
    }
    /* SHOULD filters joined to a neighbour by OR are alternatives: one filter */
    int ored[4] = {0}, n_ored = 0;
    for (int i = 0; i < n; i++) {
        ored[i] = is_or && links && fil[i] && occ[i] == O_SHOULD;
        n_ored += ored[i];
    }
    int chain_only = n_ored == n;
    if (n_ored >= 2 && !chain_only) {
        int out = 0, first = -1;
        for (int i = 0; i < n; i++) {
            if (ored[i] && first >= 0) {
                for (int dd = 0; dd < N_DOCS; dd++)
                    k[first].m[dd] |= k[i].m[dd];
                continue;
            }
            if (out != i) {
                k[out] = k[i];
                occ[out] = occ[i];
                fil[out] = fil[i];
            }
            if (ored[i])
                first = out;
            out++;
        }
        n = out;
    }
    int scoring = 0, has_must = 0, has_should = 0, positive = 0;
    for (int i = 0; i < n; i++) {
        if (!chain_only && fil[i] && occ[i] != O_NOT)
            occ[i] = O_FILTER;
        if (occ[i] != O_NOT) {
            positive = 1;
            scoring |= !fil[i];
        }
        has_must |= occ[i] == O_MUST;
        has_should |= occ[i] == O_SHOULD;
    }
    r->filter = !scoring;
    for (int dd = 0; dd < N_DOCS; dd++) {
        int ok = 1, any = 0;
        double sc = 0;
        for (int i = 0; i < n; i++) {
            int m = k[i].m[dd];
            if ((occ[i] == O_MUST || occ[i] == O_FILTER) && !m)
                ok = 0;
            if (occ[i] == O_NOT && m)
                ok = 0;
            if (occ[i] == O_SHOULD && m)
                any = 1;
            if ((occ[i] == O_MUST || occ[i] == O_SHOULD) && m)
                sc += k[i].sc[dd];
        }
        if (has_should && !has_must && !any)
            ok = 0;
        (void)positive;
        r->m[dd] = (uint8_t)ok;
        r->sc[dd] = ok ? sc : 0;
    }
    free(k);
}

static void eval(const qn *x, int default_and, res *r)
{
    if (x->leaf)
        eval_leaf(x, r);
    else
        eval_group(x, default_and, r);
}

/* The whole query: a root group of exclusions only matches nothing. */
static void eval_root(const qn *x, int default_and, res *r)
{
    eval(x, default_and, r);
    if (!x->leaf) {
        int positive = 0;
        for (int i = 0; i < x->n; i++)
            positive |= x->mod[i] != M_MINUS && x->mod[i] != M_NOT;
        if (!positive)
            memset(r->m, 0, sizeof r->m);
    }
}

/* ---- random queries ----------------------------------------------------------- */

typedef struct gen {
    uint64_t seed;
    char *buf;
    size_t len, cap;
} gen;

static void out(gen *g, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(g->buf + g->len, g->cap - g->len, fmt, ap);
        va_end(ap);
        if ((size_t)n < g->cap - g->len) {
            g->len += (size_t)n;
            return;
        }
        g->cap = g->cap * 2 + (size_t)n + 64;
        g->buf = realloc(g->buf, g->cap);
        assert_non_null(g->buf);
    }
}

static uint32_t rnd(gen *g, uint32_t n)
{
    return (uint32_t)(tu_rand(&g->seed) % n);
}

/* Is the term safe to write as a bare word (it analyses to itself)? */
static int writable(uint32_t t)
{
    const char *s = C.v.s[t];
    if (strchr(s, ':') || strchr(s, '*') || strchr(s, '"'))
        return 0;
    tokv v = {0};
    analyzer_run(C.an, s, C.v.len[t], on_tok, &v);
    int same = v.n == 1 && v.t[0].id == t;
    free(v.t);
    return same;
}

/* A random (document, field, token index) with a writable term. */
static int pick_token(gen *g, int field, uint32_t *doc, uint32_t *k)
{
    for (int tries = 0; tries < 200; tries++) {
        uint32_t d = rnd(g, N_DOCS);
        int f = field == FIELDS_ANY ? (rnd(g, 3) ? F_BODY : F_TITLE) : field;
        if (C.d[d].nt[f] == 0)
            continue;
        uint32_t i = rnd(g, C.d[d].nt[f]);
        if (!writable(C.d[d].t[f][i].id))
            continue;
        *doc = d;
        *k = i;
        return f;
    }
    return -1;
}

static void date_text(gen *g, int64_t day, int gran, char *buf, size_t n)
{
    (void)g;
    char tmp[48];
    nd_date_format(tmp, sizeof tmp, day * DAY);
    size_t keep = gran == 0 ? 4 : gran == 1 ? 7 : 10;
    snprintf(buf, n, "%.*s", (int)keep, tmp);
}

static int64_t period_first(const char *s)
{
    int64_t t;
    assert_int_equal(nd_date_parse(&t, s, strlen(s)), ND_OK);
    return t;
}

static int64_t period_last(const char *s)
{
    unsigned y = (unsigned)atoi(s), m = 1, d = 1;
    size_t n = strlen(s);
    if (n >= 7)
        m = (unsigned)atoi(s + 5);
    if (n >= 10)
        d = (unsigned)atoi(s + 8);
    int64_t next;
    if (n == 4)
        next = days_from_civil(y + 1, 1, 1);
    else if (n == 7)
        next = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
    else
        next = days_from_civil(y, m, d) + 1;
    return next * DAY - 1;
}

static const char *FIELD_NAMES[N_TF] = {"title", "body", "url"};

static qn *gen_leaf(gen *g)
{
    qn *x = calloc(1, sizeof *x);
    x->leaf = 1;
    uint32_t r = rnd(g, 100);
    int field = FIELDS_ANY;
    uint32_t sc = rnd(g, 10);
    if (sc == 0)
        field = F_TITLE;
    else if (sc == 1)
        field = F_BODY;
    else if (sc == 2)
        field = F_URL;
    x->field = field;
    const char *fp = "";
    char fbuf[16];
    if (field != FIELDS_ANY) {
        snprintf(fbuf, sizeof fbuf, "%s:", FIELD_NAMES[field]);
        fp = fbuf;
    }
    uint32_t d, k;
    if (r < 40) { /* a word */
        int f = pick_token(g, field, &d, &k);
        if (f < 0)
            goto keyword;
        x->kind = L_WORD;
        x->w[0] = C.d[d].t[f][k].id;
        x->nw = 1;
        out(g, "%s%s", fp, C.v.s[x->w[0]]);
        return x;
    }
    if (r < 62) { /* a phrase or a proximity window */
        int f = pick_token(g, field, &d, &k);
        if (f < 0)
            goto keyword;
        uint32_t want = 2 + rnd(g, 2), n = 0;
        int prox = (int)rnd(g, 2);
        x->slop = prox ? rnd(g, 5) : 0;
        /* consecutive tokens for a phrase; tokens a little apart for a window */
        for (uint32_t i = k; i < C.d[d].nt[f] && n < want; i += prox ? 1 + rnd(g, 2) : 1) {
            if (!writable(C.d[d].t[f][i].id))
                break;
            if (!prox && i > k && C.d[d].t[f][i].pos != C.d[d].t[f][i - 1].pos + 1)
                break;
            x->w[n++] = C.d[d].t[f][i].id;
        }
        if (n < 2) {
            x->kind = L_WORD;
            x->w[0] = C.d[d].t[f][k].id;
            x->nw = 1;
            out(g, "%s%s", fp, C.v.s[x->w[0]]);
            return x;
        }
        if (prox && rnd(g, 2)) { /* reversed */
            for (uint32_t i = 0; i < n / 2; i++) {
                uint32_t t = x->w[i];
                x->w[i] = x->w[n - 1 - i];
                x->w[n - 1 - i] = t;
            }
        }
        if (!prox && rnd(g, 8) == 0)
            x->w[n - 1] = x->w[0]; /* often a phrase that is not in the text */
        x->nw = n;
        x->kind = L_PHRASE;
        out(g, "%s\"", fp);
        for (uint32_t i = 0; i < n; i++)
            out(g, i ? " %s" : "%s", C.v.s[x->w[i]]);
        if (prox)
            out(g, "\"~%u", x->slop);
        else
            out(g, "\"");
        return x;
    }
    if (r < 72) { /* a prefix */
        for (int tries = 0; tries < 50; tries++) {
            int f = pick_token(g, field, &d, &k);
            if (f < 0)
                break;
            const char *s = C.v.s[C.d[d].t[f][k].id];
            size_t len = strlen(s), plen = 3 + rnd(g, 3);
            int ascii = 1;
            for (size_t i = 0; i < len; i++)
                ascii &= (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');
            if (!ascii || len < plen)
                continue;
            memcpy(x->text, s, plen);
            x->text[plen] = 0;
            /* stay well below the expansion limit */
            uint32_t count = 0;
            for (uint32_t t = 0; t < C.v.n; t++)
                count += has_prefix(t, x->text);
            if (count > 600)
                continue;
            x->kind = L_PREFIX;
            out(g, "%s%s*", fp, x->text);
            return x;
        }
    }
keyword:
    x->field = FIELDS_ANY;
    if (r < 82) {
        uint32_t s = rnd(g, 7);
        const char *v = s < 6 ? SOURCES[s] : "Nonexistent Agency";
        char *nv = norm_keyword(v);
        x->kind = L_SOURCE;
        snprintf(x->text, sizeof x->text, "%s", nv);
        free(nv);
        if (strchr(v, ' ') && v[strlen(v) - 1] != ' ')
            out(g, "source:\"%s\"", v);
        else if (strchr(v, ' '))
            out(g, "source:%.*s", (int)strlen(v) - 1, v);
        else
            out(g, "source:%s", v);
        return x;
    }
    if (r < 88) {
        const char *v = LANGS[rnd(g, 4)];
        char *nv = norm_keyword(v);
        x->kind = L_LANG;
        snprintf(x->text, sizeof x->text, "%s", nv);
        free(nv);
        out(g, "lang:%s", v);
        return x;
    }
    /* a date or a range */
    x->kind = L_DATE;
    int64_t day0 = days_from_civil(2016, 6, 1);
    int64_t a = day0 + rnd(g, 1800), b = a + rnd(g, 700);
    char da[32], db[32];
    date_text(g, a, (int)rnd(g, 3), da, sizeof da);
    date_text(g, b, (int)rnd(g, 3), db, sizeof db);
    switch (rnd(g, 4)) {
    case 0:
        x->lo = period_first(da);
        x->hi = period_last(da);
        out(g, "date:%s", da);
        break;
    case 1:
        x->lo = period_first(da);
        x->hi = INT64_MAX;
        out(g, "date:%s..", da);
        break;
    case 2:
        x->lo = INT64_MIN;
        x->hi = period_last(db);
        out(g, "date:..%s", db);
        break;
    default:
        if (period_first(da) > period_last(db)) {
            x->lo = period_first(db);
            x->hi = period_last(da);
            out(g, "date:%s..%s", db, da);
        } else {
            x->lo = period_first(da);
            x->hi = period_last(db);
            out(g, "date:%s..%s", da, db);
        }
        break;
    }
    return x;
}

static qn *gen_tree(gen *g, int depth, int root)
{
    if (depth == 0 || (!root && rnd(g, 100) < 45))
        return gen_leaf(g);
    qn *x = calloc(1, sizeof *x);
    x->op = (int)rnd(g, 3);
    x->n = 2 + (int)rnd(g, 3);
    if (!root)
        out(g, "(");
    for (int i = 0; i < x->n; i++) {
        if (i)
            out(g, x->op == G_AND ? " AND " : x->op == G_OR ? " OR " : " ");
        uint32_t m = rnd(g, 10);
        x->mod[i] = m < 7 ? M_NONE : m == 7 ? M_PLUS : m == 8 ? M_MINUS : M_NOT;
        out(g, x->mod[i] == M_PLUS ? "+" : x->mod[i] == M_MINUS ? "-" : x->mod[i] == M_NOT ? "NOT " : "");
        x->kid[i] = gen_tree(g, depth - 1, 0);
    }
    if (!root)
        out(g, ")");
    return x;
}

static void free_tree(qn *x)
{
    if (!x->leaf)
        for (int i = 0; i < x->n; i++)
            free_tree(x->kid[i]);
    free(x);
}

/* ---- comparing ------------------------------------------------------------------ */

static int64_t hit_doc(const nd_hit *h)
{
    int64_t d = doc_index(h->id, h->id_len);
    assert_true(d >= 0);
    return d;
}

static void day_key(int64_t date, int gran, char *buf, size_t n)
{
    char tmp[48];
    int64_t day = date / DAY - (date % DAY < 0);
    nd_date_format(tmp, sizeof tmp, day * DAY);
    size_t keep = gran == 0 ? 10 : gran == 1 ? 7 : 4;
    snprintf(buf, n, "%.*s", (int)keep, tmp);
}

/* Facet counts of h against the reference match set m. */
static void check_facets(const nd_hits *h, const uint8_t *m, uint64_t total, const char *q)
{
    uint64_t sum = 0;
    size_t nb = nd_hits_facet_count(h, ND_FACET_SOURCE);
    for (size_t b = 0; b < nb; b++) {
        const char *key;
        size_t kl;
        uint64_t c, want = 0;
        assert_int_equal(nd_hits_facet_get(h, ND_FACET_SOURCE, b, &key, &kl, &c), ND_OK);
        char *raw = dup_n(key, kl), *nk = norm_keyword(raw);
        for (int i = 0; i < N_DOCS; i++)
            want += m[i] && C.d[i].src_norm && nk && strcmp(C.d[i].src_norm, nk) == 0;
        if (c != want)
            fail_msg("query %s: source %s: %llu, reference %llu", q, raw, (unsigned long long)c,
                     (unsigned long long)want);
        if (b > 0) {
            const char *pk;
            size_t pl;
            uint64_t pc;
            nd_hits_facet_get(h, ND_FACET_SOURCE, b - 1, &pk, &pl, &pc);
            assert_true(pc >= c);
        }
        free(raw);
        free(nk);
        sum += c;
    }
    assert_int_equal(sum + nd_hits_facet_missing(h, ND_FACET_SOURCE), total);
    static const unsigned BITS[3] = {ND_FACET_DAY, ND_FACET_MONTH, ND_FACET_YEAR};
    for (int gran = 0; gran < 3; gran++) {
        sum = 0;
        nb = nd_hits_facet_count(h, BITS[gran]);
        char prev[32] = "";
        for (size_t b = 0; b < nb; b++) {
            const char *key;
            size_t kl;
            uint64_t c, want = 0;
            assert_int_equal(nd_hits_facet_get(h, BITS[gran], b, &key, &kl, &c), ND_OK);
            assert_int_equal(kl, gran == 0 ? 10 : gran == 1 ? 7 : 4);
            char k[32];
            snprintf(k, sizeof k, "%.*s", (int)kl, key);
            assert_true(strcmp(prev, k) < 0);
            memcpy(prev, k, sizeof prev);
            for (int i = 0; i < N_DOCS; i++) {
                if (!m[i] || C.d[i].date == ND_NO_DATE)
                    continue;
                char dk[32];
                day_key(C.d[i].date, gran, dk, sizeof dk);
                want += strcmp(dk, k) == 0;
            }
            if (c != want)
                fail_msg("query %s: date %s: %llu, reference %llu", q, k, (unsigned long long)c,
                         (unsigned long long)want);
            sum += c;
        }
        assert_int_equal(sum + nd_hits_facet_missing(h, BITS[gran]), total);
    }
}

static int close_to(double a, double b)
{
    return fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b)) + 1e-12;
}

static void check_query(const char *q, const qn *tree, int default_and, int64_t since,
                        int64_t until, int with_facets, int qi)
{
    res *r = calloc(1, sizeof *r);
    eval_root(tree, default_and, r);
    uint64_t want = 0;
    for (int i = 0; i < N_DOCS; i++) {
        if (C.d[i].deleted ||
            ((since != ND_NO_DATE || until != ND_NO_DATE) &&
             (C.d[i].date == ND_NO_DATE || (since != ND_NO_DATE && C.d[i].date < since) ||
              (until != ND_NO_DATE && C.d[i].date > until))))
            r->m[i] = 0;
        want += r->m[i];
    }
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.default_op = default_and ? ND_OP_AND : ND_OP_OR;
    o.since = since;
    o.until = until;
    o.snippets = 0;
    if (with_facets)
        o.facets = ND_FACET_SOURCE | ND_FACET_DAY | ND_FACET_MONTH | ND_FACET_YEAR;
    nd_hits *h;
    int rc = nd_search_run(C.s, &h, q, ND_MAX_K, &o);
    if (rc)
        fail_msg("query %d '%s': %s", qi, q, nd_search_errmsg(C.s));
    if (nd_hits_total(h) != want) {
        for (size_t i = 0; i < nd_hits_count(h); i++) {
            nd_hit hit;
            nd_hits_get(h, i, &hit);
            int64_t d = hit_doc(&hit);
            if (!r->m[d]) {
                fprintf(stderr, "  engine only: %s\n", C.d[d].id);
                break;
            }
        }
        fail_msg("query %d '%s' (default %s): %llu matches, reference %llu", qi, q,
                 default_and ? "AND" : "OR", (unsigned long long)nd_hits_total(h),
                 (unsigned long long)want);
    }
    assert_int_equal(nd_hits_count(h), want < ND_MAX_K ? want : ND_MAX_K);
    double prev = INFINITY;
    for (size_t i = 0; i < nd_hits_count(h); i++) {
        nd_hit hit;
        assert_int_equal(nd_hits_get(h, i, &hit), ND_OK);
        int64_t d = hit_doc(&hit);
        if (!r->m[d])
            fail_msg("query '%s': %s is not a match", q, C.d[d].id);
        if (!close_to(hit.score, r->sc[d]))
            fail_msg("query '%s': %s scores %.12f, reference %.12f", q, C.d[d].id, hit.score,
                     r->sc[d]);
        assert_true(hit.score <= prev);
        prev = hit.score;
        assert_int_equal(hit.date, C.d[d].date);
    }
    if (with_facets)
        check_facets(h, r->m, want, q);
    if (getenv("ND_QUERY_TRACE"))
        fprintf(stderr, "%4d %-5s %6llu  %s\n", qi, default_and ? "AND" : "OR",
                (unsigned long long)want, q);
    nd_hits_free(h);
    free(r);
}

static void test_query_random_against_reference(void **state)
{
    (void)state;
    gen g = {0x1234567ULL, NULL, 0, 0};
    g.cap = 256;
    g.buf = malloc(g.cap);
    int n_queries = 450;
    clock_t t0 = clock();
    for (int qi = 0; qi < n_queries; qi++) {
        g.len = 0;
        g.buf[0] = 0;
        int depth = qi < 60 ? 0 : qi % 5 == 0 ? 3 : 1 + (int)rnd(&g, 2);
        qn *tree = gen_tree(&g, depth, 1);
        int default_and = rnd(&g, 4) == 0;
        int64_t since = ND_NO_DATE, until = ND_NO_DATE;
        if (rnd(&g, 8) == 0) {
            since = days_from_civil(2018, 1 + rnd(&g, 12), 1) * DAY;
            until = since + (int64_t)rnd(&g, 600) * DAY;
        }
        check_query(g.buf, tree, default_and, since, until, qi % 3 == 0, qi);
        free_tree(tree);
    }
    free(g.buf);
    fprintf(stderr, "  %d random queries checked in %.2f s\n", n_queries,
            (double)(clock() - t0) / CLOCKS_PER_SEC);
}

/* Explicit precedence against the grouping it stands for. */
static uint64_t total_of(const char *q, int default_op)
{
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.default_op = default_op;
    o.count_only = 1;
    nd_hits *h;
    int rc = nd_search_run(C.s, &h, q, 10, &o);
    if (rc)
        fail_msg("'%s': %s", q, nd_search_errmsg(C.s));
    uint64_t t = nd_hits_total(h);
    nd_hits_free(h);
    return t;
}

static void same(const char *a, const char *b, int default_op)
{
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.default_op = default_op;
    o.snippets = 0;
    nd_hits *ha, *hb;
    assert_int_equal(nd_search_run(C.s, &ha, a, ND_MAX_K, &o), ND_OK);
    assert_int_equal(nd_search_run(C.s, &hb, b, ND_MAX_K, &o), ND_OK);
    if (nd_hits_total(ha) != nd_hits_total(hb))
        fail_msg("'%s' (%llu) and '%s' (%llu) differ", a, (unsigned long long)nd_hits_total(ha),
                 b, (unsigned long long)nd_hits_total(hb));
    uint8_t *seen = calloc(N_DOCS, 1);
    for (size_t i = 0; i < nd_hits_count(ha); i++) {
        nd_hit x;
        nd_hits_get(ha, i, &x);
        seen[hit_doc(&x)] = 1;
    }
    for (size_t i = 0; i < nd_hits_count(hb); i++) {
        nd_hit x;
        nd_hits_get(hb, i, &x);
        if (!seen[hit_doc(&x)])
            fail_msg("'%s' and '%s' differ", a, b);
    }
    free(seen);
    nd_hits_free(ha);
    nd_hits_free(hb);
}

static void test_query_precedence(void **state)
{
    (void)state;
    same("oil OR gas AND prices", "oil OR (gas AND prices)", ND_OP_OR);
    same("oil gas AND prices", "oil OR (gas AND prices)", ND_OP_OR);
    same("oil gas OR prices", "(oil AND gas) OR prices", ND_OP_AND);
    same("NOT oil AND gas", "(NOT oil) AND gas", ND_OP_OR);
    same("oil AND NOT gas OR prices", "(oil AND (NOT gas)) OR prices", ND_OP_OR);
    same("oil -gas", "oil AND NOT gas", ND_OP_OR);
    same("+oil gas", "oil", ND_OP_OR);
    same("oil (NOT gas)", "oil -gas", ND_OP_OR);
    same("NOT NOT oil", "oil", ND_OP_OR);
    same("oil oil oil", "oil", ND_OP_OR);
    same("((((oil))))", "oil", ND_OP_OR);
    same("oil - gas", "oil gas", ND_OP_OR);
    same("oil AND gas", "oil gas", ND_OP_AND);
    same("source:reuters oil", "oil AND source:reuters", ND_OP_OR);
    same("oil OR source:reuters", "oil AND source:reuters", ND_OP_OR);
    same("source:reuters lang:en", "source:reuters AND lang:en", ND_OP_OR);
    same("source:reuters OR source:afp oil", "(source:reuters OR source:afp) AND oil", ND_OP_OR);
    same("source:afp OR source:reuters OR date:2018 oil",
         "(source:afp OR source:reuters OR date:2018) AND oil", ND_OP_OR);
    same("\"oil prices\"~0", "\"oil prices\"", ND_OP_OR);
    same("\"oil\"", "oil", ND_OP_OR);
    same("Title:oil", "title:oil", ND_OP_OR);
    same("title:(oil OR gas)", "title:oil OR title:gas", ND_OP_OR);
    same("date:2018-01-01..2018-12-31", "date:2018", ND_OP_OR);
    same("date:2018-03..2018-03", "date:2018-03", ND_OP_OR);
    same("date:..2017 OR date:2018.. ", "date:2016..2030", ND_OP_OR);
    assert_int_equal(total_of("-oil", ND_OP_OR), 0);
    assert_int_equal(total_of("NOT oil", ND_OP_OR), 0);
    assert_int_equal(total_of("-oil -gas", ND_OP_AND), 0);
    assert_true(total_of("source:reuters -oil", ND_OP_OR) > 0);
    /* a lone filter matches all it lets through: 2 of 6 sources normalise to reuters */
    uint64_t all = 0;
    for (int i = 0; i < N_DOCS; i++)
        all += !C.d[i].deleted && C.d[i].src_norm && strcmp(C.d[i].src_norm, "reuters") == 0;
    assert_int_equal(total_of("source:Reuters", ND_OP_OR), all);
    assert_int_equal(total_of("source:REUTERS", ND_OP_AND), all);
}

/* ---- errors and limits --------------------------------------------------------- */

static void expect_error(const char *q, int code, size_t off, const char *col)
{
    nd_hits *h = (nd_hits *)1;
    int rc = nd_search_run(C.s, &h, q, 10, NULL);
    if (rc != code)
        fail_msg("'%s': %d (%s), expected %d", q, rc, nd_search_errmsg(C.s), code);
    assert_null(h);
    if (nd_search_error_offset(C.s) != off)
        fail_msg("'%s': offset %zu, expected %zu (%s)", q, nd_search_error_offset(C.s), off,
                 nd_search_errmsg(C.s));
    if (col && !strstr(nd_search_errmsg(C.s), col))
        fail_msg("'%s': message '%s' lacks '%s'", q, nd_search_errmsg(C.s), col);
}

static void test_query_syntax_errors(void **state)
{
    (void)state;
    expect_error("oil AND", ND_ESYNTAX, 4, "column 5:");
    expect_error("oil AND (gas", ND_ESYNTAX, 8, "column 9:");
    expect_error("oil)", ND_ESYNTAX, 3, "column 4:");
    expect_error("\"oil prices", ND_ESYNTAX, 0, "column 1:");
    expect_error("oil \"gas\"~", ND_ESYNTAX, 9, "column 10:");
    expect_error("title:", ND_ESYNTAX, 0, "column 1:");
    expect_error("oil title: gas", ND_ESYNTAX, 4, "column 5:");
    expect_error("()", ND_ESYNTAX, 0, NULL);
    expect_error("OR oil", ND_ESYNTAX, 0, NULL);
    expect_error("oil OR", ND_ESYNTAX, 4, NULL);
    expect_error("oil OR AND gas", ND_ESYNTAX, 4, NULL);
    expect_error("NOT", ND_ESYNTAX, 0, NULL);
    expect_error("oil NOT", ND_ESYNTAX, 4, NULL);
    expect_error("date:2019-13", ND_ESYNTAX, 5, "column 6:");
    expect_error("oil date:2019..2018", ND_ESYNTAX, 9, NULL);
    expect_error("date:2019..x", ND_ESYNTAX, 11, "column 12:");
    expect_error("date:..", ND_ESYNTAX, 5, NULL);
    expect_error("date:\"2019\"", ND_ESYNTAX, 5, NULL);
    expect_error("source:\"x\"~2", ND_ESYNTAX, 7, NULL);
    expect_error("\xc3\xa9t\xc3\xa9 AND", ND_ESYNTAX, 6, "column 5:"); /* columns count characters */
    expect_error("...", ND_ESYNTAX, 0, NULL);
    expect_error("abc-def*", ND_ESYNTAX, 0, NULL);
    /* limits */
    expect_error("oil ab*", ND_ELIMIT, 4, "column 5:");
    expect_error("title:x*", ND_ELIMIT, 6, NULL);
    expect_error("\"a b\"~100001", ND_ELIMIT, 5, NULL);
    /* a successful run clears the position */
    nd_hits *h;
    assert_int_equal(nd_search_run(C.s, &h, "oil", 10, NULL), ND_OK);
    assert_int_equal(nd_search_error_offset(C.s), ND_NO_OFFSET);
    nd_hits_free(h);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *repeat(const char *unit, size_t times, const char *pre, const char *post)
{
    size_t u = strlen(unit), lpre = strlen(pre), lpost = strlen(post);
    char *s = malloc(lpre + u * times + lpost + 1), *p = s;
    assert_non_null(s);
    memcpy(p, pre, lpre);
    p += lpre;
    for (size_t i = 0; i < times; i++, p += u)
        memcpy(p, unit, u);
    memcpy(p, post, lpost + 1);
    return s;
}

static void test_query_absurd_queries(void **state)
{
    (void)state;
    char *open100 = repeat("(", 100, "", ""), *close100 = repeat(")", 100, "", "");
    char *close120 = repeat(")", 120, "b", "");
    struct {
        char *q;
        int code;
    } cases[] = {
        {repeat("(", 1000, "", "oil"), ND_ELIMIT},
        {repeat("(", 100, "", "oil"), ND_ESYNTAX}, /* never closed */
        {repeat("oil ", 10000, "", ""), ND_ELIMIT},
        {repeat("NOT ", 1000, "", "oil"), ND_ELIMIT},
        {repeat("-", 1000, "", "oil"), ND_ELIMIT},
        {repeat("x", 1 << 20, "", ""), ND_ELIMIT},
        {repeat("\"", 1001, "", ""), ND_ESYNTAX},
        {repeat(" OR oil", 1000, "gas", ""), ND_OK},
        {repeat(" AND oil", 1000, "gas", ""), ND_OK},
        {repeat("the ", 1000, "\"", "\""), ND_OK},
        {repeat("the ", 1000, "\"", "\"~100000"), ND_OK},
        {repeat("oil", 1, open100, close100), ND_OK},
        {repeat(" OR pri*", 200, "oil", ""), ND_OK},
        {repeat("(a OR ", 120, "", close120), ND_OK},
        {repeat(" date:2018", 500, "oil", ""), ND_OK},
        {repeat(" -gas", 500, "oil", ""), ND_OK},
        {repeat("x", 300, "word", ""), ND_ESYNTAX}, /* one word, too long to be indexed */
    };
    free(open100);
    free(close100);
    free(close120);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double t0 = seconds();
        nd_hits *h = NULL;
        int rc = nd_search_run(C.s, &h, cases[i].q, 10, NULL);
        double dt = seconds() - t0;
        if (rc != cases[i].code)
            fail_msg("absurd query %zu (%.60s...): %d (%s), expected %d", i, cases[i].q, rc,
                     nd_search_errmsg(C.s), cases[i].code);
        if (rc)
            assert_true(strlen(nd_search_errmsg(C.s)) > 0);
        if (dt > 5.0)
            fail_msg("absurd query %zu took %.1f s", i, dt);
        nd_hits_free(h);
        free(cases[i].q);
    }
}

/* Random sequences of syntax pieces: a clean answer or a positioned error,
 * never a crash (a small fuzzer that runs with every test run). */
static void test_query_garbage(void **state)
{
    (void)state;
    static const char *P[] = {"(", ")", "\"", "~", "~3", "*", ":", "title:", "source:", "lang:",
                              "date:", "date:2019..", "..", "2018-03", "AND", "OR", "NOT", "+",
                              "-", "oil", "gas", "pri*", "prices", " ", " ", " ", "\xc3\xa9",
                              "\xff", "url:", "body:(", "\t", "x*", "\"oil prices\"~2", "and"};
    uint64_t seed = 77;
    char q[512];
    int ok = 0, bad = 0;
    for (int i = 0; i < 3000; i++) {
        size_t n = 0, pieces = 1 + tu_rand(&seed) % 14;
        for (size_t k = 0; k < pieces; k++) {
            const char *x = P[tu_rand(&seed) % (sizeof P / sizeof P[0])];
            size_t l = strlen(x);
            if (n + l + 1 >= sizeof q)
                break;
            memcpy(q + n, x, l);
            n += l;
        }
        q[n] = 0;
        nd_search_opts o = ND_SEARCH_OPTS_INIT;
        o.default_op = i % 2 ? ND_OP_AND : ND_OP_OR;
        o.facets = i % 5 == 0 ? ND_FACET_SOURCE | ND_FACET_MONTH : 0;
        nd_hits *h;
        int rc = nd_search_run(C.s, &h, q, 5, &o);
        if (rc == ND_OK) {
            ok++;
            nd_hits_free(h);
            continue;
        }
        bad++;
        if (rc != ND_ESYNTAX && rc != ND_ELIMIT)
            fail_msg("'%s': %d (%s)", q, rc, nd_search_errmsg(C.s));
        size_t off = nd_search_error_offset(C.s);
        if (off == ND_NO_OFFSET || off > n || !strstr(nd_search_errmsg(C.s), "column "))
            fail_msg("'%s': offset %zu, message '%s'", q, off, nd_search_errmsg(C.s));
    }
    assert_true(ok > 300 && bad > 300);
}

/* A prefix over the expansion limit, in a small index of its own. */
static void test_query_prefix_limit(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    for (int i = 0; i < 1100; i++) {
        char id[32], body[64];
        snprintf(id, sizeof id, "p%d", i);
        snprintf(body, sizeof body, "zqx%04d and zqy%d", i, i % 10);
        nd_doc d = {.id = id, .id_len = strlen(id), .body = body, .body_len = strlen(body),
                    .date = ND_NO_DATE};
        assert_int_equal(nd_writer_add(w, &d), ND_OK);
    }
    assert_int_equal(nd_writer_commit(w), ND_OK);
    nd_writer_free(w);
    nd_index *ix;
    nd_search *s;
    nd_hits *h;
    assert_int_equal(nd_index_open(&ix, dir, NULL, NULL, 0), ND_OK);
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    assert_int_equal(nd_search_run(s, &h, "zqy1 OR zqx*", 10, NULL), ND_ELIMIT);
    assert_int_equal(nd_search_error_offset(s), 8);
    assert_non_null(strstr(nd_search_errmsg(s), "zqx*"));
    assert_int_equal(nd_search_run(s, &h, "zqx01*", 10, NULL), ND_OK); /* 100 words */
    assert_int_equal(nd_hits_total(h), 100);
    nd_hits_free(h);
    assert_int_equal(nd_search_run(s, &h, "zqy*", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 1100);
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}

/* ---- results ------------------------------------------------------------------- */

static void test_query_date_sort_and_pages(void **state)
{
    (void)state;
    const char *queries[] = {"oil OR gas", "date:2018..2019", "prices -oil", "source:afp"};
    for (size_t qi = 0; qi < 4; qi++) {
        for (int sort = ND_SORT_DATE_ASC; sort <= ND_SORT_DATE_DESC; sort++) {
            nd_search_opts o = ND_SEARCH_OPTS_INIT;
            o.sort = sort;
            o.snippets = 0;
            nd_hits *h;
            assert_int_equal(nd_search_run(C.s, &h, queries[qi], ND_MAX_K, &o), ND_OK);
            size_t n = nd_hits_count(h);
            assert_true(n > 10);
            assert_int_equal(n, nd_hits_total(h));
            nd_hit prev, cur;
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(nd_hits_get(h, i, &cur), ND_OK);
                if (i > 0) {
                    if (prev.date == ND_NO_DATE) {
                        assert_int_equal(cur.date, ND_NO_DATE); /* undated last */
                    } else if (cur.date != ND_NO_DATE && cur.date != prev.date) {
                        assert_true(sort == ND_SORT_DATE_ASC ? cur.date > prev.date
                                                             : cur.date < prev.date);
                    } else if (cur.date == prev.date) {
                        assert_true(cur.score <= prev.score); /* ties by relevance */
                    }
                }
                prev = cur;
            }
            /* pages of the same order */
            nd_search_opts p = o;
            p.offset = 7;
            nd_hits *page;
            assert_int_equal(nd_search_run(C.s, &page, queries[qi], 5, &p), ND_OK);
            assert_int_equal(nd_hits_count(page), 5);
            for (size_t i = 0; i < 5; i++) {
                nd_hit a, b;
                nd_hits_get(h, 7 + i, &a);
                nd_hits_get(page, i, &b);
                assert_int_equal(a.id_len, b.id_len);
                assert_memory_equal(a.id, b.id, a.id_len);
            }
            nd_hits_free(page);
            nd_hits_free(h);
        }
    }
}

static void test_query_count_and_since_until(void **state)
{
    (void)state;
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    nd_hits *h;
    o.count_only = 1;
    o.facets = ND_FACET_MONTH;
    assert_int_equal(nd_search_run(C.s, &h, "oil OR prices", 10, &o), ND_OK);
    uint64_t total = nd_hits_total(h);
    assert_true(total > 0);
    assert_int_equal(nd_hits_count(h), 0);
    assert_true(nd_hits_facet_count(h, ND_FACET_MONTH) > 0);
    assert_int_equal(nd_hits_facet_count(h, ND_FACET_SOURCE), 0);
    const char *key;
    size_t kl;
    uint64_t c;
    assert_int_equal(nd_hits_facet_get(h, ND_FACET_SOURCE, 0, &key, &kl, &c), ND_EINVAL);
    nd_hits_free(h);
    assert_int_equal(total_of("oil OR prices", ND_OP_OR), total);
    /* since/until = the same date: filter */
    int64_t a, b, x, y;
    assert_int_equal(nd_date_period(&a, &x, "2018-02", 7), ND_OK);
    assert_int_equal(nd_date_period(&y, &b, "2019-06-15", 10), ND_OK);
    o = (nd_search_opts)ND_SEARCH_OPTS_INIT;
    o.since = a;
    o.until = b;
    o.count_only = 1;
    assert_int_equal(nd_search_run(C.s, &h, "oil OR prices", 10, &o), ND_OK);
    assert_int_equal(nd_hits_total(h), total_of("(oil OR prices) date:2018-02..2019-06-15", 0));
    nd_hits_free(h);
    o.since = b + 1;
    o.until = a;
    assert_int_equal(nd_search_run(C.s, &h, "oil", 10, &o), ND_OK);
    assert_int_equal(nd_hits_total(h), 0);
    nd_hits_free(h);
    /* bad options */
    o = (nd_search_opts)ND_SEARCH_OPTS_INIT;
    o.sort = 7;
    assert_int_equal(nd_search_run(C.s, &h, "oil", 10, &o), ND_EINVAL);
    o.sort = 0;
    o.facets = 64;
    assert_int_equal(nd_search_run(C.s, &h, "oil", 10, &o), ND_EINVAL);
    o.facets = 0;
    o.default_op = 5;
    assert_int_equal(nd_search_run(C.s, &h, "oil", 10, &o), ND_EINVAL);
}

static void test_query_deleted_are_invisible(void **state)
{
    (void)state;
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.facets = ND_FACET_SOURCE | ND_FACET_YEAR;
    o.snippets = 0;
    nd_hits *h;
    /* every live article through a filter-only query */
    assert_int_equal(
        nd_search_run(C.s, &h, "date:1000..9999 OR (NOT date:1000..9999)", ND_MAX_K, &o), ND_OK);
    uint64_t live = 0;
    for (int i = 0; i < N_DOCS; i++)
        live += !C.d[i].deleted;
    assert_true(live < N_DOCS);
    assert_int_equal(nd_hits_total(h), live);
    for (size_t i = 0; i < nd_hits_count(h); i++) {
        nd_hit x;
        nd_hits_get(h, i, &x);
        assert_false(C.d[hit_doc(&x)].deleted);
    }
    nd_hits_free(h);
    /* a deleted article's own words */
    for (int i = 0; i < N_DOCS; i++) {
        if (!C.d[i].deleted)
            continue;
        char q[300];
        snprintf(q, sizeof q, "url:\"%s\"", C.d[i].text[F_URL] ? C.d[i].text[F_URL] : "none");
        assert_int_equal(nd_search_run(C.s, &h, q, ND_MAX_K, &o), ND_OK);
        for (size_t k = 0; k < nd_hits_count(h); k++) {
            nd_hit x;
            nd_hits_get(h, k, &x);
            assert_false(C.d[hit_doc(&x)].deleted);
        }
        nd_hits_free(h);
    }
}

static void test_query_snippets_mark_query_words(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    const char *body = "Huawei said its 5G network equipment met security rules in Britain, "
                       "while critics of Huawei's security record disagreed.";
    nd_doc d = {.id = "h1", .id_len = 2, .title = "Huawei and 5G", .title_len = 13,
                .body = body, .body_len = strlen(body), .date = ND_NO_DATE};
    assert_int_equal(nd_writer_add(w, &d), ND_OK);
    assert_int_equal(nd_writer_commit(w), ND_OK);
    nd_writer_free(w);
    nd_index *ix;
    nd_search *s;
    nd_hits *h;
    assert_int_equal(nd_index_open(&ix, dir, NULL, NULL, 0), ND_OK);
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    assert_int_equal(
        nd_search_run(s, &h, "\"security rules\" huaw* -ericsson NOT (britain AND nokia)", 10, NULL),
        ND_OK);
    assert_int_equal(nd_hits_total(h), 1);
    nd_hit x;
    assert_int_equal(nd_hits_get(h, 0, &x), ND_OK);
    const char *want[] = {"Huawei", "security", "rules", "Huawei's", "security"};
    assert_int_equal(x.n_marks, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(x.marks[i].len, strlen(want[i]));
        assert_memory_equal(x.snippet + x.marks[i].start, want[i], x.marks[i].len);
    }
    nd_hits_free(h);
    /* proximity and field scopes */
    assert_int_equal(nd_search_run(s, &h, "\"critics rules\"~3", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 1);
    nd_hits_free(h);
    assert_int_equal(nd_search_run(s, &h, "\"critics rules\"~2", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 0);
    nd_hits_free(h);
    assert_int_equal(nd_search_run(s, &h, "title:5g AND body:\"5g network\"", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 1);
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}

static void test_query_date_period(void **state)
{
    (void)state;
    int64_t a, b;
    assert_int_equal(nd_date_period(&a, &b, "2019", 4), ND_OK);
    assert_int_equal(a, 1546300800);
    assert_int_equal(b, 1577836799);
    assert_int_equal(nd_date_period(&a, &b, "2019-02", 7), ND_OK);
    assert_int_equal(b - a + 1, 28 * DAY);
    assert_int_equal(nd_date_period(&a, &b, "2020-02", 7), ND_OK);
    assert_int_equal(b - a + 1, 29 * DAY);
    assert_int_equal(nd_date_period(&a, &b, "2019-12", 7), ND_OK);
    assert_int_equal(b + 1, 1577836800);
    assert_int_equal(nd_date_period(&a, &b, "2019-03-14", 10), ND_OK);
    assert_int_equal(b - a + 1, DAY);
    assert_int_equal(nd_date_period(&a, &b, "2019-03-14T09:30:00Z", 20), ND_OK);
    assert_int_equal(a, b);
    assert_int_equal(nd_date_period(&a, &b, "2019-03-14T09:30:00+01:00", 25), ND_OK);
    assert_int_equal(a % DAY, 8 * 3600 + 30 * 60);
    assert_int_equal(nd_date_period(&a, &b, "9999", 4), ND_OK);
    assert_int_equal(nd_date_period(&a, &b, "2019-13", 7), ND_EINVAL);
    assert_int_equal(nd_date_period(&a, &b, "19", 2), ND_EINVAL);
    assert_int_equal(nd_date_period(&a, &b, "", 0), ND_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_random_against_reference),
        cmocka_unit_test(test_query_precedence),
        cmocka_unit_test(test_query_syntax_errors),
        cmocka_unit_test(test_query_absurd_queries),
        cmocka_unit_test(test_query_garbage),
        cmocka_unit_test(test_query_prefix_limit),
        cmocka_unit_test(test_query_date_sort_and_pages),
        cmocka_unit_test(test_query_count_and_since_until),
        cmocka_unit_test(test_query_deleted_are_invisible),
        cmocka_unit_test(test_query_snippets_mark_query_words),
        cmocka_unit_test(test_query_date_period),
    };
    return cmocka_run_group_tests_name("query", tests, setup, teardown);
}
