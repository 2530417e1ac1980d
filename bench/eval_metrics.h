/*
 * eval_metrics.h - ranking-quality measures over one query's ranked list and
 * its relevance judgements (qrels), as trec_eval defines them. Pure
 * functions: no I/O, no allocation, nothing from the library.
 *
 * A query's judgements are (doc id, rel) pairs; rel > 0 means relevant,
 * and rel is the gain for nDCG (graded collections such as Cranfield use
 * 0..4). A ranked list is an array of doc ids, best first; a doc id that
 * has no judgement counts as not relevant (rel 0).
 */
#ifndef ND_EVAL_METRICS_H
#define ND_EVAL_METRICS_H

#include <stddef.h>

typedef struct ev_judgment {
    const char *docid; /* NUL-terminated */
    int rel;           /* graded relevance; > 0 = relevant */
} ev_judgment;

/* Relevance of docid in the judgements (0 if not judged). */
int ev_rel_of(const char *docid, const ev_judgment *j, size_t nj);

/* Number of judgements with rel > 0. */
size_t ev_num_relevant(const ev_judgment *j, size_t nj);

/* nDCG@k: DCG@k = sum over ranks i = 1..min(k, n) of rel_i / log2(i + 1)
 * (linear gains, as trec_eval's ndcg_cut), divided by the DCG@k of the
 * ideal ranking of all judged documents sorted by rel, descending. 0 when
 * the query has no relevant document. */
double ev_ndcg_at(const char *const *ranked, size_t n, const ev_judgment *j, size_t nj,
                  size_t k);

/* Average precision: the sum of P@i over the ranks i holding a relevant
 * document, divided by the number of relevant documents in the judgements
 * (retrieved or not). 0 when the query has no relevant document. */
double ev_average_precision(const char *const *ranked, size_t n, const ev_judgment *j,
                            size_t nj);

/* P@k: relevant documents in the first k ranks, divided by k (a shorter
 * list is padded with non-relevant documents). */
double ev_precision_at(const char *const *ranked, size_t n, const ev_judgment *j, size_t nj,
                       size_t k);

/* Recall@k: relevant documents in the first k ranks, divided by all
 * relevant documents in the judgements. 0 when there are none. */
double ev_recall_at(const char *const *ranked, size_t n, const ev_judgment *j, size_t nj,
                    size_t k);

#endif
