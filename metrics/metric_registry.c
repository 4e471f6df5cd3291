/* metric_registry.c: the table of built-in metrics and creation by name.
 * Adding a metric is one new file plus one line in METRICS below. */
#include <stdlib.h>
#include <string.h>

#include "explainer.h"
#include "metric.h"

static const faith_metric_ops *const METRICS[] = {
    NULL, /* placeholder until the first metric lands */
};

size_t faith_metric_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof METRICS / sizeof METRICS[0]; i++)
        if (METRICS[i]) n++;
    return n;
}

const faith_metric_ops *faith_metric_at(size_t i)
{
    size_t k = 0;
    for (size_t j = 0; j < sizeof METRICS / sizeof METRICS[0]; j++)
        if (METRICS[j] && k++ == i) return METRICS[j];
    return NULL;
}

const faith_metric_ops *faith_metric_find(const char *name)
{
    for (size_t i = 0; i < faith_metric_count(); i++)
        if (strcmp(faith_metric_at(i)->name, name) == 0) return faith_metric_at(i);
    return NULL;
}
