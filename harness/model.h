/* model.h: the transformer classifier engine: Hugging Face BERT / DistilBERT / RoBERTa sequence
 * classifiers loaded from config.json + model.safetensors, batched forward and backward on OpenBLAS. */
#ifndef FAITH_MODEL_H
#define FAITH_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define FAITH_MAX_CLASSES 64
#define FAITH_LABEL_MAX 64

typedef enum faith_arch { FAITH_ARCH_BERT = 0, FAITH_ARCH_DISTILBERT, FAITH_ARCH_ROBERTA } faith_arch;

/* Architecture hyper-parameters, as read from (or written to) config.json. Plain data. */
typedef struct faith_model_config {
    faith_arch arch;
    int32_t n_layers, n_heads, d_model, d_ffn;
    int32_t vocab_size, max_pos, type_vocab_size; /* type_vocab_size 0 for DistilBERT */
    int32_t n_classes;
    int32_t pad_token_id;                          /* RoBERTa positions start at pad_token_id + 1 */
    float ln_eps;
    float hidden_dropout, attn_dropout, classifier_dropout; /* used only by training */
    char labels[FAITH_MAX_CLASSES][FAITH_LABEL_MAX]; /* id2label names ("LABEL_0" when absent) */
} faith_model_config;

const char *faith_arch_name(faith_arch a);                  /* "bert", "distilbert", "roberta" */
int faith_arch_parse(const char *name, faith_arch *out);   /* FAITH_ERR_ARG if unknown */

typedef struct faith_model faith_model;

/* One batch of variable-length sequences. Row b has len[b] valid tokens (1..T); positions
 * t >= len[b] are padding: never attended to, their outputs unspecified. */
typedef struct faith_batch {
    int32_t B, T;
    const int32_t *ids;         /* (B, T) token ids; required (RoBERTa positions derive from ids) */
    const int32_t *type_ids;    /* (B, T) token type ids, or NULL for all zeros */
    const int32_t *len;         /* (B) */
    const float *word_embeds;   /* (B, T, C) used instead of the word-embedding lookup, or NULL */
} faith_batch;

/* What a forward keeps after it returns (it always writes logits). */
enum {
    FAITH_FWD_KEEP_ACTS = 1u << 0,   /* keep what faith_model_backward needs */
    FAITH_FWD_HIDDEN = 1u << 1,      /* keep every layer's hidden states: faith_model_hidden() */
    FAITH_FWD_ATTN = 1u << 2,        /* keep every layer's attention probs: faith_model_attention() */
    FAITH_FWD_DROPOUT = 1u << 3,     /* training mode: dropout on (needs faith_model_set_dropout_seed) */
    /* Run the last layer for every token, as Hugging Face does. Without it (and without HIDDEN, ATTN
     * or DROPOUT) the last layer runs for the first token only, the one the head reads: the same
     * logits and gradients (to rounding), with less work. For comparisons and tests. */
    FAITH_FWD_EVERY_TOKEN = 1u << 4
};

/* Load config.json + model.safetensors from dir. Every tensor is validated (names, dtypes F32/F16/BF16,
 * shapes implied by config.json, offsets inside the file and non-overlapping); failures name the file
 * and tensor. */
int faith_model_load(const char *dir, faith_model **out, faith_err *err);
/* A tokenizer of tok_vocab ids loaded from dir fits the model: ids >= vocab_size have no embedding,
 * so a larger tokenizer is an error naming its file (tokenizer.json, vocab.txt or vocab.json). */
int faith_model_check_vocab(const faith_model *m, int32_t tok_vocab, const char *dir, faith_err *err);

/* A new model with N(0, 0.02) weights (biases 0, LayerNorm weight 1), as Hugging Face initialises. */
int faith_model_create_random(const faith_model_config *cfg, uint64_t seed, faith_model **out,
                              faith_err *err);

/* Write config.json and model.safetensors (F32, Hugging Face tensor names with the arch prefix)
 * into dir (created if missing), each atomically (temp file + rename). Tokenizer files are not
 * written here. */
int faith_model_save(const faith_model *m, const char *dir, faith_err *err);

void faith_model_free(faith_model *m); /* NULL is a no-op */

const faith_model_config *faith_model_cfg(const faith_model *m);
/* The most tokens (specials included) one sequence may have: max_position_embeddings, less the
 * pad id + 1 for RoBERTa, whose positions start after the padding index. */
int32_t faith_model_cfg_max_tokens(const faith_model_config *c);
/* Identifies a model's parameters within the process: new for every model made (two models never
 * share one, even at the same address), after faith_model_randomize_top and after
 * faith_model_params_changed. What caches model outputs across calls keys on it. */
uint64_t faith_model_serial(const faith_model *m);

/* Forward a batch; logits (B, K). Activations live in a workspace owned by the model, grown when a
 * batch needs more and reused after: no allocation per call once warm. A row's logits do not depend
 * on the other rows or on T (to rounding; bit for bit with per-sequence products). */
int faith_model_forward(faith_model *m, const faith_batch *b, unsigned flags, float *logits,
                        faith_err *err);

/* Bytes of activation workspace a forward of (B, T) with flags needs (forward refuses a batch whose
 * workspace exceeds the machine's memory, with FAITH_ERR_NOMEM and a message). */
size_t faith_model_workspace_bytes(faith_model *m, int B, int T, unsigned flags);

/* Backward from dlogits (B, K) of the last forward (which must have had FAITH_FWD_KEEP_ACTS).
 * Writes the gradient with respect to each token's word-embedding vector into d_word_embeds
 * (B, T, C) (NULL to skip). When weight gradients are enabled it also accumulates them. */
