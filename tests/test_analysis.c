/*
 * test_analysis.c - known-answer tests for the analyzer: the exact terms,
 * positions and byte offsets it produces for English, other scripts,
 * normalisation cases, damaged UTF-8 and long texts, plus keyword folding.
 * The expected lists are what ICU 72's root word rules and dictionaries
 * give; a change here changes every index, so update them deliberately.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

#include "analysis/analysis.h"

/* ---- helpers ---------------------------------------------------------- */

typedef struct tok {
    char term[ND_MAX_TERM_BYTES + 1];
    size_t len;
    uint32_t pos;
    size_t start;
    size_t end;
} tok;

/* Collected tokens of one run, and the invariants every token must meet. */
typedef struct toks {
    tok *v;
    size_t n;
    size_t cap;
    size_t text_len;  /* length of the analysed text */
    size_t calls;     /* callback invocations */
    size_t stop_at;   /* return stop_rc from this call (1-based); 0 = never */
    int stop_rc;
    int keep;         /* store tokens in v (else only check them) */
    int64_t last_pos; /* -1 before the first token */
    size_t last_end;
} toks;

/* A strict UTF-8 check: no overlongs, surrogates or values past U+10FFFF. */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int collect(void *ctx, const nd_token *t)
{
    toks *c = ctx;
    c->calls++;
    assert_true(t->len >= 1 && t->len <= ND_MAX_TERM_BYTES);
    assert_true(t->start < t->end && t->end <= c->text_len);
    assert_true(t->start >= c->last_end);
    assert_true((int64_t)t->pos > c->last_pos);
    assert_true(valid_utf8((const unsigned char *)t->term, t->len));
    /* U+FFFD is never part of a word, so a substituted byte never shows. */
    for (size_t i = 0; i + 2 < t->len; i++)
        assert_false(memcmp(t->term + i, "\xEF\xBF\xBD", 3) == 0);
    c->last_pos = t->pos;
    c->last_end = t->end;
    if (c->keep) {
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 16;
            c->v = realloc(c->v, c->cap * sizeof *c->v);
            assert_non_null(c->v);
        }
        tok *o = &c->v[c->n++];
        memcpy(o->term, t->term, t->len);
        o->term[t->len] = 0;
        o->len = t->len;
        o->pos = t->pos;
        o->start = t->start;
        o->end = t->end;
    }
    if (c->stop_at && c->calls == c->stop_at)
        return c->stop_rc;
    return 0;
}

static void toks_init(toks *c, size_t text_len)
{
    memset(c, 0, sizeof *c);
    c->text_len = text_len;
    c->keep = 1;
    c->last_pos = -1;
}

/* Runs the analyzer over text[0..len) and returns the tokens (free c->v). */
static void analyse(nd_analyzer *a, const char *text, size_t len, toks *c)
{
    toks_init(c, len);
    int rc = analyzer_run(a, text, len, collect, c);
    if (rc)
        print_message("analyzer_run: %d %s\n", rc, analyzer_errmsg(a));
    assert_int_equal(rc, 0);
    assert_int_equal(c->calls, c->n);
}

/* One expected token. start == SIZE_MAX skips the offset check. */
typedef struct want {
    const char *term;
    uint32_t pos;
    size_t start;
    size_t end;
} want;

#define W(t, p) {t, p, SIZE_MAX, SIZE_MAX}
#define WO(t, p, s, e) {t, p, s, e}

static void dump(const char *text, const toks *c)
{
    print_message("tokens of \"%s\":\n", text);
    for (size_t i = 0; i < c->n; i++)
        print_message("  \"%s\" pos %u [%zu,%zu)\n", c->v[i].term, (unsigned)c->v[i].pos,
                      c->v[i].start, c->v[i].end);
}

static void check(nd_analyzer *a, const char *text, size_t len, const want *w, size_t n)
{
    toks c;
    analyse(a, text, len, &c);
    int ok = c.n == n;
    for (size_t i = 0; ok && i < n; i++) {
        ok = strlen(w[i].term) == c.v[i].len && memcmp(w[i].term, c.v[i].term, c.v[i].len) == 0 &&
             w[i].pos == c.v[i].pos &&
             (w[i].start == SIZE_MAX || (w[i].start == c.v[i].start && w[i].end == c.v[i].end));
    }
    if (!ok)
        dump(text, &c);
    free(c.v);
    assert_true(ok);
}

/* The text is a string literal, so sizeof counts embedded NUL bytes too. */
#define CHECK(a, text, ...)                                                                        \
    do {                                                                                           \
        const want w_[] = {__VA_ARGS__};                                                           \
        check(a, text, sizeof(text) - 1, w_, sizeof w_ / sizeof w_[0]);                            \
    } while (0)

#define CHECK_NONE(a, text) check(a, text, sizeof(text) - 1, NULL, 0)

static int setup(void **state)
{
    nd_analyzer *a = NULL;
    nd_err e = {{0}};
    int rc = analyzer_open(&a, &e);
    if (rc) {
        print_message("analyzer_open: %d %s\n", rc, e.msg);
        return -1;
    }
    *state = a;
    return 0;
}

static int teardown(void **state)
{
    analyzer_free(*state);
    return 0;
}

/* ---- English ---------------------------------------------------------- */

