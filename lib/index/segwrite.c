/*
 * segwrite.c - turning decoded postings into a segment's files. Whoever
 * builds a segment - memindex from freshly analysed articles, merge from
 * existing segments - hands terms over one at a time in key order, each
 * with its documents, frequencies and positions; this file owns every
 * encoding decision: postings cut into blocks of 128 with a skip table
 * (max_tf, min_len for score bounds), positions as one seq per block,
 * dictionary blocks of 32 front-coded keys with a block index, the column
 * file (lengths, dates and the id column, whose ids the stored-articles
 * writer collects as records go by), and the stored-articles file's zlib
 * blocks. Keeping all of it in one place is what makes a merged segment
 * byte-identical to one built directly from the same articles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <libdeflate.h>

#include "index/index.h"

#define TERMS_PER_TBLOCK 32

static const char *const MAGICS[FILE_KINDS] = {"NDTD", "NDPO", "NDPS", "NDCL", "NDST"};

static int open_file(fout *f, const char *dir, uint64_t number, int kind, nd_err *e)
{
    char name[64], path[4200];
    seg_file_name(name, sizeof name, number, kind);
    if (path_join(path, sizeof path, dir, name))
        return err_set(e, ND_EINVAL, "path too long: %s", dir);
    static const uint16_t VERSIONS[FILE_KINDS] = {ND_FORMAT_VERSION, DOC_VERSION,
                                                  ND_FORMAT_VERSION, COL_VERSION,
                                                  ND_FORMAT_VERSION};
    int rc = fout_open_version(f, path, MAGICS[kind], VERSIONS[kind], e);
    if (rc)
        fout_abort(f); /* the header write may have failed after the create */
    return rc;
}

/* ---- stored articles ------------------------------------------------------ */

int stowriter_open(stowriter *w, const char *dir, uint64_t number, nd_err *e)
{
    memset(w, 0, sizeof *w);
    return open_file(&w->f, dir, number, 4, e);
}

/* Stored blocks are zlib streams (RFC 1950) made by libdeflate, which
 * compresses the same format faster and tighter than zlib itself: on the
 * 32 KiB blocks of AP89's first part, libdeflate level 2 runs at 1.85x the speed of zlib level 4
 * (111 against 60 MB/s) for 0.8 % fewer bytes. Any zlib reader inflates
 * them (segment_stored uses libdeflate, nd_check zlib). */
#define STORED_DEFLATE_LEVEL 2

static int flush_block(stowriter *w, nd_err *e)
{
    if (w->block.len == 0)
        return ND_OK;
    if (w->block.len > UINT32_MAX)
        return err_set(e, ND_ELIMIT, "stored article over 4 GiB");
    if (!w->zc && !(w->zc = libdeflate_alloc_compressor(STORED_DEFLATE_LEVEL)))
        return err_set(e, ND_ENOMEM, "out of memory compressing stored articles");
    size_t bound = libdeflate_zlib_compress_bound(w->zc, w->block.len);
    buf_reset(&w->zbuf);
    if (bound > UINT32_MAX)
        return err_set(e, ND_ELIMIT, "stored article over 4 GiB");
    if (buf_reserve(&w->zbuf, bound))
        return err_set(e, ND_ENOMEM, "out of memory compressing stored articles");
    size_t zlen = libdeflate_zlib_compress(w->zc, w->block.data, w->block.len, w->zbuf.data, bound);
    if (zlen == 0) /* cannot happen with the bound's room */
        return err_set(e, ND_EIO, "compressing stored articles failed");
    uint64_t off = fout_tell(&w->f);
    int rc = fout_write(&w->f, w->zbuf.data, zlen, e);
    if (rc)
        return rc;
    if (buf_put_u64(&w->index, off) || buf_put_u32(&w->index, (uint32_t)zlen) ||
        buf_put_u32(&w->index, (uint32_t)w->block.len) || buf_put_u32(&w->index, w->first))
        return err_set(e, ND_ENOMEM, "out of memory");
    w->n_blocks++;
    buf_reset(&w->block);
    return ND_OK;
}

int stowriter_add_id(stowriter *w, const char *id, size_t len, nd_err *e)
{
    if (len == 0 || len > ND_MAX_TERM_BYTES)
        return err_set(e, ND_EINVAL, "article id must be 1 to %d bytes", ND_MAX_TERM_BYTES);
    if (w->ids.len + len > UINT32_MAX)
        return err_set(e, ND_ELIMIT, "the ids of one segment exceed 4 GiB");
    if (w->n_ids >= ND_MAX_SEG_DOCS)
        return err_set(e, ND_ELIMIT, "segment is full");
    if (buf_append(&w->ids, id, len) || buf_put_u32(&w->id_off, (uint32_t)w->ids.len))
        return err_set(e, ND_ENOMEM, "out of memory storing an article id");
    w->n_ids++;
    return ND_OK;
}

