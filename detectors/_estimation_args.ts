/**
 * The per-call arguments every MoveNet detector checks the same way: the config object, its
 * `flipHorizontal`, and the video-frame timestamp (pose-detection's third argument).
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { showJson } from "../_describe.ts";
import { timestampMicroseconds } from "../tracking/_timestamp.ts";
import type { EstimationConfig } from "./detector_types.ts";

/** What {@linkcode checkEstimationArgs} found. */
export interface EstimationArgs {
  /** The config, known to be an object. */
  readonly config: EstimationConfig;
  /** Mirror the image first. */
  readonly flipHorizontal: boolean;
  /** The frame's time in milliseconds; undefined for a still image. */
  readonly timestampMs: number | undefined;
  /** `timestampMs · 1000` (the filters' and trackers' microseconds); 0 for a still image. */
  readonly microseconds: number;
}

/**
 * Checks `estimatePoses`' config and timestamp. A timestamp that is `undefined` or `null` (as
 * pose-detection's `timestamp == null`) makes the call a still image.
 *
 * @param config The call's config.
 * @param timestampMs The call's timestamp.
 * @returns The checked values.
 * @throws {InvalidInputError} For a config that is not an object, a `flipHorizontal` that is not a
 * boolean, or a timestamp that is not a finite number ≥ 0.
 *
 * @example
 * ```ts
 * import { checkEstimationArgs } from "./_estimation_args.ts";
 * console.log(checkEstimationArgs({}, 40).microseconds, checkEstimationArgs({}, null).timestampMs); // 40000 undefined
 * ```
 */
export function checkEstimationArgs(config: unknown, timestampMs: unknown): EstimationArgs {
  if (typeof config !== "object" || config === null) {
    throw new InvalidInputError(
      `estimatePoses: config must be an object, got ${showJson(config)}`,
    );
  }
  const checked = config as EstimationConfig;
  const flipHorizontal = checked.flipHorizontal ?? false;
  if (typeof flipHorizontal !== "boolean") {
    throw new InvalidInputError(
      `estimatePoses: flipHorizontal must be a boolean, got ${showJson(flipHorizontal)}`,
    );
  }
  if (timestampMs === undefined || timestampMs === null) {
    return { config: checked, flipHorizontal, timestampMs: undefined, microseconds: 0 };
  }
  const microseconds = timestampMicroseconds("estimatePoses", timestampMs);
  return { config: checked, flipHorizontal, timestampMs: timestampMs as number, microseconds };
}
