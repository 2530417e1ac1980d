/*
 * test_check.c - the integrity checker (nd_check, `search check`): a clean
 * index (several segments, deletions, multi-block postings, a layout-1
 * index) has no problems; every kind of damage to every segment file and
 * to the catalog is reported, never crashes the checker: bit flips caught
 * by the checksums, truncation and missing files, damage whose checksums
 * were recomputed (footer and catalog) so that only the structure checks
 * can see it - including the invariants readers do not check -, broken
 * catalog rows and bitmaps. Files the commit does not name are warnings.
 * The CLI's output, JSON and exit codes are checked through the built
 * binary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "index/index.h"
#include "framing.h"
#include "newsdex.h"
#include "testutil.h"

#define N_FIRST 300 /* articles of the first commit: "news" has 3 postings blocks */
#define N_SECOND 40

/* ---- building the index ---------------------------------------------------- */

static void add_article(nd_writer *w, unsigned i)
{
    static const char *const words[] = {"oil",   "prices", "bank",  "rates", "vote",
                                        "storm", "court",  "trade", "china", "merger"};
    static const char *const sources[] = {"Reuters", "BBC", "AP"};
    char id[32], title[128], body[1024], url[64];
    snprintf(id, sizeof id, "a%u", i);
    snprintf(title, sizeof title, "News %s about %s", words[i % 10], words[(i * 3) % 10]);
    size_t n = 0;
    for (unsigned k = 0; k <= i % 3; k++) /* tf of "news" varies: 1..3 */
        n += (size_t)snprintf(body + n, sizeof body - n, "news ");
    uint64_t s = i * 2654435761u + 1;
    for (int k = 0; k < 40 + (int)(i % 30); k++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s w%u ", words[tu_rand(&s) % 10],
                              (unsigned)(tu_rand(&s) % 500));
    snprintf(url, sizeof url, "https://example.com/%u", i);
    nd_doc d;
    memset(&d, 0, sizeof d);
    d.id = id;
    d.id_len = strlen(id);
    d.title = title;
    d.title_len = strlen(title);
    d.body = body;
    d.body_len = n;
    d.url = url;
    d.url_len = strlen(url);
    d.source = sources[i % 3];
    d.source_len = strlen(d.source);
    d.lang = i % 5 ? "en" : NULL;
    d.lang_len = i % 5 ? 2 : 0;
    d.date = i % 10 ? 1500000000 + (int64_t)i * 86400 : ND_NO_DATE;
    if (nd_writer_add(w, &d) != ND_OK)
        fail_msg("add: %s", nd_writer_errmsg(w));
}

/* Two segments (seg-1: N_FIRST articles, seg-2: N_SECOND), one deletion in
 * each. Returns a malloc'd directory. */
static char *build_index(void)
{
    char *dir = tu_mkdtemp();
    nd_writer *w;
    nd_writer_opts o = ND_WRITER_OPTS_INIT;
    o.merge_factor = 1;
    assert_int_equal(nd_writer_open(&w, dir, &o), ND_OK);
    for (unsigned i = 0; i < N_FIRST; i++)
        add_article(w, i);
    assert_int_equal(nd_writer_commit(w), ND_OK);
    for (unsigned i = N_FIRST; i < N_FIRST + N_SECOND; i++)
        add_article(w, i);
    assert_int_equal(nd_writer_delete(w, "a7", 2), ND_OK);
    assert_int_equal(nd_writer_delete(w, "a301", 4), ND_OK);
    assert_int_equal(nd_writer_commit(w), ND_OK);
    nd_writer_free(w);
    return dir;
}

/* ---- running the check -------------------------------------------------- */

typedef struct outcome {
    nd_check_summary sum;
    size_t listed;
    int matched; /* problems matching the wanted file and text */
} outcome;

/* Runs nd_check (which must succeed), checks the report is well formed,
 * and counts the problems in `file` (NULL: any) whose message contains
 * `text` (NULL: any). */
static outcome check_dir(const char *dir, const char *file, const char *text)
{
    outcome o;
    memset(&o, 0, sizeof o);
    nd_check_report *r = NULL;
    char err[256];
    int rc = nd_check(&r, dir, NULL, err, sizeof err);
    if (rc != ND_OK)
        fail_msg("nd_check: %d %s", rc, err);
    nd_check_summary_get(r, &o.sum);
    o.listed = nd_check_count(r);
    assert_true(o.listed <= 100);
    assert_true(o.listed <= o.sum.errors + o.sum.warnings);
    for (size_t i = 0; i < o.listed; i++) {
        nd_check_problem p;
        assert_int_equal(nd_check_problem_get(r, i, &p), ND_OK);
        assert_true(p.severity == ND_CHECK_ERROR || p.severity == ND_CHECK_WARNING);
        assert_non_null(p.file);
        assert_non_null(p.message);
        assert_true(strlen(p.message) > 0);
        assert_null(strchr(p.message, '\n'));
        if ((!file || strcmp(p.file, file) == 0) && (!text || strstr(p.message, text)))
            o.matched++;
        if (getenv("ND_CHECK_VERBOSE"))
            printf("  %s %s @%lld: %s\n", p.severity == ND_CHECK_ERROR ? "E" : "W", p.file,
                   p.offset == ND_CHECK_NONE ? -1LL : (long long)p.offset, p.message);
    }
    nd_check_problem p;
    assert_int_equal(nd_check_problem_get(r, o.listed, &p), ND_EINVAL);
    nd_check_report_free(r);
    return o;
}

