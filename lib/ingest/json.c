/*
 * json.c - the strict JSON (RFC 8259) reader that turns one line of a JSON
 * Lines file into an nd_doc.
 *
 * One pass over the bytes does everything: syntax, UTF-8 validation,
 * unescaping of the strings we keep, and skipping (with full validation) of
 * the fields we do not know. No tree is built. Strings are unescaped into
 * the caller's scratch buffer, which is sized once, up front, to the length
 * of the line: unescaping never makes a string longer (every output byte
 * comes from at least one input byte, and quotes and punctuation produce
 * nothing), so the buffer never moves during a parse and the copy loop
 * needs no bounds checks on the output side. The same argument covers its
 * eight-byte stores, which may run a few bytes past the end of a string:
 * the output position always trails the input position, and a store of
 * eight is only made when eight input bytes remain.
 *
 * Inside strings, runs of plain ASCII are copied eight bytes at a time and
 * tested with word-wide bit tricks; only quotes, backslashes, control bytes
 * and non-ASCII bytes leave that path.
 *
 * Field errors (a missing id, a number where a string belongs, a bad date)
 * are reported only for a line that is valid JSON, so a syntax error always
 * wins, and they follow the final value of a duplicated key.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR 1
#else
#define SWAR 0
#endif

/* Longest part of a bad date quoted back in an error message. */
#define DATE_QUOTE_MAX 40

enum field_id { F_ID, F_TITLE, F_BODY, F_SOURCE, F_URL, F_LANG, F_DATE, F_COUNT };
#define F_UNKNOWN F_COUNT

static const char *const field_names[F_COUNT] = {"id",  "title", "body", "source",
                                                 "url", "lang",  "date"};

enum value_state { V_ABSENT, V_STRING, V_BADTYPE };

typedef struct field {
    enum value_state state;
    size_t off; /* start of the unescaped value in scratch */
    size_t len;
} field;

typedef struct parser {
    const uint8_t *s;   /* start of the line: columns count from here */
    const uint8_t *p;   /* cursor */
    const uint8_t *end; /* one past the last byte */
    nd_buf *out;        /* unescaped strings, appended at out->len */
    char *err;
    size_t errlen;
} parser;

static int fail(parser *ps, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Writes the message and returns ND_EINVAL, for `return fail(...)`. */
static int fail(parser *ps, const char *fmt, ...)
{
    if (ps->err && ps->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err, ps->errlen, fmt, ap);
        va_end(ap);
    }
    return ND_EINVAL;
}

/* 1-based byte column of a position in the line. */
static size_t col(const parser *ps, const uint8_t *at)
{
    return (size_t)(at - ps->s) + 1;
}

/* "expected X" at the cursor, worded for a line that simply stops there. */
static int expected(parser *ps, const char *what)
{
    if (ps->p == ps->end)
        return fail(ps, "column %zu: unexpected end of line, expected %s", col(ps, ps->p), what);
    return fail(ps, "column %zu: expected %s", col(ps, ps->p), what);
}

static void skip_ws(parser *ps)
{
    const uint8_t *p = ps->p, *end = ps->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    ps->p = p;
}

/* ---- strings ----------------------------------------------------------- */

#if SWAR
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* High bit set in each byte of x that is zero. Exact up to and including the
 * lowest such byte (borrows only run towards higher bytes), which is all we
 * use: the lowest set bit marks the first special byte. */
static inline uint64_t zero_bytes(uint64_t x)
{
    return (x - ONES) & ~x & HIGHS;
}

/* Marks bytes that end a plain ASCII run: '"', '\\', < 0x20, >= 0x80. */
static inline uint64_t special_bytes(uint64_t x)
{
    return (x & HIGHS) | zero_bytes(x ^ (ONES * '"')) | zero_bytes(x ^ (ONES * '\\')) |
           ((x - ONES * 0x20) & ~x & HIGHS);
}
#endif

