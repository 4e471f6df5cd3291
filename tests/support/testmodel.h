/* testmodel.h: hand-built models with known outputs for tests of explainers and metrics, and
 * helpers shared by test programs (temp dirs, tensor comparison). */
#ifndef FAITH_TESTMODEL_H
#define FAITH_TESTMODEL_H

#include <stdint.h>

#include "model.h"

/* A 2-class, 1-layer DistilBERT-architecture model whose output is an exact affine function of
 * which tokens are present:
 *     logits[0] = 0,  logits[1] = bias + (1/n) * sum_{t < n} value[ids[t]]
 * for any input of n tokens (the attention is uniform over the n valid tokens, the layer norms are
 * made linear, the head stays in ReLU's linear range). Exact up to float32 rounding (about 1e-6
 * relative). vocab entries: value (vocab). max_pos >= longest test input. The function of the word
 * embeddings is linear too: logits[1] = bias + (1/n) * sum_t dot(u, e_t) for a fixed direction u,
 * where e_t is row ids[t] of the word-embedding matrix (value[v] = dot(u, E[v])). */
int faith_test_linear_model(int32_t vocab, const float *value, float bias, int32_t max_pos,
                            faith_model **out);

/* Make a fresh temporary directory (under $TMPDIR or /tmp) into buf; returns 0 or -1. */
int faith_test_tmpdir(char *buf, size_t cap);

/* Max |a - b| over n entries. */
double faith_test_max_abs_diff(const float *a, const float *b, size_t n);

#endif
