/*
 * bench_search.c - speed of newsdex against SQLite FTS5 on the same articles
 * and the same queries, in one run.
 *
 *   bench_search --corpus A.jsonl.gz [B.jsonl.gz ...] --queries Q.tsv [R.tsv ...]
 *                [--reps R] [--workdir DIR] [--keep] [--no-contentless]
 *                [--write-readme [bench/README.md]]
 *
 * Every engine's ingest and every engine's query phase runs in its own forked
 * child, so that the peak RSS of each (ru_maxrss from wait4) is its own.
 * Results come back to the parent through a shared anonymous mapping.
 *
 * Ingest: newsdex reads the files with nd_writer_add_jsonl (threads 1, its
 * default analyzer, no stemming), then commits; FTS5 reads the same files with
 * the library's line reader and JSON parser and INSERTs title and body into
 * fts5(title, body, tokenize='unicode61') with one prepared statement in one
 * transaction (journal_mode=OFF, synchronous=OFF), plus the article id and
 * date into a side table. Both are then optimised to one segment (timed apart).
 *
 * Queries: each line "qid<TAB>text" is reduced to lowercase words of [a-z0-9]
 * (any other byte separates words); both engines get exactly those words.
 * Classes: OR top-10, AND top-10, phrase (the first two words, quoted; queries
 * with fewer than two words are left out), date-filtered OR top-10 (the middle
 * half of the dated articles, whole days) and count-only (the OR query). Each
 * class runs once untimed over all queries, then each query R times; the
 * median per query is kept and p50/p95/p99 (nearest rank) are taken over the
 * queries; queries/s = 1e6 / mean of the per-query medians (one thread).
 */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* nftw */
#endif
#include <errno.h>
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

#ifndef ND_SOURCE_DIR
#define ND_SOURCE_DIR "."
#endif

#define MAX_FILES 64
#define MAX_WORDS 32
#define TOPK 10

enum { E_ND, E_FTS, E_COUNT };
enum { C_OR, C_AND, C_PHRASE, C_DATE, C_COUNTONLY, C_NCLASS };
static const char *const class_name[C_NCLASS] = {"OR top-10", "AND top-10", "phrase top-10",
                                                  "date-filtered OR top-10", "count-only (OR)"};

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

/* Runs fn(arg) in a child; returns the child's peak RSS in KiB. */
static long run_child(void (*fn)(void *), void *arg, const char *what)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
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
} ingest_res;

typedef struct shared {
    ingest_res parse, nd, fts, fts_cl;
    long rss_ingest[E_COUNT], rss_query[E_COUNT], rss_parse;
    /* per engine, class, query: median latency in us (-1 = not run) and
     * the match total where the engine reports one */
    double *lat;
    uint64_t *total;
} shared;

static const char *corpus[MAX_FILES];
static size_t ncorpus;
static const char *qfiles[MAX_FILES];
static size_t nqfiles;
static query *queries;
static size_t nq;
static int reps = 5;
static char workdir[4096];
static char nd_dir[4200], fts_db[4200], fts_cl_db[4200];
static int do_contentless = 1;
static int verbose;
static int keep_short = 0; /* keep one-character words in queries */
static int64_t date_since = ND_NO_DATE, date_until = ND_NO_DATE;
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

