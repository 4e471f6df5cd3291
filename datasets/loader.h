/* loader.h: pieces shared by the dataset loaders (private to datasets/): a hashing line reader
 * with BOM/CRLF/blank-line rules, example storage and the label-name policy. */
#ifndef FAITH_DS_LOADER_H
#define FAITH_DS_LOADER_H

#include <stdint.h>
#include <stdio.h>

#include "dataset.h"
#include "sha256.h"

/* Reads a text file line by line, hashing every byte read. Lines come back without "\n" or "\r\n",
 * the first without a UTF-8 BOM. Empty lines are skipped at the end of the file only: an empty
 * line followed by more text is a format error (it usually means a truncated or concatenated file). */
typedef struct faith_ds_reader {
    FILE *f;
    const char *path;
    faith_sha256 *sha;
    char *buf;
    size_t cap;
    int64_t lineno;        /* 1-based number of the line last returned */
    int64_t blank_lineno;  /* first empty line not yet followed by text, 0 if none */
} faith_ds_reader;

int faith_ds_reader_open(faith_ds_reader *r, const char *path, faith_sha256 *sha, faith_err *err);
/* 1 with *line (NUL-terminated, writable, valid until the next call), 0 at end of file, <0 on error. */
int faith_ds_reader_next(faith_ds_reader *r, char **line, size_t *len, faith_err *err);
/* Read (and hash) the rest of the file without returning lines: loaders call it after `limit`. */
int faith_ds_reader_drain(faith_ds_reader *r, faith_err *err);
void faith_ds_reader_close(faith_ds_reader *r);

/* Append a zeroed example with id = its index; the dataset grows geometrically. */
faith_example *faith_ds_push(faith_dataset *d, int64_t *cap);
/* Fill n_words from text and pair. */
void faith_ds_count(faith_example *e);

/* How label strings become indices:
 *  - spec label names given: a name must be one of them, a number k must be in [0, n);
 *  - else numbers are indices as they are (names from the numeric default set passed to finish);
 *  - else names: if the first name belongs to a known set (entailment/neutral/contradiction,
 *    negative/positive, NEG/POS) that set fixes order and membership; otherwise names are
 *    numbered in first-seen order. Mixing numbers and names without spec names is an error.
 * -1 (a number) and a missing label mean unlabeled. */
typedef struct faith_ds_labels {
    faith_dataset *d;
    int given;        /* names given in the spec */
    int fixed;        /* names fixed (given or a known set) */
    int mode;         /* 0 nothing seen, 1 numbers, 2 names */
    int32_t max_num;  /* largest numeric label seen */
} faith_ds_labels;

int faith_ds_labels_init(faith_ds_labels *L, faith_dataset *d, const faith_dataset_spec *spec,
                         faith_err *err);
/* where is "file:line" for messages. */
int faith_ds_label_str(faith_ds_labels *L, const char *s, const char *where, int32_t *out,
                       faith_err *err);
int faith_ds_label_num(faith_ds_labels *L, int64_t v, const char *where, int32_t *out,
                       faith_err *err);
/* FAITH_ERR_FORMAT naming where (file:line) when spec->require_labels and e has no label. */
int faith_ds_check_labeled(const faith_dataset_spec *spec, const faith_example *e, const char *where,
                           faith_err *err);
/* Settle names when labels were numbers (or absent): single texts with labels in {0,1} are
 * negative/positive (SST-2), pairs with labels in {0,1,2} entailment/neutral/contradiction (GLUE
 * MNLI order), anything else is named by its number. */
void faith_ds_labels_finish(faith_ds_labels *L, int has_pair);

extern const char *const faith_ds_mnli_labels[3];
extern const char *const faith_ds_sentiment_labels[2];

/* Per-format loaders; d is allocated by the dispatcher, which frees it on failure. */
int faith_ds_load_glue_tsv(const faith_dataset_spec *spec, faith_dataset *d, faith_err *err);
int faith_ds_load_jsonl(const faith_dataset_spec *spec, faith_dataset *d, faith_err *err);
int faith_ds_load_sentence(const faith_dataset_spec *spec, faith_dataset *d, faith_err *err);
int faith_ds_load_eraser(const faith_dataset_spec *spec, faith_dataset *d, faith_err *err);

#endif