static void test_analysis_possessives(void **state)
{
    nd_analyzer *a = *state;
    /* The offsets cover the whole word, the stripped "'s" included. */
    CHECK(a, "The CEO's plan", WO("the", 0, 0, 3), WO("ceo", 1, 4, 9), WO("plan", 2, 10, 14));
    CHECK(a, "Reuters' report", WO("reuters", 0, 0, 7), WO("report", 1, 9, 15));
    CHECK(a, "Britain\u2019s", WO("britain", 0, 0, 11));
    CHECK(a, "JOHN'S", WO("john", 0, 0, 6));
    CHECK(a, "don't", WO("don't", 0, 0, 5));
    CHECK(a, "it\u2019s O\u2019Neill", WO("it", 0, 0, 6), WO("o'neill", 1, 7, 16));
    CHECK(a, "na\u00efve\u2019s", WO("na\u00efve", 0, 0, 10));
    /* Fullwidth letters and U+2019: NFKC first, then the apostrophe rules. */
    CHECK(a, "\uff23\uff25\uff2f\u2019\uff33", WO("ceo", 0, 0, 15));
    /* A digit before the apostrophe is no word for ICU: "3", then "s". */
    CHECK(a, "3\u2019s", WO("3", 0, 0, 1), WO("s", 1, 4, 5));
}

static void test_analysis_hyphens(void **state)
{
    nd_analyzer *a = *state;
    CHECK(a, "COVID-19 cases", WO("covid", 0, 0, 5), WO("19", 1, 6, 8), WO("cases", 2, 9, 14));
    CHECK(a, "well-known", WO("well", 0, 0, 4), WO("known", 1, 5, 10));
    CHECK(a, "state-of-the-art", W("state", 0), W("of", 1), W("the", 2), WO("art", 3, 13, 16));
}

static void test_analysis_numbers(void **state)
{
    nd_analyzer *a = *state;
    CHECK(a, "5G 3.14 1,000", WO("5g", 0, 0, 2), WO("3.14", 1, 3, 7), WO("1,000", 2, 8, 13));
    /* Signs, currency and percent are punctuation; "Q3" counts as a number. */
    CHECK(a, "-3.5% $100 Q3 2020s", WO("3.5", 0, 1, 4), WO("100", 1, 7, 10), W("q3", 2),
          W("2020s", 3));
    CHECK(a, "10:30 .5", WO("10", 0, 0, 2), WO("30", 1, 3, 5), WO("5", 2, 7, 8));
    CHECK(a, "\uff11\uff12\uff13", WO("123", 0, 0, 9));
}

static void test_analysis_abbreviations(void **state)
{
    nd_analyzer *a = *state;
    /* ICU keeps inner dots (WB6/WB7) but not the final one. */
    CHECK(a, "U.S. and U.K.", WO("u.s", 0, 0, 3), WO("and", 1, 5, 8), WO("u.k", 2, 9, 12));
    CHECK(a, "e.g. i.e.", WO("e.g", 0, 0, 3), WO("i.e", 1, 5, 8));
    CHECK(a, "ab_cd", WO("ab_cd", 0, 0, 5));
    /* ICU 72 counts "@" as a letter: addresses and handles stay whole,
     * while URLs break at ":" and "/". */
    CHECK(a, "x@y.com @user", WO("x@y.com", 0, 0, 7), WO("@user", 1, 8, 13));
    CHECK(a, "http://a.b/c", W("http", 0), WO("a.b", 1, 7, 10), W("c", 2));
}

/* ---- normalisation ---------------------------------------------------- */

static void test_analysis_accents_kept(void **state)
{
    nd_analyzer *a = *state;
    CHECK(a, "Caf\u00e9 Z\u00fcrich", WO("caf\u00e9", 0, 0, 5), WO("z\u00fcrich", 1, 6, 13));
    /* A decomposed accent is composed (NFC inside NFKC). */
    CHECK(a, "Cafe\xcc\x81", WO("caf\u00e9", 0, 0, 6));
}

static void test_analysis_nfkc_casefold(void **state)
{
    nd_analyzer *a = *state;
    CHECK(a, "\ufb01nance", WO("finance", 0, 0, 8));
    CHECK(a, "Stra\u00dfe", WO("strasse", 0, 0, 7));
    CHECK(a, "\uff21\uff22\uff23", WO("abc", 0, 0, 9));
    CHECK(a, "\u01c5", WO("d\u017e", 0, 0, 2));
    CHECK(a, "\u0130stanbul", WO("i\u0307stanbul", 0, 0, 9));
    /* Case folding has no final sigma. */
    CHECK(a, "\u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3",
          W("\u03c3\u03af\u03c3\u03c5\u03c6\u03bf\u03c3", 0));
    /* Halfwidth katakana become the ordinary ones. */
    CHECK(a, "\uff76\uff80\uff76\uff85", WO("\u30ab\u30bf\u30ab\u30ca", 0, 0, 12));
    /* A soft hyphen stays inside the word for ICU, and the folding drops it. */
    CHECK(a, "a\u00adb", WO("ab", 0, 0, 4));
}

