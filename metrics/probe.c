/* probe.c: hidden-state features, property / control labels, and deterministic softmax-regression
 * probes (L-BFGS in double from zero, fixed iterations) for probe_accuracy. */
#include "probe.h"

#include <cblas.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "unicode.h"

const char *const FAITH_PROBE_PROPERTY_NAMES[4] = {"label", "length_bin", "negation", "wordlist"};

const char *const FAITH_PROBE_NEGATIONS[] = {
    "not", "no", "never", "n't", "nor", "none", "nobody", "nothing", "neither", "nowhere",
    "cannot", "without", "hardly", "barely", "scarcely"};
const int32_t FAITH_PROBE_N_NEGATIONS = sizeof FAITH_PROBE_NEGATIONS / sizeof FAITH_PROBE_NEGATIONS[0];

int faith_probe_property_parse(const char *s, faith_probe_property *out, faith_err *err)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, FAITH_PROBE_PROPERTY_NAMES[i]) == 0) {
            *out = (faith_probe_property)i;
            return FAITH_OK;
        }
    return faith_err_set(err, FAITH_ERR_ARG,
                         "probe property '%s': expected \"label\", \"length_bin\", \"negation\" or "
                         "\"wordlist\"",
                         s ? s : "(null)");
}

int64_t faith_probe_feature_width(const faith_model_config *cfg)
{
    return (int64_t)(cfg->n_layers + 1) * 2 * cfg->d_model;
}

/* ---- features ---- */

/* One padded batch of rows [a, b): forward with hidden states, then [CLS] and mean per layer. */
static int features_batch(faith_model *m, int32_t a, int32_t b, int32_t T, const int32_t *const *ids,
                          const int32_t *const *type_ids, const int32_t *len, float *feats,
                          faith_cost *cost, faith_err *err)
{
    const faith_model_config *cfg = faith_model_cfg(m);
    int32_t B = b - a, C = cfg->d_model, L = cfg->n_layers, K = cfg->n_classes;
    int32_t *bid = faith_xcalloc((size_t)B * (size_t)T, sizeof *bid);
    int32_t *btt = faith_xcalloc((size_t)B * (size_t)T, sizeof *btt);
    int32_t *blen = faith_xmalloc(sizeof *blen * (size_t)B);
    float *logits = faith_xmalloc(sizeof *logits * (size_t)B * (size_t)K);
    int64_t tokens = 0;
    for (int32_t r = 0; r < B; r++) {
        int32_t i = a + r;
        blen[r] = len[i];
        tokens += len[i];
        for (int32_t t = 0; t < T; t++) bid[(size_t)r * T + t] = cfg->pad_token_id >= 0 ? cfg->pad_token_id : 0;
        memcpy(bid + (size_t)r * T, ids[i], sizeof *bid * (size_t)len[i]);
        if (type_ids && type_ids[i]) memcpy(btt + (size_t)r * T, type_ids[i], sizeof *btt * (size_t)len[i]);
    }
    faith_batch batch = {.B = B, .T = T, .ids = bid, .type_ids = btt, .len = blen, .word_embeds = NULL};
    int rc = faith_model_forward(m, &batch, FAITH_FWD_HIDDEN, logits, err);
    int64_t width = faith_probe_feature_width(cfg);
    for (int32_t l = 0; l <= L && rc == FAITH_OK; l++) {
        const float *h = faith_model_hidden(m, l);
        if (!h) {
            rc = faith_err_set(err, FAITH_ERR_INTERNAL, "probe: hidden states of layer %d not kept", l);
            break;
        }
        for (int32_t r = 0; r < B; r++) {
            float *cls = feats + (int64_t)(a + r) * width + (int64_t)(l * 2) * C;
            float *mean = cls + C;
            const float *hr = h + (size_t)r * T * C;
            memcpy(cls, hr, sizeof *cls * (size_t)C);
            for (int32_t c = 0; c < C; c++) {
                double s = 0;
                for (int32_t t = 0; t < blen[r]; t++) s += hr[(size_t)t * C + c];
                mean[c] = (float)(s / blen[r]);
            }
        }
    }
    if (cost) {
        cost->forward++;
        cost->sequences += B;
        cost->tokens += tokens;
    }
    free(bid);
    free(btt);
    free(blen);
    free(logits);
    return rc;
}

