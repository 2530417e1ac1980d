/*
 * fuzz_jsonl.c - JSON Lines ingest. The input is written to a file and
 * ingested with nd_writer_add_jsonl into a fresh index, then committed
 * (gzip is detected from the content, so inputs starting with 1f 8b go
 * through the gzip path, truncated streams included). Each line is also
 * given to json_parse_article directly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ingest/ingest.h"
#include "newsdex.h"

static char g_root[1024];
static int g_ready;

static void cleanup(void)
{
    char p[1100];
    snprintf(p, sizeof p, "%s/index", g_root);
    fz_rm_dir(p);
    fz_rm_dir(g_root);
}

static void on_error(void *ctx, const char *file, uint64_t line, const char *reason)
{
    (void)file;
    (void)line;
    FZ_CHECK(reason != NULL);
    (*(unsigned long *)ctx)++;
}

static void parse_lines(const uint8_t *data, size_t size)
{
    nd_buf scratch = {0};
    char err[256];
    size_t start = 0;
    while (start <= size) {
        const uint8_t *nl = start < size ? memchr(data + start, '\n', size - start) : NULL;
        size_t end = nl ? (size_t)(nl - data) : size;
        /* An exact-size copy of the line, so reads past it are caught. */
        size_t len = end - start;
        char *line = malloc(len ? len : 1);
        FZ_CHECK(line != NULL);
        if (len)
            memcpy(line, data + start, len);
        nd_doc doc;
        err[0] = '\0';
        int rc = json_parse_article(line, len, &scratch, &doc, err, sizeof err);
        FZ_CHECK(rc == ND_OK || rc == ND_EINVAL || rc == ND_ENOMEM);
        if (rc == ND_OK) {
            FZ_CHECK(doc.id != NULL && doc.id_len > 0);
            fz_touch(doc.id, doc.id_len);
            fz_touch(doc.title, doc.title_len);
            fz_touch(doc.body, doc.body_len);
            fz_touch(doc.source, doc.source_len);
            fz_touch(doc.url, doc.url_len);
            fz_touch(doc.lang, doc.lang_len);
        } else if (rc == ND_EINVAL) {
            FZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err) != NULL);
        }
        free(line);
        if (!nl)
            break;
        start = end + 1;
    }
    buf_free(&scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    if (!g_ready) {
        fz_make_tempdir(g_root, sizeof g_root, "fuzz-jsonl");
        atexit(cleanup);
        g_ready = 1;
    }
    parse_lines(data, size);

    char input[1100], dir[1100];
    snprintf(input, sizeof input, "%s/input.jsonl", g_root);
    snprintf(dir, sizeof dir, "%s/index", g_root);
    FZ_CHECK(fz_write_file(input, data, size) == 0);

    nd_writer *w = NULL;
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    wo.merge_factor = 1;
    int rc = nd_writer_open(&w, dir, &wo);
    FZ_CHECK(rc == ND_OK);
    unsigned long errors = 0;
    nd_ingest_opts io = ND_INGEST_OPTS_INIT;
    io.on_error = on_error;
    io.ctx = &errors;
    nd_ingest_stats st;
    memset(&st, 0, sizeof st);
    rc = nd_writer_add_jsonl(w, input, &io, &st);
    FZ_CHECK(rc == ND_OK || rc == ND_EIO || rc == ND_ELIMIT);
    FZ_CHECK(st.skipped == errors);
    FZ_CHECK(st.added + st.skipped <= st.lines);
    rc = nd_writer_commit(w);
    FZ_CHECK(rc == ND_OK);
    nd_writer_free(w);

    /* Read back what was committed. */
    nd_index *ix = NULL;
    rc = nd_index_open(&ix, dir, NULL, NULL, 0);
    FZ_CHECK(rc == ND_OK || rc == ND_ENOTFOUND);
    if (ix) {
        nd_index_stats is;
        nd_index_stats_get(ix, &is);
        FZ_CHECK(is.docs <= st.added);
        nd_index_free(ix);
    }
    fz_clear_dir(dir);
    return 0;
}
