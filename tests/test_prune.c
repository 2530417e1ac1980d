/*
 * test_prune.c - dynamic pruning (nd_search_opts.approx_total), and the
 * default exact mode that counts matches apart and prunes the top k,
 * return exactly the hits of a full evaluation (an nd_search set to score
 * every match): the same articles in the same order with bit-identical
 * scores, and the default mode the same total, on thousands of random
 * queries over two indexes - the bundled Reuters sample (several
 * segments, some articles deleted) and a generated corpus with a skewed
 * vocabulary, dates and sources. The queries mix every shape the pruned paths see: plain OR and
 * AND lists of common and rare words, field scopes, required and excluded
 * words, phrases, prefixes and date bounds, at several k and offsets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <zlib.h>

#include "api/api.h"
#include "testutil.h"

#define SAMPLE ND_SOURCE_DIR "/examples/data/reuters21578-sample.jsonl.gz"
#define N_QUERIES 1500
#define MAX_VOCAB 4000

typedef struct vocab {
    char *w[MAX_VOCAB];
    size_t n;
} vocab;

static void vocab_add(vocab *v, const char *s, size_t n)
{
    if (v->n == MAX_VOCAB || n < 2 || n > 30)
        return;
    char *w = malloc(n + 1);
    assert_non_null(w);
    for (size_t i = 0; i < n; i++)
        w[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    w[n] = 0;
    v->w[v->n++] = w;
}

/* Lower-case ASCII words of text, in order (duplicates kept: frequent words
 * are drawn more often, as in real queries). */
static void vocab_words(vocab *v, const char *t, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && !((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z')))
            i++;
        size_t j = i;
        while (j < len && ((t[j] >= 'a' && t[j] <= 'z') || (t[j] >= 'A' && t[j] <= 'Z')))
            j++;
        if (j > i)
            vocab_add(v, t + i, j - i);
        i = j;
    }
}

static void vocab_free(vocab *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->w[i]);
    v->n = 0;
}

static const char *pick(const vocab *v, uint64_t *seed)
{
    return v->w[tu_rand(seed) % v->n];
}

/* A random query of one of several shapes; *op receives the default
 * operator, *since and *until date bounds (or ND_NO_DATE). */
static void make_query(char *q, size_t cap, const vocab *v, uint64_t *seed, int *op,
                       int64_t *since, int64_t *until)
{
    uint64_t r = tu_rand(seed);
    int shape = (int)(r % 10), nw = 1 + (int)((r >> 8) % 5);
    size_t k = 0;
    *op = (r >> 16) % 3 == 0 ? ND_OP_AND : ND_OP_OR;
    *since = *until = ND_NO_DATE;
    if ((r >> 20) % 6 == 0) {
        *since = 536457600 + (int64_t)((r >> 24) % 400) * 86400; /* 1987 .. */
        *until = *since + (int64_t)((r >> 34) % 200) * 86400;
    }
    q[0] = 0;
    for (int i = 0; i < nw && k + 80 < cap; i++) {
        const char *w = pick(v, seed);
        uint64_t m = tu_rand(seed);
        const char *pre = "";
        if (shape == 1 && m % 3 == 0)
            pre = "title:";
        else if (shape == 2 && m % 4 == 0)
            pre = "+";
        else if (shape == 3 && i > 0 && m % 4 == 0)
            pre = "-";
        if (shape == 7) { /* a phrase alone: title-scoped, with slop, or neither */
            const char *f = m % 3 == 0 ? "title:" : "";
            const char *slop = m % 5 == 1 ? "~3" : "";
            (void)snprintf(q + k, cap - k, "%s\"%s %s\"%s", f, w, pick(v, seed), slop);
            break;
        }
        if (shape == 4 && i == 0) { /* a phrase of two words side by side in an article */
            k += (size_t)snprintf(q + k, cap - k, "\"%s %s\" ", w, pick(v, seed));
            continue;
        }
        if (shape == 5 && i == 0 && strlen(w) >= 4) {
            k += (size_t)snprintf(q + k, cap - k, "%.3s* ", w);
            continue;
        }
        if (shape == 6 && i == 1) {
            k += (size_t)snprintf(q + k, cap - k, "(%s OR %s) ", w, pick(v, seed));
            continue;
        }
        k += (size_t)snprintf(q + k, cap - k, "%s%s ", pre, w);
    }
}

/* The bits of a score: equal scores must be equal to the last bit. */
static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

typedef struct outcome {
    uint64_t queries, with_hits, skipped, hits;
} outcome;