static inline int plain_ascii(uint8_t c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Length of the valid UTF-8 sequence (2..4 bytes) starting with the non-ASCII
 * byte at p, or 0 if it is invalid: a stray continuation byte, an overlong
 * form, an encoded surrogate, a value past U+10FFFF, or a truncated sequence. */
static size_t utf8_seq(const uint8_t *p, const uint8_t *end)
{
    size_t avail = (size_t)(end - p);
    uint8_t c = p[0];
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */

    if (c < 0xC2)
        return 0; /* continuation byte, or overlong 2-byte lead */
    if (c < 0xE0)
        return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* U+D800..U+DFFF */
        if (avail < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80)
            return 0;
        return 3;
    }
    if (c < 0xF5) {
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
        if (avail < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

/* Four hex digits at p (p + 4 <= end checked by the caller). */
static int hex4(const uint8_t *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (uint32_t)((c | 0x20) - 'a' + 10);
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static uint8_t *put_utf8(uint8_t *o, uint32_t u)
{
    if (u < 0x80) {
        *o++ = (uint8_t)u;
    } else if (u < 0x800) {
        *o++ = (uint8_t)(0xC0 | u >> 6);
        *o++ = (uint8_t)(0x80 | (u & 0x3F));
    } else if (u < 0x10000) {
        *o++ = (uint8_t)(0xE0 | u >> 12);
        *o++ = (uint8_t)(0x80 | (u >> 6 & 0x3F));
        *o++ = (uint8_t)(0x80 | (u & 0x3F));
    } else {
        *o++ = (uint8_t)(0xF0 | u >> 18);
        *o++ = (uint8_t)(0x80 | (u >> 12 & 0x3F));
        *o++ = (uint8_t)(0x80 | (u >> 6 & 0x3F));
        *o++ = (uint8_t)(0x80 | (u & 0x3F));
    }
    return o;
}

/* Decodes the \uXXXX escape (or surrogate pair) at *pp, which points at the
 * backslash, and appends its UTF-8 at *op. */
static int unicode_escape(parser *ps, const uint8_t **pp, uint8_t **op)
{
    const uint8_t *bs = *pp, *end = ps->end;
    uint32_t u, lo;

    if (end - bs < 6 || hex4(bs + 2, &u) != 0)
        return fail(ps, "column %zu: invalid \\u escape", col(ps, bs));
    const uint8_t *p = bs + 6;
    if (u >= 0xD800 && u <= 0xDBFF) {
        if (end - p < 2 || p[0] != '\\' || p[1] != 'u')
            return fail(ps, "column %zu: unpaired surrogate \\u%04X", col(ps, bs), (unsigned)u);
        if (end - p < 6 || hex4(p + 2, &lo) != 0)
            return fail(ps, "column %zu: invalid \\u escape", col(ps, p));
        if (lo < 0xDC00 || lo > 0xDFFF)
            return fail(ps, "column %zu: unpaired surrogate \\u%04X", col(ps, bs), (unsigned)u);
        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
        return fail(ps, "column %zu: unpaired surrogate \\u%04X", col(ps, bs), (unsigned)u);
    } else if (u == 0) {
        return fail(ps, "NUL character in string at column %zu", col(ps, bs));
    }
    *op = put_utf8(*op, u);
    *pp = p;
    return ND_OK;
}

/* Parses the string whose opening quote is at the cursor and appends its
 * unescaped bytes to ps->out (out->len grows by their count). */
static int parse_string(parser *ps)
{
    const uint8_t *quote = ps->p, *end = ps->end;
    const uint8_t *p = quote + 1;
    uint8_t *o = ps->out->data + ps->out->len;
    int rc;

    for (;;) {
        /* Copy the run of plain ASCII up to the next special byte. */
#if SWAR
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            uint64_t m = special_bytes(x);
            memcpy(o, &x, 8); /* in bounds: see the file comment */
            if (m) {
                unsigned k = (unsigned)__builtin_ctzll(m) >> 3;
                p += k;
                o += k;
                goto special;
            }
            p += 8;
            o += 8;
        }
#endif
        while (p < end && plain_ascii(*p))
            *o++ = *p++;
        if (p == end)
            return fail(ps, "column %zu: unterminated string", col(ps, quote));
#if SWAR
    special:
#endif
        if (*p == '"')
            break;
        if (*p == '\\') {
            if (end - p < 2)
                return fail(ps, "column %zu: unterminated string", col(ps, quote));
            switch (p[1]) {
            case '"':
            case '\\':
            case '/':
                *o++ = p[1];
                break;
            case 'b':
                *o++ = '\b';
                break;
            case 'f':
                *o++ = '\f';
                break;
            case 'n':
                *o++ = '\n';
                break;
            case 'r':
                *o++ = '\r';
                break;
            case 't':
                *o++ = '\t';
                break;
            case 'u':
                if ((rc = unicode_escape(ps, &p, &o)) != ND_OK)
                    return rc;
                continue;
            default:
                return fail(ps, "column %zu: invalid escape sequence", col(ps, p));
            }
            p += 2;
        } else if (*p >= 0x80) {
            /* Non-Latin text is mostly runs of multi-byte characters: stay
             * here until the run ends. */
            do {
                size_t n = utf8_seq(p, end);
                if (n == 0)
                    return fail(ps, "invalid UTF-8 at column %zu", col(ps, p));
                memcpy(o, p, n);
                o += n;
                p += n;
            } while (p < end && *p >= 0x80);
        } else if (*p == 0) {
            return fail(ps, "NUL character in string at column %zu", col(ps, p));
        } else {
            return fail(ps, "column %zu: unescaped control character in string", col(ps, p));
        }
    }
    ps->p = p + 1;
    ps->out->len = (size_t)(o - ps->out->data);
    return ND_OK;
}

/* ---- values we skip ------------------------------------------------------ */

static int skip_value(parser *ps, unsigned depth);

static int skip_number(parser *ps)
{
    const uint8_t *p = ps->p, *end = ps->end;

    if (*p == '-')
        p++;
    if (p < end && *p == '0') {
        p++;
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return fail(ps, "column %zu: invalid number", col(ps, p));
    }
    if (p < end && *p == '.') {
        p++;
        if (p == end || *p < '0' || *p > '9')
            return fail(ps, "column %zu: invalid number", col(ps, p));
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || *p < '0' || *p > '9')
            return fail(ps, "column %zu: invalid number", col(ps, p));
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    ps->p = p;
    return ND_OK;
}

static int skip_literal(parser *ps, const char *word, size_t n)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "column %zu: invalid literal", col(ps, ps->p));
    ps->p += n;
    return ND_OK;
}

/* A string we do not keep: validated, then dropped from the scratch buffer. */
static int skip_string(parser *ps)
{
    size_t mark = ps->out->len;
    int rc = parse_string(ps);
    ps->out->len = mark;
    return rc;
}

static int too_deep(parser *ps)
{
    return fail(ps, "column %zu: nesting deeper than %d levels", col(ps, ps->p), ND_JSON_MAX_DEPTH);
}

/* `depth` is the nesting level of the container at the cursor. */
static int skip_object(parser *ps, unsigned depth)
{
    int rc;
    if (depth > ND_JSON_MAX_DEPTH)
        return too_deep(ps);
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return ND_OK;
    }
    for (;;) {
        if (ps->p == ps->end || *ps->p != '"')
            return expected(ps, "an object key");
        if ((rc = skip_string(ps)) != ND_OK)
            return rc;
        skip_ws(ps);
        if (ps->p == ps->end || *ps->p != ':')
            return expected(ps, "':' after object key");
        ps->p++;
        skip_ws(ps);
        if ((rc = skip_value(ps, depth + 1)) != ND_OK)
            return rc;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
        } else if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return ND_OK;
        } else {
            return expected(ps, "',' or '}' after object member");
        }
    }
}

