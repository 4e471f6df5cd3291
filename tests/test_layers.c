/* test_layers.c: each kernel of layers.c and gelu.c against a naive double-precision forward, and
 * its backward against central finite differences of J = sum(w * out) for random weights w. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gelu.h"
#include "layers.h"
#include "rng.h"
#include "vmath.h"

static faith_rng R;

static float *randv(size_t n, double sd)
{
    float *v = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) v[i] = (float)(sd * faith_rng_normal(&R));
    return v;
}

static double dotw(const float *w, const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)w[i] * x[i];
    return s;
}

/* A layer seen as J(x) for one perturbed input buffer x. */
typedef double (*objective)(void *ctx);

/* Central differences on x[i] for a spread of i; analytic gradient g. Float kernels: h = 1e-2 and
 * a tolerance that a wrong formula (off by a term or a factor) cannot meet. */
static void check_fd(float *x, const float *g, size_t n, objective f, void *ctx, const char *what)
{
    size_t step = n > 40 ? n / 40 : 1;
    for (size_t i = 0; i < n; i += step) {
        float keep = x[i], h = 1e-2f;
        x[i] = keep + h;
        double jp = f(ctx);
        x[i] = keep - h;
        double jm = f(ctx);
        x[i] = keep;
        double fd = (jp - jm) / (2.0 * h);
        if (fabs(fd - g[i]) > 2e-3 + 1e-2 * fabs(fd)) fail_msg("%s[%zu]: analytic %g, finite difference %g", what, i, g[i], fd);
    }
}

/* ---- linear ---- */
typedef struct { float *x, *w, *b, *out, *wt; int N, IN, OUT; } lin_ctx;
static double lin_J(void *p)
{
    lin_ctx *c = p;
    faith_rows all = faith_rows_all(c->N);
    faith_linear_forward(c->out, c->x, c->w, c->b, &all, c->IN, c->OUT);
    return dotw(c->wt, c->out, (size_t)c->N * c->OUT);
}

static void test_linear(void **s)
{
    (void)s;
    lin_ctx c = {0};
    c.N = 5, c.IN = 7, c.OUT = 6;
    c.x = randv(35, 1), c.w = randv(42, 0.5), c.b = randv(6, 0.5), c.out = randv(30, 0), c.wt = randv(30, 1);
    lin_J(&c);
    for (int n = 0; n < c.N; n++)
        for (int o = 0; o < c.OUT; o++) {
            double r = c.b[o];
            for (int k = 0; k < c.IN; k++) r += (double)c.x[n * c.IN + k] * c.w[o * c.IN + k];
            assert_true(fabs(r - c.out[n * c.OUT + o]) < 1e-5);
        }
    float *dx = randv(35, 0), *dw = calloc(42, sizeof(float)), *db = calloc(6, sizeof(float));
    faith_rows all = faith_rows_all(c.N);
    faith_linear_backward(dx, dw, db, c.wt, c.x, c.w, &all, c.IN, c.OUT, 0);
    check_fd(c.x, dx, 35, lin_J, &c, "linear dx");
    check_fd(c.w, dw, 42, lin_J, &c, "linear dw");
    check_fd(c.b, db, 6, lin_J, &c, "linear db");
    /* accumulate adds onto what is there; weight grads accumulate across calls */
    float *dx2 = malloc(sizeof(float) * 35);
    for (int i = 0; i < 35; i++) dx2[i] = 1.0f;
    faith_linear_backward(dx2, dw, NULL, c.wt, c.x, c.w, &all, c.IN, c.OUT, 1);
    for (int i = 0; i < 35; i++) assert_true(fabsf(dx2[i] - (dx[i] + 1.0f)) < 1e-5f);
    free(dx2); free(dx); free(dw); free(db); free(c.x); free(c.w); free(c.b); free(c.out); free(c.wt);
}

/* The forward from the weight copy (transposed, or in panels for tiled products) and the input
 * gradient (whole or tiled; from w or from its column panels, bit for bit the same), at the lengths
 * and shapes the engine sees, per sequence and batched,
 * with and without bias: values against float64 sums (bits may differ between layouts: OpenBLAS's
 * AVX-512 kernels sum them in different orders), and per sequence a sequence's rows have the bits
 * of the same sequence computed alone. Shapes cover 16-row tiles (IN 64..512), 8-row ones (1024),
 * none (2000: the copy stays transposed), outputs that are not a multiple of the 64-column tile,
 * and lengths with partial row tiles. Tiled products are exercised whatever this machine's BLAS:
 * only their speed depends on it. */
