/**
 * WGSL generators for the GPU half of the multi-pose decode (TF.js PoseNet 2.x
 * `decodeMultiplePoses`), two dispatches in one compute pass:
 *
 * - pass A ({@linkcode multiPoseCandidatesShader}): the root candidates, one invocation per
 *   (cell, part), appended to a candidate list with an atomic counter;
 * - pass B ({@linkcode multiPoseWalkShader}): the whole 17-keypoint pose grown from every
 *   candidate as its root, one invocation per candidate slot.
 *
 * Only the choice among candidates (heap order, NMS, instance scores) is left to the CPU, because
 * it is sequential and depends on the poses taken before; a pose's tree walk depends on nothing
 * but its root and the heads.
 *
 * Result buffer, as `u32` words: word 0 is the candidate count (it keeps counting past the
 * capacity, so the host can see an overflow), then `maxCandidates` records of
 * {@linkcode MULTI_POSE_RECORD_WORDS} words:
 *
 * | words | what |
 * | --- | --- |
 * | 0 | raster key `(y · W + x) · 17 + part` of the root cell |
 * | 1 | largest heatmap logit among the root's neighbours in its grid-clipped 3x3 window (f32 bits) |
 * | 2 + 4k .. 5 + 4k | keypoint k: cell index `y · W + x`, y offset, x offset (f32 bits), and the heatmap logit of part k at the cell nearest the keypoint (f32 bits) |
 *
 * The position of keypoint k is `cellY · stride + offsetY`, likewise x: the host adds them in
 * float64, as TF.js does, and takes the sigmoid of the logits itself, so scores and positions are
 * bit-identical to the CPU decode. Candidates are found with a little slack (scores within
 * {@linkcode CANDIDATE_SLACK} of the threshold or of a neighbour), because the GPU's `exp` is not
 * the CPU's; the host makes the exact decision from the root's logit and its neighbours' largest
 * logit.
 *
 * @module
 */

import { entryPoint } from "./wgsl_common.ts";

/** Words per candidate record: key, neighbour logit, 17 × (cell, offset y, offset x, logit). */
export const MULTI_POSE_RECORD_WORDS: number = 2 + 17 * 4;

/** Words before the first record: the candidate count. */
export const MULTI_POSE_HEADER_WORDS: number = 1;

/** Bytes of the per-frame uniform block ({@linkcode multiPoseParams}). */
export const MULTI_POSE_PARAMS_BYTES: number = 16;

/**
 * How far below the threshold, or below a neighbour, a GPU-computed score may be and still be
 * kept as a candidate. The GPU's `exp` may be off by a few ulps (WGSL allows `3 + 2·|x|`), which
 * moves a sigmoid by well under 1e-6; the host drops the extra candidates with the exact test.
 */
export const CANDIDATE_SLACK: number = 1e-5;

