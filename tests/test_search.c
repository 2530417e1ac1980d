/*
 * test_search.c - ranking and query semantics through the public API:
 * BM25 scores against hand-computed values, required and excluded terms,
 * the AND mode, top-k order and tie-breaking, pagination, snippets and
 * their marks, and argument errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "newsdex.h"
#include "testutil.h"

typedef struct fixture {
    char *dir;
    nd_index *ix;
    nd_search *s;
} fixture;

static int contains(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(s + i, needle, m) == 0)
            return 1;
    return 0;
}

static void build(fixture *f, const nd_doc *docs, size_t n)
{
    f->dir = tu_mkdtemp();
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, f->dir, NULL), ND_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(nd_writer_add(w, &docs[i]), ND_OK);
    assert_int_equal(nd_writer_commit(w), ND_OK);
    nd_writer_free(w);
    assert_int_equal(nd_index_open(&f->ix, f->dir, NULL, NULL, 0), ND_OK);
    assert_int_equal(nd_search_open(&f->s, f->ix), ND_OK);
}

static void teardown_fixture(fixture *f)
{
    nd_search_free(f->s);
    nd_index_free(f->ix);
    tu_rmrf(f->dir);
    free(f->dir);
}

/* The three-article collection the hand computation below is made on. */
static int setup_small(void **state)
{
    static fixture f;
    nd_doc docs[3] = {
        tu_doc("d0", "Oil prices", "Oil prices rise as oil supply falls"),
        tu_doc("d1", "", "Gold prices"),
        tu_doc("d2", "Weather", "Sunny day"),
    };
    build(&f, docs, 3);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    teardown_fixture(*state);
    return 0;
}

static void id_is(const nd_hits *h, size_t i, const char *id)
{
    nd_hit hit;
    assert_int_equal(nd_hits_get(h, i, &hit), ND_OK);
    assert_int_equal(hit.id_len, strlen(id));
    assert_memory_equal(hit.id, id, hit.id_len);
}

static double score_of(const nd_hits *h, size_t i)
{
    nd_hit hit;
    assert_int_equal(nd_hits_get(h, i, &hit), ND_OK);
    return hit.score;
}

/*
 * By hand, k1 = 0.9, b = 0.4, title weight 2, body weight 1, N = 3.
 * Field lengths: title 2, 0, 1 (average 1); body 7, 2, 2 (average 11/3).
 * Combined-field BM25: ptf = sum over fields of w * tf / (1 - b + b * len / avglen),
 * score = idf * ptf * (k1 + 1) / (ptf + k1), one idf per word from the larger
 * of its title and body document frequencies.
 * "oil": df max(1, 1) = 1, idf = ln(1 + 2.5/1.5) = 0.9808292530.
 *   d0: title 2 * 1 / (0.6 + 0.4 * 2/1) = 1.4285714286
 *       body  1 * 2 / (0.6 + 0.4 * 7/(11/3)) = 1.4666666667
 *       ptf 2.8952380952, score 0.9808292530 * 2.8952380952 * 1.9 / 3.7952380952
 *       = 1.4216486237
 * "prices": df max(1, 2) = 2, idf = ln(1 + 1.5/2.5) = 0.4700036292.
 *   d0: ptf 1.4285714286 + 1 / 1.3636363636 = 2.1619047619, score 0.6305211984
 *   d1 (body length 2): ptf 1 / (0.6 + 0.4 * 2/(11/3)) = 1.2222222222,
 *       score 0.4700036292 * 1.2222222222 * 1.9 / 2.1222222222 = 0.5142971650
 */
