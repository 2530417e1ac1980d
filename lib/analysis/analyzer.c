/*
 * analyzer.c - the analyzer: owns the ICU word break iterator and the
 * scratch buffers that turn UTF-8 text into index terms, and the keyword
 * normaliser used for exact-match fields. Documents and queries both come
 * through here, so any change to what a term is changes every index: keep
 * the output stable (tests/test_analysis.c pins it down).
 *
 * The text is handed to ICU as a UTF-8 UText, so break positions are byte
 * offsets into the caller's text and no UTF-16 copy of the whole text is
 * made. Only kept segments are converted to UTF-16, and only when they
 * contain non-ASCII bytes: for ASCII, NFKC_Casefold is exactly A-Z -> a-z.
 * Long texts are cut into pieces of at most ND_ANALYZER_PIECE_BYTES (ICU
 * indexes are int32_t, and its dictionary engines keep per-text caches);
 * positions and offsets run on across pieces.
 *
 * With an index's settings, a kept term then meets the stop list (a stop
 * word is not handed out but keeps its position) and the Snowball stemmer
 * (stem.c), in that order, as in Lucene's English analyzers.
 *
 * ASCII text takes a shortcut around ICU: the word break rules restricted
 * to ASCII fit in a small scanner (ascii_word) that finds the very words
 * ICU 72's root rules find. Text with other bytes is cut at ASCII
 * whitespace into ASCII runs (the scanner) and runs around the non-ASCII
 * bytes (ICU). ICU always breaks between ASCII whitespace and a following
 * ASCII byte that is not whitespace, and its forward scan from a break
 * never looks behind it, so each run gives the words the whole text would.
 * Before its first use (at the first text long enough to be worth it) the
 * shortcut is compared with ICU on a probe text covering every ASCII byte
 * in every context the rules distinguish; if the ICU in use disagrees
 * (other rules), the analyzer keeps to ICU.
 */
#include <stdlib.h>

#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>

#include "analysis/analysis.h"

/* A growable UTF-16 scratch buffer; ICU wants its capacity as int32_t. */
typedef struct u16buf {
    UChar *p;    /* NULL until first needed */
    int32_t cap; /* code units allocated */
} u16buf;

#define WB_BYTES 256

struct nd_analyzer {
    UBreakIterator *words;    /* UBRK_WORD, root locale; its text is set per piece */
    const UNormalizer2 *fold; /* NFKC_Casefold; owned by ICU, never closed */
    UText text;               /* UTF-8 view of the current piece, reopened per piece */
    u16buf u16;               /* a segment converted to UTF-16 */
    u16buf norm;              /* NFKC_Casefold of u16 */
    nd_buf term;              /* the normalised term in UTF-8, lent to the callback */
    nd_err err;               /* last failure */
    nd_stemmer *stem;         /* NULL = no stemming */
    const stoplist *stop;     /* NULL = no stop words */
    int folded_only;          /* this run skips the stop list and the stemmer */
    uint64_t stopped;         /* stop words dropped by the current run */
    int ascii;                /* the ASCII shortcut: ASCII_UNKNOWN, ASCII_ON, ASCII_OFF */
    int ascii_allowed;        /* 0 after analyzer_ascii_shortcut(a, 0) */
    uint8_t wb[WB_BYTES];     /* word break class of each byte (ASCII ones only used) */
};

/* States of nd_analyzer.ascii: the probe has not run yet; it has, and the
 * shortcut is used; it is not (ICU disagreed, or analyzer_ascii_shortcut). */
enum { ASCII_UNKNOWN, ASCII_ON, ASCII_OFF };

/* Bytes of U+2019 RIGHT SINGLE QUOTATION MARK in UTF-8. */
#define RSQUO_0 0xE2
#define RSQUO_1 0x80
#define RSQUO_2 0x99

static int icu_fail(nd_analyzer *a, UErrorCode st, const char *what)
{
    int code = st == U_MEMORY_ALLOCATION_ERROR ? ND_ENOMEM : ND_EIO;
    return err_set(&a->err, code, "%s: %s", what, u_errorName(st));
}

/* The ASCII bytes that Unicode calls White_Space: TAB, LF, VT, FF, CR, SPACE. */
static int is_ascii_space(unsigned char c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D);
}

