/*
 * search.c - the public nd_search and nd_hits calls: check the options,
 * parse the query, evaluate it on the snapshot (counting facets over every
 * match), then copy each returned hit (stored fields, snippet, marks) out of
 * segment memory into storage the caller keeps until nd_hits_free. With
 * ids_only a hit is its score, date and id, read from the columns (.col)
 * without inflating a stored block.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "analysis/analysis.h"
#include "api/api.h"
#include "index/index.h"
#include "query/query.h"

struct nd_search {
    nd_index *ix;
    nd_analyzer *an;
    nd_err err;
    size_t err_off;        /* of the last syntax or limit error, or ND_NO_OFFSET */
    nd_buf block;          /* the last decompressed stored block */
    uint32_t cached_seg;
    uint32_t cached_block;
    nd_buf snip, marks;
    int exhaustive; /* score every match (search_set_exhaustive) */
};

/* A hit as offsets into the hits' arena (which may move while it grows). */
typedef struct hit_rec {
    double score;
    size_t off[SF_COUNT], len[SF_COUNT];
    int64_t date;
    size_t snip_off, snip_len;
    size_t marks_off, n_marks; /* in nd_span units */
} hit_rec;

struct nd_hits {
    hit_rec *h;
    size_t n;
    uint64_t total;
    nd_buf arena;
    nd_buf marks;
    facets *fc;       /* NULL when no facet was requested */
    unsigned facet_mask;
    int inexact;      /* total is a lower bound: pruning skipped matches */
};

void search_set_exhaustive(nd_search *s, int on)
{
    s->exhaustive = on != 0;
}

int nd_search_open(nd_search **out, nd_index *ix)
{
    if (!out)
        return ND_EINVAL;
    *out = NULL;
    if (!ix)
        return ND_EINVAL;
    nd_search *s = calloc(1, sizeof *s);
    if (!s)
        return ND_ENOMEM;
    s->ix = ix;
    s->cached_block = UINT32_MAX;
    s->err_off = ND_NO_OFFSET;
    /* queries and snippets are analysed as the index's articles were */
    int rc = analyzer_open_with(&s->an, &ix->man.settings, &s->err);
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return ND_OK;
}

void nd_search_free(nd_search *s)
{
    if (!s)
        return;
    analyzer_free(s->an);
    buf_free(&s->block);
    buf_free(&s->snip);
    buf_free(&s->marks);
    free(s);
}

const char *nd_search_errmsg(const nd_search *s)
{
    return s ? s->err.msg : "no searcher";
}

size_t nd_search_error_offset(const nd_search *s)
{
    return s ? s->err_off : ND_NO_OFFSET;
}

int nd_date_period(int64_t *first, int64_t *last, const char *s, size_t len)
{
    if (!first || !last || !s)
        return ND_EINVAL;
    return query_date_period(first, last, s, len);
}

/* Starts hit slot i from entry te: score and date (the topk entry's, read
 * from the date column when the hit was found), no field yet. */
static hit_rec *hit_begin(nd_hits *h, size_t i, const topk_entry *te)
{
    hit_rec *r = &h->h[i];
    memset(r, 0, sizeof *r);
    r->score = te->score;
    r->date = te->date;
    return r;
}

/* Copies field f of a hit into the hits' arena. */
static int hit_field(nd_search *s, nd_hits *h, hit_rec *r, int f, const char *p, size_t n)
{
    r->off[f] = h->arena.len;
    r->len[f] = n;
    if (buf_append(&h->arena, p, n))
        return err_set(&s->err, ND_ENOMEM, "out of memory");
    return ND_OK;
}

/* Fills hit slot i from entry te. */
static int add_hit(nd_search *s, nd_hits *h, const snip_terms *st, const topk_entry *te,
                   size_t i, int with_snippet, int ids_only)
{
    nd_index *ix = s->ix;
    uint32_t local, si = snapshot_locate(ix, te->doc, &local);
    const segment *seg = &ix->segs[si];
    if (si != s->cached_seg)
        s->cached_block = UINT32_MAX;
    s->cached_seg = si;
    int rc;
    if (ids_only) { /* score, date and id: the id from the id column */
        const char *id;
        size_t len;
        if ((rc = segment_doc_id(seg, local, &s->block, &s->cached_block, &id, &len, &s->err)))
            return rc;
        return hit_field(s, h, hit_begin(h, i, te), SF_ID, id, len);
    }
    stored_doc sd;
    if ((rc = segment_stored(seg, local, &s->block, &s->cached_block, &sd, &s->err)))
        return rc;
    hit_rec *r = hit_begin(h, i, te);
    for (int f = 0; f < SF_COUNT && !rc; f++)
        if (f != SF_BODY) /* only the snippet of the body is returned */
            rc = hit_field(s, h, r, f, sd.f[f], sd.len[f]);
    if (rc)
        return rc;
    if (with_snippet) {
        const char *text = sd.len[SF_BODY] ? sd.f[SF_BODY] : sd.f[SF_TITLE];
        size_t tlen = sd.len[SF_BODY] ? sd.len[SF_BODY] : sd.len[SF_TITLE];
        if (snippet_make(s->an, text, tlen, st, &s->snip, &s->marks))
            return err_set(&s->err, ND_ENOMEM, "out of memory");
        r->snip_off = h->arena.len;
        r->snip_len = s->snip.len;
        r->marks_off = h->marks.len / sizeof(nd_span);
        r->n_marks = s->marks.len / sizeof(nd_span);
        if (buf_append(&h->arena, s->snip.data, s->snip.len) ||
            buf_append(&h->marks, s->marks.data, s->marks.len))
            return err_set(&s->err, ND_ENOMEM, "out of memory");
    }
    return ND_OK;
}

