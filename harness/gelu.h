/* gelu.h: GELU (exact, erf form) and its derivative over contiguous spans of floats, in one portable
 * version and AVX2 and AVX-512 versions chosen by what the CPU has, all giving the same bits. */
#ifndef FAITH_GELU_H
#define FAITH_GELU_H

#include <stddef.h>

/* pre[i] += bias[i], then act[i] = gelu(pre[i]), for i < n. */
void faith_gelu_span_forward(float *act, float *pre, const float *bias, size_t n);
/* dpre[i] = dact[i] * gelu'(pre[i]); dpre may alias dact. */
void faith_gelu_span_backward(float *dpre, const float *dact, const float *pre, size_t n);

/* Makes every later call use version name, "avx512f", "avx2" or "portable" (NULL: the best the CPU
 * has again); returns -1, changing nothing, when the CPU or the build lacks it. For tests and
 * measurements; not thread-safe against running kernels. */
int faith_gelu_use(const char *name);

#endif
