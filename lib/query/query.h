/*
 * query.h - from a query string to ranked hits: the parser that turns the
 * query language (docs/QUERY.md) into a tree of clauses, BM25 scoring, the
 * bounded top-k heap (by relevance or by date), document-at-a-time
 * evaluation of the clause tree over the segments of a snapshot, facet
 * counting over the whole match set, and snippets with the matched terms
 * marked.
 */
#ifndef ND_QUERY_H
#define ND_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/analysis.h"
#include "index/index.h"
#include "newsdex.h"
#include "util/util.h"

/* Limits of the query language (docs/QUERY.md and docs/LIMITS.md). */
#define ND_MAX_QUERY_BYTES (1u << 16) /* longest query string */
#define ND_MAX_QUERY_TERMS 1024       /* words after analysis, phrase words included */
#define ND_MAX_QUERY_DEPTH 128        /* nesting of parentheses, NOT and +/- */
#define ND_MIN_PREFIX_CHARS 3         /* characters before the '*' of a prefix */
#define ND_MAX_PREFIX_TERMS 1024      /* distinct words one prefix may expand to, per field */
#define ND_MAX_EXPANDED_TERMS 8192    /* all prefix expansions of a query together */
#define ND_MAX_SLOP 100000            /* the N of "..."~N */
/* Depth of the clause tree a parsed query can reach (groups added for
 * exclusions and OR'ed filters included); a bound for every recursion. */
#define QUERY_MAX_TREE_DEPTH (4 * ND_MAX_QUERY_DEPTH + 16)

/* "no position" for parse and evaluation errors */
#define QUERY_NO_OFFSET ((size_t)-1)

/* ---- parse.c ---------------------------------------------------------- */

/* How a clause takes part in the group (QN_BOOL) that holds it. */
enum {
    OCCUR_SHOULD,   /* optional; a group without MUST/FILTER needs one SHOULD to match */
    OCCUR_MUST,     /* required, scored */
    OCCUR_MUST_NOT, /* excluded */
    OCCUR_FILTER    /* required, not scored */
};

enum {
    QN_TERM,   /* one word in one field (or title+body); keyword value for source/lang */
    QN_PHRASE, /* two or more words at consecutive positions, or within a window */
    QN_PREFIX, /* every word starting with the text */
    QN_DATE,   /* date column in [lo, hi] */
    QN_BOOL    /* a group of clauses */
};

/* FIELD_* from index.h, or: */
#define FIELD_ANY (-1) /* unscoped words: title and body */

/* One analysed word of the query; its bytes are in query.text. */
typedef struct qterm {
    uint32_t off, len; /* bytes in query.text */
    uint32_t pos;      /* analyzer position inside its phrase */
} qterm;

typedef struct qnode {
    uint8_t kind;   /* QN_* */
    uint8_t occur;  /* OCCUR_*: its part in the parent group */
    uint8_t filter; /* matches without adding to the score (date, source, lang and groups
                       of them, groups of exclusions only) */
    int8_t field;   /* FIELD_* or FIELD_ANY; for QN_TERM/QN_PREFIX on source/lang the
                       text is a keyword value */
    uint32_t off;   /* byte offset of the clause in the query string */
    uint32_t term;  /* QN_TERM, QN_PREFIX: the term; QN_PHRASE: the first of n_terms */
    uint32_t n_terms;
    uint32_t slop;  /* QN_PHRASE: 0 = exact phrase, N = window of n_terms - 1 + N */
    uint32_t boost; /* QN_TERM: how often the word was repeated in its group (>= 1) */
    int64_t lo, hi; /* QN_DATE: inclusive bounds in seconds */
    int32_t kid;    /* QN_BOOL: first child (-1 none) */
    int32_t last;   /* QN_BOOL: last child */
    int32_t next;   /* next sibling (-1 none) */
    uint32_t n_kids;
    uint8_t or_link; /* joined to the previous sibling by an explicit OR */
} qnode;

typedef struct query {
    qnode *nodes; /* malloc'd */
    uint32_t n_nodes, cap_nodes;
    qterm *terms; /* malloc'd */
    uint32_t n_terms, cap_terms;
    nd_buf text;  /* the bytes of every term */
    int32_t root; /* -1: the query can match nothing (only exclusions) */
} query;

