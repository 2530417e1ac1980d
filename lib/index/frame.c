/*
 * frame.c - the envelope shared by every index file: an 8-byte header
 * (magic, format version, flags) and a 16-byte footer (body length, CRC32
 * of everything before the footer, magic again). From version 2 on (.col:
 * version 3; MANIFEST, never rewritten, never) a file has a chunk table
 * between body and footer: a CRC-32 per 16 KiB chunk, so that readers
 * check what they read when they first read it, and opening an index costs
 * the same whatever its size. Writers stream through fout, which checksums as it
 * buffers; readers call frame_check before trusting a single byte of the
 * body, and frame_sums_check before reading a range of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "index/index.h"

#define FOUT_FLUSH (1u << 20)

/* Adds bytes written to the checksums: with a chunk table, each chunk's CRC
 * is computed once and combined into the whole file's. */
static int account(fout *f, const uint8_t *p, size_t n)
{
    if (!f->sums) {
        f->crc = crc32_update(f->crc, p, n);
        return ND_OK;
    }
    const uint32_t size = (uint32_t)1 << SUMS_SHIFT;
    while (n > 0) {
        size_t k = ND_MIN(n, (size_t)(size - f->chunk_fill));
        f->chunk_crc = crc32_update(f->chunk_crc, p, k);
        f->chunk_fill += (uint32_t)k;
        p += k;
        n -= k;
        if (f->chunk_fill == size) {
            uint8_t t[4];
            st_u32(t, f->chunk_crc);
            if (buf_append(&f->table, t, 4) != ND_OK)
                return ND_ENOMEM;
            f->crc = (uint32_t)crc32_combine(f->crc, f->chunk_crc, (z_off_t)size);
            f->chunk_crc = 0;
            f->chunk_fill = 0;
        }
    }
    return ND_OK;
}

static int flush(fout *f, nd_err *e)
{
    if (f->buf.len == 0)
        return ND_OK;
    if (account(f, f->buf.data, f->buf.len))
        return err_set(e, ND_ENOMEM, "out of memory writing %s", f->path);
    int rc = write_all(f->fd, f->buf.data, f->buf.len, e, f->path);
    if (rc)
        return rc;
    f->bytes += f->buf.len;
    buf_reset(&f->buf);
    return ND_OK;
}

uint16_t frame_max_version(const char magic[4])
{
    if (memcmp(magic, "NDCL", 4) == 0)
        return COL_VERSION;
    if (memcmp(magic, "NDPO", 4) == 0)
        return DOC_VERSION;
    return memcmp(magic, "NDMF", 4) == 0 ? 1 : ND_FORMAT_VERSION;
}

int frame_has_sums(const char magic[4], uint16_t version)
{
    if (memcmp(magic, "NDCL", 4) == 0)
        return version >= COL_SUMS_VERSION;
    return version >= SUMS_VERSION && memcmp(magic, "NDMF", 4) != 0;
}

int fout_open(fout *f, const char *path, const char magic[4], nd_err *e)
{
    return fout_open_version(f, path, magic, ND_FORMAT_VERSION, e);
}

int fout_open_version(fout *f, const char *path, const char magic[4], uint16_t version,
                      nd_err *e)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    size_t path_len = strlen(path);
    if (path_len >= sizeof f->path)
        return err_set(e, ND_EINVAL, "path too long: %s", path);
    memcpy(f->path, path, path_len + 1);
    memcpy(f->magic, magic, 4);
    f->sums = frame_has_sums(magic, version);
    f->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (f->fd < 0)
        return err_set(e, ND_EIO, "%s: cannot create: %s", path, strerror(errno));
    uint8_t h[FRAME_HEADER];
    memcpy(h, magic, 4);
    st_u16(h + 4, version);
    st_u16(h + 6, 0);
    return fout_write(f, h, sizeof h, e);
}

int fout_write(fout *f, const void *p, size_t n, nd_err *e)
{
    if (n >= FOUT_FLUSH) {
        int rc = flush(f, e);
        if (rc)
            return rc;
        if (account(f, p, n))
            return err_set(e, ND_ENOMEM, "out of memory writing %s", f->path);
        rc = write_all(f->fd, p, n, e, f->path);
        if (rc)
            return rc;
        f->bytes += n;
        return ND_OK;
    }
    if (buf_append(&f->buf, p, n) != ND_OK)
        return err_set(e, ND_ENOMEM, "out of memory writing %s", f->path);
    if (f->buf.len >= FOUT_FLUSH)
        return flush(f, e);
    return ND_OK;
}

