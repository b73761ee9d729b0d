/**
 * Host side of MoveNet SinglePose's decode shader (`shaders/movenet_decode.ts`): the graph's ops
 * after the four heads (centre argmax, regression, distance-weighted keypoint argmax, offsets) in
 * one dispatch that writes the graph's `[1, 1, 17, 3]` output.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { bindBuffers, computePipeline, uploadStorage } from "../kernels/compute_kernel.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import { packChannels } from "../runtime/layout.ts";
import { dispatchAndRead } from "../kernels/run_kernel.ts";
import {
  MOVENET_DECODE_FLOATS,
  MOVENET_KEYPOINTS,
  MOVENET_RESULT_FLOATS,
  movenetDecodeShader,
} from "../shaders/movenet_decode.ts";

/** Bytes the decode writes ({@linkcode MOVENET_DECODE_FLOATS} floats): the output buffer's size. */
export const MOVENET_DECODE_OUTPUT_BYTES: number = MOVENET_DECODE_FLOATS * 4;

/** Bytes of the graph's output at the start of the output buffer: what a frame reads back. */
export const MOVENET_RESULT_BYTES: number = MOVENET_RESULT_FLOATS * 4;

/** Channels of each head, in the order {@linkcode MovenetHeadBuffers} binds them. */
export const MOVENET_HEAD_CHANNELS: Readonly<
  { center: number; heatmap: number; regress: number; offset: number }
> = Object.freeze({
  center: 1,
  heatmap: MOVENET_KEYPOINTS,
  regress: 2 * MOVENET_KEYPOINTS,
  offset: 2 * MOVENET_KEYPOINTS,
});

/** The graph's decode constants and head size, as the caller reads them from the model. */
export interface MovenetDecodeConfig {
  /** Head rows (48 for Lightning, 64 for Thunder). */
  readonly height: number;
  /** Head columns. */
  readonly width: number;
  /** The centre prior, the graph's `ConstantFolding/StatefulPartitionedCall/truediv_2_recip`, `height × width`. */
  readonly prior: Float32Array;
  /** The graph's `StatefulPartitionedCall/add_5/y` (1.7998046875, float16 1.8). */
  readonly distanceBias: number;
  /** The graph's `StatefulPartitionedCall/Reshape_13` as (y, x). */
  readonly outputScale: readonly [number, number];
}

/** The four NHWC4 head buffers of one frame. */
export interface MovenetHeadBuffers {
  /** `[H, W, 1]` centre logits. */
  readonly center: GPUBuffer;
  /** `[H, W, 17]` keypoint heatmap logits. */
  readonly heatmap: GPUBuffer;
  /** `[H, W, 34]` regressed (y, x) displacements from the centre, interleaved. */
  readonly regress: GPUBuffer;
  /** `[H, W, 34]` (y, x) offsets within a cell, interleaved. */
  readonly offset: GPUBuffer;
}

/** The decode for one head size, its prior uploaded. */
export interface MovenetDecoder {
  /** Head rows. */
  readonly height: number;
  /** Head columns. */
  readonly width: number;
  /** The generated WGSL. */
  readonly wgsl: string;
  /**
   * Makes the bind group for one frame's buffers.
   *
   * @param heads The four NHWC4 heads.
   * @param output A buffer of at least {@linkcode MOVENET_DECODE_OUTPUT_BYTES} (`STORAGE`).
   */
  bind(heads: MovenetHeadBuffers, output: GPUBuffer): GPUBindGroup;
  /**
   * Records the dispatch (17 workgroups, one per keypoint).
   *
   * @param pass An open compute pass.
   * @param bindGroup From {@linkcode MovenetDecoder.bind}.
   */
  dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup): void;
  /** Frees the prior's buffer. */
  dispose(): void;
}

/** What the decode wrote, read back whole by {@linkcode runMovenetDecodeOnce}. */
export interface MovenetDecodeResult {
  /** The graph's output: (y, x, score) per keypoint, y and x as fractions of the model input. */
  readonly keypoints: Float32Array;
  /** The centre cell index (y·W + x). */
  readonly centerCell: number;
  /** Each keypoint's chosen cell index. */
  readonly keypointCells: readonly number[];
}

function checkConfig(config: MovenetDecodeConfig): void {
  const { height, width, prior, distanceBias, outputScale } = config;
  for (const [name, v] of [["height", height], ["width", width]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 4096) {
      throw new InvalidInputError(
        `MoveNet decode: ${name} must be an integer in 1..4096, got ${v}`,
      );
    }
  }
  if (height * width >= 2 ** 24) {
    throw new InvalidInputError(
      `MoveNet decode: ${height}x${width} cells do not fit the f32 cell indices`,
    );
  }
  if (prior.length !== height * width) {
    throw new InvalidInputError(
      `MoveNet decode: the prior has ${prior.length} values, expected ${height}x${width} = ` +
        `${height * width}`,
    );
  }
  const constants = [["distanceBias", distanceBias], ["outputScale[0]", outputScale[0]], [
    "outputScale[1]",
    outputScale[1],
  ]] as const;
  for (const [name, v] of constants) {
    if (!Number.isFinite(v)) {
      throw new InvalidInputError(`MoveNet decode: ${name} must be finite, got ${v}`);
    }
  }
  if (!(distanceBias > 0)) {
    throw new InvalidInputError(`MoveNet decode: distanceBias must be > 0, got ${distanceBias}`);
  }
}