static void test_analysis_empty_after_folding(void **state)
{
    nd_analyzer *a = *state;
    /* U+3164 HANGUL FILLER is a letter to ICU but folds to nothing: it is
     * dropped without taking a position. */
    CHECK(a, "a \u3164 b", WO("a", 0, 0, 1), WO("b", 1, 6, 7));
}

/* ---- other scripts ---------------------------------------------------- */

static void test_analysis_chinese(void **state)
{
    nd_analyzer *a = *state;
    CHECK(a, "\u6211\u7231\u5317\u4eac\u5929\u5b89\u95e8", WO("\u6211", 0, 0, 3),
          WO("\u7231", 1, 3, 6), WO("\u5317\u4eac", 2, 6, 12), WO("\u5929\u5b89\u95e8", 3, 12, 21));
    /* 中华人民共和国成立于1949年 */
    CHECK(a, "\u4e2d\u534e\u4eba\u6c11\u5171\u548c\u56fd\u6210\u7acb\u4e8e1949\u5e74",
          W("\u4e2d\u534e", 0), W("\u4eba\u6c11", 1), W("\u5171\u548c\u56fd", 2),
          W("\u6210\u7acb", 3), W("\u4e8e", 4), WO("1949", 5, 30, 34), WO("\u5e74", 6, 34, 37));
    /* Latin then Han with no space: 报道说 */
    CHECK(a, "Reuters\u62a5\u9053\u8bf4", WO("reuters", 0, 0, 7), WO("\u62a5\u9053", 1, 7, 13),
          WO("\u8bf4", 2, 13, 16));
}

static void test_analysis_japanese(void **state)
{
    nd_analyzer *a = *state;
    /* 日本の首相は東京で記者会見を開いた。 - the dictionary has no
     * inflection, so 開いた comes out as 開 / い / た. */
    CHECK(a,
          "\u65e5\u672c\u306e\u9996\u76f8\u306f\u6771\u4eac\u3067\u8a18\u8005\u4f1a\u898b\u3092"
          "\u958b\u3044\u305f\u3002",
          WO("\u65e5\u672c", 0, 0, 6), WO("\u306e", 1, 6, 9), W("\u9996\u76f8", 2),
          W("\u306f", 3), WO("\u6771\u4eac", 4, 18, 24), W("\u3067", 5), W("\u8a18\u8005", 6),
          W("\u4f1a\u898b", 7), W("\u3092", 8), W("\u958b", 9), W("\u3044", 10),
          WO("\u305f", 11, 48, 51));
    /* ソニーが新しいカメラを発表しました */
    CHECK(a,
          "\u30bd\u30cb\u30fc\u304c\u65b0\u3057\u3044\u30ab\u30e1\u30e9\u3092\u767a\u8868\u3057"
          "\u307e\u3057\u305f",
          WO("\u30bd\u30cb\u30fc", 0, 0, 9), W("\u304c", 1), W("\u65b0\u3057\u3044", 2),
          WO("\u30ab\u30e1\u30e9", 3, 21, 30), W("\u3092", 4), W("\u767a\u8868", 5),
          W("\u3057\u307e", 6), WO("\u3057\u305f", 7, 45, 51));
}

static void test_analysis_thai(void **state)
{
    nd_analyzer *a = *state;
    /* ภาษาไทยเป็นภาษาที่สวยงาม: "Thai is a beautiful language". */
    CHECK(a,
          "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0e40\u0e1b\u0e47\u0e19\u0e20\u0e32\u0e29"
          "\u0e32\u0e17\u0e35\u0e48\u0e2a\u0e27\u0e22\u0e07\u0e32\u0e21",
          WO("\u0e20\u0e32\u0e29\u0e32", 0, 0, 12), WO("\u0e44\u0e17\u0e22", 1, 12, 21),
          WO("\u0e40\u0e1b\u0e47\u0e19", 2, 21, 33), WO("\u0e20\u0e32\u0e29\u0e32", 3, 33, 45),
          WO("\u0e17\u0e35\u0e48", 4, 45, 54),
          WO("\u0e2a\u0e27\u0e22\u0e07\u0e32\u0e21", 5, 54, 72));
}

static void test_analysis_arabic(void **state)
{
    nd_analyzer *a = *state;
    /* الأخبار العاجلة ("breaking news"): unchanged by the folding. */
    CHECK(a,
          "\u0627\u0644\u0623\u062e\u0628\u0627\u0631 "
          "\u0627\u0644\u0639\u0627\u062c\u0644\u0629",
          WO("\u0627\u0644\u0623\u062e\u0628\u0627\u0631", 0, 0, 14),
          WO("\u0627\u0644\u0639\u0627\u062c\u0644\u0629", 1, 15, 29));
}

static void test_analysis_german(void **state)
{
    nd_analyzer *a = *state;
    CHECK(a, "Die Bundesregierung beschloss gestern Ma\u00dfnahmen gegen \u00c4u\u00dferungen.",
          WO("die", 0, 0, 3), WO("bundesregierung", 1, 4, 19), W("beschloss", 2),
          W("gestern", 3), WO("massnahmen", 4, 38, 48), W("gegen", 5),
          WO("\u00e4usserungen", 6, 55, 67));
}

