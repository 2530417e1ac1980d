/*
 * test_ids.c - the id column of seg-N.col (.col version 2, docs/FORMAT.md
 * section 5) and what reads it: its bytes as the format describes them;
 * ids_only searches giving the ids, scores and dates of full searches;
 * merges carrying the ids over, also from a source whose .col has no id
 * column; a version 1 .col (no id column) still opening and giving the
 * right ids from the stored records; damaged id sections refused with
 * ND_ECORRUPT on open and reported by nd_check; and nd_check finding an id
 * column that disagrees with the id terms and the stored records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "index/index.h"
#include "newsdex.h"
#include "testutil.h"
#include "framing.h"

#define BASE_DATE 1400000000

/* ---- the articles -------------------------------------------------------- */

/* The id of article i: short ones, ids with a space and UTF-8 bytes, and
 * ids of exactly ND_MAX_TERM_BYTES bytes. Returns its length. */
static size_t article_id(unsigned i, char *buf, size_t cap)
{
    assert_true(cap > ND_MAX_TERM_BYTES);
    int n;
    switch (i % 7) {
    case 0:
        n = snprintf(buf, cap, "long-%u-", i);
        memset(buf + n, 'z', (size_t)(ND_MAX_TERM_BYTES - n));
        buf[ND_MAX_TERM_BYTES] = 0;
        return ND_MAX_TERM_BYTES;
    case 1:
        n = snprintf(buf, cap, "id %u \xc3\xa9t\xc3\xa9", i);
        return (size_t)n;
    default:
        n = snprintf(buf, cap, "a%u", i);
        return (size_t)n;
    }
}

static int64_t article_date(unsigned i)
{
    return i % 4 == 0 ? ND_NO_DATE : BASE_DATE + (int64_t)i * 3600;
}

/* Article i: a word of its own (uniq<i>), a few shared words with varying
 * frequencies, and a body long enough (about 1.5 KiB) that a segment has
 * several stored blocks. */
static void add_article(nd_writer *w, unsigned i)
{
    static const char *const words[] = {"oil",  "prices", "bank", "rates", "vote",
                                         "storm", "court", "trade", "china", "merger"};
    char id[ND_MAX_TERM_BYTES + 1], title[128], body[4096];
    size_t idlen = article_id(i, id, sizeof id);
    snprintf(title, sizeof title, "uniq%u %s report", i, words[i % 10]);
    size_t n = 0;
    uint64_t s = i * 2654435761u + 7;
    int words_n = 150 + (int)(i % 60);
    for (int k = 0; k < words_n; k++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s w%u ", words[tu_rand(&s) % 10],
                              (unsigned)(tu_rand(&s) % 3000));
    nd_doc d;
    memset(&d, 0, sizeof d);
    d.id = id;
    d.id_len = idlen;
    d.title = title;
    d.title_len = strlen(title);
    d.body = body;
    d.body_len = n;
    d.source = i % 2 ? "Reuters" : "AP";
    d.source_len = strlen(d.source);
    d.date = article_date(i);
    if (nd_writer_add(w, &d) != ND_OK)
        fail_msg("add %u: %s", i, nd_writer_errmsg(w));
}

static void delete_article(nd_writer *w, unsigned i)
{
    char id[ND_MAX_TERM_BYTES + 1];
    size_t n = article_id(i, id, sizeof id);
    assert_int_equal(nd_writer_delete(w, id, n), ND_OK);
}

/* An index of one commit (one segment) per entry of sizes, numbered on
 * from article 0; no automatic merges. Returns a malloc'd directory. */
static char *build_index(const unsigned *sizes, size_t n_commits)
{
    char *dir = tu_mkdtemp();
    nd_writer *w;
    nd_writer_opts o = ND_WRITER_OPTS_INIT;
    o.merge_factor = 1;
    assert_int_equal(nd_writer_open(&w, dir, &o), ND_OK);
    unsigned next = 0;
    for (size_t c = 0; c < n_commits; c++) {
        for (unsigned i = 0; i < sizes[c]; i++)
            add_article(w, next++);
        assert_int_equal(nd_writer_commit(w), ND_OK);
    }
    nd_writer_free(w);
    return dir;
}

