/*
 * test_lifecycle.c - the index as it lives: appends in several commits,
 * upserts and deletes by id (also within one batch, and delete-then-add),
 * merges (search results equal to those of one segment built in one go),
 * reopen, the writer lock, readers in threads while a writer commits and
 * merges, and a crash test that kills a writing child process at random
 * moments and checks that every completed commit survives whole and that
 * nothing half-committed is ever visible.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "index/index.h"
#include "newsdex.h"
#include "testutil.h"

#define ASSERT_OK(expr, w)                                                                         \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != ND_OK)                                                                          \
            fail_msg("%s = %d: %s", #expr, rc_, nd_writer_errmsg(w));                              \
    } while (0)

static const char *const WORDS[] = {"oil",    "prices", "bank",   "rates",  "election", "vote",
                                    "strike", "harbour", "market", "shares", "trade",    "china",
                                    "storm",  "flood",  "court",  "ruling", "merger",   "bid"};
#define N_WORDS (sizeof WORDS / sizeof WORDS[0])

/* Article i of version v: its id, and a body drawn from WORDS. */
static nd_doc make_doc(char *idbuf, char *body, size_t cap, uint64_t i, int v)
{
    snprintf(idbuf, 32, "art-%llu", (unsigned long long)i);
    uint64_t s = i * 7919 + (uint64_t)v * 104729 + 1;
    size_t n = 0;
    int words = 5 + (int)(tu_rand(&s) % 40);
    for (int k = 0; k < words && n + 32 < cap; k++)
        n += (size_t)snprintf(body + n, cap - n, "%s ", WORDS[tu_rand(&s) % N_WORDS]);
    n += (size_t)snprintf(body + n, cap - n, "version%d", v);
    nd_doc d;
    memset(&d, 0, sizeof d);
    d.id = idbuf;
    d.id_len = strlen(idbuf);
    d.body = body;
    d.body_len = n;
    d.title = "headline";
    d.title_len = 8;
    d.date = (int64_t)(i % 1000) * 86400;
    return d;
}

static int add(nd_writer *w, uint64_t i, int v)
{
    char id[32], body[512];
    nd_doc d = make_doc(id, body, sizeof body, i, v);
    return nd_writer_add(w, &d);
}

/* Total hits of a query, or -1. */
static long hits_of(nd_index *ix, const char *q)
{
    nd_search *s;
    nd_hits *h;
    if (nd_search_open(&s, ix) != ND_OK)
        return -1;
    long n = -1;
    if (nd_search_run(s, &h, q, 10, NULL) == ND_OK) {
        n = (long)nd_hits_total(h);
        nd_hits_free(h);
    }
    nd_search_free(s);
    return n;
}

/* Live copies of an id in a snapshot (through the id field). */
static int copies(const nd_index *ix, const char *id)
{
    uint8_t key[ND_MAX_TERM_KEY];
    size_t n = strlen(id);
    key[0] = FIELD_ID;
    memcpy(key + 1, id, n);
    int found = 0;
    nd_err e = {{0}};
    for (uint32_t i = 0; i < ix->man.n_segs; i++) {
        term_info ti;
        int rc = segment_term(&ix->segs[i], key, n + 1, &ti, &e);
        if (rc == ND_DONE)
            continue;
        assert_int_equal(rc, ND_OK);
        pcursor c;
        assert_int_equal(pcursor_open(&c, &ix->segs[i], FIELD_ID, &ti, &e), ND_OK);
        for (rc = pcursor_advance(&c, 0, &e); rc == ND_OK && c.doc != ND_NO_DOC;
             rc = pcursor_advance(&c, c.doc + 1, &e))
            found += !segment_deleted(&ix->segs[i], c.doc);
        assert_int_equal(rc, ND_OK);
        pcursor_close(&c);
    }
    return found;
}

static nd_index *open_ix(const char *dir)
{
    nd_index *ix = NULL;
    char err[256];
    int rc = nd_index_open(&ix, dir, NULL, err, sizeof err);
    if (rc)
        fail_msg("nd_index_open: %s", err);
    return ix;
}

