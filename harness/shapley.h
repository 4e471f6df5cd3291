/* shapley.h: the estimators behind the perturbation explainers as pure functions of masks and
 * values (no model): kernel SHAP's coalition plan and constrained regression, permutation
 * (Castro) Shapley sampling, and LIME's sampling, kernel and weighted ridge fit. */
#ifndef FAITH_SHAPLEY_H
#define FAITH_SHAPLEY_H

#include <stdint.h>

#include "error.h"
#include "rng.h"

/* ---- kernel SHAP (Lundberg & Lee 2017) ---- */

/* Coalitions to evaluate and their regression weights; never the empty or full coalition. */
typedef struct faith_kshap_plan {
    int32_t d;
    int64_t n;          /* coalitions */
    uint8_t *masks;     /* (n, d), 1 = feature present */
    double *weights;    /* (n), sum 1 */
    int exact;          /* 1 when all 2^d - 2 coalitions are enumerated */
} faith_kshap_plan;

/* shap's default budget 2d + 2048, capped at 2^d - 2 (complete enumeration). */
int64_t faith_kernel_shap_default_samples(int32_t d);

/* Plan at most `samples` coalitions of d features as the shap package does: whole subset sizes
 * (and their complements) are enumerated, smallest first, while the budget covers them at their
 * Shapley-kernel share; the remaining sizes are drawn from the kernel's distribution over sizes,
 * each coalition together with its complement (paired sampling); repeated draws add weight to
 * the coalition instead of new rows. When 2^d - 2 <= samples every coalition is enumerated with
 * the exact kernel weight, and the solve gives the exact Shapley values. */
int faith_kernel_shap_plan(int32_t d, int64_t samples, faith_rng *rng, faith_kshap_plan *plan,
                           faith_err *err);
void faith_kernel_shap_plan_free(faith_kshap_plan *plan);

/* Shapley values phi (d) from the values (n) of the plan's coalitions (masks (n, d), weights (n)):
 * weighted least squares of v(S) - v_empty on the masks, with sum(phi) = v_full - v_empty
 * enforced exactly by eliminating the last feature. */
int faith_kernel_shap_solve(int32_t d, int64_t n, const uint8_t *masks, const double *weights,
                            const double *values, double v_empty, double v_full, double *phi,
                            faith_err *err);

/* ---- permutation sampling (Castro et al. 2009) with antithetic pairs ---- */

/* n_perm permutations of 0..d-1 into perms (n_perm, d): even rows are uniform random, each odd
 * row the reverse of the one before (n_perm is expected even). */
void faith_shapley_perm_plan(int32_t d, int32_t n_perm, faith_rng *rng, int32_t *perms);

/* The prefix coalitions of each permutation: masks (n_perm, d + 1, d), row k of permutation p
 * holds perms[p][0..k-1]. */
void faith_shapley_perm_masks(int32_t d, int32_t n_perm, const int32_t *perms, uint8_t *masks);

/* phi (d) = mean over permutations of each feature's marginal contribution, from the values of
 * the prefix coalitions: values (n_perm, d + 1). Efficiency holds per permutation (the
 * contributions telescope to v(full) - v(empty)). */
void faith_shapley_perm_estimate(int32_t d, int32_t n_perm, const int32_t *perms,
                                 const double *values, double *phi);

/* ---- LIME (Ribeiro et al. 2016) ---- */

/* masks (samples, d): row 0 all ones; every other row removes k features, k uniform in 1..d, the
 * k chosen uniformly without replacement (as the lime package's text explainer). */
void faith_lime_masks(int32_t d, int64_t samples, faith_rng *rng, uint8_t *masks);

/* weights (samples): sqrt(exp(-dist^2 / width^2)), dist the cosine distance between the mask and
 * the all-ones vector (1 - sqrt(kept / d); 1 for the empty mask). */
void faith_lime_weights(int32_t d, int64_t samples, const uint8_t *masks, double width,
                        double *weights);

/* Weighted ridge with an unpenalised intercept: coef (d), *intercept minimise
 * sum_i w_i (y_i - b - masks_i . coef)^2 + alpha |coef|^2 (sklearn's Ridge with sample_weight). */
int faith_lime_fit(int32_t d, int64_t samples, const uint8_t *masks, const double *y,
                   const double *weights, double alpha, double *coef, double *intercept,
                   faith_err *err);

#endif
