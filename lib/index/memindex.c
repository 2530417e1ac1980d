/*
 * memindex.c - the accumulator behind nd_writer. An article is analysed
 * first, into a doc_tokens that needs nothing but an analyzer (so
 * nd_writer_add_jsonl can do that part on worker threads; doctokens.c
 * also groups the tokens by term and encodes their postings there), then
 * added in order on the writer's thread: each term's postings (document
 * gaps, frequencies, position gaps) are appended to a compact varint
 * stream of its own, the per-field lengths and dates go to column arrays, and the
 * stored copy of each article is compressed straight to the segment's .sto
 * file (a stowriter), so memory holds postings only. memindex_finish sorts
 * the terms, decodes each one's stream and hands it to the segment writer
 * (segwrite.c), which owns every byte of the files.
 *
 * Compressing the stored copies costs as much as everything else done
 * here, so a writer with threads gives it a thread of its own
 * (memindex_store_thread): each article's strings are copied into a ring
 * of slots, and the store thread hands them to the stowriter in order.
 * The files are the same either way.
 */
#include <pthread.h>
#include <stdlib.h>

#include "analysis/analysis.h"
#include "index/index.h"

/* Bytes of a key kept in its mterm: most keys fit, so a lookup compares
 * them without touching the key buffer. */
#define KEY_HEAD 16

/* One distinct (field, term) of the segment being built: 64 bytes, so a
 * lookup touches one cache line of it. */
typedef struct mterm {
    uint8_t head[KEY_HEAD]; /* the first key bytes, zero-padded */
    uint64_t key_off;       /* key bytes in mi->keys */
    uint64_t cf;
    uint8_t *post;          /* varint stream: doc gap, tf, tf position gaps */
    uint32_t key_len;       /* field byte + term bytes */
    uint32_t last_doc;      /* last document appended (UINT32_MAX before the first) */
    uint32_t df;
    uint32_t len, cap;      /* postings stream bytes used / allocated */
} mterm;

/* Articles waiting for the store thread: a ring of STORE_SLOTS copies,
 * holding at most STORE_WAIT_BYTES unless one article is longer; a slot
 * that held more than STORE_KEEP_BYTES is freed once stored. The ring is
 * long so that the adding thread rarely waits for the store thread: on a
 * machine with fewer cores than busy threads, the store thread is often
 * not running when its ring fills, and with 64 slots the writer's thread
 * of a two-thread AP89 ingest spent 1.7 s of its 5.5 s waiting there (0.1
 * s with 1,024). */
#define STORE_SLOTS 1024
#define STORE_WAIT_BYTES ((size_t)16 << 20)
#define STORE_KEEP_BYTES ((size_t)64 << 10)

typedef struct store_queue {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* a slot was filled or emptied, or stop */
    nd_buf slot[STORE_SLOTS]; /* six (u64 length, bytes) strings in SF_* order */
    size_t head, count;      /* the oldest waiting slot, and how many wait (mu) */
    size_t bytes;            /* bytes of the waiting copies (mu) */
    uint32_t done;           /* articles taken from the ring (store thread only) */
    int stop;                /* no more articles: store what waits and end (mu) */
    int drop;                /* the segment is abandoned: store nothing more (mu) */
    int rc;                  /* the first stowriter failure (mu) */
    nd_err err;              /* its message, written before rc is set */
} store_queue;

