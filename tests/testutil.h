/*
 * testutil.h - helpers shared by the test executables: temporary
 * directories, whole-file reads and writes, running a command and
 * capturing its output. cmocka must be included before this header.
 */
#ifndef ND_TESTUTIL_H
#define ND_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

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

#endif
