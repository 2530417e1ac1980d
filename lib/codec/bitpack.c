/*
 * bitpack.c - fixed-width packing of 128 u32 values ("bitpack128"), the
 * inner loop of every postings and positions read.
 *
 * The layout is the "4-lane vertical" one described in codec.h: value i
 * lives in lane i % 4, each lane packs its 32 values LSB first into `bits`
 * u32 words, and word w of lane l sits at u32 index 4*w + l. A row of four
 * lane words (16 bytes) is therefore exactly one 128-bit SIMD register, and
 * one row of output (values 4j .. 4j+3) is a single shift/or/mask of one or
 * two input rows, the same for all four lanes.
 *
 * Unpacking is specialised per bit width: for each width the 32 output
 * rows are spelled out by macros, so every word index and shift count is a
 * compile-time constant and the four-lane inner loop becomes straight-line
 * vector code under an ordinary -O2 build. Words are loaded with memcpy (no
 * alignment is assumed for the packed bytes) and converted from little
 * endian explicitly, so the result is the same on every host. Packing is
 * written plainly; it runs once per block at index time.
 */
#include <assert.h>
#include <string.h>

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

typedef void unpack_fn(uint32_t *restrict out, const uint8_t *restrict in);

static unpack_fn *const unpackers[33] = {
    unpack_0,  unpack_1,  unpack_2,  unpack_3,  unpack_4,  unpack_5,  unpack_6,
    unpack_7,  unpack_8,  unpack_9,  unpack_10, unpack_11, unpack_12, unpack_13,
    unpack_14, unpack_15, unpack_16, unpack_17, unpack_18, unpack_19, unpack_20,
    unpack_21, unpack_22, unpack_23, unpack_24, unpack_25, unpack_26, unpack_27,
    unpack_28, unpack_29, unpack_30, unpack_31, unpack_32,
};

void bitpack128_unpack(uint32_t out[ND_BLOCK], const uint8_t *in, unsigned bits)
{
    /* Callers validate bits (seq_decode does); out of contract, the block
     * decodes to zeros rather than reading past 16*32 bytes. */
    assert(bits <= 32);
    unpackers[bits <= 32 ? bits : 0](out, in);
}
