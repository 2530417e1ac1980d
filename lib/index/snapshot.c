/*
 * snapshot.c - one commit of an index, opened for reading: the catalog's
 * list of segments, every segment with its deletions, and the collection
 * statistics (document count, total field lengths) that BM25 needs across
 * segments. A snapshot never changes; a later commit is seen by opening a
 * new one (nd_index_reopen reuses what it can).
 *
 * A writer removes the files of segments a new commit no longer names
 * right after that commit. A reader maps every file when it opens, so it
 * is not disturbed afterwards; if the files vanish between reading the
 * catalog and mapping them, the catalog has moved on, and the open starts
 * again with the newer commit.
 */
#include <stdlib.h>

#include "index/index.h"

#define OPEN_RETRIES 20

/* 1 if prev holds the same segment files (number and checksums) as m. */
static int verified_before(const nd_index *prev, const seg_meta *m)
{
    if (!prev)
        return 0;
    for (uint32_t i = 0; i < prev->man.n_segs; i++) {
        const seg_meta *p = &prev->man.segs[i];
        if (p->number == m->number && !memcmp(p->crc, m->crc, sizeof p->crc) &&
            !memcmp(p->size, m->size, sizeof p->size))
            return 1;
    }
    return 0;
}

static int open_once(nd_index *ix, const char *dir, int skip_crc, const nd_index *prev,
                     uint64_t *gen, nd_err *e)
{
    int rc = manifest_read(&ix->man, dir, e);
    if (rc)
        return rc;
    *gen = ix->man.generation;
    uint32_t n = ix->man.n_segs;
    ix->segs = calloc(n ? n : 1, sizeof *ix->segs);
    ix->base = calloc(n + 1, sizeof *ix->base);
    if (!ix->segs || !ix->base) {
        snapshot_close(ix);
        return err_set(e, ND_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < n; i++) {
        seg_meta *m = &ix->man.segs[i];
        /* a segment of prev had its whole-file CRCs checked then; chunks
         * are checked again as this snapshot reads them */
        int checks = skip_crc ? 0 : verified_before(prev, m) ? CHECK_CHUNKS : CHECK_ALL;
        rc = segment_open(&ix->segs[i], dir, m, checks, e);
        if (rc) {
            /* segments after i were never opened; close the ones before */
            for (uint32_t j = i; j < n; j++) {
                free(ix->man.segs[j].deleted);
                ix->man.segs[j].deleted = NULL;
            }
            ix->man.n_segs = i;
            snapshot_close(ix);
            return rc;
        }
        /* the segment owns its deletions from here on */
        segment *s = &ix->segs[i];
        s->deleted = m->deleted;
        s->n_deleted = m->n_deleted;
        s->meta.deleted = NULL;
        m->deleted = NULL;
        ix->base[i] = ix->docs;
        ix->docs += s->docs;
        ix->live_docs += s->docs - s->n_deleted;
        for (int f = 0; f < N_TEXT_FIELDS; f++)
            ix->sum_len[f] += s->sum_len[f];
    }
    ix->base[n] = ix->docs;
    return ND_OK;
}

int snapshot_open(nd_index *ix, const char *dir, int skip_crc, const nd_index *prev, nd_err *e)
{
    memset(ix, 0, sizeof *ix);
    size_t dir_len = strlen(dir);
    if (dir_len >= sizeof ix->dir)
        return err_set(e, ND_EINVAL, "path too long: %s", dir);
    int rc = ND_OK;
    for (int attempt = 0; attempt < OPEN_RETRIES; attempt++) {
        uint64_t read = 0, now = 0;
        memset(ix, 0, sizeof *ix);
        memcpy(ix->dir, dir, dir_len + 1);
        rc = open_once(ix, dir, skip_crc, prev, &read, e);
        if (rc == ND_OK || rc == ND_ENOMEM || rc == ND_ENOTFOUND || read == 0)
            return rc;
        /* a commit since the catalog was read may have replaced the
         * segments (their files are gone): open the newer one */
        nd_err e2 = {{0}};
        if (manifest_generation(dir, &now, &e2) != ND_OK || now == read)
            return rc;
    }
    return rc;
}

void snapshot_close(nd_index *ix)
{
    if (ix->segs)
        for (uint32_t i = 0; i < ix->man.n_segs; i++)
            segment_close(&ix->segs[i]);
    free(ix->segs);
    free(ix->base);
    manifest_free(&ix->man);
    ix->segs = NULL;
    ix->base = NULL;
}

uint32_t snapshot_locate(const nd_index *ix, uint64_t g, uint32_t *local)
{
    uint32_t lo = 0, hi = ix->man.n_segs;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ix->base[mid] <= g)
            lo = mid;
        else
            hi = mid;
    }
    *local = (uint32_t)(g - ix->base[lo]);
    return lo;
}
