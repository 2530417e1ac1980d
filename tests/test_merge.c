/*
 * test_merge.c - merging segments (lib/index/merge.c). A seeded corpus is
 * indexed through the public writer in several commits (and, once, with a
 * RAM budget below one article), so it lands in several segments;
 * deletions are set by hand on the opened segments;
 * the merged segment is then checked against its sources document by
 * document (stored fields, dates, lengths) and term by term (postings,
 * frequencies, positions, skip data, after renumbering), and byte for byte
 * against a segment the writer builds directly from the same live
 * articles. Damaged sources must fail with ND_ECORRUPT and leave no file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "index/index.h"


typedef struct fixture {
    char *dir;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->dir = tu_mkdtemp();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

#define ASSERT_OK(expr, msg)                                                                       \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != ND_OK)                                                                          \
            fail_msg("%s returned %d: %s", #expr, rc_, (msg));                                     \
    } while (0)

/* ---- corpus ---------------------------------------------------------------- */

typedef struct article {
    char *f[SF_COUNT]; /* malloc'd, NULL = absent */
    size_t len[SF_COUNT];
    int64_t date;
} article;

typedef struct corpus {
    article *a;
    size_t n;
} corpus;

static const char *const VOCAB[] = {
    "market", "oil",     "prices", "election", "government", "minister", "court",  "police",
    "storm",  "economy", "bank",   "rates",    "inflation",  "war",      "peace",  "talks",
    "summit", "climate", "energy", "company",  "shares",     "report",   "health", "vaccine",
    "Zürich", "straße",  "café",   "Москва",   "東京",       "U.S.",     "3.5%",   "2019",
    "the",    "of",      "and",    "in",       "said",       "year",     "new",    "city",
};
#define N_VOCAB (sizeof VOCAB / sizeof VOCAB[0])

static void put_str(article *a, int k, const char *s, size_t n)
{
    a->f[k] = malloc(n ? n : 1);
    assert_non_null(a->f[k]);
    memcpy(a->f[k], s, n);
    a->len[k] = n;
}

/* A word only article i has ("uniq" + i in letters): when i is deleted, the
 * term must leave the merged dictionary. */
static void uniq_word(char *out, size_t i)
{
    char *p = out + sprintf(out, "uniq");
    do {
        *p++ = (char)('a' + i % 26);
        i /= 26;
    } while (i);
    *p = 0;
}

static void words(nd_buf *b, uint64_t *seed, size_t n, size_t i)
{
    char u[32];
    uniq_word(u, i);
    size_t at = n ? (size_t)(tu_rand(seed) % n) : 0;
    for (size_t w = 0; w < n; w++) {
        size_t r1 = (size_t)(tu_rand(seed) % N_VOCAB), r2 = (size_t)(tu_rand(seed) % N_VOCAB);
        const char *word = w == at ? u : VOCAB[r1 * r2 / N_VOCAB];
        assert_int_equal(buf_printf(b, "%s%s", w ? (tu_rand(seed) % 5 ? " " : ", ") : "", word),
                         ND_OK);
    }
}

static void gen_article(article *a, size_t i, uint64_t *seed)
{
    memset(a, 0, sizeof *a);
    char tmp[256];
    int n = snprintf(tmp, sizeof tmp, "story-%zu", i);
    put_str(a, SF_ID, tmp, (size_t)n);
    nd_buf b = {0};
    if (i % 11 != 3) {
        words(&b, seed, 1 + (size_t)(tu_rand(seed) % 12), i);
        put_str(a, SF_TITLE, (const char *)b.data, b.len);
    }
    buf_reset(&b);
    if (i % 13 != 5) {
        size_t nw = i % 47 == 8 ? 2000 : (size_t)(tu_rand(seed) % 180);
        words(&b, seed, nw, i);
        if (i % 17 == 2) /* one term with more than 128 positions in a document */
            for (int k = 0; k < 300; k++)
                assert_int_equal(buf_printf(&b, " echo"), ND_OK);
        put_str(a, SF_BODY, (const char *)b.data, b.len);
    }
    buf_free(&b);
    static const char *const SOURCES[] = {"Reuters", "AP", "BBC News", NULL, "", "Le Monde"};
    const char *src = SOURCES[i % 6];
    if (src)
        put_str(a, SF_SOURCE, src, strlen(src));
    if (i % 4 != 1) {
        n = snprintf(tmp, sizeof tmp, "https://news.example.com/%zu/story-%zu", 1990 + i % 30, i);
        put_str(a, SF_URL, tmp, (size_t)n);
    }
    static const char *const LANGS[] = {"en", "de", NULL, "fr"};
    const char *lang = LANGS[i % 4];
    if (lang)
        put_str(a, SF_LANG, lang, strlen(lang));
    a->date = i % 9 == 0 ? ND_NO_DATE : 567993600 + (int64_t)i * 86399;
}

