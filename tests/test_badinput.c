/*
 * test_badinput.c - the bad-input matrix in one place: one test per kind of
 * bad input (docs/LIMITS.md, "Bad-input matrix", maps each row to its test).
 * Every test starts from a committed index of three known articles, feeds
 * it the bad input through the public API (and, where the exit code is part
 * of the contract, through the `search` command), checks the documented
 * error code and that the message names the problem, checks that the
 * behaviour is bounded (sizes that are part of the row are generated in
 * memory at full size), and ends by reopening the index and finding the
 * same three articles: bad input never costs committed data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <zlib.h>
#include <cmocka.h>

#include "newsdex.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define ND_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ND_TEST_ASAN 1
#endif
#endif
#ifndef ND_TEST_ASAN
#define ND_TEST_ASAN 0
#endif

#define ASSERT_OK(expr, w)                                                                         \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != ND_OK)                                                                          \
            fail_msg("%s = %d: %s", #expr, rc_, nd_writer_errmsg(w));                              \
    } while (0)

/* ---- the committed index every row starts from ---------------------------- */

#define BASE_DOCS 3
static const char *const BASE_IDS[BASE_DOCS] = {"base-1", "base-2", "base-3"};

/* A fresh temporary directory with a committed index at DIR/ix. */
typedef struct world {
    char *tmp;
    char ix[4200];
} world;

static void make_base(const char *dir)
{
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    const char *bodies[BASE_DOCS] = {"keepsake crude oil prices rose",
                                     "keepsake gold prices fell",
                                     "keepsake harbour strike ended"};
    for (int i = 0; i < BASE_DOCS; i++) {
        nd_doc d = tu_doc(BASE_IDS[i], "Base article", bodies[i]);
        d.source = "Wire";
        d.source_len = 4;
        d.date = 1552521600 + (int64_t)i * 86400; /* 2019-03-14 .. 16 */
        ASSERT_OK(nd_writer_add(w, &d), w);
    }
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
}

static int setup(void **state)
{
    world *wd = calloc(1, sizeof *wd);
    assert_non_null(wd);
    wd->tmp = tu_mkdtemp();
    snprintf(wd->ix, sizeof wd->ix, "%s/ix", wd->tmp);
    make_base(wd->ix);
    *state = wd;
    return 0;
}

static int teardown(void **state)
{
    world *wd = *state;
    /* a read-only row may leave directories without write permission */
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null", wd->tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: chmod failed\n");
    tu_rmrf(wd->tmp);
    free(wd->tmp);
    free(wd);
    return 0;
}

/* Total hits of q on the index at dir, or a negative ND_E* code. */
static int64_t hits_of(const char *dir, const char *q)
{
    nd_index *ix;
    nd_search *s;
    nd_hits *h;
    int rc = nd_index_open(&ix, dir, NULL, NULL, 0);
    if (rc)
        return rc;
    if ((rc = nd_search_open(&s, ix))) {
        nd_index_free(ix);
        return rc;
    }
    rc = nd_search_run(s, &h, q, 10, NULL);
    int64_t n = rc ? rc : (int64_t)nd_hits_total(h);
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
    return n;
}

/* The committed base articles are all there, whole: the index opens with
 * want_docs live articles and "keepsake" finds exactly the three base ids,
 * with their stored titles. */
static void check_base(const char *dir, uint64_t want_docs)
{
    char err[512] = "";
    nd_index *ix;
    int rc = nd_index_open(&ix, dir, NULL, err, sizeof err);
    if (rc)
        fail_msg("committed index no longer opens: %d %s", rc, err);
    nd_index_stats st;
    nd_index_stats_get(ix, &st);
    assert_int_equal(st.docs, want_docs);
    nd_search *s;
    nd_hits *h;
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    assert_int_equal(nd_search_run(s, &h, "keepsake", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), BASE_DOCS);
    int seen[BASE_DOCS] = {0};
    for (size_t i = 0; i < nd_hits_count(h); i++) {
        nd_hit hit;
        assert_int_equal(nd_hits_get(h, i, &hit), ND_OK);
        for (int j = 0; j < BASE_DOCS; j++)
            if (hit.id_len == strlen(BASE_IDS[j]) && memcmp(hit.id, BASE_IDS[j], hit.id_len) == 0)
                seen[j]++;
        assert_int_equal(hit.title_len, 12);
        assert_memory_equal(hit.title, "Base article", 12);
    }
    for (int j = 0; j < BASE_DOCS; j++)
        assert_int_equal(seen[j], 1);
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
}

/* ---- reports of bad lines --------------------------------------------- */

typedef struct reports {
    int n;
    uint64_t line[16];
    char file[16][256];
    char why[16][256];
} reports;

static void on_error(void *ctx, const char *file, uint64_t line, const char *reason)
{
    reports *r = ctx;
    if (r->n < 16) {
        r->line[r->n] = line;
        snprintf(r->file[r->n], sizeof r->file[0], "%s", file);
        snprintf(r->why[r->n], sizeof r->why[0], "%s", reason);
    }
    r->n++;
}

/* Adds the JSON Lines file to the index at dir and commits. Returns the
 * result of nd_writer_add_jsonl; fills *st and *r. */
static int ingest(const char *dir, const char *file, int strict, nd_ingest_stats *st,
                  reports *r)
{
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    nd_ingest_opts o = ND_INGEST_OPTS_INIT;
    o.strict = strict;
    o.on_error = on_error;
    o.ctx = r;
    memset(st, 0, sizeof *st);
    memset(r, 0, sizeof *r);
    int rc = nd_writer_add_jsonl(w, file, &o, st);
    if (rc == ND_OK)
        ASSERT_OK(nd_writer_commit(w), w);
    else if (strict)
        assert_non_null(strstr(nd_writer_errmsg(w), file));
    nd_writer_free(w); /* a failed strict run commits nothing */
    return rc;
}

/* Writes lines[0..n) as a JSON Lines file (each given with its length). */
static void write_lines(const char *path, const char *const *lines, const size_t *lens, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fwrite(lines[i], 1, lens[i], f), lens[i]);
        assert_int_equal(fputc('\n', f), '\n');
    }
    assert_int_equal(fclose(f), 0);
}

/* Runs `search ARGS...`; returns the exit code, stderr in *err. */
static int cli(char **err, const char *fmt, ...)
{
    char args[8192], cmd[8400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s", ND_SEARCH_BIN, args);
    return tu_run(cmd, NULL, err);
}

/* One bad JSON line among good ones: reported as FILE:LINE with `why`,
 * skipped and counted; --strict stops there with nothing committed; the CLI
 * exits 0 (3 with --strict) and prints FILE:LINE: reason. */
static void bad_line_row(world *wd, const char *name, const char *bad, size_t bad_len,
                         const char *why)
{
    char file[4400], want[4600];
    snprintf(file, sizeof file, "%s/%s.jsonl", wd->tmp, name);
    const char *lines[3] = {"{\"id\":\"ok-1\",\"body\":\"goodline\"}", bad,
                            "{\"id\":\"ok-2\",\"body\":\"goodline\"}"};
    size_t lens[3] = {strlen(lines[0]), bad_len, strlen(lines[2])};
    write_lines(file, lines, lens, 3);

    nd_ingest_stats st;
    reports r;
    /* strict first: nothing is committed */
    assert_int_equal(ingest(wd->ix, file, 1, &st, &r), ND_EINVAL);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.line[0], 2);
    assert_string_equal(r.file[0], file);
    if (!strstr(r.why[0], why))
        fail_msg("line 2 reported as '%s', expected '%s'", r.why[0], why);
    check_base(wd->ix, BASE_DOCS);
    assert_int_equal(hits_of(wd->ix, "goodline"), 0);

    assert_int_equal(ingest(wd->ix, file, 0, &st, &r), ND_OK);
    assert_int_equal(st.lines, 3);
    assert_int_equal(st.added, 2);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.line[0], 2);
    assert_non_null(strstr(r.why[0], why));
    check_base(wd->ix, BASE_DOCS + 2);
    assert_int_equal(hits_of(wd->ix, "goodline"), 2);

    /* the CLI: FILE:LINE: reason on stderr; exit 0, or 3 with --strict */
    char *err = NULL;
    snprintf(want, sizeof want, "%s:2: ", file);
    assert_int_equal(cli(&err, "index '%s' '%s' -q", wd->ix, file), 0);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, why));
    free(err);
    assert_int_equal(cli(&err, "index '%s' '%s' -q --strict", wd->ix, file), 3);
    assert_non_null(strstr(err, want));
    free(err);
    check_base(wd->ix, BASE_DOCS + 2);
}

