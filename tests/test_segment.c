/*
 * test_segment.c - the segment files as nd_writer writes them and the segment
 * reader reads them back.
 *
 * Round trips: a seeded corpus of articles of every shape (empty and absent
 * fields, NUL bytes, invalid UTF-8, terms of the longest length, dates before
 * 1970 and at the int64 limits) is indexed, and every stored field, date,
 * field length, dictionary entry and posting (documents, frequencies,
 * positions, skip data, cursor jumps) is compared with a brute-force index
 * built from the same articles by the same analyzer - for one segment, for
 * many small ones and for what the automatic merges make of them, which must
 * also rank every query exactly like the one segment.
 *
 * Damage: files truncated, bytes flipped, fields set to edge values, garbage
 * written with the checksums skipped, bodies cut or grown and stored records
 * altered under recomputed checksums. Every open, dictionary walk, postings
 * walk, stored read and search must end in ND_OK or a clean error code -
 * never a crash, a hang or a sanitizer report. The walks read the files from
 * copies that end at an inaccessible page, so over-reads fault even where
 * the real file has bytes after the damaged part. Finally, files of a newer
 * format version, and directories that hold no index.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "testutil.h"
#include "analysis/analysis.h"
#include "index/index.h"
#include "framing.h"

/* ---- fixture ------------------------------------------------------------ */

/* Memory that ends at an inaccessible page: bytes copied to its end fault
 * on the first read past them. Files are mapped, and a sanitizer does not
 * see past the end of a mapping, so the walks below read the index from
 * such copies: every file's header and body (in the real file the footer
 * follows the body and would absorb an over-read), the term blocks without
 * the block index behind them, and each postings list alone. */
typedef struct fence {
    uint8_t *map;
    size_t cap, maplen;
} fence;

/* Makes room for min_cap bytes (a fence is reused: mapping and unmapping
 * for every walk would cost more than the walk). */
