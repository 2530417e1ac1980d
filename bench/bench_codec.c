/*
 * bench_codec.c - unpack speed of bitpack128, the codec on the hot path of
 * every query. For each bit width it packs 10^7 seeded random values once,
 * then times unpacking all of them, best of 5 runs, and prints millions of
 * integers per second, ns per integer and GB/s of decoded output. Not part
 * of the test run.
 *
 * Build (from the source root), e.g.:
 *   gcc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -Iinclude -Ilib bench/bench_codec.c \
 *       lib/codec/bitpack.c lib/codec/seq.c lib/codec/varint.c -o bench_codec
 * Pass -DND_COMMIT=\"$(git rev-parse --short HEAD)\" to label the result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/codec.h"

#ifndef ND_COMMIT
#define ND_COMMIT "unknown"
#endif

#define N_VALUES 10000000u /* a multiple of ND_BLOCK */
#define N_RUNS 5

static uint64_t rng(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void print_cpu(void)
{
    char line[256], model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            char *colon = strchr(line, ':');
            if (strncmp(line, "model name", 10) == 0 && colon) {
                snprintf(model, sizeof model, "%s", colon + 2);
                model[strcspn(model, "\n")] = 0;
                break;
            }
        }
        fclose(f);
    }
    printf("cpu: %s\n", model);
}

int main(void)
{
    static const unsigned widths[] = {1, 4, 8, 12, 16, 20, 32};
    const size_t blocks = N_VALUES / ND_BLOCK;
    uint32_t *in = malloc(N_VALUES * sizeof *in);
    uint32_t *out = malloc(N_VALUES * sizeof *out);
    uint8_t *packed = malloc(blocks * 16 * 32);
    if (!in || !out || !packed) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    printf("commit: %s\n", ND_COMMIT);
#if defined(__clang__)
    printf("compiler: %s\n", __VERSION__);
#elif defined(__GNUC__)
    printf("compiler: gcc %s\n", __VERSION__);
#else
    printf("compiler: unknown\n");
#endif
    print_cpu();
    printf("%u values per width, best of %d\n\n", N_VALUES, N_RUNS);
    printf("%5s %10s %8s %8s\n", "bits", "Mint/s", "ns/int", "GB/s");

    uint64_t seed = 0x6e657773646578u;
    for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
        unsigned bits = widths[k];
        uint32_t mask = bits == 32 ? 0xffffffffu : (1u << bits) - 1;
        for (size_t i = 0; i < N_VALUES; i++)
            in[i] = (uint32_t)rng(&seed) & mask;
        size_t stride = 16 * (size_t)bits;
        for (size_t b = 0; b < blocks; b++)
            bitpack128_pack(packed + b * stride, in + b * ND_BLOCK, bits);

        double best = 1e30;
        for (int run = 0; run < N_RUNS; run++) {
            double t0 = now_sec();
            for (size_t b = 0; b < blocks; b++)
                bitpack128_unpack(out + b * ND_BLOCK, packed + b * stride, bits);
            double t = now_sec() - t0;
            if (t < best)
                best = t;
        }
        if (memcmp(in, out, N_VALUES * sizeof *in) != 0) {
            fprintf(stderr, "bits %u: unpack does not match the input\n", bits);
            return 1;
        }
        printf("%5u %10.0f %8.3f %8.2f\n", bits, N_VALUES / best / 1e6, best * 1e9 / N_VALUES,
               N_VALUES * sizeof(uint32_t) / best / 1e9);
    }
    free(in);
    free(out);
    free(packed);
    return 0;
}
