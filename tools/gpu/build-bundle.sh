#!/usr/bin/env bash
# Builds what a CUDA 13 host without Java needs to run pasta-serve's engine and benchmarks (docs/gpu.md), in OUT
# (default .pasta/gpu):
#   runtime.tar.xz  ort/native: ONNX Runtime 1.28.0 built for CUDA 13 + cuDNN 9
#                   (org.bytedeco:onnxruntime:linux-x86_64-gpu) with the Java API's JNI built with CUDA support
#                   (com.microsoft.onnxruntime:onnxruntime_gpu:1.28.0); jre: a jlinked Java 25 runtime.
#                   Split into parts of PART_SIZE (default 21M); built when missing or with --runtime.
#   app.tar.xz      app/lib: the engine and the command line without Spring (common, decoder-worker, cli, Jackson,
#                   logging, DJL's tokenizers with its Linux x86-64 native only, ONNX Runtime's Java classes);
#                   pasta-gpu: the launcher.
# each with its sha256. GPU code is kept for sm_90 only (H100/H200) unless --all-archs.
# Usage: tools/gpu/build-bundle.sh [OUT] [--runtime] [--all-archs]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/.pasta/gpu
SM90=1
RUNTIME=0
for a in "$@"; do case "$a" in --all-archs) SM90=0;; --runtime) RUNTIME=1;; *) OUT=$a;; esac; done
mkdir -p "$OUT"
[ -f "$OUT/runtime.tar.xz.sha256" ] || RUNTIME=1
JDK=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
M2=${M2:-$HOME/.m2/repository}
ORT=1.28.0
get() { (cd "$ROOT" && mvn -B -q dependency:get -Dartifact="$1" -Dtransitive=false); }
echo "gpu bundle: fetching ONNX Runtime $ORT for CUDA 13 (the first time: about 900 MB into ~/.m2)" >&2
get org.bytedeco:onnxruntime:$ORT-1.5.14:jar:linux-x86_64-gpu
get com.microsoft.onnxruntime:onnxruntime_gpu:$ORT
BD=$M2/org/bytedeco/onnxruntime/$ORT-1.5.14/onnxruntime-$ORT-1.5.14-linux-x86_64-gpu.jar
MS=$M2/com/microsoft/onnxruntime/onnxruntime_gpu/$ORT/onnxruntime_gpu-$ORT.jar
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "gpu bundle: building the engine and the command line" >&2
(cd "$ROOT" && JAVA_HOME=$JDK mvn -B -q -DskipTests -pl cli -am install) >&2  # install: the class path below names ~/.m2
CP=$(sed -n 's/^-cp "\(.*\)"$/\1/p' "$ROOT/cli/target/java.args")
A=$TMP/app
mkdir -p "$A/app/lib"
(mkdir -p "$TMP/ort" && cd "$TMP/ort" && unzip -q -o "$MS" -x 'ai/onnxruntime/native/*' \
  && zip -q -r -9 "$A/app/lib/onnxruntime-$ORT-classes.jar" .)
(cd "$ROOT/cli/target/classes" && zip -q -r -9 "$A/app/lib/cli.jar" .)
echo "$CP" | tr ':' '\n' | grep -E '/(common|decoder-worker)-[0-9][^/]*\.jar$|/jackson-(databind|annotations|core)-|/logback-(classic|core)-|/slf4j-api-|/djl/api/|/gson-|/jna-[0-9]|/commons-(compress|io|codec)-' \
  | while read -r jar; do cp "$jar" "$A/app/lib/"; done
TOK=$(echo "$CP" | tr ':' '\n' | grep '/tokenizers-[0-9]')
(mkdir -p "$TMP/tok" && cd "$TMP/tok" && unzip -q -o "$TOK" -x 'native/lib/win-*' 'native/lib/osx-*' \
  'native/lib/linux-aarch64/*' && zip -q -r -9 "$A/app/lib/$(basename "$TOK")" .)
cp "$ROOT/tools/gpu/pasta-gpu" "$A/pasta-gpu"
tar -C "$A" -cf - . | xz -6 -T2 > "$OUT/app.tar.xz"
(cd "$OUT" && sha256sum app.tar.xz > app.tar.xz.sha256)

if [ $RUNTIME = 1 ]; then
  R=$TMP/runtime
  mkdir -p "$R/ort/native"
  unzip -q -j -o "$BD" "org/bytedeco/onnxruntime/linux-x86_64-gpu/libonnxruntime.so.1" \
    "org/bytedeco/onnxruntime/linux-x86_64-gpu/libonnxruntime_providers_shared.so" \
    "org/bytedeco/onnxruntime/linux-x86_64-gpu/libonnxruntime_providers_cuda.so" -d "$TMP"
  mv "$TMP/libonnxruntime.so.1" "$R/ort/native/libonnxruntime.so"   # the Java API loads <dir>/libonnxruntime.so
  mv "$TMP/libonnxruntime_providers_shared.so" "$R/ort/native/"
  if [ $SM90 = 1 ]; then
    python3 "$ROOT/tools/gpu/prune_fatbin.py" "$TMP/libonnxruntime_providers_cuda.so" \
      "$R/ort/native/libonnxruntime_providers_cuda.so" 90 >&2
  else
    mv "$TMP/libonnxruntime_providers_cuda.so" "$R/ort/native/"
  fi
  unzip -q -j -o "$MS" 'ai/onnxruntime/native/linux-x64/libonnxruntime4j_jni.so' -d "$R/ort/native"
  # what the engine, Jackson, logback and DJL use (jdeps over-approximates with optional dependencies)
  MODULES=java.base,java.logging,java.xml,java.management,java.naming,java.sql,jdk.unsupported
  "$JDK/bin/jlink" --add-modules "$MODULES" --strip-debug --no-header-files --no-man-pages --output "$R/jre"
  strip --strip-unneeded "$R/jre/lib/server/libjvm.so" 2>/dev/null || true
  echo "gpu bundle: packing the runtime (Java modules: $MODULES)" >&2
  rm -f "$OUT"/runtime.tar.xz.part-*
  tar -C "$R" -cf - . | xz -6 -T2 > "$OUT/runtime.tar.xz"
  (cd "$OUT" && sha256sum runtime.tar.xz > runtime.tar.xz.sha256)
  split -b "${PART_SIZE:-21M}" -d -a 2 "$OUT/runtime.tar.xz" "$OUT/runtime.tar.xz.part-"
  rm "$OUT/runtime.tar.xz"
fi
ls -l "$OUT" >&2
