/*
 * test_stem.c - stemming and stop words as index settings: the analyzer
 * with a Snowball stemmer and a stop list (positions kept), the settings
 * recorded in the catalog and honoured by queries, snippets and later
 * writers, conflicting or unknown settings refused, indexes without
 * settings (catalog version 1, layout 1) read as "none", and the CLI's
 * --stem, --stopwords and stats.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "analysis/analysis.h"
#include "newsdex.h"
#include "testutil.h"

#define GOLDEN_V1 ND_SOURCE_DIR "/tests/data/golden-v1"

static const nd_doc *corpus(size_t *n)
{
    static nd_doc docs[5];
    docs[0] = tu_doc("d1", "Marathon", "She runs every morning before work.");
    docs[1] = tu_doc("d2", "Central bank", "The Bank of England raised its rates again.");
    docs[2] = tu_doc("d3", "Economy", "The economy grew; economic figures were strong.");
    docs[3] = tu_doc("d4", "Prices", "Oil prices were rising all week.");
    docs[4] = tu_doc("d5", "Bank England", "A bank in England closed.");
    docs[4].source = "Running Times";
    docs[4].source_len = strlen(docs[4].source);
    *n = 5;
    return docs;
}

/* A new index at dir with the given settings (NULL = none) and the corpus. */
static void build(const char *dir, const char *stemmer, const char *stopwords)
{
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    wo.stemmer = stemmer;
    wo.stopwords = stopwords;
    nd_writer *w;
    char err[512];
    assert_int_equal(nd_writer_open_err(&w, dir, &wo, err, sizeof err), ND_OK);
    size_t n;
    const nd_doc *docs = corpus(&n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(nd_writer_add(w, &docs[i]), ND_OK);
    assert_int_equal(nd_writer_commit(w), ND_OK);
    nd_writer_free(w);
}

typedef struct opened {
    nd_index *ix;
    nd_search *s;
} opened;

static opened open_ix(const char *dir)
{
    opened o;
    char err[512];
    assert_int_equal(nd_index_open(&o.ix, dir, NULL, err, sizeof err), ND_OK);
    assert_int_equal(nd_search_open(&o.s, o.ix), ND_OK);
    return o;
}

static void close_ix(opened *o)
{
    nd_search_free(o->s);
    nd_index_free(o->ix);
}

/* Total hits of q, failing the test on an error. */
static uint64_t hits(opened *o, const char *q)
{
    nd_hits *h;
    int rc = nd_search_run(o->s, &h, q, 10, NULL);
    if (rc)
        print_message("query '%s': %s\n", q, nd_search_errmsg(o->s));
    assert_int_equal(rc, ND_OK);
    uint64_t t = nd_hits_total(h);
    nd_hits_free(h);
    return t;
}

/* 1 if the best hit of q has id `id`. */
static int first_is(opened *o, const char *q, const char *id)
{
    nd_hits *h;
    assert_int_equal(nd_search_run(o->s, &h, q, 10, NULL), ND_OK);
    nd_hit hit;
    int ok = nd_hits_count(h) > 0 && nd_hits_get(h, 0, &hit) == ND_OK &&
             hit.id_len == strlen(id) && memcmp(hit.id, id, hit.id_len) == 0;
    nd_hits_free(h);
    return ok;
}

/* ---- the analyzer ---------------------------------------------------------- */

typedef struct collected {
    char terms[16][32];
    uint32_t pos[16];
    int n;
} collected;

static int collect(void *ctx, const nd_token *t)
{
    collected *c = ctx;
    if (c->n < 16 && t->len < 32) {
        memcpy(c->terms[c->n], t->term, t->len);
        c->terms[c->n][t->len] = 0;
        c->pos[c->n] = t->pos;
        c->n++;
    }
    return 0;
}

static void test_analyzer_stems_and_stops(void **state)
{
    (void)state;
    analysis_settings set;
    memset(&set, 0, sizeof set);
    strcpy(set.stemmer, "english");
    strcpy(set.stopwords, STOPWORDS_EN_LUCENE33);
    nd_analyzer *a;
    nd_err e = {{0}};
    assert_int_equal(analyzer_open_with(&a, &set, &e), ND_OK);
    const char *text = "The Bank of England's RATES were rising";
    collected c = {0};
    assert_int_equal(analyzer_run(a, text, strlen(text), collect, &c), ND_OK);
    /* the, of: stopped with their positions kept; possessive removed before
     * stemming; "were" is not in Lucene's list */
    assert_int_equal(c.n, 5);
    assert_string_equal(c.terms[0], "bank");
    assert_int_equal(c.pos[0], 1);
    assert_string_equal(c.terms[1], "england");
    assert_int_equal(c.pos[1], 3);
    assert_string_equal(c.terms[2], "rate");
    assert_int_equal(c.pos[2], 4);
    assert_string_equal(c.terms[3], "were");
    assert_string_equal(c.terms[4], "rise");
    assert_int_equal(c.pos[4], 6);
    assert_int_equal(analyzer_stopped(a), 2);

    /* folded only: every word, unstemmed, same positions */
    memset(&c, 0, sizeof c);
    assert_int_equal(analyzer_run_folded(a, text, strlen(text), collect, &c), ND_OK);
    assert_int_equal(c.n, 7);
    assert_string_equal(c.terms[0], "the");
    assert_string_equal(c.terms[6], "rising");
    assert_int_equal(analyzer_stopped(a), 0);

    /* keyword values are never stemmed or stopped */
    nd_buf kw = {0};
    assert_int_equal(analyzer_keyword(a, " The Running Times ", 19, &kw), ND_OK);
    assert_int_equal(kw.len, strlen("the running times"));
    assert_memory_equal(kw.data, "the running times", kw.len);
    buf_free(&kw);
    analyzer_free(a);

    /* every one of Lucene's 33 words is a stop word, and nothing else of a
     * few near misses */
    static const char *const lucene33[] = {
        "a",    "an",   "and",  "are",  "as",    "at",    "be",    "but",  "by",
        "for",  "if",   "in",   "into", "is",    "it",    "no",    "not",  "of",
        "on",   "or",   "such", "that", "the",   "their", "then",  "there", "these",
        "they", "this", "to",   "was",  "will",  "with"};
    int known = 0;
    const stoplist *l = stoplist_find(STOPWORDS_EN_LUCENE33, &known);
    assert_true(known && l);
    assert_int_equal(sizeof lucene33 / sizeof lucene33[0], 33);
    for (size_t i = 0; i < 33; i++)
        assert_true(stoplist_has(l, lucene33[i], strlen(lucene33[i])));
    static const char *const others[] = {"i", "am", "were", "those", "thee", "ton", "withs", ""};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        assert_false(stoplist_has(l, others[i], strlen(others[i])));
}

static void test_analyzer_rejects_unknown_settings(void **state)
{
    (void)state;
    analysis_settings set;
    memset(&set, 0, sizeof set);
    strcpy(set.stemmer, "klingon");
    nd_analyzer *a = NULL;
    nd_err e = {{0}};
    assert_int_equal(analyzer_open_with(&a, &set, &e), ND_EINVAL);
    assert_null(a);
    assert_non_null(strstr(e.msg, "klingon"));
    assert_non_null(strstr(e.msg, "english"));
    memset(&set, 0, sizeof set);
    strcpy(set.stopwords, "fr");
    assert_int_equal(analyzer_open_with(&a, &set, &e), ND_EINVAL);
    assert_non_null(strstr(e.msg, "'fr'"));
    /* aliases libstemmer would take are not recorded names */
    assert_false(stemmer_known("en"));
    assert_true(stemmer_known("porter"));
}

/* ---- through the public API ----------------------------------------------- */

static void test_stemming_changes_matching(void **state)
{
    (void)state;
    char *plain = tu_mkdtemp(), *stem = tu_mkdtemp();
    build(plain, NULL, NULL);
    build(stem, "english", NULL);
    opened p = open_ix(plain), s = open_ix(stem);
    /* "running" finds "runs" (and the source "Running Times" does not count:
     * keywords are matched only with source:) only when stemmed */
    assert_int_equal(hits(&p, "running"), 0);
    assert_int_equal(hits(&s, "running"), 1);
    assert_true(first_is(&s, "running", "d1"));
    assert_int_equal(hits(&p, "economy"), 1);
    assert_int_equal(hits(&s, "economy"), 1); /* economy -> economi, economic -> econom */
    assert_int_equal(hits(&s, "rise"), 1);
    assert_int_equal(hits(&p, "rise"), 0);
    /* prefixes are not stemmed and match the indexed (stemmed) terms */
    assert_int_equal(hits(&s, "econom*"), 1);
    assert_int_equal(hits(&p, "runn*"), 0);
    assert_int_equal(hits(&s, "runn*"), 0); /* "runs" is indexed as "run" */
    assert_int_equal(hits(&s, "run*"), 1);
    /* keyword fields are not stemmed */
    assert_int_equal(hits(&s, "source:\"running times\""), 1);
    assert_int_equal(hits(&s, "source:\"run times\""), 0);
    /* the settings can be read back */
    assert_string_equal(nd_index_setting(s.ix, "analyzer.stemmer"), "english");
    assert_string_equal(nd_index_setting(s.ix, "analyzer.stopwords"), "");
    assert_string_equal(nd_index_setting(p.ix, "analyzer.stemmer"), "");
    assert_string_equal(nd_index_setting(p.ix, "analyzer.version"), "1");
    assert_null(nd_index_setting(p.ix, "analyzer.colour"));
    close_ix(&p);
    close_ix(&s);
    tu_rmrf(plain);
    tu_rmrf(stem);
    free(plain);
    free(stem);
}

static void test_stop_words_keep_positions(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), *plain = tu_mkdtemp();
    build(dir, "english", ND_STOPWORDS_EN_LUCENE33);
    build(plain, NULL, NULL);
    opened o = open_ix(dir), p = open_ix(plain);
    /* the phrase lines up across the stop word in the document and in the
     * query; d5 ("bank in england") matches too: "of" and "in" both leave
     * one position */
    assert_int_equal(hits(&o, "\"bank of england\""), 2);
    assert_int_equal(hits(&p, "\"bank of england\""), 1);
    /* without the gap the words are not adjacent in d2 */
    assert_int_equal(hits(&o, "\"bank england\""), 1);
    assert_true(first_is(&o, "\"bank england\"", "d5"));
    /* a proximity window spans the query's positions, stop-word gap
     * included, plus N: "england . rates" is 3 positions, ~1 allows 4, and
     * d2 has "England raised its rates" */
    assert_int_equal(hits(&o, "\"england of rates\""), 0);
    assert_int_equal(hits(&o, "\"england of rates\"~1"), 1);
    assert_int_equal(hits(&o, "\"england rates\"~1"), 0);
    /* a query of stop words only: no hits, no error; the unstopped index
     * finds them */
    assert_int_equal(hits(&o, "the"), 0);
    assert_int_equal(hits(&o, "of the \"and a\""), 0);
    assert_int_equal(hits(&o, "+the"), 0);
    assert_int_equal(hits(&p, "the"), 2);
    /* stop words next to real words are simply left out */
    assert_int_equal(hits(&o, "the marathon"), 1);
    nd_search_opts so = ND_SEARCH_OPTS_INIT;
    so.default_op = ND_OP_AND;
    nd_hits *h;
    assert_int_equal(nd_search_run(o.s, &h, "the oil", 10, &so), ND_OK);
    assert_int_equal(nd_hits_total(h), 1);
    nd_hits_free(h);
    /* plain-text queries (TREC topic titles) get the same analysis */
    nd_search_opts po = ND_SEARCH_OPTS_INIT;
    po.plain = 1;
    assert_int_equal(nd_search_run(o.s, &h, "Who is running: the Bank?", 10, &po), ND_OK);
    assert_int_equal(nd_hits_total(h), 3); /* run: d1; bank: d2, d5 */
    nd_hits_free(h);
    assert_int_equal(nd_search_run(o.s, &h, "Is it the one?", 10, &po), ND_OK);
    assert_int_equal(nd_hits_total(h), 0); /* "one" is in no article */
    nd_hits_free(h);
    assert_int_equal(nd_search_run(o.s, &h, "\"To be, or not to be\"", 10, &po), ND_OK);
    assert_int_equal(nd_hits_total(h), 0);
    nd_hits_free(h);
    /* nothing searchable at all is still an error */
    assert_int_equal(nd_search_run(o.s, &h, "!!!", 10, NULL), ND_ESYNTAX);
    assert_null(h);
    close_ix(&o);
    close_ix(&p);
    tu_rmrf(dir);
    tu_rmrf(plain);
    free(dir);
    free(plain);
}

