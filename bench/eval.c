/*
 * eval.c - ranking quality on a judged test collection: indexes the
 * articles into a temporary newsdex index (and, with --fts5, an SQLite FTS5
 * table in memory), runs every query for its top 1000, and prints nDCG@10,
 * MAP, P@10 and Recall@100 per engine as Markdown table rows.
 *
 *   eval --collection NAME CORPUS.jsonl.gz... QUERIES.tsv QRELS
 *        [--k1 X] [--b X] [--title-weight X] [--body-weight X]
 *        [--concat] [--fts5] [--xapian] [--header] [--run PREFIX]
 *
 * QUERIES has `qid<TAB>text` lines, QRELS TREC `qid 0 docid rel` lines.
 * Each query is searched as plain words: the runs of [A-Za-z0-9] in its
 * text, lower-cased (so no word is read as an operator) and joined by
 * spaces - OR for newsdex (its default operator), `"w1" OR "w2" ...` for
 * FTS5. Both engines index the same title and body of every article; FTS5
 * uses tokenize='unicode61' ('porter unicode61' when newsdex stems) and
 * bm25(t), whose k1 = 1.2 and b = 0.75 are
 * fixed by SQLite. Means are taken over every query of QUERIES that has at
 * least one relevant judgement (a query with no results scores 0), like
 * trec_eval -c. --concat indexes each article as one field (body = title,
 * a line break, body; no title), so that newsdex ranks it like the
 * single-field BM25 of Anserini's baselines (and of FTS5, whose bm25()
 * pools the columns of a row). --xapian (when built with libxapian-dev) adds
 * Xapian on the same articles: no stemming, title and body pooled with the
 * title's wdf = the title weight, BM25Weight with the same k1 and b as
 * newsdex. --run PREFIX also writes the TREC runs to PREFIX.newsdex.run,
 * PREFIX.fts5.run and PREFIX.xapian.run, for cross-checking with trec_eval.
 * Options are listed in one table (opt_defs) so that a new one is one row.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "eval_metrics.h"
#include "ingest/ingest.h"
#include "newsdex.h"
#include "util/util.h"
#ifdef ND_HAVE_XAPIAN
#include "xapian_driver.h"
#endif

#define EV_DEPTH 1000 /* results per query */

static void die(const char *fmt, const char *a)
{
    fprintf(stderr, "eval: ");
    fprintf(stderr, fmt, a);
    fputc('\n', stderr);
    exit(1);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die("%s", "out of memory");
    return q;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xrealloc(NULL, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- queries and judgements ------------------------------------------ */

typedef struct query {
    char *qid;
    char *text;         /* the plain-word query: "w1 w2 ..." */
    ev_judgment *judg;  /* its judgements */
    size_t nj, capj;
} query;

typedef struct topics {
    query *q;
    size_t n, cap;
} topics;

/* Keeps the runs of [A-Za-z0-9], lower-cased, joined by single spaces. */
static char *plain_words(const char *s, size_t n)
{
    char *out = xrealloc(NULL, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                          (s[i] >= '0' && s[i] <= '9')))
            i++;
        if (i == n)
            break;
        if (o)
            out[o++] = ' ';
        while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                         (s[i] >= '0' && s[i] <= '9'))) {
            char c = s[i++];
            out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
    }
    out[o] = '\0';
    return out;
}

static query *find_query(topics *t, const char *qid)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->q[i].qid, qid) == 0)
            return &t->q[i];
    return NULL;
}

static void read_queries(topics *t, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open %s", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        /* A third column (query type) is not part of the text. */
        char *end = strchr(tab + 1, '\t');
        size_t tlen = end ? (size_t)(end - tab - 1) : strlen(tab + 1);
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 64;
            t->q = xrealloc(t->q, t->cap * sizeof *t->q);
        }
        query *q = &t->q[t->n++];
        memset(q, 0, sizeof *q);
        q->qid = xstrndup(line, (size_t)(tab - line));
        q->text = plain_words(tab + 1, tlen);
    }
    free(line);
    fclose(f);
}

