/*
 * jsonl.c - articles from JSON: one object (nd_writer_add_json) or a whole
 * JSON Lines file, plain or gzip, with bad lines reported and counted
 * (nd_writer_add_jsonl).
 *
 * With the writer's threads option above 1 the file goes through a
 * pipeline. The calling thread reads lines into a fixed ring of batches;
 * worker threads, each with its own analyzer, take queued batches in ring
 * order and parse and analyse every line of one (the batch owns the JSON
 * scratch buffers and the doc_tokens its nd_docs point into); the calling
 * thread takes finished batches back strictly in ring order - input order
 * - and handles each line exactly as the one-thread loop does (same
 * counts, reports, strict stop and progress, through the same take_line),
 * adding articles with writer_add. Only the calling thread touches the
 * writer and calls back, so the index and the reports do not depend on the
 * number of threads. Workers never wait for the calling thread, so it may
 * stop at any line: it raises `stop` and joins them, and they finish at
 * most the batch in hand. Memory is the ring: 2 * threads batches of at
 * most BATCH_LINES lines or BATCH_BYTES of text (or one longer line). The
 * ring, with each line's buffers grown to fit the articles it held, and
 * the workers' analyzers stay with the writer from one file to the next
 * (nd_writer_free frees them): an archive of many small files does not
 * set them up and grow them again for each.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/api.h"
#include "ingest/ingest.h"

#define PROGRESS_EVERY ((uint64_t)4 << 20)
#define BATCH_LINES 256
#define BATCH_BYTES ((size_t)4 << 20)
#define KEEP_BYTES ((size_t)1 << 20) /* per-line buffers above this are freed after use */

