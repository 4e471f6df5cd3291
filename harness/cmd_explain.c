/* cmd_explain.c: `faith explain`: explain one input (text, text pair or token ids) with any registered
 * explainer and print token (and word) scores, as a table or as JSON. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "cli.h"
#include "commands.h"
#include "explainer.h"
#include "json.h"
#include "unicode.h"

#define USAGE "--model DIR --explainer NAME (--text T [--pair T2] | --ids I,I,...) [options]"

enum { O_MODEL, O_EXPLAINER, O_TEXT, O_PAIR, O_IDS, O_LABEL, O_TARGET, O_OUTPUT, O_PARAM, O_AGG,
       O_WORDS, O_MAXLEN, O_SEED, O_BUDGET, O_THREADS, O_JSON, N_OPTS };

/* One input as explained: token ids with their per-token metadata and the words. */
typedef struct input {
    faith_encoding enc;
    char **words;          /* (enc.n_words) */
} input;

/* --param key=value: value as JSON when it parses completely (numbers, booleans, lists), else a string. */
static int add_param(cJSON *params, const char *kv, faith_err *err)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return faith_err_set(err, FAITH_ERR_ARG, "explain: --param expects key=value, got '%s'", kv);
    char *key = faith_xstrdup(kv);
    key[eq - kv] = '\0';
    /* strict JSON as in a run config: "01" or "4." stay strings, which the parameter's check refuses */
    cJSON *v = NULL;
    faith_err ignored = {0};
    if (faith_json_parse(eq + 1, strlen(eq + 1), "--param", &v, &ignored) < 0) v = cJSON_CreateString(eq + 1);
    cJSON_DeleteItemFromObjectCaseSensitive(params, key);
    cJSON_AddItemToObject(params, key, v);
    free(key);
    return FAITH_OK;
}

static int build_params(faith_opt *o, cJSON **out, faith_err *err)
{
    cJSON *p = cJSON_CreateObject();
    for (int i = 0; i < o[O_PARAM].count; i++) {
        int rc = add_param(p, o[O_PARAM].values[i], err);
        if (rc < 0) {
            cJSON_Delete(p);
            return rc;
        }
    }
    /* The dedicated options win over the same keys given through --param. */
    const int ids[] = {O_TARGET, O_OUTPUT, O_AGG};
    const char *keys[] = {"target", "output", "aggregate"};
    for (int i = 0; i < 3; i++) {
        if (!o[ids[i]].count) continue;
        cJSON_DeleteItemFromObjectCaseSensitive(p, keys[i]);
        int64_t k;
        if (ids[i] == O_TARGET && faith_parse_int(o[ids[i]].value, &k) == FAITH_OK)
            cJSON_AddNumberToObject(p, keys[i], (double)k);
        else
            cJSON_AddStringToObject(p, keys[i], o[ids[i]].value);
    }
    *out = p;
    return FAITH_OK;
}

static void split_words(const char *s, char ***words, int32_t *n, int32_t *cap)
{
    /* the separators of the tokenizer's word index (ASCII and Unicode spaces), so names line up */
    size_t left = s ? strlen(s) : 0;
    int sp;
    while (left) {
        while (left && (sp = faith_uc_word_space_at(s, left)) > 0) s += sp, left -= (size_t)sp;
        if (!left) break;
        const char *b = s;
        while (left && faith_uc_word_space_at(s, left) == 0) s++, left--;
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 16;
            *words = faith_xrealloc(*words, (size_t)*cap * sizeof(char *));
        }
        (*words)[(*n)++] = strndup(b, (size_t)(s - b));
    }
}

static int encode_text(const faith_tokenizer *tok, const char *text, const char *pair, int32_t max_len,
                       input *in, faith_err *err)
{
    FAITH_TRY(faith_tokenizer_encode(tok, text, pair, max_len, &in->enc, err));
    FAITH_TRY(faith_encoding_require_tokens(&in->enc, err));
    int32_t n = 0, cap = 0;
    split_words(text, &in->words, &n, &cap);
    split_words(pair, &in->words, &n, &cap);
    /* The tokenizer's count is authoritative; pad with empty names if the two ever disagree. */
    in->words = faith_xrealloc(in->words, (size_t)(in->enc.n_words + 1) * sizeof(char *));
    for (int32_t w = n; w < in->enc.n_words; w++) in->words[w] = faith_xstrdup("");
    for (int32_t w = in->enc.n_words; w < n; w++) free(in->words[w]);
    return FAITH_OK;
}