static void read_qrels(topics *t, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open %s", path);
    char qid[256], iter[64], docid[256];
    int rel;
    while (fscanf(f, "%255s %63s %255s %d", qid, iter, docid, &rel) == 4) {
        query *q = find_query(t, qid);
        if (!q)
            continue; /* judged but not in the query file */
        if (q->nj == q->capj) {
            q->capj = q->capj ? q->capj * 2 : 16;
            q->judg = xrealloc(q->judg, q->capj * sizeof *q->judg);
        }
        q->judg[q->nj].docid = xstrndup(docid, strlen(docid));
        q->judg[q->nj].rel = rel;
        q->nj++;
    }
    fclose(f);
}

/* ---- scores -------------------------------------------------------------- */

typedef struct totals {
    double ndcg10, ap, p10, r100;
    size_t queries; /* with at least one relevant judgement */
    size_t empty;   /* of those, with no results */
} totals;

static void score_query(totals *s, const query *q, const char *const *ranked, size_t n)
{
    if (ev_num_relevant(q->judg, q->nj) == 0)
        return;
    s->queries++;
    if (n == 0)
        s->empty++;
    s->ndcg10 += ev_ndcg_at(ranked, n, q->judg, q->nj, 10);
    s->ap += ev_average_precision(ranked, n, q->judg, q->nj);
    s->p10 += ev_precision_at(ranked, n, q->judg, q->nj, 10);
    s->r100 += ev_recall_at(ranked, n, q->judg, q->nj, 100);
}

static void print_row(const char *collection, const char *engine, const char *params,
                      const totals *s)
{
    double n = s->queries ? (double)s->queries : 1.0;
    printf("| %s | %s | %s | %zu | %.4f | %.4f | %.4f | %.4f |\n", collection, engine, params,
           s->queries, s->ndcg10 / n, s->ap / n, s->p10 / n, s->r100 / n);
    fflush(stdout);
}

static void write_run(FILE *run, const char *qid, const char *const *ranked,
                      const double *score, size_t n, const char *tag)
{
    if (!run)
        return;
    for (size_t i = 0; i < n; i++)
        fprintf(run, "%s Q0 %s %zu %.6f %s\n", qid, ranked[i], i + 1, score[i], tag);
}

/* ---- the temporary index ---------------------------------------------- */

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0 && errno == EISDIR)
            remove_dir(path);
    }
    closedir(d);
    rmdir(dir);
}

static void sql_check(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "eval: sqlite: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0';
}

/* ---- options -------------------------------------------------------------- */

typedef struct eval_opts {
    const char *collection, *run_prefix;
    nd_bm25 bm25;
    int fts5, xapian, header, concat;
    const char *stem; /* newsdex index setting: a Snowball algorithm, or NULL */
    int stop;         /* newsdex index setting: Lucene's 33 English stop words */
    int anserini;     /* the Anserini BM25 baseline: porter, stop words, one field, 0.9/0.4 */
} eval_opts;

/* One row per option: adding an option is adding a row (and its field). */
typedef enum { OPT_FLAG, OPT_DOUBLE, OPT_STRING } opt_kind;
typedef struct opt_def {
    const char *name;
    opt_kind kind;
    size_t offset; /* of the target in eval_opts */
    const char *help;
} opt_def;

