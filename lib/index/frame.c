/*
 * frame.c - the envelope shared by every index file: an 8-byte header
 * (magic, format version, flags) and a 16-byte footer (body length, CRC32
 * of everything before the footer, magic again). Writers stream through
 * fout, which checksums as it buffers; readers call frame_check before
 * trusting a single byte of the body. Every file is at version 1 except
 * .col, written at version 2 (COL_VERSION) and read at 1 or 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "index/index.h"

#define FOUT_FLUSH (1u << 20)

static int flush(fout *f, nd_err *e)
{
    if (f->buf.len == 0)
        return ND_OK;
    f->crc = crc32_update(f->crc, f->buf.data, f->buf.len);
    int rc = write_all(f->fd, f->buf.data, f->buf.len, e, f->path);
    if (rc)
        return rc;
    f->bytes += f->buf.len;
    buf_reset(&f->buf);
    return ND_OK;
}

uint16_t frame_max_version(const char magic[4])
{
    return memcmp(magic, "NDCL", 4) == 0 ? COL_VERSION : ND_FORMAT_VERSION;
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
        f->crc = crc32_update(f->crc, p, n);
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

int fout_finish(fout *f, uint32_t *crc_out, nd_err *e)
{
    int rc = flush(f, e);
    if (rc)
        goto fail;
    uint8_t t[FRAME_FOOTER];
    st_u64(t, f->bytes - FRAME_HEADER);
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
}

int frame_check(const nd_map *m, const char magic[4], const char *name, int skip_crc,
                const uint8_t **body, size_t *body_len, uint32_t *crc, nd_err *e)
{
    if (m->len < FRAME_HEADER + FRAME_FOOTER)
        return err_set(e, ND_ECORRUPT, "%s: truncated (%zu bytes)", name, m->len);
    const uint8_t *p = m->data;
    if (memcmp(p, magic, 4) != 0)
        return err_set(e, ND_ECORRUPT, "%s: bad magic (not a %.4s file)", name, magic);
    uint16_t version = ld_u16(p + 4), max = frame_max_version(magic);
    if (version < ND_FORMAT_VERSION || version > max) {
        if (max == ND_FORMAT_VERSION)
            return err_set(e, ND_EVERSION, "%s: format version %u, this library reads %u", name,
                           version, ND_FORMAT_VERSION);
        return err_set(e, ND_EVERSION, "%s: format version %u, this library reads %u to %u",
                       name, version, ND_FORMAT_VERSION, max);
    }
    if (ld_u16(p + 6) != 0)
        return err_set(e, ND_ECORRUPT, "%s: unknown flags 0x%04x", name, ld_u16(p + 6));
    const uint8_t *ft = p + m->len - FRAME_FOOTER;
    if (memcmp(ft + 12, magic, 4) != 0)
        return err_set(e, ND_ECORRUPT, "%s: bad footer (truncated?)", name);
    uint64_t blen = ld_u64(ft);
    if (blen != m->len - FRAME_HEADER - FRAME_FOOTER)
        return err_set(e, ND_ECORRUPT, "%s: length mismatch (truncated?)", name);
    uint32_t want = ld_u32(ft + 8);
    if (!skip_crc) {
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
