/*
 * test_cli.c - end to end through the `search` executable: index the
 * bundled Reuters sample, query it (human and JSON output), read its
 * stats, and check the contract for bad input: FILE:LINE reports, --strict,
 * exit codes, --help on every command.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "testutil.h"

#define SAMPLE ND_SOURCE_DIR "/examples/data/reuters21578-sample.jsonl.gz"

static char *tmp;   /* a directory for this run */
static char index_dir[4096];

static int run(char **out, char **err, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return tu_run(cmd, out, err);
}

static int setup(void **state)
{
    (void)state;
    tmp = tu_mkdtemp();
    snprintf(index_dir, sizeof index_dir, "%s/reuters", tmp);
    char *out = NULL, *err = NULL;
    int rc = run(&out, &err, "'%s' index '%s' '%s'", ND_SEARCH_BIN, index_dir, SAMPLE);
    if (rc != 0)
        fprintf(stderr, "index failed (%d): %s\n%s\n", rc, out ? out : "", err ? err : "");
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "docs indexed   16000\n"));
    assert_non_null(strstr(out, "lines skipped  0\n"));
    assert_non_null(strstr(out, "docs/s"));
    assert_non_null(strstr(out, "index bytes"));
    free(out);
    free(err);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmrf(tmp);
    free(tmp);
    return 0;
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_cli_query_human(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(run(&out, NULL, "'%s' query '%s' 'cocoa brazil' -k 5", ND_SEARCH_BIN,
                         index_dir),
                     0);
    assert_non_null(strstr(out, " hits for 'cocoa brazil'"));
    assert_non_null(strstr(out, "\n1. "));
    assert_non_null(strstr(out, "\n5. "));
    assert_null(strstr(out, "\n6. "));
    /* not a terminal: no escape codes, matches marked with asterisks */
    assert_null(strchr(out, '\033'));
    assert_non_null(strstr(out, "*cocoa*") ? strstr(out, "*cocoa*") : strstr(out, "*Cocoa*"));
    free(out);
}

static void test_cli_query_json(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(run(&out, NULL, "'%s' query '%s' 'cocoa' --json", ND_SEARCH_BIN, index_dir),
                     0);
    assert_true(strncmp(out, "{\"query\":\"cocoa\",\"total_hits\":", 30) == 0);
    long total = strtol(out + 30, NULL, 10);
    assert_true(total > 50 && total < 16000);
    assert_non_null(strstr(out, "\"hits\":[{\"id\":\"reuters21578-"));
    assert_int_equal(count(out, "\"id\":"), 10);
    assert_int_equal(count(out, "\"score\":"), 10);
    assert_int_equal(count(out, "\"date\":\"1987-"), 10);
    assert_int_equal(count(out, "\"source\":\"Reuters\""), 10);
    assert_int_equal(count(out, "\"url\":"), 10);
    assert_int_equal(count(out, "\"snippet\":"), 10);
    assert_true(count(out, "<b>") >= 10);
    size_t len = strlen(out);
    assert_true(len > 3 && strcmp(out + len - 3, "]}\n") == 0);
    /* most of the best hits have cocoa in their title */
    int titled = 0;
    for (char *t = out; (t = strstr(t, "\"title\":\"")) != NULL;) {
        char *end = strchr(t + 9, '"');
        assert_non_null(end);
        *end = 0;
        titled += strstr(t, "COCOA") != NULL;
        t = end + 1;
    }
    assert_true(titled >= 7);
    free(out);

    /* -k and --and */
    assert_int_equal(run(&out, NULL, "'%s' query '%s' 'cocoa buffer stock' --and -k 3 --json",
                         ND_SEARCH_BIN, index_dir),
                     0);
    assert_int_equal(count(out, "\"id\":"), 3);
    free(out);
}

static void test_cli_stats(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(run(&out, NULL, "'%s' stats '%s' --json", ND_SEARCH_BIN, index_dir), 0);
    assert_non_null(strstr(out, "{\"documents\":16000,\"segments\":1,\"terms\":"));
    assert_non_null(strstr(out, "\"postings\":"));
    assert_non_null(strstr(out, "\"stored\":"));
    free(out);
    assert_int_equal(run(&out, NULL, "'%s' stats '%s'", ND_SEARCH_BIN, index_dir), 0);
    assert_non_null(strstr(out, "documents   16000\n"));
    free(out);
}

static void write_gz(const char *path, const char *text)
{
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, text, (unsigned)strlen(text)), (int)strlen(text));
    assert_int_equal(gzclose(g), Z_OK);
}

