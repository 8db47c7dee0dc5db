/* The virtual user's random generator: xorshift64* (Vigna), one 64-bit state per user,
 * advanced by whoever holds it (the VU's engine thread). Templates (rand_int, uuid), row
 * choice of random feeders and think-time ranges draw from it. Header only: no state,
 * no allocation, no failure. A zero state (which xorshift would keep forever) is
 * replaced by a fixed odd constant on first use. */
#ifndef COMMON_RNG_H
#define COMMON_RNG_H
#include <stdint.h>

static inline uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    if (x == 0)
        x = 0x9E3779B97F4A7C15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}
#endif
