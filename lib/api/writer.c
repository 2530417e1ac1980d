/*
 * writer.c - the public nd_writer calls: argument checks, the writer lock,
 * adds and deletes by id, flushing the segment being built under the RAM
 * budget, and commits. api.h explains the working state.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "api/api.h"

#define DEFAULT_RAM_BUDGET ((size_t)256 << 20)
#define DEFAULT_MERGE_FACTOR 10
#define LOCK_NAME "LOCK"

/* Removes the segment files that `keep` does not name (left by a crash, an
 * abandoned writer, a failed flush, or replaced by a merge) and a stale
 * layout-1 MANIFEST.tmp. Only runs under the writer lock, so no other
 * writer is creating files meanwhile; readers map every file of their
 * snapshot when they open it, so removing a file does not disturb them. */
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

static int grow_open(nd_writer *w, uint32_t n)
{
    if (n <= w->open_cap)
        return ND_OK;
    uint32_t cap = w->open_cap ? w->open_cap * 2 : 16;
    while (cap < n)
        cap *= 2;
    segment *o = realloc(w->open, cap * sizeof *o);
    seg_meta *m = realloc(w->work.segs, cap * sizeof *m);
    if (o)
        w->open = o;
    if (m)
        w->work.segs = m;
    if (!o || !m)
        return ND_ENOMEM;
    w->open_cap = cap;
    return ND_OK;
}

/* Compares a requested setting (NULL = not asked) with the index's. */
static int same_setting(nd_writer *w, const char *what, const char *asked, const char *has)
{
    if (!asked || strcmp(asked, has) == 0)
        return ND_OK;
    if (!*has)
        return err_set(&w->err, ND_EINVAL,
                       "%s: the index was created with no %s; %s '%.64s' was asked for", w->dir,
                       what, what, asked);
    if (!*asked)
        return err_set(&w->err, ND_EINVAL,
                       "%s: the index was created with %s '%s'; no %s was asked for", w->dir,
                       what, has, what);
    return err_set(&w->err, ND_EINVAL,
                   "%s: the index was created with %s '%s'; %s '%.64s' was asked for", w->dir,
                   what, has, what, asked);
}

/* The requested settings (NULL = none) into *s, checked: the names must be
 * known whether the index is new or not. */
static int requested_settings(nd_writer *w, const char *stemmer, const char *stopwords,
                              analysis_settings *s)
{
    memset(s, 0, sizeof *s);
    size_t stem_len = stemmer ? strlen(stemmer) : 0;
    size_t stop_len = stopwords ? strlen(stopwords) : 0;
    if (stem_len >= sizeof s->stemmer)
        return err_set(&w->err, ND_EINVAL, "unknown stemmer '%.64s'", stemmer);
    if (stop_len >= sizeof s->stopwords)
        return err_set(&w->err, ND_EINVAL, "unknown stop list '%.64s'", stopwords);
    /* s is zeroed, so the copies stay terminated */
    if (stem_len)
        memcpy(s->stemmer, stemmer, stem_len);
    if (stop_len)
        memcpy(s->stopwords, stopwords, stop_len);
    return analysis_settings_check(s, &w->err);
}

/* Settles the analysis settings: a new index takes the requested ones; an
 * existing one keeps its own, which a request (not NULL) must match. */
static int settle_settings(nd_writer *w, const char *stemmer, const char *stopwords,
                           const analysis_settings *want, int exists)
{
    analysis_settings *s = &w->work.settings;
    if (!exists) {
        *s = *want;
        return ND_OK;
    }
    int rc = same_setting(w, "stemmer", stemmer, s->stemmer);
    return rc ? rc : same_setting(w, "stop list", stopwords, s->stopwords);
}

const char *const *nd_stemmers(void)
{
    return stemmer_names();
}

int nd_writer_open(nd_writer **out, const char *dir, const nd_writer_opts *opts)
{
    return nd_writer_open_err(out, dir, opts, NULL, 0);
}