/* A continuation piece: WordPiece "##x", or a byte-level BPE piece without the leading-space mark. */
static int continues_word(const faith_tokenizer *tok, const char *s)
{
    if (!tok || !s) return 0;
    if (strcmp(faith_tokenizer_kind(tok), "wordpiece") == 0) return strncmp(s, "##", 2) == 0;
    return strncmp(s, "\xc4\xa0", 2) != 0;
}

/* --ids: specials are the [CLS]/[SEP] (<s>/</s>) ids; words are rebuilt from the token pieces, and
 * BERT type ids switch to 1 after the first [SEP] as in a pair encoding. */
static int encode_ids(const faith_tokenizer *tok, faith_special_ids sp, const faith_model_config *cfg,
                      const char *list, input *in, faith_err *err)
{
    faith_encoding *e = &in->enc;
    int32_t n = 0;
    int rc = faith_ids_parse(list, &e->ids, &n, err);
    if (rc < 0) return faith_err_prefix(err, "explain: ");
    for (int32_t t = 0; t < n; t++)
        if (e->ids[t] >= cfg->vocab_size)
            return faith_err_set(err, FAITH_ERR_ARG, "explain: --ids: entry %d is %d, expected a token id in [0, %d)",
                                 (int)t + 1, (int)e->ids[t], (int)cfg->vocab_size);
    if (n == 0) return faith_err_set(err, FAITH_ERR_ARG, "explain: --ids: no token ids given");
    e->n = n;
    e->type_ids = faith_xcalloc((size_t)n, sizeof(int32_t));
    e->word = faith_xmalloc((size_t)n * sizeof(int32_t));
    e->special = faith_xcalloc((size_t)n, 1);
    in->words = faith_xmalloc((size_t)n * sizeof(char *));
    int seen_sep = 0, prev_special = 1;
    e->n_words = 0;
    for (int32_t t = 0; t < n; t++) {
        int32_t id = e->ids[t];
        const char *piece = tok ? faith_tokenizer_id_to_token(tok, id) : NULL;
        char num[16];
        snprintf(num, sizeof num, "%d", (int)id);
        if (!piece) piece = num;
        e->special[t] = id == sp.cls || id == sp.sep;
        if (cfg->arch == FAITH_ARCH_BERT && cfg->type_vocab_size > 1 && seen_sep) e->type_ids[t] = 1;
        if (id == sp.sep) seen_sep = 1;
        if (e->special[t]) {
            e->word[t] = -1;
            prev_special = 1;
            continue;
        }
        int cont = !prev_special && e->n_words > 0 && continues_word(tok, piece);
        prev_special = 0;
        const char *text = piece;
        if (tok && strcmp(faith_tokenizer_kind(tok), "wordpiece") == 0 && cont) text = piece + 2;
        else if (tok && strncmp(piece, "\xc4\xa0", 2) == 0) text = piece + 2;
        if (cont) {
            char **w = &in->words[e->n_words - 1];
            size_t la = strlen(*w), lb = strlen(text);
            *w = faith_xrealloc(*w, la + lb + 1);
            memcpy(*w + la, text, lb + 1);
        } else {
            in->words[e->n_words++] = faith_xstrdup(text);
        }
        e->word[t] = e->n_words - 1;
    }
    return FAITH_OK;
}

static void input_free(input *in)
{
    for (int32_t w = 0; in->words && w < in->enc.n_words; w++) free(in->words[w]);
    free(in->words);
    faith_encoding_free(&in->enc);
}

static void token_name(const faith_tokenizer *tok, int32_t id, char *buf, size_t cap)
{
    const char *s = tok ? faith_tokenizer_id_to_token(tok, id) : NULL;
    if (s) snprintf(buf, cap, "%s", s);
    else snprintf(buf, cap, "%d", (int)id);
}

typedef struct result {
    const faith_explainer *e;
    int32_t target, pred;
    double value;
    const float *scores, *word_scores;
    faith_explain_extra extra;
    faith_cost cost;
} result;

