/**
 * The `pose` command line: estimates human poses in a JPEG or PNG image with PoseNet (default) or
 * MoveNet SinglePose Lightning / Thunder, and prints them as JSON.
 *
 * ```sh
 * deno task pose photo.jpg                              # PoseNet, single pose, JSON on stdout
 * deno task pose group.jpg --multi --out o.png          # several people, plus an overlay PNG
 * deno task pose photo.jpg --model movenet-lightning    # MoveNet, same JSON shape
 * deno task pose video in.mp4 --out o.mp4 --jsonl p.jsonl   # a video (ffmpeg), see video.ts
 * ```
 *
 * stdout carries exactly one JSON object (see {@linkcode PoseCliResult}); its keypoints have
 * PoseNet's part names whatever the model. Progress (the one-time weights download) and notes go
 * to stderr. Any failure prints one line `pose: <message>` on stderr, never a stack trace, and
 * exits with 1 (2 for a usage error). The logic lives in {@linkcode runPoseCli} so it can be
 * tested with injected model loaders.
 *
 * The command is split by concern: `_usage.ts` (the `--help` text, defaults and caps),
 * `_args.ts` (parsing and checking the options), `_model.ts` (the model names, loading and
 * running each model), `_output.ts` (the JSON and the error line), and this file (the command
 * and the process's streams).
 *
 * @module
 */

import { dirname, isAbsolute, resolve } from "node:path";
import { InvalidInputError } from "../errors.ts";
import { drawPoses } from "./draw_overlay.ts";
import { encodePng, readImageFile } from "./read_image.ts";
import { parsePoseArgs, UsageError } from "./_args.ts";
import { USAGE } from "./_usage.ts";
import { estimateWithModel, modelLocation, type PoseCliLoaders } from "./_model.ts";
import { errorLine, formatResult, type PoseCliResult } from "./_output.ts";
import { stderrProgress } from "../models/_stderr_progress.ts";
import { runVideoCli, type VideoCliIo } from "./video.ts";

export { parsePoseArgs, type PoseCliOptions, UsageError } from "./_args.ts";
export {
  DEFAULT_RESOLUTION,
  DEFAULT_STRIDE,
  MAX_DETECTIONS_LIMIT,
  MAX_INPUT_RESOLUTION,
  USAGE,
} from "./_usage.ts";
export {
  MOVENET_MODEL_TYPES,
  POSE_CLI_MODELS,
  type PoseCliDetectorConfig,
  type PoseCliDetectorLoader,
  type PoseCliLoadConfig,
  type PoseCliLoader,
  type PoseCliLoaders,
  type PoseCliModel,
  type PoseCliModelName,
} from "./_model.ts";
export { errorLine, formatResult, type PoseCliResult } from "./_output.ts";
export { INTERRUPTED_EXIT_CODE, runVideoCli, type VideoCliIo } from "./video.ts";
export { VIDEO_MODELS, type VideoModelName } from "./_model.ts";
export type { StderrProgress } from "../models/_stderr_progress.ts";
export { parseVideoArgs, VIDEO_USAGE, type VideoCliOptions } from "./_video_args.ts";
export type { Keypoint, PartName, Pose, Vector2D } from "../decode/keypoints.ts";
export type { PoseImage } from "../runtime/pose_image.ts";
export { InvalidInputError, PoseNetError } from "../errors.ts";

/**
 * Where {@linkcode runPoseCli} writes, and what it loads the models with.
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
export interface PoseCliIo
  extends PoseCliLoaders, Pick<VideoCliIo, "progressLine" | "onInterrupt"> {
  /** Receives stdout text (the JSON result, the help). */
  stdout(text: string): void | Promise<void>;
  /** Receives stderr text (notes and the error line), each ending in a newline. */
  stderr(text: string): void | Promise<void>;
  /** Receives progress messages; default: each as a line on {@linkcode PoseCliIo.stderr}. */
  progress?: (message: string) => void;
  /**
   * Directory relative paths (image, `--out`, `--model`, `--model-url`) are taken from; default:
   * the process's working directory. `deno task` runs in the repository root, so
   * {@linkcode processIo} sets this to `$INIT_CWD`, the directory the task was started from.
   */
  cwd?: string;
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

/** Writes `png` to `path`, making its directory; `shown` names it in errors. */
async function writeOverlay(path: string, shown: string, png: Uint8Array): Promise<void> {
  try {
    const dir = dirname(path);
    if (dir !== "" && dir !== ".") await Deno.mkdir(dir, { recursive: true });
    await Deno.writeFile(path, png);
  } catch (err) {
    throw new InvalidInputError(`${shown}: cannot write the overlay: ${errorLine(err)}`);
  }
}

/**
 * Runs the `pose` command.
 *
 * `pose video …` is {@linkcode runVideoCli} (`video.ts`).
 *
 * Order: parse the options, read and decode the image, load the model, estimate, dispose of the
 * model (whatever happened), print the JSON, then (with `--out`) write the overlay.
 *
 * @param args The command-line arguments (after the program name).
 * @param io Output sinks and, optionally, model loaders (tests inject fake ones).
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
  if (args[0] === "video") return await runVideoCli(args.slice(1), io);
  try {
    const options = parsePoseArgs(args);
    if (options === "help") {
      await io.stdout(USAGE);
      return 0;
    }
    const fromCwd = (path: string) =>
      io.cwd === undefined || isAbsolute(path) ? path : resolve(io.cwd, path);
    const image = await readImageFile(fromCwd(options.image));
    const estimate = await estimateWithModel(options, image, io, {
      ...(options.modelUrl === undefined
        ? {}
        : { modelUrl: modelLocation(options.modelUrl, fromCwd) }),
      onProgress: io.progress ?? ((message: string) => void io.stderr(`${message}\n`)),
    });
    const { model, ...rest } = estimate;
    const result: PoseCliResult = {
      ...(model === undefined ? {} : { model }),
      image: { width: image.width, height: image.height },
      ...rest,
    };
    await io.stdout(`${formatResult(result)}\n`);

    if (options.out !== undefined) {
      const base = options.flip ? mirrorRgba(image.data, image.width, image.height) : image.data;
      const overlay = drawPoses(
        { data: base, width: image.width, height: image.height },
        result.poses,
        { minScore: options.minScore },
      );
      await writeOverlay(
        fromCwd(options.out),
        options.out,
        encodePng(overlay, image.width, image.height),
      );
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
 * terminal as one line that updates in place, otherwise as plain lines. Ctrl-C stops a video run
 * cleanly (a second one exits at once).
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
  const line = stderrProgress();
  return {
    cwd: invocationDir(),
    stdout: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => line.write(text),
    progress: (message) => line.progress(message),
    progressLine: line,
    onInterrupt: onSigint,
  };
}

/** Calls `listener` on SIGINT until unsubscribed; a second Ctrl-C exits at once. */
function onSigint(listener: () => void): () => void {
  let heard = 0;
  const handler = () => {
    if (++heard > 1) Deno.exit(130);
    listener();
  };
  try {
    Deno.addSignalListener("SIGINT", handler);
  } catch {
    return () => {}; // no signals here (e.g. Windows without a console)
  }
  return () => Deno.removeSignalListener("SIGINT", handler);
}

if (import.meta.main) {
  const io = processIo();
  const code = await runPoseCli(Deno.args, io);
  io.stderr(""); // ends an open progress line
  Deno.exit(code);
}
