/*
 * cmd_query.c - `search query`: ranked (or date-ordered) hits with
 * snippets, match counts, and facets - sources as a table, dates as a
 * timeline of bars - for people or as JSON. A query that does not parse is
 * shown back with a caret under the place of the error.
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
    "the best ones with a snippet. The query language (docs/QUERY.md):\n"
    "  oil prices          either word (the default operator is OR)\n"
    "  +oil -gas           oil required, gas excluded\n"
    "  oil AND (gas OR coal) NOT opec\n"
    "  \"oil prices\"        a phrase;  \"oil prices\"~5  both within a window\n"
    "  title:oil  body:x  url:x   one field;  huaw*  a prefix (3+ characters)\n"
    "  source:Reuters  source:\"Associated Press\"  lang:en   exact values\n"
    "  date:2019  date:2019-01-01..2019-06-30  date:2019-03..  date:..2018\n"
    "date:, source: and lang: are filters: they restrict the matches and add\n"
    "nothing to the score.\n"
    "\n"
    "options:\n"
    "  -k N           number of hits (default 10, at most 10000)\n"
    "  --offset N     skip the first N hits (pagination)\n"
    "  --and          clauses side by side are AND'ed (default operator AND)\n"
    "  --sort ORDER   score (default), date (oldest first) or -date (newest first)\n"
    "  --since DATE   only articles dated DATE or later (ISO 8601: 2019, 2019-03,\n"
    "                 2019-03-14, 2019-03-14T09:30:00Z)\n"
    "  --until DATE   only articles dated up to the end of DATE\n"
    "  --facets LIST  counts over all matches: source, day, month, year\n"
    "                 (comma-separated); dates are shown as a timeline\n"
    "  --count        only count the matches (no ranking, no hits)\n"
    "  --json         one JSON object: {\"query\", \"total_hits\", \"hits\": [...],\n"
    "                 \"facets\": {\"source\": {...}, \"month\": {...}}}\n"
    "  --no-snippets  do not build snippets\n"
    "  --k1 X, --b X  BM25 parameters (default 0.9 and 0.4)\n"
    "  --title-weight X, --body-weight X\n"
    "                 field weights (default 2.0 and 1.0)\n"
    "  --color WHEN   auto (default), always or never\n"
    "  -h, --help     this help\n";

/* ---- facets -------------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned bit;
} FACETS[] = {{"source", ND_FACET_SOURCE},
              {"day", ND_FACET_DAY},
              {"month", ND_FACET_MONTH},
              {"year", ND_FACET_YEAR}};
#define N_FACET_NAMES 4

/* Parses "source,month" into the order list (indexes into FACETS). */
static int parse_facets(const char *v, int *order, int *n, unsigned *mask)
{
    *n = 0;
    *mask = 0;
    const char *p = v;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int found = -1;
        for (int f = 0; f < N_FACET_NAMES; f++)
            if (strlen(FACETS[f].name) == len && strncmp(p, FACETS[f].name, len) == 0)
                found = f;
        if (found < 0)
            return -1;
        if (!(*mask & FACETS[found].bit))
            order[(*n)++] = found;
        *mask |= FACETS[found].bit;
        if (!e)
            return 0;
        p = e + 1;
    }
}

/* A bar of `cells` character cells at most, in eighths of a cell. */
static void bar(uint64_t v, uint64_t max, int cells)
{
    static const char *const EIGHTHS[8] = {"",
                                           "\xe2\x96\x8f",
                                           "\xe2\x96\x8e",
                                           "\xe2\x96\x8d",
                                           "\xe2\x96\x8c",
                                           "\xe2\x96\x8b",
                                           "\xe2\x96\x8a",
                                           "\xe2\x96\x89"};
    if (max == 0 || v == 0)
        return;
    uint64_t units = (v * (uint64_t)cells * 8 + max / 2) / max;
    if (units == 0)
        units = 1; /* something, however small */
    for (uint64_t i = 0; i < units / 8; i++)
        fputs("\xe2\x96\x88", stdout);
    fputs(EIGHTHS[units % 8], stdout);
}

