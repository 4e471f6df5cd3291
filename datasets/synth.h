/* synth.h: the synthetic sentiment task with a known true rationale (`faith gen synth`): the word
 * lists are public so tests and analyses can recompute every label and rationale from the text. */
#ifndef FAITH_SYNTH_H
#define FAITH_SYNTH_H

#include <stdint.h>

#include "error.h"

/* Signal words (each +1 or -1), negators (flip the signal word right after them), decoys
 * (sentiment-looking words drawn independently of the label) and neutral filler. Every word is a
 * whole-word entry of the bert-base-uncased vocabulary; the lists are pairwise disjoint. */
extern const char *const faith_synth_positive[];
extern const char *const faith_synth_negative[];
extern const char *const faith_synth_negators[];
extern const char *const faith_synth_decoys[];
extern const char *const faith_synth_filler[];
extern const int faith_synth_n_positive, faith_synth_n_negative, faith_synth_n_negators,
    faith_synth_n_decoys, faith_synth_n_filler;

typedef struct faith_synth_opts {
    const char *task;  /* "sentiment" (the only task so far) */
    int64_t n;         /* examples over all splits, >= 3 */
    uint64_t seed;
    int32_t min_len;   /* words per example, 2 <= min_len <= max_len <= FAITH_SYNTH_MAX_LEN */
    int32_t max_len;
} faith_synth_opts;

#define FAITH_SYNTH_MAX_LEN 512

/* Split sizes for n examples: dev = test = max(1, n / 10), train = the rest. */
void faith_synth_split_sizes(int64_t n, int64_t *train, int64_t *dev, int64_t *test);

/* Write dir/{train,dev,test}.jsonl and dir/README.txt (dir is created if missing). The bytes
 * depend only on the options. */
int faith_synth_write(const faith_synth_opts *o, const char *dir, faith_err *err);

#endif
