/*
 * check.c - the integrity checker (check.h): the catalog, then every file
 * and every structural invariant of every segment of the last commit, then
 * the directory for files the commit does not name.
 *
 * The segment files are decoded by the readers the queries use: frame_check
 * for headers and footers, segment_open for the columns, the dictionary's
 * block index and the stored-block index, term_iter for every dictionary
 * entry, pcursor for every postings block and its positions. On top of what
 * those check, this file verifies what readers take on trust (FORMAT.md
 * section 10, "Not checked"): the CRC of every file against its footer and
 * the catalog, term and postings data that are contiguous and cover their
 * files, cf against the sum of tf, skip-table max_tf and min_len against
 * their blocks, one tf per keyword, field lengths (.col) against the sum of
 * their terms' tf per document and against the totals, no two terms at one
 * position of a field, exactly one id term per document equal to its
 * stored id (and to its entry in the id column of a version 2 .col), and
 * stored blocks that inflate to exactly the records of their documents.
 *
 * Work is one pass over each file; memory is a few per-document counters
 * and one bit per token position of one segment at a time, and one 64 KiB
 * inflate buffer. A damaged part is reported and skipped: the walk
 * resynchronises at the next dictionary block, the next term or the next
 * stored block.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "index/check.h"

#define CHECK_RETRIES 20        /* restarts when a commit replaced the files */
#define CATALOG_ID 0x4E444458   /* PRAGMA application_id "NDDX" */
#define MAX_CATALOG_ROWS (1 << 24)
#define INFLATE_CHUNK (64u << 10)
/* Dates nd_date_parse and nd_date_format handle: years 0001..9999 */
#define DATE_MIN (-62135596800LL)
#define DATE_MAX 253402300799LL

static const char *const MAGICS[FILE_KINDS] = {"NDTD", "NDPO", "NDPS", "NDCL", "NDST"};
static const char *const FIELD_NAMES[N_FIELDS] = {"title", "body", "url", "source", "lang", "id"};

/* The CRC-32 of n bytes by zlib: the check computes checksums with another
 * implementation than the readers (crc32_update), as it inflates stored
 * blocks with another decoder. */
static uint32_t zlib_crc32_from(uint32_t crc, const uint8_t *p, size_t n)
{
    uLong c = crc;
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

static uint32_t zlib_crc32(const uint8_t *p, size_t n)
{
    return zlib_crc32_from(0, p, n);
}

typedef struct checker {
    const char *dir;
    check_result *r;
    int legacy;   /* layout-1 MANIFEST: no id field, no deletions */
    int missing;  /* a file the commit names was not found */
    int listed;   /* every segment row was read: strays can be told apart */
    uint64_t *named; /* numbers of every segment row, usable or not */
    uint32_t n_named;
    int oom;      /* a problem could not be recorded */
} checker;

/* ---- recording problems --------------------------------------------------- */

static size_t utf8_seq(const uint8_t *s, size_t n);

static void vproblem(checker *c, int sev, const char *file, uint64_t seg, uint64_t off,
                     const char *fmt, va_list ap)
{
    check_result *r = c->r;
    if (sev == ND_CHECK_ERROR)
        r->sum.errors++;
    else
        r->sum.warnings++;
    if (r->n >= r->max)
        return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        if (cap > r->max)
            cap = r->max;
        check_problem *p = realloc(r->problems, cap * sizeof *p);
        if (!p) {
            c->oom = 1;
            return;
        }
        r->problems = p;
        r->cap = cap;
    }
    check_problem *p = &r->problems[r->n++];
    p->severity = sev;
    snprintf(p->file, sizeof p->file, "%s", file ? file : "");
    p->segment = seg;
    p->offset = off;
    int n = vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    for (char *q = p->msg; *q; q++) /* one line (SQLite's messages have several) */
        if ((uint8_t)*q < 0x20 || *q == 0x7f)
            *q = ' ';
    if (n >= (int)sizeof p->msg) {
        /* cut short: do not leave half a UTF-8 sequence at the end */
        size_t end = sizeof p->msg - 1, start = end;
        while (start > 0 && ((uint8_t)p->msg[start - 1] & 0xC0) == 0x80 && end - start < 3)
            start--;
        if (start > 0 && (uint8_t)p->msg[start - 1] >= 0xC0 &&
            utf8_seq((const uint8_t *)p->msg + start - 1, end - start + 1) == 0)
            p->msg[start - 1] = 0;
    }
}

static void problem(checker *c, int sev, const char *file, uint64_t seg, uint64_t off,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void problem(checker *c, int sev, const char *file, uint64_t seg, uint64_t off,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vproblem(c, sev, file, seg, off, fmt, ap);
    va_end(ap);
}

/* A problem in file `kind` of segment `seg`. */
static void seg_problem(checker *c, int sev, uint64_t seg, int kind, uint64_t off,
                        const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void seg_problem(checker *c, int sev, uint64_t seg, int kind, uint64_t off,
                        const char *fmt, ...)
{
    char name[48];
    seg_file_name(name, sizeof name, seg, kind);
    va_list ap;
    va_start(ap, fmt);
    vproblem(c, sev, name, seg, off, fmt, ap);
    va_end(ap);
}

/* A reader's message "seg-N.ext: what": the file kind it names (or -1) and
 * the text after the file name (and after `strip`, when it follows). */
static const char *reader_msg(const char *msg, uint64_t seg, const char *strip, int *kind)
{
    *kind = -1;
    for (int k = 0; k < FILE_KINDS; k++) {
        char name[48];
        seg_file_name(name, sizeof name, seg, k);
        size_t n = strlen(name);
        if (strncmp(msg, name, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') {
            *kind = k;
            msg += n + 2;
            break;
        }
    }
    if (strip && strncmp(msg, strip, strlen(strip)) == 0)
        msg += strlen(strip);
    return msg;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if none. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    unsigned c = s[0], min;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x7Fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    return cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ? 0 : len;
}

/* A term key for messages: field:"term", with quotes, backslashes, control
 * bytes and invalid UTF-8 escaped, cut after about 60 bytes. */
static void fmt_key(char *out, size_t cap, const uint8_t *key, size_t klen)
{
    size_t o = 0;
    if (klen == 0) {
        snprintf(out, cap, "(empty key)");
        return;
    }
    if (key[0] < N_FIELDS)
        o = (size_t)snprintf(out, cap, "%s:\"", FIELD_NAMES[key[0]]);
    else
        o = (size_t)snprintf(out, cap, "field%u:\"", key[0]);
    for (size_t i = 1; i < klen && o + 16 < cap;) {
        if (i > 60) {
            o += (size_t)snprintf(out + o, cap - o, "...");
            break;
        }
        uint8_t b = key[i];
        size_t l = utf8_seq(key + i, klen - i);
        if (b == '"' || b == '\\') {
            out[o++] = '\\';
            out[o++] = (char)b;
        } else if (l == 0 || b < 0x20 || b == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", b);
        } else {
            memcpy(out + o, key + i, l);
            o += l;
            i += l;
            continue;
        }
        i++;
    }
    snprintf(out + o, cap - o, "\"");
}

/* ---- the catalog -------------------------------------------------------- */

static void cat_problem(checker *c, int sev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cat_problem(checker *c, int sev, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vproblem(c, sev, CATALOG_NAME, ND_CHECK_NONE, ND_CHECK_NONE, fmt, ap);
    va_end(ap);
}

/* Every `want` column present in `table` (other columns are allowed: a
 * later schema may add some). */
static int has_columns(checker *c, sqlite3 *db, const char *table, const char *const *want,
                       int n)
{
    char sql[96];
    snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        cat_problem(c, ND_CHECK_ERROR, "schema: cannot read table %s: %s", table,
                    sqlite3_errmsg(db));
        return 0;
    }
    unsigned found = 0, any = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        any = 1;
        for (int i = 0; name && i < n; i++)
            if (strcmp(name, want[i]) == 0)
                found |= 1u << i;
    }
    sqlite3_finalize(st);
    if (!any) {
        cat_problem(c, ND_CHECK_ERROR, "schema: table %s is missing", table);
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (!(found & (1u << i))) {
            cat_problem(c, ND_CHECK_ERROR, "schema: table %s has no column %s", table, want[i]);
            return 0;
        }
    return 1;
}

static int schema_ok(checker *c, sqlite3 *db)
{
    static const char *const state[] = {"id", "generation", "next_segment", "committed_at"};
    static const char *const segs[] = {"number",   "docs",     "deleted",  "deletions",
                                       "tdx_size", "tdx_crc",  "doc_size", "doc_crc",
                                       "pos_size", "pos_crc",  "col_size", "col_crc",
                                       "sto_size", "sto_crc"};
    static const char *const commits[] = {"generation", "committed_at", "segments", "docs",
                                          "deleted"};
    int ok = has_columns(c, db, "state", state, 4);
    ok &= has_columns(c, db, "segments", segs, 14);
    has_columns(c, db, "commits", commits, 5); /* history only: not needed to check */
    return ok;
}

/* SQLite's own check of the file: b-trees, pages, indexes. */
static void integrity(checker *c, sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(20)", -1, &st, NULL) != SQLITE_OK) {
        cat_problem(c, ND_CHECK_ERROR, "integrity check failed to run: %s", sqlite3_errmsg(db));
        return;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && strcmp(t, "ok") != 0)
            cat_problem(c, ND_CHECK_ERROR, "SQLite integrity check: %s", t);
    }
    if (rc != SQLITE_DONE)
        cat_problem(c, ND_CHECK_ERROR, "SQLite integrity check: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
}

/* An INTEGER column in range, or a problem naming it. */
static int int_col(checker *c, sqlite3_stmt *st, int col, const char *what, int64_t lo,
                   int64_t hi, int64_t *out)
{
    if (sqlite3_column_type(st, col) != SQLITE_INTEGER) {
        cat_problem(c, ND_CHECK_ERROR, "%s is not an integer", what);
        return 0;
    }
    *out = sqlite3_column_int64(st, col);
    if (*out < lo || *out > hi) {
        cat_problem(c, ND_CHECK_ERROR, "%s is %lld, out of range %lld..%lld", what,
                    (long long)*out, (long long)lo, (long long)hi);
        return 0;
    }
    return 1;
}

static int read_state(checker *c, sqlite3 *db, manifest *m)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id, generation, next_segment, committed_at FROM state", -1,
                           &st, NULL) != SQLITE_OK) {
        cat_problem(c, ND_CHECK_ERROR, "cannot read the state row: %s", sqlite3_errmsg(db));
        return 0;
    }
    int rows = 0, ok = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id, gen, next, at;
        if (rows++ > 0)
            continue;
        ok = int_col(c, st, 0, "state.id", 1, 1, &id);
        ok &= int_col(c, st, 1, "state.generation", 1, INT64_MAX, &gen);
        ok &= int_col(c, st, 2, "state.next_segment", 1, INT64_MAX, &next);
        if (!int_col(c, st, 3, "state.committed_at", INT64_MIN, INT64_MAX, &at))
            ok = 0;
        if (ok) {
            m->generation = (uint64_t)gen;
            m->next_seg = (uint64_t)next;
        }
    }
    if (rc != SQLITE_DONE) {
        cat_problem(c, ND_CHECK_ERROR, "reading the state row: %s", sqlite3_errmsg(db));
        ok = 0;
    }
    sqlite3_finalize(st);
    if (rows != 1) {
        cat_problem(c, ND_CHECK_ERROR, "table state has %d rows, expected exactly 1", rows);
        ok = 0;
    }
    return ok;
}

