/*
 * test_codec.c - the integer codecs (varint, zigzag, bitpack128, seq):
 * known-answer vectors that pin the byte layouts, seeded round trips, and
 * damaged input (truncated, overlong, garbage) that must come back as a
 * clean -1. Buffers handed to decoders in the damage tests end right at an
 * inaccessible page, so reading one byte too far crashes the test even
 * without a sanitizer. bitpack128 is checked with every implementation the
 * CPU runs (portable, SSE2, AVX2), each against the portable one, with
 * inputs and outputs that end at such a page.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"
#include "codec/codec.h"
#include "codec/dense_table.h"

/* ---- helpers ---------------------------------------------------------- */

/* A writable region of `cap` bytes followed by a PROT_NONE page. */
typedef struct guard {
    uint8_t *map;  /* start of the mapping */
    size_t cap;    /* usable bytes before the guard page */
    size_t maplen; /* cap + one page */
} guard;

static void guard_init(guard *g, size_t min_cap)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    g->cap = (min_cap + pg - 1) / pg * pg;
    if (g->cap == 0)
        g->cap = pg;
    g->maplen = g->cap + pg;
    /* cppcheck-suppress invalidFunctionArg ; MAP_ANONYMOUS wants fd -1 */
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->map != MAP_FAILED);
    assert_int_equal(mprotect(g->map + g->cap, pg, PROT_NONE), 0);
}

static void guard_free(guard *g)
{
    munmap(g->map, g->maplen);
}

/* n bytes that end exactly at the guard page; copies src there if given. */
static uint8_t *guard_place(guard *g, const void *src, size_t n)
{
    assert_true(n <= g->cap);
    uint8_t *p = g->map + g->cap - n;
    if (src && n)
        memcpy(p, src, n);
    return p;
}

static uint32_t low_mask(unsigned bits)
{
    return bits == 0 ? 0 : 0xffffffffu >> (32 - bits);
}

/* Bit-by-bit statement of the layout in codec.h, independent of the codec:
 * bit k of value i goes to lane bit j*bits + k (l = i % 4, j = i / 4), and
 * lane bit b is bit b % 32 of word b / 32, stored at u32 index 4*w + l. */
static void reference_pack(uint8_t *out, const uint32_t *in, unsigned bits)
{
    memset(out, 0, (size_t)16 * bits);
    for (unsigned i = 0; i < ND_BLOCK; i++) {
        unsigned l = i % 4, j = i / 4;
        for (unsigned k = 0; k < bits; k++) {
            if (!((in[i] >> k) & 1))
                continue;
            unsigned b = j * bits + k;
            unsigned byte = 4 * (4 * (b / 32) + l) + (b % 32) / 8;
            out[byte] |= (uint8_t)(1u << (b % 8));
        }
    }
}

/* ---- varint ----------------------------------------------------------- */

struct varint_kat {
    uint64_t v;
    size_t len;
    uint8_t bytes[ND_VARINT_MAX];
};

