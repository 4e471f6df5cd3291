/* randomization.h: the model-randomisation sanity check (Adebayo et al. 2018): an explainer whose
 * scores barely change when the top of the network is re-initialised is not explaining it. */
#ifndef FAITH_RANDOMIZATION_H
#define FAITH_RANDOMIZATION_H

#include <stdint.h>

#include "error.h"
#include "model.h"

#define FAITH_RANDOMIZATION_THRESHOLD 0.5

/* Load the model in dir and re-initialise its classifier and top `layers` encoder layers
 * (faith_model_randomize_top) with seed: the randomised twin to explain again. */
int faith_randomization_load(const char *dir, int layers, uint64_t seed, faith_model **out,
                             faith_err *err);

/* Spearman rank correlation between one example's token scores on the trained model (a) and on
 * the randomised model (b), over non-special tokens (special may be NULL). NaN when fewer than 2
 * tokens or either side is constant. */
double faith_randomization_spearman(const float *a, const float *b, const uint8_t *special,
                                    int32_t n);

typedef struct faith_randomization_summary {
    int64_t n, n_nan;
    double mean, sd, ci_lo, ci_hi;  /* of the per-example correlations */
    double threshold;
    int flagged;                    /* 1 when mean > threshold: the scores ignore the weights */
} faith_randomization_summary;

/* Summarise per-example correlations (in ascending example id; NaN excluded and counted) with a
 * bootstrap interval from faith_rng_init(seed, 0, "bootstrap/model_randomization/<explainer>"). */
void faith_randomization_summarize(const double *rho, int64_t n, const char *explainer,
                                   uint64_t seed, double threshold, faith_randomization_summary *out);

#endif
