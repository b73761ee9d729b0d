/**
 * Tracking by keypoint similarity: pose-detection 2.1.3's `KeypointTracker`
 * (`calculators/keypoint_tracker.js`), the similarity being an Object Keypoint Similarity (COCO's
 * OKS) between the pose's keypoints and the track's last ones, for keypoints in fractions of the
 * image.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import type { KeypointTrackerParams, TrackerConfig } from "../detectors/detector_types.ts";
import {
  PoseTrackerBase,
  type Track,
  type TrackablePose,
  type TrackedKeypoint,
} from "./tracker.ts";

/**
 * The area of the box around the keypoints scoring above `threshold`, that box always spanning
 * at least from 1 to 0 on each axis' min and max (so an empty set gives (0 − 1)² = 1), as
 * pose-detection computes it.
 *
 * @param keypoints Keypoints in fractions of the image.
 * @param threshold Keypoints scoring at or below this are left out.
 * @returns The area.
 *
 * @example
 * ```ts
 * import { keypointsArea } from "./keypoint_tracker.ts";
 *
 * const k = (x: number, y: number) => ({ x, y, score: 1 });
 * console.log(keypointsArea([k(0.2, 0.1), k(0.6, 0.5)], 0.3).toFixed(2)); // 0.16
 * ```
 */
export function keypointsArea(keypoints: readonly TrackedKeypoint[], threshold: number): number {
  const valid = keypoints.filter((k) => k.score > threshold);
  const minX = Math.min(1.0, ...valid.map((k) => k.x));
  const maxX = Math.max(0.0, ...valid.map((k) => k.x));
  const minY = Math.min(1.0, ...valid.map((k) => k.y));
  const maxY = Math.max(0.0, ...valid.map((k) => k.y));
  return (maxX - minX) * (maxY - minY);
}

/**
 * pose-detection's OKS between a pose and a track: over the keypoints both score at least
 * `keypointConfidenceThreshold`, the mean of `exp(−d² / (2 · area · (2 · falloff)²))`, `area`
 * being the track's {@linkcode keypointsArea} + 1e-6; 0 when fewer than `minNumberOfKeypoints`
 * count.
 *
 * @param pose The pose's keypoints.
 * @param track The track's keypoints, as many.
 * @param params The threshold, falloffs and minimum count.
 * @returns The similarity in [0, 1].
 *
 * @example
 * ```ts
 * import { keypointSimilarity } from "./keypoint_tracker.ts";
 * import { DEFAULT_KEYPOINT_TRACKER_CONFIG } from "./tracker_config.ts";
 *
 * const person = Array.from({ length: 17 }, (_, i) => ({ x: 0.3 + i / 80, y: i / 20, score: 0.9 }));
 * const params = DEFAULT_KEYPOINT_TRACKER_CONFIG.keypointTrackerParams!;
 * console.log(keypointSimilarity(person, person, params)); // 1
 * ```
 */
export function keypointSimilarity(
  pose: readonly TrackedKeypoint[],
  track: readonly TrackedKeypoint[],
  params: KeypointTrackerParams,
): number {
  const threshold = params.keypointConfidenceThreshold;
  const boxArea = keypointsArea(track, threshold) + 1e-6;
  let total = 0;
  let count = 0;
  for (let i = 0; i < pose.length; ++i) {
    const a = pose[i];
    const b = track[i];
    if (a.score < threshold || b.score < threshold) continue;
    count += 1;
    const dSquared = Math.pow(a.x - b.x, 2) + Math.pow(a.y - b.y, 2);
    const x = 2 * params.keypointFalloff[i];
    total += Math.exp(-1 * dSquared / (2 * boxArea * Math.pow(x, 2)));
  }
  if (count < params.minNumberOfKeypoints) return 0.0;
  return total / count;
}

/**
 * Links poses to tracks by {@linkcode keypointSimilarity}; every pose needs as many keypoints as
 * the config has falloffs.
 *
 * @example
 * ```ts
 * import { KeypointTracker } from "./keypoint_tracker.ts";
 * import { resolveTrackerConfig } from "./tracker_config.ts";
 *
 * const tracker = new KeypointTracker(resolveTrackerConfig("keypoint"));
 * const person = (x: number) => ({
 *   keypoints: Array.from({ length: 17 }, (_, i) => ({ x: x + i / 200, y: i / 20, score: 0.9 })),
 * });
 * console.log(tracker.apply([person(0.1), person(0.6)], 0)); // [1, 2]
 * console.log(tracker.apply([person(0.61), person(0.11)], 33_000)); // [2, 1]
 * ```
 */
export class KeypointTracker extends PoseTrackerBase {
  readonly #params: KeypointTrackerParams;

  /**
   * Makes a tracker with no tracks.
   *
   * @param config A resolved config with `keypointTrackerParams` (`resolveTrackerConfig`).
   * @throws {InvalidInputError} When the config has no `keypointTrackerParams`.
   */
  constructor(config: TrackerConfig) {
    super(config);
    if (!config.keypointTrackerParams) {
      throw new InvalidInputError(
        "the keypoint tracker needs trackerConfig.keypointTrackerParams " +
          '(resolveTrackerConfig("keypoint", …) fills them)',
      );
    }
    this.#params = config.keypointTrackerParams;
  }

  /**
   * Links this frame's poses to tracks ({@linkcode PoseTrackerBase.apply}).
   *
   * @param poses The frame's poses, most confident first.
   * @param microseconds The frame's time in microseconds.
   * @returns Each pose's track id.
   * @throws {InvalidInputError} When a pose's keypoint count is not the falloffs'.
   */
  override apply(poses: readonly TrackablePose[], microseconds: number): number[] {
    const n = this.#params.keypointFalloff.length;
    for (const [i, pose] of poses.entries()) {
      if (pose.keypoints.length !== n) {
        throw new InvalidInputError(
          `the keypoint tracker has ${n} falloffs; pose ${i} has ${pose.keypoints.length} keypoints`,
        );
      }
    }
    return super.apply(poses, microseconds);
  }

  /**
   * The OKS of the pose's keypoints and the track's.
   *
   * @param pose A pose of this frame.
   * @param track A live track.
   * @returns {@linkcode keypointSimilarity}.
   */
  protected similarity(pose: TrackablePose, track: Track): number {
    return keypointSimilarity(pose.keypoints, track.keypoints, this.#params);
  }
}