static void fence_reserve(fence *f, size_t min_cap)
{
    if (f->map && f->cap >= min_cap)
        return;
    if (f->map)
        munmap(f->map, f->maplen);
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    f->cap = (min_cap + pg - 1) / pg * pg;
    if (f->cap == 0)
        f->cap = pg;
    f->maplen = f->cap + pg;
    /* cppcheck-suppress invalidFunctionArg ; MAP_ANONYMOUS wants fd -1 */
    f->map = mmap(NULL, f->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(f->map != MAP_FAILED);
    assert_int_equal(mprotect(f->map + f->cap, pg, PROT_NONE), 0);
}

static void fence_free(fence *f)
{
    if (f->map)
        munmap(f->map, f->maplen);
    memset(f, 0, sizeof *f);
}

/* Copies n bytes so that they end at the fence; returns the copy. */
static uint8_t *fence_put(fence *f, const uint8_t *src, size_t n)
{
    assert_true(n <= f->cap);
    uint8_t *p = f->map + f->cap - n;
    if (n)
        memcpy(p, src, n);
    return p;
}

#define N_FENCES (FILE_KINDS + 2) /* a segment's files, then one postings list */

typedef struct fixture {
    char *dir;              /* temporary directory; indexes go in subdirectories */
    nd_analyzer *an;        /* the same analyzer the writer uses, for brute force */
    fence fences[N_FENCES]; /* for walking damaged indexes */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    nd_err e = {{0}};
    if (analyzer_open(&f->an, &e) != ND_OK) {
        print_message("analyzer_open: %s\n", e.msg);
        free(f);
        return -1;
    }
    f->dir = tu_mkdtemp();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmrf(f->dir);
    free(f->dir);
    for (int i = 0; i < N_FENCES; i++)
        fence_free(&f->fences[i]);
    analyzer_free(f->an);
    free(f);
    return 0;
}

#define ASSERT_OK(expr, msg)                                                                       \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != ND_OK)                                                                          \
            fail_msg("%s returned %d: %s", #expr, rc_, (msg));                                     \
    } while (0)

static void subdir(char *out, size_t n, const fixture *f, const char *name)
{
    snprintf(out, n, "%s/%s", f->dir, name);
}

/* ---- corpus --------------------------------------------------------------- */

/* One article; every field is malloc'd (NULL = absent; a 1-byte allocation
 * with length 0 = present but empty). Fields in stored order (SF_*). */
typedef struct article {
    char *f[SF_COUNT];
    size_t len[SF_COUNT];
    int64_t date;
} article;

typedef struct corpus {
    article *a;
    size_t n;
} corpus;

static const char *const VOCAB[] = {
    "market",  "oil",      "prices",  "election", "government", "minister",  "court",  "police",
    "storm",   "football", "economy", "bank",     "rates",      "inflation", "war",    "peace",
    "talks",   "summit",   "climate", "energy",   "company",    "shares",    "report", "health",
    "vaccine", "COVID-19", "CEO's",   "Zürich",   "straße",     "naïve",     "Москва", "東京",
    "Ελλάδα",  "café",     "ÉCOLE",   "U.S.",     "3.5%",       "2019",      "gamma",  "delta",
    "epsilon", "zeta",     "theta",   "iota",     "kappa",      "lambda",    "Market", "OIL",
    "the",     "a",        "of",      "and",      "in",         "to",        "for",    "on",
    "with",    "said",     "year",    "new",      "first",      "people",    "city",
};
#define N_VOCAB (sizeof VOCAB / sizeof VOCAB[0])

static const char *const SEPS[] = {" ", " ", " ", ", ", ". ", "\n", " - ", "\t"};

static void set_field(article *a, int k, const void *p, size_t n)
{
    a->f[k] = malloc(n ? n : 1);
    assert_non_null(a->f[k]);
    if (n)
        memcpy(a->f[k], p, n);
    a->len[k] = n;
}

static void set_str(article *a, int k, const char *s)
{
    set_field(a, k, s, strlen(s));
}

/* Appends n words (skewed towards the start of VOCAB); slot `special[i]`
 * gets word `special_word[i]` instead. */
static void gen_words(nd_buf *b, uint64_t *seed, size_t n, const size_t *special,
                      const char *const *special_word, size_t n_special)
{
    for (size_t w = 0; w < n; w++) {
        const char *word = NULL;
        for (size_t s = 0; s < n_special; s++)
            if (special[s] == w)
                word = special_word[s];
        if (!word) {
            size_t r1 = (size_t)(tu_rand(seed) % N_VOCAB), r2 = (size_t)(tu_rand(seed) % N_VOCAB);
            word = VOCAB[r1 * r2 / N_VOCAB];
        }
        if (w > 0)
            assert_int_equal(buf_printf(b, "%s", SEPS[tu_rand(seed) % 8]), ND_OK);
        assert_int_equal(buf_printf(b, "%s", word), ND_OK);
    }
}

#define MAX_SPECIAL 320

/* Body of article i: "alpha" once in every non-empty body (in varied
 * case), "beta" 2..6 times in every other one, 300 times in one long one. */
static void gen_body(article *a, size_t i, uint64_t *seed, int short_bodies)
{
    if (i % 23 == 5)
        return; /* absent */
    if (i % 29 == 7) {
        set_field(a, SF_BODY, "", 0); /* present but empty */
        return;
    }
    size_t n;
    if (short_bodies)
        n = 3 + (size_t)(tu_rand(seed) % 10);
    else if (i % 61 == 3 || i == 100)
        n = 3000 + (size_t)(tu_rand(seed) % 3000);
    else
        n = 1 + (size_t)(tu_rand(seed) % 150);
    static const char *const ALPHAS[] = {"alpha", "Alpha", "ALPHA", "alpha's"};
    size_t special[MAX_SPECIAL];
    const char *words[MAX_SPECIAL];
    size_t ns = 0;
    special[ns] = (size_t)(tu_rand(seed) % n);
    words[ns++] = ALPHAS[i % 4];
    size_t beta = i == 100 ? 300 : i % 2 == 0 ? 2 + (size_t)(tu_rand(seed) % 5) : 0;
    for (size_t k = 0; k < beta && n > 1; k++) {
        size_t slot = (special[0] + 1 + k * 7 + (size_t)(tu_rand(seed) % 3)) % n;
        if (slot == special[0])
            continue;
        special[ns] = slot;
        words[ns++] = "beta";
    }
    nd_buf b = {0};
    gen_words(&b, seed, n, special, words, ns);
    if (i % 37 == 0) { /* an over-long token: dropped, but it takes a position */
        assert_int_equal(buf_printf(&b, " "), ND_OK);
        for (int k = 0; k < 300; k++)
            assert_int_equal(buf_putc(&b, 'x'), ND_OK);
        assert_int_equal(buf_printf(&b, " after"), ND_OK);
    }
    if (i % 41 == 1) { /* the longest term there can be, and one byte more */
        for (int len = 255; len <= 256; len++) {
            assert_int_equal(buf_putc(&b, ' '), ND_OK);
            for (int k = 0; k < len; k++)
                assert_int_equal(buf_putc(&b, len == 255 ? 'y' : 'z'), ND_OK);
        }
    }
    if (i == 42) /* an embedded NUL */
        assert_int_equal(buf_append(&b, " nul\0byte end", 13), ND_OK);
    if (i == 43) /* invalid UTF-8 */
        assert_int_equal(buf_printf(&b, " \xff\xfe bad \xc3"), ND_OK);
    set_field(a, SF_BODY, b.data, b.len);
    buf_free(&b);
}

static void gen_title(article *a, size_t i, uint64_t *seed)
{
    if (i % 19 == 4)
        return;
    if (i % 31 == 9) {
        set_field(a, SF_TITLE, "", 0);
        return;
    }
    size_t n = i == 77 ? 2000 : 1 + (size_t)(tu_rand(seed) % 14);
    size_t special[1] = {0};
    const char *words[1] = {"beta"};
    nd_buf b = {0};
    gen_words(&b, seed, n, special, words, i % 5 == 0 ? 1 : 0);
    if (i == 42)
        assert_int_equal(buf_append(&b, " ti\0tle", 7), ND_OK);
    set_field(a, SF_TITLE, b.data, b.len);
    buf_free(&b);
}

static void gen_article(article *a, size_t i, uint64_t *seed, int short_bodies)
{
    memset(a, 0, sizeof *a);
    char tmp[512];
    switch (i % 5) {
    case 0:
        snprintf(tmp, sizeof tmp, "doc-%05zu", i);
        set_str(a, SF_ID, tmp);
        break;
    case 1:
        snprintf(tmp, sizeof tmp, "urn:uuid:%016llx-%04zx", (unsigned long long)tu_rand(seed), i);
        set_str(a, SF_ID, tmp);
        break;
    case 2:
        memset(tmp, 'L', 200); /* ids are at most 255 bytes */
        snprintf(tmp + 200, sizeof tmp - 200, "%zu", i);
        set_str(a, SF_ID, tmp);
        break;
    case 3:
        snprintf(tmp, sizeof tmp, "статья-%zu", i);
        set_str(a, SF_ID, tmp);
        break;
    default: {
        int n = snprintf(tmp, sizeof tmp, "id%c%zu", 0, i);
        set_field(a, SF_ID, tmp, (size_t)n);
    }
    }
    gen_title(a, i, seed);
    gen_body(a, i, seed, short_bodies);
    static const char *const SOURCES[] = {"Reuters", "AP", "BBC News", "  Le Monde ",
                                          "REUTERS", NULL, "",         "   "};
    const char *src = SOURCES[i % 8];
    if (i == 11 || i == 13) { /* keywords of the longest indexed length, and too long */
        memset(tmp, 'S', 256);
        set_field(a, SF_SOURCE, tmp, i == 11 ? 255 : 256);
    } else if (src) {
        set_str(a, SF_SOURCE, src);
    }
    if (i % 6 != 1) {
        snprintf(tmp, sizeof tmp, "https://news.example.com/%04zu/%02zu/story-%zu?ref=feed",
                 1990 + i % 30, 1 + i % 12, i);
        set_str(a, SF_URL, tmp);
    }
    static const char *const LANGS[] = {"en", "de", "fr", "ja", "pt-BR", NULL, "EN"};
    const char *lang = LANGS[i % 7];
    if (lang)
        set_str(a, SF_LANG, lang);
    static const int64_t DATES[] = {ND_NO_DATE, -1, 0, INT64_MAX, INT64_MIN + 1};
    if (i % 3 == 0)
        a->date = DATES[(i / 3) % 5];
    else if (i % 3 == 1)
        a->date = -(int64_t)(i * 86400 * 400) - 17; /* before 1970 */
    else
        a->date = 1552555200 + (int64_t)i * 3600;
}

static void append_word(article *a, int k, const char *word)
{
    size_t n = a->len[k], w = strlen(word);
    char *p = realloc(a->f[k], n + 1 + w);
    assert_non_null(p);
    p[n] = ' ';
    memcpy(p + n + 1, word, w);
    a->f[k] = p;
    a->len[k] = n + 1 + w;
}

/* Articles of every shape (see gen_article); besides, the titles hold one
 * term in exactly 128 and one in exactly 256 articles (as far as there are
 * titles): lists of whole 128-document blocks, without and with a skip
 * table. */
static void gen_corpus(corpus *c, size_t n, uint64_t seed, int short_bodies)
{
    c->n = n;
    c->a = calloc(n, sizeof *c->a);
    assert_non_null(c->a);
    size_t titled = 0;
    for (size_t i = 0; i < n; i++) {
        article *a = &c->a[i];
        gen_article(a, i, &seed, short_bodies);
        if (a->len[SF_TITLE] == 0)
            continue;
        if (titled < 128)
            append_word(a, SF_TITLE, "exactly128");
        if (titled < 256)
            append_word(a, SF_TITLE, "exactly256");
        titled++;
    }
}

static void free_corpus(corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        for (int k = 0; k < SF_COUNT; k++)
            free(c->a[i].f[k]);
    free(c->a);
    memset(c, 0, sizeof *c);
}

static nd_doc to_doc(const article *a)
{
    nd_doc d;
    memset(&d, 0, sizeof d);
    d.id = a->f[SF_ID];
    d.id_len = a->len[SF_ID];
    d.title = a->f[SF_TITLE];
    d.title_len = a->len[SF_TITLE];
    d.body = a->f[SF_BODY];
    d.body_len = a->len[SF_BODY];
    d.source = a->f[SF_SOURCE];
    d.source_len = a->len[SF_SOURCE];
    d.url = a->f[SF_URL];
    d.url_len = a->len[SF_URL];
    d.lang = a->f[SF_LANG];
    d.lang_len = a->len[SF_LANG];
    d.date = a->date;
    return d;
}

/* ram_budget and merge_factor as in nd_writer_opts (0 = default). */
static void build_index(const char *dir, const corpus *c, size_t ram_budget, unsigned merge_factor)
{
    nd_writer_opts o = ND_WRITER_OPTS_INIT;
    o.ram_budget = ram_budget;
    o.merge_factor = merge_factor;
    nd_writer *w = NULL;
    assert_int_equal(nd_writer_open(&w, dir, &o), ND_OK);
    for (size_t i = 0; i < c->n; i++) {
        nd_doc d = to_doc(&c->a[i]);
        ASSERT_OK(nd_writer_add(w, &d), nd_writer_errmsg(w));
    }
    ASSERT_OK(nd_writer_commit(w), nd_writer_errmsg(w));
    nd_writer_free(w);
}

/* snapshot_open as every test here calls it. */
static int open_snapshot(nd_index *ix, const char *dir, int skip_crc, nd_err *e)
{
    return snapshot_open(ix, dir, skip_crc, NULL, e);
}

/* ---- brute force ---------------------------------------------------------- */

/* One token occurrence: key = field byte + term. */
typedef struct occ {
    size_t key_off;     /* into brute.keys while collecting */
    const uint8_t *key; /* set when collecting is done */
    uint32_t klen;
    uint32_t doc, pos;
} occ;

typedef struct bpost {
    uint32_t doc, tf;
    size_t pos; /* index of its first position in brute.pos */
} bpost;

typedef struct bterm {
    const uint8_t *key;
    size_t klen;
    size_t post, n_post; /* range in brute.posts */
} bterm;

typedef struct brute {
    nd_buf keys;
    occ *occ;
    size_t n_occ, occ_cap;
    uint32_t *pos; /* positions, in occurrence order */
    bpost *posts;
    size_t n_posts;
    bterm *terms;
    size_t n_terms;
    uint32_t *len[N_TEXT_FIELDS]; /* tokens per document and field */
} brute;

typedef struct collect {
    brute *bf;
    uint32_t doc;
    int field;
    uint32_t count;
} collect;

static void add_occ(brute *bf, int field, const void *term, size_t len, uint32_t doc, uint32_t pos)
{
    if (bf->n_occ == bf->occ_cap) {
        bf->occ_cap = bf->occ_cap ? bf->occ_cap * 2 : 4096;
        bf->occ = realloc(bf->occ, bf->occ_cap * sizeof *bf->occ);
        assert_non_null(bf->occ);
    }
    occ *o = &bf->occ[bf->n_occ++];
    o->key_off = bf->keys.len;
    o->klen = (uint32_t)(len + 1);
    o->doc = doc;
    o->pos = pos;
    assert_int_equal(buf_putc(&bf->keys, (uint8_t)field), ND_OK);
    assert_int_equal(buf_append(&bf->keys, term, len), ND_OK);
}

static int on_token(void *ctx, const nd_token *t)
{
    collect *c = ctx;
    add_occ(c->bf, c->field, t->term, t->len, c->doc, t->pos);
    c->count++;
    return 0;
}

static int keycmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

static int cmp_occ(const void *x, const void *y)
{
    const occ *a = x, *b = y;
    int c = keycmp(a->key, a->klen, b->key, b->klen);
    if (c)
        return c;
    if (a->doc != b->doc)
        return a->doc < b->doc ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Indexes the corpus the slow way: every token of every field, sorted. */
static void brute_build(brute *bf, nd_analyzer *an, const corpus *c)
{
    memset(bf, 0, sizeof *bf);
    static const int TEXT_SF[N_TEXT_FIELDS] = {SF_TITLE, SF_BODY, SF_URL};
    static const int KW_SF[2] = {SF_SOURCE, SF_LANG};
    for (int f = 0; f < N_TEXT_FIELDS; f++) {
        bf->len[f] = calloc(c->n ? c->n : 1, sizeof *bf->len[f]);
        assert_non_null(bf->len[f]);
    }
    nd_buf kw = {0};
    for (size_t d = 0; d < c->n; d++) {
        const article *a = &c->a[d];
        for (int f = 0; f < N_TEXT_FIELDS; f++) {
            collect cc = {bf, (uint32_t)d, f, 0};
            if (a->len[TEXT_SF[f]] > 0)
                assert_int_equal(
                    analyzer_run(an, a->f[TEXT_SF[f]], a->len[TEXT_SF[f]], on_token, &cc), 0);
            bf->len[f][d] = cc.count;
        }
        for (int k = 0; k < 2; k++) {
            size_t n = a->len[KW_SF[k]];
            if (n == 0)
                continue;
            assert_int_equal(analyzer_keyword(an, a->f[KW_SF[k]], n, &kw), 0);
            if (kw.len > 0 && kw.len <= ND_MAX_TERM_BYTES)
                add_occ(bf, FIELD_SOURCE + k, kw.data, kw.len, (uint32_t)d, 0);
        }
        /* the id, byte for byte */
        add_occ(bf, FIELD_ID, (const uint8_t *)a->f[SF_ID], a->len[SF_ID], (uint32_t)d, 0);
    }
    buf_free(&kw);
    for (size_t i = 0; i < bf->n_occ; i++)
        bf->occ[i].key = bf->keys.data + bf->occ[i].key_off;
    if (bf->n_occ)
        qsort(bf->occ, bf->n_occ, sizeof *bf->occ, cmp_occ);
    bf->pos = malloc((bf->n_occ + 1) * sizeof *bf->pos);
    bf->posts = malloc((bf->n_occ + 1) * sizeof *bf->posts);
    bf->terms = malloc((bf->n_occ + 1) * sizeof *bf->terms);
    assert_true(bf->pos && bf->posts && bf->terms);
    for (size_t i = 0; i < bf->n_occ; i++) {
        const occ *o = &bf->occ[i];
        int new_term = i == 0 || keycmp(o[-1].key, o[-1].klen, o->key, o->klen) != 0;
        if (new_term) {
            bterm *t = &bf->terms[bf->n_terms++];
            t->key = o->key;
            t->klen = o->klen;
            t->post = bf->n_posts;
            t->n_post = 0;
        }
        if (new_term || o[-1].doc != o->doc) {
            bpost *p = &bf->posts[bf->n_posts++];
            p->doc = o->doc;
            p->tf = 0;
            p->pos = i;
            bf->terms[bf->n_terms - 1].n_post++;
        }
        bf->posts[bf->n_posts - 1].tf++;
        bf->pos[i] = o->pos;
    }
}

static void brute_free(brute *bf)
{
    buf_free(&bf->keys);
    free(bf->occ);
    free(bf->pos);
    free(bf->posts);
    free(bf->terms);
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        free(bf->len[f]);
    memset(bf, 0, sizeof *bf);
}

static const bterm *brute_find(const brute *bf, int field, const char *term)
{
    uint8_t key[ND_MAX_TERM_KEY];
    size_t n = strlen(term);
    key[0] = (uint8_t)field;
    memcpy(key + 1, term, n);
    for (size_t i = 0; i < bf->n_terms; i++)
        if (keycmp(bf->terms[i].key, bf->terms[i].klen, key, n + 1) == 0)
            return &bf->terms[i];
    return NULL;
}

/* The postings of t restricted to documents [base, base + docs). */
typedef struct prange {
    const bpost *p;
    size_t n;
} prange;

static prange brute_range(const brute *bf, const bterm *t, uint32_t base, uint32_t docs)
{
    const bpost *p = bf->posts + t->post, *end = p + t->n_post;
    while (p < end && p->doc < base)
        p++;
    const bpost *q = p;
    while (q < end && q->doc < base + docs)
        q++;
    prange r = {p, (size_t)(q - p)};
    return r;
}

/* ---- checking one segment against the brute force ------------------------ */

static void check_positions(pcursor *c, const brute *bf, const bpost *bp, int field)
{
    nd_err e = {{0}};
    const uint32_t *pos = NULL;
    uint32_t n = 0;
    ASSERT_OK(pcursor_positions(c, &pos, &n, &e), e.msg);
    if (field >= N_TEXT_FIELDS) {
        assert_int_equal(n, 0);
        return;
    }
    assert_int_equal(n, bp->tf);
    if (memcmp(pos, bf->pos + bp->pos, n * sizeof *pos) != 0)
        fail_msg("positions differ in document %u", bp->doc);
}

static void check_skip_data(const pcursor *c, const segment *s, const brute *bf, prange r,
                            uint32_t base, int field)
{
    assert_int_equal(c->nb, (r.n + ND_BLOCK - 1) / ND_BLOCK);
    if (c->nb <= 1)
        return;
    for (uint32_t b = 0; b < c->nb; b++) {
        size_t lo = (size_t)b * ND_BLOCK, hi = lo + ND_BLOCK < r.n ? lo + ND_BLOCK : r.n;
        uint32_t max_tf = 0, min_len = UINT32_MAX;
        for (size_t i = lo; i < hi; i++) {
            uint32_t len = field < N_TEXT_FIELDS ? bf->len[field][r.p[i].doc] : 1;
            max_tf = r.p[i].tf > max_tf ? r.p[i].tf : max_tf;
            min_len = len < min_len ? len : min_len;
        }
        assert_int_equal(c->last_doc[b], r.p[hi - 1].doc - base);
        assert_int_equal(c->max_tf[b], max_tf);
        assert_int_equal(c->min_len[b], min_len);
        if (field < N_TEXT_FIELDS)
            assert_int_equal(segment_len(s, field, r.p[hi - 1].doc - base),
                             bf->len[field][r.p[hi - 1].doc]);
    }
}

/* Walks the postings document by document, then by random jumps. */
static void check_cursor(const segment *s, const brute *bf, const term_info *ti, prange r,
                         uint32_t base, int field, uint64_t *seed)
{
    nd_err e = {{0}};
    pcursor c;
    ASSERT_OK(pcursor_open(&c, s, field, ti, &e), e.msg);
    check_skip_data(&c, s, bf, r, base, field);
    uint32_t target = 0;
    for (size_t i = 0; i < r.n; i++) {
        ASSERT_OK(pcursor_advance(&c, target, &e), e.msg);
        assert_int_equal(c.doc, r.p[i].doc - base);
        assert_int_equal(pcursor_tf(&c), field < N_TEXT_FIELDS ? r.p[i].tf : 1);
        /* positions of every document of short lists, a sample of long ones */
        if (r.n < 200 || tu_rand(seed) % 8 == 0)
            check_positions(&c, bf, &r.p[i], field);
        target = c.doc + 1;
    }
    ASSERT_OK(pcursor_advance(&c, target, &e), e.msg);
    assert_int_equal(c.doc, ND_NO_DOC);
    ASSERT_OK(pcursor_advance(&c, target + 1, &e), e.msg);
    assert_int_equal(c.doc, ND_NO_DOC);
    pcursor_close(&c);

    /* jumps: the first target anywhere, then forward by random strides */
    static const uint32_t SPANS[] = {1, 2, 5, 40, 130, 400};
    for (int round = 0; round < 3; round++) {
        uint32_t span = SPANS[tu_rand(seed) % 6];
        ASSERT_OK(pcursor_open(&c, s, field, ti, &e), e.msg);
        target = (uint32_t)(tu_rand(seed) % (s->docs + 1));
        for (;;) {
            ASSERT_OK(pcursor_advance(&c, target, &e), e.msg);
            size_t i = 0;
            while (i < r.n && r.p[i].doc - base < target)
                i++;
            if (i == r.n) {
                assert_int_equal(c.doc, ND_NO_DOC);
                break;
            }
            assert_int_equal(c.doc, r.p[i].doc - base);
            assert_int_equal(pcursor_tf(&c), field < N_TEXT_FIELDS ? r.p[i].tf : 1);
            if (tu_rand(seed) % 2 == 0)
                check_positions(&c, bf, &r.p[i], field);
            target = c.doc + 1 + (uint32_t)(tu_rand(seed) % span);
        }
        pcursor_close(&c);
    }
}

static void check_stored(const segment *s, const corpus *c, uint32_t base, uint64_t *seed)
{
    nd_err e = {{0}};
    nd_buf block = {0};
    uint32_t cached = UINT32_MAX;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t k = 0; k < s->docs; k++) {
            /* in order first (cache hits), then in random order (misses) */
            uint32_t d = pass == 0 ? k : (uint32_t)(tu_rand(seed) % s->docs);
            stored_doc sd;
            ASSERT_OK(segment_stored(s, d, &block, &cached, &sd, &e), e.msg);
            const article *a = &c->a[base + d];
            for (int f = 0; f < SF_COUNT; f++) {
                assert_int_equal(sd.len[f], a->len[f]);
                if (a->len[f] && memcmp(sd.f[f], a->f[f], a->len[f]) != 0)
                    fail_msg("document %u: stored field %d differs", base + d, f);
            }
        }
    }
    stored_doc sd;
    assert_int_equal(segment_stored(s, s->docs, &block, &cached, &sd, &e), ND_EINVAL);
    buf_free(&block);
}

