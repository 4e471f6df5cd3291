/* versions.h: version strings of Faith and of every library it links, as recorded in manifests. */
#ifndef FAITH_VERSIONS_H
#define FAITH_VERSIONS_H

typedef struct faith_versions {
    char faith[32], commit[48], openblas[128], zstd[32], cjson[32], mpi[256];
} faith_versions;

void faith_versions_get(faith_versions *v);

#endif