/* The deletions of one row against its docs and deleted columns. */
static void check_deletions(checker *c, sqlite3_stmt *st, uint64_t num, int64_t docs,
                            int64_t del)
{
    int type = sqlite3_column_type(st, 3);
    if (del == 0) {
        if (type != SQLITE_NULL)
            cat_problem(c, ND_CHECK_ERROR,
                        "segment %llu: deleted is 0 but deletions is not NULL (a %d-byte value)",
                        (unsigned long long)num, sqlite3_column_bytes(st, 3));
        return;
    }
    size_t words = ((size_t)docs + 63) / 64;
    const uint8_t *b = sqlite3_column_blob(st, 3);
    size_t n = (size_t)sqlite3_column_bytes(st, 3);
    if (type != SQLITE_BLOB || !b || n != words * 8) {
        cat_problem(c, ND_CHECK_ERROR,
                    "segment %llu: deletions bitmap is %zu bytes, expected %zu for %lld documents",
                    (unsigned long long)num, type == SQLITE_NULL ? 0 : n, words * 8,
                    (long long)docs);
        return;
    }
    uint64_t count = 0;
    for (size_t w = 0; w < words; w++)
        count += (uint64_t)__builtin_popcountll(ld_u64(b + 8 * w));
    if (docs % 64 && ld_u64(b + 8 * (words - 1)) >> (docs % 64))
        cat_problem(c, ND_CHECK_ERROR,
                    "segment %llu: deletions bitmap marks documents past the last one (%lld)",
                    (unsigned long long)num, (long long)docs - 1);
    else if (count != (uint64_t)del)
        cat_problem(c, ND_CHECK_ERROR,
                    "segment %llu: deletions bitmap has %llu bits set, deleted says %lld",
                    (unsigned long long)num, (unsigned long long)count, (long long)del);
}

/* The segment rows: each checked, the usable ones (number, documents,
 * sizes and checksums valid) appended to m for the file checks. */
static int read_segment_rows(checker *c, sqlite3 *db, manifest *m, int state_ok)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT number, docs, deleted, deletions, tdx_size, tdx_crc, doc_size,"
                           " doc_crc, pos_size, pos_crc, col_size, col_crc, sto_size, sto_crc"
                           " FROM segments ORDER BY number",
                           -1, &st, NULL) != SQLITE_OK) {
        cat_problem(c, ND_CHECK_ERROR, "cannot read the segments: %s", sqlite3_errmsg(db));
        return ND_OK;
    }
    uint32_t cap = 0;
    int rc, out = ND_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (m->n_segs >= MAX_CATALOG_ROWS) {
            cat_problem(c, ND_CHECK_ERROR, "more than %d segment rows", MAX_CATALOG_ROWS);
            break;
        }
        int64_t num = 0, docs = 0, del = 0;
        if (!int_col(c, st, 0, "segments.number", 1, INT64_MAX, &num))
            continue;
        if ((c->n_named & (c->n_named - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
            uint64_t *p = realloc(c->named, (c->n_named ? 2 * (size_t)c->n_named : 1) *
                                                sizeof *p);
            if (!p) {
                out = ND_ENOMEM;
                break;
            }
            c->named = p;
        }
        c->named[c->n_named++] = (uint64_t)num;
        char what[64];
        snprintf(what, sizeof what, "segment %lld: docs", (long long)num);
        int ok = int_col(c, st, 1, what, 0, ND_MAX_SEG_DOCS, &docs);
        snprintf(what, sizeof what, "segment %lld: deleted", (long long)num);
        if (ok && int_col(c, st, 2, what, 0, docs, &del))
            check_deletions(c, st, (uint64_t)num, docs, del);
        else
            del = 0;
        if (state_ok && (uint64_t)num >= m->next_seg)
            cat_problem(c, ND_CHECK_ERROR,
                        "segment %lld: number is not below state.next_segment (%llu)",
                        (long long)num, (unsigned long long)m->next_seg);
        seg_meta s;
        memset(&s, 0, sizeof s);
        for (int k = 0; k < FILE_KINDS; k++) {
            int64_t size = 0, crc = 0; /* int_col leaves them unset on a problem */
            snprintf(what, sizeof what, "segment %lld: %s_size", (long long)num, seg_exts[k]);
            ok &= int_col(c, st, 4 + 2 * k, what, FRAME_HEADER + FRAME_FOOTER, INT64_MAX, &size);
            snprintf(what, sizeof what, "segment %lld: %s_crc", (long long)num, seg_exts[k]);
            ok &= int_col(c, st, 5 + 2 * k, what, 0, UINT32_MAX, &crc);
            s.size[k] = (uint64_t)size;
            s.crc[k] = (uint32_t)crc;
        }
        if (!ok)
            continue; /* its files cannot be compared with anything */
        s.number = (uint64_t)num;
        s.docs = (uint32_t)docs;
        s.n_deleted = (uint32_t)del;
        if (m->n_segs == cap) {
            uint32_t ncap = cap ? cap * 2 : 16;
            seg_meta *p = realloc(m->segs, ncap * sizeof *p);
            if (!p) {
                out = ND_ENOMEM;
                break;
            }
            m->segs = p;
            cap = ncap;
        }
        m->segs[m->n_segs++] = s;
    }
    if (out == ND_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        cat_problem(c, ND_CHECK_ERROR, "reading the segments: %s", sqlite3_errmsg(db));
    c->listed = out == ND_OK && rc == SQLITE_DONE;
    sqlite3_finalize(st);
    return out;
}

/* The history row of the commit: informative, so a mismatch is a warning. */
static void check_commit_row(checker *c, sqlite3 *db, const manifest *m)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT segments, docs, deleted FROM commits WHERE generation = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return; /* the schema check said so already */
    sqlite3_bind_int64(st, 1, (int64_t)m->generation);
    uint64_t docs = 0, del = 0;
    for (uint32_t i = 0; i < m->n_segs; i++) {
        docs += m->segs[i].docs;
        del += m->segs[i].n_deleted;
    }
    if (sqlite3_step(st) != SQLITE_ROW)
        cat_problem(c, ND_CHECK_WARNING, "table commits has no row for generation %llu",
                    (unsigned long long)m->generation);
    else if ((uint64_t)sqlite3_column_int64(st, 0) != m->n_segs ||
             (uint64_t)sqlite3_column_int64(st, 1) != docs ||
             (uint64_t)sqlite3_column_int64(st, 2) != del)
        cat_problem(c, ND_CHECK_WARNING,
                    "commits row of generation %llu says %lld segments, %lld documents, %lld "
                    "deleted; the segments table has %u, %llu, %llu",
                    (unsigned long long)m->generation, (long long)sqlite3_column_int64(st, 0),
                    (long long)sqlite3_column_int64(st, 1), (long long)sqlite3_column_int64(st, 2),
                    m->n_segs, (unsigned long long)docs, (unsigned long long)del);
    sqlite3_finalize(st);
}

