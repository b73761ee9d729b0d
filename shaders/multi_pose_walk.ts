/**
 * WGSL generator for pass B of the GPU multi-pose decode: the whole 17-keypoint pose grown from
 * every root candidate pass A (`multi_pose_candidates.ts`) found, one invocation per candidate
 * slot, as TF.js PoseNet 2.x's `decodePose` (the CPU walk is `decode/_tree_walker.ts`). It writes
 * the keypoint entries of each record of the result (`multi_pose_layout.ts`).
 *
 * @module
 */

import { entryPoint, WORKGROUP_SIZE } from "./wgsl_common.ts";
import { multiPoseConstants, type MultiPoseShaderParams } from "./multi_pose_layout.ts";

/**
 * Generates pass B: the pose grown from each candidate.
 *
 * @param p Shape and layout constants.
 * @returns WGSL source.
 *
 * @example
 * ```ts
 * import { multiPoseWalkShader } from "./multi_pose_walk.ts";
 * import { POSE_CHAIN_INDICES } from "../decode/keypoints.ts";
 * const wgsl = multiPoseWalkShader({ height: 17, width: 17, outputStride: 16, cellStride: 120, heatmapChannel: 0, offsetChannel: 20, displacementFwdChannel: 56, displacementBwdChannel: 88, maxCandidates: 128, edges: POSE_CHAIN_INDICES });
 * ```
 */
