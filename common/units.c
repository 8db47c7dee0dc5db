/* Durations as text, the units kept as data (wrk's units.c). */
#include "common/units.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct units_row { const char *suffix; double us; } units_row;

/* Longest suffix first so "ms" is not read as "m" followed by junk. */
static const units_row units_time[] = {
    { "us", 1.0 }, { "ms", 1e3 }, { "s", 1e6 }, { "m", 60e6 }, { "h", 3600e6 },
};
#define UNITS_NTIME (sizeof units_time / sizeof units_time[0])

/* Upper bound on a duration: UNITS_MAX_DURATION_MS (common/units.h), 10 years. Keeps
 * every later product of a duration with a user count or rate far from uint64 overflow,
 * and no load test runs longer. */
#define UNITS_MAX_MS ((double)UNITS_MAX_DURATION_MS)

/* Reads an unsigned decimal ("12", "1.5", ".5") at *p; -1 when none. */
static int units_number(const char **p, double *out)
{
    const char *s = *p;
    double v = 0;
    int digits = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s++ - '0');
        digits++;
    }
    if (*s == '.') {
        double scale = 0.1;
        s++;
        while (*s >= '0' && *s <= '9') {
            v += (*s++ - '0') * scale;
            scale /= 10;
            digits++;
        }
    }
    if (digits == 0)
        return -1;
    *p = s;
    *out = v;
    return 0;
}

/* Matches one unit suffix at *p (the longest that fits); its size in us, or 0. */
static double units_suffix(const char **p)
{
    const units_row *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < UNITS_NTIME; i++) {
        size_t n = strlen(units_time[i].suffix);
        if (n > best_len && strncmp(*p, units_time[i].suffix, n) == 0) {
            best = &units_time[i];
            best_len = n;
        }
    }
    if (!best)
        return 0;
    *p += best_len;
    return best->us;
}

/* Grammar: spaces? (number | (number unit)+) spaces?. A bare number is seconds; a
 * number followed by more parts must carry a unit ("1h30" is refused as ambiguous).
 * Sub-millisecond parts add up in microseconds and the total rounds to the nearest ms. */
static int units_duration_parse(const char *text, double *out_ms)
{
    if (!text)
        return -1;
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    double total_us = 0;
    int parts = 0;
    for (;;) {
        double v, unit;
        if (units_number(&p, &v) != 0)
            return -1;
        unit = units_suffix(&p);
        if (unit == 0) {
            if (parts > 0)      /* "1h30": the 30 has no unit */
                return -1;
            unit = 1e6;         /* bare number: seconds */
            total_us = v * unit;
            parts++;
            break;
        }
        total_us += v * unit;
        parts++;
        if (!(*p >= '0' && *p <= '9') && *p != '.')
            break;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0')
        return -1;
    *out_ms = total_us / 1000.0;
    return 0;
}

int units_duration_ms(const char *text, uint64_t *out_ms)
{
    double ms;
    if (units_duration_parse(text, &ms) != 0 || !(ms <= UNITS_MAX_MS))
        return -1;
    *out_ms = (uint64_t)llround(ms);
    return 0;
}

bool units_duration_too_long(const char *text)
{
    double ms;
    return units_duration_parse(text, &ms) == 0 && !(ms <= UNITS_MAX_MS);
}

void units_duration_problem(const char *opt, const char *text, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    if (units_duration_too_long(text))
        snprintf(buf, cap, "%s \"%s\" is longer than the limit of %llu hours (10 years)", opt,
                 text, (unsigned long long)(UNITS_MAX_DURATION_MS / 3600000u));
    else
        snprintf(buf, cap, "%s wants a duration like 90s, 5m or 1h30m, got \"%s\"", opt,
                 text ? text : "");
}

/* Grammar: spaces? number spaces? ("/" spaces? (s | m | h))? spaces?. A bare number is
 * per second. */
int units_rate(const char *text, double *out_per_s)
{
    if (!text)
        return -1;
    const char *p = text;
    double v, per = 1.0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (units_number(&p, &v) != 0)
        return -1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '/') {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == 's') per = 1.0;
        else if (*p == 'm') per = 60.0;
        else if (*p == 'h') per = 3600.0;
        else return -1;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
    }
    if (*p != '\0' || !isfinite(v))
        return -1;
    *out_per_s = v / per;
    return 0;
}

/* Compact and re-readable by units_duration_ms: "250ms", "1.5s", "5m", "1h30m",
 * "2m30.5s". Fractions appear only on the seconds part. */
char *units_format_ms(uint64_t ms, char *buf, unsigned cap)
{
    if (!buf || cap == 0)
        return buf;
    if (ms < 1000) {
        snprintf(buf, cap, "%llums", (unsigned long long)ms);
        return buf;
    }
    uint64_t h = ms / 3600000u, m = ms / 60000u % 60u, s = ms / 1000u % 60u, frac = ms % 1000u;
    char part[32];
    size_t used = 0;
    buf[0] = '\0';
    if (h) {
        snprintf(part, sizeof part, "%lluh", (unsigned long long)h);
        used += (size_t)snprintf(buf + used, cap > used ? cap - used : 0, "%s", part);
    }
    if (m && used < cap) {
        snprintf(part, sizeof part, "%llum", (unsigned long long)m);
        used += (size_t)snprintf(buf + used, cap - used, "%s", part);
    }
    if ((s || frac) && used < cap) {
        if (frac) {
            /* "1.5s", "1.25s", "1.125s": no trailing zeros. */
            char f[8];
            snprintf(f, sizeof f, "%03llu", (unsigned long long)frac);
            for (int i = 2; i > 0 && f[i] == '0'; i--)
                f[i] = '\0';
            snprintf(part, sizeof part, "%llu.%ss", (unsigned long long)s, f);
        } else {
            snprintf(part, sizeof part, "%llus", (unsigned long long)s);
        }
        snprintf(buf + used, cap - used, "%s", part);
    }
    return buf;
}
