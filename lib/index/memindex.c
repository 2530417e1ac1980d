/*
 * memindex.c - the accumulator behind nd_writer. Articles are analysed as
 * they arrive; each term's postings (document gaps, frequencies, position
 * gaps) are appended to a compact varint stream of its own, the per-field
 * lengths and dates go to column arrays, and the stored copy of each
 * article is compressed straight to the segment's .sto file, so memory
 * holds postings only. memindex_finish sorts the terms and writes the
 * dictionary, block-packed postings, positions and columns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "analysis/analysis.h"
#include "index/index.h"

#define STORED_BLOCK_TARGET (32u << 10) /* uncompressed bytes per stored block */
#define TERMS_PER_TBLOCK 32

static const char MAGIC_TDX[4] = {'N', 'D', 'T', 'D'};
static const char MAGIC_DOC[4] = {'N', 'D', 'P', 'O'};
static const char MAGIC_POS[4] = {'N', 'D', 'P', 'S'};
static const char MAGIC_COL[4] = {'N', 'D', 'C', 'L'};
static const char MAGIC_STO[4] = {'N', 'D', 'S', 'T'};

/* One distinct (field, term) of the segment being built. */
typedef struct mterm {
    uint64_t key_off;  /* key bytes in mi->keys */
    uint32_t key_len;  /* field byte + term bytes */
    uint32_t last_doc; /* last document appended (UINT32_MAX before the first) */
    uint32_t df;
    uint32_t len, cap; /* postings stream bytes used / allocated */
    uint64_t cf;
    uint8_t *post;     /* varint stream: doc gap, tf, tf position gaps */
} mterm;

struct memindex {
    char dir[4096];
    uint64_t number;
    uint32_t docs;
    /* terms */
    mterm *terms;
    uint32_t n_terms, terms_cap;
    uint32_t *slots; /* open addressing: term index + 1, 0 = empty */
    uint32_t n_slots;
    nd_buf keys;
    size_t post_bytes; /* sum of mterm.cap */
    /* per-article scratch */
    uint64_t *occ; /* (term index << 32) | position, for one field */
    size_t n_occ, occ_cap;
    int cur_field;
    uint32_t cur_len;
    nd_err *err;
    int fail;
    nd_buf kwbuf;
    /* columns */
    nd_buf lens[N_TEXT_FIELDS];
    nd_buf dates;
    nd_buf seqs; /* u64 per document, native order: never written to disk */
    uint64_t sum_len[N_TEXT_FIELDS];
    /* stored articles */
    fout sto;
    nd_buf sblock;  /* records of the open block */
    uint32_t sblock_first;
    nd_buf sindex;  /* block index entries, as written to the file */
    uint32_t n_sblocks;
    nd_buf zbuf;
};

static int oom(memindex *mi)
{
    return err_set(mi->err, ND_ENOMEM, "out of memory while indexing");
}

int memindex_open(memindex **out, const char *dir, uint64_t number, nd_err *e)
{
    *out = NULL;
    memindex *mi = calloc(1, sizeof *mi);
    if (!mi)
        return err_set(e, ND_ENOMEM, "out of memory");
    if (strlen(dir) >= sizeof mi->dir) {
        free(mi);
        return err_set(e, ND_EINVAL, "path too long: %s", dir);
    }
    strcpy(mi->dir, dir);
    mi->number = number;
    mi->n_slots = 1u << 16;
    mi->slots = calloc(mi->n_slots, sizeof *mi->slots);
    if (!mi->slots) {
        free(mi);
        return err_set(e, ND_ENOMEM, "out of memory");
    }
    char name[64], path[4200];
    seg_file_name(name, sizeof name, number, 4);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = fout_open(&mi->sto, path, MAGIC_STO, e);
    if (rc) {
        free(mi->slots);
        free(mi);
        return rc;
    }
    *out = mi;
    return ND_OK;
}

uint32_t memindex_docs(const memindex *mi)
{
    return mi->docs;
}

size_t memindex_bytes(const memindex *mi)
{
    size_t n = sizeof *mi + mi->post_bytes + (size_t)mi->terms_cap * sizeof(mterm) +
               (size_t)mi->n_slots * 4 + mi->keys.cap + mi->occ_cap * 8 + mi->dates.cap +
               mi->seqs.cap +
               mi->sblock.cap + mi->sindex.cap + mi->zbuf.cap;
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        n += mi->lens[f].cap;
    return n;
}