static void test_lifecycle_upsert_and_delete(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    for (uint64_t i = 0; i < 100; i++)
        ASSERT_OK(add(w, i, 1), w);
    ASSERT_OK(nd_writer_commit(w), w);
    /* second batch: 10 replaced, 5 deleted, 10 new, one id added twice */
    for (uint64_t i = 0; i < 10; i++)
        ASSERT_OK(add(w, i, 2), w);
    assert_int_equal(nd_writer_delete(w, "art-", 0), ND_EINVAL); /* empty id */
    char id[32];
    for (uint64_t i = 10; i < 15; i++) {
        snprintf(id, sizeof id, "art-%llu", (unsigned long long)i);
        ASSERT_OK(nd_writer_delete(w, id, strlen(id)), w);
    }
    for (uint64_t i = 100; i < 110; i++)
        ASSERT_OK(add(w, i, 2), w);
    ASSERT_OK(add(w, 105, 3), w); /* duplicate id in one batch: the last wins */
    ASSERT_OK(nd_writer_delete(w, "never-there", 11), w);
    /* uncommitted: a reader still sees the first commit */
    nd_index *ix = open_ix(dir);
    assert_int_equal(hits_of(ix, "version1"), 100);
    assert_int_equal(hits_of(ix, "version2"), 0);
    nd_index_free(ix);
    ASSERT_OK(nd_writer_commit(w), w);

    ix = open_ix(dir);
    nd_index_stats st;
    nd_index_stats_get(ix, &st);
    assert_int_equal(st.docs, 100 - 5 + 10);
    assert_int_equal(st.generation, 2);
    assert_int_equal(hits_of(ix, "version1"), 100 - 10 - 5);
    assert_int_equal(hits_of(ix, "version2"), 10 + 9);
    assert_int_equal(hits_of(ix, "version3"), 1);
    assert_int_equal(copies(ix, "art-3"), 1);
    assert_int_equal(copies(ix, "art-12"), 0);
    assert_int_equal(copies(ix, "art-105"), 1);
    assert_int_equal(copies(ix, "art-99"), 1);
    nd_index_free(ix);

    /* delete then re-add in one batch; add then delete in one batch */
    snprintf(id, sizeof id, "art-20");
    ASSERT_OK(nd_writer_delete(w, id, strlen(id)), w);
    ASSERT_OK(add(w, 20, 4), w);
    ASSERT_OK(add(w, 21, 4), w);
    snprintf(id, sizeof id, "art-21");
    ASSERT_OK(nd_writer_delete(w, id, strlen(id)), w);
    ASSERT_OK(nd_writer_commit(w), w);
    ix = open_ix(dir);
    assert_int_equal(copies(ix, "art-20"), 1);
    assert_int_equal(copies(ix, "art-21"), 0);
    assert_int_equal(hits_of(ix, "version4"), 1);
    nd_index_stats_get(ix, &st);
    assert_int_equal(st.docs, 100 - 5 + 10 - 1);
    nd_index_free(ix);

    /* a commit with nothing to do keeps the generation */
    ASSERT_OK(nd_writer_commit(w), w);
    ix = open_ix(dir);
    nd_index_stats_get(ix, &st);
    assert_int_equal(st.generation, 3);
    nd_index_free(ix);
    nd_writer_free(w);
    tu_rmrf(dir);
    free(dir);
}

/* Top-k ids and scores of a query. */
typedef struct topres {
    size_t n;
    char id[20][32];
    double score[20];
    uint64_t total;
} topres;

/* The best 20 hits of q; with snippets, each must have one (the stored
 * text was read). Returns the number of failures, without asserting, so
 * that threads can call it. */
static int top_fill(nd_index *ix, const char *q, int snippets, topres *r)
{
    nd_search *s;
    nd_hits *h;
    memset(r, 0, sizeof *r);
    if (nd_search_open(&s, ix) != ND_OK)
        return 1;
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.snippets = snippets;
    int bad = 0;
    if (nd_search_run(s, &h, q, 20, &o) != ND_OK) {
        nd_search_free(s);
        return 1;
    }
    r->n = nd_hits_count(h);
    r->total = nd_hits_total(h);
    for (size_t i = 0; i < r->n; i++) {
        nd_hit hit;
        nd_hits_get(h, i, &hit);
        snprintf(r->id[i], sizeof r->id[i], "%.*s", (int)hit.id_len, hit.id);
        r->score[i] = hit.score;
        bad += snippets && hit.snippet_len == 0;
    }
    nd_hits_free(h);
    nd_search_free(s);
    return bad;
}

static void top_of(nd_index *ix, const char *q, topres *r)
{
    assert_int_equal(top_fill(ix, q, 0, r), 0);
}

