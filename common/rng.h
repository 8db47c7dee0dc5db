/* The virtual user's random generator: xorshift64* (Vigna), one 64-bit state per user,
 * advanced by whoever holds it (the VU's engine thread). Templates (rand_int, uuid), row
 * choice of random feeders and think-time ranges draw from it; the open model's poisson
 * arrivals draw their exponential gaps (rng_exp) from one state per slot. Header only: no state,
 * no allocation, no failure. A zero state (which xorshift would keep forever) is
 * replaced by a fixed odd constant on first use. */
#ifndef COMMON_RNG_H
#define COMMON_RNG_H
#include <math.h>
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

/* A state for stream b of run a: splitmix64 (Steele, Lea, Flood) over both, so that
 * neighbouring (a, b) give unrelated streams (xorshift states that differ by a pattern
 * keep drawing correlated values). Never 0. */
static inline uint64_t rng_seed(uint64_t a, uint64_t b)
{
    uint64_t z = a;
    for (int i = 0; i < 2; i++) {
        z += 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        z ^= i == 0 ? b : 0;
    }
    return z ? z : 1;
}

/* Uniform in [0, 1): the top 53 bits of one draw. */
static inline double rng_unit(uint64_t *state)
{
    return (double)(rng_next(state) >> 11) * 0x1.0p-53;
}

/* Exponential with mean 1 (inverse transform: -log(1 - u), u in [0, 1), so the result
 * is finite and >= 0; at most ~36.7). */
static inline double rng_exp(uint64_t *state)
{
    return -log1p(-rng_unit(state));
}
#endif
