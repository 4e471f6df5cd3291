/* fma_peak.c: measures the FMA ceiling of fma_peak.h: twelve independent chains of vector FMAs,
 * in AVX-512 or AVX2 intrinsics when the CPU has them, else plain float multiply-adds. */
#include "fma_peak.h"

#include <omp.h>
#include <time.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FAITH_FMA_X86 1
#endif

/* Twelve chains: enough to cover an FMA's latency (4 cycles) on two pipes with room to spare, so
 * the loop is bound by throughput alone. */
#define CHAINS 12

int faith_fma_supported(int isa)
{
#ifdef FAITH_FMA_X86
    if (isa == FAITH_FMA_AVX512) return __builtin_cpu_supports("avx512f") != 0;
    if (isa == FAITH_FMA_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return isa == FAITH_FMA_SCALAR;
}

int faith_fma_widest(void)
{
    int v = FAITH_FMA_N - 1;
    while (v > FAITH_FMA_SCALAR && !faith_fma_supported(v)) v--;
    return v;
}

const char *faith_fma_name(int isa)
{
    static const char *const names[FAITH_FMA_N] = {"scalar", "avx2+fma", "avx512f"};
    return isa >= 0 && isa < FAITH_FMA_N ? names[isa] : "unknown";
}

#ifdef FAITH_FMA_X86
#define STEP(A, FMA)                                                                                  \
    A[0] = FMA(A[0], vb, vc), A[1] = FMA(A[1], vb, vc), A[2] = FMA(A[2], vb, vc),                     \
    A[3] = FMA(A[3], vb, vc), A[4] = FMA(A[4], vb, vc), A[5] = FMA(A[5], vb, vc),                     \
    A[6] = FMA(A[6], vb, vc), A[7] = FMA(A[7], vb, vc), A[8] = FMA(A[8], vb, vc),                     \
    A[9] = FMA(A[9], vb, vc), A[10] = FMA(A[10], vb, vc), A[11] = FMA(A[11], vb, vc)

/* One version per vector width, the same loop: chains of FMAs, then every lane summed. */
#define RUN_VECTOR(NAME, TARGET, VEC, LANES, SET1, FMA, STORE)                                        \
    __attribute__((target(TARGET), noinline)) static double NAME(long iters, float b, float c)        \
    {                                                                                                 \
        VEC a[CHAINS], vb = SET1(b), vc = SET1(c);                                                    \
        for (int k = 0; k < CHAINS; k++) a[k] = SET1(0.0f);                                           \
        for (long i = 0; i < iters; i++) STEP(a, FMA);                                                \
        double s = 0;                                                                                 \
        for (int k = 0; k < CHAINS; k++) {                                                            \
            float l[LANES];                                                                           \
            STORE(l, a[k]);                                                                           \
            for (int j = 0; j < LANES; j++) s += l[j];                                                \
        }                                                                                             \
        return s;                                                                                     \
    }

RUN_VECTOR(run_avx512, "avx512f", __m512, 16, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_storeu_ps)
RUN_VECTOR(run_avx2, "avx2,fma", __m256, 8, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_storeu_ps)
#endif

/* Without FMA instructions: a multiply and an add per lane, on 8 lanes per chain the compiler can
 * keep in vector registers. */
__attribute__((noinline)) static double run_scalar(long iters, float b, float c)
{
    float a[CHAINS][8] = {{0}};
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < CHAINS; k++)
            for (int j = 0; j < 8; j++) a[k][j] = a[k][j] * b + c;
    double s = 0;
    for (int k = 0; k < CHAINS; k++)
        for (int j = 0; j < 8; j++) s += a[k][j];
    return s;
}

double faith_fma_run(int isa, long iters, float b, float c, double *flops)
{
    *flops = 2.0 * CHAINS * (isa == FAITH_FMA_AVX512 ? 16 : 8) * (double)iters;
#ifdef FAITH_FMA_X86
    if (isa == FAITH_FMA_AVX512) return run_avx512(iters, b, c);
    if (isa == FAITH_FMA_AVX2) return run_avx2(iters, b, c);
#endif
    return run_scalar(iters, b, c);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds and flops of one run on every thread at once. b = 1, c = 0 keeps every lane at zero: no
 * overflow and no subnormals, whatever the count. */
static double timed(int isa, int threads, long iters, double *flops)
{
    double f = 0, sink = 0, t = now();
#pragma omp parallel num_threads(threads) reduction(+ : f, sink)
    {
        double one;
        sink += faith_fma_run(isa, iters, 1.0f, 0.0f, &one);
        f += one;
    }
    t = now() - t;
    *flops = f + sink; /* sink is zero; adding it keeps the runs from being optimised away */
    return t;
}

double faith_fma_peak(int threads)
{
    if (threads < 1) threads = 1;
    int isa = faith_fma_widest();
    long iters = 1 << 16;
    double flops, t = timed(isa, threads, iters, &flops);
    while (t < 0.02 && iters < (1L << 40)) {
        iters *= 2;
        t = timed(isa, threads, iters, &flops);
    }
    double best = flops / t;
    for (int r = 0; r < 4; r++) {
        t = timed(isa, threads, iters, &flops);
        if (flops / t > best) best = flops / t;
    }
    return best / 1e9;
}
