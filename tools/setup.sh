#!/usr/bin/env bash
# One-time setup on a fresh machine: system libraries for the native CPU kernels, Mesa EGL/GLES (webgpu on CPU)
# and chromium (browser demo test), npm packages, add-on build.
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
# The webgpu backend's CPU path (Dawn GL ES over Mesa llvmpipe, EGL surfaceless) and the browser demo test
# (headless chromium). Only added, never replacing a GPU driver: on NVIDIA machines the NVIDIA EGL/Vulkan
# libraries stay the ones the loader picks (libglvnd chooses per vendor).
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  need=()
  ldconfig -p 2>/dev/null | grep -q 'libEGL_mesa.so.0' || need+=(libegl1 libegl-mesa0)
  ldconfig -p 2>/dev/null | grep -q 'libGLESv2.so.2' || need+=(libgles2)
  command -v chromium >/dev/null || need+=(chromium)
  if [ ${#need[@]} -gt 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null) \
      || echo "[setup] warning: could not install ${need[*]}; webgpu tests and the browser demo test will be skipped"
  fi
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
