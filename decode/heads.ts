/**
 * The four PoseNet output heads as the decoders take them: their checks, and the keypoint scores
 * (the sigmoid of the heatmap) the decoders compare. The map from network-input pixels back to
 * the image is in `input_transform.ts`.
 *
 * @example Score a heatmap
 * ```ts
 * import { toScoredHeads } from "./heads.ts";
 *
 * const scored = toScoredHeads({
 *   height: 1,
 *   width: 1,
 *   outputStride: 16,
 *   heatmap: new Float32Array(17),
 *   offsets: new Float32Array(34),
 *   displacementFwd: new Float32Array(32),
 *   displacementBwd: new Float32Array(32),
 * });
 * console.log(scored.scores[0]); // 0.5
 * ```
 *
 * @module
 */

import { describe } from "../_describe.ts";
import { requireObject, requirePositiveInteger } from "../_checks.ts";
import { InvalidInputError } from "../errors.ts";
import { NUM_EDGES, NUM_KEYPOINTS } from "./keypoints.ts";

/**
 * The raw outputs of the network for one image, all NHWC float32 with batch 1 squeezed.
 *
 * @example
 * ```ts
 * import { decodeSinglePose, load, type PoseNetHeads } from "../mod.ts";
 *
 * const net = await load({ inputResolution: 257 });
 * const image = { data: new Uint8Array(320 * 240 * 4).fill(128), width: 320, height: 240 };
 * const heads: PoseNetHeads = await net.predictHeads(image);
 * console.log(heads.height, heads.width, heads.heatmap.length); // 17 17 4913
 * const pose = decodeSinglePose(heads); // in network-input pixels (no transform given)
 * net.dispose();
 * ```
 */
export interface PoseNetHeads {
  /** Heatmap rows. */
  readonly height: number;
  /** Heatmap columns. */
  readonly width: number;
  /** Input pixels per heatmap cell (16 for the stock MobileNetV1 model). */
  readonly outputStride: number;
  /** Heatmap logits (before the sigmoid), `[height, width, 17]`. */
  readonly heatmap: Float32Array;
  /** Short-range offsets in input pixels, `[height, width, 34]`: y in 0..16, x in 17..33. */
  readonly offsets: Float32Array;
  /** Forward (parent → child) displacements, `[height, width, 32]`: y in 0..15, x in 16..31. */
  readonly displacementFwd: Float32Array;
  /** Backward (child → parent) displacements, `[height, width, 32]`: y in 0..15, x in 16..31. */
  readonly displacementBwd: Float32Array;
}

/**
 * The heads as the decoders' shared back end uses them: like {@link PoseNetHeads}, but with the
 * keypoint scores (the sigmoid of the heatmap, as float32) in place of the raw logits. A GPU pass
 * can produce `scores` itself, so the raw heatmap never has to reach the CPU.
 */
export interface ScoredHeads {
  /** Heatmap rows. */
  readonly height: number;
  /** Heatmap columns. */
  readonly width: number;
  /** Input pixels per heatmap cell. */
  readonly outputStride: number;
  /** Keypoint scores `sigmoid(heatmap)` rounded to float32, `[height, width, 17]`. */
  readonly scores: Float32Array;
  /** Short-range offsets, `[height, width, 34]`. */
  readonly offsets: Float32Array;
  /** Forward displacements, `[height, width, 32]`. */
  readonly displacementFwd: Float32Array;
  /** Backward displacements, `[height, width, 32]`. */
  readonly displacementBwd: Float32Array;
}

function requireArray(name: string, value: unknown, length: number): void {
  if (!(value instanceof Float32Array)) {
    throw new InvalidInputError(
      `${name} must be a Float32Array of length ${length}, got ${describe(value)}`,
    );
  }
  if (value.length !== length) {
    throw new InvalidInputError(`${name} must have length ${length}, got ${value.length}`);
  }
}