int nd_writer_open_err(nd_writer **out, const char *dir, const nd_writer_opts *opts,
                       char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = 0;
    if (!out)
        return ND_EINVAL;
    *out = NULL;
    if (!dir || !*dir || (opts && (opts->version < 1 || opts->version > ND_WRITER_OPTS_VERSION))) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s",
                     !dir || !*dir ? "no directory" : "unknown nd_writer_opts version");
        return ND_EINVAL;
    }
    /* a version 1 struct ends before the analysis settings */
    const char *stemmer = opts && opts->version >= 2 ? opts->stemmer : NULL;
    const char *stopwords = opts && opts->version >= 2 ? opts->stopwords : NULL;
    nd_writer *w = calloc(1, sizeof *w);
    if (!w)
        return ND_ENOMEM;
    w->lock_fd = -1;
    int rc = ND_EINVAL;
    size_t dir_len = strlen(dir);
    if (dir_len >= sizeof w->dir - 64) {
        err_set(&w->err, rc, "directory name too long");
        goto fail;
    }
    analysis_settings want;
    if ((rc = requested_settings(w, stemmer, stopwords, &want)))
        goto fail;
    memcpy(w->dir, dir, dir_len + 1);
    w->ram_budget = opts && opts->ram_budget ? opts->ram_budget : DEFAULT_RAM_BUDGET;
    w->merge_factor = opts && opts->merge_factor ? opts->merge_factor : DEFAULT_MERGE_FACTOR;
    w->threads = opts && opts->threads > 1 ? opts->threads : 1;
    if (w->threads > ND_MAX_THREADS)
        w->threads = ND_MAX_THREADS;
    if ((rc = make_dir(dir, &w->err)))
        goto fail;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, LOCK_NAME);
    w->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (w->lock_fd < 0) {
        rc = err_set(&w->err, ND_EIO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK ? ND_EBUSY : ND_EIO;
        err_set(&w->err, rc, "%s: %s", path,
                rc == ND_EBUSY ? "the index is locked by another writer" : strerror(errno));
        goto fail;
    }
    rc = manifest_read(&w->work, dir, &w->err);
    int exists = rc == ND_OK;
    if (rc == ND_ENOTFOUND) {
        memset(&w->work, 0, sizeof w->work);
        w->work.next_seg = 1;
        err_clear(&w->err);
        rc = ND_OK;
    }
    if (rc)
        goto fail;
    if (w->work.legacy) {
        /* layout-1 indexes are read-only: ids were not indexed */
        rc = err_set(&w->err, ND_EVERSION,
                     "%s: an index of the first layout (a MANIFEST file) can only be searched",
                     dir);
        goto fail;
    }
    if ((rc = settle_settings(w, stemmer, stopwords, &want, exists)))
        goto fail;
    w->generation = w->work.generation;
    w->next_seg = w->work.next_seg;
    uint32_t n = w->work.n_segs;
    w->work.n_segs = 0;
    if (grow_open(w, n)) {
        w->work.n_segs = n;
        rc = ND_ENOMEM;
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) {
        /* structure is validated, and chunks are checked as they are read
         * (a merge reads them all, so damage is not copied into a segment
         * with new checksums); the whole-file CRCs of version 1 files are
         * not recomputed */
        if ((rc = segment_open(&w->open[i], dir, &w->work.segs[i], CHECK_CHUNKS, &w->err))) {
            for (uint32_t j = i; j < n; j++)
                free(w->work.segs[j].deleted);
            goto fail;
        }
        w->open[i].meta.deleted = NULL;
        w->work.n_segs = i + 1;
    }
    remove_orphans(dir, &w->work);
    if ((rc = analyzer_open_with(&w->an, &w->work.settings, &w->err)))
        goto fail;
    *out = w;
    return ND_OK;
fail:
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "%s", w->err.msg[0] ? w->err.msg : nd_strerror(rc));
    nd_writer_free(w);
    return rc;
}

const char *nd_writer_errmsg(const nd_writer *w)
{
    return w ? w->err.msg : "no writer";
}

/* Marks doc of working segment i deleted (once). */
static int mark_deleted(nd_writer *w, uint32_t i, uint32_t doc)
{
    seg_meta *m = &w->work.segs[i];
    if (!m->deleted) {
        m->deleted = calloc(((size_t)m->docs + 63) / 64, 8);
        if (!m->deleted)
            return err_set(&w->err, ND_ENOMEM, "out of memory");
    }
    uint64_t bit = 1ULL << (doc & 63);
    if (!(m->deleted[doc >> 6] & bit)) {
        m->deleted[doc >> 6] |= bit;
        m->n_deleted++;
        w->dirty = 1;
    }
    return ND_OK;
}

