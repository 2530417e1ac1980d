/*
 * snippet.c - the passage shown under a hit. The stored text is analysed
 * again (the index keeps positions, not offsets), the tokens that are
 * query words (or start with a query prefix) are found, and the window of
 * about ND_SNIPPET_BYTES with the most distinct query words wins.
 * Whitespace runs become one space, and the marks say where the matched
 * words are inside the passage.
 */
#include <stdlib.h>

#include "query/query.h"

/* ---- the words to mark ---------------------------------------------------- */

static int st_add(snip_terms *st, const char *t, uint32_t len, int prefix)
{
    for (uint32_t i = 0; i < st->n; i++) /* few words: a linear check is fine */
        if (st->t[i].len == len && st->t[i].prefix == prefix &&
            memcmp(st->text.data + st->t[i].off, t, len) == 0)
            return ND_OK;
    if (st->n == st->cap) {
        uint32_t cap = st->cap ? st->cap * 2 : 16;
        struct snip_term *n = realloc(st->t, cap * sizeof *n);
        if (!n)
            return ND_ENOMEM;
        st->t = n;
        st->cap = cap;
    }
    st->t[st->n].off = (uint32_t)st->text.len;
    st->t[st->n].len = len;
    st->t[st->n].prefix = prefix;
    st->n++;
    return buf_append(&st->text, t, len);
}

/* Positive words: not under an exclusion, in title/body (or unscoped). */
static int collect(snip_terms *st, const query *q, int32_t n, int depth)
{
    const qnode *x = &q->nodes[n];
    if (x->occur == OCCUR_MUST_NOT || depth > QUERY_MAX_TREE_DEPTH)
        return ND_OK;
    if (x->kind == QN_BOOL) {
        for (int32_t c = x->kid; c >= 0; c = q->nodes[c].next) {
            int rc = collect(st, q, c, depth + 1);
            if (rc)
                return rc;
        }
        return ND_OK;
    }
    if (x->kind == QN_DATE ||
        !(x->field == FIELD_ANY || x->field == FIELD_TITLE || x->field == FIELD_BODY))
        return ND_OK;
    for (uint32_t t = x->term; t < x->term + x->n_terms; t++) {
        int rc = st_add(st, query_term_text(q, t), q->terms[t].len, x->kind == QN_PREFIX);
        if (rc)
            return rc;
    }
    return ND_OK;
}

static uint32_t st_hash(const void *p, size_t n, uint32_t cap)
{
    return (uint32_t)(hash_bytes(p, n) & (cap - 1));
}

int snippet_terms_init(snip_terms *st, const query *q)
{
    memset(st, 0, sizeof *st);
    if (q->root >= 0) {
        int rc = collect(st, q, q->root, 0);
        if (rc) {
            snippet_terms_free(st);
            return rc;
        }
    }
    uint32_t cap = 16;
    while (cap < st->n * 2)
        cap *= 2;
    st->table = calloc(cap, sizeof *st->table);
    st->prefixes = malloc((st->n ? st->n : 1) * sizeof *st->prefixes);
    if (!st->table || !st->prefixes) {
        snippet_terms_free(st);
        return ND_ENOMEM;
    }
    st->tcap = cap;
    for (uint32_t i = 0; i < st->n; i++) {
        if (st->t[i].prefix) {
            st->prefixes[st->n_prefixes++] = i;
            continue;
        }
        uint32_t h = st_hash(st->text.data + st->t[i].off, st->t[i].len, cap);
        while (st->table[h])
            h = (h + 1) & (cap - 1);
        st->table[h] = i + 1;
    }
    return ND_OK;
}

void snippet_terms_free(snip_terms *st)
{
    buf_free(&st->text);
    free(st->t);
    free(st->table);
    free(st->prefixes);
    memset(st, 0, sizeof *st);
}

/* Index of the query word matching token t, or -1. */
static int match(const snip_terms *st, const char *t, size_t len)
{
    uint32_t h = st_hash(t, len, st->tcap);
    for (uint32_t i; (i = st->table[h]) != 0; h = (h + 1) & (st->tcap - 1)) {
        const struct snip_term *x = &st->t[i - 1];
        if (x->len == len && memcmp(st->text.data + x->off, t, len) == 0)
            return (int)(i - 1);
    }
    for (uint32_t k = 0; k < st->n_prefixes; k++) {
        const struct snip_term *x = &st->t[st->prefixes[k]];
        if (x->len <= len && memcmp(st->text.data + x->off, t, x->len) == 0)
            return (int)st->prefixes[k];
    }
    return -1;
}

