/**
 * Multi-pose decoding, matching TF.js PoseNet 2.x `decodeMultiplePoses` exactly, down to the order
 * of poses with equal root scores.
 *
 * The decoder has two halves:
 * 1. {@link findPartCandidates}: every cell whose score is at least the threshold and is not beaten
 *    in its 3x3 neighbourhood on its own part's heatmap becomes a root candidate;
 * 2. {@link selectMultiplePoses}: candidates are taken best first; one too close to the same part
 *    of an earlier pose is skipped, otherwise a pose is grown from it along the keypoint tree with
 *    the displacement and offset heads, and scored against the poses before it.
 *
 * {@link decodeMultiplePoses} runs both on the CPU, growing poses lazily
 * ({@link decodeMultiplePosesFromCandidates}). The GPU decoder (`multi_pose_gpu.ts`) finds the
 * candidates and grows a pose from every one of them on the GPU, then hands them to the same
 * {@link selectMultiplePoses}, so the heads never reach the CPU.
 *
 * @example
 * ```ts
 * import { decodeMultiplePoses } from "./multi_pose.ts";
 *
 * const cells = 17 * 17;
 * const heatmap = new Float32Array(cells * 17).fill(-6);
 * heatmap[(8 * 17 + 8) * 17 + 0] = 3; // a nose at cell (8, 8)
 * const poses = decodeMultiplePoses({
 *   height: 17,
 *   width: 17,
 *   outputStride: 16,
 *   heatmap,
 *   offsets: new Float32Array(cells * 34),
 *   displacementFwd: new Float32Array(cells * 32),
 *   displacementBwd: new Float32Array(cells * 32),
 * });
 * console.log(poses.length); // 1
 * ```
 *
 * @module
 */

import { describe } from "../_describe.ts";
import { requireObject, requirePositiveInteger } from "../_checks.ts";
import { InvalidInputError } from "../errors.ts";
import { CandidateHeap } from "./_candidate_heap.ts";
import { TreeWalker } from "./_tree_walker.ts";
import {
  type PoseNetHeads,
  type ScoredHeads,
  toScoredHeads,
  validateScoredHeads,
} from "./heads.ts";
import { applyInputTransform, type InputTransform } from "./input_transform.ts";
import { type Keypoint, NUM_KEYPOINTS, type Pose, type Vector2D } from "./keypoints.ts";

/** A root candidate: a local maximum of one part's score map. */
export interface PartCandidate {
  /** Part index, 0..16 (see `PART_NAMES`). */
  readonly part: number;
  /** Heatmap row. */
  readonly y: number;
  /** Heatmap column. */
  readonly x: number;
  /** The part's score at that cell (float32 sigmoid of the logit). */
  readonly score: number;
}

/** Options of the multi-pose decoder; every field is optional. */
export interface MultiPoseOptions {
  /** Most poses to return; a positive integer. Default 5. */
  readonly maxDetections?: number;
  /** Least root score for a candidate, in [0, 1]. Default 0.5. */
  readonly scoreThreshold?: number;
  /** Part-based NMS radius in input pixels; positive and finite. Default 20. */
  readonly nmsRadius?: number;
}

/** {@link MultiPoseOptions} with every default filled in. */
export interface ResolvedMultiPoseOptions {
  /** Most poses to return. */
  readonly maxDetections: number;
  /** Least root score for a candidate. */
  readonly scoreThreshold: number;
  /** Part-based NMS radius in input pixels. */
  readonly nmsRadius: number;
}

/** The defaults of PoseNet 2.x's `estimateMultiplePoses`. */
export const DEFAULT_MULTI_POSE_OPTIONS: ResolvedMultiPoseOptions = Object.freeze({
  maxDetections: 5,
  scoreThreshold: 0.5,
  nmsRadius: 20,
});

/** Half the side of the window a candidate must be a maximum of: 1, i.e. 3x3 cells. */
export const LOCAL_MAXIMUM_RADIUS: number = 1;

