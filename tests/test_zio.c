/* test_zio.c: atomic zstd/plain writers and the checked reader: round trips larger than zstd's
 * staging buffer, checksum and truncation detection, nothing visible before close, sticky errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "testmodel.h"
#include "zio.h"

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* Deterministic text that compresses but not trivially: rows of numbers. */
static char *make_text(size_t rows, size_t *len)
{
    size_t cap = rows * 40 + 1, n = 0;
    char *s = malloc(cap);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < rows; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        n += (size_t)snprintf(s + n, cap - n, "%zu\t%llu\n", i, (unsigned long long)(x % 100000));
    }
    *len = n;
    return s;
}

static void test_zio_roundtrip_and_atomicity(void **state)
{
    (void)state;
    char dir[256], path[300];
    assert_int_equal(faith_test_tmpdir(dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/t.tsv.zst", dir);
    size_t n;
    char *text = make_text(40000, &n); /* several times ZSTD_CStreamInSize() */
    assert_true(n > 3 * ZSTD_CStreamInSize());
    faith_zio *z;
    faith_err err = {0};
    assert_int_equal(faith_zio_open(path, 3, &z, &err), 0);
    /* Uneven pieces cross the staging buffer's edges. */
    size_t pos = 0, step = 1;
    while (pos < n) {
        size_t k = step < n - pos ? step : n - pos;
        faith_zio_write(z, text + pos, k);
        pos += k, step = step * 3 % 70001 + 1;
    }
    assert_int_equal(access(path, F_OK), -1); /* not visible before close */
    assert_int_equal(faith_zio_close(z, &err), 0);
    assert_int_equal(count_entries(dir), 1);  /* temp file renamed, not left behind */

    /* The library's one-shot decoder agrees, and the frame has a checksum. */
    uint8_t *raw;
    size_t rn;
    assert_int_equal(faith_zio_read_file(path, 0, 0, &raw, &rn, &err), 0);
    assert_int_equal(rn, n);
    assert_memory_equal(raw, text, n);
    free(raw);
    FILE *f = fopen(path, "rb");
    static uint8_t comp[1 << 20];
    size_t cn = fread(comp, 1, sizeof comp, f);
    fclose(f);
    assert_true(cn < n / 2);
    assert_int_equal((comp[4] >> 2) & 1, 1); /* Content_Checksum_flag of the frame header */
    char *plain = malloc(n);
    assert_int_equal(ZSTD_decompress(plain, n, comp, cn), n);
    assert_memory_equal(plain, text, n);

    /* A flipped byte inside the payload fails the checksum (or the decode). */
    comp[cn / 2] ^= 0x5a;
    char bad[300];
    snprintf(bad, sizeof bad, "%s/bad.zst", dir);
    assert_int_equal(faith_zio_write_file(bad, 0, comp, cn, &err), 0);
    assert_int_equal(faith_zio_read_file(bad, 1, 1, &raw, &rn, &err), FAITH_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "bad.zst"));
    comp[cn / 2] ^= 0x5a;
    /* A truncated file is refused too. */
    assert_int_equal(faith_zio_write_file(bad, 0, comp, cn - 7, &err), 0);
    assert_int_equal(faith_zio_read_file(bad, 1, 1, &raw, &rn, &err), FAITH_ERR_FORMAT);
    /* Plain bytes where zstd is required are refused; accepted otherwise. */
    assert_int_equal(faith_zio_write_file(bad, 0, "hello", 5, &err), 0);
    assert_int_equal(faith_zio_read_file(bad, 1, 1, &raw, &rn, &err), FAITH_ERR_FORMAT);
    assert_int_equal(faith_zio_read_file(bad, 0, 0, &raw, &rn, &err), 0);
    assert_int_equal(rn, 5);
    assert_string_equal((char *)raw, "hello");
    free(raw);
    /* A frame written without checksum is refused when one is required. */
    size_t nc = ZSTD_compress(comp, sizeof comp, "abc", 3, 1);
    assert_int_equal(faith_zio_write_file(bad, 0, comp, nc, &err), 0);
    assert_int_equal(faith_zio_read_file(bad, 1, 1, &raw, &rn, &err), FAITH_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "checksum"));
    assert_int_equal(faith_zio_read_file(bad, 1, 0, &raw, &rn, &err), 0);
    assert_int_equal(rn, 3);
    free(raw);
    free(plain);
    free(text);
    unlink(bad);
    unlink(path);
    rmdir(dir);
}

