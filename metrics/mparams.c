/* mparams.c: shared metric parameter readers (bins, operator) with errors naming
 * metrics.<name>.params.<key>, as params.c does for scalar keys. */
#include "mparams.h"

#include <stdio.h>
#include <string.h>

#include "params.h"

int faith_mparams_has(const cJSON *params, const char *key)
{
    return params && cJSON_IsObject(params) && cJSON_GetObjectItemCaseSensitive(params, key);
}

int faith_mparams_bins(const char *owner, const cJSON *params, const char *key, const double *def,
                       int32_t n_def, double *out, int32_t *n_out, faith_err *err)
{
    if (!faith_mparams_has(params, key)) {
        memcpy(out, def, sizeof *out * (size_t)n_def);
        *n_out = n_def;
        return FAITH_OK;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, key);
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n < 1 || n > FAITH_MAX_BINS)
        return faith_err_set(err, FAITH_ERR_ARG,
                             "%s.params.%s: expected an array of 1 to %d percentages", owner, key,
                             FAITH_MAX_BINS);
    int32_t i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e) || !(e->valuedouble > 0 && e->valuedouble <= 100) ||
            (i > 0 && !(e->valuedouble > out[i - 1])))
            return faith_err_set(err, FAITH_ERR_ARG,
                                 "%s.params.%s[%d]: expected percentages in (0, 100], strictly "
                                 "ascending",
                                 owner, key, i);
        out[i] = e->valuedouble;
    }
    *n_out = i;
    return FAITH_OK;
}

int faith_mparams_op(const char *owner, const cJSON *params, const char *key, faith_perturb_op def,
                     faith_perturb_op *out, faith_err *err)
{
    int v;
    FAITH_TRY(faith_params_choice(owner, params, key, FAITH_PERTURB_OP_NAMES, 3, (int)def, &v, err));
    *out = (faith_perturb_op)v;
    return FAITH_OK;
}

cJSON *faith_mparams_array(const double *v, int32_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (int32_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

void faith_mparams_bin_name(double percent, char *buf, size_t cap)
{
    snprintf(buf, cap, "k%g", percent);
}
