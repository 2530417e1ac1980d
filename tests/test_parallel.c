/*
 * test_parallel.c - nd_writer_add_jsonl with analysis threads: for the same
 * input, the index files, the ingest stats, the bad-line reports, the
 * progress calls and the return codes must be exactly those of the
 * one-thread path - with duplicate ids (upserts, also across flushed
 * segments), bad lines of every kind, blank lines, several files, a strict
 * stop (early, with batches still in flight, and late), and a truncated
 * gzip file, and calls on one writer after a stop (its ring is kept from
 * one call to the next). A writer with threads also compresses the stored
 * articles on a thread of its own, for nd_writer_add too: same files, and
 * a write failure there is still reported.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <zlib.h>

#include "newsdex.h"
#include "testutil.h"

static const char *const WORDS[] = {
    "oil",    "prices", "bank",  "rates", "election", "vote",   "strike", "harbour",
    "market", "shares", "trade", "china", "storm",    "flood",  "court",  "ruling",
    "merger", "bid",    "Zürich", "東京", "naïve",    "ﬁnance", "Straße", "O’Brien's"};
#define N_WORDS (sizeof WORDS / sizeof WORDS[0])

static const char *const SOURCES[] = {"Reuters", "AP", " reuters ", "Agence France-Presse", ""};

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
}

/* n lines of JSON: articles (every 11th reuses an earlier id), blank and
 * white lines, and bad lines of every kind. first_bad: the first line that
 * may be bad (1-based); none before it. */
static sbuf make_input(uint64_t seed, int n, int first_bad)
{
    sbuf b = {0};
    uint64_t s = seed;
    for (int i = 1; i <= n; i++) {
        int may_fail = i >= first_bad;
        if (i % 97 == 13) {
            sb_printf(&b, "\n");
        } else if (i % 101 == 7) {
            sb_printf(&b, "  \t \r\n");
        } else if (may_fail && i % 89 == 5) {
            sb_printf(&b, "{\"id\": \"broken-%d\", \"title\": \n", i);
        } else if (may_fail && i % 83 == 3) {
            sb_printf(&b, "{\"title\": \"no id here\"}\n");
        } else if (may_fail && i % 79 == 2) {
            sb_printf(&b, "{\"id\": \"d-%d\", \"date\": \"2019-13-01\"}\n", i);
        } else if (may_fail && i % 73 == 1) {
            sb_printf(&b, "{\"id\": \"%0300d\", \"body\": \"too long an id\"}\n", i);
        } else if (may_fail && i % 71 == 4) {
            sb_printf(&b, "{\"id\": \"d-%d\", \"title\": 42}\n", i);
        } else {
            int id = i % 11 == 0 ? i / 2 : i;
            sb_printf(&b, "{\"id\": \"d-%d\", \"title\": \"", id);
            int tw = 1 + (int)(tu_rand(&s) % 8);
            for (int k = 0; k < tw; k++)
                sb_printf(&b, "%s%s", k ? " " : "", WORDS[tu_rand(&s) % N_WORDS]);
            sb_printf(&b, "\", \"body\": \"");
            int bw = (int)(tu_rand(&s) % 300);
            for (int k = 0; k < bw; k++)
                sb_printf(&b, "%s%s%s", k ? " " : "", WORDS[tu_rand(&s) % N_WORDS],
                          k % 17 == 16 ? ".\\n" : "");
            sb_printf(&b, "\", \"source\": \"%s\", \"lang\": \"%s\"",
                      SOURCES[tu_rand(&s) % 5], i % 3 ? "en" : "DE");
            if (i % 4)
                sb_printf(&b, ", \"url\": \"https://news.example/%d/story-%d\"", i % 50, i);
            if (i % 5)
                sb_printf(&b, ", \"date\": \"19%02d-%02d-%02d\"", 50 + i % 40, 1 + i % 12,
                          1 + i % 28);
            sb_printf(&b, ", \"extra\": [1, {\"x\": null}]}\n");
        }
    }
    return b;
}

static void write_gz(const char *path, const void *data, size_t n)
{
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)n), (int)n);
    assert_int_equal(gzclose(gz), Z_OK);
}

