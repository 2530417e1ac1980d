/*
 * lines.c - the line reader under JSON Lines ingest: a file or standard
 * input, plain or gzip-compressed (zlib's gz* layer tells them apart by
 * content and reads plain files through unchanged), split into lines.
 *
 * Data is read in large chunks into one buffer and lines are found with
 * memchr; a returned line points into that buffer. The buffer only grows
 * to hold the longest line that is accepted: a line that passes the limit
 * is dropped as it streams by, and reported once.
 *
 * Damage is reported, never papered over: zlib reports a gzip stream that
 * stops early not as an error from gzread but as a quiet end of file with
 * Z_BUF_ERROR left in gzerror, so the end of input is always checked
 * against gzerror, and the partial line before the damage is dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ingest/ingest.h"

#define GZ_BUFFER (256u << 10)         /* zlib's input buffer size */
#define READ_CHUNK ((size_t)256 << 10) /* bytes asked of one gzread */
#define INITIAL_CAP ((size_t)1 << 20)  /* first size of the line buffer */

struct line_reader {
    gzFile gz;
    char *name;      /* path for messages ("stdin" for "-") */
    uint8_t *buf;    /* buffered input */
    size_t cap;      /* bytes allocated at buf */
    size_t start;    /* start of the line being assembled */
    size_t scan;     /* [start, scan) is known to hold no '\n' */
    size_t end;      /* end of the buffered data */
    size_t max;      /* longest accepted line, in bytes */
    uint64_t lineno; /* number of the line last returned */
    uint64_t size;   /* size of a regular file, else 0 */
    int eof;         /* gzread has nothing more to give */
    int skipping;    /* dropping the rest of a line past the limit */
    char ioerr[256]; /* set when the stream failed: reported at its end */
};

int line_reader_open(line_reader **out, const char *path, nd_err *e)
{
    *out = NULL;
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "stdin" : path;
    /* A duplicate of stdin, so that closing the reader leaves fd 0 open. */
    int fd = is_stdin ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, ND_EIO, "%s: %s", name, strerror(errno));

    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = err_set(e, ND_EIO, "%s: %s", name, strerror(errno));
        close(fd);
        return rc;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return err_set(e, ND_EIO, "%s: is a directory", name);
    }

    line_reader *r = calloc(1, sizeof *r);
    if (r) {
        r->name = strdup(name);
        r->buf = malloc(INITIAL_CAP);
    }
    if (!r || !r->name || !r->buf) {
        close(fd);
        line_reader_close(r);
        return err_set(e, ND_ENOMEM, "%s: out of memory", name);
    }
    r->cap = INITIAL_CAP;
    r->max = ND_MAX_LINE_BYTES;
    r->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    r->gz = gzdopen(fd, "rb"); /* owns fd from here on */
    if (!r->gz) {
        close(fd);
        line_reader_close(r);
        return err_set(e, ND_ENOMEM, "%s: out of memory", name);
    }
    gzbuffer(r->gz, GZ_BUFFER);
    *out = r;
    return ND_OK;
}

void line_reader_set_max(line_reader *r, size_t max)
{
    r->max = max;
}

/* Keeps zlib's message for the end of the stream. zlib prefixes it with the
 * "<fd:N>" name it gives gzdopen'ed files, which means nothing to a user. */
static void save_gz_error(line_reader *r)
{
    int errnum;
    const char *msg = gzerror(r->gz, &errnum);
    if (msg && strncmp(msg, "<fd:", 4) == 0) {
        const char *colon = strstr(msg, ">: ");
        if (colon)
            msg = colon + 3;
    }
    if (!msg || !*msg)
        msg = "read error";
    snprintf(r->ioerr, sizeof r->ioerr, "%s", msg);
}

/* Reads the next chunk after the buffered data, making room first. On a
 * failure the stream is marked ended with r->ioerr set. */
