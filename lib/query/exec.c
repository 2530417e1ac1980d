/*
 * exec.c - query evaluation, document at a time, over a tree of iterators.
 *
 * First every word of the query is looked up once in every segment (and
 * every prefix expanded there), so document frequencies - and BM25's idf -
 * are those of the whole snapshot and a document scores the same whatever
 * segment holds it. Then, segment by segment, the clause tree becomes a
 * tree of iterators that share one small interface: advance to the first
 * matching document >= a target, and score the current one.
 *
 *   term     one postings cursor (one word in one field)
 *   or       a heap of children: the smallest current document wins
 *   and      leapfrog over the required children; optional ones only add
 *            to the score; excluded ones are checked at each candidate
 *   phrase   the doc-id intersection of its words, then their positions
 *            (phrase.c) - positions are only decoded for documents that
 *            have every word
 *   date     a forward scan of the date column
 *   all      every document (the base of a group of exclusions only)
 *
 * Each iterator only moves forward, so a segment costs at most its postings
 * plus, for date filters and exclusion-only groups, one pass over its
 * documents. Deleted documents and the search's date bounds are checked at
 * the top, before a match is counted, faceted or scored.
 */
#include <stdlib.h>

#include "query/query.h"

/* ---- the iterator ------------------------------------------------------------ */

enum { IT_ALL, IT_TERM, IT_DATE, IT_OR, IT_AND, IT_PHRASE };

/* Past this many children an OR keeps them in a heap; below, a scan for
 * the smallest document is cheaper. */
#define OR_SCAN_MAX 4

typedef struct qit qit;
struct qit {
    int kind;     /* IT_* */
    int32_t node; /* the query node it was built for (build), -1 for the
                     per-field parts of a word or phrase */
    int started;  /* advanced at least once */
    int fields;   /* IT_OR: its children are one word's term iterators in
                     several fields, scored together as one BM25F term */
    int term_scan; /* IT_OR: at most OR_SCAN_MAX children, all words, and
                      nothing excluded: moved inline by adv() */
    int unscored; /* required but not scored (filters) */
    uint32_t doc; /* current match, ND_NO_DOC when exhausted */
    uint64_t cost; /* estimated matches: the cheapest required child leads */
    /* IT_TERM */
    pcursor *pc;
    int field;
    double w;  /* IT_TERM: field weight */
    double wi; /* IT_TERM, and IT_OR with fields: idf * boost */
    /* IT_DATE */
    int64_t lo, hi;
    /* IT_AND: req (leapfrog), opt (score only), neg (excluded);
     * IT_OR: opt (heap), neg; IT_PHRASE: req = the distinct words */
    qit **req, **opt, **neg;
    uint32_t n_req, n_opt, n_neg;
    uint32_t *heap; /* IT_OR: indexes into opt, smallest doc first */
    int heap_ready;
    uint32_t *hit;  /* IT_OR: scratch, the children on the current document */
    double gub;     /* pruning: bound of the score on any document, < 0 unknown */
    int bc_ok;      /* pruning: bc bounds the score on documents [bc_lo, bc_end] */
    uint32_t bc_lo, bc_end;
    double bc;
    uint32_t one_j; /* pruning, IT_TERM on a one-block list: index of its
                       next document in the decoded block */
    /* IT_PHRASE */
    uint32_t *pmap; /* phrase word -> index in req */
    uint32_t *qpos; /* phrase word -> position after the first word */
    uint32_t *need; /* distinct word -> times it occurs in the phrase */
    uint32_t n_pterms;
    uint32_t slop;
    int lazy;          /* pruning: stop on every document holding all the
                          words; positions are checked by confirm() only for
                          candidates that can enter the top k */
    uint32_t conf_doc; /* lazy: the document confirm() answered for */
    int conf_ok;
};

/* ---- slots: one (field, word) looked up in every segment ---------------- */

typedef struct slot {
    int field;
    uint32_t woff, wlen; /* word bytes in ectx.words */
    uint64_t df;         /* over the snapshot */
    double wi;           /* idf * boost */
} slot;

typedef struct ectx {
    const nd_index *ix;
    const query *q;
    exec_opts *o;
    nd_err *e;
    size_t *err_off;
    uint32_t nseg;
    nd_buf words;
    slot *slots;
    uint32_t n_slots, cap_slots;
    term_info *tis;    /* [slot * nseg + segment] */
    uint8_t *present;  /* same shape */
    uint32_t *node_slot; /* first slot of each query node */
    uint32_t *node_end;  /* one past its last slot */
    uint32_t expanded;
    double avglen[N_TEXT_FIELDS];
    /* the current segment */
    const segment *seg;
    uint32_t si;
    qit **its;
    size_t n_its, cap_its;
    phrase_scratch ps;
    const uint32_t **lists; /* phrase positions scratch, ND_MAX_QUERY_TERMS each */
    uint32_t *lens;
    uint64_t *bits; /* counting: one bit per document of the segment */
    size_t bits_cap; /* words */
    /* the search's date range: dated when since or until is set, lo..hi
     * (inclusive) the dates it lets through; the current segment's date
     * spans when dated (NULL: none, or out of memory) */
    int dated;
    int64_t lo, hi;
    const int64_t *spans;
    /* the group of documents (COL_GROUP_SHIFT) of the current segment
     * whose columns col_ready saw checked last */
    uint32_t ready_group;
} ectx;

/* Makes sure the columns of the current segment were checked where they
 * hold document d's lengths and date (segment_col_group); candidates come
 * in ascending order, so most find their group already done. Scoring,
 * admissible() and date clauses then read the columns unchecked. */
static inline int col_ready(ectx *c, uint32_t d)
{
    uint32_t g = d >> COL_GROUP_SHIFT;
    if (g == c->ready_group)
        return ND_OK;
    int rc = segment_col_group(c->seg, g, c->e);
    if (!rc)
        c->ready_group = g;
    return rc;
}

static int nomem(ectx *c)
{
    return err_set(c->e, ND_ENOMEM, "out of memory");
}

static double field_weight(const nd_bm25 *p, int field)
{
    switch (field) {
    case FIELD_TITLE:
        return p->title_weight;
    case FIELD_BODY:
        return p->body_weight;
    case FIELD_URL:
        return 1.0;
    default:
        return 0.0; /* keyword filters never score */
    }
}

/* The fields a node searches. */
static int fields_of(int field, int out[2])
{
    if (field == FIELD_ANY) {
        out[0] = FIELD_TITLE;
        out[1] = FIELD_BODY;
        return 2;
    }
    out[0] = field;
    return 1;
}

static int new_slot(ectx *c, int field, const void *w, size_t wlen, uint32_t *out)
{
    if (c->n_slots == c->cap_slots) {
        uint32_t cap = c->cap_slots ? c->cap_slots * 2 : 16;
        size_t per = c->nseg ? c->nseg : 1;
        slot *s = realloc(c->slots, cap * sizeof *s);
        if (!s)
            return nomem(c);
        c->slots = s;
        term_info *t = realloc(c->tis, (size_t)cap * per * sizeof *t);
        if (!t)
            return nomem(c);
        c->tis = t;
        uint8_t *p = realloc(c->present, (size_t)cap * per);
        if (!p)
            return nomem(c);
        c->present = p;
        c->cap_slots = cap;
    }
    uint32_t i = c->n_slots++;
    slot *s = &c->slots[i];
    s->field = field;
    s->woff = (uint32_t)c->words.len;
    s->wlen = (uint32_t)wlen;
    s->df = 0;
    s->wi = 0;
    memset(c->present + (size_t)i * c->nseg, 0, c->nseg);
    if (buf_append(&c->words, w, wlen))
        return nomem(c);
    *out = i;
    return ND_OK;
}

static void slot_weigh(ectx *c, uint32_t i, uint64_t df, uint32_t boost)
{
    c->slots[i].wi = bm25_idf(c->ix->docs, df) * (double)boost;
}

