/*
 * stem.c - the optional steps of the analyzer: Snowball stemmers (Debian's
 * libstemmer, one stemmer per analyzer, as libstemmer's are not
 * thread-safe) and stop lists. Which of them an index uses is fixed when
 * it is created (analysis_settings, recorded in its catalog), so that
 * queries are analysed as its documents were.
 */
#include <stdio.h>
#include <stdlib.h>

#include <libstemmer.h>

#include "analysis/analysis.h"

struct nd_stemmer {
    struct sb_stemmer *sb;
};

struct stoplist {
    const char *name;
    const char *const *words; /* sorted by (length, bytes) */
    size_t n;
    size_t max_len;
};

/* Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET (33 words), sorted by
 * length, then bytes. */
static const char *const EN_LUCENE33[] = {
    "a",                                                                       /* 1 byte */
    "an", "as", "at", "be", "by", "if", "in", "is", "it", "no", "of", "on", "or", "to",
    "and", "are", "but", "for", "not", "the", "was",                           /* 3 bytes */
    "into", "such", "that", "then", "they", "this", "will", "with",            /* 4 bytes */
    "their", "there", "these",                                                 /* 5 bytes */
};

static const stoplist STOPLISTS[] = {
    {STOPWORDS_EN_LUCENE33, EN_LUCENE33, sizeof EN_LUCENE33 / sizeof EN_LUCENE33[0], 5},
};

/* (length, bytes) order of the stop list tables. */
static int cmp_word(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return alen < blen ? -1 : 1;
    return memcmp(a, b, alen);
}

const stoplist *stoplist_find(const char *name, int *known)
{
    *known = 1;
    if (!name || !*name)
        return NULL;
    for (size_t i = 0; i < sizeof STOPLISTS / sizeof STOPLISTS[0]; i++)
        if (strcmp(STOPLISTS[i].name, name) == 0)
            return &STOPLISTS[i];
    *known = 0;
    return NULL;
}

int stoplist_has(const stoplist *l, const char *w, size_t n)
{
    if (!l || n == 0 || n > l->max_len)
        return 0;
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_word(w, n, l->words[mid]);
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

const char *const *stemmer_names(void)
{
    return (const char *const *)sb_stemmer_list();
}

int stemmer_known(const char *name)
{
    if (!name)
        return 0;
    for (const char *const *p = stemmer_names(); *p; p++)
        if (strcmp(*p, name) == 0)
            return 1;
    return 0;
}

/* "arabic, armenian, ..." into buf, for messages. */
static void list_names(char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (const char *const *p = stemmer_names(); *p && used < n; p++) {
        int w = snprintf(buf + used, n - used, "%s%s", used ? " " : "", *p);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

int analysis_settings_none(const analysis_settings *s)
{
    return !s || (!s->stemmer[0] && !s->stopwords[0]);
}

int analysis_settings_check(const analysis_settings *s, nd_err *e)
{
    if (!s)
        return ND_OK;
    if (s->stemmer[0] && !stemmer_known(s->stemmer)) {
        char names[400];
        list_names(names, sizeof names);
        return err_set(e, ND_EINVAL, "unknown stemmer '%s' (known: %s)", s->stemmer, names);
    }
    int known;
    stoplist_find(s->stopwords, &known);
    if (!known)
        return err_set(e, ND_EINVAL, "unknown stop list '%s' (known: %s)", s->stopwords,
                       STOPWORDS_EN_LUCENE33);
    return ND_OK;
}

int stemmer_open(nd_stemmer **out, const char *name, nd_err *e)
{
    *out = NULL;
    /* Only the canonical names: sb_stemmer_new also takes aliases ("en"),
     * and the name is what the index records. */
    if (!stemmer_known(name))
        return err_set(e, ND_EINVAL, "unknown stemmer '%s'", name ? name : "(null)");
    nd_stemmer *st = calloc(1, sizeof *st);
    if (!st)
        return err_set(e, ND_ENOMEM, "out of memory for a stemmer");
    /* libstemmer returns NULL for an unknown name or when out of memory;
     * the name is known here. */
    st->sb = sb_stemmer_new(name, "UTF_8");
    if (!st->sb) {
        free(st);
        return err_set(e, ND_ENOMEM, "out of memory for the '%s' stemmer", name);
    }
    *out = st;
    return ND_OK;
}

void stemmer_free(nd_stemmer *st)
{
    if (!st)
        return;
    sb_stemmer_delete(st->sb);
    free(st);
}

int stemmer_stem(nd_stemmer *st, const char *w, size_t n, const char **out, size_t *outlen)
{
    /* callers pass terms of at most ND_MAX_TERM_BYTES (+2) bytes */
    const sb_symbol *r = sb_stemmer_stem(st->sb, (const sb_symbol *)w, (int)n);
    if (!r)
        return ND_ENOMEM;
    int len = sb_stemmer_length(st->sb);
    *out = (const char *)r;
    *outlen = len > 0 ? (size_t)len : 0;
    return ND_OK;
}
