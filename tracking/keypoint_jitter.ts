/**
 * A jitter figure for keypoint sequences: how far keypoints move from one video frame to the next
 * on average. For a person standing still it measures the detector's noise, and what smoothing
 * takes off it.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";

/** A keypoint position (any unit) and, optionally, its score. */
export interface JitterKeypoint {
  /** Column. */
  readonly x: number;
  /** Row. */
  readonly y: number;
  /** Confidence; without one the keypoint always counts. */
  readonly score?: number;
}

/**
 * The mean frame-to-frame keypoint movement of a sequence: over each pair of consecutive frames
 * and each keypoint index, the Euclidean distance between its two positions, averaged. With
 * `minScore`, a pair counts only where the keypoint scores at least that in both frames.
 *
 * @param sequence One keypoint list per frame, in frame order, all of the same length.
 * @param minScore Leave out keypoints scoring below this (default: count every keypoint).
 * @returns The mean distance in the keypoints' unit; 0 when no pair counts.
 * @throws {InvalidInputError} When the frames do not all have the same number of keypoints.
 *
 * @example
 * ```ts
 * import { meanKeypointJitter } from "./keypoint_jitter.ts";
 *
 * const frames = [[{ x: 0, y: 0 }], [{ x: 3, y: 4 }], [{ x: 3, y: 4 }]];
 * console.log(meanKeypointJitter(frames)); // 2.5: (5 + 0) / 2
 * ```
 */
export function meanKeypointJitter(
  sequence: readonly (readonly JitterKeypoint[])[],
  minScore = -Infinity,
): number {
  let total = 0;
  let count = 0;
  for (let f = 1; f < sequence.length; f++) {
    const [previous, current] = [sequence[f - 1], sequence[f]];
    if (previous.length !== current.length) {
      throw new InvalidInputError(
        `meanKeypointJitter: frame ${f} has ${current.length} keypoints, frame ${f - 1} has ` +
          previous.length,
      );
    }
    for (let k = 0; k < current.length; k++) {
      const [a, b] = [previous[k], current[k]];
      if ((a.score ?? Infinity) < minScore || (b.score ?? Infinity) < minScore) continue;
      total += Math.hypot(b.x - a.x, b.y - a.y);
      count++;
    }
  }
  return count > 0 ? total / count : 0;
}