static nd_index *open_index(const char *dir)
{
    nd_index *ix = NULL;
    char err[512];
    if (nd_index_open(&ix, dir, NULL, err, sizeof err) != ND_OK)
        fail_msg("open %s: %s", dir, err);
    return ix;
}

/* ---- file surgery ---------------------------------------------------------- */

static void col_path(char *buf, size_t n, const char *dir, int seg)
{
    snprintf(buf, n, "%s/seg-%d.col", dir, seg);
}

/* seg-<seg>.col as an image of header, body and footer (*n bytes; a
 * chunk table, FORMAT.md section 3, is left out: write_col makes a new
 * one), so that the tests can change the body and its length. */
static uint8_t *load_col(const char *dir, int seg, size_t *n)
{
    char path[4200];
    col_path(path, sizeof path, dir, seg);
    uint8_t *p = (uint8_t *)tu_read_file(path, n);
    assert_non_null(p);
    size_t end = tf_body_end(p, *n);
    assert_true(end + FRAME_FOOTER <= *n);
    memmove(p + end, p + *n - FRAME_FOOTER, FRAME_FOOTER);
    *n = end + FRAME_FOOTER;
    return p;
}

static void sql(const char *dir, const char *q)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", q, msg);
    sqlite3_close(db);
}

/* Writes img (n bytes, header and room for the footer included) as
 * seg-<seg>.col with a recomputed footer, and records its size and CRC in
 * the catalog (FORMAT.md sections 3 and 4): only structure checks can tell
 * it from a file the writer made. */
/* Writes an image of header, body and footer (n bytes) as seg-<seg>.col,
 * framed for its version (with a chunk table from version 3), and records
 * its size and CRC in the catalog. */
static void write_col(const char *dir, int seg, uint8_t *img, size_t n)
{
    size_t body = n - FRAME_HEADER - FRAME_FOOTER;
    uint8_t *out = malloc(FRAME_HEADER + body + tf_tail(img, body));
    assert_non_null(out);
    memcpy(out, img, FRAME_HEADER + body);
    memcpy(out, "NDCL", 4);
    size_t size = tf_frame(out, body);
    uint32_t crc = ld_u32(out + size - 8);
    char path[4200], q[256];
    col_path(path, sizeof path, dir, seg);
    tu_write_file(path, out, size);
    snprintf(q, sizeof q, "UPDATE segments SET col_size = %zu, col_crc = %u WHERE number = %d",
             size, crc, seg);
    sql(dir, q);
    free(out);
}

/* The file offset of the id offsets of a .col image of D documents. */
static size_t ids_at(uint32_t D)
{
    return FRAME_HEADER + 32 + (size_t)20 * D;
}

/* Rewrites seg-<seg>.col in the version 1 layout: the same columns
 * without the id section. */
static void make_col_v1(const char *dir, int seg)
{
    size_t n;
    uint8_t *img = load_col(dir, seg, &n);
    assert_int_equal(ld_u16(img + 4), COL_VERSION);
    uint32_t D = ld_u32(img + 8);
    size_t len = ids_at(D) + FRAME_FOOTER;
    assert_true(len < n);
    st_u16(img + 4, 1);
    write_col(dir, seg, img, len);
    free(img);
}

/* ---- checks ---------------------------------------------------------------- */

/* Errors nd_check finds, and how many of them are in `file` and mention
 * `text` (NULL: any). */
static uint64_t check_errors(const char *dir, const char *file, const char *text, size_t *matched)
{
    nd_check_report *r = NULL;
    char err[256];
    if (nd_check(&r, dir, NULL, err, sizeof err) != ND_OK)
        fail_msg("nd_check: %s", err);
    nd_check_summary sum;
    nd_check_summary_get(r, &sum);
    *matched = 0;
    for (size_t i = 0; i < nd_check_count(r); i++) {
        nd_check_problem p;
        assert_int_equal(nd_check_problem_get(r, i, &p), ND_OK);
        if (getenv("ND_CHECK_VERBOSE"))
            printf("  %s: %s\n", p.file, p.message);
        if (p.severity == ND_CHECK_ERROR && strcmp(p.file, file) == 0 &&
            (!text || strstr(p.message, text)))
            (*matched)++;
    }
    nd_check_report_free(r);
    return sum.errors;
}