/* Makes room for `units` UTF-16 code units in b (its content is scratch). */
static int reserve_u16(nd_analyzer *a, u16buf *b, size_t units)
{
    if (units <= (size_t)b->cap)
        return ND_OK;
    if (units > INT32_MAX)
        return err_set(&a->err, ND_ENOMEM, "segment of %zu UTF-16 units is too long", units);
    size_t cap = (size_t)b->cap * 2;
    if (cap < units)
        cap = units;
    if (cap < 64)
        cap = 64;
    if (cap > INT32_MAX)
        cap = INT32_MAX;
    UChar *p = realloc(b->p, cap * sizeof(UChar));
    if (!p)
        return err_set(&a->err, ND_ENOMEM, "out of memory for %zu UTF-16 units", cap);
    b->p = p;
    b->cap = (int32_t)cap;
    return ND_OK;
}

/* Converts the UTF-8 bytes s[0..n) to UTF-16 in a->u16, invalid sequences
 * becoming U+FFFD; *len16 receives the length and *subs the number of
 * substitutions. */
static int to_u16(nd_analyzer *a, const char *s, size_t n, int32_t *len16, int32_t *subs)
{
    UErrorCode st = U_ZERO_ERROR;
    int rc;

    if (n > INT32_MAX)
        return err_set(&a->err, ND_ENOMEM, "text of %zu bytes is too long to normalise", n);
    /* A UTF-8 sequence never yields more UTF-16 units than it has bytes, and
     * each invalid byte yields at most one U+FFFD. */
    if ((rc = reserve_u16(a, &a->u16, n)) != 0)
        return rc;
    *len16 = *subs = 0;
    u_strFromUTF8WithSub(a->u16.p, a->u16.cap, len16, s, (int32_t)n, 0xFFFD, subs, &st);
    if (U_FAILURE(st))
        return icu_fail(a, st, "u_strFromUTF8WithSub");
    return ND_OK;
}

/* NFKC_Casefold of a->u16[0..len16) into a->norm; *units receives its length. */
static int fold_u16(nd_analyzer *a, int32_t len16, int32_t *units)
{
    int rc;

    /* NFKC_Casefold rarely grows a text by much; a longer result is retried. */
    if ((rc = reserve_u16(a, &a->norm, (size_t)len16 + 16)) != 0)
        return rc;
    for (;;) {
        UErrorCode st = U_ZERO_ERROR;
        int32_t need = unorm2_normalize(a->fold, a->u16.p, len16, a->norm.p, a->norm.cap, &st);
        if (st == U_BUFFER_OVERFLOW_ERROR && need > a->norm.cap) {
            if ((rc = reserve_u16(a, &a->norm, (size_t)need)) != 0)
                return rc;
            continue;
        }
        if (U_FAILURE(st))
            return icu_fail(a, st, "unorm2_normalize");
        *units = need;
        return ND_OK;
    }
}

/* Appends the UTF-16 text p[0..len) to out as UTF-8. */
static int put_utf8(nd_analyzer *a, nd_buf *out, const UChar *p, int32_t len)
{
    size_t room;
    int32_t got = 0;
    UErrorCode st = U_ZERO_ERROR;

    /* At most three UTF-8 bytes per UTF-16 unit (a surrogate pair is 4 for 2). */
    if (size_mul((size_t)len, 3, &room) != 0 || room > INT32_MAX)
        return err_set(&a->err, ND_ENOMEM, "normalised text of %d units is too long", (int)len);
    if (buf_reserve(out, room) != 0)
        return err_set(&a->err, ND_ENOMEM, "out of memory for %zu bytes", room);
    size_t avail = out->cap - out->len;
    int32_t cap = avail > INT32_MAX ? INT32_MAX : (int32_t)avail;
    u_strToUTF8WithSub((char *)out->data + out->len, cap, &got, p, len, 0xFFFD, NULL, &st);
    if (U_FAILURE(st))
        return icu_fail(a, st, "u_strToUTF8WithSub");
    out->len += (size_t)got;
    return ND_OK;
}

