/**
 * Host side of the fused single-pose decode shader.
 *
 * @module
 */

import { computePipeline } from "../kernels/compute_kernel.ts";
import type { GpuContext } from "../kernels/gpu_context.ts";
import { DECODE_FLOATS_PER_PART, decodeSinglePoseShader } from "../shaders/decode_single_pose.ts";
import { NUM_KEYPOINTS, PART_NAMES, type Pose } from "./keypoints.ts";

/** Bytes the decode writes: 17 parts × (score, y, x, cell). */
export const SINGLE_POSE_RESULT_BYTES: number = NUM_KEYPOINTS * DECODE_FLOATS_PER_PART * 4;

/** The fused decode for one heatmap size. */
export interface SinglePoseDecoder {
  /**
   * Makes the bind group for one frame's buffers.
   *
   * @param heads The fused heads buffer.
   * @param frame Uniform buffer holding `decodeUniforms(...)`.
   * @param keypoints Output buffer of {@linkcode SINGLE_POSE_RESULT_BYTES}.
   */
  bind(heads: GPUBuffer, frame: GPUBuffer, keypoints: GPUBuffer): GPUBindGroup;
  /**
   * Records the dispatch: one workgroup per part.
   *
   * @param pass An open compute pass.
   * @param bindGroup From {@linkcode SinglePoseDecoder.bind}.
   */
  dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup): void;
}

/** Layout of the heads buffer the decoder reads. */
export interface SinglePoseDecoderConfig {
  /** Heatmap rows. */
  readonly height: number;
  /** Heatmap columns. */
  readonly width: number;
  /** Output stride. */
  readonly outputStride: number;
  /** Floats per cell in the heads buffer. */
  readonly cellStride: number;
  /** Channel of the first heatmap logit in a cell. */
  readonly heatmapChannel: number;
  /** Channel of the first y offset in a cell. */
  readonly offsetChannel: number;
}

/**
 * Builds the fused sigmoid-argmax-offset decode for one heatmap size.
 *
 * @param gpu The device context.
 * @param config Heatmap size and heads layout.
 * @returns The decoder.
 *
 * @example
 * ```ts ignore
 * const decoder = await createSinglePoseDecoder(gpu, { height: 17, width: 17, outputStride: 16, cellStride: 120, heatmapChannel: 0, offsetChannel: 20 });
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
    bind(heads: GPUBuffer, frame: GPUBuffer, keypoints: GPUBuffer): GPUBindGroup {
      return gpu.device.createBindGroup({
        label: "decode single pose",
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: heads } },
          { binding: 1, resource: { buffer: frame } },
          { binding: 2, resource: { buffer: keypoints } },
        ],
      });
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
