/**
 * Host side of MoveNet MultiPose's decode shader (`shaders/movenet_multipose_decode.ts`): the
 * graph's ops after the six heads (peaks, top-k, boxes, the Gaussian-weighted keypoint search,
 * offsets, instance scores) in one dispatch that writes the graph's `[1, K, 56]` output.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { bindBuffers, computePipeline, uploadStorage } from "../kernels/compute_kernel.ts";
import { dispatchAndRead } from "../kernels/run_kernel.ts";
import type { MultiPoseDecodeConstants } from "../models/movenet_multipose_graph.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import { packChannels } from "../runtime/layout.ts";
import { MOVENET_KEYPOINTS } from "../shaders/movenet_decode.ts";
import { WORKGROUP_SIZE } from "../shaders/wgsl_common.ts";
import {
  MULTIPOSE_ROW_FLOATS,
  multiPoseDecodeFloats,
  multiPoseDecodeShader,
} from "../shaders/movenet_multipose_decode.ts";

/** Channels of each head, in the order {@linkcode MultiPoseHeadBuffers} binds them. */
export const MULTIPOSE_HEAD_CHANNELS: Readonly<
  {
    center: number;
    boxScale: number;
    boxOffset: number;
    heatmap: number;
    regress: number;
    offset: number;
  }
> = Object.freeze({
  center: 1,
  boxScale: 2,
  boxOffset: 2,
  heatmap: MOVENET_KEYPOINTS,
  regress: 2 * MOVENET_KEYPOINTS,
  offset: 2 * MOVENET_KEYPOINTS,
});

/** The head size and the graph's decode constants. */
export interface MultiPoseDecodeConfig extends MultiPoseDecodeConstants {
  /** Head rows (input height / 4). */
  readonly height: number;
  /** Head columns (input width / 4). */
  readonly width: number;
}

/** The six NHWC4 head buffers of one frame. */
export type MultiPoseHeadBuffers = Readonly<
  Record<keyof typeof MULTIPOSE_HEAD_CHANNELS, GPUBuffer>
>;

/** The six heads as plain NHWC arrays (batch 1 squeezed), as TF.js returns them. */
export type MultiPoseHostHeads = Readonly<
  Record<keyof typeof MULTIPOSE_HEAD_CHANNELS, Float32Array>
>;

/** The decode for one head size. */
export interface MultiPoseDecoder {
  /** Head rows. */
  readonly height: number;
  /** Head columns. */
  readonly width: number;
  /** Instances per frame (the graph's K, 6). */
  readonly instances: number;
  /** Bytes the decode writes: the output buffer's size. */
  readonly outputBytes: number;
  /** Bytes of the graph's output at the start of the output buffer: what a frame reads back. */
  readonly resultBytes: number;
  /** The generated WGSL. */
  readonly wgsl: string;
  /**
   * Makes the bind group for one frame's buffers.
   *
   * @param heads The six NHWC4 heads.
   * @param output A `STORAGE` buffer of at least {@linkcode MultiPoseDecoder.outputBytes}.
   */
  bind(heads: MultiPoseHeadBuffers, output: GPUBuffer): GPUBindGroup;
  /**
   * Records the dispatch (one workgroup per instance).
   *
   * @param pass An open compute pass.
   * @param bindGroup From {@linkcode MultiPoseDecoder.bind}.
   */
  dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup): void;
  /** Nothing to free (the decode holds no buffer); for symmetry with the other parts. */
  dispose(): void;
}

/** What the decode wrote, read back whole by {@linkcode runMultiPoseDecodeOnce}. */
export interface MultiPoseDecodeResult {
  /** The graph's output, K rows of 56: 17 × (y, x, score), box, instance score. */
  readonly output: Float32Array;
  /** Each instance's centre cell (y·W + x), in TopKV2's order. */
  readonly centerCells: readonly number[];
  /** Each instance's 17 keypoint cells, instance-major. */
  readonly keypointCells: readonly number[];
}

