#!/usr/bin/env bash
# One-time setup on a fresh machine: system libraries for the native CPU kernels, npm packages, add-on build.
# Safe to re-run. Without root or apt, the native build is skipped and the plain tfjs path is used.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! ldconfig -p 2>/dev/null | grep -q libopenblas && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev >/dev/null) \
    || echo "[setup] warning: could not install libopenblas-dev; native CPU kernels will be unavailable"
fi
# Gloo (data-parallel training with --launcher gloo); optional: single-process training does not need it.
if [ ! -f /usr/include/gloo/allreduce.h ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgloo-dev >/dev/null) \
    || echo "[setup] warning: could not install libgloo-dev; --launcher gloo will be unavailable"
fi
if [ ! -d node_modules/@tensorflow/tfjs ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund || exit 1
fi
if [ -f tools/build-native.mjs ]; then
  node tools/build-native.mjs || echo "[setup] warning: native kernels not built; the plain tfjs cpu backend will be used"
fi
if [ -f tools/build-native-gloo.mjs ]; then
  node tools/build-native-gloo.mjs || echo "[setup] warning: Gloo add-on not built; --launcher gloo will say what to install"
fi
