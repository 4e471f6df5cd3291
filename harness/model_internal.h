/* model_internal.h: what model.c shares with model_io.c (load/save) and nothing else: a model
 * allocated from a config with zeroed parameters, and the config checks. Private to the engine. */
#ifndef FAITH_MODEL_INTERNAL_H
#define FAITH_MODEL_INTERNAL_H

#include "model.h"

/* A model with the config's shapes, every parameter zero. */
int faith_model_alloc(const faith_model_config *cfg, faith_model **out, faith_err *err);

/* The config's parameter layout (views, sizes) without the parameters themselves, so that a
 * file's shapes can be checked before allocating what config.json asks for; then
 * faith_model_alloc_params allocates them (zeroed). */
int faith_model_layout(const faith_model_config *cfg, faith_model **out, faith_err *err);
void faith_model_alloc_params(faith_model *m);

/* Models above this many parameters are refused by faith_model_config_check (4 TiB of floats). */
#define FAITH_MODEL_MAX_PARAMS 1099511627776.0

/* Check a config's sizes are positive and consistent (d_model % n_heads == 0, ...). what names the
 * source in messages (a config.json path, or "config"). */
int faith_model_config_check(const faith_model_config *cfg, const char *what, faith_err *err);

#endif
