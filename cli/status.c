#include "cli/status.h"
#include <stdio.h>

void status_draw(double elapsed_s, uint32_t users, uint32_t peak, double rps, double p95_ms,
                 uint64_t failures, uint64_t requests, bool final)
{
    double err_pct = requests ? 100.0 * (double)failures / (double)requests : 0;
    fprintf(stderr, "\r\033[K[%6.1fs] users %u/%u  req/s %.1f  p95 %.1f ms  errors %llu (%.2f%%)  requests %llu%s",
            elapsed_s, users, peak, rps, p95_ms, (unsigned long long)failures, err_pct,
            (unsigned long long)requests, final ? "\n" : "");
    fflush(stderr);
}