#define OPT(name, kind, field, help) {name, kind, offsetof(eval_opts, field), help}
static const opt_def opt_defs[] = {
    OPT("--collection", OPT_STRING, collection, "NAME (required): the first table column"),
    OPT("--k1", OPT_DOUBLE, bm25.k1, "X: newsdex BM25 k1 (and Xapian's)"),
    OPT("--b", OPT_DOUBLE, bm25.b, "X: newsdex BM25 b (and Xapian's)"),
    OPT("--title-weight", OPT_DOUBLE, bm25.title_weight, "X: newsdex title weight (Xapian: wdf)"),
    OPT("--body-weight", OPT_DOUBLE, bm25.body_weight, "X: newsdex body weight"),
    OPT("--concat", OPT_FLAG, concat, ": title and body as one field"),
    OPT("--stem", OPT_STRING, stem, "NAME: newsdex stemmer (english, porter, ...; index setting)"),
    OPT("--stopwords", OPT_FLAG, stop, ": newsdex drops Lucene's 33 English stop words"),
    OPT("--anserini", OPT_FLAG, anserini,
        ": Anserini's BM25 set-up: --stem porter --stopwords --concat --k1 0.9 --b 0.4"),
    OPT("--fts5", OPT_FLAG, fts5, ": also SQLite FTS5"),
    OPT("--xapian", OPT_FLAG, xapian, ": also Xapian (when built with it)"),
    OPT("--header", OPT_FLAG, header, ": print the table header first"),
    OPT("--run", OPT_STRING, run_prefix, "PREFIX: write TREC runs PREFIX.ENGINE.run"),
};
#define N_OPTS (sizeof opt_defs / sizeof opt_defs[0])

static void usage(void)
{
    fprintf(stderr, "usage: eval --collection NAME CORPUS.jsonl.gz... QUERIES.tsv QRELS [options]\n");
    for (size_t i = 0; i < N_OPTS; i++)
        fprintf(stderr, "  %s %s\n", opt_defs[i].name, opt_defs[i].help);
    exit(2);
}

/* Fills o from argv; the other arguments go to pos (npos of them). */
static void parse_args(int argc, char **argv, eval_opts *o, const char **pos, int *npos)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const opt_def *d = NULL;
        for (size_t k = 0; k < N_OPTS && !d; k++)
            if (strcmp(a, opt_defs[k].name) == 0)
                d = &opt_defs[k];
        if (!d) {
            if (a[0] == '-' && a[1] == '-')
                usage();
            pos[(*npos)++] = a;
            continue;
        }
        char *field = (char *)o + d->offset;
        if (d->kind == OPT_FLAG) {
            *(int *)(void *)field = 1;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (d->kind == OPT_STRING)
            *(const char **)(void *)field = v;
        else if (!parse_double(v, (double *)(void *)field))
            usage();
    }
}

#ifdef ND_HAVE_XAPIAN
typedef struct xap_hits {
    const char **ranked;
    double *score;
    size_t n;
} xap_hits;

static void xap_collect(void *ctx, const char *id, size_t id_len, double score)
{
    xap_hits *h = ctx;
    if (h->n == EV_DEPTH)
        return;
    h->ranked[h->n] = xstrndup(id, id_len);
    h->score[h->n] = score;
    h->n++;
}
#endif