static int skip_array(parser *ps, unsigned depth)
{
    int rc;
    if (depth > ND_JSON_MAX_DEPTH)
        return too_deep(ps);
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return ND_OK;
    }
    for (;;) {
        if ((rc = skip_value(ps, depth + 1)) != ND_OK)
            return rc;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
        } else if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return ND_OK;
        } else {
            return expected(ps, "',' or ']' after array element");
        }
    }
}

/* Validates and skips any value; `depth` is the level it would have if it is
 * a container (1 for the value of a top-level member). */
static int skip_value(parser *ps, unsigned depth)
{
    if (ps->p == ps->end)
        return expected(ps, "a value");
    switch (*ps->p) {
    case '"':
        return skip_string(ps);
    case '{':
        return skip_object(ps, depth);
    case '[':
        return skip_array(ps, depth);
    case 't':
        return skip_literal(ps, "true", 4);
    case 'f':
        return skip_literal(ps, "false", 5);
    case 'n':
        return skip_literal(ps, "null", 4);
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return skip_number(ps);
        return expected(ps, "a value");
    }
}

/* ---- the article ------------------------------------------------------- */

static int field_of(const uint8_t *k, size_t n)
{
    switch (n) {
    case 2:
        return memcmp(k, "id", 2) == 0 ? F_ID : F_UNKNOWN;
    case 3:
        return memcmp(k, "url", 3) == 0 ? F_URL : F_UNKNOWN;
    case 4:
        if (memcmp(k, "body", 4) == 0)
            return F_BODY;
        if (memcmp(k, "date", 4) == 0)
            return F_DATE;
        return memcmp(k, "lang", 4) == 0 ? F_LANG : F_UNKNOWN;
    case 5:
        return memcmp(k, "title", 5) == 0 ? F_TITLE : F_UNKNOWN;
    case 6:
        return memcmp(k, "source", 6) == 0 ? F_SOURCE : F_UNKNOWN;
    default:
        return F_UNKNOWN;
    }
}

