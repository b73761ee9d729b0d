/**
 * WGSL generator for pass A of the GPU multi-pose decode (TF.js PoseNet 2.x
 * `decodeMultiplePoses`): the root candidates, one invocation per (cell, part), appended to a
 * candidate list with an atomic counter. Pass B (`multi_pose_walk.ts`) then grows the whole
 * 17-keypoint pose from every candidate, in the same compute pass; the result layout is
 * `multi_pose_layout.ts`.
 *
 * Only the choice among candidates (heap order, NMS, instance scores) is left to the CPU, because
 * it is sequential and depends on the poses taken before; a pose's tree walk depends on nothing
 * but its root and the heads. Candidates are found with a little slack (scores within
 * {@linkcode CANDIDATE_SLACK} of the threshold or of a neighbour), because the GPU's `exp` is not
 * the CPU's; the host makes the exact decision from the root's logit and its neighbours' largest
 * logit.
 *
 * @module
 */

import { entryPoint, WORKGROUP_SIZE } from "./wgsl_common.ts";
import { multiPoseConstants, type MultiPoseShaderParams } from "./multi_pose_layout.ts";

/** Bytes of pass A's uniform block ({@linkcode multiPoseUniforms}). */
export const MULTI_POSE_UNIFORM_BYTES: number = 16;

/**
 * How far below the threshold, or below a neighbour, a GPU-computed score may be and still be
 * kept as a candidate. The GPU's `exp` may be off by a few ulps (WGSL allows `3 + 2·|x|`), which
 * moves a sigmoid by well under 1e-6; the host drops the extra candidates with the exact test.
 */
export const CANDIDATE_SLACK: number = 1e-5;

/**
 * Packs the score threshold into pass A's uniform block.
 *
 * @param scoreThreshold Least root score, in [0, 1].
 * @returns The uniform bytes.
 *
 * @example
 * ```ts
 * import { multiPoseUniforms } from "./multi_pose_candidates.ts";
 * console.log(new Float32Array(multiPoseUniforms(0.5))[0]); // 0.5
 * ```
 */
export function multiPoseUniforms(scoreThreshold: number): ArrayBuffer {
  const buffer = new ArrayBuffer(MULTI_POSE_UNIFORM_BYTES);
  new Float32Array(buffer)[0] = scoreThreshold;
  return buffer;
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
//   A candidate takes slot atomicAdd(count, 1) and writes the KEY_WORD (raster key) and
//   NEIGHBOUR_WORD (neighbour logit) of its record; the count goes on past MAX_CANDIDATES, whose records are not written.
// Layout: heads as f32, CELL_STRIDE floats per cell; result = count, then MAX_CANDIDATES records
// of RECORD_WORDS u32. Workgroup: ${WORKGROUP_SIZE} invocations, one per (cell, part), index = cell · 17 + part
// (which is the raster key).
${multiPoseConstants(p)}
const SLACK: f32 = ${CANDIDATE_SLACK};

struct Uniforms {
  scoreThreshold: f32,
}

struct Candidates {
  count: atomic<u32>,
  records: array<u32>,
}

@group(0) @binding(0) var<storage, read> heads: array<f32>;
@group(0) @binding(1) var<uniform> uniforms: Uniforms;
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
  if (!(score >= uniforms.scoreThreshold - SLACK)) {
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
  result.records[slot * RECORD_WORDS + KEY_WORD] = index;
  result.records[slot * RECORD_WORDS + NEIGHBOUR_WORD] = bitcast<u32>(neighbours);
}
`;
}
