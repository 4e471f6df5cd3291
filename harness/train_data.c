/* train_data.c: the data side of `faith train`: tokenising a labelled split once, and cutting each
 * epoch into length-bucketed mini-batches (shuffle, sort by length inside pools, shuffle batches). */
#include "train.h"

#include <stdlib.h>
#include <string.h>

#include "rng.h"

int faith_train_data_tokenize(const faith_dataset *d, const faith_tokenizer *t, int32_t max_len,
                              int32_t n_classes, int32_t vocab_size, faith_train_data *out,
                              faith_err *err)
{
    memset(out, 0, sizeof *out);
    out->n = d->n;
    out->off = faith_xmalloc(sizeof(int64_t) * (size_t)(d->n ? d->n : 1));
    out->len = faith_xmalloc(sizeof(int32_t) * (size_t)(d->n ? d->n : 1));
    out->label = faith_xmalloc(sizeof(int32_t) * (size_t)(d->n ? d->n : 1));
    size_t cap = 1024, used = 0;
    out->ids = faith_xmalloc(sizeof(int32_t) * cap);
    out->type_ids = faith_xmalloc(sizeof(int32_t) * cap);
    for (int64_t i = 0; i < d->n; i++) {
        const faith_example *ex = &d->ex[i];
        if (ex->label < 0 || ex->label >= n_classes) {
            faith_train_data_free(out);
            return faith_err_set(err, FAITH_ERR_RANGE,
                                 "example %lld: label %d outside the model's %d classes",
                                 (long long)ex->id, ex->label, n_classes);
        }
        faith_encoding enc;
        memset(&enc, 0, sizeof enc);
        int rc = faith_tokenizer_encode(t, ex->text, ex->pair, max_len, &enc, err);
        if (rc < 0) {
            faith_train_data_free(out);
            return faith_err_prefix(err, "example %lld: ", (long long)ex->id);
        }
        if (faith_encoding_require_tokens(&enc, err) < 0) {
            faith_encoding_free(&enc);
            faith_train_data_free(out);
            return faith_err_prefix(err, "example %lld: ", (long long)ex->id);
        }
        for (int32_t k = 0; k < enc.n; k++)
            if (enc.ids[k] < 0 || enc.ids[k] >= vocab_size) {
                int32_t bad = enc.ids[k];
                faith_encoding_free(&enc);
                faith_train_data_free(out);
                return faith_err_set(err, FAITH_ERR_RANGE,
                                     "example %lld: token id %d outside the model's vocabulary of %d "
                                     "(tokenizer and model do not match)",
                                     (long long)ex->id, bad, vocab_size);
            }
        if (used + (size_t)enc.n > cap) {
            while (used + (size_t)enc.n > cap) cap *= 2;
            out->ids = faith_xrealloc(out->ids, sizeof(int32_t) * cap);
            out->type_ids = faith_xrealloc(out->type_ids, sizeof(int32_t) * cap);
        }
        memcpy(out->ids + used, enc.ids, sizeof(int32_t) * (size_t)enc.n);
        if (enc.type_ids) memcpy(out->type_ids + used, enc.type_ids, sizeof(int32_t) * (size_t)enc.n);
        else memset(out->type_ids + used, 0, sizeof(int32_t) * (size_t)enc.n);
        out->off[i] = (int64_t)used;
        out->len[i] = enc.n;
        out->label[i] = ex->label;
        used += (size_t)enc.n;
        faith_encoding_free(&enc);
    }
    return FAITH_OK;
}

void faith_train_data_free(faith_train_data *d)
{
    if (!d) return;
    free(d->off);
    free(d->len);
    free(d->ids);
    free(d->type_ids);
    free(d->label);
    memset(d, 0, sizeof *d);
}

int32_t faith_train_max_len(const faith_train_data *d)
{
    int32_t m = 0;
    for (int64_t i = 0; i < d->n; i++)
        if (d->len[i] > m) m = d->len[i];
    return m;
}

/* Fisher-Yates with draws from a counter-based stream, so every rank shuffles identically. */
static void shuffle(int64_t *a, int64_t n, faith_rng *r)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)faith_rng_below(r, (uint64_t)i + 1);
        int64_t tmp = a[i];
        a[i] = a[j];
        a[j] = tmp;
    }
}

typedef struct len_key {
    int32_t len;
    int64_t pos, idx; /* position in the shuffled order breaks ties: a total order, stable sort */
} len_key;

static int cmp_len_key(const void *a, const void *b)
{
    const len_key *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

void faith_train_epoch_batches(const faith_train_data *d, int32_t batch, int32_t pool_batches,
                               uint64_t seed, int64_t epoch, int64_t *order, int64_t *starts)
{
    int64_t n = d->n;
    for (int64_t i = 0; i < n; i++) order[i] = i;
    faith_rng r;
    faith_rng_init(&r, seed, epoch, "train-shuffle");
    shuffle(order, n, &r);

    /* Sort by length inside pools of pool_batches batches, so a batch holds similar lengths
     * (little padding) while the pools keep the epoch's order random. */
    int64_t pool = (int64_t)batch * (pool_batches > 0 ? pool_batches : 50);
    len_key *keys = faith_xmalloc(sizeof(len_key) * (size_t)(pool ? pool : 1));
    for (int64_t p0 = 0; p0 < n; p0 += pool) {
        int64_t pn = n - p0 < pool ? n - p0 : pool;
        for (int64_t i = 0; i < pn; i++) {
            keys[i].idx = order[p0 + i];
            keys[i].len = d->len[keys[i].idx];
            keys[i].pos = i;
        }
        qsort(keys, (size_t)pn, sizeof *keys, cmp_len_key);
        for (int64_t i = 0; i < pn; i++) order[p0 + i] = keys[i].idx;
    }
    free(keys);

    /* Pools are whole batches, so only the epoch's last batch can be short. Shuffle the batch
     * order so lengths do not drift within a pool's run of batches. */
    int64_t nb = (n + batch - 1) / batch;
    int64_t *perm = faith_xmalloc(sizeof(int64_t) * (size_t)(nb ? nb : 1));
    for (int64_t b = 0; b < nb; b++) perm[b] = b;
    faith_rng_init(&r, seed, epoch, "train-batches");
    shuffle(perm, nb, &r);
    int64_t *tmp = faith_xmalloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    int64_t w = 0;
    for (int64_t b = 0; b < nb; b++) {
        int64_t s = perm[b] * batch, e = s + batch < n ? s + batch : n;
        starts[b] = w;
        for (int64_t i = s; i < e; i++) tmp[w++] = order[i];
    }
    starts[nb] = w;
    memcpy(order, tmp, sizeof(int64_t) * (size_t)n);
    free(tmp);
    free(perm);
}
