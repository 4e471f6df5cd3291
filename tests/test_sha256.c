/* test_sha256.c: SHA-256 against published vectors, a 1 MiB buffer hashed by sha256sum,
 * streaming in odd chunk sizes, and a shared data file against its recorded hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "testmodel.h"

/* byte i of the 1 MiB buffer; its hash below was computed once with `sha256sum`. */
static uint8_t mb_byte(size_t i) { return (uint8_t)(((i * 31 + 7) ^ (i >> 8)) & 0xff); }
#define MB_SHA256 "62db649367f92b7f585bc2eda21acd6f9a37d6d42b3423e69a309baee0bbd6d8"

static void test_sha256_known_vectors(void **state)
{
    (void)state;
    char hex[65];
    faith_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    faith_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* 56 bytes: the padding needs a second block */
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    faith_sha256_hex(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_megabyte_one_shot_streamed_and_file(void **state)
{
    (void)state;
    size_t n = (size_t)1 << 20;
    uint8_t *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) b[i] = mb_byte(i);
    char hex[65];
    faith_sha256_hex(b, n, hex);
    assert_string_equal(hex, MB_SHA256);
    /* chunk sizes that straddle block boundaries in every way */
    faith_sha256 s;
    faith_sha256_init(&s);
    size_t off = 0, step = 1;
    while (off < n) {
        size_t take = step < n - off ? step : n - off;
        faith_sha256_update(&s, b + off, take);
        off += take;
        step = step * 7 % 193 + 1;
    }
    faith_sha256_final_hex(&s, hex);
    assert_string_equal(hex, MB_SHA256);

    char dir[256], path[300];
    assert_int_equal(faith_test_tmpdir(dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/mb.bin", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    faith_err err = {0};
    assert_int_equal(faith_sha256_file(path, hex, &err), FAITH_OK);
    assert_string_equal(hex, MB_SHA256);
    remove(path);
    assert_int_equal(faith_sha256_file(path, hex, &err), FAITH_ERR_IO);
    assert_non_null(strstr(err.msg, path));
    remove(dir);
    free(b);
}

static void test_sha256_shared_file(void **state)
{
    (void)state;
    const char *shared = getenv("FAITH_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/datasets/sst2/dev.tsv", shared ? shared : "");
    FILE *f = shared ? fopen(path, "rb") : NULL;
    if (!f) {
        print_message("FAITH_SHARED/datasets/sst2/dev.tsv absent: skipping\n");
        skip();
    }
    fclose(f);
    char hex[65];
    faith_err err = {0};
    assert_int_equal(faith_sha256_file(path, hex, &err), FAITH_OK);
    assert_string_equal(hex, "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known_vectors),
        cmocka_unit_test(test_sha256_megabyte_one_shot_streamed_and_file),
        cmocka_unit_test(test_sha256_shared_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
