/*
 * manifest.c - the commit record. MANIFEST names the segments of the last
 * commit, with the size and footer CRC of each of their files, so a reader
 * knows exactly which bytes belong to the index. It is replaced atomically:
 * written to MANIFEST.tmp, fsync'd, renamed over MANIFEST, and the
 * directory fsync'd; segment files are durable before that starts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "index/index.h"

static const char MAGIC[4] = {'N', 'D', 'M', 'F'};
const char *const seg_exts[FILE_KINDS] = {"tdx", "doc", "pos", "col", "sto"};

#define SEG_META_BYTES (8 + 4 + FILE_KINDS * 12)

void seg_file_name(char *buf, size_t n, uint64_t number, int kind)
{
    snprintf(buf, n, "seg-%llu.%s", (unsigned long long)number, seg_exts[kind]);
}

int seg_file_parse(const char *name, uint64_t *number)
{
    if (strncmp(name, "seg-", 4) != 0)
        return 0;
    const char *p = name + 4;
    uint64_t n = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (n > (UINT64_MAX - 9) / 10)
            return 0;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (digits == 0 || (digits > 1 && name[4] == '0') || *p != '.')
        return 0;
    for (int k = 0; k < FILE_KINDS; k++)
        if (strcmp(p + 1, seg_exts[k]) == 0) {
            *number = n;
            return 1;
        }
    return 0;
}

int manifest_read(manifest *m, const char *dir, nd_err *e)
{
    memset(m, 0, sizeof *m);
    char path[4096];
    if (path_join(path, sizeof path, dir, MANIFEST_NAME))
        return err_set(e, ND_EINVAL, "path too long: %s", dir);
    nd_map map;
    int rc = map_open(&map, path, e);
    if (rc == ND_ENOTFOUND)
        return err_set(e, ND_ENOTFOUND, "%s: no index here (no %s)", dir, MANIFEST_NAME);
    if (rc)
        return rc;
    const uint8_t *p;
    size_t n;
    rc = frame_check(&map, MAGIC, MANIFEST_NAME, 0, &p, &n, NULL, e);
    if (rc)
        goto out;
    if (n < 20) {
        rc = err_set(e, ND_ECORRUPT, "%s: truncated", MANIFEST_NAME);
        goto out;
    }
    m->generation = ld_u64(p);
    m->next_seg = ld_u64(p + 8);
    m->n_segs = ld_u32(p + 16);
    if ((n - 20) / SEG_META_BYTES != m->n_segs || (n - 20) % SEG_META_BYTES != 0) {
        rc = err_set(e, ND_ECORRUPT, "%s: segment count %u does not match its size",
                     MANIFEST_NAME, m->n_segs);
        goto out;
    }
    m->segs = calloc(m->n_segs ? m->n_segs : 1, sizeof *m->segs);
    if (!m->segs) {
        rc = err_set(e, ND_ENOMEM, "out of memory");
        goto out;
    }
    const uint8_t *q = p + 20;
    for (uint32_t i = 0; i < m->n_segs; i++) {
        seg_meta *s = &m->segs[i];
        s->number = ld_u64(q);
        s->docs = ld_u32(q + 8);
        q += 12;
        for (int k = 0; k < FILE_KINDS; k++) {
            s->size[k] = ld_u64(q);
            s->crc[k] = ld_u32(q + 8);
            q += 12;
        }
        if (s->number >= m->next_seg || s->docs > ND_MAX_SEG_DOCS) {
            rc = err_set(e, ND_ECORRUPT, "%s: bad segment entry %u", MANIFEST_NAME, i);
            goto out;
        }
    }
out:
    map_close(&map);
    if (rc)
        manifest_free(m);
    return rc;
}

int manifest_write(const manifest *m, const char *dir, nd_err *e)
{
    char tmp[4096], path[4096];
    if (path_join(tmp, sizeof tmp, dir, MANIFEST_NAME ".tmp") ||
        path_join(path, sizeof path, dir, MANIFEST_NAME))
        return err_set(e, ND_EINVAL, "path too long: %s", dir);
    unlink(tmp); /* a leftover of an interrupted commit */
    fout f;
    int rc = fout_open(&f, tmp, MAGIC, e);
    if (rc)
        return rc;
    nd_buf b = {0};
    rc = buf_put_u64(&b, m->generation) | buf_put_u64(&b, m->next_seg) |
         buf_put_u32(&b, m->n_segs);
    for (uint32_t i = 0; i < m->n_segs && !rc; i++) {
        const seg_meta *s = &m->segs[i];
        rc |= buf_put_u64(&b, s->number) | buf_put_u32(&b, s->docs);
        for (int k = 0; k < FILE_KINDS; k++)
            rc |= buf_put_u64(&b, s->size[k]) | buf_put_u32(&b, s->crc[k]);
    }
    if (rc) {
        buf_free(&b);
        fout_abort(&f);
        return err_set(e, ND_ENOMEM, "out of memory");
    }
    rc = fout_write(&f, b.data, b.len, e);
    buf_free(&b);
    if (rc) {
        fout_abort(&f);
        return rc;
    }
    rc = fout_finish(&f, NULL, e);
    if (rc)
        return rc;
    if (rename(tmp, path) != 0) {
        rc = err_set(e, ND_EIO, "%s: rename: %s", path, strerror(errno));
        unlink(tmp);
        return rc;
    }
    return fsync_dir(dir, e);
}

void manifest_free(manifest *m)
{
    free(m->segs);
    memset(m, 0, sizeof *m);
}
