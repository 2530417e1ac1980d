/*
 * newsdex.h - the public API of newsdex, a full-text search library for news
 * archives. This header is the manual: read it top to bottom.
 *
 * OVERVIEW
 *   An index is a directory. An nd_writer adds articles to it and commits;
 *   an nd_index is a read-only snapshot of the last commit; an nd_search runs
 *   queries against a snapshot and returns nd_hits.
 *
 *       nd_writer *w;  nd_writer_open(&w, "archive", NULL);
 *       nd_writer_add(w, &doc);  ...  nd_writer_commit(w);  nd_writer_free(w);
 *
 *       nd_index *ix;  nd_index_open(&ix, "archive", NULL);
 *       nd_search *s;  nd_search_open(&s, ix);
 *       nd_hits *h;    nd_search_run(s, &h, "oil prices", 10, NULL);
 *       for (size_t i = 0; i < nd_hits_count(h); i++) { nd_hit hit; nd_hits_get(h, i, &hit); }
 *       nd_hits_free(h); nd_search_free(s); nd_index_free(ix);
 *
 * ERRORS
 *   Every fallible call returns int: ND_OK (0) on success, a negative ND_E*
 *   code on failure. nd_strerror() names a code; the handle's *_errmsg()
 *   call returns the detailed message of its last failure (for example
 *   "segment seg-1.doc: checksum mismatch"). Messages are stored on the
 *   handle, never in globals or thread-locals.
 *
 * THREADS
 *   - An nd_index is an immutable snapshot: any number of threads may use it
 *     at once (open one nd_search per thread on it).
 *   - An nd_search and the nd_hits it returns belong to one thread at a time.
 *   - An nd_writer belongs to one thread at a time, and at most one writer
 *     may be open per index directory, across processes (a lock file
 *     enforces it; a second nd_writer_open returns ND_EBUSY).
 *   - Readers never see uncommitted work, and keep seeing the commit they
 *     opened for as long as they stay open.
 *   The library has no global state and no init call.
 *
 * TEXT
 *   All text is UTF-8. Text arguments are (const char *s, size_t len) pairs
 *   and need not be NUL-terminated, except paths and query strings passed
 *   as plain C strings where noted.
 *
 * OWNERSHIP
 *   "caller owns, free with nd_X_free": the caller must call that function.
 *   "borrowed, valid until ...": do not free; the pointer dies at that event.
 */
#ifndef NEWSDEX_H
#define NEWSDEX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define ND_API
#elif defined(__GNUC__) || defined(__clang__)
#define ND_API __attribute__((visibility("default")))
#else
#define ND_API
#endif

/* ---- Versions --------------------------------------------------------- */

#define ND_VERSION_MAJOR 0
#define ND_VERSION_MINOR 8
#define ND_VERSION_PATCH 0
#define ND_VERSION_NUMBER (ND_VERSION_MAJOR * 10000 + ND_VERSION_MINOR * 100 + ND_VERSION_PATCH)
#define ND_VERSION_STRING "0.8.0"

/* The on-disk format version written by this library (docs/FORMAT.md). */
#define ND_FORMAT_VERSION 2

/** @return the library version string, e.g. "0.1.0" (static storage).
 *  @since 0.1 */
ND_API const char *nd_version(void);

/* ---- Error codes ------------------------------------------------------ */

#define ND_OK 0
#define ND_DONE 1         /* end of iteration (not an error) */
#define ND_ENOMEM (-1)    /* out of memory */
#define ND_EIO (-2)       /* an operating-system I/O call failed */
#define ND_ECORRUPT (-3)  /* index file damaged or truncated */
#define ND_EVERSION (-4)  /* index written by an unknown format version */
#define ND_EINVAL (-5)    /* invalid argument or invalid input document */
#define ND_ESYNTAX (-6)   /* query syntax error */
#define ND_ENOTFOUND (-7) /* no index (or no such item) at that place */
#define ND_EBUSY (-8)     /* the index is locked by another writer */
#define ND_ELIMIT (-9)    /* a documented limit was exceeded (docs/LIMITS.md) */

/** @return a static, human-readable name for an ND_* code ("corrupt index
 *  file", ...). Never NULL. @since 0.1 */
