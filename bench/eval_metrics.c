/*
 * eval_metrics.c - nDCG@k, average precision, P@k and Recall@k for one
 * query (see eval_metrics.h). Judgement lists are short (hundreds), so the
 * look-ups scan them.
 */
#include "eval_metrics.h"

#include <math.h>
#include <string.h>

int ev_rel_of(const char *docid, const ev_judgment *j, size_t nj)
{
    for (size_t i = 0; i < nj; i++)
        if (strcmp(j[i].docid, docid) == 0)
            return j[i].rel;
    return 0;
}

size_t ev_num_relevant(const ev_judgment *j, size_t nj)
{
    size_t r = 0;
    for (size_t i = 0; i < nj; i++)
        if (j[i].rel > 0)
            r++;
    return r;
}

double ev_ndcg_at(const char *const *ranked, size_t n, const ev_judgment *j, size_t nj,
                  size_t k)
{
    double dcg = 0.0;
    for (size_t i = 0; i < n && i < k; i++) {
        int rel = ev_rel_of(ranked[i], j, nj);
        if (rel > 0)
            dcg += (double)rel / log2((double)i + 2.0);
    }
    /* Ideal DCG: the k largest gains in descending order, picked without
     * sorting (or copying) the judgements: for each rank, the largest gain
     * not yet used. Gains are small integers, so count them per value. */
    int maxrel = 0;
    for (size_t i = 0; i < nj; i++)
        if (j[i].rel > maxrel)
            maxrel = j[i].rel;
    double idcg = 0.0;
    size_t rank = 0;
    for (int g = maxrel; g > 0 && rank < k; g--) {
        size_t cnt = 0;
        for (size_t i = 0; i < nj; i++)
            if (j[i].rel == g)
                cnt++;
        for (; cnt > 0 && rank < k; cnt--, rank++)
            idcg += (double)g / log2((double)rank + 2.0);
    }
    return idcg > 0.0 ? dcg / idcg : 0.0;
}

double ev_average_precision(const char *const *ranked, size_t n, const ev_judgment *j,
                            size_t nj)
{
    size_t nrel = ev_num_relevant(j, nj);
    if (nrel == 0)
        return 0.0;
    double sum = 0.0;
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        if (ev_rel_of(ranked[i], j, nj) > 0) {
            found++;
            sum += (double)found / (double)(i + 1);
        }
    }
    return sum / (double)nrel;
}

static size_t relevant_in_top(const char *const *ranked, size_t n, const ev_judgment *j,
                              size_t nj, size_t k)
{
    size_t r = 0;
    for (size_t i = 0; i < n && i < k; i++)
        if (ev_rel_of(ranked[i], j, nj) > 0)
            r++;
    return r;
}

double ev_precision_at(const char *const *ranked, size_t n, const ev_judgment *j, size_t nj,
                       size_t k)
{
    if (k == 0)
        return 0.0;
    return (double)relevant_in_top(ranked, n, j, nj, k) / (double)k;
}

double ev_recall_at(const char *const *ranked, size_t n, const ev_judgment *j, size_t nj,
                    size_t k)
{
    size_t nrel = ev_num_relevant(j, nj);
    if (nrel == 0)
        return 0.0;
    return (double)relevant_in_top(ranked, n, j, nj, k) / (double)nrel;
}
