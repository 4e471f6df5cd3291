/* test_cmd_explain.c: `faith explain` end to end: a saved random model with a hand-written vocabulary,
 * JSON output compared with the explainer API, IG's extras, and the unknown-explainer error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explainer.h"
#include "testmodel.h"

#define V 60

/* A random BERT with its weight matrices scaled up so scores are far from zero. */
static faith_model *random_bert(uint64_t seed)
{
    faith_model_config c;
    memset(&c, 0, sizeof c);
    c.arch = FAITH_ARCH_BERT;
    c.n_layers = 2;
    c.n_heads = 2;
    c.d_model = 16;
    c.d_ffn = 32;
    c.vocab_size = V;
    c.max_pos = 40;
    c.type_vocab_size = 2;
    c.n_classes = 3;
    c.ln_eps = 1e-12f;
    faith_model *m = NULL;
    faith_err err = {0};
    if (faith_model_create_random(&c, seed, &m, &err) < 0) fail_msg("%s", err.msg);
    size_t np;
    float *p = faith_model_params(m, &np);
    for (size_t i = 0; i < faith_model_param_count(m); i++) {
        const faith_param_view *v = faith_model_param_at(m, i);
        if (v->ndim != 2) continue;
        for (int64_t k = 0; k < v->shape[0] * v->shape[1]; k++) p[v->offset + (size_t)k] *= 20.0f;
    }
    return m;
}

static char *run_capture(const char *cmd, int *status)
{
    FILE *f = popen(cmd, "r");
    if (!f) fail_msg("popen %s", cmd);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - 1 - n, f)) > 0) {
        n += got;
        if (n == cap - 1) buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    *status = pclose(f);
    return buf;
}

static void test_cli_explain_json(void **state)
{
    (void)state;
    const char *bin = getenv("FAITH_BIN");
    if (!bin || !*bin) skip();
    char dir[512], path[600];
    assert_int_equal(faith_test_tmpdir(dir, sizeof dir), 0);
    faith_model *m = random_bert(91);
    faith_err err = {0};
    if (faith_model_save(m, dir, &err) < 0) fail_msg("%s", err.msg);
    /* ids 0..4 are the specials of specials(BERT); the rest pad the vocabulary to V */
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ngood\nfilm\n##s\nbad\n");
    for (int v = 9; v < V; v++) fprintf(f, "w%d\n", v);
    fclose(f);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "'%s' explain --model '%s' --explainer grad_x_input --text 'good films' "
             "--output logit --target 2 --aggregate mean --json 2>&1", bin, dir);
    int status;
    char *out = run_capture(cmd, &status);
    if (status != 0) fail_msg("faith explain failed: %s", out);
    cJSON *j = cJSON_Parse(out);
    if (!j) fail_msg("not JSON: %s", out);
    /* expected from the API: [CLS] good film ##s [SEP] */
    int32_t ids[5] = {2, 5, 6, 7, 3}, word[5] = {-1, 0, 1, 1, -1};
    uint8_t special[5] = {1, 0, 0, 0, 1};
    float logits[3], want[5];
    faith_item it = {.id = 0, .n = 5, .ids = ids, .special = special, .word = word, .n_words = 2,
                     .label = -1, .target = 2, .logits = logits};
    cJSON *params = cJSON_Parse("{\"output\":\"logit\"}");
    faith_explainer *e = NULL;
    assert_int_equal(faith_explainer_create("grad_x_input", params, &e, &err), 0);
    cJSON_Delete(params);
    faith_cost cost0 = {0};
    faith_env env = {m, {0, 1, 2, 3, 4}, 0, 0, FAITH_OUT_LOGIT, &cost0};
    faith_explain_extra extra;
    assert_int_equal(faith_explainer_explain(e, &env, &it, want, &extra, &err), 0);
    faith_explainer_free(e);
    cJSON *ji = cJSON_GetObjectItem(j, "ids"), *js = cJSON_GetObjectItem(j, "scores");
    cJSON *jw = cJSON_GetObjectItem(j, "word_scores");
    assert_int_equal(cJSON_GetArraySize(ji), 5);
    assert_int_equal(cJSON_GetArraySize(jw), 2);
    float got[5];
    for (int t = 0; t < 5; t++) {
        assert_int_equal(cJSON_GetArrayItem(ji, t)->valueint, ids[t]);
        got[t] = (float)cJSON_GetArrayItem(js, t)->valuedouble;
        assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "special"), t)->valueint, special[t]);
    }
    /* one sequence either way: only BLAS thread counts may differ, so compare to rounding */
    for (int t = 0; t < 5; t++) assert_true(fabs(got[t] - want[t]) <= 1e-5 * (fabs(want[t]) + 1e-3));
    assert_true(fabs(cJSON_GetArrayItem(jw, 1)->valuedouble - 0.5 * ((double)got[2] + got[3])) < 1e-6);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "words"), 1)->valuestring, "films");
    assert_int_equal(cJSON_GetObjectItem(j, "target")->valueint, 2);
    faith_batch b = {1, 5, ids, NULL, &it.n, NULL};
    assert_int_equal(faith_model_forward(m, &b, 0, logits, &err), 0);
    assert_true(fabs(cJSON_GetObjectItem(j, "value")->valuedouble - logits[2]) < 1e-5);
    cJSON *cost = cJSON_GetObjectItem(j, "cost");
    assert_int_equal(cJSON_GetObjectItem(cost, "backward")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(cost, "sequences")->valueint, 1);
    cJSON_Delete(j);
    free(out);
    /* IG reports completeness; an unknown explainer fails with the list of names */
    snprintf(cmd, sizeof cmd, "'%s' explain --model '%s' --explainer integrated_gradients --ids 2,5,8,3 "
             "--param steps=300 --param baseline=mask --json 2>&1", bin, dir);
    out = run_capture(cmd, &status);
    j = cJSON_Parse(out);
    if (status != 0 || !j) fail_msg("faith explain (ig) failed: %s", out);
    double df = cJSON_GetObjectItem(j, "delta_f")->valuedouble;
    assert_true(cJSON_GetObjectItem(j, "completeness_gap")->valuedouble < 1e-3 * fabs(df) + 1e-7);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "params"), "steps")->valueint, 300);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "params"), "baseline")->valuestring,
                        "mask");
    cJSON_Delete(j);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' explain --model '%s' --explainer integrated_gradient --ids 2,3 2>&1",
             bin, dir);
    out = run_capture(cmd, &status);
    assert_true(status != 0);
    assert_non_null(strstr(out, "did you mean 'integrated_gradients'"));
    assert_non_null(strstr(out, "attention_rollout"));
    free(out);
    /* an empty --ids entry and a --max-length over the model's 40 positions are errors, not
     * silently dropped or cut; one word works with kernel SHAP (no coalition but empty and full) */
    const char *bad[][2] = {{"--explainer saliency --ids 2,,5,3", "--ids: entry 2 is ''"},
                            {"--explainer saliency --text good --max-length 41", "--max-length 41"},
                            {"--explainer kernel_shap --text good", NULL}};
    for (int k = 0; k < 3; k++) {
        snprintf(cmd, sizeof cmd, "'%s' explain --model '%s' %s 2>&1 >/dev/null", bin, dir, bad[k][0]);
        out = run_capture(cmd, &status);
        if (bad[k][1] && (status == 0 || !strstr(out, bad[k][1])))
            fail_msg("%s: status %d, '%s', expected '%s'", bad[k][0], status, out, bad[k][1]);
        if (!bad[k][1] && status != 0) fail_msg("%s: status %d: %s", bad[k][0], status, out);
        free(out);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    faith_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_explain_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
