/* The live status line of a run on a terminal, one format for local and remote runs:
 *   [  12.0s] users 120/200  req/s 1534.0  p95 12.3 ms  errors 0 (0.00%)  requests 15000
 * Main thread only; writes to stderr. final ends the line. */
#ifndef CLI_STATUS_H
#define CLI_STATUS_H
#include <stdbool.h>
#include <stdint.h>
void status_draw(double elapsed_s, uint32_t users, uint32_t peak, double rps, double p95_ms,
                 uint64_t failures, uint64_t requests, bool final);
#endif
