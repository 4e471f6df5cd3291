/* test_datasets.c: every loader on small files written here (exact fields, labels, rationales,
 * hashes), every malformed-input error, the shared real files, and the synthetic generator's rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset.h"
#include "sha256.h"
#include "synth.h"
#include "testmodel.h"

static char g_dir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static const char *write_file(const char *name, const char *content)
{
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fwrite(content, 1, strlen(content), f);
    fclose(f);
    return p;
}

static faith_dataset *load_ok(const faith_dataset_spec *spec)
{
    faith_dataset *d = NULL;
    faith_err err = {0};
    int rc = faith_dataset_load(spec, &d, &err);
    if (rc != FAITH_OK) fail_msg("load %s: %s", spec->path, err.msg);
    return d;
}

static void assert_mask(const uint8_t *got, const char *want)
{
    assert_non_null(got);
    for (size_t i = 0; want[i]; i++) assert_int_equal(got[i], want[i] - '0');
}

static void assert_sha_of(const faith_dataset *d, const char *content)
{
    char hex[65];
    faith_sha256_hex(content, strlen(content), hex);
    assert_string_equal(d->sha256, hex);
}

/* ---- GLUE TSV ---- */

static void test_tsv_sst2_bom_crlf_trailing_space(void **state)
{
    (void)state;
    const char *c = "\xEF\xBB\xBFsentence\tlabel\r\nit 's a charming journey . \t1\r\nbleak and dull \t0\r\n\r\n\n";
    faith_dataset_spec s = {.path = write_file("sst.tsv", c)};
    faith_dataset *d = load_ok(&s);
    assert_string_equal(d->format, "glue_tsv");
    assert_int_equal(d->n, 2);
    assert_string_equal(d->ex[0].text, "it 's a charming journey . ");
    assert_null(d->ex[0].pair);
    assert_int_equal(d->ex[0].label, 1);
    assert_int_equal(d->ex[0].n_words, 6);
    assert_int_equal(d->ex[1].id, 1);
    assert_string_equal(d->ex[1].text, "bleak and dull ");
    assert_int_equal(d->ex[1].label, 0);
    assert_int_equal(d->ex[1].n_words, 3);
    assert_int_equal(d->n_labels, 2);
    assert_string_equal(d->labels[0], "negative");
    assert_string_equal(d->labels[1], "positive");
    assert_false(d->has_rationales);
    assert_null(d->ex[0].rationale);
    assert_sha_of(d, c);
    faith_dataset_free(d);

    s.limit = 1; /* keeps one example, still hashes the whole file */
    d = load_ok(&s);
    assert_int_equal(d->n, 1);
    assert_sha_of(d, c);
    faith_dataset_free(d);
}

static void test_tsv_mnli_named_labels_and_pairs(void **state)
{
    (void)state;
    const char *c =
        "index\tpromptID\tpairID\tgenre\ts1b\ts2b\ts1p\ts2p\tsentence1\tsentence2\tlabel1\tgold_label\n"
        "0\t1\t1e\tfiction\t(a)\t(b)\t(A)\t(B)\tThe cat sat .\tA cat sits\tneutral\tneutral\n"
        "1\t2\t2e\tfiction\t(a)\t(b)\t(A)\t(B)\tDogs bark\tNo dogs bark at all\tcontradiction\tentailment\n"
        "2\t3\t3e\tslate\t(a)\t(b)\t(A)\t(B)\tx\ty\tneutral\tcontradiction\n";
    faith_dataset_spec s = {.path = write_file("mnli.tsv", c)};
    faith_dataset *d = load_ok(&s);
    assert_int_equal(d->n, 3);
    assert_string_equal(d->ex[0].text, "The cat sat .");
    assert_string_equal(d->ex[0].pair, "A cat sits");
    assert_int_equal(d->ex[0].n_words, 7);
    assert_int_equal(d->ex[1].n_words, 7);
    /* gold_label wins over label1; MNLI order is fixed, not first-seen */
    assert_int_equal(d->ex[0].label, 1);
    assert_int_equal(d->ex[1].label, 0);
    assert_int_equal(d->ex[2].label, 2);
    assert_int_equal(d->n_labels, 3);
    assert_string_equal(d->labels[0], "entailment");
    assert_string_equal(d->labels[2], "contradiction");
    faith_dataset_free(d);

    s.label_col = "label1";
    d = load_ok(&s);
    assert_int_equal(d->ex[1].label, 2);
    faith_dataset_free(d);
}

