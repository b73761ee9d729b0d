/**
 * What `pose video` writes per frame: the JSON line ({@linkcode jsonlRecord}), the colour of each
 * pose in the annotated video ({@linkcode createTrackColoring}: one colour per track while it
 * lives, else by position in the frame), and the sink that appends the lines ({@linkcode openJsonl}) so
 * that a stopped run leaves only complete lines.
 *
 * @module
 */

import { dirname } from "node:path";
import { InvalidInputError } from "../errors.ts";
import type { BoundingBox, DetectedPose } from "../detectors/detector_types.ts";
import { POSE_COLORS, type Rgb } from "./draw_overlay.ts";
import { errorLine } from "./_output.ts";

/** One keypoint of a {@linkcode JsonlRecord}. */
export interface JsonlKeypoint {
  /** COCO name, e.g. `left_wrist`. */
  readonly name: string;
  /** Column in frame pixels. */
  readonly x: number;
  /** Row in frame pixels. */
  readonly y: number;
  /** Confidence in [0, 1]. */
  readonly score: number;
}

/** One pose of a {@linkcode JsonlRecord}. */
export interface JsonlPose {
  /** The track id, when the detector tracks poses across frames. */
  readonly id?: number;
  /** Pose confidence. */
  readonly score: number;
  /** The person's box (MultiPose), in fractions of the frame. */
  readonly box?: BoundingBox;
  /** The 17 keypoints. */
  readonly keypoints: readonly JsonlKeypoint[];
}

/** One line of the JSONL output: one frame. */
export interface JsonlRecord {
  /** The frame's index, from 0. */
  readonly frame: number;
  /** The frame's time in milliseconds from the start (as given to `estimatePoses`). */
  readonly timestampMs: number;
  /** The poses found in it. */
  readonly poses: readonly JsonlPose[];
}

/**
 * The record of one frame, fields in a fixed order (`id` and `box` only when present).
 *
 * @param frame The frame's index.
 * @param timestampMs Its time in milliseconds.
 * @param poses The detector's poses.
 * @returns The record ({@linkcode jsonlLine} makes it a line).
 *
 * @example
 * ```ts
 * import { jsonlRecord } from "./_video_output.ts";
 *
 * const record = jsonlRecord(3, 100, [
 *   { id: 2, score: 0.8, keypoints: [{ x: 1, y: 2, score: 0.9, name: "nose" }] },
 * ]);
 * console.log(JSON.stringify(record));
 * // {"frame":3,"timestampMs":100,"poses":[{"id":2,"score":0.8,"keypoints":[{"name":"nose","x":1,"y":2,"score":0.9}]}]}
 * ```
 */
export function jsonlRecord(
  frame: number,
  timestampMs: number,
  poses: readonly DetectedPose[],
): JsonlRecord {
  return {
    frame,
    timestampMs,
    poses: poses.map((pose) => ({
      ...(pose.id === undefined ? {} : { id: pose.id }),
      score: pose.score,
      ...(pose.box === undefined ? {} : {
        box: {
          xMin: pose.box.xMin,
          yMin: pose.box.yMin,
          xMax: pose.box.xMax,
          yMax: pose.box.yMax,
          width: pose.box.width,
          height: pose.box.height,
        },
      }),
      keypoints: pose.keypoints.map((k) => ({ name: k.name, x: k.x, y: k.y, score: k.score })),
    })),
  };
}

/**
 * A record as one line of JSON with its newline.
 *
 * @param record The frame's record.
 * @returns `JSON.stringify(record) + "\n"`.
 *
 * @example
 * ```ts
 * import { jsonlLine, jsonlRecord } from "./_video_output.ts";
 * console.log(jsonlLine(jsonlRecord(0, 0, []))); // {"frame":0,"timestampMs":0,"poses":[]}\n
 * ```
 */