function checkConfig(config: MultiPoseDecodeConfig): void {
  const { height, width, instances } = { ...config, instances: config.maxInstances };
  for (const [name, v] of [["height", height], ["width", width]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 4096) {
      throw new InvalidInputError(
        `MoveNet MultiPose decode: ${name} must be an integer in 1..4096, got ${v}`,
      );
    }
  }
  if (height * width >= 2 ** 24) {
    throw new InvalidInputError(
      `MoveNet MultiPose decode: ${height}x${width} cells do not fit the f32 cell indices`,
    );
  }
  // One lane per instance computes its box (and the cells must hold K peaks).
  const most = Math.min(WORKGROUP_SIZE, height * width);
  if (!Number.isInteger(instances) || instances < 1 || instances > most) {
    throw new InvalidInputError(
      `MoveNet MultiPose decode: maxInstances must be an integer in 1..${most} (at most the ` +
        `cells and ${WORKGROUP_SIZE}), got ${instances}`,
    );
  }
  if (
    !Number.isInteger(config.peakWindow) || config.peakWindow < 1 || config.peakWindow % 2 !== 1
  ) {
    throw new InvalidInputError(
      `MoveNet MultiPose decode: peakWindow must be an odd positive integer, got ${config.peakWindow}`,
    );
  }
  const constants = ["peakThreshold", "boxHalf", "gaussianSpread", "keypointThreshold", "stride"];
  for (const name of constants) {
    const v = config[name as keyof MultiPoseDecodeConfig] as number;
    if (!Number.isFinite(v)) {
      throw new InvalidInputError(`MoveNet MultiPose decode: ${name} must be finite, got ${v}`);
    }
  }
  if (!(config.gaussianSpread > 0) || !(config.stride > 0)) {
    throw new InvalidInputError(
      `MoveNet MultiPose decode: gaussianSpread and stride must be > 0, got ` +
        `${config.gaussianSpread} and ${config.stride}`,
    );
  }
}

/**
 * Builds the decode for one head size.
 *
 * @param gpu The device context.
 * @param config Head size and the graph's constants.
 * @returns The decoder.
 * @throws {InvalidInputError} When the size or a constant is out of range.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "../mod.ts";
 * import { createMultiPoseDecoder } from "./movenet_multipose_decode_gpu.ts";
 *
 * const gpu = await createGpuContext();
 * const decoder = await createMultiPoseDecoder(gpu, {
 *   height: 64, width: 48, maxInstances: 6, peakWindow: 5, peakThreshold: 1.0132789611816406e-6,
 *   boxHalf: 0.5, gaussianSpread: 0.300048828125, keypointThreshold: 0.126953125, stride: 4,
 * });
 * console.log(decoder.instances, decoder.resultBytes); // 6 1344
 * decoder.dispose();
 * gpu.destroy();
 * ```
 */
export async function createMultiPoseDecoder(
  gpu: GpuContext,
  config: MultiPoseDecodeConfig,
): Promise<MultiPoseDecoder> {
  checkConfig(config);
  const { height, width, maxInstances: instances } = config;
  const f = Math.fround;
  const wgsl = multiPoseDecodeShader({
    height,
    width,
    instances,
    peakWindow: config.peakWindow,
    peakThreshold: config.peakThreshold,
    boxHalf: config.boxHalf,
    // mul_6: Cast(Minimum(Hf, Wf)) · spread, one f32 product.
    gaussianDenominator: f(Math.min(height, width) * f(config.gaussianSpread)),
    keypointThreshold: config.keypointThreshold,
    stride: config.stride,
  });
  const pipeline = await computePipeline(gpu, wgsl, "movenet multipose decode");
  return {
    height,
    width,
    instances,
    outputBytes: 4 * multiPoseDecodeFloats(instances),
    resultBytes: 4 * instances * MULTIPOSE_ROW_FLOATS,
    wgsl,
    bind(heads: MultiPoseHeadBuffers, output: GPUBuffer): GPUBindGroup {
      return bindBuffers(gpu, pipeline, "movenet multipose decode", [
        heads.center,
        heads.boxScale,
        heads.boxOffset,
        heads.heatmap,
        heads.regress,
        heads.offset,
        output,
      ]);
    },
    dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup): void {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(instances);
    },
    dispose(): void {},
  };
}

