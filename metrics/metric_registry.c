/* metric_registry.c: the table of built-in metrics and creation by name.
 * Adding a metric is one new file plus one line in METRICS below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explainer.h"
#include "metric.h"

extern const faith_metric_ops faith_metric_comprehensiveness;
extern const faith_metric_ops faith_metric_sufficiency;
extern const faith_metric_ops faith_metric_deletion_curve;
extern const faith_metric_ops faith_metric_insertion_curve;
extern const faith_metric_ops faith_metric_log_odds;
extern const faith_metric_ops faith_metric_tau_loo;
extern const faith_metric_ops faith_metric_decision_flip;
extern const faith_metric_ops faith_metric_token_f1;
extern const faith_metric_ops faith_metric_iou_f1;
extern const faith_metric_ops faith_metric_auprc;

static const faith_metric_ops *const METRICS[] = {
    &faith_metric_comprehensiveness,
    &faith_metric_sufficiency,
    &faith_metric_deletion_curve,
    &faith_metric_insertion_curve,
    &faith_metric_log_odds,
    &faith_metric_tau_loo,
    &faith_metric_decision_flip,
    &faith_metric_token_f1,
    &faith_metric_iou_f1,
    &faith_metric_auprc,
};

#define N_METRICS (sizeof METRICS / sizeof METRICS[0])

size_t faith_metric_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < N_METRICS; i++)
        if (METRICS[i]) n++;
    return n;
}

const faith_metric_ops *faith_metric_at(size_t i)
{
    size_t k = 0;
    for (size_t j = 0; j < N_METRICS; j++)
        if (METRICS[j] && k++ == i) return METRICS[j];
    return NULL;
}

const faith_metric_ops *faith_metric_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < faith_metric_count(); i++)
        if (strcmp(faith_metric_at(i)->name, name) == 0) return faith_metric_at(i);
    return NULL;
}

static int unknown_metric(const char *name, faith_err *err)
{
    const char *names[N_METRICS];
    char list[1024] = "";
    size_t n = faith_metric_count(), used = 0;
    for (size_t i = 0; i < n; i++) {
        names[i] = faith_metric_at(i)->name;
        if (used < sizeof list)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
    }
    const char *near = faith_closest_name(name, names, n);
    if (near)
        return faith_err_set(err, FAITH_ERR_ARG,
                             "unknown metric '%s' (did you mean '%s'?); known metrics: %s",
                             name ? name : "(null)", near, list);
    return faith_err_set(err, FAITH_ERR_ARG, "unknown metric '%s'; known metrics: %s",
                         name ? name : "(null)", list);
}

int faith_metric_create(const char *name, const cJSON *params, faith_metric **out, faith_err *err)
{
    *out = NULL;
    const faith_metric_ops *ops = faith_metric_find(name);
    if (!ops) return unknown_metric(name, err);
    void *state = NULL;
    /* each metric checks its keys itself, naming metrics.<name>.params.<key> */
    FAITH_TRY(ops->create(params, &state, err));
    faith_metric *m = faith_xcalloc(1, sizeof *m);
    m->ops = ops;
    m->state = state;
    ops->layout(state, &m->layout);
    if (m->layout.n_cols < 0 || m->layout.n_cols > FAITH_METRIC_MAX_COLS || m->layout.curve_len < 0) {
        faith_metric_free(m);
        return faith_err_set(err, FAITH_ERR_INTERNAL, "metric %s: bad record layout", name);
    }
    *out = m;
    return FAITH_OK;
}

void faith_metric_free(faith_metric *m)
{
    if (!m) return;
    if (m->ops && m->ops->destroy) m->ops->destroy(m->state);
    free(m);
}

int32_t faith_metric_width(const faith_metric *m)
{
    return m->layout.n_cols + 2 * m->layout.curve_len;
}

int faith_metric_check(const faith_metric *m, const faith_env *env, faith_err *err)
{
    return m->ops->check ? m->ops->check(m->state, env, err) : FAITH_OK;
}
