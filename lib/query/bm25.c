/*
 * bm25.c - the ranking function, in one place: combined-field Okapi BM25
 * (BM25F) with Lucene's idf (never negative). Each query word has one idf;
 * its frequencies in title and body are normalised by their field lengths,
 * weighted, added, and saturated once (query.h and README give the formula
 * and defaults). The per-document parts, bm25_ptf and bm25_saturate, are
 * inline in query.h.
 */
#include <math.h>

#include "query/query.h"

double bm25_idf(uint64_t N, uint64_t df)
{
    return log(1.0 + ((double)N - (double)df + 0.5) / ((double)df + 0.5));
}
