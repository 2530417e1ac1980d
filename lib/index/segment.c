/*
 * segment.c - opening one immutable segment for reading: map its five
 * files, check each frame against the manifest (size and CRC), and load the
 * small in-memory parts - the term dictionary's block index and the stored
 * articles' block index - and validate the columns (the id column's
 * offsets are checked per document as ids are read). Every length and
 * offset read from disk is checked before use, so a damaged file whose
 * checksum happens to match still gives ND_ECORRUPT, never an
 * out-of-bounds read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <libdeflate.h>

#include "index/index.h"

static const char *const MAGICS[FILE_KINDS] = {"NDTD", "NDPO", "NDPS", "NDCL", "NDST"};

#define CORRUPT(s, kind, ...) corrupt(e, (s)->meta.number, kind, __VA_ARGS__)

static int corrupt(nd_err *e, uint64_t number, int kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int corrupt(nd_err *e, uint64_t number, int kind, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return err_set(e, ND_ECORRUPT, "seg-%llu.%s: %s", (unsigned long long)number,
                   seg_exts[kind], what);
}

/* The id column of a version 2 .col, from file offset `at` to the end of
 * the body: offsets[docs + 1] then the ids. Only its ends are checked here
 * (offsets[0] = 0, offsets[docs] = the id bytes left in the body), so that
 * opening does not grow with the documents; each document's pair of
 * offsets is checked when its id is read (segment_doc_id: hits, merges),
 * and all of them by segment_check_ids (nd_check). */
static int open_ids(segment *s, size_t at, nd_err *e)
{
    const uint8_t *p = s->body[FILE_COL];
    size_t n = s->body_len[FILE_COL];
    uint64_t offs = ((uint64_t)s->docs + 1) * 4;
    if (at > n || n - at < offs)
        return CORRUPT(s, FILE_COL, "id column truncated (%u documents)", s->docs);
    const uint8_t *off = p + at;
    uint64_t id_bytes = n - at - offs;
    int rc;
    if ((rc = segment_col_check(s, off, 4, e)) ||
        (rc = segment_col_check(s, off + (size_t)s->docs * 4, 4, e)))
        return rc;
    if (ld_u32(off) != 0)
        return CORRUPT(s, FILE_COL, "id offsets do not start at 0");
    uint32_t last = ld_u32(off + (size_t)s->docs * 4);
    if (last != id_bytes)
        return CORRUPT(s, FILE_COL, "%llu id bytes, the offsets end at %u",
                       (unsigned long long)id_bytes, last);
    s->id_off = off;
    s->ids = off + offs;
    return ND_OK;
}

/* Document d's id, [*a, *b) of the id bytes: ids are 1..ND_MAX_TERM_BYTES
 * long and lie inside the id bytes. */
static int id_range(const segment *s, uint32_t d, uint32_t *a, uint32_t *b, nd_err *e)
{
    const uint8_t *o = s->id_off + (size_t)d * 4;
    uint32_t last = ld_u32(s->id_off + (size_t)s->docs * 4);
    int rc = segment_col_check(s, o, 8, e);
    if (rc)
        return rc;
    *a = ld_u32(o);
    *b = ld_u32(o + 4);
    if (*b <= *a || *b - *a > ND_MAX_TERM_BYTES || *b > last)
        return CORRUPT(s, FILE_COL, "id offset of document %u out of order", d);
    return ND_OK;
}

int segment_check_ids(const segment *s, nd_err *e)
{
    uint32_t a, b;
    for (uint32_t d = 0; s->id_off && d < s->docs; d++)
        if (id_range(s, d, &a, &b, e))
            return ND_ECORRUPT;
    return ND_OK;
}