/* ---- term table -------------------------------------------------------- */

static int grow_slots(memindex *mi)
{
    uint32_t n = mi->n_slots * 2;
    uint32_t *s = calloc(n, sizeof *s);
    if (!s)
        return ND_ENOMEM;
    for (uint32_t t = 0; t < mi->n_terms; t++) {
        const mterm *m = &mi->terms[t];
        uint64_t h = hash_bytes(mi->keys.data + m->key_off, m->key_len);
        uint32_t i = (uint32_t)h & (n - 1);
        while (s[i])
            i = (i + 1) & (n - 1);
        s[i] = t + 1;
    }
    free(mi->slots);
    mi->slots = s;
    mi->n_slots = n;
    return ND_OK;
}

/* Finds or adds the term with this key; returns its index or -1 (ENOMEM). */
static int64_t term_id(memindex *mi, const uint8_t *key, size_t klen)
{
    uint64_t h = hash_bytes(key, klen);
    uint32_t mask = mi->n_slots - 1;
    uint32_t i = (uint32_t)h & mask;
    for (;;) {
        uint32_t s = mi->slots[i];
        if (!s)
            break;
        const mterm *m = &mi->terms[s - 1];
        if (m->key_len == klen && memcmp(mi->keys.data + m->key_off, key, klen) == 0)
            return s - 1;
        i = (i + 1) & mask;
    }
    if (mi->n_terms == mi->terms_cap) {
        uint32_t cap = mi->terms_cap ? mi->terms_cap * 2 : 4096;
        mterm *t = realloc(mi->terms, (size_t)cap * sizeof *t);
        if (!t)
            return -1;
        mi->terms = t;
        mi->terms_cap = cap;
    }
    mterm *m = &mi->terms[mi->n_terms];
    memset(m, 0, sizeof *m);
    m->key_off = mi->keys.len;
    m->key_len = (uint32_t)klen;
    m->last_doc = UINT32_MAX;
    if (buf_append(&mi->keys, key, klen))
        return -1;
    mi->slots[i] = ++mi->n_terms;
    if ((uint64_t)mi->n_terms * 4 > (uint64_t)mi->n_slots * 3 && grow_slots(mi))
        return -1;
    return mi->n_terms - 1;
}

static int post_reserve(memindex *mi, mterm *m, size_t extra)
{
    if (m->cap - m->len >= extra)
        return ND_OK;
    size_t cap = m->cap ? m->cap : 8;
    while (cap - m->len < extra)
        cap *= 2;
    if (cap > UINT32_MAX)
        return ND_ELIMIT;
    uint8_t *p = realloc(m->post, cap);
    if (!p)
        return ND_ENOMEM;
    mi->post_bytes += cap - m->cap;
    m->post = p;
    m->cap = (uint32_t)cap;
    return ND_OK;
}

static inline void post_varint(mterm *m, uint64_t v)
{
    m->len += (uint32_t)varint_put(m->post + m->len, v);
}

/* Appends document `doc` with positions pos[0..tf) (NULL for keyword fields). */
static int post_add(memindex *mi, mterm *m, uint32_t doc, const uint64_t *occ, uint32_t tf,
                    int with_pos)
{
    size_t need = 2 * ND_VARINT_MAX + (with_pos ? (size_t)tf * 5 : 0);
    int rc = post_reserve(mi, m, need);
    if (rc)
        return rc;
    post_varint(m, (uint32_t)(doc - m->last_doc)); /* the first gap is doc + 1 */
    post_varint(m, tf);
    if (with_pos) {
        uint32_t prev = 0;
        for (uint32_t i = 0; i < tf; i++) {
            uint32_t p = (uint32_t)occ[i];
            post_varint(m, p - prev);
            prev = p;
        }
    }
    m->last_doc = doc;
    m->df++;
    m->cf += tf;
    return ND_OK;
}

/* ---- adding an article ---------------------------------------------- */

