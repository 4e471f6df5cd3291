/* randomization.c: per-example Spearman correlation between explanations of the trained and the
 * randomised model, and the flag raised when they stay alike on average. */
#include "randomization.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reduce.h"
#include "stats.h"

int faith_randomization_load(const char *dir, int layers, uint64_t seed, faith_model **out,
                             faith_err *err)
{
    *out = NULL;
    faith_model *m = NULL;
    FAITH_TRY(faith_model_load(dir, &m, err));
    int L = faith_model_cfg(m)->n_layers;
    if (layers < 0 || layers > L) {
        faith_model_free(m);
        return faith_err_set(err, FAITH_ERR_ARG,
                             "model_randomization.layers: %d outside [0, %d] (the model in %s has "
                             "%d layers)",
                             layers, L, dir, L);
    }
    faith_model_randomize_top(m, layers, seed);
    *out = m;
    return FAITH_OK;
}

double faith_randomization_spearman(const float *a, const float *b, const uint8_t *special,
                                    int32_t n)
{
    double *x = faith_xmalloc(sizeof *x * (size_t)(n > 0 ? n : 1));
    double *y = faith_xmalloc(sizeof *y * (size_t)(n > 0 ? n : 1));
    int32_t m = 0;
    for (int32_t t = 0; t < n; t++) {
        if (special && special[t]) continue;
        x[m] = a[t];
        y[m++] = b[t];
    }
    double rho = faith_stats_spearman(x, y, m);
    free(x);
    free(y);
    return rho;
}

void faith_randomization_summarize(const double *rho, int64_t n, const char *explainer,
                                   uint64_t seed, double threshold, faith_randomization_summary *out)
{
    char stream[256];
    snprintf(stream, sizeof stream, "bootstrap/model_randomization/%s", explainer ? explainer : "");
    faith_summary s;
    faith_summarize(rho, n, 1, seed, stream, FAITH_REDUCE_DEFAULT_BOOT, &s);
    out->n = s.n;
    out->n_nan = s.n_nan;
    out->mean = s.mean;
    out->sd = s.sd;
    out->ci_lo = s.ci_lo;
    out->ci_hi = s.ci_hi;
    out->threshold = threshold;
    out->flagged = s.n > 0 && s.mean > threshold;
}
