/*
 * check.h - the integrity checker behind nd_check (check.c): it reads the
 * last commit of an index directory - the catalog (or a layout-1
 * MANIFEST), then every file of every segment it names - and verifies every
 * checksum and every structural invariant docs/FORMAT.md defines, through
 * the same readers the queries use (segment.c, postings.c), plus the
 * cross-checks those readers leave out (section 10, "Not checked"). Each
 * violation becomes one problem with the file, segment and byte offset
 * where it was found. It only reads: no lock, no write, nothing trusted
 * before it is checked, so it is safe on a damaged index and next to a
 * running writer.
 */
#ifndef ND_CHECK_H
#define ND_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "index/index.h"

#define CHECK_DEFAULT_MAX 100 /* problems kept when the caller does not say */
#define CHECK_MSG_MAX 384

/* One problem found. */
typedef struct check_problem {
    int severity;           /* ND_CHECK_ERROR or ND_CHECK_WARNING */
    char file[48];          /* name in the index directory, "" if none */
    uint64_t segment;       /* segment number or ND_CHECK_NONE */
    uint64_t offset;        /* byte offset in file or ND_CHECK_NONE */
    char msg[CHECK_MSG_MAX];
} check_problem;

/* What a check found: the first `max` problems in the order found, and
 * the counts of everything (sum.errors, sum.warnings count all problems,
 * kept or not). Zero-initialise; free with check_result_free. */
typedef struct check_result {
    check_problem *problems;
    size_t n, cap;
    size_t max;
    nd_check_summary sum;
} check_result;

/* Checks the last commit of dir into r (whose previous content is
 * replaced); max_problems 0 means CHECK_DEFAULT_MAX. Returns ND_OK when the
 * check ran, whatever it found; ND_ENOTFOUND when dir holds no index (no
 * catalog or MANIFEST, or a catalog without its first commit);
 * ND_EVERSION for a catalog or MANIFEST of another version; ND_EIO when the
 * directory or catalog cannot be read at all; ND_ENOMEM. */
int index_check(check_result *r, const char *dir, size_t max_problems, nd_err *e);
void check_result_free(check_result *r);

#endif
