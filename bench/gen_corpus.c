/*
 * gen_corpus.c - a deterministic generator of news-like articles at any
 * scale, for ingest and query benchmarks beyond the size of the real
 * corpora (bench_search --scale runs it).
 *
 *   gen_corpus LEARN.jsonl[.gz] N [--seed S] [--from YEAR] [--years Y] > out.jsonl
 *
 * It learns from a real JSON Lines corpus, then writes N articles:
 *
 * - Words: two unigram models, one for titles and one for bodies, with the
 *   words as they appear in the text (split at white space, so case and
 *   punctuation stay attached and every tokenizer sees realistic input) and
 *   their learned frequencies. Words seen once (hapaxes) are not replayed;
 *   their share of the text (the Good-Turing estimate of the chance that the
 *   next word is new) goes to an open-ended tail of made-up words whose
 *   ranks follow P(rank > r) = K / r, so the vocabulary keeps growing with
 *   the corpus like a real one (about as the square root of its size,
 *   Heaps' law) instead of stopping at the learned vocabulary. K is set so
 *   that a corpus of the learned size gets about as many tail words as the
 *   learned corpus had hapaxes.
 * - Lengths: body and title lengths (in words) drawn from the learned
 *   lengths, bodies cut into paragraphs whose lengths are drawn from the
 *   learned paragraph lengths.
 * - Dates: in article order, starting on the first learned date, at the
 *   learned number of articles per day with the learned share of each day
 *   of the week, so a corpus larger than the learned one spans more years
 *   (a news archive grows in time); with a time of day only when the learned
 *   dates had one. --from YEAR / --years Y spread the N articles over Y years
 *   from 1 January of YEAR instead (still with the weekday shares).
 * - Sources: the learned ones; ids gen-<n>.
 *
 * The same inputs and seed give the same bytes. Sampling uses Walker's alias
 * method (constant time per word).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "newsdex.h"
#include "util/util.h"

#define MAX_WORD 40
#define MAX_SOURCES 64

static void die(const char *msg)
{
    fprintf(stderr, "gen_corpus: %s\n", msg);
    exit(1);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die("out of memory");
    return q;
}

/* ---- learning ------------------------------------------------------------ */

typedef struct lengths {
    uint32_t *v;
    size_t n, cap;
} lengths;

static void push_len(lengths *l, uint32_t x)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = x;
}

/* A unigram model: words with counts while learning, then (model_build) the
 * JSON-escaped spellings of the words seen more than once and an alias
 * table over them. */
typedef struct model {
    nd_strmap words; /* word -> index */
    uint64_t *count;
    size_t cap;
    uint64_t total, hapax_tokens;
    /* built */
    size_t n;          /* words kept (count > 1) */
    char *text;        /* their escaped spellings, back to back */
    size_t *off;       /* n + 1 offsets into text */
    double *prob;      /* alias table */
    uint32_t *alias;
    double p_new;      /* chance that a word comes from the tail */
    double tail_k;     /* P(tail rank > r) = tail_k / r */
} model;

static void model_add(model *m, const char *w, size_t n)
{
    uint64_t idx;
    if (!strmap_get(&m->words, w, n, &idx)) {
        idx = strmap_count(&m->words);
        if (strmap_put(&m->words, w, n, idx, NULL) < 0)
            die("out of memory");
        if (idx >= m->cap) {
            m->cap = m->cap ? m->cap * 2 : 65536;
            m->count = xrealloc(m->count, m->cap * sizeof *m->count);
        }
        m->count[idx] = 0;
    }
    m->count[idx]++;
    m->total++;
}

static int is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* Learns the words of s; pushes the text's length in words to l and, when
 * paras is not NULL, the length of each paragraph (a run of lines). */
