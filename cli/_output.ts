/**
 * What the `pose` command prints: the JSON result ({@linkcode PoseCliResult},
 * {@linkcode formatResult}), the poses of every model in PoseNet's keypoint shape
 * ({@linkcode plainPose}, {@linkcode poseFromDetected}), and the one-line error text
 * ({@linkcode errorLine}).
 *
 * @module
 */

import { PoseNetError } from "../errors.ts";
import type { Pose } from "../decode/keypoints.ts";
import type { BoundingBox } from "../detectors/detector_types.ts";
import type { InputResolution } from "../detectors/posenet_model.ts";
import type { PoseCliModelName } from "./_model.ts";

/**
 * The JSON object printed on stdout.
 *
 * @example
 * ```ts
 * import { formatResult, type PoseCliResult } from "./pose.ts";
 *
 * const result: PoseCliResult = {
 *   image: { width: 640, height: 480 },
 *   inputResolution: 257,
 *   outputStride: 16,
 *   poses: [],
 * };
 * console.log(JSON.parse(formatResult(result)).outputStride); // 16
 * ```
 */
export interface PoseCliResult {
  /** The model, when the command line named one (`--model`); printed first. */
  model?: PoseCliModelName;
  /** The input image's size. */
  image: { width: number; height: number };
  /** The network input size: a number when square, else width and height. */
  inputResolution: number | InputResolution;
  /** The output stride used (MoveNet: 4, the stride of its heads). */
  outputStride: number;
  /**
   * The poses found (PoseNet single pose: one; MoveNet SinglePose: at most one; MultiPose: up to
   * six, each with its `box` in fractions of the padded model input), in image pixels.
   */
  poses: (Pose & { readonly box?: BoundingBox })[];
}

/**
 * Formats the result as JSON with one keypoint per line (valid JSON, easy to read and to diff).
 *
 * @param result The result object.
 * @returns The JSON text, without a trailing newline.
 *
 * @example
 * ```ts
 * import { formatResult } from "./pose.ts";
 *
 * const text = formatResult({
 *   image: { width: 2, height: 2 },
 *   inputResolution: { width: 353, height: 257 },
 *   outputStride: 16,
 *   poses: [{ score: 1, keypoints: [{ part: "nose", score: 1, position: { x: 1, y: 1 } }] }],
 * });
 * console.log(text); // one keypoint per line
 * ```
 */
export function formatResult(result: PoseCliResult): string {
  const j = JSON.stringify;
  const poses = result.poses.map((pose) => {
    const keypoints = pose.keypoints.map((k) =>
      `        {"part": ${j(k.part)}, "score": ${j(k.score)}, "position": ` +
      `{"x": ${j(k.position.x)}, "y": ${j(k.position.y)}}}`
    );
    const box = pose.box === undefined ? "" : `,\n      "box": ${j(pose.box)}`;
    return `    {\n      "score": ${j(pose.score)},\n      "keypoints": [\n${
      keypoints.join(",\n")
    }\n      ]${box}\n    }`;
  });
  const resolution = typeof result.inputResolution === "number"
    ? j(result.inputResolution)
    : `{"width": ${j(result.inputResolution.width)}, "height": ${
      j(result.inputResolution.height)
    }}`;
  const model = result.model === undefined ? "" : `  "model": ${j(result.model)},\n`;
  return `{\n${model}  "image": {"width": ${j(result.image.width)}, "height": ${
    j(result.image.height)
  }},\n` +
    `  "inputResolution": ${resolution},\n  "outputStride": ${j(result.outputStride)},\n` +
    `  "poses": ${poses.length === 0 ? "[]" : `[\n${poses.join(",\n")}\n  ]`}\n}`;
}

export { plainPose, poseFromDetected } from "../detectors/pose_shapes.ts";

/**
 * Turns any thrown value into one line of text: the message of a `PoseNetError`, else the
 * error's name and message, with line breaks folded into spaces.
 *
 * @param err Anything thrown.
 * @returns A single line.
 *
 * @example
 * ```ts
 * import { errorLine } from "./pose.ts";
 *
 * console.log(errorLine(new TypeError("bad\nthing"))); // "TypeError: bad thing"
 * ```
 */
export function errorLine(err: unknown): string {
  let text: string;
  if (err instanceof PoseNetError) {
    text = err.message;
  } else if (err instanceof Error) {
    const generic = err.name === "Error" || err.message.startsWith(err.name);
    text = generic || !err.name ? err.message : `${err.name}: ${err.message}`;
  } else {
    text = String(err);
  }
  text = text.replace(/\s*[\r\n]+\s*/g, " ").trim();
  return text === "" ? "unknown error" : text;
}
