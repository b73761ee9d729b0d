/**
 * The image buffer of a frame slot, the one buffer whose size follows the frames: grown to a power
 * of two (detectors/_image_buffer.ts), so a stream of growing frames reallocates it a few times, not
 * at every frame, and its size stays within twice the largest frame.
 */

import assert from "node:assert/strict";
import { imageBufferBytes, MIN_IMAGE_BUFFER_BYTES } from "../detectors/_image_buffer.ts";
import { load } from "../detectors/posenet_model.ts";
import { defaultWeights, noiseImage } from "./reliability_helpers.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";

Deno.test("`imageBufferBytes()` is the next power of two, at least 64 KiB, capped by the device", () => {
  assert.equal(imageBufferBytes(16, 1 << 27), MIN_IMAGE_BUFFER_BYTES);
  assert.equal(imageBufferBytes(65_537 * 4, 1 << 27), 1 << 19);
  assert.equal(imageBufferBytes(1 << 20, 1 << 27), 1 << 20);
  assert.equal(imageBufferBytes(100_000_000, 1 << 27), 1 << 27);
  // Capped below the power of two, but never below what the frame needs.
  assert.equal(imageBufferBytes(100_000_000, 120_000_001), 120_000_000);
  assert.equal(imageBufferBytes(120_000_004, 120_000_001), 120_000_004);
});

Deno.test("`estimateSinglePose()` on growing frames reallocates the image buffer a few times only", async () => {
  const gpu = await createGpuContext();
  const device = gpu.device;
  const createBuffer = device.createBuffer.bind(device);
  const images: GPUBuffer[] = [];
  device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
    const buffer = createBuffer(descriptor);
    if (descriptor.label === "posenet image") images.push(buffer);
    return buffer;
  };
  const net = await load({ weights: await defaultWeights(), context: gpu, maxFramesInFlight: 1 });
  try {
    const sizes: number[] = [];
    for (let i = 0; i < 24; i++) {
      const side = 150 + 25 * i; // 150 … 725 px: 90 KB … 2.1 MB of RGBA
      await net.estimateSinglePose(noiseImage(side, side, i));
      sizes.push(side * side * 4);
    }
    const largest = Math.max(...sizes);
    // 90 KB → 2.1 MB is 5 doublings: 128 KiB, 256 KiB, 512 KiB, 1 MiB, 2 MiB, 4 MiB at most.
    assert.ok(images.length <= 6, `${images.length} image buffers for 24 growing frames`);
    const last = images.at(-1)!;
    assert.ok(last.size >= largest && last.size <= 2 * largest, `image buffer ${last.size} B`);
  } finally {
    net.dispose();
    gpu.destroy();
  }
});
