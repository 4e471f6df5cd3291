#!/usr/bin/env bash
# it_run_ranks.sh: `faith run` gives byte-identical tables on 1, 2, 3 and 4 ranks and 1, 2 and 3 threads
# per rank; a failing rank ends the job with its message; bad configs fail on every rank alike;
# --dry-run plans without writing.
set -euo pipefail
: "${FAITH_BIN:?}" "${FAITH_SRC:?}"
source "$FAITH_SRC/tests/support/run_fixture.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
faith_fixture "$T/fx"
faith_fixture_config "$T/cfg.json" "$T/fx" 24 3

# Dry run: plan printed, nothing written.
"$FAITH_BIN" run "$T/cfg.json" --dry-run --output "$T/dry" >"$T/dry.txt"
grep -q "24 examples" "$T/dry.txt" || { cat "$T/dry.txt"; echo "FAIL: dry run plan"; exit 1; }
grep -q "8 of 3 examples" "$T/dry.txt" || { cat "$T/dry.txt"; echo "FAIL: dry run chunks"; exit 1; }
grep -q "estimated wall time" "$T/dry.txt" || { echo "FAIL: no estimate"; exit 1; }
[ ! -e "$T/dry" ] || { echo "FAIL: dry run wrote $T/dry"; exit 1; }

for np in 1 2 3 4; do
    faith_mpirun -np $np "$FAITH_BIN" run "$T/cfg.json" --output "$T/np$np" --threads 1 --quiet
done
faith_cmp_tables "$T/np1" "$T/np2"
faith_cmp_tables "$T/np1" "$T/np3"
faith_cmp_tables "$T/np1" "$T/np4"
# Thread counts change no byte either (per-sequence products, single-threaded solves).
faith_mpirun -np 1 "$FAITH_BIN" run "$T/cfg.json" --output "$T/np1t2" --threads 2 --quiet
faith_mpirun -np 2 "$FAITH_BIN" run "$T/cfg.json" --output "$T/np2t3" --threads 3 --quiet
faith_cmp_tables "$T/np1" "$T/np1t2"
faith_cmp_tables "$T/np1" "$T/np2t3"
grep -q '"threads_per_rank":[[:space:]]*3' "$T/np2t3/manifest.json" || { echo "FAIL: manifest threads"; exit 1; }
# Tiled products follow OpenBLAS's kernel family (its AVX-512 ones), and the manifest says which ran.
want=false
"$FAITH_BIN" version | grep -q -i -E 'skylakex|cooperlake|sapphirerapids' && want=true
grep -q "\"tiled_products\":[[:space:]]*$want" "$T/np1/manifest.json" || { echo "FAIL: manifest tiled_products not $want"; exit 1; }
if [ "$want" = true ]; then
    OPENBLAS_CORETYPE=Haswell faith_mpirun -np 1 "$FAITH_BIN" run "$T/cfg.json" --output "$T/hsw" --threads 1 --quiet
    grep -q '"tiled_products":[[:space:]]*false' "$T/hsw/manifest.json" || { echo "FAIL: Haswell kernels tiled"; exit 1; }
    grep -q 'Haswell' "$T/hsw/manifest.json" || { echo "FAIL: manifest lacks the Haswell kernel family"; exit 1; }
fi
# Batched products: other bits than per-sequence ones, but again the same for any ranks and threads.
sed 's/^{/{"products": "batched",/' "$T/cfg.json" >"$T/cfg_b.json"
faith_mpirun -np 1 "$FAITH_BIN" run "$T/cfg_b.json" --output "$T/b1" --threads 1 --quiet
faith_mpirun -np 2 "$FAITH_BIN" run "$T/cfg_b.json" --output "$T/b2" --threads 2 --quiet 2>/dev/null
faith_cmp_tables "$T/b1" "$T/b2"
cmp -s "$T/b1/examples.tsv.zst" "$T/np1/examples.tsv.zst" && { echo "FAIL: batched and per-sequence products gave the same bytes"; exit 1; }
[ ! -e "$T/np3/.partial" ] || { echo "FAIL: .partial left after success"; exit 1; }

# The model-randomisation check explains on the randomised model afresh: occlusion's leave-one-out
# drops are that model's (a cache keyed without the model gave the original ranking, Spearman 1).
mr=$(awk -F'\t' '$1 == "occlusion" && $2 == "model_randomization" {print $5}' "$T/np1/summary.tsv")
awk -v m="$mr" 'BEGIN {exit !(m != "" && m < 0.99)}' \
    || { echo "FAIL: occlusion's model_randomization Spearman is '$mr', expected below 0.99"; exit 1; }

# Shape: one row per (example, explainer) in ascending id, 4 explainers.
rows=$(zstdcat "$T/np1/examples.tsv.zst" | tail -n +2 | wc -l)
[ "$rows" = 96 ] || { echo "FAIL: examples.tsv has $rows rows, expected 96"; exit 1; }
zstdcat "$T/np1/examples.tsv.zst" | tail -n +2 | cut -f1 | sort -n -c \
    || { echo "FAIL: rows not in id order"; exit 1; }
zstdcat "$T/np1/attributions.jsonl.zst" >"$T/attr.jsonl"
[ "$(wc -l <"$T/attr.jsonl")" = 96 ] && head -1 "$T/attr.jsonl" | grep -q '"word_scores":\[' \
    || { echo "FAIL: attributions"; exit 1; }
grep -q '"ranks":[[:space:]]*3' "$T/np3/manifest.json" || { echo "FAIL: manifest ranks"; exit 1; }
grep -q '"config_hash":[[:space:]]*"[0-9a-f]\{64\}"' "$T/np3/manifest.json" || { echo "FAIL: manifest hash"; exit 1; }
grep -q '"model.safetensors":[[:space:]]*"[0-9a-f]\{64\}"' "$T/np3/manifest.json" || { echo "FAIL: model hash"; exit 1; }

# A rank failing mid-run: the job ends (no hang) and rank 0 prints that rank's message.
set +e
FAITH_TEST_FAIL_RANK=2 timeout 120 bash -c "$(declare -f faith_mpirun); faith_mpirun -np 3 \"$FAITH_BIN\" run \"$T/cfg.json\" --output \"$T/fail\" --quiet" >"$T/fail.txt" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] && [ $rc -ne 124 ] || { cat "$T/fail.txt"; echo "FAIL: failing rank gave rc $rc"; exit 1; }
grep -q "rank 2: .*failure injected" "$T/fail.txt" || { cat "$T/fail.txt"; echo "FAIL: message"; exit 1; }

# A config error is reported once, by rank 0, with the key's path, and every rank exits.
sed 's/"max_length"/"max_lenght"/' "$T/cfg.json" >"$T/bad.json"
set +e
timeout 60 bash -c "$(declare -f faith_mpirun); faith_mpirun -np 2 \"$FAITH_BIN\" run \"$T/bad.json\"" >"$T/bad.txt" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] && [ $rc -ne 124 ] || { cat "$T/bad.txt"; echo "FAIL: bad config rc $rc"; exit 1; }
grep -q "max_lenght: unknown key (did you mean 'max_length'?)" "$T/bad.txt" || { cat "$T/bad.txt"; echo "FAIL: bad config message"; exit 1; }
[ "$(grep -c 'faith:' "$T/bad.txt")" = 1 ] || { cat "$T/bad.txt"; echo "FAIL: message not printed once"; exit 1; }
echo "it_run_ranks: ok"
