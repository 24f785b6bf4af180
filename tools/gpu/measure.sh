#!/usr/bin/env bash
# On the GPU host, from the repository root, after tools/gpu/unpack.sh: the GPU measurements of docs/BENCHMARKS.md.
# Usage: tools/gpu/measure.sh STAGE...   results in $OUT (default .pasta/gpu-results), one STAGE.txt each
#   smoke   pasta-tiny on CUDA: a few steps, one answer in both modes
#   tiny    ms per decode step of pasta-tiny: I/O binding on CUDA, the Java API on CUDA, I/O binding on the CPU
#   pasta   PASTA on the GPU: held-out prompts async vs serial, engine overhead, fork/join cost, tokens/s
#   models  random-weight models of pasta-tiny's and a 400M shape, float32 and float16 (tools/gpu/mkmodels.py)
#   m350    ms per decode step of those models (after their parity check against PyTorch)
#   diag    where a step's time goes (ONNX Runtime's node trace of pasta-tiny and the 400M fp16 model at batch 1),
#           one answer serial and async on CUDA and on the CPU, and the engine's overhead with its forward pass
#   static  the static-cache variant (fixed slots written in place): pasta-tiny and the 400M shape in float16,
#           ms per decode step, whether a row's logits depend on its batch, and pasta-tiny's held-out prompts
#   graph   the static-cache variant's decode step with fixed shapes, captured as a CUDA graph (the default), against
#           the same step unfixed (-Dpasta.ort.fixed-shapes=false), side by side: ms per step, batch invariance
#   spasta  PASTA on the static-cache pasta-tiny in float16: held-out prompts, engine overhead and fork/join cost
#           (without and with fixed-shape passes), tokens/s
#   torch   PyTorch's ms per decode step for the same shapes (tools/gpu/torch_step_bench.py; BUDGET seconds)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RUN=${RUN:-$ROOT/.pasta/gpu-run}
OUT=${OUT:-$ROOT/.pasta/gpu-results}
MODELS=${MODELS:-$ROOT/.pasta/gpu-models}
mkdir -p "$OUT" "$MODELS"
pasta() { PASTA_HOME="$ROOT" "$RUN/pasta-gpu" "$@"; }
STEPS="bench --step-times --steps ${STEPS:-30}"
static_models() {
  [ -f "$MODELS/pasta-tiny-fp16-static/config.json" ] || python3 training/export_onnx.py --onnx models/pasta-tiny \
    --out "$MODELS/pasta-tiny-fp16-static" --cache static --dtype float16 --parity
  [ -f "$MODELS/m350-fp16-static/config.json" ] \
    || python3 tools/gpu/mkmodels.py "$MODELS" --shapes m350 --dtypes float16 --caches static
}
stage() {
  case "$1" in
    smoke)
      nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
      pasta $STEPS --device cuda --batches 1,64 --pasts 128 --label "pasta-tiny fp32 binding cuda"
      pasta generate --device cuda --prompt "Give me 4 tips for better sleep." --mode async
      ;;
    tiny)
      pasta $STEPS --device cuda --label "pasta-tiny fp32 binding cuda" --json
      pasta $STEPS --device cuda --runner java --batches 1,4,16,64 --label "pasta-tiny fp32 java cuda" --json
      pasta $STEPS --device cpu --threads 4 --batches 1,4,16,64 --pasts 128 --label "pasta-tiny fp32 binding cpu" --json
      ;;
    pasta)
      paste models/pasta-tiny/heldout-prompts.txt models/pasta-tiny/heldout-transcripts.txt > "$OUT/replay.txt"
      pasta bench --device cuda --prompts models/pasta-tiny/heldout-prompts.txt --repeat "${REPEAT:-3}" --warmup 2
      pasta bench --device cuda --overhead --prompts "$OUT/replay.txt" --steps 128 --repeat 3 --batches 1,4,16,64
      pasta bench --device cuda --throughput --prompts models/pasta-tiny/heldout-prompts.txt --concurrency 1,4,16,64
      ;;
    models)
      python3 tools/gpu/mkmodels.py "$MODELS" --shapes tiny,m350 --dtypes float32,float16
      ls -la "$MODELS"/*
      ;;
    m350)
      for m in tiny-fp16 m350-fp32 m350-fp16; do
        pasta $STEPS --model "$MODELS/$m" --device cuda --label "$m binding cuda" --json
      done
      pasta bench --step-times --steps 10 --model "$MODELS/m350-fp32" --device cuda --runner java \
        --batches 1,4,16,64 --label "m350-fp32 java cuda" --json
      ;;
    static)
      static_models
      pasta $STEPS --model models/pasta-tiny --device cuda --batches 1,64 --pasts 128 --invariance 64 \
        --label "pasta-tiny fp32 binding cuda"
      pasta $STEPS --model "$MODELS/pasta-tiny-fp16-static" --device cuda --invariance 64 \
        --label "pasta-tiny fp16 static binding cuda" --json
      pasta $STEPS --model "$MODELS/m350-fp16-static" --device cuda --invariance 64 \
        --label "m350 fp16 static binding cuda" --json
      pasta bench --device cuda --model "$MODELS/pasta-tiny-fp16-static" \
        --prompts models/pasta-tiny/heldout-prompts.txt --repeat "${REPEAT:-2}" --warmup 1
      ;;
    graph)
      static_models
      for m in pasta-tiny-fp16-static m350-fp16-static; do
        for g in false true; do
          PASTA_JAVA_OPTS="-Dpasta.ort.fixed-shapes=$g" pasta $STEPS --model "$MODELS/$m" --device cuda \
            --invariance 64 --label "$m fixed-shapes $g" --json
        done
      done
      ;;
    spasta)
      static_models
      t="$MODELS/pasta-tiny-fp16-static"
      paste models/pasta-tiny/heldout-prompts.txt models/pasta-tiny/heldout-transcripts.txt > "$OUT/replay.txt"
      pasta bench --device cuda --model "$t" --prompts models/pasta-tiny/heldout-prompts.txt \
        --repeat "${REPEAT:-2}" --warmup 1
      for g in false true; do
        echo "fixed-shapes $g:"
        PASTA_JAVA_OPTS="-Dpasta.ort.fixed-shapes=$g" pasta bench --device cuda --model "$t" --overhead \
          --prompts "$OUT/replay.txt" --steps 128 --repeat 3 --batches 1,4,16,64
      done
      pasta bench --device cuda --model "$t" --throughput --prompts models/pasta-tiny/heldout-prompts.txt \
        --concurrency 1,4,16,64
      ;;
    diag)
      for m in models/pasta-tiny "$MODELS/m350-fp16"; do
        rm -f "$OUT"/trace_*.json
        PASTA_JAVA_OPTS="-Dpasta.ort.profile=$OUT/trace" pasta bench --step-times --steps 20 --model "$m" \
          --device cuda --batches 1 --pasts 128 --label "$(basename "$m") traced"
        python3 tools/gpu/profile_summary.py "$OUT"/trace_*.json
      done
      rm -f "$OUT"/trace_*.json
      p="Break buying a used car into 4 steps and explain each one."
      grep -F "Break buying a used car" models/pasta-tiny/heldout-prompts.txt | head -1 > "$OUT/prompt.txt" || true
      [ -s "$OUT/prompt.txt" ] && p=$(cat "$OUT/prompt.txt")
      for d in cuda cpu; do
        for i in 1 2; do
          for mode in serial async; do
            pasta generate --device "$d" --mode "$mode" --max-tokens 512 --json --prompt "$p" \
              > "$OUT/answer-$d-$mode-$i.json"
          done
        done
      done
      python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
texts = {}
for name in sorted(os.listdir(out)):
    if name.startswith("answer-"):
        texts[name[7:-5]] = json.load(open(os.path.join(out, name)))["annotated"]
ref = texts.get("cuda-serial-1", "")
for k, t in texts.items():
    i = next((j for j in range(min(len(t), len(ref))) if t[j] != ref[j]), None)
    same = t == ref
    print(f"{k:12s} {len(t):5d} chars, {'same as cuda-serial-1' if same else 'differs at ' + str(i if i is not None else min(len(t), len(ref)))}")
    if not same and i is not None:
        print(f"    ...{ref[max(0, i - 60):i + 40]!r}\n    ...{t[max(0, i - 60):i + 40]!r}")
PY
      paste models/pasta-tiny/heldout-prompts.txt models/pasta-tiny/heldout-transcripts.txt > "$OUT/replay.txt"
      pasta bench --device cuda --overhead --prompts "$OUT/replay.txt" --steps 128 --repeat 3 --batches 1,4,16,64
      ;;
    torch)
      python3 tools/gpu/torch_step_bench.py --budget-s "${BUDGET:-240}" --json "$OUT/torch.json"
      ;;
    *) echo "measure: unknown stage $1" >&2; return 2 ;;
  esac
}
for s in "$@"; do
  t0=$(date +%s)
  echo "== $s" >&2
  stage "$s" > "$OUT/$s.txt" 2> "$OUT/$s.err"
  echo "== $s: rc $? in $(( $(date +%s) - t0 )) s" | tee -a "$OUT/$s.txt" >&2
  tail -n 40 "$OUT/$s.txt" >&2
done
