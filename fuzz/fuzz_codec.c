/*
 * fuzz_codec.c - the integer decoders on raw bytes: varint_get,
 * varint_get32, seq_decode (n taken from the first two bytes, at most
 * 4096), bitpack128_unpack (bits from the first byte) and the bitmap
 * blocks' dense_span / dense_unpack / dense_or (the first 1 to 32 bytes,
 * the count from the first byte), each followed by a round trip through
 * the matching encoder.
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

static void fuzz_dense(const uint8_t *data, size_t size)
{
    if (size < 2)
        return;
    size_t n = 1 + (size_t)data[0] % DENSE_MAX_BYTES;
    const uint8_t *bm = data + 1;
    if (size - 1 < n)
        n = size - 1;
    uint32_t last;
    if (dense_span(bm, n, &last) != 0) {
        FZ_CHECK(n == 0 || n > DENSE_MAX_BYTES || bm[n - 1] == 0);
        return;
    }
    FZ_CHECK(last / 8 == n - 1 && ((bm[last / 8] >> (last % 8)) & 1));
    uint32_t set = 0;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            set += (bm[i] >> b) & 1;
    uint32_t first = (uint32_t)data[0] * 3, out[DENSE_OUT], out2[DENSE_OUT];
    uint32_t got = dense_unpack(out, bm, n, first);
    FZ_CHECK(got == dense_unpack_portable(out2, bm, n, first));
    FZ_CHECK(set > ND_BLOCK ? got > ND_BLOCK && got <= DENSE_OUT : got == set);
    uint32_t m = got < ND_BLOCK ? got : ND_BLOCK;
    FZ_CHECK(memcmp(out, out2, m * sizeof *out) == 0);
    for (uint32_t i = 0; i < m; i++)
        FZ_CHECK(out[i] >= first && out[i] <= first + last && (i == 0 || out[i] > out[i - 1]));
    if (got == ND_BLOCK) { /* a well-formed block packs back to the same bytes */
        uint8_t back[DENSE_MAX_BYTES];
        FZ_CHECK(dense_pack(back, out, ND_BLOCK, first) == n && memcmp(back, bm, n) == 0);
    }
    uint64_t bits[(3 * 255 + 8 * DENSE_MAX_BYTES) / 64 + 2] = {0};
    FZ_CHECK(dense_or(bits, bm, n, first) == set);
    FZ_CHECK(bits_count(bits, (first + last) / 64 + 1) == set);
    for (uint32_t i = 0; i < m; i++)
        FZ_CHECK((bits[out[i] / 64] >> (out[i] % 64)) & 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 16))
        return 0;
    fuzz_varints(data, data + size);
    fuzz_seq(data, size);
    fuzz_bitpack(data, size);
    fuzz_dense(data, size);
    if (size > 1)
        fuzz_bitpack(data + 1, size - 1);
    return 0;
}