/* Everything segment `s` (documents [base, base + s->docs) of the corpus)
 * holds, against the brute force. */
static void check_segment(const segment *s, const corpus *c, const brute *bf, uint32_t base,
                          uint64_t *seed)
{
    nd_err e = {{0}};
    /* columns */
    for (int f = 0; f < N_TEXT_FIELDS; f++) {
        uint64_t sum = 0;
        for (uint32_t d = 0; d < s->docs; d++) {
            assert_int_equal(segment_len(s, f, d), bf->len[f][base + d]);
            sum += bf->len[f][base + d];
        }
        assert_int_equal(s->sum_len[f], sum);
    }
    for (uint32_t d = 0; d < s->docs; d++)
        assert_true(segment_date(s, d) == c->a[base + d].date);
    check_stored(s, c, base, seed);

    /* the whole dictionary, in order, against the brute-force terms */
    term_iter it;
    const uint8_t empty[1] = {0};
    ASSERT_OK(term_iter_seek(&it, s, empty, 0, &e), e.msg);
    uint8_t prev[ND_MAX_TERM_KEY];
    size_t prev_len = 0, j = 0;
    uint64_t count = 0;
    int rc;
    while ((rc = term_iter_next(&it, &e)) == ND_OK) {
        prange r = {NULL, 0};
        while (j < bf->n_terms && (r = brute_range(bf, &bf->terms[j], base, s->docs)).n == 0)
            j++;
        if (j == bf->n_terms)
            fail_msg("the dictionary has more terms than the documents");
        const bterm *t = &bf->terms[j++];
        if (keycmp(it.key, it.klen, t->key, t->klen) != 0)
            fail_msg("dictionary term %llu: '%.*s' (field %d), want '%.*s' (field %d)",
                     (unsigned long long)count, (int)it.klen - 1, (const char *)it.key + 1,
                     it.key[0], (int)t->klen - 1, (const char *)t->key + 1, t->key[0]);
        if (count > 0 && keycmp(prev, prev_len, it.key, it.klen) >= 0)
            fail_msg("dictionary keys not strictly increasing at term %llu",
                     (unsigned long long)count);
        memcpy(prev, it.key, it.klen);
        prev_len = it.klen;
        count++;
        uint64_t cf = 0;
        for (size_t i = 0; i < r.n; i++)
            cf += r.p[i].tf;
        assert_int_equal(it.ti.df, r.n);
        assert_int_equal(it.ti.cf, cf);
        /* the same entry by lookup */
        term_info ti;
        ASSERT_OK(segment_term(s, it.key, it.klen, &ti, &e), e.msg);
        assert_memory_equal(&ti, &it.ti, sizeof ti);
        check_cursor(s, bf, &it.ti, r, base, it.key[0], seed);
    }
    assert_int_equal(rc, ND_DONE);
    assert_int_equal(count, s->n_terms);
    while (j < bf->n_terms && brute_range(bf, &bf->terms[j], base, s->docs).n == 0)
        j++;
    assert_int_equal(j, bf->n_terms);
}

/* Lookups and seeks that must not find an exact key. */
static void check_absent_keys(const segment *s, const brute *bf, uint64_t *seed)
{
    nd_err e = {{0}};
    term_info ti;
    const uint8_t empty[1] = {0}, past[3] = {0xff, 0xff, 0xff}, bad_field[2] = {9, 'a'};
    assert_int_equal(segment_term(s, empty, 0, &ti, &e), ND_DONE);
    assert_int_equal(segment_term(s, past, 3, &ti, &e), ND_DONE);
    assert_int_equal(segment_term(s, bad_field, 2, &ti, &e), ND_DONE);
    for (int k = 0; k < 300; k++) {
        size_t i = (size_t)(tu_rand(seed) % bf->n_terms);
        const bterm *t = &bf->terms[i];
        uint8_t key[ND_MAX_TERM_KEY + 1];
        memcpy(key, t->key, t->klen);
        key[t->klen] = 0xff; /* never in UTF-8 */
        assert_int_equal(segment_term(s, key, t->klen + 1, &ti, &e), ND_DONE);
        /* a seek to key + "\0" lands on the next term */
        key[t->klen] = 0;
        term_iter it;
        ASSERT_OK(term_iter_seek(&it, s, key, t->klen + 1, &e), e.msg);
        int rc = term_iter_next(&it, &e);
        if (i + 1 == bf->n_terms) {
            assert_int_equal(rc, ND_DONE);
        } else {
            assert_int_equal(rc, ND_OK);
            assert_int_equal(keycmp(it.key, it.klen, bf->terms[i + 1].key, bf->terms[i + 1].klen),
                             0);
        }
    }
}

/* ---- 1. round trip -------------------------------------------------------- */

#define ROUND_TRIP_DOCS 420

static void test_segment_round_trip(void **state)
{
    fixture *f = *state;
    char dir[4200];
    subdir(dir, sizeof dir, f, "single");
    corpus c;
    gen_corpus(&c, ROUND_TRIP_DOCS, 0x5e6d3e7ull, 0);
    build_index(dir, &c, 0, 0);
    brute bf;
    brute_build(&bf, f->an, &c);

    /* the corpus has what the test needs */
    const bterm *alpha = brute_find(&bf, FIELD_BODY, "alpha");
    const bterm *beta = brute_find(&bf, FIELD_BODY, "beta");
    assert_non_null(alpha);
    assert_non_null(beta);
    assert_true(alpha->n_post > 300 && alpha->n_post % ND_BLOCK != 0);
    size_t multi = 0;
    uint32_t max_tf = 0;
    for (size_t i = 0; i < beta->n_post; i++) {
        multi += bf.posts[beta->post + i].tf > 1;
        if (bf.posts[beta->post + i].tf > max_tf)
            max_tf = bf.posts[beta->post + i].tf;
    }
    assert_true(multi > 100 && max_tf >= 200);
    char longest[ND_MAX_TERM_BYTES + 1];
    memset(longest, 'y', ND_MAX_TERM_BYTES);
    longest[ND_MAX_TERM_BYTES] = 0;
    assert_non_null(brute_find(&bf, FIELD_BODY, longest));
    memset(longest, 's', ND_MAX_TERM_BYTES);
    assert_non_null(brute_find(&bf, FIELD_SOURCE, longest));

    nd_index ix;
    nd_err e = {{0}};
    ASSERT_OK(open_snapshot(&ix, dir, 0, &e), e.msg);
    assert_int_equal(ix.man.n_segs, 1);
    assert_int_equal(ix.docs, ROUND_TRIP_DOCS);
    const segment *s = &ix.segs[0];
    assert_int_equal(s->docs, ROUND_TRIP_DOCS);
    assert_true(s->n_sblocks > 1); /* several stored blocks */
    assert_true(s->n_tblocks > 1);
    assert_int_equal(s->n_terms, bf.n_terms);
    uint64_t seed = 99;
    check_segment(s, &c, &bf, 0, &seed);
    check_absent_keys(s, &bf, &seed);

    /* the big lists really use several blocks and a tail */
    term_info ti;
    uint8_t key[6] = {FIELD_BODY, 'a', 'l', 'p', 'h', 'a'};
    ASSERT_OK(segment_term(s, key, sizeof key, &ti, &e), e.msg);
    pcursor pc;
    ASSERT_OK(pcursor_open(&pc, s, FIELD_BODY, &ti, &e), e.msg);
    assert_true(pc.nb >= 3);
    pcursor_close(&pc);

    nd_index_stats st;
    nd_index_stats_get(&ix, &st);
    assert_int_equal(st.docs, ROUND_TRIP_DOCS);
    assert_int_equal(st.segments, 1);
    assert_int_equal(st.terms, bf.n_terms);
    snapshot_close(&ix);
    brute_free(&bf);
    free_corpus(&c);
}

/* ---- several segments rank like one ---------------------------------------- */

#define MULTI_BUDGET ((size_t)128 << 10)

/* The article with this id (the corpus ids are unique). */
static size_t find_article(const corpus *c, const char *id, size_t len)
{
    for (size_t d = 0; d < c->n; d++)
        if (c->a[d].len[SF_ID] == len && memcmp(c->a[d].f[SF_ID], id, len) == 0)
            return d;
    fail_msg("no article has the id '%.*s'", (int)len, id);
    return 0;
}

/* Both indexes rank every match alike: equal scores rank by rank and, as
 * documents may be numbered differently in the two indexes, the same ids
 * within each run of equal scores. */
static void compare_search(nd_search *one, nd_search *many, const corpus *c, const char *q)
{
    nd_hits *h[2] = {NULL, NULL};
    ASSERT_OK(nd_search_run(one, &h[0], q, 1000, NULL), nd_search_errmsg(one));
    ASSERT_OK(nd_search_run(many, &h[1], q, 1000, NULL), nd_search_errmsg(many));
    size_t n = nd_hits_count(h[0]);
    assert_true(n >= 20);
    assert_int_equal(n, nd_hits_count(h[1]));
    assert_int_equal(nd_hits_total(h[0]), n);
    assert_int_equal(nd_hits_total(h[1]), n);
    size_t *art[2];
    double *score[2];
    for (int x = 0; x < 2; x++) {
        art[x] = malloc(n * sizeof *art[x]);
        score[x] = malloc(n * sizeof *score[x]);
        assert_true(art[x] && score[x]);
        for (size_t i = 0; i < n; i++) {
            nd_hit hit;
            ASSERT_OK(nd_hits_get(h[x], i, &hit), q);
            art[x][i] = find_article(c, hit.id, hit.id_len);
            score[x][i] = hit.score;
            /* the hit carries its article's stored fields */
            const article *a = &c->a[art[x][i]];
            assert_int_equal(hit.title_len, a->len[SF_TITLE]);
            if (hit.title_len)
                assert_memory_equal(hit.title, a->f[SF_TITLE], hit.title_len);
            assert_true(hit.date == a->date);
            if (i > 0 && hit.score > score[x][i - 1])
                fail_msg("'%s': hits not in score order at %zu", q, i);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (fabs(score[0][i] - score[1][i]) > 1e-9)
            fail_msg("'%s' hit %zu: score %.17g vs %.17g", q, i, score[0][i], score[1][i]);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && fabs(score[0][j] - score[0][i]) <= 1e-9;)
            j++;
        for (size_t a = i; a < j; a++) {
            size_t b = i;
            while (b < j && art[1][b] != art[0][a])
                b++;
            if (b == j)
                fail_msg("'%s': article %zu ranks %zu in one index only", q, art[0][a], a);
        }
    }
    for (int x = 0; x < 2; x++) {
        free(art[x]);
        free(score[x]);
        nd_hits_free(h[x]);
    }
}

