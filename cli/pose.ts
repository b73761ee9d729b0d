/**
 * The `pose` command line: estimates human poses in a JPEG or PNG image and prints them as JSON.
 *
 * ```sh
 * deno task pose photo.jpg                       # single pose, JSON on stdout
 * deno task pose group.jpg --multi --out o.png   # several people, plus an overlay PNG
 * ```
 *
 * stdout carries exactly one JSON object (see {@linkcode PoseCliResult}); progress (the one-time
 * weights download) and notes go to stderr. Any failure prints one line `pose: <message>` on
 * stderr, never a stack trace, and exits with 1 (2 for a usage error). The logic lives in
 * {@linkcode runPoseCli} so it can be tested with an injected model loader.
 *
 * @module
 */

import { dirname, isAbsolute, resolve } from "node:path";
import { InvalidInputError, PoseNetError } from "../errors.ts";
import {
  resolveWebGpuProvider,
  WEBGPU_PROVIDER_ENV,
  type WebGpuProvider,
} from "../kernels/webgpu_provider.ts";
import type { Pose } from "../decode/keypoints.ts";
import { DEFAULT_MIN_SCORE, drawPoses } from "./draw_overlay.ts";
import { encodePng, readImageFile } from "./read_image.ts";

export type { Keypoint, PartName, Pose, Vector2D } from "../decode/keypoints.ts";
export { InvalidInputError, PoseNetError } from "../errors.ts";

/**
 * The image a model takes: RGBA (`width * height * 4` bytes) or RGB (`* 3`).
 *
 * @example
 * ```ts
 * import type { PoseCliImage } from "./pose.ts";
 * const image: PoseCliImage = { data: new Uint8Array(4 * 2 * 3), width: 4, height: 2 }; // RGB
 * ```
 */
