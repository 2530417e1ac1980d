/*
 * cmd_run.c - `search run`: every topic of a `qid<TAB>query` file through
 * one searcher in one process, written as a TREC run for trec_eval, and
 * optionally timed (R repetitions after an untimed warm-up pass) with the
 * latency percentiles written as JSON. What researchers and the benchmarks
 * use to judge and time the engine without its process start-up.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char RUN_HELP[] =
    "usage: search run DIR TOPICS.tsv [options]\n"
    "\n"
    "Reads one topic per line, 'qid<TAB>query', searches each in the index at DIR\n"
    "and writes a TREC run to standard output, one line per hit:\n"
    "  qid Q0 docid rank score newsdex\n"
    "(docid is the article id, rank counts from 1). Blank lines are skipped.\n"
    "A topic that does not parse (or has no searchable word) is reported on\n"
    "standard error with its qid and gets no lines; the run goes on. One summary\n"
    "line goes to standard error at the end.\n"
    "\n"
    "options:\n"
    "  -k N            hits per topic (default 1000, at most 10000)\n"
    "  --and           words side by side are AND'ed (default: OR)\n"
    "  --plain         take each topic as plain words: operators, quotes, field\n"
    "                  names and punctuation are ordinary text (for TREC topics)\n"
    "  --k1 X, --b X   BM25 parameters for this run (default 0.9 and 0.4)\n"
    "  --title-weight X, --body-weight X\n"
    "                  field weights for this run (default 2.0 and 1.0)\n"
    "  --reps R        after the run, time every topic R more times (one untimed\n"
    "                  warm-up pass first); without it only the run pass is timed\n"
    "  --timings FILE  write {\"queries\": N, \"lat_us\": {\"mean\", \"p50\", \"p95\",\n"
    "                  \"p99\", \"max\"}}: latency per topic in microseconds (the mean\n"
    "                  over its repetitions), percentiles over the topics that ran\n"
    "  --tag NAME      the last column of the run (default newsdex)\n"
    "  -h, --help      this help\n"
    "\n"
    "exit codes: 0 the run was written (even if some topics failed), 1 I/O\n"
    "failure, 2 usage error, 4 no index at DIR.\n";

typedef struct topic {
    char *qid;
    char *query;
    size_t line;
    int ok;        /* parsed on the run pass */
    double lat_us; /* mean over the timed passes */
} topic;

typedef struct topics {
    topic *v;
    size_t n, cap;
} topics;

static void topics_free(topics *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].qid);
        free(t->v[i].query);
    }
    free(t->v);
}

/* Reads every `qid<TAB>query` line of path. Returns EX_OK or an exit code
 * (the message already printed). */
static int read_topics(const char *path, topics *t)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f)
        return fail(EX_FAIL, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int code = EX_OK;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        size_t ws = strspn(line, " \t");
        if ((size_t)len == ws)
            continue;
        char *tab = strchr(line, '\t');
        if (!tab || tab == line || memchr(line, 0, (size_t)len) != NULL) {
            fprintf(stderr, "%s: %s:%zu: not 'qid<TAB>query' (line skipped)\n", prog, path,
                    lineno);
            continue;
        }
        *tab = 0;
        if (t->n == t->cap) {
            size_t nc = t->cap ? t->cap * 2 : 64;
            topic *nv = realloc(t->v, nc * sizeof *nv);
            if (!nv) {
                code = fail(EX_FAIL, "out of memory");
                break;
            }
            t->v = nv;
            t->cap = nc;
        }
        topic *tp = &t->v[t->n];
        memset(tp, 0, sizeof *tp);
        tp->qid = strdup(line);
        tp->query = strdup(tab + 1);
        tp->line = lineno;
        t->n++;
        if (!tp->qid || !tp->query) {
            code = fail(EX_FAIL, "out of memory");
            break;
        }
    }
    if (code == EX_OK && ferror(f))
        code = fail(EX_FAIL, "%s: read error", path);
    free(line);
    if (f != stdin)
        fclose(f);
    return code;
}

