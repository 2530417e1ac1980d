/*
 * testutil.c - see testutil.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

char *tu_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    char *path = malloc(4096);
    assert_non_null(path);
    snprintf(path, 4096, "%s/ndtest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(path));
    return path;
}

void tu_rmrf(const char *path)
{
    char cmd[4200];
    if (!path || !*path)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

void tu_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

char *tu_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *p = malloc(cap + 1);
    size_t got;
    while (p && (got = fread(p + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            char *q = realloc(p, cap + 1);
            if (!q) {
                free(p);
                p = NULL;
            }
            p = q;
        }
    }
    fclose(f);
    if (!p)
        return NULL;
    p[len] = 0;
    if (n)
        *n = len;
    return p;
}

int tu_run(const char *cmd, char **out, char **err)
{
    char *dir = tu_mkdtemp();
    char ofile[4200], efile[4200], full[16384];
    snprintf(ofile, sizeof ofile, "%s/out", dir);
    snprintf(efile, sizeof efile, "%s/err", dir);
    snprintf(full, sizeof full, "( %s ) >'%s' 2>'%s' </dev/null", cmd, ofile, efile);
    int st = system(full);
    if (out)
        *out = tu_read_file(ofile, NULL);
    if (err)
        *err = tu_read_file(efile, NULL);
    tu_rmrf(dir);
    free(dir);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

uint64_t tu_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

nd_doc tu_doc(const char *id, const char *title, const char *body)
{
    nd_doc d;
    memset(&d, 0, sizeof d);
    d.id = id;
    d.id_len = strlen(id);
    d.title = title;
    d.title_len = title ? strlen(title) : 0;
    d.body = body;
    d.body_len = body ? strlen(body) : 0;
    d.date = ND_NO_DATE;
    return d;
}