/* ---- row: invalid UTF-8 --------------------------------------------------- */

static void test_badinput_invalid_utf8(void **state)
{
    world *wd = *state;
    /* In JSON input it is a bad line, with the column of the bad byte. */
    const char bad[] = "{\"id\":\"u\",\"body\":\"caf\xc3\xa9 \xff\xfe\"}";
    bad_line_row(wd, "utf8", bad, sizeof bad - 1, "invalid UTF-8 at column 25");

    /* Through nd_writer_add the bytes are stored as given and the analyzer
     * reads each invalid sequence as U+FFFD, which is not a word: the words
     * around it are indexed, and the title comes back byte for byte. */
    const char title[] = "bad \xff\xfe title";
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, wd->ix, NULL), ND_OK);
    nd_doc d = tu_doc("raw-utf8", title,
                     "left\xed\xa0\x80" "right mid\xc0\xaf" "dle \xf4\x90\x80\x80");
    ASSERT_OK(nd_writer_add(w, &d), w);
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
    assert_int_equal(hits_of(wd->ix, "left"), 1);
    assert_int_equal(hits_of(wd->ix, "right"), 1);
    assert_int_equal(hits_of(wd->ix, "mid"), 1);
    assert_int_equal(hits_of(wd->ix, "\"left right\""), 1); /* adjacent: U+FFFD takes no position */
    nd_index *ix;
    nd_search *s;
    nd_hits *h;
    nd_hit hit;
    assert_int_equal(nd_index_open(&ix, wd->ix, NULL, NULL, 0), ND_OK);
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    assert_int_equal(nd_search_run(s, &h, "title:title", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_count(h), 1);
    assert_int_equal(nd_hits_get(h, 0, &hit), ND_OK);
    assert_int_equal(hit.title_len, sizeof title - 1);
    assert_memory_equal(hit.title, title, sizeof title - 1);
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
    check_base(wd->ix, BASE_DOCS + 3);
}

/* ---- row: NUL bytes ------------------------------------------------------- */

static void test_badinput_nul_bytes(void **state)
{
    world *wd = *state;
    /* A raw NUL inside a JSON string (and \u0000) is a bad line. */
    const char raw[] = "{\"id\":\"n\",\"body\":\"a\0b\"}";
    bad_line_row(wd, "nul", raw, sizeof raw - 1, "NUL character in string at column 20");
    reports r;
    nd_ingest_stats st;
    char file[4400];
    snprintf(file, sizeof file, "%s/nul2.jsonl", wd->tmp);
    const char *lines[2] = {"{\"id\":\"n\",\"title\":\"x\\u0000y\"}", "\0\0\0"};
    size_t lens[2] = {strlen(lines[0]), 3};
    write_lines(file, lines, lens, 2);
    assert_int_equal(ingest(wd->ix, file, 0, &st, &r), ND_OK);
    assert_int_equal(r.n, 2);
    assert_non_null(strstr(r.why[0], "NUL character in string at column 21"));
    assert_int_equal(r.line[1], 2);
    assert_non_null(strstr(r.why[1], "column 1"));

    /* Through nd_writer_add strings are (pointer, length): a NUL is a byte
     * like another, stored as given and not a word. */
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, wd->ix, NULL), ND_OK);
    nd_doc d = tu_doc("nul-doc", NULL, NULL);
    d.title = "nul\0title";
    d.title_len = 9;
    d.body = "before\0after";
    d.body_len = 12;
    ASSERT_OK(nd_writer_add(w, &d), w);
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
    assert_int_equal(hits_of(wd->ix, "before"), 1);
    assert_int_equal(hits_of(wd->ix, "after"), 1);
    /* A query is a C string: it ends at its first NUL. */
    assert_int_equal(hits_of(wd->ix, "before\0((( AND"), 1);
    check_base(wd->ix, BASE_DOCS + 3);
}

/* ---- row: overlong encodings ---------------------------------------------- */

static void test_badinput_overlong_encodings(void **state)
{
    world *wd = *state;
    /* '/' as 2, 3 and 4 bytes, and NUL as C0 80 (modified UTF-8) */
    static const char *const forms[] = {"\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xc0\x80"};
    char file[4400];
    snprintf(file, sizeof file, "%s/overlong.jsonl", wd->tmp);
    const char *lines[5];
    size_t lens[5];
    char buf[4][64];
    for (int i = 0; i < 4; i++) {
        lens[i] = (size_t)snprintf(buf[i], sizeof buf[i], "{\"id\":\"o%d\",\"body\":\"x%s\"}", i,
                                   forms[i]);
        lines[i] = buf[i];
    }
    lines[4] = "{\"id\":\"o-good\",\"body\":\"survivor\"}";
    lens[4] = strlen(lines[4]);
    write_lines(file, lines, lens, 5);
    nd_ingest_stats st;
    reports r;
    assert_int_equal(ingest(wd->ix, file, 0, &st, &r), ND_OK);
    assert_int_equal(st.skipped, 4);
    assert_int_equal(st.added, 1);
    assert_int_equal(r.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r.line[i], (uint64_t)i + 1);
        assert_non_null(strstr(r.why[i], "invalid UTF-8 at column 21"));
    }
    /* In a query an overlong form is not a word (read as U+FFFD). */
    assert_int_equal(hits_of(wd->ix, "\xc0\xaf"), ND_ESYNTAX);
    assert_int_equal(hits_of(wd->ix, "survivor \xe0\x80\xaf"), 1);
    check_base(wd->ix, BASE_DOCS + 1);
}

/* ---- row: a 100 MB article ------------------------------------------------- */

static long maxrss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fills buf[0..n) with words of 12 to 27 letters from a vocabulary of
 * 4,096, separated by spaces; returns the number of words. (Long words keep
 * the row fast: the time goes per word, the memory bound is per word.) */
static size_t fill_words(char *buf, size_t n, uint64_t seed)
{
    size_t i = 0, words = 0;
    while (i + 32 < n) {
        uint64_t r = tu_rand(&seed);
        unsigned v = (unsigned)(r & 0xfff), len = 12 + v % 16;
        for (unsigned k = 0; k < len; k++)
            buf[i++] = (char)('a' + (k < 3 ? (v >> (4 * k)) & 15 : (v * 7 + k * 3) % 26));
        buf[i++] = ' ';
        words++;
    }
    while (i < n)
        buf[i++] = ' ';
    return words;
}

#define BIG_ARTICLE ((size_t)100 << 20)
/* Documented in docs/LIMITS.md: adding one article takes at most 64 bytes
 * of memory per word of it plus twice its size, on top of the caller's text. */
#define BYTES_PER_WORD 64
#define BYTES_PER_BYTE 2

static void test_badinput_article_100mb(void **state)
{
    world *wd = *state;
    char *body = malloc(BIG_ARTICLE);
    assert_non_null(body);
    size_t words = fill_words(body, BIG_ARTICLE, 0x100);
    memcpy(body + BIG_ARTICLE - 10, "needlewrd ", 10); /* the last word */
    words++;
    long before = maxrss_kib();
    double t0 = now_s();
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, wd->ix, NULL), ND_OK);
    nd_doc d = tu_doc("huge", "A huge article", NULL);
    d.body = body;
    d.body_len = BIG_ARTICLE;
    ASSERT_OK(nd_writer_add(w, &d), w);
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
    double secs = now_s() - t0;
    long grew = maxrss_kib() - before;
    free(body);
    fprintf(stderr, "100 MiB article: %zu words, %.1f s, peak RSS +%ld MiB (%.1f bytes/word)%s\n",
            words, secs, grew / 1024, (double)grew * 1024 / (double)words,
            ND_TEST_ASAN ? " [AddressSanitizer: not checked]" : "");
    /* AddressSanitizer's quarantine and shadow memory make RSS meaningless */
    double bound = (double)words * BYTES_PER_WORD + (double)BIG_ARTICLE * BYTES_PER_BYTE;
    if (!ND_TEST_ASAN && (double)grew * 1024 > bound)
        fail_msg("peak RSS grew %ld KiB for %zu words: over %.0f MiB", grew, words,
                 bound / 1048576);
    assert_int_equal(hits_of(wd->ix, "needlewrd"), 1);
    assert_int_equal(hits_of(wd->ix, "title:huge"), 1);
    check_base(wd->ix, BASE_DOCS + 1);
}