/* The articles of segment s in its local order, found by their stored ids;
 * marks them in seen[] (each must appear in one segment only). */
static void segment_articles(corpus *view, const corpus *c, const segment *s, uint8_t *seen)
{
    nd_err e = {{0}};
    nd_buf block = {0};
    uint32_t cached = UINT32_MAX;
    view->n = s->docs;
    view->a = malloc((s->docs ? s->docs : 1) * sizeof *view->a);
    assert_non_null(view->a);
    for (uint32_t d = 0; d < s->docs; d++) {
        stored_doc sd;
        ASSERT_OK(segment_stored(s, d, &block, &cached, &sd, &e), e.msg);
        size_t i = find_article(c, sd.f[SF_ID], sd.len[SF_ID]);
        if (seen[i]++)
            fail_msg("article %zu is in two places", i);
        view->a[d] = c->a[i]; /* shares the strings */
    }
    buf_free(&block);
}

/* Indexes the corpus into `dir` with a small RAM budget and checks it
 * against the brute force and, query by query, against the one-segment
 * index `one`. Returns the number of segments. */
static uint32_t check_split(fixture *f, const corpus *c, const brute *bf, nd_search *one,
                            const char *dir, unsigned merge_factor)
{
    build_index(dir, c, MULTI_BUDGET, merge_factor);
    /* every segment holds its articles exactly as the analyzer sees them,
     * and every article is in one segment */
    nd_index ix;
    nd_err e = {{0}};
    ASSERT_OK(open_snapshot(&ix, dir, 0, &e), e.msg);
    uint32_t n_segs = ix.man.n_segs;
    assert_int_equal(ix.docs, c->n);
    uint64_t seed = 7;
    uint8_t *seen = calloc(c->n, 1);
    assert_non_null(seen);
    for (uint32_t i = 0; i < n_segs; i++) {
        assert_int_equal(ix.base[i], i == 0 ? 0 : ix.base[i - 1] + ix.segs[i - 1].docs);
        corpus view;
        brute sub;
        segment_articles(&view, c, &ix.segs[i], seen);
        brute_build(&sub, f->an, &view);
        check_segment(&ix.segs[i], &view, &sub, 0, &seed);
        brute_free(&sub);
        free(view.a);
    }
    for (size_t d = 0; d < c->n; d++)
        assert_int_equal(seen[d], 1);
    free(seen);
    for (int fl = 0; fl < N_TEXT_FIELDS; fl++) {
        uint64_t sum = 0;
        for (size_t d = 0; d < c->n; d++)
            sum += bf->len[fl][d];
        assert_int_equal(ix.sum_len[fl], sum);
    }
    snapshot_close(&ix);

    nd_index *many = NULL;
    nd_search *s = NULL;
    char msg[512];
    ASSERT_OK(nd_index_open(&many, dir, NULL, msg, sizeof msg), msg);
    nd_index_stats st;
    nd_index_stats_get(many, &st);
    assert_int_equal(st.segments, n_segs);
    assert_int_equal(st.docs, c->n);
    ASSERT_OK(nd_search_open(&s, many), "nd_search_open");
    static const char *const QUERIES[] = {"alpha",
                                          "beta",
                                          "alpha beta",
                                          "+alpha +beta",
                                          "alpha -beta",
                                          "market oil prices",
                                          "zürich",
                                          "東京",
                                          "election court police",
                                          "+beta -market",
                                          "gamma delta epsilon",
                                          "CEO's COVID-19",
                                          "MOSKVA Москва"};
    for (size_t i = 0; i < sizeof QUERIES / sizeof QUERIES[0]; i++)
        compare_search(one, s, c, QUERIES[i]);
    nd_search_free(s);
    nd_index_free(many);
    return n_segs;
}

static void test_segment_many_segments_rank_like_one(void **state)
{
    fixture *f = *state;
    char one[4200], many[4200], merged[4200];
    subdir(one, sizeof one, f, "one");
    subdir(many, sizeof many, f, "many");
    subdir(merged, sizeof merged, f, "merged");
    corpus c;
    gen_corpus(&c, ROUND_TRIP_DOCS, 0xfeedull, 0);
    brute bf;
    brute_build(&bf, f->an, &c);
    build_index(one, &c, 0, 0);
    nd_index *ix = NULL;
    nd_search *s = NULL;
    char msg[512];
    ASSERT_OK(nd_index_open(&ix, one, NULL, msg, sizeof msg), msg);
    nd_index_stats st;
    nd_index_stats_get(ix, &st);
    assert_int_equal(st.segments, 1);
    ASSERT_OK(nd_search_open(&s, ix), "nd_search_open");
    /* the segments as flushed, then as the automatic merges leave them */
    uint32_t flushed = check_split(f, &c, &bf, s, many, 1);
    uint32_t after_merges = check_split(f, &c, &bf, s, merged, 0);
    assert_true(flushed >= 10);
    assert_true(after_merges < flushed);
    nd_search_free(s);
    nd_index_free(ix);
    brute_free(&bf);
    free_corpus(&c);
}

/* ---- file helpers for the damage tests ----------------------------------- */

/* The files of a one-segment index: the five segment files, then MANIFEST. */
#define N_INDEX_FILES (FILE_KINDS + 1)

typedef struct index_files {
    char path[N_INDEX_FILES][4300];
    uint8_t *orig[N_INDEX_FILES]; /* pristine copies */
    size_t size[N_INDEX_FILES];
} index_files;

/* Recomputes the checksums (chunk table, footer) of a framed file image. */
static void refooter(uint8_t *p, size_t n)
{
    tf_refooter(p, n);
}

/* The layout-1 commit record of m, encoded here from the format
 * description: header, u64 generation, u64 next segment number, u32 segment
 * count, per segment u64 number, u32 documents and per file kind u64 size,
 * u32 CRC; footer. Returns a malloc'd image of *n bytes. */
static uint8_t *encode_manifest(const manifest *m, size_t *n)
{
    size_t len = FRAME_HEADER + 20 + (size_t)m->n_segs * (12 + 12 * FILE_KINDS) + FRAME_FOOTER;
    uint8_t *p = calloc(1, len), *q = p + FRAME_HEADER;
    assert_non_null(p);
    memcpy(p, "NDMF", 4);
    st_u16(p + 4, 1); /* MANIFEST stays at version 1 */
    st_u64(q, m->generation);
    st_u64(q + 8, m->next_seg);
    st_u32(q + 16, m->n_segs);
    q += 20;
    for (uint32_t i = 0; i < m->n_segs; i++) {
        st_u64(q, m->segs[i].number);
        st_u32(q + 8, m->segs[i].docs);
        q += 12;
        for (int k = 0; k < FILE_KINDS; k++, q += 12) {
            st_u64(q, m->segs[i].size[k]);
            st_u32(q + 8, m->segs[i].crc[k]);
        }
    }
    memcpy(p + len - 4, "NDMF", 4);
    refooter(p, len);
    *n = len;
    return p;
}

/* The damage tests patch the commit record byte by byte, in the layout-1
 * MANIFEST. A MANIFEST the writer wrote must be exactly that layout; an
 * index committed some other way gets the equivalent MANIFEST in place of
 * its commit record (readers accept layout 1). */
static void use_manifest(const char *dir)
{
    nd_err e = {{0}};
    manifest m;
    ASSERT_OK(manifest_read(&m, dir, &e), e.msg);
    size_t n, have;
    uint8_t *want = encode_manifest(&m, &n);
    manifest_free(&m);
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, MANIFEST_NAME);
    uint8_t *got = (uint8_t *)tu_read_file(path, &have);
    if (got) {
        assert_int_equal(have, n);
        assert_memory_equal(got, want, n);
    } else {
        tu_write_file(path, want, n);
#ifdef CATALOG_NAME
        snprintf(path, sizeof path, "%s/%s", dir, CATALOG_NAME);
        assert_int_equal(unlink(path), 0);
#endif
    }
    free(got);
    free(want);
}

static void load_files(index_files *fs, const char *dir)
{
    use_manifest(dir);
    nd_index ix;
    nd_err e = {{0}};
    ASSERT_OK(open_snapshot(&ix, dir, 0, &e), e.msg);
    assert_int_equal(ix.man.n_segs, 1);
    for (int k = 0; k < N_INDEX_FILES; k++) {
        char name[64];
        if (k < FILE_KINDS)
            seg_file_name(name, sizeof name, ix.segs[0].meta.number, k);
        else
            snprintf(name, sizeof name, "%s", MANIFEST_NAME);
        snprintf(fs->path[k], sizeof fs->path[k], "%s/%s", dir, name);
        fs->orig[k] = (uint8_t *)tu_read_file(fs->path[k], &fs->size[k]);
        assert_non_null(fs->orig[k]);
    }
    snapshot_close(&ix);
}

static void free_files(index_files *fs)
{
    for (int k = 0; k < N_INDEX_FILES; k++)
        free(fs->orig[k]);
}

static void put_bytes(const char *path, size_t off, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, p, n, (off_t)off), (ssize_t)n);
    close(fd);
}

static void restore_file(const index_files *fs, int k)
{
    tu_write_file(fs->path[k], fs->orig[k], fs->size[k]);
}

/* Offset in MANIFEST of the size and CRC recorded for file kind k of the
 * first segment. */
static size_t manifest_entry(int k)
{
    return FRAME_HEADER + 20 + 12 + 12 * (size_t)k;
}

/* Replaces segment file k with `img` (a whole framed file of n bytes) and
 * records its size and footer CRC in a MANIFEST whose own CRC is fixed. */
static void install_file(const index_files *fs, int k, const uint8_t *img, size_t n)
{
    tu_write_file(fs->path[k], img, n);
    size_t mn = fs->size[FILE_KINDS];
    uint8_t *m = malloc(mn);
    assert_non_null(m);
    memcpy(m, fs->orig[FILE_KINDS], mn);
    st_u64(m + manifest_entry(k), n);
    st_u32(m + manifest_entry(k) + 8, ld_u32(img + n - FRAME_FOOTER + 8));
    refooter(m, mn);
    tu_write_file(fs->path[FILE_KINDS], m, mn);
    free(m);
}

static int open_rc(const char *dir, int skip_checksums, char *msg, size_t n)
{
    nd_open_opts o = ND_OPEN_OPTS_INIT;
    o.skip_checksums = skip_checksums;
    char sentinel;
    nd_index *ix = (nd_index *)(void *)&sentinel; /* must become NULL on failure */
    int rc = nd_index_open(&ix, dir, &o, msg, n);
    if (rc != ND_OK && ix != NULL)
        fail_msg("nd_index_open failed with %d but left *out set", rc);
    nd_index_free(ix);
    return rc;
}

static void assert_open_fails(const char *dir, int want, const char *what, size_t at)
{
    char msg[512];
    int rc = open_rc(dir, 0, msg, sizeof msg);
    if (rc != want)
        fail_msg("%s at %zu: nd_index_open returned %d (%s), want %d", what, at, rc,
                 rc ? msg : "ok", want);
    if (!msg[0])
        fail_msg("%s at %zu: no error message", what, at);
}

enum { WALK_POSTINGS = 1, WALK_STORED = 2, WALK_SEARCH = 4, WALK_ALL = 7 };
static int walk_index(fixture *f, const char *dir, int skip_checksums, int what);

/* Damage to byte off of file k is reported by nd_index_open, except in the
 * body of a file with a chunk table (FORMAT.md section 3): readers check
 * those bytes when they first read them, so there the open may succeed
 * and reading everything must then report it. */
static void assert_damage_found(fixture *f, const char *dir, const index_files *fs, int k,
                                size_t off, int want)
{
    const uint8_t *img = fs->orig[k];
    int lazy = k < FILE_KINDS && frame_has_sums((const char *)img, ld_u16(img + 4)) &&
               off >= FRAME_HEADER && off < tf_body_end(img, fs->size[k]);
    if (!lazy) {
        assert_open_fails(dir, want, fs->path[k], off);
        return;
    }
    char msg[512];
    int rc = open_rc(dir, 0, msg, sizeof msg);
    if (rc == ND_OK && walk_index(f, dir, 0, WALK_ALL) == 0)
        fail_msg("%s at %zu: opened, and reading everything did not report the damage",
                 fs->path[k], off);
    if (rc != ND_OK && rc != want)
        fail_msg("%s at %zu: nd_index_open returned %d (%s), want %d", fs->path[k], off, rc, msg,
                 want);
}

static void build_small(const fixture *f, const char *name, char *dir, size_t n, corpus *c,
                        size_t docs, uint64_t seed, int short_bodies)
{
    subdir(dir, n, f, name);
    gen_corpus(c, docs, seed, short_bodies);
    build_index(dir, c, 0, 0);
}

/* ---- 2a. truncation ------------------------------------------------------ */

