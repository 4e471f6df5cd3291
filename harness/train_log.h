/* train_log.h: train_log.json, the record `faith train` leaves beside its best checkpoint (every
 * evaluation, the options, seeds, data hashes, rank count), and the atomic file writing it uses. */
#ifndef FAITH_TRAIN_LOG_H
#define FAITH_TRAIN_LOG_H

#include <stddef.h>

#include "error.h"
#include "model.h"
#include "train.h"

/* Write opts->out_dir/train_log.json atomically (temp file + rename). */
int faith_train_log_write(const faith_train_opts *o, const faith_model_config *cfg,
                          const faith_train_result *res, int finished, faith_err *err);

/* Create dir and its missing parents (mkdir -p). */
int faith_train_mkdirs(const char *dir, faith_err *err);

/* Write n bytes to path through path.tmp.<pid> and rename, so readers never see a partial file. */
int faith_train_write_atomic(const char *path, const void *data, size_t n, faith_err *err);

#endif
