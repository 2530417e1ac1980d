/*
 * ingest.h - reading articles from the outside world: JSON Lines files
 * (plain or gzip, from a path or stdin) and the JSON objects on each line.
 *
 * Our own small JSON reader, not a library: one object per line is all we
 * need, and owning it lets us report every problem precisely ("column 17:
 * expected ':'"), validate UTF-8 in the same pass, bound nesting depth and
 * avoid building a tree we would throw away.
 */
#ifndef ND_INGEST_H
#define ND_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "newsdex.h"
#include "util/util.h"

#define ND_MAX_LINE_BYTES ((size_t)256 << 20) /* longest accepted input line */
#define ND_JSON_MAX_DEPTH 64                  /* nesting inside ignored fields */

/* ---- json.c ----------------------------------------------------------- */

/* Parses one JSON object into *out. String fields are unescaped into
 * `scratch` (reset first) and out's pointers point into it (valid until the
 * next call with the same scratch). Absent or null fields: NULL/0; no date:
 * ND_NO_DATE. Returns ND_OK, ND_ENOMEM, or ND_EINVAL with a one-line reason in
 * err (e.g. "column 17: expected ':' after object key", "invalid UTF-8 at
 * column 9", "missing \"id\"", "\"title\" must be a string", "\"date\": not
 * an ISO 8601 date: \"2019-13-01\""). Leading/trailing whitespace is allowed;
 * anything else after the object is an error. Duplicate keys: the last wins. */
int json_parse_article(const char *s, size_t len, nd_buf *scratch, nd_doc *out, char *err,
                       size_t errlen);

/* ---- date.c ----------------------------------------------------------- */
/* nd_date_parse and nd_date_format (newsdex.h) live here. */

/* Days since 1970-01-01 of a proleptic Gregorian date (any year 1..9999). */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

/* ---- lines.c ---------------------------------------------------------- */

typedef struct line_reader line_reader;

/* Opens path ("-" = stdin) for line reading; gzip input is detected and
 * decompressed (zlib's transparent mode reads plain files as they are). */
int line_reader_open(line_reader **out, const char *path, nd_err *e);
/* Next line without its "\n" (and without a trailing "\r"). The pointer is
 * valid until the next call. Returns ND_OK, ND_DONE at end of input, ND_EIO
 * on a read error or a truncated/corrupt gzip stream (message in e), or
 * ND_ELIMIT for a line longer than ND_MAX_LINE_BYTES: that line is consumed
 * and dropped, and the next call continues after it. */
int line_reader_next(line_reader *r, const char **line, size_t *len, nd_err *e);
/* 1-based number of the line last returned. */
uint64_t line_reader_lineno(const line_reader *r);
/* Bytes of the underlying file consumed so far, and its size (0 if unknown). */
uint64_t line_reader_offset(const line_reader *r);
uint64_t line_reader_size(const line_reader *r);
void line_reader_close(line_reader *r);
/* Before the first line: decompresses a regular file ahead on a thread of
 * the reader's own (a hint: without it, or on a pipe, reading is done by
 * the caller). The lines, errors and offsets returned are the same. */
void line_reader_readahead(line_reader *r);
/* Test hook: lowers (or raises) the line limit from ND_MAX_LINE_BYTES. */
void line_reader_set_max(line_reader *r, size_t max);

#endif