static const struct varint_kat varint_kats[] = {
    {0, 1, {0x00}},
    {1, 1, {0x01}},
    {127, 1, {0x7f}},
    {128, 2, {0x80, 0x01}},
    {300, 2, {0xac, 0x02}},
    {16383, 2, {0xff, 0x7f}},
    {16384, 3, {0x80, 0x80, 0x01}},
    {UINT32_MAX, 5, {0xff, 0xff, 0xff, 0xff, 0x0f}},
    {(uint64_t)UINT32_MAX + 1, 5, {0x80, 0x80, 0x80, 0x80, 0x10}},
    {UINT64_C(1) << 63, 10, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
    {UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
};
#define N_VARINT_KATS (sizeof varint_kats / sizeof varint_kats[0])

static void test_codec_varint_known_answers(void **state)
{
    (void)state;
    guard g;
    guard_init(&g, 64);
    for (size_t k = 0; k < N_VARINT_KATS; k++) {
        const struct varint_kat *t = &varint_kats[k];
        uint8_t buf[ND_VARINT_MAX + 4];
        memset(buf, 0xee, sizeof buf);
        assert_int_equal(varint_put(buf, t->v), t->len);
        assert_memory_equal(buf, t->bytes, t->len);
        assert_int_equal(buf[t->len], 0xee); /* nothing written past the end */
        assert_int_equal(varint_len(t->v), t->len);

        const uint8_t *p = guard_place(&g, t->bytes, t->len), *start = p;
        uint64_t v = 0;
        assert_int_equal(varint_get(&p, p + t->len, &v), 0);
        assert_int_equal(v, t->v);
        assert_ptr_equal(p, start + t->len);
    }
    guard_free(&g);
}

static void test_codec_varint_stops_at_last_byte(void **state)
{
    (void)state;
    /* Two values back to back: the reader consumes exactly the first. */
    const uint8_t two[] = {0xac, 0x02, 0x7f};
    const uint8_t *p = two;
    uint64_t v;
    assert_int_equal(varint_get(&p, two + sizeof two, &v), 0);
    assert_int_equal(v, 300);
    assert_ptr_equal(p, two + 2);
    assert_int_equal(varint_get(&p, two + sizeof two, &v), 0);
    assert_int_equal(v, 127);
    assert_ptr_equal(p, two + 3);
}

static void test_codec_varint_round_trip_random(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0001;
    uint8_t buf[ND_VARINT_MAX * 64];
    uint64_t vals[64];
    for (int round = 0; round < 2000; round++) {
        size_t len = 0;
        for (int i = 0; i < 64; i++) {
            /* Spread the widths: shift a random u64 right by 0..63. */
            uint64_t r = tu_rand(&seed);
            vals[i] = r >> (tu_rand(&seed) % 64);
            size_t n = varint_put(buf + len, vals[i]);
            assert_int_equal(n, varint_len(vals[i]));
            len += n;
        }
        const uint8_t *p = buf, *end = buf + len;
        for (int i = 0; i < 64; i++) {
            uint64_t v;
            assert_int_equal(varint_get(&p, end, &v), 0);
            assert_int_equal(v, vals[i]);
        }
        assert_ptr_equal(p, end);
    }
    /* Every width boundary. */
    for (unsigned b = 1; b < 64; b++) {
        uint64_t edge[2] = {(UINT64_C(1) << b) - 1, UINT64_C(1) << b};
        for (int e = 0; e < 2; e++) {
            size_t n = varint_put(buf, edge[e]);
            assert_int_equal(n, varint_len(edge[e]));
            unsigned width = e == 0 ? b : b + 1;
            assert_int_equal(n, (width + 6) / 7);
            const uint8_t *p = buf;
            uint64_t v;
            assert_int_equal(varint_get(&p, buf + n, &v), 0);
            assert_int_equal(v, edge[e]);
        }
    }
}

static void test_codec_varint_rejects_truncated(void **state)
{
    (void)state;
    guard g;
    guard_init(&g, 64);
    for (size_t k = 0; k < N_VARINT_KATS; k++) {
        const struct varint_kat *t = &varint_kats[k];
        for (size_t cut = 0; cut < t->len; cut++) {
            const uint8_t *start = guard_place(&g, t->bytes, cut), *p = start;
            uint64_t v = 12345;
            uint32_t v32 = 12345;
            assert_int_equal(varint_get(&p, start + cut, &v), -1);
            assert_ptr_equal(p, start); /* unchanged on failure */
            assert_int_equal(v, 12345);
            assert_int_equal(varint_get32(&p, start + cut, &v32), -1);
            assert_ptr_equal(p, start);
            assert_int_equal(v32, 12345);
        }
    }
    guard_free(&g);
}

static void test_codec_varint_rejects_overlong(void **state)
{
    (void)state;
    guard g;
    guard_init(&g, 64);
    /* Ten continuation bytes and an 11th: no valid varint is that long. */
    uint8_t b[ND_VARINT_MAX + 1];
    memset(b, 0x80, ND_VARINT_MAX);
    b[ND_VARINT_MAX] = 0x00;
    const uint8_t *start = guard_place(&g, b, sizeof b), *p = start;
    uint64_t v;
    assert_int_equal(varint_get(&p, start + sizeof b, &v), -1);
    assert_ptr_equal(p, start);
    /* Same with the continuation on the 10th byte and nothing after it. */
    start = guard_place(&g, b, ND_VARINT_MAX);
    p = start;
    assert_int_equal(varint_get(&p, start + ND_VARINT_MAX, &v), -1);
    assert_ptr_equal(p, start);
    /* UINT64_MAX with its last byte 0x81 (continuation) is rejected too. */
    memset(b, 0xff, ND_VARINT_MAX - 1);
    b[ND_VARINT_MAX - 1] = 0x81;
    b[ND_VARINT_MAX] = 0x00;
    start = guard_place(&g, b, sizeof b);
    p = start;
    assert_int_equal(varint_get(&p, start + sizeof b, &v), -1);
    guard_free(&g);
}

static void test_codec_varint_rejects_overflow(void **state)
{
    (void)state;
    /* The 10th byte carries bit 63 only; 0x02..0x7f there means > 64 bits. */
    uint8_t b[ND_VARINT_MAX];
    memset(b, 0xff, ND_VARINT_MAX - 1);
    for (unsigned last = 0x02; last <= 0x7f; last++) {
        b[ND_VARINT_MAX - 1] = (uint8_t)last;
        const uint8_t *p = b;
        uint64_t v;
        assert_int_equal(varint_get(&p, b + sizeof b, &v), -1);
        assert_ptr_equal(p, b);
    }
    /* Overflow in the 10th byte is rejected even when the rest is zero. */
    memset(b, 0x80, ND_VARINT_MAX - 1);
    b[ND_VARINT_MAX - 1] = 0x02;
    const uint8_t *p = b;
    uint64_t v;
    assert_int_equal(varint_get(&p, b + sizeof b, &v), -1);
}

static void test_codec_varint_accepts_padding(void **state)
{
    (void)state;
    /* Non-minimal encodings decode to their value: 5 = 0x85 0x80 0x00. */
    const uint8_t b[] = {0x85, 0x80, 0x00};
    const uint8_t *p = b;
    uint64_t v;
    assert_int_equal(varint_get(&p, b + sizeof b, &v), 0);
    assert_int_equal(v, 5);
    assert_ptr_equal(p, b + 3);
    uint8_t ten[ND_VARINT_MAX];
    memset(ten, 0x80, ND_VARINT_MAX - 1);
    ten[ND_VARINT_MAX - 1] = 0x00;
    uint32_t v32 = 1;
    p = ten;
    assert_int_equal(varint_get32(&p, ten + sizeof ten, &v32), 0);
    assert_int_equal(v32, 0);
    assert_ptr_equal(p, ten + sizeof ten);
}

static void test_codec_varint_get32_range(void **state)
{
    (void)state;
    uint8_t buf[ND_VARINT_MAX];
    const uint64_t ok[] = {0, 1, 300, UINT32_MAX - 1, UINT32_MAX};
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        size_t n = varint_put(buf, ok[k]);
        const uint8_t *p = buf;
        uint32_t v;
        assert_int_equal(varint_get32(&p, buf + n, &v), 0);
        assert_int_equal(v, ok[k]);
        assert_ptr_equal(p, buf + n);
    }
    const uint64_t bad[] = {(uint64_t)UINT32_MAX + 1, UINT64_C(1) << 40, UINT64_MAX};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        size_t n = varint_put(buf, bad[k]);
        const uint8_t *p = buf;
        uint32_t v = 7;
        assert_int_equal(varint_get32(&p, buf + n, &v), -1);
        assert_ptr_equal(p, buf);
        assert_int_equal(v, 7);
    }
}

