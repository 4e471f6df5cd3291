/* test_cli.c: the option parser: values, flags, repeats, unknown options, strict numbers,
 * and the counter-based RNG's independence from call order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli.h"
#include "rng.h"
#include <string.h>

static void test_cli_parses_values_flags_and_repeats(void **state)
{
    (void)state;
    faith_opt o[] = {{"model", "DIR", "", 0, 0, NULL, NULL, NULL},
                     {"json", NULL, "", 0, 0, NULL, NULL, NULL},
                     {"param", "K=V", "", 1, 0, NULL, NULL, NULL}};
    char *argv[] = {"explain", "--model", "m", "--json", "--param", "a=1", "--param=b=2"};
    faith_err err = {0};
    assert_int_equal(faith_opts_parse("explain", NULL, o, 3, 7, argv, NULL, NULL, &err), 0);
    assert_string_equal(faith_opt_str(o, 3, "model", NULL), "m");
    assert_true(faith_opt_flag(o, 3, "json"));
    assert_int_equal(o[2].count, 2);
    assert_string_equal(o[2].values[0], "a=1");
    assert_string_equal(o[2].values[1], "b=2");
    faith_opts_free(o, 3);
}

static void test_cli_rejects_unknown_and_malformed(void **state)
{
    (void)state;
    faith_opt o[] = {{"steps", "N", "", 0, 0, NULL, NULL, NULL}};
    faith_err err = {0};
    char *bad[] = {"x", "--stpes", "3"};
    assert_int_equal(faith_opts_parse("x", NULL, o, 1, 3, bad, NULL, NULL, &err), FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "--stpes"));
    faith_opts_free(o, 1);
    char *missing[] = {"x", "--steps"};
    assert_int_equal(faith_opts_parse("x", NULL, o, 1, 2, missing, NULL, NULL, &err), FAITH_ERR_ARG);
    faith_opts_free(o, 1);
    char *notnum[] = {"x", "--steps", "3x"};
    assert_int_equal(faith_opts_parse("x", NULL, o, 1, 3, notnum, NULL, NULL, &err), 0);
    int64_t v;
    assert_int_equal(faith_opt_int(o, 1, "steps", 1, 1, 100, &v, &err), FAITH_ERR_ARG);
    faith_opts_free(o, 1);
}

static void test_rng_is_counter_based(void **state)
{
    (void)state;
    faith_rng a, b;
    faith_rng_init(&a, 7, 42, "lime");
    faith_rng_init(&b, 7, 42, "lime");
    uint64_t first = faith_rng_u64(&a);
    assert_true(first == faith_rng_u64(&b));
    faith_rng c;
    faith_rng_init(&c, 7, 43, "lime");
    assert_true(first != faith_rng_u64(&c));
    faith_rng_init(&c, 7, 42, "shap");
    assert_true(first != faith_rng_u64(&c));
    /* uniform mean of many draws near 0.5 and normal variance near 1 */
    double s = 0, s2 = 0;
    for (int i = 0; i < 100000; i++) s += faith_rng_uniform(&a);
    for (int i = 0; i < 100000; i++) {
        double z = faith_rng_normal(&a);
        s2 += z * z;
    }
    assert_true(s / 100000 > 0.49 && s / 100000 < 0.51);
    assert_true(s2 / 100000 > 0.98 && s2 / 100000 < 1.02);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_parses_values_flags_and_repeats),
        cmocka_unit_test(test_cli_rejects_unknown_and_malformed),
        cmocka_unit_test(test_rng_is_counter_based),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
