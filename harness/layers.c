/* layers.c: forward/backward kernels of the encoder layers. Matrix products are cblas_sgemm calls, one
 * per sequence by default (faith_rows), cut into small tiles where OpenBLAS has small-matrix kernels;
 * elementwise work is fused into single vectorised passes
 * (bias+GELU, bias+residual+LayerNorm, softmax); loops run on OpenMP's pool, which OpenBLAS shares. */
#include "layers.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>
#include <strings.h>

#include "gelu.h"
#include "rng.h"
#include "vmath.h"

/* Loops over sequences or rows run on OpenMP's pool only when it has more than one thread (and, for
 * elementwise passes, enough work to pay for it); otherwise as plain loops. libgomp makes a futex
 * system call for every parallel region, even a team of one under a false `if` clause, and on a small
 * model one thread spent longer in those calls than in the elementwise passes. Outside a region, with
 * one thread, OpenBLAS (OpenMP build) runs single-threaded too, so the plain loop gives the same bits. */
#define PAR_LOOP(pragma, cond, type, i, n, ...)                                                            \
    do {                                                                                                   \
        type n_ = (n);                                                                                     \
        if ((cond) && omp_get_max_threads() > 1) {                                                         \
            _Pragma(pragma) for (type i = 0; i < n_; i++) { __VA_ARGS__ }                                  \
        } else {                                                                                           \
            for (type i = 0; i < n_; i++) { __VA_ARGS__ }                                                  \
        }                                                                                                  \
    } while (0)
#define PAR_FOR_DYNAMIC(cond, type, i, n, ...) \
    PAR_LOOP("omp parallel for schedule(dynamic)", cond, type, i, n, __VA_ARGS__)
#define PAR_FOR_STATIC(cond, type, i, n, ...) \
    PAR_LOOP("omp parallel for schedule(static)", cond, type, i, n, __VA_ARGS__)

/* ---- tiled products ---- */

/* OpenBLAS 0.3.21's limit for its small-matrix kernels (M * N * K), and the tile width. */
#define FAITH_SMALL_MNK 1000000.0
#define FAITH_TILE_COLS 64

int faith_blas_small_kernels(void)
{
    static const char *const families[] = {"skylakex", "cooperlake", "sapphirerapids"};
    const char *core = openblas_get_corename();
    for (size_t i = 0; core && i < sizeof families / sizeof families[0]; i++)
        if (strcasecmp(core, families[i]) == 0) return 1;
    return 0;
}

/* 16 rows where they fit, else 8: measured on Zen 4, 8- and 16-row tiles were within 10 % (mostly 3 %)
 * of the best tile height at every shape of the engine, and below 8 rows the kernel slows down. */
int faith_linear_tile_rows(int K)
{
    for (int r = 16; r >= 8; r -= 8)
        if ((double)r * FAITH_TILE_COLS * K <= FAITH_SMALL_MNK) return r;
    return 0;
}

/* out (n, OUT) = a (n, K) @ b (K, OUT) + beta out in tiles. b is a plain row-major (K, OUT) matrix,
 * or with panels column block j is a contiguous (K, width) panel at b + j * K (the layouts of
 * faith_linear_copy for the forward and faith_linear_copy_cols for the input gradient).
 * Columns are the outer loop, so every tile of rows after the first reads the block from cache.
 * Callers check tiles_fit(), so K has a tile height. */
static void tiled(float *out, const float *a, const float *b, int panels, int n, int K, int OUT, float beta)
{
    int mr = faith_linear_tile_rows(K);
    for (int j = 0; j < OUT; j += FAITH_TILE_COLS) {
        int cw = OUT - j < FAITH_TILE_COLS ? OUT - j : FAITH_TILE_COLS;
        const float *bj = panels ? b + (size_t)j * K : b + j;
        int ldb = panels ? cw : OUT;
        for (int i = 0; i < n; i += mr) {
            int rw = n - i < mr ? n - i : mr;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rw, cw, K, 1.0f, a + (size_t)i * K, K, bj, ldb,
                        beta, out + (size_t)i * OUT + j, OUT);
        }
    }
}

