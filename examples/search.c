/*
 * search.c - the `search` command-line tool: index JSON Lines news files,
 * query them, and inspect an index. It uses only the public API in
 * newsdex.h, so it doubles as the longest example of that API.
 *
 * Exit codes (also in README.md):
 *   0  success
 *   1  failure: I/O error, damaged index, out of memory
 *   2  usage error: unknown command or option, missing argument
 *   3  bad input: query syntax error or limit; --strict ingest hit a bad line
 *   4  no index at DIR
 *   5  the index is locked by another writer
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

#include "newsdex.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_INPUT = 3, EX_NOINDEX = 4, EX_LOCKED = 5 };

static const char *prog = "search";

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try '%s --help')\n", prog);
    return EX_USAGE;
}

static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

/* Exit code for a library error code. */
static int exit_for(int rc)
{
    switch (rc) {
    case ND_ESYNTAX:
    case ND_ELIMIT:
        return EX_INPUT;
    case ND_ENOTFOUND:
        return EX_NOINDEX;
    case ND_EBUSY:
        return EX_LOCKED;
    default:
        return EX_FAIL;
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Parses a non-negative integer option value. */
static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static void human_bytes(char *buf, size_t n, uint64_t b)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

/* ---- JSON output ------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Writes s as JSON string content; html != 0 also escapes < > & as entities. */
static void json_chars(FILE *f, const char *s, size_t n, int html)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
        } else if (c < 0x20) {
            if (c == '\n')
                fputs("\\n", f);
            else if (c == '\t')
                fputs("\\t", f);
            else
                fprintf(f, "\\u%04x", c);
        } else if (html && c == '<') {
            fputs("&lt;", f);
        } else if (html && c == '>') {
            fputs("&gt;", f);
        } else if (html && c == '&') {
            fputs("&amp;", f);
        } else if (c < 0x80) {
            fputc((int)c, f);
        } else {
            size_t l = utf8_len(p + i, n - i);
            if (l == 0) {
                fputs("\\ufffd", f);
                i++;
                continue;
            }
            fwrite(p + i, 1, l, f);
            i += l;
            continue;
        }
        i++;
    }
}

static void json_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    json_chars(f, s, n, 0);
    fputc('"', f);
}

/* ---- index ----------------------------------------------------------- */

static const char INDEX_HELP[] =
    "usage: search index DIR FILE... [options]\n"
    "\n"
    "Indexes news articles from JSON Lines files (gzip or plain; '-' reads\n"
    "standard input) into the index at DIR, creating it if needed. One article\n"
    "per line: {\"id\": ..., \"title\": ..., \"body\": ..., \"date\": \"2019-03-14\",\n"
    "\"source\": ..., \"url\": ..., \"lang\": ...}; only id is required. Bad lines\n"
    "are reported as FILE:LINE: reason on stderr, skipped and counted.\n"
    "\n"
    "options:\n"
    "  --strict       stop at the first bad line (exit 3)\n"
    "  --append       add to an existing index (ids are not yet de-duplicated)\n"
    "  --ram MIB      memory for buffered postings before a segment is written\n"
    "                 (default 256)\n"
    "  --json         print the summary as one JSON object\n"
    "  -q, --quiet    no progress display\n"
    "  -h, --help     this help\n";

typedef struct progress {
    int tty;
    double start;
    double last;
    uint64_t bad_shown;
} progress;

static void on_bad_line(void *ctx, const char *file, uint64_t line, const char *reason)
{
    progress *p = ctx;
    if (p->tty)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "%s:%" PRIu64 ": %s\n", file, line, reason);
    p->bad_shown++;
}

static void on_progress(void *ctx, const nd_ingest_stats *st)
{
    progress *p = ctx;
    if (!p->tty)
        return;
    double t = now();
    if (t - p->last < 0.1)
        return;
    p->last = t;
    double el = t - p->start;
    double rate = el > 0 ? (double)st->added / el : 0;
    char done[32], total[32];
    human_bytes(done, sizeof done, st->bytes_read);
    if (st->bytes_total > 0) {
        double frac = (double)st->bytes_read / (double)st->bytes_total;
        if (frac > 1)
            frac = 1;
        int w = 30, fill = (int)(frac * w);
        human_bytes(total, sizeof total, st->bytes_total);
        fprintf(stderr, "\r\033[K[%.*s%*s] %3.0f%%  %s / %s  %" PRIu64 " docs  %.0f docs/s",
                fill, "==============================", w - fill, "", frac * 100, done, total,
                st->added, rate);
    } else {
        fprintf(stderr, "\r\033[K%s read  %" PRIu64 " docs  %.0f docs/s", done, st->added, rate);
    }
    fflush(stderr);
}

