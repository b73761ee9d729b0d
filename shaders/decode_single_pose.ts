/**
 * WGSL generator for the fused single-pose decode: sigmoid, per-part argmax, offset and the map
 * back to image pixels in one dispatch, so only 17 × (score, y, x) leave the GPU.
 *
 * @module
 */

import { WORKGROUP_SIZE } from "./wgsl_common.ts";
import type { InputTransform } from "../decode/input_transform.ts";
import type { FusedHeadsLayout } from "./fused_heads_layout.ts";

/** Shape constants baked into a single-pose decode shader. */
export interface DecodeSinglePoseShaderParams extends FusedHeadsLayout {
  /** Number of parts (17). */
  readonly parts: number;
}

/** Bytes of the uniform block ({@linkcode decodeUniforms}). */
export const DECODE_UNIFORM_BYTES = 32;

/** Floats written per part: score, y, x, and the winning cell index. */
export const DECODE_FLOATS_PER_PART = 4;

/**
 * Packs an image's {@linkcode InputTransform} (network-input pixels to image pixels) into the
 * shader's uniform block.
 *
 * @param transform The transform, e.g. from `inputTransformFor`.
 * @returns The uniform bytes.
 *
 * @example
 * ```ts
 * import { decodeUniforms } from "./decode_single_pose.ts";
 * decodeUniforms({ scaleY: 2.5, scaleX: 2.5, padTop: 80, padLeft: 0, imageWidth: 640, flipHorizontal: false });
 * ```
 */
export function decodeUniforms(transform: InputTransform): ArrayBuffer {
  const buffer = new ArrayBuffer(DECODE_UNIFORM_BYTES);
  const f = new Float32Array(buffer);
  const u = new Uint32Array(buffer);
  f[0] = transform.scaleY;
  f[1] = transform.scaleX;
  f[2] = transform.padTop;
  f[3] = transform.padLeft;
  f[4] = transform.imageWidth;
  u[5] = transform.flipHorizontal ? 1 : 0;
  return buffer;
}

/**
 * Generates the single-pose decode shader for one heatmap size and head layout.
 *
 * @param p Shape and layout constants.
 * @returns WGSL source.
 *
 * @example
 * ```ts
 * import { decodeSinglePoseShader } from "./decode_single_pose.ts";
 * const wgsl = decodeSinglePoseShader({ height: 17, width: 17, cellStride: 120, heatmapChannel: 0, offsetChannel: 20, outputStride: 16, parts: 17 });
 * ```
 */
export function decodeSinglePoseShader(p: DecodeSinglePoseShaderParams): string {
  return `// Fused single-pose decode (TF.js PoseNet decodeSinglePose + scaleAndFlipPoses), one dispatch:
//   score_k = max over cells of sigmoid(heatmap[cell][k]), ties to the lowest cell index y·W + x;
//   position_k = (cellY·STRIDE + offsetY, cellX·STRIDE + offsetX), offsetY in channel k and offsetX
//   in channel k + PARTS of the offsets head; then to image pixels: y·scaleY − padTop,
//   x·scaleX − padLeft, and x' = imageWidth − 1 − x when mirrored.
// The argmax compares the f32 sigmoid, not the logit, because TF.js does: logits that differ can
// round to the same score, and then the first cell wins.
// Layout: heads buffer as f32, CELL_STRIDE floats per cell (all four heads side by side); output
// PARTS × (score, y, x, cell). Workgroup: one per part, ${WORKGROUP_SIZE} invocations striding over the cells,
// then a tree reduction in workgroup memory.
const CELLS: u32 = ${p.height * p.width}u;
const W: u32 = ${p.width}u;
const CELL_STRIDE: u32 = ${p.cellStride}u;
const HEATMAP: u32 = ${p.heatmapChannel}u;
const OFFSETS: u32 = ${p.offsetChannel}u;
const PARTS: u32 = ${p.parts}u;
const STRIDE: f32 = ${p.outputStride}.0;

struct Transform {
  scaleY: f32,
  scaleX: f32,
  padTop: f32,
  padLeft: f32,
  imageWidth: f32,
  flip: u32,
}

@group(0) @binding(0) var<storage, read> heads: array<f32>;
@group(0) @binding(1) var<uniform> transform: Transform;
@group(0) @binding(2) var<storage, read_write> keypoints: array<vec4<f32>>;

var<workgroup> bestScore: array<f32, ${WORKGROUP_SIZE}>;
var<workgroup> bestCell: array<u32, ${WORKGROUP_SIZE}>;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let part = group.x;
  var score = -1.0;
  var cell = 0u;
  for (var i = lane; i < CELLS; i += ${WORKGROUP_SIZE}u) {
    let s = 1.0 / (1.0 + exp(-heads[i * CELL_STRIDE + HEATMAP + part]));
    if (s > score) {
      score = s;
      cell = i;
    }
  }
  bestScore[lane] = score;
  bestCell[lane] = cell;
  workgroupBarrier();
  for (var half = ${WORKGROUP_SIZE / 2}u; half > 0u; half >>= 1u) {
    if (lane < half) {
      let s = bestScore[lane + half];
      let c = bestCell[lane + half];
      if (s > bestScore[lane] || (s == bestScore[lane] && c < bestCell[lane])) {
        bestScore[lane] = s;
        bestCell[lane] = c;
      }
    }
    workgroupBarrier();
  }
  if (lane == 0u) {
    let best = bestCell[0];
    let base = best * CELL_STRIDE + OFFSETS + part;
    let y = f32(best / W) * STRIDE + heads[base];
    let x = f32(best % W) * STRIDE + heads[base + PARTS];
    var imageX = x * transform.scaleX - transform.padLeft;
    if (transform.flip != 0u) {
      imageX = transform.imageWidth - 1.0 - imageX;
    }
    keypoints[part] = vec4<f32>(bestScore[0], y * transform.scaleY - transform.padTop, imageX, f32(best));
  }
}
`;
}
