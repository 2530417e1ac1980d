/*
 * test_ingest.c - reading articles in: the JSON reader (valid articles,
 * every class of bad line with its exact message and column, UTF-8
 * validation, depth bombs), ISO 8601 dates (known answers, bad forms,
 * format/parse round trips over the whole supported range), and the line
 * reader (plain, gzip, concatenated gzip members, CRLF, over-long lines,
 * truncated and corrupt gzip files, standard input).
 *
 * JSON inputs are placed so that they end right at an inaccessible page:
 * the reader gets (pointer, length) and must never look past the length.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "testutil.h"
#include "ingest/ingest.h"

/* ---- helpers ---------------------------------------------------------- */

/* Copies n bytes so that they end just before a PROT_NONE page. */
typedef struct guarded {
    uint8_t *map;
    size_t maplen;
    const char *p;
} guarded;

static guarded guard_copy(const void *src, size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t cap = (n + pg - 1) / pg * pg;
    if (cap == 0)
        cap = pg;
    guarded g;
    g.maplen = cap + pg;
    /* cppcheck-suppress invalidFunctionArg ; MAP_ANONYMOUS wants fd -1 */
    g.map = mmap(NULL, g.maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g.map != MAP_FAILED);
    assert_int_equal(mprotect(g.map + cap, pg, PROT_NONE), 0);
    uint8_t *p = g.map + cap - n;
    if (n)
        memcpy(p, src, n);
    g.p = (const char *)p;
    return g;
}

static void guard_free(guarded *g)
{
    munmap(g->map, g->maplen);
}

typedef struct parsed {
    int rc;
    char err[256];
    nd_doc doc;
    nd_buf scratch;
} parsed;

/* Parses n bytes of s (a guarded copy); p->scratch is reused across calls. */
static int parse_n(parsed *p, const char *s, size_t n)
{
    guarded g = guard_copy(s, n);
    memset(p->err, 'X', sizeof p->err);
    p->rc = json_parse_article(g.p, n, &p->scratch, &p->doc, p->err, sizeof p->err);
    guard_free(&g);
    /* The document points into scratch, not into the input. */
    return p->rc;
}

static int parse(parsed *p, const char *s)
{
    return parse_n(p, s, strlen(s));
}

static void expect_error_n(const char *s, size_t n, const char *msg)
{
    parsed p = {0};
    int rc = parse_n(&p, s, n);
    if (rc != ND_EINVAL || strcmp(p.err, msg) != 0)
        fail_msg("input %.*s\n  rc %d, message \"%s\"\n  expected \"%s\"", (int)ND_MIN(n, 200), s,
                 rc, rc == ND_OK ? "" : p.err, msg);
    buf_free(&p.scratch);
}

static void expect_error(const char *s, const char *msg)
{
    expect_error_n(s, strlen(s), msg);
}

static void expect_ok(const char *s)
{
    parsed p = {0};
    if (parse(&p, s) != ND_OK)
        fail_msg("input %s\n  rc %d, message \"%s\"", s, p.rc, p.err);
    buf_free(&p.scratch);
}

static void assert_field(const char *got, size_t got_len, const char *want)
{
    if (!want) {
        assert_null(got);
        assert_int_equal(got_len, 0);
        return;
    }
    assert_non_null(got);
    assert_int_equal(got_len, strlen(want));
    assert_memory_equal(got, want, got_len);
}

/* ---- json: valid articles ----------------------------------------------- */

static void test_ingest_json_full_article(void **state)
{
    (void)state;
    const char *line =
        " {\"id\": \"reuters-42\", \"title\": \"Caf\\u00e9 \\u6771\\u4eac \\ud83d\\ude00 ok\","
        " \"extra\": {\"nested\": [1, -2.5e+3, true, false, null, {\"k\": [\"v\", {}]}, []],"
        " \"s\": \"\\\"x\\\"\"}, \"body\": \"line1\\nline2\\t\\\"q\\\" \\\\ \\/ \\b\\f\\r end\","
        " \"source\": \"Reuters\", \"url\": \"https://example.com/a?b=c&d=\\u0026\","
        " \"lang\": \"en\", \"date\": \"2019-03-14T10:30:00+01:00\", \"tags\": [\"oil\"],"
        " \"n\": 0, \"\\u0069gnored\": 1.0E-7 }\r\n\t ";
    parsed p = {0};
    assert_int_equal(parse(&p, line), ND_OK);
    assert_string_equal(p.err, "");
    assert_field(p.doc.id, p.doc.id_len, "reuters-42");
    assert_field(p.doc.title, p.doc.title_len,
                 "Caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80 ok");
    assert_field(p.doc.body, p.doc.body_len, "line1\nline2\t\"q\" \\ / \b\f\r end");
    assert_field(p.doc.source, p.doc.source_len, "Reuters");
    assert_field(p.doc.url, p.doc.url_len, "https://example.com/a?b=c&d=&");
    assert_field(p.doc.lang, p.doc.lang_len, "en");
    assert_int_equal(p.doc.date, 1552555800);
    buf_free(&p.scratch);
}

static void test_ingest_json_only_id(void **state)
{
    (void)state;
    parsed p = {0};
    assert_int_equal(parse(&p, "{\"id\":\"a\"}"), ND_OK);
    assert_field(p.doc.id, p.doc.id_len, "a");
    assert_field(p.doc.title, p.doc.title_len, NULL);
    assert_field(p.doc.body, p.doc.body_len, NULL);
    assert_field(p.doc.source, p.doc.source_len, NULL);
    assert_field(p.doc.url, p.doc.url_len, NULL);
    assert_field(p.doc.lang, p.doc.lang_len, NULL);
    assert_true(p.doc.date == ND_NO_DATE);
    buf_free(&p.scratch);
}

static void test_ingest_json_null_fields_absent(void **state)
{
    (void)state;
    parsed p = {0};
    assert_int_equal(parse(&p, "{\"title\":null,\"body\":null,\"source\":null,\"url\":null,"
                               "\"lang\":null,\"date\":null,\"id\":\"x\"}"),
                     ND_OK);
    assert_field(p.doc.id, p.doc.id_len, "x");
    assert_field(p.doc.title, p.doc.title_len, NULL);
    assert_field(p.doc.body, p.doc.body_len, NULL);
    assert_field(p.doc.source, p.doc.source_len, NULL);
    assert_field(p.doc.url, p.doc.url_len, NULL);
    assert_field(p.doc.lang, p.doc.lang_len, NULL);
    assert_true(p.doc.date == ND_NO_DATE);

    /* An empty string is present, not absent. */
    assert_int_equal(parse(&p, "{\"id\":\"x\",\"title\":\"\"}"), ND_OK);
    assert_non_null(p.doc.title);
    assert_int_equal(p.doc.title_len, 0);
    buf_free(&p.scratch);
}

