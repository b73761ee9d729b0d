/**
 * WGSL generator for MoveNet MultiPose's decode (the ops of its graph after the six heads) in one
 * dispatch, so only the graph's `[1, K, 56]` output leaves the GPU.
 *
 * @module
 */

import { channelSlots } from "../runtime/layout.ts";
import { f32Literal, SIGMOID_WGSL } from "./_wgsl_f32.ts";
import { MOVENET_KEYPOINTS } from "./movenet_decode.ts";
import { WORKGROUP_SIZE } from "./wgsl_common.ts";
import { WORKGROUP_ARGMAX_WGSL } from "./_workgroup_argmax.ts";

/** Floats of one instance's row of the graph's output: 17 × (y, x, score), the box, the score. */
export const MULTIPOSE_ROW_FLOATS: number = 3 * MOVENET_KEYPOINTS + 5;

/** Where a row's box `[yMin, xMin, yMax, xMax]` starts. */
export const MULTIPOSE_BOX_INDEX: number = 3 * MOVENET_KEYPOINTS;

/** Where a row's instance score is. */
export const MULTIPOSE_SCORE_INDEX: number = MULTIPOSE_BOX_INDEX + 4;

/**
 * Floats the decode writes for `k` instances: the graph's `k × 56` output, then each instance's
 * centre cell, then each instance's 17 keypoint cells (cell indices as f32, exact below 2^24). A
 * frame reads back only the first `k × 56`; the cells are there for tests and inspection.
 *
 * @param instances The graph's k (6).
 * @returns The float count.
 *
 * @example
 * ```ts
 * import { multiPoseDecodeFloats } from "./movenet_multipose_decode.ts";
 * console.log(multiPoseDecodeFloats(6)); // 444
 * ```
 */
export function multiPoseDecodeFloats(instances: number): number {
  return instances * (MULTIPOSE_ROW_FLOATS + 1 + MOVENET_KEYPOINTS);
}

/** Shape and graph constants baked into a MultiPose decode shader. */
export interface MultiPoseDecodeShaderParams {
  /** Head rows Hf (input height / 4). */
  readonly height: number;
  /** Head columns Wf. */
  readonly width: number;
  /** Instances kept (TopKV2's k, 6). */
  readonly instances: number;
  /** The peak window's side (MaxPool ksize, 5). */
  readonly peakWindow: number;
  /** `Less/y`. */
  readonly peakThreshold: number;
  /** The box half-size factor (`truediv_2_recip`, 0.5). */
  readonly boxHalf: number;
  /** `mul_6`: f32(min(Hf, Wf)) · spread, rounded to f32. */
  readonly gaussianDenominator: number;
  /** `Greater_1/y`. */
  readonly keypointThreshold: number;
  /** Input pixels per cell (4). */
  readonly stride: number;
}

/**
 * Generates the decode shader for one head size and the graph's constants.
 *
 * @param p Head size and constants.
 * @returns WGSL source.
 *
 * @example
 * ```ts
 * import { multiPoseDecodeShader } from "./movenet_multipose_decode.ts";
 * const wgsl = multiPoseDecodeShader({
 *   height: 64, width: 40, instances: 6, peakWindow: 5, peakThreshold: 1e-6, boxHalf: 0.5,
 *   gaussianDenominator: 12.001953125, keypointThreshold: 0.126953125, stride: 4,
 * });
 * console.log(wgsl.includes("const CELLS: u32 = 2560u;")); // true
 * ```
 */
