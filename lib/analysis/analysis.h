/*
 * analysis.h - turns text into index terms. The analyzer is the one place
 * that decides what a "word" is, so documents and queries go through the
 * same code.
 *
 * Pipeline: ICU word boundaries (UAX #29, with ICU's dictionary rules for
 * CJK, Thai and other scripts written without spaces) -> keep segments
 * whose rule status is a word, number, letter, kana or ideograph (so
 * punctuation, spaces and emoji are not terms) -> NFKC case folding ->
 * U+2019 becomes an ASCII apostrophe -> a trailing English possessive "'s"
 * is removed. Tokens longer than ND_MAX_TERM_BYTES after normalisation are
 * dropped but still take a position, so phrases never match across them.
 *
 * Positions count kept tokens from 0; byte offsets point into the input
 * text. Invalid UTF-8 in the input is treated as U+FFFD (never an error).
 *
 * An index may add two steps, chosen when it is created and recorded in
 * its catalog (analysis_settings): a stop list (a folded token in it is
 * dropped but keeps its position, so phrases around it still line up) and
 * then a Snowball stemmer (stem.c). Keyword values (analyzer_keyword) are
 * never stopped or stemmed.
 */
#ifndef ND_ANALYSIS_H
#define ND_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define ND_MAX_TERM_BYTES 255

typedef struct nd_analyzer nd_analyzer;

/* The longest setting value (stemmer or stop list name), NUL included. */
#define ND_SETTING_BYTES 32

/* The analysis settings of an index, fixed when it is created (catalog
 * table `settings`, docs/FORMAT.md). All zero = none (what every index
 * without settings means). */
typedef struct analysis_settings {
    char stemmer[ND_SETTING_BYTES];   /* a Snowball algorithm of sb_stemmer_list(), "" = none */
    char stopwords[ND_SETTING_BYTES]; /* a stop list (STOPWORDS_*), "" = none */
} analysis_settings;

/* Lucene's English stop set (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, 33 words). */
#define STOPWORDS_EN_LUCENE33 ND_STOPWORDS_EN_LUCENE33

typedef struct nd_token {
    const char *term; /* normalised UTF-8, not NUL-terminated; borrowed until the callback returns */
    size_t len;       /* 1..ND_MAX_TERM_BYTES */
    uint32_t pos;     /* 0-based position among the text's tokens */
    size_t start;     /* byte offset of the token's first byte in the input */
    size_t end;       /* byte offset one past its last byte */
} nd_token;

/* Return 0 to go on, non-zero to stop (analyzer_run then returns that value). */
typedef int (*nd_token_fn)(void *ctx, const nd_token *tok);

/* ---- analyzer.c ------------------------------------------------------- */

/* Opens an analyzer (owns its ICU break iterator and buffers). Not thread-safe:
 * one per thread. On failure returns ND_ENOMEM or ND_EIO with a message in e. */
int analyzer_open(nd_analyzer **out, nd_err *e);
/* The same with an index's settings (NULL = none). ND_EINVAL with a message
 * for an unknown stemmer or stop list. */
int analyzer_open_with(nd_analyzer **out, const analysis_settings *s, nd_err *e);
void analyzer_free(nd_analyzer *a);

/* Tokenises text[0..len) calling fn for each token in order. Any length is
 * accepted (long texts are processed in pieces cut at whitespace).
 * Returns 0, the callback's non-zero value, or ND_ENOMEM. */
int analyzer_run(nd_analyzer *a, const char *text, size_t len, nd_token_fn fn, void *ctx);

/* analyzer_run without the stop list and the stemmer: tokens are only case
 * folded (the text of a query prefix, matched against indexed terms). */
int analyzer_run_folded(nd_analyzer *a, const char *text, size_t len, nd_token_fn fn, void *ctx);

/* Stop words dropped by the last analyzer_run (0 without a stop list). */
uint64_t analyzer_stopped(const nd_analyzer *a);

/* Normalises a whole keyword value (source, lang) for exact matching:
 * NFKC case folding, leading/trailing whitespace trimmed. Writes into out
 * (replacing its content). Returns 0 or ND_ENOMEM. */
int analyzer_keyword(nd_analyzer *a, const char *s, size_t len, nd_buf *out);

/* The longest piece analyzer_run hands to ICU at once. Pieces end after the
 * last ASCII whitespace byte that fits (at a UTF-8 character boundary if
 * there is none, splitting that word). */
#define ND_ANALYZER_PIECE_BYTES ((size_t)1 << 20)

/* Test hook: turns the ASCII shortcut (analyzer.c) off (on = 0), so that
 * ICU segments everything, or back on (on = 1). Returns 1 if the shortcut
 * is now used: on, and ICU agreed with it on the probe text. */
int analyzer_ascii_shortcut(nd_analyzer *a, int on);

/* The detailed message of the last failure of analyzer_run or
 * analyzer_keyword ("" if none). Besides the codes above, both return
 * ND_EIO for an ICU failure other than memory (not expected with valid
 * arguments), and analyzer_run ND_ELIMIT for a text of more than
 * UINT32_MAX + 1 positions. Borrowed, valid until the next call on a. */
const char *analyzer_errmsg(const nd_analyzer *a);

/* ---- stem.c: Snowball stemmers and stop lists --------------------------- */

typedef struct nd_stemmer nd_stemmer;

/* 1 if the settings are all empty (no stemmer, no stop list). */
int analysis_settings_none(const analysis_settings *s);
/* Checks that the stemmer and the stop list are known; ND_EINVAL naming
 * the bad value (and the known ones) otherwise. */
int analysis_settings_check(const analysis_settings *s, nd_err *e);

/* The Snowball algorithms libstemmer has (static, NULL-terminated). */
const char *const *stemmer_names(void);
/* 1 if name is one of stemmer_names(). */
int stemmer_known(const char *name);
/* Opens the Snowball stemmer `name` for UTF-8. ND_EINVAL for an unknown
 * name, ND_ENOMEM. */
int stemmer_open(nd_stemmer **out, const char *name, nd_err *e);
void stemmer_free(nd_stemmer *st);
/* Stems the folded word w[0..n): *out (valid until the next call on st)
 * and *outlen receive the stem. ND_ENOMEM if libstemmer runs out of memory. */
int stemmer_stem(nd_stemmer *st, const char *w, size_t n, const char **out, size_t *outlen);

/* A stop list: NULL for "" (none), else the list of that name, or NULL
 * with *known = 0 for an unknown name. */
typedef struct stoplist stoplist;
const stoplist *stoplist_find(const char *name, int *known);
/* 1 if the folded word w[0..n) is in the list. */
int stoplist_has(const stoplist *l, const char *w, size_t n);

#endif