static void test_linear_transposed(void **s)
{
    (void)s;
    const int shapes[][2] = {{64, 192}, {128, 512}, {512, 128}, {96, 96}, {40, 2}, {1024, 70}, {2000, 3}};
    const int lens[] = {1, 5, 13, 17, 32, 40};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        int IN = shapes[k][0], OUT = shapes[k][1], B = 6, T = 40;
        float *x = randv((size_t)B * T * IN, 1), *w = randv((size_t)OUT * IN, 0.3), *b = randv((size_t)OUT, 0.3);
        float *dy = randv((size_t)B * T * OUT, 1), *dx = malloc(sizeof(float) * B * T * IN);
        float *wc = malloc(sizeof(float) * OUT * IN), *dxc = malloc(sizeof(float) * B * T * IN),
              *dxa = malloc(sizeof(float) * B * T * IN);
        faith_linear_copy_cols(wc, w, IN, OUT);
        for (int o = 0; o < OUT; o++) /* column panels: each 64 columns of w (fewer last) an (OUT, cw) block */
            for (int i = 0; i < IN; i++) {
                int c0 = i - i % 64, cw = IN - c0 < 64 ? IN - c0 : 64;
                assert_true(wc[(size_t)c0 * OUT + (size_t)o * cw + (size_t)(i - c0)] == w[(size_t)o * IN + i]);
            }
        float *wt = malloc(sizeof(float) * OUT * IN), *o1 = malloc(sizeof(float) * B * T * OUT),
              *o2 = malloc(sizeof(float) * B * T * OUT), *alone = malloc(sizeof(float) * T * (OUT > IN ? OUT : IN));
        int32_t len[6];
        memcpy(len, lens, sizeof len);
        for (int tiles = 0; tiles < 2; tiles++) {
            faith_linear_copy(wt, w, IN, OUT, tiles);
            for (int per = 0; per < 2; per++)
                for (int bias = 0; bias < 2; bias++) {
                    faith_rows r = {B, T, len, per, tiles};
                    faith_linear_forward(o1, x, w, bias ? b : NULL, &r, IN, OUT);
                    faith_linear_forward_t(o2, x, w, wt, bias ? b : NULL, &r, IN, OUT);
                    if (bias) {
                        /* The input gradient from column panels: the same tiles, so the same bits as
                         * from w's strided blocks, overwriting and accumulating. */
                        faith_linear_backward(dx, NULL, NULL, dy, x, w, &r, IN, OUT, 0);
                        faith_linear_backward_t(dxc, NULL, NULL, dy, x, w, wc, &r, IN, OUT, 0);
                        if (memcmp(dx, dxc, sizeof(float) * B * T * IN) != 0)
                            fail_msg("IN %d OUT %d tiles %d per_seq %d: column panels change the input gradient's "
                                     "bits", IN, OUT, tiles, per);
                        memcpy(dxa, dx, sizeof(float) * B * T * IN);
                        faith_linear_backward(dxa, NULL, NULL, dy, x, w, &r, IN, OUT, 1);
                        faith_linear_backward_t(dxc, NULL, NULL, dy, x, w, wc, &r, IN, OUT, 1);
                        if (memcmp(dxa, dxc, sizeof(float) * B * T * IN) != 0)
                            fail_msg("IN %d OUT %d tiles %d per_seq %d: column panels change the accumulated input "
                                     "gradient's bits", IN, OUT, tiles, per);
                    }
                    for (int q = 0; q < B; q++)
                        for (int t = 0; t < len[q]; t++) {
                            size_t row = (size_t)q * T + t;
                            for (int o = 0; o < OUT; o++) {
                                double want = bias ? b[o] : 0.0, mag = fabs(want);
                                for (int i = 0; i < IN; i++) {
                                    double term = (double)x[row * IN + i] * w[(size_t)o * IN + i];
                                    want += term, mag += fabs(term);
                                }
                                double e1 = fabs(o1[row * OUT + o] - want), e2 = fabs(o2[row * OUT + o] - want);
                                if (e1 > 1e-5 * mag || e2 > 1e-5 * mag)
                                    fail_msg("IN %d OUT %d tiles %d per_seq %d bias %d: row %zu output %d is %g / %g, "
                                             "want %g", IN, OUT, tiles, per, bias, row, o, o1[row * OUT + o],
                                             o2[row * OUT + o], want);
                            }
                            if (!bias) continue;
                            for (int i = 0; i < IN; i++) {
                                double want = 0, mag = 0;
                                for (int o = 0; o < OUT; o++) {
                                    double term = (double)dy[row * OUT + o] * w[(size_t)o * IN + i];
                                    want += term, mag += fabs(term);
                                }
                                if (fabs(dx[row * IN + i] - want) > 1e-5 * mag)
                                    fail_msg("IN %d OUT %d tiles %d per_seq %d: input gradient row %zu [%d] is %g, "
                                             "want %g", IN, OUT, tiles, per, row, i, dx[row * IN + i], want);
                            }
                        }
                    if (!per) continue;
                    for (int q = 0; q < B; q++) {
                        faith_rows one = {1, len[q], NULL, 1, tiles};
                        faith_linear_forward_t(alone, x + (size_t)q * T * IN, w, wt, bias ? b : NULL, &one, IN, OUT);
                        if (memcmp(alone, o2 + (size_t)q * T * OUT, sizeof(float) * (size_t)len[q] * OUT) != 0)
                            fail_msg("IN %d OUT %d tiles %d bias %d: sequence %d has other bits alone", IN, OUT, tiles,
                                     bias, q);
                        if (!bias) continue;
                        faith_linear_backward(alone, NULL, NULL, dy + (size_t)q * T * OUT, x + (size_t)q * T * IN, w,
                                              &one, IN, OUT, 0);
                        if (memcmp(alone, dx + (size_t)q * T * IN, sizeof(float) * (size_t)len[q] * IN) != 0)
                            fail_msg("IN %d OUT %d tiles %d: sequence %d has other input-gradient bits alone", IN,
                                     OUT, tiles, q);
                    }
                }
        }
        free(x); free(w); free(b); free(dy); free(dx); free(wt); free(o1); free(o2); free(alone);
        free(wc); free(dxc); free(dxa);
    }
}

