/*
 * api.c - the public calls of newsdex.h, turned into module calls. This is
 * where arguments are checked, handles are built and freed, the writer's
 * lock and commit protocol live, and hits are copied out of segment memory
 * into storage the caller can keep until nd_hits_free.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "analysis/analysis.h"
#include "index/index.h"
#include "ingest/ingest.h"
#include "query/query.h"

#define DEFAULT_RAM_BUDGET ((size_t)256 << 20)
#define LOCK_NAME "LOCK"
#define PROGRESS_EVERY ((uint64_t)4 << 20)

/* ---- writer ------------------------------------------------------------- */

struct nd_writer {
    char dir[4096];
    int lock_fd;
    manifest man;      /* the last commit */
    uint64_t next_seg; /* next segment number to hand out */
    nd_analyzer *an;
    memindex *mi;      /* the segment being built, or NULL */
    seg_meta *pending; /* flushed but not yet committed */
    uint32_t n_pending, pending_cap;
    size_t ram_budget;
    int broken;        /* a failure left buffered state inconsistent */
    nd_err err;
    nd_buf scratch;
};

/* Removes the segment files that `keep` does not name (left by a crash, an
 * abandoned writer or a failed flush) and a stale MANIFEST.tmp. Only runs
 * under the writer lock, so no other writer is creating files meanwhile. */
static void remove_orphans(const char *dir, const manifest *keep)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t num;
        int orphan = 0;
        if (seg_file_parse(de->d_name, &num)) {
            orphan = 1;
            for (uint32_t i = 0; i < keep->n_segs; i++)
                if (keep->segs[i].number == num)
                    orphan = 0;
        } else if (strcmp(de->d_name, MANIFEST_NAME ".tmp") == 0) {
            orphan = 1;
        }
        if (orphan) {
            char path[4400];
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

int nd_writer_open(nd_writer **out, const char *dir, const nd_writer_opts *opts)
{
    if (!out)
        return ND_EINVAL;
    *out = NULL;
    if (!dir || !*dir || (opts && opts->version != ND_WRITER_OPTS_VERSION))
        return ND_EINVAL;
    nd_writer *w = calloc(1, sizeof *w);
    if (!w)
        return ND_ENOMEM;
    w->lock_fd = -1;
    int rc = ND_EINVAL;
    if (strlen(dir) >= sizeof w->dir - 64)
        goto fail;
    strcpy(w->dir, dir);
    w->ram_budget = opts && opts->ram_budget ? opts->ram_budget : DEFAULT_RAM_BUDGET;
    if ((rc = make_dir(dir, &w->err)))
        goto fail;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, LOCK_NAME);
    w->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (w->lock_fd < 0) {
        rc = ND_EIO;
        goto fail;
    }
    if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK ? ND_EBUSY : ND_EIO;
        goto fail;
    }
    rc = manifest_read(&w->man, dir, &w->err);
    if (rc == ND_ENOTFOUND) {
        memset(&w->man, 0, sizeof w->man);
        w->man.next_seg = 1;
        rc = ND_OK;
    }
    if (rc)
        goto fail;
    w->next_seg = w->man.next_seg;
    remove_orphans(w->dir, &w->man);
    if ((rc = analyzer_open(&w->an, &w->err)))
        goto fail;
    *out = w;
    return ND_OK;
fail:
    nd_writer_free(w);
    return rc;
}

const char *nd_writer_errmsg(const nd_writer *w)
{
    return w ? w->err.msg : "no writer";
}

static int flush_segment(nd_writer *w)
{
    if (!w->mi)
        return ND_OK;
    if (w->n_pending == w->pending_cap) {
        uint32_t cap = w->pending_cap ? w->pending_cap * 2 : 8;
        seg_meta *p = realloc(w->pending, cap * sizeof *p);
        if (!p)
            return err_set(&w->err, ND_ENOMEM, "out of memory");
        w->pending = p;
        w->pending_cap = cap;
    }
    memindex *mi = w->mi;
    w->mi = NULL;
    int rc = memindex_finish(mi, &w->pending[w->n_pending], &w->err);
    if (rc) {
        w->broken = 1;
        return rc;
    }
    w->n_pending++;
    return ND_OK;
}

int nd_writer_add(nd_writer *w, const nd_doc *doc)
{
    if (!w || !doc)
        return ND_EINVAL;
    if (w->broken)
        return err_set(&w->err, ND_EINVAL, "the writer failed earlier; free it and reopen");
    if (!doc->id || doc->id_len == 0)
        return err_set(&w->err, ND_EINVAL, "article has no id");
    if ((!doc->title && doc->title_len) || (!doc->body && doc->body_len) ||
        (!doc->source && doc->source_len) || (!doc->url && doc->url_len) ||
        (!doc->lang && doc->lang_len))
        return err_set(&w->err, ND_EINVAL, "a field has a length but no text");
    int rc;
    if (!w->mi && (rc = memindex_open(&w->mi, w->dir, w->next_seg++, &w->err)))
        return rc;
    rc = memindex_add(w->mi, w->an, doc, &w->err);
    if (rc) {
        /* the article may be half-added: this segment cannot be trusted */
        memindex_abort(w->mi);
        w->mi = NULL;
        w->broken = 1;
        return rc;
    }
    if (memindex_bytes(w->mi) >= w->ram_budget)
        return flush_segment(w);
    return ND_OK;
}

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