ND_API const char *nd_strerror(int code);

/* ---- Articles --------------------------------------------------------- */

/* Sentinel for "no date" in nd_doc.date and nd_hit.date. */
#define ND_NO_DATE INT64_MIN

/* One article to index. Every string is (pointer, length), UTF-8; NULL with
 * length 0 means absent. Only `id` is required. The writer copies what it
 * needs: the strings may be freed as soon as nd_writer_add returns. */
typedef struct nd_doc {
    const char *id;
    size_t id_len;
    const char *title;
    size_t title_len;
    const char *body;
    size_t body_len;
    const char *source; /* e.g. "Reuters"; an exact-match keyword */
    size_t source_len;
    const char *url;
    size_t url_len;
    const char *lang; /* BCP-47 tag, e.g. "en"; an exact-match keyword */
    size_t lang_len;
    int64_t date; /* seconds since 1970-01-01T00:00:00Z, or ND_NO_DATE */
} nd_doc;

/** Parses an ISO 8601 date or date-time ("2019", "2019-03", "2019-03-14",
 *  "2019-03-14T09:30", "2019-03-14T09:30:00Z", "...+01:00", fractions of a
 *  second ignored) into seconds since the epoch, UTC. A missing zone means UTC.
 *  @return ND_OK, or ND_EINVAL if the text is not such a date or is out of
 *  the supported range (years 0001..9999). @since 0.1 */
ND_API int nd_date_parse(int64_t *out, const char *s, size_t len);

/** Formats seconds since the epoch as "YYYY-MM-DD" when the time of day is
 *  midnight UTC, else "YYYY-MM-DDTHH:MM:SSZ". Writes at most n bytes including
 *  the NUL. @return the length written (without NUL), or 0 if n is too small
 *  or the value is ND_NO_DATE. @since 0.1 */
ND_API size_t nd_date_format(char *buf, size_t n, int64_t date);

/* ---- Ranking parameters ------------------------------------------------ */

/* BM25 parameters and field weights used when ranking. */
typedef struct nd_bm25 {
    double k1;           /* term-frequency saturation; default 0.9 */
    double b;            /* length normalisation; default 0.4 */
    double title_weight; /* default 2.0 */
    double body_weight;  /* default 1.0 */
} nd_bm25;

#define ND_BM25_DEFAULTS {0.9, 0.4, 2.0, 1.0}

/* ---- Writer ----------------------------------------------------------- */

typedef struct nd_writer nd_writer;

typedef struct nd_writer_opts {
    unsigned version;        /* ND_WRITER_OPTS_VERSION */
    size_t ram_budget;       /* bytes of buffered postings before a segment is
                                flushed; 0 = default (256 MiB) */
    unsigned merge_factor;   /* segments of one size tier that trigger an
                                automatic merge after a commit; 0 = default
                                (10), 1 = no automatic merges */
    unsigned threads;        /* analysis threads for nd_writer_add_jsonl; 0 or
                                1 = analyse on the calling thread (at most 64
                                are used). Above 1 the writer also compresses
                                the stored copies of added articles (every add
                                call) on one thread of its own, and writes a
                                segment that reached ram_budget on another
                                while the next one fills (so buffered postings
                                may then take up to twice ram_budget; copies
                                of articles waiting to be compressed take up
                                to 16 MiB more); a failure to write either
                                shows at a later add or at the commit. The
                                index is the same either way. @since 0.2 */
    /* Analysis settings, fixed when the index is created and recorded in it,
     * so that queries are analysed as its articles were (docs/FORMAT.md,
     * "settings"). For a new index NULL or "" means none (the default). For
     * an existing index NULL means "whatever it has"; any other value must
     * equal what it has (else nd_writer_open fails with ND_EINVAL). */
    const char *stemmer;     /* Snowball stemmer applied to every word of title,
                                body and url (not source, lang or id), after
                                case folding: one of nd_stemmers(), e.g.
                                "english", "porter", "german".
                                @since 0.3 (ND_WRITER_OPTS_VERSION 2) */
    const char *stopwords;   /* stop list: ND_STOPWORDS_EN_LUCENE33. A stop word
                                is not indexed but keeps its position, so a
                                phrase with one inside still matches.
                                @since 0.3 (ND_WRITER_OPTS_VERSION 2) */
} nd_writer_opts;