/* Deletes every copy of `id` in working segments [0, upto). */
static int delete_in_older(nd_writer *w, const uint8_t *id, size_t len, uint32_t upto)
{
    uint8_t key[ND_MAX_TERM_KEY];
    if (len > ND_MAX_TERM_BYTES)
        return ND_OK; /* such an id was never indexed */
    key[0] = FIELD_ID;
    memcpy(key + 1, id, len);
    for (uint32_t i = 0; i < upto; i++) {
        term_info ti;
        int rc = segment_term(&w->open[i], key, len + 1, &ti, &w->err);
        if (rc == ND_DONE)
            continue;
        if (rc)
            return rc;
        pcursor c;
        if ((rc = pcursor_open(&c, &w->open[i], FIELD_ID, &ti, &w->err)))
            return rc;
        for (rc = pcursor_advance(&c, 0, &w->err); !rc && c.doc != ND_NO_DOC;
             rc = pcursor_advance(&c, c.doc + 1, &w->err))
            if ((rc = mark_deleted(w, i, c.doc)))
                break;
        pcursor_close(&c);
        if (rc)
            return rc;
    }
    return ND_OK;
}

/* Takes a segment just written to w->work.segs[w->work.n_segs] (when
 * wrote) into the working list, marks the documents its batch replaced,
 * and applies the batch's adds and deletes by id to every older segment;
 * then empties ids and sup. */
static int take_flushed(nd_writer *w, int wrote, nd_strmap *ids, nd_buf *sup)
{
    int rc;
    uint32_t older = w->work.n_segs;
    if (wrote) {
        seg_meta *m = &w->work.segs[older];
        if ((rc = segment_open(&w->open[older], w->dir, m, CHECK_CHUNKS, &w->err)))
            goto broken;
        w->work.n_segs++;
        /* copies replaced within the batch */
        const uint64_t *bits = (const uint64_t *)sup->data;
        for (uint32_t d = 0; d < m->docs; d++)
            if (bits && d / 64 < sup->len / 8 && (bits[d >> 6] >> (d & 63)) & 1 &&
                (rc = mark_deleted(w, older, d)))
                goto broken;
        w->dirty = 1;
    }
    for (uint32_t k = 0; k < strmap_count(ids); k++) {
        const uint8_t *id;
        size_t len;
        uint64_t v;
        strmap_at(ids, k, &id, &len, &v);
        if ((rc = delete_in_older(w, id, len, older)))
            goto broken;
    }
    strmap_clear(ids);
    buf_free(sup);
    return ND_OK;
broken:
    w->broken = 1;
    return rc;
}

/* A segment written on a thread of its own, with its batch's ids and
 * replaced documents (see api.h). */
typedef struct bg_flush {
    pthread_t tid;
    memindex *mi; /* freed by memindex_finish */
    seg_meta meta;
    int rc;
    nd_err err;
    nd_strmap ids;
    nd_buf superseded;
} bg_flush;

static void *bg_main(void *arg)
{
    bg_flush *b = arg;
    b->rc = memindex_finish(b->mi, &b->meta, &b->err);
    return NULL;
}

/* Takes a finished background flush into the working list. */
static int bg_take(nd_writer *w, bg_flush *b)
{
    int rc = b->rc;
    if (rc) {
        err_set(&w->err, rc, "%s", b->err.msg);
        w->broken = 1;
    } else {
        w->work.segs[w->work.n_segs] = b->meta; /* room was made at the start */
        rc = take_flushed(w, 1, &b->ids, &b->superseded);
    }
    strmap_clear(&b->ids);
    buf_free(&b->superseded);
    free(b);
    return rc;
}

/* Waits for the background flush, if any, and takes its segment. */
static int bg_join(nd_writer *w)
{
    bg_flush *b = w->bg;
    if (!b)
        return ND_OK;
    pthread_join(b->tid, NULL);
    w->bg = NULL;
    return bg_take(w, b);
}

/* Writes the segment being built (if any), then applies the batch's adds
 * and deletes by id to every older segment. A background flush is joined
 * first. */
static int flush(nd_writer *w)
{
    int rc = bg_join(w);
    if (rc)
        return rc;
    if (w->mi && memindex_docs(w->mi) == 0) {
        memindex_abort(w->mi);
        w->mi = NULL;
    }
    int wrote = 0;
    if (w->mi) {
        if ((rc = grow_open(w, w->work.n_segs + 1)))
            return err_set(&w->err, rc, "out of memory");
        memindex *mi = w->mi;
        w->mi = NULL;
        if ((rc = memindex_finish(mi, &w->work.segs[w->work.n_segs], &w->err))) {
            w->broken = 1;
            return rc;
        }
        wrote = 1;
    }
    return take_flushed(w, wrote, &w->ids, &w->superseded);
}

/* flush for a batch that reached the RAM budget in a writer with threads:
 * the segment is written on a thread of its own while adds go on into the
 * next one (see api.h). Without a thread, as flush. */