static void test_tsv_discovered_given_and_unlabeled(void **state)
{
    (void)state;
    faith_dataset_spec s = {.path = write_file("spam.tsv", "text\tlabel\nbuy now\tspam\nhi mom\tham\nwin\tspam\n")};
    faith_dataset *d = load_ok(&s);
    assert_int_equal(d->n_labels, 2);
    assert_string_equal(d->labels[0], "spam");
    assert_string_equal(d->labels[1], "ham");
    assert_int_equal(d->ex[0].label, 0);
    assert_int_equal(d->ex[1].label, 1);
    assert_int_equal(d->ex[2].label, 0);
    faith_dataset_free(d);

    const char *names[] = {"ham", "spam"};
    s.label_names = names;
    s.n_label_names = 2;
    d = load_ok(&s);
    assert_int_equal(d->ex[0].label, 1);
    assert_int_equal(d->ex[1].label, 0);
    assert_string_equal(d->labels[0], "ham");
    faith_dataset_free(d);

    /* numbers index given names */
    s.path = write_file("num.tsv", "sentence\tlabel\na\t1\nb\t0\n");
    d = load_ok(&s);
    assert_int_equal(d->ex[0].label, 1);
    assert_string_equal(d->labels[1], "spam");
    faith_dataset_free(d);

    faith_dataset_spec t = {.path = write_file("test.tsv", "index\tsentence\n0\tsome text here\n1\tmore\n")};
    d = load_ok(&t);
    assert_int_equal(d->n, 2);
    assert_int_equal(d->ex[0].label, -1);
    assert_int_equal(d->ex[1].label, -1);
    assert_string_equal(d->ex[0].text, "some text here");
    assert_int_equal(d->n_labels, 2);
    faith_dataset_free(d);

    /* 3 numeric classes, no pair: named by number */
    faith_dataset_spec u = {.path = write_file("three.tsv", "sentence\tlabel\na\t2\nb\t0\n")};
    d = load_ok(&u);
    assert_int_equal(d->n_labels, 3);
    assert_string_equal(d->labels[2], "2");
    faith_dataset_free(d);
}

/* ---- JSONL ---- */

static void test_jsonl_text_pairs_rationale_forms(void **state)
{
    (void)state;
    const char *c =
        "{\"text\": \"a b c d e\", \"label\": 1, \"rationale\": [[1, 3], [4, 5]]}\n"
        "{\"text\": \"x  y\\tz\", \"label\": 0, \"rationale\": [0, 1, 1]}\n"
        "{\"text\": \"no rationale\", \"label\": 1}\n"
        "{\"text\": \"empty spans\", \"label\": 0, \"rationale\": [[1, 1]]}\n"
        "{\"text\": \"z\", \"rationale\": []}\n";
    faith_dataset_spec s = {.path = write_file("a.jsonl", c)};
    faith_dataset *d = load_ok(&s);
    assert_string_equal(d->format, "jsonl");
    assert_int_equal(d->n, 5);
    assert_true(d->has_rationales);
    assert_mask(d->ex[4].rationale, "0");
    assert_int_equal(d->ex[4].label, -1);
    assert_int_equal(d->ex[0].n_words, 5);
    assert_mask(d->ex[0].rationale, "01101");
    assert_string_equal(d->ex[1].text, "x  y\tz");
    assert_int_equal(d->ex[1].n_words, 3);
    assert_mask(d->ex[1].rationale, "011");
    assert_null(d->ex[2].rationale);
    assert_int_equal(d->ex[2].n_words, 2);
    assert_mask(d->ex[3].rationale, "00");
    assert_int_equal(d->ex[0].label, 1);
    assert_int_equal(d->ex[3].label, 0);
    assert_string_equal(d->labels[1], "positive");
    assert_sha_of(d, c);
    faith_dataset_free(d);

    const char *p =
        "{\"premise\": \"The new rights are nice enough\", \"hypothesis\": \"Everyone likes them \", "
        "\"label\": \"neutral\", \"rationale\": [[5, 8]]}\n"
        "{\"premise\": \"p q\", \"hypothesis\": \"r\", \"label\": \"contradiction\", \"rationale\": [0, 0, 1]}\n"
        "{\"premise\": \"p\", \"hypothesis\": \"r\", \"label\": null}\n"
        "{\"sentence1\": \"s t\", \"sentence2\": \"u\", \"gold_label\": \"entailment\"}\n";
    s.path = write_file("pairs.jsonl", p);
    d = load_ok(&s);
    assert_string_equal(d->ex[0].text, "The new rights are nice enough");
    assert_string_equal(d->ex[0].pair, "Everyone likes them ");
    assert_int_equal(d->ex[0].n_words, 9);
    assert_mask(d->ex[0].rationale, "000001110");
    assert_int_equal(d->ex[0].label, 1);
    assert_int_equal(d->ex[1].label, 2);
    assert_mask(d->ex[1].rationale, "001");
    assert_int_equal(d->ex[2].label, -1);
    assert_string_equal(d->ex[3].text, "s t");
    assert_string_equal(d->ex[3].pair, "u");
    assert_int_equal(d->ex[3].label, 0);
    assert_int_equal(d->n_labels, 3);
    faith_dataset_free(d);
}

/* require_labels: the first unlabeled example is an error at its own file:line, in every format
 * (JSONL missing key and -1, TSV without a label column, sentence's -1); labeled files still load. */