/* Version 1 structs (without stemmer and stopwords) are still accepted. */
#define ND_WRITER_OPTS_VERSION 2
#define ND_WRITER_OPTS_INIT {ND_WRITER_OPTS_VERSION, 0, 0, 0, NULL, NULL}

/* Lucene's English stop set, the 33 words of EnglishAnalyzer (a, an, and,
 * are, as, at, be, but, by, for, if, in, into, is, it, no, not, of, on, or,
 * such, that, the, their, then, there, these, they, this, to, was, will,
 * with). @since 0.3 */
#define ND_STOPWORDS_EN_LUCENE33 "en-lucene33"

/** @return the Snowball stemmers nd_writer_opts.stemmer accepts, a
 *  NULL-terminated list of static strings ("english", "porter", "german",
 *  ...; as libstemmer has them). @since 0.3 */
ND_API const char *const *nd_stemmers(void);

/** Opens (creating if needed) the index directory `dir` for writing and takes
 *  its writer lock.
 *  @param out  caller owns, free with nd_writer_free.
 *  @param dir  path, NUL-terminated.
 *  @param opts NULL for defaults.
 *  @return ND_OK; ND_EBUSY if another writer holds the lock; ND_EVERSION,
 *  ND_ECORRUPT for an existing index that cannot be read; ND_EINVAL for an
 *  unknown stemmer or stop list, or one the existing index does not have;
 *  ND_EIO; ND_ENOMEM. On failure *out is NULL (the message is lost; use
 *  nd_strerror, or nd_writer_open_err to get it).
 *  @since 0.1 */
ND_API int nd_writer_open(nd_writer **out, const char *dir, const nd_writer_opts *opts);

/** nd_writer_open, with the detailed message of a failure written to errbuf
 *  (may be NULL), NUL-terminated, truncated to errlen bytes - for example
 *  an unknown stemmer, or settings that differ from the index's, naming
 *  both. ND_EINVAL for those two. @since 0.3 */
ND_API int nd_writer_open_err(nd_writer **out, const char *dir, const nd_writer_opts *opts,
                              char *errbuf, size_t errlen);

/** Adds one article. It becomes visible to readers at the next successful
 *  nd_writer_commit. An article without an id is rejected with ND_EINVAL.
 *  Analysis runs on the calling thread (opts.threads above 1 only moves
 *  the compression of the stored copy to the writer's own thread; the same
 *  for nd_writer_add_json). @since 0.1 */
ND_API int nd_writer_add(nd_writer *w, const nd_doc *doc);

/** Parses one JSON object (one line of a JSON Lines file) and adds it.
 *  Fields: "id" (string, required), "title", "body", "source", "url",
 *  "lang" (strings), "date" (ISO 8601 string); other fields are ignored;
 *  null counts as absent.
 *  @return ND_OK; ND_EINVAL for a bad article (invalid JSON or UTF-8,
 *  missing id, wrong field type, bad date) with the reason in
 *  nd_writer_errmsg - the writer stays usable; other codes are failures of
 *  the writer itself. @since 0.1 */
ND_API int nd_writer_add_json(nd_writer *w, const char *json, size_t len);

/* Progress and error reporting for nd_writer_add_jsonl. */
typedef struct nd_ingest_stats {
    uint64_t lines;        /* lines read (blank lines included) */
    uint64_t added;        /* articles added */
    uint64_t skipped;      /* bad lines reported and skipped */
    uint64_t bytes_read;   /* bytes of the (possibly compressed) input consumed */
    uint64_t bytes_total;  /* size of the input file, 0 if unknown (stdin) */
} nd_ingest_stats;

typedef struct nd_ingest_opts {
    unsigned version; /* ND_INGEST_OPTS_VERSION */
    int strict;       /* non-zero: the first bad line stops the ingest (ND_EINVAL) */
    /* Called once for each bad line, with the file name as given, the 1-based
     * line number and a reason. May be NULL. */
    void (*on_error)(void *ctx, const char *file, uint64_t line, const char *reason);
    /* Called now and then (at least every 4 MiB of input) and at the end. May
     * be NULL. */
    void (*on_progress)(void *ctx, const nd_ingest_stats *stats);
    void *ctx;
} nd_ingest_opts;

