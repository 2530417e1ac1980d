/*
 * cmd_check.c - `search check`: verifies every checksum and structural
 * invariant of an index (nd_check) and lists what is wrong, one line per
 * problem, or as one JSON object.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char CHECK_HELP[] =
    "usage: search check DIR [--json]\n"
    "\n"
    "Verifies the last commit of the index at DIR: the catalog, the size and\n"
    "CRC-32 of every segment file and of each of its 16 KiB chunks (searches\n"
    "check a chunk only when they first read it), and every structural\n"
    "invariant of the format (sorted terms, increasing documents, counts and\n"
    "lengths that agree, skip data, stored articles, offsets inside their\n"
    "files). Prints one line per problem, then a summary. Only reads: safe\n"
    "while a writer runs, and on a damaged index.\n"
    "\n"
    "  error:    the index is damaged\n"
    "  warning:  not damage (e.g. files an interrupted write left behind,\n"
    "            which the next writer removes)\n"
    "\n"
    "options:\n"
    "  --json       one JSON object: {\"ok\", \"generation\", \"segments\", \"docs\",\n"
    "               \"errors\", \"warnings\", \"problems\": [{\"severity\", \"file\",\n"
    "               \"segment\", \"offset\", \"message\"}], ...}\n"
    "  -h, --help   this help\n"
    "\n"
    "exit status: 0 no errors (warnings allowed), 1 errors found or the check\n"
    "could not run, 2 usage error, 4 no index at DIR\n";

#define MAX_LISTED 100

/* 1234567 -> "1,234,567" */
static const char *grouped(char *buf, size_t n, uint64_t v)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%" PRIu64, v);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
    return buf;
}

static void print_json(const nd_check_report *rep, const nd_check_summary *s)
{
    printf("{\"ok\":%s,\"generation\":%" PRIu64 ",\"segments\":%" PRIu64 ",\"docs\":%" PRIu64
           ",\"deleted\":%" PRIu64 ",\"terms\":%" PRIu64 ",\"postings\":%" PRIu64
           ",\"positions\":%" PRIu64 ",\"stored\":%" PRIu64 ",\"bytes\":%" PRIu64
           ",\"errors\":%" PRIu64 ",\"warnings\":%" PRIu64 ",\"problems\":[",
           s->errors ? "false" : "true", s->generation, s->segments, s->docs, s->deleted,
           s->terms, s->postings, s->positions, s->stored, s->bytes, s->errors, s->warnings);
    size_t n = nd_check_count(rep);
    for (size_t i = 0; i < n; i++) {
        nd_check_problem p;
        if (nd_check_problem_get(rep, i, &p) != ND_OK)
            break;
        printf("%s{\"severity\":\"%s\",\"file\":", i ? "," : "",
               p.severity == ND_CHECK_ERROR ? "error" : "warning");
        json_str(stdout, p.file, strlen(p.file));
        if (p.segment == ND_CHECK_NONE)
            fputs(",\"segment\":null", stdout);
        else
            printf(",\"segment\":%" PRIu64, p.segment);
        if (p.offset == ND_CHECK_NONE)
            fputs(",\"offset\":null", stdout);
        else
            printf(",\"offset\":%" PRIu64, p.offset);
        fputs(",\"message\":", stdout);
        json_str(stdout, p.message, strlen(p.message));
        fputc('}', stdout);
    }
    printf("],\"listed\":%zu}\n", n);
}

static void print_text(const nd_check_report *rep, const nd_check_summary *s)
{
    size_t n = nd_check_count(rep);
    for (size_t i = 0; i < n; i++) {
        nd_check_problem p;
        if (nd_check_problem_get(rep, i, &p) != ND_OK)
            break;
        printf("%s: ", p.severity == ND_CHECK_ERROR ? "error" : "warning");
        if (p.file[0] && p.offset != ND_CHECK_NONE)
            printf("%s@%" PRIu64 ": ", p.file, p.offset);
        else if (p.file[0])
            printf("%s: ", p.file);
        else if (p.segment != ND_CHECK_NONE)
            printf("segment %" PRIu64 ": ", p.segment);
        printf("%s\n", p.message);
    }
    uint64_t total = s->errors + s->warnings;
    if (total > n)
        printf("... and %" PRIu64 " more problem%s not listed\n", total - n,
               total - n == 1 ? "" : "s");
    char a[32], b[32], c[32], d[32];
    grouped(a, sizeof a, s->segments);
    grouped(b, sizeof b, s->docs);
    grouped(c, sizeof c, s->postings);
    grouped(d, sizeof d, s->stored);
    if (s->errors == 0)
        printf("ok: %s segment%s, %s articles, %s postings, %s stored articles checked "
               "(generation %" PRIu64 ")",
               a, s->segments == 1 ? "" : "s", b, c, d, s->generation);
    else
        printf("%" PRIu64 " error%s in %s segment%s, %s articles (generation %" PRIu64 ")",
               s->errors, s->errors == 1 ? "" : "s", a, s->segments == 1 ? "" : "s", b,
               s->generation);
    if (s->warnings)
        printf(", %" PRIu64 " warning%s", s->warnings, s->warnings == 1 ? "" : "s");
    putchar('\n');
}

int cmd_check(int argc, char **argv)
{
    const char *dir = NULL;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(CHECK_HELP, stdout);
            return EX_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("check: unknown option '%s'", argv[i]);
        } else if (!dir) {
            dir = argv[i];
        } else {
            return usage_error("check takes one DIR");
        }
    }
    if (!dir)
        return usage_error("check needs DIR");
    char errbuf[512];
    nd_check_report *rep;
    nd_check_opts opts = ND_CHECK_OPTS_INIT;
    opts.max_problems = MAX_LISTED;
    int rc = nd_check(&rep, dir, &opts, errbuf, sizeof errbuf);
    if (rc)
        return fail(exit_for(rc), "%s", errbuf);
    nd_check_summary s;
    nd_check_summary_get(rep, &s);
    if (json)
        print_json(rep, &s);
    else
        print_text(rep, &s);
    int failed = fflush(stdout) != 0 || ferror(stdout);
    nd_check_report_free(rep);
    if (failed)
        return fail(EX_FAIL, "cannot write the report");
    return s.errors ? EX_FAIL : EX_OK;
}