int nd_writer_add_jsonl(nd_writer *w, const char *path, const nd_ingest_opts *opts,
                        nd_ingest_stats *stats)
{
    if (!w || !path || (opts && opts->version != ND_INGEST_OPTS_VERSION))
        return ND_EINVAL;
    nd_ingest_opts o = ND_INGEST_OPTS_INIT;
    if (opts)
        o = *opts;
    nd_ingest_stats local = {0};
    if (!stats)
        stats = &local;
    line_reader *r;
    int rc = line_reader_open(&r, path, &w->err);
    if (rc)
        return rc;
    uint64_t base_read = stats->bytes_read, last_report = 0;
    stats->bytes_total += line_reader_size(r);
    for (;;) {
        const char *line;
        size_t len;
        rc = line_reader_next(r, &line, &len, &w->err);
        if (rc == ND_DONE) {
            rc = ND_OK;
            break;
        }
        if (rc == ND_ELIMIT) {
            stats->lines++;
            stats->skipped++;
            rc = err_set(&w->err, ND_EINVAL, "line longer than %zu bytes", ND_MAX_LINE_BYTES);
        } else if (rc) {
            break;
        } else {
            stats->lines++;
            if (blank(line, len))
                continue;
            rc = nd_writer_add_json(w, line, len);
            if (rc == ND_OK)
                stats->added++;
            else if (rc == ND_EINVAL && !w->broken)
                stats->skipped++;
        }
        if (rc == ND_EINVAL && !w->broken) {
            if (o.on_error)
                o.on_error(o.ctx, path, line_reader_lineno(r), w->err.msg);
            if (o.strict) {
                char why[ND_ERRMSG_MAX];
                memcpy(why, w->err.msg, sizeof why);
                err_set(&w->err, ND_EINVAL, "%.200s:%llu: %.280s", path,
                        (unsigned long long)line_reader_lineno(r), why);
                break;
            }
            rc = ND_OK;
        }
        if (rc)
            break;
        stats->bytes_read = base_read + line_reader_offset(r);
        if (o.on_progress && stats->bytes_read - last_report >= PROGRESS_EVERY) {
            last_report = stats->bytes_read;
            o.on_progress(o.ctx, stats);
        }
    }
    stats->bytes_read = base_read + line_reader_offset(r);
    line_reader_close(r);
    if (o.on_progress)
        o.on_progress(o.ctx, stats);
    return rc;
}

int nd_writer_commit(nd_writer *w)
{
    if (!w)
        return ND_EINVAL;
    if (w->broken)
        return err_set(&w->err, ND_EINVAL, "the writer failed earlier; free it and reopen");
    int rc = flush_segment(w);
    if (rc)
        return rc;
    if (w->n_pending == 0 && w->man.generation > 0)
        return ND_OK;
    /* the new segment files' directory entries are durable before the commit */
    if (w->n_pending > 0 && (rc = fsync_dir(w->dir, &w->err)))
        return rc;
    manifest next = w->man;
    next.generation++;
    next.next_seg = w->next_seg;
    next.n_segs = w->man.n_segs + w->n_pending;
    next.segs = malloc((next.n_segs ? next.n_segs : 1) * sizeof *next.segs);
    if (!next.segs)
        return err_set(&w->err, ND_ENOMEM, "out of memory");
    if (w->man.n_segs)
        memcpy(next.segs, w->man.segs, w->man.n_segs * sizeof *next.segs);
    if (w->n_pending)
        memcpy(next.segs + w->man.n_segs, w->pending, w->n_pending * sizeof *next.segs);
    rc = manifest_write(&next, w->dir, &w->err);
    if (rc) {
        free(next.segs);
        return rc;
    }
    manifest_free(&w->man);
    w->man = next;
    w->n_pending = 0;
    return ND_OK;
}

