import assert from "node:assert/strict";
import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import { dispatchAndRead } from "../kernels/run_kernel.ts";
import {
  createSinglePoseDecoder,
  poseFromDecoded,
  SINGLE_POSE_RESULT_BYTES,
} from "../decode/single_pose_gpu.ts";
import { decodeSinglePose } from "../decode/single_pose.ts";
import { type InputTransform, inputTransformFor } from "../decode/input_transform.ts";
import { HEAD_LAYOUT, splitHeads } from "../models/posenet_network.ts";
import { DECODE_UNIFORM_BYTES, decodeUniforms } from "../shaders/decode_single_pose.ts";
import { mulberry32, runSeed, uniform } from "./support/random.ts";

/** Runs the fused decode kernel once on host heads (fused layout) and returns its raw floats. */
async function decodeOnGpu(
  gpu: GpuContext,
  fused: Float32Array<ArrayBuffer>,
  height: number,
  width: number,
  outputStride: number,
  transform: InputTransform,
): Promise<Float32Array> {
  const decoder = await createSinglePoseDecoder(gpu, {
    height,
    width,
    outputStride,
    cellStride: HEAD_LAYOUT.channels,
    heatmapChannel: HEAD_LAYOUT.heatmap,
    offsetChannel: HEAD_LAYOUT.offsets,
  });
  const device = gpu.device;
  const heads = device.createBuffer({
    size: fused.byteLength,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  const frame = device.createBuffer({
    size: DECODE_UNIFORM_BYTES,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const out = device.createBuffer({
    size: SINGLE_POSE_RESULT_BYTES,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  try {
    device.queue.writeBuffer(heads, 0, fused);
    device.queue.writeBuffer(frame, 0, decodeUniforms(transform));
    const bindGroup = decoder.bind(heads, frame, out);
    return await dispatchAndRead(
      gpu,
      "decode single pose",
      out,
      SINGLE_POSE_RESULT_BYTES,
      (pass) => decoder.dispatch(pass, bindGroup),
    );
  } finally {
    for (const b of [heads, frame, out]) b.destroy();
  }
}

/** Random fused heads shaped like real ones: logits in [-8, 4] with planted peaks. */
function randomFusedHeads(
  rng: () => number,
  height: number,
  width: number,
): Float32Array<ArrayBuffer> {
  const cells = height * width;
  const fused = uniform(rng, cells * HEAD_LAYOUT.channels, -20, 20);
  for (let c = 0; c < cells; c++) {
    for (let k = 0; k < 17; k++) fused[c * HEAD_LAYOUT.channels + k] = -8 + 12 * rng();
  }
  for (let k = 0; k < 17; k++) {
    const cell = Math.floor(rng() * cells);
    fused[cell * HEAD_LAYOUT.channels + k] = 3 + 3 * rng();
  }
  return fused;
}

Deno.test("fused single-pose decode equals the CPU decode of the same heads", async (t) => {
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("single-pose GPU decode"));
  let worstPx = 0;
  try {
    const grids: [number, number, number, number, number, boolean][] = [
      // heatmap h, w, stride, image w, image h, flip
      [17, 17, 16, 640, 480, false],
      [33, 33, 16, 480, 640, true],
      [33, 33, 8, 257, 257, false],
      [65, 65, 8, 1920, 1448, true],
      [9, 13, 32, 400, 300, false],
    ];
    for (const [h, w, stride, imageW, imageH, flip] of grids) {
      await t.step(
        `${h}x${w} stride ${stride}, image ${imageW}x${imageH}${flip ? " flipped" : ""}`,
        async () => {
          const fused = randomFusedHeads(rng, h, w);
          const transform = inputTransformFor(
            imageW,
            imageH,
            (w - 1) * stride + 1,
            (h - 1) * stride + 1,
            flip,
          );
          const raw = await decodeOnGpu(gpu, fused, h, w, stride, transform);
          const ours = poseFromDecoded(raw);
          const reference = decodeSinglePose(splitHeads(fused, h, w, stride), transform);
          assert.equal(reference.keypoints.length, 17);
          assert.equal(ours.keypoints.length, reference.keypoints.length, "number of keypoints");
          ours.keypoints.forEach((k, i) => {
            const r = reference.keypoints[i];
            assert.equal(k.part, r.part);
            assert.ok(
              Math.abs(k.score - r.score) <= 1e-6,
              `${k.part} score ${k.score} vs ${r.score}`,
            );
            const d = Math.hypot(k.position.x - r.position.x, k.position.y - r.position.y);
            worstPx = Math.max(worstPx, d);
            assert.ok(
              d <= 1e-3,
              `${k.part} at (${k.position.x}, ${k.position.y}) vs (${r.position.x}, ${r.position.y})`,
            );
          });
          assert.ok(Math.abs(ours.score - reference.score) <= 1e-6);
        },
      );
    }
  } finally {
    console.log(`single-pose GPU decode: worst position difference ${worstPx.toExponential(2)} px`);
    gpu.destroy();
  }
});

Deno.test("fused single-pose decode breaks ties to the lowest cell index, as tfjs argMax", async () => {
  const gpu = await createGpuContext();
  try {
    const [h, w] = [17, 17];
    const fused = new Float32Array(h * w * HEAD_LAYOUT.channels).fill(-5);
    // Part k's maximum appears at two cells; the one with the lower index y·W + x must win,
    // wherever the invocations that scan them sit.
    for (let k = 0; k < 17; k++) {
      const first = 3 * k + 1;
      const second = first + 64 * (1 + (k % 3)) + 5;
      fused[first * HEAD_LAYOUT.channels + k] = 2.5;
      fused[second * HEAD_LAYOUT.channels + k] = 2.5;
    }
    const raw = await decodeOnGpu(gpu, fused, h, w, 16, inputTransformFor(257, 257, 257, 257));
    for (let k = 0; k < 17; k++) assert.equal(raw[k * 4 + 3], 3 * k + 1, `part ${k}`);
  } finally {
    gpu.destroy();
  }
});
