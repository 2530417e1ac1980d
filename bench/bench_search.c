/*
 * bench_search.c - speed of newsdex against SQLite FTS5 and (when built with
 * libxapian-dev) Xapian on the same articles and the same queries, in one
 * run; and a scale mode that does the same on generated corpora of growing
 * size.
 *
 *   bench_search --corpus A.jsonl.gz [B.jsonl.gz ...] --queries Q.tsv [R.tsv ...]
 *                [--reps R] [--workdir DIR] [--keep] [--no-contentless]
 *                [--no-xapian] [--xapian-max-docs N] [--max-queries N]
 *                [--cpu N | --no-pin] [--write-readme [bench/README.md]]
 *   bench_search --scale N1,N2,... --learn REAL.jsonl.gz --queries Q.tsv ...
 *                [--gen-corpus PATH] [--max-ingest-s S] [--svg FILE] [same options]
 *
 * Every engine's ingest and every engine's query phase runs in its own forked
 * child, so that the peak RSS of each (ru_maxrss from wait4) is its own.
 * Every one-thread phase runs pinned to one CPU, the same for all engines
 * (choose_cpu).
 * Results come back to the parent through a shared anonymous mapping.
 *
 * Ingest: newsdex reads the files with nd_writer_add_jsonl (threads 1, its
 * default analyzer, no stemming), then commits; FTS5 reads the same files with
 * the library's line reader and JSON parser and INSERTs title and body into
 * fts5(title, body, tokenize='unicode61') with one prepared statement in one
 * transaction (journal_mode=OFF, synchronous=OFF), plus the article id and
 * date into a side table; Xapian gets the same parsed articles through
 * xapian_driver (TermGenerator without stemming, title wdf 2, date in a value
 * slot) and commits. All are then optimised to one segment (timed apart).
 *
 * Queries: each line "qid<TAB>text" is reduced to lowercase words of [a-z0-9]
 * (any other byte separates words); every engine gets exactly those words.
 * Classes: OR top-10, AND top-10, phrase (the first two words, quoted; queries
 * with fewer than two words are left out), date-filtered OR top-10 (the middle
 * half of the dated articles, whole days) and count-only (the OR query). Each
 * class runs once untimed over all queries, then each query R times; the
 * median per query is kept and p50/p95/p99 (nearest rank) are taken over the
 * queries; queries/s = 1e6 / mean of the per-query medians (one thread).
 *
 * Scale mode runs gen_corpus (next to this program unless --gen-corpus) for
 * each size into the work directory, runs the whole comparison on it, deletes
 * it, and prints a growth table (written between the scale-table markers with
 * --write-readme) and optionally an SVG plot of p50 latency against size. An
 * engine whose ingest, extrapolated linearly from the previous size, would
 * take longer than --max-ingest-s is skipped at that size, with the reason in
 * the table.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw, sched_setaffinity */
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ingest/ingest.h"
#include "newsdex.h"
#include "util/util.h"
#ifdef ND_HAVE_XAPIAN
#include "xapian_driver.h"
#endif

#ifndef ND_SOURCE_DIR
#define ND_SOURCE_DIR "."
#endif

#define MAX_FILES 64
#define MAX_WORDS 32
#define MAX_SIZES 16
#define TOPK 10
#define PROGRESS_EVERY_S 15.0

enum { E_ND, E_FTS, E_XAP, E_COUNT };
static const char *const engine_name[E_COUNT] = {"newsdex", "FTS5", "Xapian"};
enum { C_OR, C_AND, C_PHRASE, C_DATE, C_COUNTONLY, C_NCLASS };
static const char *const class_name[C_NCLASS] = {"OR top-10", "AND top-10", "phrase top-10",
                                                  "date-filtered OR top-10", "count-only (OR)"};
static const char *const class_short[C_NCLASS] = {"OR", "AND", "phrase", "date OR", "count"};

/* ---- small helpers ----------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_search: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        die("out of memory");
    return p;
}

static void *shared_alloc(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    memset(p, 0, bytes);
    return p;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0)
        nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static uint64_t path_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *sorted, size_t n, double p)
{
    if (!n)
        return 0;
    size_t r = (size_t)ceil(p / 100.0 * (double)n);
    if (r < 1)
        r = 1;
    if (r > n)
        r = n;
    return sorted[r - 1];
}

/* The CPU that every one-thread phase (ingests, queries, opens) of every
 * engine runs on, so that engines are compared on the same core: on a VM
 * the cores can run at very different speeds at the same moment (in one
 * check here a plain loop took 2.2 times as long on one vCPU as on the
 * other). -1: not pinned (--no-pin). */
static int pin_cpu = -1;
static double cpu_loop_ms[64]; /* the calibration loop's time per CPU, 0: not run */

/* Times a fixed loop of integer work on the calling thread, in ms. */
static double spin_ms(void)
{
    double t0 = now_s();
    volatile uint64_t x = 0;
    for (uint64_t i = 0; i < 20000000; i++)
        x += i * i;
    return (now_s() - t0) * 1e3;
}

/* Pins the calling thread to CPU c; 0 or -1 (errno) like sched_setaffinity. */
static int pin_to(int c)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(c, &one);
    return sched_setaffinity(0, sizeof one, &one);
}

/* Picks the CPU the one-thread phases run on: the one that runs the loop
 * fastest now (best of three per CPU), unless `want` names one. */
static void choose_cpu(int want)
{
    cpu_set_t all;
    if (sched_getaffinity(0, sizeof all, &all))
        return;
    double best = 0;
    for (int c = 0; c < 64 && c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &all) || pin_to(c))
            continue;
        double t = spin_ms();
        for (int r = 0; r < 2; r++)
            t = ND_MIN(t, spin_ms());
        cpu_loop_ms[c] = t;
        if (want < 0 ? (pin_cpu < 0 || t < best) : c == want) {
            pin_cpu = c;
            best = t;
        }
    }
    sched_setaffinity(0, sizeof all, &all);
    if (want >= 0 && pin_cpu != want)
        die("--cpu %d: not a CPU this process may run on", want);
}

/* Runs fn(arg) in a child (pinned to pin_cpu when pin is set); returns the
 * child's peak RSS in KiB. */
static long run_child_on(int pin, void (*fn)(void *), void *arg, const char *what)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        if (pin && pin_cpu >= 0 && pin_to(pin_cpu))
            die("sched_setaffinity: %s", strerror(errno));
        fn(arg);
        fflush(NULL);
        _exit(0);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0)
        die("wait4: %s", strerror(errno));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("%s: child failed (status %d)", what, st);
    return ru.ru_maxrss;
}

/* A one-thread phase: on pin_cpu. */
static long run_child(void (*fn)(void *), void *arg, const char *what)
{
    return run_child_on(1, fn, arg, what);
}

#ifdef ND_HAVE_XAPIAN
/* Total size of the regular files under path (a file or a directory). */
static uint64_t du_total;
static int du_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F)
        du_total += (uint64_t)st->st_size;
    return 0;
}

static uint64_t dir_bytes(const char *path)
{
    du_total = 0;
    nftw(path, du_cb, 16, FTW_PHYS);
    return du_total;
}
#endif

/* Prints "  ENGINE: N articles, T s" to stderr at most every
 * PROGRESS_EVERY_S seconds (and when final is set). */
typedef struct progress {
    const char *what;
    double start, last;
} progress;

static void progress_start(progress *p, const char *what)
{
    p->what = what;
    p->start = p->last = now_s();
}

static void progress_tick(progress *p, uint64_t docs, int final)
{
    double t = now_s();
    if (!final && t - p->last < PROGRESS_EVERY_S)
        return;
    p->last = t;
    fprintf(stderr, "  %s: %" PRIu64 " articles, %.0f s (%.0f/s)%s\n", p->what, docs,
            t - p->start, (double)docs / (t - p->start > 0 ? t - p->start : 1),
            final ? ", done" : "");
}

/* ---- configuration and shared results ---------------------------------- */

typedef struct query {
    char *qid;
    char *words[MAX_WORDS];
    size_t nwords;
    char *nd[C_NCLASS];  /* newsdex query text per class (NULL = not run) */
    char *fts[C_NCLASS]; /* FTS5 MATCH text per class */
} query;

typedef struct ingest_res {
    int ok;
    double secs, merge_secs;
    uint64_t docs, skipped, text_bytes;
    uint64_t bytes_total, bytes_stored, segments_before, segments;
    uint64_t bytes_uncompacted; /* Xapian: before compaction */
    uint64_t bytes_inverted;    /* newsdex: dictionary + postings + positions */
} ingest_res;

typedef struct shared {
    ingest_res parse, ing[E_COUNT], fts_cl;
    long rss_ingest[E_COUNT], rss_query[E_COUNT][C_NCLASS], rss_parse;
    ingest_res nd2;               /* newsdex ingest with 2 analysis threads */
    ingest_res pair[2];           /* two one-thread newsdex ingests at once */
    int run[E_COUNT];             /* the engine takes part in this run */
    char why_not[E_COUNT][200];   /* and if not, why */
    uint64_t dated;               /* articles with a date (parse pass) */
    int64_t date_since, date_until;
    /* per engine, class, query: median latency in us (-1 = not run) and
     * the match total where the engine reports one */
    double *lat;
    uint64_t *total;
    double cold_ms[E_COUNT]; /* open + one OR query + close, median (-1: not run) */
} shared;

static const char *corpus[MAX_FILES];
static size_t ncorpus;
static const char *qfiles[MAX_FILES];
static size_t nqfiles;
static query *queries;
static size_t nq;
static int reps = 5;
static size_t max_queries; /* 0 = all */
static char workdir[4096];
static char nd_dir[4200], fts_db[4200], fts_cl_db[4200], xap_dir[4200], xap_raw[4200];
static int do_contentless = 1;
static int verbose;
static int keep_short = 0; /* keep one-character words in queries */
static shared *sh;

#define LAT(e, c, q) sh->lat[((size_t)(e) * C_NCLASS + (size_t)(c)) * nq + (size_t)(q)]
#define TOT(e, c, q) sh->total[((size_t)(e) * C_NCLASS + (size_t)(c)) * nq + (size_t)(q)]

/* ---- queries ----------------------------------------------------------- */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = xcalloc(n + 1, 1);
    memcpy(p, s, n);
    return p;
}