/* The period after `key` (day, month or year key) into next. */
static int next_period(unsigned bit, const char *key, size_t len, char *next, size_t n)
{
    int64_t first, last;
    if (nd_date_period(&first, &last, key, len) != ND_OK)
        return -1;
    char buf[48];
    size_t k = nd_date_format(buf, sizeof buf, last + 1);
    if (k < 10)
        return -1;
    size_t keep = bit == ND_FACET_DAY ? k : bit == ND_FACET_MONTH ? k - 3 : k - 6;
    if (keep + 1 > n)
        return -1;
    memcpy(next, buf, keep);
    next[keep] = 0;
    return 0;
}

#define BAR_CELLS 40
#define MAX_TIMELINE_ROWS 400 /* gaps are shown as empty rows up to this many rows */
#define MAX_SOURCE_ROWS 20

static void timeline_row(const char *key, size_t kl, uint64_t v, uint64_t max, int width)
{
    printf("  %.*s  %*" PRIu64, (int)kl, key, width, v);
    if (v) {
        fputs("  ", stdout);
        bar(v, max, BAR_CELLS);
    }
    fputc('\n', stdout);
}

/* One row per period from the first dated match to the last (empty periods
 * included, unless that would take more than MAX_TIMELINE_ROWS rows). */
static void print_timeline(const nd_hits *h, unsigned bit, const char *name, int color)
{
    size_t n = nd_hits_facet_count(h, bit);
    uint64_t max = 0, c;
    const char *key, *k0 = NULL, *kn = NULL;
    size_t kl, l0 = 0, ln = 0;
    for (size_t i = 0; i < n; i++) {
        nd_hits_facet_get(h, bit, i, &key, &kl, &c);
        max = c > max ? c : max;
    }
    printf("%sTimeline by %s%s\n", color ? "\033[1m" : "", name, color ? "\033[0m" : "");
    if (n == 0)
        puts("  (no dated matches)");
    int width = snprintf(NULL, 0, "%" PRIu64, max);
    if (n) {
        nd_hits_facet_get(h, bit, 0, &k0, &l0, &c);
        nd_hits_facet_get(h, bit, n - 1, &kn, &ln, &c);
    }
    /* can the gaps be filled within the row budget? */
    char cur[48];
    int fill = n > 0 && l0 < sizeof cur;
    size_t rows = 0;
    if (fill) {
        snprintf(cur, sizeof cur, "%.*s", (int)l0, k0);
        for (;;) {
            if (++rows > MAX_TIMELINE_ROWS) {
                fill = 0;
                break;
            }
            if (strlen(cur) == ln && memcmp(cur, kn, ln) == 0)
                break;
            if (next_period(bit, cur, strlen(cur), cur, sizeof cur)) {
                fill = 0;
                break;
            }
        }
    }
    if (fill) {
        snprintf(cur, sizeof cur, "%.*s", (int)l0, k0);
        size_t i = 0;
        for (;;) {
            uint64_t v = 0;
            if (i < n) {
                nd_hits_facet_get(h, bit, i, &key, &kl, &c);
                if (kl == strlen(cur) && memcmp(key, cur, kl) == 0) {
                    v = c;
                    i++;
                }
            }
            timeline_row(cur, strlen(cur), v, max, width);
            if ((strlen(cur) == ln && memcmp(cur, kn, ln) == 0) ||
                next_period(bit, cur, strlen(cur), cur, sizeof cur))
                break;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            nd_hits_facet_get(h, bit, i, &key, &kl, &c);
            timeline_row(key, kl, c, max, width);
        }
    }
    uint64_t missing = nd_hits_facet_missing(h, bit);
    if (missing)
        printf("  (%" PRIu64 " without a date)\n", missing);
}

