#!/usr/bin/env bash
# it_explain_perturb.sh: `faith explain` with the perturbation explainers on a random DistilBERT:
# efficiency of the Shapley estimators, seeded reproducibility, cost accounting, strict parameters.
set -euo pipefail
: "${FAITH_BIN:?FAITH_BIN must point at the faith binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The vocabulary `gen synth` writes: the test needs no downloaded files (words outside it are [UNK]).
"$FAITH_BIN" gen synth --n 30 --seed 1 --out "$tmp/d" >/dev/null
VOCAB=$tmp/d/vocab.txt
"$FAITH_BIN" init-model --arch distilbert --layers 2 --hidden 32 --heads 2 --vocab "$VOCAB" \
    --max-pos 64 --seed 1 --out "$tmp/m" >/dev/null
text="a gripping, funny and moving film"
run() { "$FAITH_BIN" explain --model "$tmp/m" --text "$text" --output logit --json "$@"; }
field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"; }
scores() { sed -n 's/.*"scores":\[\([^]]*\)\].*/\1/p'; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# Shapley estimators: token scores sum to delta_f = F(x) - F(all masked)
for ex in kernel_shap shapley_sampling; do
    out=$(run --explainer "$ex" --seed 5)
    delta=$(echo "$out" | field delta_f)
    total=$(echo "$out" | scores | tr ',' '\n' | awk '{s += $1} END {printf "%.9g", s}')
    awk -v a="$total" -v b="$delta" 'BEGIN {d = a - b; if (d < 0) d = -d; exit !(d < 1e-4)}' ||
        fail "$ex: scores sum to $total, delta_f is $delta"
    awk -v b="$delta" 'BEGIN {exit !(b != 0)}' || fail "$ex: delta_f is 0 (model ignores its input?)"
done

# same seed, same scores; for the sampling explainers another seed gives other scores
for ex in random occlusion lime kernel_shap shapley_sampling; do
    p=(--param samples=6)
    case $ex in random | occlusion) p=() ;; esac
    a=$(run --explainer "$ex" --seed 7 "${p[@]}" | scores)
    b=$(run --explainer "$ex" --seed 7 "${p[@]}" | scores)
    [ "$a" = "$b" ] || fail "$ex: two runs with seed 7 differ"
    [ "$ex" = occlusion ] && continue
    b=$(run --explainer "$ex" --seed 8 "${p[@]}" | scores)
    [ "$a" != "$b" ] || fail "$ex: seeds 7 and 8 gave identical scores"
done

# cost: random makes no model calls; occlusion one sequence per non-special token (7 here)
[ "$(run --explainer random | sed -n 's/.*"sequences":\([0-9]*\).*/\1/p')" = 0 ] || fail "random ran the model"
occ=$(run --explainer occlusion)
[ "$(echo "$occ" | sed -n 's/.*"sequences":\([0-9]*\).*/\1/p')" = 7 ] || fail "occlusion cost: $occ"

# strict parameters: unknown key and wrong type fail naming the key
if err=$("$FAITH_BIN" explain --model "$tmp/m" --text "$text" --explainer lime --param samplez=3 2>&1); then
    fail "lime accepted an unknown parameter"
fi
echo "$err" | grep -q "samplez" || fail "unknown-key message does not name the key: $err"
if err=$("$FAITH_BIN" explain --model "$tmp/m" --text "$text" --explainer occlusion --param replace=blank 2>&1); then
    fail "occlusion accepted replace=blank"
fi
echo "$err" | grep -q "replace" || fail "wrong-type message does not name the key: $err"
echo "ok"