/* One member of the article object: key, ':', value. */
static int parse_member(parser *ps, field *fields)
{
    nd_buf *out = ps->out;
    size_t mark = out->len;
    int rc;

    if (ps->p == ps->end || *ps->p != '"')
        return expected(ps, "an object key");
    if ((rc = parse_string(ps)) != ND_OK)
        return rc;
    int f = field_of(out->data + mark, out->len - mark);
    out->len = mark;
    skip_ws(ps);
    if (ps->p == ps->end || *ps->p != ':')
        return expected(ps, "':' after object key");
    ps->p++;
    skip_ws(ps);

    if (f == F_UNKNOWN)
        return skip_value(ps, 1);
    if (ps->p < ps->end && *ps->p == '"') {
        if ((rc = parse_string(ps)) != ND_OK)
            return rc;
        fields[f].state = V_STRING;
        fields[f].off = mark;
        fields[f].len = out->len - mark;
        return ND_OK;
    }
    if ((size_t)(ps->end - ps->p) >= 4 && memcmp(ps->p, "null", 4) == 0) {
        ps->p += 4;
        fields[f].state = V_ABSENT;
        return ND_OK;
    }
    if ((rc = skip_value(ps, 1)) != ND_OK)
        return rc;
    out->len = mark;
    fields[f].state = V_BADTYPE;
    return ND_OK;
}

/* Quotes (part of) a bad date value into buf: at most DATE_QUOTE_MAX bytes,
 * cut at a character boundary, control bytes shown as '?'. */
static void quote_value(char *buf, size_t n, const uint8_t *v, size_t len)
{
    size_t k = len, i;
    int cut = 0;
    if (k > DATE_QUOTE_MAX) {
        k = DATE_QUOTE_MAX;
        while (k > 0 && (v[k] & 0xC0) == 0x80)
            k--;
        cut = 1;
    }
    for (i = 0; i < k && i + 4 < n; i++)
        buf[i] = (char)(v[i] < 0x20 || v[i] == 0x7F ? '?' : v[i]);
    if (cut && i + 4 <= n) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = 0;
}