static int open_columns(segment *s, nd_err *e)
{
    const uint8_t *p = s->body[FILE_COL];
    size_t n = s->body_len[FILE_COL];
    size_t head = 8 + 8 * N_TEXT_FIELDS;
    if (n < head)
        return CORRUPT(s, 3, "truncated header");
    /* a .col with a chunk table: the rest is checked as it is read */
    int rc = frame_sums_check(&s->sums[FILE_COL], FRAME_HEADER, head, e);
    if (rc)
        return rc;
    s->docs = ld_u32(p);
    if (s->docs != s->meta.docs || ld_u32(p + 4) != N_TEXT_FIELDS)
        return CORRUPT(s, 3, "document count %u does not match the manifest (%u)", s->docs,
                       s->meta.docs);
    uint64_t v1_len = head + (uint64_t)s->docs * (4 * N_TEXT_FIELDS + 8);
    /* frame_check let only versions 1 to COL_VERSION through */
    int has_ids = ld_u16(s->map[FILE_COL].data + 4) >= 2;
    if (has_ids ? (uint64_t)n < v1_len : (uint64_t)n != v1_len)
        return CORRUPT(s, 3, "size does not match %u documents", s->docs);
    if (has_ids && (rc = open_ids(s, (size_t)v1_len, e)))
        return rc;
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        s->sum_len[f] = ld_u64(p + 8 + (size_t)8 * f);
    s->lens = p + head;
    s->dates = s->lens + (size_t)s->docs * 4 * N_TEXT_FIELDS;
    if (s->sums[FILE_COL].ok) { /* checked as it is read: remember the groups done */
        size_t groups = ((size_t)s->docs >> COL_GROUP_SHIFT) + 1;
        if (!(s->col_groups = calloc((groups + 63) / 64, sizeof *s->col_groups)))
            return err_set(e, ND_ENOMEM, "out of memory");
    }
    return ND_OK;
}

static int open_termdict(segment *s, nd_err *e)
{
    const uint8_t *body = s->body[FILE_TDX];
    size_t n = s->body_len[FILE_TDX];
    if (n < 24)
        return CORRUPT(s, 0, "truncated trailer");
    const uint8_t *t = body + n - 24;
    int rc = frame_sums_check(&s->sums[FILE_TDX], FRAME_HEADER + n - 24, 24, e);
    if (rc)
        return rc;
    s->n_terms = ld_u64(t);
    uint64_t index_off = ld_u64(t + 8);
    s->n_tblocks = ld_u32(t + 16);
    s->tblock_size = ld_u32(t + 20);
    /* n_tblocks = ceil(n_terms / tblock_size), written without overflow */
    if (s->tblock_size == 0 || s->tblock_size > 4096 ||
        (s->n_tblocks == 0 ? s->n_terms != 0
                           : (s->n_terms <= (uint64_t)(s->n_tblocks - 1) * s->tblock_size ||
                              s->n_terms > (uint64_t)s->n_tblocks * s->tblock_size)))
        return CORRUPT(s, 0, "bad block counts");
    if (index_off < FRAME_HEADER || index_off > FRAME_HEADER + n - 24)
        return CORRUPT(s, 0, "index offset out of range");
    /* an entry of the block index takes at least 10 bytes (offset, key length,
     * key): a count the index cannot hold is damage, not a size to allocate */
    if ((uint64_t)s->n_tblocks * 10 > FRAME_HEADER + n - 24 - index_off)
        return CORRUPT(s, 0, "block count out of range");
    if ((rc = frame_sums_check(&s->sums[FILE_TDX], index_off, FRAME_HEADER + n - 24 - index_off,
                               e)))
        return rc;
    size_t nb = s->n_tblocks ? s->n_tblocks : 1;
    s->tblock_off = malloc(nb * sizeof *s->tblock_off);
    s->tblock_key = malloc(nb * sizeof *s->tblock_key);
    s->tblock_keylen = malloc(nb * sizeof *s->tblock_keylen);
    if (!s->tblock_off || !s->tblock_key || !s->tblock_keylen)
        return err_set(e, ND_ENOMEM, "out of memory");
    const uint8_t *file = s->map[FILE_TDX].data;
    const uint8_t *p = file + index_off, *end = t;
    uint64_t prev_off = 0;
    for (uint32_t i = 0; i < s->n_tblocks; i++) {
        uint64_t klen;
        if (end - p < 8)
            return CORRUPT(s, 0, "truncated block index");
        uint64_t off = ld_u64(p);
        p += 8;
        if (varint_get(&p, end, &klen) || klen == 0 || klen > ND_MAX_TERM_KEY ||
            klen > (uint64_t)(end - p))
            return CORRUPT(s, 0, "bad key in block index");
        if (off < FRAME_HEADER || off >= index_off || (i > 0 && off <= prev_off))
            return CORRUPT(s, 0, "block offset out of range");
        s->tblock_off[i] = off;
        s->tblock_key[i] = p;
        s->tblock_keylen[i] = (uint32_t)klen;
        if (i > 0) {
            size_t pl = s->tblock_keylen[i - 1];
            int c = memcmp(s->tblock_key[i - 1], p, pl < klen ? pl : klen);
            if (c > 0 || (c == 0 && pl >= klen))
                return CORRUPT(s, 0, "block keys out of order");
        }
        p += klen;
        prev_off = off;
    }
    if (p != end)
        return CORRUPT(s, 0, "block index size mismatch");
    /* the end of the last block is the start of the block index */
    s->tdx_index_off = index_off;
    return ND_OK;
}

