/*
 * bench_codec.c - decoding speed of bitpack128, the codec on the hot path
 * of every query, for every bit width and every implementation this CPU
 * runs (portable, SSE2, AVX2), next to the machine's memory bandwidth
 * measured in the same run. Not part of the test run.
 *
 * What is timed (any byte string is a valid packed block, so the input is
 * seeded random bytes; each figure is the best of several runs, and the
 * runs of one table row alternate between its columns, so that a busy
 * moment of a shared machine costs every column alike):
 *   - memory: summing a 1 GiB buffer (read bandwidth, single thread), and
 *     memcpy of 512 MiB (bytes copied per second);
 *   - "in cache": unpacking 16 packed blocks over and over into one
 *     128-value buffer, the way the postings reader decodes into its cursor:
 *     the speed of the kernels themselves, input and output in L1;
 *   - "from memory": unpacking a 256 MiB packed buffer once from end to end
 *     into one 128-value buffer: the input streams from RAM, as a cold
 *     postings list does. Its runs alternate with a plain sum of the same
 *     buffer, the read bandwidth its ratios are taken against;
 *   - doc gaps: bitpack128_unpack followed by the prefix-sum loop of
 *     lib/index/postings.c (load_block), against the fused
 *     bitpack128_unpack_delta1, in cache;
 *   - bitmap blocks: blocks of 128 documents spanning 136..256 numbers
 *     expanded from bitmaps (dense_unpack) against unpacked from packed
 *     gaps, and counted into a bitset both ways, in cache.
 * Every implementation's output is compared with the portable one first.
 * Prints Markdown tables (the ones in bench/README.md).
 *
 * Usage: bench_codec [--quick] [--reps N] [--mem-reps N] [--mem-mib N] [--bw-mib N]
 *   --quick      smaller buffers and fewer runs (a smoke test, not a result)
 *   --reps N     in-cache runs per figure (2^20 values each, default 101);
 *                the best is kept, which filters out other processes on a
 *                shared machine
 *   --mem-reps N passes per memory figure (default 5)
 *   --mem-mib N  size of the "from memory" buffer (default 256)
 *   --bw-mib N   size of the bandwidth buffer (default 1024)
 * ND_BITPACK_IMPL=portable|sse2|avx2 changes the implementation that
 * bitpack128_unpack picks (the "chosen" column); the other columns always
 * run their own implementation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/codec.h"


#define MIB ((size_t)1 << 20)
#define CACHE_BLOCKS 16                 /* in-cache working set, <= 8 KiB */
#define CACHE_INTS ((uint64_t)1 << 20) /* values decoded per in-cache run */

typedef struct opts {
    int reps, mem_reps;
    size_t mem_bytes, bw_bytes;
} opts;

/* Keeps decoded values observable so no loop is optimised away. */
static volatile uint32_t sink;