static int tiles_fit(int tiles, int K) { return tiles && faith_linear_tile_rows(K) > 0; }

void faith_linear_copy(float *wt, const float *w, int IN, int OUT, int tiles)
{
    int panels = tiles_fit(tiles, IN);
    /* 64 outputs at a time: their 64 rows of w stay in cache while the copy walks along IN. */
    for (int p0 = 0; p0 < OUT; p0 += FAITH_TILE_COLS) {
        int cw = OUT - p0 < FAITH_TILE_COLS ? OUT - p0 : FAITH_TILE_COLS;
        float *dst = panels ? wt + (size_t)p0 * IN : wt + p0;
        size_t ld = panels ? (size_t)cw : (size_t)OUT;
        for (int i = 0; i < IN; i++)
            for (int o = 0; o < cw; o++) dst[(size_t)i * ld + o] = w[(size_t)(p0 + o) * IN + i];
    }
}

/* One product over n rows: out = inp @ w^T (+ bias) with w (OUT, IN), or from wt, the copy made by
 * faith_linear_copy, when given. Seeding out with the bias lets the BLAS accumulate onto it: one
 * pass instead of two. A single row (the first-token layer, the head, any one-token sequence) is a
 * matrix-vector product: sgemm would pack the whole weight for that one row, which measured 4-6
 * times slower than sgemv reading it in place. It always reads w, so every layout gives one row
 * the same bits. */
static void product(float *out, const float *inp, const float *w, const float *wt, const float *bias, int n,
                    int IN, int OUT, int tiles)
{
    float beta = 0.0f;
    if (bias) {
        for (int i = 0; i < n; i++) memcpy(out + (size_t)i * OUT, bias, sizeof(float) * (size_t)OUT);
        beta = 1.0f;
    }
    if (n == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, OUT, IN, 1.0f, w, IN, inp, 1, beta, out, 1);
    else if (wt && tiles_fit(tiles, IN))
        tiled(out, inp, wt, 1, n, IN, OUT, beta);
    else if (wt)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, OUT, IN, 1.0f, inp, IN, wt, OUT, beta, out, OUT);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, OUT, IN, 1.0f, inp, IN, w, IN, beta, out, OUT);
}

static int rows_valid(const faith_rows *r, int b) { return r->len ? r->len[b] : r->T; }

/* Batched products cover whole sequences, about FAITH_GROUP_ROWS rows at a time: enough rows to
 * amortise OpenBLAS's packing of the weights, and groups fixed by the batch's shape alone. */
#define FAITH_GROUP_ROWS 256
static int group_size(const faith_rows *r)
{
    int g = (FAITH_GROUP_ROWS + r->T - 1) / r->T;
    return g < 1 ? 1 : g;
}

static int n_groups(const faith_rows *r) { return (r->B + group_size(r) - 1) / group_size(r); }

/* First row and row count of group g. */
static void group_rows(const faith_rows *r, int g, size_t *row0, int *rows)
{
    int G = group_size(r), b0 = g * G, nb = r->B - b0 < G ? r->B - b0 : G;
    *row0 = (size_t)b0 * r->T;
    *rows = nb * r->T;
}

/* Products run one sequence (per-sequence) or one group of sequences (batched) per OpenMP
 * iteration: OpenBLAS (OpenMP build) then runs each sgemm or sgemv single-threaded, so which thread
 * computes a row, and how many threads there are, cannot change its bits. */
static void linear_forward(float *out, const float *inp, const float *w, const float *wt, const float *bias,
                           const faith_rows *r, int IN, int OUT)
{
    if (!r->per_seq) {
        PAR_FOR_DYNAMIC(1, int, g, n_groups(r), {
            size_t o;
            int n;
            group_rows(r, g, &o, &n);
            product(out + o * OUT, inp + o * IN, w, wt, bias, n, IN, OUT, r->tiles);
        });
        return;
    }
    PAR_FOR_DYNAMIC(1, int, b, r->B, {
        int L = rows_valid(r, b);
        float *o = out + (size_t)b * r->T * OUT;
        product(o, inp + (size_t)b * r->T * IN, w, wt, bias, L, IN, OUT, r->tiles);
        if (L < r->T) memset(o + (size_t)L * OUT, 0, sizeof(float) * (size_t)(r->T - L) * OUT);
    });
}

