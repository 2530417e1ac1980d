/*
 * merge.c - the merge mechanism: several segments in, one segment out,
 * without analysing a single article again. Deleted documents are dropped
 * and the live ones renumbered densely, source after source; the terms of
 * all sources are merged in key order (a heap of dictionary iterators),
 * each term's postings and positions decoded through the ordinary checked
 * cursors, remapped and handed to the segment writer; stored records are
 * copied byte for byte, and whole compressed blocks are copied as they are
 * where compressing them again would give the same bytes (most of them:
 * compression is nearly all of a merge's work otherwise); the ids of a
 * copied block come from its source's id column (from its records for a
 * source written before the column existed). Because
 * segwrite.c makes every encoding decision for memindex too, merging
 * segments gives the very files a single writer session would have
 * produced from the same articles. Which segments to merge, and when, is
 * the caller's business.
 */
#include <stdlib.h>

#include "index/index.h"

typedef struct msrc {
    const segment *seg;
    uint32_t base;   /* new id of the source's document 0 (no deletions) */
    uint32_t *remap; /* old id -> new id or ND_NO_DOC; NULL without deletions */
    term_iter it;
    size_t released[FILE_KINDS]; /* bytes of each file given back (map_unload) */
} msrc;

/* Postings and positions are read front to back, term after term: every
 * 16 MiB, give the pages behind the reader back to the page cache, so that
 * a merge's resident memory does not grow with its input. */
#define RELEASE_STEP ((size_t)16 << 20)
#define RELEASE_ALIGN ((size_t)64 << 10) /* a multiple of every page size in use */

static void release_upto(msrc *s, int kind, uint64_t file_off)
{
    const nd_map *mp = &s->seg->map[kind];
    size_t end = (size_t)file_off - (size_t)file_off % RELEASE_ALIGN;
    if (end >= s->released[kind] + RELEASE_STEP) {
        map_unload(mp, s->released[kind], end - s->released[kind]);
        s->released[kind] = end;
    }
}

typedef struct merger {
    msrc *src;
    uint32_t n;
    uint32_t *heap; /* source indexes, ordered by (current key, index) */
    uint32_t n_heap;
    /* the merged term being built */
    uint32_t *docs, *tfs, *pos;
    size_t docs_cap, tfs_cap, pos_cap, n_pos;
} merger;

static int keycmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

/* ---- the heap of dictionary iterators ----------------------------------- */

static int before(const merger *m, uint32_t a, uint32_t b)
{
    const term_iter *x = &m->src[a].it, *y = &m->src[b].it;
    int c = keycmp(x->key, x->klen, y->key, y->klen);
    return c < 0 || (c == 0 && a < b);
}

static void sift_down(merger *m, uint32_t i)
{
    uint32_t *h = m->heap;
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < m->n_heap && before(m, h[l], h[min]))
            min = l;
        if (r < m->n_heap && before(m, h[r], h[min]))
            min = r;
        if (min == i)
            return;
        uint32_t t = h[i];
        h[i] = h[min];
        h[min] = t;
        i = min;
    }
}

