/*
 * fuzz_codec.c - the integer decoders on raw bytes: varint_get,
 * varint_get32, seq_decode (n taken from the first two bytes, at most
 * 4096) and bitpack128_unpack (bits from the first byte), each followed by
 * a round trip through the matching encoder.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "fuzz.h"

#define MAX_N 4096

static void fuzz_varints(const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        const uint8_t *start = p;
        uint64_t v;
        if (varint_get(&p, end, &v) != 0) {
            FZ_CHECK(p >= start && p <= end);
            break;
        }
        FZ_CHECK(p > start && p <= end && (size_t)(p - start) <= ND_VARINT_MAX);
        uint8_t enc[ND_VARINT_MAX];
        size_t n = varint_put(enc, v);
        FZ_CHECK(n == varint_len(v));
        const uint8_t *q = enc;
        uint64_t back;
        FZ_CHECK(varint_get(&q, enc + n, &back) == 0 && back == v && q == enc + n);
        /* The same bytes read as a u32 varint. */
        const uint8_t *r = start;
        uint32_t v32;
        if (varint_get32(&r, end, &v32) == 0)
            FZ_CHECK(v <= UINT32_MAX && v32 == v && r == p);
        else
            FZ_CHECK(v > UINT32_MAX);
    }
}

static void fuzz_seq(const uint8_t *data, size_t size)
{
    if (size < 2)
        return;
    size_t n = ((size_t)data[0] | (size_t)data[1] << 8) % (MAX_N + 1);
    const uint8_t *p = data + 2, *end = data + size;
    uint32_t *out = malloc((n ? n : 1) * sizeof *out);
    FZ_CHECK(out != NULL);
    if (seq_decode(out, n, &p, end) == 0) {
        FZ_CHECK(p >= data + 2 && p <= end);
        uint8_t *enc = malloc(seq_bound(n) ? seq_bound(n) : 1);
        uint32_t *back = malloc((n ? n : 1) * sizeof *back);
        FZ_CHECK(enc != NULL && back != NULL);
        size_t m = seq_encode(enc, out, n);
        FZ_CHECK(m <= seq_bound(n));
        const uint8_t *q = enc;
        FZ_CHECK(seq_decode(back, n, &q, enc + m) == 0 && q == enc + m);
        FZ_CHECK(n == 0 || memcmp(out, back, n * sizeof *out) == 0);
        free(enc);
        free(back);
    } else {
        FZ_CHECK(p >= data + 2 && p <= end);
    }
    free(out);
}

static void fuzz_bitpack(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    unsigned bits = data[0] % 33u;
    size_t need = (size_t)16 * bits;
    if (size - 1 < need)
        return;
    uint32_t vals[ND_BLOCK], back[ND_BLOCK];
    bitpack128_unpack(vals, data + 1, bits);
    for (size_t i = 0; i < ND_BLOCK; i++)
        FZ_CHECK(bits == 32 || vals[i] < ((uint32_t)1 << bits));
    FZ_CHECK(bits_needed(vals, ND_BLOCK) <= bits);
    uint8_t packed[16 * 32 + 1];
    bitpack128_pack(packed, vals, bits);
    FZ_CHECK(need == 0 || memcmp(packed, data + 1, need) == 0);
    bitpack128_unpack(back, packed, bits);
    FZ_CHECK(memcmp(vals, back, sizeof vals) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 16))
        return 0;
    fuzz_varints(data, data + size);
    fuzz_seq(data, size);
    fuzz_bitpack(data, size);
    if (size > 1)
        fuzz_bitpack(data + 1, size - 1);
    return 0;
}