void faith_linear_forward(float *out, const float *inp, const float *w, const float *bias,
                          const faith_rows *r, int IN, int OUT)
{
    linear_forward(out, inp, w, NULL, bias, r, IN, OUT);
}

void faith_linear_forward_t(float *out, const float *inp, const float *w, const float *wt, const float *bias,
                            const faith_rows *r, int IN, int OUT)
{
    linear_forward(out, inp, w, wt, bias, r, IN, OUT);
}

void faith_linear_copy_cols(float *wc, const float *w, int IN, int OUT)
{
    for (int c0 = 0; c0 < IN; c0 += FAITH_TILE_COLS) {
        int cw = IN - c0 < FAITH_TILE_COLS ? IN - c0 : FAITH_TILE_COLS;
        float *dst = wc + (size_t)c0 * OUT;
        for (int o = 0; o < OUT; o++) memcpy(dst + (size_t)o * cw, w + (size_t)o * IN + c0, sizeof(float) * (size_t)cw);
    }
}

/* dinp (n, IN) = dout (n, OUT) @ w (+ beta dinp); one row as a matrix-vector product, as forward.
 * Tiles read the column panels wc when given, else w's strided column blocks in place: as fast from
 * cache, but a quarter slower once the weights no longer fit in it (DESIGN.md). Either way a tile
 * is the same small sgemm over the same values, whose sums do not depend on the stride. */
static void input_grad(float *dinp, const float *dout, const float *w, const float *wc, int n, int IN, int OUT,
                       float beta, int tiles)
{
    if (n == 1)
        cblas_sgemv(CblasRowMajor, CblasTrans, OUT, IN, 1.0f, w, IN, dout, 1, beta, dinp, 1);
    else if (tiles_fit(tiles, OUT))
        tiled(dinp, dout, wc ? wc : w, wc != NULL, n, OUT, IN, beta);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, IN, OUT, 1.0f, dout, OUT, w, IN, beta, dinp, IN);
}

void faith_linear_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                           const float *w, const faith_rows *r, int IN, int OUT, int accumulate)
{
    faith_linear_backward_t(dinp, dw, dbias, dout, inp, w, NULL, r, IN, OUT, accumulate);
}

void faith_linear_backward_t(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                             const float *w, const float *wc, const faith_rows *r, int IN, int OUT,
                             int accumulate)
{
    int N = r->B * r->T;
    float beta = accumulate ? 1.0f : 0.0f;
    if (dinp && !r->per_seq) {
        PAR_FOR_DYNAMIC(1, int, g, n_groups(r), {
            size_t o;
            int n;
            group_rows(r, g, &o, &n);
            input_grad(dinp + o * IN, dout + o * OUT, w, wc, n, IN, OUT, beta, r->tiles);
        });
    }
    if (dinp && r->per_seq) {
        PAR_FOR_DYNAMIC(1, int, b, r->B, {
            int L = rows_valid(r, b);
            float *d = dinp + (size_t)b * r->T * IN;
            input_grad(d, dout + (size_t)b * r->T * OUT, w, wc, L, IN, OUT, beta, r->tiles);
            if (L < r->T && !accumulate) memset(d + (size_t)L * IN, 0, sizeof(float) * (size_t)(r->T - L) * IN);
        });
    }
    /* Weight gradients sum over every row of the batch (padding rows carry zero gradient), in fixed
     * blocks of 64 output features, each one single-threaded product: the bits depend on the batch,
     * not on the thread count. */
    if (dw) {
        int nblk = (OUT + 63) / 64;
        PAR_FOR_DYNAMIC(1, int, k, nblk, {
            int o0 = k * 64, ob = OUT - o0 < 64 ? OUT - o0 : 64;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ob, IN, N, 1.0f, dout + o0, OUT, inp, IN, 1.0f,
                        dw + (size_t)o0 * IN, IN);
        });
    }
    if (dbias)
        for (int n = 0; n < N; n++) {
            const float *row = dout + (size_t)n * OUT;
            for (int o = 0; o < OUT; o++) dbias[o] += row[o];
        }
}