static void push(merger *m, uint32_t s)
{
    uint32_t *h = m->heap, i = m->n_heap++;
    h[i] = s;
    while (i > 0 && before(m, h[i], h[(i - 1) / 2])) {
        uint32_t p = (i - 1) / 2, t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static uint32_t pop(merger *m)
{
    uint32_t top = m->heap[0];
    m->heap[0] = m->heap[--m->n_heap];
    sift_down(m, 0);
    return top;
}

/* ---- one term ------------------------------------------------------------ */

static int grow_u32(uint32_t **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return ND_OK;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    if (c > SIZE_MAX / sizeof **p)
        return ND_ENOMEM;
    uint32_t *q = realloc(*p, c * sizeof *q);
    if (!q)
        return ND_ENOMEM;
    *p = q;
    *cap = c;
    return ND_OK;
}

/* Appends source s's live postings of its current term to the merged term. */
static int add_postings(merger *m, msrc *s, uint32_t *df, nd_err *e)
{
    int field = s->it.key[0];
    pcursor c;
    int rc = pcursor_open(&c, s->seg, field, &s->it.ti, e);
    if (rc)
        return rc;
    for (rc = pcursor_advance(&c, 0, e); !rc && c.doc != ND_NO_DOC;
         rc = pcursor_advance(&c, c.doc + 1, e)) {
        uint32_t nd = s->remap ? s->remap[c.doc] : s->base + c.doc;
        if (nd == ND_NO_DOC)
            continue; /* deleted */
        m->docs[*df] = nd;
        m->tfs[*df] = pcursor_tf(&c);
        (*df)++;
        if (field < N_TEXT_FIELDS) {
            const uint32_t *p;
            uint32_t np;
            if ((rc = pcursor_positions(&c, &p, &np, e)))
                break;
            if (grow_u32(&m->pos, &m->pos_cap, m->n_pos + np)) {
                rc = err_set(e, ND_ENOMEM, "out of memory merging positions");
                break;
            }
            memcpy(m->pos + m->n_pos, p, (size_t)np * sizeof *p);
            m->n_pos += np;
        }
    }
    pcursor_close(&c);
    release_upto(s, FILE_DOC, s->it.ti.doc_off + s->it.ti.doc_len);
    if (field < N_TEXT_FIELDS)
        release_upto(s, FILE_POS, s->it.ti.pos_off + s->it.ti.pos_len);
    return rc;
}

static int merge_terms(merger *m, segwriter *sw, nd_err *e)
{
    static const uint8_t none[1] = {0};
    for (uint32_t i = 0; i < m->n; i++) {
        msrc *s = &m->src[i];
        int rc = term_iter_seek(&s->it, s->seg, none, 0, e);
        if (!rc)
            rc = term_iter_next(&s->it, e);
        if (rc == ND_OK)
            push(m, i);
        else if (rc != ND_DONE)
            return rc;
    }
    uint8_t key[ND_MAX_TERM_KEY];
    while (m->n_heap > 0) {
        const term_iter *top = &m->src[m->heap[0]].it;
        size_t klen = top->klen;
        memcpy(key, top->key, klen);
        /* every source holding this key, in source order (the heap breaks
         * ties by index) */
        uint32_t df = 0;
        size_t bound = 0;
        m->n_pos = 0;
        int rc;
        while (m->n_heap > 0) {
            msrc *s = &m->src[m->heap[0]];
            if (keycmp(s->it.key, s->it.klen, key, klen) != 0)
                break;
            pop(m);
            bound += s->it.ti.df;
            if (grow_u32(&m->docs, &m->docs_cap, bound) || grow_u32(&m->tfs, &m->tfs_cap, bound))
                return err_set(e, ND_ENOMEM, "out of memory merging postings");
            if ((rc = add_postings(m, s, &df, e)))
                return rc;
            rc = term_iter_next(&s->it, e);
            if (rc == ND_OK) {
                /* the reader checks order within a dictionary block only */
                if (keycmp(s->it.key, s->it.klen, key, klen) <= 0)
                    return err_set(e, ND_ECORRUPT, "seg-%llu.tdx: keys out of order",
                                   (unsigned long long)s->seg->meta.number);
                push(m, (uint32_t)(s - m->src));
            } else if (rc != ND_DONE) {
                return rc;
            }
        }
        if (df == 0)
            continue; /* every document holding the term is deleted */
        int text = key[0] < N_TEXT_FIELDS;
        if (text && !m->pos && grow_u32(&m->pos, &m->pos_cap, 1))
            return err_set(e, ND_ENOMEM, "out of memory merging positions");
        if ((rc = segwriter_term(sw, key, klen, df, m->docs, m->tfs, text ? m->pos : NULL, e)))
            return rc;
    }
    return ND_OK;
}

/* ---- documents: numbering, columns, stored records ----------------------- */

/* Numbers the live documents and builds the new columns. */
static int build_columns(merger *m, seg_columns *cols, uint8_t *lens[N_TEXT_FIELDS],
                         uint8_t **dates, nd_err *e)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        msrc *s = &m->src[i];
        const segment *seg = s->seg;
        int rc = segment_check_columns(seg, e); /* all of them are copied below */
        if (rc)
            return rc;
        s->base = (uint32_t)total;
        int any = 0;
        for (uint32_t d = 0; d < seg->docs && !any; d++)
            any = segment_deleted(seg, d);
        if (!any) {
            total += seg->docs;
        } else {
            s->remap = malloc((size_t)seg->docs * sizeof *s->remap);
            if (!s->remap)
                return err_set(e, ND_ENOMEM, "out of memory");
            for (uint32_t d = 0; d < seg->docs; d++)
                s->remap[d] = segment_deleted(seg, d) ? ND_NO_DOC : (uint32_t)total++;
        }
        if (total > ND_MAX_SEG_DOCS)
            return err_set(e, ND_ELIMIT, "merged segment would hold over %u documents",
                           (unsigned)ND_MAX_SEG_DOCS);
    }
    size_t docs = (size_t)total;
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        if (!(lens[f] = malloc(docs ? docs * 4 : 1)))
            return err_set(e, ND_ENOMEM, "out of memory");
    if (!(*dates = malloc(docs ? docs * 8 : 1)))
        return err_set(e, ND_ENOMEM, "out of memory");
    memset(cols, 0, sizeof *cols);
    cols->docs = (uint32_t)total;
    size_t k = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        const segment *seg = m->src[i].seg;
        for (uint32_t d = 0; d < seg->docs; d++) {
            if (segment_deleted(seg, d))
                continue;
            for (int f = 0; f < N_TEXT_FIELDS; f++) {
                uint32_t len = segment_len(seg, f, d);
                st_u32(lens[f] + k * 4, len);
                cols->sum_len[f] += len;
            }
            memcpy(*dates + k * 8, seg->dates + (size_t)d * 8, 8);
            k++;
        }
    }
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        cols->lens[f] = lens[f];
    cols->dates = *dates;
    return ND_OK;
}

