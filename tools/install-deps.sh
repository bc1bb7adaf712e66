#!/usr/bin/env bash
# Installs what sigflow needs to build, test and benchmark on Debian 12 (run as root). Idempotent: a package
# already present is left as it is. The tokenizer's differential test compares against the `tiktoken` npm
# package, pinned by tools/tiktoken-ref/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates python3
  clang clang-format libclang-rt-14-dev ccache
  libboost-dev libsimdjson-dev liburing-dev libssl-dev libwslay-dev libtomlplusplus-dev libcli11-dev
  libpcre2-dev libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
  libnats-dev nats-server
  prometheus
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -d tools/tiktoken-ref/node_modules/tiktoken ]; then
  npm ci --prefix tools/tiktoken-ref --no-audit --no-fund --loglevel=error
fi
