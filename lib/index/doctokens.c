/*
 * doctokens.c - one article's analysis, ready for the memindex: the text
 * fields are tokenized, then each field's tokens are grouped by term in a
 * small table of the article's own (it stays in cache, unlike the
 * segment's term table), and each term's frequency and position gaps are
 * written as the varints of the memindex's postings streams. Nothing here
 * touches a memindex, so writers with threads run it on their workers and
 * the writer's thread is left one lookup per distinct term and a copy.
 */
#include <stdlib.h>

#include "analysis/analysis.h"
#include "index/index.h"

static int tok_fail(doc_tokens *t, int rc, const char *msg)
{
    t->rc = err_set(&t->err, rc, "%s", msg);
    return t->rc;
}

/* The analyzer's callback context. */
typedef struct tok_ctx {
    doc_tokens *t;
    tok_scratch *s;
} tok_ctx;

static int on_token(void *ctx, const nd_token *tok)
{
    doc_tokens *t = ((tok_ctx *)ctx)->t;
    tok_scratch *s = ((tok_ctx *)ctx)->s;
    if (s->n_toks == s->toks_cap) {
        size_t cap = s->toks_cap ? s->toks_cap * 2 : 1024;
        doc_token *n = realloc(s->toks, cap * sizeof *n);
        if (!n)
            return 1;
        s->toks = n;
        s->toks_cap = cap;
    }
    if (t->keys.cap - t->keys.len < tok->len + 1 && buf_reserve(&t->keys, tok->len + 1))
        return 1;
    doc_token *d = &s->toks[s->n_toks++];
    d->off = t->keys.len;
    d->len = (uint32_t)tok->len + 1;
    d->pos = tok->pos;
    t->keys.data[t->keys.len] = (uint8_t)s->field;
    memcpy(t->keys.data + t->keys.len + 1, tok->term, tok->len);
    t->keys.len += tok->len + 1;
    return 0;
}

/* Slots of the grouping table for n tokens: a power of two, at least 2n. */
static size_t group_slots(size_t n)
{
    size_t slots = 64;
    while (slots < 2 * n)
        slots *= 2;
    return slots;
}

/* Room for the grouping of n tokens: their terms (at most n more), the
 * table, and two words per token. */
static int group_reserve(doc_tokens *t, tok_scratch *s, size_t n)
{
    if (t->terms_cap - t->n_terms < n) {
        size_t cap = t->terms_cap ? t->terms_cap : 256;
        while (cap - t->n_terms < n)
            cap *= 2;
        doc_term *d = realloc(t->terms, cap * sizeof *d);
        if (!d)
            return ND_ENOMEM;
        t->terms = d;
        t->terms_cap = cap;
    }
    size_t slots = group_slots(n);
    if (slots > s->tab_cap) {
        free(s->tab);
        s->tab = malloc(slots * sizeof *s->tab);
        s->tab_cap = s->tab ? slots : 0;
        if (!s->tab)
            return ND_ENOMEM;
    }
    if (n > s->occ_cap) {
        uint32_t *o = realloc(s->occ, 2 * n * sizeof *o);
        if (!o)
            return ND_ENOMEM;
        s->occ = o;
        s->occ_cap = n;
    }
    return ND_OK;
}

/*
 * Groups the tokens of the field just analysed (all of sc->toks) into
 * distinct terms, appended to t->terms in order of first occurrence, each
 * with its frequency and its positions (in token order, which is position
 * order) written to t->enc.
 */
