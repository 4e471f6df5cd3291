/* testmodel.c: faith_test_linear_model, a 1-layer DistilBERT whose logits are an exact affine
 * function of its tokens, built from hand-set weights so tests know the answer in closed form. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testmodel.h"

/* Hidden size 8, 2 heads, FFN 4. Directions: u = e0 - e1 carries the word signal, w = e2 - e3
 * carries the attention output. Both have zero mean, so LayerNorm's centring leaves them alone,
 * and with eps = 2^32 >> variance and gamma = 2^16 the normalisation is the identity up to
 * rounding: every LayerNorm becomes x -> x - mean(x). */
#define TC 8
#define LN_EPS 4294967296.0f /* 2^32 */
#define LN_GAMMA 65536.0f    /* sqrt(eps) */
#define HEAD_SHIFT 16.0f     /* keeps the ReLU unit active while the mean value exceeds -16 */

static float *param(faith_model *m, const char *name)
{
    size_t n;
    float *p = faith_model_params(m, &n);
    for (size_t i = 0; i < faith_model_param_count(m); i++) {
        const faith_param_view *v = faith_model_param_at(m, i);
        if (strcmp(v->name, name) == 0) return p + v->offset;
    }
    return NULL;
}

int faith_test_linear_model(int32_t vocab, const float *value, float bias, int32_t max_pos,
                            faith_model **out)
{
    faith_model_config c;
    memset(&c, 0, sizeof c);
    c.arch = FAITH_ARCH_DISTILBERT;
    c.n_layers = 1;
    c.n_heads = 2;
    c.d_model = TC;
    c.d_ffn = 4;
    c.vocab_size = vocab;
    c.max_pos = max_pos;
    c.n_classes = 2;
    c.ln_eps = LN_EPS;
    c.classifier_dropout = -1;
    faith_err err;
    if (faith_model_create_random(&c, 0, out, &err) < 0) return -1;
    faith_model *m = *out;
    size_t np;
    float *all = faith_model_params(m, &np);
    memset(all, 0, sizeof(float) * np);
    float *E = param(m, "distilbert.embeddings.word_embeddings.weight");
    for (int32_t v = 0; v < vocab; v++) {
        /* E[v] = value[v] u / |u|^2, so dot(u, E[v]) = value[v]. */
        E[(size_t)v * TC + 0] = value[v] * 0.5f;
        E[(size_t)v * TC + 1] = -value[v] * 0.5f;
    }
    /* Embedding LayerNorm keeps only the u-plane (dims 0, 1); the sa LayerNorm only the w-plane. */
    float *g = param(m, "distilbert.embeddings.LayerNorm.weight");
    g[0] = g[1] = LN_GAMMA;
    g = param(m, "distilbert.transformer.layer.0.sa_layer_norm.weight");
    g[2] = g[3] = LN_GAMMA;
    g = param(m, "distilbert.transformer.layer.0.output_layer_norm.weight");
    for (int k = 0; k < TC; k++) g[k] = LN_GAMMA;
    /* Q = K = 0: uniform attention over the n valid tokens. V = identity. */
    float *Wv = param(m, "distilbert.transformer.layer.0.attention.v_lin.weight");
    for (int k = 0; k < TC; k++) Wv[k * TC + k] = 1.0f;
    /* out_lin = w u^T: maps the mean word vector (S/n) u / |u|^2 to (S/n) w. */
    float *Wo = param(m, "distilbert.transformer.layer.0.attention.out_lin.weight");
    const float u[TC] = {1, -1, 0, 0, 0, 0, 0, 0}, w[TC] = {0, 0, 1, -1, 0, 0, 0, 0};
    for (int i = 0; i < TC; i++)
        for (int j = 0; j < TC; j++) Wo[i * TC + j] = w[i] * u[j];
    /* pre_classifier: unit 0 = relu(w . h / |w|^2 + shift) = S/n + shift, unit 1 = relu(shift). */
    float *Wp = param(m, "pre_classifier.weight"), *bp = param(m, "pre_classifier.bias");
    for (int j = 0; j < TC; j++) Wp[j] = w[j] * 0.5f;
    bp[0] = bp[1] = HEAD_SHIFT;
    /* classifier: logit 0 = 0, logit 1 = unit0 - unit1 + bias. */
    float *Wc = param(m, "classifier.weight"), *bc = param(m, "classifier.bias");
    Wc[TC + 0] = 1.0f;
    Wc[TC + 1] = -1.0f;
    bc[1] = bias;
    return 0;
}