static void test_snippets_mark_stemmed_words(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    build(dir, "english", ND_STOPWORDS_EN_LUCENE33);
    opened o = open_ix(dir);
    nd_hits *h;
    assert_int_equal(nd_search_run(o.s, &h, "rise price", 10, NULL), ND_OK);
    assert_int_equal(nd_hits_count(h), 1);
    nd_hit hit;
    assert_int_equal(nd_hits_get(h, 0, &hit), ND_OK);
    /* "Oil prices were rising all week.": both inflected words marked */
    assert_int_equal(hit.n_marks, 2);
    assert_memory_equal(hit.snippet + hit.marks[0].start, "prices", hit.marks[0].len);
    assert_int_equal(hit.marks[0].len, 6);
    assert_memory_equal(hit.snippet + hit.marks[1].start, "rising", hit.marks[1].len);
    assert_int_equal(hit.marks[1].len, 6);
    nd_hits_free(h);
    close_ix(&o);
    tu_rmrf(dir);
    free(dir);
}

static void test_settings_survive_reopen(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    build(dir, "porter", ND_STOPWORDS_EN_LUCENE33);
    /* a writer without settings (NULL, or a version 1 struct, whose
     * settings fields are not read) takes the index's */
    nd_writer_opts v1 = ND_WRITER_OPTS_INIT;
    v1.version = 1;
    v1.stemmer = "not read";
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, dir, &v1), ND_OK);
    nd_doc d = tu_doc("d6", "Jumping", "The horses jumped the fences.");
    assert_int_equal(nd_writer_add(w, &d), ND_OK);
    assert_int_equal(nd_writer_commit(w), ND_OK);
    nd_writer_free(w);
    /* the same settings, spelled out, are accepted */
    nd_writer_opts same = ND_WRITER_OPTS_INIT;
    same.stemmer = "porter";
    same.stopwords = ND_STOPWORDS_EN_LUCENE33;
    assert_int_equal(nd_writer_open(&w, dir, &same), ND_OK);
    nd_writer_free(w);

    opened o = open_ix(dir);
    assert_string_equal(nd_index_setting(o.ix, "analyzer.stemmer"), "porter");
    assert_string_equal(nd_index_setting(o.ix, "analyzer.stopwords"), "en-lucene33");
    /* the article added by the later writer was stemmed too */
    assert_int_equal(hits(&o, "jump horse fence"), 1);
    assert_int_equal(hits(&o, "\"horse jumps the fence\""), 1);
    assert_int_equal(hits(&o, "\"horses jump fences\""), 0); /* "the" keeps its place */
    assert_int_equal(hits(&o, "\"fences jump\""), 0);
    close_ix(&o);

    /* the catalog says so, in version 2 */
    char path[1024];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM settings WHERE key = "
                                            "'analyzer.stemmer'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "porter");
    sqlite3_finalize(st);
    sqlite3_close(db);
    tu_rmrf(dir);
    free(dir);
}