/**
 * Packs host heads to NHWC4, runs the decode once with its output poisoned (NaN) first, and reads
 * the whole output back: for tests and inspection.
 *
 * @param gpu The device context.
 * @param decoder The decoder.
 * @param heads NHWC heads of the decoder's size.
 * @returns The graph's output and the chosen cells.
 * @throws {InvalidInputError} When a head has the wrong length.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "../mod.ts";
 * import { createMultiPoseDecoder, runMultiPoseDecodeOnce } from "./movenet_multipose_decode_gpu.ts";
 *
 * const [h, w] = [8, 8];
 * const gpu = await createGpuContext();
 * const decoder = await createMultiPoseDecoder(gpu, {
 *   height: h, width: w, maxInstances: 6, peakWindow: 5, peakThreshold: 1e-6, boxHalf: 0.5,
 *   gaussianSpread: 0.3, keypointThreshold: 0.127, stride: 4,
 * });
 * const heads = {
 *   center: new Float32Array(h * w).fill(-5).fill(5, 2 * w + 3, 2 * w + 4), // a peak at (2, 3)
 *   boxScale: new Float32Array(h * w * 2).fill(4),
 *   boxOffset: new Float32Array(h * w * 2),
 *   heatmap: new Float32Array(h * w * 17),
 *   regress: new Float32Array(h * w * 34),
 *   offset: new Float32Array(h * w * 34),
 * };
 * const out = await runMultiPoseDecodeOnce(gpu, decoder, heads);
 * console.log(out.centerCells[0], out.keypointCells[0]); // 19 19
 * console.log(Array.from(out.output.subarray(51, 55))); // [ 0, 0.125, 0.5, 0.625 ]
 * gpu.destroy();
 * ```
 */
export async function runMultiPoseDecodeOnce(
  gpu: GpuContext,
  decoder: MultiPoseDecoder,
  heads: MultiPoseHostHeads,
): Promise<MultiPoseDecodeResult> {
  const cells = decoder.height * decoder.width;
  const buffers: GPUBuffer[] = [];
  try {
    const upload = (name: keyof MultiPoseHostHeads): GPUBuffer => {
      const channels = MULTIPOSE_HEAD_CHANNELS[name];
      if (heads[name]?.length !== cells * channels) {
        throw new InvalidInputError(
          `MoveNet MultiPose decode: the ${name} head has ${heads[name]?.length} values, ` +
            `expected ${decoder.height}x${decoder.width}x${channels} = ${cells * channels}`,
        );
      }
      const buffer = uploadStorage(gpu, packChannels(heads[name], cells, channels), name);
      buffers.push(buffer);
      return buffer;
    };
    const bound: MultiPoseHeadBuffers = {
      center: upload("center"),
      boxScale: upload("boxScale"),
      boxOffset: upload("boxOffset"),
      heatmap: upload("heatmap"),
      regress: upload("regress"),
      offset: upload("offset"),
    };
    const output = gpu.device.createBuffer({
      label: "movenet multipose decode output",
      size: decoder.outputBytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    buffers.push(output);
    const bindGroup = decoder.bind(bound, output);
    const values = await dispatchAndRead(
      gpu,
      "movenet multipose decode",
      output,
      decoder.outputBytes,
      (pass) => decoder.dispatch(pass, bindGroup),
    );
    const k = decoder.instances;
    const rows = k * MULTIPOSE_ROW_FLOATS;
    return {
      output: values.slice(0, rows),
      centerCells: Array.from(values.subarray(rows, rows + k)),
      keypointCells: Array.from(values.subarray(rows + k)),
    };
  } finally {
    for (const b of buffers) b.destroy();
  }
}