static void assert_clean(const char *dir)
{
    size_t matched;
    assert_int_equal(check_errors(dir, "", NULL, &matched), 0);
}

static nd_search_opts ids_opts(void)
{
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.ids_only = 1;
    return o;
}

/* Every article 0..n-1 is found by its own word with ids_only, with its
 * id and date - unless deleted(i), when it is not found at all. */
static void check_each_article(nd_index *ix, unsigned n, int (*deleted)(unsigned))
{
    nd_search *s;
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    nd_search_opts o = ids_opts();
    for (unsigned i = 0; i < n; i++) {
        char q[32], id[ND_MAX_TERM_BYTES + 1];
        snprintf(q, sizeof q, "uniq%u", i);
        size_t idlen = article_id(i, id, sizeof id);
        nd_hits *h;
        assert_int_equal(nd_search_run(s, &h, q, 5, &o), ND_OK);
        if (deleted && deleted(i)) {
            assert_int_equal(nd_hits_count(h), 0);
        } else {
            assert_int_equal(nd_hits_count(h), 1);
            nd_hit hit;
            assert_int_equal(nd_hits_get(h, 0, &hit), ND_OK);
            if (hit.id_len != idlen || memcmp(hit.id, id, idlen) != 0)
                fail_msg("article %u: id '%.*s', want '%s'", i, (int)hit.id_len, hit.id, id);
            assert_true(hit.date == article_date(i));
            assert_true(hit.score > 0);
        }
        nd_hits_free(h);
    }
    nd_search_free(s);
}

/* A full search and an ids_only search of the same query give the same
 * hits: ids, scores and dates; the ids_only hits carry nothing else. */
static void compare_modes(nd_search *s, const char *query, size_t k, size_t offset, int sort)
{
    nd_search_opts full = ND_SEARCH_OPTS_INIT, ids = ids_opts();
    full.offset = ids.offset = offset;
    full.sort = ids.sort = sort;
    nd_hits *a, *b;
    assert_int_equal(nd_search_run(s, &a, query, k, &full), ND_OK);
    assert_int_equal(nd_search_run(s, &b, query, k, &ids), ND_OK);
    assert_true(nd_hits_count(a) > 0);
    assert_int_equal(nd_hits_count(a), nd_hits_count(b));
    assert_int_equal(nd_hits_total(a), nd_hits_total(b));
    for (size_t i = 0; i < nd_hits_count(a); i++) {
        nd_hit x, y;
        assert_int_equal(nd_hits_get(a, i, &x), ND_OK);
        assert_int_equal(nd_hits_get(b, i, &y), ND_OK);
        if (x.id_len != y.id_len || memcmp(x.id, y.id, x.id_len) != 0)
            fail_msg("%s, hit %zu: id '%.*s' (ids_only '%.*s')", query, i, (int)x.id_len, x.id,
                     (int)y.id_len, y.id);
        assert_true(x.score == y.score);
        assert_true(x.date == y.date);
        assert_true(x.title_len > 0 && x.snippet_len > 0);
        assert_int_equal(y.title_len, 0);
        assert_int_equal(y.source_len, 0);
        assert_int_equal(y.snippet_len, 0);
        assert_int_equal(y.n_marks, 0);
    }
    nd_hits_free(a);
    nd_hits_free(b);
}