static void ingest_newsdex(void *arg)
{
    (void)arg;
    ingest_res *r = &sh->nd;
    rm_rf(nd_dir);
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    wo.threads = 1;
    nd_ingest_opts io = ND_INGEST_OPTS_INIT;
    io.on_error = on_bad_line;
    nd_ingest_stats st;
    memset(&st, 0, sizeof st);
    double t0 = now_s();
    nd_writer *w;
    int rc = nd_writer_open(&w, nd_dir, &wo);
    if (rc)
        die("nd_writer_open %s: %s", nd_dir, nd_strerror(rc));
    for (size_t i = 0; i < ncorpus; i++)
        if ((rc = nd_writer_add_jsonl(w, corpus[i], &io, &st)))
            die("nd_writer_add_jsonl %s: %s", corpus[i], nd_writer_errmsg(w));
    if ((rc = nd_writer_commit(w)))
        die("nd_writer_commit: %s", nd_writer_errmsg(w));
    r->secs = now_s() - t0;
    nd_index *ix;
    char eb[512];
    nd_index_stats is;
    if (nd_index_open(&ix, nd_dir, NULL, eb, sizeof eb))
        die("nd_index_open: %s", eb);
    nd_index_stats_get(ix, &is);
    r->segments_before = is.segments;
    nd_index_free(ix);
    t0 = now_s();
    if ((rc = nd_writer_merge(w, 1)))
        die("nd_writer_merge: %s", nd_writer_errmsg(w));
    r->merge_secs = now_s() - t0;
    nd_writer_free(w);
    if (nd_index_open(&ix, nd_dir, NULL, eb, sizeof eb))
        die("nd_index_open: %s", eb);
    nd_index_stats_get(ix, &is);
    nd_index_free(ix);
    r->docs = is.docs;
    r->skipped = st.skipped;
    r->segments = is.segments;
    r->bytes_total = is.bytes_terms + is.bytes_postings + is.bytes_positions +
                     is.bytes_columns + is.bytes_stored + is.bytes_other;
    r->bytes_stored = is.bytes_stored;
    r->ok = 1;
}

static void sql_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        die("sqlite: %s: %s", sql, err ? err : "?");
}

typedef struct fts_job {
    int mode; /* 0 = parse only, 1 = FTS5 with content + side table, 2 = contentless */
} fts_job;

static void ingest_fts(void *arg)
{
    const fts_job *job = arg;
    ingest_res *r = job->mode == 0 ? &sh->parse : job->mode == 1 ? &sh->fts : &sh->fts_cl;
    const char *path = job->mode == 2 ? fts_cl_db : fts_db;
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL, *meta = NULL;
    double t0 = now_s();
    if (job->mode) {
        unlink(path);
        if (sqlite3_open(path, &db) != SQLITE_OK)
            die("sqlite3_open %s", path);
        sql_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
                     "PRAGMA cache_size=-262144;");
        if (job->mode == 1) {
            sql_exec(db, "CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize='unicode61');"
                         "CREATE TABLE meta(rowid INTEGER PRIMARY KEY, docid TEXT, date INTEGER);");
            if (sqlite3_prepare_v2(db, "INSERT INTO meta(rowid, docid, date) VALUES(?1, ?2, ?3)",
                                   -1, &meta, NULL) != SQLITE_OK)
                die("prepare: %s", sqlite3_errmsg(db));
        } else {
            sql_exec(db, "CREATE VIRTUAL TABLE t USING fts5(title, body, content='', "
                         "tokenize='unicode61');");
        }
        if (sqlite3_prepare_v2(db, "INSERT INTO t(rowid, title, body) VALUES(?1, ?2, ?3)", -1,
                               &ins, NULL) != SQLITE_OK)
            die("prepare: %s", sqlite3_errmsg(db));
        sql_exec(db, "BEGIN");
    }
    nd_buf scratch = {0};
    int64_t rowid = 0;
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
            rowid++;
            r->docs++;
            r->text_bytes += d.title_len + d.body_len;
            if (!db)
                continue;
            sqlite3_bind_int64(ins, 1, rowid);
            sqlite3_bind_text(ins, 2, d.title ? d.title : "", (int)d.title_len, SQLITE_STATIC);
            sqlite3_bind_text(ins, 3, d.body ? d.body : "", (int)d.body_len, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE)
                die("insert: %s", sqlite3_errmsg(db));
            sqlite3_reset(ins);
            if (meta) {
                sqlite3_bind_int64(meta, 1, rowid);
                sqlite3_bind_text(meta, 2, d.id, (int)d.id_len, SQLITE_STATIC);
                if (d.date == ND_NO_DATE)
                    sqlite3_bind_null(meta, 3);
                else
                    sqlite3_bind_int64(meta, 3, d.date);
                if (sqlite3_step(meta) != SQLITE_DONE)
                    die("insert meta: %s", sqlite3_errmsg(db));
                sqlite3_reset(meta);
            }
        }
        if (rc != ND_DONE)
            die("%s: %s", corpus[i], e.msg);
        line_reader_close(lr);
    }
    buf_free(&scratch);
    if (db) {
        sqlite3_finalize(ins);
        sqlite3_finalize(meta);
        sql_exec(db, "COMMIT");
    }
    r->secs = now_s() - t0;
    if (db) {
        t0 = now_s();
        sql_exec(db, "INSERT INTO t(t) VALUES('optimize')");
        r->merge_secs = now_s() - t0;
        if (sqlite3_close(db) != SQLITE_OK)
            die("sqlite3_close");
        r->bytes_total = path_bytes(path);
        r->segments = 1;
    }
    r->ok = 1;
}

