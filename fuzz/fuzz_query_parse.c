/*
 * fuzz_query_parse.c - the query language. A tiny fixed index is built once
 * (on the first call) and the input, as a NUL-terminated string, is run
 * against it with nd_search_run (k = 10), with default options and again
 * with AND as the default operator, date order and facets. Every call must
 * return a documented code and never hang.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "newsdex.h"

static char g_dir[1024];
static nd_index *g_ix;
static nd_search *g_s;

static const char *const k_docs[] = {
    "{\"id\":\"a1\",\"title\":\"Oil prices rise\",\"body\":\"Crude oil rose 3% on Monday as "
    "OPEC cut output. Oil traders expect more.\",\"source\":\"Reuters\",\"lang\":\"en\","
    "\"url\":\"https://example.com/a1\",\"date\":\"2019-03-14T09:30:00Z\"}",
    "{\"id\":\"a2\",\"title\":\"Huawei and 5G\",\"body\":\"Britain's review of Huawei 5G "
    "equipment continued.\",\"source\":\"BBC\",\"lang\":\"en\",\"date\":\"2019-01-02\"}",
    "{\"id\":\"a3\",\"title\":\"\",\"body\":\"\xe5\x8c\x97\xe4\xba\xac\xe5\xa4\xa9\xe5\xae\x89"
    "\xe9\x97\xa8 Caf\xc3\xa9 Z\xc3\xbcrich\",\"source\":\"Xinhua\",\"lang\":\"zh\"}",
    "{\"id\":\"a4\",\"title\":\"Elections in Germany\",\"body\":\"Voters in Berlin and Munich "
    "went to the polls; oil and gas were an issue.\",\"source\":\"DW\",\"lang\":\"de\","
    "\"date\":\"2021-09-26\"}",
    "{\"id\":\"a5\",\"title\":\"Gas prices fall\",\"body\":\"Natural gas prices fell after a "
    "mild winter in Europe.\",\"source\":\"Reuters\",\"lang\":\"en\",\"date\":\"2020-02-01\"}",
};

static void cleanup(void)
{
    nd_search_free(g_s);
    nd_index_free(g_ix);
    fz_rm_dir(g_dir);
}

static void setup(void)
{
    fz_make_tempdir(g_dir, sizeof g_dir, "fuzz-query");
    nd_writer *w = NULL;
    FZ_CHECK(nd_writer_open(&w, g_dir, NULL) == ND_OK);
    for (size_t i = 0; i < sizeof k_docs / sizeof k_docs[0]; i++)
        FZ_CHECK(nd_writer_add_json(w, k_docs[i], strlen(k_docs[i])) == ND_OK);
    FZ_CHECK(nd_writer_commit(w) == ND_OK);
    nd_writer_free(w);
    FZ_CHECK(nd_index_open(&g_ix, g_dir, NULL, NULL, 0) == ND_OK);
    FZ_CHECK(nd_search_open(&g_s, g_ix) == ND_OK);
    atexit(cleanup);
}

static void run(const char *q, size_t qlen, const nd_search_opts *opts)
{
    nd_hits *h = NULL;
    int rc = nd_search_run(g_s, &h, q, 10, opts);
    FZ_CHECK(rc == ND_OK || rc == ND_ESYNTAX || rc == ND_ELIMIT);
    const char *msg = nd_search_errmsg(g_s);
    FZ_CHECK(msg != NULL);
    fz_touch(msg, strlen(msg));
    if (rc != ND_OK) {
        FZ_CHECK(h == NULL);
        size_t off = nd_search_error_offset(g_s);
        FZ_CHECK(off == ND_NO_OFFSET || off <= qlen);
        return;
    }
    FZ_CHECK(h != NULL);
    FZ_CHECK(nd_hits_count(h) <= 10);
    fz_read_hits(h);
    nd_hits_free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    if (!g_s)
        setup();
    char *q = malloc(size + 1);
    FZ_CHECK(q != NULL);
    if (size)
        memcpy(q, data, size);
    q[size] = '\0';
    size_t qlen = strlen(q);

    run(q, qlen, NULL);
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.default_op = ND_OP_AND;
    o.sort = ND_SORT_DATE_DESC;
    o.facets = ND_FACET_SOURCE | ND_FACET_DAY | ND_FACET_MONTH | ND_FACET_YEAR;
    o.offset = 1;
    run(q, qlen, &o);
    free(q);
    return 0;
}