static void test_ingest_json_duplicate_keys_last_wins(void **state)
{
    (void)state;
    parsed p = {0};
    assert_int_equal(parse(&p, "{\"id\":\"first\",\"title\":\"t1\",\"id\":\"second\","
                               "\"title\":null,\"body\":5,\"body\":\"b\",\"date\":\"junk\","
                               "\"date\":\"2000-01-01\"}"),
                     ND_OK);
    assert_field(p.doc.id, p.doc.id_len, "second");
    assert_field(p.doc.title, p.doc.title_len, NULL);
    assert_field(p.doc.body, p.doc.body_len, "b");
    assert_int_equal(p.doc.date, 946684800);

    expect_error("{\"id\":\"a\",\"id\":null}", "missing \"id\"");
    expect_error("{\"id\":\"a\",\"id\":\"\"}", "\"id\" is empty");
    expect_error("{\"id\":\"a\",\"title\":\"t\",\"title\":[]}", "\"title\" must be a string");
    buf_free(&p.scratch);
}

static void test_ingest_json_keys_with_escapes(void **state)
{
    (void)state;
    parsed p = {0};
    /* Keys are compared after unescaping. */
    assert_int_equal(parse(&p, "{\"\\u0069\\u0064\":\"k\",\"t\\u0069tle\":\"T\"}"), ND_OK);
    assert_field(p.doc.id, p.doc.id_len, "k");
    assert_field(p.doc.title, p.doc.title_len, "T");
    /* Near misses are unknown fields. */
    assert_int_equal(parse(&p, "{\"id\":\"k\",\"Title\":5,\"titles\":5,\"i\":5,\"\":5}"), ND_OK);
    assert_field(p.doc.title, p.doc.title_len, NULL);
    buf_free(&p.scratch);
}

static void test_ingest_json_valid_utf8(void **state)
{
    (void)state;
    parsed p = {0};
    /* Boundaries of every sequence length, raw and escaped. */
    const char *raw = "\x7f \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf "
                      "\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf";
    char line[512];
    snprintf(line, sizeof line, "{\"id\":\"u\",\"body\":\"%s\",\"title\":\"%s\"}", raw,
             "\\u007f \\u0080 \\u07FF \\u0800 \\ud7ff \\ue000 \\uFFFF \\uD800\\uDC00 "
             "\\uDBFF\\uDFFF");
    assert_int_equal(parse(&p, line), ND_OK);
    assert_field(p.doc.body, p.doc.body_len, raw);
    assert_field(p.doc.title, p.doc.title_len, raw);

    /* Long mixed text crosses the eight-byte fast path at every alignment. */
    for (size_t shift = 0; shift < 9; shift++) {
        char big[600];
        char want[600];
        size_t n = (size_t)snprintf(big, sizeof big, "{\"id\":\"%.*s\",\"body\":\"", (int)shift,
                                    "xxxxxxxxx");
        size_t w = 0;
        for (int i = 0; i < 40; i++) {
            const char *piece = i % 5 == 0 ? "\xe6\x97\xa5" : i % 7 == 0 ? "\\n" : "abcdefg";
            const char *unesc = i % 5 == 0 ? "\xe6\x97\xa5" : i % 7 == 0 ? "\n" : "abcdefg";
            n += (size_t)snprintf(big + n, sizeof big - n, "%s", piece);
            w += (size_t)snprintf(want + w, sizeof want - w, "%s", unesc);
        }
        n += (size_t)snprintf(big + n, sizeof big - n, "\"}");
        assert_int_equal(parse_n(&p, big, n), shift == 0 ? ND_EINVAL : ND_OK);
        if (shift > 0)
            assert_field(p.doc.body, p.doc.body_len, want);
    }
    buf_free(&p.scratch);
}

static void test_ingest_json_numbers_and_literals(void **state)
{
    (void)state;
    /* clang-format off */
    const char *good[] = {"0", "-0", "1", "-12", "0.5", "-0.0e0", "1E9", "1e+9", "1e-9",
                          "123.456e789", "true", "false", "null", "[]", "{}", "[1,[2,[3]]]",
                          "{\"a\":{\"b\":{}}}", "\"s\"", " [ 1 , 2 ] "};
    /* clang-format on */
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"x\":%s,\"id\":\"a\"}", good[i]);
        expect_ok(line);
    }
    struct {
        const char *value;
        const char *msg;
    } bad[] = {
        {"01", "column 7: expected ',' or '}' after object member"},
        {"-", "column 7: invalid number"},
        {"-a", "column 7: invalid number"},
        {"1.", "column 8: invalid number"},
        {"1.e5", "column 8: invalid number"},
        {".5", "column 6: expected a value"},
        {"1e", "column 8: invalid number"},
        {"1e+", "column 9: invalid number"},
        {"+1", "column 6: expected a value"},
        {"0x10", "column 7: expected ',' or '}' after object member"},
        {"tru", "column 6: invalid literal"},
        {"True", "column 6: expected a value"},
        {"nul", "column 6: invalid literal"},
        {"falsy", "column 6: invalid literal"},
        {"[1,]", "column 9: expected a value"},
        {"[1 2]", "column 9: expected ',' or ']' after array element"},
        {"{\"a\"}", "column 10: expected ':' after object key"},
        {"{\"a\":1,}", "column 13: expected an object key"},
        {"{1:2}", "column 7: expected an object key"},
        {"'s'", "column 6: expected a value"},
        {"NaN", "column 6: expected a value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"x\":%s,\"id\":\"a\"}", bad[i].value);
        expect_error(line, bad[i].msg);
    }
}

static void test_ingest_json_scratch_reused(void **state)
{
    (void)state;
    parsed p = {0};
    /* A large article, then a small one, then a large one again: every
     * pointer must be into the current scratch contents. */
    size_t n = 200000;
    char *line = malloc(n + 64);
    assert_non_null(line);
    size_t k = (size_t)snprintf(line, 64, "{\"id\":\"big\",\"body\":\"");
    for (size_t i = 0; i < n; i++)
        line[k++] = (char)('a' + i % 26);
    memcpy(line + k, "\",\"title\":\"T\"}", 15);
    k += 14;
    for (int round = 0; round < 2; round++) {
        assert_int_equal(parse_n(&p, line, k), ND_OK);
        assert_int_equal(p.doc.body_len, n);
        assert_int_equal(p.doc.body[n - 1], 'a' + (n - 1) % 26);
        assert_field(p.doc.title, p.doc.title_len, "T");
        assert_field(p.doc.id, p.doc.id_len, "big");
        assert_int_equal(parse(&p, "{\"id\":\"small\"}"), ND_OK);
        assert_field(p.doc.id, p.doc.id_len, "small");
        assert_field(p.doc.body, p.doc.body_len, NULL);
    }
    free(line);
    buf_free(&p.scratch);
}

/* ---- json: errors ------------------------------------------------------- */

