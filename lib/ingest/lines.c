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
 *
 * Gunzipping costs as much as a tenth of an ingest, so a reader of a
 * regular file may read ahead on a thread of its own
 * (line_reader_readahead): that thread makes the same gzread calls into a
 * small ring of chunks, each with the stream's state after it (the bytes,
 * the end or the damage, and the offset), and the reader takes the chunks
 * in order instead of calling gzread. What the reader returns, and when,
 * is the same either way. Pipes are never read ahead: a thread blocked on
 * a pipe could not be stopped when ingest ends early.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#define AHEAD_CHUNKS 4                 /* chunks read ahead (of READ_CHUNK bytes) */

/* One gzread's result: bytes, whether the stream ended there (with
 * `ioerr` set if it failed), and the offset after it. */
typedef struct chunk {
    uint8_t *data; /* READ_CHUNK bytes */
    size_t n;
    int eof;
    char ioerr[256];
    uint64_t offset;
} chunk;

/* The read-ahead thread and its ring. */
typedef struct ahead {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* a chunk was filled or taken, or stop */
    chunk c[AHEAD_CHUNKS];
    size_t head, count;       /* the oldest filled chunk, and how many (mu) */
    int stop;                 /* the reader is closing (mu) */
} ahead;

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
    ahead *ra;       /* the read-ahead thread, or NULL: gzread here */
    uint64_t offset; /* with ra: the offset after the last chunk taken */
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
static void save_gz_error(gzFile gz, char ioerr[256])
{
    int errnum;
    const char *msg = gzerror(gz, &errnum);
    if (msg && strncmp(msg, "<fd:", 4) == 0) {
        const char *colon = strstr(msg, ">: ");
        if (colon)
            msg = colon + 3;
    }
    if (!msg || !*msg)
        msg = "read error";
    snprintf(ioerr, 256, "%s", msg);
}

/* One gzread of up to READ_CHUNK bytes into dst: the bytes read in *n;
 * returns 1 at the end of the stream, with ioerr set if it failed. */
static int gz_chunk(gzFile gz, uint8_t *dst, size_t *n, char ioerr[256])
{
    z_off_t before = gztell(gz);
    int got = gzread(gz, dst, (unsigned)READ_CHUNK);
    *n = 0;
    if (got > 0) {
        *n = (size_t)got;
        return 0;
    }
    int errnum = Z_OK;
    gzerror(gz, &errnum);
    if (got < 0 || errnum != Z_OK) {
        /* gzread drops what it had copied out before the failure; the
         * position it keeps tells how much that was, so those lines can
         * still be returned before the error. */
        z_off_t after = gztell(gz);
        if (got < 0 && before >= 0 && after > before && (size_t)(after - before) <= READ_CHUNK)
            *n = (size_t)(after - before);
        save_gz_error(gz, ioerr);
    }
    return 1;
}

static uint64_t gz_offset(gzFile gz)
{
    z_off_t off = gzoffset(gz);
    if (off < 0) /* not seekable (a pipe): fall back to the bytes delivered */
        off = gztell(gz);
    return off < 0 ? 0 : (uint64_t)off;
}

static void *ahead_main(void *arg)
{
    line_reader *r = arg;
    ahead *a = r->ra;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (a->count == AHEAD_CHUNKS && !a->stop)
            pthread_cond_wait(&a->cv, &a->mu);
        if (a->stop)
            break;
        /* the reader looks at this chunk only once it is counted */
        chunk *c = &a->c[(a->head + a->count) % AHEAD_CHUNKS];
        pthread_mutex_unlock(&a->mu);
        c->ioerr[0] = 0;
        c->eof = gz_chunk(r->gz, c->data, &c->n, c->ioerr);
        c->offset = gz_offset(r->gz);
        pthread_mutex_lock(&a->mu);
        a->count++;
        pthread_cond_broadcast(&a->cv);
        if (c->eof)
            break;
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static void ahead_free(ahead *a)
{
    for (int i = 0; i < AHEAD_CHUNKS; i++)
        free(a->c[i].data);
    free(a);
}

void line_reader_readahead(line_reader *r)
{
    if (r->ra || !r->size || r->eof || r->lineno)
        return; /* a pipe, or reading has begun */
    ahead *a = calloc(1, sizeof *a);
    if (!a)
        return;
    for (int i = 0; i < AHEAD_CHUNKS; i++)
        if (!(a->c[i].data = malloc(READ_CHUNK))) {
            ahead_free(a);
            return;
        }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    r->offset = gz_offset(r->gz);
    r->ra = a;
    if (pthread_create(&a->tid, NULL, ahead_main, r) != 0) {
        r->ra = NULL;
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        ahead_free(a);
    }
}

/* Stops and frees the read-ahead thread. */
static void ahead_stop(line_reader *r)
{
    ahead *a = r->ra;
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->tid, NULL);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    ahead_free(a);
    r->ra = NULL;
}

/* Takes the next chunk of the read-ahead thread into the buffer. */
static void take_chunk(line_reader *r)
{
    ahead *a = r->ra;
    pthread_mutex_lock(&a->mu);
    while (a->count == 0)
        pthread_cond_wait(&a->cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
    chunk *c = &a->c[a->head];
    memcpy(r->buf + r->end, c->data, c->n);
    r->end += c->n;
    r->offset = c->offset;
    if (c->eof) {
        r->eof = 1;
        memcpy(r->ioerr, c->ioerr, sizeof r->ioerr);
    }
    pthread_mutex_lock(&a->mu);
    a->head = (a->head + 1) % AHEAD_CHUNKS;
    a->count--;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
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

    if (r->ra) {
        take_chunk(r);
        return ND_OK;
    }
    size_t n;
    r->eof = gz_chunk(r->gz, r->buf + r->end, &n, r->ioerr);
    r->end += n;
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
    return r->ra ? r->offset : gz_offset(r->gz);
}

uint64_t line_reader_size(const line_reader *r)
{
    return r->size;
}

void line_reader_close(line_reader *r)
{
    if (!r)
        return;
    ahead_stop(r);
    if (r->gz)
        gzclose(r->gz);
    free(r->buf);
    free(r->name);
    free(r);
}
