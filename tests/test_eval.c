/*
 * test_eval.c - the ranking-quality measures of bench/eval_metrics.c,
 * checked against one small example worked out by hand:
 *
 *   judgements:  d1 rel 3, d2 rel 2, d3 rel 0, d4 rel 1, d5 rel 1
 *                (relevant = rel > 0: d1, d2, d4, d5 -> 4 relevant)
 *   ranking:     1 d3   2 d1   3 x (unjudged)   4 d4   5 d2
 *
 *   AP      = (P@2 + P@4 + P@5) / 4 = (1/2 + 2/4 + 3/5) / 4 = 1.6 / 4 = 0.4
 *   P@10    = 3 relevant in the first 10 / 10 = 0.3   (list padded)
 *   P@3     = 1 / 3
 *   R@100   = 3 / 4 = 0.75;   R@4 = 2 / 4 = 0.5
 *   nDCG@10 : DCG  = 3/log2(3) + 1/log2(5) + 2/log2(6)
 *                  = 1.892789 + 0.430677 + 0.773706 = 3.097171
 *             IDCG = gains 3,2,1,1 at ranks 1..4
 *                  = 3/log2(2) + 2/log2(3) + 1/log2(4) + 1/log2(5)
 *                  = 3 + 1.261860 + 0.5 + 0.430677 = 5.192536
 *             nDCG@10 = 3.097171 / 5.192536 = 0.596466
 *   nDCG@2  : 1.892789 / (3 + 1.261860) = 0.444123
 *
 * The measures are pure functions, so the file is compiled in directly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../bench/eval_metrics.c" /* NOLINT(bugprone-suspicious-include): tested as built */

static const ev_judgment qrels[] = {
    {"d1", 3}, {"d2", 2}, {"d3", 0}, {"d4", 1}, {"d5", 1},
};
static const size_t nq = sizeof qrels / sizeof qrels[0];
static const char *const ranked[] = {"d3", "d1", "x", "d4", "d2"};
static const size_t nr = sizeof ranked / sizeof ranked[0];

#define EPS 1e-6

/* Fails with both values printed when |got - want| >= EPS. */
#define assert_near(got, want, eps) assert_near_((got), (want), (eps), __FILE__, __LINE__)
static void assert_near_(double got, double want, double eps, const char *file, int line)
{
    if (!(fabs(got - want) < eps)) {
        print_error("%s:%d: got %.9f, want %.9f\n", file, line, got, want);
        fail();
    }
}

static void test_average_precision(void **state)
{
    (void)state;
    assert_near(ev_average_precision(ranked, nr, qrels, nq), 0.4, EPS);
    /* Nothing retrieved: 0. */
    assert_near(ev_average_precision(ranked, 0, qrels, nq), 0.0, EPS);
    /* Perfect ranking of all four relevant documents: 1. */
    const char *const perfect[] = {"d1", "d2", "d4", "d5"};
    assert_near(ev_average_precision(perfect, 4, qrels, nq), 1.0, EPS);
}

static void test_precision(void **state)
{
    (void)state;
    assert_near(ev_precision_at(ranked, nr, qrels, nq, 10), 0.3, EPS);
    assert_near(ev_precision_at(ranked, nr, qrels, nq, 3), 1.0 / 3.0, EPS);
    assert_near(ev_precision_at(ranked, nr, qrels, nq, 1), 0.0, EPS);
}

static void test_recall(void **state)
{
    (void)state;
    assert_near(ev_recall_at(ranked, nr, qrels, nq, 100), 0.75, EPS);
    assert_near(ev_recall_at(ranked, nr, qrels, nq, 4), 0.5, EPS);
    assert_int_equal(ev_num_relevant(qrels, nq), 4);
}

static void test_ndcg(void **state)
{
    (void)state;
    assert_near(ev_ndcg_at(ranked, nr, qrels, nq, 10), 0.596466, EPS);
    assert_near(ev_ndcg_at(ranked, nr, qrels, nq, 2), 0.444123, EPS);
    /* The ideal order scores 1. */
    const char *const ideal[] = {"d1", "d2", "d4", "d5"};
    assert_near(ev_ndcg_at(ideal, 4, qrels, nq, 10), 1.0, EPS);
}

static void test_no_relevant(void **state)
{
    (void)state;
    static const ev_judgment none[] = {{"d3", 0}};
    assert_near(ev_ndcg_at(ranked, nr, none, 1, 10), 0.0, EPS);
    assert_near(ev_average_precision(ranked, nr, none, 1), 0.0, EPS);
    assert_near(ev_recall_at(ranked, nr, none, 1, 100), 0.0, EPS);
    assert_int_equal(ev_rel_of("d3", none, 1), 0);
    assert_int_equal(ev_rel_of("d1", qrels, nq), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_average_precision),
        cmocka_unit_test(test_precision),
        cmocka_unit_test(test_recall),
        cmocka_unit_test(test_ndcg),
        cmocka_unit_test(test_no_relevant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