/* Looks a slot's word up in every segment. */
static int slot_lookup(ectx *c, uint32_t i)
{
    slot *s = &c->slots[i];
    if (s->wlen == 0 || s->wlen > ND_MAX_TERM_BYTES)
        return ND_OK; /* cannot be in any dictionary */
    uint8_t key[ND_MAX_TERM_KEY];
    key[0] = (uint8_t)s->field;
    memcpy(key + 1, c->words.data + s->woff, s->wlen);
    for (uint32_t si = 0; si < c->nseg; si++) {
        size_t at = (size_t)i * c->nseg + si;
        int rc = segment_term(&c->ix->segs[si], key, s->wlen + 1u, &c->tis[at], c->e);
        if (rc == ND_DONE)
            continue;
        if (rc)
            return rc;
        c->present[at] = 1;
        c->slots[i].df += c->tis[at].df;
    }
    return ND_OK;
}

/* ---- prefix expansion ------------------------------------------------------ */

typedef struct exp_entry {
    size_t woff;
    const uint8_t *w; /* set once every word is collected */
    uint32_t wlen, si;
    term_info ti;
} exp_entry;

static int cmp_entry(const void *a, const void *b)
{
    const exp_entry *x = a, *y = b;
    size_t n = ND_MIN(x->wlen, y->wlen);
    int d = memcmp(x->w, y->w, n);
    if (d)
        return d;
    if (x->wlen != y->wlen)
        return x->wlen < y->wlen ? -1 : 1;
    return x->si < y->si ? -1 : x->si > y->si;
}

static int too_many(ectx *c, const qnode *x, const char *what, unsigned limit)
{
    *c->err_off = x->off;
    const qterm *t = &c->q->terms[x->term];
    return err_set(c->e, ND_ELIMIT, "prefix '%.*s*' matches more than %u %s; make it longer",
                   (int)ND_MIN(t->len, 200u), query_term_text(c->q, x->term), limit, what);
}

static int expand_field(ectx *c, const qnode *x, int field)
{
    const qterm *t = &c->q->terms[x->term];
    uint8_t key[ND_MAX_TERM_KEY];
    if (t->len > ND_MAX_TERM_BYTES)
        return ND_OK;
    key[0] = (uint8_t)field;
    memcpy(key + 1, query_term_text(c->q, x->term), t->len);
    size_t klen = t->len + 1u;
    exp_entry *ent = NULL;
    size_t n = 0, cap = 0;
    nd_buf wb = {0};
    int rc = ND_OK;
    for (uint32_t si = 0; si < c->nseg && !rc; si++) {
        term_iter it;
        rc = term_iter_seek(&it, &c->ix->segs[si], key, klen, c->e);
        for (uint32_t count = 0; !rc;) {
            rc = term_iter_next(&it, c->e);
            if (rc == ND_DONE) {
                rc = ND_OK;
                break;
            }
            if (rc)
                break;
            if (it.klen < klen || memcmp(it.key, key, klen) != 0)
                break;
            if (++count > ND_MAX_PREFIX_TERMS) {
                rc = too_many(c, x, "words", ND_MAX_PREFIX_TERMS);
                break;
            }
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                exp_entry *ne = realloc(ent, nc * sizeof *ne);
                if (!ne) {
                    rc = nomem(c);
                    break;
                }
                ent = ne;
                cap = nc;
            }
            ent[n].woff = wb.len;
            ent[n].wlen = (uint32_t)(it.klen - 1);
            ent[n].si = si;
            ent[n].ti = it.ti;
            n++;
            if (buf_append(&wb, it.key + 1, it.klen - 1))
                rc = nomem(c);
        }
    }
    if (!rc) {
        for (size_t i = 0; i < n; i++)
            ent[i].w = wb.data + ent[i].woff;
        if (n)
            qsort(ent, n, sizeof *ent, cmp_entry);
        uint32_t distinct = 0;
        for (size_t i = 0; i < n && !rc;) {
            size_t j = i;
            while (j < n && ent[j].wlen == ent[i].wlen && memcmp(ent[j].w, ent[i].w, ent[i].wlen) == 0)
                j++;
            if (++distinct > ND_MAX_PREFIX_TERMS) {
                rc = too_many(c, x, "words", ND_MAX_PREFIX_TERMS);
                break;
            }
            if (++c->expanded > ND_MAX_EXPANDED_TERMS) {
                rc = too_many(c, x, "words counting every prefix of the query",
                              ND_MAX_EXPANDED_TERMS);
                break;
            }
            uint32_t s = 0;
            rc = new_slot(c, field, ent[i].w, ent[i].wlen, &s);
            if (rc)
                break;
            for (size_t k = i; k < j; k++) {
                size_t at = (size_t)s * c->nseg + ent[k].si;
                c->tis[at] = ent[k].ti;
                c->present[at] = 1;
                c->slots[s].df += ent[k].ti.df;
            }
            slot_weigh(c, s, c->slots[s].df, 1);
            i = j;
        }
    }
    free(ent);
    buf_free(&wb);
    return rc;
}

/* Creates and looks up the slots of every leaf (depth-first). */
static int prepare(ectx *c, int32_t n, unsigned depth)
{
    const query *q = c->q;
    const qnode *x = &q->nodes[n];
    int fields[2], nf = fields_of(x->field, fields), rc = ND_OK;
    if (depth > QUERY_MAX_TREE_DEPTH)
        return err_set(c->e, ND_ELIMIT, "query nested too deeply");
    c->node_slot[n] = c->n_slots;
    switch (x->kind) {
    case QN_BOOL:
        for (int32_t k = x->kid; k >= 0 && !rc; k = q->nodes[k].next)
            rc = prepare(c, k, depth + 1);
        break;
    case QN_TERM:
    case QN_PHRASE:
        for (int f = 0; f < nf; f++)
            for (uint32_t i = 0; i < x->n_terms; i++) {
                uint32_t t = x->term + i, s = 0;
                if ((rc = new_slot(c, fields[f], query_term_text(q, t), q->terms[t].len, &s)) ||
                    (rc = slot_lookup(c, s)))
                    return rc;
            }
        /* one idf per word, whatever field matches: its document frequency
         * is that of the field where it is most common (a close lower bound
         * of the articles holding it in any field) */
        for (uint32_t t = 0; t < x->n_terms; t++) {
            uint64_t df = 0;
            for (int f = 0; f < nf; f++)
                df = ND_MAX(df, c->slots[c->node_slot[n] + (uint32_t)f * x->n_terms + t].df);
            for (int f = 0; f < nf; f++)
                slot_weigh(c, c->node_slot[n] + (uint32_t)f * x->n_terms + t, df,
                           x->kind == QN_TERM ? x->boost : 1);
        }
        break;
    case QN_PREFIX:
        for (int f = 0; f < nf && !rc; f++)
            rc = expand_field(c, x, fields[f]);
        break;
    default:
        break;
    }
    c->node_end[n] = c->n_slots;
    return rc;
}

/* ---- iterators ---------------------------------------------------------------- */

static qit *new_it(ectx *c, int kind)
{
    if (c->n_its == c->cap_its) {
        size_t cap = c->cap_its ? c->cap_its * 2 : 64;
        qit **n = realloc(c->its, cap * sizeof *n);
        if (!n)
            return NULL;
        c->its = n;
        c->cap_its = cap;
    }
    qit *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    it->kind = kind;
    it->gub = -1;
    it->node = -1;
    c->its[c->n_its++] = it;
    return it;
}

static void free_its(ectx *c)
{
    for (size_t i = 0; i < c->n_its; i++) {
        qit *it = c->its[i];
        if (it->pc) {
            pcursor_close(it->pc);
            free(it->pc);
        }
        free(it->req);
        free(it->opt);
        free(it->neg);
        free(it->heap);
        free(it->hit);
        free(it->pmap);
        free(it->qpos);
        free(it->need);
        free(it);
    }
    c->n_its = 0;
}

/* The iterator of slot s in the current segment (NULL when the word is
 * not there). need_tf: its frequencies are needed even when only counting
 * (phrases read positions by them). */
static int term_it(ectx *c, uint32_t s, int need_tf, qit **out)
{
    *out = NULL;
    size_t at = (size_t)s * c->nseg + c->si;
    if (!c->present[at])
        return ND_OK;
    qit *it = new_it(c, IT_TERM);
    if (!it || !(it->pc = malloc(sizeof *it->pc)))
        return nomem(c);
    int rc = pcursor_open(it->pc, c->seg, c->slots[s].field, &c->tis[at], c->e);
    if (rc) {
        free(it->pc);
        it->pc = NULL;
        return rc;
    }
    it->pc->no_tf = c->o->count_only && !need_tf;
    it->field = c->slots[s].field;
    it->w = field_weight(c->o->bm25, it->field);
    it->wi = c->slots[s].wi;
    it->cost = c->tis[at].df;
    *out = it;
    return ND_OK;
}