/* ---- row: a single 1 MB token ---------------------------------------------- */

static void test_badinput_token_1mb(void **state)
{
    world *wd = *state;
    size_t tok = (size_t)1 << 20, n = tok + 64;
    char *body = malloc(n);
    assert_non_null(body);
    size_t k = (size_t)sprintf(body, "frontword ");
    memset(body + k, 'q', tok);
    k += tok;
    k += (size_t)sprintf(body + k, " backword");
    /* one byte more in the title: a word over 1 MiB is cut in two */
    char *title = malloc(n + 1);
    assert_non_null(title);
    size_t tk = (size_t)sprintf(title, "frontword ");
    memset(title + tk, 'q', tok + 1);
    tk += tok + 1;
    tk += (size_t)sprintf(title + tk, " backword");
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, wd->ix, NULL), ND_OK);
    nd_doc d = tu_doc("tok", NULL, NULL);
    d.body = body;
    d.body_len = k;
    d.title = title;
    d.title_len = tk;
    d.source = body + 10; /* a 1 MB keyword: stored, returned, not indexed */
    d.source_len = tok;
    ASSERT_OK(nd_writer_add(w, &d), w);
    /* as an id it is refused */
    nd_doc bad = tu_doc("x", NULL, NULL);
    bad.id = body + 10;
    bad.id_len = tok;
    assert_int_equal(nd_writer_add(w, &bad), ND_EINVAL);
    assert_non_null(strstr(nd_writer_errmsg(w), "id longer than 255 bytes"));
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
    /* The token is longer than a term may be (255 bytes): it is not indexed
     * but keeps its place, so the words around it are not adjacent. */
    assert_int_equal(hits_of(wd->ix, "frontword"), 1);
    assert_int_equal(hits_of(wd->ix, "backword"), 1);
    assert_int_equal(hits_of(wd->ix, "\"frontword backword\""), 0);
    assert_int_equal(hits_of(wd->ix, "\"frontword backword\"~1"), 1);
    assert_int_equal(hits_of(wd->ix, "title:\"frontword backword\"~1"), 0);
    assert_int_equal(hits_of(wd->ix, "title:\"frontword backword\"~2"), 1);
    nd_index *ix;
    nd_search *s;
    nd_hits *h;
    nd_hit hit;
    assert_int_equal(nd_index_open(&ix, wd->ix, NULL, NULL, 0), ND_OK);
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    assert_int_equal(nd_search_run(s, &h, "backword", 1, NULL), ND_OK);
    assert_int_equal(nd_hits_get(h, 0, &hit), ND_OK);
    assert_int_equal(hit.source_len, tok);
    assert_int_equal(hit.title_len, tk);
    assert_memory_equal(hit.title, title, tk);
    assert_true(hit.snippet_len <= 1024); /* a bounded snippet of it */
    nd_hits_free(h);
    /* as a query word it is past the query length limit */
    body[10 + tok] = 0;
    assert_int_equal(nd_search_run(s, &h, body + 10, 10, NULL), ND_ELIMIT);
    assert_non_null(strstr(nd_search_errmsg(s), "query too long"));
    nd_search_free(s);
    nd_index_free(ix);
    free(body);
    free(title);
    check_base(wd->ix, BASE_DOCS + 1);
}

/* ---- row: 10^6 distinct terms in one article ------------------------------- */

static void test_badinput_million_terms(void **state)
{
    world *wd = *state;
    const size_t terms = 1000000;
    char *body = malloc(terms * 9 + 1);
    assert_non_null(body);
    size_t k = 0;
    for (size_t i = 0; i < terms; i++)
        k += (size_t)sprintf(body + k, "t%07zu ", i);
    double t0 = now_s();
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, wd->ix, NULL), ND_OK);
    nd_doc d = tu_doc("million", "many words", NULL);
    d.body = body;
    d.body_len = k;
    ASSERT_OK(nd_writer_add(w, &d), w);
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
    fprintf(stderr, "10^6 distinct terms: indexed and committed in %.1f s\n", now_s() - t0);
    free(body);
    nd_index *ix;
    assert_int_equal(nd_index_open(&ix, wd->ix, NULL, NULL, 0), ND_OK);
    nd_index_stats st;
    nd_index_stats_get(ix, &st);
    assert_true(st.terms >= terms);
    nd_index_free(ix);
    assert_int_equal(hits_of(wd->ix, "t0000000"), 1);
    assert_int_equal(hits_of(wd->ix, "t0531415"), 1);
    assert_int_equal(hits_of(wd->ix, "t0999999"), 1);
    assert_int_equal(hits_of(wd->ix, "\"t0499999 t0500000\""), 1);
    assert_int_equal(hits_of(wd->ix, "t1000000"), 0);
    /* a prefix over them is refused, not expanded */
    assert_int_equal(hits_of(wd->ix, "t05*"), ND_ELIMIT);
    assert_int_equal(hits_of(wd->ix, "t099999*"), 1);
    check_base(wd->ix, BASE_DOCS + 1);
}

/* ---- row: empty title and body ----------------------------------------------- */

static void test_badinput_empty_title_and_body(void **state)
{
    world *wd = *state;
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, wd->ix, NULL), ND_OK);
    /* Only the id is required: absent, and present but empty, are the same. */
    nd_doc d = tu_doc("empty-1", NULL, NULL);
    ASSERT_OK(nd_writer_add(w, &d), w);
    d = tu_doc("empty-2", "", "");
    ASSERT_OK(nd_writer_add(w, &d), w);
    const char *j3 = "{\"id\":\"empty-3\",\"title\":\"\",\"body\":\"\"}";
    const char *j4 = "{\"id\":\"empty-4\",\"title\":null,\"body\":null}";
    ASSERT_OK(nd_writer_add_json(w, j3, strlen(j3)), w);
    ASSERT_OK(nd_writer_add_json(w, j4, strlen(j4)), w);
    /* only punctuation: no words either */
    d = tu_doc("empty-5", "...", " ,;: -- !! ");
    ASSERT_OK(nd_writer_add(w, &d), w);
    /* a length without text is refused */
    d = tu_doc("empty-6", NULL, NULL);
    d.body_len = 5;
    assert_int_equal(nd_writer_add(w, &d), ND_EINVAL);
    assert_non_null(strstr(nd_writer_errmsg(w), "a field has a length but no text"));
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
    check_base(wd->ix, BASE_DOCS + 5);
    /* the scores of real matches stay finite with zero-length fields around */
    nd_index *ix;
    nd_search *s;
    nd_hits *h;
    assert_int_equal(nd_index_open(&ix, wd->ix, NULL, NULL, 0), ND_OK);
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    assert_int_equal(nd_search_run(s, &h, "prices", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_count(h), 2);
    for (size_t i = 0; i < 2; i++) {
        nd_hit hit;
        assert_int_equal(nd_hits_get(h, i, &hit), ND_OK);
        assert_true(hit.score > 0 && hit.score < 100);
    }
    nd_hits_free(h);
    /* filters and facets skip them (no source, no date) */
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.facets = ND_FACET_SOURCE | ND_FACET_YEAR;
    assert_int_equal(nd_search_run(s, &h, "source:wire", 10, &o), ND_OK);
    assert_int_equal(nd_hits_total(h), BASE_DOCS);
    assert_int_equal(nd_hits_facet_count(h, ND_FACET_YEAR), 1);
    assert_int_equal(nd_hits_facet_missing(h, ND_FACET_SOURCE), 0);
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
    assert_int_equal(nd_writer_open(&w, wd->ix, NULL), ND_OK);
    ASSERT_OK(nd_writer_delete(w, "empty-2", 7), w);
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
    check_base(wd->ix, BASE_DOCS + 4);
}