/**
 * Builds the decode for one head size and uploads the prior.
 *
 * @param gpu The device context.
 * @param config Head size and the graph's constants.
 * @returns The decoder.
 * @throws {InvalidInputError} When the size or a constant is out of range, or the prior has the
 *   wrong length.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "../mod.ts";
 * import { createMovenetDecoder, runMovenetDecodeOnce } from "./movenet_decode_gpu.ts";
 *
 * const [h, w] = [6, 6];
 * const gpu = await createGpuContext();
 * const decoder = await createMovenetDecoder(gpu, {
 *   height: h,
 *   width: w,
 *   prior: new Float32Array(h * w).fill(0.5),
 *   distanceBias: 1.7998046875,
 *   outputScale: [1 / h, 1 / w],
 * });
 * // The centre at cell (2, 3); every keypoint regressed to (4, 1), where its heatmap peaks.
 * const center = new Float32Array(h * w).fill(-4);
 * center[2 * w + 3] = 4;
 * const regress = new Float32Array(h * w * 34);
 * for (let k = 0; k < 17; k++) regress.set([2, -2], (2 * w + 3) * 34 + 2 * k);
 * const heatmap = new Float32Array(h * w * 17).fill(-3);
 * heatmap.fill(3, (4 * w + 1) * 17, (4 * w + 2) * 17);
 * const offset = new Float32Array(h * w * 34).fill(0.25);
 * const out = await runMovenetDecodeOnce(gpu, decoder, { center, heatmap, regress, offset });
 * console.log(out.centerCell, out.keypointCells[0]); // 15 25
 * console.log((out.keypoints[0] * h).toFixed(2), (out.keypoints[1] * w).toFixed(2)); // 4.25 1.25
 * decoder.dispose();
 * gpu.destroy();
 * ```
 */
export async function createMovenetDecoder(
  gpu: GpuContext,
  config: MovenetDecodeConfig,
): Promise<MovenetDecoder> {
  checkConfig(config);
  const { height, width } = config;
  const wgsl = movenetDecodeShader(config);
  const pipeline = await computePipeline(gpu, wgsl, "movenet decode");
  const prior = uploadStorage(gpu, Float32Array.from(config.prior), "movenet centre prior");
  return {
    height,
    width,
    wgsl,
    bind(heads: MovenetHeadBuffers, output: GPUBuffer): GPUBindGroup {
      return bindBuffers(gpu, pipeline, "movenet decode", [
        heads.center,
        heads.heatmap,
        heads.regress,
        heads.offset,
        prior,
        output,
      ]);
    },
    dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup): void {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(MOVENET_KEYPOINTS);
    },
    dispose(): void {
      prior.destroy();
    },
  };
}

/** The four heads as plain NHWC arrays (batch 1 squeezed), as TF.js returns them. */
export interface MovenetHostHeads {
  /** `[H, W, 1]`. */
  readonly center: Float32Array;
  /** `[H, W, 17]`. */
  readonly heatmap: Float32Array;
  /** `[H, W, 34]`. */
  readonly regress: Float32Array;
  /** `[H, W, 34]`. */
  readonly offset: Float32Array;
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
 * import { createMovenetDecoder, runMovenetDecodeOnce } from "./movenet_decode_gpu.ts";
 *
 * const gpu = await createGpuContext();
 * const decoder = await createMovenetDecoder(gpu, {
 *   height: 2,
 *   width: 2,
 *   prior: new Float32Array([0.1, 0.2, 0.3, 0.4]),
 *   distanceBias: 1.8,
 *   outputScale: [0.5, 0.5],
 * });
 * const zeros = (channels: number) => new Float32Array(4 * channels);
 * const out = await runMovenetDecodeOnce(gpu, decoder, {
 *   center: zeros(1),
 *   heatmap: zeros(17),
 *   regress: zeros(34),
 *   offset: zeros(34),
 * });
 * console.log(out.centerCell, out.keypointCells[0], out.keypoints[2]); // 3 3 0.5
 * decoder.dispose();
 * gpu.destroy();
 * ```
 */
export async function runMovenetDecodeOnce(
  gpu: GpuContext,
  decoder: MovenetDecoder,
  heads: MovenetHostHeads,
): Promise<MovenetDecodeResult> {
  const cells = decoder.height * decoder.width;
  const buffers: GPUBuffer[] = [];
  try {
    const upload = (name: keyof MovenetHostHeads): GPUBuffer => {
      const channels = MOVENET_HEAD_CHANNELS[name];
      if (heads[name].length !== cells * channels) {
        throw new InvalidInputError(
          `MoveNet decode: the ${name} head has ${heads[name].length} values, expected ` +
            `${decoder.height}x${decoder.width}x${channels} = ${cells * channels}`,
        );
      }
      const buffer = uploadStorage(
        gpu,
        packChannels(heads[name], cells, channels),
        `movenet ${name}`,
      );
      buffers.push(buffer);
      return buffer;
    };
    const bound: MovenetHeadBuffers = {
      center: upload("center"),
      heatmap: upload("heatmap"),
      regress: upload("regress"),
      offset: upload("offset"),
    };
    const output = gpu.device.createBuffer({
      label: "movenet decode output",
      size: MOVENET_DECODE_OUTPUT_BYTES,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    buffers.push(output);
    const bindGroup = decoder.bind(bound, output);
    const values = await dispatchAndRead(
      gpu,
      "movenet decode",
      output,
      MOVENET_DECODE_OUTPUT_BYTES,
      (pass) => decoder.dispatch(pass, bindGroup),
    );
    return {
      keypoints: values.slice(0, MOVENET_RESULT_FLOATS),
      centerCell: values[MOVENET_RESULT_FLOATS],
      keypointCells: Array.from(values.subarray(MOVENET_RESULT_FLOATS + 1)),
    };
  } finally {
    for (const b of buffers) b.destroy();
  }
}