static void gen_corpus(corpus *c, size_t n, uint64_t seed)
{
    c->n = n;
    c->a = calloc(n, sizeof *c->a);
    assert_non_null(c->a);
    for (size_t i = 0; i < n; i++)
        gen_article(&c->a[i], i, &seed);
}

static void free_corpus(corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        for (int k = 0; k < SF_COUNT; k++)
            free(c->a[i].f[k]);
    free(c->a);
}

/* Indexes the articles i with keep[i] (all when keep is NULL), committing
 * after every `chunk` articles (0: once at the end), so each chunk becomes a
 * segment of its own (more if the RAM budget, 0 for the default, is hit). */
static void build_index(const char *dir, const corpus *c, const uint8_t *keep, size_t chunk,
                        size_t ram)
{
    nd_writer_opts o = ND_WRITER_OPTS_INIT;
    o.ram_budget = ram;
    o.merge_factor = 1; /* no automatic merges: the segments stay as flushed */
    nd_writer *w = NULL;
    assert_int_equal(nd_writer_open(&w, dir, &o), ND_OK);
    for (size_t i = 0; i < c->n; i++) {
        if (keep && !keep[i])
            continue;
        const article *a = &c->a[i];
        nd_doc d = {a->f[SF_ID],   a->len[SF_ID],   a->f[SF_TITLE],  a->len[SF_TITLE],
                    a->f[SF_BODY], a->len[SF_BODY], a->f[SF_SOURCE], a->len[SF_SOURCE],
                    a->f[SF_URL],  a->len[SF_URL],  a->f[SF_LANG],   a->len[SF_LANG],
                    a->date};
        ASSERT_OK(nd_writer_add(w, &d), nd_writer_errmsg(w));
        if (chunk && (i + 1) % chunk == 0)
            ASSERT_OK(nd_writer_commit(w), nd_writer_errmsg(w));
    }
    ASSERT_OK(nd_writer_commit(w), nd_writer_errmsg(w));
    nd_writer_free(w);
}

static void open_index(nd_index *ix, const char *dir, int skip_crc)
{
    nd_err e = {{0}};
    ASSERT_OK(snapshot_open(ix, dir, skip_crc, NULL, &e), e.msg);
}

static void sub(char *out, const fixture *f, const char *name)
{
    snprintf(out, 4200, "%s/%s", f->dir, name);
}

/* ---- deletions and merging ----------------------------------------------------- */

static void delete_doc(segment *s, uint32_t d)
{
    if (!s->deleted) {
        s->deleted = calloc((s->docs + 63) / 64, sizeof *s->deleted);
        assert_non_null(s->deleted);
    }
    if (!segment_deleted(s, d))
        s->n_deleted++;
    s->deleted[d >> 6] |= (uint64_t)1 << (d & 63);
}

static int merge_index(const nd_index *ix, uint64_t number, seg_meta *meta, nd_err *e)
{
    uint32_t n = ix->man.n_segs;
    const segment **srcs = malloc((n ? n : 1) * sizeof *srcs);
    assert_non_null(srcs);
    for (uint32_t i = 0; i < n; i++)
        srcs[i] = &ix->segs[i];
    int rc = merge_segments(ix->dir, srcs, n, number, meta, e);
    free(srcs);
    return rc;
}