static void test_analysis_emoji_dropped(void **state)
{
    nd_analyzer *a = *state;
    CHECK(a, "I \u2764\ufe0f news \U0001f389", WO("i", 0, 0, 1), WO("news", 1, 9, 13));
    /* A skin-tone modifier and a flag are symbols too. */
    CHECK(a, "\U0001f44d\U0001f3fdok \U0001f1eb\U0001f1f7 #tag", WO("ok", 0, 8, 10),
          WO("tag", 1, 21, 24));
}

/* ---- damaged and unusual input ---------------------------------------- */

static void test_analysis_invalid_utf8(void **state)
{
    nd_analyzer *a = *state;
    CHECK(a, "ab\xff\xfe" "cd", WO("ab", 0, 0, 2), WO("cd", 1, 4, 6));
    /* Lone continuation bytes. */
    CHECK(a, "\x80\x80x \xbf", WO("x", 0, 2, 3));
    /* A sequence cut short by the end of the text. */
    CHECK(a, "y\xe2\x82", WO("y", 0, 0, 1));
    CHECK(a, "caf\xc3", WO("caf", 0, 0, 3));
    /* An overlong "/" and an encoded surrogate. */
    CHECK(a, "\xc0\xafz \xed\xa0\x80w", WO("z", 0, 2, 3), WO("w", 1, 7, 8));
    /* A bad byte inside a word splits it. */
    CHECK(a, "News\xffroom", WO("news", 0, 0, 4), WO("room", 1, 5, 9));
    /* Non-ASCII words next to damage still normalise. */
    CHECK(a, "\xff\u00c9t\u00c9\xfe", WO("\u00e9t\u00e9", 0, 1, 6));
}

static void test_analysis_random_bytes(void **state)
{
    nd_analyzer *a = *state;
    /* Mostly letters, with high bytes of every kind mixed in: the
     * invariants in collect() must hold and nothing may fail. */
    static const char pool[] = "aZ9' .-\xc3\xa9\xe2\x80\x99\xe6\x97\xa5\xf0\x9f\x8e\x89\x80\xff";
    uint64_t seed = 0x5eed5eedULL;
    char buf[512];
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(tu_rand(&seed) % sizeof buf);
        for (size_t i = 0; i < n; i++) {
            uint64_t r = tu_rand(&seed);
            buf[i] = pool[(r >> 8) % (sizeof pool - 1)];
            if ((r & 3) == 0)
                buf[i] = (char)(r >> 8);
        }
        toks c;
        analyse(a, buf, n, &c);
        free(c.v);
    }
}

static void test_analysis_nul_bytes(void **state)
{
    nd_analyzer *a = *state;
    CHECK(a, "ab\0cd e\0", WO("ab", 0, 0, 2), WO("cd", 1, 3, 5), WO("e", 2, 6, 7));
    CHECK_NONE(a, "\0\0\0");
}

static void test_analysis_empty_input(void **state)
{
    nd_analyzer *a = *state;
    toks c;
    toks_init(&c, 0);
    assert_int_equal(analyzer_run(a, NULL, 0, collect, &c), 0);
    assert_int_equal(analyzer_run(a, "ignored", 0, collect, &c), 0);
    assert_int_equal(c.calls, 0);
    free(c.v);
    CHECK_NONE(a, "");
    assert_string_equal(analyzer_errmsg(a), "");
}

static void test_analysis_whitespace_only(void **state)
{
    nd_analyzer *a = *state;
    CHECK_NONE(a, " \t\n\r\v\f  \u3000\u00a0\u2028 ");
    CHECK_NONE(a, "... -- !! ?? \u2014 \u00bf\u300c\u300d");
}

static void test_analysis_long_tokens(void **state)
{
    nd_analyzer *a = *state;
    char buf[1024];
    toks c;

    /* 300 bytes: dropped, but it takes position 1. */
    int n = snprintf(buf, sizeof buf, "first %0300d second third", 0);
    memset(buf + 6, 'x', 300);
    check(a, buf, (size_t)n,
          (const want[]){WO("first", 0, 0, 5), WO("second", 2, 307, 313), WO("third", 3, 314, 319)},
          3);

    /* Exactly ND_MAX_TERM_BYTES is kept; one more is not. */
    memset(buf, 'k', ND_MAX_TERM_BYTES);
    memcpy(buf + ND_MAX_TERM_BYTES, " z", 2);
    analyse(a, buf, ND_MAX_TERM_BYTES + 2, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.v[0].len, ND_MAX_TERM_BYTES);
    assert_int_equal(c.v[1].pos, 1);
    free(c.v);
    memset(buf, 'K', ND_MAX_TERM_BYTES + 1);
    memcpy(buf + ND_MAX_TERM_BYTES + 1, " z", 2);
    check(a, buf, ND_MAX_TERM_BYTES + 3,
          (const want[]){WO("z", 1, ND_MAX_TERM_BYTES + 2, ND_MAX_TERM_BYTES + 3)}, 1);

    /* The limit applies after the possessive is stripped... */
    memset(buf, 'k', ND_MAX_TERM_BYTES);
    memcpy(buf + ND_MAX_TERM_BYTES, "'s", 2);
    analyse(a, buf, ND_MAX_TERM_BYTES + 2, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0].len, ND_MAX_TERM_BYTES);
    assert_int_equal(c.v[0].end, ND_MAX_TERM_BYTES + 2);
    free(c.v);

    /* ...and after normalisation: 100 fullwidth letters (300 bytes) fold
     * to 100 ASCII ones, */
    for (int i = 0; i < 100; i++)
        memcpy(buf + (size_t)3 * i, "\uff21", 3);
    analyse(a, buf, 300, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0].len, 100);
    assert_int_equal(c.v[0].term[99], 'a');
    assert_int_equal(c.v[0].end, 300);
    free(c.v);

    /* while 128 "É" fold to 256 bytes of "é": too long. 127 fit. */
    for (int i = 0; i < 128; i++)
        memcpy(buf + (size_t)2 * i, "\u00c9", 2);
    memcpy(buf + 256, " z", 2);
    check(a, buf, 258, (const want[]){WO("z", 1, 257, 258)}, 1);
    memcpy(buf + 254, " z", 2);
    analyse(a, buf, 256, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.v[0].len, 254);
    assert_memory_equal(c.v[0].term + 252, "\u00e9", 2);
    assert_int_equal(c.v[1].pos, 1);
    free(c.v);
}