static void test_zio_discard_and_sticky_error(void **state)
{
    (void)state;
    char dir[256], path[300];
    assert_int_equal(faith_test_tmpdir(dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/x.json", dir);
    faith_zio *z;
    faith_err err = {0};
    assert_int_equal(faith_zio_open(path, 0, &z, &err), 0);
    faith_zio_puts(z, "{}");
    assert_int_equal(count_entries(dir), 1); /* the temp file */
    faith_zio_discard(z);
    assert_int_equal(count_entries(dir), 0);
    assert_int_equal(access(path, F_OK), -1);
    /* A directory that does not exist fails at open, naming the path. */
    char missing[320];
    snprintf(missing, sizeof missing, "%s/nope/x.tsv", dir);
    assert_int_equal(faith_zio_open(missing, 3, &z, &err), FAITH_ERR_IO);
    assert_non_null(strstr(err.msg, "nope/x.tsv"));
    /* Writes past RLIMIT_FSIZE fail with EFBIG: the failure sticks, later writes are dropped,
     * close reports it and leaves neither the temp file nor the target. */
    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(faith_zio_open(path, 0, &z, &err), 0);
    struct rlimit small = {4096, old.rlim_max};
    setrlimit(RLIMIT_FSIZE, &small);
    static char block[1 << 16];
    memset(block, 'a', sizeof block);
    faith_zio_write(z, block, sizeof block);
    faith_zio_write(z, block, sizeof block);
    setrlimit(RLIMIT_FSIZE, &old);
    assert_true(faith_zio_failed(z));
    assert_int_equal(faith_zio_close(z, &err), FAITH_ERR_IO);
    assert_non_null(strstr(err.msg, "x.json"));
    assert_int_equal(count_entries(dir), 0);
    /* A rename onto a non-empty directory fails at close: the temp file is removed. */
    char sub[340];
    mkdir(path, 0755);
    snprintf(sub, sizeof sub, "%s/keep", path);
    fclose(fopen(sub, "w"));
    assert_int_equal(faith_zio_open(path, 3, &z, &err), 0);
    faith_zio_printf(z, "%0*d", 2000, 7); /* longer than printf's small buffer */
    assert_false(faith_zio_failed(z));
    assert_int_equal(faith_zio_close(z, &err), FAITH_ERR_IO);
    assert_non_null(strstr(err.msg, "rename"));
    assert_int_equal(count_entries(dir), 1);
    unlink(sub);
    rmdir(path);
    /* The long printf itself is written whole. */
    assert_int_equal(faith_zio_open(path, 0, &z, &err), 0);
    faith_zio_printf(z, "%0*d", 2000, 7);
    assert_int_equal(faith_zio_close(z, &err), 0);
    uint8_t *raw;
    size_t rn;
    assert_int_equal(faith_zio_read_file(path, 0, 0, &raw, &rn, &err), 0);
    assert_int_equal(rn, 2000);
    assert_int_equal(raw[0], '0');
    assert_int_equal(raw[1999], '7');
    free(raw);
    unlink(path);
    rmdir(dir);
}

static void test_fmt_double_is_fixed(void **state)
{
    (void)state;
    char b[40];
    assert_string_equal(faith_fmt_double(0.1, b, sizeof b), "0.1");
    assert_string_equal(faith_fmt_double(-0.0, b, sizeof b), "0");
    assert_string_equal(faith_fmt_double(NAN, b, sizeof b), "nan");
    assert_string_equal(faith_fmt_double(-INFINITY, b, sizeof b), "-inf");
    assert_string_equal(faith_fmt_double(1234567890123.0, b, sizeof b), "1.23456789e+12");
    /* 9 significant digits round-trip a float exactly. */
    float f = 0.3333333432674407958984375f;
    assert_true((float)strtod(faith_fmt_double(f, b, sizeof b), NULL) == f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zio_roundtrip_and_atomicity),
        cmocka_unit_test(test_zio_discard_and_sticky_error),
        cmocka_unit_test(test_fmt_double_is_fixed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
