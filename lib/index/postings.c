/*
 * postings.c - the cursor over one term's postings in one segment: the
 * small interface (advance to a document, read its frequency and
 * positions) that every query operator is built from. Blocks are decoded
 * one at a time; the skip table lets advance() jump over whole blocks, and
 * carries each block's maximum frequency and shortest document for
 * score bounds. Decoded values are checked (ascending, in range, agreeing
 * with the skip table), so damaged postings end in ND_ECORRUPT.
 */
#include <stddef.h>
#include <stdlib.h>

#include "index/index.h"

static int bad(pcursor *c, nd_err *e, const char *what)
{
    return err_set(e, ND_ECORRUPT, "seg-%llu.doc: term postings: %s",
                   (unsigned long long)c->seg->meta.number, what);
}

/* varint_get with the one- and two-byte cases inline: skip tables are read
 * for every long list a query opens, and their numbers are mostly small. */
static inline int vget(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    const uint8_t *s = *p;
    if (end - s >= 2) {
        if (s[0] < 0x80) {
            *v = s[0];
            *p = s + 1;
            return 0;
        }
        if (s[1] < 0x80) {
            *v = (uint64_t)(s[0] & 0x7f) | (uint64_t)s[1] << 7;
            *p = s + 2;
            return 0;
        }
    }
    return varint_get(p, end, v);
}

int pcursor_open(pcursor *c, const segment *s, int field, const term_info *ti, nd_err *e)
{
    memset(c, 0, offsetof(pcursor, docs)); /* the block arrays are filled before use */
    c->seg = s;
    c->ti = *ti;
    c->field = field;
    c->nb = (ti->df + ND_BLOCK - 1) / ND_BLOCK;
    c->block = c->nb;
    c->doc = 0;
    const uint8_t *p = s->map[FILE_DOC].data + ti->doc_off, *end = p + ti->doc_len;
    c->end = end;
    /* a one-block list is checked whole; a longer one its skip table (at
     * most 5 varints of 10 bytes per block), the blocks as they load */
    uint64_t head = c->nb > 1 ? ND_MIN(ti->doc_len, (uint64_t)50 * c->nb) : ti->doc_len;
    int rc = frame_sums_check(&s->sums[FILE_DOC], ti->doc_off, head, e);
    if (rc)
        return rc;
    if (c->nb > 1) {
        /* one allocation for the skip data: the offsets first (8-byte
         * aligned), then the three u32 arrays; block_off owns it */
        size_t nb = c->nb;
        uint64_t *m = malloc(2 * (nb + 1) * sizeof(uint64_t) + 3 * nb * sizeof(uint32_t));
        if (!m)
            return err_set(e, ND_ENOMEM, "out of memory");
        c->block_off = m;
        c->pos_block_off = m + nb + 1;
        c->last_doc = (uint32_t *)(m + 2 * (nb + 1));
        c->max_tf = c->last_doc + nb;
        c->min_len = c->max_tf + nb;
        uint64_t last = 0, boff = 0, poff = ti->pos_off;
        for (uint32_t b = 0; b < c->nb; b++) {
            uint64_t gap, dbytes, pbytes, mtf, mlen;
            if (vget(&p, end, &gap) || vget(&p, end, &dbytes) ||
                vget(&p, end, &pbytes) || vget(&p, end, &mtf) ||
                vget(&p, end, &mlen) || mtf > UINT32_MAX || mlen > UINT32_MAX) {
                pcursor_close(c);
                return bad(c, e, "bad skip table");
            }
            last += gap;
            if (last >= s->docs || (b > 0 && gap == 0) || dbytes > ti->doc_len ||
                pbytes > ti->pos_len) {
                pcursor_close(c);
                return bad(c, e, "skip entry out of range");
            }
            c->last_doc[b] = (uint32_t)last;
            c->block_off[b] = boff;
            c->pos_block_off[b] = poff;
            c->max_tf[b] = (uint32_t)mtf;
            c->min_len[b] = (uint32_t)mlen;
            boff += dbytes;
            poff += pbytes;
        }
        c->block_off[c->nb] = boff;
        c->pos_block_off[c->nb] = poff;
        if (boff != (uint64_t)(end - p) || poff != ti->pos_off + ti->pos_len) {
            pcursor_close(c);
            return bad(c, e, "skip table does not match the postings size");
        }
    }
    c->blocks = p;
    return ND_OK;
}

void pcursor_close(pcursor *c)
{
    free(c->block_off); /* the whole skip data */
    free(c->pos);
    free((void *)c->group_at);
    free(c->group_done);
    c->group_at = NULL;
    c->group_done = NULL;
    c->group_cap = 0;
    c->last_doc = NULL;
    c->block_off = c->pos_block_off = NULL;
    c->max_tf = c->min_len = NULL;
    c->pos = NULL;
    c->pos_cap = 0;
}

