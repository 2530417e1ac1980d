/*
 * index.h - everything that writes or reads index files: the framed file
 * writer and checker shared by all file kinds, the in-memory accumulator
 * that turns analysed articles into a segment, the segment reader with its
 * term dictionary, postings cursors and stored-article access, and the
 * manifest (commit record) that says which segments make up the index.
 *
 * docs/FORMAT.md describes every byte these files contain.
 */
#ifndef ND_INDEX_H
#define ND_INDEX_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/analysis.h"
#include "codec/codec.h"
#include "newsdex.h"
#include "util/util.h"

/* ---- fields ----------------------------------------------------------- */

/* Field numbers as stored in term keys (first byte) and columns. The text
 * fields come first: they have positions and per-document lengths. */
enum {
    FIELD_TITLE = 0,
    FIELD_BODY = 1,
    FIELD_URL = 2,
    FIELD_SOURCE = 3, /* keyword: the whole normalised value is one term */
    FIELD_LANG = 4,   /* keyword */
    FIELD_ID = 5,     /* the article id, exact bytes (not normalised): one
                         term per document, for upserts and deletes */
    N_FIELDS = 6,
    N_TEXT_FIELDS = 3
};

#define ND_MAX_TERM_KEY (1 + ND_MAX_TERM_BYTES) /* field byte + term */
#define ND_NO_DOC UINT32_MAX /* cursor exhausted */
#define ND_MAX_SEG_DOCS ((uint32_t)1 << 31)

/* ---- frame.c: the header/footer every file has ------------------------ */

#define FRAME_HEADER 8  /* magic[4] u16 version u16 flags */
#define FRAME_FOOTER 16 /* u64 body_len, u32 crc32, magic[4] */

/* Files of frame version SUMS_VERSION and later (.col: COL_SUMS_VERSION;
 * never MANIFEST) end their body with a table of CRC-32s, one per chunk of
 * 2^SUMS_SHIFT bytes (FORMAT.md section 3), so that a reader checks each
 * chunk the first time it reads from it instead of whole files at open. */
#define SUMS_VERSION 2
#define COL_SUMS_VERSION 3
#define SUMS_SHIFT 14 /* 16 KiB chunks */
#define FRAME_MIN_VERSION 1

/* A file being written: buffered, checksummed as it goes. */
typedef struct fout {
    int fd;
    char path[4096];
    char magic[4];
    uint32_t crc;   /* over every byte written so far (without sums: as they
                       go; with sums: of the whole chunks, combined) */
    uint64_t bytes; /* bytes written so far, header included */
    nd_buf buf;     /* pending bytes */
    int sums;       /* the file gets a chunk table */
    uint32_t chunk_crc, chunk_fill; /* the chunk being written */
    nd_buf table;   /* CRC-32s of the chunks completed (u32 LE each) */
} fout;

/* Creates path (must not exist: O_EXCL) and writes the header. */
int fout_open(fout *f, const char *path, const char magic[4], nd_err *e);
int fout_write(fout *f, const void *p, size_t n, nd_err *e);
int fout_varint(fout *f, uint64_t v, nd_err *e);
/* Offset of the next byte to be written (from the start of the file). */
static inline uint64_t fout_tell(const fout *f)
{
    return f->bytes + f->buf.len;
}
/* Writes the chunk table (if the file has one) and the footer, fsyncs and
 * closes. *crc_out (may be NULL) receives the file's CRC (the one in the
 * footer); afterwards f->bytes is the file's size. */
int fout_finish(fout *f, uint32_t *crc_out, nd_err *e);
/* Closes and unlinks an unfinished file. */
void fout_abort(fout *f);

/* Which CRCs frame_check, segment_open and snapshot_open verify. */
enum {
    CHECK_WHOLE = 1,  /* a file without a chunk table: its whole-file CRC, at open */
    CHECK_CHUNKS = 2, /* one with: the table's CRC at open, each chunk when first read */
    CHECK_ALL = 3
};

/* The chunk table of a mapped file and which chunks were checked. */
typedef struct frame_sums {
    const uint8_t *map;   /* the file's first byte */
    const uint8_t *tab;   /* n u32 CRC-32s; NULL: the file has none */
    uint64_t n;           /* chunks */
    uint64_t covered;     /* bytes they cover: header and body */
    uint32_t shift;       /* a chunk is 2^shift bytes (the last one shorter) */
    _Atomic uint64_t *ok; /* bit i: chunk i matched; NULL: nothing to check
                             (no table, or checksums skipped) */
    char name[40];        /* for messages */
} frame_sums;

