/*
 * facets.c - counts over the whole match set, not only the hits returned:
 * matches per source, and a date histogram by day, month or year (UTC).
 *
 * Sources are read from the index, not from stored articles: before a
 * segment is evaluated, the postings of every source term (one keyword term
 * per article, docs/FORMAT.md) fill a document -> source table, so counting
 * a match costs one array read. A source is shown as the original value of
 * the first article found with it (the term itself is case-folded).
 * Dates are counted per day in a small hash table and grouped into months
 * and years at the end, so the hot path never formats a date.
 */
#include <stdlib.h>

#include "query/query.h"

#define SECS_PER_DAY 86400
#define NO_SOURCE UINT32_MAX

typedef struct bucket {
    size_t key_off, key_len;
    uint64_t count;
} bucket;

typedef struct source_id {
    uint32_t seg, doc;   /* an article with this source (for its display form) */
    uint64_t count;
} source_id;

struct facets {
    unsigned mask;
    /* sources */
    nd_strmap ids;   /* normalised source term -> index into src */
    source_id *src;
    uint32_t n_src, cap_src;
    uint32_t *doc_src; /* current segment: document -> source index */
    size_t doc_src_cap;
    uint64_t no_source;
    /* days */
    int64_t *day;
    uint64_t *day_count;
    size_t n_days, day_cap; /* open addressing over day, INT64_MIN = empty */
    uint64_t no_date;
    /* results */
    nd_buf keys;
    bucket *b[N_FACETS];
    size_t nb[N_FACETS];
};

int facets_open(facets **out, unsigned mask)
{
    facets *f = calloc(1, sizeof *f);
    *out = f;
    if (!f)
        return ND_ENOMEM;
    f->mask = mask;
    return ND_OK;
}

void facets_free(facets *f)
{
    if (!f)
        return;
    strmap_clear(&f->ids);
    free(f->src);
    free(f->doc_src);
    free(f->day);
    free(f->day_count);
    buf_free(&f->keys);
    for (int k = 0; k < N_FACETS; k++)
        free(f->b[k]);
    free(f);
}

static int want_dates(const facets *f)
{
    return (f->mask & (ND_FACET_DAY | ND_FACET_MONTH | ND_FACET_YEAR)) != 0;
}

/* ---- sources ---------------------------------------------------------------- */

/* Index of the source with normalised value w, created if new. */
static int src_id(facets *f, const uint8_t *w, size_t len, uint32_t seg, uint32_t doc,
                  uint32_t *out)
{
    uint64_t v;
    if (strmap_get(&f->ids, w, len, &v)) {
        *out = (uint32_t)v;
        return ND_OK;
    }
    if (f->n_src == f->cap_src) {
        uint32_t cap = f->cap_src ? f->cap_src * 2 : 16;
        source_id *n = realloc(f->src, cap * sizeof *n);
        if (!n)
            return ND_ENOMEM;
        f->src = n;
        f->cap_src = cap;
    }
    if (strmap_put(&f->ids, w, len, f->n_src, NULL) < 0)
        return ND_ENOMEM;
    f->src[f->n_src] = (source_id){seg, doc, 0};
    *out = f->n_src++;
    return ND_OK;
}

int facets_segment(facets *f, const nd_index *ix, uint32_t si, nd_err *e)
{
    if (!(f->mask & ND_FACET_SOURCE))
        return ND_OK;
    const segment *seg = &ix->segs[si];
    if (seg->docs > f->doc_src_cap) {
        uint32_t *n = realloc(f->doc_src, (size_t)seg->docs * sizeof *n);
        if (!n)
            return err_set(e, ND_ENOMEM, "out of memory");
        f->doc_src = n;
        f->doc_src_cap = seg->docs;
    }
    for (uint32_t d = 0; d < seg->docs; d++)
        f->doc_src[d] = NO_SOURCE;
    uint8_t from = FIELD_SOURCE;
    term_iter it;
    int rc = term_iter_seek(&it, seg, &from, 1, e);
    while (!rc) {
        rc = term_iter_next(&it, e);
        if (rc == ND_DONE)
            return ND_OK;
        if (rc || it.key[0] != FIELD_SOURCE)
            break;
        pcursor pc;
        if ((rc = pcursor_open(&pc, seg, FIELD_SOURCE, &it.ti, e)))
            break;
        uint32_t id = NO_SOURCE;
        for (rc = pcursor_advance(&pc, 0, e); !rc && pc.doc != ND_NO_DOC;
             rc = pcursor_advance(&pc, pc.doc + 1, e)) {
            if (id == NO_SOURCE && src_id(f, it.key + 1, it.klen - 1, si, pc.doc, &id)) {
                rc = err_set(e, ND_ENOMEM, "out of memory");
                break;
            }
            f->doc_src[pc.doc] = id;
        }
        pcursor_close(&pc);
    }
    return rc;
}