/* Merges all of ix's segments into a new segment and opens it. */
static void merge_open(const nd_index *ix, segment *out, seg_meta *meta)
{
    nd_err e = {{0}};
    ASSERT_OK(merge_index(ix, ix->man.next_seg, meta, &e), e.msg);
    assert_int_equal(meta->number, ix->man.next_seg);
    ASSERT_OK(segment_open(out, ix->dir, meta, CHECK_ALL, &e), e.msg);
}

/* ---- checking a merged segment against its sources ----------------------------- */

typedef struct post {
    uint32_t doc, tf;
    size_t pos; /* first position in posl.pos */
} post;

typedef struct posl {
    post *p;
    size_t n, cap;
    uint32_t *pos;
    size_t n_pos, pos_cap;
} posl;

static void posl_add(posl *l, uint32_t doc, uint32_t tf, const uint32_t *pos, uint32_t np)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->p = realloc(l->p, l->cap * sizeof *l->p);
        assert_non_null(l->p);
    }
    while (l->n_pos + np > l->pos_cap) {
        l->pos_cap = l->pos_cap ? l->pos_cap * 2 : 1024;
        l->pos = realloc(l->pos, l->pos_cap * sizeof *l->pos);
        assert_non_null(l->pos);
    }
    l->p[l->n++] = (post){doc, tf, l->n_pos};
    if (np)
        memcpy(l->pos + l->n_pos, pos, np * sizeof *pos);
    l->n_pos += np;
}

static void posl_free(posl *l)
{
    free(l->p);
    free(l->pos);
    memset(l, 0, sizeof *l);
}

/* old local id -> new id (UINT32_MAX when deleted), per source */
typedef struct renum {
    uint32_t **map;
    uint32_t live;
} renum;

static void renum_build(renum *r, const nd_index *ix)
{
    r->map = calloc(ix->man.n_segs ? ix->man.n_segs : 1, sizeof *r->map);
    assert_non_null(r->map);
    r->live = 0;
    for (uint32_t i = 0; i < ix->man.n_segs; i++) {
        const segment *s = &ix->segs[i];
        r->map[i] = malloc((s->docs ? s->docs : 1) * sizeof **r->map);
        assert_non_null(r->map[i]);
        for (uint32_t d = 0; d < s->docs; d++)
            r->map[i][d] = segment_deleted(s, d) ? UINT32_MAX : r->live++;
    }
}

static void renum_free(renum *r, const nd_index *ix)
{
    for (uint32_t i = 0; i < ix->man.n_segs; i++)
        free(r->map[i]);
    free(r->map);
}

/* Appends the postings of ti in s to l: every one (map NULL) or the live
 * ones renumbered. */
static void collect(posl *l, const segment *s, const term_info *ti, int field, const uint32_t *map)
{
    nd_err e = {{0}};
    pcursor c;
    ASSERT_OK(pcursor_open(&c, s, field, ti, &e), e.msg);
    ASSERT_OK(pcursor_advance(&c, 0, &e), e.msg);
    while (c.doc != ND_NO_DOC) {
        uint32_t nd = map ? map[c.doc] : c.doc;
        if (nd != UINT32_MAX) {
            const uint32_t *pos;
            uint32_t np;
            ASSERT_OK(pcursor_positions(&c, &pos, &np, &e), e.msg);
            assert_int_equal(np, field < N_TEXT_FIELDS ? pcursor_tf(&c) : 0);
            posl_add(l, nd, pcursor_tf(&c), pos, np);
        }
        ASSERT_OK(pcursor_advance(&c, c.doc + 1, &e), e.msg);
    }
    pcursor_close(&c);
}

/* The skip data of a merged term: each block's max_tf and min_len. */
static void check_skip(const segment *m, const term_info *ti, int field, const posl *got)
{
    nd_err e = {{0}};
    pcursor c;
    ASSERT_OK(pcursor_open(&c, m, field, ti, &e), e.msg);
    for (uint32_t b = 0; c.nb > 1 && b < c.nb; b++) {
        uint32_t max_tf = 0, min_len = UINT32_MAX;
        for (size_t i = (size_t)b * ND_BLOCK; i < got->n && i < (size_t)(b + 1) * ND_BLOCK; i++) {
            const post *p = &got->p[i];
            uint32_t len = field < N_TEXT_FIELDS ? segment_len(m, field, p->doc) : 1;
            max_tf = p->tf > max_tf ? p->tf : max_tf;
            min_len = len < min_len ? len : min_len;
        }
        assert_int_equal(c.max_tf[b], max_tf);
        assert_int_equal(c.min_len[b], min_len);
    }
    pcursor_close(&c);
}