static uint64_t rng(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v = rng(&seed);
        memcpy(p + i, &v, 8);
    }
    for (; i < n; i++)
        p[i] = (uint8_t)rng(&seed);
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "bench_codec: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* First line of a shell command's output, or "" (popen is POSIX). */
static void read_cmd(const char *cmd, char *out, size_t n)
{
    out[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    if (!fgets(out, (int)n, p))
        out[0] = 0;
    out[strcspn(out, "\r\n")] = 0;
    pclose(p);
}

/* The commit of the source tree (ND_SOURCE_DIR, set by bench/CMakeLists.txt)
 * and whether tracked files differ from it. */
static void print_commit(void)
{
    char commit[64] = "", dirty[64] = "";
#ifdef ND_SOURCE_DIR
    read_cmd("git -C " ND_SOURCE_DIR " rev-parse --short HEAD 2>/dev/null", commit, sizeof commit);
    read_cmd("git -C " ND_SOURCE_DIR " status --porcelain --untracked-files=no 2>/dev/null | head -1",
             dirty, sizeof dirty);
#endif
    printf("commit: %s%s\n", commit[0] ? commit : "unknown",
           dirty[0] ? " (with uncommitted changes)" : "");
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

/* ---- memory bandwidth ---------------------------------------------------- */

static uint64_t sum_words(const uint64_t *w, size_t n)
{
    uint64_t a = 0, b = 0, c = 0, d = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a += w[i];
        b += w[i + 1];
        c += w[i + 2];
        d += w[i + 3];
    }
    for (; i < n; i++)
        a += w[i];
    return a + b + c + d;
}

/* Best read (sum) and copy (memcpy, bytes copied) GB/s. */
static void measure_bandwidth(const opts *o, double *read_gbs, double *copy_gbs)
{
    size_t n = o->bw_bytes;
    uint8_t *buf = xmalloc(n);
    fill_random(buf, n, 0x62616e64u); /* also faults every page in */
    double best = 1e30;
    for (int r = 0; r < o->mem_reps; r++) {
        double t0 = now_sec();
        sink = (uint32_t)sum_words((const uint64_t *)(const void *)buf, n / 8);
        double t = now_sec() - t0;
        best = t < best ? t : best;
    }
    *read_gbs = (double)n / best / 1e9;
    best = 1e30;
    for (int r = 0; r < o->mem_reps; r++) {
        double t0 = now_sec();
        memcpy(buf + n / 2, buf, n / 2);
        double t = now_sec() - t0;
        best = t < best ? t : best;
    }
    sink = buf[n - 1];
    *copy_gbs = (double)(n / 2) / best / 1e9;
    free(buf);
}

/* ---- decoding ------------------------------------------------------------ */

/* impl >= 0: that implementation; -1: bitpack128_unpack (the chosen one). */
static void unpack_with(int impl, uint32_t *out, const uint8_t *in, unsigned bits)
{
    if (impl < 0)
        bitpack128_unpack(out, in, bits);
    else
        bitpack128_unpack_impl(impl, out, in, bits);
}

/* Checks that impl decodes the n blocks at `in` like the portable one. */
static void verify(int impl, const uint8_t *in, size_t n, unsigned bits)
{
    uint32_t want[ND_BLOCK], got[ND_BLOCK];
    for (size_t b = 0; b < n; b++) {
        const uint8_t *p = in + b * 16 * bits;
        bitpack128_unpack_impl(BITPACK_PORTABLE, want, p, bits);
        unpack_with(impl, got, p, bits);
        if (memcmp(want, got, sizeof want) != 0) {
            fprintf(stderr, "bench_codec: %s differs from portable at width %u, block %zu\n",
                    impl < 0 ? "bitpack128_unpack" : bitpack128_impl_name(impl), bits, b);
            exit(1);
        }
        uint64_t s1 = bitpack128_unpack_delta1_impl(BITPACK_PORTABLE, want, p, bits, 77);
        uint64_t s2 = impl < 0 ? bitpack128_unpack_delta1(got, p, bits, 77)
                               : bitpack128_unpack_delta1_impl(impl, got, p, bits, 77);
        if (s1 != s2 || memcmp(want, got, sizeof want) != 0) {
            fprintf(stderr, "bench_codec: %s delta1 differs from portable at width %u\n",
                    impl < 0 ? "bitpack128_unpack_delta1" : bitpack128_impl_name(impl), bits);
            exit(1);
        }
    }
}

/* One timed measurement: decoding `blocks` blocks of width `bits`, cycling
 * over the `span` blocks at `in` (span = blocks: one pass over a large
 * buffer). */
typedef enum { RUN_UNPACK, RUN_DOCS_SEPARATE, RUN_DOCS_FUSED, RUN_SUM } run_kind;
typedef struct run {
    run_kind kind;
    int impl; /* RUN_UNPACK: -1 is bitpack128_unpack */
    const uint8_t *in;
    size_t span;     /* RUN_SUM: bytes to sum */
    uint64_t blocks;
    unsigned bits;
} run;

/* The doc-gap loop of load_block in lib/index/postings.c after a plain
 * unpack: running document number in 64 bits, checked on every value. */
static int gaps_to_docs(uint32_t *docs, uint64_t *doc, uint64_t ndocs)
{
    uint64_t d = *doc;
    for (int i = 0; i < ND_BLOCK; i++) {
        d += (uint64_t)docs[i] + 1;
        docs[i] = (uint32_t)d;
        if (d >= ndocs)
            return -1;
    }
    *doc = d;
    return 0;
}

static void do_unpack(const run *r)
{
    uint32_t out[ND_BLOCK], acc = 0;
    size_t stride = 16 * (size_t)r->bits, k = 0;
    for (uint64_t b = 0; b < r->blocks; b++) {
        unpack_with(r->impl, out, r->in + k * stride, r->bits);
        acc += out[b & (ND_BLOCK - 1)];
        if (++k == r->span)
            k = 0;
    }
    sink = acc;
}

/* Doc gaps as load_block decodes them: unpack, then gaps_to_docs
 * (separate), or bitpack128_unpack_delta1 and one check of the block's
 * last document (fused). The limit never trips on purpose. */
static void do_docs(const run *r)
{
    uint32_t docs[ND_BLOCK];
    size_t stride = 16 * (size_t)r->bits, k = 0;
    uint64_t doc = (uint64_t)-1, limit = UINT64_MAX;
    for (uint64_t b = 0; b < r->blocks; b++) {
        const uint8_t *p = r->in + k * stride;
        if (r->kind == RUN_DOCS_FUSED) {
            uint64_t last = doc + bitpack128_unpack_delta1_impl(r->impl, docs, p, r->bits,
                                                                (uint32_t)doc);
            if (last >= limit)
                break;
            doc = last;
        } else {
            bitpack128_unpack_impl(r->impl, docs, p, r->bits);
            if (gaps_to_docs(docs, &doc, limit) != 0)
                break;
        }
        if (++k == r->span)
            k = 0;
    }
    sink = (uint32_t)doc;
}

/* Best time of each of the n runs over `reps` rounds; a round times every
 * run once, so a busy moment of the machine costs all of them alike. */
static void best_times(const run *runs, int n, int reps, double *best)
{
    for (int i = 0; i < n; i++)
        best[i] = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        for (int i = 0; i < n; i++) {
            double t0 = now_sec();
            if (runs[i].kind == RUN_UNPACK)
                do_unpack(&runs[i]);
            else if (runs[i].kind == RUN_SUM)
                sink = (uint32_t)sum_words((const uint64_t *)(const void *)runs[i].in,
                                           runs[i].span / 8);
            else
                do_docs(&runs[i]);
            double t = now_sec() - t0;
            best[i] = t < best[i] ? t : best[i];
        }
    }
}

