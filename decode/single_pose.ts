/**
 * Single-pose decoding, matching TF.js PoseNet 2.x `decodeSinglePose` on its CPU backend.
 *
 * For each keypoint the cell with the highest score wins; its position is the cell's centre in
 * input pixels plus the keypoint's offset there. The pose score is the mean keypoint score.
 *
 * @example
 * ```ts
 * import { decodeSinglePose } from "./single_pose.ts";
 *
 * const cells = 9 * 9;
 * const pose = decodeSinglePose({
 *   height: 9,
 *   width: 9,
 *   outputStride: 32,
 *   heatmap: new Float32Array(cells * 17),
 *   offsets: new Float32Array(cells * 34),
 *   displacementFwd: new Float32Array(cells * 32),
 *   displacementBwd: new Float32Array(cells * 32),
 * });
 * console.log(pose.score); // 0.5
 * ```
 *
 * @module
 */

import {
  type PoseNetHeads,
  type ScoredHeads,
  toScoredHeads,
  validateScoredHeads,
} from "./heads.ts";
import { applyInputTransform, type InputTransform } from "./input_transform.ts";
import { type Keypoint, NUM_KEYPOINTS, PART_NAMES, type Pose } from "./keypoints.ts";

/**
 * Decodes one pose from scored heads (keypoint scores already through the sigmoid, as float32).
 * This is the back end of {@link decodeSinglePose}, for callers that compute the scores
 * elsewhere (for example on the GPU).
 *
 * TF.js behaviour mirrored here:
 * - the argmax runs on the float32 scores, not on the logits, over cells in `y * width + x`
 *   order, and the first maximum wins (a later cell must be strictly greater), so logits that
 *   differ but round to the same float32 score tie;
 * - the position `cell * outputStride + offset` is rounded to float32 (TF.js adds two float32
 *   tensors);
 * - the pose score is the float64 sum of the 17 scores, in part order, divided by 17.
 *
 * @param heads Scored heads; `displacementFwd`/`displacementBwd` are checked but not used.
 * @param transform Optional mapping back to the original image, applied last.
 * @returns The pose, with its 17 keypoints in part order.
 * @throws {InvalidInputError} When the heads or the transform are invalid.
 *
 * @example
 * ```ts
 * import { decodeSinglePoseFromScores } from "./single_pose.ts";
 *
 * const scores = new Float32Array(2 * 17).fill(0.25);
 * scores[17] = 0.75; // nose scores best in the second cell
 * const pose = decodeSinglePoseFromScores({
 *   height: 1,
 *   width: 2,
 *   outputStride: 16,
 *   scores,
 *   offsets: new Float32Array(2 * 34),
 *   displacementFwd: new Float32Array(2 * 32),
 *   displacementBwd: new Float32Array(2 * 32),
 * });
 * console.log(pose.keypoints[0].position); // { x: 16, y: 0 }
 * ```
 */
export function decodeSinglePoseFromScores(
  heads: ScoredHeads,
  transform?: InputTransform,
): Pose {
  validateScoredHeads(heads);
  const { width, outputStride, scores, offsets } = heads;
  const cells = heads.height * width;
  const keypoints: Keypoint[] = [];
  let totalScore = 0;
  for (let part = 0; part < NUM_KEYPOINTS; part++) {
    let best = 0;
    let bestScore = scores[part];
    for (let cell = 1; cell < cells; cell++) {
      const score = scores[cell * NUM_KEYPOINTS + part];
      if (score > bestScore) {
        bestScore = score;
        best = cell;
      }
    }
    const cellY = Math.floor(best / width);
    const cellX = best - cellY * width;
    const offsetBase = best * 2 * NUM_KEYPOINTS;
    const score = scores[best * NUM_KEYPOINTS + part];
    totalScore += score;
    keypoints.push({
      part: PART_NAMES[part],
      score,
      position: {
        x: Math.fround(cellX * outputStride + offsets[offsetBase + NUM_KEYPOINTS + part]),
        y: Math.fround(cellY * outputStride + offsets[offsetBase + part]),
      },
    });
  }
  const pose: Pose = { score: totalScore / NUM_KEYPOINTS, keypoints };
  return transform === undefined ? pose : applyInputTransform(pose, transform);
}

/**
 * Decodes the single best pose from the network outputs, exactly as TF.js PoseNet 2.x
 * `decodeSinglePose` (CPU backend) followed by `scaleAndFlipPoses` when a transform is given.
 *
 * The scores are `sigmoid(heatmap)` rounded to float32 (`sigmoidScores` in `heads.ts`); everything
 * else is as {@link decodeSinglePoseFromScores}.
 *
 * @param heads The raw network outputs.
 * @param transform Optional mapping back to the original image, applied last.
 * @returns The pose, with its 17 keypoints in part order.
 * @throws {InvalidInputError} When the heads or the transform are invalid.
 *
 * @example
 * ```ts
 * import { decodeSinglePose } from "./single_pose.ts";
 * import { inputTransformFor } from "./input_transform.ts";
 *
 * const cells = 17 * 17;
 * const heatmap = new Float32Array(cells * 17).fill(-4);
 * heatmap[(2 * 17 + 3) * 17 + 0] = 3; // nose at cell (y=2, x=3)
 * const pose = decodeSinglePose(
 *   {
 *     height: 17,
 *     width: 17,
 *     outputStride: 16,
 *     heatmap,
 *     offsets: new Float32Array(cells * 34),
 *     displacementFwd: new Float32Array(cells * 32),
 *     displacementBwd: new Float32Array(cells * 32),
 *   },
 *   inputTransformFor(257, 257, 257, 257),
 * );
 * console.log(pose.keypoints[0].position); // { x: 48, y: 32 }
 * ```
 */
export function decodeSinglePose(heads: PoseNetHeads, transform?: InputTransform): Pose {
  return decodeSinglePoseFromScores(toScoredHeads(heads), transform);
}