static void check_docs(const nd_index *ix, const segment *m, const renum *r)
{
    nd_err e = {{0}};
    nd_buf b1 = {0}, b2 = {0};
    uint32_t c2 = UINT32_MAX;
    uint64_t sum[N_TEXT_FIELDS] = {0};
    assert_int_equal(m->docs, r->live);
    for (uint32_t i = 0; i < ix->man.n_segs; i++) {
        const segment *s = &ix->segs[i];
        uint32_t c1 = UINT32_MAX;
        for (uint32_t d = 0; d < s->docs; d++) {
            uint32_t nd = r->map[i][d];
            if (nd == UINT32_MAX)
                continue;
            for (int f = 0; f < N_TEXT_FIELDS; f++) {
                assert_int_equal(segment_len(m, f, nd), segment_len(s, f, d));
                sum[f] += segment_len(s, f, d);
            }
            assert_true(segment_date(m, nd) == segment_date(s, d));
            stored_doc x, y;
            ASSERT_OK(segment_stored(s, d, &b1, &c1, &x, &e), e.msg);
            ASSERT_OK(segment_stored(m, nd, &b2, &c2, &y, &e), e.msg);
            for (int k = 0; k < SF_COUNT; k++) {
                assert_int_equal(x.len[k], y.len[k]);
                assert_memory_equal(x.f[k], y.f[k], x.len[k]);
            }
        }
    }
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        assert_true(m->sum_len[f] == sum[f]);
    buf_free(&b1);
    buf_free(&b2);
}

/* Every merged term holds exactly the live postings of the sources,
 * renumbered; every source term with a live posting is in the merged
 * dictionary and no other. Returns the number of merged terms. */
static uint64_t check_terms(const nd_index *ix, const segment *m, const renum *r)
{
    nd_err e = {{0}};
    term_iter it;
    uint64_t n_terms = 0;
    ASSERT_OK(term_iter_seek(&it, m, (const uint8_t *)"", 0, &e), e.msg);
    posl want = {0}, got = {0};
    for (;;) {
        int rc = term_iter_next(&it, &e);
        if (rc == ND_DONE)
            break;
        ASSERT_OK(rc, e.msg);
        n_terms++;
        int field = it.key[0];
        want.n = want.n_pos = got.n = got.n_pos = 0;
        for (uint32_t i = 0; i < ix->man.n_segs; i++) {
            term_info ti;
            rc = segment_term(&ix->segs[i], it.key, it.klen, &ti, &e);
            if (rc == ND_DONE)
                continue;
            ASSERT_OK(rc, e.msg);
            collect(&want, &ix->segs[i], &ti, field, r->map[i]);
        }
        collect(&got, m, &it.ti, field, NULL);
        if (want.n == 0)
            fail_msg("merged term '%.*s' has no live document in the sources", (int)it.klen - 1,
                     (const char *)it.key + 1);
        assert_int_equal(it.ti.df, want.n);
        assert_int_equal(got.n, want.n);
        uint64_t cf = 0;
        for (size_t k = 0; k < want.n; k++) {
            assert_int_equal(got.p[k].doc, want.p[k].doc);
            assert_int_equal(got.p[k].tf, want.p[k].tf);
            cf += want.p[k].tf;
        }
        assert_true(it.ti.cf == cf);
        assert_int_equal(got.n_pos, want.n_pos);
        if (want.n_pos)
            assert_memory_equal(got.pos, want.pos, want.n_pos * sizeof *want.pos);
        check_skip(m, &it.ti, field, &got);
    }
    assert_true(m->n_terms == n_terms);
    /* the other way round */
    for (uint32_t i = 0; i < ix->man.n_segs; i++) {
        const segment *s = &ix->segs[i];
        ASSERT_OK(term_iter_seek(&it, s, (const uint8_t *)"", 0, &e), e.msg);
        for (;;) {
            int rc = term_iter_next(&it, &e);
            if (rc == ND_DONE)
                break;
            ASSERT_OK(rc, e.msg);
            want.n = want.n_pos = 0;
            collect(&want, s, &it.ti, it.key[0], r->map[i]);
            term_info ti;
            /* deleted here, but maybe live in another source */
            for (uint32_t j = 0; j < ix->man.n_segs && want.n == 0; j++) {
                if (j == i || segment_term(&ix->segs[j], it.key, it.klen, &ti, &e) != ND_OK)
                    continue;
                collect(&want, &ix->segs[j], &ti, it.key[0], r->map[j]);
            }
            rc = segment_term(m, it.key, it.klen, &ti, &e);
            if (want.n > 0 && rc != ND_OK)
                fail_msg("term '%.*s' of a live document is missing (%d)", (int)it.klen - 1,
                         (const char *)it.key + 1, rc);
            if (want.n == 0 && rc != ND_DONE)
                fail_msg("term '%.*s' of deleted documents only survived (%d)", (int)it.klen - 1,
                         (const char *)it.key + 1, rc);
        }
    }
    posl_free(&want);
    posl_free(&got);
    return n_terms;
}