/* Drops a trailing English possessive "'s" (the apostrophe is already ASCII). */
static size_t strip_possessive(const char *t, size_t n)
{
    if (n >= 2 && t[n - 2] == '\'' && t[n - 1] == 's')
        return n - 2;
    return n;
}

static int has_rsquo(const char *t, size_t n)
{
    const unsigned char *u = (const unsigned char *)t;
    for (size_t i = 0; i + 2 < n; i++) {
        if (u[i] == RSQUO_0 && u[i + 1] == RSQUO_1 && u[i + 2] == RSQUO_2)
            return 1;
    }
    return 0;
}

/* Replaces each U+2019 by "'" in place; returns the new length. */
static size_t ascii_apostrophes(char *t, size_t n)
{
    size_t r = 0, w = 0;
    while (r < n) {
        if ((unsigned char)t[r] == RSQUO_0 && r + 2 < n && (unsigned char)t[r + 1] == RSQUO_1 &&
            (unsigned char)t[r + 2] == RSQUO_2) {
            t[w++] = '\'';
            r += 3;
        } else {
            t[w++] = t[r++];
        }
    }
    return w;
}

/*
 * Turns one word segment s[0..n) into its term: NFKC_Casefold, U+2019 -> "'",
 * trailing "'s" removed. *term receives a pointer into s (when the segment is
 * already its own term) or into a->term. A *len above ND_MAX_TERM_BYTES
 * means "too long" and the bytes are then not meaningful: once a result is
 * certain to exceed the limit the rest of the work is skipped.
 */
static int normalise(nd_analyzer *a, const char *s, size_t n, const char **term, size_t *len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i;
    int upper = 0;

    for (i = 0; i < n; i++) {
        if (u[i] >= 0x80)
            break;
        upper |= (unsigned)(u[i] - 'A') < 26u;
    }
    if (i == n) {
        /* ASCII: the NFKC_Casefold is A-Z -> a-z and keeps the length, so a
         * segment longer than the limit plus "'s" can be judged unseen. */
        if (n > ND_MAX_TERM_BYTES + 2) {
            *term = s;
            *len = n;
            return ND_OK;
        }
        if (!upper) {
            *term = s;
            *len = strip_possessive(s, n);
            return ND_OK;
        }
        char *t = (char *)a->term.data;
        for (i = 0; i < n; i++)
            t[i] = (char)((unsigned)(u[i] - 'A') < 26u ? u[i] + 32 : u[i]);
        *term = t;
        *len = strip_possessive(t, n);
        return ND_OK;
    }

    int32_t len16 = 0, subs = 0, units = 0;
    UErrorCode st = U_ZERO_ERROR;
    int rc = to_u16(a, s, n, &len16, &subs);
    if (rc)
        return rc;
    /* Most words are folded already (lower-case Latin, kana, Han, Thai...).
     * Then the term is the segment's own bytes: ICU need not copy it. */
    int32_t yes = unorm2_spanQuickCheckYes(a->fold, a->u16.p, len16, &st);
    if (U_FAILURE(st))
        return icu_fail(a, st, "unorm2_spanQuickCheckYes");
    if (yes == len16 && subs == 0) {
        if (!has_rsquo(s, n)) {
            *term = s;
            *len = strip_possessive(s, n);
            return ND_OK;
        }
        a->term.len = 0;
        if (buf_append(&a->term, s, n) != 0)
            return err_set(&a->err, ND_ENOMEM, "out of memory for a word of %zu bytes", n);
        char *t = (char *)a->term.data;
        *term = t;
        *len = strip_possessive(t, ascii_apostrophes(t, n));
        return ND_OK;
    }
    if ((rc = fold_u16(a, len16, &units)) != 0)
        return rc;
    /* Every UTF-16 unit becomes at least one UTF-8 byte, U+2019 becomes
     * exactly one, and the possessive takes at most two away. */
    if ((size_t)units > ND_MAX_TERM_BYTES + 2) {
        *term = s;
        *len = (size_t)units;
        return ND_OK;
    }
    a->term.len = 0;
    if ((rc = put_utf8(a, &a->term, a->norm.p, units)) != 0)
        return rc;
    char *t = (char *)a->term.data;
    size_t m = ascii_apostrophes(t, a->term.len);
    *term = t;
    *len = strip_possessive(t, m);
    return ND_OK;
}

