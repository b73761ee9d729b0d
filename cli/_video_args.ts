/**
 * The `pose video` command line: its `--help` text ({@linkcode VIDEO_USAGE}) and
 * {@linkcode parseVideoArgs}, which checks every option before ffmpeg or a model is started. The
 * tokeniser, the number rules and the WebGPU provider rule are the `pose` command's (`_args.ts`).
 *
 * @module
 */

import type { WebGpuProvider } from "../runtime/webgpu_provider.ts";
import { WEBGPU_PROVIDER_ENV } from "../runtime/webgpu_provider.ts";
import { parseInteger, parseNumber, parseWebGpuOption, tokenise, UsageError } from "./_args.ts";
import { VIDEO_MODELS, type VideoModelName } from "./_model.ts";

/** The video command's default model: the fastest, and it tracks its crop from frame to frame. */
export const VIDEO_DEFAULT_MODEL: VideoModelName = "movenet-lightning";
/** Default `--in-flight`: frames between decoded and encoded. */
export const DEFAULT_IN_FLIGHT = 4;
/** Largest `--in-flight`. */
export const MAX_IN_FLIGHT = 16;
/** Default `--min-score` of the drawing: pose-detection's demo draws keypoints above 0.3. */
export const VIDEO_MIN_SCORE = 0.3;
/** Models that find several people (`--max-poses` applies). */
const MULTI_MODELS: readonly VideoModelName[] = ["posenet", "movenet-multipose"];

/**
 * Parsed `pose video` options.
 *
 * @example
 * ```ts
 * import { parseVideoArgs, type VideoCliOptions } from "./_video_args.ts";
 * const options = parseVideoArgs(["in.mp4", "--out", "o.mp4"]) as VideoCliOptions;
 * console.log(options.model, options.inFlight); // "movenet-lightning" 4
 * ```
 */
export interface VideoCliOptions {
  /** The input video. */
  readonly input: string;
  /** The model. */
  readonly model: VideoModelName;
  /** Custom weights for the model. */
  readonly modelUrl?: string;
  /** The annotated MP4 to write. */
  readonly out?: string;
  /** The JSONL file; absent or `-`: stdout. */
  readonly jsonl?: string;
  /** Frames in flight. */
  readonly inFlight: number;
  /** Least keypoint score drawn. */
  readonly minScore: number;
  /** Most poses per frame (PoseNet: above 1 is multi-pose). */
  readonly maxPoses?: number;
  /** The WebGPU provider. */
  readonly webgpu?: WebGpuProvider;
  /** Only the first this many frames. */
  readonly frames?: number;
  /** MultiPose: the model input's longer side (`multiPoseMaxDimension`). */
  readonly maxDimension?: number;
}

const OPTIONS = {
  "model": { type: "string" },
  "model-url": { type: "string" },
  "out": { type: "string" },
  "jsonl": { type: "string" },
  "in-flight": { type: "string" },
  "min-score": { type: "string" },
  "max-poses": { type: "string" },
  "webgpu": { type: "string" },
  "frames": { type: "string" },
  "max-dimension": { type: "string" },
  "help": { type: "boolean", short: "h" },
} as const;

/**
 * The `pose video --help` text.
 *
 * @example
 * ```ts
 * import { VIDEO_USAGE } from "./_video_args.ts";
 * console.log(VIDEO_USAGE.split("\n")[0]); // "Usage: deno task pose video <in.mp4> [options]"
 * ```
 */
export const VIDEO_USAGE: string = `Usage: deno task pose video <in.mp4> [options]

Estimates the poses in every frame of a video on WebGPU. ffmpeg decodes the frames (any format
it reads) and encodes the annotated video; ffmpeg and ffprobe must be on PATH
(\`apt-get install ffmpeg\`). Each frame gives one line of JSON, written as soon as the frame is
done, in frame order:
  {"frame":i,"timestampMs":t,"poses":[{"id":k,"score":s,"box":{...},
   "keypoints":[{"name":"nose","x":x,"y":y,"score":s}, ...]}]}
"id" (a track id) and "box" are present only when the model gives them (MultiPose). Frames are
read at the stream's average frame rate; frame i is at t = 1000 * i / rate. Progress goes to
stderr (a bar on a terminal).

Options:
  --model NAME          ${VIDEO_MODELS.join(", ")} (default ${VIDEO_DEFAULT_MODEL})
  --model-url PATH|URL  custom weights (a TF.js model.json) for the model
  --out FILE.mp4        write the video with the poses drawn, each track in its own colour
                        (H.264, yuv420p; no audio)
  --jsonl FILE          write the JSON lines to FILE (default: stdout; "-" is stdout)
  --in-flight N         frames between decoding and encoding, 1-${MAX_IN_FLIGHT} (default ${DEFAULT_IN_FLIGHT}): decoding,
                        the GPU and encoding overlap; 1 runs them one after another
  --min-score T         with --out: draw keypoints scoring at least T, 0-1 (default ${VIDEO_MIN_SCORE})
  --max-poses N         ${MULTI_MODELS.join(", ")}: at most N poses a frame (PoseNet: above 1 is
                        multi-pose decoding; default 1)
  --frames N            only the first N frames
  --max-dimension N     movenet-multipose: the model input's longer side, a multiple of 32 up to
                        1024 (default 256, as pose-detection; larger finds smaller people, slower)
  --webgpu deno|dawn    WebGPU implementation (default Deno's, or $${WEBGPU_PROVIDER_ENV})
  -h, --help            print this help

Ctrl-C stops after the frame being written: the JSONL keeps every finished frame and the video is
closed. Errors print one line "pose video: <message>" on stderr; the exit code is 1, 2 for a bad
command line, 130 when interrupted.
`;

