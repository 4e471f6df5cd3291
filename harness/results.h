/* results.h: the result tables of a run (examples, curves, attributions, summary) written by rank 0
 * from records sorted by (example id, explainer), and the leaderboard printed at the end. */
#ifndef FAITH_RESULTS_H
#define FAITH_RESULTS_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

#include "explainer.h"
#include "metric.h"
#include "records.h"

typedef struct faith_results_input {
    int32_t n_explainers, n_metrics;
    const char *const *explainer_names;
    const char *const *metric_names;
    faith_metric *const *metrics;
    const faith_record *recs;          /* sorted by (id, explainer) */
    int64_t n_recs;
    const char *const *label_names;    /* class names (dataset's, else the model's) */
    int32_t n_labels;
    uint64_t seed;                     /* bootstrap seed */
} faith_results_input;

/* Sort records by (id, explainer). */
void faith_records_sort(faith_record *recs, int64_t n);

/* Write examples.tsv.zst, curves.tsv.zst, attributions.jsonl.zst, summary.json and summary.tsv
 * into dir, each atomically. *summary (may be NULL) receives the summary object. */
int faith_results_write(const faith_results_input *in, const char *dir, cJSON **summary,
                        faith_err *err);

/* Explainer-by-metric table of each metric's main column (its first): mean and 95% CI. */
void faith_results_leaderboard(const faith_results_input *in, const cJSON *summary, FILE *out);

#endif