/* Opens the catalog at path read-only and reads its application id into
 * *app: SQLITE_OK, or the SQLite error code (the connection stays open for
 * its message). In a directory this process cannot write, SQLite cannot
 * create the files a WAL database is read through; with no -wal file the
 * database file alone holds the last commit, so it is then read as an
 * immutable file (as the reader does). */
static int cat_open(sqlite3 **db, const char *path, int immutable, int *app)
{
    char uri[3 * 4200 + 32];
    size_t n = (size_t)snprintf(uri, sizeof uri, "file:");
    for (const unsigned char *q = (const unsigned char *)path; *q && n + 4 < sizeof uri; q++)
        n += (size_t)snprintf(uri + n, sizeof uri - n,
                              isalnum(*q) || strchr("/._-~", *q) ? "%c" : "%%%02X", *q);
    snprintf(uri + n, sizeof uri - n, "%s", immutable ? "?immutable=1" : "?mode=ro");
    if (sqlite3_open_v2(uri, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        return *db ? sqlite3_errcode(*db) : SQLITE_NOMEM;
    sqlite3_busy_timeout(*db, 10000);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(*db, "PRAGMA application_id", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        rc = rc == SQLITE_ROW ? SQLITE_OK : sqlite3_errcode(*db);
        if (rc == SQLITE_OK)
            *app = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Checks catalog.db (which exists) through a read-only connection. m
 * receives the segments whose rows are usable. ND_OK also when the catalog
 * is damaged (that is a problem, not a failure); ND_ENOTFOUND and
 * ND_EVERSION when the reader says so. */
static int check_catalog(checker *c, manifest *m, nd_err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", c->dir, CATALOG_NAME);
    sqlite3 *db = NULL;
    uint64_t errors = c->r->sum.errors;
    int app = 0, ok = 1, rc = ND_OK;
    int code = cat_open(&db, path, 0, &app);
    char wal[4300];
    struct stat wst;
    snprintf(wal, sizeof wal, "%s-wal", path);
    if (((code & 0xff) == SQLITE_READONLY || (code & 0xff) == SQLITE_CANTOPEN) &&
        access(c->dir, W_OK) != 0 && stat(wal, &wst) != 0) {
        sqlite3_close(db);
        db = NULL;
        code = cat_open(&db, path, 1, &app);
    }
    if (!db || code == SQLITE_NOMEM) {
        sqlite3_close(db);
        return err_set(e, ND_ENOMEM, "out of memory");
    }
    if ((code & 0xff) == SQLITE_CANTOPEN || (code & 0xff) == SQLITE_READONLY ||
        (code & 0xff) == SQLITE_PERM || (code & 0xff) == SQLITE_IOERR) {
        rc = err_set(e, ND_EIO, "%s: cannot read: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return rc;
    }
    if (code != SQLITE_OK) {
        cat_problem(c, ND_CHECK_ERROR, "not a readable SQLite database: %s", sqlite3_errmsg(db));
        ok = 0;
    }
    if (ok && app != CATALOG_ID) {
        cat_problem(c, ND_CHECK_ERROR, "application_id is 0x%08x, not newsdex's 0x%08x",
                    (unsigned)app, CATALOG_ID);
        ok = 0;
    }
    /* one read transaction: the rows of one commit */
    if (ok && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        cat_problem(c, ND_CHECK_ERROR, "cannot start reading: %s", sqlite3_errmsg(db));
        ok = 0;
    }
    if (ok) {
        integrity(c, db);
        if (schema_ok(c, db)) {
            int state_ok = read_state(c, db, m);
            rc = read_segment_rows(c, db, m, state_ok);
            if (!rc && state_ok)
                check_commit_row(c, db, m);
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    sqlite3_close(db);
    if (rc)
        return err_set(e, rc, "out of memory");
    /* The reader's verdict (after the read-only connection is closed, so
     * that the reader's close tidies the WAL files as usual): what "no
     * index" and "another version" are is its call, and whatever it
     * rejects must show up as a problem. */
    manifest rm;
    nd_err re = {{0}};
    int read_rc = manifest_read(&rm, c->dir, &re);
    if (read_rc == ND_OK)
        manifest_free(&rm);
    if (read_rc == ND_ENOTFOUND || read_rc == ND_EVERSION || read_rc == ND_ENOMEM)
        return err_set(e, read_rc, "%s", re.msg);
    if (read_rc != ND_OK && c->r->sum.errors == errors)
        cat_problem(c, ND_CHECK_ERROR, "the reader rejects the catalog: %s", re.msg);
    return ND_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A layout-1 MANIFEST, read by the reader (which checks all of it but the
 * uniqueness of segment numbers). */
static int check_legacy(checker *c, manifest *m, nd_err *e)
{
    nd_err re = {{0}};
    int rc = manifest_read_legacy(m, c->dir, &re);
    if (rc == ND_ENOTFOUND || rc == ND_EVERSION || rc == ND_ENOMEM || rc == ND_EINVAL)
        return err_set(e, rc == ND_EINVAL ? ND_EINVAL : rc, "%s", re.msg);
    c->legacy = 1;
    if (rc) {
        problem(c, ND_CHECK_ERROR, MANIFEST_NAME, ND_CHECK_NONE, ND_CHECK_NONE, "%s",
                reader_msg(re.msg, 0, MANIFEST_NAME ": ", &(int){0}));
        return ND_OK;
    }
    uint64_t *nums = malloc((m->n_segs ? m->n_segs : 1) * sizeof *nums);
    if (!nums)
        return err_set(e, ND_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < m->n_segs; i++)
        nums[i] = m->segs[i].number;
    qsort(nums, m->n_segs, sizeof *nums, cmp_u64);
    c->named = nums;
    c->n_named = m->n_segs;
    c->listed = 1;
    for (uint32_t i = 1; i < m->n_segs; i++)
        if ((i < 2 || nums[i - 2] != nums[i]) && nums[i] == nums[i - 1])
            problem(c, ND_CHECK_ERROR, MANIFEST_NAME, nums[i], ND_CHECK_NONE,
                    "segment %llu is listed more than once", (unsigned long long)nums[i]);
    return ND_OK;
}

/* ---- segment files ---------------------------------------------------- */

/* Where frame_check's first failure is, for a file that fails it. */
static uint64_t frame_fault(const nd_map *m, const char magic[4])
{
    if (m->len < FRAME_HEADER + FRAME_FOOTER)
        return 0;
    if (memcmp(m->data, magic, 4) != 0)
        return 0;
    uint16_t version = ld_u16(m->data + 4);
    if (version < FRAME_MIN_VERSION || version > frame_max_version(magic))
        return 4;
    if (ld_u16(m->data + 6) != 0)
        return 6;
    if (memcmp(m->data + m->len - 4, magic, 4) != 0)
        return m->len - 4;
    return m->len - FRAME_FOOTER;
}

/* A chunk table (FORMAT.md section 3): its own CRC and every chunk's, each
 * recomputed here. Damage is reported once per file, at its first bad
 * chunk, with the number of bad chunks. Returns the CRC of the bytes the
 * chunks cover, combined from theirs, so that the whole file's is not
 * computed over them a second time. */
static uint32_t check_sums(checker *c, uint64_t number, int k, const frame_sums *s)
{
    uint64_t tab_off = (uint64_t)(s->tab - s->map);
    uint32_t tab_crc = zlib_crc32(s->tab, (size_t)(4 * s->n + 4));
    if (tab_crc != ld_u32(s->tab + 4 * s->n + 4))
        seg_problem(c, ND_CHECK_ERROR, number, k, tab_off,
                    "CRC-32 of the chunk table is 0x%08x, the file says 0x%08x", tab_crc,
                    ld_u32(s->tab + 4 * s->n + 4));
    uint64_t bad = 0, first = 0;
    uLong all = crc32(0L, Z_NULL, 0);
    for (uint64_t i = 0; i < s->n; i++) {
        uint64_t a = i << s->shift, b = ND_MIN(s->covered, a + ((uint64_t)1 << s->shift));
        uint32_t crc = zlib_crc32(s->map + a, (size_t)(b - a));
        all = crc32_combine(all, crc, (z_off_t)(b - a));
        if (crc != ld_u32(s->tab + 4 * i) && bad++ == 0)
            first = i;
    }
    if (bad)
        seg_problem(c, ND_CHECK_ERROR, number, k, first << s->shift,
                    "%llu of %llu chunks of %u bytes do not match their CRC-32 in the chunk "
                    "table, the first at bytes %llu..%llu",
                    (unsigned long long)bad, (unsigned long long)s->n, 1u << s->shift,
                    (unsigned long long)first << s->shift,
                    (unsigned long long)(ND_MIN(s->covered, (first + 1) << s->shift) - 1));
    return (uint32_t)all;
}

/* Maps the five files and checks them as files: present, size and CRC as
 * the catalog says, frame valid, CRC as the footer says. *framed is set
 * when every frame is valid; actual receives the sizes and footer CRCs. */
static int check_files(checker *c, const seg_meta *meta, nd_map map[FILE_KINDS], int *framed,
                       seg_meta *actual, nd_err *e)
{
    *framed = 1;
    *actual = *meta;
    for (int k = 0; k < FILE_KINDS; k++) {
        char name[48], path[4200];
        seg_file_name(name, sizeof name, meta->number, k);
        snprintf(path, sizeof path, "%s/%s", c->dir, name);
        nd_err me = {{0}};
        int rc = map_open(&map[k], path, &me);
        if (rc == ND_ENOMEM)
            return err_set(e, rc, "%s", me.msg);
        if (rc) {
            if (rc == ND_ENOTFOUND)
                c->missing = 1;
            seg_problem(c, ND_CHECK_ERROR, meta->number, k, ND_CHECK_NONE, "%s",
                        rc == ND_ENOTFOUND ? "missing: the catalog names this file" : me.msg);
            memset(&map[k], 0, sizeof map[k]);
            *framed = 0;
            continue;
        }
        const nd_map *m = &map[k];
        c->r->sum.bytes += m->len;
        actual->size[k] = m->len;
        if (m->len != meta->size[k])
            seg_problem(c, ND_CHECK_ERROR, meta->number, k, ND_CHECK_NONE,
                        "size is %zu bytes, the catalog says %llu%s", m->len,
                        (unsigned long long)meta->size[k],
                        m->len < meta->size[k] ? " (truncated?)" : "");
        const uint8_t *body;
        size_t blen;
        uint32_t footer_crc;
        nd_err fe = {{0}};
        frame_sums sums;
        memset(&sums, 0, sizeof sums);
        rc = frame_check(m, MAGICS[k], name, 0, &body, &blen, &footer_crc, &sums, &fe);
        if (rc == ND_ENOMEM)
            return err_set(e, rc, "%s", fe.msg);
        if (rc) {
            int kind;
            seg_problem(c, ND_CHECK_ERROR, meta->number, k, frame_fault(m, MAGICS[k]), "%s",
                        reader_msg(fe.msg, meta->number, NULL, &kind));
            *framed = 0;
            continue;
        }
        actual->crc[k] = footer_crc;
        /* with a chunk table: its chunks, then the table itself */
        size_t done = sums.tab ? (size_t)sums.covered : 0;
        uint32_t crc = sums.tab ? check_sums(c, meta->number, k, &sums) : 0;
        crc = zlib_crc32_from(crc, m->data + done, m->len - FRAME_FOOTER - done);
        if (crc != footer_crc)
            seg_problem(c, ND_CHECK_ERROR, meta->number, k, m->len - 8,
                        "CRC-32 of bytes 0..%zu is 0x%08x, the footer says 0x%08x (the contents "
                        "changed after the file was written)",
                        m->len - FRAME_FOOTER - 1, crc, footer_crc);
        if (footer_crc != meta->crc[k])
            seg_problem(c, ND_CHECK_ERROR, meta->number, k, m->len - 8,
                        "footer CRC 0x%08x differs from the catalog's 0x%08x", footer_crc,
                        meta->crc[k]);
    }
    return ND_OK;
}

/* Per-document tallies of one segment, from its postings. */
typedef struct tally {
    uint32_t *len;       /* N_TEXT_FIELDS x docs: sum of tf of the field's terms */
    uint8_t *kw;         /* 3 x docs: terms of source, lang, id (saturating) */
    uint32_t *id_hash;   /* docs: hash of the id term */
    /* One bit per token position below the field length, per document and
     * text field (the bits of document d start at pos_base[d], title then
     * body then url): two terms at one position of one field is damage. */
    uint64_t *pos_base;
    uint8_t *pos_bits;
    int incomplete[N_FIELDS]; /* some postings of the field could not be read */
    uint64_t cf[N_FIELDS];
    uint64_t idcol_bad;       /* id postings whose document's column id differs */
    uint32_t idcol_first;     /* the first such document */
} tally;

typedef struct seg_check {
    checker *c;
    const segment *s;
    uint64_t num;
    uint32_t docs;
    tally t;
    char key[200]; /* the term being checked, for messages */
} seg_check;

/* The id column's id of document d (.col version 2 or 3), and its file
 * offset in .col. check_structure checked every pair of offsets. */
static const uint8_t *col_id(const segment *s, uint32_t d, size_t *len, uint64_t *off)
{
    uint32_t a = ld_u32(s->id_off + (size_t)d * 4), b = ld_u32(s->id_off + (size_t)d * 4 + 4);
    *len = b - a;
    *off = (uint64_t)(s->ids - s->map[FILE_COL].data) + a;
    return s->ids + a;
}

/* 1 if document d's column id is not the n bytes at id. */
static int col_id_differs(const segment *s, uint32_t d, const uint8_t *id, size_t n)
{
    size_t len;
    uint64_t off;
    const uint8_t *c = col_id(s, d, &len, &off);
    return len != n || memcmp(c, id, n) != 0;
}

/* Offset of skip entry b of a term's postings (five varints per entry). */
static uint64_t skip_entry_off(const segment *s, const term_info *ti, uint32_t b)
{
    const uint8_t *p = s->map[FILE_DOC].data + ti->doc_off, *end = p + ti->doc_len;
    uint64_t v;
    for (uint32_t i = 0; i < 5 * b; i++)
        if (varint_get(&p, end, &v))
            break;
    return (uint64_t)(p - s->map[FILE_DOC].data);
}

/* Checks one block just loaded into the cursor against its skip entry. */
static void check_block_bounds(seg_check *sc, const pcursor *pc, int field)
{
    uint32_t b = pc->block, max_tf = 0, min_len = UINT32_MAX;
    for (uint32_t i = 0; i < pc->n; i++) {
        uint32_t len = field < N_TEXT_FIELDS ? segment_len(sc->s, field, pc->docs[i]) : 1;
        max_tf = ND_MAX(max_tf, pc->tfs[i]);
        min_len = ND_MIN(min_len, len);
    }
    if (pc->max_tf[b] != max_tf)
        seg_problem(sc->c, ND_CHECK_ERROR, sc->num, 1, skip_entry_off(sc->s, &pc->ti, b),
                    "%s: skip entry of block %u says max_tf %u, the block's largest tf is %u",
                    sc->key, b, pc->max_tf[b], max_tf);
    if (pc->min_len[b] != min_len)
        seg_problem(sc->c, ND_CHECK_ERROR, sc->num, 1, skip_entry_off(sc->s, &pc->ti, b),
                    "%s: skip entry of block %u says min_len %u, the block's shortest %s is %u",
                    sc->key, b, pc->min_len[b],
                    field < N_TEXT_FIELDS ? "field length" : "length (1 for keywords)", min_len);
}

/* File offset of block b of the cursor's postings / positions. */
static uint64_t block_doc_off(const segment *s, const pcursor *pc, uint32_t b)
{
    uint64_t start = (uint64_t)(pc->blocks - s->map[FILE_DOC].data);
    return pc->nb > 1 ? start + pc->block_off[b] : start;
}
static uint64_t block_pos_off(const pcursor *pc, uint32_t b)
{
    return pc->nb > 1 ? pc->pos_block_off[b] : pc->ti.pos_off;
}

/* Marks the positions of one document's occurrences of a text term; 1 (and
 * a problem) when one of them is already taken by another term. */
static int mark_positions(seg_check *sc, int field, uint32_t doc, const uint32_t *pos,
                          uint32_t np, uint64_t off)
{
    const segment *s = sc->s;
    uint64_t base = sc->t.pos_base[doc];
    for (int f = 0; f < field; f++)
        base += segment_len(s, f, doc);
    uint32_t len = segment_len(s, field, doc);
    for (uint32_t i = 0; i < np; i++) {
        if (pos[i] >= len)
            continue; /* past the length: after a stop word or an over-long word */
        uint64_t bit = base + pos[i];
        uint8_t m = (uint8_t)(1u << (bit & 7));
        if (sc->t.pos_bits[bit >> 3] & m) {
            seg_problem(sc->c, ND_CHECK_ERROR, sc->num, 2, off,
                        "%s: position %u of document %u is also the position of another %s "
                        "term",
                        sc->key, pos[i], doc, FIELD_NAMES[field]);
            return 1;
        }
        sc->t.pos_bits[bit >> 3] |= m;
    }
    return 0;
}

/* Walks every posting (and position) of one term. */
static int check_postings(seg_check *sc, const term_info *ti, int field, const uint8_t *key,
                          size_t klen, nd_err *e)
{
    checker *c = sc->c;
    const segment *s = sc->s;
    tally *t = &sc->t;
    nd_err pe = {{0}};
    pcursor pc;
    int kind;
    int rc = pcursor_open(&pc, s, field, ti, &pe);
    if (rc == ND_ENOMEM)
        return err_set(e, rc, "out of memory");
    if (rc) {
        seg_problem(c, ND_CHECK_ERROR, sc->num, 1, ti->doc_off, "%s: %s", sc->key,
                    reader_msg(pe.msg, sc->num, "term postings: ", &kind));
        t->incomplete[field] = 1;
        return ND_OK;
    }
    uint64_t n = 0, sum_tf = 0;
    uint32_t loaded = UINT32_MAX;
    int clash = 0; /* a position clash was reported for this term */
    uint32_t id_hash = field == FIELD_ID ? (uint32_t)hash_bytes(key + 1, klen - 1) : 0;
    for (;;) {
        /* the block the next advance reads, if it loads one */
        uint32_t b = pc.block >= pc.nb ? 0 : pc.i + 1 >= pc.n ? pc.block + 1 : pc.block;
        rc = pcursor_advance(&pc, n == 0 ? 0 : pc.doc + 1, &pe);
        if (rc) {
            seg_problem(c, ND_CHECK_ERROR, sc->num, 1, block_doc_off(s, &pc, b),
                        "%s, postings block %u: %s", sc->key, b,
                        reader_msg(pe.msg, sc->num, "term postings: ", &kind));
            t->incomplete[field] = 1;
            break;
        }
        if (pc.doc == ND_NO_DOC)
            break;
        if (pc.block != loaded) {
            loaded = pc.block;
            if (pc.nb > 1)
                check_block_bounds(sc, &pc, field);
        }
        uint32_t doc = pc.doc, tf = pcursor_tf(&pc);
        n++;
        sum_tf += tf;
        if (field < N_TEXT_FIELDS) {
            const uint32_t *pos;
            uint32_t np;
            rc = pcursor_positions(&pc, &pos, &np, &pe);
            if (rc == ND_ENOMEM) {
                pcursor_close(&pc);
                return err_set(e, rc, "out of memory");
            }
            if (rc) {
                seg_problem(c, ND_CHECK_ERROR, sc->num, 2, block_pos_off(&pc, pc.block),
                            "%s, positions of postings block %u: %s", sc->key, pc.block,
                            reader_msg(pe.msg, sc->num, NULL, &kind));
                t->incomplete[field] = 1;
                break;
            }
            c->r->sum.positions += np;
            if (t->pos_bits && !clash)
                clash = mark_positions(sc, field, doc, pos, np, block_pos_off(&pc, pc.block));
            uint32_t *l = &t->len[(size_t)field * sc->docs + doc];
            *l = tf > UINT32_MAX - *l ? UINT32_MAX : *l + tf;
        } else {
            if (tf != 1) {
                seg_problem(c, ND_CHECK_ERROR, sc->num, 1, block_doc_off(s, &pc, pc.block),
                            "%s, postings block %u: document %u has tf %u; keyword terms have "
                            "tf 1",
                            sc->key, pc.block, doc, tf);
                t->incomplete[field] = 1;
                break;
            }
            uint8_t *k = &t->kw[(size_t)(field - N_TEXT_FIELDS) * sc->docs + doc];
            if (*k < UINT8_MAX)
                (*k)++;
            if (field == FIELD_ID)
                t->id_hash[doc] = id_hash;
            if (field == FIELD_ID && s->id_off && col_id_differs(s, doc, key + 1, klen - 1) &&
                t->idcol_bad++ == 0)
                t->idcol_first = doc;
        }
    }
    pcursor_close(&pc);
    c->r->sum.postings += n;
    if (!t->incomplete[field] && sum_tf != ti->cf)
        seg_problem(c, ND_CHECK_ERROR, sc->num, 0, ND_CHECK_NONE,
                    "%s: dictionary says cf %llu, its postings' tf add up to %llu", sc->key,
                    (unsigned long long)ti->cf, (unsigned long long)sum_tf);
    t->cf[field] += ti->cf;
    return ND_OK;
}

static int keycmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int r = memcmp(a, b, an < bn ? an : bn);
    return r ? r : an < bn ? -1 : an > bn;
}

/* Offset in .tdx of the entry term_iter_next just read: its start was p
 * when the block did not change, else just after the new block's header. */
static uint64_t entry_off(const segment *s, const term_iter *it, const uint8_t *before,
                          uint32_t block_before)
{
    if (it->block == block_before && before)
        return (uint64_t)(before - s->map[FILE_TDX].data);
    const uint8_t *p = s->map[FILE_TDX].data + s->tblock_off[it->block], *end = it->end;
    uint64_t v;
    if (varint_get(&p, end, &v) == 0)
        varint_get(&p, end, &v);
    return (uint64_t)(p - s->map[FILE_TDX].data);
}

/* Every dictionary entry in order, with its postings. */
static int check_terms(seg_check *sc, nd_err *e)
{
    checker *c = sc->c;
    const segment *s = sc->s;
    term_iter it;
    nd_err te = {{0}};
    int kind, rc, resynced = 0;
    uint8_t prev[ND_MAX_TERM_KEY];
    size_t prev_len = 0;
    uint64_t want_doc = FRAME_HEADER, want_pos = FRAME_HEADER, terms = 0;
    int known = 1; /* want_doc, want_pos hold the end of the previous term */
    rc = term_iter_seek(&it, s, (const uint8_t *)"", 0, &te);
    uint32_t next_block = 1;
    for (;;) {
        const uint8_t *before = it.p;
        uint32_t block_before = it.block;
        if (!rc)
            rc = term_iter_next(&it, &te);
        if (rc == ND_DONE)
            break;
        if (rc) {
            if (s->n_tblocks == 0) { /* not possible: nothing to read */
                seg_problem(c, ND_CHECK_ERROR, sc->num, 0, ND_CHECK_NONE, "%s",
                            reader_msg(te.msg, sc->num, NULL, &kind));
                break;
            }
            uint32_t b = it.block < s->n_tblocks ? it.block : s->n_tblocks - 1;
            seg_problem(c, ND_CHECK_ERROR, sc->num, 0, s->tblock_off[b], "%s",
                        reader_msg(te.msg, sc->num, NULL, &kind));
            /* the rest of this block cannot be trusted: go on with the next */
            for (int f = 0; f < N_FIELDS; f++)
                sc->t.incomplete[f] = 1;
            resynced = 1;
            known = 0;
            prev_len = 0;
            next_block = ND_MAX(next_block, b + 1);
            if (next_block >= s->n_tblocks)
                break;
            b = next_block++;
            rc = term_iter_seek(&it, s, s->tblock_key[b], s->tblock_keylen[b], &te);
            continue;
        }
        next_block = ND_MAX(next_block, it.block + 1);
        terms++;
        c->r->sum.terms++;
        int field = it.key[0];
        fmt_key(sc->key, sizeof sc->key, it.key, it.klen);
        uint64_t off = entry_off(s, &it, before, block_before);
        if (prev_len && keycmp(prev, prev_len, it.key, it.klen) >= 0)
            seg_problem(c, ND_CHECK_ERROR, sc->num, 0, off,
                        "%s: key not after the previous key in byte order", sc->key);
        memcpy(prev, it.key, it.klen);
        prev_len = it.klen;
        if (known && (it.ti.doc_off != want_doc || it.ti.pos_off != want_pos))
            seg_problem(c, ND_CHECK_ERROR, sc->num, 0, off,
                        "%s: postings at .doc %llu, positions at .pos %llu; the previous term "
                        "ended at %llu and %llu (data must be contiguous)",
                        sc->key, (unsigned long long)it.ti.doc_off,
                        (unsigned long long)it.ti.pos_off, (unsigned long long)want_doc,
                        (unsigned long long)want_pos);
        known = 1;
        want_doc = it.ti.doc_off + it.ti.doc_len;
        want_pos = it.ti.pos_off + it.ti.pos_len;
        if (field >= N_TEXT_FIELDS && it.ti.pos_len != 0)
            seg_problem(c, ND_CHECK_ERROR, sc->num, 0, off,
                        "%s: keyword term with %llu bytes of positions (expected 0)", sc->key,
                        (unsigned long long)it.ti.pos_len);
        if (c->legacy && field == FIELD_ID)
            seg_problem(c, ND_CHECK_ERROR, sc->num, 0, off,
                        "%s: id term in a layout-1 segment", sc->key);
        if ((rc = check_postings(sc, &it.ti, field, it.key, it.klen, e)))
            return rc;
    }
    if (!resynced) {
        if (terms != s->n_terms)
            seg_problem(c, ND_CHECK_ERROR, sc->num, 0, ND_CHECK_NONE,
                        "dictionary holds %llu terms, its trailer says %llu",
                        (unsigned long long)terms, (unsigned long long)s->n_terms);
        if (want_doc != FRAME_HEADER + s->body_len[FILE_DOC])
            seg_problem(c, ND_CHECK_ERROR, sc->num, 1, want_doc,
                        "bytes %llu..%zu belong to no term (the terms' postings end at %llu)",
                        (unsigned long long)want_doc, FRAME_HEADER + s->body_len[FILE_DOC] - 1,
                        (unsigned long long)want_doc);
        if (want_pos != FRAME_HEADER + s->body_len[FILE_POS])
            seg_problem(c, ND_CHECK_ERROR, sc->num, 2, want_pos,
                        "bytes %llu..%zu belong to no term (the terms' positions end at %llu)",
                        (unsigned long long)want_pos, FRAME_HEADER + s->body_len[FILE_POS] - 1,
                        (unsigned long long)want_pos);
    }
    return ND_OK;
}

/* Field lengths and keyword counts against the tallies, length totals
 * against the arrays, dates in the range dates are written in. */
static void check_columns(seg_check *sc)
{
    checker *c = sc->c;
    const segment *s = sc->s;
    const tally *t = &sc->t;
    uint32_t D = sc->docs;
    for (int f = 0; f < N_TEXT_FIELDS; f++) {
        uint64_t sum = 0, bad = 0;
        uint32_t first = 0;
        for (uint32_t d = 0; d < D; d++) {
            uint32_t len = segment_len(s, f, d);
            sum += len;
            if (!t->incomplete[f] && len != t->len[(size_t)f * D + d] && bad++ == 0)
                first = d;
        }
        if (bad)
            seg_problem(c, ND_CHECK_ERROR, sc->num, 3, 40 + 4 * ((uint64_t)f * D + first),
                        "%s length of document %u is %u, its %s terms' tf add up to %u "
                        "(%llu document%s disagree%s)",
                        FIELD_NAMES[f], first, segment_len(s, f, first), FIELD_NAMES[f],
                        t->len[(size_t)f * D + first], (unsigned long long)bad,
                        bad == 1 ? "" : "s", bad == 1 ? "s" : "");
        if (sum != s->sum_len[f])
            seg_problem(c, ND_CHECK_ERROR, sc->num, 3, 16 + 8 * (uint64_t)f,
                        "total %s length is %llu, the lengths of the documents add up to %llu",
                        FIELD_NAMES[f], (unsigned long long)s->sum_len[f],
                        (unsigned long long)sum);
        else if (!t->incomplete[f] && t->cf[f] != sum)
            seg_problem(c, ND_CHECK_ERROR, sc->num, 0, ND_CHECK_NONE,
                        "%s terms' cf add up to %llu, the total %s length is %llu",
                        FIELD_NAMES[f], (unsigned long long)t->cf[f], FIELD_NAMES[f],
                        (unsigned long long)sum);
    }
    for (int f = FIELD_SOURCE; f <= FIELD_ID; f++) {
        if (t->incomplete[f] || (f == FIELD_ID && c->legacy))
            continue;
        uint64_t bad = 0;
        uint32_t first = 0, got = 0;
        for (uint32_t d = 0; d < D; d++) {
            uint8_t k = t->kw[(size_t)(f - N_TEXT_FIELDS) * D + d];
            if ((f == FIELD_ID ? k != 1 : k > 1) && bad++ == 0)
                first = d, got = k;
        }
        if (bad)
            seg_problem(c, ND_CHECK_ERROR, sc->num, 0, ND_CHECK_NONE,
                        "document %u has %u%s %s terms, expected %s (%llu document%s)", first,
                        got, got == UINT8_MAX ? " or more" : "", FIELD_NAMES[f],
                        f == FIELD_ID ? "exactly one" : "at most one", (unsigned long long)bad,
                        bad == 1 ? "" : "s");
    }
    if (t->idcol_bad) {
        size_t len;
        uint64_t off;
        col_id(s, t->idcol_first, &len, &off);
        seg_problem(c, ND_CHECK_ERROR, sc->num, 3, off,
                    "id column: the id of document %u differs from its id term (%llu "
                    "document%s)",
                    t->idcol_first, (unsigned long long)t->idcol_bad,
                    t->idcol_bad == 1 ? "" : "s");
    }
    uint64_t odd = 0;
    uint32_t first = 0;
    for (uint32_t d = 0; d < D; d++) {
        int64_t date = segment_date(s, d);
        if (date != ND_NO_DATE && (date < DATE_MIN || date > DATE_MAX) && odd++ == 0)
            first = d;
    }
    if (odd)
        seg_problem(c, ND_CHECK_WARNING, sc->num, 3,
                    40 + 12 * (uint64_t)D + 8 * (uint64_t)first,
                    "date of document %u (%lld) is outside the years 1..9999 that date "
                    "queries, facets and output handle (%llu document%s)",
                    first, (long long)segment_date(s, first), (unsigned long long)odd,
                    odd == 1 ? "" : "s");
}

/* Record parser state for a stored block, fed its inflated bytes. */
typedef struct rec_parser {
    int field;          /* string being read, 0..SF_COUNT-1 */
    int in_len;         /* 1: reading its varint length */
    unsigned shift;     /* of the varint */
    uint64_t left;      /* bytes of the string still to come */
    uint32_t records;   /* complete records */
    int bad;            /* a varint over 64 bits */
    uint8_t id[ND_MAX_TERM_BYTES];
    size_t id_len;      /* bytes of the id seen (also past 255) */
} rec_parser;

typedef struct sto_block_check {
    seg_check *sc;
    uint32_t b, first, want;
    uint64_t id_bad;
    uint32_t id_first;
    uint64_t idcol_bad; /* records whose id differs from the id column's */
    uint32_t idcol_first;
} sto_block_check;

static void record_done(sto_block_check *k, rec_parser *r)
{
    seg_check *sc = k->sc;
    uint32_t doc = k->first + r->records;
    r->records++;
    if (r->records <= k->want && sc->s->id_off &&
        (r->id_len > sizeof r->id || col_id_differs(sc->s, doc, r->id, r->id_len)) &&
        k->idcol_bad++ == 0)
        k->idcol_first = doc;
    if (r->records > k->want || sc->c->legacy || sc->t.incomplete[FIELD_ID] ||
        sc->t.kw[(size_t)(FIELD_ID - N_TEXT_FIELDS) * sc->docs + doc] != 1)
        return;
    uint32_t h = r->id_len > ND_MAX_TERM_BYTES ? 0 : (uint32_t)hash_bytes(r->id, r->id_len);
    if ((r->id_len == 0 || r->id_len > ND_MAX_TERM_BYTES || h != sc->t.id_hash[doc]) &&
        k->id_bad++ == 0)
        k->id_first = doc;
}

static void parse_records(sto_block_check *k, rec_parser *r, const uint8_t *p, size_t n)
{
    while (n > 0 && !r->bad) {
        if (r->in_len) {
            uint8_t b = *p++;
            n--;
            if (r->shift > 63 || (r->shift == 63 && (b & 0x7f) > 1)) {
                r->bad = 1;
                return;
            }
            r->left |= (uint64_t)(b & 0x7f) << r->shift;
            r->shift += 7;
            if (b & 0x80)
                continue;
            r->in_len = 0;
            if (r->field == SF_ID)
                r->id_len = 0;
        } else {
            size_t take = r->left < n ? (size_t)r->left : n;
            if (r->field == SF_ID && r->id_len < sizeof r->id)
                memcpy(r->id + r->id_len, p, ND_MIN(take, sizeof r->id - r->id_len));
            if (r->field == SF_ID)
                r->id_len += take;
            p += take;
            n -= take;
            r->left -= take;
        }
        if (!r->in_len && r->left == 0) {
            if (++r->field == SF_COUNT) {
                record_done(k, r);
                r->field = 0;
            }
            r->in_len = 1;
            r->shift = 0;
        }
    }
}

/* Inflates stored block b and checks its records. */
static int check_stored_block(seg_check *sc, uint32_t b, uint8_t *chunk, nd_err *e)
{
    const segment *s = sc->s;
    const stored_block *sb = &s->sblocks[b];
    uint32_t next = b + 1 < s->n_sblocks ? s->sblocks[b + 1].first : sc->docs;
    sto_block_check k = {sc, b, sb->first, next - sb->first, 0, 0, 0, 0};
    rec_parser r;
    memset(&r, 0, sizeof r);
    r.in_len = 1;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK)
        return err_set(e, ND_ENOMEM, "out of memory (zlib)");
    zs.next_in = (Bytef *)(uintptr_t)(s->map[FILE_STO].data + sb->off);
    zs.avail_in = sb->clen;
    int zrc;
    const char *why = NULL;
    do {
        zs.next_out = chunk;
        zs.avail_out = INFLATE_CHUNK;
        zrc = inflate(&zs, Z_NO_FLUSH);
        size_t got = INFLATE_CHUNK - zs.avail_out;
        parse_records(&k, &r, chunk, got);
        if (zs.total_out > sb->ulen) {
            why = "inflates to more bytes than the block index says";
            break;
        }
        if (zrc == Z_BUF_ERROR && zs.avail_in == 0)
            why = "zlib stream truncated";
        else if (zrc == Z_MEM_ERROR) {
            inflateEnd(&zs);
            return err_set(e, ND_ENOMEM, "out of memory (zlib)");
        } else if (zrc != Z_OK && zrc != Z_STREAM_END)
            why = zs.msg ? zs.msg : "zlib error";
    } while (!why && zrc != Z_STREAM_END);
    uint64_t at = sb->off;
    char msg[CHECK_MSG_MAX - 64];
    msg[0] = 0;
    if (why)
        snprintf(msg, sizeof msg, "does not inflate: %s", why);
    else if (zs.total_out != sb->ulen)
        snprintf(msg, sizeof msg, "inflates to %lu bytes, the block index says %u",
                 (unsigned long)zs.total_out, sb->ulen);
    else if (zs.avail_in != 0) {
        snprintf(msg, sizeof msg, "%u bytes follow the end of its zlib stream", zs.avail_in);
        at = sb->off + sb->clen - zs.avail_in;
    } else if (r.bad || !r.in_len || r.field != 0 || r.shift != 0)
        snprintf(msg, sizeof msg, "record of document %u is damaged or cut short",
                 sb->first + r.records);
    else if (r.records != k.want)
        snprintf(msg, sizeof msg, "holds %u records, documents %u..%u are %u", r.records,
                 sb->first, next - 1, k.want);
    inflateEnd(&zs);
    if (msg[0])
        seg_problem(sc->c, ND_CHECK_ERROR, sc->num, 4, at, "stored block %u: %s", b, msg);
    else
        sc->c->r->sum.stored += r.records;
    if (!msg[0] && k.id_bad)
        seg_problem(sc->c, ND_CHECK_ERROR, sc->num, 4, sb->off,
                    "stored block %u: the stored id of document %u differs from its id term "
                    "(%llu document%s)",
                    b, k.id_first, (unsigned long long)k.id_bad, k.id_bad == 1 ? "" : "s");
    if (!msg[0] && k.idcol_bad) {
        size_t len;
        uint64_t off;
        col_id(s, k.idcol_first, &len, &off);
        seg_problem(sc->c, ND_CHECK_ERROR, sc->num, 3, off,
                    "id column: the id of document %u differs from its stored record in "
                    "stored block %u (%llu document%s)",
                    k.idcol_first, b, (unsigned long long)k.idcol_bad,
                    k.idcol_bad == 1 ? "" : "s");
    }
    return ND_OK;
}

static int check_stored(seg_check *sc, nd_err *e)
{
    uint8_t *chunk = malloc(INFLATE_CHUNK);
    if (!chunk)
        return err_set(e, ND_ENOMEM, "out of memory");
    int rc = ND_OK;
    for (uint32_t b = 0; b < sc->s->n_sblocks && !rc; b++)
        rc = check_stored_block(sc, b, chunk, e);
    free(chunk);
    return rc;
}

/* The structure of a segment whose five frames are valid. */
static int check_structure(checker *c, const seg_meta *actual, nd_err *e)
{
    segment s;
    nd_err se = {{0}};
    int rc = segment_open(&s, c->dir, actual, 0, &se); /* CRCs were checked above */
    if (rc == ND_OK && (rc = segment_check_ids(&s, &se)) != ND_OK)
        segment_close(&s); /* reported below, as a failed open would be */
    if (rc == ND_ENOMEM)
        return err_set(e, rc, "%s", se.msg);
    if (rc == ND_ENOTFOUND || rc == ND_EIO) {
        c->missing |= rc == ND_ENOTFOUND;
        problem(c, ND_CHECK_ERROR, "", actual->number, ND_CHECK_NONE, "%s", se.msg);
        return ND_OK;
    }
    if (rc) {
        /* a file that vanished since check_files: a newer commit replaced it */
        for (int k = 0; k < FILE_KINDS; k++) {
            char name[48], path[4200];
            seg_file_name(name, sizeof name, actual->number, k);
            snprintf(path, sizeof path, "%s/%s", c->dir, name);
            if (access(path, F_OK) != 0)
                c->missing = 1;
        }
        int kind;
        const char *msg = reader_msg(se.msg, actual->number, NULL, &kind);
        if (kind >= 0)
            seg_problem(c, ND_CHECK_ERROR, actual->number, kind, ND_CHECK_NONE, "%s", msg);
        else
            problem(c, ND_CHECK_ERROR, "", actual->number, ND_CHECK_NONE, "%s", msg);
        return ND_OK;
    }
    seg_check sc;
    memset(&sc, 0, sizeof sc);
    sc.c = c;
    sc.s = &s;
    sc.num = actual->number;
    sc.docs = s.docs;
    size_t d = s.docs ? s.docs : 1;
    sc.t.len = calloc(d * N_TEXT_FIELDS, sizeof *sc.t.len);
    sc.t.kw = calloc(d * 3, 1);
    sc.t.id_hash = calloc(d, sizeof *sc.t.id_hash);
    sc.t.pos_base = calloc(d, sizeof *sc.t.pos_base);
    if (!sc.t.len || !sc.t.kw || !sc.t.id_hash || !sc.t.pos_base)
        rc = err_set(e, ND_ENOMEM, "out of memory (%u documents)", s.docs);
    /* the position bitmap, unless the lengths claim more positions than
     * .pos can hold (they are then reported against the postings) */
    uint64_t bits = 0;
    for (uint32_t i = 0; !rc && i < s.docs; i++) {
        sc.t.pos_base[i] = bits;
        for (int f = 0; f < N_TEXT_FIELDS; f++)
            bits += segment_len(&s, f, i);
    }
    if (!rc && bits / ND_BLOCK / 8 <= s.body_len[FILE_POS] && bits / 8 < SIZE_MAX - 1) {
        sc.t.pos_bits = calloc((size_t)(bits / 8) + 1, 1);
        if (!sc.t.pos_bits)
            rc = err_set(e, ND_ENOMEM, "out of memory (%llu token positions)",
                         (unsigned long long)bits);
    }
    if (!rc)
        rc = check_terms(&sc, e);
    if (!rc)
        check_columns(&sc);
    if (!rc)
        rc = check_stored(&sc, e);
    free(sc.t.len);
    free(sc.t.kw);
    free(sc.t.id_hash);
    free(sc.t.pos_base);
    free(sc.t.pos_bits);
    segment_close(&s);
    return rc;
}

static int check_segment(checker *c, const seg_meta *meta, nd_err *e)
{
    nd_map map[FILE_KINDS];
    memset(map, 0, sizeof map);
    int framed;
    seg_meta actual;
    int rc = check_files(c, meta, map, &framed, &actual, e);
    for (int k = 0; k < FILE_KINDS; k++)
        map_close(&map[k]);
    if (rc || !framed)
        return rc;
    /* the structure, as the files are (their sizes and CRCs were reported) */
    return check_structure(c, &actual, e);
}

/* ---- the directory -------------------------------------------------------- */

static int is_named(const uint64_t *nums, uint32_t n, uint64_t num)
{
    return n && bsearch(&num, nums, n, sizeof *nums, cmp_u64) != NULL;
}

/* Files the commit does not name. The commit protocol (FORMAT.md section
 * 1) leaves them after a crash before or right after a commit, and the
 * next writer removes them: a warning, not damage. */
static void check_strays(checker *c)
{
    if (!c->listed)
        return; /* the catalog's list could not be read: no file can be told a stray */
    if (c->n_named) /* named may be NULL when the commit lists no segment */
        qsort(c->named, c->n_named, sizeof *c->named, cmp_u64);
    DIR *d = opendir(c->dir);
    if (!d) {
        problem(c, ND_CHECK_WARNING, "", ND_CHECK_NONE, ND_CHECK_NONE,
                "cannot list the directory: %s", strerror(errno));
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t num;
        if (seg_file_parse(de->d_name, &num) && !is_named(c->named, c->n_named, num))
            problem(c, ND_CHECK_WARNING, de->d_name, num, ND_CHECK_NONE,
                    "not part of the last commit: left by a write or merge that did not "
                    "commit (or by a crash right after a commit); the next writer removes it");
        else if (strcmp(de->d_name, MANIFEST_NAME ".tmp") == 0)
            problem(c, ND_CHECK_WARNING, de->d_name, ND_CHECK_NONE, ND_CHECK_NONE,
                    "left by an interrupted layout-1 commit; the next writer removes it");
    }
    closedir(d);
}

/* ---- the whole check ---------------------------------------------------- */

static int check_once(checker *c, manifest *m, nd_err *e)
{
    char path[4200];
    struct stat st;
    if (stat(c->dir, &st) != 0)
        return err_set(e, errno == ENOENT ? ND_ENOTFOUND : ND_EIO, "%s: %s", c->dir,
                       strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return err_set(e, ND_ENOTFOUND, "%s: not a directory", c->dir);
    snprintf(path, sizeof path, "%s/%s", c->dir, CATALOG_NAME);
    int rc = stat(path, &st) == 0 ? check_catalog(c, m, e) : check_legacy(c, m, e);
    if (rc)
        return rc;
    c->r->sum.generation = m->generation;
    c->r->sum.segments = m->n_segs;
    for (uint32_t i = 0; i < m->n_segs; i++) {
        c->r->sum.docs += m->segs[i].docs - m->segs[i].n_deleted;
        c->r->sum.deleted += m->segs[i].n_deleted;
    }
    for (uint32_t i = 0; i < m->n_segs && !rc; i++)
        rc = check_segment(c, &m->segs[i], e);
    if (!rc)
        check_strays(c);
    if (!rc && c->oom)
        rc = err_set(e, ND_ENOMEM, "out of memory");
    return rc;
}

void check_result_free(check_result *r)
{
    free(r->problems);
    memset(r, 0, sizeof *r);
}

int index_check(check_result *r, const char *dir, size_t max_problems, nd_err *e)
{
    int rc = ND_OK;
    for (int attempt = 0; attempt < CHECK_RETRIES; attempt++) {
        check_result_free(r);
        r->max = max_problems ? max_problems : CHECK_DEFAULT_MAX;
        checker c;
        memset(&c, 0, sizeof c);
        c.dir = dir;
        c.r = r;
        manifest m;
        memset(&m, 0, sizeof m);
        rc = check_once(&c, &m, e);
        uint64_t gen = m.generation, now = 0;
        manifest_free(&m);
        free(c.named);
        if (rc || !c.missing || c.legacy)
            break;
        /* a file of the commit is gone: if a newer commit replaced it, check
         * that one instead */
        nd_err e2 = {{0}};
        if (manifest_generation(dir, &now, &e2) != ND_OK || now == gen)
            break;
    }
    if (rc)
        check_result_free(r);
    return rc;
}