/*
 * Length of the next piece of text[0..len): everything if it fits, else up
 * to and including the last ASCII whitespace byte within the first
 * ND_ANALYZER_PIECE_BYTES bytes. No word spans whitespace (nor does a
 * dictionary run), so the pieces give the tokens the whole text would.
 * Without whitespace, the cut falls on a UTF-8 character boundary and the
 * word there is split in two.
 */
static size_t piece_len(const char *text, size_t len)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t max = ND_ANALYZER_PIECE_BYTES;

    if (len <= max)
        return len;
    for (size_t i = max; i > 0; i--) {
        if (is_ascii_space(u[i - 1]))
            return i;
    }
    size_t cut = max;
    /* Back over at most three continuation bytes; more means invalid UTF-8,
     * where any cut is as good as another. */
    for (int k = 0; k < 3 && (u[cut] & 0xC0) == 0x80; k++)
        cut--;
    if ((u[cut] & 0xC0) == 0x80)
        cut = max;
    return cut;
}

/*
 * Hands out the word text[start..end) (offsets into the whole text), whose
 * normalised form is term[0..tlen) (see normalise for a tlen above
 * ND_MAX_TERM_BYTES), as the token at position *pos, through the stop list
 * and the stemmer, and advances *pos as the word requires.
 */
static int take_term(nd_analyzer *a, const char *term, size_t tlen, size_t start, size_t end,
                     uint64_t *pos, nd_token_fn fn, void *ctx)
{
    /* A word that folds to nothing (U+3164 HANGUL FILLER, say) was never
     * visible, so it takes no position. An over-long one does, so a
     * phrase cannot match across it. */
    if (tlen == 0)
        return ND_OK;
    if (*pos > UINT32_MAX)
        return err_set(&a->err, ND_ELIMIT, "more than %llu token positions in one text",
                       (unsigned long long)UINT32_MAX + 1);
    if (tlen <= ND_MAX_TERM_BYTES && !a->folded_only) {
        /* a stop word keeps its position, so phrases still line up */
        if (a->stop && stoplist_has(a->stop, term, tlen)) {
            a->stopped++;
            (*pos)++;
            return ND_OK;
        }
        if (a->stem) {
            if (stemmer_stem(a->stem, term, tlen, &term, &tlen) != 0)
                return err_set(&a->err, ND_ENOMEM, "out of memory while stemming");
            /* a stem is never empty in practice; if it were, the word
             * would vanish but keep its place */
            if (tlen == 0) {
                (*pos)++;
                return ND_OK;
            }
        }
    }
    if (tlen <= ND_MAX_TERM_BYTES) {
        nd_token tok;
        tok.term = term;
        tok.len = tlen;
        tok.pos = (uint32_t)*pos;
        tok.start = start;
        tok.end = end;
        int rc = fn(ctx, &tok);
        if (rc)
            return rc;
    }
    (*pos)++;
    return ND_OK;
}

/* take_term for the word text[start..end) as ICU found it. */
static int take_word(nd_analyzer *a, const char *text, size_t start, size_t end, uint64_t *pos,
                     nd_token_fn fn, void *ctx)
{
    const char *term = NULL;
    size_t tlen = 0;
    int rc = normalise(a, text + start, end - start, &term, &tlen);
    if (rc)
        return rc;
    return take_term(a, term, tlen, start, end, pos, fn, ctx);
}

/* Points the break iterator at text[base..base+n). */
static int icu_set_text(nd_analyzer *a, const char *text, size_t base, size_t n)
{
    UErrorCode st = U_ZERO_ERROR;

    utext_openUTF8(&a->text, text + base, (int64_t)n, &st);
    if (U_FAILURE(st))
        return icu_fail(a, st, "utext_openUTF8");
    ubrk_setUText(a->words, &a->text, &st);
    if (U_FAILURE(st))
        return icu_fail(a, st, "ubrk_setUText");
    return ND_OK;
}