/* Checks magic, version, flags, footer and the checksums `checks` asks for
 * (CHECK_*) of a mapped file: the whole-file CRC for a file without a chunk
 * table; for one with, only the table's own CRC, and sums (which must then
 * not be NULL) is set up so that frame_sums_check checks chunks as they are
 * read. Without CHECK_CHUNKS the table is still located (sums->ok stays
 * NULL: nothing is checked). On
 * success body and body_len give the body (the bytes between header and
 * footer, or chunk table). *crc receives the footer's CRC. ND_ECORRUPT /
 * ND_EVERSION with a message naming `name`. Free sums with frame_sums_free. */
int frame_check(const nd_map *m, const char magic[4], const char *name, int checks,
                const uint8_t **body, size_t *body_len, uint32_t *crc, frame_sums *sums,
                nd_err *e);
void frame_sums_free(frame_sums *s);
/* Checks the chunks holding bytes [off, off+len) of the file against their
 * CRCs, those not checked before. ND_ECORRUPT names the file and the bytes. */
int frame_sums_verify(const frame_sums *s, uint64_t off, uint64_t len, nd_err *e);
static inline int frame_sums_check(const frame_sums *s, uint64_t off, uint64_t len, nd_err *e)
{
    if (!s->ok || len == 0)
        return ND_OK;
    uint64_t a = off >> s->shift;
    if (a == (off + len - 1) >> s->shift && a < s->n &&
        ((atomic_load_explicit(&s->ok[a >> 6], memory_order_relaxed) >> (a & 63)) & 1))
        return ND_OK;
    return frame_sums_verify(s, off, len, e);
}

/* The frame version of .col files written now: version 1's columns followed
 * by the id column (version 2), then a chunk table (version 3; FORMAT.md
 * sections 3 and 5). Readers accept .col versions 1 to COL_VERSION,
 * .doc versions 1 to DOC_VERSION, MANIFEST version 1, and versions 1 to
 * ND_FORMAT_VERSION for every other file. */
#define COL_VERSION 3
/* The frame version of .doc files written now: version 2's postings, whose
 * full blocks may also be bitmaps (DOC_DENSE, FORMAT.md section 7).
 * Readers accept .doc versions 1 to DOC_VERSION; a bitmap block in an
 * earlier version is damage. */
#define DOC_VERSION 3
/* The first byte of a full postings block stored as a bitmap of the
 * documents it spans (a packed block's first byte, its width, is 0..32). */
#define DOC_DENSE 0x40
/* A full block is written as a bitmap when its documents span at most
 * 8 * DENSE_MAX_BYTES numbers and the bitmap takes at most this many bytes
 * more than the packed gaps (one bit per document): counting a query ORs
 * a bitmap into its bitset 64 documents at a time. */
#define DENSE_SLACK 16
/* The highest frame version readers accept for files with this magic. */
uint16_t frame_max_version(const char magic[4]);
/* Does a file with this magic and version carry a chunk table? */
int frame_has_sums(const char magic[4], uint16_t version);
/* fout_open writing `version` in the header instead of ND_FORMAT_VERSION. */
int fout_open_version(fout *f, const char *path, const char magic[4], uint16_t version,
                      nd_err *e);

/* ---- catalog.c / manifest.c: the commit record --------------------------- */

#define FILE_KINDS 5
enum { FILE_TDX, FILE_DOC, FILE_POS, FILE_COL, FILE_STO }; /* indexes of the arrays below */
extern const char *const seg_exts[FILE_KINDS]; /* tdx doc pos col sto, in that order */

typedef struct seg_meta {
    uint64_t number;            /* segment files are seg-<number>.<ext> */
    uint32_t docs;              /* documents in the segment */
    uint64_t size[FILE_KINDS];  /* byte size of each file */
    uint32_t crc[FILE_KINDS];   /* footer CRC of each file */
    uint32_t n_deleted;         /* documents deleted since the segment was written */
    uint64_t *deleted;          /* bitmap of (docs + 63) / 64 words, or NULL when
                                   n_deleted is 0; owned by the manifest */
} seg_meta;

/* One commit: its generation and live segments, with their deletions. */
typedef struct manifest {
    uint64_t generation;  /* 0 = no commit yet */
    uint64_t next_seg;    /* next unused segment number */
    uint32_t n_segs;
    seg_meta *segs;       /* malloc'd */
    int legacy;           /* read from a layout-1 MANIFEST file (read-only) */
    analysis_settings settings; /* the index's analysis, fixed at creation: written
                                   by the commit that creates the catalog, then
                                   only read (all empty for catalog version 1) */
} manifest;

#define MANIFEST_NAME "MANIFEST"   /* layout 1 commit record, read-only support */
#define CATALOG_NAME "catalog.db"  /* layout 2: the SQLite catalog */

