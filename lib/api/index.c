/*
 * index.c - the public nd_index calls: opening a snapshot of the last
 * commit, freeing it, its statistics and its analysis settings.
 */
#include <stdio.h>
#include <stdlib.h>

#include "index/index.h"

int nd_index_open(nd_index **out, const char *dir, const nd_open_opts *opts, char *errbuf,
                  size_t errlen)
{
    nd_err e = {{0}};
    int rc;
    if (errbuf && errlen)
        errbuf[0] = 0;
    if (!out)
        return ND_EINVAL;
    *out = NULL;
    if (!dir || (opts && opts->version != ND_OPEN_OPTS_VERSION)) {
        rc = err_set(&e, ND_EINVAL, "invalid arguments");
        goto done;
    }
    nd_index *ix = calloc(1, sizeof *ix);
    if (!ix) {
        rc = err_set(&e, ND_ENOMEM, "out of memory");
        goto done;
    }
    rc = snapshot_open(ix, dir, opts ? opts->skip_checksums : 0, NULL, &e);
    if (rc)
        free(ix);
    else
        *out = ix;
done:
    if (rc && errbuf && errlen)
        snprintf(errbuf, errlen, "%s", e.msg[0] ? e.msg : nd_strerror(rc));
    return rc;
}

int nd_index_reopen(nd_index **out, const nd_index *ix, char *errbuf, size_t errlen)
{
    nd_err e = {{0}};
    int rc;
    if (errbuf && errlen)
        errbuf[0] = 0;
    if (!out || !ix)
        return ND_EINVAL;
    *out = NULL;
    uint64_t gen;
    rc = manifest_generation(ix->dir, &gen, &e);
    if (rc == ND_OK && gen == ix->man.generation)
        return ND_OK;
    nd_index *nx = calloc(1, sizeof *nx);
    if (!nx) {
        rc = err_set(&e, ND_ENOMEM, "out of memory");
    } else if (rc == ND_OK) {
        rc = snapshot_open(nx, ix->dir, 0, ix, &e);
        if (rc == ND_OK && nx->man.generation == ix->man.generation) {
            snapshot_close(nx); /* raced back to the same commit */
            free(nx);
            nx = NULL;
        }
    }
    if (rc) {
        free(nx);
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s", e.msg[0] ? e.msg : nd_strerror(rc));
        return rc;
    }
    *out = nx;
    return ND_OK;
}

void nd_index_free(nd_index *ix)
{
    if (!ix)
        return;
    snapshot_close(ix);
    free(ix);
}

void nd_index_stats_get(const nd_index *ix, nd_index_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!ix)
        return;
    out->docs = ix->live_docs;
    out->segments = ix->man.n_segs;
    out->generation = ix->man.generation;
    for (uint32_t i = 0; i < ix->man.n_segs; i++) {
        const segment *s = &ix->segs[i];
        out->terms += s->n_terms;
        out->bytes_terms += s->meta.size[0];
        out->bytes_postings += s->meta.size[1];
        out->bytes_positions += s->meta.size[2];
        out->bytes_columns += s->meta.size[3];
        out->bytes_stored += s->meta.size[4];
    }
    const char *others[] = {CATALOG_NAME, CATALOG_NAME "-wal", MANIFEST_NAME};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", ix->dir, others[i]);
        long long n = file_size(path);
        out->bytes_other += n > 0 ? (uint64_t)n : 0;
    }
}

int nd_index_segment_get(const nd_index *ix, size_t i, nd_segment_info *out)
{
    if (!ix || !out || i >= ix->man.n_segs)
        return ND_EINVAL;
    const segment *s = &ix->segs[i];
    out->number = s->meta.number;
    out->docs = s->docs;
    out->deleted = s->n_deleted;
    out->bytes = 0;
    for (int k = 0; k < FILE_KINDS; k++)
        out->bytes += s->meta.size[k];
    return ND_OK;
}

const char *nd_index_setting(const nd_index *ix, const char *key)
{
    if (!ix || !key)
        return NULL;
    if (strcmp(key, "analyzer.stemmer") == 0)
        return ix->man.settings.stemmer;
    if (strcmp(key, "analyzer.stopwords") == 0)
        return ix->man.settings.stopwords;
    if (strcmp(key, "analyzer.version") == 0)
        return "1"; /* every index so far, with settings or without */
    return NULL;
}
