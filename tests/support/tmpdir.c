/* tmpdir.c: small helpers shared by the test programs: fresh temporary directories and
 * tensor comparison. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "testmodel.h"

int faith_test_tmpdir(char *buf, size_t cap)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    if ((size_t)snprintf(buf, cap, "%s/faith-test-XXXXXX", base) >= cap) return -1;
    return mkdtemp(buf) ? 0 : -1;
}

double faith_test_max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || isnan(d)) m = isnan(d) ? INFINITY : d;
    }
    return m;
}