int main(int argc, char **argv)
{
    eval_opts opt = {NULL, NULL, ND_BM25_DEFAULTS, 0, 0, 0, 0, NULL, 0, 0};
    const char **pos = xrealloc(NULL, (size_t)argc * sizeof *pos);
    int npos = 0;
    parse_args(argc, argv, &opt, pos, &npos);
    if (opt.anserini) {
        opt.stem = "porter";
        opt.stop = 1;
        opt.concat = 1; /* k1 0.9, b 0.4 are the defaults; --k1/--b still apply */
    }
    const char *collection = opt.collection, *run_prefix = opt.run_prefix;
    nd_bm25 bm25 = opt.bm25;
    int use_fts5 = opt.fts5, header = opt.header, concat = opt.concat;
#ifdef ND_HAVE_XAPIAN
    int use_xapian = opt.xapian;
#else
    if (opt.xapian)
        die("%s", "--xapian: this eval was built without Xapian (libxapian-dev not found)");
#endif
    if (!collection || npos < 3)
        usage();
    int ncorpus = npos - 2;
    const char *queries_path = pos[npos - 2], *qrels_path = pos[npos - 1];

    topics t = {0};
    read_queries(&t, queries_path);
    read_qrels(&t, qrels_path);

    /* Index into newsdex (and FTS5) in one pass over the articles. */
    char dir[] = "/tmp/nd-eval-XXXXXX";
    if (!mkdtemp(dir))
        die("cannot create a temporary directory: %s", strerror(errno));
    nd_writer *w;
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    wo.stemmer = opt.stem;
    wo.stopwords = opt.stop ? ND_STOPWORDS_EN_LUCENE33 : NULL;
    char werr[512];
    int rc = nd_writer_open_err(&w, dir, &wo, werr, sizeof werr);
    if (rc)
        die("nd_writer_open: %s", werr);

    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    char **fts_ids = NULL; /* rowid - 1 -> article id */
    size_t n_fts = 0, cap_fts = 0;
    double fts_index_sec = 0.0;
    if (use_fts5) {
        sql_check(db, sqlite3_open(":memory:", &db), "open");
        /* with a newsdex stemmer, FTS5 gets its own (Porter) stemmer too */
        sql_check(db,
                  sqlite3_exec(db,
                               opt.stem ? "CREATE VIRTUAL TABLE t USING fts5(title, body, "
                                          "tokenize='porter unicode61'); BEGIN;"
                                        : "CREATE VIRTUAL TABLE t USING fts5(title, body, "
                                          "tokenize='unicode61'); BEGIN;",
                               NULL, NULL, NULL),
                  "create table");
        sql_check(db,
                  sqlite3_prepare_v2(db, "INSERT INTO t(rowid, title, body) VALUES (?1, ?2, ?3)",
                                     -1, &ins, NULL),
                  "prepare insert");
    }

#ifdef ND_HAVE_XAPIAN
    /* Xapian: one TermGenerator without stemming over title and body, the
     * title with a wdf increment of the title weight (rounded; Xapian pools
     * the fields), in a temporary on-disk database. */
    char xdir[] = "/tmp/nd-eval-xapian-XXXXXX";
    xd_db *xw = NULL;
    double xap_index_sec = 0.0;
    char xerr[512];
    if (use_xapian) {
        if (!mkdtemp(xdir))
            die("cannot create a temporary directory: %s", strerror(errno));
        double tw = bm25.title_weight < 1 ? 1 : floor(bm25.title_weight + 0.5);
        if (tw != bm25.title_weight && !concat)
            fprintf(stderr, "eval: Xapian title wdf is an integer: %g used for %g\n", tw,
                    bm25.title_weight);
        if (xd_open_writer(&xw, xdir, (unsigned)tw, xerr, sizeof xerr))
            die("%s", xerr);
    }
#endif
    double t0 = now_sec(), nd_index_sec = 0.0;
    uint64_t docs = 0, bad = 0;
    nd_buf scratch = {0}, joined = {0};
    for (int c = 0; c < ncorpus; c++) {
        nd_err e = {{0}};
        line_reader *r;
        if (line_reader_open(&r, pos[c], &e))
            die("%s", e.msg);
        const char *line;
        size_t len;
        while ((rc = line_reader_next(r, &line, &len, &e)) == ND_OK || rc == ND_ELIMIT) {
            if (rc == ND_ELIMIT) {
                bad++;
                continue;
            }
            nd_doc d;
            char why[256];
            if (len == 0)
                continue;
            if (json_parse_article(line, len, &scratch, &d, why, sizeof why)) {
                bad++;
                continue;
            }
            if (concat) {
                buf_reset(&joined);
                if (d.title_len && (buf_append(&joined, d.title, d.title_len) ||
                                    buf_putc(&joined, '\n')))
                    die("%s", "out of memory");
                if (buf_append(&joined, d.body ? d.body : "", d.body_len))
                    die("%s", "out of memory");
                d.body = (const char *)joined.data;
                d.body_len = joined.len;
                d.title = NULL;
                d.title_len = 0;
            }
            double a = now_sec();
            rc = nd_writer_add(w, &d);
            if (rc)
                die("nd_writer_add: %s", nd_writer_errmsg(w));
            double b = now_sec();
            nd_index_sec += b - a;
            docs++;
#ifdef ND_HAVE_XAPIAN
            if (xw) {
                double xa = now_sec();
                if (xd_add(xw, d.id, d.id_len, d.title, d.title_len, d.body, d.body_len,
                           d.date != ND_NO_DATE, d.date, xerr, sizeof xerr))
                    die("%s", xerr);
                xap_index_sec += now_sec() - xa;
            }
#endif
            if (use_fts5) {
                if (n_fts == cap_fts) {
                    cap_fts = cap_fts ? cap_fts * 2 : 4096;
                    fts_ids = xrealloc(fts_ids, cap_fts * sizeof *fts_ids);
                }
                fts_ids[n_fts] = xstrndup(d.id, d.id_len);
                n_fts++;
                sqlite3_bind_int64(ins, 1, (sqlite3_int64)n_fts);
                sqlite3_bind_text(ins, 2, d.title ? d.title : "", (int)d.title_len,
                                  SQLITE_STATIC);
                sqlite3_bind_text(ins, 3, d.body ? d.body : "", (int)d.body_len, SQLITE_STATIC);
                sql_check(db, sqlite3_step(ins), "insert");
                sqlite3_reset(ins);
                fts_index_sec += now_sec() - b;
            }
        }
        if (rc != ND_DONE)
            die("%s", e.msg);
        line_reader_close(r);
    }
    buf_free(&scratch);
    buf_free(&joined);
    double a = now_sec();
    rc = nd_writer_commit(w);
    if (rc)
        die("nd_writer_commit: %s", nd_writer_errmsg(w));
    nd_writer_free(w);
    nd_index_sec += now_sec() - a;
    if (use_fts5) {
        a = now_sec();
        sqlite3_finalize(ins);
        sql_check(db, sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL), "commit");
        fts_index_sec += now_sec() - a;
    }
