/**
 * Padded channels: on the GPU a tensor of C channels is stored as ceil(C / 4) `vec4`s per pixel,
 * and the lanes past C must be written as exactly 0 (the next layer reads whole `vec4`s). Every
 * output here is filled with NaN before the dispatch, and every lane is read back, padded ones
 * included: each kernel variant at channel counts that do not fill a `vec4` (with each activation,
 * the residual epilogues and the bias-less depthwise), the 2x resize, then the network
 * layer by layer (each intermediate buffer poisoned, not fresh zeros) on weights with such channel
 * counts and on the real weights, whose fused heads hold padded lanes.
 */

import assert from "node:assert/strict";
import type { GpuKernel } from "../kernels/compute_kernel.ts";
import { createConv2dKernel } from "../kernels/conv2d.ts";
import { createDepthwiseConvKernel } from "../kernels/depthwise_conv.ts";
import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import { KERNEL_VARIANTS } from "../kernels/kernel_variants.ts";
import { channelSlots, packChannels, packedByteLength } from "../runtime/layout.ts";
import { createPointwiseConvKernel } from "../kernels/pointwise_conv.ts";
import { createResizeBilinear2xKernel } from "../kernels/resize_bilinear.ts";
import { dispatchAndRead } from "../kernels/run_kernel.ts";
import type { OutputStride } from "../models/architecture.ts";
import {
  createPoseNetNetwork,
  HEAD_LAYOUT,
  runNetworkOnce,
  splitHeads,
} from "../models/posenet_network.ts";
import type { PoseNetWeights } from "../models/posenet_weights.ts";
import { defaultWeights } from "./reliability_helpers.ts";
import { mulberry32, runSeed, uniform } from "./support/random.ts";
import { syntheticWeights } from "./support/synthetic_weights.ts";

const seed = runSeed("padded channels");

/** Uploads `packed` to a fresh storage buffer. */
function upload(gpu: GpuContext, packed: Float32Array<ArrayBuffer>): GPUBuffer {
  const buffer = gpu.device.createBuffer({
    size: Math.max(16, packed.byteLength),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
  });
  gpu.device.queue.writeBuffer(buffer, 0, packed);
  return buffer;
}

/**
 * Runs `kernel` from `input` into a NaN-filled buffer and returns that buffer and all its lanes,
 * after asserting that each padded lane is exactly 0 and each real lane is finite.
 */
