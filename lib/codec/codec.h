/*
 * codec.h - pure integer codecs for postings, positions and skip data.
 *
 * Everything here works on caller-owned buffers, never allocates, and
 * decodes untrusted bytes safely: every decoder takes an end pointer and
 * reports damage instead of reading past it.
 *
 * The varint (defined once, used by every file in docs/FORMAT.md):
 * unsigned LEB128 - 7 value bits per byte, least significant group first,
 * high bit set on every byte but the last; at most 10 bytes for a u64.
 *
 * bitpack128 layout ("4-lane vertical", the layout SIMD decoders use):
 * 128 u32 values, each < 2^bits (bits 0..32), occupy exactly 16*bits bytes,
 * seen as 4*bits little-endian u32 words. Value i belongs to lane i%4 and
 * is the (i/4)-th value of that lane; each lane's 32 values are packed LSB
 * first into the lane's `bits` words, a value may straddle two words; word
 * w of lane l is stored at u32 index 4*w + l. bits = 0 stores nothing and
 * decodes to 128 zeros.
 *
 * seq (a u32 sequence of any length n, n known to the reader): full blocks
 * of 128 as [u8 bits][bitpack128], then the n % 128 tail values as varints.
 */
#ifndef ND_CODEC_H
#define ND_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define ND_VARINT_MAX 10
#define ND_BLOCK 128

/* ---- varint.c --------------------------------------------------------- */

/* Writes v to p (room for ND_VARINT_MAX bytes needed); returns bytes
 * written. Inline: ingest writes one per token. */
static inline size_t varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}
/* Bytes varint_put would write for v. */
size_t varint_len(uint64_t v);
/* Reads one varint at *p, not reading at or past end; advances *p.
 * Returns 0, or -1 if truncated, longer than 10 bytes, or over 64 bits. */
int varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v);
/* Same, but also fails (-1) when the value exceeds UINT32_MAX. */
int varint_get32(const uint8_t **p, const uint8_t *end, uint32_t *v);

