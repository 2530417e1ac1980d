/*
 * fuzz_segment_open.c - opening and searching a damaged index. A small valid
 * index (two segments, one deletion) is built once in a temporary directory
 * and its files are kept in memory. For each input, the first byte picks one
 * file; the rest is a list of mutations applied to a copy of it (bit flips,
 * byte and 32/64-bit overwrites at offsets taken from the input - garbage
 * lengths and offsets -, truncation, appended bytes). The copy replaces the
 * file, the index is opened with skip_checksums = 1 (so damage reaches the
 * structure checks even though the CRC would catch it) and again with
 * checksums verified; when it opens, a few searches run and every stored
 * article is read through searches with a large k. The integrity check
 * (nd_check) runs on it too: it must not crash, and an index it finds no
 * error in must open. All files are restored afterwards.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "newsdex.h"

#define MAX_FILES 32

typedef struct orig_file {
    char name[256];
    uint8_t *data;
    size_t len;
} orig_file;

static char g_dir[1024];
static orig_file g_files[MAX_FILES];
static size_t g_nfiles;
static int g_ready;

static const char *const k_queries[] = {
    "oil", "\"oil prices\"", "gas OR elections", "pri*", "title:oil AND NOT gas",
    "source:Reuters", "date:2019..2021", "\"oil gas\"~5", "北京", "news", "weekly",
};

static void cleanup(void)
{
    fz_rm_dir(g_dir);
    for (size_t i = 0; i < g_nfiles; i++)
        free(g_files[i].data);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const orig_file *)a)->name, ((const orig_file *)b)->name);
}

static void add_doc(nd_writer *w, unsigned i)
{
    static const char *const topics[] = {"oil prices", "gas markets", "elections",
                                         "北京 weather", "Zürich café"};
    static const char *const sources[] = {"Reuters", "BBC", "DW"};
    char json[1024];
    int n = snprintf(json, sizeof json,
                     "{\"id\":\"d%u\",\"title\":\"News %u about %s\",\"body\":\"news body %u: "
                     "%s and %s rose; prices fell in the %u markets report news%s\","
                     "\"source\":\"%s\",\"lang\":\"en\",\"url\":\"https://example.com/%u\","
                     "\"date\":\"20%02u-0%u-1%u\"}",
                     i, i, topics[i % 5], i, topics[(i + 1) % 5], topics[(i + 3) % 5], i * 7,
                     i % 13 ? " weekly" : "", sources[i % 3], i, 10 + i % 12, 1 + i % 9, i % 10);
    FZ_CHECK(n > 0 && (size_t)n < sizeof json);
    FZ_CHECK(nd_writer_add_json(w, json, (size_t)n) == ND_OK);
}

static void setup(void)
{
    fz_make_tempdir(g_dir, sizeof g_dir, "fuzz-segment");
    nd_writer *w = NULL;
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    wo.merge_factor = 1;
    FZ_CHECK(nd_writer_open(&w, g_dir, &wo) == ND_OK);
    /* > 128: one full postings block; "weekly" (in every article but each
     * 13th) makes it a bitmap block */
    for (unsigned i = 0; i < 140; i++)
        add_doc(w, i);
    FZ_CHECK(nd_writer_commit(w) == ND_OK);
    for (unsigned i = 140; i < 150; i++)
        add_doc(w, i);
    FZ_CHECK(nd_writer_delete(w, "d3", 2) == ND_OK);
    FZ_CHECK(nd_writer_commit(w) == ND_OK);
    nd_writer_free(w);

    /* Snapshot every file (the lock file included: it is restored too). */
    DIR *d = opendir(g_dir);
    FZ_CHECK(d != NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        FZ_CHECK(g_nfiles < MAX_FILES);
        orig_file *f = &g_files[g_nfiles++];
        snprintf(f->name, sizeof f->name, "%s", de->d_name);
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", g_dir, f->name);
        FZ_CHECK(fz_read_file(path, &f->data, &f->len) == 0);
    }
    closedir(d);
    qsort(g_files, g_nfiles, sizeof g_files[0], cmp_name);
    atexit(cleanup);
    g_ready = 1;
}

/* Puts the directory back exactly as it was built. */
static void restore_all(void)
{
    fz_clear_dir(g_dir);
    for (size_t i = 0; i < g_nfiles; i++) {
        char path[1400];
        int n = snprintf(path, sizeof path, "%s/%s", g_dir, g_files[i].name);
        FZ_CHECK(n > 0 && (size_t)n < sizeof path);
        FZ_CHECK(fz_write_file(path, g_files[i].data, g_files[i].len) == 0);
    }
}

/* Reads a little-endian value of n bytes from the input (zeros past its end). */
static uint64_t take(const uint8_t **p, const uint8_t *end, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t b = *p < end ? *(*p)++ : 0;
        v |= b << (8 * i);
    }
    return v;
}

