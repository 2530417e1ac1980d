/*
 * api.h - the writer handle as the files of lib/api share it: writer.c
 * (lock, adds, deletes, flushes, commits), jsonl.c (JSON input) and
 * merge.c (the merge policy).
 *
 * nd_writer_add_jsonl with nd_writer_opts.threads > 1 parses and analyses lines on
 * worker threads (jsonl.c), but every article is still added to the
 * segment being built by the calling thread, in input order, through
 * writer_add - so the result does not depend on the number of threads.
 *
 * The writer's working state is a list of segments: those of the last
 * commit followed by those flushed since, each open for reading (to find
 * ids) with its deletion bitmap as it will be at the next commit. Adds and
 * deletes by id are buffered with the segment being built and applied to
 * every older segment when that segment is flushed, so memory stays within
 * the RAM budget however long a batch is.
 *
 * A writer with threads writes a segment that reached the RAM budget on a
 * thread of its own (bg_flush) while the next one fills; the batch's ids
 * and replaced documents go with it and are applied when the flush is
 * joined, always before the next flush, a commit, a merge or the end. The
 * points where segments are cut depend on the batch alone, so the index is
 * still the same whatever the number of threads.
 */
#ifndef ND_API_INTERNAL_H
#define ND_API_INTERNAL_H

#include "analysis/analysis.h"
#include "index/index.h"
#include "newsdex.h"
#include "util/util.h"

#define ND_ID_DELETED UINT64_MAX /* strmap value: deleted, no new copy */

struct nd_writer {
    char dir[4096];
    int lock_fd;
    uint64_t generation; /* of the last commit */
    uint64_t next_seg;   /* next segment number to hand out */
    /* working list: committed segments, then flushed ones (n_committed..) */
    manifest work;       /* segs[i].deleted: the bitmap for the next commit */
    segment *open;       /* work.n_segs readers, deletions not attached */
    uint32_t open_cap;
    int dirty;           /* something to commit */
    nd_analyzer *an;
    memindex *mi;        /* the segment being built, or NULL */
    nd_strmap ids;       /* ids added or deleted since mi began: id -> local
                            doc in mi, or ND_ID_DELETED */
    nd_buf superseded;   /* bitmap over mi's documents replaced in the batch */
    struct bg_flush *bg; /* the previous batch's segment being written, or NULL */
    size_t ram_budget;
    unsigned merge_factor;
    unsigned threads;    /* analysis threads of nd_writer_add_jsonl (1 = none) */
    struct pipeline *pipe; /* their ring and analyzers, kept from one
                              nd_writer_add_jsonl to the next (jsonl.c) */
    int broken;          /* a failure left buffered state inconsistent */
    nd_err err;
    nd_buf scratch;
};

#define ND_MAX_THREADS 64 /* more analysis threads than this are not started */

/* writer.c */
/* Adds one article: checks it, adds it to the segment being built (from
 * toks, its analysis by doc_tokens_analyse, or analysed here with w->an
 * when toks is NULL), records its id for upserts and flushes under the RAM
 * budget. nd_writer_add and nd_writer_add_jsonl both come through here. */
int writer_add(nd_writer *w, const nd_doc *doc, const doc_tokens *toks);

/* jsonl.c */
/* Frees the writer's analysis pipeline (no thread of it is running
 * between calls). */
void writer_pipe_free(nd_writer *w);

/* search.c */
/* With on, s scores every match even where counting them and pruning the
 * top k would give the same answer (exec_opts.split): the reference the
 * tests compare the faster paths with. */
void search_set_exhaustive(nd_search *s, int on);

/* merge.c */
/* Merges the working segments idx[0..n) (distinct, any order) into one new
 * segment, dropping their deleted documents; it takes the place of the
 * lowest-numbered position among them and the others leave the list. The
 * caller commits (writer_publish). */
int writer_merge_set(nd_writer *w, const uint32_t *idx, uint32_t n);
/* Applies the tiered policy until no tier holds merge_factor segments;
 * commits after each merge. */
int writer_auto_merge(nd_writer *w);
/* Commits the working list as the next generation and deletes the files of
 * segments the previous commit had and this one has not. */
int writer_publish(nd_writer *w);

#endif