static void test_analysis_positions_restart(void **state)
{
    nd_analyzer *a = *state;
    for (int i = 0; i < 3; i++)
        CHECK(a, "oil prices", WO("oil", 0, 0, 3), WO("prices", 1, 4, 10));
}

/* ---- long texts --------------------------------------------------------- */

/* Streams the tokens of a long repeated text against the tokens of one copy. */
typedef struct repeat_check {
    toks base;         /* invariants and call count */
    const toks *unit;  /* the tokens of one copy */
    const char *text;  /* the whole text */
    size_t unit_len;   /* bytes of one copy */
} repeat_check;

static int check_repeat(void *ctx, const nd_token *t)
{
    repeat_check *r = ctx;
    size_t i = r->base.calls;
    collect(&r->base, t);
    const tok *u = &r->unit->v[i % r->unit->n];
    size_t copy = i / r->unit->n;
    assert_int_equal(t->pos, i);
    assert_int_equal(t->len, u->len);
    assert_memory_equal(t->term, u->term, u->len);
    assert_int_equal(t->start, copy * r->unit_len + u->start);
    assert_int_equal(t->end, copy * r->unit_len + u->end);
    /* ASCII tokens map back to their bytes: lower case, perhaps plus "'s". */
    const unsigned char *src = (const unsigned char *)r->text + t->start;
    size_t n = t->end - t->start;
    int ascii = 1;
    for (size_t k = 0; k < n; k++)
        ascii &= src[k] < 0x80;
    if (ascii) {
        assert_true(n == t->len || (n == t->len + 2 && memcmp(src + t->len, "'s", 2) == 0));
        for (size_t k = 0; k < t->len; k++)
            assert_int_equal(t->term[k], src[k] >= 'A' && src[k] <= 'Z' ? src[k] + 32 : src[k]);
    }
    return 0;
}

static void test_analysis_long_text(void **state)
{
    nd_analyzer *a = *state;
    /* 67 bytes, so copies straddle the piece boundaries at varying places. */
    static const char unit[] = "The CEO's plan: COVID-19 cases rose 3.14% in Z\u00fcrich, "
                               "\u5317\u4eac says.\n";
    const size_t ulen = sizeof unit - 1, copies = (size_t)5 * 1000 * 1000 / ulen + 1;
    const size_t len = copies * ulen;
    char *text = malloc(len);
    assert_non_null(text);
    for (size_t i = 0; i < copies; i++)
        memcpy(text + i * ulen, unit, ulen);
    assert_true(len > 4 * ND_ANALYZER_PIECE_BYTES);
    assert_true(ND_ANALYZER_PIECE_BYTES % ulen != 0);

    toks one;
    analyse(a, unit, ulen, &one);
    assert_int_equal(one.n, 12);
    assert_string_equal(one.v[1].term, "ceo");
    assert_string_equal(one.v[10].term, "\u5317\u4eac");

    repeat_check r;
    toks_init(&r.base, len);
    r.base.keep = 0;
    r.unit = &one;
    r.text = text;
    r.unit_len = ulen;
    assert_int_equal(analyzer_run(a, text, len, check_repeat, &r), 0);
    assert_int_equal(r.base.calls, copies * one.n);

    free(one.v);
    free(text);
}

static int check_no_space(void *ctx, const nd_token *t)
{
    repeat_check *r = ctx;
    collect(&r->base, t);
    assert_int_equal(t->pos, r->base.calls - 1);
    /* Every word here is already folded, so the term is its own bytes. */
    assert_int_equal(t->end - t->start, t->len);
    assert_memory_equal(t->term, r->text + t->start, t->len);
    r->unit_len += t->len; /* letters seen */
    return 0;
}