static char *join_words(char *const *w, size_t n, const char *pre, const char *sep,
                        const char *post)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(w[i]) + strlen(pre) + strlen(sep) + strlen(post);
    char *s = xcalloc(len, 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(s, sep);
        strcat(s, pre);
        strcat(s, w[i]);
        strcat(s, post);
    }
    return s;
}

static void add_query(const char *qid, const char *text)
{
    query q;
    memset(&q, 0, sizeof q);
    char word[256];
    size_t wl = 0;
    for (const char *p = text;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        int inword = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (inword && wl < sizeof word - 1) {
            word[wl++] = (char)c;
        } else if (!inword && wl) {
            word[wl] = 0;
            if (q.nwords < MAX_WORDS && (wl > 1 || keep_short))
                q.words[q.nwords++] = xstrdup(word);
            wl = 0;
        }
        if (!c)
            break;
    }
    if (!q.nwords) {
        fprintf(stderr, "bench_search: query %s has no words, skipped\n", qid);
        return;
    }
    q.qid = xstrdup(qid);
    char *plain = join_words(q.words, q.nwords, "", " ", "");
    q.nd[C_OR] = q.nd[C_AND] = q.nd[C_DATE] = q.nd[C_COUNTONLY] = plain;
    char *ors = join_words(q.words, q.nwords, "\"", " OR ", "\"");
    q.fts[C_OR] = q.fts[C_DATE] = q.fts[C_COUNTONLY] = ors;
    q.fts[C_AND] = join_words(q.words, q.nwords, "\"", " ", "\"");
    if (q.nwords >= 2) {
        char *two = join_words(q.words, 2, "", " ", "");
        size_t n = strlen(two) + 3;
        char *ph = xcalloc(n, 1);
        snprintf(ph, n, "\"%s\"", two);
        free(two);
        q.nd[C_PHRASE] = q.fts[C_PHRASE] = ph;
    }
    queries = realloc(queries, (nq + 1) * sizeof *queries);
    if (!queries)
        die("out of memory");
    queries[nq++] = q;
}

static void read_queries(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("%s: %s", path, strerror(errno));
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = 0;
        add_query(line, tab + 1);
    }
    fclose(f);
}

/* ---- ingest children --------------------------------------------------- */

static void on_bad_line(void *ctx, const char *file, uint64_t line, const char *reason)
{
    (void)ctx;
    fprintf(stderr, "newsdex ingest: %s:%" PRIu64 ": %s\n", file, line, reason);
}

static void on_nd_progress(void *ctx, const nd_ingest_stats *st)
{
    progress_tick(ctx, st->added, 0);
}

/* An extra newsdex ingest, timed only, its index removed afterwards. */
typedef struct nd_extra {
    unsigned threads;
    const char *suffix; /* of its directory, after nd_dir */
    ingest_res *r;
} nd_extra;

/* arg: NULL for the one-thread ingest into nd_dir, which is queried; else
 * an nd_extra. */
static void ingest_newsdex(void *arg)
{
    const nd_extra *x = arg;
    unsigned threads = x ? x->threads : 1;
    ingest_res *r = x ? x->r : &sh->ing[E_ND];
    char dir[4300];
    snprintf(dir, sizeof dir, "%s%s", nd_dir, x ? x->suffix : "");
    rm_rf(dir);
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    wo.threads = threads;
    progress pr;
    progress_start(&pr, "newsdex");
    nd_ingest_opts io = ND_INGEST_OPTS_INIT;
    io.on_error = on_bad_line;
    io.on_progress = on_nd_progress;
    io.ctx = &pr;
    nd_ingest_stats st;
    memset(&st, 0, sizeof st);
    double t0 = now_s();
    nd_writer *w;
    int rc = nd_writer_open(&w, dir, &wo);
    if (rc)
        die("nd_writer_open %s: %s", dir, nd_strerror(rc));
    for (size_t i = 0; i < ncorpus; i++)
        if ((rc = nd_writer_add_jsonl(w, corpus[i], &io, &st)))
            die("nd_writer_add_jsonl %s: %s", corpus[i], nd_writer_errmsg(w));
    if ((rc = nd_writer_commit(w)))
        die("nd_writer_commit: %s", nd_writer_errmsg(w));
    r->secs = now_s() - t0;
    progress_tick(&pr, st.added, 1);
    if (x) {
        nd_writer_free(w);
        r->docs = st.added;
        rm_rf(dir);
        r->ok = 1;
        return;
    }
    nd_index *ix;
    char eb[512];
    nd_index_stats is;
    if (nd_index_open(&ix, dir, NULL, eb, sizeof eb))
        die("nd_index_open: %s", eb);
    nd_index_stats_get(ix, &is);
    r->segments_before = is.segments;
    nd_index_free(ix);
    t0 = now_s();
    if ((rc = nd_writer_merge(w, 1)))
        die("nd_writer_merge: %s", nd_writer_errmsg(w));
    r->merge_secs = now_s() - t0;
    nd_writer_free(w);
    if (nd_index_open(&ix, dir, NULL, eb, sizeof eb))
        die("nd_index_open: %s", eb);
    nd_index_stats_get(ix, &is);
    nd_index_free(ix);
    r->docs = is.docs;
    r->skipped = st.skipped;
    r->segments = is.segments;
    r->bytes_total = is.bytes_terms + is.bytes_postings + is.bytes_positions +
                     is.bytes_columns + is.bytes_stored + is.bytes_other;
    r->bytes_stored = is.bytes_stored;
    r->bytes_inverted = is.bytes_terms + is.bytes_postings + is.bytes_positions;
    r->ok = 1;
}

/* Two one-thread newsdex ingests of the corpus at the same time, each in
 * a process of its own: what two cores give for this work when nothing is
 * shared (the ceiling of a two-thread speed-up on this machine). */