/* ---- days ------------------------------------------------------------------- */

static int day_grow(facets *f)
{
    size_t cap = f->day_cap ? f->day_cap * 2 : 256;
    int64_t *k = malloc(cap * sizeof *k);
    uint64_t *v = malloc(cap * sizeof *v);
    if (!k || !v) {
        free(k);
        free(v);
        return ND_ENOMEM;
    }
    for (size_t i = 0; i < cap; i++)
        k[i] = INT64_MIN;
    for (size_t i = 0; i < f->day_cap; i++) {
        if (f->day[i] == INT64_MIN)
            continue;
        size_t h = (size_t)hash_bytes(&f->day[i], sizeof f->day[i]) & (cap - 1);
        while (k[h] != INT64_MIN)
            h = (h + 1) & (cap - 1);
        k[h] = f->day[i];
        v[h] = f->day_count[i];
    }
    free(f->day);
    free(f->day_count);
    f->day = k;
    f->day_count = v;
    f->day_cap = cap;
    return ND_OK;
}

void facets_add(facets *f, uint32_t doc, int64_t date)
{
    if (f->mask & ND_FACET_SOURCE) {
        uint32_t id = f->doc_src[doc];
        if (id == NO_SOURCE)
            f->no_source++;
        else
            f->src[id].count++;
    }
    if (!want_dates(f))
        return;
    if (date == ND_NO_DATE) {
        f->no_date++;
        return;
    }
    int64_t day = date / SECS_PER_DAY - (date % SECS_PER_DAY < 0);
    if ((f->n_days + 1) * 2 > f->day_cap && day_grow(f)) {
        f->no_date++; /* out of memory: counted as undated rather than lost */
        return;
    }
    size_t h = (size_t)hash_bytes(&day, sizeof day) & (f->day_cap - 1);
    while (f->day[h] != INT64_MIN && f->day[h] != day)
        h = (h + 1) & (f->day_cap - 1);
    if (f->day[h] == INT64_MIN) {
        f->day[h] = day;
        f->day_count[h] = 0;
        f->n_days++;
    }
    f->day_count[h]++;
}

/* ---- results ---------------------------------------------------------------- */

static int push(facets *f, int kind, const char *key, size_t len, uint64_t count, size_t *cap)
{
    if (f->nb[kind] == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        bucket *n = realloc(f->b[kind], c * sizeof *n);
        if (!n)
            return ND_ENOMEM;
        f->b[kind] = n;
        *cap = c;
    }
    bucket *b = &f->b[kind][f->nb[kind]++];
    b->key_off = f->keys.len;
    b->key_len = len;
    b->count = count;
    return buf_append(&f->keys, key, len);
}

typedef struct day_count {
    int64_t day;
    uint64_t count;
} day_count;

static int cmp_day(const void *a, const void *b)
{
    const day_count *x = a, *y = b;
    return x->day < y->day ? -1 : x->day > y->day;
}

typedef struct src_rank {
    const char *key;
    size_t len;
    uint64_t count;
} src_rank;