static void test_cli_bad_lines(void **state)
{
    (void)state;
    char file[4200], dir[4200];
    snprintf(file, sizeof file, "%s/bad.jsonl", tmp);
    const char *text = "{\"id\": \"1\", \"title\": \"good one\"}\n"
                       "{\"id\": \"2\", \"title\": \"broken\"\n"
                       "{\"id\": \"3\", \"body\": \"good two\"}\n"
                       "{\"title\": \"no id\"}\n"
                       "\n"
                       "{\"id\": \"4\", \"body\": \"bad utf8 \xff\"}\n"
                       "{\"id\": \"5\", \"date\": \"2019-13-45\"}\n"
                       "{\"id\": 6}\n"
                       "{\"id\": \"7\", \"body\": \"good three\"}";
    tu_write_file(file, text, strlen(text));
    snprintf(dir, sizeof dir, "%s/bad-index", tmp);
    char *out = NULL, *err = NULL;
    assert_int_equal(run(&out, &err, "'%s' index '%s' '%s'", ND_SEARCH_BIN, dir, file), 0);
    char want[4400];
    int lines[] = {2, 4, 6, 7, 8};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        snprintf(want, sizeof want, "%s:%d: ", file, lines[i]);
        assert_non_null(strstr(err, want));
    }
    assert_int_equal(count(err, file), 5);
    assert_non_null(strstr(out, "docs indexed   3\n"));
    assert_non_null(strstr(out, "lines skipped  5\n"));
    free(out);
    free(err);

    /* --strict: the first bad line is fatal, exit 3, nothing committed */
    snprintf(dir, sizeof dir, "%s/strict-index", tmp);
    assert_int_equal(run(&out, &err, "'%s' index '%s' '%s' --strict", ND_SEARCH_BIN, dir, file),
                     3);
    snprintf(want, sizeof want, "%s:2: ", file);
    assert_non_null(strstr(err, want));
    free(out);
    free(err);
    assert_int_equal(run(NULL, NULL, "'%s' stats '%s'", ND_SEARCH_BIN, dir), 4);

    /* the same lines gzip'd, read from stdin */
    char gz[4200];
    snprintf(gz, sizeof gz, "%s/bad.jsonl.gz", tmp);
    write_gz(gz, text);
    snprintf(dir, sizeof dir, "%s/stdin-index", tmp);
    assert_int_equal(run(&out, &err, "'%s' index '%s' - < '%s'", ND_SEARCH_BIN, dir, gz), 0);
    assert_non_null(strstr(out, "docs indexed   3\n"));
    assert_non_null(strstr(err, "-:8: "));
    free(out);
    free(err);
}

static void test_cli_truncated_gzip(void **state)
{
    (void)state;
    size_t n;
    char *data = tu_read_file(SAMPLE, &n);
    assert_non_null(data);
    char file[4200], dir[4200];
    snprintf(file, sizeof file, "%s/cut.jsonl.gz", tmp);
    tu_write_file(file, data, n / 3);
    free(data);
    snprintf(dir, sizeof dir, "%s/cut-index", tmp);
    char *out = NULL, *err = NULL;
    int rc = run(&out, &err, "'%s' index '%s' '%s'", ND_SEARCH_BIN, dir, file);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "cut.jsonl.gz"));
    free(out);
    free(err);
    /* what was read before the damage is committed and searchable */
    assert_int_equal(run(&out, NULL, "'%s' stats '%s' --json", ND_SEARCH_BIN, dir), 0);
    long docs = strtol(out + strlen("{\"documents\":"), NULL, 10);
    assert_true(docs > 1000 && docs < 16000);
    free(out);
}

static void test_cli_usage_and_exit_codes(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    const char *helps[] = {"--help",       "index --help",  "query --help",
                           "stats --help", "delete --help", "merge --help"};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(run(&out, NULL, "'%s' %s", ND_SEARCH_BIN, helps[i]), 0);
        assert_non_null(strstr(out, "usage: search"));
        free(out);
    }
    assert_int_equal(run(NULL, &err, "'%s'", ND_SEARCH_BIN), 2);
    assert_true(strlen(err) > 0 && strchr(err, '\n') == err + strlen(err) - 1);
    free(err);
    assert_int_equal(run(NULL, NULL, "'%s' frobnicate", ND_SEARCH_BIN), 2);
    assert_int_equal(run(NULL, NULL, "'%s' query '%s'", ND_SEARCH_BIN, index_dir), 2);
    assert_int_equal(run(NULL, NULL, "'%s' query '%s' x --bogus", ND_SEARCH_BIN, index_dir), 2);
    assert_int_equal(run(NULL, NULL, "'%s' query '%s' x -k many", ND_SEARCH_BIN, index_dir), 2);
    /* no index there */
    assert_int_equal(run(NULL, &err, "'%s' query '%s/none' x", ND_SEARCH_BIN, tmp), 4);
    assert_non_null(strstr(err, "no index"));
    free(err);
    /* a query with nothing searchable */
    assert_int_equal(run(NULL, &err, "'%s' query '%s' '...'", ND_SEARCH_BIN, index_dir), 3);
    free(err);
    /* a missing input file */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/missing-input", tmp);
    assert_int_equal(run(NULL, &err, "'%s' index '%s' '%s/nope.jsonl'", ND_SEARCH_BIN, dir, tmp),
                     1);
    assert_non_null(strstr(err, "nope.jsonl"));
    free(err);
}