static void check_merged(const nd_index *ix, const segment *m)
{
    renum r;
    renum_build(&r, ix);
    check_docs(ix, m, &r);
    check_terms(ix, m, &r);
    renum_free(&r, ix);
}

/* ---- files ------------------------------------------------------------------------- */

static void assert_same_files(const char *da, uint64_t na, const char *db, uint64_t nb)
{
    for (int k = 0; k < FILE_KINDS; k++) {
        char name[64], pa[4300], pb[4300];
        seg_file_name(name, sizeof name, na, k);
        snprintf(pa, sizeof pa, "%s/%s", da, name);
        seg_file_name(name, sizeof name, nb, k);
        snprintf(pb, sizeof pb, "%s/%s", db, name);
        size_t la, lb;
        char *a = tu_read_file(pa, &la), *b = tu_read_file(pb, &lb);
        assert_non_null(a);
        assert_non_null(b);
        if (la != lb || memcmp(a, b, la) != 0)
            fail_msg("%s and %s differ (%zu and %zu bytes)", pa, pb, la, lb);
        free(a);
        free(b);
    }
}

/* Number of files of segment `number` in dir. */
static int seg_files(const char *dir, uint64_t number)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        uint64_t num;
        if (seg_file_parse(de->d_name, &num) && num == number)
            n++;
    }
    closedir(d);
    return n;
}

/* ---- tests ----------------------------------------------------------------------- */

/* Deletions of every shape: scattered, a whole segment, none, the first and
 * last document; the merged segment equals its sources minus the deleted
 * documents, and equals byte for byte the segment the writer builds from
 * the surviving articles. */