/* Tile heights follow OpenBLAS's small-kernel limit: 16 x 64 x K <= 10^6 or else 8 x 64 x K. */
static void test_tile_rows(void **s)
{
    (void)s;
    assert_int_equal(faith_linear_tile_rows(64), 16);
    assert_int_equal(faith_linear_tile_rows(976), 16);
    assert_int_equal(faith_linear_tile_rows(977), 8);
    assert_int_equal(faith_linear_tile_rows(1953), 8);
    assert_int_equal(faith_linear_tile_rows(1954), 0);
    assert_int_equal(faith_linear_tile_rows(3072), 0);
}

/* One-row products (the first-token layer, the head, one-token sequences) take the matrix-vector
 * path: values against double, per sequence and batched, forward (both layouts, with and without
 * bias) and the input gradient (overwriting and accumulating); and per sequence, a row's bits are
 * those of the same row computed on its own. */
static void test_linear_one_row(void **s)
{
    (void)s;
    const int shapes[][2] = {{64, 192}, {128, 512}, {512, 128}, {40, 2}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        int IN = shapes[k][0], OUT = shapes[k][1], B = 3;
        float *x = randv((size_t)B * IN, 1), *w = randv((size_t)OUT * IN, 0.3), *b = randv((size_t)OUT, 0.3),
              *dy = randv((size_t)B * OUT, 1), *dx = malloc(sizeof(float) * B * IN),
              *wt = malloc(sizeof(float) * OUT * IN), *o = malloc(sizeof(float) * B * OUT),
              *o1 = malloc(sizeof(float) * OUT);
        for (int r = 0; r < OUT; r++)
            for (int i = 0; i < IN; i++) wt[(size_t)i * OUT + r] = w[(size_t)r * IN + i];
        for (int mode = 0; mode < 4; mode++) {
            int per = mode & 1, use_t = mode >> 1;
            faith_rows rows = {B, 1, NULL, per, 0};
            if (use_t) faith_linear_forward_t(o, x, w, wt, b, &rows, IN, OUT);
            else faith_linear_forward(o, x, w, b, &rows, IN, OUT);
            for (int r = 0; r < B; r++) {
                for (int j = 0; j < OUT; j++) {
                    double ref = b[j], mag = fabs(b[j]);
                    for (int i = 0; i < IN; i++) {
                        ref += (double)x[(size_t)r * IN + i] * w[(size_t)j * IN + i];
                        mag += fabs((double)x[(size_t)r * IN + i] * w[(size_t)j * IN + i]);
                    }
                    if (fabs(o[(size_t)r * OUT + j] - ref) > 1e-6 * mag)
                        fail_msg("IN %d OUT %d mode %d: row %d out %d = %.9g, reference %.9g", IN, OUT, mode, r, j,
                                 o[(size_t)r * OUT + j], ref);
                }
                if (!per) continue; /* batched: one product over the B rows, other bits */
                faith_rows one = {1, 1, NULL, 1, 0};
                faith_linear_forward(o1, x + (size_t)r * IN, w, b, &one, IN, OUT);
                if (memcmp(o1, o + (size_t)r * OUT, sizeof(float) * OUT))
                    fail_msg("IN %d OUT %d mode %d: row %d differs from the row alone", IN, OUT, mode, r);
            }
            if (use_t) continue;
            for (int acc = 0; acc < 2; acc++) {
                for (size_t i = 0; i < (size_t)B * IN; i++) dx[i] = 0.5f;
                faith_linear_backward(dx, NULL, NULL, dy, x, w, &rows, IN, OUT, acc);
                for (int r = 0; r < B; r++)
                    for (int i = 0; i < IN; i++) {
                        double ref = acc ? 0.5 : 0.0, mag = 0.5;
                        for (int j = 0; j < OUT; j++) {
                            ref += (double)dy[(size_t)r * OUT + j] * w[(size_t)j * IN + i];
                            mag += fabs((double)dy[(size_t)r * OUT + j] * w[(size_t)j * IN + i]);
                        }
                        if (fabs(dx[(size_t)r * IN + i] - ref) > 1e-6 * mag)
                            fail_msg("IN %d OUT %d per_seq %d accumulate %d: dinp[%d][%d] = %.9g, reference %.9g",
                                     IN, OUT, per, acc, r, i, dx[(size_t)r * IN + i], ref);
                    }
            }
        }
        free(x); free(w); free(b); free(dy); free(dx); free(wt); free(o); free(o1);
    }
}