static void test_codec_zigzag_known_answers(void **state)
{
    (void)state;
    assert_int_equal(zigzag_enc(0), 0);
    assert_int_equal(zigzag_enc(-1), 1);
    assert_int_equal(zigzag_enc(1), 2);
    assert_int_equal(zigzag_enc(-2), 3);
    assert_int_equal(zigzag_enc(INT64_MAX), UINT64_MAX - 1);
    assert_int_equal(zigzag_enc(INT64_MIN), UINT64_MAX);
    const int64_t vs[] = {0, 1, -1, 63, -64, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
    for (size_t k = 0; k < sizeof vs / sizeof vs[0]; k++)
        assert_true(zigzag_dec(zigzag_enc(vs[k])) == vs[k]);
}

/* ---- bitpack128 ------------------------------------------------------- */

static void test_codec_bits_needed(void **state)
{
    (void)state;
    uint32_t v[ND_BLOCK] = {0};
    assert_int_equal(bits_needed(v, ND_BLOCK), 0);
    assert_int_equal(bits_needed(v, 0), 0);
    for (unsigned b = 1; b <= 32; b++) {
        memset(v, 0, sizeof v);
        v[(b * 37) % ND_BLOCK] = 1u << (b - 1);
        assert_int_equal(bits_needed(v, ND_BLOCK), b);
        v[0] |= low_mask(b);
        assert_int_equal(bits_needed(v, ND_BLOCK), b);
    }
}

/* Every implementation this build and CPU can run: portable always, SSE2
 * and AVX2 on x86-64 when the CPU has them. */
static int impls_here(int ids[BITPACK_N_IMPL])
{
    int n = 0;
    for (int i = 0; i < BITPACK_N_IMPL; i++)
        if (bitpack128_impl_available(i))
            ids[n++] = i;
    return n;
}

/* Room for one output block that ends at its own guard page, so a kernel
 * writing a 129th value crashes; the 16 bytes before it are a sentinel. */
static uint32_t *out_place(guard *og)
{
    uint8_t *p = guard_place(og, NULL, sizeof(uint32_t) * ND_BLOCK + 16);
    memset(p, 0xcc, 16);
    return (uint32_t *)(void *)(p + 16);
}

static void out_check_sentinel(const uint32_t *out)
{
    const uint8_t *p = (const uint8_t *)out - 16;
    for (int k = 0; k < 16; k++)
        assert_int_equal(p[k], 0xcc);
}

/* Unpacks the 16*bits bytes at packed with every implementation (packed
 * ends at a guard page or not, as the caller placed it) and checks the
 * values against `expect` and against the portable implementation. */
static void check_unpack_all(guard *og, const uint8_t *packed, unsigned bits,
                             const uint32_t *expect)
{
    int ids[BITPACK_N_IMPL], n = impls_here(ids);
    uint32_t portable[ND_BLOCK];
    bitpack128_unpack_impl(BITPACK_PORTABLE, portable, packed, bits);
    if (expect)
        assert_memory_equal(portable, expect, sizeof portable);
    for (int k = 0; k < n; k++) {
        uint32_t *out = out_place(og);
        memset(out, 0xcc, sizeof(uint32_t) * ND_BLOCK);
        bitpack128_unpack_impl(ids[k], out, packed, bits);
        assert_memory_equal(out, portable, sizeof portable);
        out_check_sentinel(out);
    }
    uint32_t *out = out_place(og);
    bitpack128_unpack(out, packed, bits); /* the chosen one */
    assert_memory_equal(out, portable, sizeof portable);
}

/* Packs `in` at width `bits` into a buffer that ends at the guard page,
 * checks the bytes against the reference layout, unpacks from there (and
 * from every misalignment 1..15) with every implementation and compares. */
static void check_block(guard *g, const uint32_t *in, unsigned bits)
{
    size_t len = 16 * (size_t)bits;
    uint8_t expect[16 * 32];
    reference_pack(expect, in, bits);

    uint8_t *packed = guard_place(g, NULL, len);
    memset(packed, 0xa5, len);
    bitpack128_pack(packed, in, bits);
    assert_memory_equal(packed, expect, len);

    guard og;
    guard_init(&og, sizeof(uint32_t) * ND_BLOCK + 16);
    check_unpack_all(&og, packed, bits, in);

    /* Unaligned input: shift the bytes within a larger buffer. */
    uint8_t odd[16 * 32 + 16];
    for (size_t shift = 1; shift < 16; shift++) {
        memcpy(odd + shift, expect, len);
        check_unpack_all(&og, odd + shift, bits, in);
    }
    guard_free(&og);
}

static void test_codec_bitpack_round_trip_random(void **state)
{
    (void)state;
    guard g;
    guard_init(&g, (size_t)16 * 32);
    uint64_t seed = 0x5eed0002;
    uint32_t in[ND_BLOCK];
    for (unsigned bits = 0; bits <= 32; bits++) {
        for (int round = 0; round < 20; round++) {
            for (int i = 0; i < ND_BLOCK; i++)
                in[i] = (uint32_t)tu_rand(&seed) & low_mask(bits);
            check_block(&g, in, bits);
        }
    }
    guard_free(&g);
}

static void test_codec_bitpack_round_trip_max(void **state)
{
    (void)state;
    guard g;
    guard_init(&g, (size_t)16 * 32);
    uint32_t in[ND_BLOCK];
    for (unsigned bits = 0; bits <= 32; bits++) {
        for (int i = 0; i < ND_BLOCK; i++)
            in[i] = low_mask(bits);
        check_block(&g, in, bits);
        /* Every packed byte is 0xff when all values are at the maximum. */
        uint8_t packed[16 * 32];
        bitpack128_pack(packed, in, bits);
        for (size_t k = 0; k < 16 * (size_t)bits; k++)
            assert_int_equal(packed[k], 0xff);
        /* A lone maximum among zeros lands in the right slot. */
        for (int pos = 0; pos < ND_BLOCK; pos += 7) {
            memset(in, 0, sizeof in);
            in[pos] = low_mask(bits);
            check_block(&g, in, bits);
        }
    }
    guard_free(&g);
}

static void test_codec_bitpack_zero_width(void **state)
{
    (void)state;
    uint32_t in[ND_BLOCK] = {0}, out[ND_BLOCK];
    uint8_t sentinel[4] = {1, 2, 3, 4};
    bitpack128_pack(sentinel, in, 0);
    assert_int_equal(sentinel[0], 1); /* writes nothing */
    memset(out, 0xcc, sizeof out);
    bitpack128_unpack(out, sentinel, 0);
    for (int i = 0; i < ND_BLOCK; i++)
        assert_int_equal(out[i], 0);
}

static void test_codec_bitpack_layout_bits1(void **state)
{
    (void)state;
    /* Values i % 2: lanes 0 and 2 hold only zeros, lanes 1 and 3 only ones,
     * so the single row of words is 0, ~0, 0, ~0. */
    static const uint8_t expect[16] = {0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
                                       0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff};
    uint32_t in[ND_BLOCK], out[ND_BLOCK];
    for (int i = 0; i < ND_BLOCK; i++)
        in[i] = (uint32_t)(i % 2);
    uint8_t packed[16];
    bitpack128_pack(packed, in, 1);
    assert_memory_equal(packed, expect, sizeof expect);
    bitpack128_unpack(out, expect, 1);
    assert_memory_equal(out, in, sizeof in);
}

static void test_codec_bitpack_layout_bits3(void **state)
{
    (void)state;
    /*
     * Values i % 8: lane l holds l, l+4, l, l+4, ... so its bit stream is
     * the 6-bit unit u = l | (l+4) << 3 repeated 16 times, LSB first. Four
     * units fill 3 bytes exactly, so each lane's 12 bytes repeat a 3-byte
     * pattern: u = 32 (lane 0) gives 20 08 82, u = 41 gives 69 9a a6,
     * u = 50 gives b2 2c cb, u = 59 gives fb be ef. Lane word w is stream
     * bytes 4w..4w+3, and row w lists the words of lanes 0..3.
     */
    static const uint8_t expect[48] = {
        0x20, 0x08, 0x82, 0x20, 0x69, 0x9a, 0xa6, 0x69, /* row 0 */
        0xb2, 0x2c, 0xcb, 0xb2, 0xfb, 0xbe, 0xef, 0xfb, /* */
        0x08, 0x82, 0x20, 0x08, 0x9a, 0xa6, 0x69, 0x9a, /* row 1 */
        0x2c, 0xcb, 0xb2, 0x2c, 0xbe, 0xef, 0xfb, 0xbe, /* */
        0x82, 0x20, 0x08, 0x82, 0xa6, 0x69, 0x9a, 0xa6, /* row 2 */
        0xcb, 0xb2, 0x2c, 0xcb, 0xef, 0xfb, 0xbe, 0xef, /* */
    };
    uint32_t in[ND_BLOCK], out[ND_BLOCK];
    for (int i = 0; i < ND_BLOCK; i++)
        in[i] = (uint32_t)(i % 8);
    uint8_t packed[48];
    bitpack128_pack(packed, in, 3);
    assert_memory_equal(packed, expect, sizeof expect);
    bitpack128_unpack(out, expect, 3);
    assert_memory_equal(out, in, sizeof in);
}

static void test_codec_bitpack_layout_words_little_endian(void **state)
{
    (void)state;
    /* At width 32 the block is the values as little-endian words in order;
     * value i is lane i % 4, word i / 4, u32 index 4*(i/4) + i%4 = i. */
    uint32_t in[ND_BLOCK], out[ND_BLOCK];
    for (int i = 0; i < ND_BLOCK; i++)
        in[i] = 0x01020304u * (uint32_t)(i + 1);
    uint8_t packed[16 * 32];
    bitpack128_pack(packed, in, 32);
    for (int i = 0; i < ND_BLOCK; i++) {
        assert_int_equal(packed[4 * i + 0], (uint8_t)in[i]);
        assert_int_equal(packed[4 * i + 1], (uint8_t)(in[i] >> 8));
        assert_int_equal(packed[4 * i + 2], (uint8_t)(in[i] >> 16));
        assert_int_equal(packed[4 * i + 3], (uint8_t)(in[i] >> 24));
    }
    bitpack128_unpack(out, packed, 32);
    assert_memory_equal(out, in, sizeof in);
}

static void test_codec_bitpack_impls(void **state)
{
    (void)state;
    int ids[BITPACK_N_IMPL], n = impls_here(ids);
    assert_true(n >= 1);
    assert_int_equal(ids[0], BITPACK_PORTABLE);
#if defined(__x86_64__)
    assert_true(bitpack128_impl_available(BITPACK_SSE2)); /* part of x86-64 */
#endif
    for (int i = 0; i < n; i++)
        print_message("bitpack128 implementation available: %s\n",
                      bitpack128_impl_name(ids[i]));
    /* Distinct names; nothing outside the range. */
    for (int i = 0; i < BITPACK_N_IMPL; i++) {
        assert_non_null(bitpack128_impl_name(i));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(bitpack128_impl_name(i), bitpack128_impl_name(j));
    }
    assert_null(bitpack128_impl_name(-1));
    assert_null(bitpack128_impl_name(BITPACK_N_IMPL));
    assert_false(bitpack128_impl_available(-1));
    assert_false(bitpack128_impl_available(BITPACK_N_IMPL));

    /* ND_BITPACK_IMPL: unset or unusable means the best one here (the last
     * available), a name of an available one selects it. */
    int best = ids[n - 1];
    assert_int_equal(bitpack128_impl_pick(NULL), best);
    assert_int_equal(bitpack128_impl_pick(""), best);
    assert_int_equal(bitpack128_impl_pick("no-such-impl"), best);
    assert_int_equal(bitpack128_impl_pick("AVX2x"), best);
    for (int i = 0; i < BITPACK_N_IMPL; i++)
        assert_int_equal(bitpack128_impl_pick(bitpack128_impl_name(i)),
                         bitpack128_impl_available(i) ? i : best);
    /* The chosen one follows the environment of this process. */
    assert_int_equal(bitpack128_impl_active(), bitpack128_impl_pick(getenv("ND_BITPACK_IMPL")));
    print_message("bitpack128 implementation in use: %s\n",
                  bitpack128_impl_name(bitpack128_impl_active()));
}

/* Any 16*bits bytes are a valid block: random bytes that end at the guard
 * page decode the same with every implementation, and none reads past
 * them. */
static void test_codec_bitpack_impls_random_bytes(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0007;
    guard g, og;
    guard_init(&g, (size_t)16 * 32);
    guard_init(&og, sizeof(uint32_t) * ND_BLOCK + 16);
    for (unsigned bits = 0; bits <= 32; bits++) {
        for (int round = 0; round < 30; round++) {
            size_t len = 16 * (size_t)bits;
            uint8_t *p = guard_place(&g, NULL, len);
            for (size_t k = 0; k < len; k++)
                p[k] = (uint8_t)tu_rand(&seed);
            check_unpack_all(&og, p, bits, NULL);
        }
    }
    guard_free(&og);
    guard_free(&g);
}

/* The delta decoding of `in` (values < 2^bits) from base, done plainly:
 * expect[i] = base + sum of (in[k] + 1) for k <= i, modulo 2^32; returns
 * the exact sum. */
static uint64_t reference_delta1(uint32_t *expect, const uint32_t *in, uint32_t base)
{
    uint64_t sum = 0;
    for (int i = 0; i < ND_BLOCK; i++) {
        sum += (uint64_t)in[i] + 1;
        expect[i] = (uint32_t)(base + sum);
    }
    return sum;
}

/* Packs `in` at the guard page and decodes it as doc gaps from each base
 * with every implementation and the chosen one. */
static void check_delta(guard *g, guard *og, const uint32_t *in, unsigned bits)
{
    static const uint32_t bases[] = {0, 1, 1000, 0x7fffffffu, UINT32_MAX - 200, UINT32_MAX};
    uint8_t *packed = guard_place(g, NULL, 16 * (size_t)bits);
    bitpack128_pack(packed, in, bits);
    int ids[BITPACK_N_IMPL], n = impls_here(ids);
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
        uint32_t expect[ND_BLOCK];
        uint64_t sum = reference_delta1(expect, in, bases[b]);
        for (int k = 0; k <= n; k++) {
            uint32_t *out = out_place(og);
            memset(out, 0xcc, sizeof(uint32_t) * ND_BLOCK);
            uint64_t got = k < n ? bitpack128_unpack_delta1_impl(ids[k], out, packed, bits, bases[b])
                                 : bitpack128_unpack_delta1(out, packed, bits, bases[b]);
            assert_int_equal(got, sum);
            assert_memory_equal(out, expect, sizeof expect);
            out_check_sentinel(out);
        }
    }
}