/* What one ingest run produced. */
typedef struct run {
    char *dir;
    int rc;                /* of the last nd_writer_add_jsonl */
    int commit_rc;
    char errmsg[512];      /* the writer's message after the ingest */
    nd_ingest_stats stats;
    sbuf reports;          /* "FILE:LINE: reason" per bad line */
    sbuf progress;         /* one line per progress call */
} run;

static void on_error(void *ctx, const char *file, uint64_t line, const char *reason)
{
    run *r = ctx;
    sb_printf(&r->reports, "%s:%llu: %s\n", file, (unsigned long long)line, reason);
}

static void on_progress(void *ctx, const nd_ingest_stats *st)
{
    run *r = ctx;
    sb_printf(&r->progress, "%llu %llu %llu %llu %llu\n", (unsigned long long)st->lines,
              (unsigned long long)st->added, (unsigned long long)st->skipped,
              (unsigned long long)st->bytes_read, (unsigned long long)st->bytes_total);
}

/* Ingests files[0..n) with one writer (call i strict when strict[i]) and
 * commits. With keep_going every call is made whatever the last one
 * returned (each result in rcs[i] and in the reports); else the calls stop
 * at the first failure. */
static void ingest_calls(run *r, unsigned threads, const char *const *files, int n,
                         const int *strict, int keep_going, size_t ram, int *rcs)
{
    memset(r, 0, sizeof *r);
    r->dir = tu_mkdtemp();
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    wo.ram_budget = ram;
    wo.threads = threads;
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, r->dir, &wo), ND_OK);
    nd_ingest_opts io = ND_INGEST_OPTS_INIT;
    io.on_error = on_error;
    io.on_progress = on_progress;
    io.ctx = r;
    for (int i = 0; i < n; i++) {
        io.strict = strict[i];
        r->rc = nd_writer_add_jsonl(w, files[i], &io, &r->stats);
        if (!keep_going && r->rc)
            break;
        if (keep_going) {
            rcs[i] = r->rc;
            sb_printf(&r->reports, "call %d: %d %s\n", i, r->rc,
                      r->rc ? nd_writer_errmsg(w) : "");
        }
    }
    snprintf(r->errmsg, sizeof r->errmsg, "%s", nd_writer_errmsg(w));
    r->commit_rc = nd_writer_commit(w);
    nd_writer_free(w);
}

static void do_run(run *r, unsigned threads, const char *const *files, int n_files, int strict,
                   size_t ram)
{
    int st[4];
    assert_true(n_files <= 4);
    for (int i = 0; i < n_files; i++)
        st[i] = strict;
    ingest_calls(r, threads, files, n_files, st, 0, ram, NULL);
}

static void free_run(run *r)
{
    tu_rmrf(r->dir);
    free(r->dir);
    free(r->reports.p);
    free(r->progress.p);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted seg-* names in dir (NULL-terminated, caller frees). */
static char **seg_files(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char **v = NULL;
    *n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "seg-", 4) != 0)
            continue;
        char **grown = realloc(v, (*n + 2) * sizeof *v);
        assert_non_null(grown);
        v = grown;
        v[(*n)++] = strdup(de->d_name);
    }
    closedir(d);
    if (*n > 1)
        qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

/* Every result of b equals a's, index files byte for byte. */
static void assert_same(const run *a, const run *b, size_t min_files)
{
    assert_int_equal(a->rc, b->rc);
    assert_int_equal(a->commit_rc, b->commit_rc);
    assert_string_equal(a->errmsg, b->errmsg);
    assert_memory_equal(&a->stats, &b->stats, sizeof a->stats);
    assert_int_equal(a->reports.len, b->reports.len);
    if (a->reports.len)
        assert_memory_equal(a->reports.p, b->reports.p, a->reports.len);
    assert_int_equal(a->progress.len, b->progress.len);
    assert_memory_equal(a->progress.p, b->progress.p, a->progress.len);
    size_t na, nb;
    char **fa = seg_files(a->dir, &na), **fb = seg_files(b->dir, &nb);
    assert_int_equal(na, nb);
    assert_true(na >= min_files);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(fa[i], fb[i]);
        char pa[4200], pb[4200];
        snprintf(pa, sizeof pa, "%s/%s", a->dir, fa[i]);
        snprintf(pb, sizeof pb, "%s/%s", b->dir, fb[i]);
        size_t la, lb;
        char *da = tu_read_file(pa, &la), *db = tu_read_file(pb, &lb);
        assert_non_null(da);
        assert_non_null(db);
        assert_int_equal(la, lb);
        if (memcmp(da, db, la) != 0)
            fail_msg("%s differs", fa[i]);
        free(da);
        free(db);
        free(fa[i]);
        free(fb[i]);
    }
    free(fa);
    free(fb);
}