int nd_writer_add_json(nd_writer *w, const char *json, size_t len)
{
    if (!w || (!json && len))
        return ND_EINVAL;
    nd_doc doc;
    char why[256];
    int rc = json_parse_article(json, len, &w->scratch, &doc, why, sizeof why);
    if (rc == ND_EINVAL)
        return err_set(&w->err, ND_EINVAL, "%s", why);
    if (rc)
        return err_set(&w->err, rc, "out of memory parsing JSON");
    return nd_writer_add(w, &doc);
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* ---- one line, whoever parsed it ---------------------------------------- */

typedef struct ingest {
    nd_writer *w;
    const char *path;
    nd_ingest_opts o;
    nd_ingest_stats *stats;
    uint64_t base_read, last_report;
} ingest;

enum line_kind { LINE_JSON, LINE_BLANK, LINE_LONG };

/* A line as the workers leave it. */
typedef struct line_result {
    enum line_kind kind;
    int rc;       /* json_parse_article's result (LINE_JSON) */
    char why[256]; /* its reason for ND_EINVAL */
    nd_doc doc;
    doc_tokens toks; /* doc's analysis, when rc is ND_OK */
} line_result;

/* Counts and reports one line read, and adds its article: from `res` when
 * a worker parsed it, else parsing it here (`line`). `read_rc` is
 * line_reader_next's result (ND_OK or ND_ELIMIT), `offset` the reader's
 * offset just after the line. Returns ND_OK to go on, else the code to
 * stop with. */
static int take_line(ingest *g, int read_rc, const char *line, size_t len,
                     const line_result *res, uint64_t lineno, uint64_t offset)
{
    nd_writer *w = g->w;
    nd_ingest_stats *stats = g->stats;
    int rc;
    if (read_rc == ND_ELIMIT) {
        stats->lines++;
        stats->skipped++;
        rc = err_set(&w->err, ND_EINVAL, "line longer than %zu bytes", ND_MAX_LINE_BYTES);
    } else {
        stats->lines++;
        if (res ? res->kind == LINE_BLANK : blank(line, len))
            return ND_OK;
        if (!res)
            rc = nd_writer_add_json(w, line, len);
        else if (res->rc == ND_EINVAL)
            rc = err_set(&w->err, ND_EINVAL, "%s", res->why);
        else if (res->rc)
            rc = err_set(&w->err, res->rc, "out of memory parsing JSON");
        else
            rc = writer_add(w, &res->doc, &res->toks);
        if (rc == ND_OK)
            stats->added++;
        else if (rc == ND_EINVAL && !w->broken)
            stats->skipped++;
    }
    if (rc == ND_EINVAL && !w->broken) {
        if (g->o.on_error)
            g->o.on_error(g->o.ctx, g->path, lineno, w->err.msg);
        if (g->o.strict) {
            char why[ND_ERRMSG_MAX];
            memcpy(why, w->err.msg, sizeof why);
            err_set(&w->err, ND_EINVAL, "%.200s:%llu: %.280s", g->path,
                    (unsigned long long)lineno, why);
            return rc;
        }
        rc = ND_OK;
    }
    if (rc)
        return rc;
    stats->bytes_read = g->base_read + offset;
    if (g->o.on_progress && stats->bytes_read - g->last_report >= PROGRESS_EVERY) {
        g->last_report = stats->bytes_read;
        g->o.on_progress(g->o.ctx, stats);
    }
    return ND_OK;
}

/* The loop on the calling thread alone. */
static int ingest_serial(ingest *g, line_reader *r)
{
    for (;;) {
        const char *line;
        size_t len;
        int rc = line_reader_next(r, &line, &len, &g->w->err);
        if (rc == ND_DONE)
            return ND_OK;
        if (rc && rc != ND_ELIMIT)
            return rc;
        if ((rc = take_line(g, rc, line, len, NULL, line_reader_lineno(r),
                            line_reader_offset(r))))
            return rc;
    }
}

/* ---- the pipeline --------------------------------------------------------- */

enum batch_state { B_FREE, B_QUEUED, B_BUSY, B_DONE };

typedef struct pline {
    size_t off, len;  /* the line's bytes in batch.text */
    int read_rc;      /* ND_OK or ND_ELIMIT */
    uint64_t lineno;
    uint64_t offset;  /* reader offset after the line */
    nd_buf scratch;   /* res.doc's strings */
    line_result res;
} pline;

typedef struct batch {
    enum batch_state state; /* under pipeline.mu */
    nd_buf text;
    pline *lines;           /* BATCH_LINES */
    size_t n;
} batch;

typedef struct worker {
    struct pipeline *p;
    nd_analyzer *an;
    tok_scratch scratch;
    pthread_t tid;
} worker;

typedef struct pipeline {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a batch was queued, or stop */
    pthread_cond_t done; /* a batch was finished */
    int stop;
    size_t n_batches;
    batch *ring;
    size_t claim;        /* the next batch for a worker, under mu */
    worker *workers;     /* threads */
    unsigned threads;
    unsigned n_workers;  /* started */
} pipeline;

static void work_batch(batch *b, nd_analyzer *an, tok_scratch *sc)
{
    for (size_t i = 0; i < b->n; i++) {
        pline *l = &b->lines[i];
        line_result *res = &l->res;
        const char *s = (const char *)b->text.data + l->off;
        res->kind = LINE_JSON;
        if (l->read_rc == ND_ELIMIT) {
            res->kind = LINE_LONG;
        } else if (blank(s, l->len)) {
            res->kind = LINE_BLANK;
        } else {
            res->rc = json_parse_article(s, l->len, &l->scratch, &res->doc, res->why,
                                         sizeof res->why);
            if (res->rc == ND_OK)
                doc_tokens_analyse(&res->toks, sc, an, &res->doc); /* failure kept in toks */
        }
    }
}

static void *worker_main(void *arg)
{
    worker *wk = arg;
    pipeline *p = wk->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->ring[p->claim].state != B_QUEUED)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stop)
            break;
        batch *b = &p->ring[p->claim];
        p->claim = (p->claim + 1) % p->n_batches;
        b->state = B_BUSY;
        pthread_mutex_unlock(&p->mu);
        work_batch(b, wk->an, &wk->scratch);
        if (tok_scratch_bytes(&wk->scratch) > 4 * KEEP_BYTES) /* after a long article */
            tok_scratch_free(&wk->scratch);
        pthread_mutex_lock(&p->mu);
        b->state = B_DONE;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void stop_workers(pipeline *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n_workers; i++)
        pthread_join(p->workers[i].tid, NULL);
    p->n_workers = 0;
}

