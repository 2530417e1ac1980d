/*
 * main.c - the `search` command-line tool: index JSON Lines news files,
 * query them, and inspect an index. One file per command; this one only
 * dispatches. It uses only the public API in newsdex.h, so it doubles as
 * the longest example of that API.
 *
 * Exit codes (also in README.md):
 *   0  success
 *   1  failure: I/O error, damaged index, out of memory
 *   2  usage error: unknown command or option, missing argument
 *   3  bad input: query syntax error or limit; --strict ingest hit a bad line
 *   4  no index at DIR
 *   5  the index is locked by another writer
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char MAIN_HELP[] =
    "usage: search COMMAND [ARGS]\n"
    "\n"
    "newsdex full-text search for news archives.\n"
    "\n"
    "commands:\n"
    "  index DIR FILE...     index JSON Lines articles (gzip or plain) into DIR\n"
    "  query DIR 'QUERY'     ranked search with snippets\n"
    "  run DIR TOPICS.tsv    every topic of a file as a TREC run (and timings)\n"
    "  stats DIR             segments, size and contents of an index\n"
    "  delete DIR ID...      delete articles by id\n"
    "  merge DIR             merge segments, dropping deleted articles\n"
    "  check DIR             verify checksums and structure of an index\n"
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
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "stats") == 0)
        return cmd_stats(argc - 2, argv + 2);
    if (strcmp(cmd, "delete") == 0)
        return cmd_delete(argc - 2, argv + 2);
    if (strcmp(cmd, "merge") == 0)
        return cmd_merge(argc - 2, argv + 2);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 2, argv + 2);
    return usage_error("unknown command '%s'", cmd);
}
