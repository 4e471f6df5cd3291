/* model_workspace.c: the model's activation workspace: one allocation laid out per batch shape and
 * flags (which buffers a forward keeps for a backward, probes or attention explainers). */
#include <stdlib.h>
#include <unistd.h>

#include "model_internal.h"

/* Bump allocator over the workspace: a sizing pass (base NULL) then an assigning pass. */
typedef struct carve {
    float *base;
    size_t used;
} carve;

static float *take(carve *c, size_t n)
{
    float *p = c->base ? c->base + c->used : NULL;
    c->used += (n + 15) & ~(size_t)15; /* 64-byte aligned slices */
    return p;
}

/* The head reads only the first token of the last layer's output, and only through that token's
 * query does the last layer mix the others in. Unless a forward must show every token's hidden
 * state or attention, the last layer runs for that token alone: its query, attention row, output
 * projection and FFN shrink from B*T rows to B, and the other tokens enter only through scores and
 * weighted sums of their inputs, with the key and value projections folded into the first token's
 * side (layers.h). On a two-layer model that removes about half of the work. Dropout draws the masks the whole
 * layer would draw for those rows (faith_dropout_apply_rows), so training sees the same masks. */
int faith_model_runs_first_only(unsigned flags)
{
    return !(flags & (FAITH_FWD_HIDDEN | FAITH_FWD_ATTN | FAITH_FWD_EVERY_TOKEN));
}

/* One layer's own buffers for rows rows: [Q | K | V] (nqkv floats), the dropped-out attention copy
 * (natt) in training, and the rest of the layer. */
static void take_layer(carve *c, layer_acts *a, size_t rows, size_t nqkv, size_t natt, size_t C, size_t F, int drop)
{
    a->qkv = take(c, nqkv);
    a->ctx = take(c, rows * C);
    a->res1 = take(c, rows * C);
    a->m1 = take(c, rows);
    a->r1 = take(c, rows);
    a->h1 = take(c, rows * C);
    a->pre = take(c, rows * F);
    a->act = take(c, rows * F);
    a->res2 = take(c, rows * C);
    a->m2 = take(c, rows);
    a->r2 = take(c, rows);
    a->attd = drop ? take(c, natt) : NULL;
}

/* Lay out the activations for (B, T, flags). Without KEEP_ACTS one layer's buffers serve every layer
 * and the layer outputs ping-pong between two buffers; HIDDEN and ATTN keep their parts per layer. */
static void plan(faith_model *m, carve *c, int B, int T, unsigned flags)
{
    const faith_model_config *cf = &m->cfg;
    size_t N = (size_t)B * T, C = (size_t)cf->d_model, F = (size_t)cf->d_ffn, L = (size_t)cf->n_layers;
    size_t A = (size_t)B * cf->n_heads * T * T;
    int keep = (flags & FAITH_FWD_KEEP_ACTS) != 0, drop = (flags & FAITH_FWD_DROPOUT) != 0;
    int hid = keep || (flags & FAITH_FWD_HIDDEN), attk = keep || (flags & FAITH_FWD_ATTN);
    m->emb_sum = take(c, N * C);
    m->emb_m = take(c, N);
    m->emb_r = take(c, N);
    m->y = take(c, N * C);
    float *ping[2] = {take(c, N * C), hid ? NULL : take(c, N * C)};
    int first = faith_model_runs_first_only(flags);
    size_t BC = (size_t)B * C, BHC = BC * (size_t)cf->n_heads, A1 = (size_t)B * cf->n_heads * T;
    m->x1 = take(c, BC);
    m->q1 = take(c, first ? BC : 0);
    m->fu = take(c, first ? BHC : 0);
    m->xbar = take(c, first ? BHC : 0);
    for (size_t l = 0; l < L; l++) {
        layer_acts *a = &m->la[l];
        /* A first-token layer keeping its activations has buffers of B rows (and no Q, K, V). */
        int one = keep && first && l == L - 1;
        if (one) take_layer(c, a, B, 0, A1, C, F, drop);
        else if (l == 0 || keep) take_layer(c, a, N, N * 3 * C, A, C, F, drop);
        else {
            float *att = a->att;
            *a = m->la[0];
            a->att = att;
        }
        a->att = one ? take(c, A1) : (l == 0 || attk) ? take(c, A) : m->la[0].att;
        a->in = l == 0 ? ping[0] : m->la[l - 1].out;
        a->out = one ? take(c, (size_t)B * C) : hid ? take(c, N * C) : ping[(l + 1) % 2];
        a->datt = (keep && (flags & FAITH_FWD_ATTN)) ? take(c, A) : NULL;
    }
    m->cls = take(c, (size_t)B * C);
    m->hpre = take(c, (size_t)B * C);
    m->hact = take(c, (size_t)B * C);
    m->hdrop = take(c, (size_t)B * C);
    if (keep) {
        m->dA = take(c, N * C);
        m->dB = take(c, N * C);
        m->dC = take(c, N * C);
        m->dqkv = take(c, N * 3 * C);
        m->dF = take(c, N * F);
        m->dS = take(c, (size_t)B * T * T);
        m->dh1 = take(c, (size_t)B * C);
        m->dh2 = take(c, (size_t)B * C);
        m->dq1 = take(c, first ? BC : 0);
        m->dfu = take(c, first ? BHC : 0);
        m->dxbar = take(c, first ? BHC : 0);
        m->dsc = take(c, first ? A1 : 0);
        if (!(flags & FAITH_FWD_ATTN)) { /* one scratch for dP shared by every layer */
            float *shared = take(c, A);
            for (size_t l = 0; l < L; l++) m->la[l].datt = shared;
        }
    }
}

size_t faith_model_workspace_bytes(faith_model *m, int B, int T, unsigned flags)
{
    carve c = {NULL, 0};
    plan(m, &c, B, T, flags);
    return c.used * sizeof(float);
}

/* A workspace larger than the machine's memory is refused with a message instead of an abort in
 * the allocator (or the OOM killer). */
int faith_model_grow_workspace(faith_model *m, int B, int T, unsigned flags, faith_err *err)
{
    carve c = {NULL, 0};
    plan(m, &c, B, T, flags);
    if (c.used > m->ws_cap) {
        /* Asked only when growing: sysconf here is a system call, too dear for every forward. */
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGE_SIZE);
        double have = pages > 0 && psize > 0 ? (double)pages * (double)psize : 0;
        if (have > 0 && (double)c.used * sizeof(float) > have)
            return faith_err_set(err, FAITH_ERR_NOMEM,
                                 "model forward: a batch of %d x %d tokens needs %.1f GB of activations, more "
                                 "than this machine's %.1f GB (a smaller batch or token budget)",
                                 B, T, (double)c.used * sizeof(float) / 1e9, have / 1e9);
        free(m->ws);
        m->ws = faith_xmalloc(sizeof(float) * c.used);
        m->ws_cap = c.used;
    }
    c.base = m->ws;
    c.used = 0;
    plan(m, &c, B, T, flags);
    size_t ni = (size_t)B * T * 3 + (size_t)B;
    if (ni > m->ibuf_cap) {
        free(m->ibuf);
        m->ibuf = faith_xmalloc(sizeof(int32_t) * ni);
        m->ibuf_cap = ni;
    }
    size_t N = (size_t)B * T;
    m->ids = m->ibuf;
    m->pos = m->ibuf + N;
    m->types = m->ibuf + 2 * N;
    m->len = m->ibuf + 3 * N;
    return FAITH_OK;
}
