/**
 * Host side of the fused single-pose decode shader.
 *
 * @module
 */

import { bindBuffers, computePipeline } from "../kernels/compute_kernel.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import { DECODE_FLOATS_PER_PART, decodeSinglePoseShader } from "../shaders/decode_single_pose.ts";
import type { FusedHeadsLayout } from "../shaders/fused_heads_layout.ts";
import { NUM_KEYPOINTS, PART_NAMES, type Pose } from "./keypoints.ts";

/** Bytes the decode writes: 17 parts × (score, y, x, cell). */
export const SINGLE_POSE_RESULT_BYTES: number = NUM_KEYPOINTS * DECODE_FLOATS_PER_PART * 4;

/** The fused decode for one heatmap size. */
export interface SinglePoseDecoder {
  /**
   * Makes the bind group for one image's buffers.
   *
   * @param heads The fused heads buffer.
   * @param uniforms Uniform buffer holding `decodeUniforms(transform)`.
   * @param keypoints Output buffer of {@linkcode SINGLE_POSE_RESULT_BYTES}.
   */
  bind(heads: GPUBuffer, uniforms: GPUBuffer, keypoints: GPUBuffer): GPUBindGroup;
  /**
   * Records the dispatch: one workgroup per part.
   *
   * @param pass An open compute pass.
   * @param bindGroup From {@linkcode SinglePoseDecoder.bind}.
   */
  dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup): void;
}

/** Layout of the heads buffer the decoder reads. */
export type SinglePoseDecoderConfig = FusedHeadsLayout;

/**
 * Builds the fused sigmoid-argmax-offset decode for one heatmap size.
 *
 * @param gpu The device context.
 * @param config Heatmap size and heads layout.
 * @returns The decoder.
 *
 * @example
 * ```ts
 * import { createGpuContext, HEAD_LAYOUT } from "../kernels/mod.ts";
 * import { decodeUniforms } from "../shaders/decode_single_pose.ts";
 * import {
 *   createSinglePoseDecoder,
 *   poseFromDecoded,
 *   SINGLE_POSE_RESULT_BYTES,
 * } from "./single_pose_gpu.ts";
 *
 * const gpu = await createGpuContext();
 * const decoder = await createSinglePoseDecoder(gpu, {
 *   height: 17,
 *   width: 17,
 *   outputStride: 16,
 *   cellStride: HEAD_LAYOUT.channels,
 *   heatmapChannel: HEAD_LAYOUT.heatmap,
 *   offsetChannel: HEAD_LAYOUT.offsets,
 * });
 * // Fused heads with every logit at -5 except the nose's at cell (y 5, x 7).
 * const fused = new Float32Array(17 * 17 * HEAD_LAYOUT.channels);
 * for (let cell = 0; cell < 17 * 17; cell++) {
 *   fused.fill(-5, cell * HEAD_LAYOUT.channels, cell * HEAD_LAYOUT.channels + 17);
 * }
 * fused[(5 * 17 + 7) * HEAD_LAYOUT.channels + HEAD_LAYOUT.heatmap] = 5;
 * const device = gpu.device;
 * const heads = device.createBuffer({
 *   size: fused.byteLength,
 *   usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
 * });
 * const uniforms = device.createBuffer({
 *   size: 32,
 *   usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
 * });
 * const keypoints = device.createBuffer({
 *   size: SINGLE_POSE_RESULT_BYTES,
 *   usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
 * });
 * const readback = device.createBuffer({
 *   size: SINGLE_POSE_RESULT_BYTES,
 *   usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
 * });
 * device.queue.writeBuffer(heads, 0, fused);
 * const identity = { scaleY: 1, scaleX: 1, padTop: 0, padLeft: 0, imageWidth: 257 };
 * device.queue.writeBuffer(uniforms, 0, decodeUniforms({ ...identity, flipHorizontal: false }));
 * const encoder = device.createCommandEncoder();
 * const pass = encoder.beginComputePass();
 * decoder.dispatch(pass, decoder.bind(heads, uniforms, keypoints));
 * pass.end();
 * encoder.copyBufferToBuffer(keypoints, 0, readback, 0, SINGLE_POSE_RESULT_BYTES);
 * device.queue.submit([encoder.finish()]);
 * await gpu.guard(readback.mapAsync(GPUMapMode.READ));
 * const pose = poseFromDecoded(new Float32Array(readback.getMappedRange().slice(0)));
 * console.log(pose.keypoints[0].position); // { x: 112, y: 80 }: cell (5, 7) × stride 16
 * gpu.destroy();
 * ```
 */
export async function createSinglePoseDecoder(
  gpu: GpuContext,
  config: SinglePoseDecoderConfig,
): Promise<SinglePoseDecoder> {
  const pipeline = await computePipeline(
    gpu,
    decodeSinglePoseShader({ ...config, parts: NUM_KEYPOINTS }),
    "decode single pose",
  );
  return {
    bind(heads: GPUBuffer, uniforms: GPUBuffer, keypoints: GPUBuffer): GPUBindGroup {
      return bindBuffers(gpu, pipeline, "decode single pose", [heads, uniforms, keypoints]);
    },
    dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup): void {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(NUM_KEYPOINTS);
    },
  };
}

/**
 * Turns the decoder's 17 × (score, y, x, cell) floats into a {@linkcode Pose}; the pose score is
 * the mean keypoint score.
 *
 * @param result The floats read back.
 * @returns The pose.
 *
 * @example
 * ```ts
 * import { poseFromDecoded } from "./single_pose_gpu.ts";
 * const pose = poseFromDecoded(new Float32Array(17 * 4).fill(0.5));
 * console.log(pose.keypoints[0].part, pose.score); // nose 0.5
 * ```
 */
export function poseFromDecoded(result: Float32Array): Pose {
  let total = 0;
  const keypoints = PART_NAMES.map((part, k) => {
    const [score, y, x] = result.subarray(
      k * DECODE_FLOATS_PER_PART,
      k * DECODE_FLOATS_PER_PART + 3,
    );
    total += score;
    return { part, score, position: { x, y } };
  });
  return { score: total / NUM_KEYPOINTS, keypoints };
}