static int unpack(pcursor *c, const uint8_t **p, const uint8_t *end, uint32_t *out, nd_err *e)
{
    if (*p >= end)
        return bad(c, e, "truncated block");
    unsigned bits = **p;
    (*p)++;
    if (bits > 32 || (size_t)(end - *p) < (size_t)16 * bits)
        return bad(c, e, "bad block width");
    bitpack128_unpack(out, *p, bits);
    *p += (size_t)16 * bits;
    return ND_OK;
}

/* Sets bits first .. first + n - 1 of a bitset. */
static void set_range(uint64_t *bits, uint64_t first, uint32_t n)
{
    uint64_t end = first + n;
    while (first < end) {
        unsigned s = (unsigned)(first & 63);
        uint64_t take = ND_MIN(64 - s, end - first);
        uint64_t m = take == 64 ? UINT64_MAX : ((UINT64_C(1) << take) - 1) << s;
        bits[first >> 6] |= m;
        first += take;
    }
}

/* Decodes block b into docs and tfs; or, given bits, sets the bits of its
 * documents instead, without keeping them or decoding frequencies. */
static int read_block(pcursor *c, uint32_t b, uint64_t *bits, nd_err *e)
{
    const uint8_t *p, *end;
    uint32_t n;
    if (c->nb > 1) {
        p = c->blocks + c->block_off[b];
        end = c->blocks + c->block_off[b + 1];
    } else {
        p = c->blocks;
        end = c->end;
    }
    if (c->nb > 1) {
        const segment *s = c->seg;
        int rc = frame_sums_check(&s->sums[FILE_DOC], (uint64_t)(p - s->map[FILE_DOC].data),
                                  (uint64_t)(end - p), e);
        if (rc)
            return rc;
    }
    n = b + 1 < c->nb ? ND_BLOCK : c->ti.df - b * ND_BLOCK;
    uint64_t doc = b == 0 ? (uint64_t)-1 : c->last_doc[b - 1];
    int set_bits = bits != NULL;
    if (n == ND_BLOCK && p < end && *p == DOC_DENSE) {
        uint64_t len;
        uint32_t top;
        p++;
        if (c->seg->doc_version < DOC_VERSION || vget(&p, end, &len) || len > (uint64_t)(end - p) ||
            dense_span(p, (size_t)len, &top))
            return bad(c, e, "bad bitmap block");
        uint64_t first = doc + 1;
        doc = first + top;
        if (doc >= c->seg->docs)
            return bad(c, e, "document out of range");
        uint32_t set = bits ? dense_or(bits, p, (size_t)len, (uint32_t)first)
                            : dense_unpack(c->docs, p, (size_t)len, (uint32_t)first);
        if (set != ND_BLOCK)
            return bad(c, e, "bad bitmap block");
        set_bits = 0;
        p += len;
    } else if (n == ND_BLOCK) {
        /* gaps to documents fused with the unpacking; the sequence only
         * increases, so checking the last document checks them all */
        if (p >= end || *p > 32 || (size_t)(end - p - 1) < (size_t)16 * *p)
            return bad(c, e, "bad block width");
        unsigned w = *p++;
        if (w == 0 && bits) { /* 128 consecutive documents */
            uint64_t first = doc + 1;
            doc += ND_BLOCK;
            if (doc >= c->seg->docs)
                return bad(c, e, "document out of range");
            set_range(bits, first, ND_BLOCK);
            set_bits = 0;
        } else {
            doc += bitpack128_unpack_delta1(c->docs, p, w, (uint32_t)doc);
            p += (size_t)16 * w;
            if (doc >= c->seg->docs)
                return bad(c, e, "document out of range");
        }
    }
    if (n == ND_BLOCK) {
        if (c->no_tf || bits) { /* step over the packed frequencies */
            if (p >= end || *p > 32 || (size_t)(end - p - 1) < (size_t)16 * *p)
                return bad(c, e, "bad block width");
            p += 1 + (size_t)16 * *p;
        } else {
            int rc = unpack(c, &p, end, c->tfs, e);
            if (rc)
                return rc;
            uint32_t zero = 0;
            for (uint32_t i = 0; i < n; i++) {
                c->tfs[i] += 1;
                zero |= c->tfs[i] == 0;
            }
            if (zero)
                return bad(c, e, "bad frequency");
        }
    } else {
        for (uint32_t i = 0; i < n; i++) {
            uint64_t v, tf = 0;
            if (vget(&p, end, &v))
                return bad(c, e, "truncated tail block");
            if (!(v & 1) && (vget(&p, end, &tf) || tf == 0 || tf >= UINT32_MAX))
                return bad(c, e, "bad frequency");
            doc += (v >> 1) + 1;
            if (doc >= c->seg->docs)
                return bad(c, e, "document out of range");
            c->docs[i] = (uint32_t)doc;
            c->tfs[i] = (uint32_t)tf + 1;
        }
    }
    if (p != end || (c->nb > 1 && doc != c->last_doc[b]))
        return bad(c, e, "block does not match the skip table");
    if (set_bits)
        for (uint32_t i = 0; i < n; i++)
            bits[c->docs[i] >> 6] |= UINT64_C(1) << (c->docs[i] & 63);
    if (bits)
        return ND_OK;
    c->block = b;
    c->n = n;
    c->i = 0;
    c->pos_loaded = 0;
    return ND_OK;
}