static void test_analysis_long_text_without_spaces(void **state)
{
    nd_analyzer *a = *state;
    /* No whitespace at all: pieces end at a UTF-8 character boundary (here
     * inside "café", between "caf" and "é"), never inside a character. */
    static const char unit[] = "caf\u00e9-";
    const size_t ulen = sizeof unit - 1, copies = (size_t)2500 * 1000 / ulen;
    const size_t len = copies * ulen;
    char *text = malloc(len);
    assert_non_null(text);
    for (size_t i = 0; i < copies; i++)
        memcpy(text + i * ulen, unit, ulen);
    const size_t pieces = (len + ND_ANALYZER_PIECE_BYTES - 1) / ND_ANALYZER_PIECE_BYTES;

    repeat_check r;
    toks_init(&r.base, len);
    r.base.keep = 0;
    r.text = text;
    r.unit_len = 0;
    assert_int_equal(analyzer_run(a, text, len, check_no_space, &r), 0);
    /* No letter is lost, and each cut adds at most one token. */
    assert_int_equal(r.unit_len, copies * (ulen - 1));
    assert_true(r.base.calls >= copies && r.base.calls < copies + pieces);
    assert_true(r.base.calls > copies);
    free(text);
}

/* ---- the ASCII shortcut against ICU ------------------------------------ */

/* Fails unless a (shortcut on) and icu (shortcut off) give the very same
 * tokens for text[0..len): terms, positions and offsets. */
static void same_as_icu(nd_analyzer *a, nd_analyzer *icu, const char *text, size_t len)
{
    toks x, y;
    analyse(a, text, len, &x);
    analyse(icu, text, len, &y);
    int ok = x.n == y.n;
    for (size_t i = 0; ok && i < x.n; i++)
        ok = x.v[i].len == y.v[i].len && memcmp(x.v[i].term, y.v[i].term, x.v[i].len) == 0 &&
             x.v[i].pos == y.v[i].pos && x.v[i].start == y.v[i].start && x.v[i].end == y.v[i].end;
    if (!ok) {
        print_message("text (%zu bytes):", len);
        for (size_t i = 0; i < len; i++)
            print_message(" %02x", (unsigned char)text[i]);
        print_message("\nshortcut ");
        dump("", &x);
        print_message("ICU ");
        dump("", &y);
    }
    free(x.v);
    free(y.v);
    assert_true(ok);
}

/* An analyzer that leaves everything to ICU. */
static nd_analyzer *open_icu_only(const analysis_settings *set)
{
    nd_analyzer *icu = NULL;
    nd_err e = {{0}};
    assert_int_equal(analyzer_open_with(&icu, set, &e), 0);
    assert_int_equal(analyzer_ascii_shortcut(icu, 0), 0);
    return icu;
}

static void test_analysis_ascii_shortcut_in_use(void **state)
{
    nd_analyzer *a = *state;
    /* With the ICU these tests pin down (72), the probe agrees, so the
     * comparisons below really compare the two paths. (Without this call
     * the probe waits for a text of a few KiB; ICU serves until then.) */
    assert_int_equal(analyzer_ascii_shortcut(a, 0), 0);
    CHECK(a, "U.S. 1,000", WO("u.s", 0, 0, 3), WO("1,000", 1, 5, 10));
    assert_int_equal(analyzer_ascii_shortcut(a, 1), 1);
    CHECK(a, "U.S. 1,000", WO("u.s", 0, 0, 3), WO("1,000", 1, 5, 10));
}

/* Words where the rules are easy to get wrong. */
static const char *const TRICKY[] = {
    "don't", "O'Neil's", "James'", "the boys' toys", "rock'n'roll", "'quoted'", "''", "a''b",
    "5'11\"", "it's", "IT'S", "ab's's", "'s", "s'", "x'1", "1'x", "1'2'3",
    "e.g.", "i.e.,", "U.S.A.", "U.S.-Soviet", "a.b.c.d", "a..b", ".a", "a.", "..", "x.1", "1.x",
    "3.14", "3.14.15", "1.2.a", "a.1.b", "0.5%", ".5", "5.", "1,000", "1,000,000.50", "1,,2",
    "1;2", "a;b", "1,a", "a,1", ",1", "1,", "$1,234.56", "-1.5e10", "1e-5", "0x1F",
    "_", "__", "___", "a_b", "_a", "a_", "1_2", "_1", "1_", "_._", "a_.b", "1_,2", "snake_case_name",
    "http://www.example.com/path_to/file.html?q=1&x=2#frag", "https://a.b.co.uk:8080/x",
    "ftp://user:pass@host.org", "www.reuters.com", "mailto:first.last@example.co.uk",
    "first.last@example.com", "a@b", "@", "@@", "@home", "user@", "x@1.2", "1@2", "_@_",
    "a:b", "1:2", "12:30", "C:\\dir\\file.txt", "a-b", "a--b", "a/b", "a\\b", "a\"b", "\"a\"",
    "#hashtag", "$100", "100%", "a&b", "a+b", "a=b", "a*b", "(a)", "[1]", "{x}", "<b>", "a|b",
    "~a", "a!", "a?", "`a`", "^a", "\177a", "a\001b", "\t", "\r\n", "\v\f", " ",
    "Mr. Smith's", "No. 10", "A.M.", "p.m.", "9:30 a.m.", "1990s", "'90s", "F-16s", "B-52's",
};

