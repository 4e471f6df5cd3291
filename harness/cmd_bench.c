/* cmd_bench.c: `faith bench`: this machine's sgemm and FMA peaks, then the model's forward and
 * forward+backward throughput, achieved GFLOP/s, shares of the peaks and peak RSS; optionally PyTorch. */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "fma_peak.h"
#include "model.h"
#include "rng.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Best of seven square sgemms of size n: GFLOP/s. Fewer (three) left the peak 5-10 % low now and
 * then on this shared machine, which showed PyTorch above 100 % of it. */
static double sgemm_peak(int n)
{
    float *a = faith_xmalloc(sizeof(float) * (size_t)n * n), *b = faith_xmalloc(sizeof(float) * (size_t)n * n);
    float *c = faith_xmalloc(sizeof(float) * (size_t)n * n);
    for (size_t i = 0; i < (size_t)n * n; i++) a[i] = b[i] = (float)(i % 13) * 0.01f;
    double best = 1e30;
    for (int r = 0; r < 7; r++) {
        double t = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        t = now() - t;
        best = t < best ? t : best;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * n * (double)n * n / best / 1e9;
}

/* Multiply-adds x2 of one forward: linears over B*T rows, attention over T x T per head, the head.
 * With first_only the last layer does what Faith's does for the first token alone: the query, the
 * folded key and value products (u = Wk^T q, Wv xbar), output projection and FFN over B rows, and
 * attention as scores and weighted sums of the layer's inputs over 1 x T per head. */
static void model_flops(const faith_model_config *c, int B, int T, int first_only, double *lin, double *att)
{
    double N = (double)B * T, C = c->d_model, F = c->d_ffn, L = c->n_layers, NH = c->n_heads;
    double full = 2 * N * C * 3 * C + 2 * N * C * C + 4 * N * C * F;
    double first = (double)B * (4 * 2 * C * C + 4 * C * F);
    *lin = (first_only ? (L - 1) * full + first : L * full) + 2.0 * B * C * (C + c->n_classes);
    *att = first_only ? (L - 1) * 4.0 * B * (double)T * T * C + 4.0 * B * NH * T * C : L * 4.0 * B * (double)T * T * C;
}

/* PyTorch references of the same classifier, one thread in every pool: embeddings (word + position +
 * type, LayerNorm), the encoder, then pooler (tanh) and classifier, as BertForSequenceClassification.
 * The encoder is either torch's fused one (nn.TransformerEncoderLayer, post-LN with GELU like BERT; in
 * eval it takes the native fast path) or the module structure Hugging Face's BertLayer runs, written
 * with torch.nn.functional (transformers itself is not packaged in Debian). Timing follows the C side:
 * the fastest of `rounds` rounds, each of `it` calls or, with it 0, of enough calls for about 0.2 s.
 * The backward is the gradient of logit 0 wrt the word embeddings, parameters frozen, as Faith's. */
static const char *TORCH_SCRIPT =
    "import math, sys, time, torch\n"
    "import torch.nn.functional as F\n"
    "torch.set_num_threads(1)\n"
    "L, C, H, FF, V, P, K, B, T, it, rounds = map(int, sys.argv[1:12])\n"
    "ids = torch.randint(3, V, (B, T))\n"
    "pos, typ = torch.arange(T).expand(B, T), torch.zeros(B, T, dtype=torch.long)\n"
    "wte, wpe, wtt = torch.nn.Embedding(V, C), torch.nn.Embedding(P, C), torch.nn.Embedding(2, C)\n"
    "eln, pool, cls = torch.nn.LayerNorm(C), torch.nn.Linear(C, C), torch.nn.Linear(C, K)\n"
    "layer = lambda: torch.nn.TransformerEncoderLayer(C, H, FF, dropout=0.0, activation='gelu', batch_first=True)\n"
    "fused = torch.nn.Sequential(*[layer() for _ in range(L)]).eval()\n"
    "class HFLayer(torch.nn.Module):\n"
    "    def __init__(s):\n"
    "        super().__init__()\n"
    "        s.q, s.k, s.v, s.o = (torch.nn.Linear(C, C) for _ in range(4))\n"
    "        s.i, s.out = torch.nn.Linear(C, FF), torch.nn.Linear(FF, C)\n"
    "        s.ln1, s.ln2 = torch.nn.LayerNorm(C), torch.nn.LayerNorm(C)\n"
    "    def forward(s, x, mask):\n"
    "        b, t, _ = x.shape\n"
    "        sp = lambda y: y.view(b, t, H, C // H).permute(0, 2, 1, 3)\n"
    "        q, k, v = sp(s.q(x)), sp(s.k(x)), sp(s.v(x))\n"
    "        a = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(C // H) + mask\n"
    "        c = torch.matmul(F.softmax(a, dim=-1), v).permute(0, 2, 1, 3).reshape(b, t, C)\n"
    "        h = s.ln1(s.o(c) + x)\n"
    "        return s.ln2(s.out(F.gelu(s.i(h))) + h)\n"
    "hf = torch.nn.ModuleList([HFLayer() for _ in range(L)]).eval()\n"
    "for mod in (wte, wpe, wtt, eln, pool, cls, fused, hf): mod.requires_grad_(False)\n"
    "mask = torch.zeros(B, 1, 1, T)\n"
    "def run_hf(x):\n"
    "    for l in hf: x = l(x, mask)\n"
    "    return x\n"
    "def classifier(enc):\n"
    "    return lambda x: cls(torch.tanh(pool(enc(eln(x + wpe(pos) + wtt(typ)))[:, 0])))\n"
    "used = []\n"
    "def timed(step):\n"
    "    step()\n"
    "    n = it\n"
    "    if n == 0:\n"
    "        n = 1\n"
    "        while True:\n"
    "            t = time.perf_counter()\n"
    "            for _ in range(n): step()\n"
    "            dt = time.perf_counter() - t\n"
    "            if dt >= 0.05: break\n"
    "            n *= 2\n"
    "        n = max(1, int(n * 0.2 / dt))\n"
    "    best, wall, cpu = math.inf, time.perf_counter(), time.process_time()\n"
    "    for _ in range(rounds):\n"
    "        t = time.perf_counter()\n"
    "        for _ in range(n): step()\n"
    "        best = min(best, (time.perf_counter() - t) / n)\n"
    "    used.append((time.process_time() - cpu) / (time.perf_counter() - wall))\n"
    "    return B / best\n"
    "def bench(f):\n"
    "    with torch.no_grad(): fwd = timed(lambda: f(wte(ids)))\n"
    "    def step():\n"
    "        x = wte(ids).detach().requires_grad_(True)\n"
    "        f(x)[:, 0].sum().backward()\n"
    "    return fwd, timed(step)\n"
    "a = bench(classifier(fused))\n"
    "b = bench(classifier(run_hf))\n"
    "print(f'{a[0]} {a[1]} {b[0]} {b[1]} {max(used)}')\n";

/* fwd[0], bwd[0]: torch's fused encoder; fwd[1], bwd[1]: the Hugging Face module structure; *cores:
 * the most CPU time per wall-clock second any of the four measurements took (1.0: one core). */
static int torch_bench(const faith_model_config *c, int B, int T, int iters, int rounds, double fwd[2],
                       double bwd[2], double *cores, char *why, size_t cap)
{
    const char *env = getenv("FAITH_PYTHON");
    const char *cands[] = {env ? env : "python3", "python3", "/usr/bin/python3"};
    const char *py = NULL;
    char cmd[8192];
    for (int i = 0; i < 3 && !py; i++) {
        snprintf(cmd, sizeof cmd, "%s -c 'import torch' >/dev/null 2>&1", cands[i]);
        if (system(cmd) == 0) py = cands[i];
    }
    if (!py) {
        snprintf(why, cap, "PyTorch is not importable by python3 or /usr/bin/python3 (set FAITH_PYTHON to a python with torch)");
        return -1;
    }
    char path[] = "/tmp/faith-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, TORCH_SCRIPT, strlen(TORCH_SCRIPT)) < 0) {
        snprintf(why, cap, "cannot write a temporary script");
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    /* One thread means one thread in every pool torch can reach: torch.set_num_threads covers its
     * OpenMP pool, but Debian's torch does its matrix products in the system BLAS (OpenBLAS's pthread
     * build by default), whose own pool would otherwise take every core. */
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 BLIS_NUM_THREADS=1 "
             "%s %s %d %d %d %d %d %d %d %d %d %d %d", py, path, c->n_layers, c->d_model,
             c->n_heads, c->d_ffn, c->vocab_size, c->max_pos, c->n_classes, B, T, iters, rounds);
    FILE *p = popen(cmd, "r");
    int ok = p && fscanf(p, "%lf %lf %lf %lf %lf", &fwd[0], &bwd[0], &fwd[1], &bwd[1], cores) == 5;
    if (p) pclose(p);
    unlink(path);
    if (!ok) snprintf(why, cap, "the PyTorch script failed (%s)", py);
    return ok ? 0 : -1;
}

