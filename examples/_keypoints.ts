/**
 * Keypoint geometry shared by the example applications: confident keypoints looked up by COCO
 * name, the angle at a joint, the midpoint of the confident keypoints of a pair, and the checks
 * of the values an application is given. Built only on the package's public surface (`../mod.ts`).
 *
 * @module
 */

import { type DetectedPose, type DetectorKeypoint, InvalidInputError } from "../mod.ts";

/** A point in image pixels. */
export interface Point {
  /** Column. */
  readonly x: number;
  /** Row (down is +y). */
  readonly y: number;
}

/**
 * The keypoint called `name` when its score is at least `minScore` and its position is finite.
 *
 * @param pose A detector's pose.
 * @param name A COCO keypoint name, e.g. `"left_knee"`.
 * @param minScore The lowest score trusted.
 * @returns The keypoint, or `undefined` when it is missing, unsure or not finite.
 *
 * @example
 * ```ts
 * import { confidentKeypoint } from "./_keypoints.ts";
 *
 * const pose = { score: 0.9, keypoints: [{ name: "left_knee", x: 10, y: 20, score: 0.8 }] };
 * console.log(confidentKeypoint(pose, "left_knee", 0.3)?.y); // 20
 * console.log(confidentKeypoint(pose, "left_knee", 0.9)); // undefined
 * ```
 */
export function confidentKeypoint(
  pose: DetectedPose,
  name: string,
  minScore: number,
): DetectorKeypoint | undefined {
  const k = pose.keypoints.find((keypoint) => keypoint.name === name);
  if (k === undefined || !(k.score >= minScore)) return undefined;
  return Number.isFinite(k.x) && Number.isFinite(k.y) ? k : undefined;
}

/**
 * The angle at `joint` between the segments to `a` and to `b`, in degrees in [0, 180]
 * (180: a straight limb). Computed with `atan2` of the cross and dot products, exact at 0° and
 * 180° where `acos` loses precision; independent of scale, translation and rotation.
 *
 * @param a One end (e.g. the hip).
 * @param joint The vertex (e.g. the knee).
 * @param b The other end (e.g. the ankle).
 * @returns The angle, or `NaN` when a segment has zero length.
 *
 * @example
 * ```ts
 * import { jointAngleDeg } from "./_keypoints.ts";
 *
 * console.log(jointAngleDeg({ x: 0, y: 0 }, { x: 0, y: 1 }, { x: 1, y: 1 })); // 90
 * console.log(jointAngleDeg({ x: 0, y: 0 }, { x: 0, y: 1 }, { x: 0, y: 2 })); // 180
 * ```
 */
export function jointAngleDeg(a: Point, joint: Point, b: Point): number {
  const ux = a.x - joint.x, uy = a.y - joint.y;
  const vx = b.x - joint.x, vy = b.y - joint.y;
  if ((ux === 0 && uy === 0) || (vx === 0 && vy === 0)) return NaN;
  return (Math.atan2(Math.abs(ux * vy - uy * vx), ux * vx + uy * vy) * 180) / Math.PI;
}

/**
 * The mean position of the confident keypoints among `names` (e.g. both hips: their centre, or
 * the one that is seen).
 *
 * @param pose A detector's pose.
 * @param names COCO keypoint names.
 * @param minScore The lowest score trusted.
 * @returns The mean point, or `undefined` when none of them is confident.
 *
 * @example
 * ```ts
 * import { confidentCentre } from "./_keypoints.ts";
 *
 * const pose = {
 *   score: 0.9,
 *   keypoints: [
 *     { name: "left_hip", x: 10, y: 50, score: 0.9 },
 *     { name: "right_hip", x: 30, y: 54, score: 0.8 },
 *   ],
 * };
 * console.log(confidentCentre(pose, ["left_hip", "right_hip"], 0.3)); // { x: 20, y: 52 }
 * ```
 */
export function confidentCentre(
  pose: DetectedPose,
  names: readonly string[],
  minScore: number,
): Point | undefined {
  let x = 0, y = 0, n = 0;
  for (const name of names) {
    const k = confidentKeypoint(pose, name, minScore);
    if (k === undefined) continue;
    x += k.x;
    y += k.y;
    n++;
  }
  return n === 0 ? undefined : { x: x / n, y: y / n };
}

/**
 * Checks an option that must be a finite number in `[min, max]`.
 *
 * @param name The option's name, for the message.
 * @param value The value given.
 * @param min Lowest allowed.
 * @param max Highest allowed.
 * @returns The value.
 * @throws {InvalidInputError} `${name} must be a number in [min, max], got …`.
 *
 * @example
 * ```ts
 * import { requireNumberIn } from "./_keypoints.ts";
 *
 * console.log(requireNumberIn("minKeypointScore", 0.3, 0, 1)); // 0.3
 * ```
 */
export function requireNumberIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !(value >= min && value <= max)) {
    throw new InvalidInputError(
      `${name} must be a number in [${min}, ${max}], got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
  return value;
}

/**
 * Checks the timestamp of a video frame: finite and later than the previous one.
 *
 * @param timestampMs The frame's time in milliseconds.
 * @param previousMs The previous frame's time, or `undefined` for the first frame.
 * @returns The timestamp.
 * @throws {InvalidInputError} When it is not a finite number or not after `previousMs`.
 *
 * @example
 * ```ts
 * import { requireLaterTimestamp } from "./_keypoints.ts";
 *
 * console.log(requireLaterTimestamp(40, 0)); // 40
 * ```
 */
export function requireLaterTimestamp(
  timestampMs: unknown,
  previousMs: number | undefined,
): number {
  if (typeof timestampMs !== "number" || !Number.isFinite(timestampMs)) {
    throw new InvalidInputError(
      `timestampMs must be a finite number, got ${
        JSON.stringify(timestampMs) ?? String(timestampMs)
      }`,
    );
  }
  if (previousMs !== undefined && !(timestampMs > previousMs)) {
    throw new InvalidInputError(
      `timestampMs must increase from frame to frame, got ${timestampMs} after ${previousMs}`,
    );
  }
  return timestampMs;
}

/**
 * Checks that a pose given to an application is a pose (an object with a `keypoints` array) or
 * `undefined` (no person in that frame).
 *
 * @param pose The value given.
 * @returns The pose, or `undefined`.
 * @throws {InvalidInputError} When it is neither.
 *
 * @example
 * ```ts
 * import { requirePoseOrNothing } from "./_keypoints.ts";
 *
 * console.log(requirePoseOrNothing(undefined)); // undefined
 * console.log(requirePoseOrNothing({ score: 1, keypoints: [] })?.keypoints.length); // 0
 * ```
 */
export function requirePoseOrNothing(pose: unknown): DetectedPose | undefined {
  if (pose === undefined) return undefined;
  if (
    typeof pose !== "object" || pose === null ||
    !Array.isArray((pose as { keypoints?: unknown }).keypoints)
  ) {
    throw new InvalidInputError(
      "pose must be a DetectedPose (an object with a keypoints array) or undefined",
    );
  }
  return pose as DetectedPose;
}
