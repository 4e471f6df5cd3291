/* tokenizer.h: Hugging Face-compatible tokenizers (BERT WordPiece, GPT-2/RoBERTa byte-level BPE)
 * loaded from a model directory; encodings keep byte offsets and whitespace-word indices. */
#ifndef FAITH_TOKENIZER_H
#define FAITH_TOKENIZER_H

#include <stdint.h>

#include "error.h"

typedef struct faith_tokenizer faith_tokenizer;

/* Special token ids; -1 when the vocabulary has none. For BPE models cls = bos = <s>,
 * sep = eos = </s>. */
typedef struct faith_special_ids {
    int32_t pad, unk, cls, sep, mask;
} faith_special_ids;

/* One encoded input (text, or text + pair), special tokens included. Arrays have n entries. */
typedef struct faith_encoding {
    int32_t n;
    int32_t *ids;
    int32_t *type_ids;   /* 0 for the first segment (and its specials), 1 for the pair (BERT) */
    int32_t *start, *end;/* byte offsets [start, end) into the segment's own text; -1 for specials */
    int32_t *word;       /* whitespace-delimited word index, numbered across text then pair; -1 for specials */
    uint8_t *special;    /* 1 for [CLS]/[SEP]/<s>/</s> (and any added special token) */
    uint8_t *segment;    /* 0 text, 1 pair */
    int32_t n_words;     /* whitespace words in text (+ pair), including words that were truncated away */
} faith_encoding;

/* Load from a model directory: tokenizer.json when present, else vocab.txt (WordPiece) or
 * vocab.json + merges.txt (byte-level BPE). tokenizer_config.json and special_tokens_map.json,
 * when present, give do_lower_case / strip_accents / special tokens. */
int faith_tokenizer_load(const char *dir, faith_tokenizer **out, faith_err *err);
/* 1 when dir holds the files of a tokenizer (whether or not they load): commands that work on ids
 * alone go without one only when there is none, and report a broken one. */
int faith_tokenizer_exists(const char *dir);

/* Load a WordPiece tokenizer straight from a vocab.txt. */
int faith_tokenizer_load_wordpiece(const char *vocab_txt, int do_lower_case, faith_tokenizer **out,
                                   faith_err *err);
/* Load a byte-level BPE tokenizer straight from vocab.json + merges.txt. */
int faith_tokenizer_load_bpe(const char *vocab_json, const char *merges_txt, faith_tokenizer **out,
                             faith_err *err);

void faith_tokenizer_free(faith_tokenizer *t);

/* Encode text (and pair, or NULL). max_len counts special tokens; when the input is longer, the
 * longer segment is truncated first, token by token (Hugging Face's longest_first). max_len <= 0:
 * no truncation. Invalid UTF-8 is an error naming the byte offset. */
int faith_tokenizer_encode(const faith_tokenizer *t, const char *text, const char *pair,
                           int32_t max_len, faith_encoding *enc, faith_err *err);
void faith_encoding_free(faith_encoding *enc);
/* FAITH_ERR_ARG when enc has no tokens, which a model cannot take (an empty text with a tokenizer
 * that adds no special tokens; Hugging Face's tokenizer also gives none). */
int faith_encoding_require_tokens(const faith_encoding *enc, faith_err *err); /* frees the arrays; enc itself is the caller's */

int32_t faith_tokenizer_vocab_size(const faith_tokenizer *t);
const char *faith_tokenizer_id_to_token(const faith_tokenizer *t, int32_t id); /* NULL if out of range */
int32_t faith_tokenizer_token_to_id(const faith_tokenizer *t, const char *token); /* -1 if absent */
faith_special_ids faith_tokenizer_special(const faith_tokenizer *t);
const char *faith_tokenizer_kind(const faith_tokenizer *t); /* "wordpiece" or "bpe" */

/* Copy the tokenizer's files (those it was loaded from) into dir, so a saved model stays loadable. */
int faith_tokenizer_save(const faith_tokenizer *t, const char *dir, faith_err *err);

#endif