/* Applies the mutations described by [p, end) to buf (len, cap). */
static size_t mutate(uint8_t *buf, size_t len, size_t cap, const uint8_t *p, const uint8_t *end)
{
    unsigned ops = 0;
    while (p < end && ops++ < 64) {
        uint8_t op = *p++;
        size_t off = len ? (size_t)(take(&p, end, 4) % len) : 0;
        switch (op % 8) {
        case 0: /* flip one bit */
        case 1:
            if (len)
                buf[off] ^= (uint8_t)(1u << (take(&p, end, 1) % 8));
            break;
        case 2: /* overwrite one byte */
            if (len)
                buf[off] = (uint8_t)take(&p, end, 1);
            break;
        case 3: { /* overwrite a 32-bit value (a garbage length or offset) */
            uint32_t v = (uint32_t)take(&p, end, 4);
            for (unsigned i = 0; i < 4 && off + i < len; i++)
                buf[off + i] = (uint8_t)(v >> (8 * i));
            break;
        }
        case 4: { /* overwrite a 64-bit value, often a huge one */
            uint64_t v = take(&p, end, 8);
            if (v & 1)
                v |= (uint64_t)0xff << 56;
            for (unsigned i = 0; i < 8 && off + i < len; i++)
                buf[off + i] = (uint8_t)(v >> (8 * i));
            break;
        }
        case 5: /* truncate */
            len = off;
            break;
        case 6: { /* append garbage */
            size_t n = (size_t)take(&p, end, 1) % 64;
            for (size_t i = 0; i < n && len < cap; i++)
                buf[len++] = (uint8_t)take(&p, end, 1);
            break;
        }
        default: { /* overwrite a run with one byte value */
            size_t n = (size_t)take(&p, end, 1) + 1;
            uint8_t b = (uint8_t)take(&p, end, 1);
            for (size_t i = 0; i < n && off + i < len; i++)
                buf[off + i] = b;
            break;
        }
        }
    }
    return len;
}


static void search(nd_search *s, const char *q, size_t k, const nd_search_opts *o)
{
    nd_hits *h = NULL;
    int rc = nd_search_run(s, &h, q, k, o);
    FZ_CHECK(rc == ND_OK || rc == ND_ECORRUPT || rc == ND_ENOMEM || rc == ND_EIO);
    if (rc == ND_OK) {
        FZ_CHECK(h != NULL);
        fz_read_hits(h);
        nd_hits_free(h);
    } else {
        FZ_CHECK(h == NULL);
    }
}

static int open_and_search(int skip_checksums)
{
    nd_index *ix = NULL;
    nd_open_opts oo = ND_OPEN_OPTS_INIT;
    oo.skip_checksums = skip_checksums;
    char err[256];
    int rc = nd_index_open(&ix, g_dir, &oo, err, sizeof err);
    FZ_CHECK(rc == ND_OK || rc == ND_ECORRUPT || rc == ND_EVERSION || rc == ND_EIO ||
             rc == ND_ENOTFOUND || rc == ND_ENOMEM);
    if (rc != ND_OK) {
        FZ_CHECK(ix == NULL && memchr(err, '\0', sizeof err) != NULL);
        return rc;
    }
    nd_index_stats st;
    nd_index_stats_get(ix, &st);
    for (size_t i = 0; i < st.segments; i++) {
        nd_segment_info si;
        FZ_CHECK(nd_index_segment_get(ix, i, &si) == ND_OK);
    }
    nd_search *s = NULL;
    FZ_CHECK(nd_search_open(&s, ix) == ND_OK);
    for (size_t i = 0; i < sizeof k_queries / sizeof k_queries[0]; i++)
        search(s, k_queries[i], 10, NULL);
    /* Every article holds "news": read all of them, by score and by date,
     * with facets, and count them. */
    search(s, "news", ND_MAX_K, NULL);
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.sort = ND_SORT_DATE_ASC;
    o.facets = ND_FACET_SOURCE | ND_FACET_DAY | ND_FACET_MONTH | ND_FACET_YEAR;
    search(s, "news OR body:markets", ND_MAX_K, &o);
    o.count_only = 1;
    search(s, "news", ND_MAX_K, &o);
    search(s, "weekly OR elections", ND_MAX_K, &o);
    nd_search_free(s);
    nd_index_free(ix);
    return ND_OK;
}

/* The integrity check on the damaged index: only documented codes, a
 * well-formed report; returns the number of errors (-1: it could not run). */
static long long check_index(void)
{
    nd_check_report *r = NULL;
    char err[256];
    int rc = nd_check(&r, g_dir, NULL, err, sizeof err);
    FZ_CHECK(rc == ND_OK || rc == ND_ENOTFOUND || rc == ND_EVERSION || rc == ND_EIO ||
             rc == ND_ENOMEM);
    if (rc != ND_OK) {
        FZ_CHECK(r == NULL && memchr(err, '\0', sizeof err) != NULL);
        return -1;
    }
    nd_check_summary sum;
    nd_check_summary_get(r, &sum);
    size_t n = nd_check_count(r);
    FZ_CHECK(n <= sum.errors + sum.warnings);
    for (size_t i = 0; i < n; i++) {
        nd_check_problem p;
        FZ_CHECK(nd_check_problem_get(r, i, &p) == ND_OK);
        FZ_CHECK(p.severity == ND_CHECK_ERROR || p.severity == ND_CHECK_WARNING);
        fz_touch(p.file, strlen(p.file));
        fz_touch(p.message, strlen(p.message));
    }
    nd_check_report_free(r);
    return (long long)sum.errors;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready)
        setup();
    if (size < 1 || size > 4096)
        return 0;
    const orig_file *f = &g_files[data[0] % g_nfiles];
    size_t cap = f->len + (size_t)64 * 64;
    uint8_t *buf = malloc(cap);
    FZ_CHECK(buf != NULL);
    if (f->len)
        memcpy(buf, f->data, f->len);
    size_t len = mutate(buf, f->len, cap, data + 1, data + size);
    char path[1400];
    int pn = snprintf(path, sizeof path, "%s/%s", g_dir, f->name);
    FZ_CHECK(pn > 0 && (size_t)pn < sizeof path);
    FZ_CHECK(fz_write_file(path, buf, len) == 0);
    free(buf);

    long long errors = check_index();
    open_and_search(1);
    int rc = open_and_search(0);
    /* an index the checker finds no damage in opens */
    FZ_CHECK(errors != 0 || rc == ND_OK);
    restore_all();
    return 0;
}
