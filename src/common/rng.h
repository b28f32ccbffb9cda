/* rng.h - deterministic, keyed random streams (xoshiro256** seeded by splitmix64).
 *
 * Every stochastic decision in cgpc draws from a stream that is a pure function of a key:
 * (seed, a, b) such as (run seed, generation, offspring index) or (seed, epoch, batch).
 * Streams never depend on the thread that uses them, so results are bit-identical for any
 * thread count. Never use rand(). A cgpc_rng is 32 bytes of plain state: copy it freely. */
#ifndef CGPC_RNG_H
#define CGPC_RNG_H

#include <stdint.h>

typedef struct cgpc_rng {
    uint64_t s[4];
} cgpc_rng;

/* splitmix64 step: advances *state and returns a well-mixed 64-bit value. */
static inline uint64_t cgpc_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* cgpc_hash3 in two steps, for many b under one (seed, a): cgpc_hash3(seed, a, b) ==
 * cgpc_hash3_b(cgpc_hash3_ab(seed, a), b). */
static inline uint64_t cgpc_hash3_ab(uint64_t seed, uint64_t a)
{
    uint64_t st = seed;
    uint64_t h = cgpc_splitmix64(&st);
    st = h ^ (a * 0xD6E8FEB86659FD93ull);
    return cgpc_splitmix64(&st);
}

static inline uint64_t cgpc_hash3_b(uint64_t ab, uint64_t b)
{
    uint64_t st = ab ^ (b * 0xA0761D6478BD642Full);
    return cgpc_splitmix64(&st);
}

/* Hash of (seed, a, b) into 64 bits; distinct keys give independent-looking values. */
static inline uint64_t cgpc_hash3(uint64_t seed, uint64_t a, uint64_t b)
{
    return cgpc_hash3_b(cgpc_hash3_ab(seed, a), b);
}

/* Seed a stream from the key (seed, a, b). */
static inline void cgpc_rng_seed(cgpc_rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t st = cgpc_hash3(seed, a, b);
    for (int i = 0; i < 4; i++)
        r->s[i] = cgpc_splitmix64(&st);
}

static inline uint64_t cgpc_rng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* Next 64 random bits (xoshiro256**). */
static inline uint64_t cgpc_rng_u64(cgpc_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = cgpc_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = cgpc_rng_rotl(s[3], 45);
    return result;
}

/* Uniform integer in [0, n), n >= 1, without modulo bias (Lemire's method). */
static inline uint32_t cgpc_rng_below(cgpc_rng *r, uint32_t n)
{
    uint64_t m = (uint64_t)(uint32_t)(cgpc_rng_u64(r) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)(uint32_t)(cgpc_rng_u64(r) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* (2^32 - n) mod n: the rejection threshold of cgpc_rng_below for n, to compute once. */
static inline uint32_t cgpc_rng_threshold(uint32_t n) { return (uint32_t)(-n) % n; }

/* cgpc_rng_below with the threshold precomputed (no division): the same numbers. */
static inline uint32_t cgpc_rng_below_t(cgpc_rng *r, uint32_t n, uint32_t threshold)
{
    uint64_t m = (uint64_t)(uint32_t)(cgpc_rng_u64(r) >> 32) * n;
    while ((uint32_t)m < threshold)
        m = (uint64_t)(uint32_t)(cgpc_rng_u64(r) >> 32) * n;
    return (uint32_t)(m >> 32);
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double cgpc_rng_double(cgpc_rng *r)
{
    return (double)(cgpc_rng_u64(r) >> 11) * 0x1.0p-53;
}

/* Uniform float in [0, 1) with 24 random bits. */
static inline float cgpc_rng_float(cgpc_rng *r)
{
    return (float)(cgpc_rng_u64(r) >> 40) * 0x1.0p-24f;
}

/* Standard normal deviate (Box-Muller; one of the pair is discarded for simplicity). */
double cgpc_rng_normal(cgpc_rng *r);

#endif