#define ND_INGEST_OPTS_VERSION 1
#define ND_INGEST_OPTS_INIT {ND_INGEST_OPTS_VERSION, 0, NULL, NULL, NULL}

/** Reads a JSON Lines file (gzip-compressed or plain, detected from its
 *  content; "-" reads standard input) and adds each article, reporting bad
 *  lines through opts->on_error and counting them in *stats.
 *  With nd_writer_opts.threads = N > 1, N worker threads (started and
 *  joined by this call) parse and analyse lines ahead of the calling
 *  thread, which adds the articles in input order: ids, reports, stats and
 *  index files are the same as with one thread, and the callbacks are
 *  still called on the calling thread only. Up to 2N batches of lines (each
 *  at most 256 lines or about 4 MiB, or one longer line) are in flight;
 *  their buffers and the workers' analyzers stay with the writer for its
 *  next file, until nd_writer_free.
 *  @param stats may be NULL; otherwise filled (accumulated into: zero it
 *  before the first file).
 *  @return ND_OK when the whole file was read (bad lines do not count as
 *  failure unless opts->strict); ND_EIO if it cannot be read, including a
 *  truncated gzip stream (the articles before the damage stay added);
 *  ND_EINVAL on the first bad line in strict mode. @since 0.1 */
ND_API int nd_writer_add_jsonl(nd_writer *w, const char *path, const nd_ingest_opts *opts,
                               nd_ingest_stats *stats);

/** Makes every article added so far durable and visible to newly opened
 *  readers, atomically: segment files are written and fsync'd before the
 *  commit record that names them. @since 0.1 */
ND_API int nd_writer_commit(nd_writer *w);

/** Deletes the article with this id: every copy committed so far, and any
 *  copy added since the last commit. Deleting an id that does not exist is
 *  not an error. Like adds, it takes effect at the next commit. Adding an
 *  article whose id exists replaces it the same way (upsert).
 *  @since 0.2 */
ND_API int nd_writer_delete(nd_writer *w, const char *id, size_t id_len);

/** Commits, then merges segments until at most max_segments remain (the
 *  smallest first), dropping deleted articles; with max_segments 1 the
 *  result is one segment without deletions. Each merge is committed on its
 *  own; readers are never blocked. @since 0.2 */
ND_API int nd_writer_merge(nd_writer *w, size_t max_segments);

/** @return the detailed message of the writer's last failure ("" if none).
 *  Borrowed, valid until the next call on `w`. @since 0.1 */
ND_API const char *nd_writer_errmsg(const nd_writer *w);

/** Releases the lock and frees the writer. Uncommitted articles are
 *  discarded. Accepts NULL. @since 0.1 */
ND_API void nd_writer_free(nd_writer *w);

/* ---- Index (read-only snapshot) --------------------------------------- */

typedef struct nd_index nd_index;

typedef struct nd_open_opts {
    unsigned version;          /* ND_OPEN_OPTS_VERSION */
    int skip_checksums;        /* non-zero: verify no CRC-32 (structure is
                                  still validated) */
} nd_open_opts;

#define ND_OPEN_OPTS_VERSION 1
#define ND_OPEN_OPTS_INIT {ND_OPEN_OPTS_VERSION, 0}

/** Opens the last commit of the index at `dir` as an immutable snapshot.
 *  Every file's magic, version, size and structure is verified. Checksums:
 *  files of format 2 (and columns files of newsdex 0.7 on) carry a CRC-32
 *  per 16 KiB chunk, verified the first time a search reads the chunk (so
 *  opening costs the same whatever the index size, and a damaged chunk
 *  fails, with ND_ECORRUPT, only what reads it); older files are verified
 *  whole here. nd_check verifies everything.
 *  @param out caller owns, free with nd_index_free. On failure *out is NULL.
 *  @param errbuf optional (may be NULL): receives the detailed message on
 *  failure, NUL-terminated, truncated to errlen bytes.
 *  @return ND_OK; ND_ENOTFOUND if `dir` holds no index; ND_ECORRUPT;
 *  ND_EVERSION; ND_EIO; ND_ENOMEM. @since 0.1 */