/* ---- row: missing or duplicate ids ---------------------------------------------- */

static void test_badinput_missing_or_duplicate_ids(void **state)
{
    world *wd = *state;
    /* missing, in JSON: a bad line naming the field */
    const char bad[] = "{\"title\":\"no id here\"}";
    bad_line_row(wd, "noid", bad, sizeof bad - 1, "\"id\"");

    char file[4400];
    snprintf(file, sizeof file, "%s/ids.jsonl", wd->tmp);
    char longid[400];
    memset(longid, 'i', sizeof longid);
    int n = snprintf(longid, sizeof longid, "{\"id\":\"");
    memset(longid + n, 'i', 256);
    snprintf(longid + n + 256, sizeof longid - (size_t)n - 256, "\"}");
    const char *lines[] = {
        "{\"id\":\"\"}",                                 /* empty */
        "{\"id\":null,\"body\":\"x\"}",                  /* null */
        "{\"id\":7}",                                    /* not a string */
        longid,                                          /* 256 bytes */
        "{\"id\":\"dup\",\"body\":\"firstcopy\"}",       /* then the same id again: */
        "{\"id\":\"dup\",\"body\":\"secondcopy\"}",      /* the last one wins */
        "{\"id\":\"twice\",\"id\":\"keyed\",\"body\":\"k\"}", /* a repeated key: the last wins */
        "{\"id\":\"base-2\",\"body\":\"replacement\"}",  /* replaces a committed article */
    };
    size_t lens[8];
    for (int i = 0; i < 8; i++)
        lens[i] = strlen(lines[i]);
    write_lines(file, lines, lens, 8);
    nd_ingest_stats st;
    reports r;
    assert_int_equal(ingest(wd->ix, file, 0, &st, &r), ND_OK);
    assert_int_equal(r.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r.line[i], (uint64_t)i + 1);
        assert_non_null(strstr(r.why[i], "id"));
    }
    assert_int_equal(st.added, 4);
    assert_int_equal(hits_of(wd->ix, "firstcopy"), 0);
    assert_int_equal(hits_of(wd->ix, "secondcopy"), 1);
    assert_int_equal(hits_of(wd->ix, "keepsake"), 2); /* base-2 was replaced */
    assert_int_equal(hits_of(wd->ix, "replacement"), 1);

    /* through the API: no id, an empty id, an id of 256 bytes */
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, wd->ix, NULL), ND_OK);
    nd_doc d = tu_doc("x", "t", "b");
    d.id = NULL;
    d.id_len = 0;
    assert_int_equal(nd_writer_add(w, &d), ND_EINVAL);
    assert_non_null(strstr(nd_writer_errmsg(w), "no id"));
    d.id = "";
    assert_int_equal(nd_writer_add(w, &d), ND_EINVAL);
    d.id = longid + n;
    d.id_len = 256;
    assert_int_equal(nd_writer_add(w, &d), ND_EINVAL);
    d.id_len = 255; /* the limit itself is fine */
    ASSERT_OK(nd_writer_add(w, &d), w);
    assert_int_equal(nd_writer_delete(w, "", 0), ND_EINVAL);
    /* the writer stays usable: put base-2 back */
    d = tu_doc("base-2", "Base article", "keepsake gold prices fell");
    ASSERT_OK(nd_writer_add(w, &d), w);
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
    check_base(wd->ix, BASE_DOCS + 2 + 2 + 1); /* ok-1 ok-2 dup keyed, the 255-byte id */
}

/* ---- row: dates out of range or malformed ------------------------------------ */

static void test_badinput_dates(void **state)
{
    world *wd = *state;
    const char bad[] = "{\"id\":\"d\",\"date\":\"2019-02-29\"}";
    bad_line_row(wd, "date", bad, sizeof bad - 1, "\"date\": not an ISO 8601 date");

    static const char *const dates[] = {"0000-12-31", "10000-01-01", "-2019-01-01", "2019-13-01",
                                        "2019-00-10", "2019-04-31", "2019-03-14T24:00:00Z",
                                        "2019-03-14T09:60", "2019-03-14T09:30:00+25:00",
                                        "1552555800", "", "yesterday", "2019-3-14"};
    const size_t nd = sizeof dates / sizeof *dates;
    for (size_t i = 0; i < nd; i++) {
        int64_t t = 42;
        if (nd_date_parse(&t, dates[i], strlen(dates[i])) != ND_EINVAL)
            fail_msg("nd_date_parse accepted '%s'", dates[i]);
    }
    /* the range itself: years 0001 to 9999 */
    int64_t lo, hi;
    assert_int_equal(nd_date_parse(&lo, "0001-01-01", 10), ND_OK);
    assert_int_equal(nd_date_parse(&hi, "9999-12-31T23:59:59Z", 20), ND_OK);

    /* nd_doc.date is any int64: extreme values are stored, sorted, filtered
     * and faceted without overflow. */
    static const int64_t extreme[] = {INT64_MAX, INT64_MIN + 1, -1, 0};
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, wd->ix, NULL), ND_OK);
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof id, "ext-%d", i);
        nd_doc d = tu_doc(id, "extreme date", "timeless");
        d.date = extreme[i];
        ASSERT_OK(nd_writer_add(w, &d), w);
    }
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
    char buf[64];
    for (int i = 0; i < 4; i++)
        (void)nd_date_format(buf, sizeof buf, extreme[i]);
    nd_index *ix;
    nd_search *s;
    nd_hits *h;
    assert_int_equal(nd_index_open(&ix, wd->ix, NULL, NULL, 0), ND_OK);
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.facets = ND_FACET_DAY | ND_FACET_MONTH | ND_FACET_YEAR;
    for (int sort = ND_SORT_SCORE; sort <= ND_SORT_DATE_DESC; sort++) {
        o.sort = sort;
        assert_int_equal(nd_search_run(s, &h, "timeless", 10, &o), ND_OK);
        assert_int_equal(nd_hits_total(h), 4);
        nd_hits_free(h);
    }
    o.sort = ND_SORT_DATE_ASC;
    o.facets = 0;
    assert_int_equal(nd_search_run(s, &h, "timeless", 10, &o), ND_OK);
    nd_hit hit;
    assert_int_equal(nd_hits_get(h, 0, &hit), ND_OK);
    assert_int_equal(hit.date, INT64_MIN + 1);
    assert_int_equal(nd_hits_get(h, 3, &hit), ND_OK);
    assert_int_equal(hit.date, INT64_MAX);
    nd_hits_free(h);
    /* in the supported range: only 0 and -1 (1970-01-01, 1969-12-31) */
    assert_int_equal(nd_search_run(s, &h, "timeless date:0001..9999", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), 2);
    nd_hits_free(h);
    /* bounds in the options: any int64, an empty range matches nothing */
    o = (nd_search_opts)ND_SEARCH_OPTS_INIT;
    o.since = INT64_MAX;
    o.until = INT64_MIN + 1;
    assert_int_equal(nd_search_run(s, &h, "timeless", 10, &o), ND_OK);
    assert_int_equal(nd_hits_total(h), 0);
    nd_hits_free(h);
    o.since = INT64_MIN + 1;
    o.until = INT64_MAX;
    assert_int_equal(nd_search_run(s, &h, "timeless", 10, &o), ND_OK);
    assert_int_equal(nd_hits_total(h), 4);
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
    check_base(wd->ix, BASE_DOCS + 2 + 4);
}

/* ---- row: truncated gzip ------------------------------------------------------ */