export interface PoseCliImage {
  /** Pixel bytes, row-major, top row first. */
  readonly data: Uint8Array | Uint8ClampedArray;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

/**
 * What the CLI asks of a model: the `PoseNet` interface `mod.ts`'s `load()` returns.
 *
 * @example
 * ```ts
 * import { type PoseCliModel, runPoseCli } from "./pose.ts";
 *
 * // A stand-in model (tests do this): every keypoint at the image centre.
 * const fakeModel: PoseCliModel = {
 *   inputResolution: { width: 257, height: 257 },
 *   outputStride: 16,
 *   estimateSinglePose: (image) =>
 *     Promise.resolve({
 *       score: 1,
 *       keypoints: ["nose"].map((part) => ({
 *         part,
 *         score: 1,
 *         position: { x: image.width / 2, y: image.height / 2 },
 *       })),
 *     }),
 *   estimateMultiplePoses: () => Promise.resolve([]),
 *   dispose: () => {},
 * };
 *
 * const out: string[] = [];
 * await runPoseCli(["tests/fixtures/photos/single_portrait.jpg"], {
 *   stdout: (text) => void out.push(text),
 *   stderr: () => {},
 *   loadModel: () => Promise.resolve(fakeModel),
 * });
 * console.log(JSON.parse(out.join("")).poses[0].keypoints[0].position); // the image centre
 * ```
 */
export interface PoseCliModel {
  /** The network input size actually used. */
  readonly inputResolution: { readonly width: number; readonly height: number };
  /** The output stride actually used. */
  readonly outputStride: number;
  /** Estimates the single most likely pose. */
  estimateSinglePose(
    image: PoseCliImage,
    config?: { flipHorizontal?: boolean },
  ): Promise<Pose>;
  /** Estimates several poses. */
  estimateMultiplePoses(
    image: PoseCliImage,
    config?: {
      flipHorizontal?: boolean;
      maxDetections?: number;
      scoreThreshold?: number;
      nmsRadius?: number;
    },
  ): Promise<Pose[]>;
  /** Frees the model's GPU resources. */
  dispose(): void;
}

/**
 * The configuration the CLI passes to the model loader (`mod.ts`'s `load()`).
 *
 * @example
 * ```ts
 * import { load } from "../mod.ts";
 * import type { PoseCliLoadConfig } from "./pose.ts";
 *
 * // What `pose photo.jpg --resolution 353 --stride 8` asks the loader for.
 * const config: PoseCliLoadConfig = { inputResolution: 353, outputStride: 8 };
 * const net = await load(config);
 * net.dispose();
 * ```
 */
export interface PoseCliLoadConfig {
  /** Output stride, 8, 16 or 32. */
  outputStride?: 8 | 16 | 32;
  /** Input resolution: a square size, or width and height. */
  inputResolution?: number | { width: number; height: number };
  /** A TF.js `model.json` path or URL instead of the default weights. */
  modelUrl?: string | URL;
  /** Receives progress lines (the weights download). */
  onProgress?: (message: string) => void;
  /** The WebGPU implementation (`--webgpu`); absent: the library's default. */
  provider?: WebGpuProvider;
}

/**
 * Loads a model: `mod.ts`'s `load()` by default.
 *
 * @example
 * ```ts
 * import { load } from "../mod.ts";
 * import { type PoseCliLoader, runPoseCli } from "./pose.ts";
 *
 * // Run the CLI with a caller-chosen kernel variant.
 * const loadModel: PoseCliLoader = (config) => load({ ...config, variants: { pointwise: "simple" } });
 * const code = await runPoseCli(["tests/fixtures/photos/single_portrait.jpg"], {
 *   stdout: () => {},
 *   stderr: (text) => console.error(text),
 *   loadModel,
 * });
 * console.log(code); // 0
 * ```
 */
export type PoseCliLoader = (config: PoseCliLoadConfig) => Promise<PoseCliModel>;

/**
 * Where {@linkcode runPoseCli} writes, and what it loads the model with.
 *
 * @example
 * ```ts
 * import { type PoseCliIo, processIo, runPoseCli } from "./pose.ts";
 *
 * // The process's streams, with the weights-download progress silenced.
 * const io: PoseCliIo = { ...processIo(), progress: () => {} };
 * console.log(await runPoseCli(["--help"], io)); // 0, after printing the usage
 * ```
 */
export interface PoseCliIo {
  /** Receives stdout text (the JSON result, the help). */
  stdout(text: string): void | Promise<void>;
  /** Receives stderr text (notes and the error line), each ending in a newline. */
  stderr(text: string): void | Promise<void>;
  /** Receives progress messages; default: each as a line on {@linkcode PoseCliIo.stderr}. */
  progress?: (message: string) => void;
  /** Loads the model; default: `load` from `mod.ts`. */
  loadModel?: PoseCliLoader;
  /**
   * Directory relative paths (image, `--out`, `--model`) are taken from; default: the process's
   * working directory. `deno task` runs in the repository root, so {@linkcode processIo} sets this
   * to `$INIT_CWD`, the directory the task was started from.
   */
  cwd?: string;
}

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
  /** The input image's size. */
  image: { width: number; height: number };
  /** The network input size: a number when square, else width and height. */
  inputResolution: number | { width: number; height: number };
  /** The output stride used. */
  outputStride: number;
  /** The poses found (one for single-pose estimation), in image pixel coordinates. */
  poses: Pose[];
}

/**
 * Parsed command-line options.
 *
 * @example
 * ```ts
 * import { parsePoseArgs, type PoseCliOptions } from "./pose.ts";
 *
 * const options = parsePoseArgs(["group.jpg", "--multi", "--out", "o.png"]) as PoseCliOptions;
 * console.log(options.multi, options.out, options.resolution); // true "o.png" 257
 * ```
 */
export interface PoseCliOptions {
  /** The image path. */
  image: string;
  /** Input resolution (default 257). */
  resolution: number | { width: number; height: number };
  /** Output stride (default 16). */
  stride: 8 | 16 | 32;
  /** Mirror the keypoints horizontally. */
  flip: boolean;
  /** Multi-pose estimation. */
  multi: boolean;
  /** Multi-pose: most poses. */
  maxDetections?: number;
  /** Multi-pose: least root score. */
  scoreThreshold?: number;
  /** Multi-pose: NMS radius in pixels. */
  nmsRadius?: number;
  /** Overlay PNG path. */
  out?: string;
  /** Overlay: least keypoint score drawn. */
  minScore: number;
  /** Model path or URL. */
  model?: string;
  /** WebGPU provider (`--webgpu`); absent: `$POSENET_WEBGPU`, else Deno's own. */
  webgpu?: WebGpuProvider;
}

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
export const DEFAULT_STRIDE = 16;
/**
 * Largest `--resolution` accepted (per side).
 *
 * @example
 * ```ts
 * import { MAX_RESOLUTION, parsePoseArgs, UsageError } from "./pose.ts";
 * try {
 *   parsePoseArgs(["photo.jpg", "--resolution", String(MAX_RESOLUTION + 16)]);
 * } catch (err) {
 *   console.log(err instanceof UsageError); // true
 * }
 * ```
 */
