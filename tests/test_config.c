/* test_config.c: run-config parsing: defaults, relative paths, errors naming the key's path with a
 * suggestion, wrong types, canonical form and hash, and component validation through the registries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sha256.h"

static const char *BASE =
    "{\"name\":\"t1\",\"model\":\"m\",\"dataset\":{\"path\":\"d/x.tsv\",\"limit\":5},"
    "\"explainers\":[{\"name\":\"e1\"}],\"metrics\":[{\"name\":\"m1\",\"params\":{\"k\":1}}]}";

static void test_config_defaults_and_paths(void **state)
{
    (void)state;
    faith_run_config *c;
    faith_err err = {0};
    assert_int_equal(faith_config_parse(BASE, "/base", "t.json", &c, &err), 0);
    assert_string_equal(c->name, "t1");
    assert_string_equal(c->model_dir, "/base/m");
    assert_string_equal(c->dataset.path, "/base/d/x.tsv");
    assert_string_equal(c->dataset.format, "auto");
    assert_int_equal(c->dataset.limit, 5);
    assert_int_equal(c->max_length, FAITH_DEFAULT_MAX_LENGTH);
    assert_int_equal(c->batch_tokens, 8192);
    assert_int_equal(c->batch_chunk, 16);
    assert_int_equal(c->threads, 0);
    assert_string_equal(c->output, "results/t1");
    assert_int_equal(c->n_explainers, 1);
    assert_int_equal(c->n_metrics, 1);
    assert_null(c->explainers[0].params);
    assert_int_equal(cJSON_GetObjectItem(c->metrics[0].params, "k")->valueint, 1);
    assert_int_equal(c->has_sanity, 0);
    faith_config_free(c);

    const char *full =
        "{\"name\":\"t2\",\"seed\":7,\"model\":\"/abs/m\",\"dataset\":{\"path\":\"x\",\"format\":"
        "\"jsonl\",\"label_names\":[\"neg\",\"pos\"]},\"max_length\":64,\"explainers\":[{\"name\":"
        "\"a\"},{\"name\":\"b\"}],\"metrics\":[{\"name\":\"m\"}],\"batch\":{\"tokens\":1000,"
        "\"chunk\":3},\"threads\":2,\"output\":\"out\",\"sanity\":{\"model_randomization\":"
        "{\"layers\":2}}}";
    assert_int_equal(faith_config_parse(full, "/b", "t.json", &c, &err), 0);
    assert_int_equal(c->seed, 7);
    assert_string_equal(c->model_dir, "/abs/m");
    assert_int_equal(c->dataset.n_label_names, 2);
    assert_string_equal(c->dataset.label_names[1], "pos");
    assert_int_equal(c->batch_tokens, 1000);
    assert_int_equal(c->batch_chunk, 3);
    assert_int_equal(c->threads, 2);
    assert_string_equal(c->output, "/b/out");
    assert_int_equal(c->has_sanity, 1);
    assert_int_equal(c->sanity_layers, 2);
    assert_true(c->sanity_threshold == 0.5);
    assert_int_equal(c->has_probe, 0);
    faith_config_free(c);

    /* Probe defaults: property label, train relative to the base dir with the default limit. */
    const char *probe =
        "{\"name\":\"t3\",\"model\":\"m\",\"dataset\":{\"path\":\"x\"},\"explainers\":[{\"name\":"
        "\"a\"}],\"metrics\":[{\"name\":\"m\"}],\"probe\":{\"train\":{\"path\":\"tr.jsonl\"},"
        "\"lambdas\":[0.1,1]}}";
    assert_int_equal(faith_config_parse(probe, "/b", "t.json", &c, &err), 0);
    assert_int_equal(c->has_probe, 1);
    assert_string_equal(c->probe.property, "label");
    assert_string_equal(c->probe.train.path, "/b/tr.jsonl");
    assert_int_equal(c->probe.train.limit, FAITH_DEFAULT_PROBE_TRAIN_LIMIT);
    assert_int_equal(c->probe.n_lambdas, 2);
    assert_true(c->probe.lambdas[1] == 1.0);
    /* the fit's defaults are resolved in the config (so the manifest records what runs) */
    assert_int_equal(c->probe.iters, 100);
    assert_true(c->probe.holdout == 0.2);
    faith_config_free(c);
    char *nolam = faith_xstrdup(probe);
    strcpy(strstr(nolam, ",\"lambdas\""), "}}");
    assert_int_equal(faith_config_parse(nolam, "/b", "t.json", &c, &err), 0);
    free(nolam);
    assert_int_equal(c->probe.n_lambdas, 5);
    assert_true(c->probe.lambdas[0] == 1e-4 && c->probe.lambdas[4] == 1.0);
    faith_config_free(c);
}

/* Replace the first occurrence of `from` in BASE by `to` and expect a failure mentioning each of
 * the given fragments. */
