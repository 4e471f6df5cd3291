/* vmath.h: exp for float as branch-free inline code, so that the elementwise loops using it (the
 * softmax) compile to vector instructions instead of one libm call per element. */
#ifndef FAITH_VMATH_H
#define FAITH_VMATH_H

#include <stdint.h>
#include <string.h>

/* Cody-Waite reduction x = n ln2 + r, |r| <= ln2 / 2, then a degree-6 polynomial for e^r (Cephes'
 * coefficients, within 2 ulp of expf over the clamped range); 2^n is built in the exponent bits.
 * Inputs below -87.3 give ~1e-38 rather than denormals: their products with anything in the
 * network are zero to float precision anyway. NaN gives NaN. */
static inline __attribute__((always_inline)) float faith_vexpf(float x)
{
    x = x < -87.3f ? -87.3f : x > 88.7f ? 88.7f : x;
    /* A NaN (a diverged model) passes the clamp; it takes exponent 0 so the integer conversion
     * below stays defined, and reaches the result through r. */
    float xn = x == x ? x : 0.0f;
    /* round(x / ln2) with the 1.5 * 2^23 trick: an add and a subtract, which vectorise where
     * rintf would not on baseline x86-64. */
    float n = (xn * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return e * scale;
}

#endif
