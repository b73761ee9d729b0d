/**
 * Host side of the GPU multi-pose decode: root candidates and the pose grown from each of them are
 * computed on the GPU (`shaders/multi_pose_candidates.ts`), then the CPU picks among them with the
 * same {@linkcode selectMultiplePoses} as the CPU decoder (heap order, NMS, instance scores). Only
 * the candidate count and the candidate records are read back: 4 + 280 bytes per candidate slot
 * instead of all four heads.
 *
 * The result is identical to {@linkcode decodeMultiplePoses} on the same heads: the GPU hands back
 * cells, offsets and logits, and the host turns them into positions (float64) and scores (the
 * CPU's sigmoid) exactly as the CPU decode does, and re-checks every candidate exactly.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { computePipeline, workgroupGrid } from "../kernels/compute_kernel.ts";
import type { GpuContext } from "../kernels/gpu_context.ts";
import {
  MULTI_POSE_HEADER_WORDS,
  MULTI_POSE_PARAMS_BYTES,
  MULTI_POSE_RECORD_WORDS,
  multiPoseCandidatesShader,
  multiPoseParams,
  multiPoseWalkShader,
} from "../shaders/multi_pose_candidates.ts";
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

/** Layout of the heads buffer and capacity of the candidate list. */
export interface MultiPoseDecoderConfig {
  /** Heatmap rows. */
  readonly height: number;
  /** Heatmap columns. */
  readonly width: number;
  /** Output stride (8, 16 or 32: a power of two). */
  readonly outputStride: number;
  /** Floats per cell in the heads buffer. */
  readonly cellStride: number;
  /** Channel of the first heatmap logit in a cell. */
  readonly heatmapChannel: number;
  /** Channel of the first y offset in a cell. */
  readonly offsetChannel: number;
  /** Channel of the first forward y displacement in a cell. */
  readonly displacementFwdChannel: number;
  /** Channel of the first backward y displacement in a cell. */
  readonly displacementBwdChannel: number;
  /**
   * Candidates the GPU keeps (default {@linkcode DEFAULT_MAX_CANDIDATES}). When more are found,
   * {@linkcode MultiPoseDecoder.decode} returns `undefined` and the caller decodes the heads on
   * the CPU.
   */
  readonly maxCandidates?: number;
}

