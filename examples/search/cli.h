/*
 * cli.h - what the commands of the `search` tool share (cli.c) and the
 * command entry points (cmd_*.c). Exit codes are listed in main.c.
 */
#ifndef ND_CLI_H
#define ND_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "newsdex.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_INPUT = 3, EX_NOINDEX = 4, EX_LOCKED = 5 };

extern const char *prog;

/* "search: MESSAGE (try 'search --help')" on stderr; returns EX_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "search: MESSAGE" on stderr; returns code. */
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The exit code for a library error code. */
int exit_for(int rc);
/* Monotonic seconds. */
double now(void);
int is_help(const char *a);
/* Non-negative decimal integer / floating-point option values; 0 or -1. */
int parse_size(const char *s, size_t *out);
int parse_double(const char *s, double *out);
/* The field of b that option a sets (--k1, --b, --title-weight,
 * --body-weight), or NULL if a is none of them. */
double *bm25_option(const char *a, nd_bm25 *b);
/* "1.5 MiB" */
void human_bytes(char *buf, size_t n, uint64_t b);
/* Length of the valid UTF-8 sequence at s, 0 if invalid. */
size_t utf8_len(const unsigned char *s, size_t n);
/* JSON string content (html != 0 also escapes < > &), and a quoted string. */
void json_chars(FILE *f, const char *s, size_t n, int html);
void json_str(FILE *f, const char *s, size_t n);

int cmd_index(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_check(int argc, char **argv);

#endif
