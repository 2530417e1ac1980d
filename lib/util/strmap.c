/*
 * strmap.c - a hash map from byte strings to u64, for the writer's table of
 * article ids added or deleted since the last commit. Keys are copied into
 * one growing buffer; entries keep insertion order.
 */
#include <stdlib.h>

#include "util/util.h"

struct strmap_entry {
    uint64_t key_off;
    uint32_t key_len;
    uint64_t value;
};

static const uint8_t *key_of(const nd_strmap *m, const struct strmap_entry *en)
{
    return m->keys.data + en->key_off;
}

static int64_t find(const nd_strmap *m, const void *key, size_t len, uint32_t *slot)
{
    uint32_t mask = m->n_slots - 1;
    uint32_t i = (uint32_t)hash_bytes(key, len) & mask;
    for (;;) {
        uint32_t s = m->slots[i];
        if (!s) {
            *slot = i;
            return -1;
        }
        const struct strmap_entry *en = &m->e[s - 1];
        if (en->key_len == len && memcmp(key_of(m, en), key, len) == 0) {
            *slot = i;
            return s - 1;
        }
        i = (i + 1) & mask;
    }
}

static int grow(nd_strmap *m)
{
    uint32_t n = m->n_slots ? m->n_slots * 2 : 1024;
    uint32_t *s = calloc(n, sizeof *s);
    if (!s)
        return ND_ENOMEM;
    for (uint32_t k = 0; k < m->n; k++) {
        const struct strmap_entry *en = &m->e[k];
        uint32_t i = (uint32_t)hash_bytes(key_of(m, en), en->key_len) & (n - 1);
        while (s[i])
            i = (i + 1) & (n - 1);
        s[i] = k + 1;
    }
    free(m->slots);
    m->slots = s;
    m->n_slots = n;
    return ND_OK;
}

int strmap_put(nd_strmap *m, const void *key, size_t len, uint64_t v, uint64_t *old)
{
    if (len > UINT32_MAX)
        return ND_ENOMEM;
    if ((uint64_t)(m->n + 1) * 4 > (uint64_t)m->n_slots * 3 && grow(m))
        return ND_ENOMEM;
    uint32_t slot;
    int64_t at = find(m, key, len, &slot);
    if (at >= 0) {
        if (old)
            *old = m->e[at].value;
        m->e[at].value = v;
        return 1;
    }
    if (m->n == m->cap) {
        uint32_t cap = m->cap ? m->cap * 2 : 1024;
        struct strmap_entry *e = realloc(m->e, (size_t)cap * sizeof *e);
        if (!e)
            return ND_ENOMEM;
        m->e = e;
        m->cap = cap;
    }
    struct strmap_entry *en = &m->e[m->n];
    en->key_off = m->keys.len;
    en->key_len = (uint32_t)len;
    en->value = v;
    if (buf_append(&m->keys, key, len))
        return ND_ENOMEM;
    m->slots[slot] = ++m->n;
    return 0;
}

int strmap_get(const nd_strmap *m, const void *key, size_t len, uint64_t *v)
{
    if (m->n == 0)
        return 0;
    uint32_t slot;
    int64_t at = find(m, key, len, &slot);
    if (at < 0)
        return 0;
    *v = m->e[at].value;
    return 1;
}

uint32_t strmap_count(const nd_strmap *m)
{
    return m->n;
}

void strmap_at(const nd_strmap *m, uint32_t i, const uint8_t **key, size_t *len, uint64_t *v)
{
    *key = key_of(m, &m->e[i]);
    *len = m->e[i].key_len;
    *v = m->e[i].value;
}

size_t strmap_bytes(const nd_strmap *m)
{
    return (size_t)m->n_slots * 4 + (size_t)m->cap * sizeof *m->e + m->keys.cap;
}

void strmap_clear(nd_strmap *m)
{
    free(m->slots);
    free(m->e);
    buf_free(&m->keys);
    memset(m, 0, sizeof *m);
}
