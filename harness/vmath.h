/* vmath.h: exp and erf for float as branch-free inline code, so that the elementwise loops using
 * them (GELU and its gradient) compile to vector instructions instead of one libm call per element. */
#ifndef FAITH_VMATH_H
#define FAITH_VMATH_H

#include <stdint.h>
#include <string.h>

/* Cody-Waite reduction x = n ln2 + r, |r| <= ln2 / 2, then a degree-6 polynomial for e^r (Cephes'
 * coefficients, within 2 ulp of expf over the clamped range); 2^n is built in the exponent bits.
 * Inputs below -87.3 give ~1e-38 rather than denormals: their products with anything in the
 * network are zero to float precision anyway. */
static inline __attribute__((always_inline)) float faith_vexpf(float x)
{
    x = x < -87.3f ? -87.3f : x > 88.7f ? 88.7f : x;
    /* round(x / ln2) with the 1.5 * 2^23 trick: an add and a subtract, which vectorise where
     * rintf would not on baseline x86-64. */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return e * scale;
}

/* erf within 1.2e-7 absolute (checked against libm in tests/test_layers.c). Near zero, where
 * 1 - erfc would cancel, the odd Taylor series to x^15 (error below 4e-9 for |x| < 0.7); elsewhere
 * erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z / 2), the Chebyshev fit of Numerical Recipes
 * (relative error below 1.2e-7). Both are computed and one is selected, so the loop has no branch. */
static inline __attribute__((always_inline)) float faith_verff(float x)
{
    float z = x < 0 ? -x : x, z2 = z * z;
    float t = 1.0f / (1.0f + 0.5f * z);
    float p = 0.17087277f;
    p = p * t + -0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t + -1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t + -0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t + -1.26551223f;
    float far = 1.0f - t * faith_vexpf(-z2 + p);
    float q = -1.0f / 75600.0f; /* (-1)^n / (n! (2n + 1)), n = 7 down to 0 */
    q = q * z2 + 1.0f / 9360.0f;
    q = q * z2 + -1.0f / 1320.0f;
    q = q * z2 + 1.0f / 216.0f;
    q = q * z2 + -1.0f / 42.0f;
    q = q * z2 + 1.0f / 10.0f;
    q = q * z2 + -1.0f / 3.0f;
    q = q * z2 + 1.0f;
    float near = 1.12837916709551257f * z * q; /* 2 / sqrt(pi) */
    float v = z < 0.7f ? near : far;
    return x < 0 ? -v : v;
}

#endif
