/* mparams.h: parameter readers the metrics share on top of params.h: percent bins, the removal
 * operator, presence tests, and the owner string "metrics.<name>" used in every error. */
#ifndef FAITH_MPARAMS_H
#define FAITH_MPARAMS_H

#include <cjson/cJSON.h>

#include "error.h"
#include "perturb.h"

#define FAITH_MAX_BINS 31 /* "aopc" plus one column per bin fit in FAITH_METRIC_MAX_COLS */

/* 1 when params is an object holding key. */
int faith_mparams_has(const cJSON *params, const char *key);

/* An array of percentages in (0, 100], strictly ascending, 1..FAITH_MAX_BINS entries; def (n_def)
 * when absent. */
int faith_mparams_bins(const char *owner, const cJSON *params, const char *key, const double *def,
                       int32_t n_def, double *out, int32_t *n_out, faith_err *err);

/* "delete" | "mask" | "pad". */
int faith_mparams_op(const char *owner, const cJSON *params, const char *key, faith_perturb_op def,
                     faith_perturb_op *out, faith_err *err);

/* A JSON array of n doubles (for params_json). */
cJSON *faith_mparams_array(const double *v, int32_t n);

/* Column name for a percent bin: "k10", "k2.5". */
void faith_mparams_bin_name(double percent, char *buf, size_t cap);

#endif