void nd_writer_free(nd_writer *w)
{
    if (!w)
        return;
    memindex_abort(w->mi);
    if (w->n_pending > 0) {
        /* Flushed segments that no commit names are deleted. The manifest on
         * disk decides: a commit whose rename happened but whose directory
         * sync failed still names them, and then they must stay. */
        manifest disk;
        nd_err e = {{0}};
        int rc = manifest_read(&disk, w->dir, &e);
        if (rc == ND_ENOTFOUND) {
            memset(&disk, 0, sizeof disk);
            rc = ND_OK;
        }
        if (rc == ND_OK) {
            remove_orphans(w->dir, &disk);
            manifest_free(&disk);
        }
    }
    free(w->pending);
    manifest_free(&w->man);
    analyzer_free(w->an);
    buf_free(&w->scratch);
    if (w->lock_fd >= 0)
        close(w->lock_fd); /* releases the flock */
    free(w);
}

/* ---- index ---------------------------------------------------------------- */

int nd_index_open(nd_index **out, const char *dir, const nd_open_opts *opts, char *errbuf,
                  size_t errlen)
{
    nd_err e = {{0}};
    int rc;
    if (errbuf && errlen)
        errbuf[0] = 0;
    if (!out)
        return ND_EINVAL;
    *out = NULL;
    if (!dir || (opts && opts->version != ND_OPEN_OPTS_VERSION)) {
        rc = err_set(&e, ND_EINVAL, "invalid arguments");
        goto done;
    }
    nd_index *ix = calloc(1, sizeof *ix);
    if (!ix) {
        rc = err_set(&e, ND_ENOMEM, "out of memory");
        goto done;
    }
    rc = snapshot_open(ix, dir, opts ? opts->skip_checksums : 0, &e);
    if (rc)
        free(ix);
    else
        *out = ix;
done:
    if (rc && errbuf && errlen)
        snprintf(errbuf, errlen, "%s", e.msg[0] ? e.msg : nd_strerror(rc));
    return rc;
}

void nd_index_free(nd_index *ix)
{
    if (!ix)
        return;
    snapshot_close(ix);
    free(ix);
}

void nd_index_stats_get(const nd_index *ix, nd_index_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!ix)
        return;
    out->docs = ix->docs;
    out->segments = ix->man.n_segs;
    out->generation = ix->man.generation;
    for (uint32_t i = 0; i < ix->man.n_segs; i++) {
        const segment *s = &ix->segs[i];
        out->terms += s->n_terms;
        out->bytes_terms += s->meta.size[0];
        out->bytes_postings += s->meta.size[1];
        out->bytes_positions += s->meta.size[2];
        out->bytes_columns += s->meta.size[3];
        out->bytes_stored += s->meta.size[4];
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", ix->dir, MANIFEST_NAME);
    long long n = file_size(path);
    out->bytes_other = n > 0 ? (uint64_t)n : 0;
}

/* ---- search --------------------------------------------------------------- */

struct nd_search {
    nd_index *ix;
    nd_analyzer *an;
    nd_err err;
    nd_buf block;          /* the last decompressed stored block */
    uint32_t cached_seg;
    uint32_t cached_block;
    nd_buf snip, marks;
};

/* A hit as offsets into the hits' arena (which may move while it grows). */
typedef struct hit_rec {
    double score;
    size_t off[SF_COUNT], len[SF_COUNT];
    int64_t date;
    size_t snip_off, snip_len;
    size_t marks_off, n_marks; /* in nd_span units */
} hit_rec;

struct nd_hits {
    hit_rec *h;
    size_t n;
    uint64_t total;
    nd_buf arena;
    nd_buf marks;
};

int nd_search_open(nd_search **out, nd_index *ix)
{
    if (!out)
        return ND_EINVAL;
    *out = NULL;
    if (!ix)
        return ND_EINVAL;
    nd_search *s = calloc(1, sizeof *s);
    if (!s)
        return ND_ENOMEM;
    s->ix = ix;
    s->cached_block = UINT32_MAX;
    int rc = analyzer_open(&s->an, &s->err);
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return ND_OK;
}

void nd_search_free(nd_search *s)
{
    if (!s)
        return;
    analyzer_free(s->an);
    buf_free(&s->block);
    buf_free(&s->snip);
    buf_free(&s->marks);
    free(s);
}

const char *nd_search_errmsg(const nd_search *s)
{
    return s ? s->err.msg : "no searcher";
}

