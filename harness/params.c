/* params.c: strict, typed reading of component parameters from cJSON objects, so every explainer
 * and metric reports a misspelt or mistyped key the same way. */
#include "params.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "explainer.h"

int faith_params_check(const char *owner, const cJSON *params, const char *const *known, size_t n,
                       faith_err *err)
{
    if (!params || cJSON_IsNull(params)) return FAITH_OK;
    if (!cJSON_IsObject(params))
        return faith_err_set(err, FAITH_ERR_ARG, "%s.params: expected an object", owner);
    for (const cJSON *it = params->child; it; it = it->next) {
        size_t k = 0;
        while (k < n && strcmp(known[k], it->string) != 0) k++;
        if (k < n) continue;
        const char *near = faith_closest_name(it->string, known, n);
        if (near)
            return faith_err_set(err, FAITH_ERR_ARG,
                                 "%s.params.%s: unknown parameter (did you mean '%s'?)", owner,
                                 it->string, near);
        char list[512] = "";
        size_t used = 0;
        for (size_t j = 0; j < n && used < sizeof list; j++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", j ? ", " : "", known[j]);
        return faith_err_set(err, FAITH_ERR_ARG, "%s.params.%s: unknown parameter (known: %s)", owner,
                             it->string, n ? list : "none");
    }
    return FAITH_OK;
}

static const cJSON *get(const cJSON *params, const char *key)
{
    if (!params || !cJSON_IsObject(params)) return NULL;
    return cJSON_GetObjectItemCaseSensitive(params, key);
}

int faith_params_int(const char *owner, const cJSON *params, const char *key, int64_t def, int64_t lo,
                     int64_t hi, int64_t *out, faith_err *err)
{
    const cJSON *v = get(params, key);
    if (!v) {
        *out = def;
        return FAITH_OK;
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!cJSON_IsNumber(v) || d != floor(d) || d < (double)lo || d > (double)hi)
        return faith_err_set(err, FAITH_ERR_ARG,
                             "%s.params.%s: expected an integer in [%lld, %lld]", owner, key,
                             (long long)lo, (long long)hi);
    *out = (int64_t)d;
    return FAITH_OK;
}

int faith_params_double(const char *owner, const cJSON *params, const char *key, double def,
                        double lo, double hi, double *out, faith_err *err)
{
    const cJSON *v = get(params, key);
    if (!v) {
        *out = def;
        return FAITH_OK;
    }
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
        return faith_err_set(err, FAITH_ERR_ARG, "%s.params.%s: expected a number in [%g, %g]",
                             owner, key, lo, hi);
    *out = v->valuedouble;
    return FAITH_OK;
}

int faith_params_bool(const char *owner, const cJSON *params, const char *key, int def, int *out,
                      faith_err *err)
{
    const cJSON *v = get(params, key);
    if (!v) {
        *out = def;
        return FAITH_OK;
    }
    if (!cJSON_IsBool(v))
        return faith_err_set(err, FAITH_ERR_ARG, "%s.params.%s: expected true or false", owner, key);
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return FAITH_OK;
}

int faith_params_choice(const char *owner, const cJSON *params, const char *key,
                        const char *const *choices, size_t n, int def, int *out, faith_err *err)
{
    const cJSON *v = get(params, key);
    if (!v) {
        *out = def;
        return FAITH_OK;
    }
    if (cJSON_IsString(v))
        for (size_t i = 0; i < n; i++)
            if (strcmp(v->valuestring, choices[i]) == 0) {
                *out = (int)i;
                return FAITH_OK;
            }
    char list[512] = "";
    size_t used = 0;
    for (size_t j = 0; j < n && used < sizeof list; j++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s\"%s\"", j ? ", " : "", choices[j]);
    return faith_err_set(err, FAITH_ERR_ARG, "%s.params.%s: expected one of %s", owner, key, list);
}