static void test_badinput_truncated_gzip(void **state)
{
    world *wd = *state;
    /* 2,000 articles, gzip'd, cut in the middle */
    size_t cap = (size_t)2000 * 64, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int i = 0; i < 2000; i++)
        n += (size_t)snprintf(text + n, cap - n, "{\"id\":\"gz-%d\",\"body\":\"gzipped %d\"}\n", i,
                              i * 7919);
    char file[4400];
    snprintf(file, sizeof file, "%s/cut.jsonl.gz", wd->tmp);
    uLongf zcap = compressBound((uLong)n) + 64;
    unsigned char *z = malloc(zcap);
    assert_non_null(z);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (unsigned char *)text;
    zs.avail_in = (uInt)n;
    zs.next_out = z;
    zs.avail_out = (uInt)zcap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t zlen = zs.total_out;
    deflateEnd(&zs);
    tu_write_file(file, z, zlen / 2);

    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, wd->ix, NULL), ND_OK);
    nd_ingest_stats st = {0};
    assert_int_equal(nd_writer_add_jsonl(w, file, NULL, &st), ND_EIO);
    char want[4600];
    snprintf(want, sizeof want, "%s: gzip: unexpected end of file", file);
    assert_string_equal(nd_writer_errmsg(w), want);
    /* the articles before the damage were added, the writer goes on */
    assert_true(st.added > 0 && st.added < 2000);
    uint64_t added = st.added;
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
    check_base(wd->ix, BASE_DOCS + added);
    assert_int_equal(hits_of(wd->ix, "gzipped"), (int64_t)added);

    /* the CLI: exit 1 naming the file; what came before is committed */
    char *err = NULL;
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/cli-ix", wd->tmp);
    assert_int_equal(cli(&err, "index '%s' '%s' -q", dir, file), 1);
    assert_non_null(strstr(err, want));
    free(err);
    assert_int_equal(hits_of(dir, "gzipped"), (int64_t)added);
    free(z);
    free(text);
}

/* ---- row: a directory that is not an index ------------------------------------- */

static void test_badinput_not_an_index(void **state)
{
    world *wd = *state;
    char dir[4400], path[4500], err[512];
    nd_index *ix;
    /* a directory of other files */
    snprintf(dir, sizeof dir, "%s/plain", wd->tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    tu_write_file(path, "notes\n", 6);
    assert_int_equal(nd_index_open(&ix, dir, NULL, err, sizeof err), ND_ENOTFOUND);
    assert_null(ix);
    assert_non_null(strstr(err, dir));
    assert_non_null(strstr(err, "no index"));
    char *out = NULL;
    assert_int_equal(cli(&out, "query '%s' oil", dir), 4);
    assert_non_null(strstr(out, "no index"));
    free(out);
    assert_int_equal(cli(NULL, "stats '%s'", dir), 4);
    assert_int_equal(cli(NULL, "delete '%s' x", dir), 4);
    /* a regular file where the directory should be */
    assert_int_equal(nd_index_open(&ix, path, NULL, err, sizeof err), ND_ENOTFOUND);
    assert_non_null(strstr(err, "no index"));
    assert_int_equal(cli(NULL, "query '%s' oil", path), 4);
    nd_writer *w = (nd_writer *)1;
    assert_int_equal(nd_writer_open(&w, path, NULL), ND_EIO);
    assert_null(w);
    /* a catalog.db that is not SQLite, and one that is another database:
     * damage, never taken for an empty index, never overwritten */
    static const char *const junk[] = {"this is not a database, just text\n", NULL};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/catalog.db", dir);
        if (junk[k]) {
            tu_write_file(path, junk[k], strlen(junk[k]));
        } else {
            unlink(path);
            sqlite3 *db;
            assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
            assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);"
                                              " PRAGMA application_id=7; PRAGMA user_version=1;",
                                          NULL, NULL, NULL),
                             SQLITE_OK);
            sqlite3_close(db);
        }
        size_t n0, n1;
        char *before = tu_read_file(path, &n0);
        assert_int_equal(nd_index_open(&ix, dir, NULL, err, sizeof err), ND_ECORRUPT);
        assert_non_null(strstr(err, "catalog.db"));
        assert_int_equal(nd_writer_open(&w, dir, NULL), ND_ECORRUPT);
        assert_int_equal(cli(NULL, "query '%s' oil", dir), 1);
        assert_int_equal(cli(NULL, "index '%s' /dev/null", dir), 1);
        char *after = tu_read_file(path, &n1);
        assert_int_equal(n0, n1);
        assert_memory_equal(before, after, n0);
        free(before);
        free(after);
    }
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    char *notes = tu_read_file(path, NULL); /* the user's file is untouched */
    assert_non_null(notes);
    assert_string_equal(notes, "notes\n");
    free(notes);
    check_base(wd->ix, BASE_DOCS);
}

/* ---- row: an index from a newer format version ---------------------------------- */

static void copy_index(const char *from, const char *to)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp -R '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

static void set_user_version(const char *dir, int v)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    sqlite3 *db;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void expect_version_error(const char *dir, const char *names, const char *version)
{
    char err[512] = "";
    nd_index *ix = (nd_index *)1;
    assert_int_equal(nd_index_open(&ix, dir, NULL, err, sizeof err), ND_EVERSION);
    assert_null(ix);
    if (!strstr(err, names) || !strstr(err, version))
        fail_msg("message '%s' should name %s and %s", err, names, version);
    nd_writer *w = (nd_writer *)1;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_EVERSION);
    assert_null(w);
    char *out = NULL;
    assert_int_equal(cli(&out, "query '%s' keepsake", dir), 1);
    assert_non_null(strstr(out, version));
    free(out);
    assert_int_equal(cli(NULL, "index '%s' /dev/null", dir), 1);
}

static void test_badinput_newer_format_version(void **state)
{
    world *wd = *state;
    char dir[4400], path[4500];
    /* the catalog's schema version */
    snprintf(dir, sizeof dir, "%s/v-catalog", wd->tmp);
    copy_index(wd->ix, dir);
    set_user_version(dir, 99);
    expect_version_error(dir, "catalog.db", "version 99");
    set_user_version(dir, 1); /* nothing was changed meanwhile */
    check_base(dir, BASE_DOCS);

    /* a segment file's format version (u16 at offset 4 of the frame) */
    snprintf(dir, sizeof dir, "%s/v-segment", wd->tmp);
    copy_index(wd->ix, dir);
    snprintf(path, sizeof path, "%s/seg-1.tdx", dir);
    size_t n;
    char *img = tu_read_file(path, &n);
    assert_non_null(img);
    assert_true(n > 8 && img[4] == ND_FORMAT_VERSION && img[5] == 0);
    img[4] = ND_FORMAT_VERSION + 1;
    tu_write_file(path, img, n);
    char newer[32];
    snprintf(newer, sizeof newer, "version %d", ND_FORMAT_VERSION + 1);
    expect_version_error(dir, "seg-1.tdx", newer);
    img[4] = ND_FORMAT_VERSION;
    tu_write_file(path, img, n);
    free(img);
    check_base(dir, BASE_DOCS);
    check_base(wd->ix, BASE_DOCS);
}

/* ---- row: a read-only directory --------------------------------------------------- */

#define NOBODY 65534

/* In the child: the checks of the read-only row. Returns 0 or a failure
 * line number; prints what failed. */