static int load_block(pcursor *c, uint32_t b, nd_err *e)
{
    return read_block(c, b, NULL, e);
}

int pcursor_collect(pcursor *c, uint64_t *bits, nd_err *e)
{
    for (uint32_t b = 0; b < c->nb; b++) {
        int rc = read_block(c, b, bits, e);
        if (rc)
            return rc;
    }
    c->block = c->nb;
    c->doc = ND_NO_DOC;
    return ND_OK;
}

int pcursor_advance(pcursor *c, uint32_t target, nd_err *e)
{
    if (c->doc == ND_NO_DOC || pcursor_advance_here(c, target))
        return ND_OK;
    /* next block that can hold target: the skip table, galloping */
    uint32_t b = c->block < c->nb ? c->block + 1 : 0;
    if (c->nb > 1 && b < c->nb && c->last_doc[b] < target) {
        uint32_t lo = b + 1, step = 1;
        while (lo + step < c->nb && c->last_doc[lo + step] < target) {
            lo += step + 1;
            step *= 2;
        }
        uint32_t hi = ND_MIN(c->nb, lo + step + 1);
        while (lo < hi) { /* first block in [lo, hi) whose last doc >= target */
            uint32_t mid = lo + (hi - lo) / 2;
            if (c->last_doc[mid] < target)
                lo = mid + 1;
            else
                hi = mid;
        }
        b = lo;
    }
    if (b >= c->nb) {
        c->doc = ND_NO_DOC;
        return ND_OK;
    }
    int rc = load_block(c, b, e);
    if (rc)
        return rc;
    if (c->docs[c->n - 1] < target) { /* only possible in the last block without skip data */
        c->doc = ND_NO_DOC;
        return ND_OK;
    }
    c->i = pcursor_seek_in_block(c->docs, 0, c->n, target);
    c->doc = c->docs[c->i];
    return ND_OK;
}

int pcursor_shallow(pcursor *c, uint32_t d, uint32_t *max_tf, uint32_t *min_len, uint32_t *last,
                    nd_err *e)
{
    if (c->nb > 1) {
        while (c->shallow < c->nb && c->last_doc[c->shallow] < d)
            c->shallow++;
        if (c->shallow == c->nb)
            return ND_DONE;
        *max_tf = c->max_tf[c->shallow];
        *min_len = c->min_len[c->shallow];
        *last = c->last_doc[c->shallow];
        return ND_OK;
    }
    if (!c->one_ready) {
        if (c->nb == 0)
            return ND_DONE;
        if (c->block != 0) { /* not loaded yet: the cursor has not moved */
            int rc = load_block(c, 0, e);
            if (rc)
                return rc;
        }
        uint32_t mtf = 0, mlen = UINT32_MAX, len = 1;
        for (uint32_t i = 0; i < c->n; i++) {
            mtf = ND_MAX(mtf, c->no_tf ? UINT32_MAX : c->tfs[i]);
            if (c->field < N_TEXT_FIELDS) {
                int rc = segment_len_at(c->seg, c->field, c->docs[i], &len, e);
                if (rc)
                    return rc;
            }
            mlen = ND_MIN(mlen, len);
        }
        c->one_max_tf = mtf;
        c->one_min_len = mlen;
        c->one_last = c->docs[c->n - 1];
        c->one_ready = 1;
    }
    if (d > c->one_last)
        return ND_DONE;
    *max_tf = c->one_max_tf;
    *min_len = c->one_min_len;
    *last = c->one_last;
    return ND_OK;
}

static int bad_pos(const pcursor *c, nd_err *e, const char *what)
{
    return err_set(e, ND_ECORRUPT, "seg-%llu.pos: %s", (unsigned long long)c->seg->meta.number,
                   what);
}

/* First use of the loaded block's positions: where each document's start
 * (from the frequencies) and where each packed group of 128 starts in .pos
 * (from the group headers, without decoding them). */