/* Decimals that show a rate to about three digits. */
static int decimals(double v) { return v >= 100 ? 0 : v >= 10 ? 1 : 2; }

/* Share of the sgemm peak (GFLOP/s) reached at seq_per_s sequences/s, flops per batch of B. */
static double share(double seq_per_s, int64_t B, double flops, double peak)
{
    return seq_per_s / (double)B * flops / 1e9 / peak;
}

/* One timed call: a forward, or with dl set a forward that keeps activations plus the backward. */
typedef struct bench_ctx {
    faith_model *m;
    const faith_batch *batch;
    float *logits, *dl, *dwe;
    unsigned flags; /* FAITH_FWD_EVERY_TOKEN or 0 */
} bench_ctx;

static int step(bench_ctx *x, faith_err *err)
{
    if (!x->dl) return faith_model_forward(x->m, x->batch, x->flags, x->logits, err);
    FAITH_TRY(faith_model_forward(x->m, x->batch, FAITH_FWD_KEEP_ACTS | x->flags, x->logits, err));
    return faith_model_backward(x->m, x->dl, x->dwe, err);
}

/* Seconds per call: the fastest of `rounds` rounds of `iters` calls each. With iters 0 a round is
 * sized to last about 0.2 s, so a call of a few microseconds is not lost in the clock's resolution;
 * the fastest round is the one least disturbed by whatever else the machine is doing. A first,
 * untimed call grows the workspace. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

/* *cores: CPU seconds per wall-clock second over the timed rounds (1.0: one core busy). */
static int best_time(int (*f)(bench_ctx *, faith_err *), bench_ctx *x, int64_t iters, int rounds, double *sec,
                     double *cores, faith_err *err)
{
    FAITH_TRY(f(x, err));
    if (iters == 0) {
        double dt;
        for (iters = 1;; iters *= 2) {
            double t = now();
            for (int64_t i = 0; i < iters; i++) FAITH_TRY(f(x, err));
            if ((dt = now() - t) >= 0.05) break;
        }
        iters = (int64_t)((double)iters * 0.2 / dt);
        if (iters < 1) iters = 1;
    }
    double best = 1e30, wall = now(), cpu = cpu_seconds();
    for (int r = 0; r < rounds; r++) {
        double t = now();
        for (int64_t i = 0; i < iters; i++) FAITH_TRY(f(x, err));
        t = (now() - t) / (double)iters;
        best = t < best ? t : best;
    }
    *sec = best;
    *cores = (cpu_seconds() - cpu) / (now() - wall);
    return FAITH_OK;
}