static void test_search_bm25_hand_computed(void **state)
{
    fixture *f = *state;
    nd_hits *h;
    assert_int_equal(nd_search_run(f->s, &h, "oil", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 1);
    assert_int_equal(nd_hits_count(h), 1);
    id_is(h, 0, "d0");
    assert_true(fabs(score_of(h, 0) - 1.4216486237) < 1e-6);
    nd_hits_free(h);

    assert_int_equal(nd_search_run(f->s, &h, "prices", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 2);
    id_is(h, 0, "d0");
    id_is(h, 1, "d1");
    assert_true(fabs(score_of(h, 0) - 0.6305211984) < 1e-6);
    assert_true(fabs(score_of(h, 1) - 0.5142971650) < 1e-6);
    nd_hits_free(h);

    /* Scores add up over query terms. */
    assert_int_equal(nd_search_run(f->s, &h, "oil prices", 10, NULL), ND_OK);
    assert_true(fabs(score_of(h, 0) - (1.4216486237 + 0.6305211984)) < 1e-6);
    nd_hits_free(h);
}

static void test_search_parameters_change_scores(void **state)
{
    fixture *f = *state;
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.bm25.title_weight = 0;
    nd_hits *h;
    assert_int_equal(nd_search_run(f->s, &h, "oil", 10, &o), ND_OK);
    /* only the body part remains: classic BM25 on the body,
     * 0.9808292530 * 1.4666666667 * 1.9 / 2.3666666667 */
    assert_true(fabs(score_of(h, 0) - 1.1548919092) < 1e-6);
    nd_hits_free(h);
    /* a title-only query uses the title alone: ptf 1.4285714286 */
    o.bm25.title_weight = 2;
    assert_int_equal(nd_search_run(f->s, &h, "title:oil", 10, &o), ND_OK);
    assert_true(fabs(score_of(h, 0) - 0.9808292530 * 1.4285714286 * 1.9 / 2.3285714286) < 1e-6);
    nd_hits_free(h);
    o.bm25.b = 2.0;
    assert_int_equal(nd_search_run(f->s, &h, "oil", 10, &o), ND_EINVAL);
    assert_null(h);
}

static void test_search_required_and_excluded(void **state)
{
    fixture *f = *state;
    nd_hits *h;
    assert_int_equal(nd_search_run(f->s, &h, "prices -oil", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 1);
    id_is(h, 0, "d1");
    nd_hits_free(h);

    assert_int_equal(nd_search_run(f->s, &h, "+gold prices weather", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 1);
    id_is(h, 0, "d1");
    nd_hits_free(h);

    /* a required term that exists nowhere: no hits */
    assert_int_equal(nd_search_run(f->s, &h, "+platinum prices", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 0);
    assert_int_equal(nd_hits_count(h), 0);
    nd_hits_free(h);

    /* only exclusions: nothing to rank */
    assert_int_equal(nd_search_run(f->s, &h, "-oil", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 0);
    nd_hits_free(h);
}

static void test_search_and_mode(void **state)
{
    fixture *f = *state;
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.default_op = ND_OP_AND;
    nd_hits *h;
    assert_int_equal(nd_search_run(f->s, &h, "oil prices", 10, &o), ND_OK);
    assert_int_equal(nd_hits_total(h), 1);
    id_is(h, 0, "d0");
    nd_hits_free(h);
    assert_int_equal(nd_search_run(f->s, &h, "gold oil", 10, &o), ND_OK);
    assert_int_equal(nd_hits_total(h), 0);
    nd_hits_free(h);
    /* the same query OR'ed finds both */
    assert_int_equal(nd_search_run(f->s, &h, "gold oil", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 2);
    nd_hits_free(h);
}

static void test_search_errors(void **state)
{
    fixture *f = *state;
    nd_hits *h = (nd_hits *)1;
    assert_int_equal(nd_search_run(f->s, &h, "", 10, NULL), ND_ESYNTAX);
    assert_null(h);
    assert_true(strlen(nd_search_errmsg(f->s)) > 0);
    assert_int_equal(nd_search_run(f->s, &h, "  ... ,, ", 10, NULL), ND_ESYNTAX);
    assert_int_equal(nd_search_run(f->s, &h, "oil", ND_MAX_K + 1, NULL), ND_ELIMIT);
    assert_int_equal(nd_search_run(f->s, &h, NULL, 10, NULL), ND_EINVAL);
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.version = 99;
    assert_int_equal(nd_search_run(f->s, &h, "oil", 10, &o), ND_EINVAL);
    /* a 1 MB query is refused quickly, not searched */
    size_t n = 1 << 20;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i % 6 == 5 ? ' ' : 'a' + i % 5);
    big[n] = 0;
    assert_int_equal(nd_search_run(f->s, &h, big, 10, NULL), ND_ELIMIT);
    /* 10,000 terms within the byte limit: also a clear limit error */
    big[60000] = 0;
    assert_int_equal(nd_search_run(f->s, &h, big, 10, NULL), ND_ELIMIT);
    free(big);
    nd_hits_get(NULL, 0, NULL);
    assert_int_equal(nd_hits_count(NULL), 0);
    nd_hits_free(NULL);
    nd_search_free(NULL);
    nd_index_free(NULL);
    nd_writer_free(NULL);
}

/* Plain text: operators and syntax are words; the score equals the parsed
 * OR (or AND) of the same words. Version 1 option structs still work. */
static void test_search_plain(void **state)
{
    fixture *f = *state;
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.plain = 1;
    nd_hits *h, *g;
    /* would be a syntax error in the query language */
    assert_int_equal(nd_search_run(f->s, &h, "(oil \"prices", 10, NULL), ND_ESYNTAX);
    assert_int_equal(nd_search_run(f->s, &h, "(oil \"prices", 10, &o), ND_OK);
    assert_int_equal(nd_search_run(f->s, &g, "oil prices", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), nd_hits_total(g));
    assert_true(nd_hits_count(h) > 0);
    for (size_t i = 0; i < nd_hits_count(h); i++) {
        nd_hit a, b;
        nd_hits_get(h, i, &a);
        nd_hits_get(g, i, &b);
        assert_memory_equal(a.id, b.id, a.id_len);
        assert_true(a.score == b.score);
    }
    nd_hits_free(h);
    nd_hits_free(g);
    /* "-gold" and "title:" are not operators: gold is searched like any word */
    assert_int_equal(nd_search_run(f->s, &h, "-gold", 10, &o), ND_OK);
    assert_true(nd_hits_total(h) > 0);
    nd_hits_free(h);
    /* AND of plain words */
    o.default_op = ND_OP_AND;
    assert_int_equal(nd_search_run(f->s, &h, "gold OR oil", 10, &o), ND_OK);
    assert_int_equal(nd_hits_total(h), 0);
    nd_hits_free(h);
    /* nothing searchable: the same error as an empty query */
    assert_int_equal(nd_search_run(f->s, &h, " ... ", 10, &o), ND_ESYNTAX);
    /* a version 1 struct ends before `plain`: the query is parsed as usual */
    nd_search_opts v1 = ND_SEARCH_OPTS_INIT;
    v1.version = 1;
    v1.plain = 1; /* not part of a version 1 struct: ignored */
    assert_int_equal(nd_search_run(f->s, &h, "(oil", 10, &v1), ND_ESYNTAX);
}

/* Many equal-scoring articles: ranked by insertion order, paginated exactly. */
static void test_search_ties_and_pagination(void **state)
{
    (void)state;
    fixture f;
    enum { N = 300 };
    nd_doc docs[N];
    char ids[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "t%03d", i);
        docs[i] = tu_doc(ids[i], "", i % 3 == 0 ? "harbour strike" : "strike at the harbour");
    }
    build(&f, docs, N);
    nd_hits *h;
    assert_int_equal(nd_search_run(f.s, &h, "strike", 500, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), N);
    assert_int_equal(nd_hits_count(h), N);
    /* shorter bodies (every third) score higher; within a group, insertion order */
    for (size_t i = 0; i < N; i++) {
        if (i > 0)
            assert_true(score_of(h, i) <= score_of(h, i - 1));
    }
    id_is(h, 0, "t000");
    id_is(h, 1, "t003");
    id_is(h, 100, "t001");
    id_is(h, 101, "t002");
    nd_hits_free(h);

    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.offset = 95;
    assert_int_equal(nd_search_run(f.s, &h, "strike", 10, &o), ND_OK);
    assert_int_equal(nd_hits_count(h), 10);
    assert_int_equal(nd_hits_total(h), N);
    id_is(h, 0, "t285");
    id_is(h, 5, "t001");
    nd_hits_free(h);

    o.offset = 295;
    assert_int_equal(nd_search_run(f.s, &h, "strike", 10, &o), ND_OK);
    assert_int_equal(nd_hits_count(h), 5);
    nd_hits_free(h);
    teardown_fixture(&f);
}

static void test_search_snippet_marks(void **state)
{
    (void)state;
    fixture f;
    char body[4096];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "Filler sentence number %d here. ", i);
    snprintf(body + n, sizeof body - n,
             "Then the Central Bank raised interest rates,\n\n  said the BANK.  More filler.");
    nd_doc d = tu_doc("s1", "A headline", body);
    build(&f, &d, 1);
    nd_hits *h;
    assert_int_equal(nd_search_run(f.s, &h, "bank rates", 10, NULL), ND_OK);
    nd_hit hit;
    assert_int_equal(nd_hits_get(h, 0, &hit), ND_OK);
    assert_true(hit.snippet_len > 0 && hit.snippet_len < 400);
    assert_int_equal(hit.n_marks, 3);
    const char *want[3] = {"Bank", "rates", "BANK"};
    for (size_t i = 0; i < 3; i++) {
        assert_true(hit.marks[i].start + hit.marks[i].len <= hit.snippet_len);
        assert_int_equal(hit.marks[i].len, strlen(want[i]));
        assert_memory_equal(hit.snippet + hit.marks[i].start, want[i], hit.marks[i].len);
    }
    /* whitespace runs collapsed, the cut marked */
    assert_false(contains(hit.snippet, hit.snippet_len, "\n"));
    assert_false(contains(hit.snippet, hit.snippet_len, "  "));
    assert_memory_equal(hit.snippet, "\xe2\x80\xa6", 3);
    nd_hits_free(h);

    /* snippets can be turned off */
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.snippets = 0;
    assert_int_equal(nd_search_run(f.s, &h, "bank", 10, &o), ND_OK);
    assert_int_equal(nd_hits_get(h, 0, &hit), ND_OK);
    assert_int_equal(hit.snippet_len, 0);
    assert_int_equal(hit.n_marks, 0);
    assert_int_equal(hit.title_len, 10);
    nd_hits_free(h);
    teardown_fixture(&f);
}

static void test_search_writer_rejects_bad_articles(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    nd_writer *w, *w2;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    /* a second writer on the same directory is refused */
    assert_int_equal(nd_writer_open(&w2, dir, NULL), ND_EBUSY);
    assert_null(w2);
    nd_doc d = tu_doc("", "t", "b");
    assert_int_equal(nd_writer_add(w, &d), ND_EINVAL);
    assert_true(strlen(nd_writer_errmsg(w)) > 0);
    assert_int_equal(nd_writer_add_json(w, "{\"title\": \"x\"}", 14), ND_EINVAL);
    assert_non_null(strstr(nd_writer_errmsg(w), "id"));
    assert_int_equal(nd_writer_add_json(w, "{\"id\": \"ok\", \"body\": \"fine\"}", 28), ND_OK);
    assert_int_equal(nd_writer_commit(w), ND_OK);
    nd_writer_free(w);
    nd_index *ix;
    assert_int_equal(nd_index_open(&ix, dir, NULL, NULL, 0), ND_OK);
    nd_index_stats st;
    nd_index_stats_get(ix, &st);
    assert_int_equal(st.docs, 1);
    assert_int_equal(st.generation, 1);
    nd_index_free(ix);
    /* not an index */
    char errbuf[256];
    assert_int_equal(nd_index_open(&ix, "/nonexistent/nowhere", NULL, errbuf, sizeof errbuf),
                     ND_ENOTFOUND);
    assert_true(strlen(errbuf) > 0);
    tu_rmrf(dir);
    free(dir);
}

static void test_search_uncommitted_is_invisible(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    nd_doc d = tu_doc("a", "first", "committed article");
    assert_int_equal(nd_writer_add(w, &d), ND_OK);
    assert_int_equal(nd_writer_commit(w), ND_OK);
    d = tu_doc("b", "second", "uncommitted article");
    assert_int_equal(nd_writer_add(w, &d), ND_OK);
    nd_writer_free(w); /* discards "b" */
    nd_index *ix;
    nd_search *s;
    nd_hits *h;
    assert_int_equal(nd_index_open(&ix, dir, NULL, NULL, 0), ND_OK);
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    assert_int_equal(nd_search_run(s, &h, "article", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 1);
    id_is(h, 0, "a");
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest small[] = {
        cmocka_unit_test(test_search_bm25_hand_computed),
        cmocka_unit_test(test_search_parameters_change_scores),
        cmocka_unit_test(test_search_required_and_excluded),
        cmocka_unit_test(test_search_and_mode),
        cmocka_unit_test(test_search_errors),
        cmocka_unit_test(test_search_plain),
    };
    const struct CMUnitTest other[] = {
        cmocka_unit_test(test_search_ties_and_pagination),
        cmocka_unit_test(test_search_snippet_marks),
        cmocka_unit_test(test_search_writer_rejects_bad_articles),
        cmocka_unit_test(test_search_uncommitted_is_invisible),
    };
    int fails = cmocka_run_group_tests_name("search_small", small, setup_small, teardown);
    fails += cmocka_run_group_tests_name("search", other, NULL, NULL);
    return fails;
}
