/**
 * WGSL generator for MoveNet SinglePose's decode (the ops of its graph after the four heads) in one
 * dispatch, so only the graph's `[1, 1, 17, 3]` output leaves the GPU.
 *
 * @module
 */

import { channelSlots } from "../runtime/layout.ts";
import { f32Literal, SIGMOID_WGSL } from "./_wgsl_f32.ts";
import { WORKGROUP_SIZE } from "./wgsl_common.ts";
import { WORKGROUP_ARGMAX_WGSL } from "./_workgroup_argmax.ts";

/** Number of keypoints MoveNet outputs. */
export const MOVENET_KEYPOINTS = 17;

/** Floats of the graph's output `[1, 1, 17, 3]`: (y, x, score) per keypoint. */
export const MOVENET_RESULT_FLOATS: number = MOVENET_KEYPOINTS * 3;

/**
 * Floats the decode writes: the graph's 51 output values, then the winning cell indices (as f32,
 * exact below 2^24): the person centre's, then each keypoint's. A frame reads back only the
 * first {@linkcode MOVENET_RESULT_FLOATS}; the indices are there for tests and inspection.
 */
export const MOVENET_DECODE_FLOATS: number = MOVENET_RESULT_FLOATS + 1 + MOVENET_KEYPOINTS;

/** Shape and graph constants baked into a MoveNet decode shader. */
export interface MovenetDecodeShaderParams {
  /** Head rows (48 for Lightning, 64 for Thunder). */
  readonly height: number;
  /** Head columns. */
  readonly width: number;
  /** The graph's `add_5/y`, added to the distance (float16 1.8 = 1.7998046875). */
  readonly distanceBias: number;
  /** The graph's `Reshape_13` (y, x): multiplies the cell + offset (float16 1/48, or 1/64). */
  readonly outputScale: readonly [number, number];
}

/**
 * Generates the decode shader for one head size and the graph's constants.
 *
 * @param p Head size and constants.
 * @returns WGSL source.
 *
 * @example
 * ```ts
 * import { movenetDecodeShader } from "./movenet_decode.ts";
 * const wgsl = movenetDecodeShader({
 *   height: 48,
 *   width: 48,
 *   distanceBias: 1.7998046875,
 *   outputScale: [0.020828247, 0.020828247],
 * });
 * console.log(wgsl.includes("const CELLS: u32 = 2304u;")); // true
 * ```
 */