static int on_token(void *ctx, const nd_token *t)
{
    memindex *mi = ctx;
    uint8_t key[ND_MAX_TERM_KEY];
    key[0] = (uint8_t)mi->cur_field;
    memcpy(key + 1, t->term, t->len);
    int64_t id = term_id(mi, key, t->len + 1);
    if (id < 0) {
        mi->fail = ND_ENOMEM;
        return 1;
    }
    if (mi->n_occ == mi->occ_cap) {
        size_t cap = mi->occ_cap ? mi->occ_cap * 2 : 1024;
        uint64_t *o = realloc(mi->occ, cap * sizeof *o);
        if (!o) {
            mi->fail = ND_ENOMEM;
            return 1;
        }
        mi->occ = o;
        mi->occ_cap = cap;
    }
    mi->occ[mi->n_occ++] = ((uint64_t)id << 32) | t->pos;
    mi->cur_len++;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int index_text(memindex *mi, nd_analyzer *an, int field, const char *s, size_t n)
{
    mi->n_occ = 0;
    mi->cur_field = field;
    mi->cur_len = 0;
    mi->fail = 0;
    if (n > 0) {
        int rc = analyzer_run(an, s, n, on_token, mi);
        if (mi->fail)
            return oom(mi);
        if (rc < 0)
            return err_set(mi->err, rc, "analyzer failed");
    }
    /* Group occurrences by term: positions are already ascending per term. */
    if (mi->n_occ > 1)
        qsort(mi->occ, mi->n_occ, sizeof *mi->occ, cmp_u64);
    for (size_t i = 0; i < mi->n_occ;) {
        uint32_t id = (uint32_t)(mi->occ[i] >> 32);
        size_t j = i + 1;
        while (j < mi->n_occ && (uint32_t)(mi->occ[j] >> 32) == id)
            j++;
        if (j - i > UINT32_MAX)
            return err_set(mi->err, ND_ELIMIT, "too many occurrences of one term");
        int rc = post_add(mi, &mi->terms[id], mi->docs, mi->occ + i, (uint32_t)(j - i), 1);
        if (rc == ND_ENOMEM)
            return oom(mi);
        if (rc)
            return err_set(mi->err, rc, "postings of one term exceed 4 GiB in a segment");
        i = j;
    }
    uint32_t len = mi->cur_len;
    mi->sum_len[field] += len;
    if (buf_put_u32(&mi->lens[field], len))
        return oom(mi);
    return ND_OK;
}

static int index_keyword(memindex *mi, nd_analyzer *an, int field, const char *s, size_t n)
{
    if (n == 0)
        return ND_OK;
    if (analyzer_keyword(an, s, n, &mi->kwbuf))
        return oom(mi);
    size_t len = mi->kwbuf.len;
    if (len == 0 || len > ND_MAX_TERM_BYTES)
        return ND_OK; /* empty or over-long values are stored, not indexed */
    uint8_t key[ND_MAX_TERM_KEY];
    key[0] = (uint8_t)field;
    memcpy(key + 1, mi->kwbuf.data, len);
    int64_t id = term_id(mi, key, len + 1);
    if (id < 0)
        return oom(mi);
    if (post_add(mi, &mi->terms[id], mi->docs, NULL, 1, 0))
        return oom(mi);
    return ND_OK;
}

static int flush_stored_block(memindex *mi, nd_err *e)
{
    if (mi->sblock.len == 0)
        return ND_OK;
    uLong bound = compressBound((uLong)mi->sblock.len);
    buf_reset(&mi->zbuf);
    if (mi->sblock.len > UINT32_MAX || bound > UINT32_MAX)
        return err_set(e, ND_ELIMIT, "stored article over 4 GiB");
    if (buf_reserve(&mi->zbuf, bound))
        return err_set(e, ND_ENOMEM, "out of memory compressing stored articles");
    uLongf zlen = bound;
    if (compress2(mi->zbuf.data, &zlen, mi->sblock.data, (uLong)mi->sblock.len,
                  Z_DEFAULT_COMPRESSION) != Z_OK)
        return err_set(e, ND_ENOMEM, "zlib failed compressing stored articles");
    uint64_t off = fout_tell(&mi->sto);
    int rc = fout_write(&mi->sto, mi->zbuf.data, zlen, e);
    if (rc)
        return rc;
    if (buf_put_u64(&mi->sindex, off) || buf_put_u32(&mi->sindex, (uint32_t)zlen) ||
        buf_put_u32(&mi->sindex, (uint32_t)mi->sblock.len) ||
        buf_put_u32(&mi->sindex, mi->sblock_first))
        return err_set(e, ND_ENOMEM, "out of memory");
    mi->n_sblocks++;
    buf_reset(&mi->sblock);
    return ND_OK;
}

static int store_doc(memindex *mi, const nd_doc *d)
{
    if (mi->sblock.len == 0)
        mi->sblock_first = mi->docs;
    const char *f[SF_COUNT] = {d->id, d->title, d->body, d->source, d->url, d->lang};
    size_t n[SF_COUNT] = {d->id_len,     d->title_len, d->body_len,
                          d->source_len, d->url_len,   d->lang_len};
    for (int i = 0; i < SF_COUNT; i++) {
        if (buf_put_varint(&mi->sblock, n[i]) || buf_append(&mi->sblock, f[i], n[i]))
            return oom(mi);
    }
    if (mi->sblock.len >= STORED_BLOCK_TARGET)
        return flush_stored_block(mi, mi->err);
    return ND_OK;
}

/* The id as a term of its own, byte for byte. */
static int index_id(memindex *mi, const char *id, size_t n)
{
    uint8_t key[ND_MAX_TERM_KEY];
    if (n == 0 || n > ND_MAX_TERM_BYTES)
        return err_set(mi->err, ND_EINVAL, "article id must be 1 to %d bytes", ND_MAX_TERM_BYTES);
    key[0] = FIELD_ID;
    memcpy(key + 1, id, n);
    int64_t tid = term_id(mi, key, n + 1);
    if (tid < 0 || post_add(mi, &mi->terms[tid], mi->docs, NULL, 1, 0))
        return oom(mi);
    return ND_OK;
}

const uint64_t *memindex_seqs(const memindex *mi)
{
    return (const uint64_t *)mi->seqs.data;
}

int memindex_add(memindex *mi, nd_analyzer *an, const nd_doc *d, uint64_t seq, nd_err *e)
{
    mi->err = e;
    if (d->id_len == 0 || d->id_len > ND_MAX_TERM_BYTES)
        return err_set(e, ND_EINVAL, "article id must be 1 to %d bytes", ND_MAX_TERM_BYTES);
    if (mi->docs >= ND_MAX_SEG_DOCS)
        return err_set(e, ND_ELIMIT, "segment is full");
    if (d->body_len > UINT32_MAX || d->title_len > UINT32_MAX || d->url_len > UINT32_MAX)
        return err_set(e, ND_ELIMIT, "article text over 4 GiB");
    int rc;
    if ((rc = index_text(mi, an, FIELD_TITLE, d->title, d->title_len)) ||
        (rc = index_text(mi, an, FIELD_BODY, d->body, d->body_len)) ||
        (rc = index_text(mi, an, FIELD_URL, d->url, d->url_len)) ||
        (rc = index_keyword(mi, an, FIELD_SOURCE, d->source, d->source_len)) ||
        (rc = index_keyword(mi, an, FIELD_LANG, d->lang, d->lang_len)) ||
        (rc = index_id(mi, d->id, d->id_len)))
        return rc;
    if (buf_put_u64(&mi->dates, (uint64_t)d->date) || buf_append(&mi->seqs, &seq, sizeof seq))
        return oom(mi);
    if ((rc = store_doc(mi, d)))
        return rc;
    mi->docs++;
    return ND_OK;
}

/* ---- writing the segment ------------------------------------------------ */

typedef struct sorted_term {
    const uint8_t *key;
    uint32_t len;
    uint32_t id;
} sorted_term;

static int cmp_key(const void *a, const void *b)
{
    const sorted_term *x = a, *y = b;
    int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Scratch for encoding one term. */
typedef struct enc {
    uint32_t *docs, *tfs, *pos;
    size_t docs_cap, tfs_cap, pos_cap;
    nd_buf skip, blocks, posbuf, tmp;
} enc;

static int grow_u32(uint32_t **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return ND_OK;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    uint32_t *q = realloc(*p, c * sizeof *q);
    if (!q)
        return ND_ENOMEM;
    *p = q;
    *cap = c;
    return ND_OK;
}

/* Decodes a term's in-memory stream into enc arrays; *n_pos = positions. The
 * stream was written by post_add in this process, so it is trusted. */
static int decode_term(const mterm *m, int with_pos, enc *x, size_t *n_pos)
{
    if (grow_u32(&x->docs, &x->docs_cap, m->df) || grow_u32(&x->tfs, &x->tfs_cap, m->df))
        return ND_ENOMEM;
    if (with_pos && grow_u32(&x->pos, &x->pos_cap, (size_t)m->cf))
        return ND_ENOMEM;
    const uint8_t *p = m->post, *end = m->post + m->len;
    uint32_t doc = UINT32_MAX;
    size_t np = 0;
    for (uint32_t i = 0; i < m->df; i++) {
        uint64_t gap, tf;
        varint_get(&p, end, &gap);
        varint_get(&p, end, &tf);
        doc += (uint32_t)gap;
        x->docs[i] = doc;
        x->tfs[i] = (uint32_t)tf;
        if (with_pos) {
            uint32_t prev = 0;
            for (uint64_t k = 0; k < tf; k++) {
                uint64_t g;
                varint_get(&p, end, &g);
                prev += (uint32_t)g;
                x->pos[np++] = prev;
            }
        }
    }
    *n_pos = np;
    return ND_OK;
}

/* Encodes the decoded term into x->skip / x->blocks / x->posbuf. */
static int encode_term(memindex *mi, int field, uint32_t df, int with_pos, enc *x)
{
    buf_reset(&x->skip);
    buf_reset(&x->blocks);
    buf_reset(&x->posbuf);
    uint32_t nb = (df + ND_BLOCK - 1) / ND_BLOCK;
    uint32_t prev_doc = UINT32_MAX; /* "-1": the first gap - 1 is the doc itself */
    uint32_t prev_last = 0;
    size_t pos_i = 0;
    uint32_t vals[ND_BLOCK];
    uint8_t packed[ND_BLOCK * 4];
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t lo = b * ND_BLOCK, n = df - lo < ND_BLOCK ? df - lo : ND_BLOCK;
        size_t start = x->blocks.len, pstart = x->posbuf.len;
        uint32_t max_tf = 0, min_len = UINT32_MAX;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t tf = x->tfs[lo + i], d = x->docs[lo + i];
            if (tf > max_tf)
                max_tf = tf;
            uint32_t len = field < N_TEXT_FIELDS ? ld_u32(mi->lens[field].data + (size_t)d * 4) : 1;
            if (len < min_len)
                min_len = len;
        }
        if (n == ND_BLOCK) {
            for (uint32_t i = 0; i < n; i++) {
                vals[i] = x->docs[lo + i] - prev_doc - 1;
                prev_doc = x->docs[lo + i];
            }
            unsigned bits = bits_needed(vals, n);
            bitpack128_pack(packed, vals, bits);
            if (buf_putc(&x->blocks, (uint8_t)bits) ||
                buf_append(&x->blocks, packed, 16 * bits))
                return ND_ENOMEM;
            for (uint32_t i = 0; i < n; i++)
                vals[i] = x->tfs[lo + i] - 1;
            bits = bits_needed(vals, n);
            bitpack128_pack(packed, vals, bits);
            if (buf_putc(&x->blocks, (uint8_t)bits) ||
                buf_append(&x->blocks, packed, 16 * bits))
                return ND_ENOMEM;
        } else {
            for (uint32_t i = 0; i < n; i++) {
                uint32_t d = x->docs[lo + i], tf = x->tfs[lo + i];
                uint64_t v = ((uint64_t)(d - prev_doc - 1) << 1) | (tf == 1);
                prev_doc = d;
                if (buf_put_varint(&x->blocks, v) || (tf != 1 && buf_put_varint(&x->blocks, tf - 1)))
                    return ND_ENOMEM;
            }
        }
        if (with_pos) {
            size_t np = 0;
            for (uint32_t i = 0; i < n; i++)
                np += x->tfs[lo + i];
            /* gaps within each document; the first is the absolute position */
            for (uint32_t i = 0, k = 0; i < n; i++) {
                uint32_t prev = 0;
                for (uint32_t j = 0; j < x->tfs[lo + i]; j++, k++) {
                    uint32_t p = x->pos[pos_i + k];
                    x->pos[pos_i + k] = p - prev;
                    prev = p;
                }
            }
            buf_reset(&x->tmp);
            if (buf_reserve(&x->tmp, seq_bound(np)))
                return ND_ENOMEM;
            size_t w = seq_encode(x->tmp.data, x->pos + pos_i, np);
            if (buf_append(&x->posbuf, x->tmp.data, w))
                return ND_ENOMEM;
            pos_i += np;
        }
        if (nb > 1) {
            uint32_t last = x->docs[lo + n - 1];
            if (buf_put_varint(&x->skip, last - prev_last) ||
                buf_put_varint(&x->skip, x->blocks.len - start) ||
                buf_put_varint(&x->skip, x->posbuf.len - pstart) ||
                buf_put_varint(&x->skip, max_tf) || buf_put_varint(&x->skip, min_len))
                return ND_ENOMEM;
            prev_last = last;
        }
    }
    return ND_OK;
}