static int open_stored(segment *s, nd_err *e)
{
    const uint8_t *body = s->body[FILE_STO];
    size_t n = s->body_len[FILE_STO];
    if (n < 4)
        return CORRUPT(s, 4, "truncated");
    const frame_sums *sums = &s->sums[FILE_STO];
    int rc = frame_sums_check(sums, FRAME_HEADER + n - 4, 4, e);
    if (rc)
        return rc;
    s->n_sblocks = ld_u32(body + n - 4);
    if ((uint64_t)s->n_sblocks * 20 > n - 4)
        return CORRUPT(s, 4, "block count out of range");
    const uint8_t *idx = body + n - 4 - (size_t)s->n_sblocks * 20;
    if ((rc = frame_sums_check(sums, FRAME_HEADER + n - 4 - (uint64_t)s->n_sblocks * 20,
                               (uint64_t)s->n_sblocks * 20, e)))
        return rc;
    uint64_t data_end = (uint64_t)(idx - s->map[FILE_STO].data);
    s->sblocks = malloc((s->n_sblocks ? s->n_sblocks : 1) * sizeof *s->sblocks);
    if (!s->sblocks)
        return err_set(e, ND_ENOMEM, "out of memory");
    uint64_t prev_end = FRAME_HEADER;
    for (uint32_t i = 0; i < s->n_sblocks; i++) {
        stored_block *b = &s->sblocks[i];
        b->off = ld_u64(idx + 20 * (size_t)i);
        b->clen = ld_u32(idx + 20 * (size_t)i + 8);
        b->ulen = ld_u32(idx + 20 * (size_t)i + 12);
        b->first = ld_u32(idx + 20 * (size_t)i + 16);
        if (b->off != prev_end || b->clen > data_end - b->off)
            return CORRUPT(s, 4, "block %u out of range", i);
        if ((i == 0 && b->first != 0) || (i > 0 && b->first <= s->sblocks[i - 1].first) ||
            b->first >= s->docs)
            return CORRUPT(s, 4, "block %u: bad first document", i);
        /* deflate expands at most about 1032:1; a larger claim is damage */
        if ((uint64_t)b->ulen > (uint64_t)b->clen * 1032 + 64)
            return CORRUPT(s, 4, "block %u: impossible uncompressed size", i);
        prev_end = b->off + b->clen;
    }
    if (prev_end != data_end || (s->docs > 0 && s->n_sblocks == 0))
        return CORRUPT(s, 4, "blocks do not cover the data");
    return ND_OK;
}