export const MAX_RESOLUTION = 2049;
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
 * The `--help` text.
 *
 * @example
 * ```ts
 * import { USAGE } from "./pose.ts";
 * console.log(USAGE.split("\n")[0]); // "Usage: deno task pose <image.jpg|png> [options]"
 * ```
 */
export const USAGE = `Usage: deno task pose <image.jpg|png> [options]

Estimates human poses in a JPEG or PNG image with PoseNet (MobileNetV1 0.75) on WebGPU and
prints one JSON object on stdout:
  {"image":{"width":W,"height":H},"inputResolution":R,"outputStride":S,
   "poses":[{"score":s,"keypoints":[{"part":"nose","score":s,"position":{"x":x,"y":y}}, ...]}]}
Positions are in image pixels. The default weights are downloaded from the npm registry once
and cached in ~/.cache/posenet-webgpu (or $POSENET_CACHE_DIR).

Options:
  --resolution R        network input size R (square) or WxH, e.g. 353x257; (R - 1) must be a
                        multiple of the stride, up to ${MAX_RESOLUTION} (default ${DEFAULT_RESOLUTION})
  --stride S            output stride: 8, 16 or 32 (default ${DEFAULT_STRIDE})
  --flip                mirror the keypoints horizontally (x' = width - 1 - x)
  --multi               detect several people (multi-pose decoding)
  --max-detections N    with --multi: at most N poses, 1-${MAX_DETECTIONS_LIMIT} (default 5)
  --score-threshold T   with --multi: least score of a pose's root keypoint, 0-1 (default 0.5)
  --nms-radius R        with --multi: two poses' same keypoints must be more than R input
                        pixels apart (default 20)
  --out FILE.png        also write the image with the poses drawn on it as a PNG
                        (mirrored too with --flip)
  --min-score T         with --out: draw keypoints scoring at least T, 0-1 (default ${DEFAULT_MIN_SCORE})
  --model PATH|URL      a TF.js PoseNet model.json to use instead of the default weights (a URL
                        on a host other than registry.npmjs.org needs deno's --allow-net for it)
  --webgpu deno|dawn    WebGPU implementation: Deno's built-in one (default, or
                        $${WEBGPU_PROVIDER_ENV}) or Dawn from the npm package "webgpu" (needs deno's
                        --allow-ffi; each readback takes microseconds instead of Deno's 10 ms)
  -h, --help            print this help

Errors print one line "pose: <message>" on stderr; the exit code is 1, or 2 for a bad command
line.
`;

/**
 * A command-line mistake: exit code 2.
 *
 * @example
 * ```ts
 * import { errorLine, parsePoseArgs, UsageError } from "./pose.ts";
 *
 * try {
 *   parsePoseArgs(["photo.jpg", "--stride", "12"]);
 * } catch (err) {
 *   console.log(err instanceof UsageError, errorLine(err));
 * }
 * ```
 */
export class UsageError extends InvalidInputError {}

const BOOLEAN_FLAGS = new Set(["--flip", "--multi", "--help"]);
const VALUE_OPTIONS = new Set([
  "--resolution",
  "--stride",
  "--max-detections",
  "--score-threshold",
  "--nms-radius",
  "--out",
  "--min-score",
  "--model",
  "--webgpu",
]);