static void enc_free(enc *x)
{
    free(x->docs);
    free(x->tfs);
    free(x->pos);
    buf_free(&x->skip);
    buf_free(&x->blocks);
    buf_free(&x->posbuf);
    buf_free(&x->tmp);
}

static int open_out(memindex *mi, fout *f, int kind, const char magic[4], nd_err *e)
{
    char name[64], path[4200];
    seg_file_name(name, sizeof name, mi->number, kind);
    snprintf(path, sizeof path, "%s/%s", mi->dir, name);
    return fout_open(f, path, magic, e);
}

static int write_terms(memindex *mi, fout *tdx, fout *doc, fout *pos, nd_err *e)
{
    sorted_term *st = malloc(((size_t)mi->n_terms + 1) * sizeof *st);
    nd_buf tindex = {0};
    enc x = {0};
    int rc = ND_OK;
    if (!st) {
        rc = err_set(e, ND_ENOMEM, "out of memory sorting terms");
        goto out;
    }
    for (uint32_t t = 0; t < mi->n_terms; t++) {
        st[t].key = mi->keys.data + mi->terms[t].key_off;
        st[t].len = mi->terms[t].key_len;
        st[t].id = t;
    }
    qsort(st, mi->n_terms, sizeof *st, cmp_key);
    uint32_t n_tblocks = 0;
    const uint8_t *prev = NULL;
    uint32_t prev_len = 0;
    for (uint32_t i = 0; i < mi->n_terms; i++) {
        mterm *m = &mi->terms[st[i].id];
        int field = st[i].key[0];
        int with_pos = field < N_TEXT_FIELDS;
        size_t np;
        if (decode_term(m, with_pos, &x, &np) || encode_term(mi, field, m->df, with_pos, &x)) {
            rc = err_set(e, ND_ENOMEM, "out of memory writing postings");
            goto out;
        }
        uint64_t doc_off = fout_tell(doc), pos_off = fout_tell(pos);
        if ((rc = fout_write(doc, x.skip.data, x.skip.len, e)) ||
            (rc = fout_write(doc, x.blocks.data, x.blocks.len, e)) ||
            (rc = fout_write(pos, x.posbuf.data, x.posbuf.len, e)))
            goto out;
        uint32_t shared = 0;
        if (i % TERMS_PER_TBLOCK == 0) {
            /* a new dictionary block: full first key, absolute offsets */
            if (buf_put_u64(&tindex, fout_tell(tdx)) || buf_put_varint(&tindex, st[i].len) ||
                buf_append(&tindex, st[i].key, st[i].len)) {
                rc = err_set(e, ND_ENOMEM, "out of memory");
                goto out;
            }
            n_tblocks++;
            if ((rc = fout_varint(tdx, doc_off, e)) || (rc = fout_varint(tdx, pos_off, e)))
                goto out;
        } else {
            uint32_t lim = prev_len < st[i].len ? prev_len : st[i].len;
            while (shared < lim && prev[shared] == st[i].key[shared])
                shared++;
        }
        if ((rc = fout_varint(tdx, shared, e)) ||
            (rc = fout_varint(tdx, st[i].len - shared, e)) ||
            (rc = fout_write(tdx, st[i].key + shared, st[i].len - shared, e)) ||
            (rc = fout_varint(tdx, m->df, e)) || (rc = fout_varint(tdx, m->cf - m->df, e)) ||
            (rc = fout_varint(tdx, x.skip.len + x.blocks.len, e)) ||
            (rc = fout_varint(tdx, x.posbuf.len, e)))
            goto out;
        prev = st[i].key;
        prev_len = st[i].len;
        /* the in-memory stream is no longer needed */
        free(m->post);
        mi->post_bytes -= m->cap;
        m->post = NULL;
        m->cap = m->len = 0;
    }
    uint64_t index_off = fout_tell(tdx);
    uint8_t trailer[24];
    st_u64(trailer, mi->n_terms);
    st_u64(trailer + 8, index_off);
    st_u32(trailer + 16, n_tblocks);
    st_u32(trailer + 20, TERMS_PER_TBLOCK);
    if ((rc = fout_write(tdx, tindex.data, tindex.len, e)) ||
        (rc = fout_write(tdx, trailer, sizeof trailer, e)))
        goto out;
out:
    free(st);
    buf_free(&tindex);
    enc_free(&x);
    return rc;
}