static void ingest_pair(void *arg)
{
    (void)arg;
    static const char *const suffix[2] = {".pair0", ".pair1"};
    pid_t pid[2];
    for (int i = 0; i < 2; i++) {
        fflush(NULL);
        if ((pid[i] = fork()) < 0)
            die("fork: %s", strerror(errno));
        if (pid[i] == 0) {
            nd_extra x = {1, suffix[i], &sh->pair[i]};
            ingest_newsdex(&x);
            fflush(NULL);
            _exit(0);
        }
    }
    for (int i = 0; i < 2; i++) {
        int st;
        if (waitpid(pid[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("newsdex ingest pair: child failed");
    }
}

/* Reads every article of the corpus with the library's line reader and JSON
 * parser and hands it to fn; counts articles, bad lines and text bytes in r. */
static void each_article(ingest_res *r, const char *what, void (*fn)(void *, const nd_doc *),
                         void *ctx)
{
    nd_buf scratch = {0};
    progress pr;
    progress_start(&pr, what);
    for (size_t i = 0; i < ncorpus; i++) {
        nd_err e;
        memset(&e, 0, sizeof e);
        line_reader *lr;
        if (line_reader_open(&lr, corpus[i], &e))
            die("%s: %s", corpus[i], e.msg);
        const char *line;
        size_t len;
        int rc;
        while ((rc = line_reader_next(lr, &line, &len, &e)) == ND_OK || rc == ND_ELIMIT) {
            if (rc == ND_ELIMIT) {
                r->skipped++;
                continue;
            }
            size_t k = 0;
            while (k < len && (line[k] == ' ' || line[k] == '\t'))
                k++;
            if (k == len)
                continue;
            nd_doc d;
            char why[256];
            if (json_parse_article(line, len, &scratch, &d, why, sizeof why)) {
                r->skipped++;
                continue;
            }
            r->docs++;
            r->text_bytes += d.title_len + d.body_len;
            if (fn)
                fn(ctx, &d);
            if ((r->docs & 1023) == 0)
                progress_tick(&pr, r->docs, 0);
        }
        if (rc != ND_DONE)
            die("%s: %s", corpus[i], e.msg);
        line_reader_close(lr);
    }
    buf_free(&scratch);
    if (fn)
        progress_tick(&pr, r->docs, 1);
}

/* The parse-only pass: the cost of reading alone, the text size, and the
 * date range of the date-filtered class (the middle half of the dated
 * articles: 25th to 75th percentile, widened to whole UTC days). */
typedef struct dates {
    int64_t *v;
    size_t n, cap;
} dates;

static void collect_date(void *ctx, const nd_doc *d)
{
    dates *ds = ctx;
    if (d->date == ND_NO_DATE)
        return;
    if (ds->n == ds->cap) {
        ds->cap = ds->cap ? ds->cap * 2 : 65536;
        ds->v = realloc(ds->v, ds->cap * sizeof *ds->v);
        if (!ds->v)
            die("out of memory");
    }
    ds->v[ds->n++] = d->date;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t floor_day(int64_t t)
{
    const int64_t day = 86400;
    return (t >= 0 ? t / day : -((-t + day - 1) / day)) * day;
}

static void parse_only(void *arg)
{
    (void)arg;
    dates ds = {0};
    double t0 = now_s();
    each_article(&sh->parse, "parse", collect_date, &ds);
    sh->parse.secs = now_s() - t0;
    sh->dated = ds.n;
    if (ds.n) {
        qsort(ds.v, ds.n, sizeof *ds.v, cmp_i64);
        sh->date_since = floor_day(ds.v[ds.n / 4]);
        sh->date_until = floor_day(ds.v[(3 * ds.n) / 4]) + 86399;
    }
    free(ds.v);
    sh->parse.ok = 1;
}

static void sql_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        die("sqlite: %s: %s", sql, err ? err : "?");
}

typedef struct fts_job {
    int contentless; /* 0 = FTS5 with content + side table, 1 = contentless (size only) */
    sqlite3 *db;
    sqlite3_stmt *ins, *meta;
    int64_t rowid;
} fts_job;

static void fts_add(void *ctx, const nd_doc *d)
{
    fts_job *j = ctx;
    j->rowid++;
    sqlite3_bind_int64(j->ins, 1, j->rowid);
    sqlite3_bind_text(j->ins, 2, d->title ? d->title : "", (int)d->title_len, SQLITE_STATIC);
    sqlite3_bind_text(j->ins, 3, d->body ? d->body : "", (int)d->body_len, SQLITE_STATIC);
    if (sqlite3_step(j->ins) != SQLITE_DONE)
        die("insert: %s", sqlite3_errmsg(j->db));
    sqlite3_reset(j->ins);
    if (j->meta) {
        sqlite3_bind_int64(j->meta, 1, j->rowid);
        sqlite3_bind_text(j->meta, 2, d->id, (int)d->id_len, SQLITE_STATIC);
        if (d->date == ND_NO_DATE)
            sqlite3_bind_null(j->meta, 3);
        else
            sqlite3_bind_int64(j->meta, 3, d->date);
        if (sqlite3_step(j->meta) != SQLITE_DONE)
            die("insert meta: %s", sqlite3_errmsg(j->db));
        sqlite3_reset(j->meta);
    }
}

static void ingest_fts(void *arg)
{
    fts_job *job = arg;
    ingest_res *r = job->contentless ? &sh->fts_cl : &sh->ing[E_FTS];
    const char *path = job->contentless ? fts_cl_db : fts_db;
    double t0 = now_s();
    unlink(path);
    if (sqlite3_open(path, &job->db) != SQLITE_OK)
        die("sqlite3_open %s", path);
    sqlite3 *db = job->db;
    sql_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
                 "PRAGMA cache_size=-262144;");
    if (!job->contentless) {
        sql_exec(db, "CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize='unicode61');"
                     "CREATE TABLE meta(rowid INTEGER PRIMARY KEY, docid TEXT, date INTEGER);");
        if (sqlite3_prepare_v2(db, "INSERT INTO meta(rowid, docid, date) VALUES(?1, ?2, ?3)", -1,
                               &job->meta, NULL) != SQLITE_OK)
            die("prepare: %s", sqlite3_errmsg(db));
    } else {
        sql_exec(db, "CREATE VIRTUAL TABLE t USING fts5(title, body, content='', "
                     "tokenize='unicode61');");
    }
    if (sqlite3_prepare_v2(db, "INSERT INTO t(rowid, title, body) VALUES(?1, ?2, ?3)", -1,
                           &job->ins, NULL) != SQLITE_OK)
        die("prepare: %s", sqlite3_errmsg(db));
    sql_exec(db, "BEGIN");
    each_article(r, job->contentless ? "FTS5 contentless" : "FTS5", fts_add, job);
    sqlite3_finalize(job->ins);
    sqlite3_finalize(job->meta);
    sql_exec(db, "COMMIT");
    r->secs = now_s() - t0;
    t0 = now_s();
    sql_exec(db, "INSERT INTO t(t) VALUES('optimize')");
    r->merge_secs = now_s() - t0;
    if (sqlite3_close(db) != SQLITE_OK)
        die("sqlite3_close");
    r->bytes_total = path_bytes(path);
    r->segments = 1;
    r->ok = 1;
}

#ifdef ND_HAVE_XAPIAN
static void xap_add(void *ctx, const nd_doc *d)
{
    char err[512];
    if (xd_add(ctx, d->id, d->id_len, d->title, d->title_len, d->body, d->body_len,
               d->date != ND_NO_DATE, d->date, err, sizeof err))
        die("%s", err);
}

/* Xapian: index into xap_raw and commit (the ingest time), then compact into
 * xap_dir (the "optimise" step) and drop the uncompacted copy. */
static void ingest_xapian(void *arg)
{
    (void)arg;
    ingest_res *r = &sh->ing[E_XAP];
    char err[512];
    rm_rf(xap_raw);
    rm_rf(xap_dir);
    double t0 = now_s();
    xd_db *db;
    if (xd_open_writer(&db, xap_raw, 2, err, sizeof err))
        die("%s", err);
    each_article(r, "Xapian", xap_add, db);
    if (xd_commit(db, err, sizeof err))
        die("%s", err);
    xd_close(db);
    r->secs = now_s() - t0;
    r->bytes_uncompacted = dir_bytes(xap_raw);
    t0 = now_s();
    if (xd_compact(xap_raw, xap_dir, err, sizeof err))
        die("%s", err);
    r->merge_secs = now_s() - t0;
    rm_rf(xap_raw);
    r->bytes_total = dir_bytes(xap_dir);
    r->segments = 1;
    r->ok = 1;
}
#endif

/* ---- query children ---------------------------------------------------- */

/* Each engine's queries run one class per child (arg: the class), so that
 * the peak RSS of each class is its own. */
static void query_newsdex(void *arg)
{
    int c = *(const int *)arg;
    nd_index *ix;
    nd_search *s;
    char eb[512];
    if (nd_index_open(&ix, nd_dir, NULL, eb, sizeof eb))
        die("nd_index_open: %s", eb);
    if (nd_search_open(&s, ix))
        die("nd_search_open");
    double *t = xcalloc((size_t)reps, sizeof *t);
    {
        fprintf(stderr, "  newsdex: %s\n", class_name[c]);
        nd_search_opts o = ND_SEARCH_OPTS_INIT;
        o.snippets = 0;
        o.default_op = c == C_AND ? ND_OP_AND : ND_OP_OR;
        if (c == C_DATE) {
            o.since = sh->date_since;
            o.until = sh->date_until;
        }
        o.count_only = c == C_COUNTONLY;
        for (size_t q = 0; q < nq; q++) { /* warm-up pass, untimed */
            const char *text = queries[q].nd[c];
            if (!text)
                continue;
            nd_hits *h;
            if (nd_search_run(s, &h, text, TOPK, &o))
                die("newsdex query %s [%s]: %s", queries[q].qid, text, nd_search_errmsg(s));
            TOT(E_ND, c, q) = nd_hits_total(h);
            nd_hits_free(h);
        }
        /* The warm-up counted every match (for the sanity check against the
         * other engines); the timed passes ask, as the others do, for the
         * top 10 ids only: no stored article is read, and documents that
         * cannot enter the top 10 are skipped (the same hits; the total
         * becomes a lower bound). */
        o.ids_only = 1;
        o.approx_total = 1;
        for (size_t q = 0; q < nq; q++) {
            const char *text = queries[q].nd[c];
            if (!text) {
                LAT(E_ND, c, q) = -1;
                continue;
            }
            for (int k = 0; k < reps; k++) {
                double t0 = now_s();
                nd_hits *h;
                if (nd_search_run(s, &h, text, TOPK, &o))
                    die("newsdex query %s: %s", queries[q].qid, nd_search_errmsg(s));
                size_t n = nd_hits_count(h);
                for (size_t i = 0; i < n; i++) {
                    nd_hit hit;
                    nd_hits_get(h, i, &hit);
                }
                nd_hits_free(h);
                t[k] = now_s() - t0;
            }
            LAT(E_ND, c, q) = median(t, (size_t)reps) * 1e6;
        }
    }
    free(t);
    nd_search_free(s);
    nd_index_free(ix);
}

/* ---- cold queries: open, one query, close ------------------------------- */

static const char *fts_sql(int c);
static uint64_t fts_run(sqlite3 *db, sqlite3_stmt *st, const char *text, int c);

/* A command-line search opens the index for each query: how long the open
 * and one OR top-10 query take together, on a freshly opened index each
 * time (the files are in the page cache, as right after ingest or for a
 * desk that searches all day). COLD_N queries spread over the query set. */
#define COLD_N 25

static size_t cold_pick(size_t i)
{
    return nq <= COLD_N ? i : i * (nq / COLD_N);
}

static void cold_newsdex(void *arg)
{
    (void)arg;
    double t[COLD_N];
    size_t n = 0;
    for (size_t i = 0; i < COLD_N && cold_pick(i) < nq; i++) {
        const char *text = queries[cold_pick(i)].nd[C_OR];
        if (!text)
            continue;
        double t0 = now_s();
        nd_index *ix;
        nd_search *s;
        nd_hits *h;
        char eb[512];
        if (nd_index_open(&ix, nd_dir, NULL, eb, sizeof eb))
            die("nd_index_open: %s", eb);
        if (nd_search_open(&s, ix))
            die("nd_search_open");
        nd_search_opts o = ND_SEARCH_OPTS_INIT;
        o.snippets = 0;
        o.ids_only = 1;
        o.approx_total = 1;
        if (nd_search_run(s, &h, text, TOPK, &o))
            die("newsdex query [%s]: %s", text, nd_search_errmsg(s));
        for (size_t k = 0; k < nd_hits_count(h); k++) {
            nd_hit hit;
            nd_hits_get(h, k, &hit);
        }
        nd_hits_free(h);
        nd_search_free(s);
        nd_index_free(ix);
        t[n++] = now_s() - t0;
    }
    sh->cold_ms[E_ND] = n ? median(t, n) * 1e3 : -1;
}

static void cold_fts(void *arg)
{
    (void)arg;
    double t[COLD_N];
    size_t n = 0;
    for (size_t i = 0; i < COLD_N && cold_pick(i) < nq; i++) {
        const char *text = queries[cold_pick(i)].fts[C_OR];
        if (!text)
            continue;
        double t0 = now_s();
        sqlite3 *db;
        sqlite3_stmt *st;
        if (sqlite3_open_v2(fts_db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
            die("sqlite3_open %s", fts_db);
        sql_exec(db, "PRAGMA cache_size=-262144; PRAGMA mmap_size=4294967296;");
        if (sqlite3_prepare_v2(db, fts_sql(C_OR), -1, &st, NULL) != SQLITE_OK)
            die("prepare: %s", sqlite3_errmsg(db));
        fts_run(db, st, text, C_OR);
        sqlite3_finalize(st);
        sqlite3_close(db);
        t[n++] = now_s() - t0;
    }
    sh->cold_ms[E_FTS] = n ? median(t, n) * 1e3 : -1;
}

static const char *fts_sql(int c)
{
    switch (c) {
    case C_OR:
    case C_AND:
    case C_PHRASE:
        return "SELECT m.docid FROM (SELECT rowid AS r FROM t WHERE t MATCH ?1 "
               "ORDER BY bm25(t, 2.0, 1.0) LIMIT 10) AS s JOIN meta AS m ON m.rowid = s.r";
    case C_DATE:
        return "SELECT m.docid FROM t JOIN meta AS m ON m.rowid = t.rowid WHERE t MATCH ?1 "
               "AND m.date BETWEEN ?2 AND ?3 ORDER BY bm25(t, 2.0, 1.0) LIMIT 10";
    default:
        return "SELECT count(*) FROM t WHERE t MATCH ?1";
    }
}

static uint64_t fts_run(sqlite3 *db, sqlite3_stmt *st, const char *text, int c)
{
    uint64_t total = 0;
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    if (c == C_DATE) {
        sqlite3_bind_int64(st, 2, sh->date_since);
        sqlite3_bind_int64(st, 3, sh->date_until);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (c == C_COUNTONLY)
            total = (uint64_t)sqlite3_column_int64(st, 0);
        else {
            (void)sqlite3_column_text(st, 0);
            total++;
        }
    }
    if (rc != SQLITE_DONE)
        die("fts5 query [%s]: %s", text, sqlite3_errmsg(db));
    sqlite3_reset(st);
    return total;
}

static void query_fts(void *arg)
{
    int c = *(const int *)arg;
    sqlite3 *db;
    if (sqlite3_open_v2(fts_db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die("sqlite3_open %s", fts_db);
    sql_exec(db, "PRAGMA cache_size=-262144; PRAGMA mmap_size=4294967296;");
    double *t = xcalloc((size_t)reps, sizeof *t);
    {
        fprintf(stderr, "  FTS5: %s\n", class_name[c]);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, fts_sql(c), -1, &st, NULL) != SQLITE_OK)
            die("prepare: %s", sqlite3_errmsg(db));
        for (size_t q = 0; q < nq; q++) /* warm-up pass, untimed */
            if (queries[q].fts[c])
                TOT(E_FTS, c, q) = fts_run(db, st, queries[q].fts[c], c);
        for (size_t q = 0; q < nq; q++) {
            const char *text = queries[q].fts[c];
            if (!text) {
                LAT(E_FTS, c, q) = -1;
                continue;
            }
            for (int k = 0; k < reps; k++) {
                double t0 = now_s();
                fts_run(db, st, text, c);
                t[k] = now_s() - t0;
            }
            LAT(E_FTS, c, q) = median(t, (size_t)reps) * 1e6;
        }
        sqlite3_finalize(st);
    }
    free(t);
    sqlite3_close(db);
}

#ifdef ND_HAVE_XAPIAN
static void xap_hit(void *ctx, const char *id, size_t id_len, double score)
{
    (void)id;
    (void)score;
    *(size_t *)ctx += id_len; /* the ids are read (copied out of Xapian) by the driver */
}

/* The same classes as the others: the words as terms (OP_OR / OP_AND), the
 * first two as OP_PHRASE, the OR query under OP_FILTER with OP_VALUE_RANGE on
 * the date slot, and count-only as an exact count (check_at_least = all). */
static xd_query xap_query(const query *qu, int c)
{
    xd_query x;
    memset(&x, 0, sizeof x);
    x.op = c == C_AND ? XD_AND : c == C_PHRASE ? XD_PHRASE : XD_OR;
    x.words = (const char *const *)qu->words;
    x.nwords = c == C_PHRASE ? 2 : qu->nwords;
    x.filter_dates = c == C_DATE;
    x.since = sh->date_since;
    x.until = sh->date_until;
    x.k = c == C_COUNTONLY ? 0 : TOPK;
    return x;
}

static void cold_xapian(void *arg)
{
    (void)arg;
    double t[COLD_N];
    size_t n = 0, sink = 0;
    nd_bm25 defaults = ND_BM25_DEFAULTS;
    char err[512];
    for (size_t i = 0; i < COLD_N && cold_pick(i) < nq; i++) {
        if (!queries[cold_pick(i)].nd[C_OR])
            continue;
        xd_query x = xap_query(&queries[cold_pick(i)], C_OR);
        double t0 = now_s();
        xd_db *db;
        if (xd_open_reader(&db, xap_dir, defaults.k1, defaults.b, err, sizeof err))
            die("%s", err);
        if (xd_search(db, &x, xap_hit, &sink, NULL, err, sizeof err))
            die("query: %s", err);
        xd_close(db);
        t[n++] = now_s() - t0;
    }
    sh->cold_ms[E_XAP] = n ? median(t, n) * 1e3 : -1;
}

static void query_xapian(void *arg)
{
    int c = *(const int *)arg;
    char err[512];
    xd_db *db;
    nd_bm25 defaults = ND_BM25_DEFAULTS;
    if (xd_open_reader(&db, xap_dir, defaults.k1, defaults.b, err, sizeof err))
        die("%s", err);
    double *t = xcalloc((size_t)reps, sizeof *t);
    size_t sink = 0;
    {
        fprintf(stderr, "  Xapian: %s\n", class_name[c]);
        for (size_t q = 0; q < nq; q++) { /* warm-up pass, untimed */
            if (!queries[q].nd[c])
                continue;
            xd_query x = xap_query(&queries[q], c);
            uint64_t total = 0;
            if (xd_search(db, &x, xap_hit, &sink, &total, err, sizeof err))
                die("query %s: %s", queries[q].qid, err);
            TOT(E_XAP, c, q) = total;
        }
        for (size_t q = 0; q < nq; q++) {
            if (!queries[q].nd[c]) {
                LAT(E_XAP, c, q) = -1;
                continue;
            }
            xd_query x = xap_query(&queries[q], c);
            for (int k = 0; k < reps; k++) {
                double t0 = now_s();
                if (xd_search(db, &x, xap_hit, &sink, NULL, err, sizeof err))
                    die("query %s: %s", queries[q].qid, err);
                t[k] = now_s() - t0;
            }
            LAT(E_XAP, c, q) = median(t, (size_t)reps) * 1e6;
        }
    }
    free(t);
    xd_close(db);
}
#endif

/* ---- report ------------------------------------------------------------ */

typedef struct qstat {
    size_t n;
    double p50, p95, p99, qps;
} qstat;

static qstat class_stat(int e, int c)
{
    qstat s;
    memset(&s, 0, sizeof s);
    if (!sh->run[e])
        return s;
    double *v = xcalloc(nq, sizeof *v);
    double sum = 0;
    for (size_t q = 0; q < nq; q++)
        if (LAT(e, c, q) >= 0) {
            v[s.n++] = LAT(e, c, q);
            sum += LAT(e, c, q);
        }
    qsort(v, s.n, sizeof *v, cmp_double);
    s.p50 = pct(v, s.n, 50);
    s.p95 = pct(v, s.n, 95);
    s.p99 = pct(v, s.n, 99);
    s.qps = s.n && sum > 0 ? 1e6 * (double)s.n / sum : 0;
    free(v);
    return s;
}

static void read_cmd(const char *cmd, char *out, size_t n)
{
    out[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    if (!fgets(out, (int)n, p))
        out[0] = 0;
    out[strcspn(out, "\r\n")] = 0;
    pclose(p);
}

static void cpu_model(char *out, size_t n)
{
    snprintf(out, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ' || *c == '\t')
                    c++;
                c[strcspn(c, "\r\n")] = 0;
                snprintf(out, n, "%s", c);
            }
            break;
        }
    fclose(f);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static void machine_line(FILE *o)
{
    struct utsname u;
    char cpu[256], commit[64], dirty[64], mem[64] = "?";
    uname(&u);
    cpu_model(cpu, sizeof cpu);
    read_cmd("git -C " ND_SOURCE_DIR " rev-parse --short HEAD 2>/dev/null", commit, sizeof commit);
    read_cmd("git -C " ND_SOURCE_DIR " status --porcelain --untracked-files=no 2>/dev/null | head -1",
             dirty, sizeof dirty);
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psz > 0)
        snprintf(mem, sizeof mem, "%.1f GiB", (double)pages * (double)psz / 1073741824.0);
    fprintf(o, "Machine: %s, %s, %ld CPUs online, %s RAM; compiler: %s; SQLite %s; Xapian %s; "
               "newsdex %s, commit %s%s.\n\n",
            u.machine, cpu, sysconf(_SC_NPROCESSORS_ONLN), mem,
#if defined(__clang__)
            "clang " __clang_version__,
#elif defined(__GNUC__)
            "gcc " __VERSION__,
#else
            "unknown",
#endif
            sqlite3_libversion(),
#ifdef ND_HAVE_XAPIAN
            xd_version(),
#else
            "not built in",
#endif
            nd_version(), commit[0] ? commit : "unknown",
            dirty[0] ? " (with uncommitted changes)" : "");
}

/* Where the one-thread phases ran, and how fast each CPU ran the
 * calibration loop when the run began. */
static void pin_line(FILE *o)
{
    if (pin_cpu < 0) {
        fprintf(o, "One-thread phases not pinned to a CPU (--no-pin).\n\n");
        return;
    }
    fprintf(o, "One-thread phases (every ingest but the two-thread and paired ones, every query "
               "and open) ran on CPU %d; a fixed loop took, per CPU at the start:",
            pin_cpu);
    for (int c = 0; c < 64; c++)
        if (cpu_loop_ms[c] > 0)
            fprintf(o, " %d: %.0f ms", c, cpu_loop_ms[c]);
    fprintf(o, ".\n\n");
}

/* One table cell: the value, or "-" when the engine did not run. */
static const char *cell(char *buf, size_t n, int e, const char *fmt, double v)
{
    if (!sh->run[e])
        return "-";
    snprintf(buf, n, fmt, v);
    return buf;
}

static const char *rcell(char *buf, size_t n, int e, double a, double b)
{
    if (!sh->run[E_ND] || !sh->run[e] || b <= 0)
        return "-";
    snprintf(buf, n, "%.2f", a / b);
    return buf;
}

static void ingest_row(FILE *o, const char *label, const char *fmt, const double v[E_COUNT])
{
    char b[E_COUNT][64], r1[32], r2[32];
    fprintf(o, "| %s | %s | %s | %s | %s | %s |\n", label, cell(b[0], 64, E_ND, fmt, v[E_ND]),
            cell(b[1], 64, E_FTS, fmt, v[E_FTS]), cell(b[2], 64, E_XAP, fmt, v[E_XAP]),
            rcell(r1, sizeof r1, E_FTS, v[E_ND], v[E_FTS]),
            rcell(r2, sizeof r2, E_XAP, v[E_ND], v[E_XAP]));
}

static const char *lat3(char *buf, size_t n, int e, const qstat *s)
{
    if (!sh->run[e])
        return "-";
    snprintf(buf, n, "%.0f / %.0f / %.0f", s->p50, s->p95, s->p99);
    return buf;
}

static const char *rat3(char *buf, size_t n, int e, const qstat *a, const qstat *s)
{
    if (!sh->run[E_ND] || !sh->run[e])
        return "-";
    snprintf(buf, n, "%.2f / %.2f / %.2f", ratio(a->p50, s->p50), ratio(a->p95, s->p95),
             ratio(a->p99, s->p99));
    return buf;
}

/* On how many queries the exact OR match counts of engine e equal newsdex's. */
static void agreement(FILE *o, int e)
{
    size_t same = 0;
    uint64_t sum_nd = 0, sum_e = 0;
    for (size_t q = 0; q < nq; q++) {
        uint64_t a = TOT(E_ND, C_COUNTONLY, q), b = TOT(e, C_COUNTONLY, q);
        sum_nd += a;
        sum_e += b;
        same += a == b;
        if (verbose && o == stdout && a != b)
            fprintf(stderr, "count differs: %s [%s]: newsdex %" PRIu64 ", %s %" PRIu64 "\n",
                    queries[q].qid, queries[q].nd[C_OR], a, engine_name[e], b);
    }
    fprintf(o, "the OR match counts of newsdex and %s agree on %zu of %zu queries (total "
               "matches: newsdex %" PRIu64 ", %s %" PRIu64 ")",
            engine_name[e], same, nq, sum_nd, engine_name[e], sum_e);
}

static void report(FILE *o, double total_secs)
{
    const ingest_res *p = &sh->parse, *cl = &sh->fts_cl;
    const ingest_res *in = sh->ing;
    double text_mb = (double)p->text_bytes / 1e6, tb = (double)p->text_bytes;
    char dsince[32], duntil[32];
    nd_date_format(dsince, sizeof dsince, sh->date_since);
    nd_date_format(duntil, sizeof duntil, sh->date_until - 86399);

    machine_line(o);
    pin_line(o);
    fprintf(o, "Corpus:");
    for (size_t i = 0; i < ncorpus; i++)
        fprintf(o, " `%s`", base_name(corpus[i]));
    fprintf(o, " - %" PRIu64 " articles, %.1f MB of title+body text (UTF-8 as unescaped from "
               "the JSON).  \nQueries:",
            p->docs, text_mb);
    for (size_t i = 0; i < nqfiles; i++)
        fprintf(o, " `%s`", base_name(qfiles[i]));
    fprintf(o, " - %zu queries (%s%s); each timed %d times after one untimed pass, median per "
               "query. Date filter: %s to %s (inclusive, the middle half of the dated articles). "
               "Whole run: %.0f s.\n\n",
            nq, keep_short ? "one-letter words kept" : "one-letter words dropped",
            max_queries ? ", an evenly spaced subset" : "", reps, dsince, duntil, total_secs);

    double v[E_COUNT];
    fprintf(o, "| Ingest and size | newsdex | FTS5 | Xapian | newsdex / FTS5 | newsdex / Xapian |\n");
    fprintf(o, "|---|---:|---:|---:|---:|---:|\n");
    for (int e = 0; e < E_COUNT; e++)
        v[e] = in[e].secs;
    ingest_row(o, "ingest time, s (read + gunzip + parse + index + commit)", "%.1f", v);
    for (int e = 0; e < E_COUNT; e++)
        v[e] = in[e].secs > 0 ? (double)in[e].docs / in[e].secs : 0;
    ingest_row(o, "ingest docs/s", "%.0f", v);
    for (int e = 0; e < E_COUNT; e++)
        v[e] = in[e].secs > 0 ? text_mb / in[e].secs : 0;
    ingest_row(o, "ingest MB/s of title+body text", "%.2f", v);
    if (sh->nd2.ok && sh->nd2.secs > 0) {
        char b0[64], r1[32], r2[32];
        double d2 = (double)sh->nd2.docs / sh->nd2.secs;
        fprintf(o, "| ingest docs/s, newsdex with 2 analysis threads (speed-up over 1 thread: "
                   "%.2f) | %s | - | - | %s | %s |\n",
                in[E_ND].secs > 0 ? in[E_ND].secs / sh->nd2.secs : 0,
                cell(b0, 64, E_ND, "%.0f", d2),
                rcell(r1, sizeof r1, E_FTS, d2,
                      in[E_FTS].secs > 0 ? (double)in[E_FTS].docs / in[E_FTS].secs : 0),
                rcell(r2, sizeof r2, E_XAP, d2,
                      in[E_XAP].secs > 0 ? (double)in[E_XAP].docs / in[E_XAP].secs : 0));
        const ingest_res *pa = sh->pair;
        if (pa[0].ok && pa[1].ok && in[E_ND].secs > 0) {
            /* both done: the slower one's time */
            double both = (double)(pa[0].docs + pa[1].docs) / ND_MAX(pa[0].secs, pa[1].secs);
            double one = (double)in[E_ND].docs / in[E_ND].secs;
            fprintf(o, "| ingest docs/s, two one-thread newsdex ingests at once, together (this "
                       "machine's two-core ceiling for the work: %.2f x one alone; 2 analysis "
                       "threads reach %.2f of it) | %.0f | - | - | - | - |\n",
                    both / one, d2 / both, both);
        }
    }
    for (int e = 0; e < E_COUNT; e++)
        v[e] = in[e].merge_secs;
    char label[256];
    snprintf(label, sizeof label,
             "then optimise to one segment, s (not in the ingest time; newsdex segments "
             "before: %" PRIu64 "; Xapian: compact)",
             in[E_ND].segments_before);
    ingest_row(o, label, "%.1f", v);
    {
        char b0[64], b1[64], r1[32];
        fprintf(o, "| index bytes / text bytes, with stored text | %s | %s | - | %s | - |\n",
                cell(b0, 64, E_ND, "%.3f", (double)in[E_ND].bytes_total / tb),
                cell(b1, 64, E_FTS, "%.3f", (double)in[E_FTS].bytes_total / tb),
                rcell(r1, sizeof r1, E_FTS, (double)in[E_ND].bytes_total,
                      (double)in[E_FTS].bytes_total));
    }
    v[E_ND] = (double)(in[E_ND].bytes_total - in[E_ND].bytes_stored) / tb;
    v[E_FTS] = cl->ok ? (double)cl->bytes_total / tb : 0;
    v[E_XAP] = (double)in[E_XAP].bytes_total / tb;
    ingest_row(o, "index bytes / text bytes, without stored text (FTS5: contentless; Xapian: "
                  "ids only, compacted)", "%.3f", v);
    fprintf(o, "| newsdex dictionary + postings + positions / text bytes (no columns, no stored "
               "text) | %.3f | - | - | - | - |\n",
            (double)in[E_ND].bytes_inverted / tb);
    for (int e = 0; e < E_COUNT; e++)
        v[e] = (double)sh->rss_ingest[e] / 1024.0;
    ingest_row(o, "peak RSS during ingest, MiB", "%.0f", v);
    for (int e = 0; e < E_COUNT; e++) {
        v[e] = 0;
        for (int c = 0; c < C_NCLASS; c++)
            v[e] = fmax(v[e], (double)sh->rss_query[e][c] / 1024.0);
    }
    ingest_row(o, "peak RSS during querying (largest class), MiB", "%.0f", v);
    ingest_row(o, "open the index, one OR top-10 query, close: ms (median of 25 queries, each on a "
                  "freshly opened index; files in the page cache)",
               "%.2f", sh->cold_ms);

    fprintf(o, "\n| Query class | n | newsdex p50 / p95 / p99 us | FTS5 p50 / p95 / p99 us | "
               "Xapian p50 / p95 / p99 us | newsdex / FTS5 | newsdex / Xapian |\n");
    fprintf(o, "|---|---:|---:|---:|---:|---:|---:|\n");
    for (int c = 0; c < C_NCLASS; c++) {
        qstat s[E_COUNT];
        char b[5][64];
        for (int e = 0; e < E_COUNT; e++)
            s[e] = class_stat(e, c);
        fprintf(o, "| %s | %zu | %s | %s | %s | %s | %s |\n", class_name[c], s[E_ND].n,
                lat3(b[0], 64, E_ND, &s[E_ND]), lat3(b[1], 64, E_FTS, &s[E_FTS]),
                lat3(b[2], 64, E_XAP, &s[E_XAP]), rat3(b[3], 64, E_FTS, &s[E_ND], &s[E_FTS]),
                rat3(b[4], 64, E_XAP, &s[E_ND], &s[E_XAP]));
    }
    fprintf(o, "\n| Query class | newsdex q/s | FTS5 q/s | Xapian q/s | newsdex / FTS5 | "
               "newsdex / Xapian |\n");
    fprintf(o, "|---|---:|---:|---:|---:|---:|\n");
    for (int c = 0; c < C_NCLASS; c++) {
        for (int e = 0; e < E_COUNT; e++)
            v[e] = class_stat(e, c).qps;
        ingest_row(o, class_name[c], "%.0f", v);
    }
    fprintf(o, "\n| Peak RSS per query class, MiB (a process per engine and class: open, "
               "all its queries, close) | newsdex | FTS5 | Xapian | newsdex / FTS5 | "
               "newsdex / Xapian |\n");
    fprintf(o, "|---|---:|---:|---:|---:|---:|\n");
    for (int c = 0; c < C_NCLASS; c++) {
        for (int e = 0; e < E_COUNT; e++)
            v[e] = (double)sh->rss_query[e][c] / 1024.0;
        ingest_row(o, class_name[c], "%.0f", v);
    }

    fprintf(o, "\nRatios are newsdex / other: below 1 means newsdex is faster (latency) or "
               "smaller; above 1 for q/s and docs/s means newsdex is faster. Sanity check: ");
    agreement(o, E_FTS);
    if (sh->run[E_XAP]) {
        fprintf(o, "; ");
        agreement(o, E_XAP);
    }
    fprintf(o, ". Reading, gunzipping and parsing the JSON alone takes %.1f s of each ingest "
               "(peak RSS %.0f MiB). ",
            p->secs, (double)sh->rss_parse / 1024.0);
    if (cl->ok)
        fprintf(o, "Contentless FTS5 ingest: %.1f s. ", cl->secs);
    if (sh->run[E_XAP])
        fprintf(o, "Xapian's database before compaction: %.3f × the text bytes.",
                (double)in[E_XAP].bytes_uncompacted / tb);
    else
        fprintf(o, "Xapian: %s.", sh->why_not[E_XAP]);
    fprintf(o, "\n");
}

/* Replaces the text between the begin and end markers of path with what
 * fn(o, arg) prints. */
static void write_between(const char *path, const char *begin_m, const char *end_m,
                          void (*fn)(FILE *, void *), void *arg)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("%s: %s", path, strerror(errno));
    nd_buf old = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_append(&old, chunk, got))
            die("out of memory");
    fclose(f);
    if (buf_putc(&old, 0))
        die("out of memory");
    char *txt = (char *)old.data;
    char *b = strstr(txt, begin_m);
    char *e = b ? strstr(b, end_m) : NULL;
    if (!b || !e)
        die("%s: markers %s ... %s not found", path, begin_m, end_m);
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *o = fopen(tmp, "w");
    if (!o)
        die("%s: %s", tmp, strerror(errno));
    fwrite(txt, 1, (size_t)(b - txt) + strlen(begin_m), o);
    fputs("\n", o);
    fn(o, arg);
    fputs(e, o);
    if (fclose(o))
        die("%s: write failed", tmp);
    if (rename(tmp, path))
        die("rename %s: %s", tmp, strerror(errno));
    buf_free(&old);
    fprintf(stderr, "bench_search: table written to %s\n", path);
}

static void report_cb(FILE *o, void *arg)
{
    report(o, *(double *)arg);
}

/* ---- one comparison ---------------------------------------------------- */

static void clear_results(void)
{
    size_t cells = (size_t)E_COUNT * C_NCLASS * nq;
    double *lat = sh->lat;
    uint64_t *total = sh->total;
    int run[E_COUNT];
    char why[E_COUNT][200];
    memcpy(run, sh->run, sizeof run);
    memcpy(why, sh->why_not, sizeof why);
    memset(sh, 0, sizeof *sh);
    memcpy(sh->run, run, sizeof run);
    memcpy(sh->why_not, why, sizeof why);
    sh->lat = lat;
    sh->total = total;
    for (size_t i = 0; i < cells; i++)
        lat[i] = -1;
    memset(total, 0, cells * sizeof *total);
}

static void xapian_cap(uint64_t docs, uint64_t max_docs)
{
    if (sh->run[E_XAP] && max_docs && docs > max_docs) {
        sh->run[E_XAP] = 0;
        snprintf(sh->why_not[E_XAP], sizeof sh->why_not[E_XAP],
                 "skipped: %" PRIu64 " articles > --xapian-max-docs %" PRIu64, docs, max_docs);
    }
}

/* Parses the corpus, then ingests and queries with every engine whose
 * sh->run flag is set. Returns the wall time of the whole run. */
static double run_once(uint64_t xapian_max_docs)
{
    double t_all = now_s();
    clear_results();
    fprintf(stderr, "bench_search: %zu queries; reading the corpus (parse only)...\n", nq);
    sh->rss_parse = run_child(parse_only, NULL, "parse");
    fprintf(stderr, "  %" PRIu64 " articles, %.1f MB text, %.1f s\n", sh->parse.docs,
            (double)sh->parse.text_bytes / 1e6, sh->parse.secs);
    if (!sh->dated)
        die("no dated articles: the date-filtered class needs dates");
    xapian_cap(sh->parse.docs, xapian_max_docs);
    if (sh->run[E_ND]) {
        fprintf(stderr, "bench_search: newsdex ingest...\n");
        sh->rss_ingest[E_ND] = run_child(ingest_newsdex, NULL, "newsdex ingest");
        fprintf(stderr, "  %.1f s (+ merge %.1f s), %" PRIu64 " docs\n", sh->ing[E_ND].secs,
                sh->ing[E_ND].merge_secs, sh->ing[E_ND].docs);
        nd_extra two = {2, ".threads", &sh->nd2};
        fprintf(stderr, "bench_search: newsdex ingest with 2 threads (timed only)...\n");
        run_child_on(0, ingest_newsdex, &two, "newsdex ingest, 2 threads");
        fprintf(stderr, "  %.1f s\n", sh->nd2.secs);
        fprintf(stderr, "bench_search: two one-thread newsdex ingests at once (timed only)...\n");
        run_child_on(0, ingest_pair, NULL, "newsdex ingest pair");
        fprintf(stderr, "  %.1f s, %.1f s\n", sh->pair[0].secs, sh->pair[1].secs);
    }
    if (sh->run[E_FTS]) {
        fts_job j = {0};
        fprintf(stderr, "bench_search: FTS5 ingest...\n");
        sh->rss_ingest[E_FTS] = run_child(ingest_fts, &j, "FTS5 ingest");
        fprintf(stderr, "  %.1f s (+ optimize %.1f s), %" PRIu64 " docs\n", sh->ing[E_FTS].secs,
                sh->ing[E_FTS].merge_secs, sh->ing[E_FTS].docs);
        if (do_contentless) {
            fts_job jc = {0};
            jc.contentless = 1;
            fprintf(stderr, "bench_search: FTS5 contentless ingest (size only)...\n");
            run_child(ingest_fts, &jc, "FTS5 contentless ingest");
            unlink(fts_cl_db);
        }
    }
#ifdef ND_HAVE_XAPIAN
    if (sh->run[E_XAP]) {
        fprintf(stderr, "bench_search: Xapian ingest...\n");
        sh->rss_ingest[E_XAP] = run_child(ingest_xapian, NULL, "Xapian ingest");
        fprintf(stderr, "  %.1f s (+ compact %.1f s), %" PRIu64 " docs\n", sh->ing[E_XAP].secs,
                sh->ing[E_XAP].merge_secs, sh->ing[E_XAP].docs);
    }
#endif
    for (int e = 1; e < E_COUNT; e++)
        if (sh->run[E_ND] && sh->run[e] && sh->ing[E_ND].docs != sh->ing[e].docs)
            fprintf(stderr, "bench_search: warning: newsdex has %" PRIu64 " articles, %s %" PRIu64
                            "\n", sh->ing[E_ND].docs, engine_name[e], sh->ing[e].docs);
    fprintf(stderr, "bench_search: opening and one query, %d times per engine...\n", COLD_N);
    if (sh->run[E_ND])
        run_child(cold_newsdex, NULL, "newsdex open + query");
    if (sh->run[E_FTS])
        run_child(cold_fts, NULL, "FTS5 open + query");
#ifdef ND_HAVE_XAPIAN
    if (sh->run[E_XAP])
        run_child(cold_xapian, NULL, "Xapian open + query");
#endif
    for (int c = 0; c < C_NCLASS; c++) {
        if (sh->run[E_ND]) {
            fprintf(stderr, "bench_search: newsdex queries...\n");
            sh->rss_query[E_ND][c] = run_child(query_newsdex, &c, "newsdex queries");
        }
        if (sh->run[E_FTS]) {
            fprintf(stderr, "bench_search: FTS5 queries...\n");
            sh->rss_query[E_FTS][c] = run_child(query_fts, &c, "FTS5 queries");
        }
#ifdef ND_HAVE_XAPIAN
        if (sh->run[E_XAP]) {
            fprintf(stderr, "bench_search: Xapian queries...\n");
            sh->rss_query[E_XAP][c] = run_child(query_xapian, &c, "Xapian queries");
        }
#endif
    }
    return now_s() - t_all;
}

static void remove_indexes(void)
{
    rm_rf(nd_dir);
    unlink(fts_db);
    unlink(fts_cl_db);
    rm_rf(xap_dir);
    rm_rf(xap_raw);
}

/* ---- scale mode -------------------------------------------------------- */

typedef struct scale_row {
    uint64_t target, docs, text_bytes;
    double gen_secs, run_secs;
    int run[E_COUNT];
    char why_not[E_COUNT][200];
    double ingest_secs[E_COUNT], docs_s[E_COUNT], size_ratio[E_COUNT], size_nostore;
    double rss_in[E_COUNT], rss_q[E_COUNT];
    double p50[E_COUNT][C_NCLASS], p95[E_COUNT][C_NCLASS];
    size_t n[C_NCLASS];
    char date_from[32], date_to[32];
} scale_row;

static scale_row srows[MAX_SIZES];
static size_t nsrows;
static const char *learn_file;
static char gen_path[4200];
static double max_ingest_s = 3600;

/* Runs gen_corpus LEARN N --seed 42 > out; returns its wall time. */
static double generate(uint64_t n, const char *out)
{
    char ns[32];
    snprintf(ns, sizeof ns, "%" PRIu64, n);
    fprintf(stderr, "bench_search: generating %s articles into %s...\n", ns, out);
    double t0 = now_s();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0) {
            fprintf(stderr, "bench_search: %s: %s\n", out, strerror(errno));
            _exit(1);
        }
        close(fd);
        execl(gen_path, gen_path, learn_file, ns, "--seed", "42", (char *)NULL);
        fprintf(stderr, "bench_search: cannot run %s: %s\n", gen_path, strerror(errno));
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("%s failed for %s articles", gen_path, ns);
    return now_s() - t0;
}

static void capture_row(scale_row *r, uint64_t target, double gen_secs, double run_secs)
{
    memset(r, 0, sizeof *r);
    r->target = target;
    r->docs = sh->parse.docs;
    r->text_bytes = sh->parse.text_bytes;
    r->gen_secs = gen_secs;
    r->run_secs = run_secs;
    double tb = r->text_bytes ? (double)r->text_bytes : 1;
    nd_date_format(r->date_from, sizeof r->date_from, sh->date_since);
    nd_date_format(r->date_to, sizeof r->date_to, sh->date_until - 86399);
    for (int e = 0; e < E_COUNT; e++) {
        r->run[e] = sh->run[e];
        memcpy(r->why_not[e], sh->why_not[e], sizeof r->why_not[e]);
        if (!sh->run[e])
            continue;
        const ingest_res *in = &sh->ing[e];
        r->ingest_secs[e] = in->secs;
        r->docs_s[e] = in->secs > 0 ? (double)in->docs / in->secs : 0;
        r->size_ratio[e] = (double)in->bytes_total / tb;
        r->rss_in[e] = (double)sh->rss_ingest[e] / 1024.0;
        r->rss_q[e] = 0;
        for (int c = 0; c < C_NCLASS; c++)
            r->rss_q[e] = fmax(r->rss_q[e], (double)sh->rss_query[e][c] / 1024.0);
        for (int c = 0; c < C_NCLASS; c++) {
            qstat s = class_stat(e, c);
            r->p50[e][c] = s.p50;
            r->p95[e][c] = s.p95;
            r->n[c] = s.n;
        }
    }
    if (sh->run[E_ND])
        r->size_nostore = (double)(sh->ing[E_ND].bytes_total - sh->ing[E_ND].bytes_stored) / tb;
}

static void fmt_count(char *out, size_t n, uint64_t v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    size_t len = strlen(tmp), o = 0;
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = tmp[i];
    }
    out[o] = 0;
}