/** Checks the grid and the four arrays; `scoreKey` names the heatmap or the scores array. */
function validateHeadArrays(
  heads: PoseNetHeads | ScoredHeads,
  scoreKey: "heatmap" | "scores",
): void {
  requireObject("heads", heads);
  const height = requirePositiveInteger("heads.height", heads.height);
  const width = requirePositiveInteger("heads.width", heads.width);
  requirePositiveInteger("heads.outputStride", heads.outputStride);
  const cells = height * width;
  const scores = (heads as unknown as Record<string, unknown>)[scoreKey];
  requireArray(`heads.${scoreKey}`, scores, cells * NUM_KEYPOINTS);
  requireArray("heads.offsets", heads.offsets, cells * 2 * NUM_KEYPOINTS);
  requireArray("heads.displacementFwd", heads.displacementFwd, cells * 2 * NUM_EDGES);
  requireArray("heads.displacementBwd", heads.displacementBwd, cells * 2 * NUM_EDGES);
}

/**
 * Checks that scored heads have a valid grid and arrays of the right type and length.
 *
 * @param heads The scored heads to check.
 * @returns Nothing; returns normally when the heads are valid.
 * @throws {InvalidInputError} When a size is not a positive integer or an array is not a
 * `Float32Array` of `height * width * channels` elements.
 *
 * @example
 * ```ts
 * import { validateScoredHeads } from "./heads.ts";
 *
 * validateScoredHeads({
 *   height: 1,
 *   width: 1,
 *   outputStride: 16,
 *   scores: new Float32Array(17),
 *   offsets: new Float32Array(34),
 *   displacementFwd: new Float32Array(32),
 *   displacementBwd: new Float32Array(32),
 * });
 * ```
 */
export function validateScoredHeads(heads: ScoredHeads): void {
  validateHeadArrays(heads, "scores");
}

/**
 * The keypoint score of one heatmap logit, exactly as TF.js's CPU `sigmoid` kernel computes it:
 * `1 / (1 + Math.exp(-logit))` in double precision, rounded to float32.
 *
 * @param logit A heatmap logit.
 * @returns The score, a float32 value in [0, 1].
 *
 * @example
 * ```ts
 * import { sigmoidScore } from "./heads.ts";
 *
 * console.log(sigmoidScore(0), sigmoidScore(2)); // 0.5 0.8807970881462097
 * ```
 */
export function sigmoidScore(logit: number): number {
  return Math.fround(1 / (1 + Math.exp(-logit)));
}

/**
 * Computes keypoint scores from heatmap logits exactly as TF.js's CPU `sigmoid` kernel does:
 * {@linkcode sigmoidScore} of each logit. Because the result is rounded
 * to float32, distinct logits near the top can give equal scores; the decoders compare these
 * rounded scores, as TF.js does.
 *
 * @param heatmap Heatmap logits.
 * @returns A new array of the same length with the scores.
 *
 * @example
 * ```ts
 * import { sigmoidScores } from "./heads.ts";
 *
 * console.log(sigmoidScores(new Float32Array([0]))[0]); // 0.5
 * ```
 */
export function sigmoidScores(heatmap: Float32Array): Float32Array {
  const scores = new Float32Array(heatmap.length);
  for (let i = 0; i < heatmap.length; i++) scores[i] = sigmoidScore(heatmap[i]);
  return scores;
}

/**
 * Replaces the heatmap logits of validated heads by their {@link sigmoidScores}.
 *
 * @param heads The network outputs.
 * @returns The same heads with `scores` instead of `heatmap` (the other arrays are shared).
 * @throws {InvalidInputError} When a size is not a positive integer or an array is not a
 * `Float32Array` of `height * width * channels` elements.
 *
 * @example
 * ```ts
 * import { toScoredHeads } from "./heads.ts";
 *
 * const scored = toScoredHeads({
 *   height: 1,
 *   width: 1,
 *   outputStride: 16,
 *   heatmap: new Float32Array(17),
 *   offsets: new Float32Array(34),
 *   displacementFwd: new Float32Array(32),
 *   displacementBwd: new Float32Array(32),
 * });
 * console.log(scored.scores[0]); // 0.5
 * ```
 */
export function toScoredHeads(heads: PoseNetHeads): ScoredHeads {
  validateHeadArrays(heads, "heatmap");
  return {
    height: heads.height,
    width: heads.width,
    outputStride: heads.outputStride,
    scores: sigmoidScores(heads.heatmap),
    offsets: heads.offsets,
    displacementFwd: heads.displacementFwd,
    displacementBwd: heads.displacementBwd,
  };
}
