/*
 * buf.c - the growable byte buffer every writer path appends to.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "codec/codec.h"
#include "util/util.h"

int buf_reserve(nd_buf *b, size_t extra)
{
    size_t need;
    if (size_add(b->len, extra, &need) != 0)
        return ND_ENOMEM;
    if (need <= b->cap)
        return ND_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return ND_ENOMEM;
    b->data = p;
    b->cap = cap;
    return ND_OK;
}

int buf_append(nd_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return ND_OK;
    int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return ND_OK;
}

int buf_putc(nd_buf *b, uint8_t c)
{
    if (b->len == b->cap) {
        int rc = buf_reserve(b, 1);
        if (rc)
            return rc;
    }
    b->data[b->len++] = c;
    return ND_OK;
}

int buf_put_varint(nd_buf *b, uint64_t v)
{
    if (b->cap - b->len < ND_VARINT_MAX) {
        int rc = buf_reserve(b, ND_VARINT_MAX);
        if (rc)
            return rc;
    }
    b->len += varint_put(b->data + b->len, v);
    return ND_OK;
}

int buf_put_u16(nd_buf *b, uint16_t v)
{
    uint8_t t[2];
    st_u16(t, v);
    return buf_append(b, t, 2);
}

int buf_put_u32(nd_buf *b, uint32_t v)
{
    uint8_t t[4];
    st_u32(t, v);
    return buf_append(b, t, 4);
}

int buf_put_u64(nd_buf *b, uint64_t v)
{
    uint8_t t[8];
    st_u64(t, v);
    return buf_append(b, t, 8);
}

int buf_printf(nd_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ND_EINVAL;
    int rc = buf_reserve(b, (size_t)n + 1);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ND_OK;
}

void buf_reset(nd_buf *b)
{
    b->len = 0;
}

void buf_free(nd_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
