/**
 * Tracking by box overlap: pose-detection 2.1.3's `BoundingBoxTracker`
 * (`calculators/bounding_box_tracker.js`), the similarity being the intersection over union of
 * the pose's box and the track's last box.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import type { BoundingBox } from "../detectors/detector_types.ts";
import { PoseTrackerBase, type Track, type TrackablePose } from "./tracker.ts";

/**
 * The intersection over union of two boxes, 0 when they do not overlap. The areas come from the
 * boxes' `width` and `height` fields, as in pose-detection.
 *
 * @param a A box.
 * @param b Another box.
 * @returns The IoU, in [0, 1] for consistent boxes.
 *
 * @example
 * ```ts
 * import { boxIou } from "./bounding_box_tracker.ts";
 *
 * const box = (x: number) => ({ xMin: x, yMin: 0, xMax: x + 2, yMax: 1, width: 2, height: 1 });
 * console.log(boxIou(box(0), box(1))); // 0.3333333333333333: 1 / (2 + 2 − 1)
 * ```
 */
export function boxIou(a: BoundingBox, b: BoundingBox): number {
  const xMin = Math.max(a.xMin, b.xMin);
  const yMin = Math.max(a.yMin, b.yMin);
  const xMax = Math.min(a.xMax, b.xMax);
  const yMax = Math.min(a.yMax, b.yMax);
  if (xMin >= xMax || yMin >= yMax) return 0.0;
  const intersection = (xMax - xMin) * (yMax - yMin);
  const areaA = a.width * a.height;
  const areaB = b.width * b.height;
  return intersection / (areaA + areaB - intersection);
}

/**
 * Links poses to tracks by {@linkcode boxIou}; every pose needs a `box`.
 *
 * @example
 * ```ts
 * import { BoundingBoxTracker } from "./bounding_box_tracker.ts";
 * import { resolveTrackerConfig } from "./tracker_config.ts";
 *
 * const tracker = new BoundingBoxTracker(resolveTrackerConfig("boundingBox"));
 * const person = (x: number) => ({
 *   keypoints: [],
 *   box: { xMin: x, yMin: 0.1, xMax: x + 0.3, yMax: 0.9, width: 0.3, height: 0.8 },
 * });
 * console.log(tracker.apply([person(0.1), person(0.6)], 0)); // [1, 2]
 * console.log(tracker.apply([person(0.62), person(0.12)], 33_000)); // [2, 1]
 * ```
 */
export class BoundingBoxTracker extends PoseTrackerBase {
  /**
   * Links this frame's poses to tracks ({@linkcode PoseTrackerBase.apply}).
   *
   * @param poses The frame's poses, each with a `box`, most confident first.
   * @param microseconds The frame's time in microseconds.
   * @returns Each pose's track id.
   * @throws {InvalidInputError} When a pose has no box.
   */
  override apply(poses: readonly TrackablePose[], microseconds: number): number[] {
    for (const [i, pose] of poses.entries()) {
      if (pose.box === undefined) {
        throw new InvalidInputError(`the box tracker needs every pose's box; pose ${i} has none`);
      }
    }
    return super.apply(poses, microseconds);
  }

  /**
   * The IoU of the pose's box and the track's.
   *
   * @param pose A pose of this frame.
   * @param track A live track.
   * @returns {@linkcode boxIou}.
   */
  protected similarity(pose: TrackablePose, track: Track): number {
    return boxIou(pose.box!, track.box!);
  }
}