/* Reads the last commit of dir: catalog.db, or a layout-1 MANIFEST.
 * ND_ENOTFOUND if neither exists. */
int manifest_read(manifest *m, const char *dir, nd_err *e);
/* Makes m the last commit of dir, atomically (one SQLite transaction). The
 * segment files it names must already be durable. */
int manifest_write(const manifest *m, const char *dir, nd_err *e);
/* Only the generation of the last commit (cheap; for reopen). */
int manifest_generation(const char *dir, uint64_t *gen, nd_err *e);
/* Deep copy (bitmaps included). */
int manifest_copy(manifest *dst, const manifest *src);
void manifest_free(manifest *m);
/* Reads a layout-1 MANIFEST (manifest.c). */
int manifest_read_legacy(manifest *m, const char *dir, nd_err *e);
void seg_file_name(char *buf, size_t n, uint64_t number, int kind);
/* 1 if name is exactly a segment file name as seg_file_name writes it. */
int seg_file_parse(const char *name, uint64_t *number);

/* ---- memindex.c, doctokens.c: the accumulator that builds one segment - */

typedef struct memindex memindex;

/* Starts a segment: opens its stored-articles file in dir. */
int memindex_open(memindex **out, const char *dir, uint64_t seg_number, nd_err *e);
/* Before the first article: the stored copies of the articles are then
 * compressed on a thread of the memindex's own, in order, while the caller
 * goes on (a writer with threads). The files, and memindex_bytes, are the
 * same; a failure to store shows at a later add or at memindex_finish.
 * Without a thread (it could not be started) articles are stored at once. */
void memindex_store_thread(memindex *mi);
/* Adds one article, analysing it with the caller's analyzer: the same as
 * doc_tokens_analyse into a doc_tokens the memindex owns, then
 * memindex_add_tokens. The id must be 1..ND_MAX_TERM_BYTES bytes. */
int memindex_add(memindex *mi, nd_analyzer *an, const nd_doc *doc, nd_err *e);

/* Everything the analyzer makes of one article, kept apart from the
 * memindex so that analysis can run on another thread (with that thread's
 * own analyzer) while the memindex stays with the writer. The tokens of
 * each text field are grouped by term there too (doctokens.c), and each
 * term's frequency and position gaps already written as the memindex's
 * varints, so the writer's thread only looks up each distinct term once
 * and appends bytes. Zero-initialise; reusable; free with doc_tokens_free. */
typedef struct doc_token {
    size_t off;   /* key bytes (field byte + normalised term) at keys.data + off */
    uint32_t len; /* 2..ND_MAX_TERM_KEY */
    uint32_t pos; /* position in its field */
} doc_token;

/* The working space of doc_tokens_analyse: one per analysing thread,
 * zero-initialised, reusable, freed with tok_scratch_free. */
typedef struct tok_scratch {
    doc_token *toks; /* the field being grouped */
    size_t n_toks, toks_cap;
    uint32_t *tab;   /* open addressing: term index + 1, 0 = empty */
    uint32_t *occ;   /* 2 per token: its term, then the gathered positions */
    size_t tab_cap, occ_cap;
    int field;       /* the field being analysed */
} tok_scratch;

/* One distinct term of one text field of the article. */
typedef struct doc_term {
    uint64_t hash;    /* term_key_hash of the key */
    size_t key;       /* key bytes at keys.data + key */
    size_t enc;       /* at enc.data + enc: tf, then tf position gaps (varints) */
    uint32_t len;     /* key bytes */
    uint32_t tf;      /* occurrences in the field */
    uint32_t enc_len; /* bytes at enc */
    uint32_t at;      /* (grouping scratch) */
} doc_term;

typedef struct doc_tokens {
    size_t len[N_TEXT_FIELDS]; /* tokens in field f */
    doc_term *terms;           /* title, then body, then url terms, each field's
                                  in order of first occurrence */
    size_t n_terms, terms_cap;
    size_t end[N_TEXT_FIELDS]; /* field f's terms end at terms[end[f]] */
    nd_buf keys;               /* key bytes of the tokens */
    nd_buf enc;                /* encoded postings of terms */
    nd_buf kw[2];              /* normalised source and lang (empty: not indexed) */
    int rc;                    /* ND_OK, or why the analysis failed ... */
    nd_err err;                /* ... with its message */
} doc_tokens;

/* The hash of a term key for in-memory tables (never stored): the first
 * and last eight bytes (overlapping for short keys) and every eight in
 * between, multiplied and folded. */
