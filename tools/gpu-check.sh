#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU (about 5 minutes): the driver, the Vulkan ICDs, the adapters Dawn
# finds, then LITv2-S classification and RetinaNet LITv2-S (ws4) inference on the webgpu backend beside the
# paper's numbers, and the webgpu correctness tests. Usage: tools/gpu-check.sh [--no-tests].
# LITV2_DAWN_ARGS picks Dawn's backend (default here: backend=vulkan; backend=opengles for the EGL route).
set -uo pipefail
cd "$(dirname "$0")/.."
export LITV2_DAWN_ARGS="${LITV2_DAWN_ARGS:-backend=vulkan}"
limit() { timeout "$1" "${@:2}" || echo "  (exit $?: failed or over $1 s)"; }

echo "== driver"
if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
else echo "  nvidia-smi not found (no NVIDIA driver in this container?)"; fi
echo "== Vulkan ICDs"
ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null | sed 's/^/  /' || true
[ -n "$(ls /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json 2>/dev/null)" ] \
  || echo "  no NVIDIA Vulkan ICD (install libvulkan1 and the NVIDIA Vulkan ICD matching the driver; README \"GPU\")"
ldconfig -p | grep -q libvulkan.so.1 || echo "  libvulkan1 is not installed"
echo "== Dawn adapters"
limit 60 node tools/gpu_adapters.mjs
echo "== LITv2-S classification, webgpu ($LITV2_DAWN_ARGS); paper: 1,471 img/s on an RTX 3090 (batch 64)"
LITV2_BACKEND=webgpu limit 150 npx tsx tools/benchmark.ts --backends webgpu --sections litv2 --full --out-dir "${TMPDIR:-/tmp}/litv2-gpu-check" \
  | grep -E 'litv2_s|backend|failed'
echo "== RetinaNet LITv2-S ws4 inference at 1333x800, webgpu; paper: 20.4 FPS on a V100"
LITV2_BACKEND=webgpu limit 90 npx tsx tools/benchmark.ts --task detection --config retinanet_litv2_s_ws4 --iters 5 | grep -Ei 'fps|backend|error'
if [ "${1:-}" != "--no-tests" ]; then
  echo "== webgpu correctness tests"
  LITV2_BACKEND=webgpu limit 120 env NODE_OPTIONS=--experimental-vm-modules npx jest packages/core/test/webgpu_backend.test.ts 2>&1 | grep -E '✓|✕|Tests:|skipped'
fi