static void test_ingest_json_syntax_errors(void **state)
{
    (void)state;
    expect_error("", "column 1: expected '{'");
    expect_error("   ", "column 4: expected '{'");
    expect_error("[1]", "column 1: expected '{'");
    expect_error("\"id\"", "column 1: expected '{'");
    expect_error("null", "column 1: expected '{'");
    expect_error("{", "column 2: unexpected end of line, expected an object key");
    expect_error("{\"id\"", "column 6: unexpected end of line, expected ':' after object key");
    expect_error("{\"id\" \"a\"}", "column 7: expected ':' after object key");
    expect_error("{\"id\":\"a\",\"title\" = \"b\"}", "column 19: expected ':' after object key");
    expect_error("{\"id\":", "column 7: unexpected end of line, expected a value");
    expect_error("{\"x\":}", "column 6: expected a value");
    expect_error("{\"id\":\"a\"",
                 "column 10: unexpected end of line, expected ',' or '}' after object member");
    expect_error("{\"id\":\"a\" \"b\":1}", "column 11: expected ',' or '}' after object member");
    expect_error("{\"id\":\"a\",}", "column 11: expected an object key");
    expect_error("{id:\"a\"}", "column 2: expected an object key");
    expect_error("{'id':'a'}", "column 2: expected an object key");
    expect_error("{\"id\":\"abc", "column 7: unterminated string");
    expect_error("{\"id\":\"abc\\", "column 7: unterminated string");
    expect_error("{\"id\":\"abc\\\"}", "column 7: unterminated string");
    expect_error("{\"id\":\"a\\x\"}", "column 9: invalid escape sequence");
    expect_error("{\"id\":\"a\\U0041\"}", "column 9: invalid escape sequence");
    expect_error("{\"id\":\"a\\u004\"}", "column 9: invalid \\u escape");
    expect_error("{\"id\":\"a\\u00g1\"}", "column 9: invalid \\u escape");
    expect_error("{\"id\":\"a\\u12", "column 9: invalid \\u escape");
    expect_error("{\"id\":\"a\tb\"}", "column 9: unescaped control character in string");
    expect_error("{\"id\":\"a\nb\"}", "column 9: unescaped control character in string");
    expect_error("{\"id\":\"a\x1f\"}", "column 9: unescaped control character in string");
    expect_error("{\"i\x01\":\"a\"}", "column 4: unescaped control character in string");
    /* DEL is not a control character for JSON. */
    expect_ok("{\"id\":\"a\x7f\"}");
}

static void test_ingest_json_trailing_garbage(void **state)
{
    (void)state;
    expect_error("{\"id\":\"a\"}x", "column 11: unexpected data after the object");
    expect_error("{\"id\":\"a\"} {\"id\":\"b\"}", "column 12: unexpected data after the object");
    expect_error("{\"id\":\"a\"}}", "column 11: unexpected data after the object");
    expect_error_n("{\"id\":\"a\"} \0", 12, "column 12: unexpected data after the object");
    expect_ok("\t\r\n {\"id\":\"a\"} \t\r\n");
}

static void test_ingest_json_id_errors(void **state)
{
    (void)state;
    expect_error("{}", "missing \"id\"");
    expect_error("{\"title\":\"t\"}", "missing \"id\"");
    expect_error("{\"id\":null}", "missing \"id\"");
    expect_error("{\"ID\":\"a\"}", "missing \"id\"");
    expect_error("{\"id\":\"\"}", "\"id\" is empty");
    expect_error("{\"id\":42}", "\"id\" must be a string");
    expect_error("{\"id\":true}", "\"id\" must be a string");
    expect_error("{\"id\":[\"a\"]}", "\"id\" must be a string");
    expect_error("{\"id\":{\"a\":1}}", "\"id\" must be a string");
    /* A syntax error later in the line wins over a field error. */
    expect_error("{\"id\":42,", "column 10: unexpected end of line, expected an object key");
}

static void test_ingest_json_field_types(void **state)
{
    (void)state;
    const char *names[] = {"title", "body", "source", "url", "lang", "date"};
    const char *values[] = {"1", "-0.5", "true", "false", "[]", "{}", "[\"s\"]", "{\"a\":\"b\"}"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        for (size_t j = 0; j < sizeof values / sizeof *values; j++) {
            char line[128], msg[64];
            snprintf(line, sizeof line, "{\"id\":\"a\",\"%s\":%s}", names[i], values[j]);
            snprintf(msg, sizeof msg, "\"%s\" must be a string", names[i]);
            expect_error(line, msg);
        }
    }
}

static void test_ingest_json_bad_date(void **state)
{
    (void)state;
    expect_error("{\"id\":\"a\",\"date\":\"2019-13-01\"}",
                 "\"date\": not an ISO 8601 date: \"2019-13-01\"");
    expect_error("{\"id\":\"a\",\"date\":\"\"}", "\"date\": not an ISO 8601 date: \"\"");
    expect_error("{\"id\":\"a\",\"date\":\"March 14, 2019\"}",
                 "\"date\": not an ISO 8601 date: \"March 14, 2019\"");
    /* Long values are cut at 40 bytes (on a character boundary) and
     * control characters do not break the one-line message. */
    expect_error("{\"id\":\"a\",\"date\":\"0123456789012345678901234567890123456789xyz\"}",
                 "\"date\": not an ISO 8601 date: \"0123456789012345678901234567890123456789...\"");
    expect_error("{\"id\":\"a\",\"date\":\"012345678901234567890123456789012345678\\u00e9\"}",
                 "\"date\": not an ISO 8601 date: \"012345678901234567890123456789012345678...\"");
    expect_error("{\"id\":\"a\",\"date\":\"2019\\n01\"}",
                 "\"date\": not an ISO 8601 date: \"2019?01\"");
    expect_error("{\"id\":\"a\",\"date\":1552555800}", "\"date\" must be a string");

    parsed p = {0};
    assert_int_equal(parse(&p, "{\"id\":\"a\",\"date\":\"1987-02-26T15:01:01\"}"), ND_OK);
    assert_int_equal(p.doc.date, 541350061);
    buf_free(&p.scratch);
}