static inline uint64_t term_key_hash(const uint8_t *p, size_t n)
{
    uint64_t a, b;
    if (n >= 8) {
        a = ld_u64(p);
        b = ld_u64(p + n - 8);
        for (size_t i = 8; i + 8 < n; i += 8)
            a = (a ^ ld_u64(p + i)) * 0x9e3779b97f4a7c15ULL + (a >> 29);
    } else if (n >= 4) {
        a = ld_u32(p);
        b = ld_u32(p + n - 4);
    } else {
        a = n ? (uint64_t)p[0] << 16 | (uint64_t)p[n / 2] << 8 | p[n - 1] : 0;
        b = 0;
    }
    uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + n) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    return h ^ (h >> 32);
}

/* Analyses doc's text fields and keyword values into t (replacing its
 * content). Uses only s and an: safe on any thread that owns all three.
 * A failure (ND_ENOMEM, ND_ELIMIT, ND_EIO, ND_EINVAL for a bad id) is
 * returned and also kept in t, and memindex_add_tokens reports it. */
int doc_tokens_analyse(doc_tokens *t, tok_scratch *s, nd_analyzer *an, const nd_doc *doc);
/* Adds an article analysed by doc_tokens_analyse from the same doc: term
 * ids, postings, field lengths, keywords, id term, date and stored copy.
 * The bytes written are the same as memindex_add's. */
int memindex_add_tokens(memindex *mi, const nd_doc *doc, const doc_tokens *t, nd_err *e);
/* Bytes held by t (capacities). */
size_t doc_tokens_bytes(const doc_tokens *t);
void doc_tokens_free(doc_tokens *t);
/* Bytes held by s (capacities). */
size_t tok_scratch_bytes(const tok_scratch *s);
void tok_scratch_free(tok_scratch *s);
uint32_t memindex_docs(const memindex *mi);
/* Bytes of memory held (an estimate good to a few percent). */
size_t memindex_bytes(const memindex *mi);
/* Writes every file of the segment, fsync'd, and fills *meta. The memindex
 * is freed whether or not it succeeds. */
int memindex_finish(memindex *mi, seg_meta *meta, nd_err *e);
/* Frees, deleting the segment's partial files. */
void memindex_abort(memindex *mi);

/* ---- segment.c: reading one segment ----------------------------------- */

typedef struct term_info {
    uint32_t df;       /* documents containing the term */
    uint64_t cf;       /* total occurrences */
    uint64_t doc_off;  /* start of the postings list in .doc */
    uint64_t doc_len;
    uint64_t pos_off;  /* start of the positions in .pos */
    uint64_t pos_len;
} term_info;

typedef struct stored_block {
    uint64_t off;     /* offset of the zlib block in .sto */
    uint32_t clen;    /* compressed bytes */
    uint32_t ulen;    /* uncompressed bytes */
    uint32_t first;   /* first document in the block */
} stored_block;

typedef struct segment {
    seg_meta meta;
    nd_map map[FILE_KINDS];
    const uint8_t *body[FILE_KINDS];
    size_t body_len[FILE_KINDS];
    /* chunk checksums: read ranges of .tdx .doc .pos .sto are checked with
     * frame_sums_check before use (.col is checked whole at open) */
    frame_sums sums[FILE_KINDS];
    uint32_t docs;
    uint16_t doc_version; /* .doc frame version: bitmap blocks from DOC_VERSION */
    uint64_t sum_len[N_TEXT_FIELDS];
    const uint8_t *lens;  /* N_TEXT_FIELDS arrays of docs u32 (LE) */
    const uint8_t *dates; /* docs i64 (LE) */
    const uint8_t *id_off; /* docs + 1 u32 (LE) offsets into ids; NULL for a
                              version 1 .col (no id column) */
    const uint8_t *ids;    /* the id bytes, back to back */
    /* term dictionary */
    uint64_t n_terms;
    uint32_t n_tblocks;
    uint32_t tblock_size;
    uint64_t *tblock_off;        /* offset of each term block in .tdx */
    const uint8_t **tblock_key;  /* first key of each block (points into the map) */
    uint32_t *tblock_keylen;
    uint64_t tdx_index_off;      /* where the blocks end */
    /* stored articles */
    uint32_t n_sblocks;
    stored_block *sblocks;
    /* deletions of the snapshot's commit: bit d of word d/64 set = deleted */
    uint64_t *deleted; /* malloc'd, NULL when nothing is deleted */
    uint32_t n_deleted;
    /* date spans (segment_date_spans), built on first use; allocated with
     * the segment, so that searches sharing a const segment can fill it */
    _Atomic(int64_t *) *date_spans;
    /* a .col with a chunk table: bit g set when segment_col_group(g) was
     * checked; NULL otherwise (nothing to check) */
    _Atomic uint64_t *col_groups;
} segment;

/* Documents per date span: 2^DATE_SPAN_SHIFT. */
#define DATE_SPAN_SHIFT 8