/* ---- query children ---------------------------------------------------- */

static void query_newsdex(void *arg)
{
    (void)arg;
    nd_index *ix;
    nd_search *s;
    char eb[512];
    if (nd_index_open(&ix, nd_dir, NULL, eb, sizeof eb))
        die("nd_index_open: %s", eb);
    if (nd_search_open(&s, ix))
        die("nd_search_open");
    double *t = xcalloc((size_t)reps, sizeof *t);
    for (int c = 0; c < C_NCLASS; c++) {
        nd_search_opts o = ND_SEARCH_OPTS_INIT;
        o.snippets = 0;
        o.default_op = c == C_AND ? ND_OP_AND : ND_OP_OR;
        if (c == C_DATE) {
            o.since = date_since;
            o.until = date_until;
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
        sqlite3_bind_int64(st, 2, date_since);
        sqlite3_bind_int64(st, 3, date_until);
    }
    int rc;
    size_t idbytes = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (c == C_COUNTONLY)
            total = (uint64_t)sqlite3_column_int64(st, 0);
        else {
            idbytes += (size_t)sqlite3_column_bytes(st, 0);
            (void)sqlite3_column_text(st, 0);
            total++;
        }
    }
    if (rc != SQLITE_DONE)
        die("fts5 query [%s]: %s", text, sqlite3_errmsg(db));
    sqlite3_reset(st);
    (void)idbytes;
    return total;
}

