/**
 * The multi-person trackers' settings: pose-detection 2.1.3's defaults for MoveNet MultiPose
 * (`DEFAULT_BOUNDING_BOX_TRACKER_CONFIG`, `DEFAULT_KEYPOINT_TRACKER_CONFIG` in
 * `movenet/constants.js`), the merge of a partial user config over them
 * (`mergeBoundingBoxTrackerConfig`, `mergeKeypointTrackerConfig` in `movenet/detector_utils.js`),
 * and the checks (`validateTrackerConfig` in `calculators/tracker_utils.js`, made stricter: every
 * field must be a finite number of the right kind, and a bad one is an {@linkcode InvalidInputError}
 * naming it).
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { describe } from "../_describe.ts";
import type {
  KeypointTrackerParams,
  TrackerConfig,
  TrackerType,
} from "../detectors/detector_types.ts";

/** A tracker config with any field left out (the defaults fill it), as pose-detection accepts. */
export interface PartialTrackerConfig {
  /** Most tracks kept (default 18). */
  readonly maxTracks?: number;
  /** Milliseconds a track lives unmatched (default 1000). */
  readonly maxAge?: number;
  /** The least IoU or OKS that links a pose to a track (default 0.15 box, 0.2 keypoint). */
  readonly minSimilarity?: number;
  /** The keypoint tracker's OKS parameters; any left out take the defaults. */
  readonly keypointTrackerParams?: Partial<KeypointTrackerParams>;
}

/** COCO's per-keypoint OKS falloffs (sigmas), in COCO keypoint order. */
export const COCO_KEYPOINT_FALLOFF: readonly number[] = Object.freeze([
  0.026,
  0.025,
  0.025,
  0.035,
  0.035,
  0.079,
  0.079,
  0.072,
  0.072,
  0.062,
  0.062,
  0.107,
  0.107,
  0.087,
  0.087,
  0.089,
  0.089,
]);

/** pose-detection's box tracker defaults: 18 tracks, 1000 ms, IoU ≥ 0.15. */
export const DEFAULT_BOUNDING_BOX_TRACKER_CONFIG: TrackerConfig = Object.freeze({
  maxTracks: 18,
  maxAge: 1000,
  minSimilarity: 0.15,
});

/** pose-detection's keypoint tracker defaults: 18 tracks, 1000 ms, OKS ≥ 0.2 over ≥ 4 keypoints. */
export const DEFAULT_KEYPOINT_TRACKER_CONFIG: TrackerConfig = Object.freeze({
  maxTracks: 18,
  maxAge: 1000,
  minSimilarity: 0.2,
  keypointTrackerParams: Object.freeze({
    keypointConfidenceThreshold: 0.3,
    keypointFalloff: COCO_KEYPOINT_FALLOFF,
    minNumberOfKeypoints: 4,
  }),
});

function requireNumber(name: string, value: unknown, ok: (v: number) => boolean, what: string) {
  if (typeof value !== "number" || !Number.isFinite(value) || !ok(value)) {
    throw new InvalidInputError(`trackerConfig.${name} must be ${what}, got ${describe(value)}`);
  }
}

/**
 * The config a tracker of `trackerType` runs with: pose-detection's defaults for the type, with
 * each field `config` sets (not `null` or `undefined`) put over them, then checked. A box tracker
 * ignores `keypointTrackerParams`.
 *
 * @param trackerType `"boundingBox"` or `"keypoint"`.
 * @param config The user's fields, or none for the defaults.
 * @returns A complete, frozen config.
 * @throws {InvalidInputError} On an unknown type or a bad field: `maxTracks` not a positive
 * integer, `maxAge` not a positive number (ms), `minSimilarity` not a finite number, a keypoint
 * threshold outside [0, 1], `minNumberOfKeypoints` not a positive integer, or a falloff that is not
 * a non-empty list of positive numbers.
 *
 * @example
 * ```ts
 * import { resolveTrackerConfig } from "./tracker_config.ts";
 *
 * const config = resolveTrackerConfig("keypoint", { maxTracks: 4 });
 * console.log(config.maxTracks, config.maxAge, config.keypointTrackerParams?.minNumberOfKeypoints);
 * // 4 1000 4
 * ```
 */
export function resolveTrackerConfig(
  trackerType: TrackerType,
  config?: PartialTrackerConfig,
): TrackerConfig {
  if (trackerType !== "boundingBox" && trackerType !== "keypoint") {
    throw new InvalidInputError(
      `trackerType must be "boundingBox" or "keypoint", got ${describe(trackerType)}`,
    );
  }
  if (config !== undefined && (typeof config !== "object" || config === null)) {
    throw new InvalidInputError(`trackerConfig must be an object, got ${describe(config)}`);
  }
  const base = trackerType === "keypoint"
    ? DEFAULT_KEYPOINT_TRACKER_CONFIG
    : DEFAULT_BOUNDING_BOX_TRACKER_CONFIG;
  const user = config ?? {};
  const merged = {
    maxTracks: user.maxTracks ?? base.maxTracks,
    maxAge: user.maxAge ?? base.maxAge,
    minSimilarity: user.minSimilarity ?? base.minSimilarity,
  };
  requireNumber(
    "maxTracks",
    merged.maxTracks,
    (v) => Number.isSafeInteger(v) && v >= 1,
    "an integer ≥ 1",
  );
  requireNumber("maxAge", merged.maxAge, (v) => v > 0, "a positive number of milliseconds");
  requireNumber("minSimilarity", merged.minSimilarity, () => true, "a finite number");
  if (trackerType === "boundingBox") return Object.freeze(merged);
  const defaults = base.keypointTrackerParams!;
  const given = user.keypointTrackerParams;
  if (given !== undefined && (typeof given !== "object" || given === null)) {
    throw new InvalidInputError(
      `trackerConfig.keypointTrackerParams must be an object, got ${describe(given)}`,
    );
  }
  const params = {
    keypointConfidenceThreshold: given?.keypointConfidenceThreshold ??
      defaults.keypointConfidenceThreshold,
    keypointFalloff: given?.keypointFalloff ?? defaults.keypointFalloff,
    minNumberOfKeypoints: given?.minNumberOfKeypoints ?? defaults.minNumberOfKeypoints,
  };
  requireNumber(
    "keypointTrackerParams.keypointConfidenceThreshold",
    params.keypointConfidenceThreshold,
    (v) => v >= 0 && v <= 1,
    "a number in [0, 1]",
  );
  requireNumber(
    "keypointTrackerParams.minNumberOfKeypoints",
    params.minNumberOfKeypoints,
    (v) => Number.isSafeInteger(v) && v >= 1,
    "an integer ≥ 1",
  );
  const falloff = params.keypointFalloff;
  if (!Array.isArray(falloff) || falloff.length === 0) {
    throw new InvalidInputError(
      `trackerConfig.keypointTrackerParams.keypointFalloff must be a list of positive numbers, ` +
        `got ${describe(falloff)}`,
    );
  }
  falloff.forEach((v, i) =>
    requireNumber(`keypointTrackerParams.keypointFalloff[${i}]`, v, (x) => x > 0, "positive")
  );
  return Object.freeze({
    ...merged,
    keypointTrackerParams: Object.freeze({
      ...params,
      keypointFalloff: Object.freeze([...falloff]),
    }),
  });
}