/* checks: the CRCs to verify (CHECK_*). */
int segment_open(segment *s, const char *dir, const seg_meta *meta, int checks, nd_err *e);
void segment_close(segment *s);

/* Column values. A .col of frame version 3 has a chunk table: segment_len
 * and segment_date read without checking, after segment_col_group (the
 * document's group) or segment_check_columns (everything) checked the
 * chunks; segment_len_at checks the chunk of the one value it reads
 * (ND_ECORRUPT on a mismatch). Older .col files were checked whole at
 * open. */
static inline uint32_t segment_len(const segment *s, int field, uint32_t doc)
{
    return ld_u32(s->lens + ((size_t)field * s->docs + doc) * 4);
}
static inline int64_t segment_date(const segment *s, uint32_t doc)
{
    return (int64_t)ld_u64(s->dates + (size_t)doc * 8);
}
static inline int segment_col_check(const segment *s, const uint8_t *p, size_t n, nd_err *e)
{
    return frame_sums_check(&s->sums[FILE_COL], (uint64_t)(p - s->map[FILE_COL].data), n, e);
}
static inline int segment_len_at(const segment *s, int field, uint32_t doc, uint32_t *len,
                                 nd_err *e)
{
    const uint8_t *p = s->lens + ((size_t)field * s->docs + doc) * 4;
    int rc = segment_col_check(s, p, 4, e);
    *len = ld_u32(p);
    return rc;
}
/* Checks every chunk of the columns (lengths, dates, ids) before a reader
 * walks all of them (merges, nd_check). ND_OK or ND_ECORRUPT. */
int segment_check_columns(const segment *s, nd_err *e);
/* Checks the chunks holding the lengths and dates of documents
 * g * 2^COL_GROUP_SHIFT .. (g + 1) * 2^COL_GROUP_SHIFT - 1, once per group
 * (a bitmap shared by the threads reading the segment), so that a query
 * reads them with segment_len / segment_date after one test per group.
 * ND_OK or ND_ECORRUPT. */
int segment_col_group(const segment *s, uint32_t g, nd_err *e);
#define COL_GROUP_SHIFT 10
/* Deleted documents are skipped by every query, count and facet. */
static inline int segment_deleted(const segment *s, uint32_t doc)
{
    return s->deleted && ((s->deleted[doc >> 6] >> (doc & 63)) & 1);
}

/* The smallest and largest date of each run of 2^DATE_SPAN_SHIFT documents
 * (documents 0..255, 256..511, ...), at [2*i] and [2*i + 1]; articles
 * without a date are left out (a run of only those has INT64_MAX,
 * INT64_MIN). A date-range filter skips the runs that cannot hold a date
 * in it: news arrives roughly in date order, so a range of dates is mostly
 * a range of documents. Built on the first call (reading every date once)
 * and kept for the life of the segment; safe to call from threads sharing
 * it. NULL when out of memory (callers then skip nothing). */
const int64_t *segment_date_spans(const segment *s);

/* Looks up key = [field byte][term bytes]. ND_OK, ND_DONE if absent,
 * ND_ECORRUPT. */
int segment_term(const segment *s, const uint8_t *key, size_t klen, term_info *ti, nd_err *e);

/* Iterates the dictionary in key order from the first key >= `from`. */
typedef struct term_iter {
    const segment *seg;
    uint32_t block;      /* current block */
    uint32_t in_block;   /* terms left in the current block */
    const uint8_t *p, *end;
    uint8_t key[ND_MAX_TERM_KEY];
    size_t klen;
    term_info ti;
    uint64_t next_doc_off, next_pos_off;
} term_iter;

int term_iter_seek(term_iter *it, const segment *s, const uint8_t *from, size_t flen, nd_err *e);
/* Advances to the next term: ND_OK (it->key, it->ti valid), ND_DONE, ND_ECORRUPT. */
int term_iter_next(term_iter *it, nd_err *e);

/* A stored article, decoded. Strings point into the caller's buffer. */
typedef struct stored_doc {
    const char *f[6]; /* id, title, body, source, url, lang */
    size_t len[6];
} stored_doc;
enum { SF_ID, SF_TITLE, SF_BODY, SF_SOURCE, SF_URL, SF_LANG, SF_COUNT };

/* Decompresses the block holding doc into *block (cached: reused when
 * *cached_block already holds it) and decodes the article. */
int segment_stored(const segment *s, uint32_t doc, nd_buf *block, uint32_t *cached_block,
                   stored_doc *out, nd_err *e);
/* Checks every document's pair of id offsets of a .col with an id column
 * (versions 2 and 3; opening checks only their ends, segment_doc_id the
 * pair it reads). ND_OK or ND_ECORRUPT. */