/* Row loops run on the OpenMP pool when big enough to pay for it; rows are independent, so the
 * thread count never changes a value. */
#define FAITH_PAR_MIN 65536

/* The LayerNorm and softmax loops are built for AVX-512, AVX2 and baseline x86-64 and the loader
 * picks one for the machine. Every variant does the same IEEE operations in the same order per
 * element, without FMA contraction (-ffp-contract=off), so all give the same bits. (GELU's own
 * versions live in gelu.c.) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
#define FAITH_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FAITH_CLONES
#endif

void faith_bias_gelu_forward(float *act, float *pre, const float *bias, int N, int C)
{
    PAR_FOR_STATIC((size_t)N * C > FAITH_PAR_MIN, int, n, N,
                   { faith_gelu_span_forward(act + (size_t)n * C, pre + (size_t)n * C, bias, (size_t)C); });
}

void faith_gelu_backward(float *dpre, const float *dact, const float *pre, size_t n)
{
    const size_t span = 4096;
    long spans = (long)((n + span - 1) / span);
    PAR_FOR_STATIC(n > FAITH_PAR_MIN, long, s, spans, {
        size_t o = (size_t)s * span, m = n - o < span ? n - o : span;
        faith_gelu_span_backward(dpre + o, dact + o, pre + o, m);
    });
}

/* Sums in double over 8 interleaved lanes (lane j takes elements j, j + 8, ...) combined in a fixed
 * order, then the tail: a fixed order of operations, like a sequential sum but 8 chains deep, so the
 * compiler can keep them in vector registers and the bits do not depend on how it does. */
