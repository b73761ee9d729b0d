/**
 * Host side of the GPU multi-pose decode: root candidates and the pose grown from each of them are
 * computed on the GPU (`shaders/multi_pose_candidates.ts`, `shaders/multi_pose_walk.ts`, result
 * layout in `shaders/multi_pose_layout.ts`), then the CPU picks among them with the same
 * {@linkcode selectMultiplePoses} as the CPU decoder (heap order, NMS, instance scores). Only
 * the candidate count and the candidate records are read back: 4 + 280 bytes per candidate slot
 * instead of all four heads.
 *
 * The result is identical to {@linkcode decodeMultiplePoses} on the same heads: the GPU hands back
 * cells, offsets and logits, and the host turns them into positions (float64) and scores (the
 * CPU's sigmoid) exactly as the CPU decode does, and re-checks every candidate exactly.
 *
 * @module
 */

import { describe } from "../_describe.ts";
import { InvalidInputError } from "../errors.ts";
import { bindBuffers, computePipeline, workgroupGrid } from "../kernels/compute_kernel.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import {
  MULTI_POSE_UNIFORM_BYTES,
  multiPoseCandidatesShader,
  multiPoseUniforms,
} from "../shaders/multi_pose_candidates.ts";
import { MULTI_POSE_RESULT, type MultiPoseShaderParams } from "../shaders/multi_pose_layout.ts";
import { multiPoseWalkShader } from "../shaders/multi_pose_walk.ts";
import { sigmoidScore } from "./heads.ts";
import {
  type Keypoint,
  NUM_KEYPOINTS,
  PART_NAMES,
  type Pose,
  POSE_CHAIN_INDICES,
  type Vector2D,
} from "./keypoints.ts";
import {
  type MultiPoseOptions,
  type PartCandidate,
  resolveMultiPoseOptions,
  selectMultiplePoses,
} from "./multi_pose.ts";

/** Candidate records the decoder has room for unless told otherwise. */
export const DEFAULT_MAX_CANDIDATES: number = 128;

/**
 * Layout of the heads buffer (output stride 8, 16 or 32: a power of two) and capacity of the
 * candidate list.
 */
export interface MultiPoseDecoderConfig
  extends Omit<MultiPoseShaderParams, "maxCandidates" | "edges"> {
  /**
   * Candidates the GPU keeps (default {@linkcode DEFAULT_MAX_CANDIDATES}). When more are found,
   * {@linkcode candidateCount} exceeds it, {@linkcode posesFromCandidateRecords} throws a
   * `RangeError`, and the caller decodes the heads on the CPU instead.
   */
  readonly maxCandidates?: number;
}

/**
 * The buffers one decode in flight uses: made once per heads buffer
 * ({@linkcode MultiPoseDecoder.createBuffers}) and reused for every image decoded from it.
 */
export interface MultiPoseBuffers {
  /** Uniform block with the score threshold. */
  readonly uniforms: GPUBuffer;
  /** Candidate count and records (storage). */
  readonly candidates: GPUBuffer;
  /** Where {@linkcode MultiPoseDecoder.copyResult} copies them (`MAP_READ`). */
  readonly readback: GPUBuffer;
  /** Frees the buffers. */
  destroy(): void;
}

/** Where the heatmap grid and the candidate records are, for {@linkcode posesFromCandidateRecords}. */
export interface CandidateRecordLayout {
  /** Heatmap rows. */
  readonly height: number;
  /** Heatmap columns. */
  readonly width: number;
  /** Output stride. */
  readonly outputStride: number;
  /** Record slots in the result. */
  readonly maxCandidates: number;
}

/** The GPU multi-pose decode for one heatmap size. */
export interface MultiPoseDecoder extends CandidateRecordLayout {
  /** Bytes one decode reads back: the count and every record slot. */
  readonly resultBytes: number;
  /**
   * Makes the buffers of one decode in flight, reading the given heads buffer.
   *
   * @param heads The fused heads buffer.
   */
  createBuffers(heads: GPUBuffer): MultiPoseBuffers;
  /**
   * Queues the score threshold and the reset of the candidate count; call before submitting
   * the command buffer that {@linkcode MultiPoseDecoder.dispatch} records into.
   *
   * @param buffers From {@linkcode MultiPoseDecoder.createBuffers}.
   * @param scoreThreshold Least root score, in [0, 1].
   */
  prepare(buffers: MultiPoseBuffers, scoreThreshold: number): void;
  /**
   * Records pass A (candidates) and pass B (pose walks).
   *
   * @param pass An open compute pass, after the heads are written.
   * @param buffers From {@linkcode MultiPoseDecoder.createBuffers}.
   */
  dispatch(pass: GPUComputePassEncoder, buffers: MultiPoseBuffers): void;
  /**
   * Records the copy of the result into the readback buffer.
   *
   * @param encoder The command encoder, after the compute pass.
   * @param buffers From {@linkcode MultiPoseDecoder.createBuffers}.
   */
  copyResult(encoder: GPUCommandEncoder, buffers: MultiPoseBuffers): void;
  /**
   * Waits for the copied result and returns a copy of it.
   *
   * @param buffers From {@linkcode MultiPoseDecoder.createBuffers}.
   * @returns The {@linkcode MultiPoseDecoder.resultBytes} bytes.
   */
  readResult(buffers: MultiPoseBuffers): Promise<ArrayBuffer>;
}

