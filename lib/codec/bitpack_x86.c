/*
 * bitpack_x86.c - bitpack128 kernels written with x86 SIMD intrinsics:
 * SSE2 (part of every x86-64 CPU) and AVX2. The AVX2 functions carry
 * __attribute__((target("avx2"))), so the file needs no -m flag and the
 * library still runs on any x86-64 CPU: bitpack.c calls them only after
 * __builtin_cpu_supports("avx2") said yes.
 *
 * The layout (codec.h) makes one output row j - values 4j .. 4j+3, one per
 * lane - a shift of one 16-byte input row, or'ed with a shift of the next
 * row when the values straddle two words, then masked; the same for the
 * four lanes. As in the portable kernels, every row is spelled out by a
 * macro so that row indexes and shift counts are compile-time constants.
 *
 * SSE2 does one row per instruction with immediate shifts. AVX2 does two
 * rows, j and j+1, per 32-byte register: their input rows are either the
 * same (loaded with a 16-byte broadcast) or adjacent (one 32-byte load),
 * and per-lane variable shifts (vpsrlvd, vpsllvd) give each half its own
 * count. A count of 32 yields zero, which switches the second input row off
 * in the half that does not straddle. (For odd widths from 17 the AVX2 set
 * uses the one-row code instead, see AVX2_BY_ROWS.)
 *
 * The delta kernels fuse the doc-gap decoding of the postings: each output
 * becomes base + the running sum of (value + 1). Within a row the sum is
 * two shifted adds; the running total (`carry`, the last sum broadcast to
 * every lane) is then a single add per row, so rows do not wait on each
 * other's shifts.
 *
 * No kernel reads outside its 16*B input bytes or writes outside its 128
 * outputs; input and output may have any alignment.
 */
#include "codec/bitpack_impl.h"

#if ND_BITPACK_X86

#include <immintrin.h>
#include <string.h>

#define AVX2_FN __attribute__((target("avx2")))

/* The low B bits set, for B 1..31. */
#define LOW_MASK(B) (0xffffffffu >> (32 - (B)))

/* Input row w (16 bytes, any alignment). */
#define ROW128(w) _mm_loadu_si128((const __m128i *)(const void *)(in + (size_t)16 * (w)))
#define STORE128(j, x) _mm_storeu_si128((__m128i *)(void *)(out + (size_t)4 * (j)), (x))
#define STORE256(j, x) _mm256_storeu_si256((__m256i *)(void *)(out + (size_t)4 * (j)), (x))

/* Repeats M(B, j, E) for rows j = 0..31, or for row pairs j = 0, 2, .. 30. */
#define REP8(M, B, j, E, d)                                                                        \
    M(B, (j) + 0 * (d), E);                                                                        \
    M(B, (j) + 1 * (d), E);                                                                        \
    M(B, (j) + 2 * (d), E);                                                                        \
    M(B, (j) + 3 * (d), E);                                                                        \
    M(B, (j) + 4 * (d), E);                                                                        \
    M(B, (j) + 5 * (d), E);                                                                        \
    M(B, (j) + 6 * (d), E);                                                                        \
    M(B, (j) + 7 * (d), E)
#define REP_ROWS(M, B, E)                                                                          \
    REP8(M, B, 0, E, 1);                                                                           \
    REP8(M, B, 8, E, 1);                                                                           \
    REP8(M, B, 16, E, 1);                                                                          \
    REP8(M, B, 24, E, 1)
#define REP_PAIRS(M, B, E)                                                                         \
    REP8(M, B, 0, E, 2);                                                                           \
    REP8(M, B, 16, E, 2)

/* ---- SSE2 --------------------------------------------------------------- */

/*
 * Output row j at width B into x_, then E(j, x_). Row j starts at lane bit
 * j*B: input row W_, shift S_; it continues into row W_ + 1 when S_ + B >
 * 32. The mask is needed unless the value ends at the top of its word.
 */