#ifdef ND_HAVE_XAPIAN
    if (xw) {
        a = now_sec();
        if (xd_commit(xw, xerr, sizeof xerr))
            die("%s", xerr);
        xd_close(xw);
        xap_index_sec += now_sec() - a;
    }
#endif
    fprintf(stderr, "eval: %s: %llu articles (%llu bad lines skipped) read in %.1f s; "
                    "newsdex indexing %.1f s",
            collection, (unsigned long long)docs, (unsigned long long)bad, now_sec() - t0,
            nd_index_sec);
    if (use_fts5)
        fprintf(stderr, ", FTS5 indexing %.1f s", fts_index_sec);
#ifdef ND_HAVE_XAPIAN
    if (use_xapian)
        fprintf(stderr, ", Xapian indexing %.1f s", xap_index_sec);
#endif
    fprintf(stderr, "\n");

    if (header) {
        printf("| collection | engine | BM25 | queries | nDCG@10 | MAP | P@10 | R@100 |\n");
        printf("|---|---|---|---:|---:|---:|---:|---:|\n");
    }

    char path[4096];
    const char *ranked[EV_DEPTH];
    double score[EV_DEPTH];

    /* newsdex */
    nd_index *ix;
    char errbuf[256];
    rc = nd_index_open(&ix, dir, NULL, errbuf, sizeof errbuf);
    if (rc)
        die("nd_index_open: %s", errbuf);
    nd_search *s;
    if (nd_search_open(&s, ix))
        die("%s", "nd_search_open failed");
    nd_search_opts so = ND_SEARCH_OPTS_INIT;
    so.snippets = 0;
    so.default_op = ND_OP_OR;
    so.bm25 = bm25;
    FILE *run = NULL;
    if (run_prefix) {
        snprintf(path, sizeof path, "%s.newsdex.run", run_prefix);
        run = fopen(path, "w");
        if (!run)
            die("cannot write %s", path);
    }
    totals nd = {0};
    a = now_sec();
    for (size_t i = 0; i < t.n; i++) {
        const query *q = &t.q[i];
        size_t n = 0;
        nd_hits *h = NULL;
        if (q->text[0]) {
            rc = nd_search_run(s, &h, q->text, EV_DEPTH, &so);
            if (rc) {
                fprintf(stderr, "eval: query %s: %s: %s\n", q->qid, nd_strerror(rc),
                        nd_search_errmsg(s));
                h = NULL;
            }
        }
        if (h) {
            n = nd_hits_count(h);
            for (size_t k = 0; k < n; k++) {
                nd_hit hit;
                nd_hits_get(h, k, &hit);
                ranked[k] = xstrndup(hit.id, hit.id_len);
                score[k] = hit.score;
            }
            nd_hits_free(h);
        }
        score_query(&nd, q, ranked, n);
        write_run(run, q->qid, ranked, score, n, "newsdex");
        for (size_t k = 0; k < n; k++)
            free((char *)ranked[k]);
    }
    double nd_query_sec = now_sec() - a;
    if (run)
        fclose(run);
    nd_search_free(s);
    nd_index_free(ix);
    remove_dir(dir);
    char params[192], analysis[64] = "";
    if (opt.stem || opt.stop)
        snprintf(analysis, sizeof analysis, ", %s%s%s", opt.stem ? opt.stem : "",
                 opt.stem && opt.stop ? " + " : "", opt.stop ? "stop words" : "");
    if (concat)
        snprintf(params, sizeof params, "k1=%g b=%g, title+body as one field%s", bm25.k1, bm25.b,
                 analysis);
    else
        snprintf(params, sizeof params, "k1=%g b=%g title×%g body×%g%s", bm25.k1, bm25.b,
                 bm25.title_weight, bm25.body_weight, analysis);
    print_row(collection, "newsdex", params, &nd);
    fprintf(stderr, "eval: newsdex: %zu queries in %.2f s (%zu evaluated, %zu without results)\n",
            t.n, nd_query_sec, nd.queries, nd.empty);

    /* FTS5 */
    if (use_fts5) {
        sqlite3_stmt *sel;
        sql_check(db,
                  sqlite3_prepare_v2(db,
                                     "SELECT rowid, bm25(t) FROM t WHERE t MATCH ?1 "
                                     "ORDER BY bm25(t) LIMIT 1000",
                                     -1, &sel, NULL),
                  "prepare select");
        run = NULL;
        if (run_prefix) {
            snprintf(path, sizeof path, "%s.fts5.run", run_prefix);
            run = fopen(path, "w");
            if (!run)
                die("cannot write %s", path);
        }
        nd_buf m = {0};
        totals fs = {0};
        a = now_sec();
        for (size_t i = 0; i < t.n; i++) {
            const query *q = &t.q[i];
            /* "w1" OR "w2" ... : every word quoted, so none is an operator. */
            buf_reset(&m);
            for (const char *p = q->text; *p;) {
                const char *sp = strchr(p, ' ');
                size_t wl = sp ? (size_t)(sp - p) : strlen(p);
                if (m.len && buf_append(&m, " OR ", 4))
                    die("%s", "out of memory");
                if (buf_putc(&m, '"') || buf_append(&m, p, wl) || buf_putc(&m, '"'))
                    die("%s", "out of memory");
                p += wl;
                while (*p == ' ')
                    p++;
            }
            size_t n = 0;
            if (m.len) {
                sqlite3_bind_text(sel, 1, (const char *)m.data, (int)m.len, SQLITE_STATIC);
                while ((rc = sqlite3_step(sel)) == SQLITE_ROW && n < EV_DEPTH) {
                    sqlite3_int64 rowid = sqlite3_column_int64(sel, 0);
                    if (rowid < 1 || (size_t)rowid > n_fts)
                        continue;
                    ranked[n] = fts_ids[rowid - 1];
                    score[n] = -sqlite3_column_double(sel, 1); /* bm25() is negated */
                    n++;
                }
                if (rc != SQLITE_DONE && rc != SQLITE_ROW)
                    fprintf(stderr, "eval: fts5 query %s: %s\n", q->qid, sqlite3_errmsg(db));
                sqlite3_reset(sel);
            }
            score_query(&fs, q, ranked, n);
            write_run(run, q->qid, ranked, score, n, "fts5");
        }
        double fts_query_sec = now_sec() - a;
        if (run)
            fclose(run);
        buf_free(&m);
        sqlite3_finalize(sel);
        sqlite3_close(db);
        print_row(collection, "SQLite FTS5",
                  opt.stem ? "k1=1.2 b=0.75 (fixed), title+body, porter unicode61"
                           : "k1=1.2 b=0.75 (fixed), title+body",
                  &fs);
        fprintf(stderr, "eval: fts5: %zu queries in %.2f s (%zu evaluated, %zu without results)\n",
                t.n, fts_query_sec, fs.queries, fs.empty);
        for (size_t i = 0; i < n_fts; i++)
            free(fts_ids[i]);
        free(fts_ids);
    }