static void test_ingest_json_invalid_utf8(void **state)
{
    (void)state;
    struct {
        const char *bytes;
        const char *what;
    } bad[] = {
        {"\x80", "stray continuation"},
        {"\xbf", "stray continuation"},
        {"\xc0\xaf", "overlong '/'"},
        {"\xc1\xbf", "overlong 2-byte"},
        {"\xe0\x80\xaf", "overlong 3-byte"},
        {"\xe0\x9f\xbf", "overlong 3-byte"},
        {"\xf0\x80\x80\xaf", "overlong 4-byte"},
        {"\xf0\x8f\xbf\xbf", "overlong 4-byte"},
        {"\xed\xa0\x80", "encoded surrogate U+D800"},
        {"\xed\xbf\xbf", "encoded surrogate U+DFFF"},
        {"\xf4\x90\x80\x80", "U+110000"},
        {"\xf5\x80\x80\x80", "lead F5"},
        {"\xf8\x88\x80\x80\x80", "5-byte form"},
        {"\xfe", "FE"},
        {"\xff", "FF"},
        {"\xc3", "truncated 2-byte"},
        {"\xe6\x97", "truncated 3-byte"},
        {"\xf0\x9f\x98", "truncated 4-byte"},
        {"\xc3\x28", "bad continuation"},
        {"\xe2\x28\xa1", "bad continuation"},
        {"\xe2\x82\x28", "bad continuation"},
        {"\xf0\x9f\x28\x80", "bad continuation"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char line[64];
        /* In a value, after a valid multi-byte character... */
        snprintf(line, sizeof line, "{\"id\":\"\xc3\xa9x%s\"}", bad[i].bytes);
        expect_error(line, "invalid UTF-8 at column 11");
        /* ...in a key, and in an ignored nested value. */
        snprintf(line, sizeof line, "{\"%s\":1,\"id\":\"a\"}", bad[i].bytes);
        expect_error(line, "invalid UTF-8 at column 3");
        snprintf(line, sizeof line, "{\"id\":\"a\",\"x\":[[\"abcdefghijkl%s\"]]}", bad[i].bytes);
        expect_error(line, "invalid UTF-8 at column 30");
    }
    /* A sequence cut by the end of the line (no closing quote either). */
    expect_error("{\"id\":\"\xe6\x97", "invalid UTF-8 at column 8");
    /* Invalid bytes outside strings are plain syntax errors. */
    expect_error("{\"id\":\"a\",\xc3\xa9:1}", "column 11: expected an object key");
    expect_error("\xef\xbb\xbf{\"id\":\"a\"}", "column 1: expected '{'");
}

static void test_ingest_json_lone_surrogate(void **state)
{
    (void)state;
    expect_error("{\"id\":\"a\\ud800\"}", "column 9: unpaired surrogate \\uD800");
    expect_error("{\"id\":\"a\\uDBFFx\"}", "column 9: unpaired surrogate \\uDBFF");
    expect_error("{\"id\":\"a\\udc00\"}", "column 9: unpaired surrogate \\uDC00");
    expect_error("{\"id\":\"a\\uDFFF\\uD800\"}", "column 9: unpaired surrogate \\uDFFF");
    expect_error("{\"id\":\"a\\ud800\\ud800\"}", "column 9: unpaired surrogate \\uD800");
    expect_error("{\"id\":\"a\\ud800\\u0041\"}", "column 9: unpaired surrogate \\uD800");
    expect_error("{\"id\":\"a\\ud800\\n\"}", "column 9: unpaired surrogate \\uD800");
    expect_error("{\"id\":\"a\\ud800\\udc0\"}", "column 15: invalid \\u escape");
    expect_error("{\"id\":\"a\\ud800", "column 9: unpaired surrogate \\uD800");
}

static void test_ingest_json_nul(void **state)
{
    (void)state;
    expect_error("{\"id\":\"a\\u0000b\"}", "NUL character in string at column 9");
    expect_error_n("{\"id\":\"a\0b\"}", 12, "NUL character in string at column 9");
    expect_error_n("{\"x\":[\"\0\"],\"id\":\"a\"}", 20, "NUL character in string at column 8");
    /* U+0000 cannot hide in an overlong form either. */
    expect_error("{\"id\":\"a\xc0\x80\"}", "invalid UTF-8 at column 9");
}

static void test_ingest_json_depth_bomb(void **state)
{
    (void)state;
    size_t n = 100000;
    char *bomb = malloc(n + 64);
    assert_non_null(bomb);
    size_t k = (size_t)snprintf(bomb, 64, "{\"id\":\"a\",\"x\":");
    memset(bomb + k, '[', n);
    k += n;
    /* Level 65 is the first too deep; its '[' is at column 15 + 64. */
    expect_error_n(bomb, k, "column 79: nesting deeper than 64 levels");

    /* Objects count as well as arrays. */
    k = (size_t)snprintf(bomb, 64, "{\"id\":\"a\",\"x\":");
    for (size_t i = 0; i < 1000; i++) {
        memcpy(bomb + k, "{\"a\":", 5);
        k += 5;
    }
    expect_error_n(bomb, k, "column 335: nesting deeper than 64 levels");

    /* Exactly the limit is fine. */
    k = (size_t)snprintf(bomb, 64, "{\"id\":\"a\",\"x\":");
    memset(bomb + k, '[', ND_JSON_MAX_DEPTH);
    k += ND_JSON_MAX_DEPTH;
    memset(bomb + k, ']', ND_JSON_MAX_DEPTH);
    k += ND_JSON_MAX_DEPTH;
    bomb[k++] = '}';
    parsed p = {0};
    assert_int_equal(parse_n(&p, bomb, k), ND_OK);
    /* One more is not. */
    k = (size_t)snprintf(bomb, 64, "{\"id\":\"a\",\"x\":");
    memset(bomb + k, '[', ND_JSON_MAX_DEPTH + 1);
    k += ND_JSON_MAX_DEPTH + 1;
    memset(bomb + k, ']', ND_JSON_MAX_DEPTH + 1);
    k += ND_JSON_MAX_DEPTH + 1;
    bomb[k++] = '}';
    assert_int_equal(parse_n(&p, bomb, k), ND_EINVAL);
    /* Known fields go through the same bound. */
    k = (size_t)snprintf(bomb, 64, "{\"id\":");
    memset(bomb + k, '[', n);
    k += n;
    expect_error_n(bomb, k, "column 71: nesting deeper than 64 levels");
    free(bomb);
    buf_free(&p.scratch);
}

/* Every prefix of a valid article and every one-byte change of it must give
 * a clean answer (and never read outside the input). */
static void test_ingest_json_damage_never_crashes(void **state)
{
    (void)state;
    const char *line = "{\"id\":\"x-1\",\"title\":\"T\\u00e9\\ud83d\\ude00\",\"n\":[1.5e3,"
                       "{\"a\":null,\"b\":[true,false]}],\"body\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\","
                       "\"date\":\"2019-03-14T09:30:00Z\"}";
    size_t n = strlen(line);
    parsed p = {0};
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(parse_n(&p, line, k), ND_EINVAL);
        assert_true(strlen(p.err) > 0 && strlen(p.err) < sizeof p.err);
    }
    assert_int_equal(parse_n(&p, line, n), ND_OK);
    char *copy = malloc(n);
    assert_non_null(copy);
    const uint8_t subst[] = {0x00, '"', '\\', '{', '}', '[', ']', ':', ',', 'u', 0x80, 0xff, ' '};
    for (size_t k = 0; k < n; k++) {
        for (size_t j = 0; j < sizeof subst; j++) {
            memcpy(copy, line, n);
            copy[k] = (char)subst[j];
            int rc = parse_n(&p, copy, n);
            assert_true(rc == ND_OK || rc == ND_EINVAL);
            if (rc == ND_OK) {
                assert_non_null(p.doc.id);
                assert_true(p.doc.id_len > 0);
            }
        }
    }
    free(copy);
    buf_free(&p.scratch);
}

/* ---- dates ------------------------------------------------------------ */

static int64_t date_of(const char *s)
{
    int64_t v = 12345;
    int rc = nd_date_parse(&v, s, strlen(s));
    if (rc != ND_OK)
        fail_msg("nd_date_parse(\"%s\") = %d", s, rc);
    return v;
}