static void free_pipe(pipeline *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->ring && i < p->n_batches; i++) {
        batch *b = &p->ring[i];
        for (size_t k = 0; b->lines && k < BATCH_LINES; k++) {
            buf_free(&b->lines[k].scratch);
            doc_tokens_free(&b->lines[k].res.toks);
        }
        free(b->lines);
        buf_free(&b->text);
    }
    free(p->ring);
    for (unsigned i = 0; p->workers && i < p->threads; i++) {
        analyzer_free(p->workers[i].an);
        tok_scratch_free(&p->workers[i].scratch);
    }
    free(p->workers);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void writer_pipe_free(nd_writer *w)
{
    free_pipe(w->pipe);
    w->pipe = NULL;
}

/* Sets up the ring and the workers' analyzers, with the index's analysis
 * settings (threads start later). */
static int init_pipe(pipeline *p, unsigned threads, const analysis_settings *set, nd_err *e)
{
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = threads;
    p->n_batches = (size_t)threads * 2;
    p->ring = calloc(p->n_batches, sizeof *p->ring);
    p->workers = calloc(threads, sizeof *p->workers);
    if (!p->ring || !p->workers)
        return err_set(e, ND_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->n_batches; i++)
        if (!(p->ring[i].lines = calloc(BATCH_LINES, sizeof *p->ring[i].lines)))
            return err_set(e, ND_ENOMEM, "out of memory");
    for (unsigned i = 0; i < threads; i++) {
        int rc = analyzer_open_with(&p->workers[i].an, set, e);
        if (rc)
            return rc;
        p->workers[i].p = p;
    }
    return ND_OK;
}

/* Frees what one long line left in a batch slot, so that the ring's
 * memory stays near BATCH_BYTES per batch. */
static void trim_batch(batch *b)
{
    if (b->text.cap > 2 * BATCH_BYTES)
        buf_free(&b->text);
    buf_reset(&b->text);
    for (size_t k = 0; k < b->n; k++) {
        pline *l = &b->lines[k];
        if (l->scratch.cap > KEEP_BYTES)
            buf_free(&l->scratch);
        if (doc_tokens_bytes(&l->res.toks) > 4 * KEEP_BYTES)
            doc_tokens_free(&l->res.toks);
        l->res.rc = ND_OK;
    }
    b->n = 0;
}

/* Makes the ring ready for the next call, once its workers have stopped:
 * every batch free and empty, and the next claim at the ring's start. */
static void reset_pipe(pipeline *p)
{
    for (size_t i = 0; i < p->n_batches; i++) {
        trim_batch(&p->ring[i]);
        p->ring[i].state = B_FREE;
    }
    p->claim = 0;
    p->stop = 0;
}

/* Reads lines into b until it is full or the input ends. At the end of
 * input (or on a read error) sets *eof, *end_rc (ND_OK or the error) and
 * *end_offset. */
static int fill_batch(batch *b, line_reader *r, nd_err *re, int *eof, int *end_rc,
                      uint64_t *end_offset)
{
    while (b->n < BATCH_LINES && b->text.len < BATCH_BYTES) {
        const char *line;
        size_t len;
        int rc = line_reader_next(r, &line, &len, re);
        if (rc != ND_OK && rc != ND_ELIMIT) {
            *eof = 1;
            *end_rc = rc == ND_DONE ? ND_OK : rc;
            *end_offset = line_reader_offset(r);
            return ND_OK;
        }
        pline *l = &b->lines[b->n];
        l->read_rc = rc;
        l->lineno = line_reader_lineno(r);
        l->offset = line_reader_offset(r);
        l->off = b->text.len;
        l->len = rc == ND_OK ? len : 0;
        if (l->len && buf_append(&b->text, line, len))
            return err_set(re, ND_ENOMEM, "out of memory reading %s", "lines");
        b->n++;
    }
    return ND_OK;
}