/* ---- the passage ------------------------------------------------------------ */

typedef struct stok {
    size_t start, end;
    int term; /* index of the matching query word, -1 if none */
} stok;

typedef struct sctx {
    const snip_terms *st;
    stok *t;
    size_t n, cap;
    int fail;
} sctx;

static int on_tok(void *ctx, const nd_token *tk)
{
    sctx *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        stok *t = realloc(c->t, cap * sizeof *t);
        if (!t) {
            c->fail = 1;
            return 1;
        }
        c->t = t;
        c->cap = cap;
    }
    int term = c->st->n ? match(c->st, tk->term, tk->len) : -1;
    c->t[c->n++] = (stok){tk->start, tk->end, term};
    return 0;
}

static int is_ws(uint8_t c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v';
}

int snippet_make(nd_analyzer *an, const char *text, size_t len, const snip_terms *st,
                 nd_buf *out, nd_buf *marks)
{
    buf_reset(out);
    buf_reset(marks);
    if (len > ND_SNIPPET_SCAN) {
        size_t cut = ND_SNIPPET_SCAN;
        while (cut > 0 && ((uint8_t)text[cut] & 0xC0) == 0x80)
            cut--; /* keep whole UTF-8 characters */
        len = cut;
    }
    sctx c = {st, NULL, 0, 0, 0};
    int rc = analyzer_run(an, text, len, on_tok, &c);
    if (c.fail || rc < 0) {
        free(c.t);
        return ND_ENOMEM;
    }
    /* best window: starts a few tokens before a matching token */
    size_t best_from = 0, best_to = 0;
    int best_distinct = -1, best_hits = -1;
    for (size_t i = 0; i < c.n; i++) {
        if (c.t[i].term < 0 && !(i == 0 && best_distinct < 0))
            continue;
        size_t from = i >= 3 ? i - 3 : 0;
        uint64_t seen = 0;
        int hits = 0;
        size_t to = from;
        while (to < c.n && c.t[to].end - c.t[from].start <= ND_SNIPPET_BYTES) {
            if (c.t[to].term >= 0) {
                seen |= 1ULL << (c.t[to].term < 64 ? c.t[to].term : 63);
                hits++;
            }
            to++;
        }
        if (to == from)
            to = from + 1; /* one very long token */
        int distinct = (int)bits_count64(seen);
        if (distinct > best_distinct || (distinct == best_distinct && hits > best_hits)) {
            best_distinct = distinct;
            best_hits = hits;
            best_from = from;
            best_to = to;
        }
    }
    if (c.n == 0) {
        free(c.t);
        return ND_OK;
    }
    static const char ELLIPSIS[] = "\xe2\x80\xa6";
    size_t a = c.t[best_from].start, z = c.t[best_to - 1].end;
    /* keep closing punctuation right after the last word */
    while (z < len && z - c.t[best_to - 1].end < 2 && !is_ws((uint8_t)text[z]) &&
           (best_to == c.n || z < c.t[best_to].start))
        z++;
    rc = ND_OK;
    if (a > 0)
        rc |= buf_append(out, ELLIPSIS, 3);
    size_t k = best_from;
    int prev_ws = 0;
    for (size_t i = a; i < z && !rc; i++) {
        while (k < best_to && c.t[k].end <= i)
            k++;
        if (k < best_to && c.t[k].start == i && c.t[k].term >= 0) {
            nd_span sp = {(uint32_t)out->len, 0};
            rc |= buf_append(out, text + i, c.t[k].end - i);
            sp.len = (uint32_t)(out->len - sp.start);
            rc |= buf_append(marks, &sp, sizeof sp);
            i = c.t[k].end - 1;
            prev_ws = 0;
            continue;
        }
        uint8_t ch = (uint8_t)text[i];
        if (is_ws(ch)) {
            if (!prev_ws)
                rc |= buf_putc(out, ' ');
            prev_ws = 1;
        } else {
            rc |= buf_putc(out, ch);
            prev_ws = 0;
        }
    }
    if (z < len && !rc)
        rc |= buf_append(out, ELLIPSIS, 3);
    free(c.t);
    return rc ? ND_ENOMEM : ND_OK;
}