static void test_analysis_ascii_tricky(void **state)
{
    nd_analyzer *a = *state;
    assert_int_equal(analyzer_ascii_shortcut(a, 1), 1);
    nd_analyzer *icu = open_icu_only(NULL);
    static const char *const seps[] = {"", " ", ".", "'", ",", "_", "\n", "@", "-", ":"};
    const size_t nt = sizeof TRICKY / sizeof TRICKY[0], ns = sizeof seps / sizeof seps[0];
    char buf[512];
    for (size_t i = 0; i < nt; i++) {
        same_as_icu(a, icu, TRICKY[i], strlen(TRICKY[i]));
        /* and next to every other one, joined in ways that may chain */
        for (size_t j = 0; j < nt; j++)
            for (size_t k = 0; k < ns; k++) {
                int n = snprintf(buf, sizeof buf, "%s%s%s", TRICKY[i], seps[k], TRICKY[j]);
                same_as_icu(a, icu, buf, (size_t)n);
            }
    }
    analyzer_free(icu);
}

static void test_analysis_ascii_exhaustive(void **state)
{
    nd_analyzer *a = *state;
    assert_int_equal(analyzer_ascii_shortcut(a, 1), 1);
    nd_analyzer *icu = open_icu_only(NULL);
    /* One byte of every class and a few that only look like one: every
     * string of up to four of them. */
    static const char alpha[] = "aZ7_.',;:@\" -\n\r\t!";
    const size_t na = sizeof alpha - 1;
    char buf[4];
    for (size_t len = 1; len <= 4; len++) {
        size_t total = 1;
        for (size_t i = 0; i < len; i++)
            total *= na;
        for (size_t v = 0; v < total; v++) {
            size_t x = v;
            for (size_t i = 0; i < len; i++, x /= na)
                buf[i] = alpha[x % na];
            same_as_icu(a, icu, buf, len);
        }
    }
    /* Every ASCII byte between and next to letters and digits. */
    for (int c = 0; c < 128; c++) {
        static const char *const ctx[] = {"a%cb", "1%c2", "a%c1", "1%ca", "%c", "%c%c", "_%c", "%c_"};
        for (size_t k = 0; k < sizeof ctx / sizeof ctx[0]; k++) {
            char t[8];
            size_t n = 0;
            for (const char *f = ctx[k]; *f; f++) {
                char ch = *f;
                if (ch == '%') {
                    ch = (char)c;
                    f++;
                }
                t[n++] = ch;
            }
            same_as_icu(a, icu, t, n);
        }
    }
    analyzer_free(icu);
}

static void test_analysis_ascii_random(void **state)
{
    nd_analyzer *a = *state;
    assert_int_equal(analyzer_ascii_shortcut(a, 1), 1);
    nd_analyzer *icu = open_icu_only(NULL);
    /* Letters and digits often, the joining punctuation often, any byte
     * now and then. */
    static const char pool[] = "aaeeZZQQ0099..'',;__@@  :-/\"\n";
    uint64_t seed = 0xa5c11ULL;
    char buf[300];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(tu_rand(&seed) % sizeof buf);
        for (size_t i = 0; i < n; i++) {
            uint64_t r = tu_rand(&seed);
            if ((r & 15) == 0)
                buf[i] = (char)((r >> 8) & 0x7f);
            else
                buf[i] = pool[(r >> 8) % (sizeof pool - 1)];
        }
        same_as_icu(a, icu, buf, n);
    }
    analyzer_free(icu);
}

static void test_analysis_ascii_next_to_other_scripts(void **state)
{
    nd_analyzer *a = *state;
    assert_int_equal(analyzer_ascii_shortcut(a, 1), 1);
    nd_analyzer *icu = open_icu_only(NULL);
    /* Non-ASCII pieces that interact with their neighbours: combining
     * marks and joiners (WB4), U+2019, no-break and zero-width spaces,
     * Hebrew (with ' and "), katakana, CJK, emoji, damaged bytes. */
    static const char *const other[] = {
        "\u00e9", "\u0301", "\u200d", "\u200b", "\u00a0", "\u2019", "\u05d0", "\u05d0\"\u05d1",
        "\u30a2", "\u65e5\u672c", "\U0001F389", "\xff", "\x80", "\u2028", "\u3000", "\u00b7",
        "\uff21", "\u0660", "\u0e01\u0e32\u0e23",
    };
    static const char ascii[] = "aZ1_.',;@ \n\t-:\"";
    const size_t no = sizeof other / sizeof other[0];
    uint64_t seed = 0x0dd5ULL;
    char buf[2400];
    for (int round = 0; round < 6000; round++) {
        size_t n = 0, goal = (size_t)(tu_rand(&seed) % 2000);
        while (n < goal) {
            uint64_t r = tu_rand(&seed);
            if ((r & 31) == 0) {
                const char *o = other[(r >> 8) % no];
                size_t k = strlen(o);
                memcpy(buf + n, o, k);
                n += k;
            } else if ((r & 31) == 1) {
                const char *t = TRICKY[(r >> 8) % (sizeof TRICKY / sizeof TRICKY[0])];
                size_t k = strlen(t);
                memcpy(buf + n, t, k);
                n += k;
            } else {
                buf[n++] = ascii[(r >> 8) % (sizeof ascii - 1)];
            }
        }
        same_as_icu(a, icu, buf, n);
    }
    analyzer_free(icu);
}

