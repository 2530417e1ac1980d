/*
 * headers.c - newsdex.h must compile on its own as strict C99 and as C++;
 * CTest compiles this file both ways (-fsyntax-only).
 */
#include "newsdex.h"

int nd_headers_check(void);
int nd_headers_check(void)
{
    nd_writer_opts wo = ND_WRITER_OPTS_INIT;
    nd_open_opts oo = ND_OPEN_OPTS_INIT;
    nd_search_opts so = ND_SEARCH_OPTS_INIT;
    nd_ingest_opts io = ND_INGEST_OPTS_INIT;
    return (int)(wo.version + oo.version + so.version + io.version) + ND_VERSION_NUMBER;
}