/* ---- GELU ---- */
typedef struct { float *pre0, *pre, *act, *b, *wt; int N, C; } gelu_ctx;
static double gelu_J(void *p)
{
    gelu_ctx *c = p;
    memcpy(c->pre, c->pre0, sizeof(float) * c->N * c->C);
    faith_bias_gelu_forward(c->act, c->pre, c->b, c->N, c->C);
    return dotw(c->wt, c->act, (size_t)c->N * c->C);
}

/* The vectorisable exp against libm in double: within 3 ulp (relative 3.6e-7) over the whole
 * clamped range, clamped outside it, NaN for NaN. */
static void test_vexp(void **s)
{
    (void)s;
    double worst = 0;
    for (int i = 0; i <= 200000; i++) {
        float x = -87.0f + 175.0f * (float)i / 200000.0f;
        double e = exp((double)x), got = faith_vexpf(x);
        worst = fmax(worst, fabs(got - e) / e);
    }
    if (worst > 3.6e-7) fail_msg("exp: relative error %g", worst);
    assert_true(faith_vexpf(-200.0f) >= 0.0f && faith_vexpf(-200.0f) < 1e-37f);
    /* a diverged model's NaN stays NaN (and takes no undefined integer path: UBSan checks) */
    assert_true(isnan(faith_vexpf(NAN)));
    assert_true(faith_vexpf(-INFINITY) >= 0.0f && faith_vexpf(-INFINITY) < 1e-37f);
}

/* GELU and its derivative in every version this CPU runs (gelu.c), against the exact forms in
 * double: gelu(x) = x Phi(x), gelu'(x) = Phi(x) + x phi(x), with Phi from libm's erfc. */
