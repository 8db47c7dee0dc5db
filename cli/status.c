/* The status line (contract: cli/status.h).
 *
 * Decision: the open model's lag reads "-" while nothing has started in the interval
 * (NaN), so that a quiet interval is not shown as a perfect 0.0 ms. */
#include "cli/status.h"
#include <math.h>
#include <stddef.h>
#include <stdio.h>

char *status_format(char *buf, size_t cap, double elapsed_s, const status_open *o,
                    uint32_t users, uint32_t peak, double rps, double p95_ms,
                    uint64_t failures, uint64_t requests)
{
    if (!buf || cap == 0)
        return buf;
    double err_pct = requests ? 100.0 * (double)failures / (double)requests : 0;
    int n = snprintf(buf, cap, "[%6.1fs] ", elapsed_s);
    if (o && n >= 0 && (size_t)n < cap) {
        char lag[32];
        if (isnan(o->lag_p99_ms))
            snprintf(lag, sizeof lag, "-");
        else
            snprintf(lag, sizeof lag, "%.1f ms", o->lag_p99_ms);
        n += snprintf(buf + n, cap - (size_t)n, "rate %.1f/%.1f/s  dropped %llu  lag p99 %s  ",
                      o->rate_achieved, o->rate_planned, (unsigned long long)o->dropped, lag);
    }
    if (n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "users %u/%u  req/s %.1f  p95 %.1f ms  errors %llu "
                 "(%.2f%%)  requests %llu", users, peak, rps, p95_ms,
                 (unsigned long long)failures, err_pct, (unsigned long long)requests);
    return buf;
}

void status_draw(double elapsed_s, uint32_t users, uint32_t peak, double rps, double p95_ms,
                 uint64_t failures, uint64_t requests, bool final)
{
    char line[512];
    status_format(line, sizeof line, elapsed_s, NULL, users, peak, rps, p95_ms, failures, requests);
    fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
    fflush(stderr);
}

void status_draw_open(double elapsed_s, const status_open *o, uint32_t users, uint32_t pool,
                      double rps, double p95_ms, uint64_t failures, uint64_t requests,
                      bool final)
{
    char line[512];
    status_format(line, sizeof line, elapsed_s, o, users, pool, rps, p95_ms, failures, requests);
    fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
    fflush(stderr);
}