#define SSE2_ROW(B, j, E)                                                                          \
    do {                                                                                           \
        enum { W_ = (j) * (B) / 32, S_ = (j) * (B) % 32, SPLIT_ = S_ + (B) > 32 };                 \
        __m128i x_ = _mm_srli_epi32(ROW128(W_), S_);                                               \
        if (SPLIT_)                                                                                \
            x_ = _mm_or_si128(x_, _mm_slli_epi32(ROW128(W_ + SPLIT_), (32 - S_) & 31));            \
        if (S_ + (B) != 32)                                                                        \
            x_ = _mm_and_si128(x_, mask);                                                          \
        E(j, x_);                                                                                  \
    } while (0)

#define SSE2_STORE(j, x) STORE128(j, x)

/* Running sum of one row: x + 1 summed within the row, then the carry of
 * the rows before; the carry moves on by the row's own total. */
#define SSE2_DELTA(j, x)                                                                           \
    do {                                                                                           \
        (x) = _mm_add_epi32((x), one);                                                             \
        (x) = _mm_add_epi32((x), _mm_slli_si128((x), 4));                                          \
        (x) = _mm_add_epi32((x), _mm_slli_si128((x), 8));                                          \
        STORE128(j, _mm_add_epi32((x), carry));                                                    \
        carry = _mm_add_epi32(carry, _mm_shuffle_epi32((x), 0xff));                                \
    } while (0)

#define DEFINE_SSE2(B)                                                                             \
    static void sse2_unpack_##B(uint32_t *restrict out, const uint8_t *restrict in)                \
    {                                                                                              \
        const __m128i mask = _mm_set1_epi32((int)LOW_MASK(B));                                     \
        REP_ROWS(SSE2_ROW, B, SSE2_STORE);                                                         \
    }

#define DEFINE_SSE2_DELTA(B)                                                                       \
    static void sse2_delta_##B(uint32_t *restrict out, const uint8_t *restrict in, uint32_t base)  \
    {                                                                                              \
        const __m128i mask = _mm_set1_epi32((int)LOW_MASK(B)), one = _mm_set1_epi32(1);            \
        __m128i carry = _mm_set1_epi32((int)base);                                                 \
        REP_ROWS(SSE2_ROW, B, SSE2_DELTA);                                                         \
    }

/* ---- AVX2 --------------------------------------------------------------- */

/* Input rows a (low half) and b (high half), b being a or a + 1. */
static inline AVX2_FN __m256i avx2_rows(const uint8_t *in, int a, int b)
{
    if (a == b)
        return _mm256_broadcastsi128_si256(ROW128(a));
    return _mm256_loadu_si256((const __m256i *)(const void *)(in + (size_t)16 * a));
}

/*
 * Output rows j and j+1 at width B into x_, then E(j, x_). Each half works
 * as SSE2_ROW. The second input rows are needed when either half straddles;
 * a half that does not is shifted left by 32, i.e. to zero, and takes the
 * other half's row so that only rows of the block are read.
 */
#define AVX2_PAIR(B, j, E)                                                                         \
    do {                                                                                           \
        enum {                                                                                     \
            W0_ = (j) * (B) / 32,                                                                  \
            S0_ = (j) * (B) % 32,                                                                  \
            P0_ = S0_ + (B) > 32,                                                                  \
            W1_ = ((j) + 1) * (B) / 32,                                                            \
            S1_ = ((j) + 1) * (B) % 32,                                                            \
            P1_ = S1_ + (B) > 32,                                                                  \
            H0_ = P0_ ? W0_ + 1 : W1_ + 1,                                                         \
            H1_ = P1_ ? W1_ + 1 : W0_ + 1,                                                         \
            L0_ = P0_ ? 32 - S0_ : 32,                                                             \
            L1_ = P1_ ? 32 - S1_ : 32                                                              \
        };                                                                                         \
        __m256i x_ = _mm256_srlv_epi32(avx2_rows(in, W0_, W1_),                                   \
                                       _mm256_setr_epi32(S0_, S0_, S0_, S0_, S1_, S1_, S1_, S1_)); \
        if (P0_ || P1_)                                                                            \
            x_ = _mm256_or_si256(                                                                  \
                x_, _mm256_sllv_epi32(avx2_rows(in, H0_, H1_),                                     \
                                      _mm256_setr_epi32(L0_, L0_, L0_, L0_, L1_, L1_, L1_, L1_))); \
        if (S0_ + (B) != 32 || S1_ + (B) != 32)                                                    \
            x_ = _mm256_and_si256(x_, mask);                                                       \
        E(j, x_);                                                                                  \
    } while (0)