static int readonly_checks(const char *ix, const char *fresh)
{
#define RO_CHECK(c)                                                                                \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "read-only row: failed: %s\n", #c);                                    \
            return __LINE__;                                                                       \
        }                                                                                          \
    } while (0)
    char err[512] = "", probe[4500];
    /* readers work: searching a read-only archive is normal */
    nd_index *rx;
    int rc = nd_index_open(&rx, ix, NULL, err, sizeof err);
    if (rc)
        fprintf(stderr, "read-only row: nd_index_open: %d %s\n", rc, err);
    RO_CHECK(rc == ND_OK);
    nd_index_stats st;
    nd_index_stats_get(rx, &st);
    RO_CHECK(st.docs == BASE_DOCS);
    nd_index_free(rx);
    RO_CHECK(hits_of(ix, "keepsake") == BASE_DOCS);
    /* writing fails with a message naming the problem, and changes nothing */
    nd_writer *w = NULL;
    rc = nd_writer_open(&w, ix, NULL);
    if (rc == ND_OK) {
        nd_doc d = tu_doc("ro-new", "t", "new words");
        rc = nd_writer_add(w, &d);
        if (rc == ND_OK)
            rc = nd_writer_commit(w);
        fprintf(stderr, "read-only row: writer says: %s\n", nd_writer_errmsg(w));
        RO_CHECK(rc == ND_EIO);
        RO_CHECK(strstr(nd_writer_errmsg(w), "ermission denied") != NULL);
        nd_writer_free(w);
        RO_CHECK(nd_writer_open(&w, ix, NULL) == ND_OK);
        RO_CHECK(nd_writer_delete(w, "base-1", 6) == ND_OK);
        rc = nd_writer_commit(w);
        fprintf(stderr, "read-only row: delete + commit: %d %s\n", rc, nd_writer_errmsg(w));
        RO_CHECK(rc == ND_EIO);
        nd_writer_free(w);
    } else {
        RO_CHECK(rc == ND_EIO);
    }
    RO_CHECK(hits_of(ix, "keepsake") == BASE_DOCS);
    /* a new index cannot be created there */
    RO_CHECK(nd_writer_open(&w, fresh, NULL) == ND_EIO);
    snprintf(probe, sizeof probe, "%s/LOCK", fresh);
    RO_CHECK(access(probe, F_OK) != 0);
    char *msg = NULL;
    RO_CHECK(cli(&msg, "index '%s' /dev/null", fresh) == 1);
    fprintf(stderr, "read-only row: CLI says: %s", msg ? msg : "(nothing)\n");
    free(msg);
    return 0;
#undef RO_CHECK
}

static void test_badinput_readonly_directory(void **state)
{
    world *wd = *state;
    char fresh[4400], probe[4500];
    snprintf(fresh, sizeof fresh, "%s/ro-empty", wd->tmp);
    assert_int_equal(mkdir(fresh, 0755), 0);
    int as_root = geteuid() == 0;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* As root, permissions do not stop writes: drop to an unprivileged
         * user for the row (the tree is handed to it first). */
        if (as_root) {
            char cmd[4400];
            snprintf(cmd, sizeof cmd, "chown -R %d:%d '%s'", NOBODY, NOBODY, wd->tmp);
            if (system(cmd) != 0 || setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 ||
                setuid(NOBODY) != 0)
                _exit(200);
        }
        if (chmod(wd->ix, 0555) != 0 || chmod(fresh, 0555) != 0)
            _exit(201);
        snprintf(probe, sizeof probe, "%s/probe", wd->ix);
        int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd >= 0) {
            close(fd);
            unlink(probe);
            _exit(202); /* still privileged: the row would prove nothing */
        }
        int line = readonly_checks(wd->ix, fresh);
        chmod(wd->ix, 0755);
        chmod(fresh, 0755);
        _exit(line ? 1 : 0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    int code = WEXITSTATUS(status);
    if (as_root) {
        char cmd[4400];
        snprintf(cmd, sizeof cmd, "chown -R 0:0 '%s'", wd->tmp);
        assert_int_equal(system(cmd), 0);
    }
    if (code == 200 || code == 202) {
        printf("SKIPPED read-only directory row: %s\n",
               code == 200 ? "cannot drop root privileges" : "permissions do not stop writes");
        skip();
    }
    assert_int_equal(code, 0);
    check_base(wd->ix, BASE_DOCS);
}

/* ---- row: a full disk -------------------------------------------------------------- */

/* In a child whose files may not grow past `limit` bytes (writes past it
 * fail with EFBIG), adds `n` articles and commits. Returns the child's
 * result: the ND_E* code of the first failure (0 when everything went
 * through); its message goes to msg. */
static int add_with_fsize_limit(const char *dir, rlim_t limit, int n, char *msg, size_t msglen)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {limit, limit};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(255);
        nd_writer *w;
        int rc = nd_writer_open(&w, dir, NULL);
        const char *why = "nd_writer_open failed";
        for (int i = 0; rc == ND_OK && i < n; i++) {
            char id[32], body[256];
            snprintf(id, sizeof id, "full-%d", i);
            snprintf(body, sizeof body, "fulldisk %d %u %u %u", i, i * 2654435761u,
                     i * 40503u, i * 7u);
            nd_doc d = tu_doc(id, "disk", body);
            rc = nd_writer_add(w, &d);
        }
        if (rc == ND_OK)
            rc = nd_writer_commit(w);
        if (w)
            why = nd_writer_errmsg(w);
        if (write(fds[1], why, strlen(why)) < 0)
            rc = -99;
        nd_writer_free(w);
        _exit(-rc);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], msg, msglen - 1);
    msg[got > 0 ? got : 0] = 0;
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 255);
    return -WEXITSTATUS(status);
}

static void test_badinput_full_disk(void **state)
{
    world *wd = *state;
    const int n = 3000;
    /* from "nothing may grow" (not even SQLite's 32 KiB shared-memory file,
     * so the writer does not open) through "the segment does not fit" to
     * no limit at all. (The catalog's write-ahead log needs less than the
     * shared-memory file: a commit cannot fail there by this limit alone.) */
    static const rlim_t limits[] = {0,     20000, 33000,  50000,
                                    70000, 90000, 200000, RLIM_INFINITY};
    uint64_t docs = BASE_DOCS;
    int failures = 0;
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        char msg[1024];
        int rc = add_with_fsize_limit(wd->ix, limits[i], n, msg, sizeof msg);
        /* after a failure the index holds the last commit, or (when only the
         * cleanup after the catalog transaction failed) the new one */
        nd_index *ix;
        assert_int_equal(nd_index_open(&ix, wd->ix, NULL, NULL, 0), ND_OK);
        nd_index_stats st;
        nd_index_stats_get(ix, &st);
        nd_index_free(ix);
        fprintf(stderr, "file size limit %lld: rc %d (%s), %llu docs\n",
                limits[i] == RLIM_INFINITY ? -1LL : (long long)limits[i], rc, msg,
                (unsigned long long)st.docs);
        if (rc == ND_OK) {
            assert_int_equal(st.docs, BASE_DOCS + (uint64_t)n);
            assert_true(limits[i] > 90000);
        } else {
            failures++;
            assert_int_equal(rc, ND_EIO);
            /* nd_writer_open keeps no message; every later failure names
             * the file and the reason */
            if (strcmp(msg, "nd_writer_open failed") != 0 && !strstr(msg, "File too large"))
                fail_msg("file size limit %lld: message '%s'", (long long)limits[i], msg);
            assert_true(st.docs == docs || st.docs == BASE_DOCS + (uint64_t)n);
        }
        docs = st.docs;
        check_base(wd->ix, docs);
        assert_int_equal(hits_of(wd->ix, "fulldisk"), (int64_t)(docs - BASE_DOCS));
        /* no partial files stay behind for the next writer to trip on */
        nd_writer *w;
        assert_int_equal(nd_writer_open(&w, wd->ix, NULL), ND_OK);
        nd_writer_free(w);
    }
    assert_int_equal(failures, 6);
    assert_int_equal(docs, BASE_DOCS + (uint64_t)n);

    /* the CLI under `ulimit -f` (40 KiB): exit 1 and the reason */
    char file[4400], *err = NULL;
    snprintf(file, sizeof file, "%s/more.jsonl", wd->tmp);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    for (int i = 0; i < 5000; i++)
        fprintf(f, "{\"id\":\"cli-%d\",\"body\":\"clidisk %d %u\"}\n", i, i, i * 2654435761u);
    assert_int_equal(fclose(f), 0);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "trap '' XFSZ; ulimit -f 80 && exec '%s' index '%s' '%s' -q",
             ND_SEARCH_BIN, wd->ix, file);
    assert_int_equal(tu_run(cmd, NULL, &err), 1);
    if (!strstr(err, "File too large"))
        fail_msg("CLI under ulimit -f: '%s'", err);
    free(err);
    check_base(wd->ix, docs);
    assert_int_equal(hits_of(wd->ix, "clidisk"), 0);
}

/* ---- rows: absurd queries ------------------------------------------------------------ */

