/*
 * catalog.c - the commit point of an index: a SQLite database (WAL mode,
 * synchronous=FULL) that names the live segments of the last commit, their
 * document counts, file sizes and checksums, and their deletions. A commit
 * is one SQLite transaction, so readers see the whole of a commit or none
 * of it; segment files are made durable before the transaction that names
 * them. docs/FORMAT.md gives the schema and the protocol.
 *
 * The analysis settings of an index (stemmer, stop list) are fixed when it
 * is created: the first commit writes them to the `settings` table and
 * stamps the catalog version 2, so that a library that cannot honour them
 * refuses the index instead of analysing its queries differently. An
 * index without settings keeps the version 1 schema.
 */
#include <ctype.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index/index.h"

#define CATALOG_APP_ID 0x4E444458 /* "NDDX" */
#define CATALOG_VERSION 2         /* PRAGMA user_version of an index with settings */
#define CATALOG_VERSION_PLAIN 1   /* ... of one without (no stemmer, no stop list) */
#define ANALYZER_VERSION "1"      /* settings key analyzer.version */
#define BUSY_TIMEOUT_MS 10000

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " generation INTEGER NOT NULL,"
    " next_segment INTEGER NOT NULL,"
    " committed_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS segments ("
    " number INTEGER PRIMARY KEY,"
    " docs INTEGER NOT NULL,"
    " deleted INTEGER NOT NULL,"
    " deletions BLOB,"
    " tdx_size INTEGER NOT NULL, tdx_crc INTEGER NOT NULL,"
    " doc_size INTEGER NOT NULL, doc_crc INTEGER NOT NULL,"
    " pos_size INTEGER NOT NULL, pos_crc INTEGER NOT NULL,"
    " col_size INTEGER NOT NULL, col_crc INTEGER NOT NULL,"
    " sto_size INTEGER NOT NULL, sto_crc INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS commits ("
    " generation INTEGER PRIMARY KEY,"
    " committed_at INTEGER NOT NULL,"
    " segments INTEGER NOT NULL,"
    " docs INTEGER NOT NULL,"
    " deleted INTEGER NOT NULL);";

/* Created, with its rows, only in catalogs of version 2. */
static const char SETTINGS_SCHEMA[] =
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

static int db_error(nd_err *e, sqlite3 *db, const char *what)
{
    int code = sqlite3_errcode(db);
    int rc = (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) ? ND_ECORRUPT
             : code == SQLITE_NOMEM                             ? ND_ENOMEM
             : code == SQLITE_BUSY                              ? ND_EBUSY
                                                                : ND_EIO;
    return err_set(e, rc, "%s: %s: %s", CATALOG_NAME, what, sqlite3_errmsg(db));
}

/* True when this process may not create files in dir (a read-only
 * directory or file system) and no write-ahead log sits next to the
 * catalog at path. */
static int readonly_dir(const char *dir, const char *path)
{
    char wal[4300];
    struct stat st;
    snprintf(wal, sizeof wal, "%s-wal", path);
    return access(dir, W_OK) != 0 && (errno == EACCES || errno == EROFS || errno == EPERM) &&
           stat(wal, &st) != 0;
}

static int db_open(sqlite3 **db, const char *dir, int create, nd_err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, CATALOG_NAME);
    *db = NULL;
    if (!create) {
        struct stat st;
        if (stat(path, &st) != 0)
            return err_set(e, ND_ENOTFOUND, "%s: no index here", dir);
    }
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
    char uri[3 * sizeof path + 32];
    const char *name = path;
    if (!create && readonly_dir(dir, path)) {
        /* SQLite cannot create the -wal and -shm files a WAL database is
         * read through; with no -wal file the database file alone holds the
         * last commit, so it is read as an immutable file */
        size_t n = (size_t)snprintf(uri, sizeof uri, "file:");
        for (const unsigned char *c = (const unsigned char *)path; *c; c++)
            n += (size_t)snprintf(uri + n, sizeof uri - n,
                                  isalnum(*c) || strchr("/._-~", *c) ? "%c" : "%%%02X", *c);
        snprintf(uri + n, sizeof uri - n, "?immutable=1");
        flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX;
        name = uri;
    }
    if (sqlite3_open_v2(name, db, flags, NULL) != SQLITE_OK) {
        int rc = *db ? db_error(e, *db, "open") : err_set(e, ND_ENOMEM, "out of memory");
        sqlite3_close(*db);
        *db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
    return ND_OK;
}

