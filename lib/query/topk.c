/*
 * topk.c - the bounded heap that keeps the k best hits while evaluation
 * streams every match past it. "Best" is by score, or by date (oldest or
 * newest first, undated articles last) with ties broken by score. Remaining
 * ties are broken by the lower document number, so results are
 * deterministic.
 */
#include <stdlib.h>

#include "query/query.h"

/* a is worse than b under sort */
static int worse(int sort, const topk_entry *a, const topk_entry *b)
{
    if (sort != ND_SORT_SCORE && a->date != b->date) {
        if (a->date == ND_NO_DATE || b->date == ND_NO_DATE)
            return a->date == ND_NO_DATE;
        return sort == ND_SORT_DATE_ASC ? a->date > b->date : a->date < b->date;
    }
    if (a->score != b->score)
        return a->score < b->score;
    return a->doc > b->doc;
}

int topk_init(topk *t, size_t cap, int sort)
{
    t->n = 0;
    t->cap = cap;
    t->sort = sort;
    t->e = malloc((cap ? cap : 1) * sizeof *t->e);
    return t->e ? ND_OK : ND_ENOMEM;
}

static void swap(topk_entry *a, topk_entry *b)
{
    topk_entry tmp = *a;
    *a = *b;
    *b = tmp;
}

static void sift_down(int sort, topk_entry *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(sort, &h[l], &h[m]))
            m = l;
        if (r < n && worse(sort, &h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        swap(&h[i], &h[m]);
        i = m;
    }
}

void topk_push(topk *t, double score, uint64_t doc, int64_t date)
{
    topk_entry x = {score, doc, date};
    if (t->cap == 0)
        return;
    if (t->n < t->cap) {
        size_t i = t->n++;
        t->e[i] = x;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!worse(t->sort, &t->e[i], &t->e[p]))
                break;
            swap(&t->e[i], &t->e[p]);
            i = p;
        }
        return;
    }
    if (!worse(t->sort, &t->e[0], &x))
        return;
    t->e[0] = x;
    sift_down(t->sort, t->e, t->n, 0);
}

/* Heap sort in place: repeatedly move the worst entry to the end. */
void topk_sort(topk *t)
{
    for (size_t n = t->n; n > 1; n--) {
        swap(&t->e[0], &t->e[n - 1]);
        sift_down(t->sort, t->e, n - 1, 0);
    }
}

void topk_free(topk *t)
{
    free(t->e);
    t->e = NULL;
    t->n = t->cap = 0;
}