/* Appending upserts by id; delete and merge; stats lists the segments. */
static void test_cli_lifecycle(void **state)
{
    (void)state;
    char file[4200], *out = NULL, *err = NULL;
    snprintf(file, sizeof file, "%s/more.jsonl", tmp);
    const char *text = "{\"id\": \"reuters21578-1\", \"title\": \"Replaced cocoa story\","
                       " \"body\": \"zanzibarian correction\"}\n"
                       "{\"id\": \"new-1\", \"body\": \"zanzibarian addition\"}\n";
    tu_write_file(file, text, strlen(text));
    assert_int_equal(run(&out, NULL, "'%s' index '%s' '%s'", ND_SEARCH_BIN, index_dir, file), 0);
    assert_non_null(strstr(out, "docs indexed   2\n"));
    free(out);
    assert_int_equal(run(&out, NULL, "'%s' stats '%s' --json", ND_SEARCH_BIN, index_dir), 0);
    assert_non_null(strstr(out, "{\"documents\":16001,\"segments\":2,"));
    assert_non_null(strstr(out, "\"deleted\":1,"));
    assert_non_null(strstr(out, "\"generation\":2,"));
    free(out);
    assert_int_equal(run(&out, NULL, "'%s' query '%s' zanzibarian --json", ND_SEARCH_BIN,
                         index_dir),
                     0);
    assert_non_null(strstr(out, "\"total_hits\":2,"));
    assert_non_null(strstr(out, "Replaced cocoa story"));
    free(out);
    /* delete two ids (one absent), then merge to one segment */
    assert_int_equal(run(&out, NULL, "'%s' delete '%s' new-1 no-such-id", ND_SEARCH_BIN,
                         index_dir),
                     0);
    free(out);
    assert_int_equal(run(&out, NULL, "'%s' query '%s' zanzibarian --json", ND_SEARCH_BIN,
                         index_dir),
                     0);
    assert_non_null(strstr(out, "\"total_hits\":1,"));
    free(out);
    assert_int_equal(run(&out, &err, "'%s' merge '%s' --max-segments 1", ND_SEARCH_BIN,
                         index_dir),
                     0);
    free(out);
    free(err);
    assert_int_equal(run(&out, NULL, "'%s' stats '%s'", ND_SEARCH_BIN, index_dir), 0);
    assert_non_null(strstr(out, "documents   16000\n"));
    assert_non_null(strstr(out, "segments    1\n"));
    free(out);
    assert_int_equal(run(NULL, NULL, "'%s' merge '%s/none'", ND_SEARCH_BIN, tmp), 4);
    assert_int_equal(run(NULL, NULL, "'%s' delete '%s'", ND_SEARCH_BIN, index_dir), 2);
    assert_int_equal(run(&out, NULL, "'%s' delete --help", ND_SEARCH_BIN), 0);
    free(out);
}

/* Checks a TREC run: six columns, ranks 1.. per topic, scores not
 * increasing, the tag last. Returns the number of lines of topic qid. */
static int check_run(const char *run_text, const char *qid, char *first_id, size_t idlen)
{
    int lines = 0, expect_rank = 1;
    double last = 1e300;
    char prev_q[64] = "";
    const char *p = run_text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        char q[64], q0[8], id[128], tag[32];
        int rank;
        double score;
        char line[512];
        assert_true((size_t)(nl - p) < sizeof line);
        memcpy(line, p, (size_t)(nl - p));
        line[nl - p] = 0;
        assert_int_equal(sscanf(line, "%63s %7s %127s %d %lf %31s", q, q0, id, &rank, &score, tag), 6);
        assert_string_equal(q0, "Q0");
        assert_string_equal(tag, "newsdex");
        if (strcmp(q, prev_q) != 0) {
            expect_rank = 1;
            last = 1e300;
            snprintf(prev_q, sizeof prev_q, "%s", q);
        }
        assert_int_equal(rank, expect_rank);
        expect_rank++;
        assert_true(score <= last);
        last = score;
        if (strcmp(q, qid) == 0) {
            if (lines == 0 && first_id)
                snprintf(first_id, idlen, "%s", id);
            lines++;
        }
        p = nl + 1;
    }
    return lines;
}

