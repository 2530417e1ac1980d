/*
 * hash.c - the one string hash used by in-memory tables.
 */
#include "util/util.h"

uint64_t hash_bytes(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i = 0;
    /* 8 bytes at a time, then the tail: FNV-style multiply with a final mix. */
    for (; i + 8 <= n; i += 8) {
        h ^= ld_u64(s + i);
        h *= 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}
