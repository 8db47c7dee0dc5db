/* Cron expressions for schedules (issue 14): the five fields of crontab(5),
 *   minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or jan-dec)
 *   day-of-week (0-7 or sun-sat; 0 and 7 are Sunday)
 * each "*", a number, a range "a-b", a step "*" "/" "s" or "a-b/s", or a comma list of
 * those; the names are case-insensitive. As in Vixie cron, when both day-of-month and
 * day-of-week are restricted (neither is "*"), a day matches if either does. The
 * shorthands @hourly, @daily (@midnight), @weekly, @monthly, @yearly (@annually) are
 * accepted. Seconds, "L", "W", "#" and "?" are not (an error says so).
 *
 * Times are evaluated in a time zone (an IANA name such as "Europe/Berlin", from the
 * system's tzdata; NULL or "" = UTC). Daylight saving: a wall time that does not exist
 * that day (the spring gap) fires once, shifted forward by the gap as mktime(3)
 * normalizes it (02:30 -> 03:30); a wall time that happens twice (autumn) fires once.
 *
 * Threads: cron_parse is pure. cron_next switches the process's TZ under a mutex
 * (setenv + tzset + mktime/localtime_r) and puts it back: any thread may call it, but a
 * thread reading local time outside this module at the same moment could see the
 * other zone; the daemons only use UTC and monotonic clocks elsewhere. */
#ifndef COMMON_CRON_H
#define COMMON_CRON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cron_expr {
    uint64_t minute;            /* bit m set: minute m matches */
    uint32_t hour;              /* bits 0-23 */
    uint32_t dom;               /* bits 1-31 */
    uint16_t month;             /* bits 1-12 */
    uint8_t  dow;               /* bits 0-6 (Sunday 0) */
    bool     dom_star, dow_star;
} cron_expr;

/* 0, or -1 with a message naming the field and the bad part and a hint. */
int cron_parse(const char *text, cron_expr *out, char *err, size_t errcap);
/* true when tz is a zone the system knows (its tzdata file exists), or NULL/"" (UTC). */
bool cron_tz_valid(const char *tz);
/* The first time strictly after after_s (seconds since the epoch) that matches, in
 * seconds since the epoch; -1 when none within 5 years (e.g. "0 0 30 2 *"). */
int64_t cron_next(const cron_expr *c, const char *tz, int64_t after_s);
#endif
