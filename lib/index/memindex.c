/*
 * memindex.c - the accumulator behind nd_writer. An article is analysed
 * first, into a doc_tokens that needs nothing but an analyzer (so
 * nd_writer_add_jsonl can do that part on worker threads), then added in
 * order on the writer's thread: each term's postings (document gaps,
 * frequencies, position gaps) are appended to a compact varint stream of
 * its own, the per-field lengths and dates go to column arrays, and the
 * stored copy of each article is compressed straight to the segment's .sto
 * file (a stowriter), so memory holds postings only. memindex_finish sorts
 * the terms, decodes each one's stream and hands it to the segment writer
 * (segwrite.c), which owns every byte of the files.
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
    doc_tokens tok; /* memindex_add's analysis (not in memindex_bytes) */
    uint64_t *occ;  /* (term index << 32) | position, for one field */
    size_t n_occ, occ_cap;
    nd_err *err;
    /* columns */
    nd_buf lens[N_TEXT_FIELDS];
    nd_buf dates;
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
    size_t dir_len = strlen(dir);
    if (dir_len >= sizeof mi->dir) {
        free(mi);
        return err_set(e, ND_EINVAL, "path too long: %s", dir);
    }
    memcpy(mi->dir, dir, dir_len + 1);
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
    /* mi->tok is left out: adds analysed elsewhere (memindex_add_tokens)
     * must flush at the same points as memindex_add */
    size_t n = sizeof *mi - sizeof mi->tok + mi->post_bytes +
               (size_t)mi->terms_cap * sizeof(mterm) + (size_t)mi->n_slots * 4 + mi->keys.cap +
               mi->occ_cap * 8 + mi->dates.cap + stowriter_bytes(&mi->sto);
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
    size_t need = (size_t)2 * ND_VARINT_MAX + (with_pos ? (size_t)tf * 5 : 0);
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

/* ---- analysing an article ------------------------------------------- */

static int tok_fail(doc_tokens *t, int rc, const char *msg)
{
    t->rc = err_set(&t->err, rc, "%s", msg);
    return t->rc;
}

static int on_token(void *ctx, const nd_token *tok)
{
    doc_tokens *t = ctx;
    if (t->n_toks == t->toks_cap) {
        size_t cap = t->toks_cap ? t->toks_cap * 2 : 1024;
        doc_token *n = realloc(t->toks, cap * sizeof *n);
        if (!n)
            return 1;
        t->toks = n;
        t->toks_cap = cap;
    }
    if (buf_reserve(&t->keys, tok->len + 1))
        return 1;
    doc_token *d = &t->toks[t->n_toks++];
    d->off = t->keys.len;
    d->len = (uint32_t)tok->len + 1;
    d->pos = tok->pos;
    t->keys.data[t->keys.len] = (uint8_t)t->cur_field;
    memcpy(t->keys.data + t->keys.len + 1, tok->term, tok->len);
    t->keys.len += tok->len + 1;
    return 0;
}

static int analyse_text(doc_tokens *t, nd_analyzer *an, int field, const char *s, size_t n)
{
    t->cur_field = field;
    if (n > 0) {
        int rc = analyzer_run(an, s, n, on_token, t);
        if (rc > 0) /* on_token ran out of memory */
            return tok_fail(t, ND_ENOMEM, "out of memory while indexing");
        if (rc < 0)
            return tok_fail(t, rc, "analyzer failed");
    }
    t->end[field] = t->n_toks;
    return ND_OK;
}

int doc_tokens_analyse(doc_tokens *t, nd_analyzer *an, const nd_doc *d)
{
    t->n_toks = 0;
    buf_reset(&t->keys);
    buf_reset(&t->kw[0]);
    buf_reset(&t->kw[1]);
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        t->end[f] = 0;
    t->rc = ND_OK;
    err_clear(&t->err);
    if (d->id_len == 0 || d->id_len > ND_MAX_TERM_BYTES)
        return t->rc = err_set(&t->err, ND_EINVAL, "article id must be 1 to %d bytes",
                               ND_MAX_TERM_BYTES);
    if (d->body_len > UINT32_MAX || d->title_len > UINT32_MAX || d->url_len > UINT32_MAX)
        return tok_fail(t, ND_ELIMIT, "article text over 4 GiB");
    int rc;
    if ((rc = analyse_text(t, an, FIELD_TITLE, d->title, d->title_len)) ||
        (rc = analyse_text(t, an, FIELD_BODY, d->body, d->body_len)) ||
        (rc = analyse_text(t, an, FIELD_URL, d->url, d->url_len)))
        return rc;
    if ((d->source_len && analyzer_keyword(an, d->source, d->source_len, &t->kw[0])) ||
        (d->lang_len && analyzer_keyword(an, d->lang, d->lang_len, &t->kw[1])))
        return tok_fail(t, ND_ENOMEM, "out of memory while indexing");
    return ND_OK;
}