static char *tmp_path(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    assert_non_null(p);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

/* Two files (one gzip), many flushes and upserts across segments: threads
 * 2 and 3 give what one thread gives. */
static void test_parallel_same_index_as_one_thread(void **state)
{
    (void)state;
    char *in = tu_mkdtemp();
    char *f1 = tmp_path(in, "a.jsonl"), *f2 = tmp_path(in, "b.jsonl.gz");
    sbuf a = make_input(1, 4000, 1), b = make_input(2, 1500, 1);
    tu_write_file(f1, a.p, a.len);
    write_gz(f2, b.p, b.len);
    const char *files[] = {f1, f2};
    run one, many;
    do_run(&one, 1, files, 2, 0, (size_t)1 << 20);
    assert_int_equal(one.rc, ND_OK);
    assert_int_equal(one.commit_rc, ND_OK);
    assert_true(one.stats.added > 4000);
    assert_true(one.stats.skipped > 100);
    assert_int_equal(one.stats.lines, 5500);
    for (unsigned t = 2; t <= 3; t++) {
        do_run(&many, t, files, 2, 0, (size_t)1 << 20);
        assert_same(&one, &many, 10);
        free_run(&many);
    }
    /* the default budget: one segment */
    free_run(&one);
    do_run(&one, 1, files, 2, 0, 0);
    do_run(&many, 3, files, 2, 0, 0);
    assert_same(&one, &many, 5);
    free_run(&many);
    free_run(&one);
    free(a.p);
    free(b.p);
    tu_rmrf(in);
    free(in);
    free(f1);
    free(f2);
}

/* --strict: the run stops at the same line with the same message, whether
 * that line is in the first batch (later batches still being analysed) or
 * far into the file. */
static void test_parallel_strict_stops_at_the_same_line(void **state)
{
    (void)state;
    char *in = tu_mkdtemp();
    char *f = tmp_path(in, "s.jsonl");
    const int firsts[] = {1, 1500};
    for (int k = 0; k < 2; k++) {
        sbuf a = make_input(3, 6000, firsts[k]);
        tu_write_file(f, a.p, a.len);
        const char *files[] = {f};
        run one, many;
        do_run(&one, 1, files, 1, 1, (size_t)1 << 20);
        assert_int_equal(one.rc, ND_EINVAL);
        assert_int_equal(one.stats.skipped, 1);
        assert_true(one.stats.lines < 6000);
        assert_non_null(strstr(one.errmsg, "s.jsonl:"));
        do_run(&many, 3, files, 1, 1, (size_t)1 << 20);
        assert_same(&one, &many, 0);
        free_run(&one);
        free_run(&many);
        free(a.p);
    }
    tu_rmrf(in);
    free(in);
    free(f);
}

/* A truncated gzip file: ND_EIO after the same articles, same message. */
static void test_parallel_truncated_gzip(void **state)
{
    (void)state;
    char *in = tu_mkdtemp();
    char *f = tmp_path(in, "t.jsonl.gz");
    sbuf a = make_input(4, 3000, 1);
    write_gz(f, a.p, a.len);
    size_t n;
    char *gz = tu_read_file(f, &n);
    assert_non_null(gz);
    tu_write_file(f, gz, n * 2 / 3);
    const char *files[] = {f};
    run one, many;
    do_run(&one, 1, files, 1, 0, (size_t)1 << 20);
    assert_int_equal(one.rc, ND_EIO);
    assert_true(one.stats.added > 100);
    do_run(&many, 2, files, 1, 0, (size_t)1 << 20);
    assert_same(&one, &many, 5);
    free_run(&one);
    free_run(&many);
    free(gz);
    free(a.p);
    tu_rmrf(in);
    free(in);
    free(f);
}

static void test_parallel_calls_after_a_stop(void **state)
{
    (void)state;
    char *in = tu_mkdtemp();
    char *fs = tmp_path(in, "s.jsonl"), *ft = tmp_path(in, "t.jsonl.gz");
    char *fa = tmp_path(in, "a.jsonl"), *fb = tmp_path(in, "b.jsonl");
    /* a: 9 batches of 256 lines, so that the next call does not start where
     * the ring does; b: less than one batch */
    sbuf s = make_input(5, 3000, 1), t = make_input(6, 3000, 1), a = make_input(7, 2300, 1);
    sbuf b = make_input(8, 100, 1);
    tu_write_file(fs, s.p, s.len);
    tu_write_file(fa, a.p, a.len);
    tu_write_file(fb, b.p, b.len);
    write_gz(ft, t.p, t.len);
    size_t n;
    char *gz = tu_read_file(ft, &n);
    assert_non_null(gz);
    tu_write_file(ft, gz, n / 2);
    const char *files[] = {fs, ft, fa, fb, fs, fa, fb};
    const int strict[] = {1, 0, 0, 0, 0, 1, 0};
    int rc1[7], rc3[7];
    run one, many;
    /* one writer through all the calls, each going on whatever the last
     * one returned: its ring is kept from call to call, also after a strict
     * stop (batches still in flight) and a read error */
    ingest_calls(&one, 1, files, 7, strict, 1, (size_t)1 << 20, rc1);
    assert_int_equal(rc1[0], ND_EINVAL); /* the strict stop, early in s */
    assert_int_equal(rc1[1], ND_EIO);    /* the truncated t */
    assert_int_equal(rc1[2], ND_OK);
    assert_int_equal(rc1[3], ND_OK);
    assert_int_equal(rc1[4], ND_OK);
    assert_int_equal(rc1[5], ND_EINVAL);
    assert_int_equal(rc1[6], ND_OK);
    assert_int_equal(one.commit_rc, ND_OK);
    assert_true(one.stats.added > 3000);
    ingest_calls(&many, 3, files, 7, strict, 1, (size_t)1 << 20, rc3);
    assert_memory_equal(rc1, rc3, sizeof rc1);
    assert_same(&one, &many, 5);
    free_run(&one);
    free_run(&many);
    free(gz);
    free(s.p);
    free(t.p);
    free(a.p);
    free(b.p);
    tu_rmrf(in);
    free(in);
    free(fs);
    free(ft);
    free(fa);
    free(fb);
}

/* ---- nd_writer_add with a store thread ------------------------------------- */

/* Article i of a generated set: bodies from a few words to well past a
 * stored block (every 97th is about 200 KB), some ids used twice. */
static void gen_article(uint64_t *seed, int i, sbuf *body, char *id, size_t idlen)
{
    snprintf(id, idlen, "w-%d", i % 13 == 0 ? i / 3 : i);
    body->len = 0;
    int words = i % 97 == 50 ? 30000 : (int)(tu_rand(seed) % 400);
    for (int k = 0; k < words; k++)
        sb_printf(body, "%s%s", k ? " " : "", WORDS[tu_rand(seed) % N_WORDS]);
    if (!body->p)
        sb_printf(body, "%s", "");
}

/* Adds n generated articles with nd_writer_add and commits. */
static void add_run(run *r, unsigned threads, int n, size_t ram)
{
    memset(r, 0, sizeof *r);
    r->dir = tu_mkdtemp();
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    wo.ram_budget = ram;
    wo.threads = threads;
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, r->dir, &wo), ND_OK);
    uint64_t seed = 77;
    sbuf body = {0};
    for (int i = 0; i < n && !r->rc; i++) {
        char id[32];
        gen_article(&seed, i, &body, id, sizeof id);
        nd_doc d = tu_doc(id, i % 2 ? "title words" : NULL, body.p);
        r->rc = nd_writer_add(w, &d);
    }
    snprintf(r->errmsg, sizeof r->errmsg, "%s", nd_writer_errmsg(w));
    r->commit_rc = nd_writer_commit(w);
    nd_writer_free(w);
    free(body.p);
}

