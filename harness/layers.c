/* layers.c: forward/backward kernels of the encoder layers. Matrix products are cblas_sgemm calls;
 * elementwise work is fused into single passes (bias+GELU, bias+residual+LayerNorm, scale+softmax). */
#include "layers.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "rng.h"

void faith_linear_forward(float *out, const float *inp, const float *w, const float *bias, int N,
                          int IN, int OUT)
{
    float beta = 0.0f;
    if (bias) {
        /* Seeding out with the bias lets sgemm accumulate onto it: one pass instead of two. */
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OUT, bias, sizeof(float) * (size_t)OUT);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OUT, IN, 1.0f, inp, IN, w, IN, beta, out,
                OUT);
}

void faith_linear_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                           const float *w, int N, int IN, int OUT, int accumulate)
{
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IN, OUT, 1.0f, dout, OUT, w, IN,
                    accumulate ? 1.0f : 0.0f, dinp, IN);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, N, 1.0f, dout, OUT, inp, IN, 1.0f,
                    dw, IN);
    if (dbias)
        for (int n = 0; n < N; n++) {
            const float *r = dout + (size_t)n * OUT;
            for (int o = 0; o < OUT; o++) dbias[o] += r[o];
        }
}

float faith_gelu(float x)
{
    return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
}

void faith_bias_gelu_forward(float *act, float *pre, const float *bias, int N, int C)
{
    for (int n = 0; n < N; n++) {
        float *p = pre + (size_t)n * C, *a = act + (size_t)n * C;
        for (int c = 0; c < C; c++) {
            float x = p[c] + bias[c];
            p[c] = x;
            a[c] = faith_gelu(x);
        }
    }
}

void faith_gelu_backward(float *dpre, const float *dact, const float *pre, size_t n)
{
    const float k = 0.3989422804014327f; /* 1 / sqrt(2 pi) */
    for (size_t i = 0; i < n; i++) {
        float x = pre[i];
        float cdf = 0.5f * (1.0f + erff(x * (float)M_SQRT1_2));
        dpre[i] = dact[i] * (cdf + x * k * expf(-0.5f * x * x));
    }
}

void faith_residual_layernorm_forward(float *out, float *sum, float *mean, float *rstd, const float *x,
                                      const float *y, const float *ybias, const float *gamma,
                                      const float *beta, int N, int C, float eps)
{
    for (int n = 0; n < N; n++) {
        size_t o = (size_t)n * C;
        float *s = sum + o;
        double acc = 0;
        for (int c = 0; c < C; c++) {
            float v = x[o + c];
            if (y) v += y[o + c];
            if (ybias) v += ybias[c];
            s[c] = v;
            acc += v;
        }
        float m = (float)(acc / C);
        double var = 0;
        for (int c = 0; c < C; c++) {
            double d = (double)s[c] - m;
            var += d * d;
        }
        /* Biased variance and eps inside the root, as torch.nn.LayerNorm. */
        float r = (float)(1.0 / sqrt(var / C + (double)eps));
        float *dst = out + o;
        for (int c = 0; c < C; c++) dst[c] = (s[c] - m) * r * gamma[c] + beta[c];
        mean[n] = m;
        rstd[n] = r;
    }
}

void faith_layernorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                              const float *inp, const float *mean, const float *rstd,
                              const float *gamma, int N, int C)
{
    for (int n = 0; n < N; n++) {
        size_t o = (size_t)n * C;
        const float *d = dout + o, *x = inp + o;
        float m = mean[n], r = rstd[n];
        double a = 0, b = 0; /* mean of dnorm and of dnorm * norm */
        for (int c = 0; c < C; c++) {
            float norm = (x[c] - m) * r;
            float dn = d[c] * gamma[c];
            a += dn;
            b += (double)dn * norm;
        }
        float am = (float)(a / C), bm = (float)(b / C);
        float *di = dinp + o;
        for (int c = 0; c < C; c++) {
            float norm = (x[c] - m) * r;
            if (dgamma) dgamma[c] += norm * d[c];
            if (dbeta) dbeta[c] += d[c];
            di[c] = (d[c] * gamma[c] - am - norm * bm) * r;
        }
    }
}

