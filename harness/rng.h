/* rng.h: the counter-based random generator every random choice in Faith comes from.
 * A stream is keyed by (run seed, example id, component name); draw i depends only on the key and i. */
#ifndef FAITH_RNG_H
#define FAITH_RNG_H

#include <stdint.h>

/* Plain data: copying a faith_rng forks the stream at its current position. */
typedef struct faith_rng {
    uint64_t key;     /* hash of (seed, example id, name) */
    uint64_t counter; /* index of the next draw */
} faith_rng;

/* Key a stream so the same (seed, example_id, name) gives the same draws on any rank,
 * in any batch and at any thread count. name may be NULL. */
void faith_rng_init(faith_rng *r, uint64_t seed, int64_t example_id, const char *name);

uint64_t faith_rng_u64(faith_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double faith_rng_uniform(faith_rng *r);
/* Standard normal (Box-Muller on two draws, no cached state). */
double faith_rng_normal(faith_rng *r);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t faith_rng_below(faith_rng *r, uint64_t n);

/* 64-bit FNV-1a of a string, used to fold names into keys. */
uint64_t faith_hash_str(const char *s);

#endif
