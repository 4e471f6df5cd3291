/* test_records.c: record and chunk encoding round trips bit for bit (NaN, -0, odd strings), every
 * truncation is refused, and resume chunk files detect damage and foreign config hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partial.h"
#include "records.h"
#include "testmodel.h"

static char *TOK[3] = {"[CLS]", "caf\xc3\xa9\t\"x\"", ""};

static faith_record make(int64_t id, int32_t ex)
{
    static int32_t ids[3] = {101, 2345, 102}, word[3] = {-1, 0, -1};
    static float scores[3] = {0.25f, -0.0f, 1e-30f}, ws[2] = {3.5f, NAN};
    static double vals[4];
    vals[0] = M_PI, vals[1] = NAN, vals[2] = -0.0, vals[3] = -1e300;
    faith_record r = {0};
    r.id = id, r.explainer = ex, r.label = -1, r.pred = 1, r.target = 1;
    r.prob = 0.75, r.completeness_gap = NAN, r.delta_f = -2.5;
    r.explain_cost = (faith_cost){1, 2, 3, INT64_C(1) << 40};
    r.metric_cost = (faith_cost){5, 0, 7, 8};
    r.n_values = 4, r.values = vals;
    r.n = 3, r.ids = ids, r.word = word, r.scores = scores, r.tokens = TOK;
    r.n_words = 2, r.word_scores = ws;
    return r;
}

static void assert_same(const faith_record *a, const faith_record *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->explainer, b->explainer);
    assert_int_equal(a->label, b->label);
    assert_memory_equal(&a->prob, &b->prob, sizeof(double));
    assert_memory_equal(&a->completeness_gap, &b->completeness_gap, sizeof(double));
    assert_memory_equal(&a->explain_cost, &b->explain_cost, sizeof(faith_cost));
    assert_memory_equal(&a->metric_cost, &b->metric_cost, sizeof(faith_cost));
    assert_int_equal(a->n_values, b->n_values);
    assert_memory_equal(a->values, b->values, sizeof(double) * (size_t)a->n_values);
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->ids, b->ids, sizeof(int32_t) * (size_t)a->n);
    assert_memory_equal(a->word, b->word, sizeof(int32_t) * (size_t)a->n);
    assert_memory_equal(a->scores, b->scores, sizeof(float) * (size_t)a->n);
    for (int32_t i = 0; i < a->n; i++) assert_string_equal(a->tokens[i], b->tokens[i]);
    assert_int_equal(a->n_words, b->n_words);
    assert_memory_equal(a->word_scores, b->word_scores, sizeof(float) * (size_t)a->n_words);
}

static void test_chunk_roundtrip_and_truncation(void **state)
{
    (void)state;
    faith_record in[2] = {make(7, 0), make(7, 1)};
    faith_buf b = {0};
    faith_chunk_encode(42, in, 2, &b);
    /* Little-endian chunk index first, whatever the host. */
    assert_int_equal(b.p[0], 42);
    assert_int_equal(b.p[1], 0);
    int64_t c;
    faith_record *out;
    int32_t n;
    faith_err err = {0};
    assert_int_equal(faith_chunk_decode(b.p, b.n, &c, &out, &n, &err), 0);
    assert_int_equal(c, 42);
    assert_int_equal(n, 2);
    assert_same(&in[0], &out[0]);
    assert_same(&in[1], &out[1]);
    assert_true(signbit(out[0].values[2]));
    faith_records_free(out, n);
    /* Every proper prefix and one extra byte are refused, never read past the end. */
    for (size_t cut = 0; cut < b.n; cut++) {
        uint8_t *copy = malloc(cut + 1);
        memcpy(copy, b.p, cut);
        assert_int_equal(faith_chunk_decode(copy, cut, &c, &out, &n, &err), FAITH_ERR_FORMAT);
        free(copy);
    }
    faith_buf_put(&b, "x", 1);
    assert_int_equal(faith_chunk_decode(b.p, b.n, &c, &out, &n, &err), FAITH_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "trailing"));
    faith_buf_free(&b);
}

static void test_partial_files(void **state)
{
    (void)state;
    char dir[256];
    assert_int_equal(faith_test_tmpdir(dir, sizeof dir), 0);
    const char *h1 = "1111111111111111111111111111111111111111111111111111111111111111";
    const char *h2 = "2222222222222222222222222222222222222222222222222222222222222222";
    faith_err err = {0};
    int existed = -1;
    assert_int_equal(faith_partial_prepare(dir, h1, 0, &existed, &err), 0);
    assert_int_equal(existed, 0);
    /* A second start without resume is refused; with another hash too. */
    assert_int_equal(faith_partial_prepare(dir, h1, 0, &existed, &err), FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "--resume"));
    assert_int_equal(faith_partial_prepare(dir, h2, 1, &existed, &err), FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "different config"));
    assert_int_equal(faith_partial_prepare(dir, h1, 1, &existed, &err), 0);
    assert_int_equal(existed, 1);

    const char payload[] = "payload bytes \x00\x01\x02";
    assert_int_equal(faith_partial_write(dir, h1, 3, payload, sizeof payload, &err), 0);
    uint8_t *p;
    size_t n;
    assert_int_equal(faith_partial_read(dir, h1, 3, &p, &n, &err), 0);
    assert_int_equal(n, sizeof payload);
    assert_memory_equal(p, payload, n);
    free(p);
    /* Absent chunk: OK with NULL; wrong hash or wrong index: damaged. */
    assert_int_equal(faith_partial_read(dir, h1, 4, &p, &n, &err), 0);
    assert_null(p);
    assert_int_equal(faith_partial_read(dir, h2, 3, &p, &n, &err), FAITH_ERR_FORMAT);
    char path[400], other[400];
    snprintf(path, sizeof path, "%s/.partial/chunk-00000003.zst", dir);
    snprintf(other, sizeof other, "%s/.partial/chunk-00000005.zst", dir);
    assert_int_equal(rename(path, other), 0);
    assert_int_equal(faith_partial_read(dir, h1, 5, &p, &n, &err), FAITH_ERR_FORMAT);
    /* A flipped byte fails the zstd checksum or decode. */
    FILE *f = fopen(other, "r+b");
    fseek(f, -6, SEEK_END);
    int ch = fgetc(f);
    fseek(f, -6, SEEK_END);
    fputc(ch ^ 0x40, f);
    fclose(f);
    assert_int_equal(faith_partial_read(dir, h1, 5, &p, &n, &err), FAITH_ERR_FORMAT);
    assert_int_equal(faith_partial_remove(dir, &err), 0);
    char pd[300];
    snprintf(pd, sizeof pd, "%s/.partial", dir);
    assert_int_equal(access(pd, F_OK), -1);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_roundtrip_and_truncation),
        cmocka_unit_test(test_partial_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
