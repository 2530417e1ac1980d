/*
 * manifest.c - segment file names, the in-memory commit record (struct
 * manifest) shared by the catalog and the readers, and read-only support
 * for layout-1 indexes, whose commit record was a MANIFEST file naming the
 * segments with the size and footer CRC of each of their files. New
 * indexes keep their commits in the SQLite catalog (catalog.c).
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

int manifest_read_legacy(manifest *m, const char *dir, nd_err *e)
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
    rc = frame_check(&map, MAGIC, MANIFEST_NAME, CHECK_ALL, &p, &n, NULL, NULL, e);
    map_drop_fd(&map);
    if (rc)
        goto out;
    if (n < 20) {
        rc = err_set(e, ND_ECORRUPT, "%s: truncated", MANIFEST_NAME);
        goto out;
    }
    m->legacy = 1;
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

int manifest_copy(manifest *dst, const manifest *src)
{
    *dst = *src;
    dst->segs = calloc(src->n_segs ? src->n_segs : 1, sizeof *dst->segs);
    if (!dst->segs) {
        memset(dst, 0, sizeof *dst);
        return ND_ENOMEM;
    }
    for (uint32_t i = 0; i < src->n_segs; i++) {
        dst->segs[i] = src->segs[i];
        dst->segs[i].deleted = NULL;
        if (src->segs[i].deleted) {
            size_t words = ((size_t)src->segs[i].docs + 63) / 64;
            dst->segs[i].deleted = malloc(words * 8);
            if (!dst->segs[i].deleted) {
                dst->n_segs = i;
                manifest_free(dst);
                return ND_ENOMEM;
            }
            memcpy(dst->segs[i].deleted, src->segs[i].deleted, words * 8);
        }
    }
    return ND_OK;
}

void manifest_free(manifest *m)
{
    for (uint32_t i = 0; m->segs && i < m->n_segs; i++)
        free(m->segs[i].deleted);
    free(m->segs);
    memset(m, 0, sizeof *m);
}