/* A stored id must be a valid id term (1..ND_MAX_TERM_BYTES bytes): from a
 * source, anything else is damage. */
static int check_id(const segment *seg, uint32_t d, size_t len, nd_err *e)
{
    if (len == 0 || len > ND_MAX_TERM_BYTES)
        return err_set(e, ND_ECORRUPT, "seg-%llu: the id of document %u is %zu bytes",
                       (unsigned long long)seg->meta.number, d, len);
    return ND_OK;
}

/* Hands the ids of documents first..end-1 of seg to sto, for a block about
 * to be copied whole. */
static int copy_ids(const segment *seg, uint32_t first, uint32_t end, stowriter *sto,
                    nd_buf *block, uint32_t *cached, nd_err *e)
{
    for (uint32_t d = first; d < end; d++) {
        const char *id;
        size_t len;
        int rc = segment_doc_id(seg, d, block, cached, &id, &len, e);
        if (!rc)
            rc = check_id(seg, d, len, e);
        if (!rc)
            rc = stowriter_add_id(sto, id, len, e);
        if (rc)
            return rc;
    }
    return ND_OK;
}

/* Block b of seg, documents first..end-1, can be copied compressed as it
 * is when a writer starting a new block with the same records would write
 * the very same block: no block is open on the output side, none of its
 * documents is deleted, and it was closed by the writer's rule (it reached
 * STORED_BLOCK_TARGET only with its last record). Its records are still
 * decoded (*ok = 0 if they do not fill the block exactly), so damage is
 * reported as it is on the slow path. Saves compressing it again. */
