/*
 * bitpack.c - fixed-width packing of 128 u32 values ("bitpack128"), the
 * inner loop of every postings and positions read: the layout, packing,
 * the portable unpack kernels, and the one-time choice of the kernels that
 * bitpack128_unpack uses on this CPU.
 *
 * The layout is the "4-lane vertical" one described in codec.h: value i
 * lives in lane i % 4, each lane packs its 32 values LSB first into `bits`
 * u32 words, and word w of lane l sits at u32 index 4*w + l. A row of four
 * lane words (16 bytes) is therefore exactly one 128-bit SIMD register, and
 * one row of output (values 4j .. 4j+3) is a single shift/or/mask of one or
 * two input rows, the same for all four lanes.
 *
 * Portable unpacking is specialised per bit width: for each width the 32
 * output rows are spelled out by macros, so every word index and shift
 * count is a compile-time constant and the four-lane inner loop becomes
 * straight-line vector code under an ordinary -O2 build (gcc 12's
 * -fopt-info-vec reports every width; clang 14 emits no scalar shifts).
 * Words are loaded with memcpy (no alignment is assumed for the packed
 * bytes) and converted from little endian explicitly, so the result is
 * the same on every host. Packing is written plainly; it runs once per
 * block at index time.
 *
 * bitpack128_unpack_delta1 decodes a block of doc gaps straight to
 * document numbers (unpack, then running sums while the block is in L1);
 * the x86 kernels fuse the two.
 *
 * Choosing the kernels (portable here, SSE2 or AVX2 from bitpack_x86.c):
 * the first decode picks the best set the CPU supports, or the one named
 * by the environment variable ND_BITPACK_IMPL, and keeps a pointer to that
 * constant table for the life of the process. The pointer is the only
 * process-wide variable in the codec; it is never visible to callers, and
 * every thread computes the same value, so it is written with a relaxed
 * atomic store and read with a relaxed atomic load (a plain load on x86):
 * a race between first callers stores the same pointer twice, and the
 * tables it points to are constant data. This costs a load and a branch
 * per block, where pthread_once would cost a library call per block, and
 * unlike a GNU ifunc it needs no support from the dynamic loader (musl has
 * none) and runs no code before main.
 */
#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "codec/bitpack_impl.h"
#include "codec/codec.h"
#include "util/util.h"

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&                                 \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_LE 1
#else
#define HOST_LE 0
#endif

/* The low `bits` bits set, for bits 1..32. */
#define LOW_MASK(bits) (0xffffffffu >> (32 - (bits)))

unsigned bits_needed(const uint32_t *v, size_t n)
{
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= v[i];
    unsigned bits = 0;
    while (acc != 0) {
        bits++;
        acc >>= 1;
    }
    return bits;
}

void bitpack128_pack(uint8_t *out, const uint32_t in[ND_BLOCK], unsigned bits)
{
    assert(bits <= 32);
    if (bits == 0 || bits > 32)
        return;
    uint32_t words[ND_BLOCK]; /* row-major: word w of lane l at 4*w + l */
    memset(words, 0, (size_t)4 * bits * sizeof words[0]);
    const uint32_t mask = LOW_MASK(bits);
    for (unsigned l = 0; l < 4; l++) {
        unsigned pos = 0; /* bit offset within the lane */
        for (unsigned j = 0; j < ND_BLOCK / 4; j++, pos += bits) {
            uint32_t v = in[4 * j + l] & mask;
            unsigned w = pos / 32, s = pos % 32;
            words[4 * w + l] |= v << s;
            if (s + bits > 32)
                words[4 * (w + 1) + l] |= v >> (32 - s);
        }
    }
    for (unsigned k = 0; k < 4 * bits; k++)
        st_u32(out + (size_t)4 * k, words[k]);
}

/* Loads one row: the four little-endian lane words at p (16 bytes, any
 * alignment). */
static inline void load_row(uint32_t v[4], const uint8_t *p)
{
#if HOST_LE
    memcpy(v, p, 16);
#else
    for (int l = 0; l < 4; l++)
        v[l] = ld_u32(p + 4 * l);
#endif
}