static void test_require_labels(void **state)
{
    (void)state;
    struct { const char *name, *text, *where; } c[] = {
        {"rl.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": 0}\n{\"text\": \"c\"}\n",
         "rl.jsonl:3"},
        {"rl2.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": -1}\n", "rl2.jsonl:2"},
        {"rl.tsv", "index\tsentence\n0\tsome text\n", "rl.tsv:2"},
        {"rl.txt", "1 fine\n-1 what\n", "rl.txt:2"},
    };
    const char *fmt[] = {"jsonl", "jsonl", "glue_tsv", "sentence"};
    for (int k = 0; k < 4; k++) {
        faith_dataset_spec s = {.format = fmt[k], .path = write_file(c[k].name, c[k].text)};
        faith_dataset *d = load_ok(&s); /* without the flag: unlabeled is allowed */
        faith_dataset_free(d);
        d = NULL;
        s.require_labels = 1;
        faith_err err = {0};
        assert_int_equal(faith_dataset_load(&s, &d, &err), FAITH_ERR_FORMAT);
        assert_null(d);
        if (!strstr(err.msg, c[k].where) || !strstr(err.msg, "no label"))
            fail_msg("%s: '%s' does not name %s", c[k].name, err.msg, c[k].where);
    }
    faith_dataset_spec ok = {.path = write_file("rl3.jsonl", "{\"text\": \"a\", \"label\": 1}\n"), .require_labels = 1};
    faith_dataset *d = load_ok(&ok);
    assert_int_equal(d->ex[0].label, 1);
    faith_dataset_free(d);
}

/* ---- sentence ---- */

static void test_sentence_first_space(void **state)
{
    (void)state;
    const char *c = "0 one long string of cliches .\n1 a -lrb- fine -rrb- film\r\n";
    faith_dataset_spec s = {.path = write_file("stsa.binary.x", c)};
    faith_dataset *d = load_ok(&s);
    assert_string_equal(d->format, "sentence");
    assert_int_equal(d->n, 2);
    assert_string_equal(d->ex[0].text, "one long string of cliches .");
    assert_int_equal(d->ex[0].label, 0);
    assert_int_equal(d->ex[0].n_words, 6);
    assert_string_equal(d->ex[1].text, "a -lrb- fine -rrb- film");
    assert_int_equal(d->ex[1].label, 1);
    assert_sha_of(d, c);
    faith_dataset_free(d);
}

/* ---- ERASER ---- */

static void make_eraser(void)
{
    char docs[600];
    snprintf(docs, sizeof docs, "%s/er", g_dir);
    mkdir(docs, 0777);
    snprintf(docs, sizeof docs, "%s/er/docs", g_dir);
    mkdir(docs, 0777);
    write_file("er/docs/negR_1.txt", "the plot is thin .\nbad acting , too .\n");
    write_file("er/docs/posR_2.txt", "a  joy\tto watch\n");
}

static const char *ER_VAL =
    "{\"annotation_id\": \"negR_1.txt\", \"classification\": \"NEG\", \"evidences\": "
    "[[{\"docid\": \"negR_1.txt\", \"start_token\": 1, \"end_token\": 3, \"text\": \"plot is\"}], "
    "[{\"docid\": \"negR_1.txt\", \"start_token\": 5, \"end_token\": 7, \"text\": \"bad acting\"}]], "
    "\"query\": \"What is the sentiment of this review?\", \"query_type\": null}\n"
    "{\"annotation_id\": \"posR_2.txt\", \"classification\": \"POS\", \"docids\": null, \"evidences\": "
    "[[{\"docid\": \"posR_2.txt\", \"start_token\": 1, \"end_token\": 2, \"text\": \"joy\"}], "
    "[{\"docid\": \"posR_2.txt\", \"start_token\": 3, \"end_token\": 3, \"text\": \"\"}]], "
    "\"query\": \"q\"}\n";

static void test_eraser_dir_and_split_file(void **state)
{
    (void)state;
    make_eraser();
    write_file("er/val.jsonl", ER_VAL);
    faith_dataset_spec s = {.path = tmp_path("er"), .split = "val"};
    faith_dataset *d = load_ok(&s);
    assert_string_equal(d->format, "eraser");
    assert_int_equal(d->n, 2);
    assert_string_equal(d->ex[0].text, "the plot is thin . bad acting , too .");
    assert_null(d->ex[0].pair);
    assert_int_equal(d->ex[0].n_words, 10);
    assert_mask(d->ex[0].rationale, "0110011000");
    assert_string_equal(d->ex[1].text, "a joy to watch");
    assert_mask(d->ex[1].rationale, "0100");
    assert_int_equal(d->ex[0].label, 0);
    assert_int_equal(d->ex[1].label, 1);
    assert_string_equal(d->labels[0], "NEG");
    assert_string_equal(d->labels[1], "POS");
    assert_true(d->has_rationales);
    /* split file, then each doc in order */
    faith_sha256 h;
    faith_sha256_init(&h);
    const char *parts[] = {ER_VAL, "the plot is thin .\nbad acting , too .\n", "a  joy\tto watch\n"};
    for (int i = 0; i < 3; i++) faith_sha256_update(&h, parts[i], strlen(parts[i]));
    char hex[65];
    faith_sha256_final_hex(&h, hex);
    assert_string_equal(d->sha256, hex);
    faith_dataset_free(d);

    faith_dataset_spec f = {.path = tmp_path("er/val.jsonl"), .limit = 1};
    d = load_ok(&f);
    assert_string_equal(d->format, "eraser");
    assert_int_equal(d->n, 1);
    assert_mask(d->ex[0].rationale, "0110011000");
    faith_dataset_free(d);
}