static void test_ingest_date_known_answers(void **state)
{
    (void)state;
    assert_int_equal(date_of("1970-01-01"), 0);
    assert_int_equal(date_of("1970"), 0);
    assert_int_equal(date_of("1970-01"), 0);
    assert_int_equal(date_of("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(date_of("2019-03-14T09:30:00Z"), 1552555800);
    assert_int_equal(date_of("2019-03-14T10:30:00+01:00"), 1552555800);
    assert_int_equal(date_of("2019-03-14T10:30:00+0100"), 1552555800);
    assert_int_equal(date_of("2019-03-14T10:30:00+01"), 1552555800);
    assert_int_equal(date_of("2019-03-14T04:00:00-05:30"), 1552555800);
    assert_int_equal(date_of("2019-03-14 09:30:00"), 1552555800);
    assert_int_equal(date_of("2019-03-14T09:30"), 1552555800);
    assert_int_equal(date_of("2019-03-14T09:30Z"), 1552555800);
    assert_int_equal(date_of("2019-03-14T09:30:00.999999Z"), 1552555800);
    assert_int_equal(date_of("2019-03-14T09:30:00.5"), 1552555800);
    /* 6265 days after the epoch, plus 15:01:01 */
    assert_int_equal(date_of("1987-02-26T15:01:01"), 6265 * 86400 + 54061);
    assert_int_equal(date_of("2000-02-29"), 951782400);
    assert_int_equal(date_of("2019-03-14T09:30:60Z"), 1552555859); /* leap second clamped */
    assert_int_equal(date_of("1969-12-31T23:59:59Z"), -1);
    assert_int_equal(date_of("1900-01-01"), -2208988800LL);
    assert_int_equal(date_of("0001-01-01"), -62135596800LL);
    assert_int_equal(date_of("9999-12-31T23:59:59Z"), 253402300799LL);
    assert_int_equal(date_of("2019-03-14T00:00:00+18:00"), 1552521600 - 18 * 3600);
    assert_int_equal(date_of("2019-03-14T00:00:00-18:00"), 1552521600 + 18 * 3600);
    assert_int_equal(date_of("2019-03-14T00:00:00-00:00"), 1552521600);
    assert_int_equal(date_of("2019"), 1546300800);
    assert_int_equal(date_of("2019-03"), 1551398400);

    assert_int_equal(days_from_civil(1970, 1, 1), 0);
    assert_int_equal(days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(days_from_civil(1, 1, 1), -719162);
    assert_int_equal(days_from_civil(9999, 12, 31), 2932896);
}

static void test_ingest_date_bad_forms(void **state)
{
    (void)state;
    /* clang-format off */
    const char *bad[] = {
        "", " ", "2019-1-5", "2019-01-5", "19-01-05", "02019-01-01", "2019/03/14", "20190314",
        "2019-03-14T", "2019-03-14T9:30", "2019-03-14T09", "2019-03-14T09:3", "2019-03-14T0930",
        "2019-03-14T09:30:0", "2019-03-14T09:30:00.", "2019-03-14T09:30:00,5",
        "2019-03-14T09:30:00z", "2019-03-14t09:30:00Z", "2019-03-14T09:30:00 Z",
        "2019-03-14T09:30:00+1", "2019-03-14T09:30:00+01:", "2019-03-14T09:30:00+01:0",
        "2019-03-14T09:30:00+01:000", "2019-03-14T09:30:00+010", "2019-03-14T09:30:00+19:00",
        "2019-03-14T09:30:00+18:01", "2019-03-14T09:30:00+05:60", "2019-03-14T09:30:00ZZ",
        "2019-03-14Z", "2019Z", "2019-03T10:00", "2019-03-14 ", " 2019-03-14", "2019-03-14x",
        "0000-01-01", "2019-00-01", "2019-13-01", "2019-01-00", "2019-01-32", "2019-02-29",
        "1900-02-29", "2100-02-29", "2019-04-31", "2019-06-31", "2019-09-31", "2019-11-31",
        "2019-03-14T24:00:00Z", "2019-03-14T23:60:00Z", "2019-03-14T23:59:61Z", "-2019-03-14",
        "+2019-03-14", "2019-03-14T09:30:00Z\n", "abcd", "２０１９",
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t v = 777;
        if (nd_date_parse(&v, bad[i], strlen(bad[i])) != ND_EINVAL)
            fail_msg("nd_date_parse(\"%s\") accepted it", bad[i]);
        assert_int_equal(v, 777); /* untouched on failure */
    }
    int64_t v;
    /* The length bounds the text: no NUL needed, nothing read past it. */
    assert_int_equal(nd_date_parse(&v, "2019-03-14T09:30:00Zjunk", 20), ND_OK);
    assert_int_equal(v, 1552555800);
    assert_int_equal(nd_date_parse(&v, "2019-03-14", 7), ND_OK);
    assert_int_equal(v, 1551398400);
    assert_int_equal(nd_date_parse(&v, "2019-03-14", 6), ND_EINVAL);
    assert_int_equal(nd_date_parse(&v, NULL, 0), ND_EINVAL);
    assert_int_equal(date_of("2000-02-29T12:00:00Z") - date_of("2000-02-28T12:00:00Z"), 86400);
    assert_int_equal(date_of("1600-02-29"), date_of("1600-03-01") - 86400);
}

static void expect_format(int64_t date, const char *want)
{
    char buf[64];
    memset(buf, 'X', sizeof buf);
    size_t n = nd_date_format(buf, sizeof buf, date);
    assert_int_equal(n, strlen(want));
    assert_string_equal(buf, want);
}

static void test_ingest_date_format(void **state)
{
    (void)state;
    expect_format(0, "1970-01-01");
    expect_format(1552555800, "2019-03-14T09:30:00Z");
    expect_format(1552521600, "2019-03-14");
    expect_format(-1, "1969-12-31T23:59:59Z");
    expect_format(-86400, "1969-12-31");
    expect_format(-86401, "1969-12-30T23:59:59Z");
    expect_format(541350061, "1987-02-26T15:01:01Z");
    expect_format(951782400, "2000-02-29");
    expect_format(-62135596800LL, "0001-01-01");
    expect_format(253402300799LL, "9999-12-31T23:59:59Z");
    /* Offsets at the edges of the range step just outside it. */
    expect_format(date_of("0001-01-01T00:00:00+01:00"), "0000-12-31T23:00:00Z");
    expect_format(date_of("9999-12-31T23:00:00-02:00"), "+10000-01-01T01:00:00Z");

    char buf[32];
    assert_int_equal(nd_date_format(buf, sizeof buf, ND_NO_DATE), 0);
    assert_int_equal(nd_date_format(buf, 10, 0), 0); /* no room for the NUL */
    assert_int_equal(nd_date_format(buf, 11, 0), 10);
    assert_string_equal(buf, "1970-01-01");
    assert_int_equal(nd_date_format(buf, 20, 1), 0);
    assert_int_equal(nd_date_format(buf, 21, 1), 20);
    assert_int_equal(nd_date_format(buf, 0, 1), 0);
    /* Absurd values still come out as some text, without overflow. */
    assert_true(nd_date_format(buf, sizeof buf, INT64_MAX) > 0);
    assert_true(nd_date_format(buf, sizeof buf, INT64_MIN + 1) > 0);
}

static void test_ingest_date_round_trips(void **state)
{
    (void)state;
    /* Every day of years 1..9999 is exactly one more than the day before. */
    int64_t prev = days_from_civil(1, 1, 1) - 1;
    for (unsigned y = 1; y <= 9999; y++) {
        for (unsigned m = 1; m <= 12; m++) {
            static const unsigned md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
            int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            unsigned last = md[m - 1] + (m == 2 && leap);
            for (unsigned d = 1; d <= last; d++) {
                int64_t z = days_from_civil(y, m, d);
                assert_true(z == prev + 1);
                prev = z;
            }
        }
    }
    /* format -> parse -> same value, across the whole range. */
    uint64_t seed = 42;
    int64_t lo = date_of("0001-01-01"), hi = date_of("9999-12-31T23:59:59Z");
    for (int i = 0; i < 200000; i++) {
        int64_t v = lo + (int64_t)(tu_rand(&seed) % (uint64_t)(hi - lo + 1));
        if (i % 2)
            v -= (v % 86400 + 86400) % 86400; /* midnights too */
        char buf[32];
        size_t n = nd_date_format(buf, sizeof buf, v);
        assert_true(n == 10 || n == 20);
        int64_t back;
        assert_int_equal(nd_date_parse(&back, buf, n), ND_OK);
        assert_true(back == v);
    }
}

/* ---- lines ------------------------------------------------------------ */

typedef struct tmpdir {
    char *dir;
    char path[4200];
} tmpdir;

static int setup_dir(void **state)
{
    tmpdir *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->dir = tu_mkdtemp();
    *state = t;
    return 0;
}

static int teardown_dir(void **state)
{
    tmpdir *t = *state;
    tu_rmrf(t->dir);
    free(t->dir);
    free(t);
    return 0;
}

static const char *tpath(tmpdir *t, const char *name)
{
    snprintf(t->path, sizeof t->path, "%s/%s", t->dir, name);
    return t->path;
}

/* Writes data as one gzip member (mode "wb" or "ab" to append a member). */
static void write_gz(const char *path, const char *mode, const void *data, size_t n)
{
    gzFile gz = gzopen(path, mode);
    assert_non_null(gz);
    if (n)
        assert_int_equal(gzwrite(gz, data, (unsigned)n), (int)n);
    assert_int_equal(gzclose(gz), Z_OK);
}

/* Reads the next line and checks its text and number. */
static void expect_line(line_reader *r, const char *want, uint64_t lineno)
{
    const char *line;
    size_t len;
    nd_err e = {{0}};
    int rc = line_reader_next(r, &line, &len, &e);
    if (rc != ND_OK)
        fail_msg("expected line %llu \"%s\", got rc %d (%s)", (unsigned long long)lineno, want, rc,
                 e.msg);
    if (len != strlen(want) || memcmp(line, want, len) != 0)
        fail_msg("line %llu: got \"%.*s\", expected \"%s\"", (unsigned long long)lineno,
                 (int)ND_MIN(len, 100), line, want);
    assert_int_equal(line_reader_lineno(r), lineno);
}

static int next_rc(line_reader *r, nd_err *e)
{
    const char *line;
    size_t len;
    return line_reader_next(r, &line, &len, e);
}

/* Set while the line tests run again with the reader reading ahead. */
static int g_readahead;

static line_reader *open_ok(const char *path)
{
    line_reader *r = NULL;
    nd_err e = {{0}};
    int rc = line_reader_open(&r, path, &e);
    if (rc != ND_OK)
        fail_msg("line_reader_open(%s): %d %s", path, rc, e.msg);
    if (g_readahead)
        line_reader_readahead(r);
    return r;
}

static const char sample[] = "{\"id\":\"1\"}\n{\"id\":\"2\"}\n\nlast";

static void check_sample(line_reader *r)
{
    nd_err e = {{0}};
    expect_line(r, "{\"id\":\"1\"}", 1);
    expect_line(r, "{\"id\":\"2\"}", 2);
    expect_line(r, "", 3);
    expect_line(r, "last", 4);
    assert_int_equal(next_rc(r, &e), ND_DONE);
    assert_int_equal(next_rc(r, &e), ND_DONE);
    assert_int_equal(line_reader_lineno(r), 4);
}

static void test_ingest_lines_plain_file(void **state)
{
    tmpdir *t = *state;
    const char *p = tpath(t, "plain.jsonl");
    tu_write_file(p, sample, sizeof sample - 1);
    line_reader *r = open_ok(p);
    assert_int_equal(line_reader_size(r), sizeof sample - 1);
    check_sample(r);
    assert_int_equal(line_reader_offset(r), sizeof sample - 1);
    line_reader_close(r);
}

static void test_ingest_lines_gzip_file(void **state)
{
    tmpdir *t = *state;
    const char *p = tpath(t, "a.jsonl.gz");
    write_gz(p, "wb", sample, sizeof sample - 1);
    long long size = file_size(p);
    line_reader *r = open_ok(p);
    assert_int_equal(line_reader_size(r), (uint64_t)size);
    check_sample(r);
    assert_int_equal(line_reader_offset(r), (uint64_t)size);
    line_reader_close(r);
}

static void test_ingest_lines_concatenated_gzip(void **state)
{
    tmpdir *t = *state;
    const char *p = tpath(t, "cat.jsonl.gz");
    /* The second member continues the line the first one left open. */
    write_gz(p, "wb", "one\ntw", 6);
    write_gz(p, "ab", "o\nthree\n", 8);
    write_gz(p, "ab", "", 0);
    write_gz(p, "ab", "four\n", 5);
    line_reader *r = open_ok(p);
    nd_err e = {{0}};
    expect_line(r, "one", 1);
    expect_line(r, "two", 2);
    expect_line(r, "three", 3);
    expect_line(r, "four", 4);
    assert_int_equal(next_rc(r, &e), ND_DONE);
    line_reader_close(r);
}

static void test_ingest_lines_crlf_and_blank_lines(void **state)
{
    tmpdir *t = *state;
    const char *p = tpath(t, "crlf.jsonl");
    const char text[] = "a\r\nb\r\n\r\n\n\r\r\nc\rd\r\ne\r";
    tu_write_file(p, text, sizeof text - 1);
    line_reader *r = open_ok(p);
    nd_err e = {{0}};
    expect_line(r, "a", 1);
    expect_line(r, "b", 2);
    expect_line(r, "", 3);
    expect_line(r, "", 4);
    expect_line(r, "\r", 5); /* only one '\r' is stripped */
    expect_line(r, "c\rd", 6);
    expect_line(r, "e", 7); /* the last line, without '\n', also loses its '\r' */
    assert_int_equal(next_rc(r, &e), ND_DONE);
    line_reader_close(r);
}

static void test_ingest_lines_empty_file(void **state)
{
    tmpdir *t = *state;
    nd_err e = {{0}};
    const char *p = tpath(t, "empty");
    tu_write_file(p, "", 0);
    line_reader *r = open_ok(p);
    assert_int_equal(line_reader_size(r), 0);
    assert_int_equal(next_rc(r, &e), ND_DONE);
    assert_int_equal(line_reader_lineno(r), 0);
    line_reader_close(r);

    p = tpath(t, "empty.gz");
    write_gz(p, "wb", "", 0);
    r = open_ok(p);
    assert_int_equal(next_rc(r, &e), ND_DONE);
    line_reader_close(r);

    p = tpath(t, "newline");
    tu_write_file(p, "\n", 1);
    r = open_ok(p);
    expect_line(r, "", 1);
    assert_int_equal(next_rc(r, &e), ND_DONE);
    line_reader_close(r);
}

static void test_ingest_lines_over_limit(void **state)
{
    tmpdir *t = *state;
    nd_err e = {{0}};
    /* Lines around a limit of 10, the long ones far longer than the buffer. */
    size_t big = (size_t)5 << 20;
    char *text = malloc(big * 2 + 100);
    assert_non_null(text);
    size_t n = 0;
    n += (size_t)sprintf(text + n, "0123456789\n");   /* exactly the limit: kept */
    n += (size_t)sprintf(text + n, "0123456789\r\n"); /* the limit plus "\r": kept */
    n += (size_t)sprintf(text + n, "0123456789A\n");  /* one over */
    memset(text + n, 'x', big);
    n += big;
    text[n++] = '\n';
    n += (size_t)sprintf(text + n, "ok\n");
    memset(text + n, 'y', big);
    n += big; /* a long last line without '\n' */

    const char *names[] = {"long.jsonl", "long.jsonl.gz"};
    for (int i = 0; i < 2; i++) {
        const char *p = tpath(t, names[i]);
        if (i == 0)
            tu_write_file(p, text, n);
        else
            write_gz(p, "wb", text, n);
        line_reader *r = open_ok(p);
        line_reader_set_max(r, 10);
        expect_line(r, "0123456789", 1);
        expect_line(r, "0123456789", 2);
        assert_int_equal(next_rc(r, &e), ND_ELIMIT);
        assert_int_equal(line_reader_lineno(r), 3);
        assert_non_null(strstr(e.msg, "line 3 is longer than 10 bytes"));
        assert_int_equal(next_rc(r, &e), ND_ELIMIT);
        assert_int_equal(line_reader_lineno(r), 4);
        expect_line(r, "ok", 5);
        assert_int_equal(next_rc(r, &e), ND_ELIMIT);
        assert_int_equal(line_reader_lineno(r), 6);
        assert_int_equal(next_rc(r, &e), ND_DONE);
        line_reader_close(r);

        /* With the default limit the same lines all come through whole. */
        r = open_ok(p);
        expect_line(r, "0123456789", 1);
        expect_line(r, "0123456789", 2);
        expect_line(r, "0123456789A", 3);
        const char *line;
        size_t len;
        assert_int_equal(line_reader_next(r, &line, &len, &e), ND_OK);
        assert_int_equal(len, big);
        assert_true(line[0] == 'x' && line[big - 1] == 'x');
        expect_line(r, "ok", 5);
        assert_int_equal(line_reader_next(r, &line, &len, &e), ND_OK);
        assert_int_equal(len, big);
        assert_true(line[0] == 'y' && line[big - 1] == 'y');
        assert_int_equal(next_rc(r, &e), ND_DONE);
        line_reader_close(r);
    }
    free(text);
}

/* Many lines of varying length: every one comes back, across buffer refills. */
static void test_ingest_lines_many(void **state)
{
    tmpdir *t = *state;
    nd_err e = {{0}};
    size_t cap = (size_t)8 << 20, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    uint64_t seed = 7;
    int lines = 0;
    while (n < cap - 70000) {
        size_t len = (size_t)(tu_rand(&seed) % (lines % 50 == 0 ? 60000 : 300));
        for (size_t i = 0; i < len; i++)
            text[n + i] = (char)('a' + (lines + i) % 26);
        n += len;
        text[n++] = '\n';
        lines++;
    }
    const char *p = tpath(t, "many.gz");
    write_gz(p, "wb", text, n);
    line_reader *r = open_ok(p);
    const char *line, *at = text;
    size_t len;
    for (int i = 0; i < lines; i++) {
        assert_int_equal(line_reader_next(r, &line, &len, &e), ND_OK);
        const char *nl = memchr(at, '\n', (size_t)(text + n - at));
        assert_non_null(nl);
        assert_int_equal(len, (size_t)(nl - at));
        assert_memory_equal(line, at, len);
        at = nl + 1;
    }
    assert_int_equal(next_rc(r, &e), ND_DONE);
    assert_int_equal(line_reader_lineno(r), (uint64_t)lines);
    line_reader_close(r);
    free(text);
}

static char *gz_bytes(const char *dir, const void *data, size_t n, size_t *out_len)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/tmp.gz", dir);
    write_gz(p, "wb", data, n);
    char *gz = tu_read_file(p, out_len);
    assert_non_null(gz);
    unlink(p);
    return gz;
}

static void test_ingest_lines_truncated_gzip(void **state)
{
    tmpdir *t = *state;
    nd_err e = {{0}};
    /* Enough lines to span several reads, cut at several places. */
    size_t n = 0, cap = 3 << 20;
    char *text = malloc(cap);
    assert_non_null(text);
    int lines = 0;
    uint64_t seed = 3;
    while (n < cap - 100) {
        n += (size_t)sprintf(text + n, "{\"id\":\"%d\",\"r\":%llu}\n", lines++,
                             (unsigned long long)(tu_rand(&seed) % 1000000000));
    }
    size_t gzlen;
    char *gz = gz_bytes(t->dir, text, n, &gzlen);
    const size_t cuts[] = {gzlen - 1, gzlen - 8, gzlen - 9, gzlen / 2, gzlen / 5, 11};
    for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
        const char *p = tpath(t, "cut.gz");
        tu_write_file(p, gz, cuts[c]);
        line_reader *r = open_ok(p);
        const char *line;
        size_t len;
        int rc, got = 0;
        while ((rc = line_reader_next(r, &line, &len, &e)) == ND_OK) {
            /* Only complete, correct lines before the damage. */
            char want[64];
            int k = snprintf(want, sizeof want, "{\"id\":\"%d\",", got);
            assert_true(len > (size_t)k && memcmp(line, want, (size_t)k) == 0);
            assert_int_equal(line[len - 1], '}');
            got++;
        }
        if (rc != ND_EIO)
            fail_msg("cut at %zu of %zu: rc %d after %d lines", cuts[c], gzlen, rc, got);
        char want[4300];
        snprintf(want, sizeof want, "%s: gzip: unexpected end of file", p);
        assert_string_equal(e.msg, want);
        /* Cutting the 8-byte trailer loses no data: every line came first. */
        if (cuts[c] >= gzlen - 8)
            assert_int_equal(got, lines);
        else if (cuts[c] >= gzlen / 2)
            assert_true(got > lines / 3);
        /* The error stays. */
        assert_int_equal(line_reader_next(r, &line, &len, &e), ND_EIO);
        line_reader_close(r);
    }
    free(gz);
    free(text);
}

static void test_ingest_lines_corrupt_gzip(void **state)
{
    tmpdir *t = *state;
    nd_err e = {{0}};
    const char text[] = "{\"id\":\"1\"}\n{\"id\":\"2\"}\n";
    size_t gzlen;
    char *gz = gz_bytes(t->dir, text, sizeof text - 1, &gzlen);
    /* A damaged CRC: all data decodes, the check fails at the end. */
    gz[gzlen - 6] ^= 0x55;
    const char *p = tpath(t, "crc.gz");
    tu_write_file(p, gz, gzlen);
    line_reader *r = open_ok(p);
    int rc;
    while ((rc = next_rc(r, &e)) == ND_OK)
        ;
    assert_int_equal(rc, ND_EIO);
    char want[4300];
    snprintf(want, sizeof want, "%s: gzip: incorrect data check", p);
    assert_string_equal(e.msg, want);
    line_reader_close(r);

    /* Garbage in the deflate data. */
    gz[gzlen - 6] ^= 0x55;
    memset(gz + 10, 0xff, gzlen - 18);
    tu_write_file(p, gz, gzlen);
    r = open_ok(p);
    while ((rc = next_rc(r, &e)) == ND_OK)
        ;
    assert_int_equal(rc, ND_EIO);
    assert_non_null(strstr(e.msg, ": gzip: "));
    line_reader_close(r);
    free(gz);
}

/* The line tests again, each file decompressed on the reader's own
 * thread (line_reader_readahead): the same lines, errors and offsets. */
static void test_ingest_lines_readahead(void **state)
{
    g_readahead = 1;
    test_ingest_lines_plain_file(state);
    test_ingest_lines_gzip_file(state);
    test_ingest_lines_concatenated_gzip(state);
    test_ingest_lines_crlf_and_blank_lines(state);
    test_ingest_lines_empty_file(state);
    test_ingest_lines_over_limit(state);
    test_ingest_lines_many(state);
    test_ingest_lines_truncated_gzip(state);
    test_ingest_lines_corrupt_gzip(state);
    g_readahead = 0;
}

/* A digest of everything a reader returns for a file, call by call: the
 * result, the line's length and bytes, the line number and the offset. */
static uint64_t read_digest(const char *path, int readahead, char *msg, size_t msg_len)
{
    line_reader *r = NULL;
    nd_err e = {{0}};
    assert_int_equal(line_reader_open(&r, path, &e), ND_OK);
    if (readahead)
        line_reader_readahead(r);
    uint64_t h = 1469598103934665603ULL;
    int rc;
    do {
        const char *line;
        size_t len;
        rc = line_reader_next(r, &line, &len, &e);
        uint64_t v[4] = {(uint64_t)rc, len, line_reader_lineno(r), line_reader_offset(r)};
        for (int i = 0; i < 4; i++)
            h = (h ^ v[i]) * 1099511628211ULL;
        for (size_t i = 0; rc == ND_OK && i < len; i++)
            h = (h ^ (uint8_t)line[i]) * 1099511628211ULL;
    } while (rc == ND_OK || rc == ND_ELIMIT);
    snprintf(msg, msg_len, "%d %.400s", rc, e.msg);
    line_reader_close(r);
    return h;
}

static void test_ingest_lines_readahead_same_offsets(void **state)
{
    tmpdir *t = *state;
    /* Several MiB of lines (many chunks), then cut short at a few places. */
    size_t cap = (size_t)6 << 20, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    uint64_t seed = 11;
    for (int lines = 0; n < cap - 70000; lines++) {
        size_t len = (size_t)(tu_rand(&seed) % (lines % 40 == 0 ? 50000 : 400));
        for (size_t i = 0; i < len; i++)
            text[n + i] = (char)('a' + (tu_rand(&seed) % 26));
        n += len;
        text[n++] = '\n';
    }
    size_t gzlen;
    char *gz = gz_bytes(t->dir, text, n, &gzlen);
    const size_t cuts[] = {gzlen, gzlen - 3, gzlen * 2 / 3, gzlen / 7};
    const char *p = tpath(t, "digest.gz");
    for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
        tu_write_file(p, gz, cuts[c]);
        char m1[512], m2[512];
        uint64_t a = read_digest(p, 0, m1, sizeof m1);
        uint64_t b = read_digest(p, 1, m2, sizeof m2);
        assert_string_equal(m1, m2);
        assert_true(a == b);
    }
    tu_write_file(p, text, n); /* plain */
    char m1[512], m2[512];
    assert_true(read_digest(p, 0, m1, sizeof m1) == read_digest(p, 1, m2, sizeof m2));
    assert_string_equal(m1, m2);
    free(gz);
    free(text);
}