static int cmp_src(const void *a, const void *b)
{
    const src_rank *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    int d = memcmp(x->key, y->key, ND_MIN(x->len, y->len));
    if (d)
        return d;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int finish_sources(facets *f, const nd_index *ix, nd_err *e)
{
    nd_buf block = {0}, shown = {0};
    uint32_t cached_block = UINT32_MAX, cached_seg = UINT32_MAX;
    src_rank *r = malloc((f->n_src ? f->n_src : 1) * sizeof *r);
    size_t *off = malloc((f->n_src ? f->n_src : 1) * sizeof *off);
    size_t n = 0, cap = 0;
    int rc = ND_OK;
    if (!r || !off) {
        rc = err_set(e, ND_ENOMEM, "out of memory");
        goto out;
    }
    /* the display form of every source that was counted */
    for (uint32_t i = 0; i < f->n_src; i++) {
        source_id *s = &f->src[i];
        if (!s->count)
            continue;
        if (s->seg != cached_seg)
            cached_block = UINT32_MAX;
        cached_seg = s->seg;
        stored_doc sd;
        rc = segment_stored(&ix->segs[s->seg], s->doc, &block, &cached_block, &sd, e);
        if (rc)
            goto out;
        off[n] = shown.len;
        r[n].len = sd.len[SF_SOURCE];
        r[n].count = s->count;
        if (buf_append(&shown, sd.f[SF_SOURCE], sd.len[SF_SOURCE])) {
            rc = err_set(e, ND_ENOMEM, "out of memory");
            goto out;
        }
        n++;
    }
    for (size_t i = 0; i < n; i++)
        r[i].key = (const char *)shown.data + off[i];
    if (n)
        qsort(r, n, sizeof *r, cmp_src);
    for (size_t i = 0; i < n; i++)
        if (push(f, FACET_SOURCE, r[i].key, r[i].len, r[i].count, &cap)) {
            rc = err_set(e, ND_ENOMEM, "out of memory");
            goto out;
        }
out:
    free(r);
    free(off);
    buf_free(&block);
    buf_free(&shown);
    return rc;
}

static int finish_dates(facets *f, nd_err *e)
{
    day_count *d = malloc((f->n_days ? f->n_days : 1) * sizeof *d);
    if (!d)
        return err_set(e, ND_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < f->day_cap; i++)
        if (f->day[i] != INT64_MIN)
            d[n++] = (day_count){f->day[i], f->day_count[i]};
    if (n)
        qsort(d, n, sizeof *d, cmp_day);
    static const struct {
        int kind;
        unsigned bit;
        size_t cut; /* bytes dropped from the end of YYYY-MM-DD */
    } LEVELS[] = {{FACET_DAY, ND_FACET_DAY, 0}, {FACET_MONTH, ND_FACET_MONTH, 3},
                  {FACET_YEAR, ND_FACET_YEAR, 6}};
    int rc = ND_OK;
    for (size_t l = 0; l < 3 && !rc; l++) {
        if (!(f->mask & LEVELS[l].bit))
            continue;
        size_t cap = 0;
        char prev[48] = "";
        size_t prev_len = 0;
        for (size_t i = 0; i < n && !rc; i++) {
            char key[48];
            /* the first, partial day of the int64 range has no whole first
             * second: its dates count in the day after */
            int64_t day = d[i].day < INT64_MIN / SECS_PER_DAY ? INT64_MIN / SECS_PER_DAY : d[i].day;
            size_t len = nd_date_format(key, sizeof key, day * SECS_PER_DAY);
            len = len > LEVELS[l].cut ? len - LEVELS[l].cut : len;
            size_t nb = f->nb[LEVELS[l].kind];
            if (nb && len == prev_len && memcmp(key, prev, len) == 0) {
                f->b[LEVELS[l].kind][nb - 1].count += d[i].count; /* the last bucket's key */
                continue;
            }
            memcpy(prev, key, len);
            prev_len = len;
            if (push(f, LEVELS[l].kind, key, len, d[i].count, &cap))
                rc = err_set(e, ND_ENOMEM, "out of memory");
        }
    }
    free(d);
    return rc;
}

int facets_finish(facets *f, const nd_index *ix, nd_err *e)
{
    int rc = ND_OK;
    if (f->mask & ND_FACET_SOURCE)
        rc = finish_sources(f, ix, e);
    if (!rc && want_dates(f))
        rc = finish_dates(f, e);
    return rc;
}

size_t facets_count(const facets *f, int kind)
{
    return f && kind >= 0 && kind < N_FACETS ? f->nb[kind] : 0;
}

void facets_get(const facets *f, int kind, size_t i, const char **key, size_t *keylen,
                uint64_t *count)
{
    const bucket *b = &f->b[kind][i];
    *key = (const char *)f->keys.data + b->key_off;
    *keylen = b->key_len;
    *count = b->count;
}

uint64_t facets_missing(const facets *f, int kind)
{
    if (!f)
        return 0;
    return kind == FACET_SOURCE ? f->no_source : f->no_date;
}
