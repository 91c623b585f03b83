#!/usr/bin/env bash
# Prepares the git-ignored folder .gpu/ for a one-shot run on a GPU machine without Node.js (bench/gpu/README.md):
#   1. ../shared/gpu/prepare.sh, when present: node (xz), the Vulkan loader .deb, Dawn's `webgpu` package, setup.sh;
#   2. bench/gpu/build.mjs: bench/gpu/gpu-step.ts and road's sources bundled into .gpu/gpu-step.mjs;
# then checks that .gpu/ fits the device tool's 64 MiB carry limit (with room for the working tree).
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
shared="$root/../shared/gpu/prepare.sh"
if [ -f "$shared" ]; then
  # Let its `require.resolve('webgpu/package.json')` find @road/backend's copy instead of downloading one.
  NODE_PATH="$root/packages/backend/node_modules${NODE_PATH:+:$NODE_PATH}" bash "$shared"
else
  echo "note: $shared not found: .gpu/ gets the bundle only (the device also needs node, libvulkan1, webgpu, setup.sh)" >&2
fi
# The shared script ships index.js + package.json + dawn.node of `webgpu`; make sure they are there.
if [ ! -f .gpu/node_modules/webgpu/dist/linux-x64/dawn.node ]; then
  src="$root/packages/backend/node_modules/webgpu"
  mkdir -p .gpu/node_modules/webgpu/dist/linux-x64
  cp "$src/index.js" "$src/package.json" .gpu/node_modules/webgpu/
  cp "$src/dist/linux-x64/dawn.node" .gpu/node_modules/webgpu/dist/linux-x64/
fi
node bench/gpu/build.mjs
kib=$(du -sk .gpu | cut -f1)
echo ".gpu/: $((kib / 1024)) MiB"
if [ "$kib" -gt $((56 * 1024)) ]; then
  echo "error: .gpu/ is over 56 MiB; the carry limit is 64 MiB including the working tree" >&2
  exit 1
fi