async function runChecked(
  gpu: GpuContext,
  kernel: GpuKernel,
  input: GPUBuffer,
  what: string,
  second?: GPUBuffer,
): Promise<{ buffer: GPUBuffer; lanes: Float32Array }> {
  const [h, w, c] = kernel.outputShape;
  const bytes = packedByteLength(h, w, c);
  const output = gpu.device.createBuffer({
    size: bytes,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  const bindGroup = kernel.bind(input, output, second);
  const lanes = await dispatchAndRead(
    gpu,
    kernel.label,
    output,
    bytes,
    (pass) => kernel.dispatch(pass, bindGroup),
  );
  const stride = channelSlots(c) * 4;
  assert.equal(lanes.length, h * w * stride, `${what}: every lane read`);
  let padded = 0;
  for (let p = 0; p < h * w; p++) {
    for (let lane = 0; lane < stride; lane++) {
      const v = lanes[p * stride + lane];
      if (lane >= c) {
        padded++;
        if (!Object.is(v, 0)) {
          assert.fail(`${what} (${kernel.label}): pixel ${p} padded lane ${lane} is ${v}, not 0`);
        }
      } else if (!Number.isFinite(v)) {
        assert.fail(`${what} (${kernel.label}): pixel ${p} channel ${lane} is ${v}`);
      }
    }
  }
  assert.equal(padded, h * w * (stride - c), `${what}: padded lanes counted`);
  return { buffer: output, lanes };
}

Deno.test("every kernel variant writes padded channels as 0 over a NaN-filled output", async () => {
  const gpu = await createGpuContext();
  const rng = mulberry32(seed);
  try {
    const [h, w] = [9, 5];
    for (const [c, activation] of [[3, "relu6"], [5, "none"], [34, "relu"]] as const) {
      const input = upload(gpu, packChannels(uniform(rng, h * w * c), h * w, c));
      try {
        for (const [name, tiling] of Object.entries(KERNEL_VARIANTS.depthwise)) {
          for (const [stride, dilation] of [[1, 1], [2, 1], [1, 2]]) {
            const k = await createDepthwiseConvKernel(
              gpu,
              {
                height: h,
                width: w,
                channels: c,
                kernelHeight: 3,
                kernelWidth: 3,
                stride,
                dilation,
                activation,
                ...tiling,
              },
              uniform(rng, 9 * c),
              stride === 2 ? null : uniform(rng, c),
            );
            (await runChecked(gpu, k, input, `depthwise ${name}`)).buffer.destroy();
            k.dispose();
          }
        }
        for (const [name, tiling] of Object.entries(KERNEL_VARIANTS.pointwise)) {
          for (const out of [6, 17]) {
            const k = await createPointwiseConvKernel(
              gpu,
              { height: h, width: w, inChannels: c, outChannels: out, activation, ...tiling },
              uniform(rng, c * out),
              uniform(rng, out),
            );
            (await runChecked(gpu, k, input, `pointwise ${name}`)).buffer.destroy();
            k.dispose();
          }
          // The residual epilogues, from residuals whose own padded lanes are 0 as every kernel
          // leaves them (an even output for the 2x upsampling: 10x4 from 5x2).
          for (const residual of ["identity", "bilinear2x"] as const) {
            const [oh, ow] = residual === "identity" ? [h, w] : [10, 4];
            const k = await createPointwiseConvKernel(
              gpu,
              {
                height: oh,
                width: ow,
                inChannels: c,
                outChannels: c,
                activation,
                residual,
                ...tiling,
              },
              uniform(rng, c * c),
              uniform(rng, c),
            );
            const [rh, rw] = k.secondInputShape!;
            const second = upload(gpu, packChannels(uniform(rng, rh * rw * c), rh * rw, c));
            const own = upload(gpu, packChannels(uniform(rng, oh * ow * c), oh * ow, c));
            const what = `pointwise ${name} + ${residual}`;
            (await runChecked(gpu, k, oh === h ? input : own, what, second)).buffer.destroy();
            for (const b of [second, own]) b.destroy();
            k.dispose();
          }
        }
        for (const add of [false, true]) {
          const k = await createResizeBilinear2xKernel(gpu, {
            height: h,
            width: w,
            channels: c,
            add,
          });
          const addend = upload(gpu, packChannels(uniform(rng, 4 * h * w * c), 4 * h * w, c));
          const out = await runChecked(
            gpu,
            k,
            input,
            `resize add=${add}`,
            add ? addend : undefined,
          );
          for (const b of [out.buffer, addend]) b.destroy();
          k.dispose();
        }
        for (const [name, tiling] of Object.entries(KERNEL_VARIANTS.conv2d)) {
          for (const out of [5, 17]) {
            const k = await createConv2dKernel(
              gpu,
              {
                height: h,
                width: w,
                inChannels: c,
                outChannels: out,
                kernelHeight: 3,
                kernelWidth: 3,
                stride: 2,
                dilation: 1,
                activation,
                ...tiling,
              },
              uniform(rng, 9 * c * out),
              uniform(rng, out),
            );
            (await runChecked(gpu, k, input, `conv2d ${name}`)).buffer.destroy();
            k.dispose();
          }
        }
      } finally {
        input.destroy();
      }
    }
  } finally {
    gpu.destroy();
  }
});

/**
 * Runs the network layer by layer, each output buffer poisoned with NaN, checks every lane, and
 * asserts that the last layer's lanes equal `runNetworkOnce()`'s heads.
 */
async function checkNetworkLayers(
  gpu: GpuContext,
  weights: PoseNetWeights,
  size: number,
  outputStride: OutputStride,
  what: string,
): Promise<void> {
  const network = await createPoseNetNetwork(gpu, weights, {
    inputHeight: size,
    inputWidth: size,
    outputStride,
  });
  const rng = mulberry32(seed + size + outputStride);
  const input = uniform(rng, size * size * 3);
  const buffers: GPUBuffer[] = [upload(gpu, packChannels(input, size * size, 3))];
  try {
    let lanes: Float32Array | undefined;
    for (const [i, layer] of network.layers.entries()) {
      const out = await runChecked(gpu, layer, buffers.at(-1)!, `${what} layer ${i}`);
      buffers.push(out.buffer);
      lanes = out.lanes;
    }
    // The heads' padded lanes (heatmap 17..19, offsets 54..55) are among those checked above.
    assert.equal(network.layers.at(-1)!.outputShape[2], HEAD_LAYOUT.channels);
    const heads = await runNetworkOnce(gpu, network, input);
    const layered = splitHeads(
      lanes! as Float32Array<ArrayBuffer>,
      network.heatmapHeight,
      network.heatmapWidth,
      outputStride,
    );
    assert.deepEqual(layered, heads, `${what}: layer by layer equals runNetworkOnce()`);
  } finally {
    for (const b of buffers) b.destroy();
    network.dispose();
  }
}

Deno.test("`createPoseNetNetwork()` writes padded channels as 0 in every intermediate buffer", async () => {
  const gpu = await createGpuContext();
  try {
    // Channel counts that leave 1, 2 or 3 padded lanes, as a MobileNet of another multiplier could.
    const channels = [5, 10, 10, 19, 19, 34, 34, 66, 66, 66, 66, 66, 131, 131];
    const weights = syntheticWeights(channels, mulberry32(seed), 0.5);
    for (const stride of [8, 16, 32] as const) {
      await checkNetworkLayers(gpu, weights, 65, stride, `odd channels, stride ${stride}`);
    }
    await checkNetworkLayers(gpu, await defaultWeights(), 129, 16, "real weights");
  } finally {
    gpu.destroy();
  }
});
