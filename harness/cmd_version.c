/* cmd_version.c: `faith version`: program version, git commit and the versions of the libraries
 * linked in (the same strings manifests record). */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "versions.h"

int faith_cmd_version(int argc, char **argv)
{
    faith_opt opts[] = {{"json", NULL, "print as JSON", 0, 0, NULL, NULL, NULL}};
    faith_err err = {0};
    int rc = faith_opts_parse("version", "[--json]", opts, 1, argc, argv, NULL, NULL, &err);
    if (rc == 1) return 0;
    if (rc < 0) return faith_cli_fail(&err);
    faith_versions v;
    faith_versions_get(&v);
    if (faith_opt_flag(opts, 1, "json"))
        printf("{\"faith\":\"%s\",\"commit\":\"%s\",\"openblas\":\"%s\",\"zstd\":\"%s\","
               "\"cjson\":\"%s\",\"mpi\":\"%s\"}\n",
               v.faith, v.commit, v.openblas, v.zstd, v.cjson, v.mpi);
    else
        printf("faith %s (commit %s)\nOpenBLAS %s\nzstd %s\ncJSON %s\nMPI %s\n", v.faith, v.commit,
               v.openblas, v.zstd, v.cjson, v.mpi);
    faith_opts_free(opts, 1);
    return 0;
}