int segment_open(segment *s, const char *dir, const seg_meta *meta, int checks, nd_err *e)
{
    memset(s, 0, sizeof *s);
    s->meta = *meta;
    int rc = ND_OK;
    for (int k = 0; k < FILE_KINDS && !rc; k++) {
        char name[64], path[4200];
        seg_file_name(name, sizeof name, meta->number, k);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        rc = map_open(&s->map[k], path, e);
        if (rc == ND_ENOTFOUND)
            rc = err_set(e, ND_ECORRUPT, "%s: missing segment file", name);
        if (rc)
            break;
        if (s->map[k].len != meta->size[k]) {
            rc = err_set(e, ND_ECORRUPT, "%s: size %zu, the manifest says %llu (truncated?)",
                         name, s->map[k].len, (unsigned long long)meta->size[k]);
            break;
        }
        uint32_t crc;
        rc = frame_check(&s->map[k], MAGICS[k], name, checks, &s->body[k], &s->body_len[k],
                         &crc, &s->sums[k], e);
        map_drop_fd(&s->map[k]); /* a reader holds no file descriptors */
        if (!rc && crc != meta->crc[k])
            rc = err_set(e, ND_ECORRUPT, "%s: checksum differs from the manifest", name);
    }
    if (!rc)
        s->doc_version = ld_u16(s->map[FILE_DOC].data + 4);
    if (!rc && !(s->date_spans = calloc(1, sizeof *s->date_spans)))
        rc = err_set(e, ND_ENOMEM, "out of memory");
    if (!rc)
        rc = open_columns(s, e);
    if (!rc)
        rc = open_termdict(s, e);
    if (!rc)
        rc = open_stored(s, e);
    if (rc)
        segment_close(s);
    return rc;
}

void segment_close(segment *s)
{
    for (int k = 0; k < FILE_KINDS; k++) {
        map_close(&s->map[k]);
        frame_sums_free(&s->sums[k]);
    }
    free(s->tblock_off);
    free(s->tblock_key);
    free(s->tblock_keylen);
    free(s->sblocks);
    free(s->deleted);
    free((void *)s->col_groups);
    if (s->date_spans)
        free(atomic_load(s->date_spans));
    free((void *)s->date_spans);
    memset(s, 0, sizeof *s);
}

int segment_col_group(const segment *s, uint32_t g, nd_err *e)
{
    if (!s->col_groups ||
        (atomic_load_explicit(&s->col_groups[g >> 6], memory_order_relaxed) >> (g & 63)) & 1)
        return ND_OK;
    size_t lo = (size_t)g << COL_GROUP_SHIFT;
    size_t n = ND_MIN((size_t)s->docs, lo + ((size_t)1 << COL_GROUP_SHIFT)) - ND_MIN(lo, s->docs);
    int rc = ND_OK;
    for (int f = 0; f < N_TEXT_FIELDS && !rc; f++)
        rc = segment_col_check(s, s->lens + ((size_t)f * s->docs + lo) * 4, n * 4, e);
    if (!rc)
        rc = segment_col_check(s, s->dates + lo * 8, n * 8, e);
    if (!rc)
        atomic_fetch_or_explicit(&s->col_groups[g >> 6], (uint64_t)1 << (g & 63),
                                 memory_order_relaxed);
    return rc;
}

int segment_check_columns(const segment *s, nd_err *e)
{
    return frame_sums_check(&s->sums[FILE_COL], FRAME_HEADER, s->body_len[FILE_COL], e);
}

const int64_t *segment_date_spans(const segment *s)
{
    int64_t *v = atomic_load_explicit(s->date_spans, memory_order_acquire);
    if (v)
        return v;
    nd_err e = {{0}}; /* damage: no spans; reading the dates reports it */
    if (segment_col_check(s, s->dates, (size_t)s->docs * 8, &e))
        return NULL;
    size_t n = ((size_t)s->docs + (1u << DATE_SPAN_SHIFT) - 1) >> DATE_SPAN_SHIFT;
    if (!(v = malloc((n ? n : 1) * 2 * sizeof *v)))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        uint32_t end = (uint32_t)ND_MIN((uint64_t)s->docs, (uint64_t)(i + 1) << DATE_SPAN_SHIFT);
        for (uint32_t d = (uint32_t)(i << DATE_SPAN_SHIFT); d < end; d++) {
            int64_t t = segment_date(s, d);
            if (t == ND_NO_DATE)
                continue;
            lo = ND_MIN(lo, t);
            hi = ND_MAX(hi, t);
        }
        v[2 * i] = lo;
        v[2 * i + 1] = hi;
    }
    /* another thread may have built the same spans meanwhile: keep one */
    int64_t *none = NULL;
    if (!atomic_compare_exchange_strong_explicit(s->date_spans, &none, v, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        free(v);
        v = none;
    }
    return v;
}

/* ---- term dictionary --------------------------------------------------- */

static int keycmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