static int flush_behind(nd_writer *w)
{
    int rc = bg_join(w);
    if (rc)
        return rc;
    bg_flush *b = w->mi && memindex_docs(w->mi) ? calloc(1, sizeof *b) : NULL;
    if (!b)
        return flush(w);
    if ((rc = grow_open(w, w->work.n_segs + 1))) {
        free(b);
        return err_set(&w->err, rc, "out of memory");
    }
    b->mi = w->mi;
    b->ids = w->ids;
    b->superseded = w->superseded;
    w->mi = NULL;
    memset(&w->ids, 0, sizeof w->ids);
    memset(&w->superseded, 0, sizeof w->superseded);
    if (pthread_create(&b->tid, NULL, bg_main, b) != 0) {
        bg_main(b);
        return bg_take(w, b);
    }
    w->bg = b;
    return ND_OK;
}

static int check_doc(nd_writer *w, const nd_doc *doc)
{
    if (w->broken)
        return err_set(&w->err, ND_EINVAL, "the writer failed earlier; free it and reopen");
    if (!doc->id || doc->id_len == 0)
        return err_set(&w->err, ND_EINVAL, "article has no id");
    if (doc->id_len > ND_MAX_TERM_BYTES)
        return err_set(&w->err, ND_EINVAL, "article id longer than %d bytes", ND_MAX_TERM_BYTES);
    if ((!doc->title && doc->title_len) || (!doc->body && doc->body_len) ||
        (!doc->source && doc->source_len) || (!doc->url && doc->url_len) ||
        (!doc->lang && doc->lang_len))
        return err_set(&w->err, ND_EINVAL, "a field has a length but no text");
    return ND_OK;
}

/* Records that id now lives at local doc `v` of the batch (or is deleted),
 * marking the batch copy it replaces. */
static int note_id(nd_writer *w, const char *id, size_t len, uint64_t v)
{
    uint64_t old = ND_ID_DELETED;
    int had = strmap_put(&w->ids, id, len, v, &old);
    if (had < 0)
        return err_set(&w->err, ND_ENOMEM, "out of memory");
    if (had && old != ND_ID_DELETED) {
        size_t word = (size_t)(old >> 6);
        if (w->superseded.len < (word + 1) * 8) {
            size_t grow = (word + 1) * 8 - w->superseded.len;
            if (buf_reserve(&w->superseded, grow))
                return err_set(&w->err, ND_ENOMEM, "out of memory");
            memset(w->superseded.data + w->superseded.len, 0, grow);
            w->superseded.len += grow;
        }
        ((uint64_t *)w->superseded.data)[word] |= 1ULL << (old & 63);
    }
    w->dirty = 1;
    return ND_OK;
}

int writer_add(nd_writer *w, const nd_doc *doc, const doc_tokens *toks)
{
    int rc = check_doc(w, doc);
    if (rc)
        return rc;
    if (!w->mi) {
        if ((rc = memindex_open(&w->mi, w->dir, w->next_seg++, &w->err)))
            return rc;
        /* compressing the stored articles is the largest serial step */
        if (w->threads > 1)
            memindex_store_thread(w->mi);
    }
    uint32_t local = memindex_docs(w->mi);
    rc = toks ? memindex_add_tokens(w->mi, doc, toks, &w->err)
              : memindex_add(w->mi, w->an, doc, &w->err);
    if (rc) {
        /* the article may be half-added: this segment cannot be trusted */
        memindex_abort(w->mi);
        w->mi = NULL;
        w->broken = 1;
        return rc;
    }
    if ((rc = note_id(w, doc->id, doc->id_len, local))) {
        w->broken = 1;
        return rc;
    }
    if (memindex_bytes(w->mi) + strmap_bytes(&w->ids) + w->superseded.cap >= w->ram_budget)
        return w->threads > 1 ? flush_behind(w) : flush(w);
    return ND_OK;
}

int nd_writer_add(nd_writer *w, const nd_doc *doc)
{
    if (!w || !doc)
        return ND_EINVAL;
    return writer_add(w, doc, NULL);
}

int nd_writer_delete(nd_writer *w, const char *id, size_t len)
{
    if (!w || (!id && len))
        return ND_EINVAL;
    if (w->broken)
        return err_set(&w->err, ND_EINVAL, "the writer failed earlier; free it and reopen");
    if (len == 0)
        return err_set(&w->err, ND_EINVAL, "empty id");
    int rc = note_id(w, id, len, ND_ID_DELETED);
    if (rc) {
        w->broken = 1;
        return rc;
    }
    if (strmap_bytes(&w->ids) >= w->ram_budget)
        return flush(w);
    return ND_OK;
}

