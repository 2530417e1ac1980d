/*
 * test_golden.c - indexes written by released format versions stay
 * readable. tests/data/golden-v1 was written by format version 1 from
 * tests/data/golden-v1.jsonl; this test opens it read-only and checks its
 * statistics, stored fields, ranking and scores, so a reader change that
 * misreads old files fails here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "newsdex.h"
#include "testutil.h"

#define GOLDEN_V1 ND_SOURCE_DIR "/tests/data/golden-v1"

static void test_golden_v1_reads(void **state)
{
    (void)state;
    nd_index *ix;
    char err[256];
    assert_int_equal(nd_index_open(&ix, GOLDEN_V1, NULL, err, sizeof err), ND_OK);
    nd_index_stats st;
    nd_index_stats_get(ix, &st);
    assert_int_equal(st.docs, 3);
    assert_int_equal(st.segments, 1);
    assert_int_equal(st.generation, 1);

    nd_search *s;
    nd_hits *h;
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    assert_int_equal(nd_search_run(s, &h, "huawei 5g oil", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 2);
    nd_hit a, b;
    assert_int_equal(nd_hits_get(h, 0, &a), ND_OK);
    assert_int_equal(nd_hits_get(h, 1, &b), ND_OK);
    assert_memory_equal(a.id, "g2", 2);
    assert_memory_equal(b.id, "g1", 2);
    /* the combined-field BM25 of version 0.3 on the statistics read from
     * the files (0.2's per-field sum gave 5.393096 and 2.752506) */
    assert_true(fabs(a.score - 2.745094) < 1e-5);
    assert_true(fabs(b.score - 1.387649) < 1e-5);
    assert_memory_equal(b.url, "https://example.com/g1", b.url_len);
    assert_memory_equal(b.source, "Reuters", b.source_len);
    char date[40];
    assert_true(nd_date_format(date, sizeof date, b.date) > 0);
    assert_string_equal(date, "2019-03-14T09:30:00Z");
    nd_hits_free(h);

    /* CJK text and accents were analysed and stored */
    assert_int_equal(nd_search_run(s, &h, "天安门 zürich", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 1);
    assert_int_equal(nd_hits_get(h, 0, &a), ND_OK);
    assert_memory_equal(a.id, "g3", 2);
    assert_int_equal(a.date, ND_NO_DATE);
    assert_int_equal(a.n_marks, 2);
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_v1_reads),
    };
    return cmocka_run_group_tests_name("golden", tests, NULL, NULL);
}