/* Tokenises text[base..base+n) with ICU, continuing the count in *pos. */
static int icu_words(nd_analyzer *a, const char *text, size_t base, size_t n, uint64_t *pos,
                     nd_token_fn fn, void *ctx)
{
    int rc = icu_set_text(a, text, base, n);
    if (rc)
        return rc;
    int32_t prev = ubrk_first(a->words), cur;
    for (; (cur = ubrk_next(a->words)) != UBRK_DONE; prev = cur) {
        /* Spaces, punctuation and symbols (emoji included) have statuses
         * below the limit; words, numbers, kana and ideographs above. */
        if (ubrk_getRuleStatus(a->words) < UBRK_WORD_NONE_LIMIT)
            continue;
        if ((rc = take_word(a, text, base + (size_t)prev, base + (size_t)cur, pos, fn, ctx)))
            return rc;
    }
    return ND_OK;
}

/* ---- the ASCII shortcut ------------------------------------------------ */

/*
 * The Word_Break classes of the ASCII bytes as ICU 72's root rules use
 * them (ascii_classes fills the table). Letters include '@' (ICU 72 keeps
 * e-mail addresses whole); ':' is no MidLetter in the root rules; '"'
 * only matters next to Hebrew. Every other byte (space, TAB, CR, LF, VT,
 * FF, controls, other punctuation and symbols) breaks on both sides and is
 * never a word by itself. Classes from WB_LETTER on make words.
 */
enum { WB_OTHER, WB_MIDNUMLET, WB_MIDNUM, WB_LETTER, WB_DIGIT, WB_UNDERSCORE };
/* Added to WB_LETTER for A-Z, so that a word knows it needs folding. */
#define WB_UPPER 8
#define WB_KIND(c) ((c) & (WB_UPPER - 1))

static void ascii_classes(uint8_t *wb)
{
    memset(wb, WB_OTHER, WB_BYTES);
    for (int c = 'a'; c <= 'z'; c++) {
        wb[c] = WB_LETTER;
        wb[c - 32] = WB_LETTER | WB_UPPER;
    }
    wb['@'] = WB_LETTER;
    for (int c = '0'; c <= '9'; c++)
        wb[c] = WB_DIGIT;
    wb['_'] = WB_UNDERSCORE; /* ExtendNumLet */
    wb['.'] = WB_MIDNUMLET;
    wb['\''] = WB_MIDNUMLET; /* Single_Quote: joins as MidNumLet does */
    wb[','] = WB_MIDNUM;
    wb[';'] = WB_MIDNUM;
}

/*
 * Finds the next word in the ASCII text s[*i..end): returns 1 with the
 * word at [*ws, *we) and *i after it, or 0 when none is left. The rules
 * (UAX #29 WB5-WB13b on these classes): letters, digits and '_' join
 * (WB5, WB8-WB10, WB13a/b); a letter, then '.' or '\'', then a letter join
 * (WB6/7); a digit, then '.', '\'', ',' or ';', then a digit join
 * (WB11/12). A lone '_' is not a word (ICU gives it the status of
 * punctuation), while two or more are. *upper is set if the word has A-Z.
 */
static int ascii_word(const uint8_t *wb, const unsigned char *s, size_t *i, size_t end,
                      size_t *ws, size_t *we, int *upper)
{
    size_t k = *i;
    for (;;) {
        while (k < end && wb[s[k]] < WB_LETTER)
            k++;
        if (k == end) {
            *i = end;
            return 0;
        }
        size_t start = k;
        int up = 0;
        for (;;) {
            int c = WB_OTHER;
            while (k < end && (c = wb[s[k]]) >= WB_LETTER) {
                up |= c;
                k++;
            }
            /* at a middle character, look at the bytes either side */
            if (c == WB_OTHER || k + 1 >= end)
                break;
            int last = WB_KIND(wb[s[k - 1]]), next = wb[s[k + 1]];
            if (!((last == WB_LETTER && c == WB_MIDNUMLET && WB_KIND(next) == WB_LETTER) ||
                  (last == WB_DIGIT && next == WB_DIGIT)))
                break;
            up |= next;
            k += 2;
        }
        if (k - start > 1 || s[start] != '_') {
            *i = k;
            *ws = start;
            *we = k;
            *upper = (up & WB_UPPER) != 0;
            return 1;
        }
    }
}

/* take_word for a word of the ASCII scanner: the normalise of ASCII, with
 * the scan for A-Z already done. */