static void test_segment_truncated_files(void **state)
{
    fixture *f = *state;
    char dir[4200];
    corpus c;
    build_small(f, "ix", dir, sizeof dir, &c, 50, 0xabcull, 0);
    index_files fs;
    load_files(&fs, dir);
    for (int k = 0; k < N_INDEX_FILES; k++) {
        size_t size = fs.size[k];
        size_t step = size <= 1024 ? 1 : size / 400;
        for (size_t len = 0; len < size; len++) {
            if (size > 1024 && len >= 64 && len + 64 < size && len % step != 0)
                continue;
            assert_int_equal(truncate(fs.path[k], (off_t)len), 0);
            assert_open_fails(dir, ND_ECORRUPT, fs.path[k], len);
        }
        /* a missing file */
        assert_int_equal(unlink(fs.path[k]), 0);
        assert_open_fails(dir, k < FILE_KINDS ? ND_ECORRUPT : ND_ENOTFOUND, fs.path[k], 0);
        restore_file(&fs, k);
        assert_int_equal(open_rc(dir, 0, NULL, 0), ND_OK);
    }
    free_files(&fs);
    free_corpus(&c);
}

/* ---- 2b. flipped bytes --------------------------------------------------- */

static void test_segment_flipped_bytes(void **state)
{
    fixture *f = *state;
    char dir[4200];
    corpus c;
    build_small(f, "ix", dir, sizeof dir, &c, 50, 0xabcull, 0);
    index_files fs;
    load_files(&fs, dir);
    uint64_t seed = 1234;
    for (int k = 0; k < N_INDEX_FILES; k++) {
        size_t size = fs.size[k];
        size_t n = size <= 2000 ? size : 2000;
        for (size_t i = 0; i < n; i++) {
            size_t off = i;
            if (size > 2000) { /* both ends, and a jittered spread in between */
                if (i < 64)
                    off = i;
                else if (i >= n - 64)
                    off = size - (n - i);
                else
                    off = i * size / n + (size_t)(tu_rand(&seed) % (size / n));
            }
            uint8_t b = fs.orig[k][off] ^ 0xff;
            put_bytes(fs.path[k], off, &b, 1);
            /* the version field reads as a newer version; anything else is damage */
            int want = off == 4 || off == 5 ? ND_EVERSION : ND_ECORRUPT;
            assert_damage_found(f, dir, &fs, k, off, want);
            put_bytes(fs.path[k], off, &fs.orig[k][off], 1);
        }
        assert_int_equal(open_rc(dir, 0, NULL, 0), ND_OK);
    }
    free_files(&fs);
    free_corpus(&c);
}

/* ---- 2c. damage the checksums do not see ------------------------------- */

typedef struct guarded {
    segment saved;        /* the segment as opened */
    const uint8_t **keys; /* and its block keys */
    fence *file;          /* FILE_KINDS of them, borrowed */
    uint8_t *index;       /* the term dictionary's block index, alone */
} guarded;

static void guard_segment(guarded *g, segment *s, fence *file)
{
    g->file = file;
    g->saved = *s;
    size_t nb = s->n_tblocks ? s->n_tblocks : 1;
    g->keys = malloc(nb * sizeof *g->keys);
    assert_non_null(g->keys);
    memcpy(g->keys, s->tblock_key, s->n_tblocks * sizeof *g->keys);
    for (int k = 0; k < FILE_KINDS; k++) {
        /* .tdx: the blocks end where the block index begins */
        size_t n = k == 0 ? (size_t)s->tdx_index_off : FRAME_HEADER + s->body_len[k];
        fence_reserve(&g->file[k], n);
        const uint8_t *real = s->map[k].data, *copy = fence_put(&g->file[k], real, n);
        s->body[k] = copy + FRAME_HEADER;
        s->map[k].data = copy;
        s->map[k].len = n;
        if (k == 3) {
            s->lens = copy + (g->saved.lens - real);
            s->dates = copy + (g->saved.dates - real);
            if (s->id_off) {
                s->id_off = copy + (g->saved.id_off - real);
                s->ids = copy + (g->saved.ids - real);
            }
        }
    }
    size_t ilen = FRAME_HEADER + s->body_len[0] - (size_t)s->tdx_index_off;
    g->index = malloc(ilen ? ilen : 1);
    assert_non_null(g->index);
    const uint8_t *real_index = g->saved.map[0].data + s->tdx_index_off;
    memcpy(g->index, real_index, ilen);
    for (uint32_t i = 0; i < s->n_tblocks; i++)
        s->tblock_key[i] = g->index + (g->keys[i] - real_index);
}

static void unguard_segment(guarded *g, segment *s)
{
    memcpy(s->tblock_key, g->keys, s->n_tblocks * sizeof *g->keys);
    *s = g->saved;
    free(g->keys);
    free(g->index);
}

/* Walks one term's postings (in order, or by jumps) from copies of its
 * lists that end at a fence. Returns the number of ND_ECORRUPT results. */
static int walk_postings(segment *s, const term_info *ti, int field, int jump, fence *fd, fence *fp)
{
    nd_err e = {{0}};
    const uint8_t *doc_map = s->map[1].data, *pos_map = s->map[2].data;
    /* the lists, and the mapping's start as seen from them */
    s->map[1].data = fence_put(fd, doc_map + ti->doc_off, (size_t)ti->doc_len) - ti->doc_off;
    s->map[2].data = fence_put(fp, pos_map + ti->pos_off, (size_t)ti->pos_len) - ti->pos_off;
    int bad = 0;
    pcursor c;
    int rc = pcursor_open(&c, s, field, ti, &e);
    if (rc != ND_OK && rc != ND_ECORRUPT)
        fail_msg("pcursor_open: %d", rc);
    uint32_t target = jump ? (uint32_t)(ti->doc_off % 3) : 0, prev = 0, n = 0;
    while (rc == ND_OK && (rc = pcursor_advance(&c, target, &e)) == ND_OK && c.doc != ND_NO_DOC) {
        if (c.doc >= s->docs || c.doc < target || (n > 0 && c.doc <= prev) || ++n > ti->df)
            fail_msg("postings walk out of order or out of range");
        if (pcursor_tf(&c) == 0)
            fail_msg("zero frequency accepted");
        if (field < N_TEXT_FIELDS) {
            const uint32_t *pos;
            uint32_t np;
            rc = pcursor_positions(&c, &pos, &np, &e);
            if (rc == ND_OK && np != pcursor_tf(&c))
                fail_msg("%u positions for tf %u", np, pcursor_tf(&c));
            for (uint32_t i = 1; rc == ND_OK && i < np; i++)
                if (pos[i] <= pos[i - 1])
                    fail_msg("positions not ascending");
        }
        prev = c.doc;
        target = c.doc + 1 + (jump ? c.doc % 7 : 0);
    }
    if (rc != ND_OK && rc != ND_ECORRUPT)
        fail_msg("postings walk: %d", rc);
    if (rc == ND_ECORRUPT && !e.msg[0])
        fail_msg("ND_ECORRUPT without a message");
    bad += rc == ND_ECORRUPT;
    pcursor_close(&c);
    s->map[1].data = doc_map;
    s->map[2].data = pos_map;
    return bad;
}

/* What a walk reads besides the columns (parts a damage cannot reach are
 * skipped to keep the trials cheap). */
/* The parts of a walk that can see damage to file kind k. */
static int walk_for(int k)
{
    return k == 4 ? WALK_STORED | WALK_SEARCH : k == 3 ? WALK_ALL : WALK_POSTINGS | WALK_SEARCH;
}

/* The whole dictionary, and every term's postings twice (in order, by
 * jumps). */
static int walk_dictionary(segment *s, fence *fd, fence *fp)
{
    int bad = 0;
    nd_err e = {{0}};
    fence_reserve(fd, s->map[1].len);
    fence_reserve(fp, s->map[2].len);
    term_iter it;
    const uint8_t empty[1] = {0};
    int rc = term_iter_seek(&it, s, empty, 0, &e);
    if (rc != ND_OK && rc != ND_ECORRUPT)
        fail_msg("term_iter_seek: %d", rc);
    uint64_t terms = 0;
    while (rc == ND_OK && (rc = term_iter_next(&it, &e)) == ND_OK) {
        const term_info *ti = &it.ti;
        if (++terms > s->n_terms)
            fail_msg("the dictionary walk passed its %llu terms", (unsigned long long)s->n_terms);
        if (it.klen == 0 || it.klen > ND_MAX_TERM_KEY || ti->df == 0 || ti->df > s->docs)
            fail_msg("bad term entry accepted");
        if (ti->doc_off < FRAME_HEADER || ti->doc_off + ti->doc_len > s->map[1].len ||
            ti->pos_off < FRAME_HEADER || ti->pos_off + ti->pos_len > s->map[2].len)
            fail_msg("term entry pointing outside .doc or .pos accepted");
        term_info found;
        int lrc = segment_term(s, it.key, it.klen, &found, &e);
        if (lrc != ND_OK && lrc != ND_DONE && lrc != ND_ECORRUPT)
            fail_msg("segment_term: %d", lrc);
        bad += lrc != ND_OK;
        for (int jump = 0; jump < 2; jump++)
            bad += walk_postings(s, ti, it.key[0], jump, fd, fp);
    }
    if (rc != ND_DONE && rc != ND_ECORRUPT)
        fail_msg("term_iter_next: %d", rc);
    if (rc == ND_ECORRUPT && !e.msg[0])
        fail_msg("ND_ECORRUPT without a message");
    return bad + (rc == ND_ECORRUPT);
}

/* Every stored article. */
static int walk_stored(const segment *s, uint64_t *sum)
{
    int bad = 0;
    nd_err e = {{0}};
    nd_buf block = {0};
    uint32_t cached = UINT32_MAX;
    for (uint32_t d = 0; d < s->docs; d++) {
        stored_doc sd;
        int rc = segment_stored(s, d, &block, &cached, &sd, &e);
        if (rc == ND_ECORRUPT) {
            bad++;
            continue;
        }
        if (rc != ND_OK)
            fail_msg("segment_stored: %d", rc);
        for (int k = 0; k < SF_COUNT; k++) {
            const uint8_t *p = (const uint8_t *)sd.f[k];
            if (sd.len[k] && (p < block.data || p + sd.len[k] > block.data + block.len))
                fail_msg("stored field outside its block");
            for (size_t i = 0; i < sd.len[k]; i++)
                *sum += p[i];
        }
    }
    buf_free(&block);
    return bad;
}

/* Reads everything reachable in an opened (guarded) segment; every call
 * must succeed or report ND_ECORRUPT, and what succeeds must keep the
 * reader's invariants. Returns the number of ND_ECORRUPT results. */
static int walk_segment(segment *s, int what, fence *fd, fence *fp)
{
    int bad = 0;
    uint64_t sum = 0;
    nd_err e = {{0}};
    nd_buf block = {0};
    uint32_t cached = UINT32_MAX;
    for (uint32_t d = 0; d < s->docs; d++) { /* the columns, checked as queries read them */
        int64_t date;
        uint32_t len;
        const char *id;
        size_t id_len;
        bad += segment_col_group(s, d >> COL_GROUP_SHIFT, &e) == ND_ECORRUPT;
        date = segment_date(s, d);
        sum += (uint64_t)date;
        for (int f = 0; f < N_TEXT_FIELDS; f++) {
            len = segment_len(s, f, d);
            sum += len;
        }
        int rc = segment_doc_id(s, d, &block, &cached, &id, &id_len, &e);
        if (rc != ND_OK && rc != ND_ECORRUPT)
            fail_msg("segment_doc_id: %d", rc);
        bad += rc == ND_ECORRUPT;
    }
    buf_free(&block);
    if (what & WALK_POSTINGS)
        bad += walk_dictionary(s, fd, fp);
    if (what & WALK_STORED)
        bad += walk_stored(s, &sum);
    volatile uint64_t sink = sum; /* the bytes above are read, not optimised away */
    (void)sink;
    return bad;
}