static uint64_t dir_bytes(const char *dir)
{
    nd_index *ix;
    if (nd_index_open(&ix, dir, NULL, NULL, 0) != ND_OK)
        return 0;
    nd_index_stats st;
    nd_index_stats_get(ix, &st);
    nd_index_free(ix);
    return st.bytes_terms + st.bytes_postings + st.bytes_positions + st.bytes_columns +
           st.bytes_stored + st.bytes_other;
}

static int cmd_index(int argc, char **argv)
{
    const char *dir = NULL;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t n_files = 0, ram_mib = 0;
    int strict = 0, append = 0, json = 0, quiet = 0;
    if (!files)
        return fail(EX_FAIL, "out of memory");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            fputs(INDEX_HELP, stdout);
            free(files);
            return EX_OK;
        } else if (strcmp(a, "--strict") == 0) {
            strict = 1;
        } else if (strcmp(a, "--append") == 0) {
            append = 1;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--ram") == 0) {
            if (i + 1 >= argc || parse_size(argv[++i], &ram_mib) || ram_mib == 0 ||
                ram_mib > ((size_t)1 << 20)) {
                free(files);
                return usage_error("--ram needs a size in MiB (1..1048576)");
            }
        } else if (a[0] == '-' && a[1] != 0) {
            free(files);
            return usage_error("index: unknown option '%s'", a);
        } else if (!dir) {
            dir = a;
        } else {
            files[n_files++] = a;
        }
    }
    if (!dir || n_files == 0) {
        free(files);
        return usage_error("index needs DIR and at least one FILE");
    }
    struct stat st;
    char mpath[4200];
    snprintf(mpath, sizeof mpath, "%s/MANIFEST", dir);
    if (!append && stat(mpath, &st) == 0) {
        free(files);
        return fail(EX_USAGE,
                    "%s already holds an index; use --append to add to it, or index into a new "
                    "directory",
                    dir);
    }
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    wo.ram_budget = ram_mib << 20;
    nd_writer *w;
    int rc = nd_writer_open(&w, dir, &wo);
    if (rc) {
        free(files);
        return fail(exit_for(rc), "cannot open %s for writing: %s", dir, nd_strerror(rc));
    }
    progress pr = {!quiet && isatty(2), now(), 0, 0};
    nd_ingest_opts io = ND_INGEST_OPTS_INIT;
    io.strict = strict;
    io.on_error = on_bad_line;
    io.on_progress = on_progress;
    io.ctx = &pr;
    nd_ingest_stats stats = {0};
    for (size_t i = 0; i < n_files && rc == ND_OK; i++) {
        rc = nd_writer_add_jsonl(w, files[i], &io, &stats);
        if (rc)
            break;
    }
    if (pr.tty)
        fputs("\r\033[K", stderr);
    int code = EX_OK;
    if (rc == ND_EINVAL && strict) {
        fprintf(stderr, "%s: stopped at the first bad line (--strict); nothing was committed\n",
                prog);
        nd_writer_free(w);
        free(files);
        return EX_INPUT;
    }
    if (rc) {
        fprintf(stderr, "%s: %s\n", prog, nd_writer_errmsg(w));
        fprintf(stderr, "%s: committing the %" PRIu64 " articles read before the error\n", prog,
                stats.added);
        code = EX_FAIL;
    }
    int crc = nd_writer_commit(w);
    if (crc) {
        fprintf(stderr, "%s: commit failed: %s\n", prog, nd_writer_errmsg(w));
        nd_writer_free(w);
        free(files);
        return exit_for(crc);
    }
    nd_writer_free(w);
    double secs = now() - pr.start;
    uint64_t bytes = dir_bytes(dir);
    double rate = secs > 0 ? (double)stats.added / secs : 0;
    if (json) {
        printf("{\"docs_indexed\":%" PRIu64 ",\"lines_skipped\":%" PRIu64
               ",\"seconds\":%.3f,\"docs_per_second\":%.1f,\"index_bytes\":%" PRIu64
               ",\"input_bytes\":%" PRIu64 "}\n",
               stats.added, stats.skipped, secs, rate, bytes, stats.bytes_read);
    } else {
        char hb[32];
        human_bytes(hb, sizeof hb, bytes);
        printf("docs indexed   %" PRIu64 "\n", stats.added);
        printf("lines skipped  %" PRIu64 "\n", stats.skipped);
        printf("seconds        %.2f\n", secs);
        printf("docs/s         %.0f\n", rate);
        printf("index bytes    %" PRIu64 " (%s)\n", bytes, hb);
    }
    free(files);
    return code;
}

