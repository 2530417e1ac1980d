/*
 * topk.c - the bounded heap that keeps the k best hits while evaluation
 * streams every match past it. Ties are broken by the lower document
 * number, so results are deterministic.
 */
#include <stdlib.h>

#include "query/query.h"

/* a is worse than b */
static int worse(const topk_entry *a, const topk_entry *b)
{
    if (a->score != b->score)
        return a->score < b->score;
    return a->doc > b->doc;
}

int topk_init(topk *t, size_t cap)
{
    t->n = 0;
    t->cap = cap;
    t->e = malloc((cap ? cap : 1) * sizeof *t->e);
    return t->e ? ND_OK : ND_ENOMEM;
}

static void sift_down(topk_entry *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(&h[l], &h[m]))
            m = l;
        if (r < n && worse(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        topk_entry tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

void topk_push(topk *t, double score, uint64_t doc)
{
    topk_entry x = {score, doc};
    if (t->cap == 0)
        return;
    if (t->n < t->cap) {
        size_t i = t->n++;
        t->e[i] = x;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!worse(&t->e[i], &t->e[p]))
                break;
            topk_entry tmp = t->e[i];
            t->e[i] = t->e[p];
            t->e[p] = tmp;
            i = p;
        }
        return;
    }
    if (!worse(&t->e[0], &x))
        return;
    t->e[0] = x;
    sift_down(t->e, t->n, 0);
}

static int cmp_best_first(const void *a, const void *b)
{
    const topk_entry *x = a, *y = b;
    if (worse(x, y))
        return 1;
    if (worse(y, x))
        return -1;
    return 0;
}

void topk_sort(topk *t)
{
    qsort(t->e, t->n, sizeof *t->e, cmp_best_first);
}

void topk_free(topk *t)
{
    free(t->e);
    t->e = NULL;
    t->n = t->cap = 0;
}
