/*
 * date.c - article dates: the ISO 8601 subset accepted in "date" fields
 * (nd_date_parse), the canonical form dates are printed in (nd_date_format),
 * and the calendar arithmetic between civil dates and days since 1970.
 *
 * Dates are stored as seconds since 1970-01-01T00:00:00Z in an int64, on the
 * proleptic Gregorian calendar. The parser is deliberately strict - fixed
 * widths, nothing left over - so that a date column built from messy input
 * holds either a date the writer of the file meant or nothing at all.
 */
#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"

#define SECS_PER_DAY 86400
/* 1970-01-01 counted in days from 0000-03-01, the origin of the era method. */
#define EPOCH_SHIFT 719468
/* A 400-year era is exactly 146097 days. */
#define DAYS_PER_ERA 146097

/*
 * Years are counted from March so that the leap day ends the year; then the
 * day of the year is a linear function of the month, and leap rules are a
 * matter of whole 4/100/400-year blocks inside the 400-year era.
 */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    if (m <= 2)
        y--;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);             /* [0, 399] */
    unsigned mp = m > 2 ? m - 3 : m + 9;                  /* March = 0 */
    unsigned doy = (153 * mp + 2) / 5 + d - 1;            /* [0, 365] */
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] */
    return era * DAYS_PER_ERA + (int64_t)doe - EPOCH_SHIFT;
}

/* The inverse of days_from_civil, for any int64 day count that comes from a
 * seconds value (so far from overflow). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += EPOCH_SHIFT;
    int64_t era = (z >= 0 ? z : z - (DAYS_PER_ERA - 1)) / DAYS_PER_ERA;
    unsigned doe = (unsigned)(z - era * DAYS_PER_ERA);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* Reads exactly n decimal digits at s[*i]; advances *i. 0 on success. */
static int digits(const char *s, size_t len, size_t *i, size_t n, unsigned *out)
{
    if (len - *i < n)
        return -1;
    unsigned v = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned c = (unsigned char)s[*i + k];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *i += n;
    *out = v;
    return 0;
}

/* True if s[i] exists and is c. */
static int at(const char *s, size_t len, size_t i, char c)
{
    return i < len && s[i] == c;
}

/* Parses the zone after a time: "Z", "+HH:MM", "+HHMM" or "+HH" (or '-').
 * Stores the offset east of UTC in minutes. */
static int parse_zone(const char *s, size_t len, size_t *i, int *offset)
{
    unsigned hh, mm = 0;
    if (at(s, len, *i, 'Z')) {
        (*i)++;
        *offset = 0;
        return 0;
    }
    if (!at(s, len, *i, '+') && !at(s, len, *i, '-'))
        return -1;
    int neg = s[*i] == '-';
    (*i)++;
    if (digits(s, len, i, 2, &hh) != 0)
        return -1;
    if (at(s, len, *i, ':')) {
        (*i)++;
        if (digits(s, len, i, 2, &mm) != 0)
            return -1;
    } else if (*i < len && digits(s, len, i, 2, &mm) != 0) {
        return -1;
    }
    if (mm > 59 || hh * 60 + mm > 18 * 60)
        return -1;
    *offset = (int)(hh * 60 + mm) * (neg ? -1 : 1);
    return 0;
}

int nd_date_parse(int64_t *out, const char *s, size_t len)
{
    unsigned y, mo = 1, d = 1, h = 0, mi = 0, sec = 0;
    int offset = 0;
    size_t i = 0;

    if (!s || digits(s, len, &i, 4, &y) != 0)
        return ND_EINVAL;
    if (at(s, len, i, '-')) {
        i++;
        if (digits(s, len, &i, 2, &mo) != 0)
            return ND_EINVAL;
        if (at(s, len, i, '-')) {
            i++;
            if (digits(s, len, &i, 2, &d) != 0)
                return ND_EINVAL;
            if (at(s, len, i, 'T') || at(s, len, i, ' ')) {
                i++;
                if (digits(s, len, &i, 2, &h) != 0 || !at(s, len, i, ':'))
                    return ND_EINVAL;
                i++;
                if (digits(s, len, &i, 2, &mi) != 0)
                    return ND_EINVAL;
                if (at(s, len, i, ':')) {
                    i++;
                    if (digits(s, len, &i, 2, &sec) != 0)
                        return ND_EINVAL;
                    if (at(s, len, i, '.')) {
                        /* A fraction of a second: at least one digit, ignored. */
                        size_t start = ++i;
                        while (i < len && s[i] >= '0' && s[i] <= '9')
                            i++;
                        if (i == start)
                            return ND_EINVAL;
                    }
                }
                if (i < len && parse_zone(s, len, &i, &offset) != 0)
                    return ND_EINVAL;
            }
        }
    }
    if (i != len)
        return ND_EINVAL;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 60)
        return ND_EINVAL;
    if (sec == 60) /* a leap second: we have no representation for it */
        sec = 59;
    *out = days_from_civil(y, mo, d) * SECS_PER_DAY + (int64_t)(h * 3600 + mi * 60 + sec) -
           (int64_t)offset * 60;
    return ND_OK;
}

size_t nd_date_format(char *buf, size_t n, int64_t date)
{
    if (date == ND_NO_DATE || !buf || n == 0)
        return 0;
    /* Floor division: the time of day of a negative value is still positive. */
    int64_t days = date / SECS_PER_DAY;
    int64_t rem = date % SECS_PER_DAY;
    if (rem < 0) {
        rem += SECS_PER_DAY;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);

    char tmp[64];
    int k;
    /* Years outside 0000..9999 can only come from an offset at the edges of
     * the range (or a damaged value); print them as ISO 8601 expanded years. */
    if (y >= 0 && y <= 9999)
        k = snprintf(tmp, sizeof tmp, "%04lld-%02u-%02u", (long long)y, m, d);
    else
        k = snprintf(tmp, sizeof tmp, "%+05lld-%02u-%02u", (long long)y, m, d);
    if (rem != 0) {
        unsigned s = (unsigned)rem;
        k += snprintf(tmp + k, sizeof tmp - (size_t)k, "T%02u:%02u:%02uZ", s / 3600, s / 60 % 60,
                      s % 60);
    }
    if ((size_t)k >= n)
        return 0;
    memcpy(buf, tmp, (size_t)k + 1);
    return (size_t)k;
}
