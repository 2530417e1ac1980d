/*
 * query.h - from a query string to ranked hits: parsing into clauses,
 * BM25 scoring, a bounded top-k heap, evaluation over the segments of a
 * snapshot, and snippets with the matched terms marked.
 */
#ifndef ND_QUERY_H
#define ND_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/analysis.h"
#include "index/index.h"
#include "newsdex.h"
#include "util/util.h"

#define ND_MAX_QUERY_BYTES (1u << 16) /* longest query string */
#define ND_MAX_QUERY_TERMS 1024       /* terms after analysis */

/* ---- parse.c ---------------------------------------------------------- */

enum { OCCUR_SHOULD, OCCUR_MUST, OCCUR_MUST_NOT };

/* One analysed term of the query. */
typedef struct qterm {
    char text[ND_MAX_TERM_BYTES]; /* normalised term */
    uint32_t len;
    int occur;                    /* OCCUR_* */
} qterm;

typedef struct query {
    qterm *terms; /* malloc'd */
    uint32_t n;
} query;

/* Parses: whitespace-separated words, each optionally prefixed by '+'
 * (required) or '-' (excluded); double quotes are ignored. Each word is
 * analysed, and each of its tokens becomes a term with the word's
 * occurrence (words without a prefix take default_op). ND_ESYNTAX for an
 * empty query, ND_ELIMIT past the limits above. */
int query_parse(query *q, nd_analyzer *an, const char *s, size_t len, int default_op,
                nd_err *e);
void query_free(query *q);

/* ---- bm25.c ----------------------------------------------------------- */

/* idf = ln(1 + (N - df + 0.5) / (df + 0.5)) */
double bm25_idf(uint64_t N, uint64_t df);
/* weight * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen)) */
double bm25_score(const nd_bm25 *p, double weight_idf, uint32_t tf, uint32_t len, double avglen);

/* ---- topk.c ----------------------------------------------------------- */

typedef struct topk_entry {
    double score;
    uint64_t doc; /* global document number: segment base + local id */
} topk_entry;

/* A bounded min-heap keeping the best `cap` entries: higher score first,
 * then lower doc. */
typedef struct topk {
    topk_entry *e;
    size_t n, cap;
} topk;

int topk_init(topk *t, size_t cap);
/* Offers an entry; keeps it if it beats the worst kept one. */
void topk_push(topk *t, double score, uint64_t doc);
/* Sorts the kept entries best first (destroys the heap order). */
void topk_sort(topk *t);
void topk_free(topk *t);

/* ---- exec.c ----------------------------------------------------------- */

/* Evaluates q over every segment of ix exhaustively (document at a time),
 * keeping the best entries in *top (initialised by the caller with its
 * capacity) and counting every match in *total. */
int exec_search(const nd_index *ix, const query *q, const nd_bm25 *p, topk *top,
                uint64_t *total, nd_err *e);

/* ---- snippet.c -------------------------------------------------------- */

#define ND_SNIPPET_BYTES 240             /* target passage length */
#define ND_SNIPPET_SCAN ((size_t)1 << 18) /* bytes of a body searched for it */

/* Picks the passage of text with the most distinct query terms (then the
 * most matches, then the earliest), collapses whitespace, and writes it to
 * out with "…" where it was cut; marks receives nd_span entries relative to
 * the passage. terms: the positive query terms. */
int snippet_make(nd_analyzer *an, const char *text, size_t len, const query *q, nd_buf *out,
                 nd_buf *marks);

#endif
