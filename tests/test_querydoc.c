/*
 * test_querydoc.c - docs/QUERY.md says what its examples do; this test
 * holds it to that. Every line of every ```query block is run against the
 * bundled Reuters sample, and the comment after '#' is checked:
 *
 *     QUERY   # hits            at least one match
 *     QUERY   # N hits          exactly N matches
 *     QUERY   # no hits         parses, matches nothing
 *     QUERY   # same as: Q2     the same match set as Q2
 *     QUERY   # syntax error    ND_ESYNTAX
 *     QUERY   # limit error     ND_ELIMIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "newsdex.h"
#include "testutil.h"

#define SAMPLE ND_SOURCE_DIR "/examples/data/reuters21578-sample.jsonl.gz"
#define DOC ND_SOURCE_DIR "/docs/QUERY.md"

static char *dir;
static nd_index *ix;
static nd_search *s;

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp();
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    nd_ingest_stats st;
    memset(&st, 0, sizeof st);
    assert_int_equal(nd_writer_add_jsonl(w, SAMPLE, NULL, &st), ND_OK);
    assert_int_equal(st.added, 16000);
    assert_int_equal(nd_writer_commit(w), ND_OK);
    nd_writer_free(w);
    assert_int_equal(nd_index_open(&ix, dir, NULL, NULL, 0), ND_OK);
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nd_search_free(s);
    nd_index_free(ix);
    tu_rmrf(dir);
    free(dir);
    return 0;
}

/* The matches of q as a sorted list of ids (two pages of ND_MAX_K). */
typedef struct idset {
    char **id;
    size_t n;
} idset;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run(const char *q, uint64_t *total, idset *ids)
{
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.snippets = 0;
    nd_hits *h;
    if (ids)
        memset(ids, 0, sizeof *ids);
    for (size_t page = 0; page < 2; page++) {
        o.offset = page * ND_MAX_K;
        int rc = nd_search_run(s, &h, q, ids ? ND_MAX_K : 0, &o);
        if (rc)
            return rc;
        *total = nd_hits_total(h);
        if (ids) {
            size_t n = nd_hits_count(h);
            ids->id = realloc(ids->id, (ids->n + n + 1) * sizeof *ids->id);
            for (size_t i = 0; i < n; i++) {
                nd_hit x;
                nd_hits_get(h, i, &x);
                char *c = malloc(x.id_len + 1);
                memcpy(c, x.id, x.id_len);
                c[x.id_len] = 0;
                ids->id[ids->n++] = c;
            }
        }
        nd_hits_free(h);
        if (!ids || *total <= ND_MAX_K)
            break;
    }
    if (ids && ids->n)
        qsort(ids->id, ids->n, sizeof *ids->id, cmp_str);
    return ND_OK;
}

static void idset_free(idset *x)
{
    for (size_t i = 0; i < x->n; i++)
        free(x->id[i]);
    free(x->id);
}

static char *trim(char *p)
{
    while (*p == ' ')
        p++;
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\n' || p[n - 1] == '\r'))
        p[--n] = 0;
    return p;
}

static void check_example(const char *q, const char *want, int line)
{
    uint64_t total = 0;
    if (strcmp(want, "syntax error") == 0 || strcmp(want, "limit error") == 0) {
        int code = want[0] == 's' ? ND_ESYNTAX : ND_ELIMIT;
        int rc = run(q, &total, NULL);
        if (rc != code)
            fail_msg("QUERY.md:%d: '%s' gave %d (%s), the doc says %s", line, q, rc,
                     nd_search_errmsg(s), want);
        return;
    }
    if (strncmp(want, "same as:", 8) == 0) {
        idset a, b;
        uint64_t tb;
        const char *q2 = want + 8;
        while (*q2 == ' ')
            q2++;
        if (run(q, &total, &a) || run(q2, &tb, &b))
            fail_msg("QUERY.md:%d: '%s' or '%s' failed: %s", line, q, q2, nd_search_errmsg(s));
        int same = a.n == b.n && total == tb;
        for (size_t i = 0; same && i < a.n; i++)
            same = strcmp(a.id[i], b.id[i]) == 0;
        if (!same)
            fail_msg("QUERY.md:%d: '%s' (%llu) and '%s' (%llu) should match the same articles",
                     line, q, (unsigned long long)total, q2, (unsigned long long)tb);
        if (total == 0)
            fail_msg("QUERY.md:%d: '%s' matches nothing: not much of an example", line, q);
        idset_free(&a);
        idset_free(&b);
        return;
    }
    int rc = run(q, &total, NULL);
    if (rc)
        fail_msg("QUERY.md:%d: '%s' failed: %s", line, q, nd_search_errmsg(s));
    if (strcmp(want, "hits") == 0) {
        if (total == 0)
            fail_msg("QUERY.md:%d: '%s' matches nothing, the doc says it has hits", line, q);
    } else if (strcmp(want, "no hits") == 0) {
        if (total != 0)
            fail_msg("QUERY.md:%d: '%s' has %llu hits, the doc says none", line, q,
                     (unsigned long long)total);
    } else {
        char *end;
        unsigned long long n = strtoull(want, &end, 10);
        if (end == want || strcmp(end, " hits") != 0)
            fail_msg("QUERY.md:%d: unknown expectation '%s'", line, want);
        if (total != n)
            fail_msg("QUERY.md:%d: '%s' has %llu hits, the doc says %llu", line, q,
                     (unsigned long long)total, n);
    }
}