static void learn_text(model *m, const char *s, size_t n, lengths *l, lengths *paras)
{
    uint32_t words = 0, in_para = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && is_space(s[i])) {
            if (s[i] == '\n' && paras && in_para) {
                push_len(paras, in_para);
                in_para = 0;
            }
            i++;
        }
        size_t a = i;
        while (i < n && !is_space(s[i]))
            i++;
        if (i == a || i - a > MAX_WORD)
            continue;
        model_add(m, s + a, i - a);
        words++;
        in_para++;
    }
    if (paras && in_para)
        push_len(paras, in_para);
    push_len(l, words);
}

/* Vose's alias method over the kept words. */
static void build_alias(model *m, const uint64_t *cnt, uint64_t kept_total)
{
    size_t n = m->n;
    m->prob = xrealloc(NULL, n * sizeof *m->prob);
    m->alias = xrealloc(NULL, n * sizeof *m->alias);
    uint32_t *small = xrealloc(NULL, n * sizeof *small), *large = xrealloc(NULL, n * sizeof *large);
    size_t ns = 0, nl = 0;
    for (size_t i = 0; i < n; i++) {
        m->prob[i] = (double)cnt[i] * (double)n / (double)kept_total;
        m->alias[i] = (uint32_t)i;
        if (m->prob[i] < 1.0)
            small[ns++] = (uint32_t)i;
        else
            large[nl++] = (uint32_t)i;
    }
    while (ns && nl) {
        uint32_t s = small[--ns], g = large[nl - 1];
        m->alias[s] = g;
        m->prob[g] -= 1.0 - m->prob[s];
        if (m->prob[g] < 1.0) {
            nl--;
            small[ns++] = g;
        }
    }
    while (nl)
        m->prob[large[--nl]] = 1.0;
    while (ns)
        m->prob[small[--ns]] = 1.0;
    free(small);
    free(large);
}

static void model_build(model *m)
{
    size_t nw = strmap_count(&m->words);
    uint64_t *cnt = xrealloc(NULL, nw * sizeof *cnt);
    size_t textcap = 0, textlen = 0;
    uint64_t kept_total = 0, hapaxes = 0;
    m->off = xrealloc(NULL, (nw + 1) * sizeof *m->off);
    m->n = 0;
    for (size_t i = 0; i < nw; i++) {
        const uint8_t *w;
        size_t len;
        uint64_t idx;
        strmap_at(&m->words, (uint32_t)i, &w, &len, &idx);
        uint64_t c = m->count[idx];
        if (c < 2) {
            hapaxes++;
            continue;
        }
        if (textlen + 2 * len + 1 > textcap) {
            textcap = (textcap + 2 * len + 1) * 2;
            m->text = xrealloc(m->text, textcap);
        }
        m->off[m->n] = textlen;
        for (size_t k = 0; k < len; k++) {
            uint8_t ch = w[k];
            if (ch < 0x20)
                continue;
            if (ch == '"' || ch == '\\')
                m->text[textlen++] = '\\';
            m->text[textlen++] = (char)ch;
        }
        cnt[m->n++] = c;
        kept_total += c;
    }
    m->off[m->n] = textlen;
    m->hapax_tokens = hapaxes;
    m->p_new = m->total ? (double)hapaxes / (double)m->total : 0;
    /* About sqrt(pi*K*t) distinct ranks come out of t tail draws; t = hapaxes
     * (a corpus of the learned size) should give about `hapaxes` of them. */
    m->tail_k = (double)hapaxes / 3.14159265358979;
    if (m->tail_k < 1)
        m->tail_k = 1;
    if (m->n == 0)
        die("the learned text repeats no word");
    build_alias(m, cnt, kept_total);
    free(cnt);
}

static void model_free(model *m)
{
    strmap_clear(&m->words);
    free(m->count);
    free(m->text);
    free(m->off);
    free(m->prob);
    free(m->alias);
}