/* ---- query ----------------------------------------------------------- */

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

static int cmd_query(int argc, char **argv)
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

/* ---- stats ----------------------------------------------------------- */

static const char STATS_HELP[] = "usage: search stats DIR [--json]\n"
                                 "\n"
                                 "Prints the documents, segments, distinct terms and bytes per\n"
                                 "file kind of the index at DIR.\n"
                                 "\n"
                                 "options:\n"
                                 "  --json       one JSON object\n"
                                 "  -h, --help   this help\n";

static int cmd_stats(int argc, char **argv)
{
    const char *dir = NULL;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(STATS_HELP, stdout);
            return EX_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("stats: unknown option '%s'", argv[i]);
        } else if (!dir) {
            dir = argv[i];
        } else {
            return usage_error("stats takes one DIR");
        }
    }
    if (!dir)
        return usage_error("stats needs DIR");
    char errbuf[512];
    nd_index *ix;
    int rc = nd_index_open(&ix, dir, NULL, errbuf, sizeof errbuf);
    if (rc)
        return fail(exit_for(rc), "%s", errbuf);
    nd_index_stats st;
    nd_index_stats_get(ix, &st);
    nd_index_free(ix);
    uint64_t total = st.bytes_terms + st.bytes_postings + st.bytes_positions + st.bytes_columns +
                     st.bytes_stored + st.bytes_other;
    if (json) {
        printf("{\"documents\":%" PRIu64 ",\"segments\":%" PRIu64 ",\"terms\":%" PRIu64
               ",\"generation\":%" PRIu64 ",\"bytes\":{\"terms\":%" PRIu64
               ",\"postings\":%" PRIu64 ",\"positions\":%" PRIu64 ",\"columns\":%" PRIu64
               ",\"stored\":%" PRIu64 ",\"other\":%" PRIu64 ",\"total\":%" PRIu64 "}}\n",
               st.docs, st.segments, st.terms, st.generation, st.bytes_terms,
               st.bytes_postings, st.bytes_positions, st.bytes_columns, st.bytes_stored,
               st.bytes_other, total);
        return EX_OK;
    }
    struct {
        const char *name;
        uint64_t v;
    } rows[] = {{"terms (.tdx)", st.bytes_terms},         {"postings (.doc)", st.bytes_postings},
                {"positions (.pos)", st.bytes_positions}, {"columns (.col)", st.bytes_columns},
                {"stored (.sto)", st.bytes_stored},       {"other", st.bytes_other},
                {"total", total}};
    printf("documents   %" PRIu64 "\n", st.docs);
    printf("segments    %" PRIu64 "\n", st.segments);
    printf("terms       %" PRIu64 "\n", st.terms);
    printf("generation  %" PRIu64 "\n", st.generation);
    printf("bytes:\n");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char hb[32];
        human_bytes(hb, sizeof hb, rows[i].v);
        printf("  %-18s %12" PRIu64 "  %s\n", rows[i].name, rows[i].v, hb);
    }
    return EX_OK;
}

/* ---- main ------------------------------------------------------------ */

static const char MAIN_HELP[] =
    "usage: search COMMAND [ARGS]\n"
    "\n"
    "newsdex full-text search for news archives.\n"
    "\n"
    "commands:\n"
    "  index DIR FILE...     index JSON Lines articles (gzip or plain) into DIR\n"
    "  query DIR 'QUERY'     ranked search with snippets\n"
    "  stats DIR             size and contents of an index\n"
    "\n"
    "Run 'search COMMAND --help' for the options of each command.\n"
    "\n"
    "exit codes: 0 ok, 1 failure (I/O, damaged index), 2 usage error,\n"
    "            3 bad input (query syntax, --strict ingest), 4 no index at DIR,\n"
    "            5 index locked by another writer\n";

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing command");
    const char *cmd = argv[1];
    if (is_help(cmd) || strcmp(cmd, "help") == 0) {
        fputs(MAIN_HELP, stdout);
        return EX_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("search (newsdex) %s, index format %d\n", nd_version(), ND_FORMAT_VERSION);
        return EX_OK;
    }
    if (strcmp(cmd, "index") == 0)
        return cmd_index(argc - 2, argv + 2);
    if (strcmp(cmd, "query") == 0)
        return cmd_query(argc - 2, argv + 2);
    if (strcmp(cmd, "stats") == 0)
        return cmd_stats(argc - 2, argv + 2);
    return usage_error("unknown command '%s'", cmd);
}