static int run(faith_opt *o, int no, faith_err *err)
{
    const char *dir = faith_opt_str(o, no, "model", NULL);
    if (!dir) return faith_err_set(err, FAITH_ERR_ARG, "bench: --model DIR is required");
    int64_t T, B, th, iters, rounds;
    FAITH_TRY(faith_opt_int(o, no, "seq", 128, 1, 1 << 16, &T, err));
    FAITH_TRY(faith_opt_int(o, no, "batch", 32, 1, 1 << 16, &B, err));
    FAITH_TRY(faith_opt_int(o, no, "threads", 0, 0, 1024, &th, err));
    FAITH_TRY(faith_opt_int(o, no, "iters", 0, 1, 1 << 20, &iters, err));
    FAITH_TRY(faith_opt_int(o, no, "rounds", 5, 1, 1000, &rounds, err));
    faith_products prod = FAITH_PRODUCTS_PER_SEQUENCE;
    const char *pname = faith_opt_str(o, no, "products", "per_sequence");
    if (faith_products_parse(pname, &prod) < 0)
        return faith_err_set(err, FAITH_ERR_ARG, "bench: --products '%s': expected per_sequence or batched", pname);
    const char *tname = faith_opt_str(o, no, "tiles", "auto");
    int tiles = strcmp(tname, "on") == 0 ? 1 : strcmp(tname, "off") == 0 ? 0 : -1;
    if (tiles < 0 && strcmp(tname, "auto") != 0)
        return faith_err_set(err, FAITH_ERR_ARG, "bench: --tiles '%s': expected auto, on or off", tname);
    faith_set_threads((int)th);
    faith_model *m;
    FAITH_TRY(faith_model_load(dir, &m, err));
    faith_model_set_products(m, prod);
    if (tiles >= 0) faith_model_set_tiles(m, tiles);
    const faith_model_config *c = faith_model_cfg(m);
    if (T > c->max_pos) {
        faith_err_set(err, FAITH_ERR_ARG, "bench: --seq %lld exceeds the model's %d positions "
                      "(max_position_embeddings in %s/config.json)", (long long)T, (int)c->max_pos, dir);
        faith_model_free(m);
        return FAITH_ERR_ARG;
    }
    size_t N = (size_t)B * T;
    double need = (double)faith_model_workspace_bytes(m, (int)B, (int)T, FAITH_FWD_KEEP_ACTS) +
                  (double)N * (sizeof(float) * (size_t)c->d_model + 2 * sizeof(int32_t));
    double have = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGE_SIZE);
    if (have > 0 && need > have) {
        faith_err_set(err, FAITH_ERR_NOMEM, "bench: --batch %lld x --seq %lld needs %.1f GB for activations and "
                      "gradients, more than this machine's %.1f GB", (long long)B, (long long)T, need / 1e9,
                      have / 1e9);
        faith_model_free(m);
        return FAITH_ERR_NOMEM;
    }
    int32_t *ids = faith_xmalloc(sizeof(int32_t) * N), *len = faith_xmalloc(sizeof(int32_t) * (size_t)B);
    faith_rng r;
    faith_rng_init(&r, 1, 0, "bench");
    int lo = c->vocab_size > 3 ? 3 : 0; /* away from RoBERTa's pad id */
    for (size_t i = 0; i < N; i++) ids[i] = lo + (int32_t)faith_rng_below(&r, (uint64_t)(c->vocab_size - lo));
    for (int64_t b = 0; b < B; b++) len[b] = (int32_t)T;
    float *logits = faith_xmalloc(sizeof(float) * (size_t)B * c->n_classes);
    float *dl = faith_xcalloc((size_t)B * c->n_classes, sizeof(float));
    float *dwe = faith_xmalloc(sizeof(float) * N * (size_t)c->d_model);
    for (int64_t b = 0; b < B; b++) dl[b * c->n_classes] = 1.0f;
    faith_batch batch = {(int32_t)B, (int32_t)T, ids, NULL, len, NULL};
    double peak = sgemm_peak(1536), fpeak = faith_fma_peak(faith_get_threads()), lin, att, hf_lin, hf_att;
    double tf = 0, tb = 0;
    int every = faith_opt_flag(o, no, "every-token");
    unsigned fl = every ? FAITH_FWD_EVERY_TOKEN : 0u;
    model_flops(c, (int)B, (int)T, !every, &lin, &att);
    model_flops(c, (int)B, (int)T, 0, &hf_lin, &hf_att);
    bench_ctx fx = {m, &batch, logits, NULL, NULL, fl}, bx = {m, &batch, logits, dl, dwe, fl};
    double cores_f = 0, cores_b = 0, cores_torch = 0;
    int rc = best_time(step, &fx, iters, (int)rounds, &tf, &cores_f, err);
    if (rc == FAITH_OK) rc = best_time(step, &bx, iters, (int)rounds, &tb, &cores_b, err);
    if (rc == FAITH_OK) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        /* Faith's own work sets its GFLOP/s; PyTorch's share of peak counts the work it does, every
         * token through every layer. Backward: input gradients only. */
        double fwd_fl = lin + att, bwd_fl = fwd_fl + lin + 2 * att;
        double hf_fwd_fl = hf_lin + hf_att, hf_bwd_fl = hf_fwd_fl + hf_lin + 2 * hf_att;
        double gf = fwd_fl / tf / 1e9, gb = bwd_fl / tb / 1e9;
        double sf = (double)B / tf, sb = (double)B / tb, tsf[2] = {0, 0}, tsb[2] = {0, 0};
        /* Faith's sequences/s if every one of its flops ran at the FMA peak: what no code doing
         * this work can beat here, so it bounds any ratio to PyTorch too. */
        double ff = fpeak * 1e9 * (double)B / fwd_fl, fb = fpeak * 1e9 * (double)B / bwd_fl;
        char why[256] = "";
        int torch = faith_opt_flag(o, no, "torch");
        int have_torch =
            torch && torch_bench(c, (int)B, (int)T, (int)iters, (int)rounds, tsf, tsb, &cores_torch, why, sizeof why) == 0;
        if (faith_opt_flag(o, no, "json")) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "products", faith_products_name(prod));
            cJSON_AddStringToObject(j, "openblas_core", openblas_get_corename());
            cJSON_AddBoolToObject(j, "tiled_products", faith_model_tiles(m));
            cJSON_AddNumberToObject(j, "threads", faith_get_threads());
            cJSON_AddNumberToObject(j, "batch", (double)B);
            cJSON_AddNumberToObject(j, "seq", (double)T);
            cJSON_AddStringToObject(j, "last_layer", every ? "every_token" : "first_token");
            cJSON_AddNumberToObject(j, "sgemm_peak_gflops", peak);
            cJSON_AddStringToObject(j, "fma_isa", faith_fma_name(faith_fma_widest()));
            cJSON_AddNumberToObject(j, "fma_peak_gflops", fpeak);
            cJSON_AddNumberToObject(j, "fwd_seq_per_s", sf);
            cJSON_AddNumberToObject(j, "fwd_gflops", gf);
            cJSON_AddNumberToObject(j, "fwd_pct_peak", 100 * gf / peak);
            cJSON_AddNumberToObject(j, "fwd_pct_fma_peak", 100 * gf / fpeak);
            cJSON_AddNumberToObject(j, "fwd_seq_per_s_at_fma_peak", ff);
            cJSON_AddNumberToObject(j, "fwdbwd_seq_per_s", sb);
            cJSON_AddNumberToObject(j, "fwdbwd_gflops", gb);
            cJSON_AddNumberToObject(j, "fwdbwd_pct_peak", 100 * gb / peak);
            cJSON_AddNumberToObject(j, "fwdbwd_pct_fma_peak", 100 * gb / fpeak);
            cJSON_AddNumberToObject(j, "fwdbwd_seq_per_s_at_fma_peak", fb);
            cJSON_AddNumberToObject(j, "peak_rss_mb", ru.ru_maxrss / 1024.0);
            cJSON_AddNumberToObject(j, "cores_used", cores_f > cores_b ? cores_f : cores_b);
            if (have_torch) {
                cJSON_AddNumberToObject(j, "torch_fwd_seq_per_s", tsf[0]);
                cJSON_AddNumberToObject(j, "torch_fwdbwd_seq_per_s", tsb[0]);
                cJSON_AddNumberToObject(j, "fwd_ratio_vs_torch", sf / tsf[0]);
                cJSON_AddNumberToObject(j, "fwdbwd_ratio_vs_torch", sb / tsb[0]);
                cJSON_AddNumberToObject(j, "torch_hf_fwd_seq_per_s", tsf[1]);
                cJSON_AddNumberToObject(j, "torch_hf_fwdbwd_seq_per_s", tsb[1]);
                cJSON_AddNumberToObject(j, "fwd_ratio_vs_torch_hf", sf / tsf[1]);
                cJSON_AddNumberToObject(j, "fwdbwd_ratio_vs_torch_hf", sb / tsb[1]);
                cJSON_AddNumberToObject(j, "fwd_ratio_bound_vs_torch", ff / tsf[0]);
                cJSON_AddNumberToObject(j, "fwdbwd_ratio_bound_vs_torch", fb / tsb[0]);
                cJSON_AddNumberToObject(j, "fwd_ratio_bound_vs_torch_hf", ff / tsf[1]);
                cJSON_AddNumberToObject(j, "fwdbwd_ratio_bound_vs_torch_hf", fb / tsb[1]);
                cJSON_AddNumberToObject(j, "torch_cores_used", cores_torch);
                /* The same FLOP count: what share of the sgemm peak torch reaches bounds any ratio. */
                cJSON_AddNumberToObject(j, "torch_fwd_pct_peak", 100 * share(tsf[0], B, hf_fwd_fl, peak));
                cJSON_AddNumberToObject(j, "torch_fwdbwd_pct_peak", 100 * share(tsb[0], B, hf_bwd_fl, peak));
                cJSON_AddNumberToObject(j, "torch_hf_fwd_pct_peak", 100 * share(tsf[1], B, hf_fwd_fl, peak));
                cJSON_AddNumberToObject(j, "torch_hf_fwdbwd_pct_peak", 100 * share(tsb[1], B, hf_bwd_fl, peak));
            } else if (torch)
                cJSON_AddStringToObject(j, "torch_error", why);
            char *text = cJSON_PrintUnformatted(j);
            printf("%s\n", text ? text : "{}");
            cJSON_free(text);
            cJSON_Delete(j);
        } else {
            printf("model      %s, %d layers, hidden %d, %d heads, ffn %d; batch %lld x seq %lld; %d thread(s); "
                   "%s products%s\n",
                   faith_arch_name(c->arch), c->n_layers, c->d_model, c->n_heads, c->d_ffn, (long long)B,
                   (long long)T, faith_get_threads(), faith_products_name(prod),
                   faith_model_tiles(m) ? ", tiled" : ", whole");
            printf("sgemm peak %.1f GFLOP/s (1536^3, OpenBLAS %s kernels)\n", peak, openblas_get_corename());
            printf("FMA peak   %.1f GFLOP/s (%s FMAs alone, no memory): the bound no product can beat\n", fpeak,
                   faith_fma_name(faith_fma_widest()));
            printf("last layer %s\n", every ? "every token, as Hugging Face runs it (--every-token)"
                                           : "first token only, the one the head reads (--every-token: all)");
            printf("forward    %.2f seq/s  %.1f GFLOP/s  %.0f%% of peak, %.0f%% of FMA peak (%.*f seq/s at it)\n", sf, gf,
                   100 * gf / peak, 100 * gf / fpeak, decimals(ff), ff);
            printf("fwd+bwd    %.2f seq/s  %.1f GFLOP/s  %.0f%% of peak, %.0f%% of FMA peak (%.*f seq/s at it; gradient wrt "
                   "word embeddings)\n", sb, gb, 100 * gb / peak, 100 * gb / fpeak, decimals(fb), fb);
            printf("peak RSS   %.1f MB; %.2f cores busy while timed\n", ru.ru_maxrss / 1024.0,
                   cores_f > cores_b ? cores_f : cores_b);
            if (have_torch) {
                printf("torch      one thread in every pool (%.2f cores busy while timed)\n", cores_torch);
                const char *names[2] = {"fused encoder", "Hugging Face BertLayer structure"};
                for (int k = 0; k < 2; k++)
                    printf("torch      %s: forward %.2f seq/s (%.0f%% of peak; faith %.2fx, at most %.2fx), fwd+bwd "
                           "%.2f seq/s (%.0f%% of peak; faith %.2fx, at most %.2fx)\n", names[k], tsf[k],
                           100 * share(tsf[k], B, hf_fwd_fl, peak), sf / tsf[k], ff / tsf[k], tsb[k],
                           100 * share(tsb[k], B, hf_bwd_fl, peak), sb / tsb[k], fb / tsb[k]);
            }
            else if (torch) printf("torch      not run: %s\n", why);
        }
    }
    free(ids);
    free(len);
    free(logits);
    free(dl);
    free(dwe);
    faith_model_free(m);
    return rc;
}

