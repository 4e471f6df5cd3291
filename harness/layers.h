/* layers.h: the engine's numeric kernels (llm.c style): forward and backward of each layer over flat
 * float buffers with explicit sizes; matrix products through cblas_sgemm (cblas_sgemv for one row). */
#ifndef FAITH_LAYERS_H
#define FAITH_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* The N = B * T rows a product covers, sequence b owning rows b*T .. b*T+T-1. OpenBLAS rounds a row
 * differently by its position in a product and by the thread split (DESIGN.md), so every sgemm here
 * runs single-threaded on one thread of the pool, over rows fixed by the batch alone. A batched
 * product is one sgemm per group of whole sequences (about 256 rows, padding included): fast, and
 * the same bits for any thread count, but a row's bits depend on its batch-mates and T. A
 * per-sequence product is one sgemm per sequence over its valid rows (padding rows set to zero): a
 * row's bits then depend on its own sequence only. */
typedef struct faith_rows {
    int B, T;
    const int32_t *len; /* valid rows of each sequence; NULL: all T */
    int per_seq;
    int tiles; /* products in small tiles where the weight allows (faith_linear_tile_rows) */
} faith_rows;

/* All N rows as one sequence of one batched product (tests). */
static inline faith_rows faith_rows_all(int N)
{
    faith_rows r = {1, N, NULL, 0, 0};
    return r;
}

/* Tiled products. OpenBLAS's AVX-512 kernel families (SkylakeX, Cooperlake, SapphireRapids) run an
 * sgemm of M * N * K <= 10^6 on small-matrix kernels that read the operands in place, where a
 * larger one packs its whole weight first; on short sequences that packing is a third of a product.
 * A tiled product cuts a product of several rows into tiles of at most faith_linear_tile_rows(K) rows
 * by 64 output columns, each one such small sgemm: measured 90-116 GFLOP/s on one Zen 4 core for the
 * encoder's shapes at any row count, against 40-100 for one sgemm over the same rows where that
 * sgemm is too large for the small kernels (DESIGN.md).
 * The tiles depend only on the product's own rows and shape, so a sequence's bits still depend on
 * that sequence alone. faith_blas_small_kernels() says whether this BLAS has those kernels; other
 * families would pack every tile, so they run whole products. */
int faith_blas_small_kernels(void);
/* Rows per tile for an inner dimension K (16 or 8), or 0 when even 8 x 64 x K is too large. */
int faith_linear_tile_rows(int K);

/* out (N, OUT) = inp (N, IN) @ w (OUT, IN)^T + bias (OUT); bias may be NULL. */
void faith_linear_forward(float *out, const float *inp, const float *w, const float *bias,
                          const faith_rows *rows, int IN, int OUT);
/* The same reading a copy wt of w made by faith_linear_copy for products of several rows: w
 * transposed to (IN, OUT), which OpenBLAS packs faster on short sequences, or, for tiled products
 * (rows->tiles and faith_linear_tile_rows(IN) > 0), w cut into panels of 64 output rows, each
 * stored transposed and contiguous (IN, 64), so that a tile reads one compact block that stays in
 * cache for the next tile. The values agree with faith_linear_forward to rounding; the bits only
 * with some kernels (OpenBLAS's AVX-512 ones sum the two layouts in different orders), so a caller
 * that wants one set of bits reads one layout. A single row is a matrix-vector product over w in
 * every case, with the same bits. */
void faith_linear_forward_t(float *out, const float *inp, const float *w, const float *wt, const float *bias,
                            const faith_rows *rows, int IN, int OUT);
/* Write into wt (OUT * IN floats) the copy of w (OUT, IN) that faith_linear_forward_t reads with
 * rows->tiles == tiles. */
void faith_linear_copy(float *wt, const float *w, int IN, int OUT, int tiles);
/* dinp (N, IN) = dout @ w (overwritten, or added to when accumulate; NULL to skip);
 * dw (OUT, IN) += dout^T @ inp and dbias (OUT) += column sums of dout (NULL to skip). */
void faith_linear_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                           const float *w, const faith_rows *rows, int IN, int OUT, int accumulate);
/* The same, the tiled input gradient (rows->tiles and faith_linear_tile_rows(OUT) > 0) reading wc,
 * w's columns in panels made by faith_linear_copy_cols, instead of strided column blocks of w: the
 * same tiles over the same values, so the same bits, but compact blocks, which stay fast when the
 * weights come from memory rather than cache (DESIGN.md). wc may be NULL: w is read. */
void faith_linear_backward_t(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                             const float *w, const float *wc, const faith_rows *rows, int IN, int OUT,
                             int accumulate);
/* Write into wc (OUT * IN floats) the column panels of w (OUT, IN): for each block of 64 columns
 * (fewer in the last), the (OUT, 64) block of w, contiguous. */
void faith_linear_copy_cols(float *wc, const float *w, int IN, int OUT);

/* GELU, exact erf form: 0.5 x (1 + erf(x / sqrt 2)), computed in gelu.c. */
float faith_gelu(float x);
/* pre (N, C) += bias (C) in place; act (N, C) = gelu(pre). */
void faith_bias_gelu_forward(float *act, float *pre, const float *bias, int N, int C);
/* dpre (n) = dact * gelu'(pre); dpre may alias dact. */
void faith_gelu_backward(float *dpre, const float *dact, const float *pre, size_t n);

/* sum (N, C) = x + y + ybias (y, ybias may be NULL); out = LayerNorm(sum) * gamma + beta, with the
 * per-row mean and 1/std kept for backward. out may alias y. */