/* "x1.23 (N^0.95)": how a figure grew between two sizes. */
static void growth_cell(FILE *o, double a, double b, double na, double nb)
{
    if (a <= 0 || b <= 0) {
        fprintf(o, " - |");
        return;
    }
    fprintf(o, " ×%.2f (N^%.2f) |", b / a, log(b / a) / log(nb / na));
}

static void scale_report(FILE *o, void *arg)
{
    (void)arg;
    machine_line(o);
    pin_line(o);
    fprintf(o, "Corpora generated by `gen_corpus %s N --seed 42` (vocabulary, word frequencies, "
               "lengths and dates learned from that file).  \nQueries:",
            base_name(learn_file));
    for (size_t i = 0; i < nqfiles; i++)
        fprintf(o, " `%s`", base_name(qfiles[i]));
    fprintf(o, " - %zu queries (%s); each timed %d times after one untimed pass, median per "
               "query; date filter: the middle half of the dated articles.\n\n",
            nq, max_queries ? "an evenly spaced subset, one-letter words dropped"
                            : "one-letter words dropped",
            reps);
    fprintf(o, "| articles | text MB | engine | ingest docs/s | index / text bytes | peak RSS "
               "ingest / query MiB |");
    for (int c = 0; c < C_NCLASS; c++)
        fprintf(o, " %s p50 / p95 us |", class_short[c]);
    fprintf(o, "\n|---:|---:|---|---:|---:|---:|");
    for (int c = 0; c < C_NCLASS; c++)
        fprintf(o, "---:|");
    fprintf(o, "\n");
    for (size_t i = 0; i < nsrows; i++) {
        const scale_row *r = &srows[i];
        char nc[32];
        fmt_count(nc, sizeof nc, r->docs);
        for (int e = 0; e < E_COUNT; e++) {
            if (r->text_bytes)
                fprintf(o, "| %s | %.0f | %s |", nc, (double)r->text_bytes / 1e6,
                        engine_name[e]);
            else
                fprintf(o, "| %s | - | %s |", nc, engine_name[e]);
            if (!r->run[e]) {
                fprintf(o, " %s |", r->why_not[e]);
                for (int k = 0; k < 2 + C_NCLASS; k++)
                    fprintf(o, " |");
                fprintf(o, "\n");
                continue;
            }
            fprintf(o, " %.0f |", r->docs_s[e]);
            if (e == E_ND)
                fprintf(o, " %.3f (%.3f without stored text) |", r->size_ratio[e],
                        r->size_nostore);
            else
                fprintf(o, " %.3f |", r->size_ratio[e]);
            fprintf(o, " %.0f / %.0f |", r->rss_in[e], r->rss_q[e]);
            for (int c = 0; c < C_NCLASS; c++)
                fprintf(o, " %.0f / %.0f |", r->p50[e][c], r->p95[e][c]);
            fprintf(o, "\n");
        }
    }

    fprintf(o, "\nRatios newsdex / other at each size (below 1: newsdex faster or smaller; for "
               "docs/s above 1: newsdex faster):\n\n");
    fprintf(o, "| articles | newsdex / | ingest docs/s | index / text bytes | peak RSS ingest / "
               "query |");
    for (int c = 0; c < C_NCLASS; c++)
        fprintf(o, " %s p50 / p95 |", class_short[c]);
    fprintf(o, "\n|---:|---|---:|---:|---:|");
    for (int c = 0; c < C_NCLASS; c++)
        fprintf(o, "---:|");
    fprintf(o, "\n");
    for (size_t i = 0; i < nsrows; i++) {
        const scale_row *r = &srows[i];
        char nc[32];
        fmt_count(nc, sizeof nc, r->docs);
        for (int e = 1; e < E_COUNT; e++) {
            if (!r->run[E_ND] || !r->run[e])
                continue;
            fprintf(o, "| %s | %s | %.2f | %.2f | %.2f / %.2f |", nc, engine_name[e],
                    ratio(r->docs_s[E_ND], r->docs_s[e]),
                    ratio(r->size_ratio[E_ND], r->size_ratio[e]), ratio(r->rss_in[E_ND], r->rss_in[e]),
                    ratio(r->rss_q[E_ND], r->rss_q[e]));
            for (int c = 0; c < C_NCLASS; c++)
                fprintf(o, " %.2f / %.2f |", ratio(r->p50[E_ND][c], r->p50[e][c]),
                        ratio(r->p95[E_ND][c], r->p95[e][c]));
            fprintf(o, "\n");
        }
    }

    if (nsrows > 1) {
        fprintf(o, "\nGrowth from one size to the next: factor and the exponent e of N^e "
                   "(e = 1: grows in proportion to the number of articles; 0: flat):\n\n");
        fprintf(o, "| engine | articles | ingest time | index bytes | peak RSS ingest | peak RSS "
                   "query |");
        for (int c = 0; c < C_NCLASS; c++)
            fprintf(o, " %s p50 | %s p95 |", class_short[c], class_short[c]);
        fprintf(o, "\n|---|---|---:|---:|---:|---:|");
        for (int c = 0; c < C_NCLASS; c++)
            fprintf(o, "---:|---:|");
        fprintf(o, "\n");
        for (int e = 0; e < E_COUNT; e++)
            for (size_t i = 1; i < nsrows; i++) {
                const scale_row *a = &srows[i - 1], *b = &srows[i];
                if (!a->run[e] || !b->run[e])
                    continue;
                char na[32], nb[32];
                fmt_count(na, sizeof na, a->docs);
                fmt_count(nb, sizeof nb, b->docs);
                double da = (double)a->docs, db = (double)b->docs;
                fprintf(o, "| %s | %s → %s |", engine_name[e], na, nb);
                growth_cell(o, a->ingest_secs[e], b->ingest_secs[e], da, db);
                growth_cell(o, a->size_ratio[e] * (double)a->text_bytes,
                            b->size_ratio[e] * (double)b->text_bytes, da, db);
                growth_cell(o, a->rss_in[e], b->rss_in[e], da, db);
                growth_cell(o, a->rss_q[e], b->rss_q[e], da, db);
                for (int c = 0; c < C_NCLASS; c++) {
                    growth_cell(o, a->p50[e][c], b->p50[e][c], da, db);
                    growth_cell(o, a->p95[e][c], b->p95[e][c], da, db);
                }
                fprintf(o, "\n");
            }
    }
    fprintf(o, "\nPer size:");
    for (size_t i = 0; i < nsrows; i++) {
        char nc[32];
        fmt_count(nc, sizeof nc, srows[i].docs);
        if (!srows[i].text_bytes)
            fprintf(o, " %s articles: not generated (every engine skipped)%s", nc,
                    i + 1 < nsrows ? ";" : ".");
        else
            fprintf(o, " %s articles: generated in %.0f s, date filter %s .. %s, whole run "
                       "%.0f s%s",
                    nc, srows[i].gen_secs, srows[i].date_from, srows[i].date_to,
                    srows[i].run_secs, i + 1 < nsrows ? ";" : ".");
    }
    fprintf(o, "\n");
}