/* ---- errors ---- */

typedef struct bad_case {
    const char *format, *name, *content;
    const char *where; /* ":<line>" expected after the file name, or NULL for no line */
    const char *what;  /* part of the message saying what was expected */
    int code;
} bad_case;

static void test_malformed_inputs_name_file_and_line(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"glue_tsv", "cols.tsv", "sentence\tlabel\na\t1\nb\t0\textra\n", ":3:", "expected 2 tab-separated columns", FAITH_ERR_FORMAT},
        {"glue_tsv", "nonnum.tsv", "sentence\tlabel\na\t1\nb\tzero\n", ":3:", "non-numeric label 'zero'", FAITH_ERR_FORMAT},
        {"glue_tsv", "unk.tsv", "s1\tsentence2\tsentence1\tgold_label\n.\tb\ta\tneutral\n.\tb\ta\tmaybe\n", ":3:",
         "unknown label name 'maybe'", FAITH_ERR_FORMAT},
        {"glue_tsv", "nocol.tsv", "words\tlabel\na\t1\n", ":1:", "missing text column", FAITH_ERR_FORMAT},
        {"glue_tsv", "blank.tsv", "sentence\tlabel\n\na\t1\n", ":2:", "empty line followed by more data", FAITH_ERR_FORMAT},
        {"glue_tsv", "empty.tsv", "\n\n", NULL, "expected a header row", FAITH_ERR_FORMAT},
        {"glue_tsv", "range.tsv", "sentence\tlabel\na\t-2\n", ":2:", "out of range", FAITH_ERR_FORMAT},
        {"jsonl", "bad.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"a\", \"label\": 1\n", ":2:",
         "invalid JSON", FAITH_ERR_FORMAT},
        {"jsonl", "trail.jsonl", "{\"text\": \"a\", \"label\": 1} x\n", ":1:", "text after the JSON value", FAITH_ERR_FORMAT},
        {"jsonl", "notobj.jsonl", "[1, 2]\n", ":1:", "expected a JSON object", FAITH_ERR_FORMAT},
        {"jsonl", "notext.jsonl", "{\"label\": 1}\n", ":1:", "missing text", FAITH_ERR_FORMAT},
        {"jsonl", "textnum.jsonl", "{\"text\": 3}\n", ":1:", "'text' must be a string", FAITH_ERR_FORMAT},
        {"jsonl", "masklen.jsonl", "{\"text\": \"a b\", \"label\": 1}\n{\"text\": \"a b c\", \"rationale\": [0, 1]}\n",
         ":2:", "rationale has 2 entries, expected one 0/1 per word (3 words)", FAITH_ERR_FORMAT},
        {"jsonl", "maskval.jsonl", "{\"text\": \"a b\", \"rationale\": [0, 2]}\n", ":1:", "rationale entry 1: expected 0 or 1",
         FAITH_ERR_FORMAT},
        {"jsonl", "span.jsonl", "{\"text\": \"a b\", \"rationale\": [[0, 1], [1, 3]]}\n", ":1:", "rationale span 1",
         FAITH_ERR_FORMAT},
        {"jsonl", "span2.jsonl", "{\"text\": \"a b\", \"rationale\": [[2, 1]]}\n", ":1:", "0 <= start <= end <= 2",
         FAITH_ERR_FORMAT},
        {"jsonl", "float.jsonl", "{\"text\": \"a\", \"label\": 1.5}\n", ":1:", "must be an integer or a label name",
         FAITH_ERR_FORMAT},
        {"jsonl", "mixed.jsonl", "{\"text\": \"a\", \"label\": \"good\"}\n{\"text\": \"a\", \"label\": 1}\n", ":2:",
         "numeric label 1 after label names", FAITH_ERR_FORMAT},
        {"jsonl", "mnliunk.jsonl", "{\"premise\": \"a\", \"hypothesis\": \"b\", \"label\": \"entailment\"}\n"
         "{\"premise\": \"a\", \"hypothesis\": \"b\", \"label\": \"-\"}\n", ":2:",
         "unknown label name '-' (expected one of: entailment, neutral, contradiction)", FAITH_ERR_FORMAT},
        {"sentence", "nospace.txt", "1 fine\nbroken\n", ":2:", "expected '<label> <sentence>'", FAITH_ERR_FORMAT},
        {"sentence", "nonnum.txt", "1 a\nx b\n", ":2:", "non-numeric label 'x'", FAITH_ERR_FORMAT},
        {"jsonl", "utf8.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\xff" "\", \"label\": 1}\n", ":2:",
         "invalid UTF-8 at column 12 (byte 0xFF)", FAITH_ERR_FORMAT},
        {"jsonl", "dup.jsonl", "{\"text\": \"a\", \"text\": \"b\"}\n", ":1:", "key 'text' given twice", FAITH_ERR_FORMAT},
        {"glue_tsv", "utf8.tsv", "sentence\tlabel\na\xc3" "\t1\n", ":2:", "invalid UTF-8 at column 2 (byte 0xC3)",
         FAITH_ERR_FORMAT},
        {"sentence", "utf8.txt", "1 a\n0 \xed\xa0\x80\n", ":2:", "invalid UTF-8 at column 3 (byte 0xED)", FAITH_ERR_FORMAT},
        {"sentence", "missing.txt", NULL, NULL, "cannot open", FAITH_ERR_IO},
        {"csv", "fmt.txt", "1 a\n", NULL, "unknown dataset format 'csv'", FAITH_ERR_ARG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *b = &cases[i];
        const char *path = b->content ? write_file(b->name, b->content) : tmp_path(b->name);
        faith_dataset_spec s = {.format = b->format, .path = path};
        if (strcmp(b->name, "unk.tsv") == 0) {
            static const char *const names[] = {"entailment", "neutral", "contradiction"};
            s.label_names = names;
            s.n_label_names = 3;
        }
        faith_dataset *d = (faith_dataset *)1;
        faith_err err = {0};
        int rc = faith_dataset_load(&s, &d, &err);
        if (rc != b->code || !strstr(err.msg, path) || !strstr(err.msg, b->what))
            fail_msg("case %s: rc %d (want %d), message '%s' (want '%s')", b->name, rc, b->code, err.msg, b->what);
        assert_null(d);
        if (b->where) {
            char want[600];
            snprintf(want, sizeof want, "%s%s", path, b->where);
            if (!strstr(err.msg, want)) fail_msg("case %s: '%s' does not name %s", b->name, err.msg, want);
        }
    }
}