static void test_parallel_add_same_files(void **state)
{
    (void)state;
    run one, two;
    /* many flushed segments, and the default budget */
    const size_t rams[] = {(size_t)256 << 10, 0};
    for (size_t k = 0; k < sizeof rams / sizeof rams[0]; k++) {
        add_run(&one, 1, 1200, rams[k]);
        assert_int_equal(one.rc, ND_OK);
        assert_int_equal(one.commit_rc, ND_OK);
        add_run(&two, 2, 1200, rams[k]);
        assert_same(&one, &two, k == 0 ? 10 : 5);
        free_run(&one);
        free_run(&two);
    }
}

static void test_parallel_add_abandoned(void **state)
{
    (void)state;
    /* articles still waiting for the store thread when the writer is
     * freed without a commit: nothing is left behind */
    char *dir = tu_mkdtemp();
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    wo.threads = 2;
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, dir, &wo), ND_OK);
    uint64_t seed = 5;
    sbuf body = {0};
    for (int i = 0; i < 300; i++) {
        char id[32];
        gen_article(&seed, i, &body, id, sizeof id);
        nd_doc d = tu_doc(id, NULL, body.p);
        assert_int_equal(nd_writer_add(w, &d), ND_OK);
    }
    nd_writer_free(w);
    size_t n;
    char **f = seg_files(dir, &n);
    assert_int_equal(n, 0);
    free(f);
    free(body.p);
    tu_rmrf(dir);
    free(dir);
}

