/* versions.c: collects the version strings of Faith and its libraries (OpenBLAS config string,
 * zstd, cJSON, and the MPI library's own description). */
#include "versions.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "faith_version.h"

void faith_versions_get(faith_versions *v)
{
    memset(v, 0, sizeof *v);
    snprintf(v->faith, sizeof v->faith, "%s", FAITH_VERSION);
    snprintf(v->commit, sizeof v->commit, "%s", FAITH_GIT_COMMIT);
    snprintf(v->openblas, sizeof v->openblas, "%s", openblas_get_config());
    snprintf(v->zstd, sizeof v->zstd, "%s", ZSTD_versionString());
    snprintf(v->cjson, sizeof v->cjson, "%s", cJSON_Version());
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(lib, &len);
    char *nl = strchr(lib, ',');  /* "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4" */
    if (nl) *nl = '\0';
    snprintf(v->mpi, sizeof v->mpi, "%s", lib);
}
