/* test_safetensors.c: safetensors reading/writing and model load/save: round trips, F16/BF16
 * conversion, name aliases, and every malformed-file case rejected with a message naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hfconfig.h"
#include "model.h"
#include "safetensors.h"
#include "testmodel.h"

static faith_model *tiny(faith_arch arch)
{
    faith_model_config c;
    memset(&c, 0, sizeof c);
    c.arch = arch;
    c.n_layers = 1;
    c.n_heads = 2;
    c.d_model = 4;
    c.d_ffn = 6;
    c.vocab_size = 7;
    c.max_pos = 8;
    c.type_vocab_size = arch == FAITH_ARCH_BERT ? 2 : arch == FAITH_ARCH_ROBERTA ? 1 : 0;
    c.pad_token_id = arch == FAITH_ARCH_ROBERTA ? 1 : 0;
    c.n_classes = 3;
    c.ln_eps = 1e-12f;
    c.classifier_dropout = -1;
    snprintf(c.labels[1], FAITH_LABEL_MAX, "neutral");
    faith_model *m;
    faith_err err;
    assert_int_equal(faith_model_create_random(&c, 3, &m, &err), 0);
    size_t n;
    float *p = faith_model_params(m, &n);
    for (size_t i = 0; i < n; i++) p[i] = (float)sin((double)i * 0.7) * 0.5f; /* every value distinct */
    return m;
}

/* One header entry of a hand-written file. */
typedef struct ent {
    char name[160];
    const char *dtype;
    int ndim;
    int64_t shape[2];
    long begin, end;
} ent;

/* The entries of a model's own tensors, laid out back to back as `dtype` (2 or 4 bytes). */
static int model_entries(const faith_model *m, ent *e, const char *dtype, int esize)
{
    long off = 0;
    int n = (int)faith_model_param_count(m);
    for (int i = 0; i < n; i++) {
        const faith_param_view *v = faith_model_param_at(m, (size_t)i);
        snprintf(e[i].name, sizeof e[i].name, "%s", v->name);
        e[i].dtype = dtype;
        e[i].ndim = v->ndim;
        e[i].shape[0] = v->shape[0];
        e[i].shape[1] = v->shape[1];
        long numel = (long)v->shape[0] * (v->ndim == 2 ? (long)v->shape[1] : 1);
        e[i].begin = off;
        e[i].end = off += numel * esize;
    }
    return n;
}

/* Write a file with the given entries; data bytes come from the model's params (converted to the
 * entry's dtype) at the entry's view offset, or zeros. header_len_delta corrupts the size field. */