static int pragma_int(sqlite3 *db, const char *sql, int *out, nd_err *e)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(e, db, "not a catalog");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    else
        rc = db_error(e, db, "read");
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? ND_OK : rc;
}

/* Checks the file is our catalog, of a version we read (*version). */
static int db_check(sqlite3 *db, int *version, nd_err *e)
{
    int app, ver, rc;
    /* Any failure here is an error, never "no index": a writer that took
     * an unreadable catalog for an empty one would delete every segment. */
    if ((rc = pragma_int(db, "PRAGMA application_id", &app, e)) ||
        (rc = pragma_int(db, "PRAGMA user_version", &ver, e)))
        return rc;
    /* The first commit stamps the id and version in the transaction that
     * creates the schema: a file read without them has no commit yet (it
     * is being created). */
    if (app == 0 || (ver == 0 && app == CATALOG_APP_ID))
        return err_set(e, ND_ENOTFOUND, "%s: no commit yet", CATALOG_NAME);
    if (app != CATALOG_APP_ID)
        return err_set(e, ND_ECORRUPT, "%s: not a newsdex catalog", CATALOG_NAME);
    if (ver != CATALOG_VERSION && ver != CATALOG_VERSION_PLAIN)
        return err_set(e, ND_EVERSION, "%s: catalog version %d, this library reads %d and %d",
                       CATALOG_NAME, ver, CATALOG_VERSION_PLAIN, CATALOG_VERSION);
    *version = ver;
    return ND_OK;
}

/* Copies one analyzer.* value into dst after checking this library can
 * analyse with it: an index analysed in a way we cannot repeat is refused
 * (ND_EVERSION), never searched with a different analysis. */
static int setting_value(char *dst, const char *key, const char *v, nd_err *e)
{
    int known = 1;
    if (strcmp(key, "analyzer.stemmer") == 0)
        known = !*v || stemmer_known(v);
    else
        stoplist_find(v, &known);
    size_t len = strlen(v);
    if (!known || len >= ND_SETTING_BYTES)
        return err_set(e, ND_EVERSION,
                       "%s: the index uses %s '%.64s', which this library does not have",
                       CATALOG_NAME, key, v);
    memcpy(dst, v, len + 1);
    return ND_OK;
}

/* Reads the settings table of a version 2 catalog into *out. */
static int read_settings(sqlite3 *db, analysis_settings *out, nd_err *e)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db, "SELECT key, value FROM settings", -1, &st, NULL) != SQLITE_OK)
        return sqlite3_errcode(db) == SQLITE_ERROR
                   ? err_set(e, ND_ECORRUPT, "%s: version 2 without a settings table", CATALOG_NAME)
                   : db_error(e, db, "read");
    int rc = ND_OK, step = SQLITE_DONE, has_version = 0;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        const char *v = (const char *)sqlite3_column_text(st, 1);
        if (!k || !v) {
            rc = err_set(e, ND_ECORRUPT, "%s: bad settings row", CATALOG_NAME);
        } else if (strcmp(k, "analyzer.version") == 0) {
            has_version = 1;
            if (strcmp(v, ANALYZER_VERSION) != 0)
                rc = err_set(e, ND_EVERSION, "%s: analyzer version '%.32s', this library has %s",
                             CATALOG_NAME, v, ANALYZER_VERSION);
        } else if (strcmp(k, "analyzer.stemmer") == 0) {
            rc = setting_value(out->stemmer, k, v, e);
        } else if (strcmp(k, "analyzer.stopwords") == 0) {
            rc = setting_value(out->stopwords, k, v, e);
        } else if (strncmp(k, "analyzer.", 9) == 0) {
            /* a future analysis step: queries cannot be analysed as documents were */
            rc = err_set(e, ND_EVERSION, "%s: unknown setting '%.64s'", CATALOG_NAME, k);
        } /* other keys are reserved for settings that do not change reading */
    }
    if (!rc && step != SQLITE_DONE)
        rc = db_error(e, db, "read");
    if (!rc && !has_version)
        rc = err_set(e, ND_ECORRUPT, "%s: settings without analyzer.version", CATALOG_NAME);
    sqlite3_finalize(st);
    return rc;
}

