/**
 * The input of the example command lines: the JSONL of poses that `pose video` writes, one line
 * per frame, `{"frame", "timestampMs", "poses": [{"id"?, "score", "keypoints": [{"name", "x",
 * "y", "score"}]}]}`, read and checked line by line, and the poses of a frame split into tracks.
 *
 * @module
 */

import { type DetectedPose, type DetectorKeypoint, InvalidInputError } from "../mod.ts";

/** One line of the JSONL: one video frame. */
export interface PoseFrame {
  /** The frame's index (the line's `frame`, else its position among the frames). */
  readonly frame: number;
  /** The frame's time in milliseconds. */
  readonly timestampMs: number;
  /** The poses found in it. */
  readonly poses: readonly DetectedPose[];
}

/**
 * Reads a JSONL of poses. Blank lines are skipped; a keypoint coordinate or score written as
 * `null` (how `JSON.stringify` writes `NaN`) reads as `NaN`, i.e. as a keypoint not seen.
 *
 * @param text The file's text.
 * @param source The file's name, for the messages.
 * @returns The frames in file order.
 * @throws {InvalidInputError} Naming the file, the line and the field that is wrong, or when
 * `timestampMs` does not increase.
 *
 * @example
 * ```ts
 * import { parsePoseJsonl } from "./_pose_jsonl.ts";
 *
 * const text = '{"frame":0,"timestampMs":0,"poses":[]}\n' +
 *   '{"frame":1,"timestampMs":33.3,"poses":[{"id":1,"score":0.8,' +
 *   '"keypoints":[{"name":"nose","x":1,"y":2,"score":0.9}]}]}\n';
 * const frames = parsePoseJsonl(text, "poses.jsonl");
 * console.log(frames.length, frames[1].poses[0].id); // 2 1
 * ```
 */
export function parsePoseJsonl(text: string, source: string): PoseFrame[] {
  const frames: PoseFrame[] = [];
  const lines = text.split("\n");
  let previousMs: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    const where = `${source}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new InvalidInputError(`${where}: not JSON (${(e as Error).message})`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new InvalidInputError(`${where}: a line must be a JSON object`);
    }
    const record = value as Record<string, unknown>;
    const timestampMs = record.timestampMs;
    if (typeof timestampMs !== "number" || !Number.isFinite(timestampMs)) {
      throw new InvalidInputError(`${where}: timestampMs must be a finite number`);
    }
    if (previousMs !== undefined && !(timestampMs > previousMs)) {
      throw new InvalidInputError(
        `${where}: timestampMs ${timestampMs} is not after the previous frame's ${previousMs}`,
      );
    }
    previousMs = timestampMs;
    const frame = record.frame ?? frames.length;
    if (typeof frame !== "number" || !Number.isSafeInteger(frame) || frame < 0) {
      throw new InvalidInputError(`${where}: frame must be a non-negative integer`);
    }
    if (!Array.isArray(record.poses)) {
      throw new InvalidInputError(`${where}: poses must be an array`);
    }
    const poses = record.poses.map((pose, p) => readPose(pose, `${where}: poses[${p}]`));
    frames.push({ frame, timestampMs, poses });
  }
  return frames;
}

/** A number, or `null` read as `NaN`. */
function readNumber(value: unknown, where: string): number {
  if (value === null) return NaN;
  if (typeof value !== "number") throw new InvalidInputError(`${where} must be a number`);
  return value;
}

/** Checks and copies one pose of a line. */
function readPose(value: unknown, where: string): DetectedPose {
  if (typeof value !== "object" || value === null) {
    throw new InvalidInputError(`${where} must be an object`);
  }
  const pose = value as Record<string, unknown>;
  if (!Array.isArray(pose.keypoints)) {
    throw new InvalidInputError(`${where}.keypoints must be an array`);
  }
  const keypoints = pose.keypoints.map((k, j): DetectorKeypoint => {
    const at = `${where}.keypoints[${j}]`;
    if (typeof k !== "object" || k === null) throw new InvalidInputError(`${at} must be an object`);
    const { name, x, y, score } = k as Record<string, unknown>;
    if (typeof name !== "string") throw new InvalidInputError(`${at}.name must be a string`);
    return {
      name,
      x: readNumber(x, `${at}.x`),
      y: readNumber(y, `${at}.y`),
      score: readNumber(score, `${at}.score`),
    };
  });
  const id = pose.id;
  if (id !== undefined && (typeof id !== "number" || !Number.isSafeInteger(id))) {
    throw new InvalidInputError(`${where}.id must be an integer`);
  }
  const score = readNumber(pose.score ?? null, `${where}.score`);
  return id === undefined ? { score, keypoints } : { score, keypoints, id };
}

/**
 * The poses of one frame by track: each pose with a track `id` under `"#id"`; of the poses
 * without one, the best-scoring under `"person"` (a single-person model, or an untracked one).
 *
 * @param poses The frame's poses.
 * @returns Track key → pose.
 *
 * @example
 * ```ts
 * import { poseTracks } from "./_pose_jsonl.ts";
 *
 * const tracks = poseTracks([
 *   { score: 0.5, keypoints: [] },
 *   { score: 0.7, keypoints: [] },
 *   { id: 4, score: 0.6, keypoints: [] },
 * ]);
 * console.log([...tracks.keys()], tracks.get("person")?.score); // [ "person", "#4" ] 0.7
 * ```
 */
export function poseTracks(poses: readonly DetectedPose[]): Map<string, DetectedPose> {
  let best: DetectedPose | undefined;
  for (const pose of poses) {
    if (pose.id === undefined && (best === undefined || pose.score > best.score)) best = pose;
  }
  const tracks = new Map<string, DetectedPose>(best === undefined ? [] : [["person", best]]);
  for (const pose of poses) if (pose.id !== undefined) tracks.set(`#${pose.id}`, pose);
  return tracks;
}

/**
 * How a track key reads in the output.
 *
 * @param key A key of {@linkcode poseTracks}.
 * @returns `"person"` or `"person #3"`.
 *
 * @example
 * ```ts
 * import { trackLabel } from "./_pose_jsonl.ts";
 *
 * console.log(trackLabel("#3"), "/", trackLabel("person")); // person #3 / person
 * ```
 */
export function trackLabel(key: string): string {
  return key === "person" ? "person" : `person ${key}`;
}