static void test_codec_bitpack_delta1(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0008;
    guard g, og;
    guard_init(&g, (size_t)16 * 32);
    guard_init(&og, sizeof(uint32_t) * ND_BLOCK + 16);
    uint32_t in[ND_BLOCK];
    for (unsigned bits = 0; bits <= 32; bits++) {
        for (int round = 0; round < 10; round++) {
            for (int i = 0; i < ND_BLOCK; i++)
                in[i] = (uint32_t)tu_rand(&seed) & low_mask(bits);
            check_delta(&g, &og, in, bits);
        }
        /* All at the maximum: the largest sum of the width (2^39 at 32). */
        for (int i = 0; i < ND_BLOCK; i++)
            in[i] = low_mask(bits);
        check_delta(&g, &og, in, bits);
        /* Zeros: base + 1, base + 2, ... */
        memset(in, 0, sizeof in);
        check_delta(&g, &og, in, bits);
    }
    /* The widest block whose sum cannot reach 2^32 reaches 2^31 exactly. */
    for (int i = 0; i < ND_BLOCK; i++)
        in[i] = low_mask(24);
    uint8_t packed[16 * 24];
    bitpack128_pack(packed, in, 24);
    uint32_t out[ND_BLOCK];
    assert_int_equal(bitpack128_unpack_delta1(out, packed, 24, UINT32_MAX), UINT64_C(1) << 31);
    assert_int_equal(out[ND_BLOCK - 1], (UINT32_C(1) << 31) - 1);
    guard_free(&og);
    guard_free(&g);
}