/* ---- tables -------------------------------------------------------------- */

static int impls[BITPACK_N_IMPL], n_impls;

static double mints(uint64_t values, double t)
{
    return (double)values / t / 1e6;
}

static void table_cache(const opts *o)
{
    printf("\n### In cache: Mint/s (decoded GB/s), %d blocks of random bytes decoded "
           "round-robin into one 128-value buffer, best of %d\n\n| bits |",
           CACHE_BLOCKS, o->reps);
    for (int i = 0; i < n_impls; i++)
        printf(" %s |", bitpack128_impl_name(impls[i]));
    printf(" chosen (`bitpack128_unpack`) |\n|---:|");
    for (int i = 0; i <= n_impls; i++)
        printf("---:|");
    printf("\n");
    uint8_t in[CACHE_BLOCKS * 16 * 32];
    uint64_t blocks = CACHE_INTS / ND_BLOCK;
    for (unsigned bits = 0; bits <= 32; bits++) {
        fill_random(in, sizeof in, 0x636163686500u + bits);
        printf("| %u |", bits);
        for (int i = -1; i < n_impls; i++)
            verify(i < 0 ? -1 : impls[i], in, CACHE_BLOCKS, bits);
        run runs[BITPACK_N_IMPL + 1];
        double t[BITPACK_N_IMPL + 1];
        for (int i = 0; i <= n_impls; i++)
            runs[i] = (run){RUN_UNPACK, i < n_impls ? impls[i] : -1, in, CACHE_BLOCKS, blocks,
                            bits};
        best_times(runs, n_impls + 1, o->reps, t);
        for (int i = 0; i <= n_impls; i++) {
            double m = mints(blocks * ND_BLOCK, t[i]);
            printf(" %.0f (%.1f) |", m, m * 4 / 1e3);
        }
        printf("\n");
        fflush(stdout);
    }
}

