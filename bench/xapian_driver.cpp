/*
 * xapian_driver.cpp - the C interface of xapian_driver.h over Xapian's C++
 * API, used by the benchmarks to run Xapian in-process next to newsdex and
 * SQLite FTS5. See xapian_driver.h for the index layout.
 */
#include "xapian_driver.h"

#include <xapian.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

struct xd_db {
    Xapian::WritableDatabase *wdb = nullptr;
    Xapian::Database *rdb = nullptr;
    Xapian::Enquire *enq = nullptr;
    Xapian::TermGenerator gen;
    unsigned title_wdf = 1;
};

namespace {

const Xapian::valueno DATE_SLOT = 0;

void set_err(char *err, size_t errlen, const char *what, const std::string &msg)
{
    if (err && errlen)
        std::snprintf(err, errlen, "xapian: %s: %s", what, msg.c_str());
}

/* Runs f, turning any exception into -1 and a message. */
template <typename F> int guarded(const char *what, char *err, size_t errlen, F f)
{
    try {
        f();
        return 0;
    } catch (const Xapian::Error &e) {
        set_err(err, errlen, what, e.get_description());
    } catch (const std::exception &e) {
        set_err(err, errlen, what, e.what());
    } catch (...) {
        set_err(err, errlen, what, "unknown exception");
    }
    return -1;
}

Xapian::Query build_query(const xd_query *q)
{
    std::vector<Xapian::Query> terms;
    terms.reserve(q->nwords);
    for (size_t i = 0; i < q->nwords; i++)
        terms.emplace_back(std::string(q->words[i]));
    Xapian::Query::op op = q->op == XD_AND      ? Xapian::Query::OP_AND
                           : q->op == XD_PHRASE ? Xapian::Query::OP_PHRASE
                                                : Xapian::Query::OP_OR;
    /* OP_PHRASE with window = number of words: the words adjacent, in order. */
    Xapian::Query query(op, terms.begin(), terms.end(),
                        q->op == XD_PHRASE ? static_cast<Xapian::termcount>(q->nwords) : 0);
    if (q->filter_dates) {
        Xapian::Query range(Xapian::Query::OP_VALUE_RANGE, DATE_SLOT,
                            Xapian::sortable_serialise(static_cast<double>(q->since)),
                            Xapian::sortable_serialise(static_cast<double>(q->until)));
        query = Xapian::Query(Xapian::Query::OP_FILTER, query, range);
    }
    return query;
}

} // namespace

extern "C" {

const char *xd_version(void)
{
    return Xapian::version_string();
}

int xd_open_writer(xd_db **out, const char *dir, unsigned title_wdf, char *err, size_t errlen)
{
    *out = nullptr;
    xd_db *db = new (std::nothrow) xd_db;
    if (!db) {
        set_err(err, errlen, "open", "out of memory");
        return -1;
    }
    int rc = guarded("open", err, errlen, [&] {
        db->wdb = new Xapian::WritableDatabase(
            dir, Xapian::DB_CREATE_OR_OVERWRITE | Xapian::DB_BACKEND_GLASS);
        db->gen.set_stemming_strategy(Xapian::TermGenerator::STEM_NONE);
        db->title_wdf = title_wdf ? title_wdf : 1;
    });
    if (rc) {
        xd_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

int xd_add(xd_db *db, const char *id, size_t id_len, const char *title, size_t title_len,
           const char *body, size_t body_len, int has_date, int64_t date, char *err,
           size_t errlen)
{
    return guarded("add", err, errlen, [&] {
        Xapian::Document doc;
        db->gen.set_document(doc);
        if (title_len) {
            db->gen.index_text(std::string(title, title_len), db->title_wdf);
            db->gen.increase_termpos(); /* no phrase across title and body */
        }
        if (body_len)
            db->gen.index_text(std::string(body, body_len), 1);
        doc.set_data(std::string(id, id_len));
        if (has_date)
            doc.add_value(DATE_SLOT, Xapian::sortable_serialise(static_cast<double>(date)));
        db->wdb->add_document(doc);
    });
}

int xd_commit(xd_db *db, char *err, size_t errlen)
{
    return guarded("commit", err, errlen, [&] { db->wdb->commit(); });
}

int xd_compact(const char *src, const char *dst, char *err, size_t errlen)
{
    return guarded("compact", err, errlen, [&] {
        Xapian::Database d(src);
        d.compact(dst);
    });
}

int xd_open_reader(xd_db **out, const char *dir, double k1, double b, char *err, size_t errlen)
{
    *out = nullptr;
    xd_db *db = new (std::nothrow) xd_db;
    if (!db) {
        set_err(err, errlen, "open", "out of memory");
        return -1;
    }
    int rc = guarded("open", err, errlen, [&] {
        db->rdb = new Xapian::Database(dir);
        db->enq = new Xapian::Enquire(*db->rdb);
        /* k2 = 0 (no extra length correction), k3 = 1 (a word given once
         * counts once), min_normlen = 0 (no floor on the length norm). */
        db->enq->set_weighting_scheme(Xapian::BM25Weight(k1, 0, 1, b, 0));
    });
    if (rc) {
        xd_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

uint64_t xd_doc_count(const xd_db *db)
{
    try {
        return db->rdb ? db->rdb->get_doccount() : db->wdb->get_doccount();
    } catch (...) {
        return 0;
    }
}

int xd_search(xd_db *db, const xd_query *q, xd_hit_fn fn, void *ctx, uint64_t *total,
              char *err, size_t errlen)
{
    return guarded("search", err, errlen, [&] {
        db->enq->set_query(build_query(q));
        Xapian::MSet m;
        if (q->k == 0) {
            /* count only: check every match, so the count is exact */
            m = db->enq->get_mset(0, 0, db->rdb->get_doccount());
            if (total)
                *total = m.get_matches_estimated();
            return;
        }
        m = db->enq->get_mset(0, static_cast<Xapian::doccount>(q->k));
        if (total)
            *total = m.get_matches_estimated();
        for (Xapian::MSetIterator it = m.begin(); it != m.end(); ++it) {
            std::string id = it.get_document().get_data();
            if (fn)
                fn(ctx, id.data(), id.size(), it.get_weight());
        }
    });
}

void xd_close(xd_db *db)
{
    if (!db)
        return;
    try {
        delete db->enq;
        delete db->rdb;
        if (db->wdb)
            db->wdb->close();
        delete db->wdb;
    } catch (...) {
    }
    delete db;
}

} // extern "C"
