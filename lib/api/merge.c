/*
 * merge.c - the merge policy. Segments are grouped in tiers by their live
 * documents: tier t holds segments with merge_factor^t <= live <
 * merge_factor^(t+1) (tier 0 also holds empty ones). Whenever a tier holds
 * merge_factor segments, they are merged into one (which lands in a higher
 * tier) and the result is committed; this repeats until no tier is full.
 * Each tier so keeps fewer than merge_factor segments and the number of
 * segments stays logarithmic in the size of the index. Merges run inside
 * the writer, after a commit; readers are never blocked, and readers of
 * older commits keep their mapped files.
 */
#include <stdlib.h>

#include "api/api.h"

static unsigned tier_of(uint64_t live, unsigned factor)
{
    unsigned t = 0;
    while (live >= factor) {
        live /= factor;
        t++;
    }
    return t;
}

int writer_merge_set(nd_writer *w, const uint32_t *idx, uint32_t n)
{
    const segment **srcs = calloc(n ? n : 1, sizeof *srcs);
    uint8_t *gone = calloc(w->work.n_segs, 1);
    int rc = ND_OK;
    if (!srcs || !gone) {
        rc = err_set(&w->err, ND_ENOMEM, "out of memory");
        goto out;
    }
    uint32_t first = idx[0];
    for (uint32_t i = 0; i < n; i++) {
        /* the merge reads the deletions of the working list */
        w->open[idx[i]].deleted = w->work.segs[idx[i]].deleted;
        srcs[i] = &w->open[idx[i]];
        gone[idx[i]] = 1;
        if (idx[i] < first)
            first = idx[i];
    }
    seg_meta out;
    memset(&out, 0, sizeof out);
    rc = merge_segments(w->dir, (const segment *const *)srcs, n, w->next_seg, &out, &w->err);
    for (uint32_t i = 0; i < n; i++)
        w->open[idx[i]].deleted = NULL;
    if (rc)
        goto out;
    w->next_seg++;
    segment merged;
    if ((rc = segment_open(&merged, w->dir, &out, CHECK_CHUNKS, &w->err)))
        goto out;
    /* rebuild the working list: the merged segment where the first source was */
    uint32_t j = 0;
    for (uint32_t i = 0; i < w->work.n_segs; i++) {
        if (!gone[i]) {
            w->work.segs[j] = w->work.segs[i];
            w->open[j] = w->open[i];
            j++;
        } else if (i == first) {
            free(w->work.segs[i].deleted);
            segment_close(&w->open[i]);
            w->work.segs[j] = out;
            w->open[j] = merged;
            j++;
        } else {
            free(w->work.segs[i].deleted);
            segment_close(&w->open[i]);
        }
    }
    w->work.n_segs = j;
    w->dirty = 1;
out:
    free(srcs);
    free(gone);
    return rc;
}

int writer_auto_merge(nd_writer *w)
{
    unsigned f = w->merge_factor;
    if (f < 2)
        return ND_OK; /* automatic merges are off */
    for (;;) {
        uint32_t n = w->work.n_segs, *idx = malloc((n ? n : 1) * sizeof *idx);
        if (!idx)
            return err_set(&w->err, ND_ENOMEM, "out of memory");
        uint32_t found = 0;
        for (unsigned t = 0; t < 64 && !found; t++) {
            uint32_t k = 0;
            for (uint32_t i = 0; i < n && k < f; i++) {
                const seg_meta *m = &w->work.segs[i];
                if (tier_of(m->docs - m->n_deleted, f) == t)
                    idx[k++] = i;
            }
            if (k == f)
                found = k;
        }
        int rc = ND_OK;
        if (found) {
            rc = writer_merge_set(w, idx, found);
            if (!rc)
                rc = writer_publish(w);
        }
        free(idx);
        if (rc || !found)
            return rc;
    }
}
