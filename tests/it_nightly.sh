#!/usr/bin/env bash
# it_nightly.sh: slurm/nightly.sh passes against the checked-in baselines, and fails, naming the
# column, when a baseline mean is better than what the run gives by more than its tolerance.
set -euo pipefail
: "${FAITH_BIN:?}" "${FAITH_SRC:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export NIGHTLY_OUT=$T/out NIGHTLY_NP=2

cp -r "$FAITH_SRC/results/baselines" "$T/good"
NIGHTLY_BASE=$T/good bash "$FAITH_SRC/slurm/nightly.sh" >"$T/good.txt" 2>&1 \
    || { cat "$T/good.txt"; echo "FAIL: nightly fails against its own baselines"; exit 1; }
grep -q "smoke matches its baseline" "$T/good.txt" || { cat "$T/good.txt"; echo "FAIL: no verdict"; exit 1; }

# A baseline whose comprehensiveness AOPC for grad_x_input is 0.1 higher: the run now looks worse.
cp -r "$FAITH_SRC/results/baselines" "$T/bad"
awk -F'\t' 'BEGIN { OFS = "\t" } $1 == "grad_x_input" && $2 == "comprehensiveness" && $3 == "aopc" { $5 += 0.1 } { print }' \
    "$FAITH_SRC/results/baselines/smoke/summary.tsv" >"$T/bad/smoke/summary.tsv"
cmp -s "$T/bad/smoke/summary.tsv" "$T/good/smoke/summary.tsv" && { echo "FAIL: the baseline was not changed"; exit 1; }
set +e
NIGHTLY_BASE=$T/bad bash "$FAITH_SRC/slurm/nightly.sh" >"$T/bad.txt" 2>&1
rc=$?
set -e
[ $rc = 1 ] || { cat "$T/bad.txt"; echo "FAIL: nightly exit $rc on a regression, expected 1"; exit 1; }
grep -q "REGRESSION .*grad_x_input.*comprehensiveness.*aopc" "$T/bad.txt" \
    || { cat "$T/bad.txt"; echo "FAIL: the regression is not named"; exit 1; }
[ "$(grep -c REGRESSION "$T/bad.txt")" = 1 ] || { cat "$T/bad.txt"; echo "FAIL: other columns flagged"; exit 1; }
echo "it_nightly: ok"
