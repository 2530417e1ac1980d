/*
 * seq.c - a u32 sequence of known length n as bytes: the container that
 * postings, positions and skip data are stored in.
 *
 * Layout: floor(n / 128) full blocks, each one byte `bits` (0..32) followed
 * by the 16*bits bytes of a bitpack128 block, then the n % 128 remaining
 * values as varints. Short lists (most terms occur in a handful of
 * documents) thus pay no block overhead, and long ones decode at bitpack
 * speed. The length itself is not stored; the caller keeps it.
 *
 * seq_decode treats its input as untrusted: it checks every length against
 * `end` before touching the bytes, rejects a width above 32 and a tail
 * varint that is damaged or above UINT32_MAX, and moves *p only on success
 * (the contents of `out` are unspecified after a failure).
 */
#include "codec/codec.h"

/* Bytes of a u32 varint at most (ceil(32 / 7)). */
#define VARINT32_MAX 5

/* Saturates to SIZE_MAX when the true bound does not fit in a size_t, so an
 * allocation of that size fails instead of being too small. */
size_t seq_bound(size_t n)
{
    size_t blocks = n / ND_BLOCK, tail = n % ND_BLOCK;
    const size_t block_max = 1 + 16 * 32;
    if (blocks > (SIZE_MAX - tail * VARINT32_MAX) / block_max)
        return SIZE_MAX;
    return blocks * block_max + tail * VARINT32_MAX;
}

size_t seq_encode(uint8_t *out, const uint32_t *in, size_t n)
{
    uint8_t *o = out;
    size_t i = 0;
    for (; n - i >= ND_BLOCK; i += ND_BLOCK) {
        unsigned bits = bits_needed(in + i, ND_BLOCK);
        *o++ = (uint8_t)bits;
        bitpack128_pack(o, in + i, bits);
        o += (size_t)16 * bits;
    }
    for (; i < n; i++)
        o += varint_put(o, in[i]);
    return (size_t)(o - out);
}

int seq_decode(uint32_t *out, size_t n, const uint8_t **p, const uint8_t *end)
{
    const uint8_t *s = *p;
    size_t i = 0;
    for (; n - i >= ND_BLOCK; i += ND_BLOCK) {
        if (s >= end)
            return -1;
        unsigned bits = *s++;
        if (bits > 32 || (size_t)(end - s) < 16 * (size_t)bits)
            return -1;
        bitpack128_unpack(out + i, s, bits);
        s += (size_t)16 * bits;
    }
    for (; i < n; i++) {
        if (varint_get32(&s, end, &out[i]) != 0)
            return -1;
    }
    *p = s;
    return 0;
}
