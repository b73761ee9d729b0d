/**
 * Track ids and keypoint smoothing over a video's frames for multi-person detectors: what
 * pose-detection 2.1.3's MoveNet MultiPose does after its model (`estimateMultiplePoses` in
 * `movenet/detector.js`): a box or keypoint tracker assigns ids, then each track's keypoints go
 * through that track's own One-Euro filter, and the filters of tracks that died are dropped.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { describe } from "../_describe.ts";
import type { DetectedPose, TrackerType } from "../detectors/detector_types.ts";
import { BoundingBoxTracker } from "./bounding_box_tracker.ts";
import {
  KeypointsOneEuroFilter,
  MOVENET_KEYPOINT_FILTER_CONFIG,
} from "./keypoints_one_euro_filter.ts";
import { KeypointTracker } from "./keypoint_tracker.ts";
import type { PoseTrackerBase } from "./tracker.ts";
import { type PartialTrackerConfig, resolveTrackerConfig } from "./tracker_config.ts";
import { timestampMicroseconds } from "./_timestamp.ts";

/** What {@linkcode createPoseTracker} takes; every field is optional. */
export interface PoseTrackerOptions {
  /** `"boundingBox"` (default, IoU of the poses' `box`) or `"keypoint"` (OKS). */
  readonly trackerType?: TrackerType;
  /** Limits over pose-detection's defaults for the type; any field may be left out. */
  readonly trackerConfig?: PartialTrackerConfig;
  /** One-Euro smoothing of each track's keypoints (default true, as pose-detection). */
  readonly enableSmoothing?: boolean;
}

/** One video's tracking state; see {@linkcode createPoseTracker}. */
export interface PoseTracker {
  /** The tracker type in use. */
  readonly trackerType: TrackerType;
  /**
   * Gives one frame's poses track ids and, with smoothing, smoothed keypoints.
   *
   * @param poses The frame's poses with keypoints (and `box`) in FRACTIONS of the image, most
   * confident first, already filtered by score. Not changed.
   * @param timestampMs The frame's time in milliseconds (finite, ≥ 0; a time not after the
   * previous frame's leaves the keypoints unsmoothed, as pose-detection does).
   * @returns New poses in the same order, each with `id`; keypoints still in fractions.
   */
  apply(poses: readonly DetectedPose[], timestampMs: number): DetectedPose[];
  /** Drops every track and filter (a new video); ids keep counting. */
  reset(): void;
}

/**
 * Makes the per-video tracker a multi-person detector keeps: one per detector (or per video
 * stream), `apply()` once per video frame, `reset()` when the video changes.
 *
 * It works where pose-detection runs its tracker: on keypoints and boxes in fractions of the
 * image (OKS's area and MoveNet's filter thresholds assume that scale), so a detector calls it
 * before mapping keypoints to pixels:
 *
 * ```text
 * poses = model output, score ≥ minPoseScore, keypoints (and box) in [0, 1] of the image
 * poses = tracker.apply(poses, timestampMs)   // only for calls with a timestamp
 * keypoints.x *= imageWidth; keypoints.y *= imageHeight
 * ```
 *
 * Still images (no timestamp) should not go through it: pose-detection would give them fresh ids
 * each call. A tracked pose whose new track does not fit in `maxTracks` still gets an id (and is
 * smoothed once), but the track is not kept, as in pose-detection.
 *
 * @param options Tracker type, limits and smoothing.
 * @returns The tracker.
 * @throws {InvalidInputError} On a bad option (see `resolveTrackerConfig`).
 *
 * @example
 * ```ts
 * import { createPoseTracker } from "./pose_tracker.ts";
 *
 * const tracker = createPoseTracker({ trackerType: "boundingBox" });
 * const person = (x: number) => ({
 *   score: 0.8,
 *   keypoints: [{ x: x + 0.1, y: 0.3, score: 0.9, name: "nose" }],
 *   box: { xMin: x, yMin: 0.1, xMax: x + 0.2, yMax: 0.9, width: 0.2, height: 0.8 },
 * });
 * console.log(tracker.apply([person(0.1), person(0.5)], 0).map((p) => p.id)); // [1, 2]
 * console.log(tracker.apply([person(0.52), person(0.11)], 33).map((p) => p.id)); // [2, 1]
 * ```
 */
export function createPoseTracker(options: PoseTrackerOptions = {}): PoseTracker {
  if (typeof options !== "object" || options === null) {
    throw new InvalidInputError(
      `createPoseTracker: options must be an object, got ${describe(options)}`,
    );
  }
  const trackerType = options.trackerType ?? "boundingBox";
  const config = resolveTrackerConfig(trackerType, options.trackerConfig);
  const enableSmoothing = options.enableSmoothing ?? true;
  if (typeof enableSmoothing !== "boolean") {
    throw new InvalidInputError(
      `createPoseTracker: enableSmoothing must be a boolean, got ${describe(enableSmoothing)}`,
    );
  }
  const tracker: PoseTrackerBase = trackerType === "keypoint"
    ? new KeypointTracker(config)
    : new BoundingBoxTracker(config);
  const filters = new Map<number, KeypointsOneEuroFilter>();
  return {
    trackerType,
    apply(poses: readonly DetectedPose[], timestampMs: number): DetectedPose[] {
      const microseconds = timestampMicroseconds("PoseTracker.apply", timestampMs);
      if (!Array.isArray(poses)) {
        throw new InvalidInputError(
          `PoseTracker.apply: poses must be an array, got ${describe(poses)}`,
        );
      }
      const ids = tracker.apply(poses, microseconds);
      const out = poses.map((pose, i): DetectedPose => ({ ...pose, id: ids[i] }));
      if (!enableSmoothing) return out;
      for (const [i, pose] of out.entries()) {
        let filter = filters.get(ids[i]);
        if (!filter) {
          filter = new KeypointsOneEuroFilter(MOVENET_KEYPOINT_FILTER_CONFIG);
          filters.set(ids[i], filter);
        }
        out[i] = { ...pose, keypoints: filter.apply(pose.keypoints, microseconds, 1) };
      }
      const live = tracker.trackIds;
      for (const id of filters.keys()) if (!live.has(id)) filters.delete(id);
      return out;
    },
    reset(): void {
      tracker.reset();
      filters.clear();
    },
  };
}
