/* cmd_run.c: `faith run CONFIG`: the benchmark itself, on one rank or many under mpirun / srun.
 * Options override the config; MPI is set up and torn down here, the work is in runner.c. */
#include <mpi.h>
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "runner.h"

int faith_cmd_run(int argc, char **argv)
{
    faith_opt opts[] = {
        {"dry-run", NULL, "validate everything, print the plan and a cost estimate, run nothing", 0, 0, NULL, NULL, NULL},
        {"resume", NULL, "continue an interrupted run from its .partial chunks", 0, 0, NULL, NULL, NULL},
        {"output", "DIR", "output directory (default: the config's output, else results/<name>)", 0, 0, NULL, NULL, NULL},
        {"limit", "N", "keep the first N examples of the dataset", 0, 0, NULL, NULL, NULL},
        {"threads", "N", "threads per rank (default: the node's cores / its ranks); no byte of the tables changes", 0, 0, NULL, NULL, NULL},
        {"quiet", NULL, "no progress line, plan or leaderboard", 0, 0, NULL, NULL, NULL},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *pos[1];
    int n_pos = 1;
    faith_err err = {0};
    int rc = faith_opts_parse("run", "CONFIG [options]", opts, n_opts, argc, argv, pos, &n_pos, &err);
    if (rc == 1) return 0;
    int64_t limit = 0, threads = 0;
    if (rc == 0 && n_pos != 1)
        rc = faith_err_set(&err, FAITH_ERR_ARG, "run: expected one CONFIG file (see faith run --help)");
    if (rc == 0) rc = faith_opt_int(opts, n_opts, "limit", 0, 1, INT64_C(1) << 40, &limit, &err);
    if (rc == 0) rc = faith_opt_int(opts, n_opts, "threads", 0, 1, 4096, &threads, &err);
    if (rc < 0) {
        faith_opts_free(opts, n_opts);
        return faith_cli_fail(&err);
    }
    faith_run_opts o = {pos[0], faith_opt_str(opts, n_opts, "output", NULL), limit, (int32_t)threads,
                        faith_opt_flag(opts, n_opts, "dry-run"), faith_opt_flag(opts, n_opts, "resume"),
                        faith_opt_flag(opts, n_opts, "quiet")};
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) MPI_Init(NULL, NULL);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    rc = faith_runner_main(&o, &err);
    faith_opts_free(opts, n_opts);
    int code = 0;
    if (rc < 0) code = rank == 0 ? faith_cli_fail(&err) : 1;
    fflush(stdout);
    MPI_Finalize();
    return code;
}