/* A run's docid column must be one token: white space in an id becomes '_'. */
static int put_docid(FILE *o, const char *id, size_t n)
{
    int changed = 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
            c = '_';
            changed = 1;
        }
        putc(c, o);
    }
    if (n == 0) {
        putc('-', o);
        changed = 1;
    }
    return changed;
}

/* One search, hits read but not printed; for the timed passes. */
static int time_one(nd_search *s, const topic *tp, size_t k, const nd_search_opts *so,
                    double *us)
{
    nd_hits *h;
    double t0 = now();
    int rc = nd_search_run(s, &h, tp->query, k, so);
    if (rc == ND_OK) {
        nd_hit hit;
        for (size_t i = 0; i < nd_hits_count(h); i++)
            nd_hits_get(h, i, &hit);
        nd_hits_free(h);
    }
    *us = (now() - t0) * 1e6;
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t r = (size_t)(p / 100.0 * (double)n + 0.999999999);
    r = r < 1 ? 1 : r > n ? n : r;
    return v[r - 1];
}

static int write_timings(const char *path, const topics *t)
{
    size_t n = 0;
    double *v = malloc((t->n ? t->n : 1) * sizeof *v), sum = 0;
    if (!v)
        return fail(EX_FAIL, "out of memory");
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].ok) {
            v[n++] = t->v[i].lat_us;
            sum += t->v[i].lat_us;
        }
    qsort(v, n, sizeof *v, cmp_double);
    FILE *f = fopen(path, "w");
    if (!f) {
        free(v);
        return fail(EX_FAIL, "%s: %s", path, strerror(errno));
    }
    fprintf(f,
            "{\"queries\": %zu, \"lat_us\": {\"mean\": %.1f, \"p50\": %.1f, \"p95\": %.1f, "
            "\"p99\": %.1f, \"max\": %.1f}}\n",
            n, n ? sum / (double)n : 0.0, pct(v, n, 50), pct(v, n, 95), pct(v, n, 99),
            n ? v[n - 1] : 0.0);
    free(v);
    if (fclose(f) != 0)
        return fail(EX_FAIL, "%s: %s", path, strerror(errno));
    return EX_OK;
}

/* The run pass: every topic once, its hits written as run lines. Sets
 * tp->ok and (when timing this pass) tp->lat_us. Returns EX_OK or EX_FAIL. */