/* Softmax of row[0..n) in place. */
static void softmax_inplace(float *row, int n)
{
    float mx = row[0];
    for (int j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
    float s = 0;
    for (int j = 0; j < n; j++) {
        row[j] = expf(row[j] - mx);
        s += row[j];
    }
    float inv = 1.0f / s;
    for (int j = 0; j < n; j++) row[j] *= inv;
}

/* Zero the parts of a (T, T) block outside its leading (L, L) corner. */
static void zero_outside(float *blk, int L, int T)
{
    if (L < T)
        for (int i = 0; i < L; i++) memset(blk + (size_t)i * T + L, 0, sizeof(float) * (size_t)(T - L));
    if (L < T) memset(blk + (size_t)L * T, 0, sizeof(float) * (size_t)(T - L) * (size_t)T);
}

void faith_attention_probs(float *att, const float *qkv, const int32_t *len, int B, int T, int C,
                           int NH)
{
    int hd = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hd);
    for (int b = 0; b < B; b++) {
        int L = len[b];
        const float *base = qkv + (size_t)b * T * C3;
        for (int h = 0; h < NH; h++) {
            float *blk = att + ((size_t)b * NH + h) * T * T;
            /* Only the L x L valid block is computed: a row never sees T or its batch-mates. */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, hd, scale, base + h * hd, C3,
                        base + C + h * hd, C3, 0.0f, blk, T);
            for (int i = 0; i < L; i++) softmax_inplace(blk + (size_t)i * T, L);
            zero_outside(blk, L, T);
        }
    }
}

void faith_attention_context(float *ctx, const float *attv, const float *qkv, const int32_t *len,
                             int B, int T, int C, int NH)
{
    int hd = C / NH, C3 = 3 * C;
    for (int b = 0; b < B; b++) {
        int L = len[b];
        const float *base = qkv + (size_t)b * T * C3;
        float *out = ctx + (size_t)b * T * C;
        for (int h = 0; h < NH; h++) {
            const float *blk = attv + ((size_t)b * NH + h) * T * T;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, hd, L, 1.0f, blk, T,
                        base + 2 * C + h * hd, C3, 0.0f, out + h * hd, C);
        }
        if (L < T) memset(out + (size_t)L * C, 0, sizeof(float) * (size_t)(T - L) * C);
    }
}

void faith_attention_context_backward(float *dattv, float *dqkv, const float *dctx, const float *attv,
                                      const float *qkv, const int32_t *len, int B, int T, int C,
                                      int NH)
{
    int hd = C / NH, C3 = 3 * C;
    for (int b = 0; b < B; b++) {
        int L = len[b];
        const float *base = qkv + (size_t)b * T * C3;
        float *dbase = dqkv + (size_t)b * T * C3;
        const float *dc = dctx + (size_t)b * T * C;
        if (L < T) memset(dbase + (size_t)L * C3, 0, sizeof(float) * (size_t)(T - L) * C3);
        for (int h = 0; h < NH; h++) {
            size_t bo = ((size_t)b * NH + h) * T * T;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, hd, 1.0f, dc + h * hd, C,
                        base + 2 * C + h * hd, C3, 0.0f, dattv + bo, T);
            zero_outside(dattv + bo, L, T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, hd, L, 1.0f, attv + bo, T,
                        dc + h * hd, C, 0.0f, dbase + 2 * C + h * hd, C3);
        }
    }
}

void faith_attention_probs_backward(float *dqkv, const float *datt, const float *att, const float *qkv,
                                    float *scratch, const int32_t *len, int B, int T, int C, int NH)
{
    int hd = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hd);
    for (int b = 0; b < B; b++) {
        int L = len[b];
        const float *base = qkv + (size_t)b * T * C3;
        float *dbase = dqkv + (size_t)b * T * C3;
        for (int h = 0; h < NH; h++) {
            size_t bo = ((size_t)b * NH + h) * T * T;
            /* dS = P * (dP - rowsum(P * dP)) * scale, packed as (L, L) with leading dim L. */
            for (int i = 0; i < L; i++) {
                const float *p = att + bo + (size_t)i * T, *dp = datt + bo + (size_t)i * T;
                float dot = 0;
                for (int j = 0; j < L; j++) dot += p[j] * dp[j];
                float *ds = scratch + (size_t)i * L;
                for (int j = 0; j < L; j++) ds[j] = p[j] * (dp[j] - dot) * scale;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, hd, L, 1.0f, scratch, L,
                        base + C + h * hd, C3, 0.0f, dbase + h * hd, C3);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, hd, L, 1.0f, scratch, L,
                        base + h * hd, C3, 0.0f, dbase + C + h * hd, C3);
        }
    }
}

void faith_dropout_apply(float *x, size_t n, float p, uint64_t key)
{
    if (p <= 0.0f) return;
    float keep_scale = 1.0f / (1.0f - p);
    /* Compare 32-bit draws against the threshold: cheap and exact enough for dropout. */
    uint64_t thr = (uint64_t)((double)p * 4294967296.0);
    for (size_t i = 0; i < n; i++) {
        faith_rng r = {key, i};
        uint64_t u = faith_rng_u64(&r) >> 32;
        x[i] = u < thr ? 0.0f : x[i] * keep_scale;
    }
}

void faith_tanh_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = tanhf(inp[i]);
}

void faith_tanh_backward(float *dinp, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) dinp[i] = dout[i] * (1.0f - out[i] * out[i]);
}

void faith_relu_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void faith_relu_backward(float *dinp, const float *dout, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) dinp[i] = inp[i] > 0.0f ? dout[i] : 0.0f;
}