/** One frame's buffers for the decoder. */
export interface MultiPoseFrame {
  /** Uniform block with the score threshold. */
  readonly params: GPUBuffer;
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
  /** Bytes one frame reads back: the count and every record slot. */
  readonly resultBytes: number;
  /**
   * Makes one frame's buffers, reading the given heads buffer.
   *
   * @param heads The fused heads buffer.
   */
  createFrame(heads: GPUBuffer): MultiPoseFrame;
  /**
   * Queues the frame's threshold and the reset of its candidate count; call before submitting
   * the command buffer that {@linkcode MultiPoseDecoder.dispatch} records into.
   *
   * @param frame From {@linkcode MultiPoseDecoder.createFrame}.
   * @param scoreThreshold Least root score, in [0, 1].
   */
  prepare(frame: MultiPoseFrame, scoreThreshold: number): void;
  /**
   * Records pass A (candidates) and pass B (pose walks).
   *
   * @param pass An open compute pass, after the heads are written.
   * @param frame From {@linkcode MultiPoseDecoder.createFrame}.
   */
  dispatch(pass: GPUComputePassEncoder, frame: MultiPoseFrame): void;
  /**
   * Records the copy of the result into the frame's readback buffer.
   *
   * @param encoder The command encoder, after the compute pass.
   * @param frame From {@linkcode MultiPoseDecoder.createFrame}.
   */
  copyResult(encoder: GPUCommandEncoder, frame: MultiPoseFrame): void;
  /**
   * Waits for the copied result and returns a copy of it.
   *
   * @param frame From {@linkcode MultiPoseDecoder.createFrame}.
   * @returns The {@linkcode MultiPoseDecoder.resultBytes} bytes.
   */
  readResult(frame: MultiPoseFrame): Promise<ArrayBuffer>;
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
      `maxCandidates must be an integer in [1, 65536], got ${String(maxCandidates)}`,
    );
  }
  if (!Number.isInteger(outputStride) || outputStride < 1 || (outputStride & (outputStride - 1))) {
    throw new InvalidInputError(
      `the GPU multi-pose decode needs a power-of-two output stride, got ${String(outputStride)}`,
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
  const resultBytes = 4 * (MULTI_POSE_HEADER_WORDS + maxCandidates * MULTI_POSE_RECORD_WORDS);
  const device = gpu.device;
  const bindGroups = new WeakMap<MultiPoseFrame, [GPUBindGroup, GPUBindGroup]>();
  return {
    height,
    width,
    outputStride,
    maxCandidates,
    resultBytes,
    createFrame(heads: GPUBuffer): MultiPoseFrame {
      const params = device.createBuffer({
        label: "multi-pose params",
        size: MULTI_POSE_PARAMS_BYTES,
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
      const frame: MultiPoseFrame = {
        params,
        candidates,
        readback,
        destroy() {
          params.destroy();
          candidates.destroy();
          readback.destroy();
        },
      };
      bindGroups.set(frame, [
        device.createBindGroup({
          label: "multi-pose candidates",
          layout: candidatesPipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: heads } },
            { binding: 1, resource: { buffer: params } },
            { binding: 2, resource: { buffer: candidates } },
          ],
        }),
        device.createBindGroup({
          label: "multi-pose walk",
          layout: walkPipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: heads } },
            { binding: 1, resource: { buffer: candidates } },
          ],
        }),
      ]);
      return frame;
    },
    prepare(frame: MultiPoseFrame, scoreThreshold: number): void {
      device.queue.writeBuffer(frame.params, 0, multiPoseParams(scoreThreshold));
      device.queue.writeBuffer(frame.candidates, 0, new Uint32Array(1));
    },
    dispatch(pass: GPUComputePassEncoder, frame: MultiPoseFrame): void {
      const [candidates, walk] = bindGroups.get(frame)!;
      pass.setPipeline(candidatesPipeline);
      pass.setBindGroup(0, candidates);
      pass.dispatchWorkgroups(candidatesGrid[0], candidatesGrid[1]);
      pass.setPipeline(walkPipeline);
      pass.setBindGroup(0, walk);
      pass.dispatchWorkgroups(walkGrid[0], walkGrid[1]);
    },
    copyResult(encoder: GPUCommandEncoder, frame: MultiPoseFrame): void {
      encoder.copyBufferToBuffer(frame.candidates, 0, frame.readback, 0, resultBytes);
    },
    async readResult(frame: MultiPoseFrame): Promise<ArrayBuffer> {
      await gpu.guard(frame.readback.mapAsync(GPUMapMode.READ));
      const result = frame.readback.getMappedRange().slice(0);
      frame.readback.unmap();
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

/** `sigmoidScores` for one logit: float64 `1 / (1 + exp(-x))`, rounded to float32. */
function score(logit: number): number {
  return Math.fround(1 / (1 + Math.exp(-logit)));
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
 * const empty = new Uint32Array(1 + 4 * 70).buffer; // no candidates
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
  const words = new Uint32Array(
    result,
    0,
    MULTI_POSE_HEADER_WORDS + count * MULTI_POSE_RECORD_WORDS,
  );
  const floats = new Float32Array(words.buffer, 0, words.length);
  const candidates: RecordedCandidate[] = [];
  for (let i = 0; i < count; i++) {
    const record = MULTI_POSE_HEADER_WORDS + i * MULTI_POSE_RECORD_WORDS;
    const key = words[record];
    const part = key % NUM_KEYPOINTS;
    const cell = (key - part) / NUM_KEYPOINTS;
    const rootScore = score(floats[record + 2 + part * 4 + 3]);
    // The GPU kept near misses; this is findPartCandidates' exact test.
    if (rootScore < resolved.scoreThreshold) continue;
    if (score(floats[record + 1]) > rootScore) continue;
    candidates.push({
      part,
      y: Math.floor(cell / width),
      x: cell % width,
      score: rootScore,
      record,
    });
  }
  const positionOf = (record: number, part: number): Vector2D => {
    const at = record + 2 + part * 4;
    const cell = words[at];
    return {
      x: (cell % width) * outputStride + floats[at + 2],
      y: Math.floor(cell / width) * outputStride + floats[at + 1],
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
          score: score(floats[root.record + 2 + k * 4 + 3]),
          position: positionOf(root.record, k),
        }
      ),
  );
}
