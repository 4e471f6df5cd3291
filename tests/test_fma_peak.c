/* test_fma_peak.c: the FMA loop behind `faith bench`'s FMA peak does the work it counts, in every
 * version this CPU runs: every lane of every chain ends where iters multiply-adds take it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fma_peak.h"

/* a = a * 1 + 1 from zero: each lane ends at iters, so the sum over lanes is flops / 2 exactly. A
 * version that skipped a chain or a lane, or counted flops it does not do, fails here. */
static void test_counts_match_work(void **state)
{
    (void)state;
    long iters[] = {1, 7, 1000, 1 << 16};
    int ran = 0;
    for (int v = 0; v < FAITH_FMA_N; v++) {
        if (!faith_fma_supported(v)) continue;
        ran++;
        for (size_t i = 0; i < sizeof iters / sizeof iters[0]; i++) {
            double flops = 0, sum = faith_fma_run(v, iters[i], 1.0f, 1.0f, &flops);
            /* twelve chains of 8 or 16 floats */
            assert_true(flops == 2.0 * 12 * (v == FAITH_FMA_AVX512 ? 16 : 8) * (double)iters[i]);
            assert_true(sum == flops / 2);
        }
    }
    assert_true(ran >= 1);
}

/* b and c reach every lane: a = a / 2 + 1 gives 2 - 2^(1 - n) after n steps, exact in float. */
static void test_uses_operands(void **state)
{
    (void)state;
    for (int v = 0; v < FAITH_FMA_N; v++) {
        if (!faith_fma_supported(v)) continue;
        for (long n = 1; n <= 20; n++) {
            double flops = 0, sum = faith_fma_run(v, n, 0.5f, 1.0f, &flops);
            double lanes = flops / (2.0 * (double)n), lane = 2.0 - 2.0 / (double)(1L << n);
            assert_true(sum == lanes * lane);
        }
    }
}

/* The peak runs the widest version the CPU has; scalar always runs. */
static void test_widest(void **state)
{
    (void)state;
    int w = faith_fma_widest();
    assert_true(faith_fma_supported(FAITH_FMA_SCALAR));
    assert_true(faith_fma_supported(w));
    for (int v = w + 1; v < FAITH_FMA_N; v++) assert_false(faith_fma_supported(v));
#if defined(__x86_64__) && defined(__GNUC__)
    assert_int_equal(faith_fma_supported(FAITH_FMA_AVX512), __builtin_cpu_supports("avx512f") != 0);
#endif
    assert_string_equal(faith_fma_name(FAITH_FMA_AVX512), "avx512f");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_match_work),
        cmocka_unit_test(test_uses_operands),
        cmocka_unit_test(test_widest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