int faith_cmd_bench(int argc, char **argv)
{
    faith_opt o[] = {
        {"model", "DIR", "model directory", 0, 0, NULL, NULL, NULL},
        {"seq", "T", "sequence length (default 128)", 0, 0, NULL, NULL, NULL},
        {"batch", "B", "sequences per batch (default 32)", 0, 0, NULL, NULL, NULL},
        {"threads", "N", "threads (default: OMP_NUM_THREADS, else every core)", 0, 0, NULL, NULL, NULL},
        {"products", "P", "per_sequence (default, as explainers run) or batched (one product per group of sequences)", 0, 0, NULL, NULL, NULL},
        {"iters", "N", "calls per timed round (default: enough for about 0.2 s)", 0, 0, NULL, NULL, NULL},
        {"rounds", "R", "timed rounds; the fastest is reported (default 5)", 0, 0, NULL, NULL, NULL},
        {"json", NULL, "print one JSON object", 0, 0, NULL, NULL, NULL},
        {"torch", NULL, "also time the same classifier in PyTorch via python3, one thread in every pool", 0, 0, NULL, NULL, NULL},
        {"tiles", "auto|on|off", "tiled products (default auto: on when OpenBLAS's kernels have small-matrix kernels)", 0, 0, NULL, NULL, NULL},
        {"every-token", NULL, "run the last layer for every token, as Hugging Face does (default: the first token only)", 0, 0, NULL, NULL, NULL},
    };
    int no = (int)(sizeof o / sizeof o[0]);
    faith_err err = {0};
    int rc = faith_opts_parse("bench", "--model DIR [options]", o, no, argc, argv, NULL, NULL, &err);
    if (rc == 1) return 0;
    if (rc == 0) rc = run(o, no, &err);
    faith_opts_free(o, no);
    return rc < 0 ? faith_cli_fail(&err) : 0;
}