static void compare_queries(nd_index *ix)
{
    nd_search *s;
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    compare_modes(s, "oil", 10, 0, ND_SORT_SCORE);
    compare_modes(s, "oil prices", 1000, 0, ND_SORT_SCORE);
    compare_modes(s, "bank OR w17", 10, 5, ND_SORT_SCORE);
    compare_modes(s, "\"oil report\"", 50, 0, ND_SORT_SCORE);
    compare_modes(s, "merger", 20, 0, ND_SORT_DATE_DESC);
    compare_modes(s, "trade source:reuters", 30, 2, ND_SORT_DATE_ASC);
    nd_search_free(s);
}

/* ---- tests ----------------------------------------------------------------- */

/* The id column's bytes, decoded as FORMAT.md section 5 describes them. */
static void test_ids_layout(void **state)
{
    (void)state;
    const unsigned sizes[] = {60};
    char *dir = build_index(sizes, 1);
    size_t n;
    uint8_t *img = load_col(dir, 1, &n);
    assert_int_equal(ld_u16(img + 4), 3); /* .col frame version */
    uint32_t D = ld_u32(img + 8);
    assert_int_equal(D, 60);
    const uint8_t *off = img + ids_at(D), *ids = off + 4 * ((size_t)D + 1);
    assert_int_equal(ld_u32(off), 0);
    for (uint32_t d = 0; d < D; d++) {
        char id[ND_MAX_TERM_BYTES + 1];
        size_t len = article_id(d, id, sizeof id);
        uint32_t a = ld_u32(off + 4 * (size_t)d), b = ld_u32(off + 4 * (size_t)d + 4);
        assert_int_equal(b - a, len);
        assert_memory_equal(ids + a, id, len);
        /* the dates are still where version 1 has them */
        assert_true((int64_t)ld_u64(img + FRAME_HEADER + 32 + 12 * (size_t)D + 8 * (size_t)d) ==
                    article_date(d));
    }
    /* the id bytes end the body exactly; the chunk table follows it */
    assert_int_equal((size_t)(ids - img) + ld_u32(off + 4 * (size_t)D) + FRAME_FOOTER, n);
    free(img);
    char path[4200];
    col_path(path, sizeof path, dir, 1);
    size_t size;
    uint8_t *raw = (uint8_t *)tu_read_file(path, &size);
    assert_non_null(raw);
    size_t body = n - FRAME_HEADER - FRAME_FOOTER;
    assert_int_equal(tf_body_end(raw, size), FRAME_HEADER + body);
    assert_int_equal(size, FRAME_HEADER + body + 4 * ((FRAME_HEADER + body - 1) / 16384 + 1) + 8 +
                               FRAME_FOOTER);
    assert_int_equal(ld_u32(raw + size - FRAME_FOOTER - 8), 14); /* 16 KiB chunks */
    free(raw);

    nd_index *ix = open_index(dir);
    assert_non_null(ix->segs[0].id_off);
    nd_index_free(ix);
    assert_clean(dir);
    tu_rmrf(dir);
    free(dir);
}

/* ids_only hits equal the ids, scores and dates of full searches, over
 * several segments. */
static void test_ids_only_matches_full(void **state)
{
    (void)state;
    const unsigned sizes[] = {120, 70, 15};
    char *dir = build_index(sizes, 3);
    nd_index *ix = open_index(dir);
    assert_int_equal(ix->man.n_segs, 3);
    compare_queries(ix);
    check_each_article(ix, 205, NULL);
    nd_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}

#define MERGED 420 /* articles of test_ids_merged, 140 per segment */

static int deleted_in_merge(unsigned i)
{
    /* one in the first stored block of seg-1, a run in a late block of
     * seg-2, one in seg-3. seg-2 then has the fewest live documents: the
     * merge takes it first and copies its first stored blocks whole (ids
     * from its id column), then re-encodes the rest. */
    return i == 3 || (i >= 260 && i < 270) || i == 400;
}

/* A forced merge with deletions: the merged segment's id column holds the
 * live documents' ids in order, equal to their stored records. */