/* seq-encoded lists of several lengths, their blocks of mixed widths read
 * back to back from unaligned offsets as the postings reader does, with
 * every implementation. */
static void test_codec_bitpack_impls_over_seq_blocks(void **state)
{
    (void)state;
    static const size_t lengths[] = {128, 129, 256, 1000, 100000};
    uint64_t seed = 0x5eed0009;
    int ids[BITPACK_N_IMPL], n = impls_here(ids);
    for (size_t t = 0; t < sizeof lengths / sizeof lengths[0]; t++) {
        size_t len = lengths[t];
        uint32_t *v = malloc(len * sizeof *v);
        uint8_t *enc = malloc(seq_bound(len));
        assert_non_null(v);
        assert_non_null(enc);
        unsigned w = 0;
        for (size_t i = 0; i < len; i++) {
            if (i % ND_BLOCK == 0) /* a new width every block, sometimes 0 or 32 */
                w = (unsigned)(tu_rand(&seed) % 33);
            v[i] = (uint32_t)tu_rand(&seed) & low_mask(w);
        }
        size_t elen = seq_encode(enc, v, len);
        const uint8_t *p = enc;
        for (size_t b = 0; b + ND_BLOCK <= len; b += ND_BLOCK) {
            unsigned bits = *p++;
            assert_true(bits <= 32);
            assert_true(p + 16 * (size_t)bits <= enc + elen);
            for (int k = 0; k < n; k++) {
                uint32_t out[ND_BLOCK];
                bitpack128_unpack_impl(ids[k], out, p, bits);
                assert_memory_equal(out, v + b, sizeof out);
            }
            p += 16 * (size_t)bits;
        }
        free(enc);
        free(v);
    }
}

/* ---- seq -------------------------------------------------------------- */

enum fill { FILL_UNIFORM, FILL_MIXED, FILL_MAX, FILL_ZERO };

static void fill_values(uint32_t *v, size_t n, enum fill f, uint64_t *seed)
{
    uint64_t no_seed = 0; /* FILL_MAX and FILL_ZERO take a NULL seed */
    if (!seed)
        seed = &no_seed;
    uint32_t mask = 0;
    for (size_t i = 0; i < n; i++) {
        switch (f) {
        case FILL_UNIFORM:
            v[i] = (uint32_t)tu_rand(seed);
            break;
        case FILL_MIXED:
            /* A new random width every 128 values, so blocks of every width
             * (and small tail varints) appear. */
            if (i % ND_BLOCK == 0)
                mask = low_mask((unsigned)(tu_rand(seed) % 33));
            v[i] = (uint32_t)tu_rand(seed) & mask;
            break;
        case FILL_MAX:
            v[i] = UINT32_MAX;
            break;
        case FILL_ZERO:
            v[i] = 0;
            break;
        }
    }
}

/* Encodes n values into a buffer of exactly seq_bound(n) bytes ending at a
 * guard page, decodes them back and compares. Returns the encoded size. */