static void table_memory(const opts *o)
{
    int chosen = bitpack128_impl_active();
    printf("\n### From memory: Mint/s, one pass over %zu MiB of packed blocks decoded into one "
           "128-value buffer, best of %d\n\n",
           o->mem_bytes / MIB, o->mem_reps);
    printf("Each width's runs alternate with a plain sum of the same buffer (\"sum\", GB/s "
           "read), which is what the ratios divide by. Decoded and packed GB/s are for the "
           "chosen implementation (%s): decoded × sum > 1 means decoding the packed values "
           "is faster than reading them uncompressed; packed × sum near 1 means decoding "
           "runs at memory speed.\n\n| bits |",
           bitpack128_impl_name(chosen));
    for (int i = 0; i < n_impls; i++)
        printf(" %s |", bitpack128_impl_name(impls[i]));
    printf(" sum GB/s | decoded GB/s | × sum | packed GB/s | × sum |\n|---:|");
    for (int i = 0; i < n_impls + 5; i++)
        printf("---:|");
    printf("\n");
    uint8_t *in = xmalloc(o->mem_bytes);
    fill_random(in, o->mem_bytes, 0x6d656d6f7279u);
    for (unsigned bits = 0; bits <= 32; bits++) {
        /* Width 0 reads nothing; give it as many blocks as width 1. */
        uint64_t blocks = o->mem_bytes / (16 * (size_t)(bits ? bits : 1));
        for (int i = 0; i < n_impls; i++)
            verify(impls[i], in, blocks < 4096 ? blocks : 4096, bits);
        run runs[BITPACK_N_IMPL + 1];
        double t[BITPACK_N_IMPL + 1], t_chosen = 0;
        for (int i = 0; i < n_impls; i++)
            runs[i] = (run){RUN_UNPACK, impls[i], in, (size_t)blocks, blocks, bits};
        runs[n_impls] = (run){RUN_SUM, 0, in, o->mem_bytes, 0, 0};
        best_times(runs, n_impls + 1, o->mem_reps, t);
        printf("| %u |", bits);
        for (int i = 0; i < n_impls; i++) {
            printf(" %.0f |", mints(blocks * ND_BLOCK, t[i]));
            if (impls[i] == chosen)
                t_chosen = t[i];
        }
        double sum = (double)o->mem_bytes / t[n_impls] / 1e9;
        double dec = (double)(blocks * ND_BLOCK * 4) / t_chosen / 1e9;
        double packed = (double)(blocks * 16 * bits) / t_chosen / 1e9;
        printf(" %.1f | %.1f | %.2f | %.1f | %.2f |\n", sum, dec, dec / sum, packed, packed / sum);
        fflush(stdout);
    }
    free(in);
}

static void table_docs(const opts *o)
{
    printf("\n### Doc gaps in cache: Mint/s, `bitpack128_unpack` + the prefix-sum loop of "
           "`load_block` (separate) against `bitpack128_unpack_delta1` (fused), best of %d\n\n"
           "| bits |",
           o->reps);
    for (int i = 0; i < n_impls; i++)
        printf(" %s separate | %s fused |", bitpack128_impl_name(impls[i]),
               bitpack128_impl_name(impls[i]));
    printf("\n|---:|");
    for (int i = 0; i < 2 * n_impls; i++)
        printf("---:|");
    printf("\n");
    uint8_t in[CACHE_BLOCKS * 16 * 32];
    uint64_t blocks = CACHE_INTS / ND_BLOCK;
    for (unsigned bits = 0; bits <= 32; bits++) {
        fill_random(in, sizeof in, 0x646f637300u + bits);
        printf("| %u |", bits);
        run runs[2 * BITPACK_N_IMPL];
        double t[2 * BITPACK_N_IMPL];
        for (int i = 0; i < n_impls; i++) {
            runs[2 * i] = (run){RUN_DOCS_SEPARATE, impls[i], in, CACHE_BLOCKS, blocks, bits};
            runs[2 * i + 1] = (run){RUN_DOCS_FUSED, impls[i], in, CACHE_BLOCKS, blocks, bits};
        }
        best_times(runs, 2 * n_impls, o->reps, t);
        for (int i = 0; i < 2 * n_impls; i++)
            printf(" %.0f |", mints(blocks * ND_BLOCK, t[i]));
        printf("\n");
        fflush(stdout);
    }
}