static void test_ids_merged(void **state)
{
    (void)state;
    const unsigned sizes[] = {140, 140, 140};
    char *dir = build_index(sizes, 3);
    nd_writer *w;
    nd_writer_opts o = ND_WRITER_OPTS_INIT;
    o.merge_factor = 1;
    assert_int_equal(nd_writer_open(&w, dir, &o), ND_OK);
    for (unsigned i = 0; i < MERGED; i++)
        if (deleted_in_merge(i))
            delete_article(w, i);
    assert_int_equal(nd_writer_commit(w), ND_OK);
    assert_int_equal(nd_writer_merge(w, 1), ND_OK);
    nd_writer_free(w);

    nd_index *ix = open_index(dir);
    assert_int_equal(ix->man.n_segs, 1);
    const segment *s = &ix->segs[0];
    assert_non_null(s->id_off);
    assert_true(s->n_sblocks > 4);
    /* every document's column id is its stored id and the id of exactly
     * one live article (the merge orders its sources by size) */
    nd_buf block = {0};
    uint32_t cached = UINT32_MAX, live = 0;
    nd_err e = {{0}};
    int seen[MERGED] = {0};
    for (uint32_t d = 0; d < s->docs; d++) {
        const char *id;
        size_t len;
        stored_doc sd;
        assert_int_equal(segment_doc_id(s, d, &block, &cached, &id, &len, &e), ND_OK);
        assert_int_equal(segment_stored(s, d, &block, &cached, &sd, &e), ND_OK);
        assert_int_equal(sd.len[SF_ID], len);
        assert_memory_equal(sd.f[SF_ID], id, len);
        unsigned i = 0;
        for (; i < MERGED; i++) {
            char want[ND_MAX_TERM_BYTES + 1];
            size_t wlen = article_id(i, want, sizeof want);
            if (wlen == len && memcmp(want, id, len) == 0)
                break;
        }
        if (i < MERGED && !deleted_in_merge(i) && !seen[i])
            seen[i] = 1;
        else
            fail_msg("document %u: id '%.*s' is no live article's or a repeat", d, (int)len, id);
    }
    for (unsigned i = 0; i < MERGED; i++)
        live += !deleted_in_merge(i);
    assert_int_equal(s->docs, live);
    buf_free(&block);
    compare_queries(ix);
    check_each_article(ix, MERGED, deleted_in_merge);
    nd_index_free(ix);
    assert_clean(dir);
    tu_rmrf(dir);
    free(dir);
}

static int is_120(unsigned i)
{
    return i == 120;
}

/* A segment whose .col is in the version 1 layout (no id column) opens,
 * checks clean and gives the right ids from its stored records; merging
 * it gives a segment with an id column again. */
static void test_ids_col_v1(void **state)
{
    (void)state;
    const unsigned sizes[] = {100, 50};
    char *dir = build_index(sizes, 2);
    make_col_v1(dir, 1);
    nd_index *ix = open_index(dir);
    assert_int_equal(ix->man.n_segs, 2);
    assert_null(ix->segs[0].id_off);
    assert_non_null(ix->segs[1].id_off);
    nd_buf block = {0};
    uint32_t cached = UINT32_MAX;
    nd_err e = {{0}};
    const char *id;
    size_t len;
    char want[ND_MAX_TERM_BYTES + 1];
    size_t wlen = article_id(42, want, sizeof want);
    assert_int_equal(segment_doc_id(&ix->segs[0], 42, &block, &cached, &id, &len, &e), ND_OK);
    assert_int_equal(len, wlen);
    assert_memory_equal(id, want, wlen);
    assert_int_not_equal(cached, UINT32_MAX); /* it came from a stored block */
    buf_free(&block);
    compare_queries(ix);
    check_each_article(ix, 150, NULL);
    nd_index_free(ix);
    assert_clean(dir);

    /* merged with a version 2 segment: ids from the records of the first */
    nd_writer *w;
    nd_writer_opts o = ND_WRITER_OPTS_INIT;
    o.merge_factor = 1;
    assert_int_equal(nd_writer_open(&w, dir, &o), ND_OK);
    delete_article(w, 120);
    assert_int_equal(nd_writer_commit(w), ND_OK);
    assert_int_equal(nd_writer_merge(w, 1), ND_OK);
    nd_writer_free(w);
    ix = open_index(dir);
    assert_int_equal(ix->man.n_segs, 1);
    assert_non_null(ix->segs[0].id_off);
    assert_int_equal(ix->segs[0].docs, 149);
    check_each_article(ix, 150, is_120);
    nd_index_free(ix);
    assert_clean(dir);
    tu_rmrf(dir);
    free(dir);
}