static void test_cli_run(void **state)
{
    (void)state;
    char topics[4200], timings[4200];
    snprintf(topics, sizeof topics, "%s/topics.tsv", tmp);
    snprintf(timings, sizeof timings, "%s/timings.json", tmp);
    FILE *f = fopen(topics, "w");
    assert_non_null(f);
    fputs("101\tcocoa brazil\r\n\n102\t(oil AND\n103\t\"buffer stock\" cocoa\nno tab here\n", f);
    fclose(f);
    char *out = NULL, *err = NULL;
    assert_int_equal(run(&out, &err, "'%s' run '%s' '%s' -k 7 --reps 2 --timings '%s'",
                         ND_SEARCH_BIN, index_dir, topics, timings),
                     0);
    char id101[128] = "", id103[128] = "";
    assert_int_equal(check_run(out, "101", id101, sizeof id101), 7);
    assert_int_equal(check_run(out, "102", NULL, 0), 0);
    assert_int_equal(check_run(out, "103", id103, sizeof id103), 7);
    assert_int_equal(count(out, "\n"), 14);
    /* the bad topic and the bad line are named on stderr, then one summary line */
    assert_non_null(strstr(err, "topic 102: "));
    assert_non_null(strstr(err, "topics.tsv:5: "));
    assert_non_null(strstr(err, "run: 3 topics (1 failed), 14 lines"));
    free(out);
    free(err);

    /* the same best article as `search query` */
    assert_int_equal(run(&out, NULL, "'%s' query '%s' 'cocoa brazil' -k 1 --json", ND_SEARCH_BIN,
                         index_dir),
                     0);
    char want[160];
    snprintf(want, sizeof want, "\"id\":\"%s\"", id101);
    assert_non_null(strstr(out, want));
    free(out);

    /* timings: two topics ran; percentiles in order */
    char *js = tu_read_file(timings, NULL);
    assert_non_null(js);
    double mean, p50, p95, p99, max;
    int nq;
    assert_int_equal(sscanf(js, "{\"queries\": %d, \"lat_us\": {\"mean\": %lf, \"p50\": %lf, "
                                "\"p95\": %lf, \"p99\": %lf, \"max\": %lf}}",
                            &nq, &mean, &p50, &p95, &p99, &max),
                     6);
    assert_int_equal(nq, 2);
    assert_true(p50 > 0 && p50 <= p95 && p95 <= p99 && p99 <= max && mean <= max);
    free(js);

    /* --plain: the unbalanced topic is plain words and gets its hits */
    assert_int_equal(run(&out, &err, "'%s' run '%s' '%s' -k 3 --plain", ND_SEARCH_BIN, index_dir,
                         topics),
                     0);
    assert_int_equal(check_run(out, "102", NULL, 0), 3);
    assert_null(strstr(err, "topic 102"));
    free(out);
    free(err);

    /* --k1/--b change the scores; --and narrows; bad values are usage errors */
    char *a = NULL, *b = NULL;
    assert_int_equal(run(&a, NULL, "'%s' run '%s' '%s' -k 1", ND_SEARCH_BIN, index_dir, topics), 0);
    assert_int_equal(run(&b, NULL, "'%s' run '%s' '%s' -k 1 --k1 2.0 --b 0.9", ND_SEARCH_BIN,
                         index_dir, topics),
                     0);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
    assert_int_equal(run(NULL, NULL, "'%s' run '%s' '%s' --b 7", ND_SEARCH_BIN, index_dir, topics), 2);
    assert_int_equal(run(NULL, NULL, "'%s' run '%s' '%s'/none", ND_SEARCH_BIN, index_dir, topics), 1);
    assert_int_equal(run(NULL, NULL, "'%s' run '%s'/none '%s'", ND_SEARCH_BIN, tmp, topics), 4);
    assert_int_equal(run(NULL, NULL, "'%s' run '%s'", ND_SEARCH_BIN, index_dir), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_query_human),
        cmocka_unit_test(test_cli_query_json),
        cmocka_unit_test(test_cli_stats),
        cmocka_unit_test(test_cli_bad_lines),
        cmocka_unit_test(test_cli_truncated_gzip),
        cmocka_unit_test(test_cli_usage_and_exit_codes),
        cmocka_unit_test(test_cli_lifecycle),
        cmocka_unit_test(test_cli_run),
    };
    return cmocka_run_group_tests_name("cli", tests, setup, teardown);
}