static int fill(line_reader *r, nd_err *e)
{
    if (r->cap - r->end < READ_CHUNK && r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->scan -= r->start;
        r->start = 0;
    }
    if (r->cap - r->end < READ_CHUNK) {
        /* Only a line still under the limit gets here, so this stays below
         * about twice the limit plus a chunk. */
        size_t cap = r->cap * 2;
        if (cap < r->cap || cap - r->end < READ_CHUNK)
            return err_set(e, ND_ENOMEM, "%s: out of memory", r->name);
        uint8_t *p = realloc(r->buf, cap);
        if (!p)
            return err_set(e, ND_ENOMEM, "%s: out of memory", r->name);
        r->buf = p;
        r->cap = cap;
    }

    z_off_t before = gztell(r->gz);
    int n = gzread(r->gz, r->buf + r->end, (unsigned)READ_CHUNK);
    if (n > 0) {
        r->end += (size_t)n;
        return ND_OK;
    }
    int errnum = Z_OK;
    gzerror(r->gz, &errnum);
    if (n < 0 || errnum != Z_OK) {
        /* gzread drops what it had copied out before the failure; the
         * position it keeps tells how much that was, so those lines can
         * still be returned before the error. */
        z_off_t after = gztell(r->gz);
        if (n < 0 && before >= 0 && after > before && (size_t)(after - before) <= READ_CHUNK)
            r->end += (size_t)(after - before);
        save_gz_error(r);
    }
    r->eof = 1;
    return ND_OK;
}

static int too_long(line_reader *r, nd_err *e)
{
    return err_set(e, ND_ELIMIT, "%s: line %llu is longer than %zu bytes", r->name,
                   (unsigned long long)r->lineno, r->max);
}

/* Hands out bytes [a, b) of the buffer as the next line. */
static int emit(line_reader *r, size_t a, size_t b, const char **line, size_t *len, nd_err *e)
{
    r->lineno++;
    if (b > a && r->buf[b - 1] == '\r')
        b--;
    if (b - a > r->max)
        return too_long(r, e);
    *line = (const char *)r->buf + a;
    *len = b - a;
    return ND_OK;
}

int line_reader_next(line_reader *r, const char **line, size_t *len, nd_err *e)
{
    int rc;
    *line = NULL;
    *len = 0;
    for (;;) {
        if (r->scan < r->end) {
            const uint8_t *nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
            if (nl) {
                size_t a = r->start, b = (size_t)(nl - r->buf);
                r->start = r->scan = b + 1;
                if (r->skipping) {
                    r->skipping = 0;
                    r->lineno++;
                    return too_long(r, e);
                }
                return emit(r, a, b, line, len, e);
            }
            r->scan = r->end;
        }
        /* No end of line buffered. Past the limit (with room for a "\r"),
         * the line is dropped as it comes in. */
        size_t partial = r->end - r->start;
        if (r->skipping || (partial > 1 && partial - 1 > r->max)) {
            r->skipping = 1;
            r->start = r->scan = r->end = 0;
        }
        if (r->eof) {
            if (r->ioerr[0])
                return err_set(e, ND_EIO, "%s: gzip: %s", r->name, r->ioerr);
            if (r->skipping) {
                r->skipping = 0;
                r->lineno++;
                return too_long(r, e);
            }
            if (r->start < r->end) {
                size_t a = r->start, b = r->end;
                r->start = r->scan = r->end;
                return emit(r, a, b, line, len, e);
            }
            return ND_DONE;
        }
        if ((rc = fill(r, e)) != ND_OK)
            return rc;
    }
}

uint64_t line_reader_lineno(const line_reader *r)
{
    return r->lineno;
}

uint64_t line_reader_offset(const line_reader *r)
{
    z_off_t off = gzoffset(r->gz);
    if (off < 0) /* not seekable (a pipe): fall back to the bytes delivered */
        off = gztell(r->gz);
    return off < 0 ? 0 : (uint64_t)off;
}

uint64_t line_reader_size(const line_reader *r)
{
    return r->size;
}

void line_reader_close(line_reader *r)
{
    if (!r)
        return;
    if (r->gz)
        gzclose(r->gz);
    free(r->buf);
    free(r->name);
    free(r);
}
