/*
 * fuzz.h - shared by the fuzz targets in this directory: the libFuzzer entry
 * point's prototype and small file helpers (temporary directories that are
 * removed at exit).
 */
#ifndef ND_FUZZ_H
#define ND_FUZZ_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "newsdex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Removes the files of a directory (one level: indexes have no subdirectories). */
static inline void fz_clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    char path[1400];
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
}

static inline void fz_rm_dir(const char *dir)
{
    fz_clear_dir(dir);
    rmdir(dir);
}

/* Creates a fresh directory under $TMPDIR (or /tmp) into buf; aborts on failure. */
static inline void fz_make_tempdir(char *buf, size_t n, const char *tag)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, n, "%s/nd-%s-XXXXXX", t && *t ? t : "/tmp", tag);
    if (!mkdtemp(buf)) {
        perror("mkdtemp");
        abort();
    }
}

static inline int fz_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = n ? fwrite(p, 1, n, f) : 0;
    int rc = fclose(f);
    return (w == n && rc == 0) ? 0 : -1;
}

/* Reads a whole file into a malloc'd buffer (*out, caller frees). */
static inline int fz_read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Touches every byte of a returned string so that ASan checks the range. */
static inline unsigned fz_touch(const char *p, size_t n)
{
    unsigned h = 0;
    for (size_t i = 0; i < n; i++)
        h = h * 31u + (unsigned char)p[i];
    return h;
}

#define FZ_CHECK(cond)                                                                    \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* Reads every hit and facet bucket of h, touching each returned string, and
 * checks the counts and the marks against the snippet. */
static inline void fz_read_hits(const nd_hits *h)
{
    size_t n = nd_hits_count(h);
    FZ_CHECK(nd_hits_total(h) >= n);
    for (size_t i = 0; i < n; i++) {
        nd_hit hit;
        FZ_CHECK(nd_hits_get(h, i, &hit) == ND_OK);
        fz_touch(hit.id, hit.id_len);
        fz_touch(hit.title, hit.title_len);
        fz_touch(hit.source, hit.source_len);
        fz_touch(hit.url, hit.url_len);
        fz_touch(hit.lang, hit.lang_len);
        fz_touch(hit.snippet, hit.snippet_len);
        for (size_t m = 0; m < hit.n_marks; m++)
            FZ_CHECK((size_t)hit.marks[m].start + hit.marks[m].len <= hit.snippet_len);
    }
    for (unsigned f = 1; f <= ND_FACET_YEAR; f <<= 1) {
        size_t nb = nd_hits_facet_count(h, f);
        for (size_t i = 0; i < nb; i++) {
            const char *key;
            size_t klen;
            uint64_t count;
            FZ_CHECK(nd_hits_facet_get(h, f, i, &key, &klen, &count) == ND_OK);
            fz_touch(key, klen);
        }
    }
}

#endif