/* A group iterator over children kids[0..n) (all SHOULD): one child alone
 * is returned as it is. */
static int or_of(ectx *c, qit **kids, uint32_t n, qit **out)
{
    if (n <= 1) {
        *out = n ? kids[0] : NULL;
        return ND_OK;
    }
    qit *it = new_it(c, IT_OR);
    if (!it || !(it->opt = malloc(n * sizeof *it->opt)) ||
        !(it->heap = malloc(n * sizeof *it->heap)) || !(it->hit = malloc(n * sizeof *it->hit)))
        return nomem(c);
    memcpy(it->opt, kids, n * sizeof *kids);
    it->n_opt = n;
    it->term_scan = n <= OR_SCAN_MAX;
    for (uint32_t i = 0; i < n; i++) {
        it->cost += kids[i]->cost;
        it->term_scan &= kids[i]->kind == IT_TERM;
    }
    *out = it;
    return ND_OK;
}

/* Children collected while building one node. */
typedef struct kidlist {
    qit **v;
    uint32_t n, cap;
} kidlist;

static int kid_push(ectx *c, kidlist *l, qit *it)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 8;
        qit **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return nomem(c);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = it;
    return ND_OK;
}

static int cmp_cost(const void *a, const void *b)
{
    const qit *x = *(qit *const *)a, *y = *(qit *const *)b;
    return x->cost < y->cost ? -1 : x->cost > y->cost;
}

static int build(ectx *c, int32_t n, qit **out);

static int build_phrase(ectx *c, const qnode *x, uint32_t first_slot, qit **out)
{
    *out = NULL;
    uint32_t k = x->n_terms;
    qit *it = new_it(c, IT_PHRASE);
    if (!it || !(it->req = calloc(k, sizeof *it->req)) ||
        !(it->pmap = malloc(k * sizeof *it->pmap)) ||
        !(it->qpos = malloc(k * sizeof *it->qpos)) || !(it->need = calloc(k, sizeof *it->need)))
        return nomem(c);
    for (uint32_t t = 0; t < k; t++) {
        const qterm *qt = &c->q->terms[x->term + t];
        it->qpos[t] = qt->pos - c->q->terms[x->term].pos;
        /* the same word twice in a phrase shares one cursor */
        uint32_t j = 0;
        for (; j < t; j++) {
            const qterm *o = &c->q->terms[x->term + j];
            if (o->len == qt->len && memcmp(query_term_text(c->q, x->term + j),
                                            query_term_text(c->q, x->term + t), qt->len) == 0)
                break;
        }
        if (j < t) {
            it->pmap[t] = it->pmap[j];
        } else {
            qit *ti;
            int rc = term_it(c, first_slot + t, 1, &ti);
            if (rc)
                return rc;
            if (!ti)
                return ND_OK; /* a word absent from this segment: no match here */
            it->pmap[t] = it->n_req;
            it->req[it->n_req++] = ti;
        }
        it->need[it->pmap[t]]++;
    }
    it->n_pterms = k;
    it->slop = x->slop;
    it->cost = UINT64_MAX;
    for (uint32_t j = 0; j < it->n_req; j++)
        it->cost = ND_MIN(it->cost, it->req[j]->cost);
    *out = it;
    return ND_OK;
}

/* A group: matches when every MUST and FILTER clause matches, no MUST_NOT
 * clause does, and - when it has SHOULD clauses but no MUST clause - one of
 * them does. MUST and SHOULD clauses add their scores. */
static int build_bool(ectx *c, const qnode *x, qit **out)
{
    *out = NULL;
    kidlist req = {0}, opt = {0}, neg = {0};
    int rc = ND_OK, dead = 0, has_must = 0, has_should = 0;
    for (int32_t k = x->kid; k >= 0 && !rc && !dead; k = c->q->nodes[k].next) {
        const qnode *kn = &c->q->nodes[k];
        qit *it;
        if ((rc = build(c, k, &it)))
            break;
        switch (kn->occur) {
        case OCCUR_MUST:
        case OCCUR_FILTER:
            has_must |= kn->occur == OCCUR_MUST;
            if (!it) {
                dead = 1;
                break;
            }
            if (kn->occur == OCCUR_FILTER)
                it->unscored = 1;
            rc = kid_push(c, &req, it);
            break;
        case OCCUR_SHOULD:
            has_should = 1;
            if (it)
                rc = kid_push(c, &opt, it);
            break;
        default:
            if (it)
                rc = kid_push(c, &neg, it);
            break;
        }
    }
    if (rc || dead)
        goto done;
    if (has_should && !has_must) {
        /* one SHOULD clause must match */
        if (opt.n == 0)
            goto done;
        if (req.n > 0) {
            qit *any;
            if ((rc = or_of(c, opt.v, opt.n, &any)) || (rc = kid_push(c, &req, any)))
                goto done;
            opt.n = 0;
        }
    }
    if (req.n == 0 && opt.n == 0) { /* exclusions only: everything but them */
        qit *all = new_it(c, IT_ALL);
        if (!all) {
            rc = nomem(c);
            goto done;
        }
        all->cost = c->seg->docs;
        all->unscored = 1;
        if ((rc = kid_push(c, &req, all)))
            goto done;
    }
    if (req.n == 0 && neg.n == 0) {
        rc = or_of(c, opt.v, opt.n, out);
        goto done;
    }
    if (req.n == 1 && opt.n == 0 && neg.n == 0 && !req.v[0]->unscored) {
        *out = req.v[0];
        goto done;
    }
    qit *it = new_it(c, req.n ? IT_AND : IT_OR);
    if (!it) {
        rc = nomem(c);
        goto done;
    }
    if (req.n) {
        qsort(req.v, req.n, sizeof *req.v, cmp_cost);
        it->cost = req.v[0]->cost;
    } else {
        for (uint32_t i = 0; i < opt.n; i++)
            it->cost += opt.v[i]->cost;
        if (!(it->heap = malloc(opt.n * sizeof *it->heap)) ||
            !(it->hit = malloc(opt.n * sizeof *it->hit))) {
            rc = nomem(c);
            goto done;
        }
    }
    it->req = req.v;
    it->n_req = req.n;
    it->opt = opt.v;
    it->n_opt = opt.n;
    it->neg = neg.v;
    it->n_neg = neg.n;
    req.v = opt.v = neg.v = NULL;
    *out = it;
done:
    free(req.v);
    free(opt.v);
    free(neg.v);
    return rc;
}

static int build_node(ectx *c, int32_t n, qit **out);

/* The iterator of query node n in the current segment; NULL when nothing
 * there can match. */
static int build(ectx *c, int32_t n, qit **out)
{
    int rc = build_node(c, n, out);
    if (!rc && *out && (*out)->node < 0)
        (*out)->node = n; /* a group of one clause keeps its clause's node */
    return rc;
}

static int build_node(ectx *c, int32_t n, qit **out)
{
    const qnode *x = &c->q->nodes[n];
    uint32_t s0 = c->node_slot[n];
    int fields[2], nf = fields_of(x->field, fields), rc;
    qit *kids[2];
    uint32_t nk = 0;
    *out = NULL;
    switch (x->kind) {
    case QN_TERM:
        for (int f = 0; f < nf; f++) {
            if ((rc = term_it(c, s0 + (uint32_t)f, 0, &kids[nk])))
                return rc;
            nk += kids[nk] != NULL;
        }
        if ((rc = or_of(c, kids, nk, out)) || nk < 2)
            return rc;
        (*out)->fields = 1; /* one word in title and body: one BM25F term */
        (*out)->wi = c->slots[s0].wi;
        return ND_OK;
    case QN_PHRASE:
        for (int f = 0; f < nf; f++) {
            if ((rc = build_phrase(c, x, s0 + (uint32_t)f * x->n_terms, &kids[nk])))
                return rc;
            nk += kids[nk] != NULL;
        }
        return or_of(c, kids, nk, out);
    case QN_PREFIX: {
        kidlist l = {0};
        rc = ND_OK;
        for (uint32_t s = s0; s < c->node_end[n] && !rc; s++) {
            qit *t;
            if (!(rc = term_it(c, s, 0, &t)) && t)
                rc = kid_push(c, &l, t);
        }
        if (!rc)
            rc = or_of(c, l.v, l.n, out);
        free(l.v);
        return rc;
    }
    case QN_DATE: {
        qit *it = new_it(c, IT_DATE);
        if (!it)
            return nomem(c);
        it->lo = x->lo;
        it->hi = x->hi;
        it->cost = (uint64_t)c->seg->docs + 1;
        it->unscored = 1;
        *out = it;
        return ND_OK;
    }
    default:
        return build_bool(c, x, out);
    }
}