ND_API int nd_index_open(nd_index **out, const char *dir, const nd_open_opts *opts,
                         char *errbuf, size_t errlen);

/** Frees the snapshot. Every nd_search on it must be freed first. Accepts
 *  NULL. @since 0.1 */
ND_API void nd_index_free(nd_index *ix);

/** Opens the newest commit of ix's directory, if it is newer than ix.
 *  Segments ix already has are not checksummed whole again, so this is
 *  cheap (their chunks are verified as the new snapshot reads them).
 *  @param out caller owns, free with nd_index_free; set to NULL (and ND_OK
 *  returned) when ix is already the newest commit. ix stays valid and
 *  unchanged either way. @since 0.2 */
ND_API int nd_index_reopen(nd_index **out, const nd_index *ix, char *errbuf, size_t errlen);

/* Figures about an index, for `search stats` and monitoring. */
typedef struct nd_index_stats {
    uint64_t docs;            /* live articles */
    uint64_t segments;        /* segments in the snapshot */
    uint64_t terms;           /* dictionary entries, summed over segments and fields */
    uint64_t generation;      /* commit generation of the snapshot */
    uint64_t bytes_terms;     /* term dictionary files (.tdx) */
    uint64_t bytes_postings;  /* doc ids and frequencies (.doc) */
    uint64_t bytes_positions; /* positions (.pos) */
    uint64_t bytes_columns;   /* field lengths and dates (.col) */
    uint64_t bytes_stored;    /* compressed stored articles (.sto) */
    uint64_t bytes_other;     /* commit record and lock */
} nd_index_stats;

/** Fills *out. Never fails on a valid handle. @since 0.1 */
ND_API void nd_index_stats_get(const nd_index *ix, nd_index_stats *out);

/** @return one analysis setting of the index, as recorded when it was
 *  created: key "analyzer.stemmer" (a name of nd_stemmers(), "" = none),
 *  "analyzer.stopwords" (ND_STOPWORDS_EN_LUCENE33, "" = none) or
 *  "analyzer.version" ("1"). Indexes written before 0.3 read as "" (no
 *  stemming, no stop words). NULL for another key. Borrowed, valid until
 *  nd_index_free. @since 0.3 */
ND_API const char *nd_index_setting(const nd_index *ix, const char *key);

/* One segment of a snapshot, for `search stats`. */
typedef struct nd_segment_info {
    uint64_t number;   /* files are seg-<number>.* */
    uint64_t docs;     /* documents written to the segment */
    uint64_t deleted;  /* of those, deleted since */
    uint64_t bytes;    /* size of its five files */
} nd_segment_info;

/** Fills *out with segment i (0 <= i < stats.segments), in search order.
 *  @return ND_OK or ND_EINVAL if i is out of range. @since 0.2 */
ND_API int nd_index_segment_get(const nd_index *ix, size_t i, nd_segment_info *out);

/* ---- Integrity check --------------------------------------------------- */

/* The result of nd_check: the problems found in an index. */
typedef struct nd_check_report nd_check_report;

/* nd_check_problem.severity */
#define ND_CHECK_ERROR 1   /* damage: a file or the catalog breaks docs/FORMAT.md */
#define ND_CHECK_WARNING 2 /* not damage, worth knowing (e.g. files an interrupted
                              write left behind, which the next writer removes) */

/* "Unknown" in nd_check_problem.segment and .offset. */
#define ND_CHECK_NONE UINT64_MAX

typedef struct nd_check_opts {
    unsigned version;    /* ND_CHECK_OPTS_VERSION */
    size_t max_problems; /* problems kept in the report (every one is still
                            counted in the summary); 0 = default (100) */
} nd_check_opts;

#define ND_CHECK_OPTS_VERSION 1
#define ND_CHECK_OPTS_INIT {ND_CHECK_OPTS_VERSION, 0}

/* One problem. Strings are borrowed, NUL-terminated, valid until
 * nd_check_report_free. */