/**
 * Fills in the defaults of multi-pose options and checks them.
 *
 * @param options The caller's options, or undefined for all defaults.
 * @returns The options with every field set.
 * @throws {InvalidInputError} When `options` is not an object, `maxDetections` is not a positive
 * integer, `scoreThreshold` is not a number in [0, 1] or `nmsRadius` is not a positive finite
 * number. The message names the option and the value.
 *
 * @example
 * ```ts
 * import { resolveMultiPoseOptions } from "./multi_pose.ts";
 *
 * console.log(resolveMultiPoseOptions({ maxDetections: 2 }));
 * // { maxDetections: 2, scoreThreshold: 0.5, nmsRadius: 20 }
 * ```
 */
export function resolveMultiPoseOptions(options?: MultiPoseOptions): ResolvedMultiPoseOptions {
  if (options === undefined) return DEFAULT_MULTI_POSE_OPTIONS;
  requireObject("options", options);
  const {
    maxDetections = DEFAULT_MULTI_POSE_OPTIONS.maxDetections,
    scoreThreshold = DEFAULT_MULTI_POSE_OPTIONS.scoreThreshold,
    nmsRadius = DEFAULT_MULTI_POSE_OPTIONS.nmsRadius,
  } = options;
  requirePositiveInteger("maxDetections", maxDetections);
  if (typeof scoreThreshold !== "number" || !(scoreThreshold >= 0 && scoreThreshold <= 1)) {
    throw new InvalidInputError(
      `scoreThreshold must be a number in [0, 1], got ${describe(scoreThreshold)}`,
    );
  }
  if (typeof nmsRadius !== "number" || !Number.isFinite(nmsRadius) || nmsRadius <= 0) {
    throw new InvalidInputError(
      `nmsRadius must be a positive finite number, got ${describe(nmsRadius)}`,
    );
  }
  return { maxDetections, scoreThreshold, nmsRadius };
}

/**
 * Finds the root candidates in a score buffer, as PoseNet's `buildPartWithScoreQueue`: a cell's
 * part score qualifies when it is not below `scoreThreshold` and no score of the same part in the
 * 3x3 window around it (clipped to the grid) is strictly greater. Equal neighbours therefore all
 * qualify.
 *
 * @param scores Keypoint scores, `[height, width, 17]`.
 * @param height Heatmap rows.
 * @param width Heatmap columns.
 * @param scoreThreshold Least score, in [0, 1].
 * @returns The candidates in raster order: by row, then column, then part.
 * @throws {InvalidInputError} When a size, the threshold or the buffer length is invalid.
 *
 * @example
 * ```ts
 * import { findPartCandidates } from "./multi_pose.ts";
 *
 * const scores = new Float32Array(2 * 17).fill(0.1);
 * scores[17 + 5] = 0.9; // leftShoulder at (0, 1)
 * console.log(findPartCandidates(scores, 1, 2, 0.5)); // [{ part: 5, y: 0, x: 1, score: 0.8999999761581421 }]
 * ```
 */
export function findPartCandidates(
  scores: Float32Array,
  height: number,
  width: number,
  scoreThreshold: number,
): PartCandidate[] {
  validateScoreBuffer(scores, height, width);
  resolveMultiPoseOptions({ scoreThreshold });
  const candidates: PartCandidate[] = [];
  for (let y = 0; y < height; y++) {
    const yStart = Math.max(y - LOCAL_MAXIMUM_RADIUS, 0);
    const yEnd = Math.min(y + LOCAL_MAXIMUM_RADIUS + 1, height);
    for (let x = 0; x < width; x++) {
      const xStart = Math.max(x - LOCAL_MAXIMUM_RADIUS, 0);
      const xEnd = Math.min(x + LOCAL_MAXIMUM_RADIUS + 1, width);
      for (let part = 0; part < NUM_KEYPOINTS; part++) {
        const score = scores[(y * width + x) * NUM_KEYPOINTS + part];
        if (score < scoreThreshold) continue;
        let isMaximum = true;
        for (let wy = yStart; wy < yEnd && isMaximum; wy++) {
          for (let wx = xStart; wx < xEnd; wx++) {
            if (scores[(wy * width + wx) * NUM_KEYPOINTS + part] > score) {
              isMaximum = false;
              break;
            }
          }
        }
        if (isMaximum) candidates.push({ part, y, x, score });
      }
    }
  }
  return candidates;
}