static double phi_exact(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

/* act and d = gelu and gelu' of x through the layer entry points, in the given version; -1 when
 * this CPU lacks it. */
static int gelu_version(const char *version, const float *x, float *act, float *d, size_t n)
{
    if (faith_gelu_use(version) != 0) return -1;
    float *pre = malloc(sizeof(float) * n), *ones = malloc(sizeof(float) * n), *zero = calloc(n, sizeof(float));
    for (size_t i = 0; i < n; i++) pre[i] = x[i], ones[i] = 1.0f;
    faith_bias_gelu_forward(act, pre, zero, 1, (int)n);
    faith_gelu_backward(d, ones, x, n);
    faith_gelu_use(NULL);
    free(pre), free(ones), free(zero);
    return 0;
}

static void test_gelu_accuracy(void **s)
{
    (void)s;
    /* A dense grid over [-10, 10] whose length is no multiple of 8 or 16, so the vector versions'
     * tails are covered; the pieces' edges (multiples of 1/2) are on it. */
    enum { NX = 400003 };
    float *x = malloc(sizeof(float) * NX), *act = malloc(sizeof(float) * NX), *d = malloc(sizeof(float) * NX);
    float *act0 = malloc(sizeof(float) * NX), *d0 = malloc(sizeof(float) * NX);
    for (int i = 0; i < NX; i++) x[i] = -10.0f + 20.0f * (float)i / (float)(NX - 1);
    assert_int_equal(gelu_version("portable", x, act0, d0, NX), 0);
    double worst = 0, worst_tail = 0, worst_d = 0;
    for (int i = 0; i < NX; i++) {
        double xd = x[i], g = xd * phi_exact(xd), dg = phi_exact(xd) + xd * exp(-0.5 * xd * xd) / sqrt(2 * M_PI);
        float scalar = faith_gelu(x[i]);
        if (memcmp(&scalar, &act0[i], sizeof scalar)) fail_msg("x = %g: faith_gelu %.9g, loop %.9g", xd, scalar, act0[i]);
        worst = fmax(worst, fabs(act0[i] - g) / fmax(1.0, fabs(g)));
        if (xd < 0 && xd > -5.5) worst_tail = fmax(worst_tail, fabs(act0[i] - g) / fabs(g));
        worst_d = fmax(worst_d, fabs(d0[i] - dg) / fmax(1.0, fabs(dg)));
    }
    /* Half an ulp of the result and a few of x Q(|x|): 1.5e-7 against max(1, |gelu|). On the
     * negative side, where gelu is x Q(|x|) alone, relative to gelu itself down to 1e-6 of x. */
    if (worst > 1.5e-7) fail_msg("gelu: error %g", worst);
    if (worst_tail > 1e-6) fail_msg("gelu: relative error %g on (-5.5, 0)", worst_tail);
    if (worst_d > 2.5e-7) fail_msg("gelu': error %g", worst_d);
    /* Every vector version this CPU has gives the portable version's bits. */
    const char *versions[] = {"avx2", "avx512f"};
    for (int v = 0; v < 2; v++) {
        if (gelu_version(versions[v], x, act, d, NX) != 0) {
            print_message("gelu: %s not on this CPU, not compared\n", versions[v]);
            continue;
        }
        for (int i = 0; i < NX; i++)
            if (memcmp(&act[i], &act0[i], sizeof(float)) || memcmp(&d[i], &d0[i], sizeof(float)))
                fail_msg("x = %g: %s gives %.9g / %.9g, portable %.9g / %.9g", x[i], versions[v], act[i], d[i],
                         act0[i], d0[i]);
    }
    /* Far out: the identity and zero, exactly; NaN stays NaN. */
    float far[3] = {1e30f, -1e30f, NAN}, fa[3], fd[3];
    assert_int_equal(gelu_version("portable", far, fa, fd, 3), 0);
    assert_true(fa[0] == 1e30f && fa[1] == 0.0f && isnan(fa[2]) && fd[0] == 1.0f && isnan(fd[2]));
    assert_true(faith_gelu_use("sse9") == -1);
    free(x), free(act), free(d), free(act0), free(d0);
}

static void test_gelu(void **s)
{
    (void)s;
    gelu_ctx c = {0};
    c.N = 4, c.C = 9;
    size_t n = 36;
    c.pre0 = randv(n, 2), c.pre = randv(n, 0), c.act = randv(n, 0), c.b = randv(9, 0.5), c.wt = randv(n, 1);
    gelu_J(&c);
    for (size_t i = 0; i < n; i++) {
        double x = (double)c.pre0[i] + c.b[i % 9];
        assert_true(fabs(0.5 * x * (1 + erf(x / sqrt(2.0))) - c.act[i]) < 1e-6);
    }
    float *d = malloc(sizeof(float) * n);
    faith_gelu_backward(d, c.wt, c.pre, n);
    check_fd(c.pre0, d, n, gelu_J, &c, "gelu");
    free(d); free(c.pre0); free(c.pre); free(c.act); free(c.b); free(c.wt);
}

/* ---- residual + LayerNorm ---- */
typedef struct { float *x, *y, *yb, *g, *b, *out, *sum, *m, *r, *wt; int N, C; float eps; } ln_ctx;
static double ln_J(void *p)
{
    ln_ctx *c = p;
    faith_residual_layernorm_forward(c->out, c->sum, c->m, c->r, c->x, c->y, c->yb, c->g, c->b, c->N, c->C, c->eps);
    return dotw(c->wt, c->out, (size_t)c->N * c->C);
}

static void test_layernorm(void **s)
{
    (void)s;
    ln_ctx c = {0};
    c.N = 3, c.C = 10, c.eps = 1e-5f;
    size_t n = 30;
    c.x = randv(n, 1), c.y = randv(n, 1), c.yb = randv(10, 0.3), c.g = randv(10, 0.5), c.b = randv(10, 0.5);
    for (int k = 0; k < 10; k++) c.g[k] += 1.0f;
    c.out = randv(n, 0), c.sum = randv(n, 0), c.m = randv(3, 0), c.r = randv(3, 0), c.wt = randv(n, 1);
    ln_J(&c);
    for (int t = 0; t < c.N; t++) {
        double v[10], mu = 0, var = 0;
        for (int k = 0; k < 10; k++) mu += (v[k] = (double)c.x[t * 10 + k] + c.y[t * 10 + k] + c.yb[k]);
        mu /= 10;
        for (int k = 0; k < 10; k++) var += (v[k] - mu) * (v[k] - mu) / 10;
        for (int k = 0; k < 10; k++)
            assert_true(fabs((v[k] - mu) / sqrt(var + 1e-5) * c.g[k] + c.b[k] - c.out[t * 10 + k]) < 1e-5);
    }
    float *dsum = malloc(sizeof(float) * n), *dg = calloc(10, sizeof(float)), *db = calloc(10, sizeof(float));
    faith_layernorm_backward(dsum, dg, db, c.wt, c.sum, c.m, c.r, c.g, c.N, c.C);
    check_fd(c.x, dsum, n, ln_J, &c, "layernorm dx"); /* d sum / d x is the identity */
    check_fd(c.y, dsum, n, ln_J, &c, "layernorm dy");
    check_fd(c.g, dg, 10, ln_J, &c, "layernorm dgamma");
    check_fd(c.b, db, 10, ln_J, &c, "layernorm dbeta");
    free(dsum); free(dg); free(db);
    free(c.x); free(c.y); free(c.yb); free(c.g); free(c.b); free(c.out); free(c.sum); free(c.m); free(c.r); free(c.wt);
}

/* ---- attention (masked softmax, context) ---- */
enum { AB = 2, AT = 5, AC = 8, ANH = 2 };
static const int32_t ALEN[AB] = {5, 3};
typedef struct { float *qkv, *att, *ctx, *wt, *wa; } att_ctx;
static double att_J(void *p)
{
    att_ctx *c = p;
    faith_attention_probs(c->att, c->qkv, ALEN, AB, AT, AC, ANH);
    faith_attention_context(c->ctx, c->att, c->qkv, ALEN, AB, AT, AC, ANH);
    /* J also reads the probabilities, so their gradient path is tested on its own too */
    return dotw(c->wt, c->ctx, (size_t)AB * AT * AC) + dotw(c->wa, c->att, (size_t)AB * ANH * AT * AT);
}

static void test_attention(void **s)
{
    (void)s;
    att_ctx c;
    size_t nq = (size_t)AB * AT * 3 * AC, na = (size_t)AB * ANH * AT * AT, nc = (size_t)AB * AT * AC;
    c.qkv = randv(nq, 1), c.att = randv(na, 0), c.ctx = randv(nc, 0), c.wt = randv(nc, 1), c.wa = randv(na, 1);
    att_J(&c);
    int hd = AC / ANH;
    for (int b = 0; b < AB; b++)
        for (int h = 0; h < ANH; h++)
            for (int i = 0; i < AT; i++) {
                double sc[AT], mx = -1e300, z = 0;
                for (int j = 0; j < ALEN[b]; j++) {
                    sc[j] = 0;
                    for (int e = 0; e < hd; e++)
                        sc[j] += (double)c.qkv[(b * AT + i) * 3 * AC + h * hd + e] * c.qkv[(b * AT + j) * 3 * AC + AC + h * hd + e];
                    sc[j] /= sqrt((double)hd);
                    mx = fmax(mx, sc[j]);
                }
                for (int j = 0; j < ALEN[b]; j++) z += exp(sc[j] - mx);
                for (int j = 0; j < AT; j++) {
                    double want = (i < ALEN[b] && j < ALEN[b]) ? exp(sc[j] - mx) / z : 0.0;
                    assert_true(fabs(c.att[((b * ANH + h) * AT + i) * AT + j] - want) < 1e-6);
                }
                if (i >= ALEN[b])
                    for (int e = 0; e < hd; e++) assert_true(c.ctx[(b * AT + i) * AC + h * hd + e] == 0.0f);
            }
    /* backward: d att = wa + dctx V^T; then through the softmax */
    float *datt = malloc(sizeof(float) * na), *dqkv = malloc(sizeof(float) * nq), *scratch = malloc(sizeof(float) * AB * AT * AT);
    faith_attention_context_backward(datt, dqkv, c.wt, c.att, c.qkv, ALEN, AB, AT, AC, ANH);
    for (size_t i = 0; i < na; i++) datt[i] += c.wa[i];
    faith_attention_probs_backward(dqkv, datt, c.att, c.qkv, scratch, ALEN, AB, AT, AC, ANH);
    check_fd(c.qkv, dqkv, nq, att_J, &c, "attention dqkv");
    /* padding rows of dqkv are exactly zero: they must not leak into weight gradients */
    for (int t = ALEN[1]; t < AT; t++)
        for (int k = 0; k < 3 * AC; k++) assert_true(dqkv[(AT + t) * 3 * AC + k] == 0.0f);
    free(datt); free(dqkv); free(scratch); free(c.qkv); free(c.att); free(c.ctx); free(c.wt); free(c.wa);
}

/* Folded first-token attention: probabilities and context as the definition gives them with every
 * token's keys and values projected (computed here in double, key bias included: it must cancel),
 * and every gradient against central differences of J = wt . ctx1 + wa . att1, where the context
 * reads the probabilities through a dropout-like mask (0 or 1.25), so they do not sum to 1. */
typedef struct {
    float *q1, *x, *wk, *wv, *bv, *u, *att1, *xbar, *ctx1, *wt, *wa, *mask, *attv;
} fold_ctx;
static double fold_J(void *p)
{
    fold_ctx *c = p;
    size_t np = (size_t)AB * ANH * AT;
    faith_attention_folded_probs(c->att1, c->u, c->q1, c->x, c->wk, ALEN, AB, AT, AC, ANH);
    for (size_t i = 0; i < np; i++) c->attv[i] = c->att1[i] * c->mask[i];
    faith_attention_folded_context(c->ctx1, c->xbar, c->attv, c->x, c->wv, c->bv, ALEN, AB, AT, AC, ANH);
    return dotw(c->wt, c->ctx1, (size_t)AB * AC) + dotw(c->wa, c->att1, np);
}

static void test_attention_folded(void **s)
{
    (void)s;
    size_t nh = (size_t)AB * ANH * AC, np = (size_t)AB * ANH * AT;
    fold_ctx c = {randv((size_t)AB * AC, 1), randv((size_t)AB * AT * AC, 1), randv(AC * AC, 0.5),
                  randv(AC * AC, 0.5), randv(AC, 0.5), randv(nh, 0), randv(np, 0), randv(nh, 0),
                  randv((size_t)AB * AC, 0), randv((size_t)AB * AC, 1), randv(np, 1), randv(np, 0), randv(np, 0)};
    float *bk = randv(AC, 0.5);
    for (size_t i = 0; i < np; i++) c.mask[i] = faith_rng_below(&R, 4) == 0 ? 0.0f : 1.25f;
    fold_J(&c);
    int hd = AC / ANH;
    for (int b = 0; b < AB; b++)
        for (int h = 0; h < ANH; h++) {
            int L = ALEN[b];
            double sc[AT], mx = -1e300, z = 0;
            for (int j = 0; j < L; j++) {
                sc[j] = 0;
                for (int e = 0; e < hd; e++) {
                    double k = bk[h * hd + e];
                    for (int i = 0; i < AC; i++) k += (double)c.wk[(h * hd + e) * AC + i] * c.x[(b * AT + j) * AC + i];
                    sc[j] += (double)c.q1[b * AC + h * hd + e] * k;
                }
                sc[j] /= sqrt((double)hd);
                mx = fmax(mx, sc[j]);
            }
            for (int j = 0; j < L; j++) z += exp(sc[j] - mx);
            for (int j = 0; j < AT; j++) {
                double want = j < L ? exp(sc[j] - mx) / z : 0.0;
                assert_true(fabs(c.att1[(b * ANH + h) * AT + j] - want) < 1e-5);
            }
            for (int e = 0; e < hd; e++) {
                double want = 0;
                for (int j = 0; j < L; j++) {
                    double v = c.bv[h * hd + e];
                    for (int i = 0; i < AC; i++) v += (double)c.wv[(h * hd + e) * AC + i] * c.x[(b * AT + j) * AC + i];
                    want += exp(sc[j] - mx) / z * c.mask[(b * ANH + h) * AT + j] * v;
                }
                assert_true(fabs(c.ctx1[b * AC + h * hd + e] - want) < 1e-4);
            }
        }
    float *datt = malloc(sizeof(float) * np), *dx = malloc(sizeof(float) * AB * AT * AC);
    float *dxbar = malloc(sizeof(float) * nh), *du = malloc(sizeof(float) * nh), *sc = malloc(sizeof(float) * np);
    float *dq = malloc(sizeof(float) * AB * AC), *dwk = calloc(AC * AC, sizeof(float));
    float *dwv = calloc(AC * AC, sizeof(float)), *dbv = calloc(AC, sizeof(float));
    faith_attention_folded_context_backward(datt, dx, dxbar, dwv, dbv, c.wt, c.attv, c.xbar, c.x, c.wv, c.bv, ALEN,
                                            AB, AT, AC, ANH);
    for (size_t i = 0; i < np; i++) datt[i] = datt[i] * c.mask[i] + c.wa[i];
    faith_attention_folded_probs_backward(dq, dx, du, dwk, sc, datt, c.att1, c.u, c.q1, c.x, c.wk, ALEN, AB, AT, AC,
                                          ANH);
    check_fd(c.x, dx, (size_t)AB * AT * AC, fold_J, &c, "folded attention dx");
    check_fd(c.q1, dq, (size_t)AB * AC, fold_J, &c, "folded attention dq");
    check_fd(c.wk, dwk, AC * AC, fold_J, &c, "folded attention dwk");
    check_fd(c.wv, dwv, AC * AC, fold_J, &c, "folded attention dwv");
    check_fd(c.bv, dbv, AC, fold_J, &c, "folded attention dbv");
    for (int t = ALEN[1]; t < AT; t++) /* padding rows get exactly no gradient */
        for (int k = 0; k < AC; k++) assert_true(dx[(AT + t) * AC + k] == 0.0f);
    free(datt); free(dx); free(dxbar); free(du); free(sc); free(dq); free(dwk); free(dwv); free(dbv); free(bk);
    free(c.q1); free(c.x); free(c.wk); free(c.wv); free(c.bv); free(c.u); free(c.att1); free(c.xbar); free(c.ctx1);
    free(c.wt); free(c.wa); free(c.mask); free(c.attv);
}

/* ---- head activations and dropout ---- */
typedef struct { float *x, *y, *wt; int relu; size_t n; } act_ctx;
static double act_J(void *p)
{
    act_ctx *c = p;
    if (c->relu) faith_relu_forward(c->y, c->x, c->n);
    else faith_tanh_forward(c->y, c->x, c->n);
    return dotw(c->wt, c->y, c->n);
}

static void test_head_activations(void **s)
{
    (void)s;
    for (int relu = 0; relu < 2; relu++) {
        act_ctx c = {randv(30, 1), randv(30, 0), randv(30, 1), relu, 30};
        for (int i = 0; i < 30; i++)
            if (fabsf(c.x[i]) < 0.05f) c.x[i] = 0.3f; /* keep ReLU's kink away from the FD step */
        act_J(&c);
        for (int i = 0; i < 30; i++)
            assert_true(fabs(c.y[i] - (relu ? fmax(c.x[i], 0.0) : tanh(c.x[i]))) < 1e-6);
        float *d = malloc(sizeof(float) * 30);
        if (relu) faith_relu_backward(d, c.wt, c.x, 30);
        else faith_tanh_backward(d, c.wt, c.y, 30);
        check_fd(c.x, d, 30, act_J, &c, relu ? "relu" : "tanh");
        free(d); free(c.x); free(c.y); free(c.wt);
    }
    /* NaN passes ReLU (and tanh) as in PyTorch, so an overflow upstream reaches the logits check */
    float x[2] = {NAN, -1.0f}, y[2];
    faith_relu_forward(y, x, 2);
    assert_true(isnan(y[0]) && y[1] == 0.0f);
}

static void test_dropout(void **s)
{
    (void)s;
    size_t n = 20000;
    float *x = malloc(sizeof(float) * n), *g = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) x[i] = g[i] = 1.0f + (float)(i % 7);
    faith_dropout_apply(x, n, 0.25f, 77);
    faith_dropout_apply(g, n, 0.25f, 77);
    size_t zeros = 0;
    for (size_t i = 0; i < n; i++) {
        float v = 1.0f + (float)(i % 7);
        assert_true(x[i] == 0.0f || fabsf(x[i] - v / 0.75f) < 1e-5f); /* kept values rescaled */
        assert_true(x[i] == g[i]); /* same key: same mask, which is the backward */
        zeros += x[i] == 0.0f;
    }
    assert_true(zeros > n * 0.23 && zeros < n * 0.27);
    for (size_t i = 0; i < n; i++) g[i] = 1.0f;
    faith_dropout_apply(g, n, 0.25f, 78);
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) differ += (x[i] == 0.0f) != (g[i] == 0.0f);
    assert_true(differ > n / 10); /* another key gives another mask */
    /* Rows of a larger layout draw that layout's masks: rows 0 and 2 of a (3, 50) buffer, as (2, 50)
     * rows 100 apart, get exactly its masks. */
    float big[150], rows[100];
    for (int i = 0; i < 150; i++) big[i] = 1.0f;
    for (int i = 0; i < 100; i++) rows[i] = 1.0f;
    faith_dropout_apply(big, 150, 0.5f, 79);
    faith_dropout_apply_rows(rows, 2, 50, 100, 0.5f, 79);
    assert_memory_equal(rows, big, sizeof(float) * 50);
    assert_memory_equal(rows + 50, big + 100, sizeof(float) * 50);
    free(x);
    free(g);
}

int main(void)
{
    faith_rng_init(&R, 1234, 0, "layers");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_linear_transposed),
        cmocka_unit_test(test_tile_rows),
        cmocka_unit_test(test_linear_one_row),
        cmocka_unit_test(test_vexp),
        cmocka_unit_test(test_gelu_accuracy),
        cmocka_unit_test(test_gelu),
        cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_attention),
        cmocka_unit_test(test_attention_folded),
        cmocka_unit_test(test_head_activations),
        cmocka_unit_test(test_dropout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
