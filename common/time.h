/* Clocks. Monotonic microseconds for every duration we measure (NTP cannot jump them);
 * wall-clock time only for timestamps written into results and fan-out stamps. */
#ifndef COMMON_TIME_H
#define COMMON_TIME_H
#include <stdint.h>
uint64_t time_mono_us(void);     /* CLOCK_MONOTONIC */
uint64_t time_wall_ms(void);     /* CLOCK_REALTIME, ms since the epoch */
/* CLOCK_REALTIME, µs since the epoch: WebSocket fan-out stamps ({{ now_us }}), which a
 * sender and its receivers must read from one clock (one process, or NTP-synced hosts). */
uint64_t time_wall_us(void);
/* This process's CPU (all threads, user + system) since the previous call with the same
 * state, in % of one core; state starts zeroed (the first call measures from the
 * process start). For heartbeats; any thread, each caller its own state. */
typedef struct time_cpu { uint64_t cpu_us, mono_us; } time_cpu;
double   time_cpu_pct(time_cpu *st);
/* "YYYY-mm-ddTHH:MM:SSZ" (UTC) into buf (>= 21 bytes); returns buf. */
char *time_iso8601(uint64_t wall_ms, char *buf, unsigned cap);
#endif
