/*
 * bitpack_impl.h - the interface between bitpack.c (layout, packing,
 * portable kernels, run-time choice) and the instruction-set specific
 * kernels of bitpack_x86.c. Private to lib/codec; everything else uses the
 * functions in codec.h.
 *
 * A kernel set is a table of per-width functions. Every set decodes the
 * same bytes to the same values; they differ only in the instructions
 * used. The x86 kernels exist only when ND_BITPACK_X86 is 1.
 */
#ifndef ND_BITPACK_IMPL_H
#define ND_BITPACK_IMPL_H

#include <stdint.h>

#include "codec/codec.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define ND_BITPACK_X86 1
#else
#define ND_BITPACK_X86 0
#endif

/* Highest width with a fused delta kernel: up to it, 128 values below
 * 2^24, each plus one, sum to at most 2^31, so the block's total fits in
 * 32 bits and is recovered from the last output. Wider blocks (valid only
 * in segments of more than 2^24 documents) unpack first and add up in 64
 * bits. */
#define BP_DELTA_MAX 24

/* Unpacks one block of width B: 16*B bytes at in, 128 values to out. */
typedef void bp_unpack_fn(uint32_t *restrict out, const uint8_t *restrict in);
/* Unpacks one block of width B and writes out[i] = base + sum over k <= i
 * of (v[k] + 1), modulo 2^32. */
typedef void bp_delta_fn(uint32_t *restrict out, const uint8_t *restrict in, uint32_t base);

typedef struct bp_kernels {
    const char *name;                     /* as in ND_BITPACK_IMPL */
    bp_unpack_fn *unpack[33];             /* widths 0..32, all set */
    bp_delta_fn *delta[BP_DELTA_MAX + 1]; /* widths 0..24, all set */
} bp_kernels;

#if ND_BITPACK_X86
/* bitpack_x86.c: SSE2 (every x86-64 CPU has it) and AVX2 (only to be used
 * after __builtin_cpu_supports("avx2")). */
extern const bp_kernels bp_kernels_sse2;
extern const bp_kernels bp_kernels_avx2;
#endif

#endif
