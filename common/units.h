/* Units as data (wrk's units.c): durations "250ms", "10s", "5m", "1h", "1h30m", a bare
 * number meaning seconds; percentages "0.1%"; rates "50/s", "3000/m", a bare number
 * meaning per second. Pure functions, no allocation. */
#ifndef COMMON_UNITS_H
#define COMMON_UNITS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
/* 0 and *out_ms on success; -1 on a malformed text (nothing written). Accepts us/ms/s/m/h,
 * fractional values ("1.5s"), and concatenations ("1h30m"). */
int units_duration_ms(const char *text, uint64_t *out_ms);
/* The longest duration units_duration_ms accepts: 10 years (366-day) in ms. */
#define UNITS_MAX_DURATION_MS (UINT64_C(10) * 366 * 24 * 3600 * 1000)
/* true when text is a well-formed duration that is only refused for being longer than
 * UNITS_MAX_DURATION_MS ("9999999h"), so a message can name the limit. */
bool units_duration_too_long(const char *text);
/* The message for a refused duration given to option opt ("-t"): names the limit when
 * the text is only too long, else the expected form. Always NUL-terminates buf. */
void units_duration_problem(const char *opt, const char *text, char *buf, size_t cap);
/* Rates: "50" (per second), "50/s", "3000/m", "100/h", "2.5/s"; spaces around the
 * number and the unit are allowed ("50 / s"). 0 and *out_per_s (per second) on success;
 * -1 on a malformed text (nothing written). No upper bound here: callers check theirs
 * (common/loadshape.h SC_MAX_RATE). */
int units_rate(const char *text, double *out_per_s);
/* Formats a duration compactly ("1.5s", "5m", "250ms") into buf. */
char *units_format_ms(uint64_t ms, char *buf, unsigned cap);
#endif