static void test_querydoc_examples(void **state)
{
    (void)state;
    size_t len;
    char *doc = tu_read_file(DOC, &len);
    assert_non_null(doc);
    int in_block = 0, line = 0, examples = 0, blocks = 0;
    for (char *p = doc; *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        line++;
        if (strncmp(p, "```", 3) == 0) {
            in_block = !in_block && strcmp(p, "```query") == 0;
            blocks += in_block;
        } else if (in_block) {
            char *hash = strstr(p, " # ");
            if (!hash)
                fail_msg("QUERY.md:%d: example without '# expectation'", line);
            *hash = 0;
            check_example(trim(p), trim(hash + 3), line);
            examples++;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    assert_false(in_block);
    assert_true(blocks >= 8);
    assert_true(examples >= 50);
    fprintf(stderr, "  %d examples in %d blocks of docs/QUERY.md checked\n", examples, blocks);
    free(doc);
}

/* The CLI examples in the doc: the facet timeline and the caret. */
static void test_querydoc_cli(void **state)
{
    (void)state;
    char cmd[8192], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "'%s' query '%s' cocoa --facets source,month -k 1", ND_SEARCH_BIN,
             dir);
    assert_int_equal(tu_run(cmd, &out, NULL), 0);
    assert_non_null(strstr(out, "109 hits for 'cocoa'"));
    assert_non_null(strstr(out, "Sources\n  Reuters  109  "));
    assert_non_null(strstr(out, "Timeline by month\n  1987-02   1  "));
    assert_non_null(strstr(out, "\n  1987-03  49  "));
    assert_non_null(strstr(out, "\n  1987-04  59  \xe2\x96\x88"));
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' query '%s' 'cocoa AND (brazil OR'", ND_SEARCH_BIN, dir);
    assert_int_equal(tu_run(cmd, NULL, &err), 3);
    assert_non_null(strstr(err, "column 19: OR needs a clause after it\n"
                                "  cocoa AND (brazil OR\n"
                                "                    ^\n"));
    free(err);
}

static char *cli(int want_exit, const char *fmt, ...)
{
    char args[4096], cmd[8192], *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' query '%s' %s", ND_SEARCH_BIN, dir, args);
    int rc = tu_run(cmd, &out, NULL);
    if (rc != want_exit)
        fail_msg("%s: exit %d, expected %d", args, rc, want_exit);
    return out;
}

/* The options of `search query` for counts, dates, sorting and facets. */
static void test_querydoc_cli_options(void **state)
{
    (void)state;
    char *out = cli(0, "cocoa --count");
    assert_string_equal(out, "109\n");
    free(out);
    out = cli(0, "cocoa --count --json --facets source,month");
    assert_string_equal(out, "{\"query\":\"cocoa\",\"total_hits\":109,\"hits\":[],\"facets\":{"
                             "\"source\":{\"Reuters\":109},\"month\":{\"1987-02\":1,"
                             "\"1987-03\":49,\"1987-04\":59}}}\n");
    free(out);
    out = cli(0, "cocoa --since 1987-03 --until 1987-03 --count");
    assert_string_equal(out, "49\n");
    free(out);
    out = cli(0, "cocoa --since 1987-03-10 --json --facets year,day -k 0");
    assert_non_null(strstr(out, "\"facets\":{\"year\":{\"1987\":"));
    assert_non_null(strstr(out, "\"day\":{\"1987-03-12\":3,"));
    free(out);
    /* newest first, then oldest first */
    const char *orders[2] = {"-date", "date"};
    for (int o = 0; o < 2; o++) {
        out = cli(0, "cocoa --sort %s -k 20 --json --no-snippets", orders[o]);
        char prev[32] = "";
        int n = 0;
        for (char *p = out; (p = strstr(p, "\"date\":\"")) != NULL; p += 8, n++) {
            char d[32];
            snprintf(d, sizeof d, "%.20s", p + 8);
            if (n)
                assert_true(o == 0 ? strcmp(d, prev) <= 0 : strcmp(d, prev) >= 0);
            memcpy(prev, d, sizeof prev);
        }
        assert_int_equal(n, 20);
        free(out);
    }
    out = cli(0, "cocoa --sort -date -k 2 --offset 1");
    assert_non_null(strstr(out, "109 hits for 'cocoa'"));
    assert_non_null(strstr(out, "showing 2-3, newest first"));
    assert_non_null(strstr(out, "\n2. "));
    free(out);
    free(cli(2, "cocoa --sort sideways"));
    free(cli(2, "cocoa --since 1987-13"));
    free(cli(2, "cocoa --until"));
    free(cli(2, "cocoa --facets week"));
    free(cli(3, "'co*'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_querydoc_examples),
        cmocka_unit_test(test_querydoc_cli),
        cmocka_unit_test(test_querydoc_cli_options),
    };
    return cmocka_run_group_tests_name("querydoc", tests, setup, teardown);
}