static int write_columns(memindex *mi, fout *col, nd_err *e)
{
    uint8_t h[8 + 8 * N_TEXT_FIELDS];
    st_u32(h, mi->docs);
    st_u32(h + 4, N_TEXT_FIELDS);
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        st_u64(h + 8 + 8 * f, mi->sum_len[f]);
    int rc = fout_write(col, h, sizeof h, e);
    for (int f = 0; f < N_TEXT_FIELDS && !rc; f++)
        rc = fout_write(col, mi->lens[f].data, mi->lens[f].len, e);
    if (!rc)
        rc = fout_write(col, mi->dates.data, mi->dates.len, e);
    return rc;
}

static void free_mem(memindex *mi)
{
    for (uint32_t t = 0; t < mi->n_terms; t++)
        free(mi->terms[t].post);
    free(mi->terms);
    free(mi->slots);
    free(mi->occ);
    buf_free(&mi->keys);
    buf_free(&mi->kwbuf);
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        buf_free(&mi->lens[f]);
    buf_free(&mi->dates);
    buf_free(&mi->seqs);
    buf_free(&mi->sblock);
    buf_free(&mi->sindex);
    buf_free(&mi->zbuf);
    free(mi);
}

int memindex_finish(memindex *mi, seg_meta *meta, nd_buf *seqs, nd_err *e)
{
    if (seqs) {
        buf_free(seqs);
        *seqs = mi->seqs;
        memset(&mi->seqs, 0, sizeof mi->seqs);
    }
    fout f[FILE_KINDS];
    const char *magic[FILE_KINDS] = {MAGIC_TDX, MAGIC_DOC, MAGIC_POS, MAGIC_COL, MAGIC_STO};
    int opened = 0, rc;
    memset(meta, 0, sizeof *meta);
    meta->number = mi->number;
    meta->docs = mi->docs;
    /* stored articles: last block, block index, block count */
    if ((rc = flush_stored_block(mi, e)) ||
        (rc = fout_write(&mi->sto, mi->sindex.data, mi->sindex.len, e)))
        goto fail;
    uint8_t nb[4];
    st_u32(nb, mi->n_sblocks);
    if ((rc = fout_write(&mi->sto, nb, 4, e)))
        goto fail;
    f[4] = mi->sto;
    mi->sto.fd = -1;
    memset(&mi->sto.buf, 0, sizeof mi->sto.buf);
    for (opened = 0; opened < 4; opened++)
        if ((rc = open_out(mi, &f[opened], opened, magic[opened], e)))
            goto fail_files;
    opened = FILE_KINDS;
    if ((rc = write_terms(mi, &f[0], &f[1], &f[2], e)) || (rc = write_columns(mi, &f[3], e)))
        goto fail_files;
    for (int k = 0; k < FILE_KINDS; k++) {
        meta->size[k] = fout_tell(&f[k]) + FRAME_FOOTER;
        if ((rc = fout_finish(&f[k], &meta->crc[k], e))) {
            for (int j = k + 1; j < FILE_KINDS; j++)
                fout_abort(&f[j]);
            /* earlier files are complete but unreferenced: remove them */
            for (int j = 0; j < k; j++)
                unlink(f[j].path);
            free_mem(mi);
            return rc;
        }
    }
    free_mem(mi);
    return ND_OK;
fail_files:
    for (int k = 0; k < opened && k < 4; k++)
        fout_abort(&f[k]);
    fout_abort(&f[4]);
    free_mem(mi);
    return rc;
fail:
    fout_abort(&mi->sto);
    free_mem(mi);
    return rc;
}

void memindex_abort(memindex *mi)
{
    if (!mi)
        return;
    fout_abort(&mi->sto);
    free_mem(mi);
}