struct memindex {
    char dir[4096];
    uint64_t number;
    uint32_t docs;
    /* terms */
    mterm *terms;
    uint32_t n_terms, terms_cap;
    uint64_t *slots; /* open addressing: hash tag << 32 | (term index + 1), 0 = empty */
    uint32_t n_slots;
    nd_buf keys;
    size_t post_bytes; /* sum of mterm.cap (not kept once finishing) */
    /* per-article scratch */
    doc_tokens tok;      /* memindex_add's analysis (not in memindex_bytes) */
    tok_scratch scratch; /* ... and its working space (nor this) */
    uint32_t *ids;       /* per distinct term of a field: its term index */
    size_t ids_cap;
    nd_err *err;
    /* columns */
    nd_buf lens[N_TEXT_FIELDS];
    nd_buf dates;
    uint64_t sum_len[N_TEXT_FIELDS];
    /* stored articles */
    stowriter sto;
    store_queue *sq; /* NULL: stored by the adding thread */
    int threaded;    /* memindex_store_thread started a thread: finish uses two */
    /* stowriter_bytes when it opened and after storing document d (at
     * d % (STORE_SLOTS + 1): kept until document d + STORE_SLOTS is
     * counted), the text bytes of document d (at d % STORE_SLOTS), and
     * those of the last STORE_SLOTS documents: see memindex_bytes */
    size_t sto_open, sto_after[STORE_SLOTS + 1];
    size_t text_bytes[STORE_SLOTS], recent_text;
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
    mi->n_slots = 1u << 10; /* grows with the vocabulary */
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
    mi->sto_open = stowriter_bytes(&mi->sto);
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
     * must flush at the same points as memindex_add. The stowriter is
     * counted as it was STORE_SLOTS documents ago, which a store thread
     * has always reached by then, plus the text of the documents since,
     * with or without a store thread, so that flushes never depend on its
     * progress. */
    size_t sto = mi->docs > STORE_SLOTS
                     ? mi->sto_after[(mi->docs - 1 - STORE_SLOTS) % (STORE_SLOTS + 1)]
                     : mi->sto_open;
    sto += mi->recent_text;
    size_t n = sizeof *mi - sizeof mi->tok - sizeof mi->scratch + mi->post_bytes +
               (size_t)mi->terms_cap * sizeof(mterm) + (size_t)mi->n_slots * sizeof *mi->slots +
               mi->keys.cap +
               mi->ids_cap * sizeof *mi->ids +
               mi->dates.cap + sto;
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        n += mi->lens[f].cap;
    return n;
}

/* ---- term table -------------------------------------------------------- */

/* A slot's tag: hash bits the slot index does not use (table <= 2^32). */
static inline uint64_t slot_of(uint64_t h, uint32_t id)
{
    return (h & 0xFFFFFFFF00000000ULL) | ((uint64_t)id + 1);
}

static int grow_slots(memindex *mi)
{
    uint32_t n = mi->n_slots * 2;
    uint64_t *s = calloc(n, sizeof *s);
    if (!s)
        return ND_ENOMEM;
    for (uint32_t t = 0; t < mi->n_terms; t++) {
        const mterm *m = &mi->terms[t];
        uint64_t h = term_key_hash(mi->keys.data + m->key_off, m->key_len);
        uint32_t i = (uint32_t)h & (n - 1);
        while (s[i])
            i = (i + 1) & (n - 1);
        s[i] = slot_of(h, t);
    }
    free(mi->slots);
    mi->slots = s;
    mi->n_slots = n;
    return ND_OK;
}

/* 1 if term m has the key key[0..klen). */
static inline int same_key(const memindex *mi, const mterm *m, const uint8_t *key, size_t klen)
{
    if (m->key_len != klen)
        return 0;
    if (klen <= KEY_HEAD)
        return memcmp(m->head, key, klen) == 0;
    return memcmp(m->head, key, KEY_HEAD) == 0 &&
           memcmp(mi->keys.data + m->key_off + KEY_HEAD, key + KEY_HEAD, klen - KEY_HEAD) == 0;
}

/* Finds or adds the term with this key, whose key_hash is h; returns its
 * index or -1 (ENOMEM). */