static uint64_t errors_of(const char *dir)
{
    return check_dir(dir, NULL, NULL).sum.errors;
}

/* Asserts at least one error, one of them in `file` mentioning `text`. */
static void expect_error(const char *dir, const char *file, const char *text, const char *what)
{
    outcome o = check_dir(dir, file, text);
    if (o.sum.errors == 0 || (o.matched == 0 && o.listed == o.sum.errors + o.sum.warnings))
        fail_msg("%s: %llu errors, none in %s saying \"%s\"", what,
                 (unsigned long long)o.sum.errors, file ? file : "any file", text ? text : "");
}

/* ---- file surgery ----------------------------------------------------------- */

static const char *const EXTS[FILE_KINDS] = {"tdx", "doc", "pos", "col", "sto"};

static void seg_path(char *buf, size_t n, const char *dir, int seg, int kind)
{
    snprintf(buf, n, "%s/seg-%d.%s", dir, seg, EXTS[kind]);
}

static uint8_t *load(const char *path, size_t *n)
{
    uint8_t *p = (uint8_t *)tu_read_file(path, n);
    assert_non_null(p);
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

/* Writes the image of file kind of segment seg, whose header and body
 * (body_len bytes) are in img, with a recomputed frame (chunk table and
 * footer; img has room for them), and records its size and CRC in the
 * catalog: damage only the structure checks can see. */
static void write_consistent(const char *dir, int seg, int kind, uint8_t *img, size_t body_len)
{
    size_t n = tf_frame(img, body_len);
    uint32_t crc = ld_u32(img + n - FRAME_FOOTER + 8);
    char path[4200], q[256];
    seg_path(path, sizeof path, dir, seg, kind);
    tu_write_file(path, img, n);
    snprintf(q, sizeof q, "UPDATE segments SET %s_size = %zu, %s_crc = %u WHERE number = %d",
             EXTS[kind], n, EXTS[kind], crc, seg);
    sql(dir, q);
}

/* A copy of the index to damage, and how to put it back. */
typedef struct saved {
    char path[FILE_KINDS + 1][4200];
    uint8_t *data[FILE_KINDS + 1];
    size_t len[FILE_KINDS + 1];
} saved;

/* The body length of saved file k (what its footer says). */
static size_t body_of(const saved *sv, int k)
{
    return tf_body_end(sv->data[k], sv->len[k]) - FRAME_HEADER;
}

static void save(saved *s, const char *dir)
{
    for (int k = 0; k <= FILE_KINDS; k++) {
        if (k < FILE_KINDS)
            seg_path(s->path[k], sizeof s->path[k], dir, 1, k);
        else
            snprintf(s->path[k], sizeof s->path[k], "%s/catalog.db", dir);
        s->data[k] = load(s->path[k], &s->len[k]);
    }
}

static void restore(const saved *s, const char *dir)
{
    for (int k = 0; k <= FILE_KINDS; k++)
        tu_write_file(s->path[k], s->data[k], s->len[k]);
    char p[4300];
    snprintf(p, sizeof p, "%s/catalog.db-wal", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/catalog.db-shm", dir);
    unlink(p);
    assert_int_equal(errors_of(dir), 0);
}

static void unsave(saved *s)
{
    for (int k = 0; k <= FILE_KINDS; k++)
        free(s->data[k]);
}

/* The files in dir, sorted, one string. */
static void listing(const char *dir, char *out, size_t n)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls -a '%s'", dir);
    char *o = NULL;
    assert_int_equal(tu_run(cmd, &o, NULL), 0);
    snprintf(out, n, "%s", o);
    free(o);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_check_clean_index(void **state)
{
    (void)state;
    char *dir = build_index();
    char before[4096], after[4096];
    listing(dir, before, sizeof before);
    outcome o = check_dir(dir, NULL, NULL);
    assert_int_equal(o.sum.errors, 0);
    assert_int_equal(o.sum.warnings, 0);
    assert_int_equal(o.listed, 0);
    assert_int_equal(o.sum.segments, 2);
    assert_int_equal(o.sum.docs, N_FIRST + N_SECOND - 2);
    assert_int_equal(o.sum.deleted, 2);
    assert_int_equal(o.sum.stored, N_FIRST + N_SECOND);
    assert_int_equal(o.sum.generation, 2);
    /* what the checker read agrees with what readers see */
    nd_index *ix;
    assert_int_equal(nd_index_open(&ix, dir, NULL, NULL, 0), ND_OK);
    nd_index_stats st;
    nd_index_stats_get(ix, &st);
    assert_int_equal(o.sum.terms, st.terms);
    assert_int_equal(o.sum.bytes, st.bytes_terms + st.bytes_postings + st.bytes_positions +
                                      st.bytes_columns + st.bytes_stored);
    /* every document has an id, a title, a body; "news" is in each at least once */
    assert_true(o.sum.postings > 3 * (uint64_t)(N_FIRST + N_SECOND));
    assert_true(o.sum.positions >= o.sum.postings);
    /* the test data has what the checks are about: multi-block postings */
    term_info ti;
    nd_err e = {{0}};
    assert_int_equal(segment_term(&ix->segs[0], (const uint8_t *)"\x01news", 5, &ti, &e), ND_OK);
    assert_true(ti.df > 2 * ND_BLOCK);
    assert_true(ix->segs[0].n_sblocks >= 2);
    nd_index_free(ix);
    /* a read-only check leaves the directory as it was */
    listing(dir, after, sizeof after);
    assert_string_equal(before, after);
    /* while a writer holds the lock */
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    assert_int_equal(errors_of(dir), 0);
    nd_writer_free(w);
    tu_rmrf(dir);
    free(dir);
}

static void test_check_arguments_and_missing_index(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    nd_check_report *r = (nd_check_report *)1;
    char err[256];
    assert_int_equal(nd_check(&r, dir, NULL, err, sizeof err), ND_ENOTFOUND);
    assert_null(r);
    assert_true(strlen(err) > 0);
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/nothing-here", dir);
    assert_int_equal(nd_check(&r, sub, NULL, NULL, 0), ND_ENOTFOUND);
    assert_int_equal(access(sub, F_OK), -1); /* not created */
    assert_int_equal(nd_check(NULL, dir, NULL, NULL, 0), ND_EINVAL);
    assert_int_equal(nd_check(&r, NULL, NULL, NULL, 0), ND_EINVAL);
    nd_check_opts o = ND_CHECK_OPTS_INIT;
    o.version = 99;
    assert_int_equal(nd_check(&r, dir, &o, NULL, 0), ND_EINVAL);
    nd_check_report_free(NULL);
    assert_int_equal(nd_check_count(NULL), 0);
    tu_rmrf(dir);
    free(dir);
}

static void test_check_layout1_index(void **state)
{
    (void)state;
    outcome o = check_dir(ND_SOURCE_DIR "/tests/data/golden-v1", NULL, NULL);
    assert_int_equal(o.sum.errors, 0);
    assert_true(o.sum.segments >= 1);
    assert_true(o.sum.postings > 0);
    assert_int_equal(o.sum.stored, o.sum.docs);
}

/* Bit flips anywhere: the checksums see them. */
static void test_check_bit_flips(void **state)
{
    (void)state;
    char *dir = build_index();
    saved sv;
    save(&sv, dir);
    for (int k = 0; k < FILE_KINDS; k++) {
        size_t n = sv.len[k];
        size_t offs[] = {0, 4, 6, 9, n / 3, n / 2, n - 20, n - 16, n - 8, n - 1};
        for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
            uint8_t *img = malloc(n);
            memcpy(img, sv.data[k], n);
            img[offs[i]] ^= (uint8_t)(1u << (i % 8));
            tu_write_file(sv.path[k], img, n);
            char what[64];
            snprintf(what, sizeof what, "%s bit flip at %zu", EXTS[k], offs[i]);
            char name[32];
            snprintf(name, sizeof name, "seg-1.%s", EXTS[k]);
            expect_error(dir, name, NULL, what);
            free(img);
        }
        tu_write_file(sv.path[k], sv.data[k], n);
    }
    assert_int_equal(errors_of(dir), 0);
    unsave(&sv);
    tu_rmrf(dir);
    free(dir);
}

/* Truncated, emptied, missing and grown files. */
static void test_check_truncation_and_missing_files(void **state)
{
    (void)state;
    char *dir = build_index();
    saved sv;
    save(&sv, dir);
    for (int k = 0; k < FILE_KINDS; k++) {
        char name[32];
        snprintf(name, sizeof name, "seg-1.%s", EXTS[k]);
        size_t cuts[] = {0, 10, 24, sv.len[k] / 2, sv.len[k] - 1};
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            tu_write_file(sv.path[k], sv.data[k], cuts[i]);
            expect_error(dir, name, NULL, "truncated");
        }
        unlink(sv.path[k]);
        expect_error(dir, name, "missing", "missing file");
        uint8_t *img = malloc(sv.len[k] + 5);
        memcpy(img, sv.data[k], sv.len[k]);
        memcpy(img + sv.len[k], "extra", 5);
        tu_write_file(sv.path[k], img, sv.len[k] + 5);
        expect_error(dir, name, "size", "grown file");
        free(img);
        tu_write_file(sv.path[k], sv.data[k], sv.len[k]);
    }
    restore(&sv, dir);
    unsave(&sv);
    tu_rmrf(dir);
    free(dir);
}