static inline uint64_t zigzag_enc(int64_t v)
{
    return ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0); /* no signed shift */
}
static inline int64_t zigzag_dec(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* ---- bitpack.c -------------------------------------------------------- */

/* Smallest bits such that every v[i] < 2^bits (0 for all zeros). */
unsigned bits_needed(const uint32_t *v, size_t n);
/* Packs 128 values (each must be < 2^bits) into 16*bits bytes at out. */
void bitpack128_pack(uint8_t *out, const uint32_t in[ND_BLOCK], unsigned bits);
/* Unpacks 16*bits bytes at in into 128 values. bits must be <= 32. */
void bitpack128_unpack(uint32_t out[ND_BLOCK], const uint8_t *in, unsigned bits);
/*
 * Unpacks like bitpack128_unpack and decodes the values as gaps minus one
 * of an increasing sequence (the doc gaps of a postings block):
 * out[i] = base + sum over k <= i of (v[k] + 1), modulo 2^32. Returns that
 * sum for the whole block, exact (128 .. 2^39). For a caller that keeps the
 * previous document as a u64 `doc` ((uint64_t)-1 before the first block)
 * and passes base = (uint32_t)doc: the block's last document is
 * doc + result, and when that is below a limit <= 2^32 every out[i] is
 * exact and below it too (the sequence only increases).
 */
uint64_t bitpack128_unpack_delta1(uint32_t out[ND_BLOCK], const uint8_t *in, unsigned bits,
                                  uint32_t base);

/*
 * Implementations of the unpack functions. All give identical output; the
 * best one this CPU supports is chosen on first use and kept for the life
 * of the process, unless the environment variable ND_BITPACK_IMPL names
 * another available one ("portable", "sse2", "avx2") at that moment.
 * Names that are unknown or not available here are ignored.
 */
enum { BITPACK_PORTABLE, BITPACK_SSE2, BITPACK_AVX2, BITPACK_N_IMPL };
/* "portable", "sse2", "avx2"; NULL for an id out of range. */
const char *bitpack128_impl_name(int impl);
/* 1 if impl is built in (SSE2/AVX2: x86-64 only) and this CPU runs it. */
int bitpack128_impl_available(int impl);
/* The implementation ND_BITPACK_IMPL=want selects (want NULL: unset). */
int bitpack128_impl_pick(const char *want);
/* The implementation bitpack128_unpack and _delta1 use. */
int bitpack128_impl_active(void);
/* The same functions with a given implementation (the portable one if impl
 * is not available), for tests and benchmarks. */
void bitpack128_unpack_impl(int impl, uint32_t out[ND_BLOCK], const uint8_t *in, unsigned bits);
uint64_t bitpack128_unpack_delta1_impl(int impl, uint32_t out[ND_BLOCK], const uint8_t *in,
                                       unsigned bits, uint32_t base);

/* ---- dense.c ---------------------------------------------------------- */

/*
 * A block of 128 increasing documents as a bitmap of the range from
 * `first` to its last document: bit i (byte i / 8, bit i % 8) set for
 * document first + i. At most DENSE_MAX_BYTES bytes: only a block whose
 * documents span at most 256 numbers (a word in half the articles or more)
 * is a bitmap. Expanding one is a table step per byte, as fast as
 * unpacking the same block's packed gaps at such spans (bench_codec) but
 * slower the wider the span: on AP89 (60 queries, callgrind) spans up to
 * 512 numbers made phrases 1.6 % slower, up to 4096 3 %.
 */
#define DENSE_MAX_BYTES 32
/* Room dense_unpack needs: it may write up to 8 values past the 128th. */
#define DENSE_OUT (ND_BLOCK + 8)
/* Writes the bitmap of docs[0..n) (increasing, docs[0] >= first) to out,
 * which needs (docs[n-1] - first) / 8 + 1 bytes; returns that count. */
size_t dense_pack(uint8_t *out, const uint32_t *docs, size_t n, uint32_t first);
/* 0 if n bytes can be a bitmap (1 .. DENSE_MAX_BYTES, the last not zero),
 * with the number of its highest set bit in *last_bit; -1 otherwise. How
 * many bits are set is for the two functions below to say. */
int dense_span(const uint8_t *p, size_t n, uint32_t *last_bit);
/* The documents of the bitmap, in order, into out; returns how many: 128
 * for a well-formed block. Stops once more than 128 are written, so it
 * writes at most DENSE_OUT values whatever the bytes. first + last_bit
 * (dense_span) must not overflow. */
uint32_t dense_unpack(uint32_t out[DENSE_OUT], const uint8_t *p, size_t n, uint32_t first);
/* dense_unpack without SIMD, which it uses where SSE2 is not built in; the
 * same output, for tests. */
uint32_t dense_unpack_portable(uint32_t out[DENSE_OUT], const uint8_t *p, size_t n,
                               uint32_t first);
/* ORs the bitmap into a bitset (bit d of word d / 64 for document d) that
 * holds document first + last_bit, touching no word past it; returns how
 * many bits the bitmap has set (128 for a well-formed block). */
uint32_t dense_or(uint64_t *bits, const uint8_t *p, size_t n, uint32_t first);

/* Bits set in x, without a library call (a build for any x86-64 CPU has no
 * popcount instruction to inline). */
static inline unsigned bits_count64(uint64_t x)
{
    x -= (x >> 1) & UINT64_C(0x5555555555555555);
    x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
    x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
    return (unsigned)((x * UINT64_C(0x0101010101010101)) >> 56);
}
/* Bits set in words[0..n): a bitset's population, with the CPU's popcount
 * instruction where it has one. */
uint64_t bits_count(const uint64_t *words, size_t n);

/* ---- seq.c ------------------------------------------------------------ */

/* Worst-case bytes seq_encode writes for n values. */
size_t seq_bound(size_t n);
/* Encodes n values; returns bytes written (<= seq_bound(n)). */
size_t seq_encode(uint8_t *out, const uint32_t *in, size_t n);
/* Decodes n values from *p (bounded by end) into out, advancing *p.
 * Returns 0, or -1 on damage (truncation, bits > 32, bad varint). */
int seq_decode(uint32_t *out, size_t n, const uint8_t **p, const uint8_t *end);

#endif