#define AVX2_STORE(j, x) STORE256(j, x)

/* As SSE2_DELTA for two rows: sums within each half, then the low half's
 * total is added to the high half, and the carry moves on by the pair's
 * total (the last value, broadcast). */
#define AVX2_DELTA(j, x)                                                                           \
    do {                                                                                           \
        (x) = _mm256_add_epi32((x), one);                                                          \
        (x) = _mm256_add_epi32((x), _mm256_slli_si256((x), 4));                                    \
        (x) = _mm256_add_epi32((x), _mm256_slli_si256((x), 8));                                    \
        __m256i t_ = _mm256_shuffle_epi32((x), 0xff);                                              \
        (x) = _mm256_add_epi32((x), _mm256_permute2x128_si256(t_, t_, 0x08));                      \
        STORE256(j, _mm256_add_epi32((x), carry));                                                 \
        carry = _mm256_add_epi32(carry, _mm256_permutevar8x32_epi32((x), last));                   \
    } while (0)

/*
 * Odd widths from 17 up straddle in most rows, so nearly every pair needs
 * two variable shifts, which issue on fewer ports than immediate ones: on
 * the machine of bench/README.md the SSE2 rows, compiled as AVX (3-operand,
 * no register copies), were 10-15 % faster than the pairs there, about
 * even at odd widths 9..15, and slower at the other widths. The choice is
 * a constant per width; the other branch is dropped.
 */
#define AVX2_BY_ROWS(B) ((B) % 2 == 1 && (B) >= 17)

#define DEFINE_AVX2(B)                                                                             \
    static AVX2_FN void avx2_unpack_##B(uint32_t *restrict out, const uint8_t *restrict in)        \
    {                                                                                              \
        if (AVX2_BY_ROWS(B)) {                                                                     \
            const __m128i mask = _mm_set1_epi32((int)LOW_MASK(B));                                 \
            REP_ROWS(SSE2_ROW, B, SSE2_STORE);                                                     \
        } else {                                                                                   \
            const __m256i mask = _mm256_set1_epi32((int)LOW_MASK(B));                              \
            REP_PAIRS(AVX2_PAIR, B, AVX2_STORE);                                                   \
        }                                                                                          \
    }

#define DEFINE_AVX2_DELTA(B)                                                                       \
    static AVX2_FN void avx2_delta_##B(uint32_t *restrict out, const uint8_t *restrict in,         \
                                       uint32_t base)                                              \
    {                                                                                              \
        const __m256i mask = _mm256_set1_epi32((int)LOW_MASK(B)), one = _mm256_set1_epi32(1),      \
                      last = _mm256_set1_epi32(7);                                                 \
        __m256i carry = _mm256_set1_epi32((int)base);                                              \
        REP_PAIRS(AVX2_PAIR, B, AVX2_DELTA);                                                       \
    }

/* ---- every width ---------------------------------------------------------- */

#define DEFINE_ALL(B) DEFINE_SSE2(B) DEFINE_AVX2(B)
#define DEFINE_ALL_DELTA(B) DEFINE_SSE2_DELTA(B) DEFINE_AVX2_DELTA(B)

DEFINE_ALL(1)
DEFINE_ALL(2)
DEFINE_ALL(3)
DEFINE_ALL(4)
DEFINE_ALL(5)
DEFINE_ALL(6)
DEFINE_ALL(7)
DEFINE_ALL(8)
DEFINE_ALL(9)
DEFINE_ALL(10)
DEFINE_ALL(11)
DEFINE_ALL(12)
DEFINE_ALL(13)
DEFINE_ALL(14)
DEFINE_ALL(15)
DEFINE_ALL(16)
DEFINE_ALL(17)
DEFINE_ALL(18)
DEFINE_ALL(19)
DEFINE_ALL(20)
DEFINE_ALL(21)
DEFINE_ALL(22)
DEFINE_ALL(23)
DEFINE_ALL(24)
DEFINE_ALL(25)
DEFINE_ALL(26)
DEFINE_ALL(27)
DEFINE_ALL(28)
DEFINE_ALL(29)
DEFINE_ALL(30)
DEFINE_ALL(31)