/* Offset just after n varints from p. */
static size_t skip_varints(const uint8_t *img, size_t off, int n)
{
    const uint8_t *p = img + off;
    uint64_t v;
    for (int i = 0; i < n; i++)
        assert_int_equal(varint_get(&p, p + 10, &v), 0);
    return (size_t)(p - img);
}

/* One byte varint at off, replaced by v (which must fit in one byte too). */
static void poke_varint(uint8_t *img, size_t off, uint8_t v)
{
    assert_true(img[off] < 0x80 && v < 0x80);
    img[off] = v;
}

/* Damage whose checksums are recomputed, aimed at what each check sees;
 * several of these are invariants the readers do not check at all. */
static void test_check_damage_past_checksums(void **state)
{
    (void)state;
    char *dir = build_index();
    saved sv;
    save(&sv, dir);
    nd_index *ix;
    assert_int_equal(nd_index_open(&ix, dir, NULL, NULL, 0), ND_OK);
    const segment *s = &ix->segs[0];
    assert_int_equal(s->meta.number, 1);
    nd_err e = {{0}};
    term_info news;
    assert_int_equal(segment_term(s, (const uint8_t *)"\x01news", 5, &news, &e), ND_OK);
    uint32_t D = s->docs, nsb = s->n_sblocks;
    uint64_t tblock0 = s->tblock_off[0];
    nd_index_free(ix);
    uint8_t *img;
    size_t n;

    /* .col: a title length one more than its terms' tf */
    n = sv.len[3];
    img = malloc(n);
    memcpy(img, sv.data[3], n);
    st_u32(img + 40, ld_u32(img + 40) + 1);
    write_consistent(dir, 1, 3, img, body_of(&sv, 3));
    expect_error(dir, "seg-1.col", "title length of document 0", ".col length");
    restore(&sv, dir);
    /* .col: the body total */
    memcpy(img, sv.data[3], n);
    st_u64(img + 24, ld_u64(img + 24) + 5);
    write_consistent(dir, 1, 3, img, body_of(&sv, 3));
    expect_error(dir, "seg-1.col", "total body length", ".col total");
    restore(&sv, dir);
    /* .col: the document count */
    memcpy(img, sv.data[3], n);
    st_u32(img + 8, D + 1);
    write_consistent(dir, 1, 3, img, body_of(&sv, 3));
    expect_error(dir, "seg-1.col", NULL, ".col document count");
    restore(&sv, dir);
    free(img);

    /* .tdx: cf of the first term (cf - df is its entry's 4th varint after
     * the key) */
    n = sv.len[0];
    img = malloc(n);
    memcpy(img, sv.data[0], n);
    size_t at = skip_varints(img, (size_t)tblock0, 3); /* doc_off, pos_off, shared */
    const uint8_t *p = img + at;
    uint64_t suffix;
    assert_int_equal(varint_get(&p, p + 10, &suffix), 0);
    at = (size_t)(p - img) + suffix;
    at = skip_varints(img, at, 1); /* df */
    poke_varint(img, at, (uint8_t)(img[at] + 1));
    write_consistent(dir, 1, 0, img, body_of(&sv, 0));
    expect_error(dir, "seg-1.tdx", "cf", ".tdx cf");
    restore(&sv, dir);
    /* .tdx: the trailer's term count */
    memcpy(img, sv.data[0], n);
    size_t trailer = FRAME_HEADER + body_of(&sv, 0) - 24;
    st_u64(img + trailer, ld_u64(img + trailer) + 1);
    write_consistent(dir, 1, 0, img, body_of(&sv, 0));
    expect_error(dir, "seg-1.tdx", NULL, ".tdx term count");
    restore(&sv, dir);
    free(img);

    /* .doc: max_tf in the skip entry of block 0 of body:"news" */
    n = sv.len[1];
    img = malloc(n + 16);
    memcpy(img, sv.data[1], n);
    at = skip_varints(img, (size_t)news.doc_off, 3);
    poke_varint(img, at, (uint8_t)(img[at] + 1));
    write_consistent(dir, 1, 1, img, body_of(&sv, 1));
    expect_error(dir, "seg-1.doc", "max_tf", ".doc max_tf");
    restore(&sv, dir);
    /* .doc: min_len of the same entry */
    memcpy(img, sv.data[1], n);
    at = skip_varints(img, (size_t)news.doc_off, 4);
    poke_varint(img, at, (uint8_t)(img[at] ? img[at] - 1 : 1));
    write_consistent(dir, 1, 1, img, body_of(&sv, 1));
    expect_error(dir, "seg-1.doc", "min_len", ".doc min_len");
    restore(&sv, dir);
    /* .doc: bytes after the last term's postings */
    memcpy(img, sv.data[1], FRAME_HEADER + body_of(&sv, 1));
    memcpy(img + FRAME_HEADER + body_of(&sv, 1), "garbage!", 8);
    write_consistent(dir, 1, 1, img, body_of(&sv, 1) + 8);
    expect_error(dir, "seg-1.doc", "belong to no term", ".doc trailing bytes");
    restore(&sv, dir);
    free(img);

    /* .pos: bytes after the last term's positions */
    n = sv.len[2];
    img = malloc(n + 16);
    memcpy(img, sv.data[2], FRAME_HEADER + body_of(&sv, 2));
    memcpy(img + FRAME_HEADER + body_of(&sv, 2), "garbage!", 8);
    write_consistent(dir, 1, 2, img, body_of(&sv, 2) + 8);
    expect_error(dir, "seg-1.pos", "belong to no term", ".pos trailing bytes");
    restore(&sv, dir);
    /* .pos: the positions of body:"news" cut short by one byte */
    memcpy(img, sv.data[2], n);
    memmove(img + news.pos_off + news.pos_len - 1, img + news.pos_off + news.pos_len,
            n - (news.pos_off + news.pos_len));
    write_consistent(dir, 1, 2, img, body_of(&sv, 2) - 1);
    expect_error(dir, NULL, NULL, ".pos one byte removed");
    restore(&sv, dir);
    free(img);

    /* .sto: block 1 claims to start one document later: block 0 then holds
     * one record more than its documents */
    n = sv.len[4];
    img = malloc(n);
    memcpy(img, sv.data[4], n);
    assert_true(nsb >= 2);
    size_t idx = FRAME_HEADER + body_of(&sv, 4) - 4 - 20 * (size_t)nsb;
    st_u32(img + idx + 20 + 16, ld_u32(img + idx + 20 + 16) + 1);
    write_consistent(dir, 1, 4, img, body_of(&sv, 4));
    expect_error(dir, "seg-1.sto", "records", ".sto first document");
    restore(&sv, dir);
    /* .sto: uncompressed length of block 0 */
    memcpy(img, sv.data[4], n);
    st_u32(img + idx + 12, ld_u32(img + idx + 12) - 1);
    write_consistent(dir, 1, 4, img, body_of(&sv, 4));
    expect_error(dir, "seg-1.sto", "stored block 0", ".sto length");
    restore(&sv, dir);
    /* .sto: a byte inside the first zlib stream */
    memcpy(img, sv.data[4], n);
    img[FRAME_HEADER + 100] ^= 0x10;
    write_consistent(dir, 1, 4, img, body_of(&sv, 4));
    expect_error(dir, "seg-1.sto", "stored block 0", ".sto zlib data");
    restore(&sv, dir);
    free(img);

    unsave(&sv);
    tu_rmrf(dir);
    free(dir);
}

