# run_fixture.sh: sourced by the run/resume/slurm integration scripts and slurm/nightly.sh: builds a
# tiny model (1 layer, hidden 32) and a synthetic dataset with `faith` itself, deterministically.
# Needs FAITH_BIN; uses $FAITH_SHARED's bert-base-uncased vocab when present, else a tiny vocab.

# faith_fixture DIR: DIR/model (random-initialised BERT) and DIR/synth/{train,dev,test}.jsonl.
faith_fixture() {
    local dir=$1
    [ -f "$dir/model/config.json" ] && [ -f "$dir/synth/test.jsonl" ] && return 0
    mkdir -p "$dir"
    "$FAITH_BIN" gen synth --out "$dir/synth" --n 600 --seed 3 --min-len 4 --max-len 20 >/dev/null
    local vocab=${FAITH_SHARED:-/nonexistent}/datasets/vocab/bert-base-uncased/vocab.txt
    if [ ! -f "$vocab" ]; then
        # Every synthetic word is one whole-word token, so its word list is a complete vocabulary.
        vocab=$dir/vocab.txt
        { printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n'
          sed 's/.*"text": "\([^"]*\)".*/\1/' "$dir"/synth/*.jsonl | tr ' ' '\n' | grep . | LC_ALL=C sort -u
        } >"$vocab"
    fi
    "$FAITH_BIN" init-model --arch bert --vocab "$vocab" --out "$dir/model" --layers 1 --hidden 32 \
        --heads 2 --ffn 64 --max-pos 64 --seed 1 --label-names negative,positive >/dev/null
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
  "batch": {"tokens": 1024, "chunk": $chunk}
}
JSON
}

FAITH_TABLES="examples.tsv.zst curves.tsv.zst attributions.jsonl.zst summary.tsv summary.json"

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
