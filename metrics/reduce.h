/* reduce.h: summaries of per-example metric records (n, mean, sd, se, bootstrap interval, per
 * label), computed from records gathered in ascending example id, so results do not depend on
 * how many ranks measured them. */
#ifndef FAITH_REDUCE_H
#define FAITH_REDUCE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "error.h"
#include "metric.h"

#define FAITH_REDUCE_DEFAULT_BOOT 1000
#define FAITH_REDUCE_CURVE_GRID 21 /* mean curve sampled at fractions 0, 0.05, ..., 1 */

typedef struct faith_summary {
    int64_t n;          /* finite values used */
    int64_t n_nan;      /* NaN values left out */
    double mean, sd, se, ci_lo, ci_hi;
} faith_summary;

/* Summary of n values read at v[0], v[stride], ... (NaNs excluded and counted). The bootstrap
 * interval (95%, percentile) draws from faith_rng_init(seed, 0, stream). */
void faith_summarize(const double *v, int64_t n, int64_t stride, uint64_t seed, const char *stream,
                     int32_t n_boot, faith_summary *out);

cJSON *faith_summary_json(const faith_summary *s);

/* What to reduce: n records of `width` doubles, record i belonging to example ids[i] with gold
 * label labels[i] (-1 unlabeled; labels NULL: no breakdown). ids must be strictly ascending. */
typedef struct faith_reduce_input {
    const char *metric;                 /* stream names: "bootstrap/<metric>/<col>" */
    const faith_metric_layout *layout;
    int64_t n;
    const int64_t *ids;
    const int32_t *labels;
    const double *records;              /* (n, n_cols + 2 * curve_len) */
    int32_t n_labels;
    const char *const *label_names;     /* (n_labels) or NULL: labels named by index */
    uint64_t seed;
    int32_t n_boot;                     /* <= 0: FAITH_REDUCE_DEFAULT_BOOT */
} faith_reduce_input;

/* {"n_examples": N, "columns": {col: summary + "by_label": {name: summary}}, "curve": {"fraction":
 * [...], "mean": [...], "n": [...]}} ("curve" only when the layout has one: each example's curve
 * is linearly interpolated at FAITH_REDUCE_CURVE_GRID fractions and averaged). Per-label streams
 * are "bootstrap/<metric>/<col>/label=<index>". FAITH_ERR_ARG when ids are not ascending. */
int faith_reduce_metric(const faith_reduce_input *in, cJSON **out, faith_err *err);

/* Value of one example's curve (pairs (fraction, value), NaN-padded, len pairs) at fraction x by
 * linear interpolation; NaN when the curve is empty. */
double faith_curve_at(const double *pairs, int32_t len, double x);

#endif