/**
 * Parses and checks the `pose video` arguments (after `video`).
 *
 * @param args The arguments.
 * @returns The options, or `"help"`.
 * @throws {UsageError} For an unknown, repeated or malformed option, an option that does not
 * apply, or a missing or extra input.
 *
 * @example
 * ```ts
 * import { parseVideoArgs } from "./_video_args.ts";
 * console.log(parseVideoArgs(["in.mp4", "--model", "movenet-thunder", "--jsonl", "p.jsonl"]));
 * ```
 */
export function parseVideoArgs(args: readonly string[]): VideoCliOptions | "help" {
  const parsed = tokenise(args, OPTIONS);
  if (parsed === "help") return "help";
  const { values, positionals } = parsed;
  const text = (option: keyof typeof OPTIONS) => values[option] as string | undefined;
  if (positionals.length === 0) {
    throw new UsageError("missing the video argument (usage: pose video <in.mp4> [options])");
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `expected one video, got ${positionals.length}: ${
        positionals.map((p) => JSON.stringify(p)).join(" ")
      }`,
    );
  }
  const input = positionals[0];
  if (input === "") throw new UsageError("the video path is empty");
  const modelText = text("model") ?? VIDEO_DEFAULT_MODEL;
  if (!(VIDEO_MODELS as readonly string[]).includes(modelText)) {
    throw new UsageError(
      `--model must be one of ${VIDEO_MODELS.join(", ")}, got ${JSON.stringify(modelText)}`,
    );
  }
  const model = modelText as VideoModelName;
  const modelUrl = text("model-url");
  if (modelUrl === "") throw new UsageError("--model-url needs a path or URL");
  const out = text("out");
  if (out === "") throw new UsageError("--out needs a file path");
  const jsonl = text("jsonl");
  if (jsonl === "") throw new UsageError("--jsonl needs a file path (or - for stdout)");
  const minScoreText = text("min-score");
  if (minScoreText !== undefined && out === undefined) {
    throw new UsageError("--min-score needs --out");
  }
  const maxPosesText = text("max-poses");
  if (maxPosesText !== undefined && !MULTI_MODELS.includes(model)) {
    throw new UsageError(`--max-poses does not apply to --model ${model} (one pose a frame)`);
  }
  const maxDimensionText = text("max-dimension");
  if (maxDimensionText !== undefined && model !== "movenet-multipose") {
    throw new UsageError(`--max-dimension is for --model movenet-multipose, not ${model}`);
  }
  const framesText = text("frames");
  const inFlightText = text("in-flight");
  const webgpuText = text("webgpu");
  return {
    input,
    model,
    ...(modelUrl === undefined ? {} : { modelUrl }),
    ...(out === undefined ? {} : { out }),
    ...(jsonl === undefined || jsonl === "-" ? {} : { jsonl }),
    inFlight: inFlightText === undefined
      ? DEFAULT_IN_FLIGHT
      : parseInteger("--in-flight", inFlightText, 1, MAX_IN_FLIGHT),
    minScore: minScoreText === undefined
      ? VIDEO_MIN_SCORE
      : parseNumber("--min-score", minScoreText, (v) => v >= 0 && v <= 1, "between 0 and 1"),
    ...(maxPosesText === undefined
      ? {}
      : { maxPoses: parseInteger("--max-poses", maxPosesText, 1, 100) }),
    ...(webgpuText === undefined ? {} : { webgpu: parseWebGpuOption(webgpuText) }),
    ...(framesText === undefined
      ? {}
      : { frames: parseInteger("--frames", framesText, 1, Number.MAX_SAFE_INTEGER) }),
    ...(maxDimensionText === undefined ? {} : {
      maxDimension: parseNumber(
        "--max-dimension",
        maxDimensionText,
        (v) => Number.isInteger(v) && v >= 32 && v <= 1024 && v % 32 === 0,
        "a multiple of 32 from 32 to 1024",
      ),
    }),
  };
}