/* ---- bitmap blocks --------------------------------------------------------- */

/* Blocks of 128 documents spanning `span` numbers (the first and the last
 * of the span taken, the rest at random), decoded the two ways the format
 * allows (FORMAT.md section 7): expanded from a bitmap (dense_unpack, both
 * implementations) or unpacked from packed gaps (bitpack128_unpack_delta1,
 * the chosen kernels), and counted into a bitset: the bitmap ORed in
 * (dense_or) or the unpacked documents' bits set one by one, as
 * pcursor_collect does. Mint/s of documents, best of reps, each round
 * timing every column once. */
static void table_bitmaps(const opts *o)
{
    printf("\n### Bitmap blocks in cache: Mint/s of documents, %d blocks, best of %d\n\n"
           "| span | packed width | expand bitmap | expand (portable) | unpack packed gaps | "
           "count bitmap (`dense_or`) | count packed (unpack + a bit per document) |\n"
           "|---:|---:|---:|---:|---:|---:|---:|\n",
           CACHE_BLOCKS, o->reps);
    static const unsigned SPANS[] = {136, 160, 192, 224, 256};
    uint64_t blocks = CACHE_INTS / ND_BLOCK;
    for (size_t si = 0; si < sizeof SPANS / sizeof SPANS[0]; si++) {
        unsigned span = SPANS[si];
        uint8_t bm[CACHE_BLOCKS][DENSE_MAX_BYTES], packed[CACHE_BLOCKS][16 * 32];
        size_t bm_len[CACHE_BLOCKS];
        unsigned width = 0;
        uint64_t seed = 0x62697473u + span;
        for (int b = 0; b < CACHE_BLOCKS; b++) {
            uint8_t taken[256] = {0};
            taken[0] = taken[span - 1] = 1;
            for (unsigned n = 2; n < ND_BLOCK;) {
                unsigned k = (unsigned)(rng(&seed) % span);
                n += !taken[k];
                taken[k] = 1;
            }
            uint32_t docs[ND_BLOCK], gaps[ND_BLOCK];
            for (unsigned k = 0, i = 0; k < span; k++)
                if (taken[k])
                    docs[i++] = k;
            for (int i = 0; i < ND_BLOCK; i++)
                gaps[i] = i ? docs[i] - docs[i - 1] - 1 : docs[0];
            bm_len[b] = dense_pack(bm[b], docs, ND_BLOCK, 0);
            unsigned w = bits_needed(gaps, ND_BLOCK);
            width = w > width ? w : width;
            bitpack128_pack(packed[b], gaps, w);
        }
        for (int b = 0; b < CACHE_BLOCKS; b++) { /* all at the widest, as a list's blocks */
            uint32_t docs[DENSE_OUT], gaps[ND_BLOCK];
            dense_unpack(docs, bm[b], bm_len[b], 0);
            for (int i = 0; i < ND_BLOCK; i++)
                gaps[i] = i ? docs[i] - docs[i - 1] - 1 : docs[0];
            bitpack128_pack(packed[b], gaps, width);
        }
        double best[5] = {1e30, 1e30, 1e30, 1e30, 1e30};
        static uint64_t bits[256 / 64 + 1];
        for (int rep = 0; rep < o->reps; rep++) {
            for (int col = 0; col < 5; col++) {
                uint32_t out[DENSE_OUT], acc = 0;
                double t0 = now_sec();
                for (uint64_t i = 0; i < blocks; i++) {
                    int b = (int)(i % CACHE_BLOCKS);
                    switch (col) {
                    case 0:
                        acc += dense_unpack(out, bm[b], bm_len[b], 0) + out[i & 127];
                        break;
                    case 1:
                        acc += dense_unpack_portable(out, bm[b], bm_len[b], 0) + out[i & 127];
                        break;
                    case 2:
                        acc += (uint32_t)bitpack128_unpack_delta1(out, packed[b], width,
                                                                  UINT32_MAX) + out[i & 127];
                        break;
                    case 3:
                        acc += dense_or(bits, bm[b], bm_len[b], 0);
                        break;
                    default:
                        bitpack128_unpack_delta1(out, packed[b], width, UINT32_MAX);
                        for (int k = 0; k < ND_BLOCK; k++)
                            bits[out[k] >> 6] |= UINT64_C(1) << (out[k] & 63);
                        acc += (uint32_t)bits[i & 3];
                        break;
                    }
                }
                double t = now_sec() - t0;
                sink = acc;
                best[col] = t < best[col] ? t : best[col];
            }
        }
        printf("| %u | %u |", span, width);
        for (int col = 0; col < 5; col++)
            printf(" %.0f |", mints(blocks * ND_BLOCK, best[col]));
        printf("\n");
        fflush(stdout);
    }
}

