/*
 * jsonl.c - articles from JSON: one object (nd_writer_add_json) or a whole
 * JSON Lines file, plain or gzip, with bad lines reported and counted
 * (nd_writer_add_jsonl).
 */
#include <stdio.h>

#include "api/api.h"
#include "ingest/ingest.h"

#define PROGRESS_EVERY ((uint64_t)4 << 20)

int nd_writer_add_json(nd_writer *w, const char *json, size_t len)
{
    if (!w || (!json && len))
        return ND_EINVAL;
    nd_doc doc;
    char why[256];
    int rc = json_parse_article(json, len, &w->scratch, &doc, why, sizeof why);
    if (rc == ND_EINVAL)
        return err_set(&w->err, ND_EINVAL, "%s", why);
    if (rc)
        return err_set(&w->err, rc, "out of memory parsing JSON");
    return nd_writer_add(w, &doc);
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

int nd_writer_add_jsonl(nd_writer *w, const char *path, const nd_ingest_opts *opts,
                        nd_ingest_stats *stats)
{
    if (!w || !path || (opts && opts->version != ND_INGEST_OPTS_VERSION))
        return ND_EINVAL;
    nd_ingest_opts o = ND_INGEST_OPTS_INIT;
    if (opts)
        o = *opts;
    nd_ingest_stats local = {0};
    if (!stats)
        stats = &local;
    line_reader *r;
    int rc = line_reader_open(&r, path, &w->err);
    if (rc)
        return rc;
    uint64_t base_read = stats->bytes_read, last_report = 0;
    stats->bytes_total += line_reader_size(r);
    for (;;) {
        const char *line;
        size_t len;
        rc = line_reader_next(r, &line, &len, &w->err);
        if (rc == ND_DONE) {
            rc = ND_OK;
            break;
        }
        if (rc == ND_ELIMIT) {
            stats->lines++;
            stats->skipped++;
            rc = err_set(&w->err, ND_EINVAL, "line longer than %zu bytes", ND_MAX_LINE_BYTES);
        } else if (rc) {
            break;
        } else {
            stats->lines++;
            if (blank(line, len))
                continue;
            rc = nd_writer_add_json(w, line, len);
            if (rc == ND_OK)
                stats->added++;
            else if (rc == ND_EINVAL && !w->broken)
                stats->skipped++;
        }
        if (rc == ND_EINVAL && !w->broken) {
            if (o.on_error)
                o.on_error(o.ctx, path, line_reader_lineno(r), w->err.msg);
            if (o.strict) {
                char why[ND_ERRMSG_MAX];
                memcpy(why, w->err.msg, sizeof why);
                err_set(&w->err, ND_EINVAL, "%.200s:%llu: %.280s", path,
                        (unsigned long long)line_reader_lineno(r), why);
                break;
            }
            rc = ND_OK;
        }
        if (rc)
            break;
        stats->bytes_read = base_read + line_reader_offset(r);
        if (o.on_progress && stats->bytes_read - last_report >= PROGRESS_EVERY) {
            last_report = stats->bytes_read;
            o.on_progress(o.ctx, stats);
        }
    }
    stats->bytes_read = base_read + line_reader_offset(r);
    line_reader_close(r);
    if (o.on_progress)
        o.on_progress(o.ctx, stats);
    return rc;
}