/* Chunk tables (FORMAT.md section 3): a file whose whole-file CRC and
 * catalog entry agree with its bytes, but whose chunk table does not, is
 * damage the check reports; so is a damaged table. */
static void test_check_chunk_tables(void **state)
{
    (void)state;
    char *dir = build_index();
    saved sv;
    save(&sv, dir);
    for (int k = 0; k < FILE_KINDS; k++) {
        if (k == FILE_COL)
            continue; /* checked whole: no table */
        size_t n = sv.len[k], body = body_of(&sv, k);
        uint8_t *img = malloc(n);
        assert_true(n > FRAME_HEADER + body + 8);
        /* a body byte changed, the table left as it was */
        memcpy(img, sv.data[k], n);
        img[FRAME_HEADER + body / 2] ^= 0x04;
        uint8_t table[64 * 1024];
        size_t tl = n - FRAME_FOOTER - (FRAME_HEADER + body);
        assert_true(tl <= sizeof table);
        memcpy(table, img + FRAME_HEADER + body, tl);
        write_consistent(dir, 1, k, img, body); /* recomputes the table... */
        memcpy(img + FRAME_HEADER + body, table, tl); /* ...which is put back */
        uint32_t crc = (uint32_t)crc32(0, img, (uInt)(n - FRAME_FOOTER));
        st_u32(img + n - FRAME_FOOTER + 8, crc);
        char path[4200], q[256];
        seg_path(path, sizeof path, dir, 1, k);
        tu_write_file(path, img, n);
        snprintf(q, sizeof q, "UPDATE segments SET %s_crc = %u WHERE number = 1", EXTS[k], crc);
        sql(dir, q);
        char name[32];
        snprintf(name, sizeof name, "seg-1.%s", EXTS[k]);
        /* reported as such (the changed byte may break structure too) */
        outcome o = check_dir(dir, name, "do not match their CRC-32 in the chunk table");
        assert_int_equal(o.matched, 1);
        restore(&sv, dir);
        /* a chunk's CRC changed in the table, the table's own CRC not */
        memcpy(img, sv.data[k], n);
        img[FRAME_HEADER + body] ^= 0x01;
        crc = (uint32_t)crc32(0, img, (uInt)(n - FRAME_FOOTER));
        st_u32(img + n - FRAME_FOOTER + 8, crc);
        tu_write_file(path, img, n);
        snprintf(q, sizeof q, "UPDATE segments SET %s_crc = %u WHERE number = 1", EXTS[k], crc);
        sql(dir, q);
        o = check_dir(dir, name, "chunk table is");
        assert_true(o.matched == 1 && o.sum.errors == 2); /* the table, and chunk 0 */
        /* readers refuse the table when they open the file */
        nd_index *ix = NULL;
        char err[256];
        assert_int_equal(nd_index_open(&ix, dir, NULL, err, sizeof err), ND_ECORRUPT);
        assert_non_null(strstr(err, "chunk table checksum mismatch"));
        restore(&sv, dir);
        free(img);
    }
    unsave(&sv);
    tu_rmrf(dir);
    free(dir);
}