static int parse_args(int argc, char **argv, opts *o)
{
    *o = (opts){101, 5, 256 * MIB, 1024 * MIB};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v = i + 1 < argc ? strtol(argv[i + 1], NULL, 10) : 0;
        if (strcmp(a, "--quick") == 0) {
            *o = (opts){11, 1, 32 * MIB, 128 * MIB};
        } else if (strcmp(a, "--reps") == 0 && v > 0 && v <= 1000) {
            o->reps = (int)v;
            i++;
        } else if (strcmp(a, "--mem-reps") == 0 && v > 0 && v <= 1000) {
            o->mem_reps = (int)v;
            i++;
        } else if (strcmp(a, "--mem-mib") == 0 && v > 0 && v <= 65536) {
            o->mem_bytes = (size_t)v * MIB;
            i++;
        } else if (strcmp(a, "--bw-mib") == 0 && v > 0 && v <= 65536) {
            o->bw_bytes = (size_t)v * MIB;
            i++;
        } else {
            fprintf(stderr,
                    "usage: bench_codec [--quick] [--reps N] [--mem-reps N] [--mem-mib N] [--bw-mib N]\n"
                    "bad or incomplete option: %s\n",
                    a);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse_args(argc, argv, &o) != 0)
        return 2;
    for (int i = 0; i < BITPACK_N_IMPL; i++)
        if (bitpack128_impl_available(i))
            impls[n_impls++] = i;

    print_commit();
#if defined(__clang__)
    printf("compiler: clang %s\n", __clang_version__);
#elif defined(__GNUC__)
    printf("compiler: gcc %s\n", __VERSION__);
#else
    printf("compiler: unknown\n");
#endif
    print_cpu();
    printf("implementations here:");
    for (int i = 0; i < n_impls; i++)
        printf(" %s", bitpack128_impl_name(impls[i]));
    printf("; bitpack128_unpack uses: %s\n", bitpack128_impl_name(bitpack128_impl_active()));

    double read_gbs, copy_gbs;
    measure_bandwidth(&o, &read_gbs, &copy_gbs);
    printf("memory, one thread, best of %d: read (sum of %zu MiB) %.1f GB/s, memcpy of %zu MiB "
           "%.1f GB/s copied\n",
           o.mem_reps, o.bw_bytes / MIB, read_gbs, o.bw_bytes / 2 / MIB, copy_gbs);
    fflush(stdout);

    table_cache(&o);
    table_memory(&o);
    table_docs(&o);
    table_bitmaps(&o);
    return 0;
}
