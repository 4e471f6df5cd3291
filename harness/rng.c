/* rng.c: counter-based generator: draw i of a stream is splitmix64's finaliser applied to
 * key + (i+1) * golden-gamma, so any draw can be computed without the ones before it. */
#include "rng.h"

#include <math.h>

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t faith_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    if (s)
        for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return h;
}

void faith_rng_init(faith_rng *r, uint64_t seed, int64_t example_id, const char *name)
{
    uint64_t k = mix64(seed + 0x9e3779b97f4a7c15ULL);
    k = mix64(k ^ ((uint64_t)example_id + 0x632be59bd9b4e019ULL));
    k = mix64(k ^ faith_hash_str(name));
    r->key = k;
    r->counter = 0;
}

uint64_t faith_rng_u64(faith_rng *r)
{
    r->counter++;
    return mix64(r->key + r->counter * 0x9e3779b97f4a7c15ULL);
}

double faith_rng_uniform(faith_rng *r)
{
    return (double)(faith_rng_u64(r) >> 11) * 0x1.0p-53;
}

double faith_rng_normal(faith_rng *r)
{
    double u1 = 1.0 - faith_rng_uniform(r); /* (0, 1]: log is finite */
    double u2 = faith_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t faith_rng_below(faith_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = faith_rng_u64(r);
    while (x >= limit);
    return x % n;
}