static int run_pass(nd_search *s, topics *t, size_t k, const nd_search_opts *so,
                    const char *tag, size_t *lines, size_t *failed)
{
    int warned = 0;
    for (size_t i = 0; i < t->n; i++) {
        topic *tp = &t->v[i];
        nd_hits *h;
        double t0 = now();
        int rc = nd_search_run(s, &h, tp->query, k, so);
        if (rc == ND_ESYNTAX || rc == ND_ELIMIT) {
            fprintf(stderr, "%s: topic %s: %s (no results)\n", prog, tp->qid,
                    nd_search_errmsg(s));
            (*failed)++;
            continue;
        }
        if (rc == ND_EINVAL) /* a bad option: the first topic fails, before any output */
            return usage_error("%s", nd_search_errmsg(s));
        if (rc)
            return fail(exit_for(rc), "topic %s: %s", tp->qid, nd_search_errmsg(s));
        tp->ok = 1;
        for (size_t r = 0; r < nd_hits_count(h); r++) {
            nd_hit hit;
            nd_hits_get(h, r, &hit);
            fputs(tp->qid, stdout);
            fputs(" Q0 ", stdout);
            if (put_docid(stdout, hit.id, hit.id_len) && !warned) {
                fprintf(stderr, "%s: an article id with white space (or empty) was written "
                                "with '_' (or '-') in the run\n", prog);
                warned = 1;
            }
            printf(" %zu %.6f %s\n", r + 1, hit.score, tag);
            (*lines)++;
        }
        nd_hits_free(h);
        tp->lat_us = (now() - t0) * 1e6;
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        return fail(EX_FAIL, "writing the run: %s", strerror(errno));
    return EX_OK;
}

int cmd_run(int argc, char **argv)
{
    const char *dir = NULL, *path = NULL, *timings = NULL, *tag = "newsdex";
    size_t k = 1000, reps = 0;
    nd_search_opts so = ND_SEARCH_OPTS_INIT;
    so.snippets = 0;
    so.ids_only = 1;     /* a run needs ids and scores only: no stored article is read */
    so.approx_total = 1; /* nor the total: skip what cannot enter the top k */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double *bm = bm25_option(a, &so.bm25); /* --k1, --b, field weights */
        if (is_help(a)) {
            fputs(RUN_HELP, stdout);
            return EX_OK;
        } else if (strcmp(a, "-k") == 0 || strcmp(a, "--k") == 0) {
            if (!v || parse_size(v, &k) || k == 0 || k > ND_MAX_K)
                return usage_error("-k needs a number from 1 to %d", ND_MAX_K);
            i++;
        } else if (strcmp(a, "--and") == 0) {
            so.default_op = ND_OP_AND;
        } else if (strcmp(a, "--plain") == 0) {
            so.plain = 1;
        } else if (strcmp(a, "--reps") == 0) {
            if (!v || parse_size(v, &reps) || reps > 1000000)
                return usage_error("--reps needs a number");
            i++;
        } else if (strcmp(a, "--timings") == 0 || strcmp(a, "--tag") == 0) {
            if (!v || !*v)
                return usage_error("%s needs a value", a);
            if (a[2] == 't' && a[3] == 'i')
                timings = v;
            else
                tag = v;
            i++;
        } else if (bm) {
            if (!v || parse_double(v, bm))
                return usage_error("%s needs a number", a);
            i++;
        } else if (a[0] == '-' && a[1] != 0) {
            return usage_error("run: unknown option '%s'", a);
        } else if (!dir) {
            dir = a;
        } else if (!path) {
            path = a;
        } else {
            return usage_error("run: unexpected argument '%s'", a);
        }
    }
    if (!dir || !path)
        return usage_error("run needs DIR and TOPICS.tsv");
    if (strpbrk(tag, " \t\n\r"))
        return usage_error("--tag must be one word");

    char errbuf[512];
    nd_index *ix;
    int rc = nd_index_open(&ix, dir, NULL, errbuf, sizeof errbuf);
    if (rc)
        return fail(exit_for(rc), "%s", errbuf);
    topics t = {0};
    int code = read_topics(path, &t);
    nd_search *s = NULL;
    if (code == EX_OK && (rc = nd_search_open(&s, ix)) != ND_OK)
        code = fail(EX_FAIL, "cannot create a searcher: %s", nd_strerror(rc));
    size_t lines = 0, failed = 0, timed = 0;
    double t0 = now();
    if (code == EX_OK)
        code = run_pass(s, &t, k, &so, tag, &lines, &failed);
    double run_s = now() - t0;
    if (code == EX_OK && reps > 0) {
        double us;
        for (size_t i = 0; i < t.n; i++) /* warm-up */
            if (t.v[i].ok)
                time_one(s, &t.v[i], k, &so, &us);
        for (size_t i = 0; i < t.n; i++)
            t.v[i].lat_us = 0;
        for (size_t r = 0; r < reps; r++)
            for (size_t i = 0; i < t.n; i++)
                if (t.v[i].ok) {
                    time_one(s, &t.v[i], k, &so, &us);
                    t.v[i].lat_us += us / (double)reps;
                }
    }
    for (size_t i = 0; i < t.n; i++)
        timed += t.v[i].ok;
    if (code == EX_OK && timings)
        code = write_timings(timings, &t);
    if (code == EX_OK)
        fprintf(stderr,
                "run: %zu topics (%zu failed), %zu lines, k=%zu, %s, %.2f s for the run pass "
                "(%.0f us per topic)",
                t.n, failed, lines, k, so.default_op == ND_OP_AND ? "AND" : "OR", run_s,
                timed ? run_s * 1e6 / (double)timed : 0.0);
    if (code == EX_OK && reps)
        fprintf(stderr, ", then %zu timed passes", reps);
    if (code == EX_OK)
        fputc('\n', stderr);
    topics_free(&t);
    nd_search_free(s);
    nd_index_free(ix);
    return code;
}