static void print_json(const faith_tokenizer *tok, const input *in, const result *r)
{
    const faith_encoding *e = &in->enc;
    cJSON *j = cJSON_CreateObject(), *toks = cJSON_AddArrayToObject(j, "tokens");
    cJSON *ids = cJSON_AddArrayToObject(j, "ids");
    char name[256];
    for (int32_t t = 0; t < e->n; t++) {
        token_name(tok, e->ids[t], name, sizeof name);
        cJSON_AddItemToArray(toks, cJSON_CreateString(name));
        cJSON_AddItemToArray(ids, cJSON_CreateNumber(e->ids[t]));
    }
    cJSON_AddNumberToObject(j, "target", r->target);
    cJSON_AddNumberToObject(j, "pred", r->pred);
    cJSON_AddStringToObject(j, "output", faith_output_name(r->e->output));
    cJSON_AddNumberToObject(j, "value", r->value);
    cJSON *sc = cJSON_AddArrayToObject(j, "scores"), *sp = cJSON_AddArrayToObject(j, "special");
    for (int32_t t = 0; t < e->n; t++) {
        cJSON_AddItemToArray(sc, cJSON_CreateNumber(r->scores[t]));
        cJSON_AddItemToArray(sp, cJSON_CreateNumber(e->special[t]));
    }
    cJSON *w = cJSON_AddArrayToObject(j, "words"), *ws = cJSON_AddArrayToObject(j, "word_scores");
    for (int32_t k = 0; k < e->n_words; k++) {
        cJSON_AddItemToArray(w, cJSON_CreateString(in->words[k]));
        cJSON_AddItemToArray(ws, cJSON_CreateNumber(r->word_scores[k]));
    }
    cJSON *c = cJSON_AddObjectToObject(j, "cost");
    cJSON_AddNumberToObject(c, "forward", (double)r->cost.forward);
    cJSON_AddNumberToObject(c, "backward", (double)r->cost.backward);
    cJSON_AddNumberToObject(c, "sequences", (double)r->cost.sequences);
    cJSON_AddNumberToObject(c, "tokens", (double)r->cost.tokens);
    cJSON_AddStringToObject(j, "explainer", r->e->ops->name);
    cJSON_AddItemToObject(j, "params", faith_explainer_params_json(r->e));
    if (!isnan(r->extra.delta_f)) cJSON_AddNumberToObject(j, "delta_f", r->extra.delta_f);
    if (!isnan(r->extra.completeness_gap))
        cJSON_AddNumberToObject(j, "completeness_gap", r->extra.completeness_gap);
    char *s = cJSON_PrintUnformatted(j);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(j);
}

static void print_table(const faith_tokenizer *tok, const faith_model_config *cfg, const input *in,
                        const result *r, int words)
{
    const faith_encoding *e = &in->enc;
    printf("explainer %s, target %d (%s), %s = %.6g\n", r->e->ops->name, (int)r->target,
           cfg->labels[r->target], faith_output_name(r->e->output), r->value);
    printf("%-20s %8s %14s\n", "token", "id", "score");
    char name[256];
    for (int32_t t = 0; t < e->n; t++) {
        token_name(tok, e->ids[t], name, sizeof name);
        printf("%-20s %8d %14.6g%s\n", name, (int)e->ids[t], r->scores[t],
               e->special[t] ? "  (special)" : "");
    }
    if (words) {
        printf("\n%-20s %14s\n", "word", "score");
        for (int32_t k = 0; k < e->n_words; k++) printf("%-20s %14.6g\n", in->words[k], r->word_scores[k]);
    }
    if (!isnan(r->extra.delta_f)) printf("\ndelta_f %.6g\n", r->extra.delta_f);
    if (!isnan(r->extra.completeness_gap))
        printf("completeness gap %.3g\n", r->extra.completeness_gap);
    printf("cost: %lld forward, %lld backward, %lld sequences, %lld tokens\n",
           (long long)r->cost.forward, (long long)r->cost.backward, (long long)r->cost.sequences,
           (long long)r->cost.tokens);
}