int fout_varint(fout *f, uint64_t v, nd_err *e)
{
    uint8_t t[ND_VARINT_MAX];
    return fout_write(f, t, varint_put(t, v), e);
}

/* After the body: the CRC of the last (partial) chunk, then the table, the
 * chunk size's log2 and the CRC of both. */
static int write_sums(fout *f, nd_err *e)
{
    uint8_t t[8];
    if (f->chunk_fill > 0) {
        st_u32(t, f->chunk_crc);
        if (buf_append(&f->table, t, 4) != ND_OK)
            return err_set(e, ND_ENOMEM, "out of memory writing %s", f->path);
        f->crc = (uint32_t)crc32_combine(f->crc, f->chunk_crc, (z_off_t)f->chunk_fill);
    }
    st_u32(t, SUMS_SHIFT);
    if (buf_append(&f->table, t, 4) != ND_OK)
        return err_set(e, ND_ENOMEM, "out of memory writing %s", f->path);
    st_u32(t, crc32_update(0, f->table.data, f->table.len));
    if (buf_append(&f->table, t, 4) != ND_OK)
        return err_set(e, ND_ENOMEM, "out of memory writing %s", f->path);
    f->crc = crc32_update(f->crc, f->table.data, f->table.len);
    int rc = write_all(f->fd, f->table.data, f->table.len, e, f->path);
    if (rc)
        return rc;
    f->bytes += f->table.len;
    return ND_OK;
}

int fout_finish(fout *f, uint32_t *crc_out, nd_err *e)
{
    int rc = flush(f, e);
    if (rc)
        goto fail;
    uint64_t body_end = f->bytes;
    if (f->sums && (rc = write_sums(f, e)))
        goto fail;
    uint8_t t[FRAME_FOOTER];
    st_u64(t, body_end - FRAME_HEADER);
    st_u32(t + 8, f->crc);
    memcpy(t + 12, f->magic, 4);
    if (crc_out)
        *crc_out = f->crc;
    rc = write_all(f->fd, t, sizeof t, e, f->path);
    if (rc)
        goto fail;
    f->bytes += sizeof t;
    rc = fsync_fd(f->fd, e, f->path);
    if (rc)
        goto fail;
    if (close(f->fd) != 0) {
        f->fd = -1;
        rc = err_set(e, ND_EIO, "%s: close: %s", f->path, strerror(errno));
        goto fail;
    }
    f->fd = -1;
    buf_free(&f->buf);
    buf_free(&f->table);
    return ND_OK;
fail:
    fout_abort(f);
    return rc;
}

void fout_abort(fout *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        unlink(f->path);
    }
    f->fd = -1;
    buf_free(&f->buf);
    buf_free(&f->table);
}

/* Locates and checks the chunk table of a version-2 file: ND_OK with
 * *blen set, or a message in e. */
static int find_sums(const nd_map *m, const char *name, int skip_crc, uint64_t *blen,
                     frame_sums *sums, nd_err *e)
{
    const uint8_t *p = m->data;
    size_t tail = m->len - FRAME_FOOTER; /* the table's end */
    if (tail < FRAME_HEADER + 12)
        return err_set(e, ND_ECORRUPT, "%s: truncated chunk table", name);
    uint32_t shift = ld_u32(p + tail - 8);
    if (shift < 10 || shift > 30)
        return err_set(e, ND_ECORRUPT, "%s: bad chunk size 2^%u", name, shift);
    uint64_t body = ld_u64(p + m->len - FRAME_FOOTER);
    if (body > tail - FRAME_HEADER - 8)
        return err_set(e, ND_ECORRUPT, "%s: length mismatch (truncated?)", name);
    uint64_t covered = FRAME_HEADER + body;
    uint64_t n = ((covered - 1) >> shift) + 1;
    if (covered + 4 * n + 8 != tail)
        return err_set(e, ND_ECORRUPT, "%s: length mismatch (truncated?)", name);
    const uint8_t *tab = p + covered;
    if (!skip_crc && crc32_update(0, tab, 4 * n + 4) != ld_u32(p + tail - 4))
        return err_set(e, ND_ECORRUPT, "%s: chunk table checksum mismatch", name);
    memset(sums, 0, sizeof *sums);
    sums->map = p;
    sums->tab = tab;
    sums->n = n;
    sums->covered = covered;
    sums->shift = shift;
    snprintf(sums->name, sizeof sums->name, "%s", name);
    if (!skip_crc) {
        sums->ok = calloc((n + 63) / 64, sizeof *sums->ok);
        if (!sums->ok)
            return err_set(e, ND_ENOMEM, "out of memory");
    }
    *blen = body;
    return ND_OK;
}