static size_t seq_round_trip(const uint32_t *in, size_t n)
{
    size_t bound = seq_bound(n);
    guard g;
    guard_init(&g, bound);
    uint8_t *enc = guard_place(&g, NULL, bound);
    size_t len = seq_encode(enc, in, n);
    assert_true(len <= bound);

    /* Decode from a copy that ends exactly where the encoding does. */
    uint8_t *copy = guard_place(&g, NULL, len);
    memmove(copy, enc, len);
    const uint8_t *start = copy;
    uint32_t *out = malloc((n + 1) * sizeof *out);
    assert_non_null(out);
    out[n] = 0xdeadbeef;
    const uint8_t *p = start;
    assert_int_equal(seq_decode(out, n, &p, start + len), 0);
    assert_ptr_equal(p, start + len);
    assert_memory_equal(out, in, n * sizeof *out);
    assert_int_equal(out[n], 0xdeadbeef);
    free(out);
    guard_free(&g);
    return len;
}

static const size_t seq_lengths[] = {0, 1, 127, 128, 129, 255, 256, 1000, 1000000};
#define N_SEQ_LENGTHS (sizeof seq_lengths / sizeof seq_lengths[0])

static void test_codec_seq_round_trip_random(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0003;
    uint32_t *v = malloc(1000000 * sizeof *v);
    assert_non_null(v);
    for (size_t k = 0; k < N_SEQ_LENGTHS; k++) {
        size_t n = seq_lengths[k];
        fill_values(v, n, FILL_UNIFORM, &seed);
        seq_round_trip(v, n);
        fill_values(v, n, FILL_MIXED, &seed);
        seq_round_trip(v, n);
    }
    free(v);
}

static void test_codec_seq_round_trip_max(void **state)
{
    (void)state;
    uint32_t *v = malloc(1000000 * sizeof *v);
    assert_non_null(v);
    for (size_t k = 0; k < N_SEQ_LENGTHS; k++) {
        size_t n = seq_lengths[k];
        fill_values(v, n, FILL_MAX, NULL);
        /* The worst case: 32-bit blocks and 5-byte varints. */
        assert_int_equal(seq_round_trip(v, n), seq_bound(n));
    }
    free(v);
}

static void test_codec_seq_round_trip_zeros(void **state)
{
    (void)state;
    uint32_t *v = malloc(1000000 * sizeof *v);
    assert_non_null(v);
    for (size_t k = 0; k < N_SEQ_LENGTHS; k++) {
        size_t n = seq_lengths[k];
        fill_values(v, n, FILL_ZERO, NULL);
        /* One width byte per block, one byte per tail value. */
        assert_int_equal(seq_round_trip(v, n), n / ND_BLOCK + n % ND_BLOCK);
    }
    free(v);
}

static void test_codec_seq_known_answer(void **state)
{
    (void)state;
    /* 130 values: one block of i % 2 at width 1, then tail varints 300, 5. */
    uint32_t in[130];
    for (int i = 0; i < ND_BLOCK; i++)
        in[i] = (uint32_t)(i % 2);
    in[128] = 300;
    in[129] = 5;
    static const uint8_t expect[] = {0x01, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00,
                                     0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xac, 0x02, 0x05};
    uint8_t enc[64];
    assert_int_equal(seq_encode(enc, in, 130), sizeof expect);
    assert_memory_equal(enc, expect, sizeof expect);
}

static void test_codec_seq_bound(void **state)
{
    (void)state;
    assert_int_equal(seq_bound(0), 0);
    assert_int_equal(seq_bound(1), 5);
    assert_int_equal(seq_bound(127), 127 * 5);
    assert_int_equal(seq_bound(128), 513);
    assert_int_equal(seq_bound(129), 518);
    /* Never below what any input needs: the all-maximum input is the worst
     * case and reaches the bound exactly. (The bound is not monotonic: 127
     * tail varints can take more room than one 32-bit block.) */
    uint64_t seed = 0x5eed0004;
    uint32_t v[3 * ND_BLOCK];
    for (size_t n = 0; n <= (size_t)3 * ND_BLOCK; n++) {
        fill_values(v, n, FILL_MAX, NULL);
        uint8_t enc[3 * 513 + 127 * 5];
        assert_true(seq_bound(n) <= sizeof enc);
        assert_int_equal(seq_encode(enc, v, n), seq_bound(n));
        fill_values(v, n, FILL_UNIFORM, &seed);
        assert_true(seq_encode(enc, v, n) <= seq_bound(n));
    }
    /* Too large to represent: saturates rather than wrapping. */
    assert_int_equal(seq_bound(SIZE_MAX), SIZE_MAX);
    assert_true(seq_bound(SIZE_MAX / 4) >= SIZE_MAX / 4);
}

static void test_codec_seq_rejects_every_truncation(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0005;
    const size_t n = 300; /* two blocks and a 44-value tail */
    uint32_t in[300], out[300];
    fill_values(in, n, FILL_MIXED, &seed);
    in[299] = UINT32_MAX; /* a 5-byte varint last */
    uint8_t enc[2 * 513 + 44 * 5];
    size_t len = seq_encode(enc, in, n);
    guard g;
    guard_init(&g, len);
    for (size_t cut = 0; cut < len; cut++) {
        const uint8_t *start = guard_place(&g, enc, cut), *p = start;
        assert_int_equal(seq_decode(out, n, &p, start + cut), -1);
        assert_ptr_equal(p, start);
    }
    const uint8_t *start = guard_place(&g, enc, len), *p = start;
    assert_int_equal(seq_decode(out, n, &p, start + len), 0);
    assert_memory_equal(out, in, sizeof in);
    guard_free(&g);
}

static void test_codec_seq_rejects_bad_width(void **state)
{
    (void)state;
    uint8_t enc[1 + 16 * 40];
    memset(enc, 0, sizeof enc);
    uint32_t out[ND_BLOCK];
    for (unsigned bits = 33; bits <= 255; bits++) {
        enc[0] = (uint8_t)bits;
        const uint8_t *p = enc;
        assert_int_equal(seq_decode(out, ND_BLOCK, &p, enc + sizeof enc), -1);
        assert_ptr_equal(p, enc);
    }
    enc[0] = 32;
    const uint8_t *p = enc;
    assert_int_equal(seq_decode(out, ND_BLOCK, &p, enc + sizeof enc), 0);
    assert_ptr_equal(p, enc + 513);
}