static int check_fields(parser *ps, const field *fields, int64_t *date)
{
    const field *id = &fields[F_ID];
    if (id->state == V_BADTYPE)
        return fail(ps, "\"id\" must be a string");
    if (id->state == V_ABSENT)
        return fail(ps, "missing \"id\"");
    if (id->len == 0)
        return fail(ps, "\"id\" is empty");
    for (int f = F_TITLE; f < F_COUNT; f++)
        if (fields[f].state == V_BADTYPE)
            return fail(ps, "\"%s\" must be a string", field_names[f]);

    const field *d = &fields[F_DATE];
    if (d->state == V_STRING) {
        const uint8_t *v = ps->out->data + d->off;
        if (nd_date_parse(date, (const char *)v, d->len) != ND_OK) {
            char q[DATE_QUOTE_MAX + 4];
            quote_value(q, sizeof q, v, d->len);
            return fail(ps, "\"date\": not an ISO 8601 date: \"%s\"", q);
        }
    }
    return ND_OK;
}

int json_parse_article(const char *s, size_t len, nd_buf *scratch, nd_doc *out, char *err,
                       size_t errlen)
{
    field fields[F_COUNT];
    parser ps;
    int rc;

    memset(out, 0, sizeof *out);
    out->date = ND_NO_DATE;
    memset(fields, 0, sizeof fields);
    if (err && errlen > 0)
        err[0] = 0;
    if (!s)
        s = "";

    /* The one allocation: room for every string of the line, unescaped,
     * plus the slack of the last eight-byte copy. */
    buf_reset(scratch);
    if (len > SIZE_MAX - 16 || buf_reserve(scratch, len + 16) != ND_OK) {
        if (err && errlen > 0)
            snprintf(err, errlen, "out of memory for a line of %zu bytes", len);
        return ND_ENOMEM;
    }

    ps.s = ps.p = (const uint8_t *)s;
    ps.end = ps.s + len;
    ps.out = scratch;
    ps.err = err;
    ps.errlen = errlen;

    skip_ws(&ps);
    if (ps.p == ps.end || *ps.p != '{')
        return fail(&ps, "column %zu: expected '{'", col(&ps, ps.p));
    ps.p++;
    skip_ws(&ps);
    if (ps.p < ps.end && *ps.p == '}') {
        ps.p++;
    } else {
        for (;;) {
            if ((rc = parse_member(&ps, fields)) != ND_OK)
                return rc;
            skip_ws(&ps);
            if (ps.p < ps.end && *ps.p == ',') {
                ps.p++;
                skip_ws(&ps);
            } else if (ps.p < ps.end && *ps.p == '}') {
                ps.p++;
                break;
            } else {
                return expected(&ps, "',' or '}' after object member");
            }
        }
    }
    skip_ws(&ps);
    if (ps.p != ps.end)
        return fail(&ps, "column %zu: unexpected data after the object", col(&ps, ps.p));

    int64_t date = ND_NO_DATE;
    if ((rc = check_fields(&ps, fields, &date)) != ND_OK)
        return rc;

    /* Offsets become pointers only now: the buffer is final. */
    const char *base = (const char *)scratch->data;
    const char **ptr[F_DATE] = {&out->id,     &out->title, &out->body,
                                &out->source, &out->url,   &out->lang};
    size_t *lenp[F_DATE] = {&out->id_len,     &out->title_len, &out->body_len,
                            &out->source_len, &out->url_len,   &out->lang_len};
    for (int f = 0; f < F_DATE; f++) {
        if (fields[f].state == V_STRING) {
            *ptr[f] = base + fields[f].off;
            *lenp[f] = fields[f].len;
        }
    }
    out->date = date;
    return ND_OK;
}