/*
 * Output row j (values 4j .. 4j+3) for width B. Its bits start at lane bit
 * offset j*B, i.e. in input row W at shift S; when S + B > 32 the value
 * continues in row W + 1. The mask is needed unless the value ends exactly
 * at the top of a word. All of W, S and the branches are constants, so
 * only the shifts, the or and the mask remain. The `& 31` keeps the unused
 * shift count in range when there is no straddle; it changes nothing
 * otherwise (S > 0 there).
 */
#define UNPACK_ROW(B, j)                                                                           \
    do {                                                                                           \
        enum { W_ = (j) * (B) / 32, S_ = (j) * (B) % 32, SPLIT_ = S_ + (B) > 32 };                 \
        uint32_t lo_[4], hi_[4];                                                                   \
        load_row(lo_, in + (size_t)16 * W_);                                                       \
        load_row(hi_, in + (size_t)16 * (W_ + SPLIT_));                                            \
        for (int l_ = 0; l_ < 4; l_++) {                                                           \
            uint32_t x_ = lo_[l_] >> S_;                                                           \
            if (SPLIT_)                                                                            \
                x_ |= hi_[l_] << ((32 - S_) & 31);                                                 \
            if (S_ + (B) != 32)                                                                    \
                x_ &= LOW_MASK(B);                                                                 \
            out[4 * (j) + l_] = x_;                                                                \
        }                                                                                          \
    } while (0)

#define UNPACK_ROWS8(B, j)                                                                         \
    UNPACK_ROW(B, (j) + 0);                                                                        \
    UNPACK_ROW(B, (j) + 1);                                                                        \
    UNPACK_ROW(B, (j) + 2);                                                                        \
    UNPACK_ROW(B, (j) + 3);                                                                        \
    UNPACK_ROW(B, (j) + 4);                                                                        \
    UNPACK_ROW(B, (j) + 5);                                                                        \
    UNPACK_ROW(B, (j) + 6);                                                                        \
    UNPACK_ROW(B, (j) + 7)

#define DEFINE_UNPACK(B)                                                                           \
    static void unpack_##B(uint32_t *restrict out, const uint8_t *restrict in)                     \
    {                                                                                              \
        UNPACK_ROWS8(B, 0);                                                                        \
        UNPACK_ROWS8(B, 8);                                                                        \
        UNPACK_ROWS8(B, 16);                                                                       \
        UNPACK_ROWS8(B, 24);                                                                       \
    }

static void unpack_0(uint32_t *restrict out, const uint8_t *restrict in)
{
    ND_UNUSED(in);
    memset(out, 0, ND_BLOCK * sizeof out[0]);
}

DEFINE_UNPACK(1)
DEFINE_UNPACK(2)
DEFINE_UNPACK(3)
DEFINE_UNPACK(4)
DEFINE_UNPACK(5)
DEFINE_UNPACK(6)
DEFINE_UNPACK(7)
DEFINE_UNPACK(8)
DEFINE_UNPACK(9)
DEFINE_UNPACK(10)
DEFINE_UNPACK(11)
DEFINE_UNPACK(12)
DEFINE_UNPACK(13)
DEFINE_UNPACK(14)
DEFINE_UNPACK(15)
DEFINE_UNPACK(16)
DEFINE_UNPACK(17)
DEFINE_UNPACK(18)
DEFINE_UNPACK(19)
DEFINE_UNPACK(20)
DEFINE_UNPACK(21)
DEFINE_UNPACK(22)
DEFINE_UNPACK(23)
DEFINE_UNPACK(24)
DEFINE_UNPACK(25)
DEFINE_UNPACK(26)
DEFINE_UNPACK(27)
DEFINE_UNPACK(28)
DEFINE_UNPACK(29)
DEFINE_UNPACK(30)
DEFINE_UNPACK(31)

/* Width 32 is the words themselves. */
static void unpack_32(uint32_t *restrict out, const uint8_t *restrict in)
{
#if HOST_LE
    memcpy(out, in, ND_BLOCK * sizeof out[0]);
#else
    for (int i = 0; i < ND_BLOCK; i++)
        out[i] = ld_u32(in + 4 * i);
#endif
}

/* Width 0 of the delta: the block is base + 1, base + 2, ... */
static void delta_0(uint32_t *restrict out, const uint8_t *restrict in, uint32_t base)
{
    ND_UNUSED(in);
    for (uint32_t i = 0; i < ND_BLOCK; i++)
        out[i] = base + i + 1;
}