/* Parses s[0..len) (docs/QUERY.md). default_op (ND_OP_OR / ND_OP_AND) joins
 * clauses written side by side. With plain != 0 the text is plain words:
 * every word the analyzer finds is a clause of its own (in title and
 * body), joined by default_op; no operators, fields, phrases or prefixes.
 * On failure: ND_ESYNTAX (message "column N:
 * ...") or ND_ELIMIT with *err_off the byte offset of the culprit (or
 * QUERY_NO_OFFSET), ND_ENOMEM. A query whose clauses are all exclusions,
 * or whose words are all stop words of the analyzer's stop list, parses
 * with root = -1 (no hits). Prefix text is only case-folded (not stopped
 * or stemmed). */
int query_parse(query *q, nd_analyzer *an, const char *s, size_t len, int default_op,
                int plain, nd_err *e, size_t *err_off);
void query_free(query *q);
static inline const char *query_term_text(const query *q, uint32_t t)
{
    return (const char *)q->text.data + q->terms[t].off;
}

/* An ISO 8601 date read as the period it names: "2019" is the whole year,
 * "2019-03" the month, "2019-03-14" the day, a date-time one second.
 * *first and *last receive its first and last second. ND_EINVAL if s is not
 * a date nd_date_parse accepts. */
int query_date_period(int64_t *first, int64_t *last, const char *s, size_t len);

/* ---- bm25.c ----------------------------------------------------------- */

/* Combined-field BM25 (BM25F): a word's frequencies in the fields of a
 * document are length-normalised per field, weighted and added into one
 * pseudo-frequency, which is saturated once with the word's one idf:
 *
 *   ptf   = sum over fields f of  w_f * tf_f / (1 - b + b * len_f / avglen_f)
 *   score = idf * boost * ptf * (k1 + 1) / (ptf + k1)
 *
 * With one field of weight 1 this is classic BM25. */

/* idf = ln(1 + (N - df + 0.5) / (df + 0.5)) */
double bm25_idf(uint64_t N, uint64_t df);

/* w * tf / (1 - b + b * len / avglen): one field's part of ptf. Inline: it
 * runs for every scored document and every score bound. */
static inline double bm25_ptf(const nd_bm25 *p, double w, uint32_t tf, uint32_t len,
                              double avglen)
{
    double norm = avglen > 0 ? (double)len / avglen : 0.0;
    double d = 1.0 - p->b + p->b * norm; /* > 0: a field holding the word has len >= 1 */
    return d > 0 ? w * (double)tf / d : w * (double)tf;
}

/* idf_boost * ptf * (k1 + 1) / (ptf + k1); 0 when ptf is 0 */
static inline double bm25_saturate(const nd_bm25 *p, double idf_boost, double ptf)
{
    if (!(ptf > 0))
        return 0.0;
    return idf_boost * ptf * (p->k1 + 1.0) / (ptf + p->k1);
}

/* ---- topk.c ----------------------------------------------------------- */

typedef struct topk_entry {
    double score;
    uint64_t doc; /* global document number: segment base + local id */
    int64_t date; /* or ND_NO_DATE */
} topk_entry;

/* A bounded heap keeping the best `cap` entries in the order of `sort`
 * (ND_SORT_*): by score (higher first), or by date (older or newer first,
 * undated last) with ties by score; then by lower doc. */
typedef struct topk {
    topk_entry *e;
    size_t n, cap;
    int sort;
} topk;

int topk_init(topk *t, size_t cap, int sort);
/* Offers an entry; keeps it if it beats the worst kept one. */
void topk_push(topk *t, double score, uint64_t doc, int64_t date);
/* Sorts the kept entries best first (destroys the heap order). */
void topk_sort(topk *t);
void topk_free(topk *t);

/* ---- facets.c --------------------------------------------------------- */

enum { FACET_SOURCE, FACET_DAY, FACET_MONTH, FACET_YEAR, N_FACETS };

typedef struct facets facets;