/* Positions the iterator at the start of block b. */
static int iter_block(term_iter *it, uint32_t b, nd_err *e)
{
    const segment *s = it->seg;
    it->block = b;
    if (b >= s->n_tblocks) {
        it->in_block = 0;
        return ND_DONE;
    }
    const uint8_t *file = s->map[FILE_TDX].data;
    uint64_t at = s->tblock_off[b], end = b + 1 < s->n_tblocks ? s->tblock_off[b + 1] : s->tdx_index_off;
    int rc = frame_sums_check(&s->sums[FILE_TDX], at, end - at, e);
    if (rc)
        return rc;
    it->p = file + at;
    it->end = file + end;
    uint64_t left = s->n_terms - (uint64_t)b * s->tblock_size;
    it->in_block = left < s->tblock_size ? (uint32_t)left : s->tblock_size;
    it->klen = 0;
    if (varint_get(&it->p, it->end, &it->next_doc_off) ||
        varint_get(&it->p, it->end, &it->next_pos_off))
        return CORRUPT(s, 0, "block %u: bad header", b);
    return ND_OK;
}

int term_iter_next(term_iter *it, nd_err *e)
{
    const segment *s = it->seg;
    while (it->in_block == 0) {
        int rc = iter_block(it, it->block + 1, e);
        if (rc)
            return rc;
    }
    uint64_t shared, suffix, df, extra, doc_len, pos_len;
    if (varint_get(&it->p, it->end, &shared) || varint_get(&it->p, it->end, &suffix) ||
        shared > it->klen || suffix > ND_MAX_TERM_KEY - shared || suffix > (uint64_t)(it->end - it->p) ||
        shared + suffix == 0)
        return CORRUPT(s, 0, "block %u: bad key", it->block);
    /* keys ascend strictly: the new key must differ after the shared prefix,
     * upwards (or extend a key that is its prefix) */
    int first = it->klen == 0;
    if (!first && (suffix == 0 || (shared < it->klen && it->p[0] <= it->key[shared])))
        return CORRUPT(s, 0, "block %u: keys out of order", it->block);
    memcpy(it->key + shared, it->p, suffix);
    it->p += suffix;
    it->klen = (size_t)(shared + suffix);
    if (it->klen < 2 || it->key[0] >= N_FIELDS)
        return CORRUPT(s, 0, "block %u: bad key", it->block);
    if (first && keycmp(it->key, it->klen, s->tblock_key[it->block],
                        s->tblock_keylen[it->block]) != 0)
        return CORRUPT(s, 0, "block %u: first key differs from the block index", it->block);
    if (varint_get(&it->p, it->end, &df) || varint_get(&it->p, it->end, &extra) ||
        varint_get(&it->p, it->end, &doc_len) || varint_get(&it->p, it->end, &pos_len))
        return CORRUPT(s, 0, "block %u: bad term entry", it->block);
    uint64_t doc_end = FRAME_HEADER + s->body_len[FILE_DOC], pos_end = FRAME_HEADER + s->body_len[FILE_POS];
    if (df == 0 || df > s->docs || extra > UINT64_MAX - df || it->next_doc_off < FRAME_HEADER ||
        it->next_doc_off > doc_end || doc_len > doc_end - it->next_doc_off ||
        it->next_pos_off < FRAME_HEADER || it->next_pos_off > pos_end ||
        pos_len > pos_end - it->next_pos_off)
        return CORRUPT(s, 0, "block %u: term entry out of range", it->block);
    it->ti.df = (uint32_t)df;
    it->ti.cf = df + extra;
    it->ti.doc_off = it->next_doc_off;
    it->ti.doc_len = doc_len;
    it->ti.pos_off = it->next_pos_off;
    it->ti.pos_len = pos_len;
    it->next_doc_off += doc_len;
    it->next_pos_off += pos_len;
    it->in_block--;
    if (it->in_block == 0 && it->p != it->end)
        return CORRUPT(s, 0, "block %u: bytes after its last term", it->block);
    return ND_OK;
}

