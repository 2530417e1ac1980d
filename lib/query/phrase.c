/*
 * phrase.c - does one document hold a phrase? Given the positions of the
 * phrase's words in one field of the document, either find them at the
 * exact relative positions of the query ("a b c"), or find a window in
 * which all of them occur in any order ("a b c"~N: a span of at most
 * 3 - 1 + N positions). Both run in time linear in the positions (plus a
 * sort for windows), so long documents and long phrases stay cheap.
 */
#include <stdlib.h>

#include "query/query.h"

int phrase_exact(const uint32_t *const *lists, const uint32_t *lens, const uint32_t *pmap,
                 const uint32_t *qpos, uint32_t k)
{
    /* One cursor per phrase word (duplicated words have their own cursor into
     * the shared list); cursors only move forward as the start position grows. */
    uint32_t stack_ptr[16];
    uint32_t *ptr = k <= 16 ? stack_ptr : calloc(k, sizeof *ptr);
    if (!ptr)
        return ND_ENOMEM;
    memset(ptr, 0, k * sizeof *ptr);
    const uint32_t *p0 = lists[pmap[0]];
    uint32_t n0 = lens[pmap[0]];
    int found = 0, over = 0;
    for (uint32_t a = 0; a < n0 && !found && !over; a++) {
        uint64_t start = p0[a];
        uint32_t w = 1;
        for (; w < k; w++) {
            const uint32_t *l = lists[pmap[w]];
            uint32_t n = lens[pmap[w]];
            uint64_t want = start + qpos[w];
            while (ptr[w] < n && l[ptr[w]] < want)
                ptr[w]++;
            if (ptr[w] == n) {
                over = 1; /* later starts want even later positions */
                break;
            }
            if (l[ptr[w]] != want)
                break;
        }
        found = w == k;
    }
    if (ptr != stack_ptr)
        free(ptr);
    return found;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int phrase_window(phrase_scratch *ps, const uint32_t *const *lists, const uint32_t *lens,
                  const uint32_t *need, uint32_t n, uint64_t window)
{
    size_t total = 0;
    for (uint32_t j = 0; j < n; j++) {
        if (lens[j] < need[j])
            return 0;
        total += lens[j];
    }
    if (total > ps->merged_cap) {
        uint64_t *m = realloc(ps->merged, total * sizeof *m);
        if (!m)
            return ND_ENOMEM;
        ps->merged = m;
        ps->merged_cap = total;
    }
    if (n > ps->count_cap) {
        uint32_t *c = realloc(ps->count, n * sizeof *c);
        if (!c)
            return ND_ENOMEM;
        ps->count = c;
        ps->count_cap = n;
    }
    size_t m = 0;
    for (uint32_t j = 0; j < n; j++)
        for (uint32_t i = 0; i < lens[j]; i++)
            ps->merged[m++] = ((uint64_t)lists[j][i] << 32) | j;
    qsort(ps->merged, m, sizeof *ps->merged, cmp_u64);
    memset(ps->count, 0, n * sizeof *ps->count);
    /* the shortest window ending at each position that satisfies every need */
    uint32_t satisfied = 0;
    size_t l = 0;
    for (size_t r = 0; r < m; r++) {
        uint32_t j = (uint32_t)ps->merged[r];
        if (++ps->count[j] == need[j])
            satisfied++;
        while (satisfied == n) {
            if ((ps->merged[r] >> 32) - (ps->merged[l] >> 32) <= window)
                return 1;
            uint32_t jl = (uint32_t)ps->merged[l];
            if (ps->count[jl]-- == need[jl])
                satisfied--;
            l++;
        }
    }
    return 0;
}

void phrase_scratch_free(phrase_scratch *ps)
{
    free(ps->merged);
    free(ps->count);
    memset(ps, 0, sizeof *ps);
}