#define LANES 8
static inline double lanes_total(const double *l)
{
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

FAITH_CLONES static void ln_row_forward(float *dst, float *s, float *mean, float *rstd, const float *x,
                                        const float *y, const float *ybias, const float *gamma,
                                        const float *beta, int C, float eps)
{
    /* The elementwise loops carry `omp simd`: their pointers may alias element for element (in
     * place), which -O2 cannot rule out, so without it they run one float at a time. Each element
     * still sees the same operations in the same order, so the bits are those of the scalar loop. */
    if (y && ybias) {
#pragma omp simd
        for (int c = 0; c < C; c++) s[c] = x[c] + y[c] + ybias[c];
    } else if (y) {
#pragma omp simd
        for (int c = 0; c < C; c++) s[c] = x[c] + y[c];
    } else if (ybias) {
#pragma omp simd
        for (int c = 0; c < C; c++) s[c] = x[c] + ybias[c];
    } else if (s != x)
        memcpy(s, x, sizeof(float) * (size_t)C);
    double l[LANES] = {0};
    int c = 0, body = C - C % LANES;
    for (c = 0; c < body; c += LANES)
        for (int j = 0; j < LANES; j++) l[j] += s[c + j];
    double acc = lanes_total(l);
    for (; c < C; c++) acc += s[c];
    float m = (float)(acc / C);
    double v[LANES] = {0};
    for (c = 0; c < body; c += LANES)
        for (int j = 0; j < LANES; j++) {
            double d = (double)s[c + j] - m;
            v[j] += d * d;
        }
    double var = lanes_total(v);
    for (; c < C; c++) {
        double d = (double)s[c] - m;
        var += d * d;
    }
    /* Biased variance and eps inside the root, as torch.nn.LayerNorm. */
    float r = (float)(1.0 / sqrt(var / C + (double)eps));
#pragma omp simd
    for (c = 0; c < C; c++) dst[c] = (s[c] - m) * r * gamma[c] + beta[c];
    *mean = m;
    *rstd = r;
}

void faith_residual_layernorm_forward(float *out, float *sum, float *mean, float *rstd, const float *x,
                                      const float *y, const float *ybias, const float *gamma,
                                      const float *beta, int N, int C, float eps)
{
    PAR_FOR_STATIC((size_t)N * C > FAITH_PAR_MIN, int, n, N, {
        size_t o = (size_t)n * C;
        ln_row_forward(out + o, sum + o, mean + n, rstd + n, x + o, y ? y + o : NULL, ybias, gamma, beta, C,
                       eps);
    });
}

FAITH_CLONES static void ln_row_backward(float *di, float *dgamma, float *dbeta, const float *d,
                                         const float *x, float m, float r, const float *gamma, int C)
{
    double la[LANES] = {0}, lb[LANES] = {0}; /* sums of dnorm and of dnorm * norm */
    int c, body = C - C % LANES;
    for (c = 0; c < body; c += LANES)
        for (int j = 0; j < LANES; j++) {
            float norm = (x[c + j] - m) * r;
            float dn = d[c + j] * gamma[c + j];
            la[j] += dn;
            lb[j] += (double)dn * norm;
        }
    double a = lanes_total(la), b = lanes_total(lb);
    for (; c < C; c++) {
        float norm = (x[c] - m) * r;
        float dn = d[c] * gamma[c];
        a += dn;
        b += (double)dn * norm;
    }
    float am = (float)(a / C), bm = (float)(b / C);
#pragma omp simd
    for (c = 0; c < C; c++) {
        float norm = (x[c] - m) * r;
        di[c] = (d[c] * gamma[c] - am - norm * bm) * r;
    }
    if (dgamma) {
#pragma omp simd
        for (c = 0; c < C; c++) dgamma[c] += (x[c] - m) * r * d[c];
    }
    if (dbeta) {
#pragma omp simd
        for (c = 0; c < C; c++) dbeta[c] += d[c];
    }
}

void faith_layernorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                              const float *inp, const float *mean, const float *rstd,
                              const float *gamma, int N, int C)
{
    /* Rows are independent unless dgamma/dbeta accumulate across them (training). */
    PAR_FOR_STATIC(!dgamma && !dbeta && (size_t)N * C > FAITH_PAR_MIN, int, n, N, {
        size_t o = (size_t)n * C;
        ln_row_backward(dinp + o, dgamma, dbeta, dout + o, inp + o, mean[n], rstd[n], gamma, C);
    });
}

/* Softmax of row[0..n) in place: the exponentials vectorised (vmath.h), their sum over 8 lanes in a
 * fixed order (as in LayerNorm), so every build and instruction set gives the same bits. */
FAITH_CLONES static void softmax_inplace(float *row, int n)
{
    /* The maximum only shifts the exponent's argument; it is exact whatever order the lanes take
     * (a -0 against +0 aside, which subtracts to the same values), so it runs in 16 lanes from the
     * first element, then a tree. (A reduction clause from the second element left a 128-wide row
     * with a 15-element scalar tail and a serial 16-step horizontal max: a quarter of the softmax.) */
    float m16[16];
    for (int k = 0; k < 16; k++) m16[k] = row[0];
    int j, body = n - n % 16;
    for (j = 0; j < body; j += 16)
        for (int k = 0; k < 16; k++) m16[k] = row[j + k] > m16[k] ? row[j + k] : m16[k];
    for (int k = 0; k < 8; k++) m16[k] = m16[k + 8] > m16[k] ? m16[k + 8] : m16[k];
    for (int k = 0; k < 4; k++) m16[k] = m16[k + 4] > m16[k] ? m16[k + 4] : m16[k];
    for (int k = 0; k < 2; k++) m16[k] = m16[k + 2] > m16[k] ? m16[k + 2] : m16[k];
    float mx = m16[1] > m16[0] ? m16[1] : m16[0];
    for (; j < n; j++) mx = row[j] > mx ? row[j] : mx;
#pragma omp simd
    for (j = 0; j < n; j++) row[j] = faith_vexpf(row[j] - mx);
    float l[LANES] = {0};
    body = n - n % LANES;
    for (j = 0; j < body; j += LANES)
        for (int k = 0; k < LANES; k++) l[k] += row[j + k];
    float s = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    for (; j < n; j++) s += row[j];
    float inv = 1.0f / s;
#pragma omp simd
    for (j = 0; j < n; j++) row[j] *= inv;
}

