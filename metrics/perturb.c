/* perturb.c: ranking, top-k counts and perturbed id sequences shared by the removal metrics.
 * Perturbations act on token ids, never on text, so no re-tokenisation can shift the tokens. */
#include "perturb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "coalition.h"

const char *const FAITH_PERTURB_OP_NAMES[3] = {"delete", "mask", "pad"};

typedef struct ranked {
    float s;
    int32_t pos;
} ranked;

/* Descending score, then ascending position; NaN sorts after every number. qsort is not stable,
 * so the position tie-break is part of the comparison. */
static int cmp_ranked(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    int na = isnan(a->s), nb = isnan(b->s);
    if (na != nb) return na - nb;
    if (!na && a->s != b->s) return a->s > b->s ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

int32_t faith_perturb_rank(const float *scores, const uint8_t *special, int32_t n,
                           int exclude_special, int only_positive, int32_t *order)
{
    ranked *r = faith_xmalloc(sizeof *r * (size_t)(n > 0 ? n : 1));
    int32_t m = 0;
    for (int32_t t = 0; t < n; t++) {
        if (exclude_special && special && special[t]) continue;
        if (only_positive && !(scores[t] > 0)) continue;
        r[m].s = scores[t];
        r[m].pos = t;
        m++;
    }
    qsort(r, (size_t)m, sizeof *r, cmp_ranked);
    for (int32_t i = 0; i < m; i++) order[i] = r[i].pos;
    free(r);
    return m;
}

int32_t faith_perturb_topk_ceil(int32_t d, double percent)
{
    if (d <= 0 || !(percent > 0)) return 0;
    double k;
    if (percent == floor(percent)) {
        int64_t num = (int64_t)percent * d;
        k = (double)((num + 99) / 100);
    } else {
        k = ceil(percent * d / 100.0);
    }
    return k > d ? d : (int32_t)k;
}

int32_t faith_perturb_topk_floor(int32_t d, double percent)
{
    if (d <= 0 || !(percent > 0)) return 0;
    double k = percent == floor(percent) ? (double)(((int64_t)percent * d) / 100)
                                         : floor(percent * d / 100.0);
    return k > d ? d : (int32_t)k;
}

int faith_perturb_op_check(faith_perturb_op op, const faith_special_ids *sp, faith_err *err)
{
    int32_t fill = op == FAITH_OP_MASK ? sp->mask : op == FAITH_OP_PAD ? sp->pad : -1;
    if (op != FAITH_OP_DELETE && fill < 0)
        return faith_err_set(err, FAITH_ERR_ARG,
                             "operator \"%s\" needs a %s token but the tokenizer has none "
                             "(use operator \"delete\")",
                             FAITH_PERTURB_OP_NAMES[op], op == FAITH_OP_MASK ? "mask" : "pad");
    return FAITH_OK;
}

int32_t faith_perturb_apply(faith_perturb_op op, const faith_special_ids *sp, const int32_t *ids,
                            const int32_t *type_ids, const uint8_t *special, int32_t n,
                            const uint8_t *remove, int32_t *out_ids, int32_t *out_types,
                            faith_err *err)
{
    FAITH_TRY(faith_perturb_op_check(op, sp, err));
    int32_t fill = op == FAITH_OP_MASK ? sp->mask : op == FAITH_OP_PAD ? sp->pad : -1;
    return faith_perturb_tokens(n, ids, type_ids, special, remove, op == FAITH_OP_DELETE ? -1 : fill, out_ids,
                                out_types);
}

void faith_pset_init(faith_pset *s, int32_t n)
{
    memset(s, 0, sizeof *s);
    s->n = n;
}

void faith_pset_free(faith_pset *s)
{
    free(s->ids);
    free(s->types);
    free(s->len);
    memset(s, 0, sizeof *s);
}

void faith_pset_clear(faith_pset *s)
{
    s->count = 0;
}

static void pset_grow(faith_pset *s)
{
    if (s->count < s->cap) return;
    int32_t cap = s->cap ? 2 * s->cap : 16;
    size_t row = (size_t)(s->n > 0 ? s->n : 1);
    s->ids = faith_xrealloc(s->ids, sizeof(int32_t) * row * (size_t)cap);
    s->types = faith_xrealloc(s->types, sizeof(int32_t) * row * (size_t)cap);
    s->len = faith_xrealloc(s->len, sizeof(int32_t) * (size_t)cap);
    s->cap = cap;
}

int faith_pset_add(faith_pset *s, faith_perturb_op op, const faith_special_ids *sp,
                   const faith_item *it, const uint8_t *remove, faith_err *err)
{
    if (it->n != s->n)
        return faith_err_set(err, FAITH_ERR_INTERNAL, "perturbation set built for %d tokens, item has %d",
                             s->n, it->n);
    pset_grow(s);
    size_t off = (size_t)s->count * (size_t)s->n;
    int32_t m = faith_perturb_apply(op, sp, it->ids, it->type_ids, it->special, it->n, remove,
                                    s->ids + off, s->types + off, err);
    if (m < 0) return m;
    s->len[s->count++] = m;
    return FAITH_OK;
}

int faith_pset_add_topk(faith_pset *s, faith_perturb_op op, const faith_special_ids *sp,
                        const faith_item *it, const int32_t *order, int32_t k, int keep,
                        faith_err *err)
{
    uint8_t *remove = faith_xcalloc((size_t)(it->n > 0 ? it->n : 1), 1);
    if (keep) memset(remove, 1, (size_t)it->n);
    for (int32_t i = 0; i < k; i++) remove[order[i]] = keep ? 0 : 1;
    int rc = faith_pset_add(s, op, sp, it, remove, err);
    free(remove);
    return rc;
}

double faith_prob_of(const float *logits, int32_t K, int32_t target)
{
    double probs[FAITH_MAX_CLASSES];
    faith_softmax_row(logits, K, probs);
    return target >= 0 && target < K ? probs[target] : NAN;
}

int32_t faith_argmax(const float *logits, int32_t K)
{
    int32_t best = 0;
    for (int32_t k = 1; k < K; k++)
        if (logits[k] > logits[best]) best = k;
    return best;
}

int32_t faith_item_n_plain(const faith_item *it)
{
    int32_t d = 0;
    for (int32_t t = 0; t < it->n; t++) d += !(it->special && it->special[t]);
    return d;
}

/* Rows the delete operator emptied (an input without specials) cannot be run: they get NaN. */
int faith_pset_run(const faith_pset *s, const faith_env *env, int32_t target, double *probs,
                   int32_t *argmax, faith_err *err)
{
    if (s->count == 0) return FAITH_OK;
    int32_t K = faith_model_cfg(env->model)->n_classes;
    if (target < 0 || target >= K)
        return faith_err_set(err, FAITH_ERR_RANGE, "target class %d outside [0, %d)", target, K);
    const int32_t **ids = faith_xmalloc(sizeof *ids * (size_t)s->count);
    const int32_t **types = faith_xmalloc(sizeof *types * (size_t)s->count);
    int32_t *len = faith_xmalloc(sizeof *len * (size_t)s->count);
    float *logits = faith_xmalloc(sizeof *logits * (size_t)s->count * (size_t)K);
    int32_t m = 0;
    for (int32_t i = 0; i < s->count; i++) {
        if (s->len[i] <= 0) continue;
        ids[m] = s->ids + (size_t)i * (size_t)s->n;
        types[m] = s->types + (size_t)i * (size_t)s->n;
        len[m++] = s->len[i];
    }
    int rc = m ? faith_run_logits(env->model, env->token_budget, m, ids, types, len, logits,
                                  env->cost, err)
               : FAITH_OK;
    if (rc == FAITH_OK)
        for (int32_t i = 0, j = 0; i < s->count; i++) {
            if (s->len[i] <= 0) {
                probs[i] = NAN;
                if (argmax) argmax[i] = -1;
                continue;
            }
            const float *row = logits + (size_t)j++ * (size_t)K;
            probs[i] = faith_prob_of(row, K, target);
            if (argmax) argmax[i] = faith_argmax(row, K);
        }
    free(ids);
    free(types);
    free(len);
    free(logits);
    return rc;
}