static int ingest_parallel(ingest *g, line_reader *r, pipeline *p)
{
    nd_writer *w = g->w;
    nd_err re = {{0}}; /* the reader's messages, kept apart from the writer's */
    size_t fill = 0, cons = 0, queued = 0;
    int eof = 0, end_rc = ND_OK, rc = ND_OK;
    uint64_t end_offset = 0;
    for (;;) {
        /* keep the ring full of work first */
        if (!eof && queued < p->n_batches) {
            batch *b = &p->ring[fill];
            if ((rc = fill_batch(b, r, &re, &eof, &end_rc, &end_offset))) {
                err_set(&w->err, rc, "%s", re.msg);
                break;
            }
            if (b->n > 0) {
                pthread_mutex_lock(&p->mu);
                b->state = B_QUEUED;
                pthread_cond_signal(&p->work);
                pthread_mutex_unlock(&p->mu);
                fill = (fill + 1) % p->n_batches;
                queued++;
            }
            continue;
        }
        if (queued == 0) {
            /* everything read has been taken */
            if (end_rc)
                err_set(&w->err, end_rc, "%s", re.msg);
            rc = end_rc;
            g->stats->bytes_read = g->base_read + end_offset;
            break;
        }
        batch *b = &p->ring[cons];
        pthread_mutex_lock(&p->mu);
        while (b->state != B_DONE)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
        for (size_t k = 0; k < b->n && !rc; k++) {
            pline *l = &b->lines[k];
            rc = take_line(g, l->read_rc, NULL, 0, &l->res, l->lineno, l->offset);
            if (rc) /* where the one-thread loop would have stopped reading */
                g->stats->bytes_read = g->base_read + l->offset;
        }
        trim_batch(b);
        pthread_mutex_lock(&p->mu);
        b->state = B_FREE;
        pthread_mutex_unlock(&p->mu);
        cons = (cons + 1) % p->n_batches;
        queued--;
        if (rc)
            break;
    }
    return rc;
}

int nd_writer_add_jsonl(nd_writer *w, const char *path, const nd_ingest_opts *opts,
                        nd_ingest_stats *stats)
{
    if (!w || !path || (opts && opts->version != ND_INGEST_OPTS_VERSION))
        return ND_EINVAL;
    ingest g = {w, path, ND_INGEST_OPTS_INIT, stats, 0, 0};
    if (opts)
        g.o = *opts;
    nd_ingest_stats local = {0};
    if (!g.stats)
        g.stats = &local;
    line_reader *r;
    int rc = line_reader_open(&r, path, &w->err);
    if (rc)
        return rc;
    g.base_read = g.stats->bytes_read;
    g.stats->bytes_total += line_reader_size(r);
    /* the ring and the analyzers stay with the writer for its next file;
     * the threads run for this one only */
    pipeline *p = NULL;
    if (w->threads > 1 && !w->broken) {
        if (!w->pipe) {
            if (!(w->pipe = calloc(1, sizeof *w->pipe))) {
                line_reader_close(r);
                return err_set(&w->err, ND_ENOMEM, "out of memory");
            }
            if ((rc = init_pipe(w->pipe, w->threads, &w->work.settings, &w->err))) {
                writer_pipe_free(w);
                line_reader_close(r);
                return rc;
            }
        }
        p = w->pipe;
        /* a thread that cannot be started is done without */
        for (unsigned i = 0; i < w->threads; i++) {
            if (pthread_create(&p->workers[i].tid, NULL, worker_main, &p->workers[i]) != 0)
                break;
            p->n_workers++;
        }
        if (p->n_workers == 0)
            p = NULL;
    }
    if (p) {
        line_reader_readahead(r);
        rc = ingest_parallel(&g, r, p);
        stop_workers(p);
        reset_pipe(p);
    } else {
        rc = ingest_serial(&g, r);
        g.stats->bytes_read = g.base_read + line_reader_offset(r);
    }
    line_reader_close(r);
    if (g.o.on_progress)
        g.o.on_progress(g.o.ctx, g.stats);
    return rc;
}