/* The same hits, bit for bit. */
static void same_hits(nd_hits *a, nd_hits *b, const char *q, size_t k, size_t offset,
                      const char *how)
{
    size_t n = nd_hits_count(a);
    if (n != nd_hits_count(b))
        fail_msg("query '%s' k %zu offset %zu: %zu hits in full, %zu %s", q, k, offset, n,
                 nd_hits_count(b), how);
    for (size_t i = 0; i < n; i++) {
        nd_hit x, y;
        assert_int_equal(nd_hits_get(a, i, &x), ND_OK);
        assert_int_equal(nd_hits_get(b, i, &y), ND_OK);
        if (x.id_len != y.id_len || memcmp(x.id, y.id, x.id_len) != 0 ||
            bits_of(x.score) != bits_of(y.score) || x.date != y.date)
            fail_msg("query '%s' k %zu offset %zu: hit %zu is %.*s %.17g in full, %.*s %.17g "
                     "%s",
                     q, k, offset, i, (int)x.id_len, x.id, x.score, (int)y.id_len, y.id, y.score,
                     how);
    }
}

/* Runs q every way and requires the same hits, bit for bit: `ref` scores
 * every match; `s` by default counts many matches through a bitset and
 * prunes the top k (exec_opts.split), and with approx_total prunes alone. */
static void compare(nd_search *ref, nd_search *s, const char *q, size_t k, size_t offset, int op,
                    int64_t since, int64_t until, outcome *o)
{
    nd_search_opts full = ND_SEARCH_OPTS_INIT, fast;
    full.default_op = op;
    full.offset = offset;
    full.snippets = 0;
    full.since = since;
    full.until = until;
    fast = full;
    fast.approx_total = 1;
    nd_hits *a = NULL, *b = NULL, *c = NULL;
    int ra = nd_search_run(ref, &a, q, k, &full);
    int rb = nd_search_run(s, &b, q, k, &fast);
    int rc = nd_search_run(s, &c, q, k, &full);
    assert_int_equal(ra, rb);
    assert_int_equal(ra, rc);
    o->queries++;
    if (ra != ND_OK)
        return; /* e.g. a prefix past its limits: the same error every way */
    /* counted and pruned: exact total, the same hits */
    same_hits(a, c, q, k, offset, "counted and pruned");
    assert_true(nd_hits_total_exact(c));
    assert_int_equal(nd_hits_total(c), nd_hits_total(a));
    nd_hits_free(c);
    same_hits(a, b, q, k, offset, "pruned");
    size_t n = nd_hits_count(a);
    assert_true(nd_hits_total_exact(a));
    uint64_t total = nd_hits_total(a);
    assert_true(nd_hits_total(b) <= nd_hits_total(a));
    assert_true(nd_hits_total(b) >= n);
    if (!nd_hits_total_exact(b))
        o->skipped++;
    else
        assert_int_equal(nd_hits_total(b), nd_hits_total(a));
    o->with_hits += n > 0;
    o->hits += n;
    nd_hits_free(a);
    nd_hits_free(b);
    /* counting alone (through a bitset when the matches are many) finds
     * the same number of matches as the full evaluation */
    nd_search_opts cnt = full;
    cnt.count_only = 1;
    nd_hits *h = NULL;
    assert_int_equal(nd_search_run(s, &h, q, k, &cnt), ND_OK);
    if (nd_hits_total(h) != total)
        fail_msg("query '%s': %llu matches counted, %llu in full", q,
                 (unsigned long long)nd_hits_total(h), (unsigned long long)total);
    nd_hits_free(h);
}

static void run_queries(const char *dir, const vocab *v, uint64_t seed, outcome *o)
{
    nd_index *ix = NULL;
    nd_search *s = NULL, *ref = NULL;
    assert_int_equal(nd_index_open(&ix, dir, NULL, NULL, 0), ND_OK);
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    assert_int_equal(nd_search_open(&ref, ix), ND_OK);
    search_set_exhaustive(ref, 1);
    static const size_t ks[] = {1, 3, 10, 10, 10, 50, 200};
    char q[1024];
    for (int i = 0; i < N_QUERIES; i++) {
        int op;
        int64_t since, until;
        make_query(q, sizeof q, v, &seed, &op, &since, &until);
        uint64_t r = tu_rand(&seed);
        compare(ref, s, q, ks[r % 7], (r >> 8) % 5 == 0 ? (size_t)((r >> 12) % 7) : 0, op, since,
                until, o);
    }
    nd_search_free(s);
    nd_search_free(ref);
    nd_index_free(ix);
}

/* The pruned paths were really taken: on a corpus this size, most ranked
 * queries with a few common words skip something. */
static void check_outcome(const outcome *o, const char *name)
{
    print_message("%s: %llu queries, %llu with hits (%llu hits compared), %llu pruned\n", name,
                  (unsigned long long)o->queries, (unsigned long long)o->with_hits,
                  (unsigned long long)o->hits, (unsigned long long)o->skipped);
    assert_true(o->with_hits > o->queries / 2);
    assert_true(o->skipped > o->queries / 5);
}

