#!/usr/bin/env bash
# Installs what Kiln needs from Debian 12 packages (skips apt when all present).
set -euo pipefail
packages=(cmake ninja-build ccache clang-19 libclang-rt-19-dev lld-19 llvm-19-dev llvm-19-tools libmlir-19-dev
          mlir-19-tools libzstd-dev zlib1g-dev python3-numpy python3-psutil
          dataset-fashion-mnist python3-sklearn python3-torch libopenblas0-pthread
          wamerican wngerman wfrench wspanish witalian)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