/* Writes the settings rows of a new version 2 catalog. */
static int write_settings(sqlite3 *db, const analysis_settings *s, nd_err *e)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO settings VALUES (?1, ?2)", -1, &st, NULL) != SQLITE_OK)
        return db_error(e, db, "write");
    const char *rows[3][2] = {{"analyzer.version", ANALYZER_VERSION},
                              {"analyzer.stemmer", s->stemmer},
                              {"analyzer.stopwords", s->stopwords}};
    int rc = ND_OK;
    for (int i = 0; i < 3 && !rc; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, rows[i][0], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, rows[i][1], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = db_error(e, db, "write");
    }
    sqlite3_finalize(st);
    return rc;
}

static int read_segments(sqlite3 *db, manifest *m, nd_err *e)
{
    sqlite3_stmt *st;
    int rc = ND_OK;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM segments", -1, &st, NULL) != SQLITE_OK)
        return db_error(e, db, "read");
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (n < 0 || n > (1 << 24))
        return err_set(e, ND_ECORRUPT, "%s: bad segment count", CATALOG_NAME);
    m->segs = calloc(n ? (size_t)n : 1, sizeof *m->segs);
    if (!m->segs)
        return err_set(e, ND_ENOMEM, "out of memory");
    if (sqlite3_prepare_v2(db,
                           "SELECT number, docs, deleted, deletions, tdx_size, tdx_crc, doc_size,"
                           " doc_crc, pos_size, pos_crc, col_size, col_crc, sto_size, sto_crc"
                           " FROM segments ORDER BY number",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(e, db, "read");
    uint32_t i = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && i < (uint32_t)n) {
        seg_meta *s = &m->segs[i];
        int64_t num = sqlite3_column_int64(st, 0), docs = sqlite3_column_int64(st, 1),
                del = sqlite3_column_int64(st, 2);
        if (num <= 0 || (uint64_t)num >= m->next_seg || docs < 0 || docs > ND_MAX_SEG_DOCS ||
            del < 0 || del > docs) {
            rc = err_set(e, ND_ECORRUPT, "%s: bad segment row", CATALOG_NAME);
            break;
        }
        s->number = (uint64_t)num;
        s->docs = (uint32_t)docs;
        s->n_deleted = (uint32_t)del;
        for (int k = 0; k < FILE_KINDS; k++) {
            int64_t size = sqlite3_column_int64(st, 4 + 2 * k);
            int64_t crc = sqlite3_column_int64(st, 5 + 2 * k);
            if (size < FRAME_HEADER + FRAME_FOOTER || crc < 0 || crc > UINT32_MAX) {
                rc = err_set(e, ND_ECORRUPT, "%s: bad file entry", CATALOG_NAME);
                break;
            }
            s->size[k] = (uint64_t)size;
            s->crc[k] = (uint32_t)crc;
        }
        if (rc)
            break;
        i++; /* counted now, so manifest_free frees the bitmap below on failure */
        if (del > 0) {
            size_t words = ((size_t)docs + 63) / 64;
            const void *blob = sqlite3_column_blob(st, 3);
            if (!blob || (size_t)sqlite3_column_bytes(st, 3) != words * 8) {
                rc = err_set(e, ND_ECORRUPT, "%s: bad deletions of segment %lld", CATALOG_NAME,
                             (long long)num);
                break;
            }
            s->deleted = malloc(words * 8);
            if (!s->deleted) {
                rc = err_set(e, ND_ENOMEM, "out of memory");
                break;
            }
            /* bitmaps are stored as little-endian u64 words */
            const uint8_t *b = blob;
            for (size_t w = 0; w < words; w++)
                s->deleted[w] = ld_u64(b + 8 * w);
            uint64_t count = bits_count(s->deleted, words);
            if (count != (uint64_t)del || (docs % 64 && s->deleted[words - 1] >> (docs % 64))) {
                rc = err_set(e, ND_ECORRUPT, "%s: deletions of segment %lld do not add up",
                             CATALOG_NAME, (long long)num);
                break;
            }
        }
    }
    m->n_segs = i;
    if (!rc && (step == SQLITE_ROW || i != (uint32_t)n))
        rc = err_set(e, ND_ECORRUPT, "%s: segment rows changed while reading", CATALOG_NAME);
    if (!rc && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = db_error(e, db, "read");
    sqlite3_finalize(st);
    return rc;
}

int manifest_read(manifest *m, const char *dir, nd_err *e)
{
    memset(m, 0, sizeof *m);
    sqlite3 *db;
    int rc = db_open(&db, dir, 0, e);
    if (rc == ND_ENOTFOUND) {
        rc = manifest_read_legacy(m, dir, e);
        if (rc == ND_ENOTFOUND)
            err_set(e, ND_ENOTFOUND, "%s: no index here", dir);
        return rc;
    }
    if (rc)
        return rc;
    int ver = 0;
    if ((rc = db_check(db, &ver, e)))
        goto out;
    /* one read transaction: the state and the segments of the same commit */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_error(e, db, "begin");
        goto out;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT generation, next_segment FROM state WHERE id = 1", -1,
                           &st, NULL) != SQLITE_OK) {
        rc = db_error(e, db, "read");
        goto end;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        int64_t g = sqlite3_column_int64(st, 0), next = sqlite3_column_int64(st, 1);
        if (g < 1 || next < 1)
            rc = err_set(e, ND_ECORRUPT, "%s: bad state row", CATALOG_NAME);
        m->generation = (uint64_t)g;
        m->next_seg = (uint64_t)next;
    } else {
        /* the schema and the state row are created by one transaction */
        rc = err_set(e, ND_ECORRUPT, "%s: catalog without a state row", CATALOG_NAME);
    }
    sqlite3_finalize(st);
    if (!rc && ver == CATALOG_VERSION)
        rc = read_settings(db, &m->settings, e);
    if (!rc)
        rc = read_segments(db, m, e);
end:
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
out:
    sqlite3_close(db);
    if (rc)
        manifest_free(m);
    return rc;
}