static void test_eraser_errors(void **state)
{
    (void)state;
    make_eraser();
    faith_dataset_spec s = {.path = tmp_path("er"), .split = "bad"};
    faith_err err = {0};
    faith_dataset *d = NULL;
    write_file("er/bad.jsonl",
               "{\"annotation_id\": \"posR_2.txt\", \"classification\": \"POS\", \"evidences\": []}\n"
               "{\"annotation_id\": \"posR_2.txt\", \"classification\": \"POS\", \"evidences\": "
               "[[{\"docid\": \"posR_2.txt\", \"start_token\": 2, \"end_token\": 5}]]}\n");
    assert_int_equal(faith_dataset_load(&s, &d, &err), FAITH_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "bad.jsonl:2:"));
    assert_non_null(strstr(err.msg, "outside document 'posR_2.txt' of 4 tokens"));
    write_file("er/bad.jsonl", "{\"annotation_id\": \"posR_9.txt\", \"classification\": \"POS\"}\n");
    assert_int_equal(faith_dataset_load(&s, &d, &err), FAITH_ERR_IO);
    assert_non_null(strstr(err.msg, "docs/posR_9.txt"));
    write_file("er/bad.jsonl",
               "{\"annotation_id\": \"posR_2.txt\", \"classification\": \"POS\", \"evidences\": "
               "[[{\"docid\": \"negR_1.txt\", \"start_token\": 0, \"end_token\": 1}]]}\n");
    assert_int_equal(faith_dataset_load(&s, &d, &err), FAITH_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "bad.jsonl:1:"));
    assert_non_null(strstr(err.msg, "evidence in document 'negR_1.txt'"));
    write_file("er/bad.jsonl", "{\"annotation_id\": \"posR_2.txt\", \"classification\": \"NEG\"}\n"
                               "{\"annotation_id\": \"posR_2.txt\", \"classification\": \"MAYBE\"}\n");
    assert_int_equal(faith_dataset_load(&s, &d, &err), FAITH_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "bad.jsonl:2: unknown label name 'MAYBE' (expected one of: NEG, POS)"));
    /* a number no int64_t holds is refused, not cast (undefined behaviour) */
    write_file("er/bad.jsonl", "{\"annotation_id\": \"posR_2.txt\", \"classification\": \"POS\", \"evidences\": "
                               "[[{\"docid\": \"posR_2.txt\", \"start_token\": 0, \"end_token\": 1e300}]]}\n");
    assert_int_equal(faith_dataset_load(&s, &d, &err), FAITH_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "bad.jsonl:1:"));
    /* a doc that is not UTF-8: its file and line, not only the example number the tokenizer knows */
    write_file("er/docs/posR_3.txt", "fine\nb\xff" "d\n");
    write_file("er/bad.jsonl", "{\"annotation_id\": \"posR_3.txt\", \"classification\": \"POS\"}\n");
    assert_int_equal(faith_dataset_load(&s, &d, &err), FAITH_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "docs/posR_3.txt:2: invalid UTF-8 at column 2 (byte 0xFF)"));
    assert_null(d);
}

/* ---- real shared files ---- */

