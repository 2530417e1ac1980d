/*
 * dense.c - bitmaps: counting the bits of a bitset, and a postings block
 * of 128 documents as a bitmap of the range they span (docs/FORMAT.md
 * section 7): bit i of the bitmap, byte i / 8, bit i % 8, stands for
 * document first + i. For a word in most articles this is about as small
 * as its packed gaps; counting its matches ORs the bitmap into the query's
 * bitset 64 documents at a time instead of setting one bit per posting,
 * and expanding it to document numbers takes a table lookup and eight
 * stores per byte.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "codec/codec.h"
#include "codec/dense_table.h"
#include "util/util.h"

/* Bytes i .. i+7 of the bitmap (fewer at its end) as a little-endian u64. */
static inline uint64_t load64(const uint8_t *p, size_t n, size_t i)
{
    if (n - i >= 8)
        return ld_u64(p + i);
    uint8_t tail[8] = {0};
    memcpy(tail, p + i, n - i);
    return ld_u64(tail);
}

size_t dense_pack(uint8_t *out, const uint32_t *docs, size_t n, uint32_t first)
{
    if (n == 0)
        return 0;
    size_t bytes = (size_t)(docs[n - 1] - first) / 8 + 1;
    memset(out, 0, bytes);
    for (size_t i = 0; i < n; i++) {
        uint32_t b = docs[i] - first;
        out[b >> 3] |= (uint8_t)(1u << (b & 7));
    }
    return bytes;
}

int dense_span(const uint8_t *p, size_t n, uint32_t *last_bit)
{
    if (n == 0 || n > DENSE_MAX_BYTES || p[n - 1] == 0)
        return -1;
    *last_bit = (uint32_t)(8 * (n - 1)) + 31u - (uint32_t)__builtin_clz(p[n - 1]);
    return 0;
}

uint32_t dense_unpack_portable(uint32_t out[DENSE_OUT], const uint8_t *p, size_t n,
                               uint32_t first)
{
    uint32_t k = 0;
    for (size_t i = 0; i < n && k <= ND_BLOCK; i++) {
        uint64_t t = DENSE_SPREAD[p[i]];
        uint32_t at = first + (uint32_t)(8 * i);
        for (int j = 0; j < 8; j++) /* past the set bits: overwritten or unused */
            out[k + (uint32_t)j] = at + (uint32_t)((t >> (8 * j)) & 0xff);
        k += DENSE_COUNT[p[i]];
    }
    return k;
}

#ifdef __SSE2__
/* The same with the eight values of a byte widened and stored as two
 * vectors (SSE2 is part of every x86-64 CPU). */
static uint32_t unpack_sse2(uint32_t out[DENSE_OUT], const uint8_t *p, size_t n, uint32_t first)
{
    const __m128i zero = _mm_setzero_si128(), eight = _mm_set1_epi32(8);
    __m128i at = _mm_set1_epi32((int)first);
    uint32_t k = 0;
    for (size_t i = 0; i < n && k <= ND_BLOCK; i++) {
        unsigned b = p[i];
        __m128i t = _mm_unpacklo_epi8(_mm_cvtsi64_si128((long long)DENSE_SPREAD[b]), zero);
        _mm_storeu_si128((__m128i *)(out + k), _mm_add_epi32(_mm_unpacklo_epi16(t, zero), at));
        _mm_storeu_si128((__m128i *)(out + k + 4), _mm_add_epi32(_mm_unpackhi_epi16(t, zero), at));
        at = _mm_add_epi32(at, eight);
        k += DENSE_COUNT[b];
    }
    return k;
}
#endif

uint32_t dense_unpack(uint32_t out[DENSE_OUT], const uint8_t *p, size_t n, uint32_t first)
{
#ifdef __SSE2__
    return unpack_sse2(out, p, n, first);
#else
    return dense_unpack_portable(out, p, n, first);
#endif
}

uint32_t dense_or(uint64_t *bits, const uint8_t *p, size_t n, uint32_t first)
{
    unsigned s = first & 63;
    uint64_t *to = bits + (first >> 6);
    uint32_t set = 0;
    for (size_t i = 0; i < n; i += 8, to++) {
        uint64_t w = load64(p, n, i);
        if (!w)
            continue;
        set += bits_count64(w);
        to[0] |= w << s;
        if (s && (w >> (64 - s)))
            to[1] |= w >> (64 - s);
    }
    return set;
}

static uint64_t count_portable(const uint64_t *words, size_t n)
{
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += bits_count64(words[i]);
    return c;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("popcnt"))) static uint64_t count_popcnt(const uint64_t *words, size_t n)
{
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += (uint64_t)__builtin_popcountll(words[i]);
    return c;
}
#endif

uint64_t bits_count(const uint64_t *words, size_t n)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("popcnt"))
        return count_popcnt(words, n);
#endif
    return count_portable(words, n);
}