/* The start of the string value of a top-level key in a JSON line (good
 * enough for the sample's simple lines), or NULL. */
static const char *json_string(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    if (!p)
        return NULL;
    p += strlen(key);
    while (*p == ' ' || *p == ':')
        p++;
    return *p == '"' ? p + 1 : NULL;
}

static void test_sample(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    wo.ram_budget = 4u << 20; /* several segments */
    wo.merge_factor = 1;
    nd_writer *w = NULL;
    assert_int_equal(nd_writer_open(&w, dir, &wo), ND_OK);
    assert_int_equal(nd_writer_add_jsonl(w, SAMPLE, NULL, NULL), ND_OK);
    assert_int_equal(nd_writer_commit(w), ND_OK);
    /* a few hundred deletions, spread over the segments */
    vocab v = {0};
    gzFile g = gzopen(SAMPLE, "rb");
    assert_non_null(g);
    static char line[1 << 20];
    for (int i = 0; gzgets(g, line, (int)sizeof line); i++) {
        const char *id = json_string(line, "\"id\"");
        if (id && i % 37 == 5) {
            const char *e = strchr(id, '"');
            assert_non_null(e);
            assert_int_equal(nd_writer_delete(w, id, (size_t)(e - id)), ND_OK);
        }
        const char *t = json_string(line, "\"title\"");
        if (t && i % 4 == 0) {
            const char *e = strchr(t, '"');
            if (e)
                vocab_words(&v, t, (size_t)(e - t));
        }
    }
    gzclose(g);
    assert_int_equal(nd_writer_commit(w), ND_OK);
    nd_writer_free(w);
    assert_true(v.n > 500);
    outcome o = {0};
    run_queries(dir, &v, 42, &o);
    check_outcome(&o, "reuters sample");
    vocab_free(&v);
    tu_rmrf(dir);
    free(dir);
}

/* A generated corpus: Zipf-like word frequencies, short titles, bodies of
 * very different lengths (the length normalisation matters to the bounds),
 * dates over two years in rough date order, three segments. */
static void test_generated(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    vocab v = {0};
    static const char *const syl[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze",
                                      "pa", "do", "gu"};
    char word[32];
    for (int i = 0; i < 1500; i++) {
        int x = i, k = 0;
        do {
            k += snprintf(word + k, sizeof word - (size_t)k, "%s", syl[x % 12]);
            x /= 12;
        } while (x > 0);
        k += snprintf(word + k, sizeof word - (size_t)k, "%s", syl[(i * 7) % 12]);
        vocab_add(&v, word, (size_t)k);
    }
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    wo.merge_factor = 1;
    nd_writer *w = NULL;
    assert_int_equal(nd_writer_open(&w, dir, &wo), ND_OK);
    uint64_t seed = 7;
    size_t cap = 1 << 16;
    char *title = malloc(512), *body = malloc(cap), id[32];
    assert_non_null(title);
    assert_non_null(body);
    static const char *const sources[] = {"Reuters", "AP", "AFP"};
    for (int d = 0; d < 6000; d++) {
        size_t tl = 0, bl = 0;
        int nt = 2 + (int)(tu_rand(&seed) % 8);
        uint64_t r = tu_rand(&seed);
        int nb = r % 10 == 0 ? 1500 : (int)(10 + (r >> 8) % 300);
        for (int i = 0; i < nt; i++) {
            /* rank ~ 1/u: a few words are very common, most are rare */
            double u = (double)(tu_rand(&seed) % 100000 + 1) / 100000.0;
            size_t rank = (size_t)(1.0 / u) % v.n;
            tl += (size_t)snprintf(title + tl, 512 - tl, "%s ", v.w[rank]);
        }
        for (int i = 0; i < nb && bl + 40 < cap; i++) {
            double u = (double)(tu_rand(&seed) % 100000 + 1) / 100000.0;
            size_t rank = (size_t)(3.0 / u) % v.n;
            bl += (size_t)snprintf(body + bl, cap - bl, "%s ", v.w[rank]);
        }
        snprintf(id, sizeof id, "g%d", d);
        nd_doc doc = tu_doc(id, title, body);
        doc.title_len = tl;
        doc.body_len = bl;
        doc.source = sources[r % 3];
        doc.source_len = strlen(doc.source);
        /* in date order give or take a month, as news arrives: whole date
         * spans of a segment fall out of a date range and are skipped */
        doc.date = (r >> 20) % 20 == 0
                       ? ND_NO_DATE
                       : 536457600 + (int64_t)(d * 730 / 6000 + (int)((r >> 24) % 61) - 30) * 86400;
        assert_int_equal(nd_writer_add(w, &doc), ND_OK);
        if (d % 2000 == 1999)
            assert_int_equal(nd_writer_commit(w), ND_OK);
    }
    for (int d = 3; d < 6000; d += 53) {
        snprintf(id, sizeof id, "g%d", d);
        assert_int_equal(nd_writer_delete(w, id, strlen(id)), ND_OK);
    }
    assert_int_equal(nd_writer_commit(w), ND_OK);
    nd_writer_free(w);
    free(title);
    free(body);
    /* queries draw words by rank too, so common ones dominate */
    vocab qv = {0};
    for (size_t i = 0; i < MAX_VOCAB; i++) {
        double u = (double)(i % 997 + 1) / 997.0;
        size_t rank = (size_t)(2.0 / u) % v.n;
        vocab_add(&qv, v.w[rank], strlen(v.w[rank]));
    }
    outcome o = {0};
    run_queries(dir, &qv, 99, &o);
    check_outcome(&o, "generated");
    vocab_free(&qv);
    vocab_free(&v);
    tu_rmrf(dir);
    free(dir);
}

