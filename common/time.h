/* Clocks. Monotonic microseconds for every duration we measure (NTP cannot jump them);
 * wall-clock milliseconds only for timestamps written into results. */
#ifndef COMMON_TIME_H
#define COMMON_TIME_H
#include <stdint.h>
uint64_t time_mono_us(void);     /* CLOCK_MONOTONIC */
uint64_t time_wall_ms(void);     /* CLOCK_REALTIME, ms since the epoch */
/* "YYYY-mm-ddTHH:MM:SSZ" (UTC) into buf (>= 21 bytes); returns buf. */
char *time_iso8601(uint64_t wall_ms, char *buf, unsigned cap);
#endif