/* Damaged id sections (with valid checksums everywhere) are ND_ECORRUPT,
 * with or without checksum verification, and nd_check reports them against
 * seg-1.col; nothing crashes. Damage to the ends of the offsets or to the
 * section's size is found on open; a pair of offsets in the middle, when
 * that document's id is read (opening does not walk every document). */
/* Reads the id of every document of the index's first segment: ND_OK, or
 * the first error with its message in err. */
static int ids_readable(const nd_index *ix, char *err, size_t cap)
{
    const segment *seg = &ix->segs[0];
    nd_buf block = {0};
    uint32_t cached = UINT32_MAX;
    nd_err e = {{0}};
    int rc = ND_OK;
    for (uint32_t d = 0; d < seg->docs && !rc; d++) {
        const char *id;
        size_t len;
        rc = segment_doc_id(seg, d, &block, &cached, &id, &len, &e);
    }
    buf_free(&block);
    snprintf(err, cap, "%s", e.msg);
    return rc;
}

static void test_ids_corrupt(void **state)
{
    (void)state;
    const unsigned sizes[] = {40};
    char *dir = build_index(sizes, 1);
    size_t n;
    uint8_t *orig = load_col(dir, 1, &n);
    uint32_t D = ld_u32(orig + 8);
    size_t at = ids_at(D), end = n - FRAME_FOOTER; /* offsets, end of the body */
    uint8_t *img = malloc(n + 16);
    assert_non_null(img);
    /* the last id is short: 10 bytes more is still a valid id length */
    assert_true(ld_u32(orig + at + 4 * (size_t)D) - ld_u32(orig + at + 4 * ((size_t)D - 1)) < 200);
    enum { SWAP, HUGE, PAST_END, FIRST_NOT_0, CUT_IDS, CUT_OFFSETS, NO_SECTION, EXTRA_BYTE,
           V1_WITH_IDS, PAST_LAST, N_CASES };
    static const char *const WHY[N_CASES] = {
        "out of order",     "out of order",      "the offsets end at", "do not start at 0",
        "the offsets end at", "id column truncated", "id column truncated", "the offsets end at",
        "size does not match", NULL};
    for (int c = 0; c < N_CASES; c++) {
        char why[64];
        /* PAST_LAST: only the end check can tell document D-2 is wrong */
        snprintf(why, sizeof why, "%s", WHY[c] ? WHY[c] : "");
        if (c == PAST_LAST)
            snprintf(why, sizeof why, "document %u out of order", D - 2);
        memcpy(img, orig, n);
        size_t len = n;
        uint8_t *off = img + at;
        switch (c) {
        case SWAP: { /* offsets out of order */
            uint32_t x = ld_u32(off + 12), y = ld_u32(off + 16);
            st_u32(off + 12, y);
            st_u32(off + 16, x);
            break;
        }
        case HUGE: /* an offset far past the end */
            st_u32(off + 20, 0xfffffff0u);
            break;
        case PAST_END: /* the last offset a little past the end */
            st_u32(off + 4 * (size_t)D, ld_u32(off + 4 * (size_t)D) + 10);
            break;
        case FIRST_NOT_0:
            st_u32(off, 1);
            break;
        case CUT_IDS: /* the last id bytes missing */
            len = n - 2;
            break;
        case CUT_OFFSETS: /* the body ends inside the offsets */
            len = at + 4 * ((size_t)D / 2) + FRAME_FOOTER;
            break;
        case NO_SECTION: /* a version with ids, the version 1 body */
            len = at + FRAME_FOOTER;
            break;
        case EXTRA_BYTE: /* a byte after the last id */
            len = n + 1;
            img[end] = 'x';
            break;
        case V1_WITH_IDS: /* version 1 with a body that has ids */
            st_u16(img + 4, 1);
            break;
        case PAST_LAST: /* document D-2's id ends a few bytes past the id bytes */
            st_u32(off + 4 * ((size_t)D - 1), ld_u32(off + 4 * (size_t)D) + 5);
            break;
        }
        write_col(dir, 1, img, len);
        int when_read = c == SWAP || c == HUGE || c == PAST_LAST;
        for (int skip = 0; skip <= 1; skip++) {
            nd_open_opts oo = ND_OPEN_OPTS_INIT;
            oo.skip_checksums = skip;
            nd_index *ix = NULL;
            char err[512] = "";
            int rc = nd_index_open(&ix, dir, &oo, err, sizeof err);
            if (when_read) {
                if (rc != ND_OK)
                    fail_msg("case %d: open returned %d (%s), want ND_OK", c, rc, err);
                rc = ids_readable(ix, err, sizeof err);
                nd_index_free(ix);
            } else {
                assert_null(ix);
            }
            if (rc != ND_ECORRUPT)
                fail_msg("case %d: returned %d, want ND_ECORRUPT", c, rc);
            if (!strstr(err, "seg-1.col") || !strstr(err, why))
                fail_msg("case %d: \"%s\", want \"%s\"", c, err, why);
        }
        size_t matched;
        assert_true(check_errors(dir, "seg-1.col", why, &matched) > 0);
        if (matched == 0)
            fail_msg("case %d: nd_check reports no \"%s\" against seg-1.col", c, why);
    }
    /* the original opens again */
    memcpy(img, orig, n);
    write_col(dir, 1, img, n);
    nd_index_free(open_index(dir));
    assert_clean(dir);
    free(img);
    free(orig);
    tu_rmrf(dir);
    free(dir);
}