static void write_file(const char *path, const faith_model *m, const ent *e, int n, long data_len,
                       long header_len_delta, const char *raw_header)
{
    char *h = malloc(1 << 16);
    size_t o = (size_t)sprintf(h, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < n; i++) {
        o += (size_t)sprintf(h + o, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", e[i].name, e[i].dtype);
        for (int k = 0; k < e[i].ndim; k++) o += (size_t)sprintf(h + o, "%s%lld", k ? "," : "", (long long)e[i].shape[k]);
        o += (size_t)sprintf(h + o, "],\"data_offsets\":[%ld,%ld]}", e[i].begin, e[i].end);
    }
    sprintf(h + o, "}");
    if (raw_header) snprintf(h, 1 << 16, "%s", raw_header);
    uint64_t hl = strlen(h);
    uint8_t *data = calloc(1, (size_t)data_len + 1);
    const float *P = faith_model_params((faith_model *)m, NULL);
    for (int i = 0; i < n && !raw_header; i++) {
        const faith_param_view *v = i < (int)faith_model_param_count(m) ? faith_model_param_at(m, (size_t)i) : NULL;
        if (!v) continue;
        long numel = (long)v->shape[0] * (v->ndim == 2 ? (long)v->shape[1] : 1);
        for (long k = 0; k < numel; k++) {
            float x = P[v->offset + (size_t)k];
            if (!strcmp(e[i].dtype, "F32") && e[i].begin + 4 * k + 4 <= data_len) memcpy(data + e[i].begin + 4 * k, &x, 4);
            uint16_t u = !strcmp(e[i].dtype, "F16") ? faith_f32_to_f16(x) : faith_f32_to_bf16(x);
            if (strcmp(e[i].dtype, "F32") && e[i].begin + 2 * k + 2 <= data_len) {
                data[e[i].begin + 2 * k] = (uint8_t)u;
                data[e[i].begin + 2 * k + 1] = (uint8_t)(u >> 8);
            }
        }
    }
    FILE *fp = fopen(path, "wb");
    uint64_t field = hl + (uint64_t)header_len_delta;
    for (int i = 0; i < 8; i++) fputc((int)(field >> (8 * i)) & 0xff, fp);
    fwrite(h, 1, hl, fp);
    fwrite(data, 1, (size_t)data_len, fp);
    fclose(fp);
    free(data);
    free(h);
}

static void save_dir(const faith_model *m, char *dir, size_t cap)
{
    assert_int_equal(faith_test_tmpdir(dir, cap), 0);
    faith_err err;
    assert_int_equal(faith_model_save(m, dir, &err), 0);
}

static void test_round_trip(void **s)
{
    (void)s;
    for (int a = 0; a < 3; a++) {
        faith_model *m = tiny((faith_arch)a), *m2;
        char dir[256];
        save_dir(m, dir, sizeof dir);
        faith_err err;
        assert_int_equal(faith_model_load(dir, &m2, &err), 0);
        size_t n1, n2;
        float *p1 = faith_model_params(m, &n1), *p2 = faith_model_params(m2, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(p1, p2, n1 * sizeof(float));
        const faith_model_config *c1 = faith_model_cfg(m), *c2 = faith_model_cfg(m2);
        assert_int_equal(c1->max_pos, c2->max_pos);
        assert_int_equal(c1->n_classes, c2->n_classes);
        assert_int_equal(c1->pad_token_id, c2->pad_token_id);
        assert_true(c1->ln_eps == c2->ln_eps);
        assert_string_equal(c2->labels[1], "neutral");
        assert_string_equal(c2->labels[2], "LABEL_2");
        faith_model_free(m);
        faith_model_free(m2);
    }
}

static void test_half_precision(void **s)
{
    (void)s;
    assert_int_equal(faith_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(faith_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(faith_f32_to_f16(-2.0f), 0xc000);
    assert_true(faith_f16_to_f32(0x0001) == ldexpf(1.0f, -24)); /* smallest subnormal */
    assert_true(faith_f16_to_f32(0x3555) == 0.333251953125f);
    assert_int_equal(faith_f32_to_bf16(1.0f), 0x3f80);
    assert_true(faith_bf16_to_f32(0x4049) == 3.140625f);
    const char *dts[2] = {"F16", "BF16"};
    for (int d = 0; d < 2; d++) {
        faith_model *m = tiny(FAITH_ARCH_BERT), *m2;
        char dir[256], path[300];
        save_dir(m, dir, sizeof dir);
        ent e[64];
        int n = model_entries(m, e, dts[d], 2);
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        write_file(path, m, e, n, e[n - 1].end, 0, NULL);
        faith_err err;
        assert_int_equal(faith_model_load(dir, &m2, &err), 0);
        size_t np;
        float *p = faith_model_params(m, &np), *p2 = faith_model_params(m2, NULL);
        for (size_t i = 0; i < np; i++) {
            float want = d == 0 ? faith_f16_to_f32(faith_f32_to_f16(p[i])) : faith_bf16_to_f32(faith_f32_to_bf16(p[i]));
            assert_true(p2[i] == want);
            assert_true(fabsf(p2[i] - p[i]) <= (d == 0 ? 1e-3f : 4e-3f) * fabsf(p[i]) + 1e-7f);
        }
        faith_model_free(m);
        faith_model_free(m2);
    }
}

/* Unprefixed names, LayerNorm gamma/beta and a position_ids buffer all load. */
static void test_aliases(void **s)
{
    (void)s;
    faith_model *m = tiny(FAITH_ARCH_BERT), *m2;
    char dir[256], path[300];
    save_dir(m, dir, sizeof dir);
    ent e[64];
    int n = model_entries(m, e, "F32", 4);
    for (int i = 0; i < n; i++) {
        char *g = strstr(e[i].name, "LayerNorm.weight"), *b = strstr(e[i].name, "LayerNorm.bias");
        if (g) strcpy(g, "LayerNorm.gamma");
        if (b) strcpy(b, "LayerNorm.beta");
        if (!strncmp(e[i].name, "bert.", 5)) memmove(e[i].name, e[i].name + 5, strlen(e[i].name) - 4);
    }
    snprintf(e[n].name, sizeof e[n].name, "bert.embeddings.position_ids");
    e[n].dtype = "I64"; /* as older transformers saved it: an integer buffer, skipped */
    e[n].ndim = 2, e[n].shape[0] = 1, e[n].shape[1] = 2, e[n].begin = e[n - 1].end, e[n].end = e[n - 1].end + 16;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    write_file(path, m, e, n + 1, e[n].end, 0, NULL);
    faith_err err;
    assert_int_equal(faith_model_load(dir, &m2, &err), 0);
    size_t np;
    const float *p1 = faith_model_params(m, &np);
    assert_memory_equal(p1, faith_model_params(m2, NULL), np * sizeof(float));
    faith_model_free(m);
    faith_model_free(m2);
}

/* Each corruption must fail with a message containing `want`. */
static void expect_reject(int kind, const char *want)
{
    faith_model *m = tiny(FAITH_ARCH_DISTILBERT), *m2 = NULL;
    char dir[256], path[300];
    save_dir(m, dir, sizeof dir);
    ent e[64];
    int n = model_entries(m, e, "F32", 4);
    long dl = e[n - 1].end, hdelta = 0;
    const char *raw = NULL;
    switch (kind) {
    case 0: dl -= 10; break;                                  /* truncated data */
    case 1: hdelta = 1000000; break;                          /* header size beyond the file */
    case 2: e[3].begin -= 4, e[3].end -= 4; break;            /* overlapping offsets */
    case 3: e[0].shape[0] = 5, e[0].end = e[0].begin + 5 * 4 * 4; break; /* gap after it is fine */
    case 4: n--; dl = e[n - 1].end; break;                    /* missing classifier.bias */
    case 5: snprintf(e[4].name, sizeof e[4].name, "distilbert.transformer.layer.0.attention.x_lin.weight"); break;
    case 6: e[5].dtype = "I32"; break;                       /* a dtype that is not a float */
    case 9: e[5].dtype = "Q4"; break;                        /* not a safetensors dtype at all */
    case 10: faith_model_params(m, NULL)[faith_model_param_at(m, (size_t)n - 1)->offset] = NAN; break;
    case 7: raw = "{\"a\": [1, 2"; break;                      /* bad JSON */
    case 8: e[1].end += 4; break;                             /* byte size does not match the shape */
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    write_file(path, m, e, n, dl, hdelta, raw);
    faith_err err = {0};
    int rc = faith_model_load(dir, &m2, &err);
    if (rc == 0 || !strstr(err.msg, want)) fail_msg("case %d: rc %d, message '%s', expected '%s'", kind, rc, err.msg, want);
    assert_non_null(strstr(err.msg, "model.safetensors"));
    assert_null(m2);
    faith_model_free(m);
}

static void test_malformed(void **s)
{
    (void)s;
    expect_reject(0, "classifier.bias");      /* last tensor's offsets run past the data */
    expect_reject(1, "header size");
    expect_reject(2, "overlap");
    expect_reject(3, "has shape [5, 4], expected [7, 4]");
    expect_reject(4, "missing tensor 'classifier.bias'");
    expect_reject(5, "unexpected tensor 'distilbert.transformer.layer.0.attention.x_lin.weight'");
    expect_reject(6, "tensor 'distilbert.transformer.layer.0.attention.k_lin.weight' has dtype I32");
    expect_reject(9, "unknown dtype Q4");
    expect_reject(10, "tensor 'classifier.bias' has a non-finite value");
    expect_reject(7, "JSON");
    expect_reject(8, "expected");
}

static void test_bad_config(void **s)
{
    (void)s;
    faith_model *m = tiny(FAITH_ARCH_BERT), *m2 = NULL;
    char dir[256], path[300];
    save_dir(m, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/config.json", dir);
    const char *bad[][2] = {{"{\"model_type\": \"gpt2\", \"hidden_size\": 4}", "unknown model_type \"gpt2\""},
                            {"{\"model_type\": \"bert\", \"hidden_size\": 4", "invalid JSON"},
                            {"{\"model_type\": \"bert\", \"hidden_size\": 4}", "num_hidden_layers"}};
    faith_err err;
    for (int i = 0; i < 3; i++) {
        FILE *fp = fopen(path, "w");
        fputs(bad[i][0], fp);
        fclose(fp);
        assert_int_not_equal(faith_model_load(dir, &m2, &err), 0);
        if (!strstr(err.msg, bad[i][1]) || !strstr(err.msg, "config.json")) fail_msg("%s", err.msg);
    }
    assert_int_not_equal(faith_model_load("/nonexistent/dir", &m2, &err), 0);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/config.json"));
    faith_model_free(m);
}

/* A file of header text h and n_data zero bytes; faith_st_open's verdict must contain want (NULL:
 * accepted). */
static void header_case(const char *h, size_t n_data, const char *want)
{
    char path[] = "/tmp/faith_st_hdrXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "wb");
    uint64_t hl = strlen(h);
    for (int i = 0; i < 8; i++) fputc((int)(hl >> (8 * i)) & 0xff, fp);
    fwrite(h, 1, hl, fp);
    for (size_t i = 0; i < n_data; i++) fputc(0, fp);
    fclose(fp);
    faith_st_file *f = NULL;
    faith_err err = {0};
    int rc = faith_st_open(path, &f, &err);
    remove(path);
    if (!want) {
        if (rc != 0) fail_msg("refused %s: %s", h, err.msg);
        faith_st_close(f);
        return;
    }
    if (rc == 0 || !strstr(err.msg, want) || !strstr(err.msg, path))
        fail_msg("header %s: rc %d, message '%s', expected '%s'", h, rc, err.msg, want);
    assert_null(f);
}

/* Header entries that are well-formed JSON but not a valid layout. */
static void test_header_layout(void **s)
{
    (void)s;
    /* a tensor overlapping a longer one across an empty tensor between them */
    header_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                "\"c\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24,
                "tensor 'c' bytes [8, 24) overlap tensor 'a' bytes [0, 16)");
    /* the same without the overlap: empty tensors anywhere, a gap, are fine */
    header_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                "\"c\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[20,36]}}", 36, NULL);
    /* shape entries each allowed, their product not (checked without overflowing) */
    header_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000000000,1000000000000],\"data_offsets\":[0,4]}}", 4,
                "shape too large");
    header_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[0,1000000000000],\"data_offsets\":[0,0]}}", 4, NULL);
    /* offsets are integers */
    header_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.5,4.5]}}", 8, "data_offsets");
}

