# it_train.sh: `faith train` end to end on a tiny synthetic task: JSON config, saved checkpoint and
# train_log.json, same seed -> same bytes (1, 2 and 3 MPI ranks, 1 and 2 threads), config errors,
# resuming from the output.
set -euo pipefail

: "${FAITH_BIN:?FAITH_BIN must point at the faith binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1

"$FAITH_BIN" gen synth --task sentiment --n 2000 --seed 3 --min-len 4 --max-len 10 --out "$tmp/data" >/dev/null
# The task's own vocabulary (gen synth writes it), so the test needs no downloaded files.
"$FAITH_BIN" init-model --arch bert --vocab "$tmp/data/vocab.txt" --layers 1 --hidden 32 --heads 2 --ffn 64 \
  --label-names negative,positive --max-pos 32 --seed 5 --out "$tmp/init" >/dev/null

# Paths through ${VAR:-default}, numbers, a flag as a JSON boolean.
cat >"$tmp/cfg.json" <<EOF
{"model": "\${IT_TRAIN_DIR:-/nonexistent}/init", "train": "$tmp/data/train.jsonl",
 "dev": "$tmp/data/dev.jsonl", "epochs": 3, "lr": 0.002, "batch": 16, "max-length": 32,
 "seed": 11, "dropout": 0.1, "evals-per-epoch": 2, "quiet": true}
EOF
export IT_TRAIN_DIR="$tmp"

"$FAITH_BIN" train --config "$tmp/cfg.json" --out "$tmp/a" --threads 2 >"$tmp/a.txt"
"$FAITH_BIN" train --config "$tmp/cfg.json" --out "$tmp/b" --threads 1 >"$tmp/b.txt"
cmp "$tmp/a/model.safetensors" "$tmp/b/model.safetensors"
for f in config.json model.safetensors train_log.json vocab.txt; do
  [ -s "$tmp/a/$f" ] || { echo "it_train: $f missing from the output"; exit 1; }
done

# train_log.json: 1 + 3 * 2 evaluations, the data hash, the best matching the printed summary.
check_log() {
  local log="$tmp/a/train_log.json"
  local n_evals sha
  n_evals=$(grep -c '"dev_accuracy"' "$log")
  [ "$n_evals" -eq 8 ] || { echo "it_train: expected 7 evals + best in the log, got $n_evals"; exit 1; }
  sha=$(sha256sum "$tmp/data/train.jsonl" | cut -d' ' -f1)
  grep -q "\"sha256\":[[:space:]]*\"$sha\"" "$log" || { echo "it_train: train sha256 not logged"; exit 1; }
  grep -q '"finished":[[:space:]]*true' "$log" || { echo "it_train: log not finished"; exit 1; }
}
check_log
best=$(sed -n 's/^best dev accuracy \([0-9.]*\).*/\1/p' "$tmp/a.txt")
awk -v b="$best" 'BEGIN { exit !(b > 0.7) }' || { echo "it_train: best dev accuracy $best, expected > 0.7"; exit 1; }

# A different seed gives different bytes (the comparison above is not vacuous).
"$FAITH_BIN" train --config "$tmp/cfg.json" --seed 12 --out "$tmp/c" >/dev/null
if cmp -s "$tmp/a/model.safetensors" "$tmp/c/model.safetensors"; then
  echo "it_train: seeds 11 and 12 gave identical models"
  exit 1
fi

# Unknown config keys and bad values are errors that name the key.
echo '{"modle": "x"}' >"$tmp/bad.json"
if "$FAITH_BIN" train --config "$tmp/bad.json" 2>"$tmp/err.txt"; then
  echo "it_train: unknown config key accepted"
  exit 1
fi
grep -q "modle" "$tmp/err.txt"
echo '{"quiet": "yes"}' >"$tmp/bad.json"
if "$FAITH_BIN" train --config "$tmp/bad.json" 2>"$tmp/err.txt"; then
  echo "it_train: non-boolean flag accepted"
  exit 1
fi
grep -q "quiet" "$tmp/err.txt"

# The output is itself a loadable model + tokenizer: fine-tune from it, head only.
"$FAITH_BIN" train --config "$tmp/cfg.json" --model "$tmp/a" --out "$tmp/d" --epochs 0.5 \
  --freeze-encoder >/dev/null

# Same seed, same bytes on any number of ranks and threads (one process above: $tmp/a).
if command -v mpirun >/dev/null 2>&1; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  mpirun -np 2 "$FAITH_BIN" train --config "$tmp/cfg.json" --out "$tmp/m1" --threads 1 >/dev/null
  mpirun -np 3 --oversubscribe "$FAITH_BIN" train --config "$tmp/cfg.json" --out "$tmp/m2" --threads 1 >/dev/null
  cmp "$tmp/a/model.safetensors" "$tmp/m1/model.safetensors"
  cmp "$tmp/a/model.safetensors" "$tmp/m2/model.safetensors"
  # and the same evaluations, losses included, to the last digit
  [ "$(grep '"dev_' "$tmp/a/train_log.json")" = "$(grep '"dev_' "$tmp/m2/train_log.json")" ] \
    || { echo "it_train: evaluations differ between 1 and 3 ranks"; exit 1; }
  grep -q '"ranks":[[:space:]]*2' "$tmp/m1/train_log.json"
else
  echo "it_train: mpirun absent: MPI part skipped"
fi
echo "it_train: ok"