/* Runs q (qlen bytes, may hold NULs only past its end) on the base index
 * and checks it is refused with `code`, at byte offset `off` (or inside the
 * query when off is -1), with `msg` in the message. */
static void expect_query_error(nd_search *s, const char *q, int code, long off, const char *msg)
{
    nd_hits *h = (nd_hits *)1;
    double t0 = now_s();
    int rc = nd_search_run(s, &h, q, 10, NULL);
    double secs = now_s() - t0;
    size_t len = strlen(q);
    if (rc != code)
        fail_msg("query '%.60s' (%zu bytes): got %d (%s), expected %d", q, len, rc,
                 nd_search_errmsg(s), code);
    assert_null(h);
    size_t at = nd_search_error_offset(s);
    if (off >= 0 ? at != (size_t)off : at > len)
        fail_msg("query '%.60s': error offset %zu, expected %ld (%s)", q, at, off,
                 nd_search_errmsg(s));
    if (!strstr(nd_search_errmsg(s), msg))
        fail_msg("query '%.60s': message '%s' lacks '%s'", q, nd_search_errmsg(s), msg);
    if (secs > 2.0)
        fail_msg("query '%.60s' took %.1f s to refuse", q, secs);
}

typedef struct qfix {
    world *wd;
    uint64_t docs; /* live articles expected at the end */
    nd_index *ix;
    nd_search *s;
} qfix;

static void qopen(qfix *f, world *wd)
{
    f->wd = wd;
    f->docs = BASE_DOCS;
    assert_int_equal(nd_index_open(&f->ix, wd->ix, NULL, NULL, 0), ND_OK);
    assert_int_equal(nd_search_open(&f->s, f->ix), ND_OK);
}

static void qclose(qfix *f)
{
    nd_search_free(f->s);
    nd_index_free(f->ix);
    check_base(f->wd->ix, f->docs);
}

/* A query's total hits (it must run). */
static uint64_t qtotal(nd_search *s, const char *q)
{
    nd_hits *h;
    int rc = nd_search_run(s, &h, q, 10, NULL);
    if (rc)
        fail_msg("query '%.60s': %d %s", q, rc, nd_search_errmsg(s));
    uint64_t n = nd_hits_total(h);
    nd_hits_free(h);
    return n;
}

static char *repeat(const char *unit, size_t times, const char *tail)
{
    size_t u = strlen(unit), t = strlen(tail);
    char *s = malloc(u * times + t + 1);
    assert_non_null(s);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * u, unit, u);
    memcpy(s + u * times, tail, t + 1);
    return s;
}

static void test_badinput_query_too_long(void **state)
{
    qfix f;
    qopen(&f, *state);
    /* exactly 64 KiB is accepted; one byte more is refused at the limit */
    char *q = malloc(65537 + 1);
    assert_non_null(q);
    memset(q, ' ', 65537);
    memcpy(q, "prices", 6);
    q[65536] = 0;
    assert_int_equal(qtotal(f.s, q), 2);
    q[65536] = ' ';
    q[65537] = 0;
    expect_query_error(f.s, q, ND_ELIMIT, 65536, "query too long (65537 bytes");
    free(q);
    /* 10 MB: refused as fast */
    size_t big = (size_t)10 << 20;
    q = malloc(big + 1);
    assert_non_null(q);
    memset(q, 'a', big);
    q[big] = 0;
    expect_query_error(f.s, q, ND_ELIMIT, 65536, "query too long");
    free(q);
    /* the CLI: exit 3 (the query read from a file by the shell) */
    char *err = NULL, qfile[4400];
    snprintf(qfile, sizeof qfile, "%s/long-query", f.wd->tmp);
    q = repeat("oil ", 20000, "");
    tu_write_file(qfile, q, strlen(q));
    assert_int_equal(cli(&err, "query '%s' \"$(cat '%s')\"", f.wd->ix, qfile), 3);
    assert_non_null(strstr(err, "query too long"));
    free(err);
    free(q);
    qclose(&f);
}

static void test_badinput_query_many_terms(void **state)
{
    qfix f;
    qopen(&f, *state);
    /* 10^5 terms do not fit in 64 KiB */
    char *q = repeat("x ", 100000, "");
    expect_query_error(f.s, q, ND_ELIMIT, 65536, "query too long");
    free(q);
    /* 1,024 words are accepted, the 1,025th is refused where it starts */
    q = repeat("ab ", 1024, "");
    assert_int_equal(qtotal(f.s, q), 0);
    free(q);
    q = repeat("ab ", 1024, "prices");
    expect_query_error(f.s, q, ND_ELIMIT, 3L * 1024, "too many words");
    free(q);
    /* phrase words count too */
    q = repeat("ab ", 1025, "\"");
    q[0] = '"';
    expect_query_error(f.s, q, ND_ELIMIT, -1, "too many words");
    free(q);
    /* one word the analyzer splits into 2,000 terms */
    q = repeat("a-", 2000, "b");
    expect_query_error(f.s, q, ND_ELIMIT, -1, "too many words");
    free(q);
    qclose(&f);
}

static void test_badinput_query_deep_nesting(void **state)
{
    qfix f;
    qopen(&f, *state);
    /* 128 levels are accepted; the 129th '(' is refused where it stands */
    char *q = repeat("(", 128, "prices");
    size_t n = strlen(q);
    char *full = malloc(n + 129);
    assert_non_null(full);
    memcpy(full, q, n);
    memset(full + n, ')', 128);
    full[n + 128] = 0;
    assert_int_equal(qtotal(f.s, full), 2);
    free(full);
    free(q);
    q = repeat("(", 129, "prices");
    expect_query_error(f.s, q, ND_ELIMIT, 128, "deeper than 128 levels");
    free(q);
    /* 30,000 of each, never closed: the limit, not a stack overflow */
    static const char *const units[] = {"(", "NOT ", "-", "+", "+-", "title:(", "-(NOT "};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        size_t times = 60000 / strlen(units[i]);
        q = repeat(units[i], times, "prices");
        expect_query_error(f.s, q, ND_ELIMIT, -1, "deeper than 128 levels");
        free(q);
    }
    char *err = NULL;
    q = repeat("(", 200, "prices");
    assert_int_equal(cli(&err, "query '%s' '%s'", f.wd->ix, q), 3);
    assert_non_null(strstr(err, "column 129"));
    free(err);
    free(q);
    qclose(&f);
}

static void test_badinput_query_prefix_expansion(void **state)
{
    world *wd = *state;
    /* 9,000 distinct words: pre00000 .. pre08999 */
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, wd->ix, NULL), ND_OK);
    char *body = malloc(9000 * 9 + 1);
    assert_non_null(body);
    size_t k = 0;
    for (int i = 0; i < 9000; i++)
        k += (size_t)sprintf(body + k, "pre%05d ", i);
    nd_doc d = tu_doc("prefixes", "prefix words", body);
    ASSERT_OK(nd_writer_add(w, &d), w);
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
    free(body);
    qfix f;
    qopen(&f, wd);
    f.docs = BASE_DOCS + 1;
    /* 1,000 words: fine; 9,000 words for one prefix: refused, named */
    assert_int_equal(qtotal(f.s, "pre03*"), 1);
    expect_query_error(f.s, "keepsake  pre0*", ND_ELIMIT, 10, "'pre0*'");
    /* too short, and no characters at all */
    expect_query_error(f.s, "prices OR pr*", ND_ELIMIT, 10, "too short");
    expect_query_error(f.s, "\xff\xfe*", ND_ESYNTAX, -1, "column");
    /* 8 prefixes of 1,000 words each are fine; 9 are over 8,192 together */
    assert_int_equal(qtotal(f.s, "pre00* pre01* pre02* pre03* pre04* pre05* pre06* pre07*"), 1);
    expect_query_error(f.s, "pre00* pre01* pre02* pre03* pre04* pre05* pre06* pre07* pre08*",
                       ND_ELIMIT, -1, "pre0");
    char *err = NULL;
    assert_int_equal(cli(&err, "query '%s' 'pre0*'", wd->ix), 3);
    assert_non_null(strstr(err, "pre0*"));
    free(err);
    qclose(&f);
}