int stowriter_add(stowriter *w, const stored_doc *d, nd_err *e)
{
    if (w->n_ids != w->docs)
        return err_set(e, ND_EINVAL, "stored article added while ids of a block are pending");
    int rc = stowriter_add_id(w, d->f[SF_ID], d->len[SF_ID], e);
    if (rc)
        return rc;
    if (w->block.len == 0)
        w->first = w->docs;
    for (int i = 0; i < SF_COUNT; i++) {
        if (buf_put_varint(&w->block, d->len[i]) || buf_append(&w->block, d->f[i], d->len[i]))
            return err_set(e, ND_ENOMEM, "out of memory storing an article");
    }
    w->docs++;
    if (w->block.len >= STORED_BLOCK_TARGET)
        return flush_block(w, e);
    return ND_OK;
}

int stowriter_add_block(stowriter *w, const uint8_t *z, uint32_t clen, uint32_t ulen, uint32_t n,
                        nd_err *e)
{
    if (w->block.len != 0 || n == 0 || n > ND_MAX_SEG_DOCS - w->docs || w->n_ids != w->docs + n)
        return err_set(e, ND_EINVAL, "stored block appended at the wrong place");
    uint64_t off = fout_tell(&w->f);
    int rc = fout_write(&w->f, z, clen, e);
    if (rc)
        return rc;
    if (buf_put_u64(&w->index, off) || buf_put_u32(&w->index, clen) ||
        buf_put_u32(&w->index, ulen) || buf_put_u32(&w->index, w->docs))
        return err_set(e, ND_ENOMEM, "out of memory");
    w->n_blocks++;
    w->docs += n;
    return ND_OK;
}

size_t stowriter_bytes(const stowriter *w)
{
    return w->block.cap + w->index.cap + w->zbuf.cap + w->id_off.cap + w->ids.cap;
}

/* The last block, the block index and the block count: the body is complete. */
static int stowriter_end(stowriter *w, nd_err *e)
{
    int rc = flush_block(w, e);
    if (!rc)
        rc = fout_write(&w->f, w->index.data, w->index.len, e);
    if (!rc) {
        uint8_t nb[4];
        st_u32(nb, w->n_blocks);
        rc = fout_write(&w->f, nb, 4, e);
    }
    return rc;
}

void stowriter_abort(stowriter *w)
{
    fout_abort(&w->f);
    buf_free(&w->block);
    buf_free(&w->index);
    buf_free(&w->zbuf);
    buf_free(&w->id_off);
    buf_free(&w->ids);
    libdeflate_free_compressor(w->zc); /* NULL is fine */
    w->zc = NULL;
}

/* ---- dictionary, postings, positions, columns ------------------------------ */

struct segwriter {
    seg_columns cols;
    uint64_t number;
    fout f[4]; /* tdx doc pos col */
    int opened;
    /* dictionary */
    uint64_t n_terms;
    uint32_t n_tblocks;
    nd_buf tindex; /* block index entries, as written to the file */
    uint8_t prev[ND_MAX_TERM_KEY];
    size_t prev_len;
    term_code code; /* segwriter_term's encoding */
};

int segwriter_open(segwriter **out, const char *dir, uint64_t number, const seg_columns *cols,
                   nd_err *e)
{
    *out = NULL;
    segwriter *w = calloc(1, sizeof *w);
    if (!w)
        return err_set(e, ND_ENOMEM, "out of memory");
    w->cols = *cols;
    w->number = number;
    for (; w->opened < 4; w->opened++) {
        int rc = open_file(&w->f[w->opened], dir, number, w->opened, e);
        if (rc) {
            segwriter_abort(w);
            return rc;
        }
    }
    *out = w;
    return ND_OK;
}

static void free_writer(segwriter *w)
{
    buf_free(&w->tindex);
    term_code_free(&w->code);
    free(w);
}

void segwriter_abort(segwriter *w)
{
    if (!w)
        return;
    for (int k = 0; k < w->opened; k++)
        fout_abort(&w->f[k]);
    free_writer(w);
}

static int bad_input(nd_err *e, const char *what)
{
    return err_set(e, ND_EINVAL, "segment writer: %s", what);
}

