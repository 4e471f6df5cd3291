/* fma_peak.h: this machine's floating-point ceiling: how many float multiply-adds its cores retire
 * per second with nothing but independent FMAs in registers, the bound no product can beat. */
#ifndef FAITH_FMA_PEAK_H
#define FAITH_FMA_PEAK_H

/* The loop's versions; the peak uses the widest the CPU runs. */
enum { FAITH_FMA_SCALAR, FAITH_FMA_AVX2, FAITH_FMA_AVX512, FAITH_FMA_N };

int faith_fma_supported(int isa);
int faith_fma_widest(void);
/* "scalar" (a multiply and an add, no FMA instruction), "avx2+fma" or "avx512f". */
const char *faith_fma_name(int isa);

/* One version, which must be supported: each of its independent chains of vectors does
 * a = a * b + c, iters times, from a = 0. Returns the sum of every chain's every lane; *flops gets
 * the work done (2 per lane per step), the count the peak is computed from. With b = 1 and c = 1
 * every lane ends at iters exactly (iters <= 2^24), so the sum checks the count. */
double faith_fma_run(int isa, long iters, float b, float c, double *flops);

/* GFLOP/s of the FMA loop on `threads` threads at once (the OpenMP pool that runs OpenBLAS), best of
 * a few timings of about 20 ms each. */
double faith_fma_peak(int threads);

#endif