static int add_hit(nd_search *s, nd_hits *h, const query *q, const topk_entry *te,
                   int with_snippet)
{
    nd_index *ix = s->ix;
    uint32_t local, si = snapshot_locate(ix, te->doc, &local);
    const segment *seg = &ix->segs[si];
    if (si != s->cached_seg)
        s->cached_block = UINT32_MAX;
    s->cached_seg = si;
    stored_doc sd;
    int rc = segment_stored(seg, local, &s->block, &s->cached_block, &sd, &s->err);
    if (rc)
        return rc;
    hit_rec *r = &h->h[h->n];
    memset(r, 0, sizeof *r);
    r->score = te->score;
    r->date = segment_date(seg, local);
    for (int f = 0; f < SF_COUNT; f++) {
        if (f == SF_BODY)
            continue; /* only the snippet of the body is returned */
        r->off[f] = h->arena.len;
        r->len[f] = sd.len[f];
        if (buf_append(&h->arena, sd.f[f], sd.len[f]))
            return err_set(&s->err, ND_ENOMEM, "out of memory");
    }
    if (with_snippet) {
        const char *text = sd.len[SF_BODY] ? sd.f[SF_BODY] : sd.f[SF_TITLE];
        size_t tlen = sd.len[SF_BODY] ? sd.len[SF_BODY] : sd.len[SF_TITLE];
        if (snippet_make(s->an, text, tlen, q, &s->snip, &s->marks))
            return err_set(&s->err, ND_ENOMEM, "out of memory");
        r->snip_off = h->arena.len;
        r->snip_len = s->snip.len;
        r->marks_off = h->marks.len / sizeof(nd_span);
        r->n_marks = s->marks.len / sizeof(nd_span);
        if (buf_append(&h->arena, s->snip.data, s->snip.len) ||
            buf_append(&h->marks, s->marks.data, s->marks.len))
            return err_set(&s->err, ND_ENOMEM, "out of memory");
    }
    h->n++;
    return ND_OK;
}

int nd_search_run(nd_search *s, nd_hits **out, const char *qs, size_t k,
                  const nd_search_opts *opts)
{
    if (!out)
        return ND_EINVAL;
    *out = NULL;
    if (!s)
        return ND_EINVAL;
    err_clear(&s->err);
    if (!qs)
        return err_set(&s->err, ND_EINVAL, "no query");
    if (opts && opts->version != ND_SEARCH_OPTS_VERSION)
        return err_set(&s->err, ND_EINVAL, "unknown nd_search_opts version %u", opts->version);
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    if (opts)
        o = *opts;
    if (k > ND_MAX_K || o.offset > ND_MAX_K)
        return err_set(&s->err, ND_ELIMIT, "k + offset may be at most %d each", ND_MAX_K);
    if (!(o.bm25.k1 >= 0) || !(o.bm25.b >= 0 && o.bm25.b <= 1) || !(o.bm25.title_weight >= 0) ||
        !(o.bm25.body_weight >= 0))
        return err_set(&s->err, ND_EINVAL, "BM25 parameters out of range");
    query q;
    int rc = query_parse(&q, s->an, qs, strlen(qs), o.default_op, &s->err);
    if (rc)
        return rc;
    nd_hits *h = calloc(1, sizeof *h);
    topk top = {0};
    if (!h || topk_init(&top, k + o.offset)) {
        rc = err_set(&s->err, ND_ENOMEM, "out of memory");
        goto fail;
    }
    rc = exec_search(s->ix, &q, &o.bm25, &top, &h->total, &s->err);
    if (rc)
        goto fail;
    topk_sort(&top);
    size_t n = top.n > o.offset ? top.n - o.offset : 0;
    h->h = calloc(n ? n : 1, sizeof *h->h);
    if (!h->h) {
        rc = err_set(&s->err, ND_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = add_hit(s, h, &q, &top.e[o.offset + i], o.snippets)))
            goto fail;
    topk_free(&top);
    query_free(&q);
    *out = h;
    return ND_OK;
fail:
    topk_free(&top);
    query_free(&q);
    nd_hits_free(h);
    return rc;
}

size_t nd_hits_count(const nd_hits *h)
{
    return h ? h->n : 0;
}

uint64_t nd_hits_total(const nd_hits *h)
{
    return h ? h->total : 0;
}

int nd_hits_get(const nd_hits *h, size_t i, nd_hit *out)
{
    if (!h || !out || i >= h->n)
        return ND_EINVAL;
    const hit_rec *r = &h->h[i];
    const char *a = h->arena.data ? (const char *)h->arena.data : "";
    memset(out, 0, sizeof *out);
    out->score = r->score;
    out->id = a + r->off[SF_ID];
    out->id_len = r->len[SF_ID];
    out->title = a + r->off[SF_TITLE];
    out->title_len = r->len[SF_TITLE];
    out->source = a + r->off[SF_SOURCE];
    out->source_len = r->len[SF_SOURCE];
    out->url = a + r->off[SF_URL];
    out->url_len = r->len[SF_URL];
    out->lang = a + r->off[SF_LANG];
    out->lang_len = r->len[SF_LANG];
    out->date = r->date;
    out->snippet = a + r->snip_off;
    out->snippet_len = r->snip_len;
    out->marks = r->n_marks ? (const nd_span *)h->marks.data + r->marks_off : NULL;
    out->n_marks = r->n_marks;
    return ND_OK;
}

void nd_hits_free(nd_hits *h)
{
    if (!h)
        return;
    free(h->h);
    buf_free(&h->arena);
    buf_free(&h->marks);
    free(h);
}