#ifdef ND_HAVE_XAPIAN
    if (use_xapian) {
        xd_db *xr;
        if (xd_open_reader(&xr, xdir, bm25.k1, bm25.b, xerr, sizeof xerr))
            die("%s", xerr);
        run = NULL;
        if (run_prefix) {
            snprintf(path, sizeof path, "%s.xapian.run", run_prefix);
            run = fopen(path, "w");
            if (!run)
                die("cannot write %s", path);
        }
        totals xs = {0};
        a = now_sec();
        for (size_t i = 0; i < t.n; i++) {
            const query *q = &t.q[i];
            /* the same plain words, as terms joined by OP_OR */
            char *copy = xstrndup(q->text, strlen(q->text));
            const char *words[256];
            size_t nw = 0;
            for (char *tok = strtok(copy, " "); tok && nw < 256; tok = strtok(NULL, " "))
                words[nw++] = tok;
            xap_hits h = {ranked, score, 0};
            if (nw) {
                xd_query xq = {XD_OR, words, nw, 0, 0, 0, EV_DEPTH};
                if (xd_search(xr, &xq, xap_collect, &h, NULL, xerr, sizeof xerr))
                    fprintf(stderr, "eval: xapian query %s: %s\n", q->qid, xerr);
            }
            score_query(&xs, q, ranked, h.n);
            write_run(run, q->qid, ranked, score, h.n, "xapian");
            for (size_t k = 0; k < h.n; k++)
                free((char *)ranked[k]);
            free(copy);
        }
        double xap_query_sec = now_sec() - a;
        if (run)
            fclose(run);
        xd_close(xr);
        remove_dir(xdir);
        char xparams[160];
        snprintf(xparams, sizeof xparams,
                 "BM25Weight(k1=%g, k2=0, k3=1, b=%g, min_normlen=0), %s, no stemming",
                 bm25.k1, bm25.b,
                 concat ? "title+body as one field" : "title wdf×2 pooled with body");
        if (!concat && bm25.title_weight != 2.0)
            snprintf(xparams, sizeof xparams,
                     "BM25Weight(k1=%g, k2=0, k3=1, b=%g, min_normlen=0), title wdf×%g pooled "
                     "with body, no stemming",
                     bm25.k1, bm25.b, bm25.title_weight < 1 ? 1 : floor(bm25.title_weight + 0.5));
        print_row(collection, "Xapian", xparams, &xs);
        fprintf(stderr, "eval: xapian: %zu queries in %.2f s (%zu evaluated, %zu without results)\n",
                t.n, xap_query_sec, xs.queries, xs.empty);
    }
#endif

    for (size_t i = 0; i < t.n; i++) {
        for (size_t k = 0; k < t.q[i].nj; k++)
            free((char *)t.q[i].judg[k].docid);
        free(t.q[i].judg);
        free(t.q[i].qid);
        free(t.q[i].text);
    }
    free(t.q);
    free(pos);
    return 0;
}