int faith_probe_features(faith_model *m, int64_t token_budget, int32_t n, const int32_t *const *ids,
                         const int32_t *const *type_ids, const int32_t *len, float *feats,
                         faith_cost *cost, faith_err *err)
{
    for (int32_t i = 0; i < n; i++)
        if (len[i] < 1) return faith_err_set(err, FAITH_ERR_RANGE, "probe: sequence %d is empty", i);
    /* same cut rule as faith_run_logits: rows * max_len within the budget */
    for (int32_t a = 0; a < n;) {
        int32_t b = a + 1, T = len[a];
        while (b < n) {
            int32_t t2 = len[b] > T ? len[b] : T;
            if ((int64_t)(b - a + 1) * t2 > token_budget) break;
            T = t2;
            b++;
        }
        FAITH_TRY(features_batch(m, a, b, T, ids, type_ids, len, feats, cost, err));
        a = b;
    }
    return FAITH_OK;
}

/* ---- labels from text ---- */

/* Next word of s at *p into buf (ASCII lowercased, outer punctuation stripped); 0 at the end. */
static int next_word(const char **p, char *buf, size_t cap)
{
    /* the word of the rationales and the tokenizer's word index: Unicode spaces separate too */
    const char *s = *p;
    size_t left = strlen(s);
    int sp;
    while (left && (sp = faith_uc_word_space_at(s, left)) > 0) s += sp, left -= (size_t)sp;
    if (!left) return 0;
    const char *e = s;
    while (*e && faith_uc_word_space_at(e, left - (size_t)(e - s)) == 0) e++;
    *p = e;
    const char *a = s, *b = e;
    while (a < b && ispunct((unsigned char)*a) && *a != '\'') a++;
    while (b > a && ispunct((unsigned char)b[-1]) && b[-1] != '\'') b--;
    size_t n = (size_t)(b - a) < cap - 1 ? (size_t)(b - a) : cap - 1;
    for (size_t i = 0; i < n; i++) buf[i] = (char)tolower((unsigned char)a[i]);
    buf[n] = 0;
    return 1;
}

static int text_has(const char *text, const char *const *words, int32_t n_words)
{
    char w[256];
    const char *p = text;
    while (p && next_word(&p, w, sizeof w)) {
        size_t lw = strlen(w);
        for (int32_t i = 0; i < n_words; i++) {
            if (strcmp(w, words[i]) == 0) return 1;
            if (strcmp(words[i], "n't") == 0 && lw > 3 && strcmp(w + lw - 3, "n't") == 0) return 1;
        }
    }
    return 0;
}

int faith_probe_has_word(const char *text, const char *pair, const char *const *words, int32_t n_words)
{
    return text_has(text, words, n_words) || text_has(pair, words, n_words);
}

int32_t faith_probe_control_label(const char *text, uint64_t seed, int32_t n_classes)
{
    char w[256], name[300];
    const char *p = text;
    if (n_classes < 1 || !p || !next_word(&p, w, sizeof w)) return 0;
    snprintf(name, sizeof name, "probe/control/%s", w);
    faith_rng r;
    faith_rng_init(&r, seed, 0, name);
    return (int32_t)faith_rng_below(&r, (uint64_t)n_classes);
}

static int cmp_i32(const void *pa, const void *pb)
{
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    return (a > b) - (a < b);
}

void faith_probe_length_cuts(const int32_t *n_tokens, int64_t n, int32_t cuts[2])
{
    if (n <= 0) {
        cuts[0] = cuts[1] = 0;
        return;
    }
    int32_t *s = faith_xmalloc(sizeof *s * (size_t)n);
    memcpy(s, n_tokens, sizeof *s * (size_t)n);
    qsort(s, (size_t)n, sizeof *s, cmp_i32);
    /* the values at the 1/3 and 2/3 order statistics (lower), so each bin holds about a third */
    cuts[0] = s[(n - 1) / 3];
    cuts[1] = s[(2 * (n - 1)) / 3];
    free(s);
}

int32_t faith_probe_length_bin(int32_t n_tokens, const int32_t cuts[2])
{
    return n_tokens <= cuts[0] ? 0 : n_tokens <= cuts[1] ? 1 : 2;
}