static void print_sources(const nd_hits *h, int color)
{
    size_t n = nd_hits_facet_count(h, ND_FACET_SOURCE);
    printf("%sSources%s\n", color ? "\033[1m" : "", color ? "\033[0m" : "");
    uint64_t max = 0;
    int kw = 6, cw = 1;
    for (size_t i = 0; i < n && i < MAX_SOURCE_ROWS; i++) {
        const char *key;
        size_t kl;
        uint64_t c;
        nd_hits_facet_get(h, ND_FACET_SOURCE, i, &key, &kl, &c);
        size_t chars = 0;
        for (size_t b = 0; b < kl; b++)
            chars += ((unsigned char)key[b] & 0xC0) != 0x80;
        if ((int)chars > kw)
            kw = chars > 40 ? 40 : (int)chars;
        max = c > max ? c : max;
    }
    cw = snprintf(NULL, 0, "%" PRIu64, max);
    if (n == 0)
        puts("  (no sources)");
    for (size_t i = 0; i < n && i < MAX_SOURCE_ROWS; i++) {
        const char *key;
        size_t kl;
        uint64_t c;
        nd_hits_facet_get(h, ND_FACET_SOURCE, i, &key, &kl, &c);
        size_t chars = 0, b = 0;
        fputs("  ", stdout);
        for (; b < kl && chars < 40; b++) {
            chars += ((unsigned char)key[b] & 0xC0) != 0x80;
            if (chars > 40)
                break;
            fputc(key[b] == '\n' || key[b] == '\t' ? ' ' : key[b], stdout);
        }
        while (b < kl && ((unsigned char)key[b] & 0xC0) == 0x80)
            fputc(key[b++], stdout); /* finish the last character */
        printf("%*s  %*" PRIu64 "  ", kw - (int)chars, "", cw, c);
        bar(c, max, BAR_CELLS / 2);
        fputc('\n', stdout);
    }
    if (n > MAX_SOURCE_ROWS)
        printf("  ... and %zu more sources\n", n - MAX_SOURCE_ROWS);
    uint64_t missing = nd_hits_facet_missing(h, ND_FACET_SOURCE);
    if (missing)
        printf("  (%" PRIu64 " without a source)\n", missing);
}

static void print_facets(const nd_hits *h, const int *order, int n, int color)
{
    for (int i = 0; i < n; i++) {
        unsigned bit = FACETS[order[i]].bit;
        if (bit == ND_FACET_SOURCE)
            print_sources(h, color);
        else
            print_timeline(h, bit, FACETS[order[i]].name, color);
        fputc('\n', stdout);
    }
}

static void json_facets(const nd_hits *h, const int *order, int n)
{
    fputs(",\"facets\":{", stdout);
    for (int i = 0; i < n; i++) {
        unsigned bit = FACETS[order[i]].bit;
        printf("%s\"%s\":{", i ? "," : "", FACETS[order[i]].name);
        size_t nb = nd_hits_facet_count(h, bit);
        for (size_t b = 0; b < nb; b++) {
            const char *key;
            size_t kl;
            uint64_t c;
            nd_hits_facet_get(h, bit, b, &key, &kl, &c);
            if (b)
                fputc(',', stdout);
            json_str(stdout, key, kl);
            printf(":%" PRIu64, c);
        }
        fputc('}', stdout);
    }
    fputc('}', stdout);
}

/* ---- hits --------------------------------------------------------------- */

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

static void print_json_hits(const nd_hits *h)
{
    size_t n = nd_hits_count(h);
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
}