/** Shape constants baked into the multi-pose shaders. */
export interface MultiPoseShaderParams {
  /** Heatmap rows. */
  readonly height: number;
  /** Heatmap columns. */
  readonly width: number;
  /** Network output stride: a power of two, so dividing by it is exact. */
  readonly outputStride: number;
  /** Floats per heatmap cell in the heads buffer (all heads, each padded to a multiple of 4). */
  readonly cellStride: number;
  /** Channel of part 0's heatmap logit within a cell. */
  readonly heatmapChannel: number;
  /** Channel of part 0's y offset (x offsets follow 17 channels later). */
  readonly offsetChannel: number;
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
 * Packs a frame's score threshold into the candidate pass's uniform block.
 *
 * @param scoreThreshold Least root score, in [0, 1].
 * @returns The uniform bytes.
 *
 * @example
 * ```ts
 * import { multiPoseParams } from "./multi_pose_candidates.ts";
 * console.log(new Float32Array(multiPoseParams(0.5))[0]); // 0.5
 * ```
 */
export function multiPoseParams(scoreThreshold: number): ArrayBuffer {
  const buffer = new ArrayBuffer(MULTI_POSE_PARAMS_BYTES);
  new Float32Array(buffer)[0] = scoreThreshold;
  return buffer;
}

function constants(p: MultiPoseShaderParams): string {
  return `const H: i32 = ${p.height};
const W: i32 = ${p.width};
const PARTS: u32 = 17u;
const CELL_STRIDE: u32 = ${p.cellStride}u;
const HEATMAP: u32 = ${p.heatmapChannel}u;
const OFFSETS: u32 = ${p.offsetChannel}u;
const MAX_CANDIDATES: u32 = ${p.maxCandidates}u;
const RECORD_WORDS: u32 = ${MULTI_POSE_RECORD_WORDS}u;`;
}

/**
 * Generates pass A: the root candidates.
 *
 * @param p Shape and layout constants.
 * @returns WGSL source.
 *
 * @example
 * ```ts
 * import { multiPoseCandidatesShader } from "./multi_pose_candidates.ts";
 * import { POSE_CHAIN_INDICES } from "../decode/keypoints.ts";
 * const wgsl = multiPoseCandidatesShader({ height: 17, width: 17, outputStride: 16, cellStride: 120, heatmapChannel: 0, offsetChannel: 20, displacementFwdChannel: 56, displacementBwdChannel: 88, maxCandidates: 128, edges: POSE_CHAIN_INDICES });
 * ```
 */
export function multiPoseCandidatesShader(p: MultiPoseShaderParams): string {
  return `// Multi-pose pass A: root candidates, as TF.js PoseNet's buildPartWithScoreQueue.
//   score = sigmoid(heatmap logit) in f32; cell (y, x) is a candidate for part k iff
//   score >= scoreThreshold and no cell of the grid-clipped 3x3 window has a strictly greater
//   score of part k (equal neighbours all qualify). Both tests get CANDIDATE_SLACK of room, since
//   this exp is not the CPU's; the record carries the root's and the neighbours' largest logit so
//   the host can make the exact test with the CPU's sigmoid.
//   A candidate takes slot atomicAdd(count, 1) and writes words 0 (raster key) and 1 (neighbour
//   logit) of its record; the count goes on past MAX_CANDIDATES, whose records are not written.
// Layout: heads as f32, CELL_STRIDE floats per cell; result = count, then MAX_CANDIDATES records
// of RECORD_WORDS u32. Workgroup: 64 invocations, one per (cell, part), index = cell · 17 + part
// (which is the raster key).
${constants(p)}
const SLACK: f32 = ${CANDIDATE_SLACK};

struct Params {
  scoreThreshold: f32,
}

struct Candidates {
  count: atomic<u32>,
  records: array<u32>,
}

@group(0) @binding(0) var<storage, read> heads: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> result: Candidates;

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

${entryPoint(p.height * p.width * 17)}
  let part = index % PARTS;
  let cell = index / PARTS;
  let y = i32(cell) / W;
  let x = i32(cell) % W;
  let score = sigmoid(heads[cell * CELL_STRIDE + HEATMAP + part]);
  if (!(score >= params.scoreThreshold - SLACK)) {
    return;
  }
  var neighbours = -3.0e38;
  for (var wy = max(y - 1, 0); wy <= min(y + 1, H - 1); wy++) {
    for (var wx = max(x - 1, 0); wx <= min(x + 1, W - 1); wx++) {
      if (wy != y || wx != x) {
        neighbours = max(neighbours, heads[u32(wy * W + wx) * CELL_STRIDE + HEATMAP + part]);
      }
    }
  }
  if (sigmoid(neighbours) > score + SLACK) {
    return;
  }
  let slot = atomicAdd(&result.count, 1u);
  if (slot >= MAX_CANDIDATES) {
    return;
  }
  result.records[slot * RECORD_WORDS] = index;
  result.records[slot * RECORD_WORDS + 1u] = bitcast<u32>(neighbours);
}
`;
}

/**
 * Generates pass B: the pose grown from each candidate.
 *
 * @param p Shape and layout constants.
 * @returns WGSL source.
 *
 * @example
 * ```ts
 * import { multiPoseWalkShader } from "./multi_pose_candidates.ts";
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
// of RECORD_WORDS u32 (words 0 and 1 from pass A; this pass writes 2 + 4k .. 5 + 4k for each
// keypoint k: cell index, offset y, offset x, logit). Workgroup: 64 invocations, one per record
// slot; slots at or past min(count, MAX_CANDIDATES) return at once.
${constants(p)}
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
 * Whether p + q >= c in exact arithmetic, for |p|, |q| < 1 and c one of ±0.5, ±1.5. Only exact
 * operations are used, so a compiler that treats floats as reals cannot change the answer: with
 * a the larger of p and q in magnitude and b the other, |a + b| <= 2|a|, and when a and c have
 * the same sign and |a| >= |c| / 2, c − a is exact (Sterbenz).
 */
fn sumAtLeast(p: f32, q: f32, c: f32) -> bool {
  var a = p;
  var b = q;
  if (abs(q) > abs(p)) {
    a = q;
    b = p;
  }
  if (abs(a) < 0.5 * abs(c) || (a < 0.0) != (c < 0.0)) {
    return c < 0.0;
  }
  return b >= c - a;
}

/**
 * Math.round((o + d) / STRIDE) as float64 JS computes it, o and d being f32: the integer parts
 * (trunc) add exactly, and the rounding of the two fractional parts' sum is decided exactly.
 * A plain f32 o + d could round onto half a cell and flip the result; WGSL's round() would also
 * round halves to even, where JS rounds them up.
 */
fn roundSum(o: f32, d: f32) -> i32 {
  let u = clamp(o * INV_STRIDE, -4194304.0, 4194304.0);
  let v = clamp(d * INV_STRIDE, -4194304.0, 4194304.0);
  let tu = trunc(u);
  let tv = trunc(v);
  let ru = u - tu;
  let rv = v - tv;
  var k = i32(tu) + i32(tv) - 2;
  k += select(0, 1, sumAtLeast(ru, rv, -1.5));
  k += select(0, 1, sumAtLeast(ru, rv, -0.5));
  k += select(0, 1, sumAtLeast(ru, rv, 0.5));
  k += select(0, 1, sumAtLeast(ru, rv, 1.5));
  return k;
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

/** Records keypoint part at cell (y, x) with its offset there; returns its record slot. */
fn place(part: u32, y: i32, x: i32) -> u32 {
  let o = offsetAt(y, x, part);
  cellY[part] = y;
  cellX[part] = x;
  offset[part] = o;
  found[part] = true;
  let at = record + 2u + part * 4u;
  result.records[at] = u32(y * W + x);
  result.records[at + 1u] = bitcast<u32>(o.y);
  result.records[at + 2u] = bitcast<u32>(o.x);
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
  result.records[at2 + 3u] = bitcast<u32>(heads[scoreAt]);
}

${entryPoint(p.maxCandidates)}
  if (index >= min(result.count, MAX_CANDIDATES)) {
    return;
  }
  record = index * RECORD_WORDS;
  let key = result.records[record];
  let cell = i32(key / PARTS);
  for (var k = 0u; k < PARTS; k++) {
    found[k] = false;
  }
  let part = key % PARTS;
  let root = place(part, cell / W, cell % W);
  // The root's score is its candidate score, read at its own cell.
  result.records[root + 3u] = bitcast<u32>(heads[u32(cell) * CELL_STRIDE + HEATMAP + part]);
  for (var i = 0u; i < 16u; i++) {
    let edge = 15u - i;
    let ends = EDGES[edge];
    if (found[ends.y] && !found[ends.x]) {
      traverse(edge, ends.y, ends.x, DISP_BWD);
    }
  }
  for (var edge = 0u; edge < 16u; edge++) {
    let ends = EDGES[edge];
    if (found[ends.x] && !found[ends.y]) {
      traverse(edge, ends.x, ends.y, DISP_FWD);
    }
  }
}
`;
}
