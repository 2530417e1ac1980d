/*
 * size_breakdown - where the bytes of an index's postings and positions go,
 * and what two standard codec changes would save on them.
 *
 *   size_breakdown DIR
 *
 * Walks every term of every segment of the index at DIR, decodes its
 * postings and positions, and prints a Markdown table: the bytes each part
 * takes now (skip tables; full blocks' document gaps, packed or as bitmaps,
 * and frequencies; the varint-coded tail blocks; positions in packed groups
 * of 128 and in varint tails), and estimates for
 *
 *   - PFor (patched frame of reference) on every packed group of 128: the
 *     narrowest width b for which 1 byte of width, 1 byte of exception
 *     count, the 128 values' low b bits, one index byte per exception and
 *     the exceptions' high bits packed at their widest come smallest;
 *   - the positions' varint tails packed instead: 1 width byte and the
 *     values at the tail's widest width.
 *
 * The estimates count bytes only; no format writes them. They exist to
 * tell how far such changes would move the index size (bench/README.md).
 *
 * Then two floors that no coding of the same information can go below
 * without modelling the text (which words follow which): for each term,
 * log2 C(N, df) bits to say which of the segment's N documents hold it,
 * and for each (term, document) of a text field, log2 C(L, tf) bits to say
 * which of the field's L positions hold it. They are the sizes of a
 * perfect code for sets drawn uniformly at random.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "newsdex.h"
#include "query/query.h"

static unsigned width_of(uint32_t v)
{
    return v ? 32u - (unsigned)__builtin_clz(v) : 0u;
}

/* Bytes of 128 values as now (width byte + packed) and as PFor. */
static uint64_t packed_bytes(const uint32_t *v)
{
    unsigned w = 0;
    for (int i = 0; i < ND_BLOCK; i++)
        w = ND_MAX(w, width_of(v[i]));
    return 1 + 16 * (uint64_t)w;
}

static uint64_t pfor_bytes(const uint32_t *v)
{
    unsigned wmax = 0;
    for (int i = 0; i < ND_BLOCK; i++)
        wmax = ND_MAX(wmax, width_of(v[i]));
    uint64_t best = UINT64_MAX;
    for (unsigned b = 0; b <= wmax; b++) {
        uint64_t exc = 0;
        unsigned high = 0;
        for (int i = 0; i < ND_BLOCK; i++)
            if (width_of(v[i]) > b) {
                exc++;
                high = ND_MAX(high, width_of(v[i] >> b));
            }
        uint64_t bytes = 2 + 16 * (uint64_t)b + exc + (exc * high + 7) / 8;
        best = ND_MIN(best, bytes);
    }
    return best;
}

typedef struct tally {
    uint64_t skip, gaps, tfs, tails, pos_groups, pos_tails;
    uint64_t gaps_pfor, tfs_pfor, pos_groups_pfor, pos_tails_packed;
    uint64_t bitmaps; /* full blocks stored as bitmaps */
    uint64_t dict;
    double docs_floor, pos_floor; /* bits */
} tally;

/* log2 of the binomial coefficient C(n, k). */
static double log2_choose(double n, double k)
{
    return (lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)) / log(2.0);
}

/* One block's positions: the seq of `n` values as the writer makes it. */
static void count_positions(tally *t, const uint32_t *seq, size_t n)
{
    size_t groups = n / ND_BLOCK;
    for (size_t g = 0; g < groups; g++) {
        t->pos_groups += packed_bytes(seq + g * ND_BLOCK);
        t->pos_groups_pfor += pfor_bytes(seq + g * ND_BLOCK);
    }
    unsigned w = 0;
    for (size_t i = groups * ND_BLOCK; i < n; i++) {
        t->pos_tails += varint_len(seq[i]);
        w = ND_MAX(w, width_of(seq[i]));
    }
    if (n > groups * ND_BLOCK)
        t->pos_tails_packed += 1 + ((n - groups * ND_BLOCK) * w + 7) / 8;
}

typedef struct scratch {
    uint32_t *seq;
    size_t cap;
} scratch;

static int grow(scratch *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    size_t cap = n * 2;
    uint32_t *p = realloc(s->seq, cap * sizeof *p);
    if (!p)
        return -1;
    s->seq = p;
    s->cap = cap;
    return 0;
}

