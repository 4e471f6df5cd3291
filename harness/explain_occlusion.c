/* explain_occlusion.c: the `occlusion` (leave-one-out) explainer: a token's score is how much the
 * explained output drops when that token alone is replaced (or deleted); specials score 0. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coalition.h"
#include "loo.h"
#include "explainer.h"
#include "params.h"

typedef struct occlusion_state {
    faith_replace replace;
} occlusion_state;

static int occlusion_create(const cJSON *params, void **state, faith_err *err)
{
    static const char *const known[] = {"replace"};
    FAITH_TRY(faith_params_check("explainers.occlusion", params, known, 1, err));
    occlusion_state *s = faith_xcalloc(1, sizeof *s);
    faith_replace def = {FAITH_REPLACE_MASK, -1};
    int rc = faith_replace_parse("explainers.occlusion", params, "replace", def, &s->replace, err);
    if (rc < 0) {
        free(s);
        return rc;
    }
    *state = s;
    return FAITH_OK;
}

static void occlusion_destroy(void *state) { free(state); }

static cJSON *occlusion_params_json(const void *state)
{
    const occlusion_state *s = state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "replace", faith_replace_json(&s->replace));
    return o;
}

static int occlusion_explain(void *state, const faith_env *env, const faith_item *it, float *scores,
                             faith_explain_extra *extra, faith_err *err)
{
    const occlusion_state *s = state;
    memset(scores, 0, (size_t)it->n * sizeof *scores);
    if (extra) extra->completeness_gap = extra->delta_f = NAN;
    /* The drops are shared with tau_loo (same example, replacement and output: no second pass). */
    const double *drops;
    int32_t d;
    FAITH_TRY(faith_loo_drops(env, it, &s->replace, &drops, &d, err));
    for (int32_t t = 0, j = 0; t < it->n && j < d; t++)
        if (!(it->special && it->special[t])) scores[t] = (float)drops[j++];
    return FAITH_OK;
}

static int occlusion_check(const void *state, const faith_env *env, faith_err *err)
{
    return faith_replace_check("explainers.occlusion", "replace", &((const occlusion_state *)state)->replace,
                               env, err);
}

const faith_explainer_ops faith_explainer_occlusion = {
    .name = "occlusion",
    .version = "1",
    .summary = "leave-one-out: F(x) - F(x with the token replaced or deleted)",
    .create = occlusion_create,
    .destroy = occlusion_destroy,
    .params_json = occlusion_params_json,
    .explain = occlusion_explain,
    .check = occlusion_check,
};
