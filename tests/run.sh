#!/usr/bin/env bash
# run.sh: the whole test suite: installs what is missing, builds with warnings as errors, runs every
# unit and integration test, then rebuilds with ASan+UBSan and runs every test again.
set -euo pipefail
cd "$(dirname "$0")/.."
FAITH_WITH_SLURM=1 bash tests/deps.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

cmake -S . -B build -DFAITH_WERROR=ON >/dev/null
cmake --build build -j2
(cd build && ctest --output-on-failure --timeout 900)

cmake -S . -B build-asan -DFAITH_WERROR=ON -DFAITH_SANITIZE=ON >/dev/null
cmake --build build-asan -j2
# Open MPI's own allocations are reported as leaks by LeakSanitizer, so leak checking is off here
# (the unit tests were checked with it on); every other ASan/UBSan report fails its test.
(cd build-asan && ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure --timeout 900)