DEFINE_ALL_DELTA(1)
DEFINE_ALL_DELTA(2)
DEFINE_ALL_DELTA(3)
DEFINE_ALL_DELTA(4)
DEFINE_ALL_DELTA(5)
DEFINE_ALL_DELTA(6)
DEFINE_ALL_DELTA(7)
DEFINE_ALL_DELTA(8)
DEFINE_ALL_DELTA(9)
DEFINE_ALL_DELTA(10)
DEFINE_ALL_DELTA(11)
DEFINE_ALL_DELTA(12)
DEFINE_ALL_DELTA(13)
DEFINE_ALL_DELTA(14)
DEFINE_ALL_DELTA(15)
DEFINE_ALL_DELTA(16)
DEFINE_ALL_DELTA(17)
DEFINE_ALL_DELTA(18)
DEFINE_ALL_DELTA(19)
DEFINE_ALL_DELTA(20)
DEFINE_ALL_DELTA(21)
DEFINE_ALL_DELTA(22)
DEFINE_ALL_DELTA(23)
DEFINE_ALL_DELTA(24)

/* Widths 0 and 32 need no shifts: zeros, and the words themselves (x86 is
 * little endian). Width 0 of the delta is base + 1, base + 2, ... */
static void x86_unpack_0(uint32_t *restrict out, const uint8_t *restrict in)
{
    (void)in;
    memset(out, 0, ND_BLOCK * sizeof out[0]);
}

static void x86_unpack_32(uint32_t *restrict out, const uint8_t *restrict in)
{
    memcpy(out, in, ND_BLOCK * sizeof out[0]);
}

static void x86_delta_0(uint32_t *restrict out, const uint8_t *restrict in, uint32_t base)
{
    (void)in;
    for (uint32_t i = 0; i < ND_BLOCK; i++)
        out[i] = base + i + 1;
}

#define KERNELS(P)                                                                                 \
    x86_unpack_0, P##_unpack_1, P##_unpack_2, P##_unpack_3, P##_unpack_4, P##_unpack_5,            \
        P##_unpack_6, P##_unpack_7, P##_unpack_8, P##_unpack_9, P##_unpack_10, P##_unpack_11,      \
        P##_unpack_12, P##_unpack_13, P##_unpack_14, P##_unpack_15, P##_unpack_16,                 \
        P##_unpack_17, P##_unpack_18, P##_unpack_19, P##_unpack_20, P##_unpack_21,                 \
        P##_unpack_22, P##_unpack_23, P##_unpack_24, P##_unpack_25, P##_unpack_26,                 \
        P##_unpack_27, P##_unpack_28, P##_unpack_29, P##_unpack_30, P##_unpack_31, x86_unpack_32

#define DELTA_KERNELS(P)                                                                           \
    x86_delta_0, P##_delta_1, P##_delta_2, P##_delta_3, P##_delta_4, P##_delta_5, P##_delta_6,     \
        P##_delta_7, P##_delta_8, P##_delta_9, P##_delta_10, P##_delta_11, P##_delta_12,           \
        P##_delta_13, P##_delta_14, P##_delta_15, P##_delta_16, P##_delta_17, P##_delta_18,        \
        P##_delta_19, P##_delta_20, P##_delta_21, P##_delta_22, P##_delta_23, P##_delta_24

const bp_kernels bp_kernels_sse2 = {"sse2", {KERNELS(sse2)}, {DELTA_KERNELS(sse2)}};
const bp_kernels bp_kernels_avx2 = {"avx2", {KERNELS(avx2)}, {DELTA_KERNELS(avx2)}};

#endif /* ND_BITPACK_X86 */
