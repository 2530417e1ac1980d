/*
 * snapshot.c - one commit of an index, opened for reading: the manifest,
 * every segment it names, and the collection statistics (document count,
 * total field lengths) that BM25 needs across segments. A snapshot never
 * changes; a later commit is seen by opening a new one.
 */
#include <stdlib.h>

#include "index/index.h"

int snapshot_open(nd_index *ix, const char *dir, int skip_crc, nd_err *e)
{
    memset(ix, 0, sizeof *ix);
    if (strlen(dir) >= sizeof ix->dir)
        return err_set(e, ND_EINVAL, "path too long: %s", dir);
    strcpy(ix->dir, dir);
    int rc = manifest_read(&ix->man, dir, e);
    if (rc)
        return rc;
    uint32_t n = ix->man.n_segs;
    ix->segs = calloc(n ? n : 1, sizeof *ix->segs);
    ix->base = calloc(n + 1, sizeof *ix->base);
    if (!ix->segs || !ix->base) {
        snapshot_close(ix);
        return err_set(e, ND_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < n; i++) {
        rc = segment_open(&ix->segs[i], dir, &ix->man.segs[i], skip_crc, e);
        if (rc) {
            /* segments after i were never opened; close the ones before */
            ix->man.n_segs = i;
            snapshot_close(ix);
            return rc;
        }
        ix->base[i] = ix->docs;
        ix->docs += ix->segs[i].docs;
        ix->live_docs += ix->segs[i].docs - ix->segs[i].n_deleted;
        for (int f = 0; f < N_TEXT_FIELDS; f++)
            ix->sum_len[f] += ix->segs[i].sum_len[f];
    }
    ix->base[n] = ix->docs;
    return ND_OK;
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
