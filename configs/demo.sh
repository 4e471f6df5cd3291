#!/usr/bin/env bash
# demo.sh: the README's first command. Installs what is missing, builds, generates the planted-
# rationale dataset, trains a tiny classifier on it, benchmarks every explainer on 2 MPI ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/deps.sh
echo "== building (build/)"
cmake -S . -B build >/dev/null
cmake --build build -j2 >build/demo-build.log 2>&1 || { cat build/demo-build.log; exit 1; }
F=build/harness/faith
D=results/data/synth-demo
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
start=$(date +%s)

echo "== 1/4 planted-rationale data: labels decided by a few signal words (+ negation), true rationales known"
$F gen synth --task sentiment --n 12000 --seed 1 --min-len 4 --max-len 12 --out $D --force

echo "== 2/4 a random 2-layer BERT (hidden 128) over the task's vocabulary"
$F init-model --arch bert --layers 2 --hidden 128 --heads 2 --ffn 512 --labels 2 \
    --label-names negative,positive --vocab $D/vocab.txt --max-pos 64 --seed 1 --out results/models/demo-init --force

echo "== 3/4 training on 2 ranks (AdamW, dev accuracy several times per epoch, best checkpoint kept)"
mpirun -np 2 $F train --config configs/train-demo.json --threads 1

echo "== 4/4 benchmark: 12 explainers x faithfulness and plausibility metrics on 2 ranks"
resume=(); [ -d results/demo/.partial ] && resume=(--resume)   # an interrupted demo continues
mpirun -np 2 $F run configs/demo.json "${resume[@]}"
echo "demo finished in $(( $(date +%s) - start )) s; tables in results/demo/, model in results/models/demo/"
