#!/usr/bin/env bash
# On the GPU host: joins and checks what tools/gpu/build-bundle.sh made (in SRC, default .pasta/gpu) and unpacks it
# into DEST (default .pasta/gpu-run). Exits 3 naming what is missing when a part has not arrived.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=${1:-$ROOT/.pasta/gpu}
DEST=${2:-$ROOT/.pasta/gpu-run}
mkdir -p "$DEST"
if [ ! -x "$DEST/jre/bin/java" ]; then
  ls "$SRC"/runtime.tar.xz.part-* >/dev/null 2>&1 || { echo "unpack: no runtime parts in $SRC" >&2; exit 3; }
  cat "$SRC"/runtime.tar.xz.part-* > "$DEST/runtime.tar.xz"
  if ! (cd "$DEST" && sed "s|  .*|  runtime.tar.xz|" "$SRC/runtime.tar.xz.sha256" | sha256sum -c --quiet); then
    echo "unpack: runtime.tar.xz does not match its sha256 (parts present: $(ls "$SRC" | tr '\n' ' '))" >&2
    rm -f "$DEST/runtime.tar.xz"
    exit 3
  fi
  tar -C "$DEST" -xJf "$DEST/runtime.tar.xz" && rm "$DEST/runtime.tar.xz"
fi
if [ -f "$SRC/app.tar.xz" ]; then
  (cd "$SRC" && sha256sum -c --quiet app.tar.xz.sha256) || { echo "unpack: app.tar.xz does not match" >&2; exit 3; }
  rm -rf "$DEST/app" && tar -C "$DEST" -xJf "$SRC/app.tar.xz"
fi
[ -d "$DEST/app/lib" ] || { echo "unpack: no app in $SRC or $DEST" >&2; exit 3; }
echo "unpack: ready in $DEST" >&2