static void test_conflicting_settings_refused(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), *plain = tu_mkdtemp();
    build(dir, "english", NULL);
    build(plain, NULL, NULL);
    nd_writer *w;
    char err[512];
    nd_writer_opts o = ND_WRITER_OPTS_INIT;
    o.stemmer = "porter";
    assert_int_equal(nd_writer_open_err(&w, dir, &o, err, sizeof err), ND_EINVAL);
    assert_null(w);
    assert_non_null(strstr(err, "'english'"));
    assert_non_null(strstr(err, "'porter'"));
    /* "" asks for none explicitly */
    o.stemmer = "";
    assert_int_equal(nd_writer_open_err(&w, dir, &o, err, sizeof err), ND_EINVAL);
    assert_non_null(strstr(err, "'english'"));
    o.stemmer = NULL;
    o.stopwords = ND_STOPWORDS_EN_LUCENE33;
    assert_int_equal(nd_writer_open_err(&w, dir, &o, err, sizeof err), ND_EINVAL);
    assert_non_null(strstr(err, "stop list"));
    assert_non_null(strstr(err, "en-lucene33"));
    /* an index without settings cannot gain them */
    o.stemmer = "english";
    o.stopwords = NULL;
    assert_int_equal(nd_writer_open_err(&w, plain, &o, err, sizeof err), ND_EINVAL);
    assert_non_null(strstr(err, "'english'"));
    /* the refused writers left both indexes as they were */
    opened a = open_ix(dir), b = open_ix(plain);
    assert_int_equal(hits(&a, "running"), 1);
    assert_int_equal(hits(&b, "running"), 0);
    close_ix(&a);
    close_ix(&b);
    tu_rmrf(dir);
    tu_rmrf(plain);
    free(dir);
    free(plain);
}

