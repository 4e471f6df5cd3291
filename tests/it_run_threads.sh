#!/usr/bin/env bash
# it_run_threads.sh: the BLAS thread count must not change a byte of the tables (1 vs 2 threads on
# one rank). This depends on the engine's GEMMs giving the same bits at any thread count.
set -euo pipefail
: "${FAITH_BIN:?}" "${FAITH_SRC:?}"
source "$FAITH_SRC/tests/support/run_fixture.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
faith_fixture "$T/fx"
faith_fixture_config "$T/cfg.json" "$T/fx" 12 3
"$FAITH_BIN" run "$T/cfg.json" --output "$T/t1" --threads 1 --quiet
"$FAITH_BIN" run "$T/cfg.json" --output "$T/t2" --threads 2 --quiet
faith_cmp_tables "$T/t1" "$T/t2"
echo "it_run_threads: ok"