static void test_merge_with_deletions(void **state)
{
    fixture *f = *state;
    char dir[4200], live_dir[4200];
    sub(dir, f, "many");
    sub(live_dir, f, "live");
    corpus c;
    gen_corpus(&c, 420, 0x5eed);
    build_index(dir, &c, NULL, 50, 0);
    nd_index ix;
    open_index(&ix, dir, 0);
    uint32_t n = ix.man.n_segs;
    uint32_t full = 0, blocks = 0;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t b = 0; b < ix.segs[i].n_sblocks; b++, blocks++)
            full += ix.segs[i].sblocks[b].ulen >= STORED_BLOCK_TARGET;
    print_message("%u source segments, %u of %u stored blocks full\n", n, full, blocks);
    assert_true(n >= 4);
    uint8_t *keep = malloc(c.n);
    assert_non_null(keep);
    uint64_t seed = 99;
    size_t g = 0;
    for (uint32_t i = 0; i < n; i++) {
        segment *s = &ix.segs[i];
        for (uint32_t d = 0; d < s->docs; d++, g++) {
            int del = i == 1                       ? 1 /* the whole segment */
                      : i == 2                     ? 0
                      : d == 0 || d + 1 == s->docs ? 1
                                                   : tu_rand(&seed) % 4 == 0;
            if (del)
                delete_doc(s, d);
            keep[g] = (uint8_t)!del;
        }
    }
    assert_int_equal(g, c.n);
    segment m;
    seg_meta meta;
    merge_open(&ix, &m, &meta);
    assert_true(m.docs < c.n);
    check_merged(&ix, &m);
    /* terms that only deleted articles had are gone */
    term_info ti;
    nd_err e = {{0}};
    uint8_t key[64];
    key[0] = FIELD_ID;
    memcpy(key + 1, "story-0", 7);
    assert_int_equal(segment_term(&m, key, 8, &ti, &e), ND_DONE);
    key[0] = FIELD_BODY;
    uniq_word((char *)key + 1, 0);
    assert_int_equal(segment_term(&m, key, 1 + strlen((char *)key + 1), &ti, &e), ND_DONE);
    /* the writer, given only the surviving articles, writes the same files */
    build_index(live_dir, &c, keep, 0, 0);
    nd_index lx;
    open_index(&lx, live_dir, 0);
    assert_int_equal(lx.man.n_segs, 1);
    assert_int_equal(lx.segs[0].docs, m.docs);
    assert_same_files(dir, meta.number, live_dir, lx.segs[0].meta.number);
    for (int k = 0; k < FILE_KINDS; k++) {
        assert_true(meta.size[k] == lx.segs[0].meta.size[k]);
        assert_int_equal(meta.crc[k], lx.segs[0].meta.crc[k]);
    }
    snapshot_close(&lx);
    segment_close(&m);
    snapshot_close(&ix);
    free(keep);
    free_corpus(&c);
}

/* Without deletions, merging every segment gives the segment a single
 * writer session builds from all the articles, byte for byte; merging
 * that one segment alone reproduces it. */
static void test_merge_all_equals_direct(void **state)
{
    fixture *f = *state;
    char dir[4200], one_dir[4200];
    sub(dir, f, "many");
    sub(one_dir, f, "one");
    corpus c;
    gen_corpus(&c, 300, 0xabc);
    build_index(dir, &c, NULL, 40, 0);
    build_index(one_dir, &c, NULL, 0, 0);
    nd_index ix, one;
    open_index(&ix, dir, 0);
    open_index(&one, one_dir, 0);
    assert_true(ix.man.n_segs >= 3);
    assert_int_equal(one.man.n_segs, 1);
    segment m;
    seg_meta meta;
    merge_open(&ix, &m, &meta);
    check_merged(&ix, &m);
    assert_int_equal(m.docs, c.n);
    assert_true(m.n_terms == one.segs[0].n_terms);
    assert_same_files(dir, meta.number, one_dir, one.segs[0].meta.number);
    segment_close(&m);
    /* one segment merged alone */
    merge_open(&one, &m, &meta);
    check_merged(&one, &m);
    assert_same_files(one_dir, meta.number, one_dir, one.segs[0].meta.number);
    segment_close(&m);
    snapshot_close(&one);
    snapshot_close(&ix);
    free_corpus(&c);
}

/* Many one-article segments (a commit after every article, and a RAM
 * budget below what one article takes): the heap of dictionaries with
 * dozens of sources. */
static void test_merge_many_tiny_segments(void **state)
{
    fixture *f = *state;
    char dir[4200], one_dir[4200];
    sub(dir, f, "tiny");
    sub(one_dir, f, "one");
    corpus c;
    gen_corpus(&c, 70, 7);
    build_index(dir, &c, NULL, 1, (size_t)48 << 10);
    build_index(one_dir, &c, NULL, 0, 0);
    nd_index ix, one;
    open_index(&ix, dir, 0);
    open_index(&one, one_dir, 0);
    assert_int_equal(ix.man.n_segs, c.n);
    segment m;
    seg_meta meta;
    merge_open(&ix, &m, &meta);
    check_merged(&ix, &m);
    assert_same_files(dir, meta.number, one_dir, one.segs[0].meta.number);
    segment_close(&m);
    snapshot_close(&one);
    snapshot_close(&ix);
    free_corpus(&c);
}

