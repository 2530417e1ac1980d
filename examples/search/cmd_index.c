/*
 * cmd_index.c - `search index`: JSON Lines files into an index, with progress and a summary.
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

static const char INDEX_HELP[] =
    "usage: search index DIR FILE... [options]\n"
    "\n"
    "Indexes news articles from JSON Lines files (gzip or plain; '-' reads\n"
    "standard input) into the index at DIR, creating it if needed, or adding to\n"
    "it: an article whose id is already indexed replaces the old one. One article\n"
    "per line: {\"id\": ..., \"title\": ..., \"body\": ..., \"date\": \"2019-03-14\",\n"
    "\"source\": ..., \"url\": ..., \"lang\": ...}; only id is required. Bad lines\n"
    "are reported as FILE:LINE: reason on stderr, skipped and counted.\n"
    "\n"
    "options:\n"
    "  --strict       stop at the first bad line (exit 3)\n"
    "  --append       accepted for compatibility (adding is the default)\n"
    "  --ram MIB      memory for buffered postings before a segment is written\n"
    "                 (default 256; with --threads above 1 a segment is written\n"
    "                 while the next one fills, which can take twice as much)\n"
    "  --threads N    threads parsing and analysing the articles (default: one\n"
    "                 per online CPU, at most 16; 1 = all on the main thread);\n"
    "                 the index is the same whatever N is\n"
    "  --stem LANG    stem words with this Snowball stemmer (see below); only\n"
    "                 when creating the index (or the one it already has)\n"
    "  --stopwords LIST  drop stop words: 'en' (Lucene's 33 English stop words,\n"
    "                 also spelled 'en-lucene33') or 'none'; same rule\n"
    "  --anserini     the analysis of the Anserini BM25 baselines: --stem porter\n"
    "                 --stopwords en\n"
    "  --json         print the summary as one JSON object\n"
    "  -q, --quiet    no progress display\n"
    "  -h, --help     this help\n"
    "\n"
    "Without --stem and --stopwords a new index is neither stemmed nor stopped.\n"
    "Queries are always analysed with the index's own settings ('search stats'\n"
    "shows them).\n";

/* --help: the option text, then the stemmers this build has. */
static void print_help(void)
{
    fputs(INDEX_HELP, stdout);
    fputs("\nstemmers:", stdout);
    size_t col = 9;
    for (const char *const *p = nd_stemmers(); *p; p++) {
        size_t n = strlen(*p) + 1;
        if (col + n > 78) {
            fputs("\n ", stdout);
            col = 1;
        }
        printf(" %s", *p);
        col += n;
    }
    fputs("\n", stdout);
}

/* The library's name of a --stopwords value, or NULL if unknown. */
static const char *stop_list(const char *v)
{
    if (strcmp(v, "en") == 0 || strcmp(v, ND_STOPWORDS_EN_LUCENE33) == 0)
        return ND_STOPWORDS_EN_LUCENE33;
    if (strcmp(v, "none") == 0)
        return "";
    return NULL;
}

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

#define MAX_THREADS 16

/* One thread per online CPU, at most MAX_THREADS. */
static size_t default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > MAX_THREADS ? MAX_THREADS : (size_t)n;
}

static uint64_t dir_bytes(const char *dir)
{
    nd_index *ix;
    /* sizes only: no need to read every byte for its checksum */
    nd_open_opts oo = ND_OPEN_OPTS_INIT;
    oo.skip_checksums = 1;
    if (nd_index_open(&ix, dir, &oo, NULL, 0) != ND_OK)
        return 0;
    nd_index_stats st;
    nd_index_stats_get(ix, &st);
    nd_index_free(ix);
    return st.bytes_terms + st.bytes_postings + st.bytes_positions + st.bytes_columns +
           st.bytes_stored + st.bytes_other;
}

int cmd_index(int argc, char **argv)
{
    const char *dir = NULL;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t n_files = 0, ram_mib = 0, threads = default_threads();
    int strict = 0, append = 0, json = 0, quiet = 0;
    const char *stem = NULL, *stop = NULL;
    if (!files)
        return fail(EX_FAIL, "out of memory");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            print_help();
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
        } else if (strcmp(a, "--threads") == 0) {
            if (i + 1 >= argc || parse_size(argv[++i], &threads) || threads == 0 ||
                threads > MAX_THREADS) {
                free(files);
                return usage_error("--threads needs a number (1..%d)", MAX_THREADS);
            }
        } else if (strcmp(a, "--stem") == 0) {
            if (i + 1 >= argc) {
                free(files);
                return usage_error("--stem needs a stemmer name (see 'search index --help')");
            }
            stem = strcmp(argv[++i], "none") == 0 ? "" : argv[i];
        } else if (strcmp(a, "--stopwords") == 0) {
            if (i + 1 >= argc || !(stop = stop_list(argv[++i]))) {
                free(files);
                return usage_error("--stopwords needs 'en' (or 'en-lucene33') or 'none'");
            }
        } else if (strcmp(a, "--anserini") == 0) {
            stem = "porter";
            stop = ND_STOPWORDS_EN_LUCENE33;
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
    (void)append;
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    wo.ram_budget = ram_mib << 20;
    wo.threads = (unsigned)threads;
    wo.stemmer = stem;
    wo.stopwords = stop;
    nd_writer *w;
    char errbuf[512];
    int rc = nd_writer_open_err(&w, dir, &wo, errbuf, sizeof errbuf);
    if (rc) {
        free(files);
        if (rc == ND_EINVAL) /* settings: unknown, or not the index's */
            return fail(EX_USAGE, "%s", errbuf);
        if (rc == ND_EVERSION)
            return fail(EX_FAIL,
                        "cannot open %s for writing: %s (open it with the newsdex version "
                        "that wrote it, or index the articles again into a new directory)",
                        dir, errbuf);
        return fail(exit_for(rc), "cannot open %s for writing: %s", dir,
                    rc == ND_EBUSY ? "index is locked by another writer" : errbuf);
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