void faith_residual_layernorm_forward(float *out, float *sum, float *mean, float *rstd, const float *x,
                                      const float *y, const float *ybias, const float *gamma,
                                      const float *beta, int N, int C, float eps);
/* dinp (N, C) = d LayerNorm / d sum (overwritten); dgamma, dbeta (C) accumulated (NULL to skip). */
void faith_layernorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                              const float *inp, const float *mean, const float *rstd,
                              const float *gamma, int N, int C);

/* Attention over qkv (B, T, 3C) = [Q | K | V] per row, heads of size C / NH. For row b only the
 * first len[b] queries and keys take part: att (B, NH, T, T) gets the softmax of the scaled scores
 * over the len[b] valid keys and zeros elsewhere. */
void faith_attention_probs(float *att, const float *qkv, const int32_t *len, int B, int T, int C,
                           int NH);
/* ctx (B, T, C) = attv @ V per (b, head); rows past len[b] are zeroed. attv is att, or a
 * dropped-out copy of it in training. */
void faith_attention_context(float *ctx, const float *attv, const float *qkv, const int32_t *len,
                             int B, int T, int C, int NH);
/* Backward of faith_attention_context: dattv (B, NH, T, T) = dctx @ V^T on the valid block (zero
 * elsewhere); V's part of dqkv (B, T, 3C) = attv^T @ dctx (rows past len[b] zeroed). */
void faith_attention_context_backward(float *dattv, float *dqkv, const float *dctx, const float *attv,
                                      const float *qkv, const int32_t *len, int B, int T, int C,
                                      int NH);
/* Backward of faith_attention_probs given datt (gradient wrt the probabilities): Q's and K's
 * parts of dqkv. scratch holds B * T * T floats (one block per sequence, so sequences can run in
 * parallel). */
void faith_attention_probs_backward(float *dqkv, const float *datt, const float *att, const float *qkv,
                                    float *scratch, const int32_t *len, int B, int T, int C, int NH);

/* Attention for the first token of each sequence only (the one a classification head reads), with
 * the key and value projections folded into that token's side. For head h with query q_h (hd), keys
 * Wk_h x_j + bk_h and values Wv_h x_j + bv_h of the layer inputs x_j:
 *   score_j = q_h . (Wk_h x_j + bk_h) / sqrt(hd) = u_h . x_j + const,  u_h = Wk_h^T q_h / sqrt(hd)
 * and the constant (q_h . bk_h) cancels in the softmax, so bk has no effect and no gradient;
 *   ctx_h = sum_j p_j (Wv_h x_j + bv_h) = Wv_h xbar_h + (sum_j p_j) bv_h,  xbar_h = sum_j p_j x_j
 * (the p_j sum to 1 except under attention dropout).
 * A sequence then costs O(C^2 + NH T C) instead of O(T C^2) for every token's keys and values.
 * Shapes: q1 (B, C), x (B, T, C) the layer's input, wk and wv (C, C) the key and value rows of the
 * fused weight (Hugging Face's (out, in) layout), bv (C); u and xbar (B, NH, C); att1 (B, NH, T)
 * with zeros past len[b]; ctx1 (B, C). */
void faith_attention_folded_probs(float *att1, float *u, const float *q1, const float *x, const float *wk,
                                  const int32_t *len, int B, int T, int C, int NH);
/* ctx1 and xbar from attv1: att1, or a dropped-out copy of it in training. */
void faith_attention_folded_context(float *ctx1, float *xbar, const float *attv1, const float *x,
                                    const float *wv, const float *bv, const int32_t *len, int B, int T, int C,
                                    int NH);
/* Backward of faith_attention_folded_context given dctx1 (B, C): dattv1 (B, NH, T) (zeros past
 * len[b]); dx (B, T, C) overwritten with the value path (rows past len[b] zeroed); dxbar (B, NH, C)
 * scratch; dwv (C, C) and dbv (C) accumulated when not NULL. */
void faith_attention_folded_context_backward(float *dattv1, float *dx, float *dxbar, float *dwv, float *dbv,
                                             const float *dctx1, const float *attv1, const float *xbar,
                                             const float *x, const float *wv, const float *bv, const int32_t *len,
                                             int B, int T, int C, int NH);
/* Backward of faith_attention_folded_probs given datt1: dq1 (B, C) overwritten; the score path added
 * to dx; du (B, NH, C) and scratch (B, NH, T) are scratch; dwk (C, C) accumulated when not NULL. */
void faith_attention_folded_probs_backward(float *dq1, float *dx, float *du, float *dwk, float *scratch,
                                           const float *datt1, const float *att1, const float *u, const float *q1,
                                           const float *x, const float *wk, const int32_t *len, int B, int T,
                                           int C, int NH);

/* x (n) *= keep(i) / (1 - p), keep(i) drawn from a counter-based stream keyed by key: the same key
 * gives the same mask, so applying it again to a gradient is the backward. */
void faith_dropout_apply(float *x, size_t n, float p, uint64_t key);
/* The same masks for rows of a larger layout: element (r, k) of x (rows, cols) takes draw r * stride
 * + k, so a layer that keeps one row per sequence draws what the whole layer draws for that row. */
void faith_dropout_apply_rows(float *x, size_t rows, size_t cols, size_t stride, float p, uint64_t key);

/* Activations on the classification head: tanh (BERT, RoBERTa) and ReLU (DistilBERT). */
void faith_tanh_forward(float *out, const float *inp, size_t n);
void faith_tanh_backward(float *dinp, const float *dout, const float *out, size_t n);
void faith_relu_forward(float *out, const float *inp, size_t n);
void faith_relu_backward(float *dinp, const float *dout, const float *inp, size_t n);

#endif