static int take_ascii_word(nd_analyzer *a, const char *text, size_t start, size_t end, int upper,
                           uint64_t *pos, nd_token_fn fn, void *ctx)
{
    const char *s = text + start;
    size_t n = end - start;
    /* too long even without "'s": the bytes do not matter */
    if (n > ND_MAX_TERM_BYTES + 2 || !upper)
        return take_term(a, s, n > ND_MAX_TERM_BYTES + 2 ? n : strip_possessive(s, n), start, end,
                         pos, fn, ctx);
    char *t = (char *)a->term.data;
    for (size_t i = 0; i < n; i++)
        t[i] = (char)((unsigned)(s[i] - 'A') < 26u ? s[i] + 32 : s[i]);
    return take_term(a, t, strip_possessive(t, n), start, end, pos, fn, ctx);
}

/* Tokenises the ASCII text text[from..to) with the shortcut. */
static int ascii_words(nd_analyzer *a, const char *text, size_t from, size_t to, uint64_t *pos,
                       nd_token_fn fn, void *ctx)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t i = from, ws, we;
    int upper;
    while (ascii_word(a->wb, u, &i, to, &ws, &we, &upper)) {
        int rc = take_ascii_word(a, text, ws, we, upper, pos, fn, ctx);
        if (rc)
            return rc;
    }
    return ND_OK;
}

/* Offset of the first byte >= 0x80 in u[i..end), or end. */
static size_t next_high(const unsigned char *u, size_t i, size_t end)
{
    for (; i + 8 <= end; i += 8) {
        uint64_t w;
        memcpy(&w, u + i, 8);
        if (w & 0x8080808080808080ULL)
            break;
    }
    while (i < end && u[i] < 0x80)
        i++;
    return i;
}

/* 1 if ICU certainly breaks at offset p of u (0 < p < n): after ASCII
 * whitespace and before an ASCII byte that is not whitespace. */
static int sure_break(const unsigned char *u, size_t p)
{
    return is_ascii_space(u[p - 1]) && u[p] < 0x80 && !is_ascii_space(u[p]);
}

/* ICU runs shorter than this many ASCII bytes apart are joined: each run
 * costs a new text for the break iterator. */
#define ICU_JOIN_BYTES 256

/*
 * Tokenises text[base..base+n): ASCII runs with the shortcut, the runs
 * around other bytes with ICU, cut where ICU is sure to break anyway.
 */
static int mixed_words(nd_analyzer *a, const char *text, size_t base, size_t n, uint64_t *pos,
                       nd_token_fn fn, void *ctx)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t i = base, end = base + n;
    int rc;
    while (i < end) {
        size_t high = next_high(u, i, end);
        if (high == end)
            return ascii_words(a, text, i, end, pos, fn, ctx);
        /* The ICU run starts at the last sure break before the high byte
         * (or at i) and ends at the first sure break after it (or at the
         * end), taking in further high bytes that come soon after. */
        size_t from = high;
        while (from > i && !sure_break(u, from))
            from--;
        size_t to = high + 1;
        for (;;) {
            while (to < end && !sure_break(u, to))
                to++;
            size_t lim = end - to > ICU_JOIN_BYTES ? to + ICU_JOIN_BYTES : end;
            size_t next = next_high(u, to, lim);
            if (next == lim)
                break;
            to = next + 1;
        }
        if (from > i && (rc = ascii_words(a, text, i, from, pos, fn, ctx)))
            return rc;
        if ((rc = icu_words(a, text, from, to - from, pos, fn, ctx)))
            return rc;
        i = to;
    }
    return ND_OK;
}

/* ---- the probe: the shortcut against the ICU in use --------------------- */

/* The contexts the probe puts every ASCII byte c in: prefix, c, c again
 * if `twice`, suffix, then a space. Together they tell every class
 * and rule of ascii_word apart. */
static const struct probe_ctx {
    const char *pre, *post;
    int twice;
} PROBE[] = {
    {"a", "b", 0}, {"1", "2", 0}, {"a", "1", 0}, {"1", "a", 0}, {"", "", 0},
    {"_", "", 0},  {"", "_", 0},  {"a", "b", 1}, {"1", "2", 1},
};

