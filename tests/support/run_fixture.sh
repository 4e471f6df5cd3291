# run_fixture.sh: sourced by the run/resume/slurm integration scripts and slurm/nightly.sh: builds a
# tiny model (1 layer, hidden 32) and a synthetic dataset with `faith` itself, deterministically.
# Needs FAITH_BIN. Run as a script, `bash tests/support/run_fixture.sh DIR` makes the trained fixture.

# A fixture is reused only if the same faith made it (version, commit and OpenBLAS kernels): a model
# trained by another build has other bits, and the nightly baselines are for this build's.
faith_fixture_fresh() {
    [ -f "$1/faith-version.txt" ] && [ "$("$FAITH_BIN" version)" = "$(cat "$1/faith-version.txt")" ]
}

# faith_fixture DIR [N]: DIR/model (random-initialised 1-layer BERT), DIR/synth/{train,dev,test}.jsonl
# (N examples over the splits, default 600) and DIR/vocab.txt: every synthetic word is one whole-word
# token, so the generator's word list is a complete vocabulary (no dependence on shared files).
faith_fixture() {
    local dir=$1 n=${2:-600}
    faith_fixture_fresh "$dir" && [ -f "$dir/model/config.json" ] && [ -f "$dir/synth/test.jsonl" ] && return 0
    rm -rf "$dir"
    mkdir -p "$dir"
    "$FAITH_BIN" version >"$dir/faith-version.txt"
    "$FAITH_BIN" gen synth --out "$dir/synth" --n "$n" --seed 3 --min-len 4 --max-len 20 >/dev/null
    { printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n'
      sed 's/.*"text": "\([^"]*\)".*/\1/' "$dir"/synth/*.jsonl | tr ' ' '\n' | grep . | LC_ALL=C sort -u
    } >"$dir/vocab.txt"
    "$FAITH_BIN" init-model --arch bert --vocab "$dir/vocab.txt" --out "$dir/model" --layers 1 --hidden 32 \
        --heads 2 --ffn 64 --max-pos 64 --seed 1 --label-names negative,positive >/dev/null
}

# faith_fixture_trained DIR: like faith_fixture with 3000 examples, then the model trained for 5
# epochs on one rank and one thread (deterministic; about 75% dev accuracy, a few seconds).
faith_fixture_trained() {
    local dir=$1
    faith_fixture_fresh "$dir" && [ -f "$dir/model/train_log.json" ] && return 0
    rm -rf "$dir"
    faith_fixture "$dir" 3000
    mv "$dir/model" "$dir/init"
    OPENBLAS_NUM_THREADS=1 "$FAITH_BIN" train --model "$dir/init" --train "$dir/synth/train.jsonl" \
        --dev "$dir/synth/dev.jsonl" --out "$dir/model" --epochs 5 --lr 3e-3 --batch 32 \
        --max-length 32 --seed 42 --threads 1 --quiet >/dev/null
}

# faith_fixture_config FILE DIR [LIMIT] [CHUNK] [SEED]: a small config over the fixture in DIR.
faith_fixture_config() {
    local file=$1 dir=$2 limit=${3:-24} chunk=${4:-3} seed=${5:-1}
    cat >"$file" <<JSON
{
  "name": "fixture",
  "seed": $seed,
  "model": "$dir/model",
  "dataset": {"format": "jsonl", "path": "$dir/synth/test.jsonl", "limit": $limit,
              "label_names": ["negative", "positive"]},
  "max_length": 32,
  "explainers": [
    {"name": "random"},
    {"name": "grad_x_input"},
    {"name": "integrated_gradients", "params": {"steps": 4}},
    {"name": "occlusion"}
  ],
  "metrics": [
    {"name": "comprehensiveness"},
    {"name": "sufficiency"},
    {"name": "deletion_curve"},
    {"name": "token_f1", "params": {"k": "rationale"}}
  ],
  "probe": {"property": "label", "train": {"path": "$dir/synth/train.jsonl", "limit": 120,
                                           "label_names": ["negative", "positive"]}},
  "sanity": {"model_randomization": {"layers": 1}},
  "batch": {"tokens": 1024, "chunk": $chunk}
}
JSON
}

FAITH_TABLES="examples.tsv.zst curves.tsv.zst attributions.jsonl.zst summary.tsv summary.json probes.tsv"

# faith_cmp_tables A B: every table byte-identical (manifest.json differs in timings by design).
faith_cmp_tables() {
    local t
    for t in $FAITH_TABLES; do
        cmp "$1/$t" "$2/$t" || { echo "FAIL: $1/$t and $2/$t differ" >&2; return 1; }
    done
}

faith_mpirun() {
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe "$@"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    [ $# = 1 ] || { echo "usage: FAITH_BIN=build/harness/faith bash $0 DIR" >&2; exit 2; }
    FAITH_BIN=${FAITH_BIN:-$(dirname "$0")/../../build/harness/faith}
    faith_fixture_trained "$1"
    echo "fixture in $1: model/, synth/{train,dev,test}.jsonl"
fi