static void test_codec_seq_rejects_tail_over_u32(void **state)
{
    (void)state;
    uint8_t enc[2 * ND_VARINT_MAX] = {0};
    size_t len = varint_put(enc, 7);
    len += varint_put(enc + len, (uint64_t)UINT32_MAX + 1);
    uint32_t out[2];
    const uint8_t *p = enc;
    assert_int_equal(seq_decode(out, 2, &p, enc + len), -1);
    assert_ptr_equal(p, enc);
    /* A 64-bit overflow in the tail is damage as well. */
    memset(enc, 0xff, ND_VARINT_MAX);
    enc[ND_VARINT_MAX - 1] = 0x7f;
    p = enc;
    assert_int_equal(seq_decode(out, 1, &p, enc + ND_VARINT_MAX), -1);
}

static void test_codec_seq_garbage_never_crashes(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0006;
    enum { MAXLEN = 1200, MAXN = 700 };
    guard g;
    guard_init(&g, MAXLEN);
    uint8_t bytes[MAXLEN];
    uint32_t out[MAXN];
    int ok = 0;
    for (int round = 0; round < 4000; round++) {
        size_t len = (size_t)(tu_rand(&seed) % MAXLEN);
        size_t n = (size_t)(tu_rand(&seed) % MAXN);
        for (size_t i = 0; i < len; i++)
            bytes[i] = (uint8_t)tu_rand(&seed);
        /* Plausible width bytes now and then, to get past the first check. */
        if (len > 0 && round % 2 == 0)
            bytes[0] = (uint8_t)(tu_rand(&seed) % 33);
        if (round % 4 == 0) /* mostly small bytes: varints end early */
            for (size_t i = 1; i < len; i++)
                bytes[i] &= 0x7f;
        const uint8_t *start = guard_place(&g, bytes, len), *p = start;
        int rc = seq_decode(out, n, &p, start + len);
        assert_true(rc == 0 || rc == -1);
        if (rc == 0) {
            assert_true(p >= start && p <= start + len);
            ok++;
        } else {
            assert_ptr_equal(p, start);
        }
    }
    /* Mutations of valid encodings: flip one to three random bytes. */
    uint32_t in[MAXN];
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(tu_rand(&seed) % MAXN);
        fill_values(in, n, FILL_MIXED, &seed);
        uint8_t enc[5 * 513 + 127 * 5];
        size_t len = seq_encode(enc, in, n);
        if (len == 0)
            continue;
        int flips = 1 + (int)(tu_rand(&seed) % 3);
        for (int f = 0; f < flips; f++)
            enc[tu_rand(&seed) % len] ^= (uint8_t)(1 + tu_rand(&seed) % 255);
        size_t cut = len - (size_t)(tu_rand(&seed) % 2) * (size_t)(tu_rand(&seed) % (len + 1));
        const uint8_t *start = guard_place(&g, enc, cut), *p = start;
        int rc = seq_decode(out, n, &p, start + cut);
        assert_true(rc == 0 || rc == -1);
        assert_true(p >= start && p <= start + cut);
    }
    /* Some garbage must decode (short n, small bytes), or the loop above
     * never reached the block and varint paths. */
    assert_true(ok > 100);
    guard_free(&g);
}

/* ---- dense (bitmap) blocks ------------------------------------------- */

/* Every entry of the expansion tables, from their definition. */
static void test_codec_dense_tables(void **state)
{
    (void)state;
    for (unsigned b = 0; b < 256; b++) {
        unsigned j = 0;
        for (unsigned k = 0; k < 8; k++)
            if ((b >> k) & 1)
                assert_int_equal((DENSE_SPREAD[b] >> (8 * j++)) & 0xff, k);
        assert_int_equal(DENSE_COUNT[b], j);
        for (; j < 8; j++)
            assert_int_equal((DENSE_SPREAD[b] >> (8 * j)) & 0xff, 0);
    }
}

/* 128 increasing documents from `first` spanning at most `span` numbers,
 * the first and last of the span always taken when `ends`. */
static void dense_docs(uint32_t *docs, uint32_t first, uint32_t span, int ends, uint64_t *seed)
{
    uint8_t taken[256] = {0};
    uint32_t n = 0;
    if (ends) {
        taken[0] = taken[span - 1] = 1;
        n = 2;
    }
    while (n < ND_BLOCK) {
        uint32_t b = (uint32_t)(tu_rand(seed) % span);
        if (!taken[b]) {
            taken[b] = 1;
            n++;
        }
    }
    for (uint32_t b = 0, i = 0; b < span; b++)
        if (taken[b])
            docs[i++] = first + b;
}

/* Packing, then expanding (both implementations) and ORing into a bitset,
 * give back the documents, for spans of 128 to 256 numbers starting
 * anywhere in a 64-bit word, up to the top of the u32 range. */
static void test_codec_dense_round_trip(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0d01;
    static const uint32_t FIRSTS[] = {0, 1, 63, 64, 1000, 4093, UINT32_MAX - 255};
    for (int round = 0; round < 3000; round++) {
        uint32_t first = round < 7 ? FIRSTS[round] : (uint32_t)(tu_rand(&seed) % 100000);
        uint32_t span = ND_BLOCK + (uint32_t)(tu_rand(&seed) % 129);
        if (first > UINT32_MAX - 255)
            span = UINT32_MAX - first + 1 < span ? UINT32_MAX - first + 1 : span;
        uint32_t docs[ND_BLOCK];
        dense_docs(docs, first, span, round % 3 == 0, &seed);
        uint8_t bm[DENSE_MAX_BYTES];
        size_t n = dense_pack(bm, docs, ND_BLOCK, first);
        assert_int_equal(n, (docs[ND_BLOCK - 1] - first) / 8 + 1);
        assert_true(n <= DENSE_MAX_BYTES);
        uint32_t last;
        assert_int_equal(dense_span(bm, n, &last), 0);
        assert_int_equal(first + last, docs[ND_BLOCK - 1]);
        uint32_t out[DENSE_OUT], out2[DENSE_OUT];
        assert_int_equal(dense_unpack(out, bm, n, first), ND_BLOCK);
        assert_int_equal(dense_unpack_portable(out2, bm, n, first), ND_BLOCK);
        assert_memory_equal(out, docs, sizeof docs);
        assert_memory_equal(out2, docs, sizeof docs);
        if (first > 100000)
            continue; /* no bitset that large */
        /* a bitset ending at the word of the last document, a guard word
         * after it that must stay untouched, and old bits kept */
        size_t words = docs[ND_BLOCK - 1] / 64 + 1;
        uint64_t *bits = calloc(words + 1, sizeof *bits);
        assert_non_null(bits);
        bits[words] = 0x5a5a5a5a5a5a5a5aull;
        bits[0] |= 1;
        assert_int_equal(dense_or(bits, bm, n, first), ND_BLOCK);
        assert_true(bits[words] == 0x5a5a5a5a5a5a5a5aull);
        uint32_t seen = 0;
        for (size_t w = 0; w < words; w++)
            for (uint64_t m = bits[w]; m; m &= m - 1) {
                uint32_t d = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(m));
                if (d == 0 && docs[0] != 0)
                    continue; /* the old bit */
                assert_true(seen < ND_BLOCK && d == docs[seen]);
                seen++;
            }
        assert_int_equal(seen, ND_BLOCK);
        free(bits);
    }
}