export function jsonlLine(record: JsonlRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/**
 * Colours tracks for the annotated video: a track keeps its colour while it lives, and a new track
 * takes the least recently drawn colour, which is one no live track has whenever there are at most
 * 8 (beyond 8 that colour is shared), so people on screen together differ. Poses without an id are coloured by their index,
 * `POSE_COLORS[i % 8]`. A track not seen for `recentFrames` frames gives its colour back.
 *
 * @param recentFrames How long a missing track keeps its colour, in frames (default 30).
 * @returns A function from one frame's poses to their colours; call it once per frame, in order.
 *
 * @example
 * ```ts
 * import { createTrackColoring } from "./_video_output.ts";
 * import { POSE_COLORS } from "./draw_overlay.ts";
 *
 * const colorsFor = createTrackColoring();
 * const pose = (id: number) => ({ id, score: 1, keypoints: [] });
 * const [a, b] = colorsFor([pose(1), pose(9)]); // 1 and 9 are alike mod 8, yet differ
 * console.log(a === POSE_COLORS[0], b === POSE_COLORS[1]); // true true
 * console.log(colorsFor([pose(9)])[0] === b); // true: a track keeps its colour
 * ```
 */
export function createTrackColoring(
  recentFrames = 30,
): (poses: readonly DetectedPose[]) => Rgb[] {
  const n = POSE_COLORS.length;
  const colorOf = new Map<number, number>();
  const lastSeen = new Map<number, number>();
  const colorLastUsed = new Array<number>(n).fill(-Infinity);
  let frame = 0;
  const trackId = (pose: DetectedPose) =>
    typeof pose.id === "number" && Number.isSafeInteger(pose.id) ? pose.id : undefined;
  return (poses) => {
    frame++;
    for (const pose of poses) {
      const id = trackId(pose);
      if (id !== undefined && colorOf.has(id)) lastSeen.set(id, frame);
    }
    for (const [id, seen] of lastSeen) {
      if (frame - seen > recentFrames) {
        lastSeen.delete(id);
        colorOf.delete(id);
      }
    }
    return poses.map((pose, i) => {
      const id = trackId(pose);
      if (id === undefined) return POSE_COLORS[i % n];
      let color = colorOf.get(id);
      if (color === undefined) {
        // The least recently drawn colour: a live track's colour was drawn within the last
        // `recentFrames` frames and a freed one before that, so a free colour is taken first.
        color = colorLastUsed.indexOf(Math.min(...colorLastUsed));
        colorOf.set(id, color);
        lastSeen.set(id, frame);
      }
      colorLastUsed[color] = frame;
      return POSE_COLORS[color];
    });
  };
}

/** Where the JSON lines go. */
export interface JsonlSink {
  /** Appends one complete line; resolves when all of it is written. */
  write(line: string): Promise<void>;
  /** Closes the file (stdout stays open). */
  close(): void;
}

/** Writes all of `bytes` to `writer`. */
async function writeAll(writer: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array) {
  while (bytes.length > 0) bytes = bytes.subarray(await writer.write(bytes));
}

/**
 * Opens `path` for the JSON lines (created or truncated, its directory made), or stdout for
 * `undefined` or `-`. Each line is written whole before the next starts.
 *
 * @param path The file, `-` or `undefined` for stdout.
 * @param shown The name used in messages.
 * @param stdout Where lines go without a file; default the process's stdout.
 * @returns The sink.
 * @throws {InvalidInputError} When the file cannot be created.
 *
 * @example
 * ```ts
 * import { jsonlLine, jsonlRecord, openJsonl } from "./_video_output.ts";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * const sink = await openJsonl(path, "poses.jsonl");
 * await sink.write(jsonlLine(jsonlRecord(0, 0, [])));
 * sink.close();
 * console.log(await Deno.readTextFile(path)); // {"frame":0,"timestampMs":0,"poses":[]}
 * ```
 */
export async function openJsonl(
  path: string | undefined,
  shown: string,
  stdout: (text: string) => void | Promise<void> = (text) =>
    writeAll(Deno.stdout, new TextEncoder().encode(text)),
): Promise<JsonlSink> {
  const encoder = new TextEncoder();
  if (path === undefined || path === "-") {
    return { write: async (line) => await stdout(line), close() {} };
  }
  let file: Deno.FsFile;
  try {
    const dir = dirname(path);
    if (dir !== "" && dir !== ".") await Deno.mkdir(dir, { recursive: true });
    file = await Deno.open(path, { write: true, create: true, truncate: true });
  } catch (err) {
    throw new InvalidInputError(`${shown}: cannot write the JSONL: ${errorLine(err)}`);
  }
  let closed = false;
  return {
    write: (line) => writeAll(file, encoder.encode(line)),
    close() {
      if (closed) return;
      closed = true;
      file.close();
    },
  };
}