export function multiPoseDecodeShader(p: MultiPoseDecodeShaderParams): string {
  const parts = MOVENET_KEYPOINTS;
  const k = p.instances;
  const f = Math.fround;
  return `// MoveNet MultiPose decode: the graph's ops from its six heads to its [1,K,56] output, with TF's
// semantics (tfjs-backend-cpu: each op in f64, its result stored as f32; here f32 ops):
//   1. peaks: s = sigmoid(center) (Sigmoid); pooled = MaxPool ${p.peakWindow}x${p.peakWindow} SAME of s, taken
//      as sigmoid(max of the window's logits) (the sigmoid is monotone); candidate = s where
//      |s − pooled| < PEAK_T, else 0 (sub_2, Abs, Less, Cast_1, mul_2).
//   2. TopKV2 k=K, sorted, over the H·W candidates: larger value first, equal values by lower cell
//      (tfjs's comparePair); cell c = y·W + x (FloorDiv, Sub).
//   3. per instance: scale = max(box_scale[c], 0) (Maximum), (cy, cx) = (f32(y) + box_offset[c].y,
//      f32(x) + box_offset[c].x) (add, add_1), box in cells = clamp(cy ∓ scale_y·HALF, 0, H),
//      clamp(cx ∓ scale_x·HALF, 0, W) (sub_5/6, AddN, clip_by_value..3); regressed keypoints
//      p_k = (f32(y) + regress[c][2k], f32(x) + regress[c][2k+1]) (GatherNd_2, add_6/7).
//   4. per instance i and keypoint k, over cells j = (Y, X): v = sigmoid(heatmap[j][k]) ·
//      exp((−1 · ((Y − p_y)² + (X − p_x)²)) / DEN) · [ymin ≤ Y < ymax and xmin ≤ X < xmax]
//      (SquaredDifference, add_8, mul_7, truediv_7 by mul_6 = DEN, Exp, mul_8, the box mask,
//      mul_9); kj = argmax_j v, first cell wins (Reshape_16, ArgMax). Only the box's cells can
//      hold v > 0, so the search runs over them; when none does every v is 0 and kj = 0, as TF.
//   5. score_k = max over all K instances i' of v_{i',k} at kj (Max over the instance axis, then
//      GatherNd_4: the graph's score is this weighted, masked maximum, not the raw sigmoid);
//      keypoint = ((f32(kj_y) + offset[kj][2k]) · SCALE_Y, (f32(kj_x) + offset[kj][2k+1]) · SCALE_X,
//      score_k) (GatherNd_3, add_9/10, mul_11 by truediv_8/9 = STRIDE / input side).
//   6. instance score = (1 / max(n, 1)) · Σ_k centre_i · [score_k > KP_T] · score_k, n the count
//      of score_k > KP_T (Greater_1, Select, mul_14, Sum_3, Sum_2, Reciprocal, mul_15; Select_1
//      always takes it: its condition, the class index from TopKV2's indices, is 0);
//      box = clamp((box · STRIDE) / input side, 0, 1) (mul_5, truediv_6, clip_by_value_4).
// Differences from TF.js: exp (about 1 ULP), '/' where a GPU's is not correctly rounded, the
// squared distances (TF rounds each (Y − p)² once from f64; here Y − p is rounded first, an error
// that exp scales by |t|), and TF's Sum accumulates in f64 where this sums 17 f32 products in f32;
// so a score can differ by a few ULP (plus about 4·|t|), two cells whose values are that close could swap, and a peak exactly at the threshold
// could flip; a keypoint's coordinates (one add, one multiply of f32 values) are exactly TF's at
// the same cell. Denormal Gaussian weights (exp below −87, far outside the person's box) may be
// flushed to 0 by a GPU where TF keeps them.
// Layout: the heads are NHWC4 (runtime/layout.ts): CENTER 1 vec4 per cell (channel 0), BOX_SCALE
// and BOX_OFFSET 1 vec4 (channels 0, 1 = y, x), HEATMAP ${
    channelSlots(parts)
  } vec4, REGRESS and OFFSET
// ${
    channelSlots(2 * parts)
  } vec4 per cell ((y, x) interleaved). Output: K rows of ${MULTIPOSE_ROW_FLOATS} f32 (the graph's), then
// K f32 centre cells, then K × 17 f32 keypoint cells.
// Workgroup: one per instance (K in one dispatch), ${WORKGROUP_SIZE} invocations striding over cells. Each
// workgroup finds all K peaks itself (every lane keeps its own sorted top K, then K rounds of a
// workgroup argmax take the overall next one), so the workgroups are independent and the score's
// maximum over instances needs no second dispatch.
const H: u32 = ${p.height}u;
const W: u32 = ${p.width}u;
const CELLS: u32 = ${p.height * p.width}u;
const K: u32 = ${k}u;
const PARTS: u32 = ${parts}u;
const RADIUS: i32 = ${(p.peakWindow - 1) / 2};
const HEATMAP_SLOTS: u32 = ${channelSlots(parts)}u;
const VECTOR_SLOTS: u32 = ${channelSlots(2 * parts)}u;
const PEAK_T: f32 = ${f32Literal(p.peakThreshold)};
const HALF: f32 = ${f32Literal(p.boxHalf)};
const DEN: f32 = ${f32Literal(p.gaussianDenominator)};
const KP_T: f32 = ${f32Literal(p.keypointThreshold)};
const STRIDE: f32 = ${f32Literal(p.stride)};
const INPUT_H: f32 = ${f32Literal(p.height * p.stride)};
const INPUT_W: f32 = ${f32Literal(p.width * p.stride)};
const SCALE_Y: f32 = ${f32Literal(f(p.stride / f(p.height * p.stride)))};
const SCALE_X: f32 = ${f32Literal(f(p.stride / f(p.width * p.stride)))};
const ROW: u32 = ${MULTIPOSE_ROW_FLOATS}u;
const LANES: u32 = ${WORKGROUP_SIZE}u;

@group(0) @binding(0) var<storage, read> center: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> boxScale: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> boxOffset: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> heatmap: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> regress: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> offset: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> result: array<f32>;

var<workgroup> topValue: array<f32, K>;
var<workgroup> topCell: array<u32, K>;
var<workgroup> boxes: array<vec4<f32>, K>;
var<workgroup> points: array<vec2<f32>, ${k * parts}>;
var<workgroup> atChosen: array<f32, K>;
var<workgroup> scores: array<f32, PARTS>;

${SIGMOID_WGSL}fn heatmapAt(cell: u32, k: u32) -> f32 {
  return heatmap[cell * HEATMAP_SLOTS + k / 4u][k % 4u];
}

fn vectorAt(cell: u32, channel: u32) -> vec2<f32> {
  let v = regress[cell * VECTOR_SLOTS + channel / 4u];
  return select(v.xy, v.zw, channel % 4u == 2u);
}

fn offsetAt(cell: u32, channel: u32) -> vec2<f32> {
  let v = offset[cell * VECTOR_SLOTS + channel / 4u];
  return select(v.xy, v.zw, channel % 4u == 2u);
}

// Step 1: the centre's sigmoid where it is a peak of its window, else 0.
fn candidate(cell: u32) -> f32 {
  let y = i32(cell / W);
  let x = i32(cell % W);
  let logit = center[cell].x;
  var top = logit;
  for (var dy = -RADIUS; dy <= RADIUS; dy++) {
    for (var dx = -RADIUS; dx <= RADIUS; dx++) {
      let yy = y + dy;
      let xx = x + dx;
      if (yy >= 0 && yy < i32(H) && xx >= 0 && xx < i32(W)) {
        top = max(top, center[u32(yy) * W + u32(xx)].x);
      }
    }
  }
  let s = sigmoid(logit);
  return select(0.0, s, abs(s - sigmoid(top)) < PEAK_T);
}

// Step 4's value of cell j for instance i and keypoint k, the heatmap's sigmoid given.
fn weighted(heat: f32, j: u32, i: u32, k: u32) -> f32 {
  let b = boxes[i];
  let fy = f32(j / W);
  let fx = f32(j % W);
  if (!(fy >= b.x && fy < b.z && fx >= b.y && fx < b.w)) {
    return 0.0;
  }
  let p = points[i * PARTS + k];
  let dy = fy - p.x;
  let dx = fx - p.y;
  return heat * expAccurate((-1.0 * (dy * dy + dx * dx)) / DEN);
}

${WORKGROUP_ARGMAX_WGSL}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let instance = group.x;

  // 2. Each lane's sorted top K of its cells (scanned in increasing order, so a tie keeps the
  // earlier cell), then K rounds: the best head of all lanes' lists is the next of TopKV2's.
  var laneValue: array<f32, K>;
  var laneCell: array<u32, K>;
  for (var r = 0u; r < K; r++) {
    laneValue[r] = -1.0;
    laneCell[r] = CELLS;
  }
  for (var cell = lane; cell < CELLS; cell += LANES) {
    let v = candidate(cell);
    if (v > laneValue[K - 1u]) {
      var j = K - 1u;
      while (j > 0u && v > laneValue[j - 1u]) {
        laneValue[j] = laneValue[j - 1u];
        laneCell[j] = laneCell[j - 1u];
        j--;
      }
      laneValue[j] = v;
      laneCell[j] = cell;
    }
  }
  var head = 0u;
  for (var r = 0u; r < K; r++) {
    let mine = head < K;
    let chosen = argmaxOfLanes(
      lane,
      select(-1.0, laneValue[min(head, K - 1u)], mine),
      select(CELLS, laneCell[min(head, K - 1u)], mine),
    );
    if (mine && laneCell[head] == chosen) {
      topValue[r] = laneValue[head];
      topCell[r] = chosen;
      head++;
    }
  }
  workgroupBarrier();

  // 3. Every instance's box and regressed keypoints (all K: step 5 takes a max over them).
  if (lane < K) {
    let c = topCell[lane];
    let fy = f32(c / W);
    let fx = f32(c % W);
    let scale = max(boxScale[c].xy, vec2<f32>(0.0));
    let o = boxOffset[c].xy;
    let cy = fy + o.x;
    let cx = fx + o.y;
    boxes[lane] = vec4<f32>(
      max(min(cy - scale.x * HALF, f32(H)), 0.0),
      max(min(cx - scale.y * HALF, f32(W)), 0.0),
      max(min(cy + scale.x * HALF, f32(H)), 0.0),
      max(min(cx + scale.y * HALF, f32(W)), 0.0),
    );
    for (var k = 0u; k < PARTS; k++) {
      points[lane * PARTS + k] = vec2<f32>(fy, fx) + vectorAt(c, 2u * k);
    }
  }
  workgroupBarrier();

  // 4, 5. This workgroup's instance, keypoint by keypoint.
  let b = boxes[instance];
  // Rows ceil(ymin) ≤ Y < ceil(ymax) are those with ymin ≤ Y < ymax (likewise columns); clamped
  // to the map so that a NaN head cannot make the loop long.
  let r0 = min(u32(max(ceil(b.x), 0.0)), H);
  let r1 = min(u32(max(ceil(b.z), 0.0)), H);
  let c0 = min(u32(max(ceil(b.y), 0.0)), W);
  let c1 = min(u32(max(ceil(b.w), 0.0)), W);
  let rows = select(0u, r1 - r0, r1 > r0);
  let cols = select(0u, c1 - c0, c1 > c0);
  for (var k = 0u; k < PARTS; k++) {
    var value = -1.0;
    var cell = CELLS;
    for (var t = lane; t < rows * cols; t += LANES) {
      let j = (r0 + t / cols) * W + c0 + t % cols;
      let v = weighted(sigmoid(heatmapAt(j, k)), j, instance, k);
      if (v > value) {
        value = v;
        cell = j;
      }
    }
    var kj = argmaxOfLanes(lane, value, cell);
    if (workgroupUniformLoad(&bestValue[0]) <= 0.0) {
      kj = 0u;
    }
    if (lane < K) {
      atChosen[lane] = weighted(sigmoid(heatmapAt(kj, k)), kj, lane, k);
    }
    workgroupBarrier();
    if (lane == 0u) {
      var score = atChosen[0];
      for (var i = 1u; i < K; i++) {
        score = max(score, atChosen[i]);
      }
      scores[k] = score;
      let ky = kj / W;
      let o = offsetAt(kj, 2u * k);
      let row = instance * ROW;
      result[row + 3u * k] = (f32(ky) + o.x) * SCALE_Y;
      result[row + 3u * k + 1u] = (f32(kj - ky * W) + o.y) * SCALE_X;
      result[row + 3u * k + 2u] = score;
      result[K * ROW + K + instance * PARTS + k] = f32(kj);
    }
    workgroupBarrier();
  }

  // 6. The box in fractions of the input and the instance score.
  if (lane == 0u) {
    var count = 0.0;
    var sum = 0.0;
    for (var k = 0u; k < PARTS; k++) {
      let s = scores[k];
      if (s > KP_T) {
        count += 1.0;
        sum += topValue[instance] * s;
      }
    }
    let row = instance * ROW;
    let size = vec4<f32>(INPUT_H, INPUT_W, INPUT_H, INPUT_W);
    let box = max(min((b * STRIDE) / size, vec4<f32>(1.0)), vec4<f32>(0.0));
    for (var e = 0u; e < 4u; e++) {
      result[row + ${MULTIPOSE_BOX_INDEX}u + e] = box[e];
    }
    result[row + ${MULTIPOSE_SCORE_INDEX}u] = (1.0 / max(count, 1.0)) * sum;
    result[K * ROW + instance] = f32(topCell[instance]);
  }
}
`;
}
