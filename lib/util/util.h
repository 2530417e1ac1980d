/*
 * util.h - the small pieces every other module leans on: a growable byte
 * buffer, per-handle error messages, checked arithmetic, little-endian
 * loads and stores, CRC32, and the file primitives (write-all, fsync,
 * mmap) that the segment writer and reader share.
 *
 * Nothing here keeps global state. Every function that can fail returns an
 * ND_E* code from newsdex.h; none of them aborts.
 */
#ifndef ND_UTIL_H
#define ND_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "newsdex.h"

#define ND_UNUSED(x) ((void)(x))
#define ND_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ND_MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- buf.c: growable byte buffer -------------------------------------- */

/* A growable byte buffer. Zero-initialise ({0}) before use. */
typedef struct nd_buf {
    uint8_t *data; /* NULL until the first append */
    size_t len;    /* bytes in use */
    size_t cap;    /* bytes allocated */
} nd_buf;

/* Makes room for at least `extra` more bytes. ND_ENOMEM on failure or on
 * size overflow; the buffer is unchanged then. */
int buf_reserve(nd_buf *b, size_t extra);
int buf_append(nd_buf *b, const void *p, size_t n);
int buf_putc(nd_buf *b, uint8_t c);
/* Appends an unsigned LEB128 varint (see codec.h for the definition). */
int buf_put_varint(nd_buf *b, uint64_t v);
int buf_put_u16(nd_buf *b, uint16_t v);
int buf_put_u32(nd_buf *b, uint32_t v);
int buf_put_u64(nd_buf *b, uint64_t v);
/* printf-style append; the terminating NUL is kept past len (not counted). */
int buf_printf(nd_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void buf_reset(nd_buf *b); /* len = 0, keeps the memory */
void buf_free(nd_buf *b);  /* frees and zeroes */

/* ---- err.c: per-handle error message ---------------------------------- */

#define ND_ERRMSG_MAX 512

/* The last detailed error of one handle. Embedded in every handle struct. */
typedef struct nd_err {
    char msg[ND_ERRMSG_MAX];
} nd_err;

/* Formats a message into `e` (truncating if needed) and returns `code`,
 * so callers can write `return err_set(&h->err, ND_EIO, "...", ...);`.
 * A NULL `e` only returns the code. */
int err_set(nd_err *e, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
#if defined(__clang_analyzer__)
/* The same call, spelt so that the static analyzer (which does not look into
 * err.c) knows the result is `code`; otherwise it follows error returns as if
 * they could be ND_OK and reports paths that cannot happen. */
#define err_set(e, code, ...) (err_set((e), (code), __VA_ARGS__), (code))
#endif
void err_clear(nd_err *e);

/* ---- le.h-style helpers (inline) -------------------------------------- */

static inline uint16_t ld_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t ld_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static inline uint64_t ld_u64(const uint8_t *p)
{
    return (uint64_t)ld_u32(p) | ((uint64_t)ld_u32(p + 4) << 32);
}
static inline void st_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void st_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void st_u64(uint8_t *p, uint64_t v)
{
    st_u32(p, (uint32_t)v);
    st_u32(p + 4, (uint32_t)(v >> 32));
}

/* Overflow-checked size arithmetic: returns 0 and stores the result, or
 * returns -1 on overflow. */
static inline int size_add(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b)
        return -1;
    *out = a + b;
    return 0;
}
static inline int size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

/* ---- hash.c ----------------------------------------------------------- */

/* 64-bit hash of a byte string (FNV-1a variant with a final mix). */
uint64_t hash_bytes(const void *p, size_t n);

/* ---- strmap.c: byte-string keys to u64 values -------------------------- */

/* An open-addressing hash map that copies its keys. Zero-initialise. */
typedef struct nd_strmap {
    uint32_t *slots;   /* entry index + 1, 0 = empty */
    uint32_t n_slots;  /* power of two */
    struct strmap_entry *e;
    uint32_t n, cap;
    nd_buf keys;
} nd_strmap;

/* Sets key -> v. *old receives the previous value (or is untouched) and the
 * return is 1 if the key was there, 0 if added, ND_ENOMEM on failure. */
int strmap_put(nd_strmap *m, const void *key, size_t len, uint64_t v, uint64_t *old);
/* 1 and *v if present, else 0. */
int strmap_get(const nd_strmap *m, const void *key, size_t len, uint64_t *v);
uint32_t strmap_count(const nd_strmap *m);
/* Entry i (0 <= i < count), in insertion order. */
void strmap_at(const nd_strmap *m, uint32_t i, const uint8_t **key, size_t *len, uint64_t *v);
size_t strmap_bytes(const nd_strmap *m);
void strmap_clear(nd_strmap *m); /* forgets every entry, frees the memory */

/* ---- file.c: files, durability, mapping ------------------------------- */

/* CRC-32 as zlib computes it, of n bytes, continuing from `crc` (start at
 * 0). */
uint32_t crc32_update(uint32_t crc, const void *p, size_t n);

/* A read-only mapping of a whole file. An empty file maps to data = NULL,
 * len = 0. */
typedef struct nd_map {
    const uint8_t *data;
    size_t len;
    int fd;      /* the file, while has_fd (map_crc32 reads it) */
    int has_fd;
} nd_map;

/* Maps the whole file, keeping it open for map_crc32 until map_drop_fd or
 * map_close. */
int map_open(nd_map *m, const char *path, nd_err *e);
/* Closes the file (the mapping stays). */
void map_drop_fd(nd_map *m);
void map_close(nd_map *m);
/* Drops bytes [off, off+len) of the mapping from the process (off a
 * multiple of the page size; the pages stay in the page cache and fault
 * back in on the next read), so that after a whole-file pass a reader's
 * resident memory is what it really uses. */
void map_unload(const nd_map *m, size_t off, size_t len);
/* CRC-32 of the first len bytes. While the file is open they are read with
 * pread into a small buffer, which costs a third of touching the mapping
 * (no page faults, no page tables to fill and tear down); else the mapping
 * is read, each piece unloaded once read, so that peak resident memory
 * stays at 8 MiB whatever the file size. */
uint32_t map_crc32(const nd_map *m, size_t len);

/* Writes all n bytes to fd, retrying on EINTR and short writes. */
int write_all(int fd, const void *p, size_t n, nd_err *e, const char *path);
/* fsync of a file and of a directory (for renames and new files). */
int fsync_fd(int fd, nd_err *e, const char *path);
int fsync_dir(const char *dir, nd_err *e);
/* Creates the directory if missing (one level). */
int make_dir(const char *dir, nd_err *e);
/* Joins dir and name into buf (size n); ND_EINVAL if it does not fit. */
int path_join(char *buf, size_t n, const char *dir, const char *name);
/* Size of the file at path, or -1 if it cannot be stat'ed. */
long long file_size(const char *path);

#endif
