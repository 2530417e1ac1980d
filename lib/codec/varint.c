/*
 * varint.c - the one variable-length integer of the file format: unsigned
 * LEB128, 7 value bits per byte, least significant group first, the high
 * bit set on every byte but the last, at most ND_VARINT_MAX (10) bytes.
 *
 * The decoders are the first thing to touch untrusted bytes, so they never
 * read at or past `end`, reject input that is truncated, longer than 10
 * bytes or wider than 64 bits, and leave *p where it was when they fail.
 * Non-minimal encodings (a redundant 0x80 ... 0x00 padding) are accepted:
 * they decode to a well-defined value and the format does not forbid them.
 */
#include "codec/codec.h"

size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

int varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    const uint8_t *s = *p;
    uint64_t x = 0;
    /* The 10th byte holds bit 63 only: any other bit there, including its
     * continuation bit (which would ask for an 11th byte), is damage. */
    for (unsigned i = 0; i < ND_VARINT_MAX; i++) {
        if (s >= end)
            return -1;
        uint8_t b = *s++;
        if (i == ND_VARINT_MAX - 1 && b > 1)
            return -1;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (b < 0x80) {
            *v = x;
            *p = s;
            return 0;
        }
    }
    return -1; /* not reached: the 10th byte either ends or fails above */
}

int varint_get32(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    const uint8_t *s = *p;
    uint64_t x;
    if (varint_get(&s, end, &x) != 0 || x > UINT32_MAX)
        return -1;
    *v = (uint32_t)x;
    *p = s;
    return 0;
}