static int group_field(doc_tokens *t, tok_scratch *sc)
{
    size_t n = sc->n_toks, first = t->n_terms;
    if (group_reserve(t, sc, n))
        return ND_ENOMEM;
    size_t mask = group_slots(n) - 1;
    uint32_t *tab = sc->tab, *which = sc->occ, *pos = sc->occ + n;
    memset(tab, 0, (mask + 1) * sizeof *tab);
    for (size_t k = 0; k < n; k++) {
        const doc_token *tk = &sc->toks[k];
        const uint8_t *key = t->keys.data + tk->off;
        uint64_t h = term_key_hash(key, tk->len);
        size_t i = (size_t)h & mask;
        uint32_t s;
        for (;; i = (i + 1) & mask) {
            s = tab[i];
            if (!s) {
                doc_term *d = &t->terms[t->n_terms++];
                d->hash = h;
                d->key = tk->off;
                d->len = tk->len;
                d->tf = 0;
                s = tab[i] = (uint32_t)(t->n_terms - first);
                break;
            }
            const doc_term *d = &t->terms[first + s - 1];
            if (d->hash == h && d->len == tk->len &&
                memcmp(t->keys.data + d->key, key, tk->len) == 0)
                break;
        }
        t->terms[first + s - 1].tf++;
        which[k] = s - 1;
    }
    uint32_t at = 0;
    size_t bytes = 0;
    for (size_t j = first; j < t->n_terms; j++) {
        t->terms[j].at = at;
        at += t->terms[j].tf;
        bytes += (size_t)(1 + t->terms[j].tf) * 5; /* a u32 varint takes at most 5 */
    }
    for (size_t k = 0; k < n; k++)
        pos[t->terms[first + which[k]].at++] = sc->toks[k].pos;
    if (buf_reserve(&t->enc, bytes))
        return ND_ENOMEM;
    for (size_t j = first; j < t->n_terms; j++) {
        doc_term *d = &t->terms[j];
        const uint32_t *p = pos + (d->at - d->tf);
        uint8_t *o = t->enc.data + t->enc.len;
        size_t w = varint_put(o, d->tf);
        uint32_t prev = 0;
        for (uint32_t i = 0; i < d->tf; i++) {
            w += varint_put(o + w, p[i] - prev);
            prev = p[i];
        }
        d->enc = t->enc.len;
        d->enc_len = (uint32_t)w;
        t->enc.len += w;
    }
    return ND_OK;
}

static int analyse_text(doc_tokens *t, tok_scratch *sc, nd_analyzer *an, int field,
                        const char *s, size_t n)
{
    tok_ctx ctx = {t, sc};
    sc->field = field;
    sc->n_toks = 0;
    if (n > 0) {
        int rc = analyzer_run(an, s, n, on_token, &ctx);
        if (rc > 0) /* on_token ran out of memory */
            return tok_fail(t, ND_ENOMEM, "out of memory while indexing");
        if (rc < 0)
            return tok_fail(t, rc, "analyzer failed");
    }
    if (group_field(t, sc))
        return tok_fail(t, ND_ENOMEM, "out of memory while indexing");
    t->len[field] = sc->n_toks;
    t->end[field] = t->n_terms;
    return ND_OK;
}

int doc_tokens_analyse(doc_tokens *t, tok_scratch *s, nd_analyzer *an, const nd_doc *d)
{
    t->n_terms = 0;
    buf_reset(&t->keys);
    buf_reset(&t->enc);
    buf_reset(&t->kw[0]);
    buf_reset(&t->kw[1]);
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        t->len[f] = t->end[f] = 0;
    t->rc = ND_OK;
    err_clear(&t->err);
    if (d->id_len == 0 || d->id_len > ND_MAX_TERM_BYTES)
        return t->rc = err_set(&t->err, ND_EINVAL, "article id must be 1 to %d bytes",
                               ND_MAX_TERM_BYTES);
    if (d->body_len > UINT32_MAX || d->title_len > UINT32_MAX || d->url_len > UINT32_MAX)
        return tok_fail(t, ND_ELIMIT, "article text over 4 GiB");
    int rc;
    if ((rc = analyse_text(t, s, an, FIELD_TITLE, d->title, d->title_len)) ||
        (rc = analyse_text(t, s, an, FIELD_BODY, d->body, d->body_len)) ||
        (rc = analyse_text(t, s, an, FIELD_URL, d->url, d->url_len)))
        return rc;
    if ((d->source_len && analyzer_keyword(an, d->source, d->source_len, &t->kw[0])) ||
        (d->lang_len && analyzer_keyword(an, d->lang, d->lang_len, &t->kw[1])))
        return tok_fail(t, ND_ENOMEM, "out of memory while indexing");
    return ND_OK;
}

size_t doc_tokens_bytes(const doc_tokens *t)
{
    return t->terms_cap * sizeof *t->terms + t->keys.cap + t->enc.cap + t->kw[0].cap +
           t->kw[1].cap;
}

void doc_tokens_free(doc_tokens *t)
{
    free(t->terms);
    buf_free(&t->keys);
    buf_free(&t->enc);
    buf_free(&t->kw[0]);
    buf_free(&t->kw[1]);
    memset(t, 0, sizeof *t);
}

size_t tok_scratch_bytes(const tok_scratch *s)
{
    return s->toks_cap * sizeof *s->toks + s->tab_cap * sizeof *s->tab +
           2 * s->occ_cap * sizeof *s->occ;
}

void tok_scratch_free(tok_scratch *s)
{
    free(s->toks);
    free(s->tab);
    free(s->occ);
    memset(s, 0, sizeof *s);
}
