/* Cron expressions: common/cron.h has the contract. */
#include "common/cron.h"
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *const MONTHS[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                      "nov", "dec" };
static const char *const DAYS[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

typedef struct field {
    const char *name;
    int lo, hi;
    const char *const *names;   /* names[i] is value i + name_base */
    int nnames, name_base;
} field;

static const field FIELDS[5] = {
    { "minute", 0, 59, NULL, 0, 0 },
    { "hour", 0, 23, NULL, 0, 0 },
    { "day-of-month", 1, 31, NULL, 0, 0 },
    { "month", 1, 12, MONTHS, 12, 1 },
    { "day-of-week", 0, 7, DAYS, 7, 0 },
};

/* A number or a name at *p: its value, or -1. */
static int value(const field *f, const char **p)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        int v = 0;
        while (isdigit((unsigned char)*s) && v < 1000) v = v * 10 + (*s++ - '0');
        *p = s;
        return v;
    }
    for (int i = 0; i < f->nnames; i++)
        if (!strncasecmp(s, f->names[i], 3) && !isalpha((unsigned char)s[3])) {
            *p = s + 3;
            return i + f->name_base;
        }
    return -1;
}

static int parse_field(const field *f, const char *text, uint64_t *bits, bool *star, char *err, size_t errcap)
{
    *bits = 0;
    *star = !strcmp(text, "*");
    const char *p = text;
    while (*p) {
        const char *part = p;
        int lo, hi, step = 1;
        if (*p == '*') {
            lo = f->lo;
            hi = f->hi;
            p++;
        } else {
            if ((lo = value(f, &p)) < 0) goto bad;
            hi = lo;
            if (*p == '-') {
                p++;
                if ((hi = value(f, &p)) < 0) goto bad;
            }
        }
        if (*p == '/') {
            p++;
            if (!isdigit((unsigned char)*p)) goto bad;
            step = 0;
            while (isdigit((unsigned char)*p) && step < 1000) step = step * 10 + (*p++ - '0');
            if (step < 1) goto bad;
        }
        if (*p && *p != ',') goto bad;
        if (lo < f->lo || hi > f->hi || lo > hi) {
            snprintf(err, errcap, "%s \"%.*s\": values run %d-%d, low-high", f->name, (int)(p - part), part,
                     f->lo, f->hi);
            return -1;
        }
        for (int v = lo; v <= hi; v += step) *bits |= UINT64_C(1) << (f == &FIELDS[4] && v == 7 ? 0 : v);
        if (*p == ',') {
            p++;
            if (!*p) goto bad;
        }
        continue;
bad:
        snprintf(err, errcap, "%s \"%s\": want *, N, A-B, */S, A-B/S or a comma list%s (\"L\", \"W\", \"#\" "
                 "and \"?\" are not supported)", f->name, text,
                 f->names ? (f == &FIELDS[3] ? " (or jan-dec)" : " (or sun-sat)") : "");
        return -1;
    }
    return 0;
}

int cron_parse(const char *text, cron_expr *out, char *err, size_t errcap)
{
    static const struct { const char *name, *expr; } SHORT[] = {
        { "@hourly", "0 * * * *" }, { "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
        { "@weekly", "0 0 * * 0" }, { "@monthly", "0 0 1 * *" }, { "@yearly", "0 0 1 1 *" },
        { "@annually", "0 0 1 1 *" },
    };
    memset(out, 0, sizeof *out);
    if (!text) text = "";
    for (size_t i = 0; i < sizeof SHORT / sizeof *SHORT; i++)
        if (!strcasecmp(text, SHORT[i].name)) text = SHORT[i].expr;
    char buf[256];
    if (strlen(text) >= sizeof buf) {
        snprintf(err, errcap, "the cron expression is longer than %zu bytes", sizeof buf - 1);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", text);
    char *f[6], *save = NULL;
    int n = 0;
    for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == 6) break;
        f[n++] = t;
    }
    if (n != 5) {
        snprintf(err, errcap, "\"%s\" has %d field%s; a cron expression has 5: minute hour day-of-month month "
                 "day-of-week (\"0 22 * * *\" is every day at 22:00; seconds are not supported)", text, n,
                 n == 1 ? "" : "s");
        return -1;
    }
    uint64_t b[5];
    bool star[5];
    for (int i = 0; i < 5; i++)
        if (parse_field(&FIELDS[i], f[i], &b[i], &star[i], err, errcap) != 0) return -1;
    out->minute = b[0];
    out->hour = (uint32_t)b[1];
    out->dom = (uint32_t)b[2];
    out->month = (uint16_t)b[3];
    out->dow = (uint8_t)b[4];
    out->dom_star = star[2];
    out->dow_star = star[4];
    return 0;
}

bool cron_tz_valid(const char *tz)
{
    if (!tz || !*tz || !strcmp(tz, "UTC")) return true;
    if (tz[0] == '/' || strstr(tz, "..")) return false;
    for (const char *c = tz; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("/_-+", *c)) return false;
    char path[512];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    return access(path, R_OK) == 0;
}

static bool day_matches(const cron_expr *c, const struct tm *tm)
{
    bool dom = (c->dom >> tm->tm_mday) & 1, dow = (c->dow >> tm->tm_wday) & 1;
    if (c->dom_star || c->dow_star) return dom && dow;
    return dom || dow;
}

static pthread_mutex_t tz_mu = PTHREAD_MUTEX_INITIALIZER;

int64_t cron_next(const cron_expr *c, const char *tz, int64_t after_s)
{
    pthread_mutex_lock(&tz_mu);
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    bool had = getenv("TZ") != NULL;
    setenv("TZ", tz && *tz ? tz : "UTC", 1);
    tzset();
    int64_t result = -1;
    time_t t = (time_t)(after_s - after_s % 60 + 60);        /* the next whole minute */
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_sec = 0;
    /* Walk the wall clock: whole days skipped while the day does not match, hours while
     * the hour does not, then minutes (at most 5 years of days). */
    for (int guard = 0; guard < 5 * 366 * 24 * 60 && result < 0; guard++) {
        if (!((c->month >> (tm.tm_mon + 1)) & 1) || !day_matches(c, &tm)) {
            tm.tm_mday++;
            tm.tm_hour = tm.tm_min = 0;
        } else if (!((c->hour >> tm.tm_hour) & 1)) {
            tm.tm_hour++;
            tm.tm_min = 0;
        } else if (!((c->minute >> tm.tm_min) & 1)) {
            tm.tm_min++;
        } else {
            struct tm probe = tm;
            probe.tm_isdst = -1;
            time_t at = mktime(&probe);
            if (at != (time_t)-1 && at > after_s) {
                result = at;
                break;
            }
            tm.tm_min++;
        }
        /* normalize the wall clock without a zone: timegm on the fields */
        time_t w = timegm(&tm);
        gmtime_r(&w, &tm);
        if (tm.tm_year > 1900 + 10000) break;
    }
    if (had) setenv("TZ", old, 1);
    else unsetenv("TZ");
    tzset();
    free(old);
    pthread_mutex_unlock(&tz_mu);
    return result;
}