static void expect_error(const char *from, const char *to, const char *frag1, const char *frag2)
{
    char text[1024];
    const char *at = strstr(BASE, from);
    assert_non_null(at);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - BASE), BASE, to, at + strlen(from));
    faith_run_config *c = NULL;
    faith_err err = {0};
    int rc = faith_config_parse(text, "/base", "t.json", &c, &err);
    if (rc == 0) fail_msg("accepted: %s", text);
    assert_null(c);
    if (!strstr(err.msg, frag1)) fail_msg("'%s' lacks '%s'", err.msg, frag1);
    if (frag2 && !strstr(err.msg, frag2)) fail_msg("'%s' lacks '%s'", err.msg, frag2);
    assert_non_null(strstr(err.msg, "t.json"));
}

static void test_config_errors_name_the_key(void **state)
{
    (void)state;
    expect_error("\"limit\":5", "\"limt\":5", "dataset.limt", "did you mean 'limit'");
    expect_error("\"explainers\"", "\"explainer\"", "explainer: unknown key", "'explainers'");
    expect_error("\"limit\":5", "\"limit\":\"5\"", "dataset.limit", "expected an integer");
    expect_error("\"limit\":5", "\"limit\":2.5", "dataset.limit", "expected an integer");
    expect_error("\"limit\":5", "\"limit\":-1", "dataset.limit", NULL);
    expect_error("{\"name\":\"m1\",\"params\":{\"k\":1}}", "{\"name\":\"m1\",\"params\":[1]}",
                 "metrics[0].params", "expected an object");
    expect_error("{\"name\":\"e1\"}", "{\"name\":\"e1\"},{\"name\":\"e2\",\"parms\":{}}",
                 "explainers[1].parms", "did you mean 'params'");
    expect_error("{\"name\":\"e1\"}", "{\"name\":\"e1\"},{\"name\":\"e1\"}", "explainers[1]",
                 "listed twice");
    expect_error("\"explainers\":[{\"name\":\"e1\"}]", "\"explainers\":[]", "explainers",
                 "non-empty array");
    expect_error("\"name\":\"t1\"", "\"name\":\"../x\"", "name", NULL);
    expect_error("\"name\":\"t1\",", "\"name\":\"t1\",\"seed\":1,\"seed\":2,", "'seed'",
                 "given twice");
    expect_error("\"model\":\"m\",", "", "model", "missing");
    expect_error("\"limit\":5}", "\"limit\":5},\"batch\":{\"chunk\":0}", "batch.chunk",
                 "[1, ");
    expect_error("\"limit\":5}", "\"limit\":5},\"sanity\":{\"model_randomization\":{\"layer\":1}}",
                 "sanity.model_randomization.layer", "'layers'");
    expect_error("\"limit\":5}", "\"limit\":5,}", "column", "invalid JSON");
    expect_error("\"limit\":5}", "\"limit\":5},\"probe\":{\"property\":\"wordlist\",\"train\":{\"path\":\"t\"}}",
                 "probe.words", "needs words");
    expect_error("\"limit\":5}", "\"limit\":5},\"probe\":{\"property\":\"label\"}", "probe.train", "missing");
    expect_error("\"limit\":5}", "\"limit\":5},\"probe\":{\"train\":{\"path\":\"t\",\"limt\":3}}",
                 "probe.train.limt", "'limit'");
    expect_error("\"limit\":5}", "\"limit\":5},\"probe\":{\"property\":\"lable\",\"train\":{\"path\":\"t\"}}",
                 "probe.property", NULL);
    expect_error("\"limit\":5}", "\"limit\":5},\"probe\":{\"train\":{\"path\":\"t\"},\"lambdas\":[1,1e400]}",
                 "probe.lambdas[1]", "finite");
    expect_error("\"limit\":5}", "\"limit\":5},\"probe\":{\"train\":{\"path\":\"t\"},\"holdout\":0}",
                 "probe.holdout", "(0, 1)");
    expect_error("\"limit\":5}", "\"limit\":5},\"probe\":{\"property\":\"wordlist\",\"words\":[\"ok\",\"a\u00a0b\"],"
                 "\"train\":{\"path\":\"t\"}}", "probe.words[1]", "one word");
    expect_error("\"limit\":5}", "\"limit\":5},\"probe\":{\"property\":\"wordlist\",\"words\":[\"\u3000\"],"
                 "\"train\":{\"path\":\"t\"}}", "probe.words[0]", "one word");
}