/* ---- moving and scoring --------------------------------------------------------- */

static int adv_move(ectx *c, qit *it, uint32_t target);
static int score(ectx *c, qit *it, double *out);

/* adv() of a word's iterator. */
static inline int adv_term(ectx *c, qit *it, uint32_t target)
{
    if (it->started && it->doc >= target)
        return ND_OK;
    if (it->started && it->doc != ND_NO_DOC &&
        pcursor_advance_here(it->pc, target)) { /* within the loaded block */
        it->doc = it->pc->doc;
        return ND_OK;
    }
    it->started = 1;
    int rc = pcursor_advance(it->pc, target, c->e);
    it->doc = it->pc->doc;
    return rc;
}

/* Moves it to its first match >= target (no move if it is already there:
 * the common case, checked inline). Words, and disjunctions of a few words
 * (one word in several fields, most often), move inline. */
static inline int adv(ectx *c, qit *it, uint32_t target)
{
    if (it->started && it->doc >= target)
        return ND_OK;
    if (it->kind == IT_TERM)
        return adv_term(c, it, target);
    if (it->term_scan) { /* or_next's scan, with nothing to exclude */
        uint32_t d = ND_NO_DOC;
        it->started = 1;
        for (uint32_t i = 0; i < it->n_opt; i++) {
            int rc = adv_term(c, it->opt[i], target);
            if (rc)
                return rc;
            d = ND_MIN(d, it->opt[i]->doc);
        }
        it->doc = d;
        return ND_OK;
    }
    return adv_move(c, it, target);
}

static int child_doc_less(const qit *it, uint32_t a, uint32_t b)
{
    return it->opt[it->heap[a]]->doc < it->opt[it->heap[b]]->doc;
}

static void heap_down(qit *it, uint32_t i)
{
    uint32_t n = it->n_opt;
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && child_doc_less(it, l, m))
            m = l;
        if (r < n && child_doc_less(it, r, m))
            m = r;
        if (m == i)
            return;
        uint32_t t = it->heap[i];
        it->heap[i] = it->heap[m];
        it->heap[m] = t;
        i = m;
    }
}

/* Is document d excluded by one of it's negative children? */
static int excluded(ectx *c, qit *it, uint32_t d, int *out)
{
    *out = 0;
    for (uint32_t i = 0; i < it->n_neg; i++) {
        int rc = adv(c, it->neg[i], d);
        if (rc)
            return rc;
        if (it->neg[i]->doc == d) {
            *out = 1;
            return ND_OK;
        }
    }
    return ND_OK;
}

/* Settles it on candidate d (or on the end) unless an excluded clause
 * matches d; *done tells which. */
static int settle(ectx *c, qit *it, uint32_t d, int *done)
{
    int ex = 0, rc;
    if (it->n_neg == 0) {
        it->doc = d;
        *done = 1;
        return ND_OK;
    }
    if (d != ND_NO_DOC && (rc = excluded(c, it, d, &ex)))
        return rc;
    if (!ex)
        it->doc = d;
    *done = !ex;
    return ND_OK;
}

static int or_next(ectx *c, qit *it, uint32_t target)
{
    int rc;
    if (it->n_opt <= OR_SCAN_MAX) {
        for (;;) {
            uint32_t d = ND_NO_DOC;
            for (uint32_t i = 0; i < it->n_opt; i++) {
                if ((rc = adv(c, it->opt[i], target)))
                    return rc;
                d = ND_MIN(d, it->opt[i]->doc);
            }
            int done = 0;
            if ((rc = settle(c, it, d, &done)) || done)
                return rc;
            target = d + 1;
        }
    }
    if (!it->heap_ready) {
        for (uint32_t i = 0; i < it->n_opt; i++) {
            if ((rc = adv(c, it->opt[i], target)))
                return rc;
            it->heap[i] = i;
        }
        for (uint32_t i = it->n_opt / 2; i-- > 0;)
            heap_down(it, i);
        it->heap_ready = 1;
    }
    for (;;) {
        qit *top;
        while ((top = it->opt[it->heap[0]])->doc < target) {
            if ((rc = adv(c, top, target)))
                return rc;
            heap_down(it, 0);
        }
        int done = 0;
        if ((rc = settle(c, it, top->doc, &done)) || done)
            return rc;
        target = top->doc + 1;
    }
}

/* The first document >= target on which every required child agrees. */
static int leapfrog(ectx *c, qit **req, uint32_t n, uint32_t target, uint32_t *out)
{
    uint32_t d = target;
    for (uint32_t i = 0; i < n;) {
        int rc = adv(c, req[i], d);
        if (rc)
            return rc;
        if (req[i]->doc == ND_NO_DOC) {
            *out = ND_NO_DOC;
            return ND_OK;
        }
        if (req[i]->doc > d) {
            d = req[i]->doc;
            i = req[i] == req[0] ? 1 : 0;
            continue;
        }
        i++;
    }
    *out = d;
    return ND_OK;
}

static int and_next(ectx *c, qit *it, uint32_t target)
{
    for (;;) {
        uint32_t d;
        int done = 0, rc = leapfrog(c, it->req, it->n_req, target, &d);
        if (rc || (rc = settle(c, it, d, &done)) || done)
            return rc;
        target = d + 1;
    }
}

/* Does the phrase occur in the current document of its words? */
static int phrase_match(ectx *c, qit *it, int *ok)
{
    for (uint32_t j = 0; j < it->n_req; j++) {
        int rc = pcursor_positions(it->req[j]->pc, &c->lists[j], &c->lens[j], c->e);
        if (rc)
            return rc;
    }
    int m = it->slop == 0 ? phrase_exact(c->lists, c->lens, it->pmap, it->qpos, it->n_pterms)
                          : phrase_window(&c->ps, c->lists, c->lens, it->need, it->n_req,
                                          (uint64_t)it->qpos[it->n_pterms - 1] + it->slop);
    if (m < 0)
        return nomem(c);
    *ok = m;
    return ND_OK;
}

static int phrase_next(ectx *c, qit *it, uint32_t target)
{
    for (;;) {
        uint32_t d;
        int m = 0, rc = leapfrog(c, it->req, it->n_req, target, &d);
        if (rc)
            return rc;
        it->doc = d;
        if (d == ND_NO_DOC || it->lazy)
            return ND_OK;
        if ((rc = phrase_match(c, it, &m)) || m)
            return rc;
        target = d + 1;
    }
}

/* Does it really match its current document? Only a lazy phrase can stop
 * on a document that it does not match; its answer is kept. A phrase scores
 * the sum of its words, so a candidate's score is known before this. */
static int confirm(ectx *c, qit *it, int *ok)
{
    *ok = 1;
    if (it->kind != IT_PHRASE || !it->lazy)
        return ND_OK;
    if (it->conf_doc != it->doc) {
        int rc = phrase_match(c, it, &it->conf_ok);
        if (rc)
            return rc;
        it->conf_doc = it->doc;
    }
    *ok = it->conf_ok;
    return ND_OK;
}

static int date_in(const qit *it, int64_t d)
{
    return d != ND_NO_DATE && d >= it->lo && d <= it->hi;
}

/* The first document >= d of the segment whose date span (spans, from
 * segment_date_spans) may hold a date in [lo, hi]; seg->docs when none
 * does, d itself without spans. */
