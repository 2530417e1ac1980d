/*
 * parse.c - the query string as clauses. This first form of the language
 * knows words with optional + and - prefixes; every word goes through the
 * document analyzer, so "COVID-19" in a query finds what "COVID-19" in an
 * article was indexed as.
 */
#include <stdlib.h>

#include "query/query.h"

typedef struct pctx {
    query *q;
    int occur;
    int fail;
} pctx;

static int on_term(void *ctx, const nd_token *t)
{
    pctx *c = ctx;
    query *q = c->q;
    if (q->n >= ND_MAX_QUERY_TERMS) {
        c->fail = ND_ELIMIT;
        return 1;
    }
    qterm *qt = &q->terms[q->n++];
    memcpy(qt->text, t->term, t->len);
    qt->len = (uint32_t)t->len;
    qt->occur = c->occur;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int query_parse(query *q, nd_analyzer *an, const char *s, size_t len, int default_op,
                nd_err *e)
{
    memset(q, 0, sizeof *q);
    if (len > ND_MAX_QUERY_BYTES)
        return err_set(e, ND_ELIMIT, "query too long (%zu bytes, the limit is %u)", len,
                       ND_MAX_QUERY_BYTES);
    q->terms = malloc(ND_MAX_QUERY_TERMS * sizeof *q->terms);
    if (!q->terms)
        return err_set(e, ND_ENOMEM, "out of memory");
    pctx c = {q, 0, 0};
    size_t i = 0;
    while (i < len) {
        while (i < len && is_space(s[i]))
            i++;
        if (i == len)
            break;
        c.occur = default_op == ND_OP_AND ? OCCUR_MUST : OCCUR_SHOULD;
        if (s[i] == '+' || s[i] == '-') {
            c.occur = s[i] == '+' ? OCCUR_MUST : OCCUR_MUST_NOT;
            i++;
        }
        size_t start = i;
        while (i < len && !is_space(s[i]))
            i++;
        int rc = analyzer_run(an, s + start, i - start, on_term, &c);
        if (c.fail == ND_ELIMIT) {
            query_free(q);
            return err_set(e, ND_ELIMIT, "too many terms in the query (the limit is %u)",
                           ND_MAX_QUERY_TERMS);
        }
        if (rc < 0) {
            query_free(q);
            return err_set(e, rc, "analyzer failed on the query");
        }
    }
    if (q->n == 0) {
        query_free(q);
        return err_set(e, ND_ESYNTAX, "column 1: the query has no searchable words");
    }
    return ND_OK;
}

void query_free(query *q)
{
    free(q->terms);
    q->terms = NULL;
    q->n = 0;
}