typedef struct nd_check_problem {
    int severity;        /* ND_CHECK_ERROR or ND_CHECK_WARNING */
    const char *file;    /* name in the index directory ("seg-3.doc",
                            "catalog.db"), "" when not about one file */
    uint64_t segment;    /* segment number, or ND_CHECK_NONE */
    uint64_t offset;     /* byte offset in `file`, or ND_CHECK_NONE */
    const char *message; /* one line of UTF-8: what was expected and what was
                            found, naming the field, term (bytes escaped as
                            \xNN) and document where they are known */
} nd_check_problem;

/* What a check covered and found. */
typedef struct nd_check_summary {
    uint64_t generation; /* commit checked */
    uint64_t segments;   /* segments the commit names */
    uint64_t docs;       /* live articles in them */
    uint64_t deleted;    /* deleted articles still in them */
    uint64_t terms;      /* dictionary entries read */
    uint64_t postings;   /* (document, frequency) pairs decoded */
    uint64_t positions;  /* positions decoded */
    uint64_t stored;     /* stored articles decoded */
    uint64_t bytes;      /* bytes of segment files checksummed */
    uint64_t errors;     /* ND_CHECK_ERROR problems, all of them (also those
                            past max_problems) */
    uint64_t warnings;   /* ND_CHECK_WARNING problems, all of them */
} nd_check_summary;

/** Checks the last commit of the index at `dir` as completely as the format
 *  allows: the catalog (SQLite integrity check, identity, version, rows,
 *  deletion bitmaps), every checksum of every segment file against its
 *  footer and the catalog, every chunk CRC (format 2) against its file's
 *  chunk table, and every structural invariant of
 *  docs/FORMAT.md section 10, including the ones readers leave unchecked
 *  (sorted terms, increasing documents, counts that agree, skip data, field
 *  lengths against the postings, stored blocks holding the right documents,
 *  offsets inside their files). Files not named by the commit are warnings.
 *  It takes no lock and changes nothing (the catalog is read as
 *  nd_index_open reads it), so it may run while a writer commits (it checks
 *  the commit it found), and it is safe on any damaged index. Time is linear in the index size; memory is about 30 bytes per
 *  document of the largest segment, plus one bit per token.
 *  @param out caller owns, free with nd_check_report_free. On failure *out
 *  is NULL.
 *  @param opts NULL for defaults.
 *  @param errbuf optional: the message of a failure, as for nd_index_open.
 *  @return ND_OK when the check ran, whether or not it found problems (see
 *  nd_check_summary.errors); ND_ENOTFOUND if `dir` holds no index;
 *  ND_EVERSION for an index of another format version; ND_EIO if the
 *  directory or catalog cannot be read at all; ND_EINVAL; ND_ENOMEM.
 *  @since 0.3 */
ND_API int nd_check(nd_check_report **out, const char *dir, const nd_check_opts *opts,
                    char *errbuf, size_t errlen);

/** @return the number of problems kept in the report (at most
 *  opts.max_problems), in the order found. @since 0.3 */
ND_API size_t nd_check_count(const nd_check_report *r);

/** Fills *out with problem i (0 <= i < nd_check_count).
 *  @return ND_OK or ND_EINVAL if i is out of range. @since 0.3 */
ND_API int nd_check_problem_get(const nd_check_report *r, size_t i, nd_check_problem *out);

/** Fills *out. @since 0.3 */
ND_API void nd_check_summary_get(const nd_check_report *r, nd_check_summary *out);

/** Frees the report. Accepts NULL. @since 0.3 */
ND_API void nd_check_report_free(nd_check_report *r);

/* ---- Search ----------------------------------------------------------- */

typedef struct nd_search nd_search;
typedef struct nd_hits nd_hits;

/** Creates a searcher on `ix`: per-thread scratch space and error message.
 *  @param out caller owns, free with nd_search_free; must be freed before
 *  `ix`. @since 0.1 */
ND_API int nd_search_open(nd_search **out, nd_index *ix);
ND_API void nd_search_free(nd_search *s);

/** @return the detailed message of the last failure on `s` (for ND_ESYNTAX it
 *  names the position). Borrowed, valid until the next call on `s`. */
ND_API const char *nd_search_errmsg(const nd_search *s);

/* "No position" from nd_search_error_offset. */
#define ND_NO_OFFSET ((size_t)-1)

