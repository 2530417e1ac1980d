/*
 * parse.c - the query language (docs/QUERY.md) as a tree of clauses.
 *
 * A recursive-descent parser working directly on the bytes of the query,
 * so every error can name the byte offset (and column) where it was found:
 *
 *     query   := or EOF
 *     or      := and ( ("OR" | <default OR>) and )*
 *     and     := unary ( ("AND" | <default AND>) unary )*
 *     unary   := "NOT" unary | ("+" | "-") unary | primary
 *     primary := "(" or ")" | phrase | field ":" value | word
 *
 * Clauses written side by side are joined by the default operator, with
 * that operator's precedence (NOT > AND > OR). Words and phrases go through
 * the document analyzer; source: and lang: values through the keyword
 * normaliser; date: values through nd_date_parse. Each group is finished
 * bottom-up (group_finish): filters (date, source, lang, and groups made only
 * of them) become required but unscored, those joined by an explicit OR
 * first becoming one filter of alternatives; and a word repeated in a group
 * becomes one clause with a boost. Depth, words and length are bounded
 * (query.h), so no input can exhaust the stack or the time.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ingest/ingest.h"
#include "query/query.h"

enum { MOD_NONE, MOD_PLUS, MOD_MINUS };

/* A parsed clause before its group decides its occurrence. */
typedef struct operand {
    int32_t node; /* -1: nothing searchable (dropped) */
    int mod;      /* MOD_*: +, - or NOT in front of it */
} operand;

typedef struct parser {
    const char *s;
    size_t len, i;
    nd_analyzer *an;
    query *q;
    int default_op;
    unsigned depth;
    int scope;    /* field of the enclosing field:( ... ), or FIELD_ANY */
    nd_err *e;
    size_t *err_off;
    nd_buf kw;    /* keyword normalisation scratch */
    size_t word_off; /* offset of the word being analysed (for limit errors) */
    int fail;     /* set by the analyzer callback */
    int folded;   /* analyse without stop list and stemmer (prefix text) */
    uint64_t stopped; /* stop words the analyzer dropped from the query */
} parser;

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* 1-based column of byte offset off: characters (UTF-8 lead bytes) before it + 1. */
static size_t column_of(const char *s, size_t off)
{
    size_t col = 1;
    for (size_t i = 0; i < off; i++)
        col += ((uint8_t)s[i] & 0xC0) != 0x80;
    return col;
}

