/* cost.h: counters of model work (forward passes, backward passes, sequences through the model)
 * that every explainer and metric reports, so methods can be compared at equal budget. */
#ifndef FAITH_COST_H
#define FAITH_COST_H

#include <stdint.h>

typedef struct faith_cost {
    int64_t forward;    /* batched forward calls */
    int64_t backward;   /* batched backward calls */
    int64_t sequences;  /* sequences through the model, forward or backward */
    int64_t tokens;     /* tokens (sum of lengths) through the model */
} faith_cost;

#endif
