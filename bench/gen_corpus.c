/*
 * gen_corpus.c - a deterministic generator of news-like articles at any
 * scale, for ingest and query benchmarks beyond the size of the real
 * corpora. It learns from a real JSON Lines corpus: the vocabulary with its
 * word frequencies (words as they appear, split at white space), the
 * distribution of body and title lengths (in words), and the sources; then
 * writes N articles whose words are drawn from that unigram distribution,
 * with lengths drawn from the learned ones, ids gen-<n>, and dates spread
 * evenly over a span of years. The same inputs and seed give the same
 * bytes.
 *
 *   gen_corpus LEARN.jsonl.gz N [--seed S] [--from YEAR] [--years Y] > out.jsonl
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "newsdex.h"
#include "util/util.h"

typedef struct vocab {
    nd_strmap words;   /* word -> index */
    uint64_t *count;   /* per word */
    size_t cap;
    uint64_t *cum;     /* cumulative counts, for sampling */
    uint64_t total;
} vocab;

typedef struct lengths {
    uint32_t *v;
    size_t n, cap;
} lengths;

static void push_len(lengths *l, uint32_t x)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            exit(1);
    }
    l->v[l->n++] = x;
}

static void learn_text(vocab *v, const char *s, size_t n, lengths *l)
{
    uint32_t words = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
            i++;
        size_t a = i;
        while (i < n && !(s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
            i++;
        if (i == a || i - a > 40)
            continue;
        uint64_t idx;
        if (!strmap_get(&v->words, s + a, i - a, &idx)) {
            idx = strmap_count(&v->words);
            if (strmap_put(&v->words, s + a, i - a, idx, NULL) < 0)
                exit(1);
            if (idx >= v->cap) {
                v->cap = v->cap ? v->cap * 2 : 65536;
                v->count = realloc(v->count, v->cap * sizeof *v->count);
                if (!v->count)
                    exit(1);
            }
            v->count[idx] = 0;
        }
        v->count[idx]++;
        v->total++;
        words++;
    }
    push_len(l, words);
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void put_word(const vocab *v, uint64_t *seed, FILE *out)
{
    uint64_t r = rnd(seed) % v->total;
    size_t lo = 0, hi = strmap_count(&v->words) - 1;
    while (lo < hi) { /* first cum > r */
        size_t mid = (lo + hi) / 2;
        if (v->cum[mid] > r)
            hi = mid;
        else
            lo = mid + 1;
    }
    const uint8_t *w;
    size_t n;
    uint64_t idx;
    strmap_at(&v->words, (uint32_t)lo, &w, &n, &idx);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = w[i];
        if (c == '"' || c == '\\')
            fputc('\\', out);
        if (c >= 0x20)
            fputc(c, out);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gen_corpus LEARN.jsonl.gz N [--seed S] [--from YEAR] "
                        "[--years Y] > out.jsonl\n");
        return 2;
    }
    uint64_t n = strtoull(argv[2], NULL, 10), seed = 42;
    int from = 2015, years = 10;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[i + 1], NULL, 10) | 1;
        else if (!strcmp(argv[i], "--from"))
            from = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--years"))
            years = atoi(argv[i + 1]);
    }
    vocab v = {0};
    lengths body = {0}, title = {0};
    const char *sources[64];
    int n_sources = 0;
    nd_err e = {{0}};
    line_reader *r;
    if (line_reader_open(&r, argv[1], &e)) {
        fprintf(stderr, "gen_corpus: %s\n", e.msg);
        return 1;
    }
    nd_buf scratch = {0};
    const char *line;
    size_t len;
    while (line_reader_next(r, &line, &len, &e) == ND_OK) {
        nd_doc d;
        char why[256];
        if (json_parse_article(line, len, &scratch, &d, why, sizeof why))
            continue;
        learn_text(&v, d.body, d.body_len, &body);
        learn_text(&v, d.title, d.title_len, &title);
        if (d.source_len && n_sources < 64) {
            int seen = 0;
            for (int i = 0; i < n_sources; i++)
                seen |= strlen(sources[i]) == d.source_len &&
                        !memcmp(sources[i], d.source, d.source_len);
            if (!seen)
                sources[n_sources++] = strndup(d.source, d.source_len);
        }
    }
    line_reader_close(r);
    if (v.total == 0 || body.n == 0) {
        fprintf(stderr, "gen_corpus: learned nothing from %s\n", argv[1]);
        return 1;
    }
    size_t nw = strmap_count(&v.words);
    v.cum = malloc(nw * sizeof *v.cum);
    uint64_t acc = 0;
    for (size_t i = 0; i < nw; i++)
        v.cum[i] = (acc += v.count[i]);
    fprintf(stderr, "gen_corpus: learned %zu words (%" PRIu64 " occurrences), %zu bodies\n", nw,
            v.total, body.n);
    int64_t start = days_from_civil(from, 1, 1) * 86400;
    int64_t span = (days_from_civil(from + years, 1, 1) - days_from_civil(from, 1, 1)) * 86400;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t bl = body.v[rnd(&seed) % body.n], tl = title.v[rnd(&seed) % title.n];
        int64_t date = start + (int64_t)((double)span * (double)i / (double)n) +
                       (int64_t)(rnd(&seed) % 3600);
        char ds[40];
        nd_date_format(ds, sizeof ds, date);
        printf("{\"id\": \"gen-%" PRIu64 "\", \"date\": \"%s\"", i, ds);
        if (n_sources)
            printf(", \"source\": \"%s\"", sources[rnd(&seed) % (uint64_t)n_sources]);
        fputs(", \"title\": \"", stdout);
        for (uint32_t k = 0; k < tl; k++) {
            if (k)
                fputc(' ', stdout);
            put_word(&v, &seed, stdout);
        }
        fputs("\", \"body\": \"", stdout);
        for (uint32_t k = 0; k < bl; k++) {
            if (k)
                fputs(k % 60 == 0 ? "\\n" : " ", stdout);
            put_word(&v, &seed, stdout);
        }
        fputs("\"}\n", stdout);
    }
    return 0;
}