/** @return the byte offset in the query string of the last ND_ESYNTAX or
 *  ND_ELIMIT failure of nd_search_run on `s` (where the bad clause starts;
 *  the message in nd_search_errmsg names the same place as a 1-based
 *  character column), or ND_NO_OFFSET when the last call did not fail on a
 *  place in the query. @since 0.2 */
ND_API size_t nd_search_error_offset(const nd_search *s);

/* Default operator between clauses written side by side (docs/QUERY.md). */
#define ND_OP_OR 0
#define ND_OP_AND 1

/* Order of the hits (nd_search_opts.sort). Ties are broken by score, then by
 * the order in which articles were added. Undated articles come last in
 * both date orders. */
#define ND_SORT_SCORE 0     /* relevance, best first (default) */
#define ND_SORT_DATE_ASC 1  /* oldest first */
#define ND_SORT_DATE_DESC 2 /* newest first */

/* Facets (nd_search_opts.facets, bits to OR together): counts over every
 * match, read with nd_hits_facet_count / nd_hits_facet_get. Dates are
 * bucketed in UTC. */
#define ND_FACET_SOURCE 1u /* by source value, most matches first */
#define ND_FACET_DAY 2u    /* keys "YYYY-MM-DD", oldest first */
#define ND_FACET_MONTH 4u  /* keys "YYYY-MM", oldest first */
#define ND_FACET_YEAR 8u   /* keys "YYYY", oldest first */

typedef struct nd_search_opts {
    unsigned version;   /* ND_SEARCH_OPTS_VERSION */
    size_t offset;      /* hits to skip (pagination) */
    int default_op;     /* ND_OP_OR (default) or ND_OP_AND */
    int snippets;       /* non-zero (default): build a snippet per hit */
    nd_bm25 bm25;       /* ranking parameters */
    int sort;           /* ND_SORT_SCORE (default), ND_SORT_DATE_ASC or _DESC */
    int64_t since;      /* only articles dated at or after this second;
                           ND_NO_DATE (default) = no lower bound */
    int64_t until;      /* only articles dated at or before this second (inclusive);
                           ND_NO_DATE (default) = no upper bound. With either
                           bound set, undated articles do not match. */
    unsigned facets;    /* ND_FACET_* bits; 0 (default) = none */
    int count_only;     /* non-zero: only count (and facet) the matches - no
                           scoring, no hits, no snippets; k is ignored */
    int plain;          /* non-zero: the query is plain text, not the query
                           language: every word in it is searched in title
                           and body, joined by default_op; operators, quotes,
                           fields and '*' are ordinary text. For topic
                           titles and user input that must never fail to
                           parse. @since 0.3 (ND_SEARCH_OPTS_VERSION 2) */
    int ids_only;       /* non-zero: hits carry only score, id and date; no
                           stored article is read, so title, source, url,
                           lang and snippet are empty. The fastest way to
                           fetch hits. @since 0.4 (ND_SEARCH_OPTS_VERSION 3) */
    int approx_total;   /* non-zero: articles that cannot enter the best
                           k + offset are skipped without being scored or
                           counted (dynamic pruning with per-block score
                           bounds). The hits and scores are exactly those of
                           a full evaluation; only nd_hits_total becomes a
                           lower bound (see nd_hits_total_exact). Has no
                           effect with facets, count_only or a date sort,
                           which need every match. (Without it, a query of
                           words has its matches counted apart and its top
                           k pruned the same way: exact, only slower.)
                           @since 0.4 (version 3) */
} nd_search_opts;

/* Version 1 structs (without `plain`) and version 2 structs (without
 * `ids_only` and `approx_total`) are still accepted. */
#define ND_SEARCH_OPTS_VERSION 3
#define ND_SEARCH_OPTS_INIT                                                                 \
    {ND_SEARCH_OPTS_VERSION, 0, ND_OP_OR, 1, ND_BM25_DEFAULTS, ND_SORT_SCORE, ND_NO_DATE, \
     ND_NO_DATE, 0, 0, 0, 0, 0}

