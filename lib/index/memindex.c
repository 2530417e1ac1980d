/*
 * memindex.c - the accumulator behind nd_writer. Articles are analysed as
 * they arrive; each term's postings (document gaps, frequencies, position
 * gaps) are appended to a compact varint stream of its own, the per-field
 * lengths and dates go to column arrays, and the stored copy of each
 * article is compressed straight to the segment's .sto file (a stowriter),
 * so memory holds postings only. memindex_finish sorts the terms, decodes
 * each one's stream and hands it to the segment writer (segwrite.c), which
 * owns every byte of the files.
 */
#include <stdlib.h>

#include "analysis/analysis.h"
#include "index/index.h"

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
    stowriter sto;
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
    mi->n_slots = 1u << 12; /* grows with the vocabulary */
    mi->slots = calloc(mi->n_slots, sizeof *mi->slots);
    if (!mi->slots) {
        free(mi);
        return err_set(e, ND_ENOMEM, "out of memory");
    }
    int rc = stowriter_open(&mi->sto, dir, number, e);
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
               mi->seqs.cap + stowriter_bytes(&mi->sto);
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
        uint32_t cap = mi->terms_cap ? mi->terms_cap * 2 : 256;
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

static int store_doc(memindex *mi, const nd_doc *d)
{
    stored_doc r = {{d->id, d->title, d->body, d->source, d->url, d->lang},
                    {d->id_len, d->title_len, d->body_len, d->source_len, d->url_len, d->lang_len}};
    return stowriter_add(&mi->sto, &r, mi->err);
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

/* One term's postings, decoded for the segment writer. */
typedef struct decoded {
    uint32_t *docs, *tfs, *pos;
    size_t docs_cap, tfs_cap, pos_cap;
} decoded;

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

/* Decodes a term's in-memory stream into absolute documents and positions.
 * The stream was written by post_add in this process, so it is trusted. */
static int decode_term(const mterm *m, int with_pos, decoded *x)
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
    return ND_OK;
}

static int write_terms(memindex *mi, segwriter *sw, nd_err *e)
{
    sorted_term *st = malloc(((size_t)mi->n_terms + 1) * sizeof *st);
    decoded x = {0};
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
    for (uint32_t i = 0; i < mi->n_terms; i++) {
        mterm *m = &mi->terms[st[i].id];
        int with_pos = st[i].key[0] < N_TEXT_FIELDS;
        if (decode_term(m, with_pos, &x)) {
            rc = err_set(e, ND_ENOMEM, "out of memory writing postings");
            goto out;
        }
        if ((rc = segwriter_term(sw, st[i].key, st[i].len, m->df, x.docs, x.tfs,
                                 with_pos ? x.pos : NULL, e)))
            goto out;
        /* the in-memory stream is no longer needed */
        free(m->post);
        mi->post_bytes -= m->cap;
        m->post = NULL;
        m->cap = m->len = 0;
    }
out:
    free(st);
    free(x.docs);
    free(x.tfs);
    free(x.pos);
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
    stowriter_abort(&mi->sto); /* after a finish: only frees */
    free(mi);
}

int memindex_finish(memindex *mi, seg_meta *meta, nd_buf *seqs, nd_err *e)
{
    if (seqs) {
        buf_free(seqs);
        *seqs = mi->seqs;
        memset(&mi->seqs, 0, sizeof mi->seqs);
    }
    memset(meta, 0, sizeof *meta);
    meta->number = mi->number;
    meta->docs = mi->docs;
    seg_columns cols;
    memset(&cols, 0, sizeof cols);
    cols.docs = mi->docs;
    for (int f = 0; f < N_TEXT_FIELDS; f++) {
        cols.lens[f] = mi->lens[f].data;
        cols.sum_len[f] = mi->sum_len[f];
    }
    cols.dates = mi->dates.data;
    segwriter *sw;
    int rc = segwriter_open(&sw, mi->dir, mi->number, &cols, e);
    if (!rc) {
        if ((rc = write_terms(mi, sw, e)))
            segwriter_abort(sw);
        else
            rc = segwriter_finish(sw, &mi->sto, meta, e);
    }
    free_mem(mi); /* removes the .sto file if it was not finished */
    return rc;
}

void memindex_abort(memindex *mi)
{
    if (!mi)
        return;
    free_mem(mi);
}