export function multiPoseWalkShader(p: MultiPoseShaderParams): string {
  if (p.edges.length !== 16) throw new Error(`expected 16 edges, got ${p.edges.length}`);
  const edges = p.edges.map(([parent, child]) => `vec2<u32>(${parent}u, ${child}u)`).join(", ");
  return `// Multi-pose pass B: the pose grown from each candidate root, as TF.js PoseNet's decodePose.
//   root: its cell and the root part's offset there (position = cell · STRIDE + offset);
//   edges 15 → 0 with the backward displacements (child → parent), for parents not yet found,
//   then edges 0 → 15 with the forward ones (parent → child), for children not yet found; one
//   step (traverseToTargetKeypoint): source cell = nearest cell to the source position, position
//   += displacement of the edge there (y channel e, x channel 16 + e), then twice: snap to the
//   nearest cell and take that cell's centre plus the target part's offset; the score is the
//   target part's logit at the cell nearest the final position.
//   Nearest cell = clamp(Math.round(p / STRIDE), 0, size − 1) with JS rounding (half up, not
//   WGSL's half-to-even), decided exactly as float64 JS does: a position is kept as (cell,
//   offset), p / STRIDE = cell + offset / STRIDE (+ displacement / STRIDE), and the integer and
//   fractional parts of those terms are combined with exact operations only (roundSum), never a
//   rounded f32 sum. The host adds cell · STRIDE + offset itself in float64.
// Layout: heads as f32, CELL_STRIDE floats per cell; result = count, then MAX_CANDIDATES records
// of RECORD_WORDS u32 (KEY_WORD and NEIGHBOUR_WORD from pass A; this pass writes the entry of
// each keypoint k, KEYPOINT_WORDS words from KEYPOINTS_WORD + k · KEYPOINT_WORDS: cell index,
// offset y, offset x, logit). Workgroup: ${WORKGROUP_SIZE} invocations, one per record
// slot; slots at or past min(count, MAX_CANDIDATES) return at once.
${multiPoseConstants(p)}
const INV_STRIDE: f32 = ${1 / p.outputStride};
const DISP_FWD: u32 = ${p.displacementFwdChannel}u;
const DISP_BWD: u32 = ${p.displacementBwdChannel}u;

struct Candidates {
  count: u32,
  records: array<u32>,
}

@group(0) @binding(0) var<storage, read> heads: array<f32>;
@group(0) @binding(1) var<storage, read_write> result: Candidates;

var<private> cellY: array<i32, 17>;
var<private> cellX: array<i32, 17>;
var<private> offset: array<vec2<f32>, 17>;
var<private> found: array<bool, 17>;
var<private> record: u32;
// The keypoint tree's edges as (parent, child), in displacement channel order.
var<private> EDGES: array<vec2<u32>, 16> = array<vec2<u32>, 16>(${edges});

/**
 * Whether p + q >= c in exact arithmetic, for |p|, |q| < 1 and each c of (−1.5, −0.5, 0.5, 1.5).
 * Only exact operations are used, so a compiler that treats floats as reals cannot change the
 * answer: with a the larger of p and q in magnitude and b the other, |a + b| <= 2|a|, so when
 * |a| < |c| / 2 or a and c differ in sign the answer is c < 0; otherwise c − a is exact
 * (Sterbenz) and the answer is b >= c − a. The four thresholds are one vector and every choice a
 * select, with no branch. The same test written as a scalar function with an early return and a
 * swap branch, called once per threshold (48 inlined copies in the walk), made SwiftShader's
 * compiler (Chromium 156) take over 5 minutes for this shader; this form compiles in about 0.1 s
 * there, and lavapipe's result is bit-identical (the operations are the same).
 */
fn sumsAtLeast(p: f32, q: f32) -> vec4<bool> {
  let swap = abs(q) > abs(p);
  let a = vec4<f32>(select(p, q, swap));
  let b = vec4<f32>(select(q, p, swap));
  let c = vec4<f32>(-1.5, -0.5, 0.5, 1.5);
  let zero = vec4<f32>(0.0);
  let decided = (abs(a) < 0.5 * abs(c)) | ((a < zero) != (c < zero));
  return select(b >= c - a, c < zero, decided);
}

/**
 * Math.round((o + d) / STRIDE) as float64 JS computes it, o and d being f32: the integer parts
 * (trunc) add exactly, and the rounding of the two fractional parts' sum is decided exactly
 * (the number of half-integers −1.5, −0.5, 0.5, 1.5 it reaches). A plain f32 o + d could round
 * onto half a cell and flip the result; WGSL's round() would also round halves to even, where JS
 * rounds them up.
 */
fn roundSum(o: f32, d: f32) -> i32 {
  let u = clamp(o * INV_STRIDE, -4194304.0, 4194304.0);
  let v = clamp(d * INV_STRIDE, -4194304.0, 4194304.0);
  let tu = trunc(u);
  let tv = trunc(v);
  let reached = select(vec4<i32>(0), vec4<i32>(1), sumsAtLeast(u - tu, v - tv));
  return i32(tu) + i32(tv) - 2 + dot(reached, vec4<i32>(1));
}

/** Nearest cell index to cell · STRIDE + o + d along an axis of the given size. */
fn nearest(cell: i32, o: f32, d: f32, size: i32) -> i32 {
  return clamp(cell + roundSum(o, d), 0, size - 1);
}

fn cellBase(y: i32, x: i32) -> u32 {
  return u32(y * W + x) * CELL_STRIDE;
}

fn offsetAt(y: i32, x: i32, part: u32) -> vec2<f32> {
  let base = cellBase(y, x) + OFFSETS + part;
  return vec2<f32>(heads[base + PARTS], heads[base]); // (x, y)
}

/** Records keypoint part at cell (y, x) with its offset there; returns its entry's first word. */
fn place(part: u32, y: i32, x: i32) -> u32 {
  let o = offsetAt(y, x, part);
  cellY[part] = y;
  cellX[part] = x;
  offset[part] = o;
  found[part] = true;
  let at = record + KEYPOINTS_WORD + part * KEYPOINT_WORDS;
  result.records[at + CELL_WORD] = u32(y * W + x);
  result.records[at + OFFSET_Y_WORD] = bitcast<u32>(o.y);
  result.records[at + OFFSET_X_WORD] = bitcast<u32>(o.x);
  return at;
}

fn traverse(edge: u32, source: u32, goal: u32, displacements: u32) {
  let y = cellY[source];
  let x = cellX[source];
  let o = offset[source];
  let at = cellBase(nearest(y, o.y, 0.0, H), nearest(x, o.x, 0.0, W)) + displacements + edge;
  let y1 = nearest(y, o.y, heads[at], H);
  let x1 = nearest(x, o.x, heads[at + 16u], W);
  let o1 = offsetAt(y1, x1, goal);
  let y2 = nearest(y1, o1.y, 0.0, H);
  let x2 = nearest(x1, o1.x, 0.0, W);
  let at2 = place(goal, y2, x2);
  let o2 = offset[goal];
  let scoreAt = cellBase(nearest(y2, o2.y, 0.0, H), nearest(x2, o2.x, 0.0, W)) + HEATMAP + goal;
  result.records[at2 + LOGIT_WORD] = bitcast<u32>(heads[scoreAt]);
}

${entryPoint(p.maxCandidates)}
  if (index >= min(result.count, MAX_CANDIDATES)) {
    return;
  }
  record = index * RECORD_WORDS;
  let key = result.records[record + KEY_WORD];
  let cell = i32(key / PARTS);
  for (var k = 0u; k < PARTS; k++) {
    found[k] = false;
  }
  let part = key % PARTS;
  let root = place(part, cell / W, cell % W);
  // The root's score is its candidate score, read at its own cell.
  result.records[root + LOGIT_WORD] = bitcast<u32>(heads[u32(cell) * CELL_STRIDE + HEATMAP + part]);
  // Edges 15 → 0 backward (child → parent), then 0 → 15 forward (parent → child): one loop of
  // 32 steps with a single call of traverse, so a compiler that inlines it does so once
  // (SwiftShader: 79 ms for the pipeline, against 117 ms with two loops).
  for (var step = 0u; step < 32u; step++) {
    let backward = step < 16u;
    let edge = select(step - 16u, 15u - step, backward);
    let ends = EDGES[edge];
    let source = select(ends.x, ends.y, backward);
    let goal = select(ends.y, ends.x, backward);
    if (found[source] && !found[goal]) {
      traverse(edge, source, goal, select(DISP_FWD, DISP_BWD, backward));
    }
  }
}
`;
}