/* A merge reads every chunk of its sources, so a damaged one stops it
 * (ND_ECORRUPT) instead of being copied into a segment with new checksums;
 * the committed index is untouched. */
static void test_check_merge_stops_at_damage(void **state)
{
    (void)state;
    char *dir = build_index();
    saved sv;
    save(&sv, dir);
    /* the last postings byte of seg-1 */
    size_t at = FRAME_HEADER + body_of(&sv, FILE_DOC) - 1;
    sv.data[FILE_DOC][at] ^= 0x01;
    tu_write_file(sv.path[FILE_DOC], sv.data[FILE_DOC], sv.len[FILE_DOC]);
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    assert_int_equal(nd_writer_merge(w, 1), ND_ECORRUPT);
    assert_non_null(strstr(nd_writer_errmsg(w), "seg-1.doc: checksum mismatch"));
    nd_writer_free(w);
    outcome o = check_dir(dir, "seg-1.doc", "chunk table");
    assert_int_equal(o.matched, 1);
    assert_int_equal(o.sum.segments, 2); /* the merge did not commit */
    sv.data[FILE_DOC][at] ^= 0x01;
    restore(&sv, dir);
    unsave(&sv);
    tu_rmrf(dir);
    free(dir);
}

/* Files of format version 1 (no chunk tables, checked whole when opened),
 * as an earlier library wrote them, in the same index as version 2 files:
 * read, checked, and rewritten at version 2 by a merge. .doc stays at its
 * version: its bitmap blocks (version 3) have no earlier form; a version 2
 * .doc holding one is damage. */
