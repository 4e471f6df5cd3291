/* probe.h: linear probes of hidden states (probe_accuracy): per layer, a [CLS] and a mean-pooled
 * softmax-regression probe, with a control task (Hewitt & Liang 2019) giving selectivity. */
#ifndef FAITH_PROBE_H
#define FAITH_PROBE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "cost.h"
#include "error.h"
#include "model.h"

/* How the work is split with the runner: every rank computes the feature vectors of its own
 * examples (faith_probe_features) and gathers them, with the property and control labels, in
 * ascending example id on rank 0, which calls faith_probe_run. Each example's feature record is
 * (L + 1) layers x 2 pools x C floats: record[(layer * 2 + pool) * C + c], pool 0 = [CLS]
 * (position 0), pool 1 = mean over the sequence's valid positions, specials included. */

typedef enum faith_probe_property {
    FAITH_PROBE_LABEL = 0,     /* the gold label */
    FAITH_PROBE_LENGTH_BIN,    /* token-count tertile, cut points from the train split */
    FAITH_PROBE_NEGATION,      /* 1 when a word of FAITH_PROBE_NEGATIONS occurs */
    FAITH_PROBE_WORDLIST       /* 1 when a word of a given list occurs */
} faith_probe_property;

extern const char *const FAITH_PROBE_PROPERTY_NAMES[4]; /* "label", "length_bin", "negation", "wordlist" */
int faith_probe_property_parse(const char *s, faith_probe_property *out, faith_err *err);

extern const char *const FAITH_PROBE_NEGATIONS[];
extern const int32_t FAITH_PROBE_N_NEGATIONS;

/* Floats per example: (n_layers + 1) * 2 * d_model. */
int64_t faith_probe_feature_width(const faith_model_config *cfg);

/* Feature records (n, width) of n sequences, batched by token budget like faith_run_logits
 * (forwards with FAITH_FWD_HIDDEN). Adds to cost (may be NULL). */
int faith_probe_features(faith_model *m, int64_t token_budget, int32_t n, const int32_t *const *ids,
                         const int32_t *const *type_ids, const int32_t *len, float *feats,
                         faith_cost *cost, faith_err *err);

/* ---- labels from text (words: whitespace-split, ASCII-lowercased, outer punctuation stripped) ---- */

/* 1 when text (or pair, may be NULL) has a word of the list (words lowercase), or a word ending
 * in "n't" when the list holds "n't". */
int faith_probe_has_word(const char *text, const char *pair, const char *const *words, int32_t n_words);
/* Control label (Hewitt & Liang): each word type gets a fixed random class in [0, n_classes) from
 * faith_rng_init(seed, 0, "probe/control/<type>"); an example takes its first word's class (the
 * first word, rather than a majority vote, so no tie rule is needed; empty text: class 0). */
int32_t faith_probe_control_label(const char *text, uint64_t seed, int32_t n_classes);
/* Tertile cut points of train token counts: bin = 0 if n <= cuts[0], 1 if n <= cuts[1], else 2. */
void faith_probe_length_cuts(const int32_t *n_tokens, int64_t n, int32_t cuts[2]);
int32_t faith_probe_length_bin(int32_t n_tokens, const int32_t cuts[2]);

/* ---- training ---- */

typedef struct faith_probe_opts {
    int32_t iters;              /* L-BFGS iterations (default 100) */
    int32_t n_lambdas;          /* L2 grid (default 1e-4, 1e-3, 1e-2, 1e-1, 1) */
    const double *lambdas;
    double holdout;             /* fraction of train held out to choose lambda (default 0.2) */
    uint64_t seed;              /* keys the held-out split and the control labels */
} faith_probe_opts;

/* Defaults for every field left 0 / NULL. */
void faith_probe_opts_default(faith_probe_opts *o);

typedef struct faith_probe_fit {
    double accuracy;            /* on the evaluation rows */
    double lambda;              /* chosen on the held-out rows */
    double majority;            /* share of the most frequent class among the eval rows */
} faith_probe_fit;

/* Multinomial logistic regression (softmax, L2 on weights, not bias) on standardised features
 * (train mean / sd), double precision, L-BFGS from zero for a fixed number of iterations. Rows
 * are x[i * stride + 0 .. D), labels in [0, K) (rows labelled < 0 are skipped). Train rows whose
 * faith_rng_init(seed, id, "probe/holdout") draw is below holdout choose lambda (the largest
 * lambda wins ties); the probe is then refit on all train rows and scored on eval rows. */
int faith_probe_fit_eval(int32_t D, int32_t K, int64_t stride, int64_t n_train, const float *x_train,
                         const int64_t *ids_train, const int32_t *y_train, int64_t n_eval,
                         const float *x_eval, const int32_t *y_eval, const faith_probe_opts *opts,
                         faith_probe_fit *out, faith_err *err);

/* One split's gathered data, rows in ascending example id. */
typedef struct faith_probe_data {
    int64_t n;
    const int64_t *ids;
    const float *feats;         /* (n, width) */
    const int32_t *labels;      /* property labels, -1 to skip */
    const int32_t *control;     /* control labels */
} faith_probe_data;

/* Probe every layer and pool: {"property":..., "classes": K, "layers": [{"layer": l, "pool":
 * "cls"|"mean", "accuracy", "control_accuracy", "selectivity", "lambda", "control_lambda",
 * "majority"}, ...]}. */
int faith_probe_run(const faith_model_config *cfg, const char *property, int32_t K,
                    const faith_probe_data *train, const faith_probe_data *eval,
                    const faith_probe_opts *opts, cJSON **out, faith_err *err);

#endif