static void test_unknown_settings_refused(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/new", dir);
    nd_writer *w;
    char err[512];
    nd_writer_opts o = ND_WRITER_OPTS_INIT;
    o.stemmer = "klingon";
    assert_int_equal(nd_writer_open_err(&w, sub, &o, err, sizeof err), ND_EINVAL);
    assert_null(w);
    assert_non_null(strstr(err, "unknown stemmer 'klingon'"));
    assert_non_null(strstr(err, "porter")); /* the known ones are named */
    o.stemmer = "en"; /* a libstemmer alias, not a recorded name */
    assert_int_equal(nd_writer_open_err(&w, sub, &o, err, sizeof err), ND_EINVAL);
    o.stemmer = NULL;
    o.stopwords = "en";
    assert_int_equal(nd_writer_open_err(&w, sub, &o, err, sizeof err), ND_EINVAL);
    assert_non_null(strstr(err, "unknown stop list 'en'"));
    /* plain nd_writer_open gives the code too; nothing was created */
    assert_int_equal(nd_writer_open(&w, sub, &o), ND_EINVAL);
    nd_index *ix;
    assert_int_equal(nd_index_open(&ix, sub, NULL, NULL, 0), ND_ENOTFOUND);
    /* every listed stemmer opens */
    size_t n = 0;
    for (const char *const *p = nd_stemmers(); *p; p++, n++) {
        o.stemmer = *p;
        o.stopwords = NULL;
        assert_int_equal(nd_writer_open_err(&w, sub, &o, err, sizeof err), ND_OK);
        nd_writer_free(w);
    }
    assert_true(n >= 20);
    tu_rmrf(dir);
    free(dir);
}

