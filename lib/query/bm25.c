/*
 * bm25.c - the ranking function, in one place: combined-field Okapi BM25
 * (BM25F) with Lucene's idf (never negative). Each query word has one idf;
 * its frequencies in title and body are normalised by their field lengths,
 * weighted, added, and saturated once (query.h and README give the formula
 * and defaults).
 */
#include <math.h>

#include "query/query.h"

double bm25_idf(uint64_t N, uint64_t df)
{
    return log(1.0 + ((double)N - (double)df + 0.5) / ((double)df + 0.5));
}

double bm25_ptf(const nd_bm25 *p, double w, uint32_t tf, uint32_t len, double avglen)
{
    double norm = avglen > 0 ? (double)len / avglen : 0.0;
    double d = 1.0 - p->b + p->b * norm; /* > 0: a field holding the word has len >= 1 */
    return d > 0 ? w * (double)tf / d : w * (double)tf;
}

double bm25_saturate(const nd_bm25 *p, double idf_boost, double ptf)
{
    if (!(ptf > 0))
        return 0.0;
    return idf_boost * ptf * (p->k1 + 1.0) / (ptf + p->k1);
}