/* Bitmaps that are not blocks of 128: dense_span rejects the wrong sizes
 * and a zero last byte; a wrong number of set bits is reported by the
 * expanders, which never write past DENSE_OUT values. */
static void test_codec_dense_bad_bitmaps(void **state)
{
    (void)state;
    uint8_t bm[DENSE_MAX_BYTES + 1];
    uint32_t last;
    memset(bm, 0xff, sizeof bm);
    assert_int_equal(dense_span(bm, 0, &last), -1);
    assert_int_equal(dense_span(bm, DENSE_MAX_BYTES + 1, &last), -1);
    assert_int_equal(dense_span(bm, DENSE_MAX_BYTES, &last), 0);
    assert_int_equal(last, 8 * DENSE_MAX_BYTES - 1);
    bm[3] = 0;
    assert_int_equal(dense_span(bm, 4, &last), -1);
    bm[3] = 0x10;
    assert_int_equal(dense_span(bm, 4, &last), 0);
    assert_int_equal(last, 28);

    uint64_t seed = 0x5eed0d02;
    for (int round = 0; round < 2000; round++) {
        size_t n = 1 + (size_t)(tu_rand(&seed) % DENSE_MAX_BYTES);
        for (size_t i = 0; i < n; i++)
            bm[i] = (uint8_t)(round % 2 ? tu_rand(&seed) : 0xff);
        unsigned set = 0;
        for (size_t i = 0; i < n; i++)
            set += DENSE_COUNT[bm[i]];
        uint32_t out[DENSE_OUT + 4];
        for (int impl = 0; impl < 2; impl++) {
            for (int k = 0; k < 4; k++)
                out[DENSE_OUT + k] = 0xdeadbeef;
            uint32_t got = impl ? dense_unpack_portable(out, bm, n, 7) : dense_unpack(out, bm, n, 7);
            for (int k = 0; k < 4; k++)
                assert_true(out[DENSE_OUT + k] == 0xdeadbeef);
            if (set <= ND_BLOCK)
                assert_int_equal(got, set);
            else
                assert_true(got > ND_BLOCK && got <= DENSE_OUT);
        }
        uint64_t bits[DENSE_MAX_BYTES / 8 + 2] = {0};
        assert_int_equal(dense_or(bits, bm, n, 7), set);
    }
}

/* bits_count64 and bits_count (whichever instruction it uses) against
 * counting one bit at a time. */
static void test_codec_bits_count(void **state)
{
    (void)state;
    assert_int_equal(bits_count64(0), 0);
    assert_int_equal(bits_count64(UINT64_MAX), 64);
    assert_int_equal(bits_count64(UINT64_C(1) << 63), 1);
    assert_int_equal(bits_count64(0x5555555555555555ull), 32);
    uint64_t seed = 0x5eed0d03;
    uint64_t w[300];
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(tu_rand(&seed) % 300);
        uint64_t want = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t r1 = tu_rand(&seed), r2 = tu_rand(&seed);
            w[i] = r1 & r2 & (round % 2 ? UINT64_MAX : tu_rand(&seed)); /* sparse bits too */
            unsigned one = 0;
            for (int b = 0; b < 64; b++)
                one += (unsigned)((w[i] >> b) & 1);
            assert_int_equal(bits_count64(w[i]), one);
            want += one;
        }
        assert_int_equal(bits_count(w, n), want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_varint_known_answers),
        cmocka_unit_test(test_codec_varint_stops_at_last_byte),
        cmocka_unit_test(test_codec_varint_round_trip_random),
        cmocka_unit_test(test_codec_varint_rejects_truncated),
        cmocka_unit_test(test_codec_varint_rejects_overlong),
        cmocka_unit_test(test_codec_varint_rejects_overflow),
        cmocka_unit_test(test_codec_varint_accepts_padding),
        cmocka_unit_test(test_codec_varint_get32_range),
        cmocka_unit_test(test_codec_zigzag_known_answers),
        cmocka_unit_test(test_codec_bits_needed),
        cmocka_unit_test(test_codec_bitpack_round_trip_random),
        cmocka_unit_test(test_codec_bitpack_round_trip_max),
        cmocka_unit_test(test_codec_bitpack_zero_width),
        cmocka_unit_test(test_codec_bitpack_layout_bits1),
        cmocka_unit_test(test_codec_bitpack_layout_bits3),
        cmocka_unit_test(test_codec_bitpack_layout_words_little_endian),
        cmocka_unit_test(test_codec_bitpack_impls),
        cmocka_unit_test(test_codec_bitpack_impls_random_bytes),
        cmocka_unit_test(test_codec_bitpack_delta1),
        cmocka_unit_test(test_codec_bitpack_impls_over_seq_blocks),
        cmocka_unit_test(test_codec_seq_round_trip_random),
        cmocka_unit_test(test_codec_seq_round_trip_max),
        cmocka_unit_test(test_codec_seq_round_trip_zeros),
        cmocka_unit_test(test_codec_seq_known_answer),
        cmocka_unit_test(test_codec_seq_bound),
        cmocka_unit_test(test_codec_seq_rejects_every_truncation),
        cmocka_unit_test(test_codec_seq_rejects_bad_width),
        cmocka_unit_test(test_codec_seq_rejects_tail_over_u32),
        cmocka_unit_test(test_codec_seq_garbage_never_crashes),
        cmocka_unit_test(test_codec_bits_count),
        cmocka_unit_test(test_codec_dense_tables),
        cmocka_unit_test(test_codec_dense_round_trip),
        cmocka_unit_test(test_codec_dense_bad_bitmaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