static void test_check_version1_files(void **state)
{
    (void)state;
    char *dir = build_index();
    nd_index *ix;
    nd_search *s;
    nd_hits *h;
    assert_int_equal(nd_index_open(&ix, dir, NULL, NULL, 0), ND_OK);
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    assert_int_equal(nd_search_run(s, &h, "news oil", 20, NULL), ND_OK);
    uint64_t total = nd_hits_total(h);
    nd_hit hit;
    assert_int_equal(nd_hits_get(h, 0, &hit), ND_OK);
    double best = hit.score;
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
    /* seg-1's files at version 1: the body alone, then the footer */
    char path[4200];
    size_t n;
    seg_path(path, sizeof path, dir, 1, FILE_DOC);
    uint8_t *img = load(path, &n);
    assert_int_equal(ld_u16(img + 4), DOC_VERSION);
    st_u16(img + 4, DOC_VERSION - 1);
    write_consistent(dir, 1, FILE_DOC, img, tf_body_end(img, n) - FRAME_HEADER);
    outcome o = check_dir(dir, "seg-1.doc", "bad bitmap block");
    assert_true(o.matched > 0);
    st_u16(img + 4, DOC_VERSION);
    write_consistent(dir, 1, FILE_DOC, img, tf_body_end(img, n) - FRAME_HEADER);
    free(img);
    for (int k = 0; k < FILE_KINDS; k++) {
        if (k == FILE_COL || k == FILE_DOC)
            continue;
        seg_path(path, sizeof path, dir, 1, k);
        img = load(path, &n);
        assert_int_equal(ld_u16(img + 4), ND_FORMAT_VERSION);
        st_u16(img + 4, 1);
        write_consistent(dir, 1, k, img, tf_body_end(img, n) - FRAME_HEADER);
        free(img);
    }
    assert_int_equal(errors_of(dir), 0);
    assert_int_equal(nd_index_open(&ix, dir, NULL, NULL, 0), ND_OK);
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    assert_int_equal(nd_search_run(s, &h, "news oil", 20, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), total);
    assert_int_equal(nd_hits_get(h, 0, &hit), ND_OK);
    assert_true(hit.score == best);
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
    /* a version 1 file is checked whole when it is opened */
    saved sv;
    save(&sv, dir);
    sv.data[FILE_POS][FRAME_HEADER + body_of(&sv, FILE_POS) / 2] ^= 0x10;
    tu_write_file(sv.path[FILE_POS], sv.data[FILE_POS], sv.len[FILE_POS]);
    char err[256];
    assert_int_equal(nd_index_open(&ix, dir, NULL, err, sizeof err), ND_ECORRUPT);
    assert_non_null(strstr(err, "seg-1.pos: checksum mismatch"));
    sv.data[FILE_POS][FRAME_HEADER + body_of(&sv, FILE_POS) / 2] ^= 0x10;
    restore(&sv, dir);
    unsave(&sv);
    /* a merge reads them and writes version 2 */
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_OK);
    assert_int_equal(nd_writer_merge(w, 1), ND_OK);
    nd_writer_free(w);
    assert_int_equal(errors_of(dir), 0);
    assert_int_equal(nd_index_open(&ix, dir, NULL, NULL, 0), ND_OK);
    assert_int_equal(ix->man.n_segs, 1);
    assert_int_equal(ld_u16(ix->segs[0].map[FILE_DOC].data + 4), DOC_VERSION);
    assert_int_equal(ld_u16(ix->segs[0].map[FILE_POS].data + 4), ND_FORMAT_VERSION);
    assert_non_null(ix->segs[0].sums[FILE_POS].tab);
    assert_int_equal(nd_search_open(&s, ix), ND_OK);
    assert_int_equal(nd_search_run(s, &h, "news oil", 20, NULL), ND_OK);
    assert_int_equal(nd_hits_total(h), total);
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}

/* Random damage with recomputed checksums, in every file: never a crash, and
 * in the files whose every byte is structure, always seen. */
static void test_check_random_damage_past_checksums(void **state)
{
    (void)state;
    char *dir = build_index();
    saved sv;
    save(&sv, dir);
    uint64_t seed = 0x5eedc0de;
    int trials = 40;
    for (int k = 0; k < FILE_KINDS; k++) {
        int seen = 0;
        size_t n = sv.len[k];
        uint8_t *img = malloc(n);
        for (int t = 0; t < trials; t++) {
            memcpy(img, sv.data[k], n);
            size_t body = body_of(&sv, k);
            int flips = 1 + (int)(tu_rand(&seed) % 3);
            for (int f = 0; f < flips; f++)
                img[FRAME_HEADER + tu_rand(&seed) % body] ^= (uint8_t)(1 + tu_rand(&seed) % 255);
            write_consistent(dir, 1, k, img, body_of(&sv, k));
            seen += errors_of(dir) > 0;
            restore(&sv, dir);
        }
        printf("seg-1.%s: %d of %d damaged images with valid checksums reported\n", EXTS[k],
               seen, trials);
        /* a change to .doc, .tdx or .sto nearly always breaks a checked
         * invariant (postings against lengths and keyword counts, keys and
         * offsets, a zlib checksum); .col dates and some position gaps can
         * change without breaking any */
        if (k == 0 || k == 1 || k == 4)
            assert_true(seen >= trials * 9 / 10);
        else
            assert_true(seen > trials / 2);
        free(img);
    }
    unsave(&sv);
    tu_rmrf(dir);
    free(dir);
}