static int perr(parser *p, int code, size_t off, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int perr(parser *p, int code, size_t off, const char *fmt, ...)
{
    char msg[ND_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (off > p->len)
        off = p->len;
    *p->err_off = off;
    return err_set(p->e, code, "column %zu: %s", column_of(p->s, off), msg);
}

static int nomem(parser *p)
{
    return err_set(p->e, ND_ENOMEM, "out of memory");
}

static void skip_ws(parser *p)
{
    while (p->i < p->len && is_ws(p->s[p->i]))
        p->i++;
}

/* True if the operator keyword kw (upper case) stands at the cursor as a
 * whole token. */
static int at_keyword(const parser *p, const char *kw)
{
    size_t n = strlen(kw);
    if (p->len - p->i < n || memcmp(p->s + p->i, kw, n) != 0)
        return 0;
    if (p->i + n == p->len)
        return 1;
    char c = p->s[p->i + n];
    return is_ws(c) || c == '(' || c == ')' || c == '"';
}

/* Can a clause start at the cursor? (after skip_ws) */
static int clause_start(const parser *p)
{
    return p->i < p->len && p->s[p->i] != ')' && !at_keyword(p, "AND") && !at_keyword(p, "OR");
}

/* ---- building the tree --------------------------------------------------- */

static int32_t new_node(parser *p, int kind, size_t off)
{
    query *q = p->q;
    if (q->n_nodes == q->cap_nodes) {
        uint32_t cap = q->cap_nodes ? q->cap_nodes * 2 : 32;
        qnode *n = realloc(q->nodes, cap * sizeof *n);
        if (!n)
            return -1;
        q->nodes = n;
        q->cap_nodes = cap;
    }
    qnode *n = &q->nodes[q->n_nodes];
    memset(n, 0, sizeof *n);
    n->kind = (uint8_t)kind;
    n->field = FIELD_ANY;
    n->off = (uint32_t)off;
    n->boost = 1;
    n->kid = n->last = n->next = -1;
    return (int32_t)q->n_nodes++;
}

static int add_term(parser *p, const char *t, size_t len, uint32_t pos)
{
    query *q = p->q;
    if (q->n_terms >= ND_MAX_QUERY_TERMS)
        return perr(p, ND_ELIMIT, p->word_off, "too many words in the query (the limit is %u)",
                    ND_MAX_QUERY_TERMS);
    if (q->n_terms == q->cap_terms) {
        uint32_t cap = q->cap_terms ? q->cap_terms * 2 : 16;
        qterm *n = realloc(q->terms, cap * sizeof *n);
        if (!n)
            return nomem(p);
        q->terms = n;
        q->cap_terms = cap;
    }
    qterm *qt = &q->terms[q->n_terms++];
    qt->off = (uint32_t)q->text.len;
    qt->len = (uint32_t)len;
    qt->pos = pos;
    if (buf_append(&q->text, t, len))
        return nomem(p);
    return ND_OK;
}

static int on_token(void *ctx, const nd_token *t)
{
    parser *p = ctx;
    int rc = add_term(p, t->term, t->len, t->pos);
    if (rc) {
        p->fail = rc;
        return 1;
    }
    return 0;
}

/* Analyses text into terms; *first and *n receive the range added. */
static int analyse(parser *p, const char *text, size_t len, size_t off, uint32_t *first,
                   uint32_t *n)
{
    p->word_off = off;
    p->fail = 0;
    *first = p->q->n_terms;
    /* words are stemmed and stopped as the index's articles were; a
     * prefix is only case-folded and matches the indexed (stemmed) terms */
    int rc = p->folded ? analyzer_run_folded(p->an, text, len, on_token, p)
                       : analyzer_run(p->an, text, len, on_token, p);
    p->stopped += analyzer_stopped(p->an);
    if (p->fail)
        return p->fail;
    if (rc < 0)
        return err_set(p->e, rc, "analyzer failed on the query: %s", analyzer_errmsg(p->an));
    *n = p->q->n_terms - *first;
    return ND_OK;
}

static int same_term(const query *q, const qnode *a, const qnode *b)
{
    const qterm *x = &q->terms[a->term], *y = &q->terms[b->term];
    return a->kind == QN_TERM && b->kind == QN_TERM && a->field == b->field &&
           a->occur == b->occur && x->len == y->len &&
           memcmp(q->text.data + x->off, q->text.data + y->off, x->len) == 0;
}

/* Appends node k to group g with the given occurrence; a word already in
 * the group with the same occurrence is boosted instead. */
static void group_add(parser *p, int32_t g, int32_t k, int occur, int or_link)
{
    query *q = p->q;
    qnode *kn = &q->nodes[k];
    kn->occur = (uint8_t)occur;
    kn->or_link = (uint8_t)or_link;
    kn->next = -1;
    if (kn->kind == QN_TERM && !kn->filter)
        for (int32_t c = q->nodes[g].kid; c >= 0; c = q->nodes[c].next)
            if (same_term(q, &q->nodes[c], kn)) {
                q->nodes[c].boost += kn->boost;
                return;
            }
    qnode *gn = &q->nodes[g];
    if (gn->last >= 0)
        q->nodes[gn->last].next = k;
    else
        gn->kid = k;
    gn->last = k;
    gn->n_kids++;
}

static int is_filter_should(const query *q, int32_t n)
{
    return q->nodes[n].filter && q->nodes[n].occur == OCCUR_SHOULD;
}

/* Finishes group g. Filters (date, source, lang, and groups of them) restrict
 * the group whatever the operator: they become required and unscored
 * (OCCUR_FILTER) - except that the filters joined to a neighbour by an
 * explicit OR are alternatives of each other and are first wrapped into one
 * group ("source:a OR source:b date:2019" = (a or b) and 2019). A group of
 * only such filters stays an OR. The group itself is a filter when no
 * clause of it scores. */
static int group_finish(parser *p, int32_t g, int is_or)
{
    query *q = p->q;
    uint32_t n = q->nodes[g].n_kids, m = 0, n_ored = 0;
    int32_t *k = malloc((n ? n : 1) * sizeof *k);
    uint8_t *ored = calloc(n ? n : 1, 1);
    if (!k || !ored) {
        free(k);
        free(ored);
        return nomem(p);
    }
    for (int32_t c = q->nodes[g].kid; c >= 0; c = q->nodes[c].next)
        k[m++] = c;
    assert(m == n); /* n_kids counts the kids' chain */
    for (uint32_t i = 0; is_or && i < n; i++) {
        ored[i] = is_filter_should(q, k[i]) &&
                  (q->nodes[k[i]].or_link || (i + 1 < n && q->nodes[k[i + 1]].or_link));
        n_ored += ored[i];
    }
    int alternatives_only = n_ored == n;
    if (n_ored >= 2 && !alternatives_only) {
        int32_t w = new_node(p, QN_BOOL, q->nodes[k[0]].off);
        if (w < 0) {
            free(k);
            free(ored);
            return nomem(p);
        }
        q = p->q;
        uint32_t out = 0, first = 1;
        int32_t last = -1;
        for (uint32_t i = 0; i < n; i++) {
            int32_t ki = k[i]; /* k is rewritten in place below i */
            if (!ored[i]) {
                k[out++] = ki;
                continue;
            }
            if (first) {
                k[out++] = w;
                q->nodes[w].kid = ki;
                first = 0;
            } else {
                q->nodes[last].next = ki;
            }
            last = ki;
        }
        q->nodes[last].next = -1;
        q->nodes[w].last = last;
        q->nodes[w].n_kids = n_ored;
        q->nodes[w].filter = 1;
        q->nodes[w].occur = OCCUR_SHOULD;
        for (uint32_t i = 0; i < out; i++)
            q->nodes[k[i]].next = i + 1 < out ? k[i + 1] : -1;
        q->nodes[g].kid = k[0];
        q->nodes[g].last = k[out - 1];
        q->nodes[g].n_kids = out;
        n = out;
    }
    int scoring = 0;
    for (uint32_t i = 0; i < n; i++)
        if (q->nodes[k[i]].occur != OCCUR_MUST_NOT)
            scoring |= !q->nodes[k[i]].filter;
    if (!alternatives_only)
        for (uint32_t i = 0; i < n; i++) {
            qnode *cn = &q->nodes[k[i]];
            if (cn->filter && cn->occur != OCCUR_MUST_NOT)
                cn->occur = OCCUR_FILTER;
        }
    q->nodes[g].filter = (uint8_t)!scoring;
    free(k);
    free(ored);
    return ND_OK;
}

/* Collects the operands of one precedence level into a group. */
typedef struct level {
    operand first;
    int32_t group;
    int is_or;
    size_t off;
} level;

static int occur_for(const level *lv, int mod)
{
    if (mod == MOD_MINUS)
        return OCCUR_MUST_NOT;
    if (lv->is_or)
        return mod == MOD_PLUS ? OCCUR_MUST : OCCUR_SHOULD;
    return OCCUR_MUST;
}

static int level_add(parser *p, level *lv, operand x, int is_first, int or_link)
{
    if (is_first) {
        lv->first = x;
        lv->group = -1;
        return ND_OK;
    }
    if (lv->group < 0) {
        lv->group = new_node(p, QN_BOOL, lv->off);
        if (lv->group < 0)
            return nomem(p);
        if (lv->first.node >= 0)
            group_add(p, lv->group, lv->first.node, occur_for(lv, lv->first.mod), 0);
    }
    if (x.node >= 0)
        group_add(p, lv->group, x.node, occur_for(lv, x.mod), or_link);
    return ND_OK;
}

static int level_end(parser *p, level *lv, operand *out)
{
    if (lv->group < 0) {
        *out = lv->first;
        return ND_OK;
    }
    query *q = p->q;
    qnode *g = &q->nodes[lv->group];
    out->mod = MOD_NONE;
    if (g->n_kids == 0) {
        out->node = -1;
        return ND_OK;
    }
    if (g->n_kids == 1 && q->nodes[g->kid].occur != OCCUR_MUST_NOT) {
        /* one clause left (the others analysed to nothing): it alone */
        out->node = g->kid;
        return ND_OK;
    }
    out->node = lv->group;
    return group_finish(p, lv->group, lv->is_or);
}

/* An operand as a node of its own: "-x" becomes a group excluding x. */
static int seal(parser *p, operand x, size_t off, int32_t *out)
{
    if (x.node < 0 || x.mod != MOD_MINUS) {
        *out = x.node;
        return ND_OK;
    }
    int32_t g = new_node(p, QN_BOOL, off);
    if (g < 0)
        return nomem(p);
    group_add(p, g, x.node, OCCUR_MUST_NOT, 0);
    *out = g;
    return group_finish(p, g, 0);
}

/* ---- the grammar ----------------------------------------------------------- */

static int parse_or(parser *p, operand *out);

static int depth_in(parser *p, size_t off)
{
    if (p->depth >= ND_MAX_QUERY_DEPTH)
        return perr(p, ND_ELIMIT, off, "the query nests deeper than %u levels", ND_MAX_QUERY_DEPTH);
    p->depth++;
    return ND_OK;
}

#define FIELD_DATE_SCOPE (-2) /* date: is parsed apart, never a scope */

static const struct {
    const char *name;
    int field;
} FIELDS[] = {{"title", FIELD_TITLE},   {"body", FIELD_BODY}, {"url", FIELD_URL},
              {"source", FIELD_SOURCE}, {"lang", FIELD_LANG}, {"date", FIELD_DATE_SCOPE}};

/* A field name and ':' at the cursor: returns its index in FIELDS, or -1. */
static int at_field(const parser *p)
{
    for (size_t f = 0; f < sizeof FIELDS / sizeof FIELDS[0]; f++) {
        size_t n = strlen(FIELDS[f].name);
        if (p->len - p->i <= n || p->s[p->i + n] != ':')
            continue;
        size_t k = 0;
        while (k < n && (p->s[p->i + k] | 0x20) == FIELDS[f].name[k])
            k++;
        if (k == n)
            return (int)f;
    }
    return -1;
}

static int is_keyword_field(int field)
{
    return field == FIELD_SOURCE || field == FIELD_LANG;
}

static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((uint8_t)s[i] & 0xC0) != 0x80;
    return c;
}

/* A source: or lang: value (raw text) as a keyword term or prefix. */
static int keyword_node(parser *p, const char *v, size_t n, size_t off, int prefix,
                        int32_t *out)
{
    if (prefix && n > 0 && v[n - 1] == '*')
        n--;
    else
        prefix = 0;
    if (analyzer_keyword(p->an, v, n, &p->kw))
        return nomem(p);
    if (p->kw.len == 0) {
        *out = -1;
        return ND_OK;
    }
    if (prefix && utf8_chars((const char *)p->kw.data, p->kw.len) < ND_MIN_PREFIX_CHARS)
        return perr(p, ND_ELIMIT, off, "prefix '%.*s*' is too short (at least %u characters)",
                    (int)ND_MIN(p->kw.len, 200), (const char *)p->kw.data, ND_MIN_PREFIX_CHARS);
    p->word_off = off;
    int rc = add_term(p, (const char *)p->kw.data, p->kw.len, 0);
    if (rc)
        return rc;
    int32_t k = new_node(p, prefix ? QN_PREFIX : QN_TERM, off);
    if (k < 0)
        return nomem(p);
    qnode *kn = &p->q->nodes[k];
    kn->field = (int8_t)p->scope;
    kn->term = p->q->n_terms - 1;
    kn->n_terms = 1;
    kn->filter = 1;
    *out = k;
    return ND_OK;
}

/* Terms first..first+n of one word or phrase as a node. */
static int text_node(parser *p, uint32_t first, uint32_t n, uint32_t slop, size_t off,
                     int32_t *out)
{
    if (n == 0) {
        *out = -1;
        return ND_OK;
    }
    int32_t k = new_node(p, n == 1 ? QN_TERM : QN_PHRASE, off);
    if (k < 0)
        return nomem(p);
    qnode *kn = &p->q->nodes[k];
    kn->field = (int8_t)p->scope;
    kn->term = first;
    kn->n_terms = n;
    kn->slop = n == 1 ? 0 : slop;
    *out = k;
    return ND_OK;
}

static int parse_phrase(parser *p, int32_t *out)
{
    size_t off = p->i, j = p->i + 1;
    while (j < p->len && p->s[j] != '"')
        j++;
    if (j >= p->len)
        return perr(p, ND_ESYNTAX, off, "unterminated phrase: missing closing '\"'");
    const char *text = p->s + off + 1;
    size_t tlen = j - off - 1;
    p->i = j + 1;
    uint32_t slop = 0;
    int has_slop = 0;
    if (p->i < p->len && p->s[p->i] == '~') {
        size_t at = p->i++;
        uint64_t v = 0;
        size_t d0 = p->i;
        while (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
            if (v <= ND_MAX_SLOP)
                v = v * 10 + (uint64_t)(p->s[p->i] - '0');
            p->i++;
        }
        if (p->i == d0)
            return perr(p, ND_ESYNTAX, at, "expected a number after '~'");
        if (v > ND_MAX_SLOP)
            return perr(p, ND_ELIMIT, at, "proximity ~%.*s is too large (at most %u)",
                        (int)ND_MIN(p->i - d0, 40), p->s + d0, ND_MAX_SLOP);
        slop = (uint32_t)v;
        has_slop = 1;
    }
    if (is_keyword_field(p->scope)) {
        if (has_slop)
            return perr(p, ND_ESYNTAX, off,
                        "'~' applies to phrases of words, not to source: or lang: values");
        return keyword_node(p, text, tlen, off, 0, out);
    }
    uint32_t first = 0, n = 0;
    int rc = analyse(p, text, tlen, off, &first, &n);
    if (rc)
        return rc;
    return text_node(p, first, n, slop, off, out);
}

static int parse_word(parser *p, int32_t *out)
{
    size_t off = p->i, j = p->i;
    while (j < p->len && !is_ws(p->s[j]) && p->s[j] != '(' && p->s[j] != ')' && p->s[j] != '"')
        j++;
    p->i = j;
    const char *w = p->s + off;
    size_t n = j - off;
    if (is_keyword_field(p->scope))
        return keyword_node(p, w, n, off, 1, out);
    int prefix = n > 1 && w[n - 1] == '*';
    uint32_t first = 0, cnt = 0;
    p->folded = prefix;
    int rc = analyse(p, w, prefix ? n - 1 : n, off, &first, &cnt);
    p->folded = 0;
    if (rc)
        return rc;
    if (!prefix)
        return text_node(p, first, cnt, 0, off, out);
    if (cnt == 0) {
        *out = -1;
        return ND_OK;
    }
    if (cnt > 1)
        return perr(p, ND_ESYNTAX, off, "a prefix must be a single word: '%.*s'",
                    (int)ND_MIN(n, 200), w);
    const qterm *t = &p->q->terms[first];
    if (utf8_chars(query_term_text(p->q, first), t->len) < ND_MIN_PREFIX_CHARS)
        return perr(p, ND_ELIMIT, off, "prefix '%.*s' is too short (at least %u characters)",
                    (int)ND_MIN(n, 200), w, ND_MIN_PREFIX_CHARS);
    int32_t k = new_node(p, QN_PREFIX, off);
    if (k < 0)
        return nomem(p);
    p->q->nodes[k].field = (int8_t)p->scope;
    p->q->nodes[k].term = first;
    p->q->nodes[k].n_terms = 1;
    *out = k;
    return ND_OK;
}

static int parse_date(parser *p, int32_t *out)
{
    size_t off = p->i, j = p->i;
    while (j < p->len && !is_ws(p->s[j]) && p->s[j] != ')')
        j++;
    p->i = j;
    const char *v = p->s + off;
    size_t n = j - off, dots = n;
    for (size_t k = 0; k + 1 < n; k++)
        if (v[k] == '.' && v[k + 1] == '.') {
            dots = k;
            break;
        }
    int64_t lo = INT64_MIN, hi = INT64_MAX, ignore;
    static const char FORMS[] = "YYYY, YYYY-MM, YYYY-MM-DD or a date-time";
    if (dots == n) {
        if (query_date_period(&lo, &hi, v, n))
            return perr(p, ND_ESYNTAX, off, "date: '%.*s' is not a date (%s) or a range A..B",
                        (int)ND_MIN(n, 200), v, FORMS);
    } else {
        size_t rn = n - dots - 2;
        if (dots == 0 && rn == 0)
            return perr(p, ND_ESYNTAX, off, "date: '..' needs a date on at least one side");
        if (dots > 0 && query_date_period(&lo, &ignore, v, dots))
            return perr(p, ND_ESYNTAX, off, "date: '%.*s' is not a date (%s)",
                        (int)ND_MIN(dots, 200), v, FORMS);
        if (rn > 0 && query_date_period(&ignore, &hi, v + dots + 2, rn))
            return perr(p, ND_ESYNTAX, off + dots + 2, "date: '%.*s' is not a date (%s)",
                        (int)ND_MIN(rn, 200), v + dots + 2, FORMS);
        if (lo > hi)
            return perr(p, ND_ESYNTAX, off, "date: the range ends before it starts");
    }
    int32_t k = new_node(p, QN_DATE, off);
    if (k < 0)
        return nomem(p);
    p->q->nodes[k].lo = lo;
    p->q->nodes[k].hi = hi;
    p->q->nodes[k].filter = 1;
    *out = k;
    return ND_OK;
}

static int parse_group(parser *p, int32_t *out)
{
    size_t off = p->i;
    int rc = depth_in(p, off);
    if (rc)
        return rc;
    p->i++;
    skip_ws(p);
    if (p->i >= p->len)
        return perr(p, ND_ESYNTAX, off, "'(' is never closed");
    if (p->s[p->i] == ')')
        return perr(p, ND_ESYNTAX, off, "nothing between '(' and ')'");
    operand x = {-1, MOD_NONE};
    rc = parse_or(p, &x);
    if (rc)
        return rc;
    skip_ws(p);
    if (p->i >= p->len || p->s[p->i] != ')')
        return perr(p, ND_ESYNTAX, off, "'(' is never closed");
    p->i++;
    p->depth--;
    return seal(p, x, off, out);
}

static int parse_primary(parser *p, int32_t *out)
{
    *out = -1;
    if (p->i >= p->len)
        return perr(p, ND_ESYNTAX, p->i, "the query ends where a word was expected");
    char c = p->s[p->i];
    if (at_keyword(p, "AND") || at_keyword(p, "OR"))
        return perr(p, ND_ESYNTAX, p->i, "%s needs a clause before it",
                    at_keyword(p, "AND") ? "AND" : "OR");
    if (c == ')')
        return perr(p, ND_ESYNTAX, p->i, "unexpected ')'");
    if (c == '(')
        return parse_group(p, out);
    if (c == '"')
        return parse_phrase(p, out);
    int f = at_field(p);
    if (f < 0)
        return parse_word(p, out);
    size_t off = p->i;
    const char *name = FIELDS[f].name;
    p->i += strlen(name) + 1;
    if (p->i >= p->len || is_ws(p->s[p->i]) || p->s[p->i] == ')')
        return perr(p, ND_ESYNTAX, off, "%s: needs a value right after the ':'", name);
    if (FIELDS[f].field == FIELD_DATE_SCOPE) {
        if (p->s[p->i] == '(' || p->s[p->i] == '"')
            return perr(p, ND_ESYNTAX, p->i, "date: takes a date or a range A..B, unquoted");
        int rc = parse_date(p, out);
        if (rc == ND_OK && *out >= 0)
            p->q->nodes[*out].off = (uint32_t)off;
        return rc;
    }
    int saved = p->scope, rc;
    p->scope = FIELDS[f].field;
    if (p->s[p->i] == '(')
        rc = parse_group(p, out);
    else if (p->s[p->i] == '"')
        rc = parse_phrase(p, out);
    else
        rc = parse_word(p, out);
    p->scope = saved;
    if (rc == ND_OK && *out >= 0)
        p->q->nodes[*out].off = (uint32_t)off;
    return rc;
}

static int negate(int mod)
{
    return mod == MOD_MINUS ? MOD_PLUS : MOD_MINUS;
}

static int parse_unary(parser *p, operand *out)
{
    skip_ws(p);
    out->node = -1;
    out->mod = MOD_NONE;
    size_t off = p->i;
    int is_not = at_keyword(p, "NOT");
    int is_mod = !is_not && p->i + 1 < p->len && (p->s[p->i] == '+' || p->s[p->i] == '-') &&
                 !is_ws(p->s[p->i + 1]) && p->s[p->i + 1] != ')';
    if (!is_not && !is_mod)
        return parse_primary(p, &out->node);
    int rc = depth_in(p, off);
    if (rc)
        return rc;
    char sign = p->s[p->i];
    p->i += is_not ? 3 : 1;
    skip_ws(p);
    if (is_not && !clause_start(p))
        return perr(p, ND_ESYNTAX, off, "NOT needs a clause after it");
    operand x;
    rc = parse_unary(p, &x);
    if (rc)
        return rc;
    p->depth--;
    out->node = x.node;
    if (is_not || sign == '-')
        out->mod = negate(x.mod);
    else
        out->mod = x.mod == MOD_MINUS ? MOD_MINUS : MOD_PLUS;
    return ND_OK;
}

static int parse_and(parser *p, operand *out)
{
    level lv = {{-1, 0}, -1, 0, p->i};
    operand x = {-1, MOD_NONE};
    int rc = parse_unary(p, &x);
    if (rc)
        return rc;
    level_add(p, &lv, x, 1, 0);
    for (;;) {
        skip_ws(p);
        if (p->i >= p->len || p->s[p->i] == ')' || at_keyword(p, "OR"))
            break;
        if (at_keyword(p, "AND")) {
            size_t op = p->i;
            p->i += 3;
            skip_ws(p);
            if (!clause_start(p))
                return perr(p, ND_ESYNTAX, op, "AND needs a clause after it");
        } else if (p->default_op != ND_OP_AND) {
            break; /* side by side: the default OR, one level up */
        }
        if ((rc = parse_unary(p, &x)) || (rc = level_add(p, &lv, x, 0, 0)))
            return rc;
    }
    return level_end(p, &lv, out);
}

static int parse_or(parser *p, operand *out)
{
    level lv = {{-1, 0}, -1, 1, p->i};
    operand x = {-1, MOD_NONE};
    int rc = parse_and(p, &x);
    if (rc)
        return rc;
    level_add(p, &lv, x, 1, 0);
    for (;;) {
        skip_ws(p);
        if (p->i >= p->len || p->s[p->i] == ')')
            break;
        int explicit_or = at_keyword(p, "OR");
        if (explicit_or) {
            size_t op = p->i;
            p->i += 2;
            skip_ws(p);
            if (!clause_start(p))
                return perr(p, ND_ESYNTAX, op, "OR needs a clause after it");
        }
        if ((rc = parse_and(p, &x)) || (rc = level_add(p, &lv, x, 0, explicit_or)))
            return rc;
    }
    return level_end(p, &lv, out);
}

/* Plain text: each analysed word is a clause, joined by the default operator. */
static int parse_plain(parser *p, operand *out)
{
    uint32_t first = 0, n = 0;
    int rc = analyse(p, p->s, p->len, 0, &first, &n);
    if (rc)
        return rc;
    level lv = {{-1, 0}, -1, p->default_op != ND_OP_AND, 0};
    for (uint32_t i = 0; i < n; i++) {
        operand x = {-1, MOD_NONE};
        if ((rc = text_node(p, first + i, 1, 0, 0, &x.node)) ||
            (rc = level_add(p, &lv, x, i == 0, 0)))
            return rc;
    }
    p->i = p->len;
    return level_end(p, &lv, out);
}

int query_parse(query *q, nd_analyzer *an, const char *s, size_t len, int default_op,
                int plain, nd_err *e, size_t *err_off)
{
    memset(q, 0, sizeof *q);
    q->root = -1;
    *err_off = QUERY_NO_OFFSET;
    if (len > ND_MAX_QUERY_BYTES) {
        *err_off = ND_MAX_QUERY_BYTES;
        return err_set(e, ND_ELIMIT, "query too long (%zu bytes, the limit is %u)", len,
                       ND_MAX_QUERY_BYTES);
    }
    parser p;
    memset(&p, 0, sizeof p);
    p.s = s;
    p.len = len;
    p.an = an;
    p.q = q;
    p.default_op = default_op;
    p.scope = FIELD_ANY;
    p.e = e;
    p.err_off = err_off;
    operand x = {-1, MOD_NONE};
    int rc = ND_OK;
    skip_ws(&p);
    if (p.i < p.len) {
        rc = plain ? parse_plain(&p, &x) : parse_or(&p, &x);
        skip_ws(&p);
        if (!rc && p.i < p.len) /* parse_or stops only at the end or at ')' */
            rc = perr(&p, ND_ESYNTAX, p.i, "unexpected ')' (no '(' before it)");
    }
    buf_free(&p.kw);
    if (rc) {
        query_free(q);
        return rc;
    }
    if (x.node < 0 && p.stopped > 0) {
        q->root = -1; /* only stop words: valid, and matches nothing */
        return ND_OK;
    }
    if (x.node < 0) {
        query_free(q);
        *err_off = 0;
        return err_set(e, ND_ESYNTAX, "column 1: the query has no searchable words");
    }
    if (x.mod == MOD_MINUS) {
        q->root = -1; /* only an exclusion: nothing to rank */
        return ND_OK;
    }
    const qnode *r = &q->nodes[x.node];
    if (r->kind == QN_BOOL) {
        int positive = 0;
        for (int32_t c = r->kid; c >= 0; c = q->nodes[c].next)
            positive |= q->nodes[c].occur != OCCUR_MUST_NOT;
        if (!positive) {
            q->root = -1;
            return ND_OK;
        }
    }
    q->nodes[x.node].occur = OCCUR_MUST;
    q->root = x.node;
    return ND_OK;
}

void query_free(query *q)
{
    free(q->nodes);
    free(q->terms);
    buf_free(&q->text);
    memset(q, 0, sizeof *q);
    q->root = -1;
}

/* ---- dates as periods ------------------------------------------------------ */

#define SECS_PER_DAY 86400

int query_date_period(int64_t *first, int64_t *last, const char *s, size_t len)
{
    int64_t t;
    if (nd_date_parse(&t, s, len) != ND_OK)
        return ND_EINVAL;
    *first = t;
    unsigned y = 0, m = 1;
    for (size_t i = 0; i < 4; i++)
        y = y * 10 + (unsigned)(s[i] - '0');
    if (len >= 7)
        m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
    if (len == 4)
        *last = days_from_civil((int64_t)y + 1, 1, 1) * SECS_PER_DAY - 1;
    else if (len == 7)
        *last = days_from_civil(m == 12 ? (int64_t)y + 1 : (int64_t)y, m == 12 ? 1 : m + 1, 1) *
                    SECS_PER_DAY -
                1;
    else if (len == 10)
        *last = t + SECS_PER_DAY - 1;
    else
        *last = t;
    return ND_OK;
}
