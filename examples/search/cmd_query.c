/*
 * cmd_query.c - `search query`: ranked hits with snippets, for people or as JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char QUERY_HELP[] =
    "usage: search query DIR 'QUERY' [options]\n"
    "\n"
    "Ranks the articles of the index at DIR against QUERY with BM25 and prints\n"
    "the best ones with a snippet. QUERY is words; +word requires a word,\n"
    "-word excludes it; by default any word may match (OR).\n"
    "\n"
    "options:\n"
    "  -k N           number of hits (default 10, at most 10000)\n"
    "  --offset N     skip the first N hits (pagination)\n"
    "  --and          require every word (default operator AND)\n"
    "  --json         one JSON object: {\"query\", \"total_hits\", \"hits\": [...]}\n"
    "  --no-snippets  do not build snippets\n"
    "  --k1 X, --b X  BM25 parameters (default 0.9 and 0.4)\n"
    "  --title-weight X, --body-weight X\n"
    "                 field weights (default 2.0 and 1.0)\n"
    "  --color WHEN   auto (default), always or never\n"
    "  -h, --help     this help\n";

static void print_marked(const nd_hit *h, int color)
{
    size_t at = 0;
    for (size_t m = 0; m < h->n_marks; m++) {
        const nd_span *sp = &h->marks[m];
        fwrite(h->snippet + at, 1, sp->start - at, stdout);
        fputs(color ? "\033[1;33m" : "*", stdout);
        fwrite(h->snippet + sp->start, 1, sp->len, stdout);
        fputs(color ? "\033[0m" : "*", stdout);
        at = sp->start + sp->len;
    }
    fwrite(h->snippet + at, 1, h->snippet_len - at, stdout);
}

static void json_snippet(const nd_hit *h)
{
    size_t at = 0;
    fputc('"', stdout);
    for (size_t m = 0; m < h->n_marks; m++) {
        const nd_span *sp = &h->marks[m];
        json_chars(stdout, h->snippet + at, sp->start - at, 1);
        fputs("<b>", stdout);
        json_chars(stdout, h->snippet + sp->start, sp->len, 1);
        fputs("</b>", stdout);
        at = sp->start + sp->len;
    }
    json_chars(stdout, h->snippet + at, h->snippet_len - at, 1);
    fputc('"', stdout);
}

int cmd_query(int argc, char **argv)
{
    const char *dir = NULL, *q = NULL;
    size_t k = 10;
    int json = 0, color = -1;
    nd_search_opts so = ND_SEARCH_OPTS_INIT;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (is_help(a)) {
            fputs(QUERY_HELP, stdout);
            return EX_OK;
        } else if (strcmp(a, "-k") == 0 || strcmp(a, "--k") == 0) {
            if (!v || parse_size(v, &k))
                return usage_error("-k needs a number");
            i++;
        } else if (strcmp(a, "--offset") == 0) {
            if (!v || parse_size(v, &so.offset))
                return usage_error("--offset needs a number");
            i++;
        } else if (strcmp(a, "--and") == 0) {
            so.default_op = ND_OP_AND;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--no-snippets") == 0) {
            so.snippets = 0;
        } else if (strcmp(a, "--k1") == 0 || strcmp(a, "--b") == 0 ||
                   strcmp(a, "--title-weight") == 0 || strcmp(a, "--body-weight") == 0) {
            double *dst = strcmp(a, "--k1") == 0   ? &so.bm25.k1
                          : strcmp(a, "--b") == 0 ? &so.bm25.b
                          : strcmp(a, "--title-weight") == 0 ? &so.bm25.title_weight
                                                             : &so.bm25.body_weight;
            if (!v || parse_double(v, dst))
                return usage_error("%s needs a number", a);
            i++;
        } else if (strcmp(a, "--color") == 0) {
            if (!v)
                return usage_error("--color needs auto, always or never");
            color = strcmp(v, "always") == 0 ? 1 : strcmp(v, "never") == 0 ? 0 : -1;
            i++;
        } else if (a[0] == '-' && a[1] == '-' && a[2] != 0) {
            return usage_error("query: unknown option '%s'", a);
        } else if (!dir) {
            dir = a;
        } else if (!q) {
            q = a;
        } else {
            return usage_error("query: one QUERY argument (quote it): unexpected '%s'", a);
        }
    }
    if (!dir || !q)
        return usage_error("query needs DIR and QUERY");
    if (color < 0)
        color = !json && isatty(1) && getenv("NO_COLOR") == NULL;
    char errbuf[512];
    nd_index *ix;
    int rc = nd_index_open(&ix, dir, NULL, errbuf, sizeof errbuf);
    if (rc)
        return fail(exit_for(rc), "%s", errbuf);
    nd_search *s;
    rc = nd_search_open(&s, ix);
    if (rc) {
        nd_index_free(ix);
        return fail(EX_FAIL, "cannot create a searcher: %s", nd_strerror(rc));
    }
    nd_hits *h;
    double t0 = now();
    rc = nd_search_run(s, &h, q, k, &so);
    double ms = (now() - t0) * 1000;
    if (rc) {
        int code = fail(exit_for(rc), "%s", nd_search_errmsg(s));
        nd_search_free(s);
        nd_index_free(ix);
        return code;
    }
    size_t n = nd_hits_count(h);
    if (json) {
        fputs("{\"query\":", stdout);
        json_str(stdout, q, strlen(q));
        printf(",\"total_hits\":%" PRIu64 ",\"hits\":[", nd_hits_total(h));
        for (size_t i = 0; i < n; i++) {
            nd_hit hit;
            nd_hits_get(h, i, &hit);
            char date[40];
            fputs(i ? ",{\"id\":" : "{\"id\":", stdout);
            json_str(stdout, hit.id, hit.id_len);
            printf(",\"score\":%.6f,\"title\":", hit.score);
            json_str(stdout, hit.title, hit.title_len);
            fputs(",\"date\":", stdout);
            if (nd_date_format(date, sizeof date, hit.date))
                json_str(stdout, date, strlen(date));
            else
                fputs("null", stdout);
            fputs(",\"source\":", stdout);
            json_str(stdout, hit.source, hit.source_len);
            fputs(",\"url\":", stdout);
            json_str(stdout, hit.url, hit.url_len);
            fputs(",\"snippet\":", stdout);
            json_snippet(&hit);
            fputc('}', stdout);
        }
        fputs("]}\n", stdout);
    } else {
        printf("%" PRIu64 " hits for '%s' (%.1f ms)", nd_hits_total(h), q, ms);
        if (n)
            printf(", showing %zu-%zu", so.offset + 1, so.offset + n);
        fputs("\n\n", stdout);
        for (size_t i = 0; i < n; i++) {
            nd_hit hit;
            nd_hits_get(h, i, &hit);
            char date[40] = "";
            nd_date_format(date, sizeof date, hit.date);
            printf("%s%zu. ", color ? "\033[1m" : "", so.offset + i + 1);
            if (hit.title_len)
                fwrite(hit.title, 1, hit.title_len, stdout);
            else
                fputs("(untitled)", stdout);
            printf("%s\n   ", color ? "\033[0m" : "");
            if (color)
                fputs("\033[2m", stdout);
            if (*date)
                printf("%s | ", date);
            if (hit.source_len) {
                fwrite(hit.source, 1, hit.source_len, stdout);
                fputs(" | ", stdout);
            }
            fwrite(hit.id, 1, hit.id_len, stdout);
            printf(" | score %.3f%s\n", hit.score, color ? "\033[0m" : "");
            if (hit.snippet_len) {
                fputs("   ", stdout);
                print_marked(&hit, color);
                fputc('\n', stdout);
            }
            if (hit.url_len) {
                fputs("   ", stdout);
                fwrite(hit.url, 1, hit.url_len, stdout);
                fputc('\n', stdout);
            }
            fputc('\n', stdout);
        }
    }
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
    return EX_OK;
}