void term_code_reset(term_code *c)
{
    buf_reset(&c->doc);
    buf_reset(&c->pos);
}

void term_code_free(term_code *c)
{
    buf_free(&c->doc);
    buf_free(&c->pos);
    buf_free(&c->skip);
    buf_free(&c->blocks);
    free(c->gaps);
    memset(c, 0, sizeof *c);
}

/* Encodes one term into c->skip, c->blocks and c->pos (see FORMAT.md
 * sections 7 and 8), checking the postings as it goes. */
static int encode_term(const segwriter *w, int field, uint32_t df, const uint32_t *docs,
                       const uint32_t *tfs, const uint32_t *pos, term_code *c, uint64_t *cf,
                       nd_err *e)
{
    buf_reset(&c->skip);
    buf_reset(&c->blocks);
    nd_buf *posbuf = &c->pos;
    const uint8_t *lens = field < N_TEXT_FIELDS ? w->cols.lens[field] : NULL;
    uint32_t nb = (df + ND_BLOCK - 1) / ND_BLOCK;
    uint32_t prev_doc = UINT32_MAX; /* "-1": the first gap - 1 is the doc itself */
    uint32_t prev_last = 0;
    size_t pos_i = 0;
    uint64_t sum_tf = 0;
    int64_t seen = -1; /* last document checked */
    uint32_t vals[ND_BLOCK];
    uint8_t packed[ND_BLOCK * 4];
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t lo = b * ND_BLOCK, n = df - lo < ND_BLOCK ? df - lo : ND_BLOCK;
        size_t start = c->blocks.len, pstart = posbuf->len;
        uint32_t max_tf = 0, min_len = UINT32_MAX;
        size_t np = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t tf = tfs[lo + i], d = docs[lo + i];
            if (d >= w->cols.docs || (int64_t)d <= seen || tf == 0)
                return bad_input(e, "postings out of order or out of range");
            seen = d;
            if (tf > max_tf)
                max_tf = tf;
            uint32_t len = lens ? ld_u32(lens + (size_t)d * 4) : 1;
            if (len < min_len)
                min_len = len;
            np += tf;
        }
        sum_tf += np;
        if (n == ND_BLOCK) {
            uint32_t first = prev_doc + 1; /* 0 for the first block */
            for (uint32_t i = 0; i < n; i++) {
                vals[i] = docs[lo + i] - prev_doc - 1;
                prev_doc = docs[lo + i];
            }
            unsigned bits = bits_needed(vals, n);
            size_t span = (size_t)(prev_doc - first) / 8 + 1; /* the bitmap's bytes */
            if (bits > 0 && span <= DENSE_MAX_BYTES &&
                varint_len(span) + span <= (size_t)16 * bits + DENSE_SLACK) {
                if (buf_putc(&c->blocks, DOC_DENSE) || buf_put_varint(&c->blocks, span) ||
                    buf_reserve(&c->blocks, span))
                    return err_set(e, ND_ENOMEM, "out of memory writing postings");
                c->blocks.len += dense_pack(c->blocks.data + c->blocks.len, docs + lo, n, first);
            } else {
                bitpack128_pack(packed, vals, bits);
                if (buf_putc(&c->blocks, (uint8_t)bits) ||
                    buf_append(&c->blocks, packed, (size_t)16 * bits))
                    return err_set(e, ND_ENOMEM, "out of memory writing postings");
            }
            for (uint32_t i = 0; i < n; i++)
                vals[i] = tfs[lo + i] - 1;
            bits = bits_needed(vals, n);
            bitpack128_pack(packed, vals, bits);
            if (buf_putc(&c->blocks, (uint8_t)bits) || buf_append(&c->blocks, packed, (size_t)16 * bits))
                return err_set(e, ND_ENOMEM, "out of memory writing postings");
        } else {
            for (uint32_t i = 0; i < n; i++) {
                uint32_t d = docs[lo + i], tf = tfs[lo + i];
                uint64_t v = ((uint64_t)(d - prev_doc - 1) << 1) | (tf == 1);
                prev_doc = d;
                if (buf_put_varint(&c->blocks, v) ||
                    (tf != 1 && buf_put_varint(&c->blocks, tf - 1)))
                    return err_set(e, ND_ENOMEM, "out of memory writing postings");
            }
        }
        if (pos) {
            if (np > c->gaps_cap) {
                size_t cap = c->gaps_cap ? c->gaps_cap : 1024;
                while (cap < np)
                    cap *= 2;
                uint32_t *g = realloc(c->gaps, cap * sizeof *g);
                if (!g)
                    return err_set(e, ND_ENOMEM, "out of memory writing positions");
                c->gaps = g;
                c->gaps_cap = cap;
            }
            /* gaps within each document; the first is the absolute position */
            for (uint32_t i = 0, k = 0; i < n; i++) {
                uint32_t prev = 0;
                for (uint32_t j = 0; j < tfs[lo + i]; j++, k++) {
                    uint32_t p = pos[pos_i + k];
                    if (j > 0 && p <= prev)
                        return bad_input(e, "positions out of order");
                    c->gaps[k] = p - prev;
                    prev = p;
                }
            }
            if (buf_reserve(posbuf, seq_bound(np)))
                return err_set(e, ND_ENOMEM, "out of memory writing positions");
            posbuf->len += seq_encode(posbuf->data + posbuf->len, c->gaps, np);
            pos_i += np;
        }
        if (nb > 1) {
            uint32_t last = docs[lo + n - 1];
            if (buf_put_varint(&c->skip, last - prev_last) ||
                buf_put_varint(&c->skip, c->blocks.len - start) ||
                buf_put_varint(&c->skip, posbuf->len - pstart) ||
                buf_put_varint(&c->skip, max_tf) || buf_put_varint(&c->skip, min_len))
                return err_set(e, ND_ENOMEM, "out of memory writing postings");
            prev_last = last;
        }
    }
    *cf = sum_tf;
    return ND_OK;
}