/**
 * Builds the two GPU passes of the multi-pose decode for one heatmap size.
 *
 * @param gpu The device context.
 * @param config Heatmap size, heads layout and capacity.
 * @returns The decoder.
 * @throws {InvalidInputError} On a stride that is not a power of two or a bad capacity.
 *
 * @example
 * ```ts ignore
 * const decoder = await createMultiPoseDecoder(gpu, { height: 17, width: 17, outputStride: 16, cellStride: 120, heatmapChannel: 0, offsetChannel: 20, displacementFwdChannel: 56, displacementBwdChannel: 88 });
 * ```
 */
export async function createMultiPoseDecoder(
  gpu: GpuContext,
  config: MultiPoseDecoderConfig,
): Promise<MultiPoseDecoder> {
  const { height, width, outputStride } = config;
  const maxCandidates = config.maxCandidates ?? DEFAULT_MAX_CANDIDATES;
  if (!Number.isInteger(maxCandidates) || maxCandidates < 1 || maxCandidates > 65536) {
    throw new InvalidInputError(
      `maxCandidates must be an integer in [1, 65536], got ${describe(maxCandidates)}`,
    );
  }
  if (!Number.isInteger(outputStride) || outputStride < 1 || (outputStride & (outputStride - 1))) {
    throw new InvalidInputError(
      `the GPU multi-pose decode needs a power-of-two output stride, got ${describe(outputStride)}`,
    );
  }
  const params = { ...config, maxCandidates, edges: POSE_CHAIN_INDICES };
  const candidatesPipeline = await computePipeline(
    gpu,
    multiPoseCandidatesShader(params),
    "multi-pose candidates",
  );
  const walkPipeline = await computePipeline(gpu, multiPoseWalkShader(params), "multi-pose walk");
  const candidatesGrid = workgroupGrid(
    height * width * NUM_KEYPOINTS,
    gpu.maxWorkgroupsPerDimension,
  );
  const walkGrid = workgroupGrid(maxCandidates, gpu.maxWorkgroupsPerDimension);
  const resultBytes = 4 *
    (MULTI_POSE_RESULT.headerWords + maxCandidates * MULTI_POSE_RESULT.recordWords);
  const device = gpu.device;
  const bindGroups = new WeakMap<MultiPoseBuffers, [GPUBindGroup, GPUBindGroup]>();
  return {
    height,
    width,
    outputStride,
    maxCandidates,
    resultBytes,
    createBuffers(heads: GPUBuffer): MultiPoseBuffers {
      const uniforms = device.createBuffer({
        label: "multi-pose uniforms",
        size: MULTI_POSE_UNIFORM_BYTES,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      const candidates = device.createBuffer({
        label: "multi-pose candidates",
        size: resultBytes,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      const readback = device.createBuffer({
        label: "multi-pose readback",
        size: resultBytes,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      const buffers: MultiPoseBuffers = {
        uniforms,
        candidates,
        readback,
        destroy() {
          uniforms.destroy();
          candidates.destroy();
          readback.destroy();
        },
      };
      bindGroups.set(buffers, [
        bindBuffers(gpu, candidatesPipeline, "multi-pose candidates", [
          heads,
          uniforms,
          candidates,
        ]),
        bindBuffers(gpu, walkPipeline, "multi-pose walk", [heads, candidates]),
      ]);
      return buffers;
    },
    prepare(buffers: MultiPoseBuffers, scoreThreshold: number): void {
      device.queue.writeBuffer(buffers.uniforms, 0, multiPoseUniforms(scoreThreshold));
      device.queue.writeBuffer(
        buffers.candidates,
        0,
        new Uint32Array(MULTI_POSE_RESULT.headerWords),
      );
    },
    dispatch(pass: GPUComputePassEncoder, buffers: MultiPoseBuffers): void {
      const [candidates, walk] = bindGroups.get(buffers)!;
      pass.setPipeline(candidatesPipeline);
      pass.setBindGroup(0, candidates);
      pass.dispatchWorkgroups(candidatesGrid[0], candidatesGrid[1]);
      pass.setPipeline(walkPipeline);
      pass.setBindGroup(0, walk);
      pass.dispatchWorkgroups(walkGrid[0], walkGrid[1]);
    },
    copyResult(encoder: GPUCommandEncoder, buffers: MultiPoseBuffers): void {
      encoder.copyBufferToBuffer(buffers.candidates, 0, buffers.readback, 0, resultBytes);
    },
    async readResult(buffers: MultiPoseBuffers): Promise<ArrayBuffer> {
      await gpu.guard(buffers.readback.mapAsync(GPUMapMode.READ));
      const result = buffers.readback.getMappedRange().slice(0);
      buffers.readback.unmap();
      return result;
    },
  };
}

/**
 * The number of candidates the GPU found, counted past the capacity.
 *
 * @param result The decoder's result bytes.
 * @returns The count; more than `maxCandidates` means the records are incomplete.
 *
 * @example
 * ```ts
 * import { candidateCount } from "./multi_pose_gpu.ts";
 * console.log(candidateCount(new Uint32Array([3]).buffer)); // 3
 * ```
 */
export function candidateCount(result: ArrayBuffer): number {
  return new Uint32Array(result, 0, 1)[0];
}

/** The first word of keypoint `part`'s entry in the record starting at word `record`. */
function keypointEntry(record: number, part: number): number {
  return record + MULTI_POSE_RESULT.keypoints + part * MULTI_POSE_RESULT.keypointWords;
}

interface RecordedCandidate extends PartCandidate {
  readonly record: number;
}

/**
 * Turns the GPU decoder's candidate records into poses, exactly as `decodeMultiplePoses` would
 * decode the same heads: each candidate is re-checked with the CPU's sigmoid (threshold, and no
 * strictly greater neighbour), then {@linkcode selectMultiplePoses} picks the poses.
 *
 * @param result The decoder's result bytes (count, then records).
 * @param layout Heatmap size, stride and record slots of the decoder.
 * @param options Decoder options; see {@linkcode MultiPoseOptions}.
 * @returns Up to `maxDetections` poses in network-input pixels, in the order found.
 * @throws {InvalidInputError} On invalid options.
 * @throws {RangeError} When the count exceeds `layout.maxCandidates` (decode the heads instead).
 *
 * @example
 * ```ts
 * import { posesFromCandidateRecords } from "./multi_pose_gpu.ts";
 * import { MULTI_POSE_RESULT as R } from "../shaders/multi_pose_layout.ts";
 * const empty = new Uint32Array(R.headerWords + 4 * R.recordWords).buffer; // no candidates
 * console.log(posesFromCandidateRecords(empty, { height: 9, width: 9, outputStride: 16, maxCandidates: 4 })); // []
 * ```
 */
export function posesFromCandidateRecords(
  result: ArrayBuffer,
  layout: CandidateRecordLayout,
  options?: MultiPoseOptions,
): Pose[] {
  const resolved = resolveMultiPoseOptions(options);
  const { width, outputStride, maxCandidates } = layout;
  const count = candidateCount(result);
  if (count > maxCandidates) {
    throw new RangeError(
      `${count} candidates do not fit the ${maxCandidates} records; decode the heads instead`,
    );
  }
  const R = MULTI_POSE_RESULT;
  const words = new Uint32Array(result, 0, R.headerWords + count * R.recordWords);
  const floats = new Float32Array(words.buffer, 0, words.length);
  const candidates: RecordedCandidate[] = [];
  for (let i = 0; i < count; i++) {
    const record = R.headerWords + i * R.recordWords;
    const key = words[record + R.key];
    const part = key % NUM_KEYPOINTS;
    const cell = (key - part) / NUM_KEYPOINTS;
    const rootScore = sigmoidScore(floats[keypointEntry(record, part) + R.logit]);
    // The GPU kept near misses; this is findPartCandidates' exact test.
    if (rootScore < resolved.scoreThreshold) continue;
    if (sigmoidScore(floats[record + R.neighbourLogit]) > rootScore) continue;
    candidates.push({
      part,
      y: Math.floor(cell / width),
      x: cell % width,
      score: rootScore,
      record,
    });
  }
  const positionOf = (record: number, part: number): Vector2D => {
    const at = keypointEntry(record, part);
    const cell = words[at + R.cell];
    return {
      x: (cell % width) * outputStride + floats[at + R.offsetX],
      y: Math.floor(cell / width) * outputStride + floats[at + R.offsetY],
    };
  };
  return selectMultiplePoses(
    candidates,
    width,
    resolved,
    (root) => positionOf(root.record, root.part),
    (root, rootPosition): Keypoint[] =>
      PART_NAMES.map((part, k) =>
        k === root.part ? { part, score: root.score, position: rootPosition } : {
          part,
          score: sigmoidScore(floats[keypointEntry(root.record, k) + R.logit]),
          position: positionOf(root.record, k),
        }
      ),
  );
}