/* Whole phrases for the probe: chains of joins and near misses. */
static const char PROBE_PHRASES[] =
    "a.b.c 1.2,3;4'5 a.b1 a1.b 1.a2 a_.b 1_,2 a'b's U.S. e.g. x@y.z @ _ __ "
    "a..b 1,,2 'a' \"a\" a:b 1:2 a-b\r\nc\t d\v\f";

static int probe_append(nd_buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

/* Builds the probe text in b. */
static int probe_build(nd_buf *b)
{
    for (int c = 0; c < 128; c++) {
        for (size_t k = 0; k < sizeof PROBE / sizeof PROBE[0]; k++) {
            uint8_t ch = (uint8_t)c;
            if (probe_append(b, PROBE[k].pre) || buf_putc(b, ch) ||
                (PROBE[k].twice && buf_putc(b, ch)) || probe_append(b, PROBE[k].post) ||
                buf_putc(b, ' '))
                return ND_ENOMEM;
        }
    }
    return buf_append(b, PROBE_PHRASES, sizeof PROBE_PHRASES - 1);
}

/* 1 if ICU and ascii_word find the same words in the ASCII text t[0..n). */
static int probe_agrees(nd_analyzer *a, const uint8_t *t, size_t n)
{
    if (icu_set_text(a, (const char *)t, 0, n))
        return 0;
    size_t i = 0, ws, we;
    int upper;
    int32_t prev = ubrk_first(a->words), cur;
    for (; (cur = ubrk_next(a->words)) != UBRK_DONE; prev = cur) {
        if (ubrk_getRuleStatus(a->words) < UBRK_WORD_NONE_LIMIT)
            continue;
        if (!ascii_word(a->wb, t, &i, n, &ws, &we, &upper) || ws != (size_t)prev ||
            we != (size_t)cur)
            return 0;
    }
    return !ascii_word(a->wb, t, &i, n, &ws, &we, &upper);
}

/* Decides whether the shortcut is used (see the top of the file). */
static void ascii_probe(nd_analyzer *a)
{
    nd_buf t = {0};
    a->ascii = a->ascii_allowed && probe_build(&t) == ND_OK && probe_agrees(a, t.data, t.len)
                   ? ASCII_ON
                   : ASCII_OFF;
    buf_free(&t);
    err_clear(&a->err);
}

int analyzer_ascii_shortcut(nd_analyzer *a, int on)
{
    a->ascii_allowed = on != 0;
    ascii_probe(a);
    return a->ascii == ASCII_ON;
}

/* The probe costs about what ICU takes for this much text, so shorter
 * texts (queries, most titles) go to ICU until a longer one comes. */
#define ASCII_PROBE_AFTER 2048

/* Tokenises one piece, text[base..base+n), continuing the count in *pos. */
static int run_piece(nd_analyzer *a, const char *text, size_t base, size_t n, uint64_t *pos,
                     nd_token_fn fn, void *ctx)
{
    if (a->ascii == ASCII_UNKNOWN && n >= ASCII_PROBE_AFTER)
        ascii_probe(a);
    if (a->ascii == ASCII_ON)
        return mixed_words(a, text, base, n, pos, fn, ctx);
    return icu_words(a, text, base, n, pos, fn, ctx);
}

int analyzer_open(nd_analyzer **out, nd_err *e)
{
    return analyzer_open_with(out, NULL, e);
}

int analyzer_open_with(nd_analyzer **out, const analysis_settings *set, nd_err *e)
{
    UErrorCode st = U_ZERO_ERROR;
    UText init = UTEXT_INITIALIZER;

    *out = NULL;
    int bad = analysis_settings_check(set, e);
    if (bad)
        return bad;
    nd_analyzer *a = calloc(1, sizeof *a);
    if (!a)
        return err_set(e, ND_ENOMEM, "out of memory for the analyzer");
    a->text = init;
    a->ascii_allowed = 1;
    ascii_classes(a->wb);
    a->fold = unorm2_getNFKCCasefoldInstance(&st);
    if (U_FAILURE(st)) {
        free(a);
        return err_set(e, st == U_MEMORY_ALLOCATION_ERROR ? ND_ENOMEM : ND_EIO,
                       "unorm2_getNFKCCasefoldInstance: %s", u_errorName(st));
    }
    /* The root locale has the dictionary engines for scripts written
     * without spaces (Chinese, Japanese, Thai, Lao, Khmer, Burmese). */
    a->words = ubrk_open(UBRK_WORD, "", NULL, 0, &st);
    if (U_FAILURE(st)) {
        free(a);
        return err_set(e, st == U_MEMORY_ALLOCATION_ERROR ? ND_ENOMEM : ND_EIO,
                       "ubrk_open(UBRK_WORD): %s", u_errorName(st));
    }
    /* The ASCII path writes terms without checking room: give it the
     * largest segment it writes (longer ones are rejected unread). */
    if (buf_reserve(&a->term, ND_MAX_TERM_BYTES + 2) != 0) {
        analyzer_free(a);
        return err_set(e, ND_ENOMEM, "out of memory for the analyzer");
    }
    int rc = set && set->stemmer[0] ? stemmer_open(&a->stem, set->stemmer, e) : ND_OK;
    if (rc) {
        analyzer_free(a);
        return rc;
    }
    int known;
    a->stop = set ? stoplist_find(set->stopwords, &known) : NULL;
    *out = a;
    return ND_OK;
}

void analyzer_free(nd_analyzer *a)
{
    if (!a)
        return;
    ubrk_close(a->words);
    utext_close(&a->text);
    stemmer_free(a->stem);
    free(a->u16.p);
    free(a->norm.p);
    buf_free(&a->term);
    free(a);
}

const char *analyzer_errmsg(const nd_analyzer *a)
{
    return a->err.msg;
}

static int run_text(nd_analyzer *a, const char *text, size_t len, nd_token_fn fn, void *ctx)
{
    uint64_t pos = 0;
    size_t off = 0;

    err_clear(&a->err);
    a->stopped = 0;
    while (off < len) {
        size_t n = piece_len(text + off, len - off);
        int rc = run_piece(a, text, off, n, &pos, fn, ctx);
        if (rc)
            return rc;
        off += n;
    }
    return ND_OK;
}

int analyzer_run(nd_analyzer *a, const char *text, size_t len, nd_token_fn fn, void *ctx)
{
    a->folded_only = 0;
    return run_text(a, text, len, fn, ctx);
}

int analyzer_run_folded(nd_analyzer *a, const char *text, size_t len, nd_token_fn fn, void *ctx)
{
    a->folded_only = 1;
    int rc = run_text(a, text, len, fn, ctx);
    a->folded_only = 0;
    return rc;
}

uint64_t analyzer_stopped(const nd_analyzer *a)
{
    return a->stopped;
}

int analyzer_keyword(nd_analyzer *a, const char *s, size_t len, nd_buf *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i;

    err_clear(&a->err);
    buf_reset(out);
    for (i = 0; i < len && u[i] < 0x80; i++)
        ;
    if (i == len) {
        size_t b = 0, e = len;
        while (b < e && is_ascii_space(u[b]))
            b++;
        while (e > b && is_ascii_space(u[e - 1]))
            e--;
        if (buf_reserve(out, e - b) != 0)
            return err_set(&a->err, ND_ENOMEM, "out of memory for a keyword of %zu bytes", e - b);
        for (i = b; i < e; i++)
            out->data[out->len++] = (uint8_t)((unsigned)(u[i] - 'A') < 26u ? u[i] + 32 : u[i]);
        return ND_OK;
    }

    int32_t len16 = 0, subs = 0, units = 0;
    int rc = to_u16(a, s, len, &len16, &subs);
    if (rc == 0)
        rc = fold_u16(a, len16, &units);
    if (rc)
        return rc;
    /* Trim after folding: NFKC maps most spaces (U+00A0, U+3000, ...) to
     * U+0020 and removes default-ignorables such as U+200B. */
    const UChar *p = a->norm.p;
    int32_t b = 0, e = units;
    /* Every White_Space character is in the BMP and no surrogate is one, so
     * code units can be tested one at a time. */
    while (b < e && u_isUWhiteSpace(p[b]))
        b++;
    while (e > b && u_isUWhiteSpace(p[e - 1]))
        e--;
    return put_utf8(a, out, p + b, e - b);
}