size_t doc_tokens_bytes(const doc_tokens *t)
{
    return t->toks_cap * sizeof *t->toks + t->keys.cap + t->kw[0].cap + t->kw[1].cap;
}

void doc_tokens_free(doc_tokens *t)
{
    free(t->toks);
    buf_free(&t->keys);
    buf_free(&t->kw[0]);
    buf_free(&t->kw[1]);
    memset(t, 0, sizeof *t);
}

/* ---- adding an analysed article ----------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Postings and length of text field `field` from its tokens [from, to). */
static int index_text(memindex *mi, int field, const doc_tokens *t, size_t from, size_t to)
{
    size_t n = to - from;
    if (n > mi->occ_cap) {
        /* the capacity doubles from 1024 as it always has: memindex_bytes
         * counts it, and flushes must happen where they did */
        size_t cap = mi->occ_cap ? mi->occ_cap * 2 : 1024;
        while (cap < n)
            cap *= 2;
        uint64_t *o = realloc(mi->occ, cap * sizeof *o);
        if (!o)
            return oom(mi);
        mi->occ = o;
        mi->occ_cap = cap;
    }
    mi->n_occ = 0;
    for (size_t k = from; k < to; k++) {
        const doc_token *d = &t->toks[k];
        int64_t id = term_id(mi, t->keys.data + d->off, d->len);
        if (id < 0)
            return oom(mi);
        mi->occ[mi->n_occ++] = ((uint64_t)id << 32) | d->pos;
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
    uint32_t len = (uint32_t)n;
    mi->sum_len[field] += len;
    if (buf_put_u32(&mi->lens[field], len))
        return oom(mi);
    return ND_OK;
}

static int index_keyword(memindex *mi, int field, const nd_buf *kw)
{
    size_t len = kw->len;
    if (len == 0 || len > ND_MAX_TERM_BYTES)
        return ND_OK; /* absent, empty or over-long values are stored, not indexed */
    uint8_t key[ND_MAX_TERM_KEY];
    key[0] = (uint8_t)field;
    memcpy(key + 1, kw->data, len);
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

int memindex_add_tokens(memindex *mi, const nd_doc *d, const doc_tokens *t, nd_err *e)
{
    mi->err = e;
    if (mi->docs >= ND_MAX_SEG_DOCS)
        return err_set(e, ND_ELIMIT, "segment is full");
    if (t->rc)
        return err_set(e, t->rc, "%s", t->err.msg);
    int rc;
    if ((rc = index_text(mi, FIELD_TITLE, t, 0, t->end[FIELD_TITLE])) ||
        (rc = index_text(mi, FIELD_BODY, t, t->end[FIELD_TITLE], t->end[FIELD_BODY])) ||
        (rc = index_text(mi, FIELD_URL, t, t->end[FIELD_BODY], t->end[FIELD_URL])) ||
        (rc = index_keyword(mi, FIELD_SOURCE, &t->kw[0])) ||
        (rc = index_keyword(mi, FIELD_LANG, &t->kw[1])) ||
        (rc = index_id(mi, d->id, d->id_len)))
        return rc;
    if (buf_put_u64(&mi->dates, (uint64_t)d->date))
        return oom(mi);
    if ((rc = store_doc(mi, d)))
        return rc;
    mi->docs++;
    return ND_OK;
}

int memindex_add(memindex *mi, nd_analyzer *an, const nd_doc *d, nd_err *e)
{
    doc_tokens_analyse(&mi->tok, an, d); /* a failure is reported by the add */
    return memindex_add_tokens(mi, d, &mi->tok, e);
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
    doc_tokens_free(&mi->tok);
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        buf_free(&mi->lens[f]);
    buf_free(&mi->dates);
    stowriter_abort(&mi->sto); /* after a finish: only frees */
    free(mi);
}

int memindex_finish(memindex *mi, seg_meta *meta, nd_err *e)
{
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