static void test_analysis_ascii_with_settings(void **state)
{
    (void)state;
    /* Stop words and stems come after the words are found: the same on
     * both paths. */
    analysis_settings set = {"porter", STOPWORDS_EN_LUCENE33};
    nd_analyzer *a = NULL, *icu = open_icu_only(&set);
    nd_err e = {{0}};
    assert_int_equal(analyzer_open_with(&a, &set, &e), 0);
    assert_int_equal(analyzer_ascii_shortcut(a, 1), 1);
    static const char text[] = "The U.S. economy's 3.5% growth was running at 1,200 jobs; "
                               "it isn't slowing, e.g. in NYC's suburbs - snake_case __x.";
    same_as_icu(a, icu, text, sizeof text - 1);
    analyzer_free(a);
    analyzer_free(icu);
}

/* ---- callback and keywords -------------------------------------------- */

static void test_analysis_callback_stops(void **state)
{
    nd_analyzer *a = *state;
    static const char text[] = "one two three four";
    toks c;
    toks_init(&c, sizeof text - 1);
    c.stop_at = 2;
    c.stop_rc = 7;
    assert_int_equal(analyzer_run(a, text, sizeof text - 1, collect, &c), 7);
    assert_int_equal(c.calls, 2);
    assert_string_equal(c.v[1].term, "two");
    free(c.v);

    toks_init(&c, sizeof text - 1);
    c.stop_at = 1;
    c.stop_rc = -42;
    assert_int_equal(analyzer_run(a, text, sizeof text - 1, collect, &c), -42);
    assert_int_equal(c.calls, 1);
    free(c.v);

    /* The analyzer is still usable afterwards. */
    CHECK(a, "five", WO("five", 0, 0, 4));
}

static void keyword_is(nd_analyzer *a, const char *s, size_t len, const char *want_s)
{
    nd_buf out = {0};
    assert_int_equal(buf_append(&out, "stale", 5), 0);
    assert_int_equal(analyzer_keyword(a, s, len, &out), 0);
    if (out.len != strlen(want_s) || (out.len && memcmp(out.data, want_s, out.len) != 0))
        print_message("keyword \"%.*s\" -> \"%.*s\"\n", (int)len, s, (int)out.len,
                      (const char *)out.data);
    assert_int_equal(out.len, strlen(want_s));
    if (out.len)
        assert_memory_equal(out.data, want_s, out.len);
    buf_free(&out);
}

#define KEYWORD_IS(a, s, w) keyword_is(a, s, sizeof(s) - 1, w)

static void test_analysis_keyword(void **state)
{
    nd_analyzer *a = *state;
    KEYWORD_IS(a, "  Reuters \n", "reuters");
    KEYWORD_IS(a, "\uff21\uff30", "ap");
    KEYWORD_IS(a, "Associated Press", "associated press");
    KEYWORD_IS(a, "en-US", "en-us");
    /* Inner spacing is kept; Unicode spaces at the ends are trimmed. */
    KEYWORD_IS(a, "\u3000Agence  France-Presse\u00a0\u2029", "agence  france-presse");
    KEYWORD_IS(a, "\u200b S\u00fcddeutsche Zeitung", "s\u00fcddeutsche zeitung");
    KEYWORD_IS(a, "Stra\u00dfe", "strasse");
    KEYWORD_IS(a, "BBC News/business", "bbc news/business");
    KEYWORD_IS(a, "", "");
    KEYWORD_IS(a, " \t\r\n ", "");
    KEYWORD_IS(a, "\u3000\u00a0", "");
    /* Damaged UTF-8 is kept as U+FFFD rather than refused. */
    KEYWORD_IS(a, "x\xff\u00c9", "x\ufffd\u00e9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_analysis_possessives),
        cmocka_unit_test(test_analysis_hyphens),
        cmocka_unit_test(test_analysis_numbers),
        cmocka_unit_test(test_analysis_abbreviations),
        cmocka_unit_test(test_analysis_accents_kept),
        cmocka_unit_test(test_analysis_nfkc_casefold),
        cmocka_unit_test(test_analysis_empty_after_folding),
        cmocka_unit_test(test_analysis_chinese),
        cmocka_unit_test(test_analysis_japanese),
        cmocka_unit_test(test_analysis_thai),
        cmocka_unit_test(test_analysis_arabic),
        cmocka_unit_test(test_analysis_german),
        cmocka_unit_test(test_analysis_emoji_dropped),
        cmocka_unit_test(test_analysis_invalid_utf8),
        cmocka_unit_test(test_analysis_random_bytes),
        cmocka_unit_test(test_analysis_nul_bytes),
        cmocka_unit_test(test_analysis_empty_input),
        cmocka_unit_test(test_analysis_whitespace_only),
        cmocka_unit_test(test_analysis_long_tokens),
        cmocka_unit_test(test_analysis_positions_restart),
        cmocka_unit_test(test_analysis_long_text),
        cmocka_unit_test(test_analysis_long_text_without_spaces),
        cmocka_unit_test(test_analysis_ascii_shortcut_in_use),
        cmocka_unit_test(test_analysis_ascii_tricky),
        cmocka_unit_test(test_analysis_ascii_exhaustive),
        cmocka_unit_test(test_analysis_ascii_random),
        cmocka_unit_test(test_analysis_ascii_next_to_other_scripts),
        cmocka_unit_test(test_analysis_ascii_with_settings),
        cmocka_unit_test(test_analysis_callback_stops),
        cmocka_unit_test(test_analysis_keyword),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