int manifest_generation(const char *dir, uint64_t *gen, nd_err *e)
{
    manifest m;
    sqlite3 *db;
    int rc = db_open(&db, dir, 0, e);
    if (rc == ND_ENOTFOUND) {
        rc = manifest_read_legacy(&m, dir, e);
        if (!rc)
            *gen = m.generation;
        manifest_free(&m);
        return rc;
    }
    if (rc)
        return rc;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT generation FROM state WHERE id = 1", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = db_error(e, db, "read");
    } else {
        rc = sqlite3_step(st) == SQLITE_ROW ? ND_OK : err_set(e, ND_ENOTFOUND, "no commit yet");
        if (!rc)
            *gen = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return rc;
}

static int exec(sqlite3 *db, const char *sql, nd_err *e)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(e, db, "write");
    return ND_OK;
}

int manifest_write(const manifest *m, const char *dir, nd_err *e)
{
    sqlite3 *db;
    int rc = db_open(&db, dir, 1, e);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    uint8_t *blob = NULL;
    if ((rc = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", e)) ||
        (rc = exec(db, "BEGIN IMMEDIATE", e)))
        goto out;
    /* a fresh file gets the schema; an existing one must be ours */
    sqlite3_stmt *v;
    int ver = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &v, NULL) == SQLITE_OK) {
        if (sqlite3_step(v) == SQLITE_ROW)
            ver = sqlite3_column_int(v, 0);
        sqlite3_finalize(v);
    }
    int plain = analysis_settings_none(&m->settings);
    if (ver == 0) {
        /* a new catalog: schema, identity, version and settings in the
         * first commit */
        char sql[128];
        snprintf(sql, sizeof sql, "PRAGMA application_id=%d; PRAGMA user_version=%d",
                 CATALOG_APP_ID, plain ? CATALOG_VERSION_PLAIN : CATALOG_VERSION);
        if ((rc = exec(db, SCHEMA, e)) ||
            (!plain && ((rc = exec(db, SETTINGS_SCHEMA, e)) ||
                        (rc = write_settings(db, &m->settings, e)))) ||
            (rc = exec(db, sql, e)))
            goto rollback;
    } else if (ver != CATALOG_VERSION && ver != CATALOG_VERSION_PLAIN) {
        rc = err_set(e, ND_EVERSION, "%s: catalog version %d", CATALOG_NAME, ver);
        goto rollback;
    } else if (ver == CATALOG_VERSION_PLAIN && !plain) {
        /* the writer checks this when it opens; settings never change */
        rc = err_set(e, ND_EINVAL, "%s: the index was created without analysis settings",
                     CATALOG_NAME);
        goto rollback;
    }
    int64_t now = (int64_t)time(NULL);
    uint64_t docs = 0, deleted = 0;
    if ((rc = exec(db, "DELETE FROM segments", e)))
        goto rollback;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO segments VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
                           " ?11, ?12, ?13, ?14)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(e, db, "write");
        goto rollback;
    }
    for (uint32_t i = 0; i < m->n_segs; i++) {
        const seg_meta *s = &m->segs[i];
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, (int64_t)s->number);
        sqlite3_bind_int64(st, 2, s->docs);
        sqlite3_bind_int64(st, 3, s->n_deleted);
        if (s->n_deleted > 0 && s->deleted) {
            size_t words = ((size_t)s->docs + 63) / 64;
            uint8_t *b = realloc(blob, words * 8);
            if (!b) {
                rc = err_set(e, ND_ENOMEM, "out of memory");
                goto rollback;
            }
            blob = b;
            for (size_t w = 0; w < words; w++)
                st_u64(blob + 8 * w, s->deleted[w]);
            sqlite3_bind_blob(st, 4, blob, (int)(words * 8), SQLITE_TRANSIENT);
        }
        for (int k = 0; k < FILE_KINDS; k++) {
            sqlite3_bind_int64(st, 5 + 2 * k, (int64_t)s->size[k]);
            sqlite3_bind_int64(st, 6 + 2 * k, s->crc[k]);
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = db_error(e, db, "write");
            goto rollback;
        }
        docs += s->docs;
        deleted += s->n_deleted;
    }
    sqlite3_finalize(st);
    st = NULL;
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT OR REPLACE INTO state VALUES (1, %llu, %llu, %lld);"
             "INSERT OR REPLACE INTO commits VALUES (%llu, %lld, %u, %llu, %llu);",
             (unsigned long long)m->generation, (unsigned long long)m->next_seg, (long long)now,
             (unsigned long long)m->generation, (long long)now, m->n_segs,
             (unsigned long long)docs, (unsigned long long)deleted);
    if ((rc = exec(db, sql, e)) || (rc = exec(db, "COMMIT", e)))
        goto rollback;
    goto out;
rollback:
    sqlite3_finalize(st);
    st = NULL;
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
    sqlite3_finalize(st);
    free(blob);
    if (sqlite3_close(db) != SQLITE_OK && !rc)
        rc = err_set(e, ND_EIO, "%s: close failed", CATALOG_NAME);
    return rc;
}