static void print_human_hits(const nd_hits *h, size_t offset, int color)
{
    size_t n = nd_hits_count(h);
    for (size_t i = 0; i < n; i++) {
        nd_hit hit;
        nd_hits_get(h, i, &hit);
        char date[40] = "";
        nd_date_format(date, sizeof date, hit.date);
        printf("%s%zu. ", color ? "\033[1m" : "", offset + i + 1);
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

/* ---- errors ------------------------------------------------------------- */

#define CARET_WINDOW 70 /* characters of the query shown around the error */

/* The query on stderr with a caret under byte offset `off`. */
static void show_caret(const char *q, size_t off)
{
    size_t len = strlen(q);
    if (off > len)
        off = len;
    /* character index of off, and of a window start that keeps it in view */
    size_t chars_before = 0;
    for (size_t i = 0; i < off; i++)
        chars_before += ((unsigned char)q[i] & 0xC0) != 0x80;
    size_t skip = chars_before > CARET_WINDOW / 2 ? chars_before - CARET_WINDOW / 2 : 0;
    size_t i = 0, c = 0;
    while (i < len && c < skip) {
        i++;
        while (i < len && ((unsigned char)q[i] & 0xC0) == 0x80)
            i++;
        c++;
    }
    fputs("  ", stderr);
    size_t col = 0;
    if (skip) {
        fputs("...", stderr);
        col = 3;
    }
    size_t caret = col + (chars_before - skip), shown = 0;
    for (; i < len && shown < CARET_WINDOW; shown++) {
        unsigned char ch = (unsigned char)q[i];
        size_t l = ch < 0x80 ? 1 : utf8_len((const unsigned char *)q + i, len - i);
        if (l == 0)
            l = 1;
        if (ch < 0x20 || ch == 0x7f)
            fputc(' ', stderr);
        else
            fwrite(q + i, 1, l, stderr);
        i += l;
    }
    if (i < len)
        fputs("...", stderr);
    fputs("\n  ", stderr);
    for (size_t k = 0; k < caret; k++)
        fputc(' ', stderr);
    fputs("^\n", stderr);
}

/* ---- the command -------------------------------------------------------- */

int cmd_query(int argc, char **argv)
{
    const char *dir = NULL, *q = NULL;
    size_t k = 10;
    int json = 0, color = -1, n_facets = 0, facet_order[N_FACET_NAMES];
    nd_search_opts so = ND_SEARCH_OPTS_INIT;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double *bm = bm25_option(a, &so.bm25); /* --k1, --b, field weights */
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
        } else if (strcmp(a, "--count") == 0) {
            so.count_only = 1;
        } else if (strcmp(a, "--sort") == 0) {
            if (v && (strcmp(v, "score") == 0 || strcmp(v, "relevance") == 0))
                so.sort = ND_SORT_SCORE;
            else if (v && (strcmp(v, "date") == 0 || strcmp(v, "+date") == 0))
                so.sort = ND_SORT_DATE_ASC;
            else if (v && strcmp(v, "-date") == 0)
                so.sort = ND_SORT_DATE_DESC;
            else
                return usage_error("--sort needs score, date or -date");
            i++;
        } else if (strcmp(a, "--since") == 0 || strcmp(a, "--until") == 0) {
            int64_t first, last;
            if (!v || nd_date_period(&first, &last, v, strlen(v)) != ND_OK)
                return usage_error("%s needs an ISO 8601 date (2019, 2019-03, 2019-03-14, "
                                   "2019-03-14T09:30:00Z)",
                                   a);
            if (a[2] == 's')
                so.since = first;
            else
                so.until = last;
            i++;
        } else if (strcmp(a, "--facets") == 0) {
            if (!v || parse_facets(v, facet_order, &n_facets, &so.facets))
                return usage_error("--facets needs a comma-separated list of source, day, "
                                   "month, year");
            i++;
        } else if (bm) {
            if (!v || parse_double(v, bm))
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
        if (nd_search_error_offset(s) != ND_NO_OFFSET)
            show_caret(q, nd_search_error_offset(s));
        nd_search_free(s);
        nd_index_free(ix);
        return code;
    }
    size_t n = nd_hits_count(h);
    if (json) {
        fputs("{\"query\":", stdout);
        json_str(stdout, q, strlen(q));
        printf(",\"total_hits\":%" PRIu64 ",\"hits\":[", nd_hits_total(h));
        print_json_hits(h);
        fputc(']', stdout);
        if (n_facets)
            json_facets(h, facet_order, n_facets);
        fputs("}\n", stdout);
    } else if (so.count_only) {
        printf("%" PRIu64 "\n", nd_hits_total(h));
        if (n_facets) {
            fputc('\n', stdout);
            print_facets(h, facet_order, n_facets, color);
        }
    } else {
        printf("%" PRIu64 " hits for '%s' (%.1f ms)", nd_hits_total(h), q, ms);
        if (n)
            printf(", showing %zu-%zu", so.offset + 1, so.offset + n);
        if (so.sort != ND_SORT_SCORE)
            printf(", %s first", so.sort == ND_SORT_DATE_ASC ? "oldest" : "newest");
        fputs("\n\n", stdout);
        print_facets(h, facet_order, n_facets, color);
        print_human_hits(h, so.offset, color);
    }
    nd_hits_free(h);
    nd_search_free(s);
    nd_index_free(ix);
    return EX_OK;
}