int segment_check_ids(const segment *s, nd_err *e);
/* The article id of doc: from the id column, without touching .sto, when
 * the segment has one; else from its stored record (segment_stored, with
 * the same block cache). *id points into the segment or into *block. */
int segment_doc_id(const segment *s, uint32_t doc, nd_buf *block, uint32_t *cached_block,
                   const char **id, size_t *len, nd_err *e);

/* ---- postings.c: postings cursor over one term in one segment --------- */

typedef struct pcursor {
    const segment *seg;
    term_info ti;
    int field;
    uint32_t nb;           /* blocks */
    uint32_t block;        /* block loaded (nb = none yet) */
    uint32_t i, n;         /* index in the loaded block, docs in it */
    uint32_t doc;          /* current document or ND_NO_DOC */
    const uint8_t *end;    /* end of the postings list */
    uint32_t *last_doc;    /* per block (malloc'd when nb > 1) */
    uint64_t *block_off;   /* per block: offset of its bytes in .doc */
    uint64_t *pos_block_off; /* per block: offset of its positions in .pos */
    uint32_t *max_tf;
    uint32_t *min_len;
    int no_tf;             /* frequencies are not decoded (counting only) */
    uint32_t shallow;      /* pcursor_shallow: block of its last answer */
    int one_ready;         /* one-block list: one_max_tf, one_min_len computed */
    uint32_t one_max_tf, one_min_len, one_last;
    const uint8_t *blocks; /* first block byte */
    /* positions of the loaded block, decoded on demand */
    int pos_loaded;
    uint64_t pos_done[ND_BLOCK / 64]; /* documents whose gaps are summed */
    const uint8_t **group_at; /* where each packed group of 128 positions
                                 starts, then the varint tail (malloc'd) */
    uint8_t *group_done;      /* groups decoded (malloc'd) */
    uint32_t group_cap, n_groups, pos_total;
    const uint8_t *pos_end;   /* end of the block's positions */
    const uint8_t *tail_p;    /* the tail decoded up to here (NULL: not begun) */
    uint32_t tail_n;          /* values of the tail decoded */
    uint32_t *pos;         /* malloc'd, grows */
    size_t pos_cap;
    /* from here on, filled before use (pcursor_open does not clear them) */
    uint32_t docs[DENSE_OUT]; /* the block's ND_BLOCK at most, room for dense_unpack */
    uint32_t tfs[ND_BLOCK];
    uint32_t pos_start[ND_BLOCK + 1];
} pcursor;

int pcursor_open(pcursor *c, const segment *s, int field, const term_info *ti, nd_err *e);
void pcursor_close(pcursor *c);
/* Moves to the first document >= target (target > current doc, or the
 * first call). ND_OK (c->doc may be ND_NO_DOC) or ND_ECORRUPT. */
int pcursor_advance(pcursor *c, uint32_t target, nd_err *e);
/* Sets bit d of word d / 64 of bits for every document d of the list, on
 * a cursor that has not moved yet; bits must hold the segment's documents.
 * Bitmap blocks are ORed in whole. Frequencies are not decoded. Leaves the
 * cursor at the end (ND_NO_DOC). ND_OK or ND_ECORRUPT. */
int pcursor_collect(pcursor *c, uint64_t *bits, nd_err *e);

/* The first index in docs[lo, hi) whose document is >= target, given that
 * docs[hi - 1] >= target: a short scan, then galloping and binary search
 * for long jumps. */
