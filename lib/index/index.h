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

/* A file being written: buffered, checksummed as it goes. */
typedef struct fout {
    int fd;
    char path[4096];
    char magic[4];
    uint32_t crc;   /* over every byte written so far */
    uint64_t bytes; /* bytes written so far, header included */
    nd_buf buf;     /* pending bytes */
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
/* Writes the footer, fsyncs and closes. *crc_out (may be NULL) receives the
 * file's CRC (the one in the footer). */
int fout_finish(fout *f, uint32_t *crc_out, nd_err *e);
/* Closes and unlinks an unfinished file. */
void fout_abort(fout *f);

/* Checks magic, version, flags, footer and (unless skip_crc) the CRC of a
 * mapped file. On success body and body_len give the bytes between header and
 * footer. ND_ECORRUPT / ND_EVERSION with a message naming `name`. */
int frame_check(const nd_map *m, const char magic[4], const char *name, int skip_crc,
                const uint8_t **body, size_t *body_len, uint32_t *crc, nd_err *e);

/* ---- manifest.c: the commit record ------------------------------------ */

#define FILE_KINDS 5
extern const char *const seg_exts[FILE_KINDS]; /* tdx doc pos col sto, in that order */

typedef struct seg_meta {
    uint64_t number;            /* segment files are seg-<number>.<ext> */
    uint32_t docs;              /* documents in the segment */
    uint64_t size[FILE_KINDS];  /* byte size of each file */
    uint32_t crc[FILE_KINDS];   /* footer CRC of each file */
} seg_meta;

typedef struct manifest {
    uint64_t generation;  /* 0 = no commit yet */
    uint64_t next_seg;    /* next unused segment number */
    uint32_t n_segs;
    seg_meta *segs;       /* malloc'd */
} manifest;

#define MANIFEST_NAME "MANIFEST"

/* Reads dir/MANIFEST. ND_ENOTFOUND if absent. */
int manifest_read(manifest *m, const char *dir, nd_err *e);
/* Writes MANIFEST atomically: temp file, fsync, rename, fsync dir. */
int manifest_write(const manifest *m, const char *dir, nd_err *e);
void manifest_free(manifest *m);
void seg_file_name(char *buf, size_t n, uint64_t number, int kind);
/* 1 if name is exactly a segment file name as seg_file_name writes it. */
int seg_file_parse(const char *name, uint64_t *number);

/* ---- memindex.c: the accumulator that builds one segment -------------- */

typedef struct memindex memindex;

/* Starts a segment: opens its stored-articles file in dir. */
int memindex_open(memindex **out, const char *dir, uint64_t seg_number, nd_err *e);
/* Adds one analysed article (the analyzer is the caller's). `seq` is the
 * writer's sequence number of the add, kept per document (memindex_seqs)
 * so the commit can tell superseded copies of an id apart. The id must be
 * 1..ND_MAX_TERM_BYTES bytes. */
int memindex_add(memindex *mi, nd_analyzer *an, const nd_doc *doc, uint64_t seq, nd_err *e);
/* The sequence numbers of the documents added so far, by local id. */
const uint64_t *memindex_seqs(const memindex *mi);
uint32_t memindex_docs(const memindex *mi);
/* Bytes of memory held (an estimate good to a few percent). */
size_t memindex_bytes(const memindex *mi);
/* Writes every file of the segment, fsync'd, and fills *meta. If seqs is
 * not NULL it receives the sequence numbers (memindex_seqs), to be freed by
 * the caller. The memindex is freed whether or not it succeeds. */
int memindex_finish(memindex *mi, seg_meta *meta, nd_buf *seqs, nd_err *e);
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
    uint32_t docs;
    uint64_t sum_len[N_TEXT_FIELDS];
    const uint8_t *lens;  /* N_TEXT_FIELDS arrays of docs u32 (LE) */
    const uint8_t *dates; /* docs i64 (LE) */
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
} segment;

int segment_open(segment *s, const char *dir, const seg_meta *meta, int skip_crc, nd_err *e);
void segment_close(segment *s);

static inline uint32_t segment_len(const segment *s, int field, uint32_t doc)
{
    return ld_u32(s->lens + ((size_t)field * s->docs + doc) * 4);
}
/* Deleted documents are skipped by every query, count and facet. */
static inline int segment_deleted(const segment *s, uint32_t doc)
{
    return s->deleted && ((s->deleted[doc >> 6] >> (doc & 63)) & 1);
}
static inline int64_t segment_date(const segment *s, uint32_t doc)
{
    return (int64_t)ld_u64(s->dates + (size_t)doc * 8);
}

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
    const uint8_t *blocks; /* first block byte */
    uint32_t docs[ND_BLOCK];
    uint32_t tfs[ND_BLOCK];
    /* positions of the loaded block, decoded on demand */
    int pos_loaded;
    uint32_t *pos;         /* malloc'd, grows */
    size_t pos_cap;
    uint32_t pos_start[ND_BLOCK + 1];
} pcursor;

int pcursor_open(pcursor *c, const segment *s, int field, const term_info *ti, nd_err *e);
void pcursor_close(pcursor *c);
/* Moves to the first document >= target (target > current doc, or the
 * first call). ND_OK (c->doc may be ND_NO_DOC) or ND_ECORRUPT. */
int pcursor_advance(pcursor *c, uint32_t target, nd_err *e);
static inline uint32_t pcursor_tf(const pcursor *c)
{
    return c->tfs[c->i];
}
/* Positions of the current document (ascending). */
int pcursor_positions(pcursor *c, const uint32_t **pos, uint32_t *n, nd_err *e);

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

int snapshot_open(nd_index *ix, const char *dir, int skip_crc, nd_err *e);
void snapshot_close(nd_index *ix);
/* Segment holding global document number g; *local receives its local id. */
uint32_t snapshot_locate(const nd_index *ix, uint64_t g, uint32_t *local);

#endif