static void test_badinput_query_lone_operators(void **state)
{
    qfix f;
    qopen(&f, *state);
    static const char *const bad[] = {"AND",      "OR",        "NOT",         "AND OR NOT",
                                      "prices AND", "OR prices", "prices OR",  "prices AND OR gold",
                                      "NOT NOT",  "( AND )",   "title:",      "source:",
                                      "date:",    "prices title:", "\"\"~3",    "AND AND",
                                      "*",        "-",         "+",           "- + -"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nd_hits *h = (nd_hits *)1;
        int rc = nd_search_run(f.s, &h, bad[i], 10, NULL);
        if (rc != ND_ESYNTAX && rc != ND_ELIMIT)
            fail_msg("query '%s': got %d, expected a syntax or limit error", bad[i], rc);
        expect_query_error(f.s, bad[i], rc, -1, "column");
    }
    /* documented: "-x" alone parses and matches nothing; "oil - gas" is
     * "oil gas"; lower-case operators are words */
    assert_int_equal(qtotal(f.s, "-prices"), 0);
    assert_int_equal(qtotal(f.s, "prices - gold"), 2);
    assert_int_equal(qtotal(f.s, "prices and"), 2);
    assert_int_equal(qtotal(f.s, "~3"), 0); /* the word "3" */
    char *err = NULL;
    assert_int_equal(cli(&err, "query '%s' 'prices AND'", f.wd->ix), 3);
    assert_non_null(strstr(err, "column"));
    free(err);
    qclose(&f);
}

static void test_badinput_query_unbalanced(void **state)
{
    qfix f;
    qopen(&f, *state);
    struct {
        const char *q;
        long off;
        const char *msg;
    } bad[] = {
        {"\"prices", 0, "missing closing '\"'"},
        {"prices \"gold", 7, "missing closing '\"'"},
        {"\"crude oil\" \"gold", 12, "missing closing '\"'"},
        {"(prices", 0, "never closed"},
        {"((prices)", 0, "never closed"},
        {"prices)", 6, "')'"},
        {"(prices))", 8, "')'"},
        {")(", 0, "')'"},
        {"title:(prices", 6, "never closed"},
        {"()", 0, "nothing between"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_query_error(f.s, bad[i].q, ND_ESYNTAX, bad[i].off, bad[i].msg);
    /* a quote inside a word ends it: prices"gold" is prices "gold" */
    assert_int_equal(qtotal(f.s, "prices\"gold\""), 2);
    qclose(&f);
}

static void test_badinput_query_nul_and_invalid_utf8(void **state)
{
    qfix f;
    qopen(&f, *state);
    /* The query is a C string: everything after a NUL is not seen. */
    static const char with_nul[] = "gold\0 AND ((( \"";
    assert_int_equal(qtotal(f.s, with_nul), 1);
    /* Invalid UTF-8 reads as U+FFFD, which is not a word. */
    expect_query_error(f.s, "\xff", ND_ESYNTAX, 0, "no searchable words");
    expect_query_error(f.s, "\xed\xa0\x80 \xf8\x88\x80\x80\x80", ND_ESYNTAX, 0,
                       "no searchable words");
    assert_int_equal(qtotal(f.s, "gold\xff"), 1);
    assert_int_equal(qtotal(f.s, "\xc3 gold \xe6\x97"), 1);
    /* the column in a message counts characters up to the bad clause */
    expect_query_error(f.s, "\xe6\x97\xa5 AND", ND_ESYNTAX, -1, "column");
    expect_query_error(f.s, "gold\xff AND", ND_ESYNTAX, -1, "column");
    expect_query_error(f.s, "date:\xff", ND_ESYNTAX, 5, "date");
    qclose(&f);
}

static void test_badinput_query_absurd_dates(void **state)
{
    qfix f;
    qopen(&f, *state);
    static const char *const bad[] = {
        "date:0000",           "date:99999",         "date:10000-01-01",    "date:-2019",
        "date:2019-02-29",     "date:2019-13",       "date:2019-12-32",     "date:1e9",
        "date:..",             "date:2019..2018",    "date:2019-03-15..2019-03-14",
        "date:2019...2020",    "date:..2019..",      "date:2019-03-14T25:00:00Z",
        "date:\"2019\"",       "date:(2019)",        "prices date:now",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_query_error(f.s, bad[i], ND_ESYNTAX, -1, "date");
    char *q = repeat("9", 60000, "");
    char *full = malloc(60000 + 6);
    assert_non_null(full);
    sprintf(full, "date:%s", q);
    expect_query_error(f.s, full, ND_ESYNTAX, 5, "date");
    free(full);
    free(q);
    /* the ends of the range are fine and match what they should */
    assert_int_equal(qtotal(f.s, "date:0001..9999"), BASE_DOCS);
    assert_int_equal(qtotal(f.s, "date:9999-12-31T23:59:59Z"), 0);
    assert_int_equal(qtotal(f.s, "date:0001-01-01"), 0);
    assert_int_equal(qtotal(f.s, "date:2019-03-15"), 1);
    int64_t a, b;
    assert_int_equal(nd_date_period(&a, &b, "0000", 4), ND_EINVAL);
    assert_int_equal(nd_date_period(&a, &b, "9999", 4), ND_OK);
    assert_true(a < b);
    char *err = NULL;
    assert_int_equal(cli(&err, "query '%s' 'date:2019-02-30'", f.wd->ix), 3);
    if (!strstr(err, "column 6"))
        fail_msg("CLI: '%s'", err);
    free(err);
    assert_int_equal(cli(&err, "query '%s' prices --since 0000-01-01", f.wd->ix), 2);
    free(err);
    qclose(&f);
}

static void test_badinput_query_k_and_offset(void **state)
{
    qfix f;
    qopen(&f, *state);
    nd_hits *h;
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    static const size_t ks[] = {ND_MAX_K + 1, (size_t)1 << 40, SIZE_MAX};
    for (size_t i = 0; i < 3; i++) {
        h = (nd_hits *)1;
        assert_int_equal(nd_search_run(f.s, &h, "prices", ks[i], NULL), ND_ELIMIT);
        assert_null(h);
        assert_non_null(strstr(nd_search_errmsg(f.s), "10000"));
        assert_int_equal(nd_search_error_offset(f.s), ND_NO_OFFSET); /* not in the query */
        o.offset = ks[i];
        assert_int_equal(nd_search_run(f.s, &h, "prices", 10, &o), ND_ELIMIT);
    }
    /* at the limits: fine, and past the matches there is nothing */
    o.offset = ND_MAX_K;
    assert_int_equal(nd_search_run(f.s, &h, "prices", ND_MAX_K, &o), ND_OK);
    assert_int_equal(nd_hits_count(h), 0);
    assert_int_equal(nd_hits_total(h), 2);
    nd_hits_free(h);
    o.offset = 1;
    assert_int_equal(nd_search_run(f.s, &h, "prices", 0, &o), ND_OK);
    assert_int_equal(nd_hits_count(h), 0);
    assert_int_equal(nd_hits_total(h), 2);
    nd_hits_free(h);
    char *err = NULL;
    assert_int_equal(cli(&err, "query '%s' prices -k 10001", f.wd->ix), 3);
    assert_non_null(strstr(err, "10000"));
    free(err);
    assert_int_equal(cli(&err, "query '%s' prices --offset 99999999999999999999999", f.wd->ix),
                     2);
    free(err);
    assert_int_equal(cli(&err, "query '%s' prices -k -1", f.wd->ix), 2);
    free(err);
    qclose(&f);
}

int main(void)
{
    /* The 100 MB row first, so that its peak memory is its own. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_badinput_article_100mb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_nul_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_overlong_encodings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_token_1mb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_million_terms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_empty_title_and_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_missing_or_duplicate_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_dates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_truncated_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_not_an_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_newer_format_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_readonly_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_full_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_query_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_query_many_terms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_query_deep_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_query_prefix_expansion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_query_lone_operators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_query_unbalanced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_query_nul_and_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_query_absurd_dates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_badinput_query_k_and_offset, setup, teardown),
    };
    return cmocka_run_group_tests_name("badinput", tests, NULL, NULL);
}
