/* plausibility.h: agreement of word scores with human rationales (ERASER's token F1, IOU F1 and
 * AUPRC), as pure functions over one example's words. */
#ifndef FAITH_PLAUSIBILITY_H
#define FAITH_PLAUSIBILITY_H

#include <stdint.h>

/* F1 between the top-k words by score (ties: lower index first) and the rationale words (0/1).
 * NaN when the rationale is empty or n == 0. */
double faith_plaus_token_f1(const float *word_scores, const uint8_t *rationale, int32_t n, int32_t k);

/* ERASER partial-match F1: the top-k words form contiguous predicted spans, the rationale forms
 * gold spans; a predicted span is a true positive when its best IOU with a gold span is >=
 * threshold; P = tp / predicted spans, R = tp / gold spans (ERASER's counting). NaN when the
 * rationale is empty. */
double faith_plaus_iou_f1(const float *word_scores, const uint8_t *rationale, int32_t n, int32_t k,
                          double threshold);

/* Average precision of the scores against the rationale, ties grouped as scikit-learn's
 * average_precision_score: sum over distinct thresholds of (R_i - R_{i-1}) P_i. NaN without
 * rationale words. */
double faith_plaus_auprc(const float *word_scores, const uint8_t *rationale, int32_t n);

/* For token_f1 / iou_f1 created with k "mean" (the default) and no k_value: set k_value to the
 * dataset's mean rationale length (words). Returns 1 when it was set, 0 when the metric does not
 * use it (another metric, an explicit k or k_value). The runner calls this after loading the
 * dataset and before recording params_json. */
struct faith_metric;
int faith_plaus_set_mean_k(struct faith_metric *m, double mean_len);

#endif
