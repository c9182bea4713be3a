#!/usr/bin/env bash
# Installs the Debian packages tryon-farm builds against, only those missing.
# Idempotent: a second run checks with dpkg and installs nothing.
# Needs root (or sudo) only when something is missing.
#   install-deps.sh          what `make demo` and the build need
#   install-deps.sh --test   only the extra packages `make test` uses: headless Chromium for the
#                            live progress page test, Slurm and munge for the local Slurm test,
#                            iproute2 for the two-node cluster test (network namespaces)
set -euo pipefail

pkgs=(build-essential cmake pkg-config
      libopenmpi-dev openmpi-bin
      libembree-dev libpng-dev libyaml-dev zlib1g-dev libwebp-dev
      python3 python3-pip ca-certificates procps)
test_pkgs=(chromium slurm-wlm munge iproute2)

case "${1:-}" in
  "") ;;
  --test) pkgs=("${test_pkgs[@]}") ;;
  *) echo "usage: install-deps.sh [--test]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# python3/pip may come from elsewhere (pyenv); a working interpreter is enough.
if command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then
  keep=()
  for p in "${missing[@]}"; do
    case "$p" in python3|python3-pip) ;; *) keep+=("$p") ;; esac
  done
  missing=("${keep[@]+"${keep[@]}"}")
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all Debian packages present${1:+ ($1)}"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