static int walk_index(fixture *f, const char *dir, int skip_checksums, int what)
{
    char msg[512];
    nd_open_opts o = ND_OPEN_OPTS_INIT;
    o.skip_checksums = skip_checksums;
    nd_index *ix = NULL;
    int rc = nd_index_open(&ix, dir, &o, msg, sizeof msg);
    if (rc != ND_OK) {
        if (rc != ND_ECORRUPT)
            fail_msg("nd_index_open: %d (%s)", rc, msg);
        if (!msg[0] || ix)
            fail_msg("failed open without a message or with a handle");
        return 1;
    }
    int bad = 0;
    guarded g[1];
    if (ix->man.n_segs > 1)
        fail_msg("the damage tests use one-segment indexes");
    for (uint32_t i = 0; i < ix->man.n_segs; i++) {
        guard_segment(&g[i], &ix->segs[i], f->fences);
        bad += walk_segment(&ix->segs[i], what, &f->fences[FILE_KINDS], &f->fences[FILE_KINDS + 1]);
    }
    nd_search *s = NULL;
    if (what & WALK_SEARCH)
        assert_int_equal(nd_search_open(&s, ix), ND_OK);
    static const char *const QUERIES[] = {"alpha", "beta market oil", "+alpha -beta", "zürich"};
    for (size_t q = 0; q < sizeof QUERIES / sizeof QUERIES[0] && (what & WALK_SEARCH); q++) {
        nd_hits *h = NULL;
        rc = nd_search_run(s, &h, QUERIES[q], 10, NULL);
        if (rc != ND_OK && rc != ND_ECORRUPT)
            fail_msg("nd_search_run('%s'): %d (%s)", QUERIES[q], rc, nd_search_errmsg(s));
        if (rc == ND_ECORRUPT && !nd_search_errmsg(s)[0])
            fail_msg("search ND_ECORRUPT without a message");
        bad += rc == ND_ECORRUPT;
        unsigned sum = 0;
        for (size_t i = 0; i < nd_hits_count(h); i++) {
            nd_hit hit;
            assert_int_equal(nd_hits_get(h, i, &hit), ND_OK);
            /* touch every returned byte */
            for (size_t b = 0; b < hit.id_len; b++)
                sum += (unsigned char)hit.id[b];
            for (size_t b = 0; b < hit.title_len; b++)
                sum += (unsigned char)hit.title[b];
            for (size_t b = 0; b < hit.snippet_len; b++)
                sum += (unsigned char)hit.snippet[b];
            for (size_t m = 0; m < hit.n_marks; m++)
                if ((size_t)hit.marks[m].start + hit.marks[m].len > hit.snippet_len)
                    fail_msg("mark outside the snippet");
        }
        volatile unsigned sink = sum; /* read, not optimised away */
        (void)sink;
        nd_hits_free(h);
    }
    nd_search_free(s);
    for (uint32_t i = 0; i < ix->man.n_segs; i++)
        unguard_segment(&g[i], &ix->segs[i]);
    nd_index_free(ix);
    return bad;
}

/* One random change to the body of file k: a flipped bit or byte, a special
 * value, a run of garbage, or a few scattered bytes. Returns the damaged
 * range so it can be restored. */
static void damage(const index_files *fs, int k, uint64_t *seed, size_t *at, size_t *len)
{
    size_t body = tf_body_end(fs->orig[k], fs->size[k]) - FRAME_HEADER;
    uint8_t buf[16];
    size_t off = FRAME_HEADER + (size_t)(tu_rand(seed) % body), n = 1;
    size_t room = FRAME_HEADER + body - off;
    static const uint8_t SPECIAL[] = {0x00, 0xff, 0x80, 0x7f, 0x01, 0x20};
    switch (tu_rand(seed) % 5) {
    case 0:
        buf[0] = fs->orig[k][off] ^ (uint8_t)(1u << (tu_rand(seed) % 8));
        break;
    case 1:
        buf[0] = fs->orig[k][off] ^ (uint8_t)(1 + tu_rand(seed) % 255);
        break;
    case 2:
        buf[0] = SPECIAL[tu_rand(seed) % sizeof SPECIAL];
        break;
    case 3:
        n = ND_MIN(room, 1 + (size_t)(tu_rand(seed) % 16));
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)tu_rand(seed);
        break;
    default: /* up to four bytes changed within a small window */
        n = ND_MIN(room, 2 + (size_t)(tu_rand(seed) % 15));
        memcpy(buf, fs->orig[k] + off, n);
        for (int i = 0; i < 4; i++)
            buf[tu_rand(seed) % n] ^= (uint8_t)(1 + tu_rand(seed) % 255);
        break;
    }
    put_bytes(fs->path[k], off, buf, n);
    *at = off;
    *len = n;
}

static void fuzz_index(fixture *f, const char *dir, int trials, uint64_t seed)
{
    index_files fs;
    load_files(&fs, dir);
    assert_int_equal(walk_index(f, dir, 1, WALK_ALL), 0); /* the intact index walks cleanly */
    for (int t = 0; t < trials; t++) {
        int k = t % FILE_KINDS;
        size_t at, len;
        damage(&fs, k, &seed, &at, &len);
        /* searches (slow to set up) after every third change */
        walk_index(f, dir, 1, walk_for(k) & (t % 3 ? ~WALK_SEARCH : WALK_ALL));
        put_bytes(fs.path[k], at, fs.orig[k] + at, len);
    }
    assert_int_equal(open_rc(dir, 0, NULL, 0), ND_OK);
    free_files(&fs);
}

static void test_segment_damage_past_checksums(void **state)
{
    fixture *f = *state;
    char dir[4200];
    corpus c1, c2;
    /* articles of every shape; then many short ones, so that 128-document
     * blocks, skip tables and packed positions get damaged as well */
    build_small(f, "ix", dir, sizeof dir, &c1, 50, 0x51ull, 0);
    fuzz_index(f, dir, 600, 0xc0ffeeull);
    build_small(f, "ix2", dir, sizeof dir, &c2, 300, 0x52ull, 1);
    fuzz_index(f, dir, 600, 0xbadull);
    free_corpus(&c1);
    free_corpus(&c2);
}

/* A fixed-width little-endian field (or one byte of a varint or a block
 * header) of a segment file. */
typedef struct spot {
    int k;        /* file kind */
    size_t off;   /* file offset */
    int width;    /* 1, 4 or 8 */
    uint64_t max; /* largest value tried */
} spot;

typedef struct spots {
    spot s[512];
    size_t n;
} spots;

static spot *add_spot(spots *sp, int k, size_t off, int width)
{
    assert_true(sp->n < sizeof sp->s / sizeof sp->s[0]);
    spot x = {k, off, width, UINT64_MAX};
    sp->s[sp->n] = x;
    return &sp->s[sp->n++];
}

/* Finds the structural fields of a pristine one-segment index: the term
 * dictionary's trailer, block index and block headers, the columns header,
 * the stored-block index, and for a few long postings lists the skip table
 * and each block's bit-width bytes in .doc and .pos. */
static void find_spots(spots *sp, const char *dir)
{
    nd_index ix;
    nd_err e = {{0}};
    ASSERT_OK(open_snapshot(&ix, dir, 0, &e), e.msg);
    const segment *s = &ix.segs[0];
    size_t tdx_end = FRAME_HEADER + s->body_len[0];
    for (int i = 0; i < 4; i++)
        add_spot(sp, 0, tdx_end - 24 + (i < 2 ? 8 * (size_t)i : 16 + 4 * (size_t)(i - 2)),
                 i < 2 ? 8 : 4);
    const uint32_t pick[4] = {0, 1, s->n_tblocks / 2, s->n_tblocks - 1};
    for (int i = 0; i < 4; i++) {
        uint32_t b = pick[i];
        size_t at = (size_t)s->tdx_index_off;
        for (uint32_t j = 0; j < b; j++)
            at += 8 + varint_len(s->tblock_keylen[j]) + s->tblock_keylen[j];
        assert_int_equal(ld_u64(s->map[0].data + at), s->tblock_off[b]);
        add_spot(sp, 0, at, 8);     /* block offset */
        add_spot(sp, 0, at + 8, 1); /* first key length */
        /* the block header (postings and positions offsets), then the first
         * entry: shared and suffix lengths */
        const uint8_t *p = s->map[0].data + s->tblock_off[b], *end = s->map[0].data + tdx_end;
        for (int v = 0; v < 4; v++) {
            uint64_t ignored;
            add_spot(sp, 0, (size_t)(p - s->map[0].data), 1);
            assert_int_equal(varint_get(&p, end, &ignored), 0);
        }
    }
    /* every byte of the last two entries of the last block, which end where
     * the blocks end */
    {
        uint32_t b = s->n_tblocks - 1;
        const uint8_t *p = s->map[0].data + s->tblock_off[b];
        const uint8_t *end = s->map[0].data + s->tdx_index_off;
        uint64_t v, in_block = s->n_terms - (uint64_t)b * s->tblock_size;
        size_t entry[2] = {0, 0};
        assert_int_equal(varint_get(&p, end, &v) | varint_get(&p, end, &v), 0);
        for (uint64_t t = 0; t < in_block; t++) {
            entry[t % 2] = (size_t)(p - s->map[0].data);
            uint64_t suffix;
            assert_int_equal(varint_get(&p, end, &v) | varint_get(&p, end, &suffix), 0);
            p += suffix;
            for (int i = 0; i < 4; i++)
                assert_int_equal(varint_get(&p, end, &v), 0);
        }
        assert_true(p == end);
        for (size_t at = ND_MIN(entry[0], entry[1]); at < (size_t)s->tdx_index_off; at++)
            add_spot(sp, 0, at, 1);
    }
    add_spot(sp, 3, FRAME_HEADER, 4);
    add_spot(sp, 3, FRAME_HEADER + 4, 4);
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        add_spot(sp, 3, FRAME_HEADER + 8 + 8 * (size_t)f, 8);
    size_t sto_end = FRAME_HEADER + s->body_len[4];
    add_spot(sp, 4, sto_end - 4, 4);
    for (uint32_t b = 0; b < s->n_sblocks; b++) {
        size_t at = sto_end - 4 - 20 * (size_t)(s->n_sblocks - b);
        add_spot(sp, 4, at, 8);      /* offset */
        add_spot(sp, 4, at + 8, 4);  /* compressed size */
        add_spot(sp, 4, at + 16, 4); /* first document */
        /* The reader allocates a block's uncompressed size before inflating
         * it; sizes past what deflate can expand to (1032:1) would cost
         * gigabytes per try (minutes under AddressSanitizer). */
        add_spot(sp, 4, at + 12, 4)->max = (uint64_t)s->sblocks[b].clen * 1032;
    }
    term_iter it;
    const uint8_t empty[1] = {0};
    int lists = 0, single = 0;
    ASSERT_OK(term_iter_seek(&it, s, empty, 0, &e), e.msg);
    while (lists < 4 && term_iter_next(&it, &e) == ND_OK) {
        if (it.ti.df < ND_BLOCK || it.key[0] >= N_TEXT_FIELDS)
            continue;
        lists++;
        pcursor c;
        ASSERT_OK(pcursor_open(&c, s, it.key[0], &it.ti, &e), e.msg);
        single += c.nb == 1; /* one full block, no skip table */
        size_t blocks = (size_t)(c.blocks - s->map[1].data);
        for (size_t at = (size_t)it.ti.doc_off; at < blocks; at++)
            add_spot(sp, 1, at, 1); /* every byte of the skip table */
        for (uint32_t b = 0; b < c.nb; b++) {
            size_t at = blocks + (c.nb > 1 ? (size_t)c.block_off[b] : 0);
            add_spot(sp, 1, at, 1);
            if (it.ti.df - b * ND_BLOCK >= ND_BLOCK) /* packed: the frequencies' width follows */
                add_spot(sp, 1, at + 1 + 16 * (size_t)s->map[1].data[at], 1);
            uint64_t pos = c.nb > 1 ? c.pos_block_off[b] : it.ti.pos_off;
            uint64_t pos_end = c.nb > 1 ? c.pos_block_off[b + 1] : pos + it.ti.pos_len;
            if (pos_end - pos > 64)
                add_spot(sp, 2, (size_t)pos, 1);
        }
        pcursor_close(&c);
    }
    assert_int_equal(lists, 4);
    assert_int_equal(single, 1);
    snapshot_close(&ix);
}

static uint64_t load_le(const uint8_t *p, int width)
{
    return width == 1 ? p[0] : width == 4 ? ld_u32(p) : ld_u64(p);
}

static void store_le(uint8_t *p, int width, uint64_t v)
{
    if (width == 1)
        p[0] = (uint8_t)v;
    else if (width == 4)
        st_u32(p, (uint32_t)v);
    else
        st_u64(p, v);
}

