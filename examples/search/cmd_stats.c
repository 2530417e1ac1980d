/*
 * cmd_stats.c - `search stats`: what an index holds and how many bytes each part takes.
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

static const char STATS_HELP[] = "usage: search stats DIR [--json]\n"
                                 "\n"
                                 "Prints the documents, segments, distinct terms, commit\n"
                                 "generation, analysis settings (stemmer, stop words) and\n"
                                 "bytes per file kind of the index at DIR, and each segment\n"
                                 "with its documents, deletions and bytes.\n"
                                 "\n"
                                 "options:\n"
                                 "  --json       one JSON object\n"
                                 "  -h, --help   this help\n";

int cmd_stats(int argc, char **argv)
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
    uint64_t total = st.bytes_terms + st.bytes_postings + st.bytes_positions + st.bytes_columns +
                     st.bytes_stored + st.bytes_other;
    const char *stem = nd_index_setting(ix, "analyzer.stemmer");
    const char *stop = nd_index_setting(ix, "analyzer.stopwords");
    if (json) {
        printf("{\"documents\":%" PRIu64 ",\"segments\":%" PRIu64 ",\"terms\":%" PRIu64
               ",\"generation\":%" PRIu64 ",\"bytes\":{\"terms\":%" PRIu64
               ",\"postings\":%" PRIu64 ",\"positions\":%" PRIu64 ",\"columns\":%" PRIu64
               ",\"stored\":%" PRIu64 ",\"other\":%" PRIu64 ",\"total\":%" PRIu64 "}",
               st.docs, st.segments, st.terms, st.generation, st.bytes_terms,
               st.bytes_postings, st.bytes_positions, st.bytes_columns, st.bytes_stored,
               st.bytes_other, total);
        /* null: none */
        fputs(",\"settings\":{\"stemmer\":", stdout);
        if (stem && *stem)
            json_str(stdout, stem, strlen(stem));
        else
            fputs("null", stdout);
        fputs(",\"stopwords\":", stdout);
        if (stop && *stop)
            json_str(stdout, stop, strlen(stop));
        else
            fputs("null", stdout);
        fputs("}", stdout);
        fputs(",\"segment_list\":[", stdout);
        for (size_t i = 0; i < st.segments; i++) {
            nd_segment_info si;
            nd_index_segment_get(ix, i, &si);
            printf("%s{\"number\":%" PRIu64 ",\"docs\":%" PRIu64 ",\"deleted\":%" PRIu64
                   ",\"bytes\":%" PRIu64 "}",
                   i ? "," : "", si.number, si.docs, si.deleted, si.bytes);
        }
        fputs("]}\n", stdout);
        nd_index_free(ix);
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
    printf("stemmer     %s\n", stem && *stem ? stem : "none");
    printf("stopwords   %s\n", stop && *stop ? stop : "none");
    printf("bytes:\n");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char hb[32];
        human_bytes(hb, sizeof hb, rows[i].v);
        printf("  %-18s %12" PRIu64 "  %s\n", rows[i].name, rows[i].v, hb);
    }
    printf("segments:\n  %-10s %10s %10s %12s\n", "segment", "docs", "deleted", "bytes");
    for (size_t i = 0; i < st.segments; i++) {
        nd_segment_info si;
        nd_index_segment_get(ix, i, &si);
        char name[32];
        snprintf(name, sizeof name, "seg-%" PRIu64, si.number);
        printf("  %-10s %10" PRIu64 " %10" PRIu64 " %12" PRIu64 "\n", name, si.docs, si.deleted,
               si.bytes);
    }
    nd_index_free(ix);
    return EX_OK;
}
