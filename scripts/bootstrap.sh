#!/usr/bin/env bash
# Installs the Debian bookworm packages sloprobe needs to build, test, benchmark
# and run its demo. Idempotent: when every package is present, apt is not called.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config clang-format clang-tidy
  # fuzzing (libFuzzer ships with clang's runtime libraries)
  clang libclang-rt-14-dev
  libboost1.81-dev prometheus-cpp-dev libyaml-cpp-dev libsystemd-dev
  libssl-dev zlib1g-dev libcrypt-dev libgtest-dev libgmock-dev libcli11-dev
  # tests, demo and benchmarks
  prometheus prometheus-alertmanager prometheus-blackbox-exporter nginx-light
  wrk curl openssl procps python3
  # the status page test renders it in a real browser
  chromium
  # packaging checks
  lintian systemd man-db
  # e2e.systemd boots the package under a real systemd: a Debian container
  # made with debootstrap, run by systemd-nspawn (tests/e2e/systemd.sh)
  debootstrap systemd-container
)

# Node.js and npm only where no node is installed already (a machine may have
# another distribution of it, whose npm conflicts with Debian's package).
if ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

# The test-only OTLP schema (tests/otlp/package-lock.json), from the npm
# registry, once.
install_node_modules() {
  local dir
  dir="$(dirname "$0")/../tests/otlp"
  [ -d "$dir/node_modules/@opentelemetry/otlp-transformer" ] && return 0
  echo "bootstrap: installing the OTLP schema for the tests (npm ci)" >&2
  (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  install_node_modules
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap: missing packages: ${missing[*]}" >&2
  echo "bootstrap: run as root (or install them) and try again" >&2
  exit 1
fi

echo "bootstrap: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian's service packages start their daemons on install; the tests start
# their own instances on free ports, so keep the packaged ones from starting.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_node_modules