/** Runs `query` (NUL-terminated UTF-8, the language of docs/QUERY.md: words,
 *  "phrases", "proximity"~N, AND OR NOT ( ), +required -excluded,
 *  title: body: url: source: lang: date: scopes and filters, prefix*) and
 *  returns the k best articles after opts->offset, by BM25 relevance or by
 *  date (opts->sort).
 *  @param out caller owns, free with nd_hits_free. On failure *out is NULL.
 *  @param k at most ND_MAX_K (opts->offset too).
 *  @param opts NULL for defaults.
 *  @return ND_OK (also when nothing matches); ND_ESYNTAX for a query that
 *  does not parse; ND_ELIMIT for a query past the limits (length, words,
 *  nesting, a prefix too short or matching too many words) - for both, the
 *  place is given by nd_search_error_offset and nd_search_errmsg;
 *  ND_EINVAL for bad options; ND_ECORRUPT if damage is found while reading.
 *  @since 0.1 */
ND_API int nd_search_run(nd_search *s, nd_hits **out, const char *query, size_t k,
                         const nd_search_opts *opts);

#define ND_MAX_K 10000

/* A highlighted range in a snippet: bytes [start, start+len). */
typedef struct nd_span {
    uint32_t start;
    uint32_t len;
} nd_span;

/* One ranked article. Every pointer is borrowed, valid until nd_hits_free;
 * strings are not NUL-terminated (use the lengths); absent ones have length 0. */
typedef struct nd_hit {
    double score;
    const char *id;
    size_t id_len;
    const char *title;
    size_t title_len;
    const char *source;
    size_t source_len;
    const char *url;
    size_t url_len;
    const char *lang;
    size_t lang_len;
    int64_t date;          /* or ND_NO_DATE */
    const char *snippet;   /* a passage of the body (or title) */
    size_t snippet_len;
    const nd_span *marks;  /* matched terms inside the snippet, in order */
    size_t n_marks;
} nd_hit;

/** @return the number of hits returned (at most k). */
ND_API size_t nd_hits_count(const nd_hits *h);
/** @return the number of articles matching the query (all of them, not
 *  only the k returned); with opts.approx_total a lower bound of it. */
ND_API uint64_t nd_hits_total(const nd_hits *h);
/** @return 1 if nd_hits_total is the exact number of matches, 0 if it is a
 *  lower bound (opts.approx_total skipped some matches). @since 0.4 */
ND_API int nd_hits_total_exact(const nd_hits *h);
/** Fills *out with hit i (0-based, best first). @return ND_OK or ND_EINVAL
 *  if i is out of range. */
ND_API int nd_hits_get(const nd_hits *h, size_t i, nd_hit *out);
ND_API void nd_hits_free(nd_hits *h);

/** @return the number of buckets of one facet (one ND_FACET_* value), 0 if
 *  it was not requested or nothing matched. @since 0.2 */
ND_API size_t nd_hits_facet_count(const nd_hits *h, unsigned facet);

/** Reads bucket i of a facet: its key (a source value as written in the
 *  article, or a date key "YYYY-MM-DD" / "YYYY-MM" / "YYYY") and the number
 *  of matching articles in it. Sources come most matches first (ties by
 *  key), dates oldest first; empty buckets are not listed.
 *  @param key borrowed, valid until nd_hits_free; not NUL-terminated.
 *  @return ND_OK or ND_EINVAL (facet not requested, i out of range).
 *  @since 0.2 */
ND_API int nd_hits_facet_get(const nd_hits *h, unsigned facet, size_t i, const char **key,
                             size_t *keylen, uint64_t *count);

/** @return how many matching articles have no value for the facet (no
 *  source, or no date), so that the buckets plus this equal nd_hits_total.
 *  @since 0.2 */
ND_API uint64_t nd_hits_facet_missing(const nd_hits *h, unsigned facet);

/** Reads an ISO 8601 date as the period it names, as date: in queries and
 *  --since/--until do: "2019" is the whole year, "2019-03" the month,
 *  "2019-03-14" the day, a date-time ("2019-03-14T09:30:00Z") one second.
 *  *first and *last receive the first and last second of the period, for
 *  nd_search_opts.since and .until.
 *  @return ND_OK, or ND_EINVAL if nd_date_parse rejects the text. @since 0.2 */
ND_API int nd_date_period(int64_t *first, int64_t *last, const char *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* NEWSDEX_H */