static int run(faith_opt *o, faith_err *err)
{
    faith_explainer *ex = NULL;
    faith_model *m = NULL;
    faith_tokenizer *tok = NULL;
    cJSON *params = NULL;
    input in = {0};
    float *logits = NULL, *scores = NULL, *word_scores = NULL;
    int rc = FAITH_OK;
    const char *model_dir = o[O_MODEL].value, *name = o[O_EXPLAINER].value;
    if (!model_dir || !name)
        return faith_err_set(err, FAITH_ERR_ARG, "explain: --model and --explainer are required");
    if (!!o[O_TEXT].count == !!o[O_IDS].count)
        return faith_err_set(err, FAITH_ERR_ARG, "explain: give exactly one of --text and --ids");
    if (o[O_PAIR].count && !o[O_TEXT].count)
        return faith_err_set(err, FAITH_ERR_ARG, "explain: --pair needs --text");
    int64_t label, max_len, seed, budget, threads;
    FAITH_TRY(faith_opt_int(o, N_OPTS, "label", -1, -1, FAITH_MAX_CLASSES - 1, &label, err));
    FAITH_TRY(faith_opt_int(o, N_OPTS, "max-length", 0, 0, 1 << 20, &max_len, err));
    FAITH_TRY(faith_opt_int(o, N_OPTS, "seed", 0, 0, INT64_MAX, &seed, err));
    FAITH_TRY(faith_opt_int(o, N_OPTS, "token-budget", FAITH_DEFAULT_TOKEN_BUDGET, 1, INT64_MAX,
                            &budget, err));
    FAITH_TRY(faith_opt_int(o, N_OPTS, "threads", 0, 0, 4096, &threads, err));
    faith_set_threads((int)threads);
    FAITH_CHECK(build_params(o, &params, err));
    FAITH_CHECK(faith_explainer_create(name, params, &ex, err));
    FAITH_CHECK(faith_model_load(model_dir, &m, err));
    const faith_model_config *cfg = faith_model_cfg(m);
    /* --ids works without a tokenizer (tokens print as ids), but not with a broken one */
    if ((o[O_TEXT].count || faith_tokenizer_exists(model_dir)) && faith_tokenizer_load(model_dir, &tok, err) < 0) {
        rc = faith_err_prefix(err, "explain: ");
        goto cleanup;
    }
    if (tok) FAITH_CHECK(faith_model_check_vocab(m, faith_tokenizer_vocab_size(tok), model_dir, err));
    faith_special_ids sp = {cfg->pad_token_id, -1, -1, -1, -1};
    if (tok) sp = faith_tokenizer_special(tok);
    int32_t limit = faith_model_cfg_max_tokens(cfg);
    if (max_len > limit) {
        rc = faith_err_set(err, FAITH_ERR_ARG, "explain: --max-length %d is more than the model's limit of %d tokens "
                           "(max_position_embeddings)", (int)max_len, (int)limit);
        goto cleanup;
    }
    if (max_len <= 0) max_len = limit;
    if (o[O_TEXT].count)
        FAITH_CHECK(encode_text(tok, o[O_TEXT].value, o[O_PAIR].value, (int32_t)max_len, &in, err));
    else
        FAITH_CHECK(encode_ids(tok, sp, cfg, o[O_IDS].value, &in, err));
    if (in.enc.n > limit) {
        rc = faith_err_set(err, FAITH_ERR_ARG, "explain: %d tokens, the model takes at most %d",
                           (int)in.enc.n, (int)limit);
        goto cleanup;
    }
    if (label >= cfg->n_classes) {
        rc = faith_err_set(err, FAITH_ERR_ARG, "explain: --label %lld out of range [0, %d)",
                           (long long)label, (int)cfg->n_classes);
        goto cleanup;
    }
    int32_t K = cfg->n_classes, n = in.enc.n;
    logits = faith_xmalloc((size_t)K * sizeof(float));
    const int32_t *idp = in.enc.ids, *tp = in.enc.type_ids;
    FAITH_CHECK(faith_run_logits(m, budget, 1, &idp, &tp, &n, logits, NULL, err));
    result r = {.e = ex, .pred = 0};
    for (int32_t k = 1; k < K; k++)
        if (logits[k] > logits[r.pred]) r.pred = k;
    FAITH_CHECK(faith_explainer_target(ex, r.pred, (int32_t)label, K, &r.target, err));
    r.value = faith_output_value(ex->output, logits, K, r.target, NULL);
    faith_item it = {.id = 0, .n = n, .ids = in.enc.ids, .type_ids = in.enc.type_ids,
                     .special = in.enc.special, .word = in.enc.word, .n_words = in.enc.n_words,
                     .label = (int32_t)label, .target = r.target, .logits = logits, .rationale = NULL};
    faith_env env = {m, sp, (uint64_t)seed, budget, ex->output, &r.cost};
    scores = faith_xcalloc((size_t)n, sizeof(float));
    word_scores = faith_xcalloc((size_t)in.enc.n_words + 1, sizeof(float));
    FAITH_CHECK(faith_explainer_explain(ex, &env, &it, scores, &r.extra, err));
    FAITH_CHECK(faith_aggregate_words(ex->aggregate, scores, in.enc.word, n, in.enc.n_words, word_scores, err));
    r.scores = scores;
    r.word_scores = word_scores;
    if (faith_opt_flag(o, N_OPTS, "json")) print_json(tok, &in, &r);
    else print_table(tok, cfg, &in, &r, faith_opt_flag(o, N_OPTS, "words"));
cleanup:
    free(logits);
    free(scores);
    free(word_scores);
    input_free(&in);
    cJSON_Delete(params);
    faith_explainer_free(ex);
    faith_tokenizer_free(tok);
    faith_model_free(m);
    return rc;
}

