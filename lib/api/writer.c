/*
 * writer.c - the public nd_writer calls: argument checks, the writer lock,
 * buffering articles into segments under the RAM budget, reading JSON Lines
 * files, and the commit protocol.
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
    int rc = memindex_finish(mi, &w->pending[w->n_pending], NULL, &w->err);
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
    rc = memindex_add(w->mi, w->an, doc, 0, &w->err);
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
