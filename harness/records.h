/* records.h: the per-(example, explainer) result record and its byte encoding, the unit that moves
 * between ranks and into resume chunks; and the growable byte buffer used to build them. */
#ifndef FAITH_RECORDS_H
#define FAITH_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "cost.h"
#include "error.h"

typedef struct faith_buf {
    uint8_t *p;
    size_t n, cap;
} faith_buf;

void faith_buf_put(faith_buf *b, const void *src, size_t n);
void faith_buf_free(faith_buf *b);

/* Everything the tables need about one example seen through one explainer. */
typedef struct faith_record {
    int64_t id;
    int32_t explainer;              /* index into the config's explainers */
    int32_t label, pred, target;    /* label -1 when unlabeled */
    double prob;                    /* probability of target on the unperturbed input */
    double completeness_gap, delta_f;
    faith_cost explain_cost, metric_cost;
    int32_t n_values;               /* every metric's record, concatenated in config order */
    double *values;
    int32_t n;                      /* tokens, specials included */
    int32_t *ids, *word;
    float *scores;
    char **tokens;                  /* token strings */
    int32_t n_words;
    float *word_scores;
} faith_record;

/* Append r's encoding (little-endian, fixed layout) to b. */
void faith_record_encode(const faith_record *r, faith_buf *b);
/* Decode one record at *pos of (p, n), advancing *pos; arrays are allocated. FAITH_ERR_FORMAT when
 * the bytes run out or a length is impossible. */
int faith_record_decode(const uint8_t *p, size_t n, size_t *pos, faith_record *r, faith_err *err);
void faith_record_free(faith_record *r); /* frees the arrays; r itself is the caller's */

/* A chunk's payload: chunk index, record count, then the records. */
void faith_chunk_encode(int64_t chunk, const faith_record *recs, int32_t n_recs, faith_buf *b);
int faith_chunk_decode(const uint8_t *p, size_t n, int64_t *chunk, faith_record **recs,
                       int32_t *n_recs, faith_err *err);
void faith_records_free(faith_record *recs, int32_t n);

#endif
