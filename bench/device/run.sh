#!/usr/bin/env bash
# The real-GPU kit: on a Linux machine with a GPU (made for an NVIDIA H100/H200 with 16 cores),
# no network and no Node, from a bare copy of the repository plus .device/ (bench/device/pack.sh).
# It runs, on both WebGPU providers (Deno's built-in WebGPU on Vulkan, and Dawn, which picks Vulkan
# first), the kernel suite against ONNX Runtime, the whole-network validation, and
# `deno task bench --quick --webgpu deno,dawn`, and writes into OUT_DIR:
#   log.txt      everything printed, with each step's time and result
#   bench.json   the bench's JSON report
#   bench.txt    the bench's tables
#   adapters.txt what each provider found
# Each step has its own time limit so the whole stays under 8 minutes on such a machine
# (KIT_BENCH_LIMIT, default 300 s, is the bench's: on a 2-core machine without a GPU the bench alone
# needs about 10 minutes); a step that fails or times out is reported and the kit goes on. The exit code is the number of failed
# steps (0: all passed).
#
#   bash bench/device/run.sh OUT_DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: bash bench/device/run.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export KIT_OUT="$out"
kit=$PWD/.device
exec > >(tee "$out/log.txt") 2>&1
start=$SECONDS
failed=0

step() {
  local name=$1 limit=$2 t0=$SECONDS rc
  shift 2
  echo
  echo "== $name (limit ${limit} s)"
  timeout "$limit" "$@"
  rc=$?
  if [ "$rc" -eq 0 ]; then echo "ok: $name ($((SECONDS - t0)) s)"; else
    echo "FAILED: $name (rc $rc$([ "$rc" -eq 124 ] && echo ', timed out'), $((SECONDS - t0)) s)"
    failed=$((failed + 1))
  fi
}

[ -f "$kit/deno.xz" ] || { echo "kit: $kit/deno.xz missing: run bench/device/pack.sh first"; exit 1; }
work=$(mktemp -d)
xz -dc "$kit/deno.xz" >"$work/deno" && chmod +x "$work/deno"
tar -C "$work" -xJf "$kit/deno_dir.tar.xz"
export PATH="$work:$PATH" DENO_DIR="$work" DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
export POSENET_CACHE_DIR="$work/weights"
cp -r "$kit/weights" "$POSENET_CACHE_DIR"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$work/xdg}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

# The Vulkan and GL loaders, where the machine has none (the NVIDIA driver brings only its ICDs).
if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
  echo "kit: no Vulkan loader here; unpacking $(ls "$kit"/gl/*.deb | wc -l) loader packages"
  for f in "$kit"/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
nv=/usr/local/nvidia/share
if [ -f "$nv/vulkan/icd.d/nvidia_icd.json" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  export VK_DRIVER_FILES="$nv/vulkan/icd.d/nvidia_icd.json"
fi
if [ -f "$nv/glvnd/egl_vendor.d/10_nvidia.json" ] && [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES="$nv/glvnd/egl_vendor.d/10_nvidia.json"
fi
export DENO_WEBGPU_BACKEND=vulkan

echo "kit: $(deno --version | head -1); $(nproc) cores; $(uname -r)"
nvidia-smi -L 2>/dev/null || echo "kit: no nvidia-smi (no NVIDIA GPU here)"

# Type declarations are pruned from the kit (CI type-checks); tests run with --no-check.
perms=(--cached-only --allow-read --allow-write --allow-env --allow-ffi --allow-sys --allow-run)
step "adapters on both providers" 60 deno run "${perms[@]}" - <<'TS'
import { createGpuContext, WEBGPU_PROVIDERS } from "./mod.ts";
const lines = [];
for (const provider of WEBGPU_PROVIDERS) {
  try {
    const gpu = await createGpuContext({ provider });
    lines.push(`${provider}: ${JSON.stringify(gpu.adapter)} timestamp-query=${gpu.hasTimestampQuery}`);
    gpu.destroy();
  } catch (e) {
    lines.push(`${provider}: ${(e as Error).message}`);
  }
}
console.log(lines.join("\n"));
await Deno.writeTextFile(`${Deno.env.get("KIT_OUT")}/adapters.txt`, lines.join("\n") + "\n");
TS
kernels=(tests/conv2d_test.ts tests/depthwise_conv_test.ts tests/pointwise_conv_test.ts
  tests/gpu_context_test.ts tests/layout_test.ts)
network=(tests/posenet_network_test.ts tests/posenet_accuracy_test.ts)
for provider in deno dawn; do
  step "kernel suite vs ONNX Runtime on $provider" 120 \
    env POSENET_WEBGPU=$provider deno test --no-check "${perms[@]}" "${kernels[@]}"
  step "network vs ONNX Runtime and float64 on $provider" 120 \
    env POSENET_WEBGPU=$provider deno test --no-check "${perms[@]}" "${network[@]}"
done
step "bench --quick on deno and dawn" "${KIT_BENCH_LIMIT:-300}" bash -c \
  'set -o pipefail; deno run "$@" bench/bench.ts --quick --webgpu deno,dawn --json "$KIT_OUT/bench.json" | tee "$KIT_OUT/bench.txt"' \
  _ "${perms[@]}" --allow-import
echo
echo "kit: $failed step(s) failed, $((SECONDS - start)) s in all; output in $out"
rm -rf "$work"
exit "$failed"
