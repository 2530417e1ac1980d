/*
 * err.c - per-handle error messages and the static names of the codes.
 */
#include <stdarg.h>
#include <stdio.h>

#include "util/util.h"

#undef err_set /* util.h's analyzer-only spelling; this is the function */

int err_set(nd_err *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

void err_clear(nd_err *e)
{
    if (e)
        e->msg[0] = 0;
}

const char *nd_strerror(int code)
{
    switch (code) {
    case ND_OK:
        return "success";
    case ND_DONE:
        return "end of iteration";
    case ND_ENOMEM:
        return "out of memory";
    case ND_EIO:
        return "input/output error";
    case ND_ECORRUPT:
        return "corrupt index file";
    case ND_EVERSION:
        return "unsupported index format version";
    case ND_EINVAL:
        return "invalid argument or input";
    case ND_ESYNTAX:
        return "query syntax error";
    case ND_ENOTFOUND:
        return "not found";
    case ND_EBUSY:
        return "index is locked by another writer";
    case ND_ELIMIT:
        return "limit exceeded";
    default:
        return "unknown error";
    }
}

const char *nd_version(void)
{
    return ND_VERSION_STRING;
}