/* A hit to fetch: its rank and its document. */
typedef struct fetch {
    uint64_t doc;
    size_t rank;
} fetch;

static int cmp_fetch(const void *a, const void *b)
{
    const fetch *x = a, *y = b;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

static int check_opts(nd_search *s, const nd_search_opts *o, size_t k)
{
    if (k > ND_MAX_K || o->offset > ND_MAX_K)
        return err_set(&s->err, ND_ELIMIT, "k + offset may be at most %d each", ND_MAX_K);
    if (!(o->bm25.k1 >= 0) || !(o->bm25.b >= 0 && o->bm25.b <= 1) ||
        !(o->bm25.title_weight >= 0) || !(o->bm25.body_weight >= 0))
        return err_set(&s->err, ND_EINVAL, "BM25 parameters out of range");
    if (o->default_op != ND_OP_OR && o->default_op != ND_OP_AND)
        return err_set(&s->err, ND_EINVAL, "unknown default operator %d", o->default_op);
    if (o->sort != ND_SORT_SCORE && o->sort != ND_SORT_DATE_ASC && o->sort != ND_SORT_DATE_DESC)
        return err_set(&s->err, ND_EINVAL, "unknown sort order %d", o->sort);
    if (o->facets & ~(ND_FACET_SOURCE | ND_FACET_DAY | ND_FACET_MONTH | ND_FACET_YEAR))
        return err_set(&s->err, ND_EINVAL, "unknown facet bits 0x%x", o->facets);
    return ND_OK;
}

int nd_search_run(nd_search *s, nd_hits **out, const char *qs, size_t k,
                  const nd_search_opts *opts)
{
    if (!out)
        return ND_EINVAL;
    *out = NULL;
    if (!s)
        return ND_EINVAL;
    err_clear(&s->err);
    s->err_off = ND_NO_OFFSET;
    if (!qs)
        return err_set(&s->err, ND_EINVAL, "no query");
    if (opts && (opts->version < 1 || opts->version > ND_SEARCH_OPTS_VERSION))
        return err_set(&s->err, ND_EINVAL, "unknown nd_search_opts version %u", opts->version);
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    if (opts) /* older versions end before `plain` (1) or `ids_only` (2) */
        memcpy(&o, opts,
               opts->version == 1   ? offsetof(nd_search_opts, plain)
               : opts->version == 2 ? offsetof(nd_search_opts, ids_only)
                                    : sizeof o);
    int rc = check_opts(s, &o, k);
    if (rc)
        return rc;
    if (o.count_only)
        k = 0;
    query q;
    size_t off;
    rc = query_parse(&q, s->an, qs, strlen(qs), o.default_op, o.plain != 0, &s->err, &off);
    if (rc) {
        s->err_off = off == QUERY_NO_OFFSET ? ND_NO_OFFSET : off;
        return rc;
    }
    snip_terms st;
    memset(&st, 0, sizeof st);
    nd_hits *h = calloc(1, sizeof *h);
    topk top = {0};
    if (!h || topk_init(&top, o.count_only ? 0 : k + o.offset, o.sort) ||
        (o.facets && facets_open(&h->fc, o.facets))) {
        rc = err_set(&s->err, ND_ENOMEM, "out of memory");
        goto fail;
    }
    h->facet_mask = o.facets;
    int count_only = o.count_only || k + o.offset == 0;
    int by_score = !count_only && o.sort == ND_SORT_SCORE;
    int prune = by_score && o.approx_total && !o.facets;
    exec_opts eo = {&o.bm25, o.since, o.until, count_only, prune,
                    by_score && !prune && !s->exhaustive, 0};
    off = QUERY_NO_OFFSET;
    rc = exec_search(s->ix, &q, &eo, &top, h->fc, &h->total, &s->err, &off);
    if (rc) {
        if (off != QUERY_NO_OFFSET)
            s->err_off = off;
        goto fail;
    }
    h->inexact = eo.skipped;
    if (h->fc && (rc = facets_finish(h->fc, s->ix, &s->err)))
        goto fail;
    topk_sort(&top);
    size_t n = top.n > o.offset ? top.n - o.offset : 0;
    h->h = calloc(n ? n : 1, sizeof *h->h);
    int ids_only = o.ids_only != 0, snippets = o.snippets && !ids_only;
    if (!h->h || (n && snippets && snippet_terms_init(&st, &q))) {
        rc = err_set(&s->err, ND_ENOMEM, "out of memory");
        goto fail;
    }
    /* stored articles are read in document order, so each compressed block
     * is inflated once however the hits are ranked (ids_only reads none from
     * segments with an id column) */
    fetch *order = malloc((n ? n : 1) * sizeof *order);
    if (!order) {
        rc = err_set(&s->err, ND_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (fetch){top.e[o.offset + i].doc, i};
    qsort(order, n, sizeof *order, cmp_fetch);
    for (size_t j = 0; j < n && !rc; j++)
        rc = add_hit(s, h, &st, &top.e[o.offset + order[j].rank], order[j].rank, snippets,
                     ids_only);
    free(order);
    if (rc)
        goto fail;
    h->n = n;
    snippet_terms_free(&st);
    topk_free(&top);
    query_free(&q);
    *out = h;
    return ND_OK;
fail:
    snippet_terms_free(&st);
    topk_free(&top);
    query_free(&q);
    nd_hits_free(h);
    return rc;
}

size_t nd_hits_count(const nd_hits *h)
{
    return h ? h->n : 0;
}

uint64_t nd_hits_total(const nd_hits *h)
{
    return h ? h->total : 0;
}

int nd_hits_total_exact(const nd_hits *h)
{
    return h ? !h->inexact : 1;
}

int nd_hits_get(const nd_hits *h, size_t i, nd_hit *out)
{
    if (!h || !out || i >= h->n)
        return ND_EINVAL;
    const hit_rec *r = &h->h[i];
    const char *a = h->arena.data ? (const char *)h->arena.data : "";
    memset(out, 0, sizeof *out);
    out->score = r->score;
    out->id = a + r->off[SF_ID];
    out->id_len = r->len[SF_ID];
    out->title = a + r->off[SF_TITLE];
    out->title_len = r->len[SF_TITLE];
    out->source = a + r->off[SF_SOURCE];
    out->source_len = r->len[SF_SOURCE];
    out->url = a + r->off[SF_URL];
    out->url_len = r->len[SF_URL];
    out->lang = a + r->off[SF_LANG];
    out->lang_len = r->len[SF_LANG];
    out->date = r->date;
    out->snippet = a + r->snip_off;
    out->snippet_len = r->snip_len;
    out->marks = r->n_marks ? (const nd_span *)h->marks.data + r->marks_off : NULL;
    out->n_marks = r->n_marks;
    return ND_OK;
}

/* FACET_* index of one ND_FACET_* bit that h has, or -1. */
static int facet_kind(const nd_hits *h, unsigned facet)
{
    if (!h || !h->fc || !(h->facet_mask & facet))
        return -1;
    switch (facet) {
    case ND_FACET_SOURCE:
        return FACET_SOURCE;
    case ND_FACET_DAY:
        return FACET_DAY;
    case ND_FACET_MONTH:
        return FACET_MONTH;
    case ND_FACET_YEAR:
        return FACET_YEAR;
    default:
        return -1;
    }
}

size_t nd_hits_facet_count(const nd_hits *h, unsigned facet)
{
    int kind = facet_kind(h, facet);
    return kind < 0 ? 0 : facets_count(h->fc, kind);
}

int nd_hits_facet_get(const nd_hits *h, unsigned facet, size_t i, const char **key,
                      size_t *keylen, uint64_t *count)
{
    int kind = facet_kind(h, facet);
    if (kind < 0 || !key || !keylen || !count || i >= facets_count(h->fc, kind))
        return ND_EINVAL;
    facets_get(h->fc, kind, i, key, keylen, count);
    return ND_OK;
}

uint64_t nd_hits_facet_missing(const nd_hits *h, unsigned facet)
{
    int kind = facet_kind(h, facet);
    return kind < 0 ? 0 : facets_missing(h->fc, kind);
}

void nd_hits_free(nd_hits *h)
{
    if (!h)
        return;
    free(h->h);
    buf_free(&h->arena);
    buf_free(&h->marks);
    facets_free(h->fc);
    free(h);
}
