/*
 * testutil.h - helpers shared by the test executables: temporary
 * directories, whole-file reads and writes, running a command and
 * capturing its output. cmocka must be included before this header.
 */
#ifndef ND_TESTUTIL_H
#define ND_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "newsdex.h"

/* Creates a fresh empty directory under $TMPDIR (or /tmp); returns a
 * malloc'd path. Fails the test on error. */
char *tu_mkdtemp(void);
/* Removes a directory tree (best effort). */
void tu_rmrf(const char *path);
/* Writes n bytes to path (creating/truncating). Fails the test on error. */
void tu_write_file(const char *path, const void *data, size_t n);
/* Reads a whole file; returns malloc'd bytes (NUL-terminated) and its size
 * in *n, or NULL if it cannot be read. */
char *tu_read_file(const char *path, size_t *n);
/* Runs a shell command; stores its stdout (malloc'd, NUL-terminated) in
 * *out if out is not NULL; returns the exit status (or -1). stderr goes to
 * *err the same way if err is not NULL. */
int tu_run(const char *cmd, char **out, char **err);
/* Deterministic PRNG (xorshift64*). */
uint64_t tu_rand(uint64_t *state);

/* An article with an id, a title and a body (NULL title or body: absent),
 * no date and nothing else. The strings are borrowed. */
nd_doc tu_doc(const char *id, const char *title, const char *body);

#if defined(__clang_analyzer__)
/* A failed cmocka assertion (or fail()) ends the test, inside cmocka where
 * the static analyzer cannot see it; so that it does not follow paths past
 * a failure, it reads the common ones as the same tests ending in abort(). */
#include <stdlib.h>
#undef assert_true
#undef assert_false
#undef assert_non_null
#undef assert_null
#undef assert_int_equal
#undef assert_int_not_equal
#undef assert_ptr_equal
#undef fail
#define fail() abort()
#define assert_true(c) ((c) ? (void)0 : abort())
#define assert_false(c) ((c) ? abort() : (void)0)
#define assert_non_null(c) ((c) ? (void)0 : abort())
#define assert_null(c) ((c) ? abort() : (void)0)
#define assert_int_equal(a, b)                                                                    \
    (cast_to_largest_integral_type(a) == cast_to_largest_integral_type(b) ? (void)0 : abort())
#define assert_int_not_equal(a, b)                                                                \
    (cast_to_largest_integral_type(a) != cast_to_largest_integral_type(b) ? (void)0 : abort())
#define assert_ptr_equal(a, b) ((const void *)(a) == (const void *)(b) ? (void)0 : abort())
#endif

#endif