static void test_config_canonical_hash(void **state)
{
    (void)state;
    cJSON *a = cJSON_Parse("{\"b\":1,\"a\":{\"d\":[{\"z\":1,\"y\":2}],\"c\":\"s\"}}");
    char *s = faith_json_canonical(a);
    assert_string_equal(s, "{\"a\":{\"c\":\"s\",\"d\":[{\"y\":2,\"z\":1}]},\"b\":1}");
    char h1[65], h2[65];
    faith_config_hash(a, h1);
    faith_sha256_hex(s, strlen(s), h2);
    assert_string_equal(h1, h2);
    cJSON_free(s);
    cJSON_Delete(a);

    /* Same config with keys in another order and defaults spelled out: same hash. Threads and
     * output (execution only) do not enter it; the seed does. */
    const char *reordered =
        "{\"metrics\":[{\"params\":{\"k\":1},\"name\":\"m1\"}],\"explainers\":[{\"name\":\"e1\"}],"
        "\"dataset\":{\"limit\":5,\"path\":\"d/x.tsv\",\"format\":\"auto\"},\"model\":\"m\","
        "\"name\":\"t1\",\"batch\":{\"chunk\":16},\"max_length\":128,\"threads\":3,\"output\":\"o\"}";
    const char *seeded =
        "{\"name\":\"t1\",\"seed\":1,\"model\":\"m\",\"dataset\":{\"path\":\"d/x.tsv\",\"limit\":5},"
        "\"explainers\":[{\"name\":\"e1\"}],\"metrics\":[{\"name\":\"m1\",\"params\":{\"k\":1}}]}";
    const char *texts[3] = {BASE, reordered, seeded};
    char hex[3][65];
    for (int i = 0; i < 3; i++) {
        faith_run_config *c;
        faith_err err = {0};
        assert_int_equal(faith_config_parse(texts[i], "/base", "t.json", &c, &err), 0);
        cJSON *r = faith_config_resolved(c, NULL, NULL);
        assert_null(cJSON_GetObjectItem(r, "threads"));
        assert_null(cJSON_GetObjectItem(r, "output"));
        faith_config_hash(r, hex[i]);
        cJSON_Delete(r);
        faith_config_free(c);
    }
    assert_string_equal(hex[0], hex[1]);
    assert_string_not_equal(hex[0], hex[2]);
}

/* Component validation goes through the real registries: skipped while none is registered. */
static void test_config_components_validate_params(void **state)
{
    (void)state;
    if (faith_explainer_count() == 0 || faith_metric_count() == 0) {
        skip();
        return;
    }
    char text[1024];
    snprintf(text, sizeof text,
             "{\"name\":\"t\",\"model\":\"m\",\"dataset\":{\"path\":\"x\"},\"explainers\":[{\"name\":"
             "\"%s\"},{\"name\":\"%s\",\"params\":{\"no_such_param_zz\":1}}],\"metrics\":[{\"name\":"
             "\"%s\"}]}",
             faith_explainer_at(0)->name, faith_explainer_at(0)->name, faith_metric_at(0)->name);
    /* The same explainer twice is refused at parse; use a metric typo instead for the second. */
    faith_run_config *c;
    faith_err err = {0};
    assert_int_not_equal(faith_config_parse(text, "/b", "t.json", &c, &err), 0);
    snprintf(text, sizeof text,
             "{\"name\":\"t\",\"model\":\"m\",\"dataset\":{\"path\":\"x\"},\"explainers\":[{\"name\":"
             "\"%s\",\"params\":{\"no_such_param_zz\":1}}],\"metrics\":[{\"name\":\"%s\"}]}",
             faith_explainer_at(0)->name, faith_metric_at(0)->name);
    assert_int_equal(faith_config_parse(text, "/b", "t.json", &c, &err), 0);
    faith_explainer **ex;
    faith_metric **me;
    assert_int_not_equal(faith_config_components(c, &ex, &me, &err), 0);
    assert_non_null(strstr(err.msg, "explainers[0]"));
    assert_non_null(strstr(err.msg, "no_such_param_zz"));
    faith_config_free(c);
    snprintf(text, sizeof text,
             "{\"name\":\"t\",\"model\":\"m\",\"dataset\":{\"path\":\"x\"},\"explainers\":[{\"name\":"
             "\"%s\"}],\"metrics\":[{\"name\":\"%sx\"}]}",
             faith_explainer_at(0)->name, faith_metric_at(0)->name);
    assert_int_equal(faith_config_parse(text, "/b", "t.json", &c, &err), 0);
    assert_int_not_equal(faith_config_components(c, &ex, &me, &err), 0);
    assert_non_null(strstr(err.msg, "metrics[0]"));
    faith_config_free(c);
    /* Valid components resolve, and their resolved params enter the hash. */
    snprintf(text, sizeof text,
             "{\"name\":\"t\",\"model\":\"m\",\"dataset\":{\"path\":\"x\"},\"explainers\":[{\"name\":"
             "\"%s\"}],\"metrics\":[{\"name\":\"%s\"}]}",
             faith_explainer_at(0)->name, faith_metric_at(0)->name);
    assert_int_equal(faith_config_parse(text, "/b", "t.json", &c, &err), 0);
    assert_int_equal(faith_config_components(c, &ex, &me, &err), 0);
    cJSON *r = faith_config_resolved(c, ex, me);
    cJSON *p = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "explainers"), 0), "params");
    assert_true(cJSON_IsObject(p));
    assert_non_null(cJSON_GetObjectItem(p, "target")); /* shared keys are resolved too */
    cJSON_Delete(r);
    faith_config_free_components(c, ex, me);
    faith_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_and_paths),
        cmocka_unit_test(test_config_errors_name_the_key),
        cmocka_unit_test(test_config_canonical_hash),
        cmocka_unit_test(test_config_components_validate_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