/* Edge values for every structural field, with the checksums skipped. */
static void test_segment_damaged_structure_fields(void **state)
{
    fixture *f = *state;
    char dir[4200];
    corpus c;
    build_small(f, "ix", dir, sizeof dir, &c, 300, 0x56ull, 1);
    index_files fs;
    load_files(&fs, dir);
    spots *sp = calloc(1, sizeof *sp);
    assert_non_null(sp);
    find_spots(sp, dir);
    int walks = 0, caught = 0;
    for (size_t i = 0; i < sp->n; i++) {
        const spot *x = &sp->s[i];
        uint64_t orig = load_le(fs.orig[x->k] + x->off, x->width);
        uint64_t top = x->width == 1 ? 0xff : x->width == 4 ? UINT32_MAX : UINT64_MAX;
        const uint64_t wide[] = {0,
                                 1,
                                 orig - 1,
                                 orig + 1,
                                 orig * 2,
                                 orig / 2,
                                 top >> 1,
                                 (top >> 1) + 1,
                                 top,
                                 UINT32_MAX,
                                 (uint64_t)UINT32_MAX + 1,
                                 top - orig + 1};
        const uint64_t narrow[] = {0x00, 0x7f, 0x80, 0xff, orig ^ 1, 33};
        const uint64_t *vals = x->width == 1 ? narrow : wide;
        size_t nv = x->width == 1 ? sizeof narrow / sizeof narrow[0] : sizeof wide / sizeof wide[0];
        for (size_t v = 0; v < nv; v++) {
            uint64_t val = vals[v] & top;
            if (val == orig || val > x->max)
                continue;
            uint8_t b[8];
            store_le(b, x->width, val);
            put_bytes(fs.path[x->k], x->off, b, (size_t)x->width);
            caught += walk_index(f, dir, 1, walk_for(x->k)) > 0;
            walks++;
            put_bytes(fs.path[x->k], x->off, fs.orig[x->k] + x->off, (size_t)x->width);
        }
    }
    /* most of these values are wrong and must be noticed */
    assert_true(caught * 10 > walks * 8);

    /* dictionary trailers whose term count, block count and block size agree
     * with each other but not with the file */
    static const struct {
        uint64_t terms;
        uint32_t blocks, size;
    } TRAILERS[] = {
        {UINT64_MAX, 0, 2},
        {(uint64_t)UINT32_MAX * 32, UINT32_MAX, 32},
        {(uint64_t)UINT32_MAX * 4096, UINT32_MAX, 4096},
        {(uint64_t)1 << 33, 1u << 28, 32},
        {0, 0, 32},
        {1, 1, 4096},
    };
    size_t trailer = tf_body_end(fs.orig[0], fs.size[0]) - 24;
    for (size_t i = 0; i < sizeof TRAILERS / sizeof TRAILERS[0]; i++) {
        uint8_t t[24];
        memcpy(t, fs.orig[0] + trailer, 24);
        st_u64(t, TRAILERS[i].terms);
        st_u32(t + 16, TRAILERS[i].blocks);
        st_u32(t + 20, TRAILERS[i].size);
        put_bytes(fs.path[0], trailer, t, 24);
        char msg[512];
        int rc = open_rc(dir, 1, msg, sizeof msg);
        if (rc != ND_ECORRUPT)
            fail_msg("trailer %zu: nd_index_open returned %d (%s)", i, rc, rc ? msg : "ok");
        put_bytes(fs.path[0], trailer, fs.orig[0] + trailer, 24);
    }
    assert_int_equal(walk_index(f, dir, 1, WALK_ALL), 0);
    free(sp);
    free_files(&fs);
    free_corpus(&c);
}

/* The .sto image with block `which` replaced by `raw` (uncompressed,
 * compressed here); block index and frame rewritten to match. Returns a
 * malloc'd image of *n bytes. */
static uint8_t *sto_with_block(const index_files *fs, uint32_t which, const uint8_t *raw,
                               size_t rlen, size_t *n)
{
    const uint8_t *f = fs->orig[4];
    size_t end = tf_body_end(f, fs->size[4]);
    uint32_t nb = ld_u32(f + end - 4);
    const uint8_t *idx = f + end - 4 - 20 * (size_t)nb;
    uLong bound = compressBound((uLong)rlen);
    uint8_t *img = malloc(fs->size[4] + 2 * bound + 64); /* a longer body, a longer table */
    uint8_t *nidx = malloc(20 * (size_t)nb + 1);
    assert_true(img && nidx);
    memcpy(img, f, FRAME_HEADER);
    memcpy(nidx, idx, 20 * (size_t)nb);
    size_t at = FRAME_HEADER;
    for (uint32_t b = 0; b < nb; b++) {
        uint8_t *x = nidx + 20 * (size_t)b;
        st_u64(x, at);
        if (b == which) {
            uLongf zlen = bound;
            assert_int_equal(compress2(img + at, &zlen, raw, (uLong)rlen, 6), Z_OK);
            st_u32(x + 8, (uint32_t)zlen);
            st_u32(x + 12, (uint32_t)rlen);
            at += zlen;
        } else {
            memcpy(img + at, f + ld_u64(idx + 20 * (size_t)b), ld_u32(x + 8));
            at += ld_u32(x + 8);
        }
    }
    memcpy(img + at, nidx, 20 * (size_t)nb);
    at += 20 * (size_t)nb;
    st_u32(img + at, nb);
    at = tf_frame(img, at + 4 - FRAME_HEADER);
    free(nidx);
    *n = at;
    return img;
}

/* Stored records damaged before compression, so that zlib and every
 * checksum agree and only the record decoding can notice. */
static void test_segment_damaged_stored_records(void **state)
{
    fixture *f = *state;
    char dir[4200];
    corpus c;
    build_small(f, "ix", dir, sizeof dir, &c, 120, 0x57ull, 0);
    index_files fs;
    load_files(&fs, dir);
    nd_index ix;
    nd_err e = {{0}};
    ASSERT_OK(open_snapshot(&ix, dir, 0, &e), e.msg);
    uint32_t nsb = ix.segs[0].n_sblocks, docs = ix.segs[0].docs;
    stored_block *sblocks = malloc(nsb * sizeof *sblocks);
    assert_non_null(sblocks);
    memcpy(sblocks, ix.segs[0].sblocks, nsb * sizeof *sblocks);
    snapshot_close(&ix); /* the files change under it from here on */
    assert_true(nsb >= 2);
    uint64_t seed = 4242;
    int walks = 0, caught = 0;
    for (int pass = 0; pass < 2; pass++) {
        uint32_t b = pass == 0 ? 0 : nsb - 1;
        const stored_block *sb = &sblocks[b];
        uint32_t last = b + 1 < nsb ? sblocks[b + 1].first : docs;
        uint8_t *raw = malloc(sb->ulen);
        assert_non_null(raw);
        uLongf ulen = sb->ulen;
        assert_int_equal(uncompress(raw, &ulen, fs.orig[4] + sb->off, sb->clen), Z_OK);
        assert_int_equal(ulen, sb->ulen);
        /* where each record's length varints are */
        size_t *lens = malloc(sizeof *lens * SF_COUNT * (last - sb->first));
        assert_non_null(lens);
        size_t n_lens = 0;
        const uint8_t *p = raw, *end = raw + ulen;
        for (uint32_t d = sb->first; d < last; d++)
            for (int k = 0; k < SF_COUNT; k++) {
                uint64_t len;
                lens[n_lens++] = (size_t)(p - raw);
                assert_int_equal(varint_get(&p, end, &len), 0);
                p += len;
            }
        assert_true(p == end);
        for (size_t t = 0; t < n_lens + 60; t++) {
            /* each length varint gets an edge value; then random bytes and cuts */
            size_t at = t < n_lens ? lens[t] : (size_t)(tu_rand(&seed) % ulen);
            static const uint8_t VALS[] = {0x00, 0x7f, 0xff, 0x80};
            uint8_t keep = raw[at];
            size_t rlen = ulen;
            if (t < n_lens)
                raw[at] = VALS[t % 4] == keep ? (uint8_t)(keep + 1) : VALS[t % 4];
            else if (t % 2)
                raw[at] ^= (uint8_t)(1 + tu_rand(&seed) % 255);
            else
                rlen = at;
            size_t n;
            uint8_t *img = sto_with_block(&fs, b, raw, rlen, &n);
            install_file(&fs, 4, img, n);
            caught += walk_index(f, dir, 0, walk_for(4)) > 0;
            walks++;
            free(img);
            raw[at] = keep;
        }
        free(lens);
        free(raw);
    }
    assert_true(caught * 2 > walks);
    restore_file(&fs, 4);
    restore_file(&fs, FILE_KINDS);
    assert_int_equal(walk_index(f, dir, 0, WALK_ALL), 0);
    free(sblocks);
    free_files(&fs);
    free_corpus(&c);
}

/* Bodies cut short (or grown) under a valid frame, with the MANIFEST updated
 * to match: the checksums all agree, so only structure checks stand between
 * the reader and the missing bytes. */
static void test_segment_reframed_bodies(void **state)
{
    fixture *f = *state;
    char dir[4200];
    corpus c;
    build_small(f, "ix", dir, sizeof dir, &c, 300, 0x53ull, 1);
    index_files fs;
    load_files(&fs, dir);
    uint64_t seed = 77;
    for (int k = 0; k < FILE_KINDS; k++) {
        size_t body = tf_body_end(fs.orig[k], fs.size[k]) - FRAME_HEADER;
        uint8_t *img = malloc(fs.size[k] + 128); /* grown by 64, its table by 4 */
        assert_non_null(img);
        size_t step = body <= 400 ? 1 : body / 200;
        for (size_t cut = 0; cut <= body + 64; cut += cut < body ? step : 13) {
            size_t keep = cut < body ? cut : body;
            memcpy(img, fs.orig[k], FRAME_HEADER + keep);
            for (size_t i = keep; i < cut; i++) /* grown: garbage after the body */
                img[FRAME_HEADER + i] = (uint8_t)tu_rand(&seed);
            size_t n = tf_frame(img, cut);
            install_file(&fs, k, img, n);
            walk_index(f, dir, 0, walk_for(k));
        }
        free(img);
        restore_file(&fs, k);
        restore_file(&fs, FILE_KINDS);
        assert_int_equal(open_rc(dir, 0, NULL, 0), ND_OK);
    }
    /* the MANIFEST body damaged, its checksum recomputed */
    size_t mn = fs.size[FILE_KINDS];
    uint8_t *m = malloc(mn);
    assert_non_null(m);
    for (size_t off = FRAME_HEADER; off < mn - FRAME_FOOTER; off++) {
        memcpy(m, fs.orig[FILE_KINDS], mn);
        m[off] ^= (uint8_t)(1 + tu_rand(&seed) % 255);
        refooter(m, mn);
        tu_write_file(fs.path[FILE_KINDS], m, mn);
        char msg[512];
        int rc = open_rc(dir, 0, msg, sizeof msg);
        /* The generation and the next segment number may take other values
         * (a larger next number is harmless); the segment count, the segment
         * entry, its document count and every size and CRC must be checked. */
        if (off < FRAME_HEADER + 16 ? rc != ND_OK && rc != ND_ECORRUPT : rc != ND_ECORRUPT)
            fail_msg("MANIFEST byte %zu: nd_index_open returned %d (%s)", off, rc, rc ? msg : "ok");
    }
    restore_file(&fs, FILE_KINDS);
    assert_int_equal(open_rc(dir, 0, NULL, 0), ND_OK);
    free(m);
    free_files(&fs);
    free_corpus(&c);
}

/* Opens the index at dir (which must succeed) and a search on it. */
static nd_search *open_searcher(const char *dir, nd_index **ix)
{
    char msg[512];
    ASSERT_OK(nd_index_open(ix, dir, NULL, msg, sizeof msg), msg);
    nd_search *s = NULL;
    assert_int_equal(nd_search_open(&s, *ix), ND_OK);
    return s;
}

/* Version 2 files are checked chunk by chunk as they are read, so a damaged
 * chunk fails what reads it, and nothing else: opening the index, and
 * searches that do not read it, still succeed; nd_check reports it. */