/* Drops segments whose every document is deleted from the working list. */
static void drop_empty(nd_writer *w)
{
    uint32_t j = 0;
    for (uint32_t i = 0; i < w->work.n_segs; i++) {
        seg_meta *m = &w->work.segs[i];
        if (m->n_deleted == m->docs) {
            free(m->deleted);
            segment_close(&w->open[i]);
            continue;
        }
        w->work.segs[j] = *m;
        w->open[j] = w->open[i];
        j++;
    }
    w->work.n_segs = j;
}

int writer_publish(nd_writer *w)
{
    int rc;
    /* the segment files' directory entries are durable before the commit */
    if ((rc = fsync_dir(w->dir, &w->err)))
        return rc;
    w->work.generation = w->generation + 1;
    w->work.next_seg = w->next_seg;
    if ((rc = manifest_write(&w->work, w->dir, &w->err)))
        return rc;
    w->generation++;
    w->dirty = 0;
    if ((rc = fsync_dir(w->dir, &w->err))) /* a new catalog file's entry */
        return rc;
    remove_orphans(w->dir, &w->work);
    return ND_OK;
}

int nd_writer_commit(nd_writer *w)
{
    if (!w)
        return ND_EINVAL;
    if (w->broken)
        return err_set(&w->err, ND_EINVAL, "the writer failed earlier; free it and reopen");
    int rc = flush(w);
    if (rc)
        return rc;
    if (!w->dirty && w->generation > 0)
        return ND_OK;
    drop_empty(w);
    if ((rc = writer_publish(w)))
        return rc;
    return writer_auto_merge(w);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int nd_writer_merge(nd_writer *w, size_t max_segments)
{
    if (!w)
        return ND_EINVAL;
    if (max_segments == 0)
        return err_set(&w->err, ND_EINVAL, "max_segments must be at least 1");
    int rc = nd_writer_commit(w);
    if (rc)
        return rc;
    while (w->work.n_segs > max_segments) {
        /* the smallest segments (by live documents) merge into one */
        uint32_t n = w->work.n_segs, take = (uint32_t)(n - max_segments + 1);
        uint32_t *idx = malloc(n * sizeof *idx);
        if (!idx)
            return err_set(&w->err, ND_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < n; i++)
            idx[i] = i;
        for (uint32_t i = 0; i < take; i++) /* partial selection sort: n is small */
            for (uint32_t j = i + 1; j < n; j++) {
                const seg_meta *a = &w->work.segs[idx[i]], *b = &w->work.segs[idx[j]];
                if (b->docs - b->n_deleted < a->docs - a->n_deleted) {
                    uint32_t t = idx[i];
                    idx[i] = idx[j];
                    idx[j] = t;
                }
            }
        /* merged in segment order, so documents keep the order they were
         * added in (which breaks ties between equal scores and dates) */
        qsort(idx, take, sizeof *idx, cmp_u32);
        rc = writer_merge_set(w, idx, take);
        free(idx);
        if (!rc)
            rc = writer_publish(w);
        if (rc)
            return rc;
    }
    /* one segment with deletions left: rewrite it without them */
    if (max_segments == 1 && w->work.n_segs == 1 && w->work.segs[0].n_deleted > 0) {
        uint32_t only = 0;
        if ((rc = writer_merge_set(w, &only, 1)) || (rc = writer_publish(w)))
            return rc;
    }
    return ND_OK;
}

void nd_writer_free(nd_writer *w)
{
    if (!w)
        return;
    bg_join(w); /* its segment is uncommitted: removed below */
    memindex_abort(w->mi);
    /* open is NULL when the open failed before the segments were opened */
    for (uint32_t i = 0; w->open && i < w->work.n_segs; i++)
        segment_close(&w->open[i]);
    if (w->dirty && w->lock_fd >= 0) {
        /* Segments flushed since the last commit are deleted. The catalog on
         * disk decides: a commit whose transaction happened but whose
         * directory sync failed still names them, and then they must stay. */
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
    free(w->open);
    manifest_free(&w->work);
    strmap_clear(&w->ids);
    buf_free(&w->superseded);
    writer_pipe_free(w);
    analyzer_free(w->an);
    buf_free(&w->scratch);
    if (w->lock_fd >= 0)
        close(w->lock_fd); /* releases the flock */
    free(w);
}
