/**
 * The layout of the GPU multi-pose decode's result buffer, and the shape constants both of its
 * passes bake in: one spec ({@linkcode MULTI_POSE_RESULT}) that the WGSL of pass A
 * (`multi_pose_candidates.ts`) and pass B (`multi_pose_walk.ts`) and the host reading the result
 * (`decode/multi_pose_gpu.ts`) all take their word offsets from.
 *
 * Result buffer, as `u32` words: the candidate count (it keeps counting past the capacity, so the
 * host can see an overflow), then `maxCandidates` records:
 *
 * | words | what |
 * | --- | --- |
 * | `key` (0) | raster key `(y · W + x) · 17 + part` of the root cell |
 * | `neighbourLogit` (1) | largest heatmap logit among the root's neighbours in its grid-clipped 3x3 window (f32 bits) |
 * | `keypoints` + 4k + (0..3) | keypoint k: cell index `y · W + x`, y offset, x offset (f32 bits), and the heatmap logit of part k at the cell nearest the keypoint (f32 bits) |
 *
 * The position of keypoint k is `cellY · stride + offsetY`, likewise x: the host adds them in
 * float64, as TF.js does, and takes the sigmoid of the logits itself, so scores and positions are
 * bit-identical to the CPU decode.
 *
 * @module
 */

import type { FusedHeadsLayout } from "./fused_heads_layout.ts";

/** Where each value sits in the result buffer, in `u32` words. */
export interface MultiPoseResultLayout {
  /** Words before the first record: the candidate count. */
  readonly headerWords: number;
  /** Words per candidate record. */
  readonly recordWords: number;
  /** Word of a record holding the root's raster key `(y · W + x) · 17 + part`. */
  readonly key: number;
  /** Word of a record holding the neighbours' largest heatmap logit (f32 bits). */
  readonly neighbourLogit: number;
  /** Word of a record where keypoint 0's entry starts; keypoint k's is `k · keypointWords` on. */
  readonly keypoints: number;
  /** Words per keypoint entry. */
  readonly keypointWords: number;
  /** Word of a keypoint entry holding its cell index `y · W + x`. */
  readonly cell: number;
  /** Word of a keypoint entry holding its y offset (f32 bits). */
  readonly offsetY: number;
  /** Word of a keypoint entry holding its x offset (f32 bits). */
  readonly offsetX: number;
  /** Word of a keypoint entry holding the part's heatmap logit at the nearest cell (f32 bits). */
  readonly logit: number;
}

/**
 * The result buffer's layout: the count, then records of key, neighbour logit and 17 keypoint
 * entries of (cell, offset y, offset x, logit).
 *
 * @example Read keypoint 3's cell from record 2
 * ```ts
 * import { MULTI_POSE_RESULT as R } from "./multi_pose_layout.ts";
 *
 * const words = new Uint32Array(R.headerWords + 4 * R.recordWords);
 * const record = R.headerWords + 2 * R.recordWords;
 * console.log(words[record + R.keypoints + 3 * R.keypointWords + R.cell]); // 0
 * ```
 */
export const MULTI_POSE_RESULT: MultiPoseResultLayout = Object.freeze({
  headerWords: 1,
  recordWords: 2 + 17 * 4,
  key: 0,
  neighbourLogit: 1,
  keypoints: 2,
  keypointWords: 4,
  cell: 0,
  offsetY: 1,
  offsetX: 2,
  logit: 3,
});

/**
 * Shape constants baked into the multi-pose shaders. The output stride must be a power of two, so
 * that dividing by it is exact.
 */
export interface MultiPoseShaderParams extends FusedHeadsLayout {
  /** Channel of edge 0's forward y displacement (x displacements follow 16 channels later). */
  readonly displacementFwdChannel: number;
  /** Channel of edge 0's backward y displacement (x displacements follow 16 channels later). */
  readonly displacementBwdChannel: number;
  /** Candidate records the result buffer holds. */
  readonly maxCandidates: number;
  /** The keypoint tree's 16 edges as (parent, child) part ids, in displacement channel order. */
  readonly edges: readonly (readonly [number, number])[];
}

/**
 * The WGSL constants both passes share: the grid, the heads layout and the result layout.
 *
 * @param p Shape and layout constants.
 * @returns WGSL `const` declarations.
 *
 * @example
 * ```ts
 * import { multiPoseConstants } from "./multi_pose_layout.ts";
 * import { POSE_CHAIN_INDICES } from "../decode/keypoints.ts";
 * const wgsl = multiPoseConstants({ height: 17, width: 17, outputStride: 16, cellStride: 120, heatmapChannel: 0, offsetChannel: 20, displacementFwdChannel: 56, displacementBwdChannel: 88, maxCandidates: 128, edges: POSE_CHAIN_INDICES });
 * console.log(wgsl.includes("const RECORD_WORDS: u32 = 70u;")); // true
 * ```
 */
export function multiPoseConstants(p: MultiPoseShaderParams): string {
  const r = MULTI_POSE_RESULT;
  return `const H: i32 = ${p.height};
const W: i32 = ${p.width};
const PARTS: u32 = 17u;
const CELL_STRIDE: u32 = ${p.cellStride}u;
const HEATMAP: u32 = ${p.heatmapChannel}u;
const OFFSETS: u32 = ${p.offsetChannel}u;
const MAX_CANDIDATES: u32 = ${p.maxCandidates}u;
const RECORD_WORDS: u32 = ${r.recordWords}u;
const KEY_WORD: u32 = ${r.key}u;
const NEIGHBOUR_WORD: u32 = ${r.neighbourLogit}u;
const KEYPOINTS_WORD: u32 = ${r.keypoints}u;
const KEYPOINT_WORDS: u32 = ${r.keypointWords}u;
const CELL_WORD: u32 = ${r.cell}u;
const OFFSET_Y_WORD: u32 = ${r.offsetY}u;
const OFFSET_X_WORD: u32 = ${r.offsetX}u;
const LOGIT_WORD: u32 = ${r.logit}u;`;
}