/* out[i] = base + running sum of (out[i] + 1), modulo 2^32. A single
 * running sum is a chain of dependent adds, one per value; here the four
 * quarters of the block are summed side by side (four independent chains),
 * then each quarter is shifted by the totals of the quarters before it, a
 * loop the compiler vectorises. */
static void running_sum32(uint32_t *restrict out, uint32_t base)
{
    enum { Q = ND_BLOCK / 4 };
    uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int i = 0; i < Q; i++) {
        s0 += out[i] + 1;
        s1 += out[Q + i] + 1;
        s2 += out[2 * Q + i] + 1;
        s3 += out[3 * Q + i] + 1;
        out[i] = s0;
        out[Q + i] = s1;
        out[2 * Q + i] = s2;
        out[3 * Q + i] = s3;
    }
    uint32_t o1 = base + s0, o2 = o1 + s1, o3 = o2 + s2;
    for (int i = 0; i < Q; i++) {
        out[i] += base;
        out[Q + i] += o1;
        out[2 * Q + i] += o2;
        out[3 * Q + i] += o3;
    }
}

/* The portable delta kernels: unpack, then running_sum32 over the block
 * while it is in L1. */
#define DEFINE_DELTA(B)                                                                            \
    static void delta_##B(uint32_t *restrict out, const uint8_t *restrict in, uint32_t base)       \
    {                                                                                              \
        unpack_##B(out, in);                                                                       \
        running_sum32(out, base);                                                                  \
    }

DEFINE_DELTA(1)
DEFINE_DELTA(2)
DEFINE_DELTA(3)
DEFINE_DELTA(4)
DEFINE_DELTA(5)
DEFINE_DELTA(6)
DEFINE_DELTA(7)
DEFINE_DELTA(8)
DEFINE_DELTA(9)
DEFINE_DELTA(10)
DEFINE_DELTA(11)
DEFINE_DELTA(12)
DEFINE_DELTA(13)
DEFINE_DELTA(14)
DEFINE_DELTA(15)
DEFINE_DELTA(16)
DEFINE_DELTA(17)
DEFINE_DELTA(18)
DEFINE_DELTA(19)
DEFINE_DELTA(20)
DEFINE_DELTA(21)
DEFINE_DELTA(22)
DEFINE_DELTA(23)
DEFINE_DELTA(24)

static const bp_kernels kernels_portable = {
    "portable",
    {unpack_0,  unpack_1,  unpack_2,  unpack_3,  unpack_4,  unpack_5,  unpack_6,
     unpack_7,  unpack_8,  unpack_9,  unpack_10, unpack_11, unpack_12, unpack_13,
     unpack_14, unpack_15, unpack_16, unpack_17, unpack_18, unpack_19, unpack_20,
     unpack_21, unpack_22, unpack_23, unpack_24, unpack_25, unpack_26, unpack_27,
     unpack_28, unpack_29, unpack_30, unpack_31, unpack_32},
    {delta_0,  delta_1,  delta_2,  delta_3,  delta_4,  delta_5,  delta_6,  delta_7,  delta_8,
     delta_9,  delta_10, delta_11, delta_12, delta_13, delta_14, delta_15, delta_16, delta_17,
     delta_18, delta_19, delta_20, delta_21, delta_22, delta_23, delta_24},
};

/* The kernel set of an implementation id, or NULL if not built in. */
static const bp_kernels *kernels_of(int impl)
{
    switch (impl) {
    case BITPACK_PORTABLE:
        return &kernels_portable;
#if ND_BITPACK_X86
    case BITPACK_SSE2:
        return &bp_kernels_sse2;
    case BITPACK_AVX2:
        return &bp_kernels_avx2;
#endif
    default:
        return NULL;
    }
}

const char *bitpack128_impl_name(int impl)
{
    static const char *const names[BITPACK_N_IMPL] = {"portable", "sse2", "avx2"};
    return impl >= 0 && impl < BITPACK_N_IMPL ? names[impl] : NULL;
}

int bitpack128_impl_available(int impl)
{
    if (!kernels_of(impl))
        return 0;
#if ND_BITPACK_X86
    /* SSE2 is part of x86-64. The AVX2 test also checks that the OS saves
     * the 256-bit registers. (libgcc fills in the CPU model before any
     * ordinary constructor runs; if it has not, AVX2 reads as absent.) */
    if (impl == BITPACK_AVX2)
        return __builtin_cpu_supports("avx2") != 0;
#endif
    return 1;
}