/* "one of a, b, c" from the registry, so --help always lists what is built in. */
static const char *explainer_help(void)
{
    static char buf[1024];
    size_t used = (size_t)snprintf(buf, sizeof buf, "explainer: ");
    for (size_t i = 0; i < faith_explainer_count() && used < sizeof buf; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i ? ", " : "",
                                 faith_explainer_at(i)->name);
    return buf;
}

int faith_cmd_explain(int argc, char **argv)
{
#define OPT(name, arg, help, repeat) {name, arg, help, repeat, 0, NULL, NULL, NULL}
    faith_opt o[N_OPTS] = {
        [O_MODEL] = OPT("model", "DIR", "model directory (config.json, model.safetensors, tokenizer)", 0),
        [O_EXPLAINER] = OPT("explainer", "NAME", explainer_help(), 0),
        [O_TEXT] = OPT("text", "T", "input text", 0),
        [O_PAIR] = OPT("pair", "T2", "second text of a pair (NLI)", 0),
        [O_IDS] = OPT("ids", "I,I,...", "token ids instead of text, specials included", 0),
        [O_LABEL] = OPT("label", "K", "gold label (for --target gold)", 0),
        [O_TARGET] = OPT("target", "pred|gold|K", "class explained (default pred)", 0),
        [O_OUTPUT] = OPT("output", "prob|logit|logprob", "scalar explained (default prob)", 0),
        [O_PARAM] = OPT("param", "KEY=VALUE", "explainer parameter; VALUE is JSON when it parses", 1),
        [O_AGG] = OPT("aggregate", "sum|mean|max|first", "token-to-word aggregation (default sum)", 0),
        [O_WORDS] = OPT("words", NULL, "also print word scores", 0),
        [O_MAXLEN] = OPT("max-length", "N", "truncate to N tokens (default: the model's limit)", 0),
        [O_SEED] = OPT("seed", "S", "run seed for random explainers (default 0)", 0),
        [O_BUDGET] = OPT("token-budget", "N", "max rows x padded length per forward (default 8192)", 0),
        [O_THREADS] = OPT("threads", "N", "threads (default: OMP_NUM_THREADS, else every core); no score changes", 0),
        [O_JSON] = OPT("json", NULL, "print one JSON object", 0),
    };
#undef OPT
    faith_err err = {0};
    int rc = faith_opts_parse("explain", USAGE, o, N_OPTS, argc, argv, NULL, NULL, &err);
    if (rc == 1) return 0;
    if (rc == FAITH_OK) rc = run(o, &err);
    faith_opts_free(o, N_OPTS);
    return rc < 0 ? faith_cli_fail(&err) : 0;
}