function validateScoreBuffer(scores: Float32Array, height: number, width: number): void {
  requirePositiveInteger("height", height);
  requirePositiveInteger("width", width);
  const length = height * width * NUM_KEYPOINTS;
  if (!(scores instanceof Float32Array)) {
    throw new InvalidInputError(
      `scores must be a Float32Array of length ${length}, got ${describe(scores)}`,
    );
  }
  if (scores.length !== length) {
    throw new InvalidInputError(`scores must have length ${length}, got ${scores.length}`);
  }
}

function withinNmsRadius(
  poses: readonly Pose[],
  squaredNmsRadius: number,
  point: Vector2D,
  part: number,
): boolean {
  return poses.some(({ keypoints }) => {
    const other = keypoints[part].position;
    const dy = other.y - point.y;
    const dx = other.x - point.x;
    return dy * dy + dx * dx <= squaredNmsRadius;
  });
}

function validateCandidate(candidate: PartCandidate, index: number, heads: ScoredHeads): void {
  const name = `candidates[${index}]`;
  requireObject(name, candidate);
  const { part, y, x, score } = candidate;
  if (!Number.isInteger(part) || part < 0 || part >= NUM_KEYPOINTS) {
    throw new InvalidInputError(
      `${name}.part must be an integer in [0, 16], got ${describe(part)}`,
    );
  }
  if (!Number.isInteger(y) || y < 0 || y >= heads.height) {
    throw new InvalidInputError(
      `${name}.y must be an integer in [0, ${heads.height - 1}], got ${describe(y)}`,
    );
  }
  if (!Number.isInteger(x) || x < 0 || x >= heads.width) {
    throw new InvalidInputError(
      `${name}.x must be an integer in [0, ${heads.width - 1}], got ${describe(x)}`,
    );
  }
  if (typeof score !== "number") {
    throw new InvalidInputError(`${name}.score must be a number, got ${describe(score)}`);
  }
}

/**
 * The selection half of TF.js PoseNet 2.x `decodeMultiplePoses`, shared by every decode path: it
 * decides which root candidates become poses, in which order, and with which pose scores. How a
 * pose is grown from its root is left to the caller: the CPU decoder walks the keypoint tree on
 * demand ({@link decodeMultiplePosesFromCandidates}), the GPU decoder looks up poses it grew for
 * every candidate in advance (`decode/multi_pose_gpu.ts`). A pose depends only on its root and
 * the heads, so both give the same poses.
 *
 * TF.js behaviour mirrored here:
 * - candidates scoring below `scoreThreshold` are dropped; the rest enter PoseNet's max-heap in
 *   raster order (row, column, part) whatever order they arrive in, and leave it in that heap's
 *   order, which decides the order among equal scores;
 * - a root is skipped when its position is within `nmsRadius` of the same part of an earlier
 *   pose: squared distance `<= nmsRadius²`;
 * - a pose's score is the sum of its keypoint scores that are not within `nmsRadius` of the same
 *   part of an earlier pose, divided by the number of keypoints;
 * - at most `maxDetections` poses, in the order found; float64 arithmetic throughout.
 *
 * @param candidates Root candidates (local maxima as {@link findPartCandidates} defines them).
 * Their `y`, `x` and `part` must be valid for a grid `width` columns wide; they are not checked.
 * @param width Heatmap columns (for the raster order).
 * @param options Decoder options; see {@link MultiPoseOptions}.
 * @param rootPosition The position of a candidate's root keypoint (cell times stride plus offset).
 * @param grow The keypoints of the pose grown from a candidate, in `PART_NAMES` order; only
 * called for candidates that become poses, in the order they do.
 * @returns Up to `maxDetections` poses, in network-input pixels.
 * @throws {InvalidInputError} When the options are invalid.
 *
 * @example
 * ```ts
 * import { selectMultiplePoses } from "./multi_pose.ts";
 * import { PART_NAMES } from "./keypoints.ts";
 *
 * // Two noses 10 px apart: the second is within nmsRadius 20 of the first pose's nose.
 * const candidates = [{ part: 0, y: 1, x: 1, score: 0.75 }, { part: 0, y: 1, x: 2, score: 0.9 }];
 * const at = (c: { x: number }) => ({ x: 10 * c.x, y: 16 });
 * const poses = selectMultiplePoses(candidates, 4, {}, at, (c) =>
 *   PART_NAMES.map((part) => ({ part, score: c.score, position: at(c) })));
 * console.log(poses.length, poses[0].keypoints[0].position); // 1 { x: 20, y: 16 }
 * ```
 */