static int64_t term_id_hashed(memindex *mi, const uint8_t *key, size_t klen, uint64_t h)
{
    uint64_t tag = h & 0xFFFFFFFF00000000ULL;
    uint32_t mask = mi->n_slots - 1;
    uint32_t i = (uint32_t)h & mask;
    for (;;) {
        uint64_t s = mi->slots[i];
        if (!s)
            break;
        if ((s & 0xFFFFFFFF00000000ULL) == tag) {
            uint32_t id = (uint32_t)s - 1;
            if (same_key(mi, &mi->terms[id], key, klen))
                return id;
        }
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
    memcpy(m->head, key, klen < KEY_HEAD ? klen : KEY_HEAD);
    m->key_off = mi->keys.len;
    m->key_len = (uint32_t)klen;
    m->last_doc = UINT32_MAX;
    if (buf_append(&mi->keys, key, klen))
        return -1;
    mi->slots[i] = slot_of(h, mi->n_terms);
    mi->n_terms++;
    if ((uint64_t)mi->n_terms * 4 > (uint64_t)mi->n_slots * 3 && grow_slots(mi))
        return -1;
    return mi->n_terms - 1;
}

static int64_t term_id(memindex *mi, const uint8_t *key, size_t klen)
{
    return term_id_hashed(mi, key, klen, term_key_hash(key, klen));
}

/* Asks for the cache line at p ahead of its use (a hint; no effect on
 * results). */
#if defined(__GNUC__)
#define PREFETCH(p, w) __builtin_prefetch((p), (w))
#else
#define PREFETCH(p, w) ((void)(p))
#endif

static int post_reserve(memindex *mi, mterm *m, size_t extra)
{
    if (m->post && m->cap - m->len >= extra)
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

/* The in-memory streams use the format's varints (codec.h) of u32 values,
 * read here inline without bounds (they were written in this process:
 * here, and during analysis by doctokens.c). */
static inline void post_varint(mterm *m, uint32_t v)
{
    m->len += (uint32_t)varint_put(m->post + m->len, v);
}

static inline uint32_t get_varint(const uint8_t **p)
{
    const uint8_t *s = *p;
    uint32_t v = *s & 0x7F;
    for (unsigned shift = 7; *s++ & 0x80; shift += 7)
        v |= (uint32_t)(*s & 0x7F) << shift;
    *p = s;
    return v;
}

/* Appends document `doc`, once, to the postings of a term without
 * positions (keywords and ids). */
static int post_add(memindex *mi, mterm *m, uint32_t doc)
{
    int rc = post_reserve(mi, m, 10); /* two u32 varints */
    if (rc)
        return rc;
    post_varint(m, doc - m->last_doc); /* the first gap is doc + 1 */
    post_varint(m, 1);
    m->last_doc = doc;
    m->df++;
    m->cf++;
    return ND_OK;
}

/* ---- adding an analysed article ----------------------------------------- */

/* Makes room for need values at *p (capacity *cap, doubling from 256). */
static int grow_u32(uint32_t **p, size_t *cap, size_t need)
{
    if (*p && need <= *cap)
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

/* Terms between a prefetch of a term's entry and its lookup. */
#define AHEAD 4

/*
 * Postings and length of text field `field`: its distinct terms come
 * grouped, hashed and with their postings encoded (doctokens.c), so each
 * is looked up once and its bytes appended after the document gap. The
 * table is far bigger than the caches, so the memory a lookup needs is
 * asked for ahead: every term's slot first, then the entry of the term
 * AHEAD further on; each lookup ends by asking for the end of its term's
 * stream, which the appends then find in cache.
 */
static int index_text(memindex *mi, int field, const doc_tokens *t)
{
    size_t from = field ? t->end[field - 1] : 0, n = t->end[field] - from;
    const doc_term *dt = t->terms + from;
    if (grow_u32(&mi->ids, &mi->ids_cap, n))
        return oom(mi);
    uint32_t *ids = mi->ids;
    for (size_t k = 0; k < n; k++)
        PREFETCH(&mi->slots[(uint32_t)dt[k].hash & (mi->n_slots - 1)], 0);
    for (size_t k = 0; k < n; k++) {
        if (k + AHEAD < n) {
            uint64_t s = mi->slots[(uint32_t)dt[k + AHEAD].hash & (mi->n_slots - 1)];
            if (s)
                PREFETCH(&mi->terms[(uint32_t)s - 1], 0);
        }
        int64_t id = term_id_hashed(mi, t->keys.data + dt[k].key, dt[k].len, dt[k].hash);
        if (id < 0)
            return oom(mi);
        const mterm *m = &mi->terms[id];
        if (m->post)
            PREFETCH(m->post + m->len, 1);
        ids[k] = (uint32_t)id;
    }
    for (size_t k = 0; k < n; k++) {
        mterm *m = &mi->terms[ids[k]];
        int rc = post_reserve(mi, m, 5 + (size_t)dt[k].enc_len);
        if (rc == ND_ENOMEM)
            return oom(mi);
        if (rc)
            return err_set(mi->err, rc, "postings of one term exceed 4 GiB in a segment");
        post_varint(m, mi->docs - m->last_doc); /* the first gap is doc + 1 */
        memcpy(m->post + m->len, t->enc.data + dt[k].enc, dt[k].enc_len);
        m->len += dt[k].enc_len;
        m->last_doc = mi->docs;
        m->df++;
        m->cf += dt[k].tf;
    }
    uint32_t len = (uint32_t)t->len[field];
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
    if (post_add(mi, &mi->terms[id], mi->docs))
        return oom(mi);
    return ND_OK;
}

/* ---- stored articles ------------------------------------------------------ */

static void *store_main(void *arg)
{
    memindex *mi = arg;
    store_queue *q = mi->sq;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->count == 0 && !q->stop)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->count == 0)
            break;
        nd_buf *b = &q->slot[q->head];
        int skip = q->rc || q->drop;
        pthread_mutex_unlock(&q->mu);
        int rc = ND_OK;
        if (!skip) {
            stored_doc r;
            const uint8_t *p = b->data;
            for (int i = 0; i < SF_COUNT; i++) {
                uint64_t n;
                memcpy(&n, p, sizeof n);
                r.f[i] = (const char *)p + sizeof n;
                r.len[i] = (size_t)n;
                p += sizeof n + n;
            }
            rc = stowriter_add(&mi->sto, &r, &q->err);
            /* read by the adding thread once it has taken this slot again */
            mi->sto_after[q->done % (STORE_SLOTS + 1)] = stowriter_bytes(&mi->sto);
        }
        q->done++;
        size_t len = b->len;
        if (b->cap > STORE_KEEP_BYTES)
            buf_free(b);
        pthread_mutex_lock(&q->mu);
        if (rc && !q->rc)
            q->rc = rc;
        q->bytes -= len;
        q->head = (q->head + 1) % STORE_SLOTS;
        q->count--;
        pthread_cond_broadcast(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

void memindex_store_thread(memindex *mi)
{
    /* from the first article on: document d is then in slot d % STORE_SLOTS */
    if (mi->sq || mi->docs)
        return;
    store_queue *q = calloc(1, sizeof *q);
    if (!q)
        return;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    mi->sq = q;
    if (pthread_create(&q->tid, NULL, store_main, mi) != 0) {
        mi->sq = NULL;
        pthread_cond_destroy(&q->cv);
        pthread_mutex_destroy(&q->mu);
        free(q);
        return;
    }
    mi->threaded = 1;
}

/* Ends the store thread: with drop = 0 after storing every article that
 * waits, else at once. Returns its first failure (message in e). */
static int store_stop(memindex *mi, int drop, nd_err *e)
{
    store_queue *q = mi->sq;
    if (!q)
        return ND_OK;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    q->drop |= drop;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->tid, NULL);
    int rc = q->rc ? err_set(e, q->rc, "%s", q->err.msg) : ND_OK;
    for (int i = 0; i < STORE_SLOTS; i++)
        buf_free(&q->slot[i]);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
    mi->sq = NULL;
    return rc;
}

/* Queues a copy of the article's strings for the store thread, waiting
 * for a free slot. A failure of an earlier article is reported here. */
static int store_queued(memindex *mi, const stored_doc *r)
{
    store_queue *q = mi->sq;
    size_t need = SF_COUNT * sizeof(uint64_t);
    for (int i = 0; i < SF_COUNT; i++)
        need += r->len[i];
    pthread_mutex_lock(&q->mu);
    while ((q->count == STORE_SLOTS || (q->count && q->bytes + need > STORE_WAIT_BYTES)) &&
           !q->rc)
        pthread_cond_wait(&q->cv, &q->mu);
    int rc = q->rc;
    size_t at = (q->head + q->count) % STORE_SLOTS;
    pthread_mutex_unlock(&q->mu);
    if (rc)
        return err_set(mi->err, rc, "%s", q->err.msg);
    /* the store thread reads this slot only once it is counted below */
    nd_buf *b = &q->slot[at];
    buf_reset(b);
    for (int i = 0; i < SF_COUNT; i++) {
        uint64_t n = r->len[i];
        if (buf_append(b, &n, sizeof n) || buf_append(b, r->f[i], r->len[i]))
            return err_set(mi->err, ND_ENOMEM, "out of memory storing an article");
    }
    pthread_mutex_lock(&q->mu);
    q->count++;
    q->bytes += b->len;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return ND_OK;
}

static int store_doc(memindex *mi, const nd_doc *d)
{
    stored_doc r = {{d->id, d->title, d->body, d->source, d->url, d->lang},
                    {d->id_len, d->title_len, d->body_len, d->source_len, d->url_len, d->lang_len}};
    size_t text = 0, *slot = &mi->text_bytes[mi->docs % STORE_SLOTS];
    for (int i = 0; i < SF_COUNT; i++)
        text += r.len[i];
    mi->recent_text += text - (mi->docs >= STORE_SLOTS ? *slot : 0);
    *slot = text;
    if (mi->sq)
        return store_queued(mi, &r);
    int rc = stowriter_add(&mi->sto, &r, mi->err);
    mi->sto_after[mi->docs % (STORE_SLOTS + 1)] = stowriter_bytes(&mi->sto);
    return rc;
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
    if (tid < 0 || post_add(mi, &mi->terms[tid], mi->docs))
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
    if ((rc = index_text(mi, FIELD_TITLE, t)) || (rc = index_text(mi, FIELD_BODY, t)) ||
        (rc = index_text(mi, FIELD_URL, t)) ||
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
    doc_tokens_analyse(&mi->tok, &mi->scratch, an, d); /* a failure is reported by the add */
    return memindex_add_tokens(mi, d, &mi->tok, e);
}

/* ---- writing the segment ------------------------------------------------ */

typedef struct sorted_term {
    uint64_t prefix; /* the key's first 8 bytes, big-endian, zero-padded */
    const uint8_t *key;
    uint32_t len;
    uint32_t id;
} sorted_term;

/* Key order (memcmp, then the shorter first). Most pairs differ in their
 * first 8 bytes, which the prefixes compare without reading the keys. */
static int cmp_key(const void *a, const void *b)
{
    const sorted_term *x = a, *y = b;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
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

/* Decodes a term's in-memory stream into absolute documents and positions.
 * The stream was written by index_text or post_add in this process, so
 * it is trusted. */
static int decode_term(const mterm *m, int with_pos, decoded *x)
{
    if (grow_u32(&x->docs, &x->docs_cap, m->df) || grow_u32(&x->tfs, &x->tfs_cap, m->df))
        return ND_ENOMEM;
    if (with_pos && grow_u32(&x->pos, &x->pos_cap, (size_t)m->cf))
        return ND_ENOMEM;
    const uint8_t *p = m->post;
    uint32_t doc = UINT32_MAX;
    size_t np = 0;
    for (uint32_t i = 0; i < m->df; i++) {
        doc += get_varint(&p);
        uint32_t tf = get_varint(&p);
        x->docs[i] = doc;
        x->tfs[i] = tf;
        if (with_pos) {
            uint32_t prev = 0;
            for (uint32_t k = 0; k < tf; k++) {
                prev += get_varint(&p);
                x->pos[np++] = prev;
            }
        }
    }
    return ND_OK;
}

/*
 * Writing the terms. They are cut, in key order, into chunks of at most
 * CHUNK_TERMS terms or about CHUNK_BYTES of in-memory postings; each chunk
 * is decoded and encoded (segwriter_encode) as a whole, then its terms are
 * added to the segment in order (segwriter_add). A memindex with threads
 * has the odd chunks encoded on a helper thread while this one encodes the
 * even ones and adds them all; the bytes are the same either way.
 */
#define CHUNK_TERMS 256
#define CHUNK_BYTES ((size_t)256 << 10)

typedef struct chunk {
    term_code code;
    term_coded t[CHUNK_TERMS];
    int rc;     /* segwriter_encode's failure ... */
    nd_err err; /* ... and its message */
    int ready;  /* a helper's chunk is encoded and not yet added (enc.mu) */
} chunk;

typedef struct encoder {
    memindex *mi;
    const segwriter *sw;
    const sorted_term *st;
    const uint32_t *bounds; /* chunk c holds sorted terms [bounds[c], bounds[c + 1]) */
    uint32_t n_chunks;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* a helper's chunk was encoded or added, or stop */
    chunk slot[2];          /* the helper's chunks 1, 5, 9... and 3, 7, 11... */
    int stop;               /* (mu) */
} encoder;

/* Encodes chunk c into k, freeing each term's in-memory stream once it is
 * encoded (on the thread that encodes it; the memory count is not kept
 * from here on). */
static int encode_chunk(const encoder *en, uint32_t c, chunk *k, decoded *x)
{
    term_code_reset(&k->code);
    for (uint32_t i = en->bounds[c]; i < en->bounds[c + 1]; i++) {
        const sorted_term *s = &en->st[i];
        mterm *m = &en->mi->terms[s->id];
        int with_pos = s->key[0] < N_TEXT_FIELDS;
        if (decode_term(m, with_pos, x))
            return err_set(&k->err, ND_ENOMEM, "out of memory writing postings");
        int rc = segwriter_encode(en->sw, s->key, s->len, m->df, x->docs, x->tfs,
                                  with_pos ? x->pos : NULL, &k->code, &k->t[i - en->bounds[c]],
                                  &k->err);
        if (rc)
            return rc;
        free(m->post);
        m->post = NULL;
        m->cap = m->len = 0;
    }
    return ND_OK;
}

static void free_decoded(decoded *x)
{
    free(x->docs);
    free(x->tfs);
    free(x->pos);
}

static void *encode_main(void *arg)
{
    encoder *en = arg;
    decoded x = {0};
    for (uint32_t c = 1; c < en->n_chunks; c += 2) {
        chunk *k = &en->slot[(c / 2) & 1];
        pthread_mutex_lock(&en->mu);
        while (k->ready && !en->stop)
            pthread_cond_wait(&en->cv, &en->mu);
        int stop = en->stop;
        pthread_mutex_unlock(&en->mu);
        if (stop)
            break;
        int rc = encode_chunk(en, c, k, &x);
        pthread_mutex_lock(&en->mu);
        k->rc = rc;
        k->ready = 1;
        pthread_cond_broadcast(&en->cv);
        pthread_mutex_unlock(&en->mu);
        if (rc)
            break;
    }
    free_decoded(&x);
    return NULL;
}

/* Adds the terms of chunk c, encoded in k. */
static int add_chunk(encoder *en, segwriter *sw, uint32_t c, const chunk *k, nd_err *e)
{
    const uint8_t *doc = k->code.doc.data, *pos = k->code.pos.data;
    for (uint32_t i = en->bounds[c]; i < en->bounds[c + 1]; i++) {
        const sorted_term *s = &en->st[i];
        const term_coded *t = &k->t[i - en->bounds[c]];
        int rc = segwriter_add(sw, s->key, s->len, en->mi->terms[s->id].df, t, doc, pos, e);
        if (rc)
            return rc;
        doc += t->doc_len;
        pos += t->pos_len;
    }
    return ND_OK;
}

static int write_terms(memindex *mi, segwriter *sw, nd_err *e)
{
    encoder en;
    memset(&en, 0, sizeof en);
    en.mi = mi;
    en.sw = sw;
    sorted_term *st = malloc(((size_t)mi->n_terms + 1) * sizeof *st);
    uint32_t *bounds = malloc(((size_t)mi->n_terms + 2) * sizeof *bounds);
    chunk *own = calloc(1, sizeof *own);
    decoded x = {0};
    int rc = ND_OK, helper = 0;
    if (!st || !bounds || !own) {
        rc = err_set(e, ND_ENOMEM, "out of memory sorting terms");
        goto out;
    }
    for (uint32_t t = 0; t < mi->n_terms; t++) {
        const mterm *m = &mi->terms[t];
        st[t].prefix = 0;
        for (int b = 0; b < 8; b++) /* head is zero-padded */
            st[t].prefix = st[t].prefix << 8 | m->head[b];
        st[t].key = mi->keys.data + m->key_off;
        st[t].len = m->key_len;
        st[t].id = t;
    }
    qsort(st, mi->n_terms, sizeof *st, cmp_key);
    bounds[0] = 0;
    size_t bytes = 0;
    for (uint32_t i = 0; i < mi->n_terms; i++) {
        bytes += mi->terms[st[i].id].len;
        if (i + 1 - bounds[en.n_chunks] == CHUNK_TERMS || bytes >= CHUNK_BYTES ||
            i + 1 == mi->n_terms) {
            bounds[++en.n_chunks] = i + 1;
            bytes = 0;
        }
    }
    en.st = st;
    en.bounds = bounds;
    if (mi->threaded && en.n_chunks > 1) {
        pthread_mutex_init(&en.mu, NULL);
        pthread_cond_init(&en.cv, NULL);
        helper = pthread_create(&en.tid, NULL, encode_main, &en) == 0;
        if (!helper) {
            pthread_cond_destroy(&en.cv);
            pthread_mutex_destroy(&en.mu);
        }
    }
    for (uint32_t c = 0; c < en.n_chunks && !rc; c++) {
        if (!helper || c % 2 == 0) {
            if ((rc = encode_chunk(&en, c, own, &x)))
                err_set(e, rc, "%s", own->err.msg);
            else
                rc = add_chunk(&en, sw, c, own, e);
            continue;
        }
        chunk *k = &en.slot[(c / 2) & 1];
        pthread_mutex_lock(&en.mu);
        while (!k->ready)
            pthread_cond_wait(&en.cv, &en.mu);
        pthread_mutex_unlock(&en.mu);
        if ((rc = k->rc))
            err_set(e, rc, "%s", k->err.msg);
        else
            rc = add_chunk(&en, sw, c, k, e);
        pthread_mutex_lock(&en.mu);
        k->ready = 0;
        pthread_cond_broadcast(&en.cv);
        pthread_mutex_unlock(&en.mu);
    }
    if (helper) {
        pthread_mutex_lock(&en.mu);
        en.stop = 1;
        pthread_cond_broadcast(&en.cv);
        pthread_mutex_unlock(&en.mu);
        pthread_join(en.tid, NULL);
        pthread_cond_destroy(&en.cv);
        pthread_mutex_destroy(&en.mu);
    }
out:
    for (int i = 0; i < 2; i++)
        term_code_free(&en.slot[i].code);
    if (own)
        term_code_free(&own->code);
    free(own);
    free(st);
    free(bounds);
    free_decoded(&x);
    return rc;
}

static void free_mem(memindex *mi)
{
    store_stop(mi, 1, NULL);
    for (uint32_t t = 0; t < mi->n_terms; t++)
        free(mi->terms[t].post);
    free(mi->terms);
    free(mi->slots);
    free(mi->ids);
    buf_free(&mi->keys);
    doc_tokens_free(&mi->tok);
    tok_scratch_free(&mi->scratch);
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
    /* every stored article is in the stowriter before it is finished */
    int rc = store_stop(mi, 0, e);
    if (rc) {
        free_mem(mi);
        return rc;
    }
    rc = segwriter_open(&sw, mi->dir, mi->number, &cols, e);
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