/*
 * Many segments, then merged into one, then one segment built in one go
 * from the surviving articles in the same order: all three rank alike.
 * BM25 statistics count deleted documents until a merge drops them (as in
 * Lucene), so the index with deletions is compared to the merged one only
 * after the merge; the multi-segment index without deletions must already
 * give the same scores as the single segment (same N, df, lengths).
 */
static void test_lifecycle_merge_ranks_like_one_segment(void **state)
{
    (void)state;
    char *a = tu_mkdtemp(), *b = tu_mkdtemp();
    nd_writer_opts o = ND_WRITER_OPTS_INIT;
    o.ram_budget = 300 << 10; /* several segments */
    o.merge_factor = 1;       /* and no automatic merges */
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, a, &o), ND_OK);
    for (uint64_t i = 0; i < 3000; i++) {
        ASSERT_OK(add(w, i, 1), w);
        if (i % 700 == 699)
            ASSERT_OK(nd_writer_commit(w), w);
    }
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
    assert_int_equal(nd_writer_open(&w, b, NULL), ND_OK);
    for (uint64_t i = 0; i < 3000; i++)
        ASSERT_OK(add(w, i, 1), w);
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);

    nd_index *ia = open_ix(a), *ib = open_ix(b);
    nd_index_stats st;
    nd_index_stats_get(ia, &st);
    assert_true(st.segments > 3);
    const char *queries[] = {"oil prices", "bank rates election", "storm flood court", "bid"};
    for (size_t q = 0; q < 4; q++) {
        topres ra, rb;
        top_of(ia, queries[q], &ra);
        top_of(ib, queries[q], &rb);
        assert_int_equal(ra.total, rb.total);
        assert_int_equal(ra.n, rb.n);
        /* equal scores may order differently only if they tie exactly */
        for (size_t i = 0; i < ra.n; i++)
            assert_true(fabs(ra.score[i] - rb.score[i]) < 1e-9);
    }
    nd_index_free(ia);

    /* delete a third, merge to one segment, compare with a fresh build */
    assert_int_equal(nd_writer_open(&w, a, &o), ND_OK);
    char id[32];
    for (uint64_t i = 0; i < 3000; i += 3) {
        snprintf(id, sizeof id, "art-%llu", (unsigned long long)i);
        ASSERT_OK(nd_writer_delete(w, id, strlen(id)), w);
    }
    ASSERT_OK(nd_writer_merge(w, 1), w);
    nd_writer_free(w);
    ia = open_ix(a);
    nd_index_stats_get(ia, &st);
    assert_int_equal(st.segments, 1);
    assert_int_equal(st.docs, 2000);
    nd_segment_info si;
    assert_int_equal(nd_index_segment_get(ia, 0, &si), ND_OK);
    assert_int_equal(si.deleted, 0);
    assert_int_equal(nd_index_segment_get(ia, 1, &si), ND_EINVAL);

    char *c = tu_mkdtemp();
    assert_int_equal(nd_writer_open(&w, c, NULL), ND_OK);
    for (uint64_t i = 0; i < 3000; i++)
        if (i % 3)
            ASSERT_OK(add(w, i, 1), w);
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
    nd_index *ic = open_ix(c);
    for (size_t q = 0; q < 4; q++) {
        topres ra, rc;
        top_of(ia, queries[q], &ra);
        top_of(ic, queries[q], &rc);
        assert_int_equal(ra.total, rc.total);
        assert_int_equal(ra.n, rc.n);
        /* The merge keeps the segments' order, so the merged segment holds
         * the articles in the order they were added, as the fresh build
         * does: the same hits in the same order, ties included. */
        for (size_t i = 0; i < ra.n; i++) {
            assert_true(fabs(ra.score[i] - rc.score[i]) < 1e-9);
            assert_string_equal(ra.id[i], rc.id[i]);
        }
    }
    nd_index_free(ia);
    nd_index_free(ib);
    nd_index_free(ic);
    tu_rmrf(a);
    tu_rmrf(b);
    tu_rmrf(c);
    free(a);
    free(b);
    free(c);
}

