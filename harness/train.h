/* train.h: supervised training of a sequence classifier (`faith train`): tokenised data, length
 * bucketing, the data-parallel loop over MPI ranks, dev evaluation and best-checkpoint saving. */
#ifndef FAITH_TRAIN_H
#define FAITH_TRAIN_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "dataset.h"
#include "error.h"
#include "model.h"
#include "tokenizer.h"

/* A tokenised labelled split, one flat allocation per field. Sequence i is
 * ids[off[i] .. off[i] + len[i]) (special tokens included). Plain data owned by its creator. */
typedef struct faith_train_data {
    int64_t n;
    int64_t *off;       /* (n) */
    int32_t *len;       /* (n) */
    int32_t *ids;       /* (sum len) */
    int32_t *type_ids;  /* (sum len) */
    int32_t *label;     /* (n) class index in [0, n_classes) */
} faith_train_data;

/* Tokenise every example of d (truncated to max_len tokens). Examples must be labelled, their labels
 * below n_classes and their token ids below vocab_size; errors name the example. */
int faith_train_data_tokenize(const faith_dataset *d, const faith_tokenizer *t, int32_t max_len,
                              int32_t n_classes, int32_t vocab_size, faith_train_data *out,
                              faith_err *err);
void faith_train_data_free(faith_train_data *d);

/* Longest sequence of d. */
int32_t faith_train_max_len(const faith_train_data *d);

/* One epoch's mini-batches: shuffle every example (stream (seed, epoch)), sort by length inside
 * pools of pool_batches * batch examples (0: 50), cut into batches and shuffle the batch order.
 * Batch b is order[starts[b] .. starts[b+1]), its rows sorted by length; only one batch per epoch
 * may be short. order has d->n entries, starts ceil(n / batch) + 1. */
void faith_train_epoch_batches(const faith_train_data *d, int32_t batch, int32_t pool_batches,
                               uint64_t seed, int64_t epoch, int64_t *order, int64_t *starts);

typedef struct faith_train_opts {
    double epochs;          /* may be fractional: total updates = ceil(epochs * batches per epoch) */
    double lr;              /* peak learning rate */
    double warmup;          /* fraction of total updates spent warming up */
    int32_t batch;          /* global batch size (summed over ranks) */
    uint64_t seed;          /* shuffling and dropout */
    double weight_decay;
    double clip;            /* global gradient norm limit; <= 0: none */
    int32_t evals_per_epoch;
    int freeze_encoder;     /* update only the classification head */
    int dense_embeddings;   /* 1: dense AdamW on every word-embedding row (default 0: rows in the batch) */
    int32_t pool_batches;   /* bucketing pool, in batches (0: default 50) */
    int quiet;              /* no progress lines on stderr */
    const char *out_dir;    /* best checkpoint + train_log.json go here (rank 0); NULL: save nothing */
    const faith_tokenizer *tokenizer; /* saved with each checkpoint when not NULL */
    const cJSON *run_info;  /* copied into train_log.json (options, seeds, data sha256s); may be NULL */
} faith_train_opts;

/* Defaults of `faith train` (the values --help shows). */
void faith_train_opts_default(faith_train_opts *o);

typedef struct faith_train_eval {
    int64_t step;           /* updates done when evaluated */
    double epoch;           /* step / batches per epoch */
    double dev_acc, dev_loss;
    double train_loss;      /* mean training loss over the updates since the previous evaluation */
    double lr;              /* learning rate of the last update */
    double seconds;         /* wall time since training started (rank 0's clock) */
} faith_train_eval;

typedef struct faith_train_result {
    int64_t steps, batches_per_epoch, warmup_steps;
    int32_t n_evals;
    faith_train_eval *evals; /* (n_evals), the first before any update */
    int32_t best;            /* index of the best evaluation (highest dev accuracy, earliest on ties) */
    double seconds;
    int ranks;
} faith_train_result;

/* Train m in place on train, evaluating on dev. On return m holds the parameters of the best
 * evaluation. Runs data-parallel over MPI_COMM_WORLD when MPI is initialised (every rank must call
 * it with the same data and options), else in this process alone. Deterministic: the same seed,
 * data, options and rank count give the same bytes. On failure res is left empty. */
int faith_train_run(faith_model *m, const faith_train_data *train, const faith_train_data *dev,
                    const faith_train_opts *opts, faith_train_result *res, faith_err *err);
void faith_train_result_free(faith_train_result *r);

/* Accuracy and mean cross-entropy of m on d (no dropout), sharded over ranks like training. */
int faith_train_evaluate(faith_model *m, const faith_train_data *d, double *acc, double *loss,
                         faith_err *err);

#endif
