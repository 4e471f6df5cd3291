/* dataset.h: examples as loaded from disk (GLUE TSV, JSONL, sentence-level, ERASER), before
 * tokenisation; ids are file positions so they are stable across runs and rank counts. */
#ifndef FAITH_DATASET_H
#define FAITH_DATASET_H

#include <stdint.h>

#include "error.h"

#define FAITH_DS_MAX_LABELS 64

typedef struct faith_example {
    int64_t id;          /* index of the example in its file (0-based, after any header) */
    char *text;          /* first segment (premise for pairs) */
    char *pair;          /* second segment (hypothesis) or NULL */
    int32_t label;       /* index into the dataset's label names, -1 when unlabeled */
    int32_t n_words;     /* whitespace words of text then pair (the unit rationales are given in) */
    uint8_t *rationale;  /* (n_words) 1 = human/planted rationale word, or NULL when none */
} faith_example;

typedef struct faith_dataset {
    int64_t n;
    faith_example *ex;
    int32_t n_labels;
    char *labels[FAITH_DS_MAX_LABELS]; /* label names in index order */
    int has_rationales;
    char sha256[65];     /* hex sha256 of all bytes read, in read order */
    char format[32];     /* resolved format name */
} faith_dataset;

/* What to load. Zero/NULL fields take defaults. */
typedef struct faith_dataset_spec {
    const char *format;       /* "glue_tsv", "jsonl", "sentence", "eraser", or NULL/"auto" (by extension/layout) */
    const char *path;         /* file, or the ERASER directory */
    const char *split;        /* ERASER: "train" | "val" | "test"; others: ignored */
    int64_t limit;            /* keep the first `limit` examples; <= 0: all */
    const char *text_col;     /* TSV/JSONL column of the text (defaults: sentence/sentence1/text/premise) */
    const char *pair_col;     /* column of the second segment (defaults: sentence2/hypothesis when present) */
    const char *label_col;    /* column of the label (default: label, gold_label for MNLI TSV) */
    const char *const *label_names; /* fixes label order; labels given as names map through it */
    int32_t n_label_names;
    int require_labels;       /* 1: an unlabeled example is an error naming its file:line (training) */
} faith_dataset_spec;

/* Load a dataset. Errors name the file and line and what was expected. */
int faith_dataset_load(const faith_dataset_spec *spec, faith_dataset **out, faith_err *err);
void faith_dataset_free(faith_dataset *d); /* NULL is a no-op */

/* Count whitespace-delimited words of s (the word unit shared with faith_encoding.word). */
int32_t faith_count_words(const char *s);

#endif
