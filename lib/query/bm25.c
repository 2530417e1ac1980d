/*
 * bm25.c - the ranking function, in one place. Okapi BM25 per field, with
 * Lucene's idf (never negative); a document's score is the weighted sum of
 * its per-field scores over the query terms (docs/FORMAT.md and README give
 * the formula and defaults).
 */
#include <math.h>

#include "query/query.h"

double bm25_idf(uint64_t N, uint64_t df)
{
    return log(1.0 + ((double)N - (double)df + 0.5) / ((double)df + 0.5));
}

double bm25_score(const nd_bm25 *p, double weight_idf, uint32_t tf, uint32_t len, double avglen)
{
    double norm = avglen > 0 ? (double)len / avglen : 0.0;
    double t = (double)tf;
    return weight_idf * t * (p->k1 + 1.0) / (t + p->k1 * (1.0 - p->b + p->b * norm));
}