/* Zero the parts of a (T, T) block outside its leading (L, L) corner. */
static void zero_outside(float *blk, int L, int T)
{
    if (L < T)
        for (int i = 0; i < L; i++) memset(blk + (size_t)i * T + L, 0, sizeof(float) * (size_t)(T - L));
    if (L < T) memset(blk + (size_t)L * T, 0, sizeof(float) * (size_t)(T - L) * (size_t)T);
}

/* The attention loops below open a parallel region over sequences whenever the pool has several
 * threads, even for one sequence: every sgemm inside then runs single-threaded, so its bits never
 * depend on the thread count. */
void faith_attention_probs(float *att, const float *qkv, const int32_t *len, int B, int T, int C,
                           int NH)
{
    int hd = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hd);
    PAR_FOR_DYNAMIC(1, int, b, B, {
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
    });
}

void faith_attention_context(float *ctx, const float *attv, const float *qkv, const int32_t *len,
                             int B, int T, int C, int NH)
{
    int hd = C / NH, C3 = 3 * C;
    PAR_FOR_DYNAMIC(1, int, b, B, {
        int L = len[b];
        const float *base = qkv + (size_t)b * T * C3;
        float *out = ctx + (size_t)b * T * C;
        for (int h = 0; h < NH; h++) {
            const float *blk = attv + ((size_t)b * NH + h) * T * T;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, hd, L, 1.0f, blk, T,
                        base + 2 * C + h * hd, C3, 0.0f, out + h * hd, C);
        }
        if (L < T) memset(out + (size_t)L * C, 0, sizeof(float) * (size_t)(T - L) * C);
    });
}

void faith_attention_context_backward(float *dattv, float *dqkv, const float *dctx, const float *attv,
                                      const float *qkv, const int32_t *len, int B, int T, int C,
                                      int NH)
{
    int hd = C / NH, C3 = 3 * C;
    PAR_FOR_DYNAMIC(1, int, b, B, {
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
    });
}

void faith_attention_probs_backward(float *dqkv, const float *datt, const float *att, const float *qkv,
                                    float *scratch, const int32_t *len, int B, int T, int C, int NH)
{
    int hd = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hd);
    PAR_FOR_DYNAMIC(1, int, b, B, {
        int L = len[b];
        const float *base = qkv + (size_t)b * T * C3;
        float *dbase = dqkv + (size_t)b * T * C3;
        float *sc = scratch + (size_t)b * T * T;
        for (int h = 0; h < NH; h++) {
            size_t bo = ((size_t)b * NH + h) * T * T;
            /* dS = P * (dP - rowsum(P * dP)) * scale, packed as (L, L) with leading dim L. */
            for (int i = 0; i < L; i++) {
                const float *p = att + bo + (size_t)i * T, *dp = datt + bo + (size_t)i * T;
                float dot = 0;
                for (int j = 0; j < L; j++) dot += p[j] * dp[j];
                float *ds = sc + (size_t)i * L;
                _Pragma("omp simd") for (int j = 0; j < L; j++) ds[j] = p[j] * (dp[j] - dot) * scale;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, hd, L, 1.0f, sc, L,
                        base + C + h * hd, C3, 0.0f, dbase + h * hd, C3);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, hd, L, 1.0f, sc, L,
                        base + h * hd, C3, 0.0f, dbase + C + h * hd, C3);
        }
    });
}

/* Folded first-token attention (layers.h). Every product is one sequence's, single-threaded, so a
 * sequence's bits depend on that sequence alone. Weight gradients sum over the batch in one product
 * per head after the per-sequence loop. */