static void query_fts(void *arg)
{
    (void)arg;
    sqlite3 *db;
    if (sqlite3_open_v2(fts_db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die("sqlite3_open %s", fts_db);
    sql_exec(db, "PRAGMA cache_size=-262144; PRAGMA mmap_size=4294967296;");
    double *t = xcalloc((size_t)reps, sizeof *t);
    for (int c = 0; c < C_NCLASS; c++) {
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

/* The middle half of the dated articles (25th to 75th percentile of their
 * dates), widened to whole UTC days. */
static void pick_date_range(void)
{
    sqlite3 *db;
    if (sqlite3_open_v2(fts_db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die("sqlite3_open %s", fts_db);
    sqlite3_stmt *st;
    int64_t n = 0, v[2] = {0, 0};
    if (sqlite3_prepare_v2(db, "SELECT count(date) FROM meta", -1, &st, NULL) != SQLITE_OK)
        die("prepare: %s", sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (n == 0)
        die("no dated articles: the date-filtered class needs dates");
    if (sqlite3_prepare_v2(db, "SELECT date FROM meta WHERE date IS NOT NULL ORDER BY date "
                               "LIMIT 1 OFFSET ?1",
                           -1, &st, NULL) != SQLITE_OK)
        die("prepare: %s", sqlite3_errmsg(db));
    int64_t off[2] = {n / 4, (3 * n) / 4};
    for (int i = 0; i < 2; i++) {
        sqlite3_bind_int64(st, 1, off[i]);
        if (sqlite3_step(st) == SQLITE_ROW)
            v[i] = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    int64_t day = 86400;
    int64_t lo = v[0] >= 0 ? v[0] / day : -((-v[0] + day - 1) / day);
    int64_t hi = v[1] >= 0 ? v[1] / day : -((-v[1] + day - 1) / day);
    date_since = lo * day;
    date_until = hi * day + day - 1;
}

/* ---- report ------------------------------------------------------------ */

typedef struct qstat {
    size_t n;
    double p50, p95, p99, qps;
} qstat;

static qstat class_stat(int e, int c)
{
    qstat s;
    memset(&s, 0, sizeof s);
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

static void report(FILE *o, double total_secs)
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
    const ingest_res *p = &sh->parse, *n = &sh->nd, *f = &sh->fts, *cl = &sh->fts_cl;
    double text_mb = (double)p->text_bytes / 1e6;
    char dsince[32], duntil[32];
    nd_date_format(dsince, sizeof dsince, date_since);
    nd_date_format(duntil, sizeof duntil, date_until - 86399);

    fprintf(o, "Machine: %s, %s, %ld CPUs online, %s RAM; compiler: %s; SQLite %s; "
               "newsdex %s, commit %s%s.\n\n",
            u.machine, cpu, sysconf(_SC_NPROCESSORS_ONLN), mem,
#if defined(__clang__)
            "clang " __clang_version__,
#elif defined(__GNUC__)
            "gcc " __VERSION__,
#else
            "unknown",
#endif
            sqlite3_libversion(), nd_version(), commit[0] ? commit : "unknown",
            dirty[0] ? " (with uncommitted changes)" : "");
    fprintf(o, "Corpus:");
    for (size_t i = 0; i < ncorpus; i++)
        fprintf(o, " `%s`", base_name(corpus[i]));
    fprintf(o, " - %" PRIu64 " articles, %.1f MB of title+body text (UTF-8 as unescaped from "
               "the JSON).  \nQueries:",
            p->docs, text_mb);
    for (size_t i = 0; i < nqfiles; i++)
        fprintf(o, " `%s`", base_name(qfiles[i]));
    fprintf(o, " - %zu queries (%s); each timed %d times after one untimed pass, median per query. "
               "Date filter: %s to %s (inclusive, the middle half of the dated articles). "
               "Whole run: %.0f s.\n\n",
            nq, keep_short ? "one-letter words kept" : "one-letter words dropped", reps, dsince,
            duntil, total_secs);

    fprintf(o, "| Ingest and size | newsdex | FTS5 | newsdex / FTS5 |\n");
    fprintf(o, "|---|---:|---:|---:|\n");
    fprintf(o, "| ingest time, s (read + gunzip + parse + index + commit) | %.1f | %.1f | %.2f |\n",
            n->secs, f->secs, ratio(n->secs, f->secs));
    fprintf(o, "| ingest docs/s | %.0f | %.0f | %.2f |\n", (double)n->docs / n->secs,
            (double)f->docs / f->secs, ratio((double)n->docs / n->secs, (double)f->docs / f->secs));
    fprintf(o, "| ingest MB/s of title+body text | %.2f | %.2f | %.2f |\n", text_mb / n->secs,
            text_mb / f->secs, ratio(f->secs, n->secs));
    fprintf(o, "| then optimise to one segment, s (not in the ingest time; newsdex segments before: %" PRIu64 ") | %.1f | %.1f | %.2f |\n",
            n->segments_before, n->merge_secs, f->merge_secs, ratio(n->merge_secs, f->merge_secs));
    double tb = (double)p->text_bytes;
    fprintf(o, "| index bytes / text bytes, with stored text | %.3f | %.3f | %.2f |\n",
            (double)n->bytes_total / tb, (double)f->bytes_total / tb,
            ratio((double)n->bytes_total, (double)f->bytes_total));
    if (cl->ok)
        fprintf(o, "| index bytes / text bytes, without stored text (FTS5: contentless) | %.3f | %.3f | %.2f |\n",
                (double)(n->bytes_total - n->bytes_stored) / tb, (double)cl->bytes_total / tb,
                ratio((double)(n->bytes_total - n->bytes_stored), (double)cl->bytes_total));
    else
        fprintf(o, "| index bytes / text bytes, without stored text | %.3f | not run | - |\n",
                (double)(n->bytes_total - n->bytes_stored) / tb);
    fprintf(o, "| peak RSS during ingest, MiB | %.0f | %.0f | %.2f |\n",
            (double)sh->rss_ingest[E_ND] / 1024.0, (double)sh->rss_ingest[E_FTS] / 1024.0,
            ratio((double)sh->rss_ingest[E_ND], (double)sh->rss_ingest[E_FTS]));
    fprintf(o, "| peak RSS during querying, MiB | %.0f | %.0f | %.2f |\n\n",
            (double)sh->rss_query[E_ND] / 1024.0, (double)sh->rss_query[E_FTS] / 1024.0,
            ratio((double)sh->rss_query[E_ND], (double)sh->rss_query[E_FTS]));

    fprintf(o, "| Query class | n | newsdex p50 / p95 / p99 us | newsdex q/s | FTS5 p50 / p95 / p99 us "
               "| FTS5 q/s | ratio p50 / p95 / p99 | ratio q/s |\n");
    fprintf(o, "|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int c = 0; c < C_NCLASS; c++) {
        qstat a = class_stat(E_ND, c), b = class_stat(E_FTS, c);
        fprintf(o, "| %s | %zu | %.0f / %.0f / %.0f | %.0f | %.0f / %.0f / %.0f | %.0f | %.2f / %.2f / %.2f | %.2f |\n",
                class_name[c], a.n, a.p50, a.p95, a.p99, a.qps, b.p50, b.p95, b.p99, b.qps,
                ratio(a.p50, b.p50), ratio(a.p95, b.p95), ratio(a.p99, b.p99), ratio(a.qps, b.qps));
    }
    /* agreement of the match counts (tokenizers differ slightly) */
    size_t same = 0, cnt = 0;
    uint64_t sum_nd = 0, sum_fts = 0;
    for (size_t q = 0; q < nq; q++) {
        cnt++;
        sum_nd += TOT(E_ND, C_COUNTONLY, q);
        sum_fts += TOT(E_FTS, C_COUNTONLY, q);
        same += TOT(E_ND, C_COUNTONLY, q) == TOT(E_FTS, C_COUNTONLY, q);
        if (verbose && o == stdout && TOT(E_ND, C_COUNTONLY, q) != TOT(E_FTS, C_COUNTONLY, q))
            fprintf(stderr, "count differs: %s [%s]: newsdex %" PRIu64 ", FTS5 %" PRIu64 "\n",
                    queries[q].qid, queries[q].nd[C_OR], TOT(E_ND, C_COUNTONLY, q),
                    TOT(E_FTS, C_COUNTONLY, q));
    }
    fprintf(o, "\nRatios are newsdex / FTS5: below 1 means newsdex is faster (latency) or "
               "smaller; above 1 for q/s and docs/s means newsdex is faster. ");
    fprintf(o, "Sanity check: the OR match counts agree on %zu of %zu queries "
               "(total matches: newsdex %" PRIu64 ", FTS5 %" PRIu64 "). ",
            same, cnt, sum_nd, sum_fts);
    fprintf(o, "Reading, gunzipping and parsing the JSON alone takes %.1f s of each ingest "
               "(peak RSS %.0f MiB). ",
            p->secs, (double)sh->rss_parse / 1024.0);
    if (cl->ok)
        fprintf(o, "Contentless FTS5 ingest: %.1f s.", cl->secs);
    fprintf(o, "\n");
}

static void write_readme(const char *path, double total_secs)
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
    const char *begin_m = "<!-- speed-table -->", *end_m = "<!-- /speed-table -->";
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
    report(o, total_secs);
    fputs(e, o);
    if (fclose(o))
        die("%s: write failed", tmp);
    if (rename(tmp, path))
        die("rename %s: %s", tmp, strerror(errno));
    buf_free(&old);
    fprintf(stderr, "bench_search: table written to %s\n", path);
}

/* ---- main -------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_search --corpus FILE.jsonl[.gz]... --queries FILE.tsv... [--reps R]\n"
            "                    [--workdir DIR] [--keep] [--no-contentless] [--verbose]\n"
            "                    [--keep-short-words]\n"
            "                    [--write-readme [README.md]]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *readme = NULL;
    const char *wd = NULL;
    int keep = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--corpus") || !strcmp(argv[i], "--queries")) {
            int isq = argv[i][2] == 'q';
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) {
                if ((isq ? nqfiles : ncorpus) == MAX_FILES)
                    die("too many files");
                if (isq)
                    qfiles[nqfiles++] = argv[++i];
                else
                    corpus[ncorpus++] = argv[++i];
            }
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = atoi(argv[++i]);
            if (reps < 1)
                usage();
        } else if (!strcmp(argv[i], "--workdir") && i + 1 < argc) {
            wd = argv[++i];
        } else if (!strcmp(argv[i], "--keep-short-words")) {
            keep_short = 1;
        } else if (!strcmp(argv[i], "--verbose")) {
            verbose = 1;
        } else if (!strcmp(argv[i], "--keep")) {
            keep = 1;
        } else if (!strcmp(argv[i], "--no-contentless")) {
            do_contentless = 0;
        } else if (!strcmp(argv[i], "--write-readme")) {
            readme = ND_SOURCE_DIR "/bench/README.md";
            if (i + 1 < argc && strncmp(argv[i + 1], "--", 2))
                readme = argv[++i];
        } else {
            usage();
        }
    }
    if (!ncorpus || !nqfiles)
        usage();
    for (size_t i = 0; i < nqfiles; i++)
        read_queries(qfiles[i]);
    if (!nq)
        die("no queries");
    if (wd)
        snprintf(workdir, sizeof workdir, "%s", wd);
    else
        snprintf(workdir, sizeof workdir, "/tmp/bench_search.%ld", (long)getpid());
    mkdir(workdir, 0777);
    snprintf(nd_dir, sizeof nd_dir, "%s/newsdex", workdir);
    snprintf(fts_db, sizeof fts_db, "%s/fts5.db", workdir);
    snprintf(fts_cl_db, sizeof fts_cl_db, "%s/fts5-contentless.db", workdir);

    sh = shared_alloc(sizeof *sh);
    size_t cells = (size_t)E_COUNT * C_NCLASS * nq;
    sh->lat = shared_alloc(cells * sizeof *sh->lat);
    sh->total = shared_alloc(cells * sizeof *sh->total);

    double t_all = now_s();
    fts_job j0 = {0}, j1 = {1}, j2 = {2};
    fprintf(stderr, "bench_search: %zu queries; reading the corpus (parse only)...\n", nq);
    sh->rss_parse = run_child(ingest_fts, &j0, "parse");
    fprintf(stderr, "  %" PRIu64 " articles, %.1f MB text, %.1f s\n", sh->parse.docs,
            (double)sh->parse.text_bytes / 1e6, sh->parse.secs);
    fprintf(stderr, "bench_search: newsdex ingest...\n");
    sh->rss_ingest[E_ND] = run_child(ingest_newsdex, NULL, "newsdex ingest");
    fprintf(stderr, "  %.1f s (+ merge %.1f s), %" PRIu64 " docs\n", sh->nd.secs,
            sh->nd.merge_secs, sh->nd.docs);
    fprintf(stderr, "bench_search: FTS5 ingest...\n");
    sh->rss_ingest[E_FTS] = run_child(ingest_fts, &j1, "FTS5 ingest");
    fprintf(stderr, "  %.1f s (+ optimize %.1f s), %" PRIu64 " docs\n", sh->fts.secs,
            sh->fts.merge_secs, sh->fts.docs);
    if (do_contentless) {
        fprintf(stderr, "bench_search: FTS5 contentless ingest (size only)...\n");
        run_child(ingest_fts, &j2, "FTS5 contentless ingest");
        unlink(fts_cl_db);
    }
    if (sh->nd.docs != sh->fts.docs)
        fprintf(stderr, "bench_search: warning: newsdex has %" PRIu64 " articles, FTS5 %" PRIu64
                        "\n", sh->nd.docs, sh->fts.docs);
    pick_date_range();
    fprintf(stderr, "bench_search: newsdex queries...\n");
    sh->rss_query[E_ND] = run_child(query_newsdex, NULL, "newsdex queries");
    fprintf(stderr, "bench_search: FTS5 queries...\n");
    sh->rss_query[E_FTS] = run_child(query_fts, NULL, "FTS5 queries");
    double total = now_s() - t_all;

    report(stdout, total);
    if (readme)
        write_readme(readme, total);
    if (!keep)
        rm_rf(workdir);
    return 0;
}
