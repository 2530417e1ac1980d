/*
 * fuzz_tokenize.c - the analyzer on arbitrary bytes: analyzer_run with
 * checks on every token, and analyzer_keyword.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "fuzz.h"
#include "util/util.h"

static nd_analyzer *g_an;
static nd_buf g_kw;

typedef struct tok_state {
    size_t len;
    long last_pos;
    size_t last_start;
    unsigned long count;
} tok_state;

static int on_token(void *ctx, const nd_token *t)
{
    tok_state *st = ctx;
    FZ_CHECK(t->len >= 1 && t->len <= ND_MAX_TERM_BYTES);
    FZ_CHECK(t->start < t->end && t->end <= st->len);
    FZ_CHECK((long)t->pos > st->last_pos);
    FZ_CHECK(st->count == 0 || t->start >= st->last_start);
    fz_touch(t->term, t->len);
    st->last_pos = (long)t->pos;
    st->last_start = t->start;
    st->count++;
    return 0;
}

static int stop_token(void *ctx, const nd_token *t)
{
    (void)ctx;
    (void)t;
    return 7;
}

static void cleanup(void)
{
    analyzer_free(g_an);
    buf_free(&g_kw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    if (!g_an) {
        nd_err e;
        FZ_CHECK(analyzer_open(&g_an, &e) == ND_OK);
        atexit(cleanup);
    }
    const char *text = (const char *)data;
    tok_state st = {size, -1, 0, 0};
    int rc = analyzer_run(g_an, text, size, on_token, &st);
    FZ_CHECK(rc == 0);

    /* Stop at the first token: the callback's value comes back. */
    rc = analyzer_run(g_an, text, size, stop_token, NULL);
    FZ_CHECK(rc == (st.count ? 7 : 0));

    rc = analyzer_keyword(g_an, text, size, &g_kw);
    FZ_CHECK(rc == 0);
    fz_touch((const char *)g_kw.data, g_kw.len);
    return 0;
}