int term_iter_seek(term_iter *it, const segment *s, const uint8_t *from, size_t flen, nd_err *e)
{
    memset(it, 0, sizeof *it);
    it->seg = s;
    /* last block whose first key <= from */
    uint32_t lo = 0, hi = s->n_tblocks;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (keycmp(s->tblock_key[mid], s->tblock_keylen[mid], from, flen) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t b = lo > 0 ? lo - 1 : 0;
    int rc = iter_block(it, b, e);
    if (rc == ND_DONE) {
        it->block = s->n_tblocks;
        return ND_OK;
    }
    if (rc)
        return rc;
    /* Step to the first key >= from, then leave it unread for term_iter_next. */
    for (;;) {
        term_iter save = *it;
        rc = term_iter_next(it, e);
        if (rc == ND_DONE) {
            *it = save;
            return ND_OK;
        }
        if (rc)
            return rc;
        if (keycmp(it->key, it->klen, from, flen) >= 0) {
            *it = save;
            return ND_OK;
        }
    }
}

int segment_term(const segment *s, const uint8_t *key, size_t klen, term_info *ti, nd_err *e)
{
    term_iter it;
    int rc = term_iter_seek(&it, s, key, klen, e);
    if (rc)
        return rc;
    rc = term_iter_next(&it, e);
    if (rc)
        return rc;
    if (keycmp(it.key, it.klen, key, klen) != 0)
        return ND_DONE;
    *ti = it.ti;
    return ND_OK;
}

/* ---- stored articles ---------------------------------------------------- */

int segment_doc_id(const segment *s, uint32_t doc, nd_buf *block, uint32_t *cached_block,
                   const char **id, size_t *len, nd_err *e)
{
    if (doc >= s->docs)
        return err_set(e, ND_EINVAL, "document %u out of range", doc);
    if (s->id_off) {
        uint32_t a, b;
        int rc = id_range(s, doc, &a, &b, e);
        if (rc || (rc = segment_col_check(s, s->ids + a, b - a, e)))
            return rc;
        *id = (const char *)s->ids + a;
        *len = b - a;
        return ND_OK;
    }
    stored_doc sd;
    memset(&sd, 0, sizeof sd);
    int rc = segment_stored(s, doc, block, cached_block, &sd, e);
    if (rc)
        return rc;
    *id = sd.f[SF_ID];
    *len = sd.len[SF_ID];
    return ND_OK;
}

int segment_stored(const segment *s, uint32_t doc, nd_buf *block, uint32_t *cached_block,
                   stored_doc *out, nd_err *e)
{
    if (doc >= s->docs)
        return err_set(e, ND_EINVAL, "document %u out of range", doc);
    uint32_t lo = 0, hi = s->n_sblocks;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->sblocks[mid].first <= doc)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t b = lo - 1; /* sblocks[0].first == 0 was checked on open */
    const stored_block *sb = &s->sblocks[b];
    if (*cached_block != b) {
        *cached_block = UINT32_MAX;
        int rc = frame_sums_check(&s->sums[FILE_STO], sb->off, sb->clen, e);
        if (rc)
            return rc;
        buf_reset(block);
        if (buf_reserve(block, sb->ulen ? sb->ulen : 1))
            return err_set(e, ND_ENOMEM, "out of memory reading a stored article");
        /* libdeflate inflates a zlib stream whose size is known two to
         * three times faster than zlib, checksum included */
        struct libdeflate_decompressor *z = libdeflate_alloc_decompressor();
        if (!z)
            return err_set(e, ND_ENOMEM, "out of memory reading a stored article");
        size_t ulen = 0;
        enum libdeflate_result zrc =
            libdeflate_zlib_decompress(z, s->map[FILE_STO].data + sb->off, sb->clen, block->data,
                                       sb->ulen, &ulen);
        libdeflate_free_decompressor(z);
        if (zrc != LIBDEFLATE_SUCCESS || ulen != sb->ulen)
            return CORRUPT(s, 4, "block %u does not decompress", b);
        block->len = ulen;
        *cached_block = b;
    }
    const uint8_t *p = block->data, *end = block->data + block->len;
    for (uint32_t d = sb->first; d <= doc; d++) {
        for (int f = 0; f < SF_COUNT; f++) {
            uint64_t n;
            if (varint_get(&p, end, &n) || n > (uint64_t)(end - p))
                return CORRUPT(s, 4, "block %u: bad record", b);
            out->f[f] = (const char *)p;
            out->len[f] = (size_t)n;
            p += n;
        }
    }
    return ND_OK;
}