static inline uint32_t pcursor_seek_in_block(const uint32_t *docs, uint32_t lo, uint32_t hi,
                                             uint32_t target)
{
    for (uint32_t k = 0; k < 4 && lo < hi; k++, lo++)
        if (docs[lo] >= target)
            return lo;
    uint32_t step = 4;
    while (lo + step < hi && docs[lo + step] < target) {
        lo += step + 1;
        step *= 2;
    }
    hi = lo + step + 1 < hi ? lo + step + 1 : hi;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (docs[mid] < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* pcursor_advance's common case, inline: when target is in the loaded
 * block, moves there and returns 1; else 0 (nothing changed). */
static inline int pcursor_advance_here(pcursor *c, uint32_t target)
{
    if (c->block >= c->nb || c->docs[c->n - 1] < target)
        return 0;
    c->i = pcursor_seek_in_block(c->docs, c->i, c->n, target);
    c->doc = c->docs[c->i];
    return 1;
}
/* Score-bound data without decoding postings: for the first block holding
 * documents >= d, its largest frequency, its shortest document (field
 * length) and its last document; every document of the list in
 * [d, *last] has tf <= *max_tf and length >= *min_len. A one-block list
 * (no skip table) decodes its block once for this. d must not decrease
 * between calls. ND_OK, ND_DONE (no document >= d), ND_ECORRUPT. */
int pcursor_shallow(pcursor *c, uint32_t d, uint32_t *max_tf, uint32_t *min_len, uint32_t *last,
                    nd_err *e);
static inline uint32_t pcursor_tf(const pcursor *c)
{
    return c->tfs[c->i];
}
/* Positions of the current document (ascending). */
int pcursor_positions(pcursor *c, const uint32_t **pos, uint32_t *n, nd_err *e);

/* ---- segwrite.c: writing a segment's files ---------------------------- */

/* The stored-articles file (.sto) being written. Records are appended to an
 * open block, which is compressed and written as soon as it reaches
 * STORED_BLOCK_TARGET uncompressed bytes, so memory holds one block plus the
 * block index. memindex streams articles through it as they are added;
 * merge_segments copies records into it. Transparent (like fout) so it can
 * be embedded. */
#define STORED_BLOCK_TARGET (32u << 10)

typedef struct stowriter {
    fout f;
    nd_buf block;      /* records of the open block */
    uint32_t first;    /* first document of the open block */
    uint32_t docs;     /* records added so far */
    nd_buf index;      /* block index entries, as written to the file */
    uint32_t n_blocks; /* blocks written */
    nd_buf zbuf;       /* compressed block */
    struct libdeflate_compressor *zc; /* reused from block to block */
    /* the records' ids, for the id column of .col (written by segwriter_finish) */
    nd_buf id_off;     /* u32 (LE) end offset of each id in `ids` */
    nd_buf ids;        /* id bytes, back to back */
    uint32_t n_ids;
} stowriter;

/* Creates dir/seg-<number>.sto (O_EXCL) and writes its header. On failure
 * no file is left. */
int stowriter_open(stowriter *w, const char *dir, uint64_t number, nd_err *e);
/* Appends the record of the next document: the six strings of d in SF_*
 * order (d->f[i] may be NULL when d->len[i] is 0), and keeps its id for the
 * id column. ND_ENOMEM, ND_EIO, ND_ELIMIT. */
int stowriter_add(stowriter *w, const stored_doc *d, nd_err *e);
/* Keeps the id of the next document of a block stowriter_add_block is
 * about to append (its records carry the same ids): ids first, then the
 * block. ND_ENOMEM, ND_ELIMIT (over 4 GiB of ids), ND_EINVAL (empty). */
int stowriter_add_id(stowriter *w, const char *id, size_t len, nd_err *e);
/* Appends a whole block as it is: clen bytes of zlib stream holding n
 * records (ulen bytes uncompressed), whose n ids stowriter_add_id has just
 * been given. Only allowed while no block is open (w->block.len == 0) and
 * with exactly those ids pending, else ND_EINVAL. The caller vouches for the block;
 * merge_segments uses it where re-compressing would give the same bytes. */
int stowriter_add_block(stowriter *w, const uint8_t *z, uint32_t clen, uint32_t ulen, uint32_t n,
                        nd_err *e);
/* Bytes of memory held by the buffers (not counting the compressor, a
 * constant of a few hundred KiB once the first block is written). */
size_t stowriter_bytes(const stowriter *w);
/* Closes and unlinks an unfinished file and frees the buffers. Safe to call
 * twice, and after segwriter_finish (it then only frees). */
void stowriter_abort(stowriter *w);

/* The per-document columns of the segment being written (the .col body).
 * Borrowed by the segwriter until segwriter_finish or segwriter_abort. */
typedef struct seg_columns {
    uint32_t docs;
    const uint8_t *lens[N_TEXT_FIELDS]; /* docs u32 (LE) per text field */
    const uint8_t *dates;               /* docs i64 (LE) */
    uint64_t sum_len[N_TEXT_FIELDS];
} seg_columns;

/* The writer of a segment's .tdx .doc .pos .col files: terms go in one at a
 * time, in key order, with their decoded postings; it block-packs them, builds
 * the skip tables (max_tf, min_len from the columns) and the dictionary.
 * Memory: the encoded postings of one term plus the dictionary's block index. */
typedef struct segwriter segwriter;

/* Creates the .tdx .doc .pos .col files of segment `number` in dir (O_EXCL).
 * On failure no file is left. */
int segwriter_open(segwriter **out, const char *dir, uint64_t number, const seg_columns *cols,
                   nd_err *e);
/* Adds the next term. key = [field byte][term bytes], 2..ND_MAX_TERM_KEY
 * bytes, strictly after the previous key in memcmp order. docs[0..df) are
 * strictly ascending local ids < cols->docs, tfs[i] >= 1. For a text field
 * pos holds, document after document, the tfs[i] strictly ascending absolute
 * positions of each (sum of tfs values); NULL for keyword fields. The arrays
 * are only read. A key out of order or bad postings: ND_EINVAL. Also
 * ND_ENOMEM, ND_EIO. After a failure only segwriter_abort is allowed. */
int segwriter_term(segwriter *w, const uint8_t *key, size_t klen, uint32_t df,
                   const uint32_t *docs, const uint32_t *tfs, const uint32_t *pos, nd_err *e);

/* segwriter_term in two steps, so that terms can be encoded on several
 * threads and added in order on one: segwriter_encode checks and encodes
 * a term's postings, appending its .doc and .pos bytes to c->doc and
 * c->pos and their sizes to *out. It only reads w's columns, so threads
 * may encode at once, each into its own term_code. segwriter_add then adds
 * the next term (in key order, as segwriter_term) from the bytes. */
typedef struct term_code {
    nd_buf doc, pos;      /* encoded terms, one after another */
    nd_buf skip, blocks;  /* (scratch) */
    uint32_t *gaps;       /* (scratch) */
    size_t gaps_cap;
} term_code;

typedef struct term_coded {
    uint64_t doc_len, pos_len; /* its bytes in term_code.doc and .pos */
    uint64_t cf;
} term_coded;

int segwriter_encode(const segwriter *w, const uint8_t *key, size_t klen, uint32_t df,
                     const uint32_t *docs, const uint32_t *tfs, const uint32_t *pos, term_code *c,
                     term_coded *out, nd_err *e);
int segwriter_add(segwriter *w, const uint8_t *key, size_t klen, uint32_t df,
                  const term_coded *t, const uint8_t *doc_bytes, const uint8_t *pos_bytes,
                  nd_err *e);
/* Empties c->doc and c->pos (keeping the memory). */
void term_code_reset(term_code *c);
void term_code_free(term_code *c);
/* Completes the segment: the dictionary's block index and trailer, the
 * columns, the last stored block and the stored block index (sto must hold
 * cols->docs records), then every file's footer, fsync'd and closed in the
 * order .tdx .doc .pos .col .sto; fills *meta. The directory is not synced
 * (the commit does that). w is freed and sto released whether or not it
 * succeeds; on failure every file of the segment, .sto included, is gone. */
int segwriter_finish(segwriter *w, stowriter *sto, seg_meta *meta, nd_err *e);
/* Frees w and removes its four files (the caller aborts its stowriter). */
void segwriter_abort(segwriter *w);

/* ---- merge.c: merging segments without re-analysis -------------------- */

/* Writes segment `number` in dir holding the live documents (segment_deleted
 * false) of srcs[0..n), in order - every live document of srcs[0], then of
 * srcs[1], ... - renumbered densely from 0. Terms are merged from the
 * sources' dictionaries and postings (a term left without live documents is
 * dropped), stored records are copied as they are (whole compressed blocks
 * where compressing again would give the same bytes), field lengths and
 * dates are copied and the length totals recomputed over the live
 * documents. The result is, byte for byte, the segment memindex would build
 * from the same articles.
 * Sources are read through the checked readers: damage is ND_ECORRUPT. Also
 * ND_ENOMEM, ND_EIO, ND_ELIMIT (over ND_MAX_SEG_DOCS live documents or
 * 4 GiB of ids).
 * Memory: the largest merged term's postings, one stored block per side, and
 * 20 bytes per live document (columns) plus its id and 4 bytes (id column)
 * plus 4 per document of a source with deletions. The sources are only
 * read (they may be shared with readers).
 * On success the files are fsync'd (not the directory) and *meta describes
 * them; on failure no file of segment `number` remains. */
int merge_segments(const char *dir, const segment *const *srcs, uint32_t n, uint64_t number,
                   seg_meta *meta, nd_err *e);

/* ---- snapshot.c: the segments of one commit, as nd_index ------------- */

struct nd_index {
    char dir[4096];
    manifest man;
    segment *segs;        /* man.n_segs of them */
    uint64_t *base;       /* global number of each segment's first document */
    uint64_t docs;        /* documents in all segments, deleted ones included
                             (the N of BM25, as in Lucene) */
    uint64_t live_docs;   /* documents not deleted */
    uint64_t sum_len[N_TEXT_FIELDS];
};

/* Opens the last commit of dir. Segments that `prev` (may be NULL) already
 * holds with the same checksums are not checksummed again. */
int snapshot_open(nd_index *ix, const char *dir, int skip_crc, const nd_index *prev, nd_err *e);
void snapshot_close(nd_index *ix);
/* Segment holding global document number g; *local receives its local id. */
uint32_t snapshot_locate(const nd_index *ix, uint64_t g, uint32_t *local);

#endif
