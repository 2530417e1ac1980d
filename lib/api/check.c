/*
 * check.c - the public nd_check calls: run the integrity checker
 * (lib/index/check.c) on an index directory and hand its findings out
 * through an opaque report.
 */
#include <stdio.h>
#include <stdlib.h>

#include "index/check.h"

struct nd_check_report {
    check_result r;
};

int nd_check(nd_check_report **out, const char *dir, const nd_check_opts *opts, char *errbuf,
             size_t errlen)
{
    nd_err e = {{0}};
    int rc;
    if (errbuf && errlen)
        errbuf[0] = 0;
    if (!out)
        return ND_EINVAL;
    *out = NULL;
    if (!dir || !*dir || (opts && opts->version != ND_CHECK_OPTS_VERSION)) {
        rc = err_set(&e, ND_EINVAL, "invalid arguments");
        goto done;
    }
    if (strlen(dir) > 4000) {
        rc = err_set(&e, ND_EINVAL, "path too long: %.64s...", dir);
        goto done;
    }
    nd_check_report *rep = calloc(1, sizeof *rep);
    if (!rep) {
        rc = err_set(&e, ND_ENOMEM, "out of memory");
        goto done;
    }
    rc = index_check(&rep->r, dir, opts ? opts->max_problems : 0, &e);
    if (rc)
        free(rep);
    else
        *out = rep;
done:
    if (rc && errbuf && errlen)
        snprintf(errbuf, errlen, "%s", e.msg[0] ? e.msg : nd_strerror(rc));
    return rc;
}

size_t nd_check_count(const nd_check_report *r)
{
    return r ? r->r.n : 0;
}

int nd_check_problem_get(const nd_check_report *r, size_t i, nd_check_problem *out)
{
    if (!r || !out || i >= r->r.n)
        return ND_EINVAL;
    const check_problem *p = &r->r.problems[i];
    out->severity = p->severity;
    out->file = p->file;
    out->segment = p->segment;
    out->offset = p->offset;
    out->message = p->msg;
    return ND_OK;
}

void nd_check_summary_get(const nd_check_report *r, nd_check_summary *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (r)
        *out = r->r.sum;
}

void nd_check_report_free(nd_check_report *r)
{
    if (!r)
        return;
    check_result_free(&r->r);
    free(r);
}
