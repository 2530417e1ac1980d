/*
 * exec.c - query evaluation, document at a time. For each segment, one
 * postings cursor per (query term, field); the smallest current document
 * of the positive cursors is the next candidate, its BM25 score is summed
 * over the cursors on it, required and excluded terms are checked, and the
 * match goes to the top-k heap. Statistics (N, df, average lengths) are
 * those of the whole snapshot, so a document scores the same whatever
 * segment holds it.
 */
#include <stdlib.h>

#include "query/query.h"

/* The fields a bare term searches, and their weights come from nd_bm25. */
static const int SCORED_FIELDS[2] = {FIELD_TITLE, FIELD_BODY};
#define N_SCORED 2

typedef struct slot {
    uint32_t term;      /* index into q->terms */
    int field;
    double weight_idf;  /* field weight * idf */
    uint64_t df;        /* over the snapshot */
} slot;

static double field_weight(const nd_bm25 *p, int field)
{
    return field == FIELD_TITLE ? p->title_weight : p->body_weight;
}

static void make_key(uint8_t *key, size_t *klen, int field, const qterm *t)
{
    key[0] = (uint8_t)field;
    memcpy(key + 1, t->text, t->len);
    *klen = t->len + 1;
}

static int eval_segment(const nd_index *ix, uint32_t si, const query *q, const nd_bm25 *p,
                        const slot *slots, uint32_t n_slots, const term_info *tis,
                        const int *present, topk *top, uint64_t *total, nd_err *e)
{
    const segment *seg = &ix->segs[si];
    double avglen[N_TEXT_FIELDS];
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        avglen[f] = ix->docs ? (double)ix->sum_len[f] / (double)ix->docs : 0.0;
    /* A required term absent from this segment: nothing here can match. */
    for (uint32_t t = 0; t < q->n; t++) {
        if (q->terms[t].occur != OCCUR_MUST)
            continue;
        int any = 0;
        for (uint32_t s = 0; s < n_slots; s++)
            any |= slots[s].term == t && present[s];
        if (!any)
            return ND_OK;
    }
    pcursor *cur = calloc(n_slots ? n_slots : 1, sizeof *cur);
    uint32_t *pos_c = malloc((n_slots ? n_slots : 1) * sizeof *pos_c);
    uint32_t *neg_c = malloc((n_slots ? n_slots : 1) * sizeof *neg_c);
    uint8_t *hit = calloc(q->n ? q->n : 1, 1);
    int rc = ND_OK;
    uint32_t np = 0, nn = 0, opened = 0;
    if (!cur || !pos_c || !neg_c || !hit) {
        rc = err_set(e, ND_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t s = 0; s < n_slots; s++) {
        if (!present[s])
            continue;
        rc = pcursor_open(&cur[s], seg, slots[s].field, &tis[s], e);
        if (rc)
            goto out;
        opened = s + 1;
        rc = pcursor_advance(&cur[s], 0, e);
        if (rc)
            goto out;
        if (q->terms[slots[s].term].occur == OCCUR_MUST_NOT)
            neg_c[nn++] = s;
        else
            pos_c[np++] = s;
    }
    for (;;) {
        uint32_t d = ND_NO_DOC;
        for (uint32_t i = 0; i < np; i++)
            if (cur[pos_c[i]].doc < d)
                d = cur[pos_c[i]].doc;
        if (d == ND_NO_DOC)
            break;
        int ok = !segment_deleted(seg, d);
        double score = 0;
        memset(hit, 0, q->n);
        for (uint32_t i = 0; i < np; i++) {
            pcursor *c = &cur[pos_c[i]];
            if (c->doc != d)
                continue;
            const slot *sl = &slots[pos_c[i]];
            hit[sl->term] = 1;
            score += bm25_score(p, sl->weight_idf, pcursor_tf(c), segment_len(seg, sl->field, d),
                                avglen[sl->field]);
        }
        for (uint32_t t = 0; t < q->n && ok; t++)
            if (q->terms[t].occur == OCCUR_MUST && !hit[t])
                ok = 0;
        for (uint32_t i = 0; i < nn && ok; i++) {
            pcursor *c = &cur[neg_c[i]];
            if (c->doc < d && (rc = pcursor_advance(c, d, e)))
                goto out;
            if (c->doc == d)
                ok = 0;
        }
        if (ok) {
            (*total)++;
            topk_push(top, score, ix->base[si] + d);
        }
        for (uint32_t i = 0; i < np; i++) {
            pcursor *c = &cur[pos_c[i]];
            if (c->doc == d && (rc = pcursor_advance(c, d + 1, e)))
                goto out;
        }
    }
out:
    if (cur)
        for (uint32_t s = 0; s < opened; s++)
            pcursor_close(&cur[s]);
    free(cur);
    free(pos_c);
    free(neg_c);
    free(hit);
    return rc;
}

int exec_search(const nd_index *ix, const query *q, const nd_bm25 *p, topk *top,
                uint64_t *total, nd_err *e)
{
    uint32_t n_slots = q->n * N_SCORED, nseg = ix->man.n_segs;
    slot *slots = calloc(n_slots ? n_slots : 1, sizeof *slots);
    term_info *tis = calloc((size_t)n_slots * (nseg ? nseg : 1) + 1, sizeof *tis);
    int *present = calloc((size_t)n_slots * (nseg ? nseg : 1) + 1, sizeof *present);
    int rc = ND_OK;
    *total = 0;
    if (!slots || !tis || !present) {
        rc = err_set(e, ND_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t t = 0; t < q->n; t++)
        for (int f = 0; f < N_SCORED; f++) {
            slots[t * N_SCORED + (uint32_t)f].term = t;
            slots[t * N_SCORED + (uint32_t)f].field = SCORED_FIELDS[f];
        }
    /* look every (term, field) up in every segment; sum document frequencies */
    for (uint32_t si = 0; si < nseg; si++)
        for (uint32_t s = 0; s < n_slots; s++) {
            uint8_t key[ND_MAX_TERM_KEY];
            size_t klen;
            make_key(key, &klen, slots[s].field, &q->terms[slots[s].term]);
            size_t at = (size_t)si * n_slots + s;
            rc = segment_term(&ix->segs[si], key, klen, &tis[at], e);
            if (rc == ND_DONE) {
                rc = ND_OK;
                continue;
            }
            if (rc)
                goto out;
            present[at] = 1;
            slots[s].df += tis[at].df;
        }
    for (uint32_t s = 0; s < n_slots; s++)
        slots[s].weight_idf = field_weight(p, slots[s].field) * bm25_idf(ix->docs, slots[s].df);
    for (uint32_t si = 0; si < nseg && !rc; si++)
        rc = eval_segment(ix, si, q, p, slots, n_slots, tis + (size_t)si * n_slots,
                          present + (size_t)si * n_slots, top, total, e);
out:
    free(slots);
    free(tis);
    free(present);
    return rc;
}
