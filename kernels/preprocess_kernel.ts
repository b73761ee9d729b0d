/**
 * Host side of the preprocessing shader: one pipeline per network input size, image size and
 * padding passed per image as uniforms.
 *
 * @module
 */

import {
  PREPROCESS_UNIFORM_BYTES,
  preprocessShader,
  preprocessUniforms,
  type PreprocessUniformValues,
} from "../shaders/preprocess.ts";
import { unpackChannels } from "../runtime/layout.ts";
import { dispatchAndRead } from "./run_kernel.ts";
import { bindBuffers, computePipeline, workgroupGrid } from "./compute_kernel.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";

/** The preprocessing pass for one network input size. */
export interface PreprocessKernel {
  /** Network input rows. */
  readonly outHeight: number;
  /** Network input columns. */
  readonly outWidth: number;
  /**
   * Makes the bind group for one image's buffers.
   *
   * @param image Raw image bytes (RGB or RGBA) as a storage buffer.
   * @param uniforms Uniform buffer holding `preprocessUniforms(...)`.
   * @param output The network's NHWC4 input buffer.
   */
  bind(image: GPUBuffer, uniforms: GPUBuffer, output: GPUBuffer): GPUBindGroup;
  /**
   * Records the dispatch.
   *
   * @param pass An open compute pass.
   * @param bindGroup From {@linkcode PreprocessKernel.bind}.
   */
  dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup): void;
}

/**
 * Builds the preprocessing pass for one network input size.
 *
 * @param gpu The device context.
 * @param outHeight Network input rows.
 * @param outWidth Network input columns.
 * @returns The pass.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "../mod.ts";
 * import { createPreprocessKernel } from "./preprocess_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const preprocess = await createPreprocessKernel(gpu, 257, 257);
 * console.log(preprocess.outHeight, preprocess.outWidth); // 257 257
 * gpu.destroy();
 * ```
 */
export async function createPreprocessKernel(
  gpu: GpuContext,
  outHeight: number,
  outWidth: number,
): Promise<PreprocessKernel> {
  const pipeline = await computePipeline(
    gpu,
    preprocessShader({ outHeight, outWidth }),
    "preprocess",
  );
  const grid = workgroupGrid(outHeight * outWidth, gpu.maxWorkgroupsPerDimension);
  return {
    outHeight,
    outWidth,
    bind(image: GPUBuffer, uniforms: GPUBuffer, output: GPUBuffer): GPUBindGroup {
      return bindBuffers(gpu, pipeline, "preprocess", [image, uniforms, output]);
    },
    dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup): void {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(grid[0], grid[1]);
    },
  };
}

/**
 * Runs the preprocessing pass once on host bytes and reads the network input back as NHWC
 * `[outHeight, outWidth, 3]`, for tests and inspection. The output is NaN-filled first.
 *
 * @param gpu The device context.
 * @param kernel The pass.
 * @param image Image bytes (length padded to a multiple of 4), size, channels and padding.
 * @returns The normalised network input.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "../mod.ts";
 * import { createPreprocessKernel, runPreprocessOnce } from "./preprocess_kernel.ts";
 *
 * // A white 8x6 RGBA image, padded to 8x8 (a row of zeros above and below) and resized to 9x9.
 * const gpu = await createGpuContext();
 * const kernel = await createPreprocessKernel(gpu, 9, 9);
 * const input = await runPreprocessOnce(gpu, kernel, {
 *   bytes: new Uint8Array(8 * 6 * 4).fill(255),
 *   imageWidth: 8,
 *   imageHeight: 6,
 *   channels: 4,
 *   padTop: 1,
 *   padLeft: 0,
 *   paddedHeight: 8,
 *   paddedWidth: 8,
 * });
 * console.log(input[0], input[(4 * 9 + 4) * 3]); // -1 (padding) 1 (white)
 * gpu.destroy();
 * ```
 */
export async function runPreprocessOnce(
  gpu: GpuContext,
  kernel: PreprocessKernel,
  image: PreprocessUniformValues & { readonly bytes: Uint8Array<ArrayBuffer> },
): Promise<Float32Array> {
  const { outHeight, outWidth } = kernel;
  const device = gpu.device;
  const outBytes = outHeight * outWidth * 16;
  const imageBuffer = device.createBuffer({
    size: Math.max(16, image.bytes.byteLength),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  const uniformBuffer = device.createBuffer({
    size: PREPROCESS_UNIFORM_BYTES,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const output = device.createBuffer({
    size: outBytes,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  try {
    device.queue.writeBuffer(imageBuffer, 0, image.bytes);
    device.queue.writeBuffer(uniformBuffer, 0, preprocessUniforms(image));
    const bindGroup = kernel.bind(imageBuffer, uniformBuffer, output);
    const packed = await dispatchAndRead(
      gpu,
      "preprocess",
      output,
      outBytes,
      (pass) => kernel.dispatch(pass, bindGroup),
    );
    return unpackChannels(packed, outHeight * outWidth, 3);
  } finally {
    for (const b of [imageBuffer, uniformBuffer, output]) b.destroy();
  }
}