static int copy_block(const segment *seg, uint32_t b, uint32_t first, uint32_t end,
                      stowriter *sto, nd_buf *block, uint32_t *cached, int *ok, nd_err *e)
{
    const stored_block *sb = &seg->sblocks[b];
    *ok = 0;
    if (sto->block.len != 0 || sb->ulen < STORED_BLOCK_TARGET)
        return ND_OK;
    for (uint32_t d = first; d < end; d++)
        if (segment_deleted(seg, d))
            return ND_OK;
    stored_doc last;
    int rc = segment_stored(seg, end - 1, block, cached, &last, e);
    if (rc)
        return rc;
    const uint8_t *rec = (const uint8_t *)last.f[SF_ID] - varint_len(last.len[SF_ID]);
    const uint8_t *rec_end = (const uint8_t *)last.f[SF_LANG] + last.len[SF_LANG];
    if (rec_end != block->data + block->len ||
        (size_t)(rec - block->data) >= STORED_BLOCK_TARGET)
        return ND_OK;
    *ok = 1;
    if ((rc = copy_ids(seg, first, end, sto, block, cached, e)))
        return rc;
    return stowriter_add_block(sto, seg->map[FILE_STO].data + sb->off, sb->clen, sb->ulen, end - first,
                               e);
}

static int copy_stored(merger *m, stowriter *sto, nd_err *e)
{
    nd_buf block = {0};
    int rc = ND_OK;
    for (uint32_t i = 0; i < m->n && !rc; i++) {
        const segment *seg = m->src[i].seg;
        uint32_t cached = UINT32_MAX, b = 0;
        for (uint32_t d = 0; d < seg->docs && !rc; d++) {
            if (b < seg->n_sblocks && seg->sblocks[b].first == d) {
                /* the first document of block b */
                uint32_t end = b + 1 < seg->n_sblocks ? seg->sblocks[b + 1].first : seg->docs;
                int copied;
                rc = copy_block(seg, b++, d, end, sto, &block, &cached, &copied, e);
                if (rc)
                    break;
                if (copied) {
                    d = end - 1;
                    continue;
                }
            }
            if (segment_deleted(seg, d))
                continue;
            stored_doc sd;
            rc = segment_stored(seg, d, &block, &cached, &sd, e);
            if (!rc)
                rc = check_id(seg, d, sd.len[SF_ID], e);
            if (!rc)
                rc = stowriter_add(sto, &sd, e);
        }
        /* read once, front to back: its pages need not stay in this process */
        map_unload(&seg->map[FILE_STO], 0, seg->map[FILE_STO].len);
    }
    buf_free(&block);
    return rc;
}

int merge_segments(const char *dir, const segment *const *srcs, uint32_t n, uint64_t number,
                   seg_meta *meta, nd_err *e)
{
    memset(meta, 0, sizeof *meta);
    if (!dir || (n > 0 && !srcs))
        return err_set(e, ND_EINVAL, "merge: no directory or no sources");
    merger m;
    memset(&m, 0, sizeof m);
    m.n = n;
    m.src = calloc(n ? n : 1, sizeof *m.src);
    m.heap = malloc((n ? n : 1) * sizeof *m.heap);
    uint8_t *lens[N_TEXT_FIELDS] = {NULL, NULL, NULL}, *dates = NULL;
    stowriter sto;
    memset(&sto, 0, sizeof sto);
    sto.f.fd = -1;
    segwriter *sw = NULL;
    int rc;
    if (!m.src || !m.heap) {
        rc = err_set(e, ND_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < n; i++)
        m.src[i].seg = srcs[i];
    seg_columns cols;
    if ((rc = build_columns(&m, &cols, lens, &dates, e)) ||
        (rc = stowriter_open(&sto, dir, number, e)))
        goto out;
    if ((rc = segwriter_open(&sw, dir, number, &cols, e)))
        goto out;
    if ((rc = copy_stored(&m, &sto, e)) || (rc = merge_terms(&m, sw, e)))
        goto out;
    rc = segwriter_finish(sw, &sto, meta, e); /* releases both, removes all on failure */
    sw = NULL;
out:
    if (rc) {
        segwriter_abort(sw);
        stowriter_abort(&sto);
        memset(meta, 0, sizeof *meta);
    }
    for (uint32_t i = 0; m.src && i < n; i++)
        free(m.src[i].remap);
    free(m.src);
    free(m.heap);
    free(m.docs);
    free(m.tfs);
    free(m.pos);
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        free(lens[f]);
    free(dates);
    return rc;
}
