#!/usr/bin/env bash
# nightly.sh: the regression suite: runs the fixed suite configs and compares each summary.tsv with
# the checked-in baseline in results/baselines/<name>/, with a tolerance per metric column; exits 1
# and prints every regression. Works on a login node (mpirun) or inside a Slurm job (srun).
#
#   slurm/nightly.sh                      # run the suite, compare
#   slurm/nightly.sh --update-baselines   # run the suite, then overwrite the baselines with the result
#   sbatch -n 2 slurm/nightly.sh          # the same as a batch job
#
# Environment: FAITH_BIN (default build/harness/faith), NIGHTLY_CONFIGS (default configs/smoke.json),
# NIGHTLY_OUT (default results/nightly), NIGHTLY_NP (ranks outside Slurm, default 2), NIGHTLY_BASE
# (default results/baselines).
# Tolerances: results/baselines/tolerances.tsv, lines "metric<TAB>column<TAB>abs_tol", where metric
# or column may be "*"; the first matching line wins. A mean that moves past its tolerance in the
# worse direction (higher_is_better) is a regression, as is a changed example count; a move in the
# better direction is reported but passes (update the baseline to keep it).
#SBATCH --job-name=faith-nightly
#SBATCH --ntasks=2
#SBATCH --open-mode=append
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ -n "${SLURM_SUBMIT_DIR:-}" ] && [ -f "$SLURM_SUBMIT_DIR/slurm/nightly.sh" ] && ROOT=$SLURM_SUBMIT_DIR
cd "$ROOT"
export FAITH_BIN=${FAITH_BIN:-$ROOT/build/harness/faith}
CONFIGS=${NIGHTLY_CONFIGS:-configs/smoke.json}
OUT=${NIGHTLY_OUT:-results/nightly}
NP=${NIGHTLY_NP:-2}
BASE=${NIGHTLY_BASE:-results/baselines}
UPDATE=0
[ "${1:-}" = --update-baselines ] && UPDATE=1
[ -x "$FAITH_BIN" ] || { echo "nightly: $FAITH_BIN not found (build first, or set FAITH_BIN)" >&2; exit 2; }

# The suite's model and data are rebuilt by faith itself from fixed seeds (results/fixture).
source "$ROOT/tests/support/run_fixture.sh"
faith_fixture_trained "$ROOT/results/fixture"

run() { # config output
    if [ -n "${SLURM_JOB_ID:-}" ]; then
        srun "$FAITH_BIN" run "$1" --output "$2" --resume --quiet
    else
        OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
            mpirun --oversubscribe -np "$NP" "$FAITH_BIN" run "$1" --output "$2" --quiet
    fi
}

# compare baseline.tsv new.tsv tolerances.tsv suite: prints one line per regression, exit 1 if any.
compare() {
    awk -F'\t' -v suite="$4" '
    FILENAME == ARGV[1] { if ($0 !~ /^#/ && NF >= 3) { tm[++nt] = $1; tc[nt] = $2; tv[nt] = $3 } next }
    FNR == 1 { next }   # headers
    FILENAME == ARGV[2] { key = $1 SUBSEP $2 SUBSEP $3; bn[key] = $4; bm[key] = $5; hib[key] = $10; order[++nb] = key; next }
    { key = $1 SUBSEP $2 SUBSEP $3; nn[key] = $4; nm[key] = $5 }
    function tol(m, c,   i) {
        for (i = 1; i <= nt; i++) if ((tm[i] == m || tm[i] == "*") && (tc[i] == c || tc[i] == "*")) return tv[i]
        return 1e-6
    }
    END {
        bad = 0
        for (i = 1; i <= nb; i++) {
            key = order[i]; split(key, k, SUBSEP)
            name = suite ": " k[1] " " k[2] "." k[3]
            if (!(key in nm)) { print "REGRESSION " name ": missing from the new summary"; bad = 1; continue }
            if (nn[key] != bn[key]) { print "REGRESSION " name ": n " bn[key] " -> " nn[key]; bad = 1; continue }
            b = bm[key]; v = nm[key]
            if (b == "nan" || v == "nan") {
                if (b != v) { print "REGRESSION " name ": mean " b " -> " v; bad = 1 }
                continue
            }
            d = v - b; t = tol(k[2], k[3])
            if (d <= t && -d <= t) continue
            worse = (hib[key] == 1 && d < 0) || (hib[key] == 0 && d > 0) || hib[key] == -1
            printf "%s %s: mean %s -> %s (change %+.3g, tolerance %g)\n", worse ? "REGRESSION" : "improved  ", name, b, v, d, t
            if (worse) bad = 1
        }
        exit bad
    }' "$3" "$1" "$2"
}

status=0
for cfg in $CONFIGS; do
    name=$(sed -n 's/^[[:space:]]*"name":[[:space:]]*"\([^"]*\)".*/\1/p' "$cfg" | head -1)
    echo "nightly: $name ($cfg)"
    rm -rf "${OUT:?}/$name"
    run "$cfg" "$OUT/$name"
    if [ $UPDATE = 1 ]; then
        mkdir -p "$BASE/$name"
        cp "$OUT/$name/summary.tsv" "$BASE/$name/summary.tsv"
        echo "nightly: baseline $BASE/$name/summary.tsv updated"
        continue
    fi
    if [ ! -f "$BASE/$name/summary.tsv" ]; then
        echo "REGRESSION $name: no baseline $BASE/$name/summary.tsv (make one with --update-baselines)"
        status=1
        continue
    fi
    if compare "$BASE/$name/summary.tsv" "$OUT/$name/summary.tsv" "$BASE/tolerances.tsv" "$name"; then
        echo "nightly: $name matches its baseline"
    else
        status=1
    fi
done
[ $status = 0 ] && echo "nightly: all suites pass" || echo "nightly: regressions found"
exit $status