/* An SVG plot of p50 latency against corpus size, log-log, one panel per
 * query class and one line per engine. */
static void write_svg(const char *path)
{
    static const char *const colour[E_COUNT] = {"#1f77b4", "#d62728", "#2ca02c"};
    const double pw = 220, ph = 200, ml = 50, mt = 40, gap = 30;
    double xmin = 1e300, xmax = 0, ymin = 1e300, ymax = 0;
    for (size_t i = 0; i < nsrows; i++)
        for (int e = 0; e < E_COUNT; e++)
            for (int c = 0; c < C_NCLASS; c++)
                if (srows[i].run[e] && srows[i].p50[e][c] > 0) {
                    double x = (double)srows[i].docs, y = srows[i].p50[e][c];
                    xmin = x < xmin ? x : xmin;
                    xmax = x > xmax ? x : xmax;
                    ymin = y < ymin ? y : ymin;
                    ymax = y > ymax ? y : ymax;
                }
    if (xmax <= 0)
        return;
    double lx0 = floor(log10(xmin)), lx1 = ceil(log10(xmax));
    double ly0 = floor(log10(ymin)), ly1 = ceil(log10(ymax));
    if (lx1 <= lx0)
        lx1 = lx0 + 1;
    if (ly1 <= ly0)
        ly1 = ly0 + 1;
    FILE *o = fopen(path, "w");
    if (!o)
        die("%s: %s", path, strerror(errno));
    double width = ml + C_NCLASS * (pw + gap), height = mt + ph + 70;
    fprintf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n",
            width, height);
    fprintf(o, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(o, "<text x=\"%.0f\" y=\"18\" font-size=\"13\">p50 latency (us, log) against "
               "articles (log); generated corpora</text>\n", ml);
    for (int c = 0; c < C_NCLASS; c++) {
        double x0 = ml + c * (pw + gap), y0 = mt;
        fprintf(o, "<g>\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\" "
                   "fill=\"none\" stroke=\"#888\"/>\n",
                x0, y0, pw, ph);
        fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                x0 + pw / 2, y0 - 6, class_name[c]);
        for (double l = lx0; l <= lx1; l++) {
            double x = x0 + (l - lx0) / (lx1 - lx0) * pw;
            fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                       "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">1e%.0f</text>\n",
                    x, y0, x, y0 + ph, x, y0 + ph + 14, l);
        }
        for (double l = ly0; l <= ly1; l++) {
            double y = y0 + ph - (l - ly0) / (ly1 - ly0) * ph;
            fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>",
                    x0, y, x0 + pw, y);
            if (c == 0)
                fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">1e%.0f</text>", x0 - 4,
                        y + 4, l);
            fprintf(o, "\n");
        }
        for (int e = 0; e < E_COUNT; e++) {
            fprintf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                    colour[e]);
            for (size_t i = 0; i < nsrows; i++)
                if (srows[i].run[e] && srows[i].p50[e][c] > 0)
                    fprintf(o, "%.1f,%.1f ",
                            x0 + (log10((double)srows[i].docs) - lx0) / (lx1 - lx0) * pw,
                            y0 + ph - (log10(srows[i].p50[e][c]) - ly0) / (ly1 - ly0) * ph);
            fprintf(o, "\"/>\n");
            for (size_t i = 0; i < nsrows; i++)
                if (srows[i].run[e] && srows[i].p50[e][c] > 0)
                    fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                            x0 + (log10((double)srows[i].docs) - lx0) / (lx1 - lx0) * pw,
                            y0 + ph - (log10(srows[i].p50[e][c]) - ly0) / (ly1 - ly0) * ph,
                            colour[e]);
        }
        fprintf(o, "</g>\n");
    }
    for (int e = 0; e < E_COUNT; e++)
        fprintf(o, "<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"4\" fill=\"%s\"/>"
                   "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
                ml + e * 110.0, mt + ph + 40, colour[e], ml + e * 110.0 + 18, mt + ph + 45,
                engine_name[e]);
    fprintf(o, "</svg>\n");
    if (fclose(o))
        die("%s: write failed", path);
    fprintf(stderr, "bench_search: plot written to %s\n", path);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t parse_sizes(const char *s, uint64_t *out)
{
    size_t n = 0;
    while (*s) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || v == 0 || n == MAX_SIZES)
            die("--scale: bad list of sizes (comma-separated article counts, at most %d)",
                MAX_SIZES);
        out[n++] = v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            die("--scale: bad list of sizes near \"%s\"", end);
    }
    qsort(out, n, sizeof *out, cmp_u64);
    return n;
}

