/*
 * snippet.c - the passage shown under a hit. The stored text is analysed
 * again (the index keeps positions, not offsets), the tokens that are
 * query terms are found, and the window of about ND_SNIPPET_BYTES with the
 * most distinct query terms wins. Whitespace runs become one space, and
 * the marks say where the matched terms are inside the passage.
 */
#include <stdlib.h>

#include "query/query.h"

typedef struct stok {
    size_t start, end;
    int term; /* index of the first equal positive query term, -1 if none */
} stok;

typedef struct sctx {
    const query *q;
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
    int term = -1;
    for (uint32_t i = 0; i < c->q->n && i < 64; i++) {
        const qterm *qt = &c->q->terms[i];
        if (qt->occur != OCCUR_MUST_NOT && qt->len == tk->len &&
            memcmp(qt->text, tk->term, tk->len) == 0) {
            term = (int)i;
            break;
        }
    }
    c->t[c->n++] = (stok){tk->start, tk->end, term};
    return 0;
}

static int popcount64(uint64_t x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

static int is_ws(uint8_t c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v';
}

int snippet_make(nd_analyzer *an, const char *text, size_t len, const query *q, nd_buf *out,
                 nd_buf *marks)
{
    buf_reset(out);
    buf_reset(marks);
    if (len > ND_SNIPPET_SCAN) {
        size_t cut = ND_SNIPPET_SCAN;
        while (cut > 0 && ((uint8_t)text[cut] & 0xC0) == 0x80)
            cut--; /* keep whole UTF-8 characters */
        len = cut;
    }
    sctx c = {q, NULL, 0, 0, 0};
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
                seen |= 1ULL << c.t[to].term;
                hits++;
            }
            to++;
        }
        if (to == from)
            to = from + 1; /* one very long token */
        int distinct = popcount64(seen);
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