static const char *shared_file(const char *rel)
{
    static char buf[4][1024];
    static int k;
    const char *root = getenv("FAITH_SHARED");
    if (!root || !*root) return NULL;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/datasets/%s", root, rel);
    struct stat st;
    return stat(buf[k], &st) == 0 ? buf[k] : NULL;
}

static void count_labels(const faith_dataset *d, int64_t *counts, int n)
{
    memset(counts, 0, (size_t)n * sizeof *counts);
    for (int64_t i = 0; i < d->n; i++) {
        assert_true(d->ex[i].label >= 0 && d->ex[i].label < n);
        assert_int_equal(d->ex[i].id, i);
        assert_int_equal(d->ex[i].n_words, faith_count_words(d->ex[i].text) + faith_count_words(d->ex[i].pair));
        counts[d->ex[i].label]++;
    }
}

static void test_real_sst2_mnli_stsa(void **state)
{
    (void)state;
    const char *sst = shared_file("sst2/dev.tsv"), *mnli = shared_file("mnli/dev_matched.jsonl"),
               *stsa = shared_file("sst2/sentence_level/stsa.binary.dev");
    if (!sst || !mnli || !stsa) {
        print_message("FAITH_SHARED datasets absent: skipping real-file checks\n");
        skip();
    }
    int64_t c[3];
    faith_dataset_spec s = {.path = sst};
    faith_dataset *d = load_ok(&s);
    assert_int_equal(d->n, 872);
    count_labels(d, c, 2);
    assert_int_equal(c[0], 428);
    assert_int_equal(c[1], 444);
    assert_string_equal(d->sha256, "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0");
    assert_string_equal(d->ex[0].text, "it 's a charming and often affecting journey . ");
    faith_dataset_free(d);

    faith_dataset_spec m = {.path = mnli};
    d = load_ok(&m);
    assert_int_equal(d->n, 9815);
    count_labels(d, c, 3);
    assert_int_equal(c[0], 3479);
    assert_int_equal(c[1], 3123);
    assert_int_equal(c[2], 3213);
    assert_string_equal(d->ex[0].pair, "Everyone really likes the newest benefits ");
    assert_int_equal(d->ex[0].label, 1);
    assert_string_equal(d->sha256, "081af9b80f4fe75aba97d034c0ff21a8017c4d18e3b5b2b0b7612ab2cc3c7bf2");
    faith_dataset_free(d);

    faith_dataset_spec t = {.path = stsa};
    d = load_ok(&t);
    assert_string_equal(d->format, "sentence");
    assert_int_equal(d->n, 872);
    count_labels(d, c, 2);
    assert_int_equal(c[0], 428);
    assert_int_equal(c[1], 444);
    assert_string_equal(d->sha256, "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1");
    faith_dataset_free(d);

    static const char *const seeds[] = {"13", "21", "42", "87", "100"};
    for (int k = 0; k < 5; k++) {
        char rel[128];
        snprintf(rel, sizeof rel, "mnli/k-shot/16-%s/train.tsv", seeds[k]);
        faith_dataset_spec ks = {.path = shared_file(rel)};
        assert_non_null(ks.path);
        d = load_ok(&ks);
        assert_int_equal(d->n, 48);
        count_labels(d, c, 3);
        assert_int_equal(c[0], 16);
        assert_int_equal(c[1], 16);
        assert_int_equal(c[2], 16);
        assert_non_null(d->ex[0].pair);
        faith_dataset_free(d);
    }
}

/* Split s (copied into buf) at whitespace. */
static int split_words(const char *s, char *buf, size_t cap, char **w, int max)
{
    snprintf(buf, cap, "%s", s);
    int n = 0;
    for (char *t = strtok(buf, " \t\r\n\v\f"); t && n < max; t = strtok(NULL, " \t\r\n\v\f")) w[n++] = t;
    return n;
}

static void hash_file_into(faith_sha256 *h, const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[8192];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) faith_sha256_update(h, buf, got);
    fclose(f);
}

/* Every evidence span's words equal its text, the rationale is the union of spans, and the hash
 * covers the split file then each doc in order. Counts from SOURCES.md. */