static int positions_index(pcursor *c, nd_err *e)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        c->pos_start[i] = (uint32_t)total;
        total += c->tfs[i];
        if (total > UINT32_MAX)
            return bad(c, e, "too many positions");
    }
    c->pos_start[c->n] = (uint32_t)total;
    const segment *s = c->seg;
    uint64_t off = c->nb > 1 ? c->pos_block_off[c->block] : c->ti.pos_off;
    uint64_t lim = c->nb > 1 ? c->pos_block_off[c->block + 1] : c->ti.pos_off + c->ti.pos_len;
    /* a packed block of 128 values takes at least one byte */
    if (total > (lim - off) * ND_BLOCK)
        return bad_pos(c, e, "frequencies exceed the positions");
    int rc = frame_sums_check(&s->sums[FILE_POS], off, lim - off, e);
    if (rc)
        return rc;
    uint32_t groups = (uint32_t)(total / ND_BLOCK);
    if (total > c->pos_cap) {
        uint32_t *q = realloc(c->pos, total * sizeof *q);
        if (!q)
            return err_set(e, ND_ENOMEM, "out of memory");
        c->pos = q;
        c->pos_cap = total;
    }
    if (groups + 1 > c->group_cap) {
        const uint8_t **g = realloc((void *)c->group_at, (groups + 1) * sizeof *g);
        if (g)
            c->group_at = g;
        uint8_t *gd = realloc(c->group_done, groups + 1);
        if (gd)
            c->group_done = gd;
        if (!g || !gd)
            return err_set(e, ND_ENOMEM, "out of memory");
        c->group_cap = groups + 1;
    }
    const uint8_t *p = s->map[FILE_POS].data + off, *end = s->map[FILE_POS].data + lim;
    for (uint32_t g = 0; g < groups; g++) {
        if (p >= end || *p > 32 || (size_t)(end - p - 1) < (size_t)16 * *p)
            return bad_pos(c, e, "bad positions");
        c->group_at[g] = p;
        p += 1 + (size_t)16 * *p;
    }
    c->group_at[groups] = p; /* the varint tail */
    memset(c->group_done, 0, groups + 1);
    c->tail_p = NULL;
    c->tail_n = 0;
    c->pos_end = end;
    c->n_groups = groups;
    c->pos_total = (uint32_t)total;
    memset(c->pos_done, 0, sizeof c->pos_done);
    c->pos_loaded = 1;
    return ND_OK;
}

/* Decodes the groups holding positions [a, b) of the loaded block. */
static int positions_decode(pcursor *c, uint32_t a, uint32_t b, nd_err *e)
{
    for (uint32_t g = a / ND_BLOCK; g <= (b - 1) / ND_BLOCK && g <= c->n_groups; g++) {
        if (c->group_done[g])
            continue;
        const uint8_t *p = c->group_at[g];
        if (g < c->n_groups) {
            bitpack128_unpack(c->pos + (size_t)g * ND_BLOCK, p + 1, *p);
            c->group_done[g] = 1;
            continue;
        }
        /* the varint tail, decoded as far as needed and resumed later */
        uint32_t *out = c->pos + (size_t)g * ND_BLOCK;
        uint32_t want = b - g * ND_BLOCK, tail = c->pos_total - g * ND_BLOCK;
        p = c->tail_p ? c->tail_p : p;
        for (uint32_t k = c->tail_n; k < want; k++) {
            uint64_t v;
            if (vget(&p, c->pos_end, &v) || v > UINT32_MAX)
                return bad_pos(c, e, "bad positions");
            out[k] = (uint32_t)v;
        }
        c->tail_p = p;
        c->tail_n = ND_MAX(c->tail_n, want);
        if (c->tail_n == tail) {
            if (p != c->pos_end)
                return bad_pos(c, e, "bad positions");
            c->group_done[g] = 1;
        }
    }
    return ND_OK;
}

int pcursor_positions(pcursor *c, const uint32_t **pos, uint32_t *n, nd_err *e)
{
    if (c->field >= N_TEXT_FIELDS) {
        *pos = NULL;
        *n = 0;
        return ND_OK;
    }
    int rc;
    if (!c->pos_loaded && (rc = positions_index(c, e)))
        return rc;
    /* only the groups and the gaps of this document: a phrase usually looks
     * at a few documents of a block */
    uint32_t i = c->i, a = c->pos_start[i], b = c->pos_start[i + 1];
    if (!((c->pos_done[i >> 6] >> (i & 63)) & 1)) {
        if (b > a && (rc = positions_decode(c, a, b, e)))
            return rc;
        uint64_t prev = 0;
        for (uint32_t k = a; k < b; k++) {
            prev += c->pos[k];
            if (prev > UINT32_MAX || (k > a && c->pos[k] == 0))
                return bad_pos(c, e, "positions out of order");
            c->pos[k] = (uint32_t)prev;
        }
        c->pos_done[i >> 6] |= (uint64_t)1 << (i & 63);
    }
    *pos = c->pos + a;
    *n = b - a;
    return ND_OK;
}