static uint32_t date_skip(const segment *seg, const int64_t *spans, int64_t lo, int64_t hi,
                          uint32_t d)
{
    if (!spans)
        return d;
    for (size_t i = d >> DATE_SPAN_SHIFT; d < seg->docs;) {
        if (spans[2 * i] <= hi && spans[2 * i + 1] >= lo)
            return d;
        d = (uint32_t)(++i << DATE_SPAN_SHIFT);
    }
    return seg->docs;
}

static int adv_move(ectx *c, qit *it, uint32_t target)
{
    it->started = 1;
    const segment *seg = c->seg;
    switch (it->kind) {
    case IT_ALL:
        it->doc = target < seg->docs ? target : ND_NO_DOC;
        return ND_OK;
    case IT_TERM: {
        int rc = pcursor_advance(it->pc, target, c->e);
        it->doc = it->pc->doc;
        return rc;
    }
    case IT_DATE: { /* whole spans out of the range are skipped */
        const int64_t *spans = segment_date_spans(seg);
        uint32_t d = date_skip(seg, spans, it->lo, it->hi, target);
        for (; d < seg->docs; d++) {
            int rc = col_ready(c, d);
            if (rc)
                return rc;
            if (date_in(it, segment_date(seg, d)))
                break;
            if (((d + 1) & ((1u << DATE_SPAN_SHIFT) - 1)) == 0)
                d = date_skip(seg, spans, it->lo, it->hi, d + 1) - 1;
        }
        it->doc = d < seg->docs ? d : ND_NO_DOC;
        return ND_OK;
    }
    case IT_OR:
        return or_next(c, it, target);
    case IT_AND:
        return and_next(c, it, target);
    default:
        return phrase_next(c, it, target);
    }
}

