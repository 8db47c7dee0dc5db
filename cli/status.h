/* The live status line of a run on a terminal, one format for local and remote runs:
 *   [  12.0s] users 120/200  req/s 1534.0  p95 12.3 ms  errors 0 (0.00%)  requests 15000
 * and in the open model (issue 11) the schedule first, users against the pool:
 *   [  12.0s] rate 49.8/50.0/s  dropped 0  lag p99 0.4 ms  users 12/400  req/s 150.0 ...
 * (rate achieved/planned over the last complete interval, dropped over the run so far).
 * Main thread only; writes to stderr. final ends the line. */
#ifndef CLI_STATUS_H
#define CLI_STATUS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
void status_draw(double elapsed_s, uint32_t users, uint32_t peak, double rps, double p95_ms,
                 uint64_t failures, uint64_t requests, bool final);

/* The open model's figures; status_draw_open draws them before the common ones. */
typedef struct status_open {
    double   rate_planned, rate_achieved;   /* per second, last complete interval */
    uint64_t dropped;                       /* run so far */
    double   lag_p99_ms;                    /* last complete interval; NaN: none started */
} status_open;
void status_draw_open(double elapsed_s, const status_open *o, uint32_t users, uint32_t pool,
                      double rps, double p95_ms, uint64_t failures, uint64_t requests,
                      bool final);
/* The line's text without drawing it (the "\r\033[K" prefix and final's newline left
 * out), for tests and logs; o NULL: the closed model's line. Returns buf. */
char *status_format(char *buf, size_t cap, double elapsed_s, const status_open *o,
                    uint32_t users, uint32_t peak, double rps, double p95_ms,
                    uint64_t failures, uint64_t requests);
#endif
