/* tok_internal.h: what tokenizer.c, tok_wordpiece.c and tok_bpe.c share: the tokenizer struct,
 * the string->id vocabulary hash, and the growable list of model pieces with their offsets. */
#ifndef FAITH_TOK_INTERNAL_H
#define FAITH_TOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tokenizer.h"

/* Token strings by id plus an open-addressing hash from string to id. Ids may have gaps
 * (tokens[id] == NULL) when a JSON vocabulary skips some. */
typedef struct faith_tok_vocab {
    char **tokens;
    int32_t n;        /* ids are 0..n-1 */
    int32_t n_cap;    /* allocated entries of tokens (grown geometrically: vocabularies are 50k long) */
    int32_t *slots;   /* cap entries: id or -1 */
    size_t cap;
} faith_tok_vocab;

void faith_tok_vocab_init(faith_tok_vocab *v);
void faith_tok_vocab_free(faith_tok_vocab *v);
/* Set tokens[id] = s[0..len). Returns FAITH_ERR_RANGE (vocabulary unchanged) when id already holds a
 * token, FAITH_ERR_FORMAT when the string was already present (it then maps to the new id). */
int faith_tok_vocab_put(faith_tok_vocab *v, const char *s, size_t len, int32_t id);
int32_t faith_tok_vocab_get(const faith_tok_vocab *v, const char *s, size_t len);

/* Model output before framing: ids with byte offsets into the segment's text. */
typedef struct faith_tok_pieces {
    int32_t n, cap;
    int32_t *id, *start, *end;
    uint8_t *special;
} faith_tok_pieces;

void faith_tok_pieces_push(faith_tok_pieces *p, int32_t id, int32_t start, int32_t end,
                           uint8_t special);
void faith_tok_pieces_free(faith_tok_pieces *p);

enum { FAITH_TOK_WORDPIECE = 1, FAITH_TOK_BPE = 2 };
/* How specials frame a sequence: none (GPT-2), [CLS] a [SEP] b [SEP], <s> a </s></s> b </s>. */
enum { FAITH_FRAME_NONE = 0, FAITH_FRAME_BERT = 1, FAITH_FRAME_ROBERTA = 2 };

/* An added token, cut out of the text before the model runs. lstrip/rstrip take the whitespace
 * next to it into the token; single_word matches only where no word character (\w) touches it.
 * A normalized token of a WordPiece tokenizer is matched in the normalizer's output, against
 * norm (its content put through the same normalizer); every other one in the raw text. */
typedef struct faith_tok_added {
    char *content;
    int32_t id;
    uint8_t special, lstrip, rstrip, single_word, normalized;
    uint32_t *norm;
    int32_t n_norm;
} faith_tok_added;

typedef struct faith_tok_bpe faith_tok_bpe; /* tok_bpe.c */

struct faith_tokenizer {
    int kind;
    faith_tok_vocab vocab;
    faith_special_ids sp;
    int frame;
    /* WordPiece (BertNormalizer + BertPreTokenizer + WordPiece) */
    int clean_text, chinese, strip_accents, lowercase, max_chars;
    char prefix[32];
    /* byte-level BPE */
    faith_tok_bpe *bpe;
    int add_prefix_space;
    int use_regex;     /* ByteLevel's GPT-2 split; without it the whole text is one word */
    int ignore_merges; /* a word that is itself in the vocabulary is taken whole */
    /* added tokens, cut out before the model runs (tok_encode.c; normalized ones tok_wordpiece.c) */
    faith_tok_added *added;
    int n_added;
    /* source files, for faith_tokenizer_save */
    char **files, **names; /* source path, name in a saved directory */
    int n_files;
};

/* Whether added token a is matched in the normalizer's output rather than the raw text. */
static inline int faith_tok_added_in_normalized(const faith_tokenizer *t, const faith_tok_added *a)
{
    return a->normalized && t->kind == FAITH_TOK_WORDPIECE;
}

/* Fill norm for the added tokens matched after normalization; called once the normalizer's
 * settings are final (tokenizer_config.json may change them). */
void faith_tok_wp_prepare_added(faith_tokenizer *t);
/* WordPiece over s[0..len) (a piece of a segment starting at byte base of it). */
int faith_tok_wp_encode(const faith_tokenizer *t, const char *s, size_t len, int32_t base,
                        faith_tok_pieces *out, faith_err *err);
/* Read vocab.txt (one token a line, id = line number - 1). */
int faith_tok_wp_read_vocab(const char *path, faith_tok_vocab *v, faith_err *err);

/* Byte-level BPE over s[0..len). */
int faith_tok_bpe_encode(const faith_tokenizer *t, const char *s, size_t len, int32_t base,
                         faith_tok_pieces *out, faith_err *err);
/* Build t->bpe from t->vocab and merges given as "a b" lines (n of them); source names the
 * file for errors. */
int faith_tok_bpe_init(faith_tokenizer *t, const char *const *left, const char *const *right,
                       int32_t n, const char *source, faith_err *err);
int faith_tok_bpe_read_merges(const char *path, char ***left, char ***right, int32_t *n,
                              faith_err *err);
void faith_tok_bpe_free(faith_tok_bpe *b);

#endif