int faith_model_backward(faith_model *m, const float *dlogits, float *d_word_embeds, faith_err *err);

/* Hidden states of the last forward with FAITH_FWD_HIDDEN: layer 0 is the embedding output,
 * layer l (1..L) the output of encoder layer l; (B, T, C). NULL when not kept (KEEP_ACTS alone keeps
 * every layer but the last, which ran for the first token only). */
const float *faith_model_hidden(const faith_model *m, int layer);

/* Attention probabilities of encoder layer l (0..L-1) from the last forward with FAITH_FWD_ATTN;
 * (B, NH, T, T), rows and columns past len[b] are zero. NULL when not kept (KEEP_ACTS alone: all
 * but the last layer). */
const float *faith_model_attention(const faith_model *m, int layer);

/* Gradient with respect to layer l's attention probabilities, from the last backward when the
 * forward had FAITH_FWD_ATTN|FAITH_FWD_KEEP_ACTS; (B, NH, T, T). NULL when not kept. */
const float *faith_model_attention_grad(const faith_model *m, int layer);

/* The word-embedding matrix (V, C). */
const float *faith_model_word_embeddings(const faith_model *m);

/* ---- training support ---- */

/* All parameters in one allocation, in the order of faith_model_param_at(). The forward keeps a
 * copy of the encoder's matrices (transposed, or in panels for tiled products), rebuilt from params at the next forward after this
 * call; code that keeps the pointer and writes through it later (an optimizer step, a perturbed
 * weight) calls faith_model_params_changed() after writing, which also gives a new serial. */
float *faith_model_params(faith_model *m, size_t *n);
void faith_model_params_changed(faith_model *m);
/* Gradient buffer (same layout as params), allocated and zeroed by the first enable call. While
 * enabled, backward accumulates weight gradients into it. */
int faith_model_enable_grads(faith_model *m, int on, faith_err *err);
float *faith_model_grads(faith_model *m);
void faith_model_zero_grads(faith_model *m);

/* Named view of one parameter tensor. name is Hugging Face's, with the arch prefix
 * ("bert.encoder.layer.0.attention.self.query.weight", "classifier.weight"). */
typedef struct faith_param_view {
    const char *name;
    size_t offset;          /* in floats, into faith_model_params() */
    int32_t ndim;
    int64_t shape[2];
    int is_encoder;         /* 1 for embeddings and encoder layers, 0 for the classification head */
    int layer;              /* encoder layer index, -1 for embeddings and head */
} faith_param_view;
size_t faith_model_param_count(const faith_model *m);
const faith_param_view *faith_model_param_at(const faith_model *m, size_t i);

/* With on, backward stops after the classification head: only the head's weight gradients are
 * computed (training a head on a frozen encoder), and asking for embedding gradients is an error. */
void faith_model_freeze_encoder(faith_model *m, int on);

/* Seed for dropout masks in the next FAITH_FWD_DROPOUT forward (counter-based, deterministic). */
void faith_model_set_dropout_seed(faith_model *m, uint64_t seed);

/* How the matrix products of a forward and backward cover a batch. PER_SEQUENCE (the default): one
 * product per sequence, so every logit, hidden state and input gradient of a sequence has the same
 * bits whatever its batch-mates, the batch size or the thread count. BATCHED: one product per group
 * of whole sequences (about 256 rows), faster at short lengths where products are whole (with tiled
 * products, within a few per cent); bits then depend on the batch (its sequences and padded length)
 * but still not on the thread count. Training uses it. */
typedef enum faith_products { FAITH_PRODUCTS_PER_SEQUENCE = 0, FAITH_PRODUCTS_BATCHED } faith_products;
void faith_model_set_products(faith_model *m, faith_products p);
faith_products faith_model_products(const faith_model *m);
const char *faith_products_name(faith_products p);            /* "per_sequence", "batched" */
int faith_products_parse(const char *name, faith_products *out); /* FAITH_ERR_ARG if unknown */
/* Tiled products (layers.h): on by default exactly when OpenBLAS's kernel family has small-matrix
 * kernels, which the manifest's kernel family therefore fixes. Another setting gives other bits
 * (to rounding) and is for tests and measurements. */
void faith_model_set_tiles(faith_model *m, int on);
int faith_model_tiles(const faith_model *m);

/* Re-initialise the classification head and the top n_layers encoder layers with N(0, 0.02)
 * (model-randomisation sanity check, Adebayo et al. 2018). */
void faith_model_randomize_top(faith_model *m, int n_layers, uint64_t seed);

/* ---- outputs ---- */

typedef enum faith_output { FAITH_OUT_PROB = 0, FAITH_OUT_LOGIT, FAITH_OUT_LOGPROB } faith_output;
const char *faith_output_name(faith_output o);
int faith_output_parse(const char *s, faith_output *out);

/* The chosen scalar of one row of logits (K) for class target, computed in double; when dlogits
 * (K) is not NULL also its gradient with respect to the logits. */
double faith_output_value(faith_output o, const float *logits, int K, int target, float *dlogits);

/* Softmax of one row of logits (K) into probs (K), in double for stability. */
void faith_softmax_row(const float *logits, int K, double *probs);

/* Use n threads. OpenBLAS's OpenMP build makes OpenMP's pool the only thread pool in Faith: BLAS
 * calls and Faith's loops over sequences share it. n <= 0: leave as is. */
void faith_set_threads(int n);
int faith_get_threads(void);
/* Run the BLAS/LAPACK calls in between single-threaded (least-squares solves, probe fits), so that
 * their bits do not depend on the thread count; begin returns what end restores. */
int faith_serial_begin(void);
void faith_serial_end(int saved);

#endif