static void test_check_catalog_damage(void **state)
{
    (void)state;
    char *dir = build_index();
    saved sv;
    save(&sv, dir);
    static const struct {
        const char *sql, *text;
    } rows[] = {
        {"UPDATE segments SET docs = docs + 1 WHERE number = 1", NULL},
        {"UPDATE segments SET docs = -3 WHERE number = 1", "docs"},
        {"UPDATE segments SET deleted = deleted + 1 WHERE number = 1", "bits set"},
        {"UPDATE segments SET deletions = NULL WHERE number = 1", "bitmap"},
        {"UPDATE segments SET deletions = x'00' WHERE number = 1", "bitmap"},
        {"UPDATE segments SET deletions = zeroblob(length(deletions)) WHERE number = 1",
         "bits set"},
        /* segment 2 has 40 documents: bit 40 is past its last one */
        {"UPDATE segments SET deletions = x'0000000000010000' WHERE number = 2", "past the last"},
        {"UPDATE segments SET tdx_crc = tdx_crc + 1 WHERE number = 1", "catalog"},
        {"UPDATE segments SET sto_size = sto_size - 1 WHERE number = 1", "size"},
        {"UPDATE segments SET pos_size = 'big' WHERE number = 1", "integer"},
        {"UPDATE segments SET number = 9 WHERE number = 1", "missing"},
        {"UPDATE state SET next_segment = 2", "next_segment"},
        {"UPDATE state SET generation = 0", "generation"},
        {"DELETE FROM state", "state"},
        {"PRAGMA application_id = 7", "application_id"},
        {"ALTER TABLE segments DROP COLUMN sto_crc", "sto_crc"},
        {"DROP TABLE segments", "segments"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        sql(dir, rows[i].sql);
        expect_error(dir, NULL, rows[i].text, rows[i].sql);
        restore(&sv, dir);
    }
    /* the history row is informative: a warning */
    sql(dir, "UPDATE commits SET docs = docs + 1 WHERE generation = 2");
    outcome o = check_dir(dir, "catalog.db", "commits");
    assert_int_equal(o.sum.errors, 0);
    assert_int_equal(o.sum.warnings, 1);
    assert_int_equal(o.matched, 1);
    restore(&sv, dir);
    /* another catalog version cannot be checked; a catalog without its
     * first commit is no index */
    nd_check_report *r;
    sql(dir, "PRAGMA user_version = 7");
    assert_int_equal(nd_check(&r, dir, NULL, NULL, 0), ND_EVERSION);
    restore(&sv, dir);
    sql(dir, "PRAGMA user_version = 0");
    assert_int_equal(nd_check(&r, dir, NULL, NULL, 0), ND_ENOTFOUND);
    restore(&sv, dir);
    /* raw damage: the SQLite header, a page in the middle, a cut file */
    size_t n = sv.len[FILE_KINDS];
    uint8_t *img = malloc(n);
    memcpy(img, sv.data[FILE_KINDS], n);
    memset(img, 'x', 16);
    tu_write_file(sv.path[FILE_KINDS], img, n);
    expect_error(dir, "catalog.db", NULL, "catalog header");
    memcpy(img, sv.data[FILE_KINDS], n);
    memset(img + 4096, 0xff, 64); /* page 2: a b-tree page header */
    tu_write_file(sv.path[FILE_KINDS], img, n);
    expect_error(dir, "catalog.db", NULL, "catalog page");
    tu_write_file(sv.path[FILE_KINDS], sv.data[FILE_KINDS], n / 2);
    expect_error(dir, "catalog.db", NULL, "catalog cut in half");
    free(img);
    restore(&sv, dir);
    unsave(&sv);
    tu_rmrf(dir);
    free(dir);
}

/* Files the commit does not name: warnings, not errors. */
static void test_check_stray_files(void **state)
{
    (void)state;
    char *dir = build_index();
    char p[4200];
    snprintf(p, sizeof p, "%s/seg-77.tdx", dir);
    tu_write_file(p, "half", 4);
    snprintf(p, sizeof p, "%s/seg-1.tdx.bak", dir); /* not a segment file name */
    tu_write_file(p, "x", 1);
    outcome o = check_dir(dir, "seg-77.tdx", "not part of the last commit");
    assert_int_equal(o.sum.errors, 0);
    assert_int_equal(o.sum.warnings, 1);
    assert_int_equal(o.matched, 1);
    tu_rmrf(dir);
    free(dir);
}

/* Many problems: all counted, the first ones kept. */
static void test_check_problem_limit(void **state)
{
    (void)state;
    char *dir = build_index();
    for (int i = 100; i < 130; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/seg-%d.doc", dir, i);
        tu_write_file(p, "", 0);
    }
    nd_check_report *r;
    nd_check_opts o = ND_CHECK_OPTS_INIT;
    o.max_problems = 7;
    assert_int_equal(nd_check(&r, dir, &o, NULL, 0), ND_OK);
    nd_check_summary s;
    nd_check_summary_get(r, &s);
    assert_int_equal(nd_check_count(r), 7);
    assert_int_equal(s.warnings, 30);
    nd_check_report_free(r);
    tu_rmrf(dir);
    free(dir);
}

/* ---- the CLI ------------------------------------------------------------------ */

/* A small JSON validator: 0 if s is exactly one JSON value. */
static const char *json_value(const char *s);

static const char *json_ws(const char *s)
{
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    return s;
}

static const char *json_string(const char *s)
{
    if (*s++ != '"')
        return NULL;
    while (*s && *s != '"') {
        if ((unsigned char)*s < 0x20)
            return NULL;
        if (*s == '\\') {
            s++;
            if (*s == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
                        return NULL;
                s += 4;
            } else if (!*s || !strchr("\"\\/bfnrt", *s)) {
                return NULL;
            }
        }
        s++;
    }
    return *s == '"' ? s + 1 : NULL;
}

static const char *json_value(const char *s)
{
    s = json_ws(s);
    if (*s == '{' || *s == '[') {
        char close = *s == '{' ? '}' : ']';
        int obj = *s == '{';
        s = json_ws(s + 1);
        if (*s == close)
            return s + 1;
        for (;;) {
            if (obj) {
                s = json_string(json_ws(s));
                if (!s || *(s = json_ws(s)) != ':')
                    return NULL;
                s++;
            }
            if (!(s = json_value(s)))
                return NULL;
            s = json_ws(s);
            if (*s == close)
                return s + 1;
            if (*s++ != ',')
                return NULL;
        }
    }
    if (*s == '"')
        return json_string(s);
    if (!strncmp(s, "true", 4) || !strncmp(s, "null", 4))
        return s + 4;
    if (!strncmp(s, "false", 5))
        return s + 5;
    const char *st = s;
    if (*s == '-')
        s++;
    while (*s >= '0' && *s <= '9')
        s++;
    return s > st ? s : NULL;
}

static int json_valid(const char *s)
{
    const char *e = s ? json_value(s) : NULL;
    return e && *json_ws(e) == 0;
}

static void test_check_cli(void **state)
{
    (void)state;
    char *dir = build_index();
    char cmd[8400], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "'%s' check '%s'", ND_SEARCH_BIN, dir);
    assert_int_equal(tu_run(cmd, &out, NULL), 0);
    assert_non_null(strstr(out, "ok: 2 segments, 338 articles"));
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' check '%s' --json", ND_SEARCH_BIN, dir);
    assert_int_equal(tu_run(cmd, &out, NULL), 0);
    assert_true(json_valid(out));
    assert_non_null(strstr(out, "\"ok\":true"));
    assert_non_null(strstr(out, "\"problems\":[]"));
    free(out);

    /* damage: exit 1, one line per problem, a summary; valid JSON */
    char p[4200];
    seg_path(p, sizeof p, dir, 2, 1);
    size_t n;
    uint8_t *img = load(p, &n), *bad = malloc(n);
    memcpy(bad, img, n);
    bad[n / 2] ^= 0x40;
    tu_write_file(p, bad, n);
    snprintf(p, sizeof p, "%s/seg-9.sto", dir);
    tu_write_file(p, "", 0);
    snprintf(cmd, sizeof cmd, "'%s' check '%s'", ND_SEARCH_BIN, dir);
    assert_int_equal(tu_run(cmd, &out, NULL), 1);
    assert_non_null(strstr(out, "error: seg-2.doc@"));
    assert_non_null(strstr(out, "warning: seg-9.sto: not part of the last commit"));
    assert_non_null(strstr(out, "in 2 segments"));
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' check '%s' --json", ND_SEARCH_BIN, dir);
    assert_int_equal(tu_run(cmd, &out, NULL), 1);
    assert_true(json_valid(out));
    assert_non_null(strstr(out, "\"ok\":false"));
    assert_non_null(strstr(out, "\"file\":\"seg-2.doc\",\"segment\":2,\"offset\":"));
    assert_non_null(strstr(out, "\"severity\":\"warning\",\"file\":\"seg-9.sto\""));
    free(out);
    /* a damaged catalog: still a report, still valid JSON */
    snprintf(p, sizeof p, "%s/catalog.db", dir);
    size_t cn;
    char *cat = tu_read_file(p, &cn);
    assert_non_null(cat);
    memset(cat, 0, 16);
    tu_write_file(p, cat, cn);
    free(cat);
    assert_int_equal(tu_run(cmd, &out, NULL), 1);
    assert_true(json_valid(out));
    free(out);
    free(img);
    free(bad);

    /* usage, help, no index */
    snprintf(cmd, sizeof cmd, "'%s' check", ND_SEARCH_BIN);
    assert_int_equal(tu_run(cmd, NULL, NULL), 2);
    snprintf(cmd, sizeof cmd, "'%s' check '%s' --frobnicate", ND_SEARCH_BIN, dir);
    assert_int_equal(tu_run(cmd, NULL, NULL), 2);
    snprintf(cmd, sizeof cmd, "'%s' check '%s' '%s'", ND_SEARCH_BIN, dir, dir);
    assert_int_equal(tu_run(cmd, NULL, NULL), 2);
    snprintf(cmd, sizeof cmd, "'%s' check --help", ND_SEARCH_BIN);
    assert_int_equal(tu_run(cmd, &out, NULL), 0);
    assert_non_null(strstr(out, "usage: search check DIR"));
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' --help", ND_SEARCH_BIN);
    assert_int_equal(tu_run(cmd, &out, NULL), 0);
    assert_non_null(strstr(out, "check DIR"));
    free(out);
    char *empty = tu_mkdtemp();
    snprintf(cmd, sizeof cmd, "'%s' check '%s'", ND_SEARCH_BIN, empty);
    assert_int_equal(tu_run(cmd, NULL, &err), 4);
    assert_non_null(strstr(err, "no index"));
    free(err);
    tu_rmrf(empty);
    free(empty);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_clean_index),
        cmocka_unit_test(test_check_arguments_and_missing_index),
        cmocka_unit_test(test_check_layout1_index),
        cmocka_unit_test(test_check_bit_flips),
        cmocka_unit_test(test_check_truncation_and_missing_files),
        cmocka_unit_test(test_check_damage_past_checksums),
        cmocka_unit_test(test_check_random_damage_past_checksums),
        cmocka_unit_test(test_check_chunk_tables),
        cmocka_unit_test(test_check_merge_stops_at_damage),
        cmocka_unit_test(test_check_version1_files),
        cmocka_unit_test(test_check_catalog_damage),
        cmocka_unit_test(test_check_stray_files),
        cmocka_unit_test(test_check_problem_limit),
        cmocka_unit_test(test_check_cli),
    };
    return cmocka_run_group_tests_name("check", tests, NULL, NULL);
}