static void test_lifecycle_lock_and_reopen(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    nd_writer *w, *w2 = (nd_writer *)1;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    assert_int_equal(nd_writer_open(&w2, dir, NULL), ND_EBUSY);
    assert_null(w2);
    /* also across processes, through the CLI */
    char *err = NULL;
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' delete '%s' x", ND_SEARCH_BIN, dir);
    ASSERT_OK(add(w, 1, 1), w);
    ASSERT_OK(nd_writer_commit(w), w);
    assert_int_equal(tu_run(cmd, NULL, &err), 5);
    assert_non_null(strstr(err, "locked"));
    free(err);

    nd_index *ix = open_ix(dir), *nx = (nd_index *)1;
    assert_int_equal(nd_index_reopen(&nx, ix, NULL, 0), ND_OK);
    assert_null(nx); /* nothing new */
    ASSERT_OK(add(w, 2, 1), w);
    ASSERT_OK(nd_writer_commit(w), w);
    assert_int_equal(nd_index_reopen(&nx, ix, NULL, 0), ND_OK);
    assert_non_null(nx);
    assert_int_equal(hits_of(ix, "version1"), 1); /* the old snapshot is unchanged */
    assert_int_equal(hits_of(nx, "version1"), 2);
    nd_index_free(nx);
    nd_index_free(ix);
    nd_writer_free(w);
    /* the lock is released with the writer */
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    nd_writer_free(w);
    tu_rmrf(dir);
    free(dir);
}

/* ---- readers in threads while a writer commits and merges ------------ */

typedef struct reader_ctx {
    const char *dir;
    atomic_int *stop;
    int errors;
    long checks;
} reader_ctx;

/* Every commit of the writer below adds 50 articles whose bodies contain
 * "batchmark", so any consistent snapshot has a multiple of 50 of them. */
static void *reader_main(void *arg)
{
    reader_ctx *c = arg;
    nd_index *ix = NULL;
    while (!atomic_load(c->stop)) {
        if (!ix) {
            char err[256];
            int rc = nd_index_open(&ix, c->dir, NULL, err, sizeof err);
            if (rc == ND_ENOTFOUND)
                continue;
            if (rc) {
                c->errors++;
                break;
            }
        }
        long n = hits_of(ix, "batchmark");
        if (n < 0 || n % 50 != 0)
            c->errors++;
        nd_index_stats st;
        nd_index_stats_get(ix, &st);
        if ((long)st.docs != n)
            c->errors++;
        c->checks++;
        nd_index *nx;
        if (nd_index_reopen(&nx, ix, NULL, 0) != ND_OK) {
            c->errors++;
        } else if (nx) {
            nd_index_free(ix);
            ix = nx;
        }
    }
    nd_index_free(ix);
    return NULL;
}

static void test_lifecycle_readers_during_commits_and_merges(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    atomic_int stop = 0;
    reader_ctx ctx[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        ctx[i] = (reader_ctx){dir, &stop, 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &ctx[i]), 0);
    }
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    for (int b = 0; b < 40; b++) {
        for (int i = 0; i < 50; i++) {
            char id[32], body[64];
            snprintf(id, sizeof id, "b%d-%d", b, i);
            snprintf(body, sizeof body, "batchmark words %d", i);
            nd_doc d = {.id = id, .id_len = strlen(id), .body = body, .body_len = strlen(body),
                        .date = ND_NO_DATE};
            ASSERT_OK(nd_writer_add(w, &d), w);
        }
        ASSERT_OK(nd_writer_commit(w), w); /* every 10th commit also merges */
        if (b % 15 == 14)
            ASSERT_OK(nd_writer_merge(w, 1), w);
    }
    nd_writer_free(w);
    usleep(100000);
    atomic_store(&stop, 1);
    long checks = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ctx[i].errors, 0);
        checks += ctx[i].checks;
    }
    assert_true(checks > 10);
    nd_index *ix = open_ix(dir);
    assert_int_equal(hits_of(ix, "batchmark"), 2000);
    nd_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}

/* ---- crash test --------------------------------------------------------- */

#define CRASH_BATCH 40

/*
 * The child: batches of CRASH_BATCH articles, each batch committed; it
 * writes "begin K" to the log before batch K and "done K" after its commit
 * returned (log lines are written with O_APPEND and fsync'd). Batches also
 * replace some articles of earlier batches and delete others; small RAM
 * budget so flushes happen inside batches; merges happen after commits.
 */
/* Threads searching one shared snapshot (the documented contract): the
 * checksum chunks they read are marked as checked in state the snapshot
 * holds, so they share that too. Each thread runs the same queries in its
 * own order, with stored text read, and must get what one thread got
 * alone; under ThreadSanitizer (CI) this also shows the sharing is
 * race-free. */
typedef struct share_ctx {
    nd_index *ix;
    topres want[N_WORDS];
    int first; /* the query to start from */
    int errors;
} share_ctx;