void faith_attention_folded_probs(float *att1, float *u, const float *q1, const float *x, const float *wk,
                                  const int32_t *len, int B, int T, int C, int NH)
{
    int hd = C / NH;
    float scale = 1.0f / sqrtf((float)hd);
    PAR_FOR_DYNAMIC(1, int, b, B, {
        int L = len[b];
        float *ub = u + (size_t)b * NH * C, *pb = att1 + (size_t)b * NH * T;
        for (int h = 0; h < NH; h++) /* u_h = scale * q_h Wk_h (a matrix-vector product, as in product()) */
            cblas_sgemv(CblasRowMajor, CblasTrans, hd, C, scale, wk + (size_t)h * hd * C, C,
                        q1 + (size_t)b * C + h * hd, 1, 0.0f, ub + (size_t)h * C, 1);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, NH, L, C, 1.0f, ub, C, x + (size_t)b * T * C, C, 0.0f,
                    pb, T);
        for (int h = 0; h < NH; h++) {
            float *row = pb + (size_t)h * T;
            softmax_inplace(row, L);
            if (L < T) memset(row + L, 0, sizeof(float) * (size_t)(T - L));
        }
    });
}

/* The weights' sum: 1 for softmax probabilities (to rounding), not under attention dropout, where
 * the value bias enters each context in proportion to it. */
static float weight_sum(const float *p, int L)
{
    float s = 0;
    for (int j = 0; j < L; j++) s += p[j];
    return s;
}

void faith_attention_folded_context(float *ctx1, float *xbar, const float *attv1, const float *x,
                                    const float *wv, const float *bv, const int32_t *len, int B, int T, int C,
                                    int NH)
{
    int hd = C / NH;
    PAR_FOR_DYNAMIC(1, int, b, B, {
        float *xb = xbar + (size_t)b * NH * C, *cb = ctx1 + (size_t)b * C;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NH, C, len[b], 1.0f, attv1 + (size_t)b * NH * T, T,
                    x + (size_t)b * T * C, C, 0.0f, xb, C);
        for (int h = 0; h < NH; h++) { /* ctx_h = xbar_h Wv_h^T + (sum_j attv_j) bv_h */
            float w = weight_sum(attv1 + ((size_t)b * NH + h) * T, len[b]);
            for (int e = 0; e < hd; e++) cb[h * hd + e] = w * bv[h * hd + e];
            cblas_sgemv(CblasRowMajor, CblasNoTrans, hd, C, 1.0f, wv + (size_t)h * hd * C, C, xb + (size_t)h * C, 1,
                        1.0f, cb + h * hd, 1);
        }
    });
}

/* dw_h (hd, C) += alpha * a_h^T g_h summed over the batch: a_h is hd columns of rows C apart (a
 * per-sequence vector of C split by head), g_h rows of C, NH * C apart. */
static void head_outer_sum(float *dw, const float *a, const float *g, float alpha, int B, int C, int NH)
{
    int hd = C / NH;
    PAR_FOR_DYNAMIC(1, int, h, NH, {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hd, C, B, alpha, a + h * hd, C, g + (size_t)h * C,
                    NH * C, 1.0f, dw + (size_t)h * hd * C, C);
    });
}