export function movenetDecodeShader(p: MovenetDecodeShaderParams): string {
  const heatmapSlots = channelSlots(MOVENET_KEYPOINTS);
  const vectorSlots = channelSlots(2 * MOVENET_KEYPOINTS);
  return `// MoveNet SinglePose decode: the graph's ops from its four heads to its [1,1,17,3] output,
// with TF's semantics (tfjs-backend-cpu: each op in f64, its result stored as f32; here f32 ops):
//   1. centre: s[i] = sigmoid(center[i]) · prior[i] (Sigmoid_1, then truediv_2, a Mul by the
//      graph's constant truediv_2_recip [H,W,1]); c = argmax_i s[i] over i = y·W + x (ArgMax; the
//      FIRST maximal index wins, as TF's strict '>' scan); cy = c / W (FloorDiv), cx = c − cy·W.
//   2. regressed points at c: ry_k = f32(cy) + regress[c][2k], rx_k = f32(cx) + regress[c][2k+1]
//      (GatherNd, Reshape [17,2], Unpack: channels are (y, x) interleaved; add_2, add_3).
//   3. per keypoint k, over cells j = (Y, X): v[j] = sigmoid(heatmap[j][k]) /
//      (sqrt((Y − ry_k)² + (X − rx_k)²) + DISTANCE_BIAS) (SquaredDifference against the graph's
//      grids strided_slice_3 = row index Y and strided_slice_4 = column index X, add_4, Sqrt_1,
//      add_5, truediv_3); kj = argmax_j v[j], first index wins (ArgMax_1, FloorDiv_1).
//   4. output[k] = ((f32(ky) + offset[kj][2k]) · SCALE_Y, (f32(kx) + offset[kj][2k+1]) · SCALE_X,
//      sigmoid(heatmap[kj][k])) (GatherNd_1/2, add_6/7, mul_2 by Reshape_13, GatherNd_3 of the
//      Sigmoid: the score is the sigmoid at the chosen cell, not v; concat_1).
// sigmoid(x) = 1 / (1 + exp(−x)) as TF computes it, exp by expAccurate below. The argmaxes compare
// the f32 values, so values that round equal tie and the first cell wins. Differences from TF.js
// (which rounds each op's f64 result to f32): exp (about 1 ULP), and sqrt and '/' where a GPU's
// are not correctly rounded (WGSL allows 2.5 ULP), so a score can differ by a few ULP and two
// cells whose values are that close could swap; a cell's coordinates (one add, one multiply of
// f32 values) are exactly TF's. No error-free-transformation tricks: shader compilers fold them.
// Layout: the heads are NHWC4 (runtime/layout.ts): CENTER 1 vec4 per cell (channel 0), HEATMAP
// ${heatmapSlots} vec4 per cell, REGRESS and OFFSET ${vectorSlots} vec4 per cell; prior is H·W f32, row-major. Output:
// ${MOVENET_RESULT_FLOATS} f32 (y, x, score per keypoint, the graph's output), then f32(c), then f32(kj) for k = 0..16.
// Workgroup: one per keypoint (17 in one dispatch), ${WORKGROUP_SIZE} invocations striding over the cells.
// Each workgroup computes the centre argmax itself (H·W sigmoids, cheap), so the workgroups are
// independent and no second dispatch is needed; both argmaxes are tree reductions in workgroup
// memory with ties to the lower cell index.
const H: u32 = ${p.height}u;
const W: u32 = ${p.width}u;
const CELLS: u32 = ${p.height * p.width}u;
const PARTS: u32 = ${MOVENET_KEYPOINTS}u;
const HEATMAP_SLOTS: u32 = ${heatmapSlots}u;
const VECTOR_SLOTS: u32 = ${vectorSlots}u;
const DISTANCE_BIAS: f32 = ${f32Literal(p.distanceBias)};
const SCALE_Y: f32 = ${f32Literal(p.outputScale[0])};
const SCALE_X: f32 = ${f32Literal(p.outputScale[1])};
const LANES: u32 = ${WORKGROUP_SIZE}u;

@group(0) @binding(0) var<storage, read> center: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> heatmap: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> regress: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> offset: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> prior: array<f32>;
@group(0) @binding(5) var<storage, read_write> result: array<f32>;


${SIGMOID_WGSL}fn heatmapAt(cell: u32, k: u32) -> f32 {
  return heatmap[cell * HEATMAP_SLOTS + k / 4u][k % 4u];
}

fn regressAt(cell: u32, channel: u32) -> f32 {
  return regress[cell * VECTOR_SLOTS + channel / 4u][channel % 4u];
}

fn offsetAt(cell: u32, channel: u32) -> f32 {
  return offset[cell * VECTOR_SLOTS + channel / 4u][channel % 4u];
}

${WORKGROUP_ARGMAX_WGSL}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let k = group.x;

  // 1. The person centre. Each lane scans its cells in increasing order and keeps the first max.
  var value = -1.0;
  var cell = CELLS;
  for (var i = lane; i < CELLS; i += LANES) {
    let s = sigmoid(center[i].x) * prior[i];
    if (s > value) {
      value = s;
      cell = i;
    }
  }
  let c = argmaxOfLanes(lane, value, cell);

  // 2. Keypoint k regressed from the centre cell.
  let cy = c / W;
  let ry = f32(cy) + regressAt(c, 2u * k);
  let rx = f32(c - cy * W) + regressAt(c, 2u * k + 1u);

  // 3. The heatmap weighted by the distance to the regressed point.
  value = -1.0;
  cell = CELLS;
  for (var j = lane; j < CELLS; j += LANES) {
    let dy = f32(j / W) - ry;
    let dx = f32(j % W) - rx;
    let v = sigmoid(heatmapAt(j, k)) / (sqrt(dy * dy + dx * dx) + DISTANCE_BIAS);
    if (v > value) {
      value = v;
      cell = j;
    }
  }
  let kj = argmaxOfLanes(lane, value, cell);

  // 4. The refined position and score at the chosen cell.
  if (lane == 0u) {
    let ky = kj / W;
    result[3u * k] = (f32(ky) + offsetAt(kj, 2u * k)) * SCALE_Y;
    result[3u * k + 1u] = (f32(kj - ky * W) + offsetAt(kj, 2u * k + 1u)) * SCALE_X;
    result[3u * k + 2u] = sigmoid(heatmapAt(kj, k));
    result[${MOVENET_RESULT_FLOATS}u + 1u + k] = f32(kj);
    if (k == 0u) {
      result[${MOVENET_RESULT_FLOATS}u] = f32(c);
    }
  }
}
`;
}