static int keycmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

/* The checks of a term's postings that do not need the previous key. */
static int check_postings(const segwriter *w, const uint8_t *key, size_t klen, uint32_t df,
                          const uint32_t *pos, nd_err *e)
{
    if (klen < 2 || klen > ND_MAX_TERM_KEY || key[0] >= N_FIELDS)
        return bad_input(e, "bad term key");
    if (df == 0 || df > w->cols.docs || (key[0] < N_TEXT_FIELDS) != (pos != NULL))
        return bad_input(e, "bad postings");
    return ND_OK;
}

int segwriter_encode(const segwriter *w, const uint8_t *key, size_t klen, uint32_t df,
                     const uint32_t *docs, const uint32_t *tfs, const uint32_t *pos, term_code *c,
                     term_coded *out, nd_err *e)
{
    int rc = check_postings(w, key, klen, df, pos, e);
    if (rc)
        return rc;
    size_t pos_at = c->pos.len;
    if ((rc = encode_term(w, key[0], df, docs, tfs, pos, c, &out->cf, e)))
        return rc;
    out->doc_len = c->skip.len + c->blocks.len;
    out->pos_len = c->pos.len - pos_at;
    if (buf_append(&c->doc, c->skip.data, c->skip.len) ||
        buf_append(&c->doc, c->blocks.data, c->blocks.len))
        return err_set(e, ND_ENOMEM, "out of memory writing postings");
    return ND_OK;
}

int segwriter_add(segwriter *w, const uint8_t *key, size_t klen, uint32_t df,
                  const term_coded *t, const uint8_t *doc_bytes, const uint8_t *pos_bytes,
                  nd_err *e)
{
    if (klen < 2 || klen > ND_MAX_TERM_KEY)
        return bad_input(e, "bad term key");
    if (w->n_terms > 0 && keycmp(w->prev, w->prev_len, key, klen) >= 0)
        return bad_input(e, "terms out of order");
    fout *tdx = &w->f[0], *doc = &w->f[1], *posf = &w->f[2];
    uint64_t doc_off = fout_tell(doc), pos_off = fout_tell(posf);
    int rc;
    if ((rc = fout_write(doc, doc_bytes, t->doc_len, e)) ||
        (rc = fout_write(posf, pos_bytes, t->pos_len, e)))
        return rc;
    size_t shared = 0;
    if (w->n_terms % TERMS_PER_TBLOCK == 0) {
        /* a new dictionary block: full first key, absolute offsets */
        if (buf_put_u64(&w->tindex, fout_tell(tdx)) || buf_put_varint(&w->tindex, klen) ||
            buf_append(&w->tindex, key, klen))
            return err_set(e, ND_ENOMEM, "out of memory");
        w->n_tblocks++;
        if ((rc = fout_varint(tdx, doc_off, e)) || (rc = fout_varint(tdx, pos_off, e)))
            return rc;
    } else {
        size_t lim = w->prev_len < klen ? w->prev_len : klen;
        while (shared < lim && w->prev[shared] == key[shared])
            shared++;
    }
    if ((rc = fout_varint(tdx, shared, e)) || (rc = fout_varint(tdx, klen - shared, e)) ||
        (rc = fout_write(tdx, key + shared, klen - shared, e)) || (rc = fout_varint(tdx, df, e)) ||
        (rc = fout_varint(tdx, t->cf - df, e)) || (rc = fout_varint(tdx, t->doc_len, e)) ||
        (rc = fout_varint(tdx, t->pos_len, e)))
        return rc;
    memcpy(w->prev, key, klen);
    w->prev_len = klen;
    w->n_terms++;
    return ND_OK;
}

