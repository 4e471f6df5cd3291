#!/usr/bin/env bash
# it_slurm.sh: slurm/faith.sbatch on a real local Slurm (slurm/local-cluster.sh) gives the same
# tables as a plain mpirun run. Skips (77) only when the Slurm packages cannot be installed.
set -euo pipefail
: "${FAITH_BIN:?}" "${FAITH_SRC:?}"
source "$FAITH_SRC/tests/support/run_fixture.sh"
if [ "$(id -u)" != 0 ]; then
    echo "it_slurm: skipped: starting a local Slurm needs root"
    exit 77
fi
T=$(mktemp -d)
chmod 0755 "$T"
export LOCAL_SLURM_DIR=$T/slurm
cleanup() {
    bash "$FAITH_SRC/slurm/local-cluster.sh" stop >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
set +e
bash "$FAITH_SRC/slurm/local-cluster.sh" start
rc=$?
set -e
if [ $rc = 3 ]; then
    echo "it_slurm: skipped: the Slurm packages (slurmctld slurmd slurm-client munge) cannot be installed"
    exit 77
fi
[ $rc = 0 ] || { echo "FAIL: local cluster did not start"; cat "$T"/slurm/log/* 2>/dev/null | tail -30; exit 1; }
export SLURM_CONF=$LOCAL_SLURM_DIR/etc/slurm.conf

faith_fixture "$T/fx"
faith_fixture_config "$T/cfg.json" "$T/fx" 12 3
faith_mpirun -np 2 "$FAITH_BIN" run "$T/cfg.json" --output "$T/plain" --threads 1 --quiet

J=$(sbatch --parsable --ntasks=2 --cpus-per-task=1 -o "$T/job-%j.out" \
    --export=ALL,FAITH_BIN="$FAITH_BIN" "$FAITH_SRC/slurm/faith.sbatch" "$T/cfg.json" --output "$T/slurm" --quiet)
state=
for _ in $(seq 1200); do   # poll every 0.25 s, up to 5 minutes
    line=$(scontrol show job -o "$J")
    state=$(echo "$line" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
    case $state in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) break ;; esac
    sleep 0.25
done
cat "$T/job-$J.out"
exitcode=$(echo "$line" | grep -o ' ExitCode=[0-9:]*' | cut -d= -f2)
[ "$state" = COMPLETED ] && [ "$exitcode" = 0:0 ] \
    || { echo "FAIL: job $J ended $state ExitCode=$exitcode"; exit 1; }
grep -q "2 tasks x 1 threads" "$T/job-$J.out" || { echo "FAIL: sbatch header"; exit 1; }
faith_cmp_tables "$T/plain" "$T/slurm"
grep -q '"ranks":[[:space:]]*2' "$T/slurm/manifest.json" || { echo "FAIL: not run on 2 ranks"; exit 1; }
echo "it_slurm: ok"