static void test_ingest_lines_missing_file(void **state)
{
    tmpdir *t = *state;
    nd_err e = {{0}};
    line_reader *r = (line_reader *)&e;
    const char *p = tpath(t, "does-not-exist.jsonl");
    assert_int_equal(line_reader_open(&r, p, &e), ND_EIO);
    assert_null(r);
    char want[4300];
    snprintf(want, sizeof want, "%s: No such file or directory", p);
    assert_string_equal(e.msg, want);

    assert_int_equal(line_reader_open(&r, t->dir, &e), ND_EIO);
    assert_null(r);
    assert_non_null(strstr(e.msg, "is a directory"));
    line_reader_close(NULL);
}

static void test_ingest_lines_stdin(void **state)
{
    tmpdir *t = *state;
    nd_err e = {{0}};
    const char *p = tpath(t, "stdin.gz");
    write_gz(p, "wb", sample, sizeof sample - 1);
    int saved = dup(STDIN_FILENO);
    int fd = open(p, O_RDONLY);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
    close(fd);
    line_reader *r = open_ok("-");
    check_sample(r);
    assert_int_equal(next_rc(r, &e), ND_DONE);
    line_reader_close(r);
    /* The reader closed its own descriptor, not stdin. */
    assert_true(fcntl(STDIN_FILENO, F_GETFD) != -1);
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ingest_json_full_article),
        cmocka_unit_test(test_ingest_json_only_id),
        cmocka_unit_test(test_ingest_json_null_fields_absent),
        cmocka_unit_test(test_ingest_json_duplicate_keys_last_wins),
        cmocka_unit_test(test_ingest_json_keys_with_escapes),
        cmocka_unit_test(test_ingest_json_valid_utf8),
        cmocka_unit_test(test_ingest_json_numbers_and_literals),
        cmocka_unit_test(test_ingest_json_scratch_reused),
        cmocka_unit_test(test_ingest_json_syntax_errors),
        cmocka_unit_test(test_ingest_json_trailing_garbage),
        cmocka_unit_test(test_ingest_json_id_errors),
        cmocka_unit_test(test_ingest_json_field_types),
        cmocka_unit_test(test_ingest_json_bad_date),
        cmocka_unit_test(test_ingest_json_invalid_utf8),
        cmocka_unit_test(test_ingest_json_lone_surrogate),
        cmocka_unit_test(test_ingest_json_nul),
        cmocka_unit_test(test_ingest_json_depth_bomb),
        cmocka_unit_test(test_ingest_json_damage_never_crashes),
        cmocka_unit_test(test_ingest_date_known_answers),
        cmocka_unit_test(test_ingest_date_bad_forms),
        cmocka_unit_test(test_ingest_date_format),
        cmocka_unit_test(test_ingest_date_round_trips),
        cmocka_unit_test_setup_teardown(test_ingest_lines_plain_file, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_ingest_lines_gzip_file, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_ingest_lines_concatenated_gzip, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_ingest_lines_crlf_and_blank_lines, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_ingest_lines_empty_file, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_ingest_lines_over_limit, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_ingest_lines_many, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_ingest_lines_truncated_gzip, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_ingest_lines_corrupt_gzip, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_ingest_lines_readahead, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_ingest_lines_readahead_same_offsets, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_ingest_lines_missing_file, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_ingest_lines_stdin, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