void faith_attention_folded_context_backward(float *dattv1, float *dx, float *dxbar, float *dwv, float *dbv,
                                             const float *dctx1, const float *attv1, const float *xbar,
                                             const float *x, const float *wv, const float *bv, const int32_t *len,
                                             int B, int T, int C, int NH)
{
    int hd = C / NH;
    PAR_FOR_DYNAMIC(1, int, b, B, {
        int L = len[b];
        float *db = dxbar + (size_t)b * NH * C, *dxb = dx + (size_t)b * T * C, *dpb = dattv1 + (size_t)b * NH * T;
        const float *xb = x + (size_t)b * T * C, *pb = attv1 + (size_t)b * NH * T;
        for (int h = 0; h < NH; h++) /* d xbar_h = dctx_h Wv_h */
            cblas_sgemv(CblasRowMajor, CblasTrans, hd, C, 1.0f, wv + (size_t)h * hd * C, C,
                        dctx1 + (size_t)b * C + h * hd, 1, 0.0f, db + (size_t)h * C, 1);
        /* dP = d xbar x^T + dctx . bv (the value bias, per head); dx = P^T d xbar */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, NH, L, C, 1.0f, db, C, xb, C, 0.0f, dpb, T);
        for (int h = 0; h < NH; h++) {
            float *row = dpb + (size_t)h * T, g = 0;
            for (int e = 0; e < hd; e++) g += dctx1[(size_t)b * C + h * hd + e] * bv[h * hd + e];
            for (int j = 0; j < L; j++) row[j] += g;
            if (L < T) memset(row + L, 0, sizeof(float) * (size_t)(T - L));
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, C, NH, 1.0f, pb, T, db, C, 0.0f, dxb, C);
        if (L < T) memset(dxb + (size_t)L * C, 0, sizeof(float) * (size_t)(T - L) * C);
    });
    if (dwv) head_outer_sum(dwv, dctx1, xbar, 1.0f, B, C, NH);
    if (dbv)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++) {
                float w = weight_sum(attv1 + ((size_t)b * NH + h) * T, len[b]);
                for (int e = 0; e < hd; e++) dbv[h * hd + e] += w * dctx1[(size_t)b * C + h * hd + e];
            }
}

void faith_attention_folded_probs_backward(float *dq1, float *dx, float *du, float *dwk, float *scratch,
                                           const float *datt1, const float *att1, const float *u, const float *q1,
                                           const float *x, const float *wk, const int32_t *len, int B, int T,
                                           int C, int NH)
{
    int hd = C / NH;
    float scale = 1.0f / sqrtf((float)hd);
    PAR_FOR_DYNAMIC(1, int, b, B, {
        int L = len[b];
        float *ds = scratch + (size_t)b * NH * T, *dub = du + (size_t)b * NH * C;
        const float *xb = x + (size_t)b * T * C;
        for (int h = 0; h < NH; h++) { /* dS = P * (dP - sum(P * dP)); the scale lives in u */
            const float *p = att1 + ((size_t)b * NH + h) * T, *dp = datt1 + ((size_t)b * NH + h) * T;
            float *d = ds + (size_t)h * T, dot = 0;
            for (int j = 0; j < L; j++) dot += p[j] * dp[j];
            for (int j = 0; j < L; j++) d[j] = p[j] * (dp[j] - dot);
        }
        /* du = dS x; dx += dS^T u; dq_h = scale * du_h Wk_h^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NH, C, L, 1.0f, ds, T, xb, C, 0.0f, dub, C);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, C, NH, 1.0f, ds, T, u + (size_t)b * NH * C, C, 1.0f,
                    dx + (size_t)b * T * C, C);
        for (int h = 0; h < NH; h++)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, hd, C, scale, wk + (size_t)h * hd * C, C, dub + (size_t)h * C, 1,
                        0.0f, dq1 + (size_t)b * C + h * hd, 1);
    });
    if (dwk) head_outer_sum(dwk, q1, du, scale, B, C, NH);
}

void faith_dropout_apply_rows(float *x, size_t rows, size_t cols, size_t stride, float p, uint64_t key)
{
    if (p <= 0.0f) return;
    float keep_scale = 1.0f / (1.0f - p);
    /* Compare 32-bit draws against the threshold: cheap and exact enough for dropout. */
    uint64_t thr = (uint64_t)((double)p * 4294967296.0);
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < cols; k++) {
            faith_rng g = {key, r * stride + k};
            uint64_t u = faith_rng_u64(&g) >> 32;
            float *v = x + r * cols + k;
            *v = u < thr ? 0.0f : *v * keep_scale;
        }
}

void faith_dropout_apply(float *x, size_t n, float p, uint64_t key) { faith_dropout_apply_rows(x, 1, n, n, p, key); }

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
    /* NaN passes, as in PyTorch: a NaN turned into 0 here would hide an overflow from the logits check */
    for (size_t i = 0; i < n; i++) out[i] = inp[i] <= 0.0f ? 0.0f : inp[i];
}

void faith_relu_backward(float *dinp, const float *dout, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) dinp[i] = inp[i] > 0.0f ? dout[i] : 0.0f;
}