export function selectMultiplePoses<C extends PartCandidate>(
  candidates: readonly C[],
  width: number,
  options: MultiPoseOptions | undefined,
  rootPosition: (candidate: C) => Vector2D,
  grow: (candidate: C, rootPosition: Vector2D) => Keypoint[],
): Pose[] {
  const { maxDetections, scoreThreshold, nmsRadius } = resolveMultiPoseOptions(options);
  const keyed: { key: number; candidate: C }[] = [];
  for (const candidate of candidates) {
    if (candidate.score < scoreThreshold) continue;
    const key = (candidate.y * width + candidate.x) * NUM_KEYPOINTS + candidate.part;
    keyed.push({ key, candidate });
  }
  keyed.sort((a, b) => a.key - b.key);
  const heap = new CandidateHeap<C>();
  for (const { candidate } of keyed) heap.push(candidate);

  const squaredNmsRadius = nmsRadius * nmsRadius;
  const poses: Pose[] = [];
  while (poses.length < maxDetections && !heap.isEmpty) {
    const root = heap.pop();
    const position = rootPosition(root);
    if (withinNmsRadius(poses, squaredNmsRadius, position, root.part)) continue;
    const keypoints = grow(root, position);
    let score = 0;
    for (let part = 0; part < keypoints.length; part++) {
      const keypoint = keypoints[part];
      if (!withinNmsRadius(poses, squaredNmsRadius, keypoint.position, part)) {
        score += keypoint.score;
      }
    }
    poses.push({ score: score / keypoints.length, keypoints });
  }
  return poses;
}

/**
 * Grows poses from a list of root candidates, exactly as the second half of TF.js PoseNet 2.x
 * `decodeMultiplePoses`: {@link selectMultiplePoses} picks the roots, and each pose is grown on
 * the CPU. The walk reads only the candidates, the offsets, the two displacement heads, and
 * `heads.scores` at the cells it lands on.
 *
 * TF.js behaviour mirrored here (the selection rules are listed at {@link selectMultiplePoses}):
 * - candidates may arrive in any order (say, from a GPU pass); those scoring below
 *   `scoreThreshold` are dropped;
 * - a root's position is its cell centre plus offset;
 * - a pose grows over edges 15→0 with the backward displacements, then 0→15 with the forward ones,
 *   each step reading the displacement at the nearest cell to the source, then twice snapping to
 *   the nearest cell (`Math.round(p / stride)`, clamped to the grid, so .5 rounds up) and taking
 *   that cell's centre plus offset; the score is read at the nearest cell to the result;
 * - poses are returned in the order found, and all arithmetic is float64 on float32 inputs.
 *
 * @param candidates Root candidates, e.g. from {@link findPartCandidates} or a GPU pass. Each
 * must be a local maximum as {@link findPartCandidates} defines it for the result to match TF.js.
 * @param heads Scored heads (scores, offsets, displacements).
 * @param options Decoder options; see {@link MultiPoseOptions}.
 * @param transform Optional mapping back to the original image, applied after decoding.
 * @returns Up to `maxDetections` poses, in the order found.
 * @throws {InvalidInputError} When the options, heads, candidates or transform are invalid.
 *
 * @example
 * ```ts
 * import { decodeMultiplePosesFromCandidates } from "./multi_pose.ts";
 *
 * const cells = 9 * 9;
 * const scores = new Float32Array(cells * 17).fill(0.25);
 * const poses = decodeMultiplePosesFromCandidates([{ part: 0, y: 4, x: 4, score: 0.75 }], {
 *   height: 9,
 *   width: 9,
 *   outputStride: 16,
 *   scores,
 *   offsets: new Float32Array(cells * 34),
 *   displacementFwd: new Float32Array(cells * 32),
 *   displacementBwd: new Float32Array(cells * 32),
 * });
 * console.log(poses[0].keypoints[0].position); // { x: 64, y: 64 }
 * ```
 */
