/* adamw.h: the optimizer of `faith train`: AdamW with decoupled weight decay over segments of a
 * flat parameter buffer, the linear warm-up / linear decay schedule and global-norm clipping. */
#ifndef FAITH_ADAMW_H
#define FAITH_ADAMW_H

#include <stddef.h>
#include <stdint.h>

/* Hyper-parameters. Plain data. */
typedef struct faith_adamw_config {
    double lr;            /* peak learning rate */
    double beta1, beta2;  /* moment decays (0.9, 0.999) */
    double eps;           /* added to sqrt(v_hat) (1e-8) */
    double weight_decay;  /* decoupled: p <- p * (1 - lr_t * wd) before the Adam step */
    int64_t total_steps;  /* updates in the whole run */
    int64_t warmup_steps; /* linear ramp length (0: none) */
} faith_adamw_config;

/* Learning rate of update number step (0-based) under linear warm-up then linear decay:
 *   step < W:  lr * (step + 1) / W             (the first update already moves)
 *   step >= W: lr * (total - step) / (total - W)  (the last update gets lr / (total - W), never 0)
 * Steps at or past total give 0. */
double faith_adamw_lr(const faith_adamw_config *c, int64_t step);

/* A contiguous run of parameters updated together; offsets are in floats into the flat buffers. */
typedef struct faith_adamw_seg {
    size_t offset, n;
    int decay;            /* 1: weight decay applies (matrices, embeddings); 0: biases, LayerNorm */
} faith_adamw_seg;

/* Moment buffers for a flat parameter buffer of n floats. */
typedef struct faith_adamw faith_adamw;

faith_adamw *faith_adamw_create(const faith_adamw_config *c, size_t n);
void faith_adamw_free(faith_adamw *o); /* NULL is a no-op */

/* Number of updates done so far (the t of bias correction is this + 1 during the next update). */
int64_t faith_adamw_steps(const faith_adamw *o);

/* Sqrt of the sum of squares of grads over the segments, accumulated in double in segment order. */
double faith_adamw_global_norm(const float *grads, const faith_adamw_seg *segs, size_t n_segs);

/* Scale the gradients so their global norm is at most max_norm (max_norm <= 0: no clipping).
 * Returns the norm before clipping. */
double faith_adamw_clip(float *grads, const faith_adamw_seg *segs, size_t n_segs, double max_norm);

/* One AdamW update of params over the given segments with the schedule's learning rate for the
 * current step, then advance the step. Parameters outside the segments are left alone, and so are
 * their moments: with a segment per embedding row a batch used, this is lazy ("sparse") Adam
 * (rows not in the batch keep their moments, skip weight decay, and do not move). The bias
 * correction always uses the global step count. Computed in double, stored in float. */
void faith_adamw_step(faith_adamw *o, float *params, const float *grads, const faith_adamw_seg *segs,
                      size_t n_segs);

#endif