/* ---- generating ---------------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static double rnd_unit(uint64_t *s) /* in (0, 1] */
{
    return (double)((rnd(s) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

/* A made-up word for tail rank r, distinct for every r: r written in base
 * 100 with a consonant-vowel syllable per digit, after a "q" that no learned
 * English word pattern is needed for. */
static void put_tail_word(uint64_t r, FILE *out)
{
    static const char cons[] = "bcdfghjklmnprstvwxyz"; /* 20 */
    static const char vow[] = "aeiou";                 /* 5 */
    char buf[64];
    size_t n = 0;
    buf[n++] = 'q';
    do {
        unsigned d = (unsigned)(r % 100);
        buf[n++] = cons[d / 5];
        buf[n++] = vow[d % 5];
        r /= 100;
    } while (r && n + 2 < sizeof buf);
    fwrite(buf, 1, n, out);
}

static void put_word(const model *m, uint64_t *seed, FILE *out)
{
    if (m->p_new > 0 && rnd_unit(seed) < m->p_new) {
        double r = m->tail_k / rnd_unit(seed);
        put_tail_word(r > 1e18 ? (uint64_t)1e18 : (uint64_t)r, out);
        return;
    }
    uint64_t x = rnd(seed);
    size_t i = (size_t)(((x >> 32) * (uint64_t)m->n) >> 32);
    if (rnd_unit(seed) > m->prob[i])
        i = m->alias[i];
    fwrite(m->text + m->off[i], 1, m->off[i + 1] - m->off[i], out);
}

/* The dates, in article order: day by day from `day` on, with
 * rate * 7 * share[weekday] articles a day (fractions carried over). */
typedef struct dater {
    int64_t day;     /* days since 1970 */
    double rate;     /* articles per day on average */
    double share[7]; /* of each weekday (0 = Thursday 1970-01-01) */
    double left;     /* articles still to place on `day` */
    int with_time;
} dater;

static int64_t next_date(dater *d, uint64_t *seed)
{
    while (d->left < 1.0) {
        d->day++;
        d->left += d->rate * 7.0 * d->share[((d->day % 7) + 7) % 7];
    }
    d->left -= 1.0;
    int64_t t = d->day * 86400;
    if (d->with_time)
        t += (int64_t)(rnd(seed) % 86400);
    return t;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    *out = strtoull(s, &end, 10);
    return end != s && *end == '\0';
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gen_corpus LEARN.jsonl[.gz] N [--seed S] [--from YEAR] "
                        "[--years Y] > out.jsonl\n");
        return 2;
    }
    uint64_t n, seed = 42, v;
    int from = 0, years = 0;
    if (!parse_u64(argv[2], &n))
        die("N must be a number of articles");
    for (int i = 3; i < argc; i += 2) {
        if (i + 1 >= argc || !parse_u64(argv[i + 1], &v))
            die("options are --seed S, --from YEAR, --years Y");
        if (!strcmp(argv[i], "--seed"))
            seed = v;
        else if (!strcmp(argv[i], "--from"))
            from = (int)v;
        else if (!strcmp(argv[i], "--years"))
            years = (int)v;
        else
            die("options are --seed S, --from YEAR, --years Y");
    }
    seed |= 1; /* xorshift needs a non-zero state */
    if ((from != 0) != (years != 0) || (years && (from < 1 || years < 1)))
        die("--from and --years go together");

    model title = {0}, body = {0};
    lengths body_len = {0}, title_len = {0}, para_len = {0};
    const char *sources[MAX_SOURCES];
    int n_sources = 0;
    uint64_t wday[7] = {0}, dated = 0, timed = 0;
    int64_t dmin = INT64_MAX, dmax = INT64_MIN;
    nd_err e = {{0}};
    line_reader *r;
    if (line_reader_open(&r, argv[1], &e))
        die(e.msg);
    nd_buf scratch = {0};
    const char *line;
    size_t len;
    while (line_reader_next(r, &line, &len, &e) == ND_OK) {
        nd_doc d;
        char why[256];
        if (json_parse_article(line, len, &scratch, &d, why, sizeof why))
            continue;
        learn_text(&body, d.body, d.body_len, &body_len, &para_len);
        learn_text(&title, d.title, d.title_len, &title_len, NULL);
        if (d.date != ND_NO_DATE) {
            int64_t day = d.date >= 0 ? d.date / 86400 : -((-d.date + 86399) / 86400);
            wday[((day % 7) + 7) % 7]++;
            dated++;
            timed += d.date - day * 86400 != 0;
            dmin = d.date < dmin ? d.date : dmin;
            dmax = d.date > dmax ? d.date : dmax;
        }
        if (d.source_len && n_sources < MAX_SOURCES) {
            int seen = 0;
            for (int i = 0; i < n_sources; i++)
                seen |= strlen(sources[i]) == d.source_len &&
                        !memcmp(sources[i], d.source, d.source_len);
            if (!seen)
                sources[n_sources++] = strndup(d.source, d.source_len);
        }
    }
    line_reader_close(r);
    buf_free(&scratch);
    if (body.total == 0 || body_len.n == 0)
        die("learned nothing from the corpus");
    model_build(&body);
    if (title.total)
        model_build(&title);

    dater dt = {0};
    for (int i = 0; i < 7; i++)
        dt.share[i] = dated ? (double)wday[i] / (double)dated : 1.0 / 7;
    for (int i = 0; i < 7; i++)
        if (dt.share[i] == 0) /* a weekday never seen still gets a trickle */
            dt.share[i] = 0.01 / 7;
    int64_t first_day, span_days;
    if (years) {
        first_day = days_from_civil(from, 1, 1);
        span_days = days_from_civil(from + years, 1, 1) - first_day;
    } else if (dated) {
        first_day = dmin >= 0 ? dmin / 86400 : -((-dmin + 86399) / 86400);
        span_days = (dmax - dmin) / 86400 + 1;
        span_days = (int64_t)((double)span_days * (double)n / (double)dated);
        if (span_days < 1)
            span_days = 1;
    } else {
        first_day = days_from_civil(2015, 1, 1);
        span_days = 365;
    }
    dt.rate = (double)n / (double)span_days;
    dt.day = first_day - 1;
    dt.with_time = timed * 2 > dated;

    fprintf(stderr, "gen_corpus: learned %" PRIu32 " body words (%" PRIu64 " occurrences, %zu "
                    "replayed, %.4f new-word rate) and %" PRIu32 " title words from %zu articles; "
                    "%.1f articles/day\n",
            strmap_count(&body.words), body.total, body.n, body.p_new,
            strmap_count(&title.words), body_len.n, dt.rate);

    static char obuf[1 << 20];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t bl = body_len.v[rnd(&seed) % body_len.n];
        if (bl == 0)
            bl = 1; /* a body is never empty */
        uint32_t tl = title.total ? title_len.v[rnd(&seed) % title_len.n] : 0;
        char ds[40];
        nd_date_format(ds, sizeof ds, next_date(&dt, &seed));
        printf("{\"id\": \"gen-%" PRIu64 "\", \"date\": \"%s\"", i, ds);
        if (n_sources)
            printf(", \"source\": \"%s\"", sources[rnd(&seed) % (uint64_t)n_sources]);
        fputs(", \"title\": \"", stdout);
        for (uint32_t k = 0; k < tl; k++) {
            if (k)
                fputc(' ', stdout);
            put_word(&title, &seed, stdout);
        }
        fputs("\", \"body\": \"", stdout);
        uint32_t para = para_len.n ? para_len.v[rnd(&seed) % para_len.n] : bl;
        for (uint32_t k = 0, in_para = 0; k < bl; k++, in_para++) {
            if (k) {
                if (in_para >= para) {
                    fputs("\\n", stdout);
                    in_para = 0;
                    para = para_len.v[rnd(&seed) % para_len.n];
                } else {
                    fputc(' ', stdout);
                }
            }
            put_word(&body, &seed, stdout);
        }
        fputs("\"}\n", stdout);
    }
    if (fflush(stdout) || ferror(stdout))
        die("write error on standard output");
    model_free(&body);
    model_free(&title);
    free(body_len.v);
    free(title_len.v);
    free(para_len.v);
    for (int i = 0; i < n_sources; i++)
        free((char *)sources[i]);
    return 0;
}