function parseInteger(option: string, text: string, min: number, max: number): number {
  const value = /^[+]?\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new UsageError(`${option} must be an integer, got ${JSON.stringify(text)}`);
  }
  if (value < min || value > max) {
    throw new UsageError(`${option} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function parseNumber(
  option: string,
  text: string,
  check: (value: number) => boolean,
  range: string,
): number {
  const trimmed = text.trim();
  const value = trimmed === "" ? NaN : Number(trimmed);
  if (!Number.isFinite(value)) {
    throw new UsageError(`${option} must be a number, got ${JSON.stringify(text)}`);
  }
  if (!check(value)) throw new UsageError(`${option} must be ${range}, got ${value}`);
  return value;
}

function checkResolution(option: string, size: number, stride: number, what: string): void {
  if ((size - 1) % stride !== 0) {
    const below = Math.floor((size - 1) / stride) * stride + 1;
    const above = below + stride;
    const nearest = below >= 1 + stride ? `${below} or ${above}` : `${above}`;
    throw new UsageError(
      `${option} ${what}${size} is not valid with --stride ${stride}: (R - 1) must be a multiple ` +
        `of ${stride} (nearest: ${nearest})`,
    );
  }
}

/**
 * Parses and checks the command line (everything after the program name).
 *
 * @param args The arguments.
 * @returns The options, or `"help"` when `--help` / `-h` was given.
 * @throws {UsageError} For an unknown or repeated option, a missing or malformed value, a value
 *   out of range, a multi-pose option without `--multi`, or a missing or extra image argument. The
 *   message names the option.
 *
 * @example
 * ```ts
 * import { parsePoseArgs } from "./pose.ts";
 *
 * console.log(parsePoseArgs(["photo.jpg", "--resolution", "513", "--flip"]));
 * console.log(parsePoseArgs(["--help"])); // "help"
 * ```
 */
export function parsePoseArgs(args: readonly string[]): PoseCliOptions | "help" {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") return "help";
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (BOOLEAN_FLAGS.has(name)) {
      if (eq > 0) throw new UsageError(`${name} takes no value`);
      if (flags.has(name)) throw new UsageError(`${name} is given twice`);
      flags.add(name);
    } else if (VALUE_OPTIONS.has(name)) {
      let value: string;
      if (eq > 0) {
        value = arg.slice(eq + 1);
      } else {
        if (i + 1 >= args.length) throw new UsageError(`${name} needs a value`);
        value = args[++i];
      }
      if (values.has(name)) throw new UsageError(`${name} is given twice`);
      values.set(name, value);
    } else {
      throw new UsageError(`unknown option ${name} (see --help)`);
    }
  }
  if (positionals.length === 0) {
    throw new UsageError("missing the image argument (usage: pose <image.jpg|png> [options])");
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `expected one image, got ${positionals.length}: ${
        positionals.map((p) => JSON.stringify(p)).join(" ")
      }`,
    );
  }
  const image = positionals[0];
  if (image === "") throw new UsageError("the image path is empty");

  const strideText = values.get("--stride");
  const stride = strideText === undefined
    ? DEFAULT_STRIDE
    : parseInteger("--stride", strideText, 1, Number.MAX_SAFE_INTEGER);
  if (stride !== 8 && stride !== 16 && stride !== 32) {
    throw new UsageError(`--stride must be 8, 16 or 32, got ${stride}`);
  }

  let resolution: PoseCliOptions["resolution"] = DEFAULT_RESOLUTION;
  const resolutionText = values.get("--resolution");
  if (resolutionText !== undefined) {
    const parts = resolutionText.trim().toLowerCase().split("x");
    if (parts.length > 2) {
      throw new UsageError(
        `--resolution must be R or WxH, got ${JSON.stringify(resolutionText)}`,
      );
    }
    const sizes = parts.map((p) => parseInteger("--resolution", p, 1 + stride, MAX_RESOLUTION));
    if (sizes.length === 1) {
      checkResolution("--resolution", sizes[0], stride, "");
      resolution = sizes[0];
    } else {
      checkResolution("--resolution", sizes[0], stride, "width ");
      checkResolution("--resolution", sizes[1], stride, "height ");
      resolution = sizes[0] === sizes[1] ? sizes[0] : { width: sizes[0], height: sizes[1] };
    }
  }

  const multi = flags.has("--multi");
  for (const option of ["--max-detections", "--score-threshold", "--nms-radius"]) {
    if (values.has(option) && !multi) throw new UsageError(`${option} needs --multi`);
  }
  const maxDetectionsText = values.get("--max-detections");
  const scoreThresholdText = values.get("--score-threshold");
  const nmsRadiusText = values.get("--nms-radius");
  const minScoreText = values.get("--min-score");
  const out = values.get("--out");
  if (out === "") throw new UsageError("--out needs a file path");
  if (minScoreText !== undefined && out === undefined) {
    throw new UsageError("--min-score needs --out");
  }
  const model = values.get("--model");
  if (model === "") throw new UsageError("--model needs a path or URL");
  const webgpuText = values.get("--webgpu");
  let webgpu: WebGpuProvider | undefined;
  if (webgpuText !== undefined) {
    try {
      webgpu = resolveWebGpuProvider(webgpuText);
    } catch (err) {
      throw new UsageError(`--webgpu: ${errorLine(err)}`);
    }
  }
  const unit = (v: number) => v >= 0 && v <= 1;
  return {
    image,
    resolution,
    stride,
    flip: flags.has("--flip"),
    multi,
    maxDetections: maxDetectionsText === undefined
      ? undefined
      : parseInteger("--max-detections", maxDetectionsText, 1, MAX_DETECTIONS_LIMIT),
    scoreThreshold: scoreThresholdText === undefined
      ? undefined
      : parseNumber("--score-threshold", scoreThresholdText, unit, "between 0 and 1"),
    nmsRadius: nmsRadiusText === undefined
      ? undefined
      : parseNumber("--nms-radius", nmsRadiusText, (v) => v > 0, "positive"),
    out,
    minScore: minScoreText === undefined
      ? DEFAULT_MIN_SCORE
      : parseNumber("--min-score", minScoreText, unit, "between 0 and 1"),
    model,
    ...(webgpu === undefined ? {} : { webgpu }),
  };
}

/** `mod.ts`'s `load()`, imported lazily so `--help` and usage errors load no GPU code. */
async function defaultLoader(config: PoseCliLoadConfig): Promise<PoseCliModel> {
  const { load } = await import("../mod.ts");
  return await load(config);
}

/** A model path that looks like a URL is passed as a URL; anything else as a file path. */
function modelLocation(model: string, fromCwd: (path: string) => string): string | URL {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(model) || model.startsWith("file:")
    ? new URL(model)
    : fromCwd(model);
}

/** Copies the fields of a pose in a fixed order (score, keypoints: part, score, position x/y). */
function plainPose(pose: Pose): Pose {
  return {
    score: pose.score,
    keypoints: pose.keypoints.map((k) => ({
      part: k.part,
      score: k.score,
      position: { x: k.position.x, y: k.position.y },
    })),
  };
}

/** Mirrors an RGBA image left to right. */
function mirrorRgba(data: Uint8Array, width: number, height: number): Uint8Array {
  const aligned = data.byteOffset % 4 === 0 ? data : data.slice();
  const src = new Uint32Array(aligned.buffer, aligned.byteOffset, width * height);
  const dst = new Uint32Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) dst[row + x] = src[row + width - 1 - x];
  }
  return new Uint8Array(dst.buffer);
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
    return `    {\n      "score": ${j(pose.score)},\n      "keypoints": [\n${
      keypoints.join(",\n")
    }\n      ]\n    }`;
  });
  const resolution = typeof result.inputResolution === "number"
    ? j(result.inputResolution)
    : `{"width": ${j(result.inputResolution.width)}, "height": ${
      j(result.inputResolution.height)
    }}`;
  return `{\n  "image": {"width": ${j(result.image.width)}, "height": ${
    j(result.image.height)
  }},\n` +
    `  "inputResolution": ${resolution},\n  "outputStride": ${j(result.outputStride)},\n` +
    `  "poses": ${poses.length === 0 ? "[]" : `[\n${poses.join(",\n")}\n  ]`}\n}`;
}

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

/**
 * Runs the `pose` command.
 *
 * Order: parse the options, read and decode the image, load the model, estimate, print the JSON,
 * then (with `--out`) write the overlay. The model is disposed of at the end whatever happens.
 *
 * @param args The command-line arguments (after the program name).
 * @param io Output sinks and, optionally, a model loader (tests inject a fake one).
 * @returns The exit code: 0 on success, 1 on an error, 2 on a usage error.
 *
 * @example
 * ```ts
 * import { runPoseCli } from "./pose.ts";
 *
 * const code = await runPoseCli(["tests/fixtures/photos/group4_standing.jpg", "--multi"], {
 *   stdout: (t) => console.log(t),
 *   stderr: (t) => console.error(t),
 * });
 * console.log(code); // 0
 * ```
 */
export async function runPoseCli(args: readonly string[], io: PoseCliIo): Promise<number> {
  let model: PoseCliModel | undefined;
  try {
    const options = parsePoseArgs(args);
    if (options === "help") {
      await io.stdout(USAGE);
      return 0;
    }
    const fromCwd = (path: string) =>
      io.cwd === undefined || isAbsolute(path) ? path : resolve(io.cwd, path);
    const image = await readImageFile(fromCwd(options.image));
    const progress = io.progress ?? ((message: string) => void io.stderr(`${message}\n`));
    const load = io.loadModel ?? defaultLoader;
    model = await load({
      inputResolution: options.resolution,
      outputStride: options.stride,
      ...(options.model === undefined ? {} : { modelUrl: modelLocation(options.model, fromCwd) }),
      onProgress: progress,
      ...(options.webgpu === undefined ? {} : { provider: options.webgpu }),
    });
    const input = { data: image.data, width: image.width, height: image.height };
    const poses = options.multi
      ? await model.estimateMultiplePoses(input, {
        flipHorizontal: options.flip,
        ...(options.maxDetections === undefined ? {} : { maxDetections: options.maxDetections }),
        ...(options.scoreThreshold === undefined ? {} : { scoreThreshold: options.scoreThreshold }),
        ...(options.nmsRadius === undefined ? {} : { nmsRadius: options.nmsRadius }),
      })
      : [await model.estimateSinglePose(input, { flipHorizontal: options.flip })];
    const { width, height } = model.inputResolution;
    const result: PoseCliResult = {
      image: { width: image.width, height: image.height },
      inputResolution: width === height ? width : { width, height },
      outputStride: model.outputStride,
      poses: poses.map(plainPose),
    };
    await io.stdout(`${formatResult(result)}\n`);

    if (options.out !== undefined) {
      const base = options.flip ? mirrorRgba(image.data, image.width, image.height) : image.data;
      const overlay = drawPoses(
        { data: base, width: image.width, height: image.height },
        result.poses,
        { minScore: options.minScore },
      );
      const png = encodePng(overlay, image.width, image.height);
      try {
        const path = fromCwd(options.out);
        const dir = dirname(path);
        if (dir !== "" && dir !== ".") await Deno.mkdir(dir, { recursive: true });
        await Deno.writeFile(path, png);
      } catch (err) {
        throw new InvalidInputError(`${options.out}: cannot write the overlay: ${errorLine(err)}`);
      }
      await io.stderr(`pose: overlay written to ${options.out}\n`);
    }
    return 0;
  } catch (err) {
    try {
      await io.stderr(`pose: ${errorLine(err)}\n`);
    } catch {
      // Nowhere left to report to.
    }
    return err instanceof UsageError ? 2 : 1;
  } finally {
    try {
      model?.dispose();
    } catch {
      // Disposal errors must not hide the result.
    }
  }
}

/** Writes all of `text` to a Deno output stream. */
async function writeAll(stream: { write(p: Uint8Array): Promise<number> }, text: string) {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(await stream.write(bytes));
}

/** `$INIT_CWD` (set by `deno task` to where it was started) when it differs from the cwd. */
function invocationDir(): string | undefined {
  try {
    const dir = Deno.env.get("INIT_CWD");
    return dir && isAbsolute(dir) && resolve(dir) !== resolve(Deno.cwd()) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The process's own stdout and stderr as a {@linkcode PoseCliIo}. Progress goes to stderr: on a
 * terminal as one line that updates in place, otherwise as plain lines.
 *
 * @returns The io for `runPoseCli` in a real process.
 *
 * @example
 * ```ts
 * import { processIo, runPoseCli } from "./pose.ts";
 *
 * // What `deno run jsr:@posekit/posenet-webgpu/cli photo.jpg` does.
 * const io = processIo();
 * const code = await runPoseCli(["--help"], io);
 * console.log(code); // 0
 * ```
 */
export function processIo(): PoseCliIo {
  const tty = (() => {
    try {
      return Deno.stderr.isTerminal();
    } catch {
      return false;
    }
  })();
  let progressOpen = false;
  const encoder = new TextEncoder();
  const stderrSync = (text: string) => {
    try {
      Deno.stderr.writeSync(encoder.encode(text));
    } catch {
      // stderr closed: nothing to do.
    }
  };
  return {
    cwd: invocationDir(),
    stdout: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => {
      if (progressOpen) {
        progressOpen = false;
        text = `\n${text}`;
      }
      stderrSync(text);
    },
    progress: (message) => {
      if (tty) {
        progressOpen = true;
        stderrSync(`\r${message}\x1b[K`);
      } else {
        stderrSync(`${message}\n`);
      }
    },
  };
}

if (import.meta.main) {
  const io = processIo();
  const code = await runPoseCli(Deno.args, io);
  io.stderr(""); // ends an open progress line
  Deno.exit(code);
}