/* An id column entry changed (same length, valid checksums): the index
 * still opens and ids_only hits show the column's bytes, but nd_check
 * reports the column against the id term and the stored record. */
static void test_ids_check_mismatch(void **state)
{
    (void)state;
    const unsigned sizes[] = {30};
    char *dir = build_index(sizes, 1);
    size_t n;
    uint8_t *img = load_col(dir, 1, &n);
    uint32_t D = ld_u32(img + 8);
    const uint8_t *off = img + ids_at(D);
    uint8_t *ids = img + ids_at(D) + 4 * ((size_t)D + 1);
    uint32_t a = ld_u32(off + (size_t)4 * 2), b = ld_u32(off + (size_t)4 * 3);
    assert_int_equal(b - a, 2);
    assert_memory_equal(ids + a, "a2", 2); /* article 2's id */
    ids[a] = 'Q';
    write_col(dir, 1, img, n);
    free(img);

    nd_index *ix = open_index(dir);
    nd_search *s;
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    nd_search_opts o = ids_opts();
    nd_hits *h;
    assert_int_equal(nd_search_run(s, &h, "uniq2", 5, &o), ND_OK);
    assert_int_equal(nd_hits_count(h), 1);
    nd_hit hit;
    assert_int_equal(nd_hits_get(h, 0, &hit), ND_OK);
    assert_int_equal(hit.id_len, 2);
    assert_memory_equal(hit.id, "Q2", 2);
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);

    size_t matched;
    assert_true(check_errors(dir, "seg-1.col", "id column", &matched) >= 2);
    assert_int_equal(matched, 2);
    assert_true(check_errors(dir, "seg-1.col", "differs from its id term", &matched) > 0);
    assert_int_equal(matched, 1);
    assert_true(check_errors(dir, "seg-1.col", "differs from its stored record", &matched) > 0);
    assert_int_equal(matched, 1);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_layout),
        cmocka_unit_test(test_ids_only_matches_full),
        cmocka_unit_test(test_ids_merged),
        cmocka_unit_test(test_ids_col_v1),
        cmocka_unit_test(test_ids_corrupt),
        cmocka_unit_test(test_ids_check_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