/* Runs sql on the catalog of dir. */
static void tamper(const char *dir, const char *sql)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* nd_index_open's code on dir, with its message in err. */
static int open_code(const char *dir, char *err, size_t n)
{
    nd_index *ix;
    int rc = nd_index_open(&ix, dir, NULL, err, n);
    nd_index_free(ix);
    return rc;
}

static void test_old_and_future_catalogs(void **state)
{
    (void)state;
    /* layout 1 (MANIFEST): no stemming, no stop words */
    nd_index *ix;
    char err[512];
    assert_int_equal(nd_index_open(&ix, GOLDEN_V1, NULL, err, sizeof err), ND_OK);
    assert_string_equal(nd_index_setting(ix, "analyzer.stemmer"), "");
    assert_string_equal(nd_index_setting(ix, "analyzer.stopwords"), "");
    nd_index_free(ix);

    /* an index without settings keeps catalog version 1, without the table */
    char *plain = tu_mkdtemp();
    build(plain, NULL, "");
    char path[1024];
    snprintf(path, sizeof path, "%s/catalog.db", plain);
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    assert_int_not_equal(sqlite3_prepare_v2(db, "SELECT * FROM settings", -1, &st, NULL),
                         SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(open_code(plain, err, sizeof err), ND_OK);

    /* settings this library cannot honour: refused, never ignored */
    char *dir = tu_mkdtemp();
    build(dir, "english", ND_STOPWORDS_EN_LUCENE33);
    static const struct {
        const char *sql, *undo;
        int code;
        const char *says;
    } cases[] = {
        {"UPDATE settings SET value = '2' WHERE key = 'analyzer.version'",
         "UPDATE settings SET value = '1' WHERE key = 'analyzer.version'", ND_EVERSION,
         "analyzer version '2'"},
        {"UPDATE settings SET value = 'klingon' WHERE key = 'analyzer.stemmer'",
         "UPDATE settings SET value = 'english' WHERE key = 'analyzer.stemmer'", ND_EVERSION,
         "'klingon'"},
        {"UPDATE settings SET value = 'fr' WHERE key = 'analyzer.stopwords'",
         "UPDATE settings SET value = 'en-lucene33' WHERE key = 'analyzer.stopwords'",
         ND_EVERSION, "'fr'"},
        {"INSERT INTO settings VALUES ('analyzer.synonyms', 'x')",
         "DELETE FROM settings WHERE key = 'analyzer.synonyms'", ND_EVERSION,
         "analyzer.synonyms"},
        {"DELETE FROM settings WHERE key = 'analyzer.version'",
         "INSERT INTO settings VALUES ('analyzer.version', '1')", ND_ECORRUPT,
         "analyzer.version"},
        {"PRAGMA user_version = 3", "PRAGMA user_version = 2", ND_EVERSION, "version 3"},
        /* other keys are reserved and ignored */
        {"INSERT INTO settings VALUES ('merge.factor', '4')",
         "DELETE FROM settings WHERE key = 'merge.factor'", ND_OK, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tamper(dir, cases[i].sql);
        int rc = open_code(dir, err, sizeof err);
        if (rc != cases[i].code || (rc && !strstr(err, cases[i].says)))
            print_message("case %zu: %d %s\n", i, rc, err);
        assert_int_equal(rc, cases[i].code);
        assert_true(rc == ND_OK || strstr(err, cases[i].says) != NULL);
        /* a writer refuses it the same way */
        nd_writer *w;
        assert_int_equal(nd_writer_open(&w, dir, NULL), cases[i].code);
        nd_writer_free(w);
        tamper(dir, cases[i].undo);
        assert_int_equal(open_code(dir, err, sizeof err), ND_OK);
    }
    tu_rmrf(plain);
    tu_rmrf(dir);
    free(plain);
    free(dir);
}

/* Articles given as JSON Lines to several analysis threads are analysed
 * with the index's settings too. */
static void test_threads_use_settings(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char file[1024];
    snprintf(file, sizeof file, "%s/in.jsonl", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    for (int i = 0; i < 600; i++)
        fprintf(f, "{\"id\": \"t%d\", \"body\": \"%s\"}\n", i,
                i % 3 ? "The markets were calm." : "The banks were running out of cash.");
    fclose(f);
    char ixdir[1100];
    snprintf(ixdir, sizeof ixdir, "%s/ix", dir);
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    wo.threads = 3;
    wo.stemmer = "english";
    wo.stopwords = ND_STOPWORDS_EN_LUCENE33;
    nd_writer *w;
    assert_int_equal(nd_writer_open(&w, ixdir, &wo), ND_OK);
    nd_ingest_stats stats = {0};
    assert_int_equal(nd_writer_add_jsonl(w, file, NULL, &stats), ND_OK);
    assert_int_equal(stats.added, 600);
    assert_int_equal(nd_writer_commit(w), ND_OK);
    nd_writer_free(w);
    opened o = open_ix(ixdir);
    assert_int_equal(hits(&o, "run bank"), 200);
    assert_int_equal(hits(&o, "market"), 400);
    assert_int_equal(hits(&o, "\"banks were running out of cash\""), 200);
    assert_int_equal(hits(&o, "out"), 200); /* not a Lucene stop word */
    assert_int_equal(hits(&o, "the"), 0);
    close_ix(&o);
    tu_rmrf(dir);
    free(dir);
}

/* The CLI: --stem and --stopwords on creation, refused when they differ,
 * shown by stats. */
static void test_cli_settings(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char file[1024], cmd[4096];
    snprintf(file, sizeof file, "%s/in.jsonl", dir);
    const char *lines = "{\"id\": \"c1\", \"title\": \"Runners\", \"body\": \"She runs.\"}\n";
    tu_write_file(file, lines, strlen(lines));
    char *out = NULL, *errs = NULL;
    snprintf(cmd, sizeof cmd, "'%s' index '%s/ix' '%s' -q --stem english --stopwords en",
             ND_SEARCH_BIN, dir, file);
    assert_int_equal(tu_run(cmd, &out, NULL), 0);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' stats '%s/ix' --json", ND_SEARCH_BIN, dir);
    assert_int_equal(tu_run(cmd, &out, NULL), 0);
    assert_non_null(strstr(out, "\"settings\":{\"stemmer\":\"english\","
                                "\"stopwords\":\"en-lucene33\"}"));
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' stats '%s/ix'", ND_SEARCH_BIN, dir);
    assert_int_equal(tu_run(cmd, &out, NULL), 0);
    assert_non_null(strstr(out, "stemmer     english\n"));
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' query '%s/ix' running --json", ND_SEARCH_BIN, dir);
    assert_int_equal(tu_run(cmd, &out, NULL), 0);
    assert_non_null(strstr(out, "\"total_hits\":1"));
    free(out);
    /* adding with other settings: a usage error naming both */
    snprintf(cmd, sizeof cmd, "'%s' index '%s/ix' '%s' -q --stem porter", ND_SEARCH_BIN, dir,
             file);
    assert_int_equal(tu_run(cmd, &out, &errs), 2);
    assert_non_null(strstr(errs, "'english'"));
    assert_non_null(strstr(errs, "'porter'"));
    free(out);
    free(errs);
    /* the same settings, or none given, are fine */
    snprintf(cmd, sizeof cmd,
             "'%s' index '%s/ix' '%s' -q --stem english && '%s' index '%s/ix' '%s' -q",
             ND_SEARCH_BIN, dir, file, ND_SEARCH_BIN, dir, file);
    assert_int_equal(tu_run(cmd, &out, NULL), 0);
    free(out);
    /* an unknown stemmer or list */
    snprintf(cmd, sizeof cmd, "'%s' index '%s/ix2' '%s' -q --stem klingon", ND_SEARCH_BIN, dir,
             file);
    assert_int_equal(tu_run(cmd, &out, &errs), 2);
    assert_non_null(strstr(errs, "klingon"));
    free(out);
    free(errs);
    snprintf(cmd, sizeof cmd, "'%s' index '%s/ix2' '%s' -q --stopwords fr", ND_SEARCH_BIN, dir,
             file);
    assert_int_equal(tu_run(cmd, &out, NULL), 2);
    free(out);
    /* --help lists the stemmers */
    snprintf(cmd, sizeof cmd, "'%s' index --help", ND_SEARCH_BIN);
    assert_int_equal(tu_run(cmd, &out, NULL), 0);
    assert_non_null(strstr(out, "stemmers:"));
    assert_non_null(strstr(out, " porter"));
    assert_non_null(strstr(out, " german"));
    free(out);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_analyzer_stems_and_stops),
        cmocka_unit_test(test_analyzer_rejects_unknown_settings),
        cmocka_unit_test(test_stemming_changes_matching),
        cmocka_unit_test(test_stop_words_keep_positions),
        cmocka_unit_test(test_snippets_mark_stemmed_words),
        cmocka_unit_test(test_settings_survive_reopen),
        cmocka_unit_test(test_conflicting_settings_refused),
        cmocka_unit_test(test_unknown_settings_refused),
        cmocka_unit_test(test_old_and_future_catalogs),
        cmocka_unit_test(test_threads_use_settings),
        cmocka_unit_test(test_cli_settings),
    };
    return cmocka_run_group_tests_name("stem", tests, NULL, NULL);
}
