/**
 * The video-frame timestamp check shared by the detectors and the pose tracker, and the
 * millisecond to microsecond conversion pose-detection makes (`timestamp · 1000`).
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { describe } from "../_describe.ts";

/**
 * Checks a frame's timestamp and converts it to the microseconds the filters and trackers use.
 *
 * @param where Who asks, for the message (e.g. `"estimatePoses"`).
 * @param timestampMs The frame's time in milliseconds: a finite number ≥ 0.
 * @returns `timestampMs · 1000`.
 * @throws {InvalidInputError} `${where}: timestampMs must be a finite number ≥ 0 (milliseconds), got …`.
 *
 * @example
 * ```ts
 * import { timestampMicroseconds } from "./_timestamp.ts";
 *
 * console.log(timestampMicroseconds("apply", 33.5)); // 33500
 * ```
 */
export function timestampMicroseconds(where: string, timestampMs: unknown): number {
  if (typeof timestampMs !== "number" || !Number.isFinite(timestampMs) || timestampMs < 0) {
    throw new InvalidInputError(
      `${where}: timestampMs must be a finite number ≥ 0 (milliseconds), got ` +
        describe(timestampMs),
    );
  }
  return timestampMs * 1000;
}
