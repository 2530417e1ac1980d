/*
 * cli.c - what every `search` command shares: error and usage messages,
 * exit codes, option value parsing, byte counts for people, and JSON
 * string output.
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

const char *prog = "search";

int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try '%s --help')\n", prog);
    return EX_USAGE;
}

int fail(int code, const char *fmt, ...)
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
int exit_for(int rc)
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

double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Parses a non-negative integer option value. */
int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = (size_t)v;
    return 0;
}

int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

void human_bytes(char *buf, size_t n, uint64_t b)
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
size_t utf8_len(const unsigned char *s, size_t n)
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
void json_chars(FILE *f, const char *s, size_t n, int html)
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

void json_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    json_chars(f, s, n, 0);
    fputc('"', f);
}

double *bm25_option(const char *a, nd_bm25 *b)
{
    return strcmp(a, "--k1") == 0             ? &b->k1
           : strcmp(a, "--b") == 0            ? &b->b
           : strcmp(a, "--title-weight") == 0 ? &b->title_weight
           : strcmp(a, "--body-weight") == 0  ? &b->body_weight
                                              : NULL;
}