/* mask: ND_FACET_* bits. */
int facets_open(facets **out, unsigned mask);
/* Prepares counting in segment si (reads its source postings). */
int facets_segment(facets *f, const nd_index *ix, uint32_t si, nd_err *e);
/* Counts one match of the current segment. */
void facets_add(facets *f, uint32_t doc, int64_t date);
/* Turns the counts into sorted buckets with their keys (source values are
 * read from a stored article that has them). */
int facets_finish(facets *f, const nd_index *ix, nd_err *e);
/* Results after facets_finish: kind FACET_*. */
size_t facets_count(const facets *f, int kind);
void facets_get(const facets *f, int kind, size_t i, const char **key, size_t *keylen,
                uint64_t *count);
uint64_t facets_missing(const facets *f, int kind);
void facets_free(facets *f);

/* ---- phrase.c --------------------------------------------------------- */

/* Position matching for one document. lists[j] (lens[j] positions,
 * ascending) are the positions of the phrase's distinct word j; word k of the
 * phrase is distinct word pmap[k] and sits qpos[k] positions after the
 * first (qpos[0] = 0). */
int phrase_exact(const uint32_t *const *lists, const uint32_t *lens, const uint32_t *pmap,
                 const uint32_t *qpos, uint32_t k);

/* Scratch space for phrase_window; zero-initialise, free with
 * phrase_scratch_free. */
typedef struct phrase_scratch {
    uint64_t *merged;
    size_t merged_cap;
    uint32_t *count;
    size_t count_cap;
} phrase_scratch;

/* 1 if some window of at most `window` + 1 consecutive positions holds
 * need[j] distinct positions of each distinct word j (j < n), 0 if not,
 * ND_ENOMEM. */
int phrase_window(phrase_scratch *ps, const uint32_t *const *lists, const uint32_t *lens,
                  const uint32_t *need, uint32_t n, uint64_t window);
void phrase_scratch_free(phrase_scratch *ps);

/* ---- exec.c ----------------------------------------------------------- */

typedef struct exec_opts {
    const nd_bm25 *bm25;
    int64_t since, until; /* inclusive; ND_NO_DATE = open */
    int count_only;       /* count (and facet) without scoring */
    int prune;            /* skip documents that cannot enter *top (block-max
                             bounds); the total then only counts those scored */
    int split;            /* with prune off and *top by score: on a segment
                             with many matches, count them (and their facets)
                             through a bitset, then find the top with pruning;
                             the same total, facets and hits as scoring every
                             match, for less work */
    int skipped;          /* out: pruning skipped at least one candidate range */
} exec_opts;

/* Evaluates q over every segment of ix exhaustively (document at a time):
 * every live match within the date bounds is counted in *total and in fc
 * (may be NULL), and, unless count_only, offered to *top (initialised by the
 * caller). ND_ELIMIT with *err_off for a prefix past its expansion limits. */
int exec_search(const nd_index *ix, const query *q, exec_opts *o, topk *top, facets *fc,
                uint64_t *total, nd_err *e, size_t *err_off);

/* ---- snippet.c -------------------------------------------------------- */

#define ND_SNIPPET_BYTES 240             /* target passage length */
#define ND_SNIPPET_SCAN ((size_t)1 << 18) /* bytes of a body searched for it */

/* The words a snippet marks: the positive words of a query (not under an
 * exclusion; phrase words included), and its prefixes, which mark every
 * word they start. */
typedef struct snip_terms {
    nd_buf text;
    struct snip_term {
        uint32_t off, len;
        int prefix;
    } *t;
    uint32_t n, cap;
    uint32_t *table; /* open addressing over the exact words: index + 1, 0 = empty */
    uint32_t tcap;
    uint32_t *prefixes; /* indexes of the prefix words */
    uint32_t n_prefixes;
} snip_terms;

int snippet_terms_init(snip_terms *st, const query *q);
void snippet_terms_free(snip_terms *st);

/* Picks the passage of text with the most distinct query words (then the
 * most matches, then the earliest), collapses whitespace, and writes it to
 * out with "…" where it was cut; marks receives nd_span entries relative to
 * the passage. */
int snippet_make(nd_analyzer *an, const char *text, size_t len, const snip_terms *st,
                 nd_buf *out, nd_buf *marks);

#endif
