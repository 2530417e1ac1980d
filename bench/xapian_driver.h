/*
 * xapian_driver.h - a small C interface to Xapian for the benchmarks
 * (bench_search, eval), so that Xapian is driven in-process from C like
 * newsdex and SQLite FTS5. Only built when libxapian-dev is found (the
 * programs then define ND_HAVE_XAPIAN); the library itself never uses it.
 *
 * Index layout: one Xapian document per article; its data is the article id;
 * value slot 0 holds the date (Unix seconds, sortable_serialise) when there
 * is one. Title and body go through one TermGenerator without a stemmer
 * (STEM_NONE), with positions; title words get a wdf increment of
 * `title_wdf` per occurrence, body words 1, into the same terms (Xapian has
 * no per-field BM25: it pools the fields of a document).
 *
 * Every function catches Xapian's exceptions and returns 0 on success or -1
 * with a message in err.
 */
#ifndef ND_BENCH_XAPIAN_DRIVER_H
#define ND_BENCH_XAPIAN_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xd_db xd_db;

enum { XD_OR, XD_AND, XD_PHRASE };

typedef struct xd_query {
    int op;                   /* XD_OR, XD_AND or XD_PHRASE (the words in order) */
    const char *const *words; /* terms, already lower-case */
    size_t nwords;
    int filter_dates;         /* restrict to since..until (inclusive) */
    int64_t since, until;     /* Unix seconds */
    size_t k;                 /* top k; 0 = count only (exact) */
} xd_query;

/* Called for each hit in rank order with the article id and its score. */
typedef void (*xd_hit_fn)(void *ctx, const char *id, size_t id_len, double score);

const char *xd_version(void);

/* Creates (or overwrites) a writable database in dir. */
int xd_open_writer(xd_db **out, const char *dir, unsigned title_wdf, char *err, size_t errlen);
/* Adds one article; has_date says whether date is meaningful. */
int xd_add(xd_db *db, const char *id, size_t id_len, const char *title, size_t title_len,
           const char *body, size_t body_len, int has_date, int64_t date, char *err,
           size_t errlen);
int xd_commit(xd_db *db, char *err, size_t errlen);
/* Compacts the database in src into dst (a new directory). */
int xd_compact(const char *src, const char *dst, char *err, size_t errlen);

/* Opens a database read-only and ranks with BM25Weight(k1, 0, 1, b, 0). */
int xd_open_reader(xd_db **out, const char *dir, double k1, double b, char *err,
                   size_t errlen);
uint64_t xd_doc_count(const xd_db *db);
/* Runs q; reports each of the top k hits to fn (may be NULL) and the number
 * of matches in *total (exact when q->k is 0, Xapian's estimate otherwise). */
int xd_search(xd_db *db, const xd_query *q, xd_hit_fn fn, void *ctx, uint64_t *total,
              char *err, size_t errlen);

void xd_close(xd_db *db);

#ifdef __cplusplus
}
#endif

#endif