int bitpack128_impl_pick(const char *want)
{
    if (want) {
        for (int i = 0; i < BITPACK_N_IMPL; i++)
            if (strcmp(want, bitpack128_impl_name(i)) == 0 && bitpack128_impl_available(i))
                return i;
    }
    for (int i = BITPACK_N_IMPL - 1; i > BITPACK_PORTABLE; i--)
        if (bitpack128_impl_available(i))
            return i;
    return BITPACK_PORTABLE;
}

/* The kernels bitpack128_unpack uses: chosen on first use, then fixed
 * (see the top of the file for why this one variable is safe). */
static _Atomic(const bp_kernels *) active_kernels;

/* The first use, kept out of line so that the per-block path stays a load,
 * a test and a jump (inlined, it made every call save four registers). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline, cold))
#endif
static const bp_kernels *choose_kernels(void)
{
    const bp_kernels *k = kernels_of(bitpack128_impl_pick(getenv("ND_BITPACK_IMPL")));
    atomic_store_explicit(&active_kernels, k, memory_order_relaxed);
    return k;
}

static inline const bp_kernels *kernels(void)
{
    const bp_kernels *k = atomic_load_explicit(&active_kernels, memory_order_relaxed);
    return k ? k : choose_kernels();
}

int bitpack128_impl_active(void)
{
    const bp_kernels *k = kernels();
    for (int i = 0; i < BITPACK_N_IMPL; i++)
        if (kernels_of(i) == k)
            return i;
    return BITPACK_PORTABLE; /* not reached */
}

/* An implementation's kernels if this CPU can run them, else portable. */
static const bp_kernels *kernels_checked(int impl)
{
    return bitpack128_impl_available(impl) ? kernels_of(impl) : &kernels_portable;
}

/* running_sum32 for widths above BP_DELTA_MAX (rare: gaps of 2^24 and
 * more), where the block's sum may pass 2^32: returns it exact, added up
 * in 64 bits beforehand. */
static uint64_t running_sum64(uint32_t *out, uint32_t base)
{
    uint64_t sum = ND_BLOCK;
    for (int i = 0; i < ND_BLOCK; i++)
        sum += out[i];
    running_sum32(out, base);
    return sum;
}

static uint64_t unpack_delta1(const bp_kernels *k, uint32_t *out, const uint8_t *in,
                              unsigned bits, uint32_t base)
{
    if (bits <= BP_DELTA_MAX) {
        /* Up to width 24 the block's sum is below 2^32 (see BP_DELTA_MAX),
         * so the last output minus base is exact. */
        k->delta[bits](out, in, base);
        return (uint32_t)(out[ND_BLOCK - 1] - base);
    }
    k->unpack[bits](out, in);
    return running_sum64(out, base);
}

/* Callers validate bits (seq_decode does); out of contract, the block
 * decodes as width 0 rather than reading past 16*32 bytes. */
#define CHECKED_BITS(bits) ((bits) <= 32 ? (bits) : 0)

void bitpack128_unpack(uint32_t out[ND_BLOCK], const uint8_t *in, unsigned bits)
{
    assert(bits <= 32);
    kernels()->unpack[CHECKED_BITS(bits)](out, in);
}

uint64_t bitpack128_unpack_delta1(uint32_t out[ND_BLOCK], const uint8_t *in, unsigned bits,
                                  uint32_t base)
{
    assert(bits <= 32);
    return unpack_delta1(kernels(), out, in, CHECKED_BITS(bits), base);
}

void bitpack128_unpack_impl(int impl, uint32_t out[ND_BLOCK], const uint8_t *in, unsigned bits)
{
    assert(bits <= 32);
    kernels_checked(impl)->unpack[CHECKED_BITS(bits)](out, in);
}

uint64_t bitpack128_unpack_delta1_impl(int impl, uint32_t out[ND_BLOCK], const uint8_t *in,
                                       unsigned bits, uint32_t base)
{
    assert(bits <= 32);
    return unpack_delta1(kernels_checked(impl), out, in, CHECKED_BITS(bits), base);
}