static void check_eraser_split(const char *dir, const char *split, int64_t n, int64_t neg, int64_t n_spans)
{
    char rel[64];
    snprintf(rel, sizeof rel, "eraser_movies/%s.jsonl", split);
    const char *val = shared_file(rel);
    assert_non_null(val);
    faith_dataset_spec s = {.path = dir, .split = split};
    faith_dataset *d = load_ok(&s);
    assert_int_equal(d->n, n);
    int64_t c[2];
    count_labels(d, c, 2);
    assert_int_equal(c[0], neg);
    assert_int_equal(c[1], n - neg);
    FILE *f = fopen(val, "rb");
    assert_non_null(f);
    faith_sha256 h;
    faith_sha256_init(&h);
    hash_file_into(&h, val);
    char *line = NULL, *buf = malloc(1 << 20), **w = malloc(sizeof *w * 100000), *sb = malloc(1 << 16);
    char *sw[4096];
    size_t cap = 0;
    int64_t i = 0, spans = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *o = cJSON_Parse(line);
        assert_non_null(o);
        const char *docid = cJSON_GetObjectItem(o, "annotation_id")->valuestring;
        char doc[1200];
        snprintf(doc, sizeof doc, "%s/docs/%s", dir, docid);
        hash_file_into(&h, doc);
        const faith_example *e = &d->ex[i];
        int n = split_words(e->text, buf, 1 << 20, w, 100000);
        assert_int_equal(n, e->n_words);
        uint8_t *mask = calloc((size_t)n, 1);
        cJSON *g, *ev;
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(o, "evidences")) cJSON_ArrayForEach(ev, g)
        {
            int a = cJSON_GetObjectItem(ev, "start_token")->valueint, b = cJSON_GetObjectItem(ev, "end_token")->valueint;
            int m = split_words(cJSON_GetObjectItem(ev, "text")->valuestring, sb, 1 << 16, sw, 4096);
            assert_int_equal(m, b - a);
            for (int k = 0; k < m; k++) assert_string_equal(w[a + k], sw[k]);
            memset(mask + a, 1, (size_t)(b - a));
            spans++;
        }
        for (int k = 0; k < n; k++) assert_int_equal(e->rationale[k], mask[k]);
        free(mask);
        cJSON_Delete(o);
        i++;
    }
    fclose(f);
    assert_int_equal(i, n);
    assert_int_equal(spans, n_spans);
    char hex[65];
    faith_sha256_final_hex(&h, hex);
    assert_string_equal(d->sha256, hex);
    free(line);
    free(buf);
    free(w);
    free(sb);
    faith_dataset_free(d);
}

static void test_real_eraser(void **state)
{
    (void)state;
    const char *dir = shared_file("eraser_movies");
    if (!dir) {
        print_message("FAITH_SHARED eraser_movies absent: skipping\n");
        skip();
    }
    check_eraser_split(dir, "val", 200, 100, 1517);
    check_eraser_split(dir, "test", 199, 100, 2067); /* has empty spans [k, k) with text "" */
    check_eraser_split(dir, "train", 1600, 800, 13878);
}

/* ---- synthetic task ---- */

static int in_list(const char *w, const char *const *list, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(w, list[i]) == 0) return 1;
    return 0;
}

static int polarity(const char *w)
{
    if (in_list(w, faith_synth_positive, faith_synth_n_positive)) return 1;
    if (in_list(w, faith_synth_negative, faith_synth_n_negative)) return -1;
    return 0;
}

static int is_negator(const char *w) { return in_list(w, faith_synth_negators, faith_synth_n_negators); }

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*n + 1);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static int same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    int same = na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static void gen(const char *sub, uint64_t seed)
{
    faith_synth_opts o = {.task = "sentiment", .n = 600, .seed = seed, .min_len = 4, .max_len = 20};
    faith_err err = {0};
    if (faith_synth_write(&o, tmp_path(sub), &err) != FAITH_OK) fail_msg("synth: %s", err.msg);
}

static void test_synth_deterministic(void **state)
{
    (void)state;
    gen("sa", 7);
    gen("sb/nested", 7);
    gen("sc", 8);
    static const char *const files[] = {"train.jsonl", "dev.jsonl", "test.jsonl", "README.txt"};
    for (int i = 0; i < 4; i++) {
        char a[64], b[64], c[64];
        snprintf(a, sizeof a, "sa/%s", files[i]);
        snprintf(b, sizeof b, "sb/nested/%s", files[i]);
        snprintf(c, sizeof c, "sc/%s", files[i]);
        assert_true(same_bytes(tmp_path(a), tmp_path(b)));
        assert_false(same_bytes(tmp_path(a), tmp_path(c)));
    }
}

/* Every example obeys the documented rule; returns counts for the statistical checks. */
static void check_synth_split(const char *path, int64_t want_n, int64_t stats[6])
{
    faith_dataset_spec s = {.path = path};
    faith_dataset *d = load_ok(&s);
    assert_int_equal(d->n, want_n);
    assert_true(d->has_rationales);
    char buf[8192], *w[600];
    for (int64_t i = 0; i < d->n; i++) {
        const faith_example *e = &d->ex[i];
        int n = split_words(e->text, buf, sizeof buf, w, 600);
        assert_true(n >= 4 && n <= 20);
        assert_int_equal(n, e->n_words);
        int score = 0, surface = 0, negated = 0, decoys = 0;
        for (int k = 0; k < n; k++) {
            int p = polarity(w[k]);
            int neg_before = k > 0 && is_negator(w[k - 1]);
            int signal_after = k + 1 < n && polarity(w[k + 1]) != 0;
            assert_true(p || is_negator(w[k]) || in_list(w[k], faith_synth_decoys, faith_synth_n_decoys) ||
                        in_list(w[k], faith_synth_filler, faith_synth_n_filler));
            if (is_negator(w[k])) assert_true(signal_after); /* negators only in front of signal words */
            decoys += in_list(w[k], faith_synth_decoys, faith_synth_n_decoys);
            surface += p;
            negated += p && neg_before;
            score += neg_before ? -p : p;
            int truth = p != 0 || (is_negator(w[k]) && signal_after);
            assert_int_equal(e->rationale[k], truth);
        }
        assert_true(score != 0);
        assert_int_equal(e->label, score > 0);
        stats[0] += e->label;
        stats[1] += negated > 0;
        stats[2] += (surface > 0) != (score > 0) || surface == 0; /* bag of words alone is wrong or tied */
        stats[3 + e->label] += decoys > 0;
    }
    faith_dataset_free(d);
}