export function decodeMultiplePosesFromCandidates(
  candidates: readonly PartCandidate[],
  heads: ScoredHeads,
  options?: MultiPoseOptions,
  transform?: InputTransform,
): Pose[] {
  const resolved = resolveMultiPoseOptions(options);
  validateScoredHeads(heads);
  if (!Array.isArray(candidates)) {
    throw new InvalidInputError(`candidates must be an array, got ${describe(candidates)}`);
  }
  for (let i = 0; i < candidates.length; i++) validateCandidate(candidates[i], i, heads);
  const walker = new TreeWalker(heads);
  const poses = selectMultiplePoses(
    candidates,
    heads.width,
    resolved,
    (root) => walker.pointAt(root.part, root.y, root.x),
    (root, position) => walker.grow(root, position),
  );
  return transform === undefined
    ? poses
    : poses.map((pose) => applyInputTransform(pose, transform));
}

/**
 * Decodes up to `maxDetections` poses from the network outputs, exactly as TF.js PoseNet 2.x
 * `decodeMultiplePoses` (CPU backend, scores from `sigmoid`) followed by `scaleAndFlipPoses` when
 * a transform is given. Candidates are found on the CPU with {@link findPartCandidates} and grown
 * with {@link decodeMultiplePosesFromCandidates}.
 *
 * @param heads The raw network outputs.
 * @param options Decoder options; defaults `{ maxDetections: 5, scoreThreshold: 0.5, nmsRadius: 20 }`.
 * @param transform Optional mapping back to the original image, applied after decoding.
 * @returns Up to `maxDetections` poses, in the order found (best root score first, ties in
 * PoseNet's heap order); empty when no score reaches the threshold.
 * @throws {InvalidInputError} When the options, heads or transform are invalid.
 *
 * @example
 * ```ts
 * import { decodeMultiplePoses } from "./multi_pose.ts";
 *
 * const cells = 9 * 9;
 * const poses = decodeMultiplePoses(
 *   {
 *     height: 9,
 *     width: 9,
 *     outputStride: 16,
 *     heatmap: new Float32Array(cells * 17).fill(-1),
 *     offsets: new Float32Array(cells * 34),
 *     displacementFwd: new Float32Array(cells * 32),
 *     displacementBwd: new Float32Array(cells * 32),
 *   },
 *   { scoreThreshold: 0.5 },
 * );
 * console.log(poses.length); // 0
 * ```
 */
export function decodeMultiplePoses(
  heads: PoseNetHeads,
  options?: MultiPoseOptions,
  transform?: InputTransform,
): Pose[] {
  const { scoreThreshold } = resolveMultiPoseOptions(options);
  const scored = toScoredHeads(heads);
  const candidates = findPartCandidates(scored.scores, scored.height, scored.width, scoreThreshold);
  return decodeMultiplePosesFromCandidates(candidates, scored, options, transform);
}