/* Decides whether engine e runs at size n: not when its ingest, extrapolated
 * linearly from the last size it ran at, would exceed max_ingest_s. */
static void scale_decide(int e, uint64_t n)
{
    if (!sh->run[e])
        return;
    for (size_t i = nsrows; i-- > 0;)
        if (srows[i].run[e]) {
            double est = srows[i].ingest_secs[e] * (double)n / (double)srows[i].docs;
            if (est > max_ingest_s) {
                char nc[32];
                fmt_count(nc, sizeof nc, srows[i].docs);
                sh->run[e] = 0;
                snprintf(sh->why_not[e], sizeof sh->why_not[e],
                         "skipped: ingest estimated at %.0f s (%.0f s at %s articles, scaled "
                         "linearly) > --max-ingest-s %.0f",
                         est, srows[i].ingest_secs[e], nc, max_ingest_s);
            }
            return;
        }
}

static void run_scale(const uint64_t *sizes, size_t nsizes, int keep, const char *readme,
                      const char *svg, uint64_t xapian_max_docs)
{
    int base_run[E_COUNT];
    char base_why[E_COUNT][200];
    memcpy(base_run, sh->run, sizeof base_run);
    memcpy(base_why, sh->why_not, sizeof base_why);
    for (size_t i = 0; i < nsizes; i++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/gen-%" PRIu64 ".jsonl", workdir, sizes[i]);
        memcpy(sh->run, base_run, sizeof base_run);
        memcpy(sh->why_not, base_why, sizeof base_why);
        int any = 0;
        for (int e = 0; e < E_COUNT; e++) {
            scale_decide(e, sizes[i]);
            any |= sh->run[e];
        }
        if (!any) { /* nothing to measure: no need to generate the corpus */
            clear_results();
            capture_row(&srows[nsrows], sizes[i], 0, 0);
            srows[nsrows++].docs = sizes[i];
            fprintf(stderr, "bench_search: %" PRIu64 " articles: every engine skipped\n",
                    sizes[i]);
            continue;
        }
        double g = generate(sizes[i], path);
        corpus[0] = path;
        ncorpus = 1;
        double t = run_once(xapian_max_docs);
        capture_row(&srows[nsrows++], sizes[i], g, t);
        if (!keep) {
            unlink(path);
            remove_indexes();
        }
        scale_report(stdout, NULL); /* the table so far */
        fflush(stdout);
    }
    if (readme)
        write_between(readme, "<!-- scale-table -->", "<!-- /scale-table -->", scale_report,
                      NULL);
    if (svg)
        write_svg(svg);
}