/* Every block of one term's list. */
static int count_term(tally *t, scratch *sc, const segment *seg, int field, const term_info *ti,
                      nd_err *e)
{
    pcursor pc;
    int rc = pcursor_open(&pc, seg, field, ti, e);
    if (rc)
        return rc;
    t->skip += (uint64_t)(pc.blocks - (seg->map[FILE_DOC].data + ti->doc_off));
    t->docs_floor += log2_choose(seg->docs, ti->df);
    uint32_t prev = UINT32_MAX; /* the document before the block (-1 first) */
    for (uint32_t b = 0; b < pc.nb && !rc; b++) {
        if ((rc = pcursor_advance(&pc, b == 0 ? 0 : prev + 1, e)))
            break;
        uint32_t n = pc.n, gaps[ND_BLOCK], tfs[ND_BLOCK];
        for (uint32_t i = 0; i < n; i++) {
            gaps[i] = pc.docs[i] - (i ? pc.docs[i - 1] : prev) - 1;
            tfs[i] = pc.tfs[i] - 1;
        }
        if (n == ND_BLOCK) {
            const uint8_t *at = pc.blocks + (pc.nb > 1 ? pc.block_off[b] : 0);
            if (*at == DOC_DENSE) { /* a bitmap block: the marker, m, m bytes */
                const uint8_t *q = at + 1;
                uint64_t m = 0;
                varint_get(&q, pc.end, &m);
                uint64_t bytes = (uint64_t)(q - at) + m;
                t->gaps += bytes;
                t->gaps_pfor += ND_MIN(bytes, pfor_bytes(gaps));
                t->bitmaps++;
            } else {
                t->gaps += packed_bytes(gaps);
                t->gaps_pfor += pfor_bytes(gaps);
            }
            t->tfs += packed_bytes(tfs);
            t->tfs_pfor += pfor_bytes(tfs);
        } else {
            for (uint32_t i = 0; i < n; i++)
                t->tails += varint_len(((uint64_t)gaps[i] << 1) + (tfs[i] == 0)) +
                            (tfs[i] ? varint_len(tfs[i]) : 0);
        }
        if (field < N_TEXT_FIELDS && ti->pos_len > 0) {
            size_t m = 0;
            for (uint32_t i = 0; i < n && !rc; i++) {
                pc.i = i;
                pc.doc = pc.docs[i];
                const uint32_t *pos;
                uint32_t np;
                if ((rc = pcursor_positions(&pc, &pos, &np, e)))
                    break;
                uint32_t len = segment_len(seg, field, pc.doc);
                t->pos_floor += log2_choose(ND_MAX(len, np), np);
                if (grow(sc, m + np)) {
                    rc = err_set(e, ND_ENOMEM, "out of memory");
                    break;
                }
                for (uint32_t k = 0; k < np; k++)
                    sc->seq[m++] = k ? pos[k] - pos[k - 1] : pos[k];
            }
            if (!rc)
                count_positions(t, sc->seq, m);
        }
        prev = pc.docs[n - 1];
    }
    pcursor_close(&pc);
    return rc;
}

static void row(const char *what, uint64_t now, uint64_t est)
{
    if (est)
        printf("| %s | %llu | %llu | %+.1f %% |\n", what, (unsigned long long)now,
               (unsigned long long)est, 100.0 * ((double)est - (double)now) / (double)now);
    else
        printf("| %s | %llu | - | - |\n", what, (unsigned long long)now);
}

int main(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(argc == 2 ? stdout : stderr, "usage: size_breakdown DIR\n");
        return argc == 2 ? 0 : 2;
    }
    nd_index *ix;
    char eb[512];
    if (nd_index_open(&ix, argv[1], NULL, eb, sizeof eb)) {
        fprintf(stderr, "size_breakdown: %s\n", eb);
        return 1;
    }
    tally t;
    memset(&t, 0, sizeof t);
    scratch sc = {NULL, 0};
    nd_err e;
    memset(&e, 0, sizeof e);
    int rc = ND_OK;
    for (uint32_t s = 0; s < ix->man.n_segs && !rc; s++) {
        const segment *seg = &ix->segs[s];
        t.dict += seg->map[FILE_TDX].len;
        term_iter it;
        if ((rc = term_iter_seek(&it, seg, (const uint8_t *)"", 0, &e)))
            break;
        while ((rc = term_iter_next(&it, &e)) == ND_OK)
            if ((rc = count_term(&t, &sc, seg, it.key[0], &it.ti, &e)))
                break;
        if (rc == ND_DONE)
            rc = ND_OK;
    }
    free(sc.seq);
    nd_index_free(ix);
    if (rc) {
        fprintf(stderr, "size_breakdown: %s\n", e.msg);
        return 1;
    }
    printf("| part | bytes now | estimate | change |\n|---|---:|---:|---:|\n");
    row("skip tables", t.skip, 0);
    row("full blocks: document gaps (PFor)", t.gaps, t.gaps_pfor);
    row("full blocks: frequencies (PFor)", t.tfs, t.tfs_pfor);
    row("tail blocks (varints)", t.tails, 0);
    row("positions: groups of 128 (PFor)", t.pos_groups, t.pos_groups_pfor);
    row("positions: varint tails (packed)", t.pos_tails, t.pos_tails_packed);
    uint64_t now = t.skip + t.gaps + t.tfs + t.tails + t.pos_groups + t.pos_tails;
    uint64_t est = t.skip + t.gaps_pfor + t.tfs_pfor + t.tails + t.pos_groups_pfor +
                   t.pos_tails_packed;
    row("postings + positions", now, est);
    printf("\nFull blocks stored as bitmaps of their documents (counted in the "
           "document gaps row; PFor is counted only where smaller): %llu.\n",
           (unsigned long long)t.bitmaps);
    printf("\nDictionary (.tdx files): %llu bytes.\n", (unsigned long long)t.dict);
    printf("\nFloors (perfect codes for uniformly random sets, see the source):\n"
           "which documents hold each term %.0f bytes, "
           "which positions hold each term in each document %.0f bytes.\n",
           t.docs_floor / 8, t.pos_floor / 8);
    return 0;
}
