/*
 * nd-inspect.c - dumps what is inside an index directory, file by file, for
 * debugging the format: the manifest, each segment's frame and counts (and
 * whether its .col has the id column), its term dictionary (with document
 * frequencies), and a stored article with its column values.
 * Built against the internal headers, so it shows exactly what the reader
 * sees; not installed.
 *
 *   nd-inspect DIR                    manifest and segment summary
 *   nd-inspect DIR terms [PREFIX]     dictionary entries (field:term df cf)
 *   nd-inspect DIR doc N              stored article number N (global)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/index.h"

static const char *const FIELD_NAMES[N_FIELDS] = {"title", "body", "url", "source", "lang", "id"};

static void summary(const nd_index *ix)
{
    printf("generation %" PRIu64 ", next segment %" PRIu64 ", %u segments, %" PRIu64
           " documents\n",
           ix->man.generation, ix->man.next_seg, ix->man.n_segs, ix->docs);
    for (uint32_t i = 0; i < ix->man.n_segs; i++) {
        const segment *s = &ix->segs[i];
        printf("seg-%" PRIu64 ": %u docs, %" PRIu64 " terms in %u blocks, %u stored blocks\n",
               s->meta.number, s->docs, s->n_terms, s->n_tblocks, s->n_sblocks);
        for (int k = 0; k < FILE_KINDS; k++)
            printf("  .%s %12" PRIu64 " bytes  crc32 %08x\n", seg_exts[k], s->meta.size[k],
                   s->meta.crc[k]);
        for (int f = 0; f < N_TEXT_FIELDS; f++)
            printf("  %-5s total length %" PRIu64 "\n", FIELD_NAMES[f], s->sum_len[f]);
        printf("  .col version %u: ", (unsigned)ld_u16(s->map[FILE_COL].data + 4));
        if (s->id_off)
            printf("id column of %u bytes\n", ld_u32(s->id_off + (size_t)s->docs * 4));
        else
            printf("no id column (ids come from the stored records)\n");
    }
}

static int terms(const nd_index *ix, const char *prefix)
{
    nd_err e = {{0}};
    for (uint32_t i = 0; i < ix->man.n_segs; i++) {
        term_iter it;
        uint8_t from[1] = {0};
        if (term_iter_seek(&it, &ix->segs[i], from, 1, &e))
            goto bad;
        int rc;
        while ((rc = term_iter_next(&it, &e)) == ND_OK) {
            const char *t = (const char *)it.key + 1;
            size_t n = it.klen - 1;
            if (prefix && (n < strlen(prefix) || memcmp(t, prefix, strlen(prefix)) != 0))
                continue;
            printf("seg-%" PRIu64 " %s:%.*s df=%u cf=%" PRIu64 "\n", ix->segs[i].meta.number,
                   it.key[0] < N_FIELDS ? FIELD_NAMES[it.key[0]] : "?", (int)n, t, it.ti.df,
                   it.ti.cf);
        }
        if (rc != ND_DONE)
            goto bad;
    }
    return 0;
bad:
    fprintf(stderr, "nd-inspect: %s\n", e.msg);
    return 1;
}

static int doc(const nd_index *ix, uint64_t g)
{
    if (g >= ix->docs) {
        fprintf(stderr, "nd-inspect: no document %" PRIu64 "\n", g);
        return 1;
    }
    nd_err e = {{0}};
    uint32_t local, si = snapshot_locate(ix, g, &local);
    nd_buf block = {0};
    uint32_t cached = UINT32_MAX;
    stored_doc sd;
    if (segment_stored(&ix->segs[si], local, &block, &cached, &sd, &e)) {
        fprintf(stderr, "nd-inspect: %s\n", e.msg);
        buf_free(&block);
        return 1;
    }
    static const char *const names[SF_COUNT] = {"id", "title", "body", "source", "url", "lang"};
    for (int f = 0; f < SF_COUNT; f++)
        printf("%s: %.*s\n", names[f], (int)sd.len[f], sd.f[f]);
    char date[40] = "none";
    nd_date_format(date, sizeof date, segment_date(&ix->segs[si], local));
    printf("date: %s\n", date);
    for (int f = 0; f < N_TEXT_FIELDS; f++)
        printf("%s length: %u\n", FIELD_NAMES[f], segment_len(&ix->segs[si], f, local));
    const segment *s = &ix->segs[si];
    if (s->id_off) {
        const uint8_t *o = s->id_off + (size_t)local * 4;
        uint32_t a = ld_u32(o), b = ld_u32(o + 4);
        printf("id column: %.*s\n", (int)(b - a), (const char *)s->ids + a);
    }
    buf_free(&block);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fputs("usage: nd-inspect DIR [terms [PREFIX] | doc N]\n", argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    nd_index ix;
    nd_err e = {{0}};
    int rc = snapshot_open(&ix, argv[1], 0, NULL, &e);
    if (rc) {
        fprintf(stderr, "nd-inspect: %s\n", e.msg);
        return 1;
    }
    int code = 0;
    if (argc == 2)
        summary(&ix);
    else if (strcmp(argv[2], "terms") == 0)
        code = terms(&ix, argc > 3 ? argv[3] : NULL);
    else if (strcmp(argv[2], "doc") == 0 && argc > 3)
        code = doc(&ix, strtoull(argv[3], NULL, 10));
    else {
        fputs("usage: nd-inspect DIR [terms [PREFIX] | doc N]\n", stderr);
        code = 2;
    }
    snapshot_close(&ix);
    return code;
}
