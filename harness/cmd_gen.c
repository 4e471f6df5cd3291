/* cmd_gen.c: `faith gen synth`: writes the synthetic sentiment task (train/dev/test JSONL with
 * true rationales) that datasets/synth.c generates. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "synth.h"

#define USAGE "synth --out DIR [--task sentiment] [--n N] [--seed S] [--min-len A] [--max-len B] [--force]"

int faith_cmd_gen(int argc, char **argv)
{
    faith_opt opts[] = {
        {"task", "NAME", "task to generate: sentiment (default)", 0, 0, NULL, NULL, NULL},
        {"n", "N", "examples over all splits (default 1000; dev = test = n/10)", 0, 0, NULL, NULL, NULL},
        {"seed", "S", "random seed (default 0)", 0, 0, NULL, NULL, NULL},
        {"out", "DIR", "output directory (created if missing)", 0, 0, NULL, NULL, NULL},
        {"min-len", "A", "shortest example in words (default 6)", 0, 0, NULL, NULL, NULL},
        {"max-len", "B", "longest example in words (default 24)", 0, 0, NULL, NULL, NULL},
        {"force", NULL, "overwrite a dataset already in DIR", 0, 0, NULL, NULL, NULL},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *pos[1];
    int n_pos = 1;
    faith_err err = {0};
    int rc = faith_opts_parse("gen", USAGE, opts, n_opts, argc, argv, pos, &n_pos, &err);
    if (rc == 1) return 0;
    int64_t n, seed, lo, hi;
    faith_synth_opts o = {0};
    if (rc == 0 && (n_pos != 1 || strcmp(pos[0], "synth") != 0))
        rc = faith_err_set(&err, FAITH_ERR_ARG, "gen: expected the generator name 'synth' (usage: faith gen %s)",
                           USAGE);
    if (rc == 0 && !faith_opt_str(opts, n_opts, "out", NULL))
        rc = faith_err_set(&err, FAITH_ERR_ARG, "gen: --out DIR is required");
    if (rc == 0 && !faith_opt_flag(opts, n_opts, "force")) {
        char existing[4096];
        snprintf(existing, sizeof existing, "%s/train.jsonl", faith_opt_str(opts, n_opts, "out", NULL));
        if (access(existing, F_OK) == 0)
            rc = faith_err_set(&err, FAITH_ERR_ARG, "gen: %s already exists; refusing to overwrite a dataset "
                               "(another --out, or --force)", existing);
    }
    if (rc == 0) rc = faith_opt_int(opts, n_opts, "n", 1000, 3, 100000000, &n, &err);
    if (rc == 0) rc = faith_opt_int(opts, n_opts, "seed", 0, 0, INT64_MAX, &seed, &err);
    if (rc == 0) rc = faith_opt_int(opts, n_opts, "min-len", 6, 2, FAITH_SYNTH_MAX_LEN, &lo, &err);
    if (rc == 0) rc = faith_opt_int(opts, n_opts, "max-len", lo > 24 ? lo : 24, 2, FAITH_SYNTH_MAX_LEN, &hi, &err);
    if (rc == 0) {
        o.task = faith_opt_str(opts, n_opts, "task", "sentiment");
        o.n = n;
        o.seed = (uint64_t)seed;
        o.min_len = (int32_t)lo;
        o.max_len = (int32_t)hi;
        rc = faith_synth_write(&o, faith_opt_str(opts, n_opts, "out", NULL), &err);
    }
    if (rc == 0) {
        int64_t tr, dv, te;
        faith_synth_split_sizes(n, &tr, &dv, &te);
        printf("wrote %s/{train,dev,test}.jsonl (%lld/%lld/%lld examples), vocab.txt and README.txt\n",
               faith_opt_str(opts, n_opts, "out", NULL), (long long)tr, (long long)dv, (long long)te);
    }
    faith_opts_free(opts, n_opts);
    return rc < 0 ? faith_cli_fail(&err) : 0;
}
