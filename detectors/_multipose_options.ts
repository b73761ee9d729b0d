/**
 * The checks of MoveNet MultiPose's detector options (`createDetector("MoveNet", {modelType:
 * "MultiPose.Lightning", …})`), with pose-detection 2.1.3's defaults: `minPoseScore` 0.25,
 * `multiPoseMaxDimension` 256 (a multiple of 32), smoothing and tracking on, the bounding-box
 * tracker. The tracker's own options are checked for their types here; the tracker applies them.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { showJson } from "../_describe.ts";
import type { MoveNetConfig, TrackerConfig, TrackerType } from "./detector_types.ts";

/** pose-detection's `DEFAULT_MIN_POSE_SCORE`. */
const DEFAULT_MIN_POSE_SCORE = 0.25;

/** pose-detection's `MOVENET_MULTIPOSE_DEFAULT_MAX_DIMENSION`. */
export const DEFAULT_MULTIPOSE_MAX_DIMENSION = 256;

/** The largest `multiPoseMaxDimension` accepted (the preprocessing pass's side limit). */
export const MAX_MULTIPOSE_DIMENSION = 1024;

/** The options after the checks, defaults filled in. */
export interface MultiPoseOptions {
  /** Poses scoring below this are dropped. */
  readonly minPoseScore: number;
  /** The resized image's longer side. */
  readonly multiPoseMaxDimension: number;
  /** Keypoint smoothing on video frames. */
  readonly enableSmoothing: boolean;
  /** Track ids on video frames. */
  readonly enableTracking: boolean;
  /** The tracker's similarity. */
  readonly trackerType: TrackerType;
  /** The tracker's options as given (the tracker merges them with its defaults). */
  readonly trackerConfig: TrackerConfig | undefined;
}

const fail = (message: string): never => {
  throw new InvalidInputError(`MoveNet MultiPose ${message}`);
};

function checkTrackerConfig(value: unknown, type: TrackerType): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(`trackerConfig must be an object, got ${showJson(value)}`);
  }
  const config = value as Record<string, unknown>;
  const number = (key: string, ok: (v: number) => boolean, what: string, from = config) => {
    const v = from[key];
    if (v !== undefined && (typeof v !== "number" || !ok(v))) {
      fail(`trackerConfig.${key} must be ${what}, got ${showJson(v)}`);
    }
  };
  number("maxTracks", (v) => Number.isInteger(v) && v >= 1, "a positive integer");
  number("maxAge", (v) => v >= 0 && v <= Number.MAX_VALUE, "a non-negative number (ms)");
  number("minSimilarity", (v) => v >= 0 && v <= 1, "a number in [0, 1]");
  const params = config.keypointTrackerParams;
  if (params === undefined) return;
  if (type !== "keypoint") {
    fail(`trackerConfig.keypointTrackerParams is for trackerType "keypoint", not "${type}"`);
  }
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    fail(`trackerConfig.keypointTrackerParams must be an object, got ${showJson(params)}`);
  }
  const p = params as Record<string, unknown>;
  number("keypointConfidenceThreshold", (v) => v >= 0 && v <= 1, "a number in [0, 1]", p);
  number("minNumberOfKeypoints", (v) => Number.isInteger(v) && v >= 0, "an integer >= 0", p);
  const falloff = p.keypointFalloff;
  if (
    falloff !== undefined &&
    (!Array.isArray(falloff) || falloff.length !== 17 ||
      !falloff.every((v) => typeof v === "number" && v > 0 && v <= Number.MAX_VALUE))
  ) {
    fail(
      `trackerConfig.keypointTrackerParams.keypointFalloff must be 17 positive numbers, got ` +
        showJson(falloff),
    );
  }
}

/**
 * Checks the MultiPose options of a MoveNet config and fills in pose-detection's defaults.
 *
 * @param config The detector's config.
 * @returns The options.
 * @throws {InvalidInputError} Naming the option that is wrong and what it must be.
 *
 * @example
 * ```ts
 * import { checkMultiPoseOptions } from "./_multipose_options.ts";
 * const options = checkMultiPoseOptions({ modelType: "MultiPose.Lightning", multiPoseMaxDimension: 320 });
 * console.log(options.multiPoseMaxDimension, options.minPoseScore, options.trackerType); // 320 0.25 boundingBox
 * ```
 */
export function checkMultiPoseOptions(config: MoveNetConfig): MultiPoseOptions {
  if (typeof config !== "object" || config === null) {
    fail(`config must be an object, got ${showJson(config)}`);
  }
  const minPoseScore = config.minPoseScore ?? DEFAULT_MIN_POSE_SCORE;
  if (typeof minPoseScore !== "number" || !(minPoseScore >= 0 && minPoseScore <= 1)) {
    fail(`minPoseScore must be a number in [0, 1], got ${showJson(minPoseScore)}`);
  }
  const side = config.multiPoseMaxDimension ?? DEFAULT_MULTIPOSE_MAX_DIMENSION;
  if (
    typeof side !== "number" || !Number.isInteger(side) || side < 32 || side % 32 !== 0 ||
    side > MAX_MULTIPOSE_DIMENSION
  ) {
    fail(
      `multiPoseMaxDimension must be a multiple of 32 in 32..${MAX_MULTIPOSE_DIMENSION}, got ` +
        showJson(side),
    );
  }
  const flag = (key: "enableSmoothing" | "enableTracking") => {
    const v = config[key] ?? true;
    if (typeof v !== "boolean") fail(`${key} must be a boolean, got ${showJson(v)}`);
    return v;
  };
  const enableSmoothing = flag("enableSmoothing");
  const enableTracking = flag("enableTracking");
  const trackerType = config.trackerType ?? "boundingBox";
  if (trackerType !== "boundingBox" && trackerType !== "keypoint") {
    fail(`trackerType must be "boundingBox" or "keypoint", got ${showJson(trackerType)}`);
  }
  if (config.trackerConfig !== undefined) checkTrackerConfig(config.trackerConfig, trackerType);
  return {
    minPoseScore,
    multiPoseMaxDimension: side,
    enableSmoothing,
    enableTracking,
    trackerType,
    trackerConfig: config.trackerConfig,
  };
}