/* ---- main -------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_search --corpus FILE.jsonl[.gz]... --queries FILE.tsv... [options]\n"
            "       bench_search --scale N1,N2,... --learn FILE.jsonl[.gz] --queries FILE.tsv...\n"
            "                    [--gen-corpus PATH] [--max-ingest-s S] [--svg FILE] [options]\n"
            "options: [--reps R] [--max-queries N] [--workdir DIR] [--keep] [--no-contentless]\n"
            "         [--no-xapian] [--xapian-max-docs N] [--verbose] [--keep-short-words]\n"
            "         [--cpu N | --no-pin] [--write-readme [README.md]]\n");
    exit(2);
}

/* Frees what add_query allocated (some strings are shared between classes). */
static void free_query(query *q)
{
    for (size_t i = 0; i < q->nwords; i++)
        free(q->words[i]);
    free(q->nd[C_OR]);
    free(q->fts[C_OR]);
    free(q->fts[C_AND]);
    free(q->nd[C_PHRASE]);
    free(q->qid);
}

/* Keeps an evenly spaced subset of max_queries queries (deterministic). */
static void thin_queries(void)
{
    if (!max_queries || nq <= max_queries)
        return;
    size_t kept = 0, next = 0;
    for (size_t q = 0; q < nq; q++) {
        if (kept < max_queries && q == next) {
            queries[kept++] = queries[q];
            next = kept * nq / max_queries;
        } else {
            free_query(&queries[q]);
        }
    }
    nq = kept;
}