static void *share_main(void *arg)
{
    share_ctx *c = arg;
    for (size_t k = 0; k < N_WORDS; k++) {
        size_t q = (k + (size_t)c->first) % N_WORDS;
        topres got;
        c->errors += top_fill(c->ix, WORDS[q], 1, &got);
        if (got.n != c->want[q].n || got.total != c->want[q].total)
            c->errors++;
        for (size_t i = 0; i < got.n && i < c->want[q].n; i++)
            if (strcmp(got.id[i], c->want[q].id[i]) != 0 || got.score[i] != c->want[q].score[i])
                c->errors++;
    }
    return NULL;
}

static void test_lifecycle_threads_share_an_index(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    for (uint64_t i = 0; i < 3000; i++)
        ASSERT_OK(add(w, i, 1), w);
    ASSERT_OK(nd_writer_commit(w), w);
    nd_writer_free(w);
    /* what one thread gets, on a snapshot of its own */
    share_ctx ctx[4];
    nd_index *alone = open_ix(dir);
    int errors = 0;
    for (size_t q = 0; q < N_WORDS; q++)
        errors += top_fill(alone, WORDS[q], 1, &ctx[0].want[q]);
    nd_index_free(alone);
    assert_int_equal(errors, 0);
    nd_index *ix = open_ix(dir);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        ctx[i].ix = ix;
        ctx[i].first = i * 5;
        ctx[i].errors = 0;
        if (i > 0)
            memcpy(ctx[i].want, ctx[0].want, sizeof ctx[0].want);
        assert_int_equal(pthread_create(&th[i], NULL, share_main, &ctx[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ctx[i].errors, 0);
    }
    nd_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}

static void crash_child(const char *dir, const char *log, unsigned seed)
{
    FILE *lf = fopen(log, "a");
    if (!lf)
        _exit(3);
    nd_writer_opts o = ND_WRITER_OPTS_INIT;
    o.ram_budget = 96 << 10;
    nd_writer *w;
    int rc;
    while ((rc = nd_writer_open(&w, dir, &o)) == ND_EBUSY)
        usleep(1000);
    if (rc)
        _exit(4);
    for (int k = 0;; k++) {
        fprintf(lf, "begin %u %d\n", seed, k);
        fflush(lf);
        fsync(fileno(lf));
        for (int i = 0; i < CRASH_BATCH; i++) {
            char id[48], body[96];
            snprintf(id, sizeof id, "s%u-k%d-%d", seed, k, i);
            snprintf(body, sizeof body, "crashword batch%d item%d", k, i);
            nd_doc d = {.id = id, .id_len = strlen(id), .body = body, .body_len = strlen(body),
                        .date = ND_NO_DATE};
            if (nd_writer_add(w, &d))
                _exit(5);
        }
        if (nd_writer_commit(w))
            _exit(6);
        if (k % 7 == 6 && nd_writer_merge(w, 2))
            _exit(7);
        fprintf(lf, "done %u %d\n", seed, k);
        fflush(lf);
        fsync(fileno(lf));
    }
}

static int count_batch(nd_index *ix, int k)
{
    char q[64];
    snprintf(q, sizeof q, "+crashword +batch%d", k);
    return (int)hits_of(ix, q);
}

static void test_lifecycle_crash_at_random_moments(void **state)
{
    (void)state;
    const char *env = getenv("ND_CRASH_POINTS");
    int points = env ? atoi(env) : 50;
    int failures = 0, in_flight = 0, committed_batches = 0;
    uint64_t rnd = (uint64_t)time(NULL) ^ 0x9e3779b97f4a7c15ULL;
    for (int t = 0; t < points; t++) {
        char *dir = tu_mkdtemp();
        char log[4200];
        snprintf(log, sizeof log, "%s.log", dir);
        unlink(log);
        /* two kills into the same index: recovery after recovery */
        int round = 0;
        for (round = 0; round < 2; round++) {
            pid_t pid = fork();
            assert_true(pid >= 0);
            if (pid == 0)
                crash_child(dir, log, (unsigned)round);
            unsigned delay = (unsigned)(tu_rand(&rnd) % 600000) + 5000;
            usleep(delay);
            kill(pid, SIGKILL);
            int st;
            waitpid(pid, &st, 0);
            if (WIFEXITED(st))
                fail_msg("the writer child exited with %d", WEXITSTATUS(st));
        }
        /* what the log says: per round, batches begun and done */
        FILE *lf = fopen(log, "r");
        char line[128];
        int begun[2] = {-1, -1}, done[2] = {-1, -1};
        while (lf && fgets(line, sizeof line, lf)) {
            int k, r;
            if (sscanf(line, "begin %d %d", &r, &k) == 2 && r >= 0 && r < 2)
                begun[r] = k;
            else if (sscanf(line, "done %d %d", &r, &k) == 2 && r >= 0 && r < 2)
                done[r] = k;
        }
        if (lf)
            fclose(lf);
        for (int r = 0; r < 2; r++) {
            in_flight += begun[r] > done[r];
            committed_batches += done[r] + 1;
        }
        nd_index *ix = NULL;
        char err[256];
        int rc = nd_index_open(&ix, dir, NULL, err, sizeof err);
        if (rc == ND_ENOTFOUND && done[0] < 0 && done[1] < 0) {
            /* killed before the first commit: nothing to find */
        } else if (rc) {
            fprintf(stderr, "trial %d: open failed: %s\n", t, err);
            failures++;
        } else {
            /* ids differ per round (s0-, s1-), but both rounds' batches share
             * the batchK word: count by id instead */
            for (int r = 0; r < 2; r++) {
                for (int k = 0; k <= begun[r]; k++) {
                    int seen = 0;
                    for (int i = 0; i < CRASH_BATCH; i++) {
                        char id[48];
                        snprintf(id, sizeof id, "s%d-k%d-%d", r, k, i);
                        seen += copies(ix, id);
                    }
                    if (k <= done[r] && seen != CRASH_BATCH) {
                        fprintf(stderr, "trial %d: committed batch %d/%d has %d of %d\n", t, r,
                                k, seen, CRASH_BATCH);
                        failures++;
                    } else if (k > done[r] && seen != 0 && seen != CRASH_BATCH) {
                        fprintf(stderr, "trial %d: batch %d/%d half visible (%d)\n", t, r, k,
                                seen);
                        failures++;
                    }
                }
            }
            if (count_batch(ix, 0) < 0)
                failures++;
            nd_index_free(ix);
            /* the integrity check finds no damage (files the crash left
             * behind are warnings) */
            nd_check_report *cr;
            nd_check_summary cs;
            assert_int_equal(nd_check(&cr, dir, NULL, err, sizeof err), ND_OK);
            nd_check_summary_get(cr, &cs);
            for (size_t i = 0; i < nd_check_count(cr); i++) {
                nd_check_problem p;
                nd_check_problem_get(cr, i, &p);
                if (p.severity == ND_CHECK_ERROR)
                    fprintf(stderr, "trial %d: check: %s: %s\n", t, p.file, p.message);
            }
            failures += cs.errors > 0;
            nd_check_report_free(cr);
            /* the next writer cleans up: only files the catalog names remain */
            nd_writer *w;
            assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
            assert_int_equal(nd_writer_commit(w), ND_OK);
            nd_writer_free(w);
            ix = open_ix(dir);
            DIR *d = opendir(dir);
            struct dirent *de;
            while ((de = readdir(d)) != NULL) {
                uint64_t num;
                if (!seg_file_parse(de->d_name, &num))
                    continue;
                int named = 0;
                for (uint32_t i = 0; i < ix->man.n_segs; i++)
                    named |= ix->man.segs[i].number == num;
                if (!named) {
                    fprintf(stderr, "trial %d: orphan %s\n", t, de->d_name);
                    failures++;
                }
            }
            closedir(d);
            nd_index_free(ix);
        }
        unlink(log);
        tu_rmrf(dir);
        free(dir);
    }
    printf("crash test: %d kill points x 2 rounds, %d kills inside a batch or its commit, "
           "%d committed batches checked, %d failures\n",
           points, in_flight, committed_batches, failures);
    assert_int_equal(failures, 0);
    /* the kills landed after some commits, not only before the first */
    assert_true(points == 0 || committed_batches >= points);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle_upsert_and_delete),
        cmocka_unit_test(test_lifecycle_merge_ranks_like_one_segment),
        cmocka_unit_test(test_lifecycle_lock_and_reopen),
        cmocka_unit_test(test_lifecycle_readers_during_commits_and_merges),
        cmocka_unit_test(test_lifecycle_threads_share_an_index),
        cmocka_unit_test(test_lifecycle_crash_at_random_moments),
    };
    return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