static void test_segment_checked_when_read(void **state)
{
    fixture *f = *state;
    char dir[4200];
    corpus c;
    build_small(f, "ix", dir, sizeof dir, &c, 300, 0x55ull, 0);
    index_files fs;
    load_files(&fs, dir);
    /* a byte of the first stored block: the first articles' text */
    uint8_t b = fs.orig[FILE_STO][FRAME_HEADER + 20] ^ 0x20;
    put_bytes(fs.path[FILE_STO], FRAME_HEADER + 20, &b, 1);
    nd_index *ix = NULL;
    char msg[512];
    nd_search *s = open_searcher(dir, &ix);
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.ids_only = 1;
    o.snippets = 0;
    nd_hits *h = NULL;
    /* every article, ids only: postings and columns, no stored text */
    ASSERT_OK(nd_search_run(s, &h, "alpha OR beta OR market OR oil", 300, &o),
              nd_search_errmsg(s));
    assert_true(nd_hits_count(h) > 0);
    nd_hits_free(h);
    h = NULL;
    /* with their text: the damaged block is read */
    int rc = nd_search_run(s, &h, "alpha OR beta OR market OR oil", 300, NULL);
    assert_int_equal(rc, ND_ECORRUPT);
    assert_null(h);
    if (!strstr(nd_search_errmsg(s), "seg-1.sto: checksum mismatch in bytes 0..16383"))
        fail_msg("message: %s", nd_search_errmsg(s));
    nd_search_free(s);
    nd_index_free(ix);
    nd_check_report *r = NULL;
    ASSERT_OK(nd_check(&r, dir, NULL, msg, sizeof msg), msg);
    nd_check_summary sum;
    nd_check_summary_get(r, &sum);
    assert_true(sum.errors > 0);
    nd_check_report_free(r);
    restore_file(&fs, FILE_STO);
    /* damage in .doc and .pos bodies does not stop an open either */
    for (int k = FILE_DOC; k <= FILE_POS; k++) {
        size_t at = tf_body_end(fs.orig[k], fs.size[k]) - 1;
        b = fs.orig[k][at] ^ 0x01;
        put_bytes(fs.path[k], at, &b, 1);
        ASSERT_OK(nd_index_open(&ix, dir, NULL, msg, sizeof msg), msg);
        nd_index_free(ix);
        assert_true(walk_index(f, dir, 0, WALK_POSTINGS) > 0);
        restore_file(&fs, k);
    }
    assert_int_equal(walk_index(f, dir, 0, WALK_ALL), 0);
    free_files(&fs);
    free_corpus(&c);
    /* the columns (format 3 .col): the date of an article in the third
     * chunk (the url lengths of the last articles, the dates of the first
     * 1,600; nothing an open reads), checked when a query reads the date
     * of any of them, not when the index is opened */
    build_small(f, "ixc", dir, sizeof dir, &c, 3000, 0x56ull, 0);
    load_files(&fs, dir);
    uint32_t D = ld_u32(fs.orig[FILE_COL] + FRAME_HEADER);
    size_t at = FRAME_HEADER + 32 + 12 * (size_t)D + (size_t)8 * 200; /* article 200's date */
    assert_true(at >= 32768 && at < 49152 && FRAME_HEADER + 32 + 20 * (size_t)D >= 49152);
    b = fs.orig[FILE_COL][at] ^ 0x01;
    put_bytes(fs.path[FILE_COL], at, &b, 1);
    s = open_searcher(dir, &ix);
    rc = nd_search_run(s, &h, "alpha OR beta OR market OR oil", 10, &o);
    assert_int_equal(rc, ND_ECORRUPT);
    if (!strstr(nd_search_errmsg(s), "seg-1.col: checksum mismatch in bytes 32768..49151"))
        fail_msg("message: %s", nd_search_errmsg(s));
    nd_search_free(s);
    nd_index_free(ix);
    assert_true(walk_index(f, dir, 0, WALK_ALL) > 0);
    ASSERT_OK(nd_check(&r, dir, NULL, msg, sizeof msg), msg);
    nd_check_summary_get(r, &sum);
    assert_true(sum.errors > 0);
    nd_check_report_free(r);
    restore_file(&fs, FILE_COL);
    /* and a body length in the second chunk (articles 1086..2999), read to
     * score any article from 1024 on */
    at = FRAME_HEADER + 32 + 4 * ((size_t)D + 2000);
    assert_true(at >= 16384 && at < 32768);
    b = fs.orig[FILE_COL][at] ^ 0x01;
    put_bytes(fs.path[FILE_COL], at, &b, 1);
    s = open_searcher(dir, &ix);
    rc = nd_search_run(s, &h, "alpha OR beta OR market OR oil", ND_MAX_K, &o);
    assert_int_equal(rc, ND_ECORRUPT);
    if (!strstr(nd_search_errmsg(s), "seg-1.col: checksum mismatch in bytes 16384..32767"))
        fail_msg("message: %s", nd_search_errmsg(s));
    nd_search_free(s);
    nd_index_free(ix);
    restore_file(&fs, FILE_COL);
    assert_int_equal(walk_index(f, dir, 0, WALK_ALL), 0);
    free_files(&fs);
    free_corpus(&c);
}

/* A list of exactly 128 documents spanning 192 numbers (every article
 * but each third) is one bitmap block (FORMAT.md section 7): the writer
 * chooses it, counting (the bitset path) and ranking (the expanding path)
 * read it, and a bitmap without exactly 128 bits, too long, or with a
 * zero last byte is damage on both paths, with checksums that agree. */
static void search_word(const char *dir, int count_only, int want_rc, uint64_t want_total)
{
    nd_index *ix = NULL;
    nd_search *s = open_searcher(dir, &ix);
    nd_search_opts o = ND_SEARCH_OPTS_INIT;
    o.count_only = count_only;
    o.snippets = 0;
    nd_hits *h = NULL;
    int rc = nd_search_run(s, &h, "bitmapword", 200, &o);
    if (rc != want_rc)
        fail_msg("count_only %d: %d (%s), want %d", count_only, rc, nd_search_errmsg(s), want_rc);
    if (rc == ND_ECORRUPT && !strstr(nd_search_errmsg(s), "seg-1.doc: term postings: bad"))
        fail_msg("message: %s", nd_search_errmsg(s));
    if (rc == ND_OK) {
        assert_int_equal(nd_hits_total(h), want_total);
        if (!count_only)
            assert_int_equal(nd_hits_count(h), want_total);
    }
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
}

static void test_segment_bitmap_blocks(void **state)
{
    fixture *f = *state;
    char dir[4200];
    corpus c;
    subdir(dir, sizeof dir, f, "ix");
    gen_corpus(&c, 192, 0x57ull, 1);
    for (size_t i = 0; i < c.n; i++)
        if (i % 3 != 0)
            append_word(&c.a[i], SF_BODY, "bitmapword");
    build_index(dir, &c, 0, 0);
    index_files fs;
    load_files(&fs, dir);
    nd_index ix;
    nd_err e = {{0}};
    ASSERT_OK(open_snapshot(&ix, dir, 0, &e), e.msg);
    uint8_t key[16] = {FIELD_BODY};
    memcpy(key + 1, "bitmapword", 10);
    term_info ti;
    ASSERT_OK(segment_term(&ix.segs[0], key, 11, &ti, &e), e.msg);
    snapshot_close(&ix);
    assert_int_equal(ti.df, 128);
    /* the block as FORMAT.md gives it: marker, 24 bytes, bit i for article
     * i, then the frequencies packed at width 0 (every tf is 1) */
    const uint8_t *p = fs.orig[FILE_DOC] + ti.doc_off;
    assert_int_equal(ti.doc_len, 1 + 1 + 24 + 1);
    assert_int_equal(p[0], DOC_DENSE);
    assert_int_equal(p[1], 24);
    for (unsigned i = 0; i < 192; i++)
        assert_int_equal((p[2 + i / 8] >> (i % 8)) & 1, i % 3 != 0);
    assert_int_equal(p[26], 0);
    search_word(dir, 1, ND_OK, 128);
    search_word(dir, 0, ND_OK, 128);

    size_t n = fs.size[FILE_DOC], at = (size_t)ti.doc_off;
    uint8_t *img = malloc(n);
    assert_non_null(img);
    static const struct {
        size_t off;
        uint8_t x; /* XORed in */
        int rc;
    } CHANGES[] = {
        {2, 0x02, ND_ECORRUPT},        /* article 1 dropped: 127 bits */
        {2, 0x01, ND_ECORRUPT},        /* article 0 added: 129 bits */
        {2, 0x03, ND_OK},              /* 0 for 1: 128 bits, a valid block */
        {1, 24 ^ 33, ND_ECORRUPT},     /* longer than any bitmap */
        {1, 24 ^ 23, ND_ECORRUPT},     /* one byte short: 122 bits */
        {25, 0xdb, ND_ECORRUPT},       /* the last byte zero */
        {25, 0xc0, ND_ECORRUPT},       /* articles 190, 191 dropped: 126 bits */
        {0, DOC_DENSE ^ 0x41, ND_ECORRUPT}, /* neither bitmap nor width */
    };
    for (size_t i = 0; i < sizeof CHANGES / sizeof CHANGES[0]; i++) {
        memcpy(img, fs.orig[FILE_DOC], n);
        img[at + CHANGES[i].off] ^= CHANGES[i].x;
        refooter(img, n);
        install_file(&fs, FILE_DOC, img, n);
        search_word(dir, 1, CHANGES[i].rc, 128);
        search_word(dir, 0, CHANGES[i].rc, 128);
    }
    /* the same bytes in a version 2 .doc: bitmaps did not exist yet */
    memcpy(img, fs.orig[FILE_DOC], n);
    st_u16(img + 4, DOC_VERSION - 1);
    refooter(img, n);
    install_file(&fs, FILE_DOC, img, n);
    search_word(dir, 1, ND_ECORRUPT, 0);
    search_word(dir, 0, ND_ECORRUPT, 0);
    free(img);
    restore_file(&fs, FILE_DOC);
    restore_file(&fs, FILE_KINDS);
    search_word(dir, 1, ND_OK, 128);
    free_files(&fs);
    free_corpus(&c);
}

/* ---- 3. versions and non-indexes ----------------------------------------- */

static void test_segment_newer_version(void **state)
{
    fixture *f = *state;
    char dir[4200];
    corpus c;
    build_small(f, "ix", dir, sizeof dir, &c, 20, 0x54ull, 0);
    index_files fs;
    load_files(&fs, dir);
    size_t max = 0;
    for (int k = 0; k < N_INDEX_FILES; k++)
        max = ND_MAX(max, fs.size[k]);
    uint8_t *img = malloc(max);
    assert_non_null(img);
    for (int k = 0; k < N_INDEX_FILES; k++) {
        /* one past the newest version readers accept for the file, and more */
        const uint16_t VERSIONS[] = {(uint16_t)(frame_max_version((const char *)fs.orig[k]) + 1),
                                     0xffff, 0};
        for (size_t v = 0; v < sizeof VERSIONS / sizeof VERSIONS[0]; v++) {
            memcpy(img, fs.orig[k], fs.size[k]);
            st_u16(img + 4, VERSIONS[v]);
            refooter(img, fs.size[k]);
            if (k < FILE_KINDS)
                install_file(&fs, k, img, fs.size[k]);
            else
                tu_write_file(fs.path[k], img, fs.size[k]);
            assert_open_fails(dir, ND_EVERSION, fs.path[k], VERSIONS[v]);
        }
        /* unknown flags are damage, not a version */
        memcpy(img, fs.orig[k], fs.size[k]);
        st_u16(img + 6, 1);
        refooter(img, fs.size[k]);
        if (k < FILE_KINDS)
            install_file(&fs, k, img, fs.size[k]);
        else
            tu_write_file(fs.path[k], img, fs.size[k]);
        assert_open_fails(dir, ND_ECORRUPT, fs.path[k], 6);
        restore_file(&fs, k);
        restore_file(&fs, FILE_KINDS);
        assert_int_equal(open_rc(dir, 0, NULL, 0), ND_OK);
    }
    /* the writer refuses to add to an index it cannot read */
    memcpy(img, fs.orig[FILE_KINDS], fs.size[FILE_KINDS]);
    st_u16(img + 4, ND_FORMAT_VERSION + 1);
    refooter(img, fs.size[FILE_KINDS]);
    tu_write_file(fs.path[FILE_KINDS], img, fs.size[FILE_KINDS]);
    nd_writer *w = NULL;
    assert_int_equal(nd_writer_open(&w, dir, NULL), ND_EVERSION);
    assert_null(w);
    free(img);
    free_files(&fs);
    free_corpus(&c);
}

static void test_segment_not_an_index(void **state)
{
    fixture *f = *state;
    char dir[4200], path[4300];
    subdir(dir, sizeof dir, f, "plain");
    assert_int_equal(mkdir(dir, 0777), 0);
    assert_open_fails(dir, ND_ENOTFOUND, dir, 0); /* empty */
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    tu_write_file(path, "hello\n", 6);
    snprintf(path, sizeof path, "%s/seg-1.tdx", dir);
    tu_write_file(path, "NDTD", 4);
    assert_open_fails(dir, ND_ENOTFOUND, dir, 1); /* unrelated files, no MANIFEST */
    subdir(dir, sizeof dir, f, "does-not-exist");
    assert_open_fails(dir, ND_ENOTFOUND, dir, 2);

    /* a real index whose commit record is gone is no index either */
    corpus c;
    build_small(f, "ix", dir, sizeof dir, &c, 5, 0x55ull, 0);
    use_manifest(dir);
    snprintf(path, sizeof path, "%s/%s", dir, MANIFEST_NAME);
    assert_int_equal(unlink(path), 0);
    assert_open_fails(dir, ND_ENOTFOUND, dir, 3);
    free_corpus(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_segment_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_many_segments_rank_like_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_truncated_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_flipped_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_damage_past_checksums, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_damaged_structure_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_damaged_stored_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_reframed_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_checked_when_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_bitmap_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_newer_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_not_an_index, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