static uint64_t parse_u64(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    const char *readme = NULL, *wd = NULL, *scale = NULL, *svg = NULL;
    int keep = 0, no_xapian = 0, want_cpu = -1, no_pin = 0;
    uint64_t xapian_max_docs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_arg = i + 1 < argc;
        if (!strcmp(a, "--corpus") || !strcmp(a, "--queries")) {
            int isq = a[2] == 'q';
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) {
                if ((isq ? nqfiles : ncorpus) == MAX_FILES)
                    die("too many files");
                if (isq)
                    qfiles[nqfiles++] = argv[++i];
                else
                    corpus[ncorpus++] = argv[++i];
            }
        } else if (!strcmp(a, "--reps") && has_arg) {
            reps = atoi(argv[++i]);
            if (reps < 1)
                usage();
        } else if (!strcmp(a, "--max-queries") && has_arg) {
            max_queries = (size_t)parse_u64(argv[++i]);
        } else if (!strcmp(a, "--workdir") && has_arg) {
            wd = argv[++i];
        } else if (!strcmp(a, "--scale") && has_arg) {
            scale = argv[++i];
        } else if (!strcmp(a, "--learn") && has_arg) {
            learn_file = argv[++i];
        } else if (!strcmp(a, "--gen-corpus") && has_arg) {
            snprintf(gen_path, sizeof gen_path, "%s", argv[++i]);
        } else if (!strcmp(a, "--max-ingest-s") && has_arg) {
            max_ingest_s = (double)parse_u64(argv[++i]);
        } else if (!strcmp(a, "--xapian-max-docs") && has_arg) {
            xapian_max_docs = parse_u64(argv[++i]);
        } else if (!strcmp(a, "--svg") && has_arg) {
            svg = argv[++i];
        } else if (!strcmp(a, "--no-xapian")) {
            no_xapian = 1;
        } else if (!strcmp(a, "--cpu") && has_arg) {
            want_cpu = (int)parse_u64(argv[++i]);
        } else if (!strcmp(a, "--no-pin")) {
            no_pin = 1;
        } else if (!strcmp(a, "--keep-short-words")) {
            keep_short = 1;
        } else if (!strcmp(a, "--verbose")) {
            verbose = 1;
        } else if (!strcmp(a, "--keep")) {
            keep = 1;
        } else if (!strcmp(a, "--no-contentless")) {
            do_contentless = 0;
        } else if (!strcmp(a, "--write-readme")) {
            readme = ND_SOURCE_DIR "/bench/README.md";
            if (i + 1 < argc && strncmp(argv[i + 1], "--", 2))
                readme = argv[++i];
        } else {
            usage();
        }
    }
    if (!nqfiles || (scale ? !learn_file || ncorpus : !ncorpus))
        usage();
    for (size_t i = 0; i < nqfiles; i++)
        read_queries(qfiles[i]);
    thin_queries();
    if (!nq)
        die("no queries");
    if (wd)
        snprintf(workdir, sizeof workdir, "%s", wd);
    else
        snprintf(workdir, sizeof workdir, "/tmp/bench_search.%ld", (long)getpid());
    if (mkdir(workdir, 0777) && errno != EEXIST)
        die("%s: %s", workdir, strerror(errno));
    snprintf(nd_dir, sizeof nd_dir, "%s/newsdex", workdir);
    snprintf(fts_db, sizeof fts_db, "%s/fts5.db", workdir);
    snprintf(fts_cl_db, sizeof fts_cl_db, "%s/fts5-contentless.db", workdir);
    snprintf(xap_dir, sizeof xap_dir, "%s/xapian", workdir);
    snprintf(xap_raw, sizeof xap_raw, "%s/xapian-uncompacted", workdir);

    if (!no_pin)
        choose_cpu(want_cpu);
    sh = shared_alloc(sizeof *sh);
    size_t cells = (size_t)E_COUNT * C_NCLASS * nq;
    sh->lat = shared_alloc(cells * sizeof *sh->lat);
    sh->total = shared_alloc(cells * sizeof *sh->total);
    sh->run[E_ND] = sh->run[E_FTS] = 1;
#ifdef ND_HAVE_XAPIAN
    sh->run[E_XAP] = !no_xapian;
    if (no_xapian)
        snprintf(sh->why_not[E_XAP], sizeof sh->why_not[E_XAP], "skipped (--no-xapian)");
#else
    (void)no_xapian;
    snprintf(sh->why_not[E_XAP], sizeof sh->why_not[E_XAP],
             "not built in (libxapian-dev was not found when the bench was configured)");
#endif

    if (scale) {
        uint64_t sizes[MAX_SIZES];
        size_t nsizes = parse_sizes(scale, sizes);
        if (!gen_path[0]) {
            const char *slash = strrchr(argv[0], '/');
            snprintf(gen_path, sizeof gen_path, "%.*sgen_corpus",
                     slash ? (int)(slash - argv[0] + 1) : 0, argv[0]);
        }
        do_contentless = 0; /* the scale table reports the full index sizes */
        if (readme && !svg)
            svg = ND_SOURCE_DIR "/bench/scale_p50.svg";
        run_scale(sizes, nsizes, keep, readme, svg, xapian_max_docs);
    } else {
        double total = run_once(xapian_max_docs);
        report(stdout, total);
        if (readme)
            write_between(readme, "<!-- speed-table -->", "<!-- /speed-table -->", report_cb,
                          &total);
    }
    if (!keep)
        rm_rf(workdir);
    for (size_t q = 0; q < nq; q++)
        free_query(&queries[q]);
    free(queries);
    return 0;
}