/* In a child whose files may not grow past `limit` bytes, adds articles
 * with a store thread and commits; returns the first failure's ND_E* code
 * and its message in msg. */
static int add_limited(const char *dir, rlim_t limit, char *msg, size_t msglen)
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
        nd_writer_opts wo = ND_WRITER_OPTS_INIT;
        wo.threads = 2;
        nd_writer *w;
        int rc = nd_writer_open(&w, dir, &wo);
        uint64_t seed = 9;
        sbuf body = {0};
        for (int i = 0; rc == ND_OK && i < 2000; i++) {
            char id[32];
            gen_article(&seed, i, &body, id, sizeof id);
            nd_doc d = tu_doc(id, NULL, body.p);
            rc = nd_writer_add(w, &d);
        }
        if (rc == ND_OK)
            rc = nd_writer_commit(w);
        const char *why = w ? nd_writer_errmsg(w) : "open failed";
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

static void test_parallel_store_thread_write_failure(void **state)
{
    (void)state;
    /* The stored articles (about 3 MB) cannot fit in 1 MB: the store
     * thread's write fails, and that failure is what the writer reports
     * (on a later add or at the commit). Nothing is committed. */
    char *dir = tu_mkdtemp();
    char msg[1024];
    int rc = add_limited(dir, (rlim_t)1 << 20, msg, sizeof msg);
    assert_int_equal(rc, ND_EIO);
    if (!strstr(msg, "File too large"))
        fail_msg("message: %s", msg);
    nd_index *ix = NULL;
    assert_int_equal(nd_index_open(&ix, dir, NULL, NULL, 0), ND_ENOTFOUND);
    /* without the limit the same articles go in */
    rc = add_limited(dir, RLIM_INFINITY, msg, sizeof msg);
    assert_int_equal(rc, ND_OK);
    assert_int_equal(nd_index_open(&ix, dir, NULL, NULL, 0), ND_OK);
    nd_index_stats st;
    nd_index_stats_get(ix, &st);
    assert_true(st.docs > 1500);
    nd_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_same_index_as_one_thread),
        cmocka_unit_test(test_parallel_strict_stops_at_the_same_line),
        cmocka_unit_test(test_parallel_truncated_gzip),
        cmocka_unit_test(test_parallel_calls_after_a_stop),
        cmocka_unit_test(test_parallel_add_same_files),
        cmocka_unit_test(test_parallel_add_abandoned),
        cmocka_unit_test(test_parallel_store_thread_write_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