void frame_sums_free(frame_sums *s)
{
    free((void *)s->ok);
    memset(s, 0, sizeof *s);
}

int frame_sums_verify(const frame_sums *s, uint64_t off, uint64_t len, nd_err *e)
{
    if (!s->ok || len == 0)
        return ND_OK;
    if (off > s->covered || len > s->covered - off)
        return err_set(e, ND_ECORRUPT, "%s: bytes %llu..%llu past the checksummed data",
                       s->name, (unsigned long long)off, (unsigned long long)(off + len - 1));
    for (uint64_t i = off >> s->shift; i <= (off + len - 1) >> s->shift; i++) {
        uint64_t bit = (uint64_t)1 << (i & 63);
        if (atomic_load_explicit(&s->ok[i >> 6], memory_order_relaxed) & bit)
            continue;
        uint64_t a = i << s->shift, b = ND_MIN(s->covered, a + ((uint64_t)1 << s->shift));
        if (crc32_update(0, s->map + a, (size_t)(b - a)) != ld_u32(s->tab + 4 * i))
            return err_set(e, ND_ECORRUPT,
                           "%s: checksum mismatch in bytes %llu..%llu (the file is damaged)",
                           s->name, (unsigned long long)a, (unsigned long long)(b - 1));
        /* threads sharing the segment may both check a chunk: harmless */
        atomic_fetch_or_explicit(&s->ok[i >> 6], bit, memory_order_relaxed);
    }
    return ND_OK;
}

int frame_check(const nd_map *m, const char magic[4], const char *name, int checks,
                const uint8_t **body, size_t *body_len, uint32_t *crc, frame_sums *sums,
                nd_err *e)
{
    if (m->len < FRAME_HEADER + FRAME_FOOTER)
        return err_set(e, ND_ECORRUPT, "%s: truncated (%zu bytes)", name, m->len);
    const uint8_t *p = m->data;
    if (memcmp(p, magic, 4) != 0)
        return err_set(e, ND_ECORRUPT, "%s: bad magic (not a %.4s file)", name, magic);
    uint16_t version = ld_u16(p + 4), max = frame_max_version(magic);
    if (version < FRAME_MIN_VERSION || version > max) {
        if (max == FRAME_MIN_VERSION)
            return err_set(e, ND_EVERSION, "%s: format version %u, this library reads %u", name,
                           version, FRAME_MIN_VERSION);
        return err_set(e, ND_EVERSION, "%s: format version %u, this library reads %u to %u",
                       name, version, FRAME_MIN_VERSION, max);
    }
    if (ld_u16(p + 6) != 0)
        return err_set(e, ND_ECORRUPT, "%s: unknown flags 0x%04x", name, ld_u16(p + 6));
    const uint8_t *ft = p + m->len - FRAME_FOOTER;
    if (memcmp(ft + 12, magic, 4) != 0)
        return err_set(e, ND_ECORRUPT, "%s: bad footer (truncated?)", name);
    uint64_t blen = ld_u64(ft);
    uint32_t want = ld_u32(ft + 8);
    if (frame_has_sums(magic, version)) {
        if (!sums)
            return err_set(e, ND_EINVAL, "%s: a chunk table where none is read", name);
        int rc = find_sums(m, name, !(checks & CHECK_CHUNKS), &blen, sums, e);
        if (rc)
            return rc;
    } else if (blen != m->len - FRAME_HEADER - FRAME_FOOTER) {
        return err_set(e, ND_ECORRUPT, "%s: length mismatch (truncated?)", name);
    } else if (checks & CHECK_WHOLE) {
        uint32_t got = map_crc32(m, m->len - FRAME_FOOTER);
        if (got != want)
            return err_set(e, ND_ECORRUPT, "%s: checksum mismatch", name);
    }
    *body = p + FRAME_HEADER;
    *body_len = (size_t)blen;
    if (crc)
        *crc = want;
    return ND_OK;
}