int segwriter_term(segwriter *w, const uint8_t *key, size_t klen, uint32_t df, const uint32_t *docs,
                   const uint32_t *tfs, const uint32_t *pos, nd_err *e)
{
    /* the order first, as before any encoding */
    if (klen >= 2 && klen <= ND_MAX_TERM_KEY && w->n_terms > 0 &&
        keycmp(w->prev, w->prev_len, key, klen) >= 0)
        return bad_input(e, "terms out of order");
    term_coded t;
    term_code_reset(&w->code);
    int rc = segwriter_encode(w, key, klen, df, docs, tfs, pos, &w->code, &t, e);
    return rc ? rc : segwriter_add(w, key, klen, df, &t, w->code.doc.data, w->code.pos.data, e);
}

/* The .col body: counts and totals, lengths, dates (version 1), then the
 * id column (version 2): offsets 0 and the end of each id, the id bytes. */
static int write_columns(segwriter *w, const stowriter *sto, nd_err *e)
{
    fout *col = &w->f[FILE_COL];
    const seg_columns *c = &w->cols;
    uint8_t h[8 + 8 * N_TEXT_FIELDS];
    st_u32(h, c->docs);
    st_u32(h + 4, N_TEXT_FIELDS);
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        st_u64(h + 8 + (size_t)8 * f, c->sum_len[f]);
    int rc = fout_write(col, h, sizeof h, e);
    for (int f = 0; f < N_TEXT_FIELDS && !rc && c->docs; f++)
        rc = fout_write(col, c->lens[f], (size_t)c->docs * 4, e);
    if (!rc && c->docs)
        rc = fout_write(col, c->dates, (size_t)c->docs * 8, e);
    uint8_t zero[4] = {0, 0, 0, 0};
    if (!rc)
        rc = fout_write(col, zero, sizeof zero, e);
    if (!rc)
        rc = fout_write(col, sto->id_off.data, sto->id_off.len, e);
    if (!rc)
        rc = fout_write(col, sto->ids.data, sto->ids.len, e);
    return rc;
}

static int write_tail(segwriter *w, const stowriter *sto, nd_err *e)
{
    fout *tdx = &w->f[0];
    uint8_t trailer[24];
    st_u64(trailer, w->n_terms);
    st_u64(trailer + 8, fout_tell(tdx));
    st_u32(trailer + 16, w->n_tblocks);
    st_u32(trailer + 20, TERMS_PER_TBLOCK);
    int rc = fout_write(tdx, w->tindex.data, w->tindex.len, e);
    if (!rc)
        rc = fout_write(tdx, trailer, sizeof trailer, e);
    if (rc)
        return rc;
    return write_columns(w, sto, e);
}

int segwriter_finish(segwriter *w, stowriter *sto, seg_meta *meta, nd_err *e)
{
    memset(meta, 0, sizeof *meta);
    meta->number = w->number;
    meta->docs = w->cols.docs;
    int rc;
    if (sto->docs != w->cols.docs || sto->n_ids != sto->docs)
        rc = bad_input(e, "stored articles do not match the columns");
    else if (!(rc = write_tail(w, sto, e)))
        rc = stowriter_end(sto, e);
    if (rc) {
        segwriter_abort(w);
        stowriter_abort(sto);
        return rc;
    }
    fout *f[FILE_KINDS] = {&w->f[0], &w->f[1], &w->f[2], &w->f[3], &sto->f};
    for (int k = 0; k < FILE_KINDS; k++) {
        rc = fout_finish(f[k], &meta->crc[k], e);
        meta->size[k] = f[k]->bytes; /* the whole file, chunk table and footer */
        if (rc) {
            /* fout_finish removed file k; later ones are unfinished, earlier
             * ones complete but unreferenced */
            for (int j = k + 1; j < FILE_KINDS; j++)
                fout_abort(f[j]);
            for (int j = 0; j < k; j++)
                unlink(f[j]->path);
            break;
        }
    }
    w->opened = 0;
    free_writer(w);
    stowriter_abort(sto); /* frees the buffers; the file is closed or gone */
    return rc;
}