/* Collects into it->hit the children on document d, from heap slot i. */
static void heap_collect(qit *it, uint32_t i, uint32_t d, uint32_t *n)
{
    if (i >= it->n_opt || it->opt[it->heap[i]]->doc != d)
        return;
    it->hit[(*n)++] = it->heap[i];
    heap_collect(it, 2 * i + 1, d, n);
    heap_collect(it, 2 * i + 2, d, n);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sum of the scores of an OR's children on its document, added in the
 * order of the children: floating-point addition is not associative, and
 * pruned evaluation (which visits children in another order) must give the
 * same bits. */
static int or_sum(ectx *c, qit *it, double *sum)
{
    uint32_t n = 0;
    if (it->n_opt <= OR_SCAN_MAX) {
        for (uint32_t i = 0; i < it->n_opt; i++)
            if (it->opt[i]->doc == it->doc)
                it->hit[n++] = i;
    } else {
        heap_collect(it, 0, it->doc, &n);
        if (n > 1)
            qsort(it->hit, n, sizeof *it->hit, cmp_u32);
    }
    for (uint32_t i = 0; i < n; i++) {
        double s;
        int rc = score(c, it->opt[it->hit[i]], &s);
        if (rc)
            return rc;
        *sum += s;
    }
    return ND_OK;
}

/* A term iterator's part of the BM25F pseudo-frequency on its document,
 * the current candidate (its lengths were checked by col_ready). */
static inline double term_ptf(const ectx *c, const qit *it)
{
    if (it->field >= N_TEXT_FIELDS)
        return 0.0;
    return bm25_ptf(c->o->bm25, it->w, pcursor_tf(it->pc),
                    segment_len(c->seg, it->field, it->doc), c->avglen[it->field]);
}

/* Is it a word: a term iterator, or one word in several fields scored as
 * one BM25F term? */
static inline int is_word(const qit *it)
{
    return it->kind == IT_TERM || (it->kind == IT_OR && it->fields);
}

/* The score of a word (is_word) on its current document: inline, as
 * conjunctions and phrases score every candidate through it. */
static inline double word_score(const ectx *c, const qit *it)
{
    if (it->kind == IT_TERM)
        return bm25_saturate(c->o->bm25, it->wi, term_ptf(c, it));
    double ptf = 0;
    for (uint32_t i = 0; i < it->n_opt; i++)
        if (it->opt[i]->doc == it->doc)
            ptf += term_ptf(c, it->opt[i]);
    return bm25_saturate(c->o->bm25, it->wi, ptf);
}

/* Score of the current document. */
static int score(ectx *c, qit *it, double *out)
{
    double sum = 0, s;
    int rc = ND_OK;
    switch (it->kind) {
    case IT_TERM:
        sum = word_score(c, it);
        break;
    case IT_OR:
        if (it->fields)
            sum = word_score(c, it);
        else
            rc = or_sum(c, it, &sum);
        break;
    case IT_AND:
        for (uint32_t i = 0; i < it->n_req && !rc; i++) {
            qit *r = it->req[i];
            if (r->unscored)
                continue;
            if (is_word(r)) /* the common case, without a call */
                sum += word_score(c, r);
            else if (!(rc = score(c, r, &s)))
                sum += s;
        }
        for (uint32_t i = 0; i < it->n_opt && !rc; i++)
            if (!(rc = adv(c, it->opt[i], it->doc)) && it->opt[i]->doc == it->doc &&
                !(rc = score(c, it->opt[i], &s)))
                sum += s;
        break;
    case IT_PHRASE: /* its words are term iterators */
        for (uint32_t k = 0; k < it->n_pterms; k++)
            sum += word_score(c, it->req[it->pmap[k]]);
        break;
    default:
        break;
    }
    *out = sum;
    return rc;
}

/* ---- score bounds (dynamic pruning) ------------------------------------------- */

/* Bounds are computed with the same functions as scores; the comparison with
 * the threshold leaves a margin for the rounding of a different order of
 * operations, so that a document is only skipped when it surely cannot
 * enter the top k. */
#define BOUND_SLACK (1.0 + 1e-9)

/* An upper bound of a term iterator's BM25F pseudo-frequency on documents
 * [d, *end] (*end lowered to where the bound stops holding); 0 when the
 * list has no document >= d. */
static int term_ptf_bound(ectx *c, qit *it, uint32_t d, uint32_t *end, double *out)
{
    uint32_t mtf, mlen, last;
    *out = 0;
    if (it->field >= N_TEXT_FIELDS)
        return ND_OK;
    int rc = pcursor_shallow(it->pc, d, &mtf, &mlen, &last, c->e);
    if (rc == ND_DONE)
        return ND_OK;
    if (rc)
        return rc;
    const pcursor *pc = it->pc;
    if (pc->nb == 1) {
        /* a short list, decoded whole: the exact pseudo-frequency of its
         * next document, and 0 on the documents before it */
        while (pc->docs[it->one_j] < d) /* d <= the last document here */
            it->one_j++;
        uint32_t nd = pc->docs[it->one_j], len;
        if (nd > d) {
            last = nd - 1;
        } else {
            if ((rc = segment_len_at(c->seg, it->field, nd, &len, c->e)))
                return rc;
            *out = bm25_ptf(c->o->bm25, it->w, pc->tfs[it->one_j], len, c->avglen[it->field]);
            last = d;
        }
    } else {
        *out = bm25_ptf(c->o->bm25, it->w, mtf, mlen, c->avglen[it->field]);
    }
    if (last < *end)
        *end = last;
    return ND_OK;
}

/* An upper bound of it's score on every document in [d, *end]; *end is
 * lowered to the first block boundary of the lists below it. */
static int bound(ectx *c, qit *it, uint32_t d, uint32_t *end, double *out)
{
    if (it->bc_ok && d >= it->bc_lo && d <= it->bc_end) { /* the last answer still holds */
        if (it->bc_end < *end)
            *end = it->bc_end;
        *out = it->bc;
        return ND_OK;
    }
    double sum = 0, b;
    int rc = ND_OK;
    uint32_t outer = *end;
    *end = ND_NO_DOC;
    *out = 0;
    switch (it->kind) {
    case IT_TERM:
        if ((rc = term_ptf_bound(c, it, d, end, &b)))
            return rc;
        sum = bm25_saturate(c->o->bm25, it->wi, b);
        break;
    case IT_OR:
        if (it->fields) {
            double ptf = 0;
            for (uint32_t i = 0; i < it->n_opt && !rc; i++)
                if (!(rc = term_ptf_bound(c, it->opt[i], d, end, &b)))
                    ptf += b;
            sum = bm25_saturate(c->o->bm25, it->wi, ptf);
        } else {
            for (uint32_t i = 0; i < it->n_opt && !rc; i++)
                if (!(rc = bound(c, it->opt[i], d, end, &b)))
                    sum += b;
        }
        break;
    case IT_AND:
        for (uint32_t i = 0; i < it->n_req && !rc; i++)
            if (!it->req[i]->unscored && !(rc = bound(c, it->req[i], d, end, &b)))
                sum += b;
        for (uint32_t i = 0; i < it->n_opt && !rc; i++)
            if (!(rc = bound(c, it->opt[i], d, end, &b)))
                sum += b;
        break;
    case IT_PHRASE:
        for (uint32_t k = 0; k < it->n_pterms && !rc; k++)
            if (!(rc = bound(c, it->req[it->pmap[k]], d, end, &b)))
                sum += b;
        break;
    default: /* date filters and "everything" never score */
        break;
    }
    if (rc)
        return rc;
    it->bc_ok = 1;
    it->bc_lo = d;
    it->bc_end = *end;
    it->bc = sum;
    if (outer < *end)
        *end = outer;
    *out = sum;
    return ND_OK;
}

/* A term iterator's largest pseudo-frequency over its whole list. */
static int term_ptf_max(ectx *c, qit *it, double *out)
{
    pcursor *pc = it->pc;
    double m = 0;
    *out = 0;
    if (it->field >= N_TEXT_FIELDS)
        return ND_OK;
    if (pc->nb > 1) {
        for (uint32_t b = 0; b < pc->nb; b++)
            m = ND_MAX(m, bm25_ptf(c->o->bm25, it->w, pc->max_tf[b], pc->min_len[b],
                                   c->avglen[it->field]));
    } else {
        /* a one-block list: decoded once here, its maximum is exact */
        uint32_t mtf, mlen, last;
        int rc = pcursor_shallow(pc, 0, &mtf, &mlen, &last, c->e);
        if (rc == ND_DONE)
            return ND_OK;
        if (rc)
            return rc;
        for (uint32_t j = 0; j < pc->n; j++) {
            uint32_t len;
            if ((rc = segment_len_at(c->seg, it->field, pc->docs[j], &len, c->e)))
                return rc;
            m = ND_MAX(m, bm25_ptf(c->o->bm25, it->w, pc->tfs[j], len, c->avglen[it->field]));
        }
    }
    *out = m;
    return ND_OK;
}

/* An upper bound of it's score on any document of the segment (cached). */
static int global_bound(ectx *c, qit *it, double *out)
{
    if (it->gub >= 0) {
        *out = it->gub;
        return ND_OK;
    }
    double sum = 0, b;
    int rc = ND_OK;
    switch (it->kind) {
    case IT_TERM:
    case IT_OR:
        if (it->kind == IT_TERM || it->fields) {
            qit *const *t = it->kind == IT_TERM ? &it : it->opt;
            uint32_t nt = it->kind == IT_TERM ? 1 : it->n_opt;
            double ptf = 0;
            for (uint32_t i = 0; i < nt && !rc; i++)
                if (!(rc = term_ptf_max(c, t[i], &b)))
                    ptf += b;
            sum = bm25_saturate(c->o->bm25, it->wi, ptf);
            break;
        }
        for (uint32_t i = 0; i < it->n_opt && !rc; i++)
            if (!(rc = global_bound(c, it->opt[i], &b)))
                sum += b;
        break;
    case IT_AND:
        for (uint32_t i = 0; i < it->n_req && !rc; i++)
            if (!it->req[i]->unscored && !(rc = global_bound(c, it->req[i], &b)))
                sum += b;
        for (uint32_t i = 0; i < it->n_opt && !rc; i++)
            if (!(rc = global_bound(c, it->opt[i], &b)))
                sum += b;
        break;
    case IT_PHRASE:
        for (uint32_t k = 0; k < it->n_pterms && !rc; k++)
            if (!(rc = global_bound(c, it->req[it->pmap[k]], &b)))
                sum += b;
        break;
    default:
        break;
    }
    if (rc)
        return rc;
    it->gub = sum;
    *out = sum;
    return ND_OK;
}

/* ---- the search --------------------------------------------------------------- */


/* Is local document d of the current segment live and within the search's
 * date bounds? *date receives its date (col_ready(d) first). */
static int admissible(const ectx *c, uint32_t d, int64_t *date)
{
    if (segment_deleted(c->seg, d))
        return 0;
    *date = segment_date(c->seg, d);
    return !c->dated || (*date != ND_NO_DATE && *date >= c->lo && *date <= c->hi);
}

/* The score a document needs to enter the top k (strictly more, as a later
 * document loses ties); -1 while the top k is not full. */
static double threshold(const topk *top)
{
    return top->n == top->cap ? top->e[0].score : -1.0;
}

/* A phrase that is the whole query, or one of the root disjunction's
 * children, checks positions only when the search asks (confirm): the
 * pruned evaluations below confirm a candidate only once its score can
 * enter the top k. Elsewhere phrases are checked as they move. */
static void make_lazy(qit *it)
{
    if (it->kind == IT_PHRASE) {
        it->lazy = 1;
        it->conf_doc = ND_NO_DOC;
    }
}

/* Pruned evaluation of any clause tree (block-max): before moving to the
 * next candidate, the bound of the whole tree over the blocks ahead is
 * compared with the threshold, and runs of blocks that cannot beat it are
 * skipped without decoding them. */
static int run_blockmax(ectx *c, qit *root, topk *top, uint64_t *total)
{
    const segment *seg = c->seg;
    uint32_t t = 0;
    int rc = ND_OK;
    while (t < seg->docs) {
        if (c->spans && (t = date_skip(seg, c->spans, c->lo, c->hi, t)) >= seg->docs)
            break; /* no date in the range from t on */
        double th = threshold(top), ub;
        uint32_t end = ND_NO_DOC;
        if (th >= 0) {
            if ((rc = bound(c, root, t, &end, &ub)))
                return rc;
            if (ub * BOUND_SLACK <= th) {
                c->o->skipped = 1;
                if (end >= seg->docs - 1)
                    break;
                t = end + 1;
                continue;
            }
        }
        if ((rc = adv(c, root, t)))
            return rc;
        uint32_t d = root->doc;
        if (d == ND_NO_DOC)
            break;
        if (th >= 0 && d > end) { /* past the blocks bounded: bound again */
            t = d;
            continue;
        }
        double sc;
        int64_t date;
        int ok = 1;
        t = d + 1;
        if ((rc = col_ready(c, d)))
            return rc;
        /* with a date range, candidates out of it are dropped before they
         * are scored; without, the date is read only for what can enter */
        if (c->dated && !admissible(c, d, &date))
            continue;
        if ((rc = score(c, root, &sc)))
            return rc;
        if (th >= 0 && !(sc > th))
            c->o->skipped = 1; /* cannot enter: not counted */
        else if (admissible(c, d, &date) && !(rc = confirm(c, root, &ok)) && ok) {
            (*total)++;
            topk_push(top, sc, c->ix->base[c->si] + d, date);
        }
        if (rc)
            return rc;
    }
    return ND_OK;
}

/* A disjunction is seeded (seed_threshold) when its strongest child has
 * at most 1/SEED_MAX_SHARE of the segment's documents. */
#define SEED_MAX_SHARE 32

/* Past this many children a disjunction is pruned by block bounds alone
 * (MaxScore scans its children at every candidate). */
#define MAXSCORE_MAX_KIDS 64

typedef struct ms_kid {
    qit *it;
    uint32_t idx; /* place among the OR's children (the order scores add in) */
    double gub;   /* bound on any document */
} ms_kid;

static int cmp_ms_kid(const void *a, const void *b)
{
    const ms_kid *x = a, *y = b;
    if (x->gub != y->gub)
        return x->gub < y->gub ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Pruned evaluation of a disjunction (MaxScore with block bounds). The
 * children are ordered by their bound; the weakest ones whose bounds add up
 * to at most the threshold are "non-essential": a document matching only
 * them cannot enter the top k, so candidates come from the others only, and
 * non-essential children are only moved to a candidate while the score
 * could still beat the threshold. */
/* A first threshold for a disjunction whose strongest child is short while
 * another child is long: the k-th best score of that child alone among its
 * own documents, on a second iterator built for its query node alone (the
 * other children's lists are not even opened). The k documents behind it
 * are matches that the main pass will find too, with a score at least
 * their child's, so the final k-th score is at least this; and until then
 * the long weak children cannot flood the top k with documents that only
 * they match. Only the strong child is read, so this costs a pass over its
 * short list. -1 when fewer than k documents. */
static int seed_threshold(ectx *c, int32_t lead_node, size_t k, double *out)
{
    *out = -1;
    qit *l;
    int rc = build(c, lead_node, &l);
    if (rc || !l)
        return rc;
    topk seed;
    if (topk_init(&seed, k, ND_SORT_SCORE))
        return nomem(c);
    make_lazy(l); /* a phrase: positions only for what can enter */
    for (rc = adv(c, l, 0); !rc && l->doc != ND_NO_DOC; rc = adv(c, l, l->doc + 1)) {
        uint32_t d = l->doc;
        int64_t date;
        double s;
        int ok = 1;
        if ((rc = col_ready(c, d)))
            break;
        if (!admissible(c, d, &date))
            continue;
        if ((rc = score(c, l, &s)))
            break;
        if (seed.n == k && !(s > seed.e[0].score))
            continue; /* cannot enter (a later document loses ties) */
        if ((rc = confirm(c, l, &ok)))
            break;
        if (ok)
            topk_push(&seed, s, d, date);
    }
    if (!rc && seed.n == k)
        *out = seed.e[0].score;
    topk_free(&seed);
    return rc;
}

/* Has the disjunction a child expected to match more than `docs` documents? */
static int has_long_kid(const qit *root, uint32_t docs)
{
    for (uint32_t i = 0; i < root->n_opt; i++)
        if (root->opt[i]->cost > docs)
            return 1;
    return 0;
}

static int run_maxscore(ectx *c, qit *root, topk *top, uint64_t *total)
{
    uint32_t n = root->n_opt;
    ms_kid *k = malloc(n * sizeof *k);
    double *pre = malloc((n + 1) * sizeof *pre), *bb = malloc(n * sizeof *bb);
    double *rb = malloc(n * sizeof *rb);
    double *sc = malloc(n * sizeof *sc); /* by child index */
    uint8_t *on = malloc(n);             /* by child index: on the candidate */
    int rc = ND_OK;
    if (!k || !pre || !bb || !rb || !sc || !on) {
        rc = nomem(c);
        goto out;
    }
    for (uint32_t i = 0; i < n && !rc; i++) {
        k[i].it = root->opt[i];
        k[i].idx = i;
        rc = global_bound(c, root->opt[i], &k[i].gub);
    }
    if (rc)
        goto out;
    qsort(k, n, sizeof *k, cmp_ms_kid);
    pre[0] = 0;
    for (uint32_t i = 0; i < n; i++)
        pre[i + 1] = pre[i] + k[i].gub;
    /* a seed threshold, lowered a little: documents scoring exactly the
     * seed may still enter on a tie by document number */
    double seed = -1;
    if (top->n < top->cap && n > 1 && k[n - 1].it->node >= 0 &&
        k[n - 1].it->cost <= c->seg->docs / SEED_MAX_SHARE &&
        has_long_kid(root, c->seg->docs / SEED_MAX_SHARE)) {
        if ((rc = seed_threshold(c, k[n - 1].it->node, top->cap, &seed)))
            goto out;
        if (seed > 0)
            seed -= seed * 1e-9;
    }
    uint32_t ne = 0; /* k[0..ne) are non-essential */
    double th_seen = -2;
    uint32_t win = 0; /* the block bounds were checked up to here (exclusive) */
    /* rb[0..rest_ne) and their sum rest_all bound the non-essential
     * children on documents up to rest_end */
    uint32_t rest_ne = 0, rest_end = 0;
    double rest_all = 0;
    for (uint32_t t = 0;;) {
        if (c->spans && (t = date_skip(c->seg, c->spans, c->lo, c->hi, t)) >= c->seg->docs)
            break; /* no date in the range from t on */
        double th = ND_MAX(threshold(top), seed);
        if (th != th_seen) {
            th_seen = th;
            while (ne < n && th >= 0 && pre[ne + 1] * BOUND_SLACK <= th)
                ne++;
            if (ne > 0) /* matches of non-essential children alone go uncounted */
                c->o->skipped = 1;
            if (ne == n) { /* nothing left can enter */
                c->o->skipped = 1;
                break;
            }
        }
        /* the next candidate: the smallest document of an essential child */
        uint32_t d = ND_NO_DOC;
        for (uint32_t i = ne; i < n; i++) {
            if ((rc = adv(c, k[i].it, t)))
                goto out;
            d = ND_MIN(d, k[i].it->doc);
        }
        if (d == ND_NO_DOC)
            break;
        if (th >= 0 && d >= win) {
            /* all children's block bounds from d on: skip the run of
             * blocks where even their sum cannot beat the threshold */
            double ub = 0;
            uint32_t end = ND_NO_DOC;
            for (uint32_t i = 0; i < n; i++) {
                if ((rc = bound(c, k[i].it, d, &end, &bb[i])))
                    goto out;
                ub += bb[i];
            }
            if (ub * BOUND_SLACK <= th) {
                c->o->skipped = 1;
                if (end == ND_NO_DOC || end >= c->seg->docs - 1)
                    break;
                t = end + 1;
                continue;
            }
            win = end == ND_NO_DOC ? ND_NO_DOC : end + 1;
        }
        t = d + 1;
        int64_t date;
        if ((rc = col_ready(c, d)))
            goto out;
        if (c->dated && !admissible(c, d, &date))
            continue; /* out of the date range: nothing to score */
        memset(on, 0, n);
        double part = 0;
        for (uint32_t i = ne; i < n; i++) {
            qit *it = k[i].it;
            if (it->doc == d) {
                on[k[i].idx] = 1;
                if ((rc = score(c, it, &sc[k[i].idx])))
                    goto out;
                part += sc[k[i].idx];
            }
        }
        if (ne > 0) {
            /* the non-essential children, strongest first, while the
             * candidate can still beat the threshold by their block bounds
             * (kept while d stays in the blocks they were taken over) */
            if (ne != rest_ne || d > rest_end) {
                rest_all = 0;
                rest_end = ND_NO_DOC;
                for (uint32_t i = 0; i < ne; i++) {
                    if ((rc = bound(c, k[i].it, d, &rest_end, &rb[i])))
                        goto out;
                    rest_all += rb[i];
                }
                rest_ne = ne;
            }
            double rest = rest_all;
            int pruned = 0;
            for (uint32_t i = ne; i-- > 0;) {
                if ((part + rest) * BOUND_SLACK <= th) {
                    pruned = 1;
                    break;
                }
                rest -= rb[i];
                qit *it = k[i].it;
                if ((rc = adv(c, it, d)))
                    goto out;
                if (it->doc == d) {
                    on[k[i].idx] = 1;
                    if ((rc = score(c, it, &sc[k[i].idx])))
                        goto out;
                    part += sc[k[i].idx];
                }
            }
            if (pruned) {
                c->o->skipped = 1;
                continue;
            }
        }
        if (!admissible(c, d, &date))
            continue;
        /* the score, added in the children's order as a full evaluation does */
        double sum = 0;
        for (uint32_t i = 0; i < n; i++)
            if (on[i])
                sum += sc[i];
        if ((sum > th || th < 0) == 0) {
            c->o->skipped = 1;
            continue;
        }
        /* it can enter: now the positions of lazy phrases on it */
        int unsure = 0;
        for (uint32_t i = 0; i < n && !rc; i++) {
            int ok = 1;
            if (on[i] && !(rc = confirm(c, root->opt[i], &ok)) && !ok) {
                on[i] = 0;
                unsure = 1;
            }
        }
        if (rc)
            goto out;
        if (unsure) {
            int any = 0;
            sum = 0;
            for (uint32_t i = 0; i < n; i++)
                if (on[i]) {
                    sum += sc[i];
                    any = 1;
                }
            if (!any)
                continue; /* no match after all */
            if ((sum > th || th < 0) == 0) {
                c->o->skipped = 1;
                continue;
            }
        }
        (*total)++;
        topk_push(top, sum, c->ix->base[c->si] + d, date);
    }
out:
    free(k);
    free(pre);
    free(bb);
    free(rb);
    free(sc);
    free(on);
    return rc;
}

/* Counting a query with many matches goes through a bitset of the
 * segment's documents instead of moving the iterators match by match: from
 * docs / COUNT_BITS_SHARE estimated matches on, clearing and scanning the
 * bitset (a word per 64 documents) costs less than the heap steps saved. */
#define COUNT_BITS_SHARE 512

/* Sets the bits of it's matches. A word's list sets them block by block
 * (a bitmap block in one go, pcursor_collect), a disjunction its
 * children's bits in turn; any other clause is walked with its iterator. */
static int collect(ectx *c, qit *it, uint64_t *bits)
{
    int rc = ND_OK;
    if (it->kind == IT_TERM)
        return pcursor_collect(it->pc, bits, c->e);
    if (it->kind == IT_OR && it->n_neg == 0) {
        for (uint32_t i = 0; i < it->n_opt && !rc; i++)
            rc = collect(c, it->opt[i], bits);
        return rc;
    }
    for (rc = adv(c, it, 0); !rc && it->doc != ND_NO_DOC; rc = adv(c, it, it->doc + 1))
        bits[it->doc >> 6] |= UINT64_C(1) << (it->doc & 63);
    return rc;
}

/* Counts (and facets) the matches of root in the current segment through
 * a bitset; deleted documents and the search's date bounds are applied to
 * the set. */
static int count_bits(ectx *c, qit *root, facets *fc, uint64_t *total)
{
    const segment *seg = c->seg;
    size_t nw = ((size_t)seg->docs + 63) / 64;
    if (nw == 0)
        return ND_OK;
    if (nw > c->bits_cap) {
        uint64_t *b = realloc(c->bits, nw * sizeof *b);
        if (!b)
            return nomem(c);
        c->bits = b;
        c->bits_cap = nw;
    }
    uint64_t *bits = c->bits;
    memset(bits, 0, nw * sizeof *bits);
    int rc = collect(c, root, bits);
    if (rc)
        return rc;
    if (seg->deleted)
        for (size_t w = 0; w < nw; w++)
            bits[w] &= ~seg->deleted[w];
    if (!fc && !c->dated) {
        *total += bits_count(bits, nw);
        return ND_OK;
    }
    for (size_t w = 0; w < nw; w++) {
        uint64_t m = bits[w];
        for (; m; m &= m - 1) {
            uint32_t d = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(m));
            int64_t date;
            if ((rc = col_ready(c, d)))
                return rc;
            if (!admissible(c, d, &date))
                continue;
            (*total)++;
            if (fc)
                facets_add(fc, d, date);
        }
    }
    return ND_OK;
}

/* Does collect count it's matches from the postings alone (words and
 * disjunctions of words), without walking an iterator? Only then is
 * counting plus a pruned top k cheaper than scoring every match: counting
 * a conjunction or a phrase costs about what evaluating it does. */
static int counts_by_bits(const qit *it)
{
    if (it->kind == IT_TERM)
        return 1;
    if (it->kind != IT_OR || it->n_neg != 0)
        return 0;
    for (uint32_t i = 0; i < it->n_opt; i++)
        if (!counts_by_bits(it->opt[i]))
            return 0;
    return 1;
}

/* Lets the cursors of a tree counts_by_bits accepts (words and their
 * disjunctions, not yet moved) skip decoding frequencies. */
static void skip_tfs(qit *it)
{
    if (it->kind == IT_TERM) {
        it->pc->no_tf = 1;
        return;
    }
    for (uint32_t i = 0; i < it->n_opt; i++)
        skip_tfs(it->opt[i]);
}

/* The top k of root by score with dynamic pruning: MaxScore for a plain
 * disjunction, block-max for anything else. *total counts the documents
 * scored, a lower bound of the matches. */
static int run_pruned(ectx *c, qit *root, topk *top, uint64_t *total)
{
    if (root->kind == IT_OR && !root->fields && root->n_neg == 0 &&
        root->n_opt <= MAXSCORE_MAX_KIDS) {
        for (uint32_t i = 0; i < root->n_opt; i++)
            make_lazy(root->opt[i]);
        return run_maxscore(c, root, top, total);
    }
    make_lazy(root);
    return run_blockmax(c, root, top, total);
}

static int run_segment(ectx *c, uint32_t si, topk *top, facets *fc, uint64_t *total)
{
    const nd_index *ix = c->ix;
    c->si = si;
    c->seg = &ix->segs[si];
    const segment *seg = c->seg;
    c->spans = c->dated ? segment_date_spans(seg) : NULL;
    c->ready_group = UINT32_MAX; /* none yet */
    qit *root;
    int rc = build(c, c->q->root, &root);
    if (rc || !root)
        goto out;
    if (fc && (rc = facets_segment(fc, ix, si, c->e)))
        goto out;
    if (c->o->count_only && root->cost >= seg->docs / COUNT_BITS_SHARE) {
        rc = count_bits(c, root, fc, total);
        goto out;
    }
    if (c->o->split && top->cap > 0 && root->cost >= seg->docs / COUNT_BITS_SHARE &&
        counts_by_bits(root)) {
        /* the matches counted (and faceted) on these iterators, which need
         * no frequencies for that, then the top k found with pruning on new
         * ones: the total is exact, whatever the pruning skips */
        skip_tfs(root);
        if ((rc = count_bits(c, root, fc, total)))
            goto out;
        free_its(c);
        qit *ranked;
        if ((rc = build(c, c->q->root, &ranked)) || !ranked)
            goto out;
        uint64_t scored = 0;
        int skipped = c->o->skipped;
        rc = run_pruned(c, ranked, top, &scored);
        c->o->skipped = skipped;
        goto out;
    }
    if (c->o->prune && top->cap > 0) {
        rc = run_pruned(c, root, top, total);
        goto out;
    }
    for (rc = adv(c, root, 0); !rc && root->doc != ND_NO_DOC; rc = adv(c, root, root->doc + 1)) {
        uint32_t d = root->doc;
        int64_t date;
        if ((rc = col_ready(c, d)))
            break;
        if (!admissible(c, d, &date))
            continue;
        (*total)++;
        if (fc)
            facets_add(fc, d, date);
        if (!c->o->count_only) {
            double sc;
            if ((rc = score(c, root, &sc)))
                break;
            topk_push(top, sc, ix->base[si] + d, date);
        }
    }
out:
    free_its(c);
    return rc;
}

int exec_search(const nd_index *ix, const query *q, exec_opts *o, topk *top, facets *fc,
                uint64_t *total, nd_err *e, size_t *err_off)
{
    ectx c;
    memset(&c, 0, sizeof c);
    c.ix = ix;
    c.q = q;
    c.o = o;
    c.e = e;
    c.err_off = err_off;
    c.nseg = ix->man.n_segs;
    c.dated = o->since != ND_NO_DATE || o->until != ND_NO_DATE;
    c.lo = o->since == ND_NO_DATE ? INT64_MIN : o->since;
    c.hi = o->until == ND_NO_DATE ? INT64_MAX : o->until;
    *total = 0;
    if (q->root < 0)
        return ND_OK;
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        c.avglen[f] = ix->docs ? (double)ix->sum_len[f] / (double)ix->docs : 0.0;
    int rc = ND_OK;
    c.node_slot = calloc(q->n_nodes, sizeof *c.node_slot);
    c.node_end = calloc(q->n_nodes, sizeof *c.node_end);
    c.lists = calloc(ND_MAX_QUERY_TERMS, sizeof *c.lists);
    c.lens = calloc(ND_MAX_QUERY_TERMS, sizeof *c.lens);
    if (!c.node_slot || !c.node_end || !c.lists || !c.lens) {
        rc = nomem(&c);
        goto out;
    }
    if ((rc = prepare(&c, q->root, 0)))
        goto out;
    for (uint32_t si = 0; si < c.nseg && !rc; si++)
        rc = run_segment(&c, si, top, fc, total);
out:
    free(c.its);
    free(c.node_slot);
    free(c.node_end);
    free((void *)c.lists);
    free(c.lens);
    free(c.bits);
    free(c.slots);
    free(c.tis);
    free(c.present);
    buf_free(&c.words);
    phrase_scratch_free(&c.ps);
    return rc;
}
