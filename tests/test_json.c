/* test_json.c: faith_json_parse, the one JSON front end: what it refuses (duplicated keys at any
 * depth, \u0000, NUL bytes, trailing text, invalid JSON) and how the error says where. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

/* Parse s (length n, or strlen when n is 0) expecting failure with every fragment in the message. */
static void refused(const char *s, size_t n, const char *f1, const char *f2)
{
    cJSON *j = (cJSON *)1;
    faith_err err = {0};
    int rc = faith_json_parse(s, n ? n : strlen(s), "f.json", &j, &err);
    if (rc != FAITH_ERR_FORMAT) fail_msg("accepted or wrong code %d: %s", rc, s);
    assert_null(j);
    if (strncmp(err.msg, "f.json: ", 8) != 0) fail_msg("'%s' does not start with the name", err.msg);
    if (!strstr(err.msg, f1)) fail_msg("'%s' lacks '%s'", err.msg, f1);
    if (f2 && !strstr(err.msg, f2)) fail_msg("'%s' lacks '%s'", err.msg, f2);
    if (strchr(err.msg, '\n')) fail_msg("'%s' spans lines", err.msg);
}

static cJSON *accepted(const char *s)
{
    cJSON *j = NULL;
    faith_err err = {0};
    if (faith_json_parse(s, strlen(s), "f.json", &j, &err) != FAITH_OK) fail_msg("refused '%s': %s", s, err.msg);
    assert_non_null(j);
    return j;
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    refused("{\"a\":1,\"a\":2}", 0, "key 'a' given twice", NULL);
    refused("{\"x\":{\"p\":[{\"k\":1},{\"k\":2,\"q\":0,\"k\":3}]}}", 0, "key 'x.p[1].k' given twice", NULL);
    /* a large object (a vocabulary) is checked by sorting: the duplicate is found wherever it is */
    char big[8192];
    size_t n = (size_t)snprintf(big, sizeof big, "{");
    for (int i = 0; i < 500; i++) n += (size_t)snprintf(big + n, sizeof big - n, "\"t%d\":%d,", i, i);
    snprintf(big + n, sizeof big - n, "\"t250\":0}");
    refused(big, 0, "key 't250' given twice", NULL);
    big[n] = '\0';
    snprintf(big + n, sizeof big - n, "\"t500\":0}");
    cJSON_Delete(accepted(big));
    /* the same key in sibling objects, or differing by case, is fine */
    cJSON_Delete(accepted("{\"a\":{\"k\":1},\"b\":{\"k\":2},\"A\":0,\"k\":[{\"k\":1},{\"k\":2}]}"));
}

static void test_nul(void **state)
{
    (void)state;
    refused("{\"text\":\"good\\u0000 movie\"}", 0, "\\u0000", "column 14");
    refused("{\"a\":1}\0", 8, "NUL byte", "column 8");
    /* an escaped backslash then the letters u0000 is text, not a NUL */
    cJSON *j = accepted("{\"t\":\"a\\\\u0000\",\"q\":\"\\\"\\\\\"}");
    assert_string_equal(cJSON_GetObjectItem(j, "t")->valuestring, "a\\u0000");
    assert_string_equal(cJSON_GetObjectItem(j, "q")->valuestring, "\"\\");
    cJSON_Delete(j);
    j = accepted("[\"\\u0001\"]");
    assert_int_equal(cJSON_GetArrayItem(j, 0)->valuestring[0], 1);
    cJSON_Delete(j);
}

static void test_syntax_and_position(void **state)
{
    (void)state;
    /* what cJSON tolerates and JSON does not */
    refused("{\"t\":\"good\\u00zz movie\"}", 0, "\\u escape without four hex digits", "column 11");
    refused("{\"t\":\"a\\qb\"}", 0, "invalid JSON", NULL); /* cJSON refuses this one itself */
    refused("{\"t\":\"good\tmovie\"}", 0, "control character in a string", NULL);
    refused("{\"l\":\v1}", 0, "character not allowed", NULL);
    refused("{\"l\":01}", 0, "malformed number (leading zero?)", NULL);
    refused("{\"l\":1.}", 0, "malformed number", NULL);
    refused("[-]", 0, "invalid JSON", NULL);
    cJSON *ok = accepted("{\"a\":\"caf\\u00e9 \\/ \\\" \\\\ \\b\\f\\n\\r\\t\",\"n\":[0,-0.5E+3,1e5,10,-0]}");
    assert_string_equal(cJSON_GetObjectItem(ok, "a")->valuestring, "caf\xc3\xa9 / \" \\ \b\f\n\r\t");
    assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(ok, "n"), 1)->valuedouble == -500.0);
    cJSON_Delete(ok);
    refused("{\"a\": 1}  x", 0, "text after the JSON value", "column 11, near 'x'");
    refused("{\n  \"a\": 1,\n  \"b\": tru\n}\n", 0, "invalid JSON", "line 3, column 8, near 'tru'");
    refused("{\"a\": [1, 2", 0, "invalid JSON", "column");
    refused("", 0, "invalid JSON", NULL);
    refused("  \n ", 0, "invalid JSON", NULL);
    /* the excerpt stops at the line's end and shows control bytes as '?' */
    refused("{\"a\": x\tyz\nmore}", 0, "near 'x?yz'", NULL);
    /* whitespace around the value, and only the given length, are parsed */
    cJSON *j = accepted(" \n[1, 2]\r\n\t ");
    assert_int_equal(cJSON_GetArraySize(j), 2);
    cJSON_Delete(j);
    const char *two = "{\"a\":1}{\"b\":2}";
    faith_err err = {0};
    assert_int_equal(faith_json_parse(two, 7, "f.json", &j, &err), FAITH_OK);
    assert_int_equal(cJSON_GetObjectItem(j, "a")->valueint, 1);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_nul),
        cmocka_unit_test(test_syntax_and_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
