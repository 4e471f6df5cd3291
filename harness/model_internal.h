/* model_internal.h: what model.c shares with model_io.c (load/save) and nothing else: a model
 * allocated from a config with zeroed parameters, and the config checks. Private to the engine. */
#ifndef FAITH_MODEL_INTERNAL_H
#define FAITH_MODEL_INTERNAL_H

#include "model.h"

/* A model with the config's shapes, every parameter zero. */
int faith_model_alloc(const faith_model_config *cfg, faith_model **out, faith_err *err);

/* Check a config's sizes are positive and consistent (d_model % n_heads == 0, ...). what names the
 * source in messages (a config.json path, or "config"). */
int faith_model_config_check(const faith_model_config *cfg, const char *what, faith_err *err);

#endif
