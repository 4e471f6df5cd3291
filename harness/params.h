/* params.h: strict reading of a component's JSON parameters (explainers, metrics): unknown keys and
 * wrong types are errors naming "<owner>.params.<key>", e.g. "explainers.lime.params.samples". */
#ifndef FAITH_PARAMS_H
#define FAITH_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "error.h"

/* FAITH_ERR_ARG when params (NULL allowed) is not an object or has a key outside known; the
 * message says "unknown parameter" and suggests the closest known key. */
int faith_params_check(const char *owner, const cJSON *params, const char *const *known, size_t n,
                       faith_err *err);

/* Typed getters: the default when the key is absent, FAITH_ERR_ARG naming the key and the expected
 * type (and range) otherwise. */
int faith_params_int(const char *owner, const cJSON *params, const char *key, int64_t def, int64_t lo,
                     int64_t hi, int64_t *out, faith_err *err);
int faith_params_double(const char *owner, const cJSON *params, const char *key, double def,
                        double lo, double hi, double *out, faith_err *err);
int faith_params_bool(const char *owner, const cJSON *params, const char *key, int def, int *out,
                      faith_err *err);
/* A string from choices (n of them); *out is its index (def when absent). */
int faith_params_choice(const char *owner, const cJSON *params, const char *key,
                        const char *const *choices, size_t n, int def, int *out, faith_err *err);

#endif
