/*
 * cmd_admin.c - `search delete` and `search merge`: removing articles by
 * id and compacting an index into fewer segments.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cli.h"

static const char DELETE_HELP[] =
    "usage: search delete DIR ID... [options]\n"
    "\n"
    "Deletes the articles with these ids from the index at DIR and commits.\n"
    "An id that is not in the index is not an error. '-' as the only ID reads\n"
    "ids from standard input, one per line.\n"
    "\n"
    "options:\n"
    "  -h, --help   this help\n";

static const char MERGE_HELP[] =
    "usage: search merge DIR [--max-segments N]\n"
    "\n"
    "Merges the segments of the index at DIR until at most N remain (default 1),\n"
    "smallest first, dropping deleted articles. Searches keep working meanwhile.\n"
    "\n"
    "options:\n"
    "  --max-segments N   segments to leave (default 1)\n"
    "  -h, --help         this help\n";

static int open_writer(nd_writer **w, const char *dir)
{
    int rc = nd_writer_open(w, dir, NULL);
    if (rc == ND_OK)
        return EX_OK;
    if (rc == ND_EBUSY)
        return fail(EX_LOCKED, "%s: index is locked by another writer", dir);
    if (rc == ND_EVERSION)
        return fail(EX_FAIL, "%s: written by an older format version; it can only be searched",
                    dir);
    return fail(exit_for(rc), "cannot open %s for writing: %s", dir, nd_strerror(rc));
}

/* The index must exist: delete and merge never create one. */
static int must_exist(const char *dir)
{
    char err[512];
    nd_index *ix;
    int rc = nd_index_open(&ix, dir, NULL, err, sizeof err);
    if (rc)
        return fail(exit_for(rc), "%s", err);
    nd_index_free(ix);
    return EX_OK;
}

int cmd_delete(int argc, char **argv)
{
    const char *dir = NULL;
    int n_ids = 0;
    for (int i = 0; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(DELETE_HELP, stdout);
            return EX_OK;
        }
        if (argv[i][0] == '-' && argv[i][1] == '-')
            return usage_error("delete: unknown option '%s'", argv[i]);
        if (!dir)
            dir = argv[i];
        else
            n_ids++;
    }
    if (!dir || n_ids == 0)
        return usage_error("delete needs DIR and at least one ID");
    int code = must_exist(dir);
    if (code)
        return code;
    nd_writer *w;
    if ((code = open_writer(&w, dir)))
        return code;
    int rc = ND_OK;
    uint64_t n = 0;
    int from_stdin = n_ids == 1 && strcmp(argv[argc - 1], "-") == 0;
    if (from_stdin) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        while (rc == ND_OK && (len = getline(&line, &cap, stdin)) > 0) {
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                len--;
            if (len == 0)
                continue;
            rc = nd_writer_delete(w, line, (size_t)len);
            n++;
        }
        free(line);
    } else {
        for (int i = 1; i < argc && rc == ND_OK; i++) {
            rc = nd_writer_delete(w, argv[i], strlen(argv[i]));
            n++;
        }
    }
    if (rc == ND_OK)
        rc = nd_writer_commit(w);
    if (rc) {
        code = fail(exit_for(rc), "delete failed: %s", nd_writer_errmsg(w));
        nd_writer_free(w);
        return code;
    }
    nd_writer_free(w);
    printf("ids deleted    %" PRIu64 " (absent ones included)\n", n);
    return EX_OK;
}

int cmd_merge(int argc, char **argv)
{
    const char *dir = NULL;
    size_t max = 1;
    for (int i = 0; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(MERGE_HELP, stdout);
            return EX_OK;
        } else if (strcmp(argv[i], "--max-segments") == 0) {
            if (i + 1 >= argc || parse_size(argv[++i], &max) || max == 0)
                return usage_error("--max-segments needs a number of at least 1");
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("merge: unknown option '%s'", argv[i]);
        } else if (!dir) {
            dir = argv[i];
        } else {
            return usage_error("merge takes one DIR");
        }
    }
    if (!dir)
        return usage_error("merge needs DIR");
    int code = must_exist(dir);
    if (code)
        return code;
    nd_writer *w;
    if ((code = open_writer(&w, dir)))
        return code;
    double t0 = now();
    int rc = nd_writer_merge(w, max);
    if (rc) {
        code = fail(exit_for(rc), "merge failed: %s", nd_writer_errmsg(w));
        nd_writer_free(w);
        return code;
    }
    nd_writer_free(w);
    nd_index *ix;
    char err[512];
    if (nd_index_open(&ix, dir, NULL, err, sizeof err) == ND_OK) {
        nd_index_stats st;
        nd_index_stats_get(ix, &st);
        printf("segments       %" PRIu64 "\n", st.segments);
        printf("documents      %" PRIu64 "\n", st.docs);
        printf("generation     %" PRIu64 "\n", st.generation);
        nd_index_free(ix);
    }
    printf("seconds        %.2f\n", now() - t0);
    return EX_OK;
}