/* Everything deleted: an empty but valid segment; no sources: the same. */
static void test_merge_everything_deleted(void **state)
{
    fixture *f = *state;
    char dir[4200];
    sub(dir, f, "empty");
    corpus c;
    gen_corpus(&c, 80, 3);
    build_index(dir, &c, NULL, 30, 0);
    nd_index ix;
    open_index(&ix, dir, 0);
    for (uint32_t i = 0; i < ix.man.n_segs; i++)
        for (uint32_t d = 0; d < ix.segs[i].docs; d++)
            delete_doc(&ix.segs[i], d);
    segment m;
    seg_meta meta;
    merge_open(&ix, &m, &meta);
    assert_int_equal(m.docs, 0);
    assert_true(m.n_terms == 0);
    check_merged(&ix, &m);
    segment_close(&m);
    nd_err e = {{0}};
    ASSERT_OK(merge_segments(dir, NULL, 0, meta.number + 1, &meta, &e), e.msg);
    ASSERT_OK(segment_open(&m, dir, &meta, CHECK_ALL, &e), e.msg);
    assert_int_equal(m.docs, 0);
    segment_close(&m);
    snapshot_close(&ix);
    free_corpus(&c);
}

/* Damage that only shows when the postings, positions, dictionary entries
 * or stored blocks are read: ND_ECORRUPT, and no file of the new segment
 * is left. A segment number already in use is refused without touching
 * the files that hold it. */
static void test_merge_corrupt_source(void **state)
{
    fixture *f = *state;
    corpus c;
    gen_corpus(&c, 120, 11);
    /* file kind, source segment; a damaged first block of the first source
     * is on the path that copies compressed blocks as they are */
    static const int CASES[][2] = {{1, 1}, {2, 1}, {0, 1}, {4, 1}, {4, 0}};
    for (size_t t = 0; t < sizeof CASES / sizeof CASES[0]; t++) {
        int k = CASES[t][0];
        char dir[4200], name[64], path[4300];
        snprintf(name, sizeof name, "bad-%s-%d", seg_exts[k], CASES[t][1]);
        sub(dir, f, name);
        build_index(dir, &c, NULL, 60, 0);
        nd_index ix;
        open_index(&ix, dir, 0);
        assert_true(ix.man.n_segs >= 2);
        /* damage the body of the file, keeping the structure that is
         * checked at open */
        const segment *s = &ix.segs[CASES[t][1]];
        if (k == 4 && CASES[t][1] == 0)
            assert_true(s->n_sblocks > 1 && s->sblocks[0].ulen >= STORED_BLOCK_TARGET);
        size_t from = FRAME_HEADER, to = FRAME_HEADER + s->body_len[k];
        if (k == 0)
            to = (size_t)s->tdx_index_off; /* term blocks, not the block index */
        if (k == 4)
            to = FRAME_HEADER + s->sblocks[0].clen; /* the first zlib stream */
        uint64_t number = s->meta.number, next = ix.man.next_seg;
        snapshot_close(&ix);
        seg_file_name(name, sizeof name, number, k);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        size_t len;
        char *img = tu_read_file(path, &len);
        assert_non_null(img);
        assert_true(to <= len - FRAME_FOOTER);
        memset(img + from, 0xff, to - from);
        tu_write_file(path, img, len);
        free(img);
        open_index(&ix, dir, 1); /* the checksum would catch it at open */
        seg_meta meta;
        nd_err e = {{0}};
        int rc = merge_index(&ix, next, &meta, &e);
        if (rc != ND_ECORRUPT)
            fail_msg("damaged .%s: merge returned %d (%s)", seg_exts[k], rc, e.msg);
        assert_int_equal(seg_files(dir, next), 0);
        snapshot_close(&ix);
    }
    /* a segment number that exists */
    char dir[4200];
    sub(dir, f, "bad-doc-1");
    nd_index ix;
    open_index(&ix, dir, 1);
    uint64_t taken = ix.segs[0].meta.number;
    seg_meta meta;
    nd_err e = {{0}};
    assert_int_equal(merge_index(&ix, taken, &meta, &e), ND_EIO);
    assert_int_equal(seg_files(dir, taken), FILE_KINDS);
    snapshot_close(&ix);
    open_index(&ix, dir, 1);
    snapshot_close(&ix);
    free_corpus(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_merge_with_deletions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_all_equals_direct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_many_tiny_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_everything_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_corrupt_source, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