static void test_synth_labels_and_rationales_follow_the_rule(void **state)
{
    (void)state;
    gen("sa", 7);
    int64_t tr, dv, te;
    faith_synth_split_sizes(600, &tr, &dv, &te);
    assert_int_equal(tr, 480);
    assert_int_equal(dv, 60);
    assert_int_equal(te, 60);
    int64_t st[6] = {0};
    check_synth_split(tmp_path("sa/train.jsonl"), tr, st);
    check_synth_split(tmp_path("sa/dev.jsonl"), dv, st);
    check_synth_split(tmp_path("sa/test.jsonl"), te, st);
    int64_t pos = st[0], neg = 600 - pos;
    assert_true(pos > 240 && pos < 360);
    assert_true(st[1] > 60);  /* negation occurs */
    assert_true(st[2] > 60);  /* and matters: surface counts alone mislead */
    /* decoys are drawn independently of the label: same rate in both classes */
    double rp = (double)st[4] / (double)pos, rn = (double)st[3] / (double)neg;
    assert_true(rp - rn < 0.12 && rn - rp < 0.12);
}

static void test_synth_word_lists(void **state)
{
    (void)state;
    const char *const *lists[] = {faith_synth_positive, faith_synth_negative, faith_synth_negators,
                                  faith_synth_decoys, faith_synth_filler};
    const int ns[] = {faith_synth_n_positive, faith_synth_n_negative, faith_synth_n_negators,
                      faith_synth_n_decoys, faith_synth_n_filler};
    assert_int_equal(ns[0], 12);
    assert_int_equal(ns[1], 12);
    assert_true(ns[4] >= 200);
    /* pairwise disjoint and without duplicates: each word is in exactly one list, once */
    for (int a = 0; a < 5; a++)
        for (int i = 0; i < ns[a]; i++) {
            int seen = 0;
            for (int b = 0; b < 5; b++)
                for (int j = 0; j < ns[b]; j++) seen += strcmp(lists[a][i], lists[b][j]) == 0;
            if (seen != 1) fail_msg("synth word '%s' occurs %d times", lists[a][i], seen);
        }
    faith_synth_opts bad[] = {{"sentiment", 2, 0, 4, 8}, {"sentiment", 10, 0, 9, 8}, {"sentiment", 10, 0, 1, 8},
                              {"nli", 10, 0, 4, 8}, {"sentiment", 10, 0, 4, FAITH_SYNTH_MAX_LEN + 1}};
    for (int i = 0; i < 5; i++) {
        faith_err err = {0};
        assert_int_equal(faith_synth_write(&bad[i], tmp_path("sbad"), &err), FAITH_ERR_ARG);
    }
    const char *vocab = shared_file("vocab/bert-base-uncased/vocab.txt");
    if (!vocab) {
        print_message("FAITH_SHARED vocab absent: skipping the whole-word vocabulary check\n");
        return;
    }
    FILE *f = fopen(vocab, "rb");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    int found[5][400] = {{0}};
    ssize_t got;
    while ((got = getline(&line, &cap, f)) > 0) {
        line[strcspn(line, "\r\n")] = '\0';
        for (int a = 0; a < 5; a++)
            for (int i = 0; i < ns[a] && i < 400; i++) found[a][i] |= strcmp(line, lists[a][i]) == 0;
    }
    free(line);
    fclose(f);
    for (int a = 0; a < 5; a++)
        for (int i = 0; i < ns[a]; i++)
            if (i >= 400 || !found[a][i]) fail_msg("synth word '%s' is not a whole word of vocab.txt", lists[a][i]);
}

static int setup(void **state)
{
    (void)state;
    return faith_test_tmpdir(g_dir, sizeof g_dir);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tsv_sst2_bom_crlf_trailing_space),
        cmocka_unit_test(test_tsv_mnli_named_labels_and_pairs),
        cmocka_unit_test(test_tsv_discovered_given_and_unlabeled),
        cmocka_unit_test(test_require_labels),
        cmocka_unit_test(test_jsonl_text_pairs_rationale_forms),
        cmocka_unit_test(test_sentence_first_space),
        cmocka_unit_test(test_eraser_dir_and_split_file),
        cmocka_unit_test(test_malformed_inputs_name_file_and_line),
        cmocka_unit_test(test_eraser_errors),
        cmocka_unit_test(test_real_sst2_mnli_stsa),
        cmocka_unit_test(test_real_eraser),
        cmocka_unit_test(test_synth_deterministic),
        cmocka_unit_test(test_synth_labels_and_rationales_follow_the_rule),
        cmocka_unit_test(test_synth_word_lists),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