/* config.json sizes that fit an int but not memory, against a small file: refused by the file's
 * shapes (or the size bound) before anything of config.json's size is allocated or laid out; a
 * crash (allocation abort) or hang (10^8 layers laid out) fails the test. */
static void test_huge_config_sizes(void **s)
{
    (void)s;
    const char *want[] = {"position_embeddings.weight' has shape [8, 4], expected [2000000000, 4]",
                          "missing tensor 'bert.encoder.layer.1.", "intermediate.dense.weight' has shape [6, 4]",
                          "word_embeddings.weight' has shape [7, 4]", "parameters"};
    for (int k = 0; k < 5; k++) {
        faith_model *m = tiny(FAITH_ARCH_BERT), *m2 = NULL;
        char dir[256], path[300];
        save_dir(m, dir, sizeof dir);
        faith_model_config c = *faith_model_cfg(m);
        if (k == 0) c.max_pos = 2000000000;
        if (k == 1) c.n_layers = 100000000;
        if (k == 2) c.d_ffn = 2000000000;
        if (k == 3) c.vocab_size = 2000000000;
        if (k == 4) c.d_model = c.d_ffn = 2000000000; /* 1.6e19 parameters: beyond size_t bytes */
        snprintf(path, sizeof path, "%s/config.json", dir);
        faith_err err = {0};
        assert_int_equal(faith_hfconfig_write(path, &c, &err), 0);
        int rc = faith_model_load(dir, &m2, &err);
        if (rc == 0 || !strstr(err.msg, want[k]))
            fail_msg("case %d: rc %d, '%s', expected '%s'", k, rc, err.msg, want[k]);
        assert_null(m2);
        faith_model_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_half_precision),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_huge_config_sizes),
        cmocka_unit_test(test_header_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