/* Date filters skip runs of documents whose dates are all out of the range
 * (segment_date_spans): on articles in rough date order, spread over many
 * runs, with some undated, every date: query and date bound finds exactly
 * the articles a scan of the dates finds. */
static void test_date_spans(void **state)
{
    (void)state;
    enum { N = 4000 };
    char *dir = tu_mkdtemp(), id[16];
    static int64_t date[N];
    nd_writer *w = NULL;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    uint64_t seed = 11;
    for (int i = 0; i < N; i++) {
        uint64_t r = tu_rand(&seed);
        /* 400 days, ten articles a day give or take three days */
        date[i] = r % 17 == 0 ? ND_NO_DATE
                              : 536457600 + (int64_t)(i / 10 + (int)((r >> 8) % 7) - 3) * 86400;
        snprintf(id, sizeof id, "d%d", i);
        nd_doc doc = tu_doc(id, "news", i % 3 ? "common words" : "common");
        doc.date = date[i];
        assert_int_equal(nd_writer_add(w, &doc), ND_OK);
    }
    assert_int_equal(nd_writer_commit(w), ND_OK);
    nd_writer_free(w);
    nd_index *ix = NULL;
    assert_int_equal(nd_index_open(&ix, dir, NULL, NULL, 0), ND_OK);
    nd_search *s = NULL;
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    static const char *const text[] = {"", "common ", "words ", "common OR news "};
    static uint8_t want[N];
    for (int t = 0; t < 400; t++) {
        uint64_t r = tu_rand(&seed);
        int64_t a = 536457600 + (int64_t)(r % 420) * 86400 - (int64_t)5 * 86400;
        int64_t b = a + (int64_t)((r >> 10) % 40) * 86400 + 86399;
        char da[16], db[16], q[128];
        time_t ta = (time_t)a, tb = (time_t)b;
        struct tm ga, gb;
        strftime(da, sizeof da, "%Y-%m-%d", gmtime_r(&ta, &ga));
        strftime(db, sizeof db, "%Y-%m-%d", gmtime_r(&tb, &gb));
        const char *words = text[t % 4];
        int by_opts = (r >> 20) % 2 && words[0]; /* the bounds as options, or as date: */
        nd_search_opts o = ND_SEARCH_OPTS_INIT;
        o.snippets = 0;
        o.ids_only = 1;
        if (by_opts) {
            snprintf(q, sizeof q, "%s", words);
            o.since = a;
            o.until = b;
        } else {
            snprintf(q, sizeof q, "%sdate:%s..%s", words, da, db);
        }
        size_t expect = 0;
        for (int i = 0; i < N; i++) {
            int has = !strcmp(words, "words ") ? i % 3 != 0 : 1;
            want[i] = has && date[i] != ND_NO_DATE && date[i] >= a && date[i] <= b;
            expect += want[i];
        }
        nd_hits *h = NULL;
        if (nd_search_run(s, &h, q, ND_MAX_K, &o) != ND_OK)
            fail_msg("%s: %s", q, nd_search_errmsg(s));
        if (nd_hits_count(h) != expect)
            fail_msg("%s (%s): %zu hits, %zu articles dated in the range", q,
                     by_opts ? "since/until" : "date:", nd_hits_count(h), expect);
        for (size_t j = 0; j < nd_hits_count(h); j++) {
            nd_hit x;
            assert_int_equal(nd_hits_get(h, j, &x), ND_OK);
            char num[16] = "";
            if (x.id_len >= 2 && x.id_len < sizeof num)
                memcpy(num, x.id + 1, x.id_len - 1);
            int i = atoi(num);
            assert_in_range(i, 0, N - 1);
            if (!want[i])
                fail_msg("%s: %.*s is not in the range", q, (int)x.id_len, x.id);
            want[i] = 0; /* each once */
        }
        nd_hits_free(h);
    }
    nd_search_free(s);
    nd_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_generated),
        cmocka_unit_test(test_date_spans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
