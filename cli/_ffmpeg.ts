/**
 * ffmpeg and ffprobe as subprocesses, for the `pose video` command: running them (a missing tool is
 * one line saying how to install it) and {@linkcode probeVideo}, which reads a file's first video
 * stream (size, frame rate, duration, frame count) with ffprobe. The frame streams (decoder and
 * encoder) are in `_ffmpeg_streams.ts`. Every failure is an {@linkcode FfmpegError} or an
 * `InvalidInputError` with one line that says what is wrong: ffmpeg missing, a file ffmpeg cannot
 * read, a file with no video stream or a still image.
 *
 * @module
 */

import { InvalidInputError, PoseNetError } from "../errors.ts";

/**
 * ffmpeg or ffprobe is missing or failed.
 *
 * @example
 * ```ts
 * import { FfmpegError } from "./_ffmpeg.ts";
 * console.log(new FfmpegError("ffmpeg stopped").name); // "FfmpegError"
 * ```
 */
export class FfmpegError extends PoseNetError {}

/**
 * The line printed when ffmpeg or ffprobe is not installed.
 *
 * @example
 * ```ts
 * import { FFMPEG_MISSING } from "./_ffmpeg.ts";
 * console.log(FFMPEG_MISSING("ffprobe").startsWith("ffprobe not found")); // true
 * ```
 */
export const FFMPEG_MISSING = (tool: "ffmpeg" | "ffprobe"): string =>
  `${tool} not found: the video command needs ffmpeg and ffprobe on PATH; install them with ` +
  "`apt-get install ffmpeg` (Debian, Ubuntu), `brew install ffmpeg` (macOS) or from ffmpeg.org";

/** A frame rate as a fraction, as ffprobe gives it (`30000/1001`). */
export interface FrameRate {
  /** Frames … */
  readonly num: number;
  /** … per this many seconds. */
  readonly den: number;
}

/** What {@linkcode probeVideo} learns of a file's first video stream. */
export interface VideoInfo {
  /** Width of the decoded (upright) frames. */
  readonly width: number;
  /** Height of the decoded (upright) frames. */
  readonly height: number;
  /** The frame rate frames are decoded at (the stream's average rate). */
  readonly frameRate: FrameRate;
  /** Duration in seconds, when known. */
  readonly durationS?: number;
  /** Number of frames, from the container or estimated from the duration; absent if unknown. */
  readonly frameCount?: number;
  /** The codec, e.g. `h264`. */
  readonly codec: string;
}

/** Output of a finished tool run. */
interface ToolOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `tool args…` to the end.
 *
 * @param tool `ffmpeg` or `ffprobe`.
 * @param args Its arguments.
 * @returns Its exit code, stdout and stderr.
 * @throws {FfmpegError} When the tool is missing or may not be run.
 *
 * @example
 * ```ts
 * import { runTool } from "./_ffmpeg.ts";
 * console.log((await runTool("ffmpeg", ["-version"])).code); // 0
 * ```
 */
export async function runTool(tool: "ffmpeg" | "ffprobe", args: string[]): Promise<ToolOutput> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(tool, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
  } catch (err) {
    throw toolStartError(tool, err);
  }
  const text = new TextDecoder();
  return {
    code: output.code,
    stdout: text.decode(output.stdout),
    stderr: text.decode(output.stderr),
  };
}

/**
 * The error for a tool that could not be started: missing (with how to install it), not allowed,
 * or another reason.
 *
 * @param tool `ffmpeg` or `ffprobe`.
 * @param err What spawning it threw.
 * @returns An {@linkcode FfmpegError}.
 *
 * @example
 * ```ts
 * import { toolStartError } from "./_ffmpeg.ts";
 * console.log(toolStartError("ffmpeg", new Deno.errors.NotFound("x")).message.startsWith("ffmpeg not found")); // true
 * ```
 */
export function toolStartError(tool: "ffmpeg" | "ffprobe", err: unknown): Error {
  if (err instanceof Deno.errors.NotFound) return new FfmpegError(FFMPEG_MISSING(tool));
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    return new FfmpegError(`running ${tool} needs deno's --allow-run=ffmpeg,ffprobe`);
  }
  return new FfmpegError(`cannot start ${tool}: ${err instanceof Error ? err.message : err}`);
}

/**
 * The last meaningful line a tool wrote on stderr, at most 300 characters, or `fallback`.
 *
 * @param stderr The tool's stderr.
 * @param fallback Text when it wrote nothing.
 * @returns One line.
 *
 * @example
 * ```ts
 * import { lastLine } from "./_ffmpeg.ts";
 * console.log(lastLine("a\n  b: Invalid data found when processing input\n", "?")); // "b: Invalid data found when processing input"
 * ```
 */
export function lastLine(stderr: string, fallback: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  const line = lines.at(-1) ?? fallback;
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

/**
 * Parses ffprobe's `num/den` rate; `0/0` and junk give `undefined`.
 *
 * @param text E.g. `"30000/1001"`.
 * @returns The rate, or `undefined`.
 *
 * @example
 * ```ts
 * import { parseFrameRate } from "./_ffmpeg.ts";
 * console.log(parseFrameRate("30000/1001"), parseFrameRate("0/0")); // { num: 30000, den: 1001 } undefined
 * ```
 */
export function parseFrameRate(text: unknown): FrameRate | undefined {
  const match = typeof text === "string" ? /^(\d+)\/(\d+)$/.exec(text.trim()) : null;
  if (!match) return undefined;
  const num = Number(match[1]), den = Number(match[2]);
  return num > 0 && den > 0 && num / den <= 1000 ? { num, den } : undefined;
}

/**
 * A rate as ffmpeg's `-r` and `fps=` take it.
 *
 * @param rate The rate.
 * @returns `num/den`.
 *
 * @example
 * ```ts
 * import { rateText } from "./_ffmpeg.ts";
 * console.log(rateText({ num: 30000, den: 1001 })); // "30000/1001"
 * ```
 */
export function rateText(rate: FrameRate): string {
  return `${rate.num}/${rate.den}`;
}

/**
 * Reads the first video stream of `path` with ffprobe.
 *
 * @param path The file (already known to exist and be readable).
 * @param shown The name used in messages.
 * @returns The stream's size (upright, after the rotation ffmpeg applies), rate and length.
 * @throws {InvalidInputError} When the file is not a video ffmpeg can read, has no video stream,
 * or is a still image.
 * @throws {FfmpegError} When ffprobe is not installed.
 *
 * @example
 * ```ts
 * import { probeVideo } from "./_ffmpeg.ts";
 *
 * const path = await Deno.makeTempFile({ suffix: ".mp4" });
 * await new Deno.Command("ffmpeg", {
 *   args: ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1", path],
 * }).output();
 * const info = await probeVideo(path, "clip.mp4");
 * console.log(info.width, info.height, info.frameRate, info.frameCount); // 64 48 { num: 10, den: 1 } 10
 * ```
 */
export async function probeVideo(path: string, shown: string): Promise<VideoInfo> {
  const { code, stdout, stderr } = await runTool("ffprobe", [
    "-v",
    "error",
    "-show_entries",
    "format=format_name,duration:stream=codec_type,codec_name,width,height,avg_frame_rate," +
    "r_frame_rate,nb_frames,duration:stream_side_data=rotation:stream_tags=rotate",
    "-of",
    "json",
    "--",
    path,
  ]);
  if (code !== 0) {
    const why = lastLine(stderr, `ffprobe exited with ${code}`).replace(`${path}: `, "");
    throw new InvalidInputError(`${shown}: not a video ffmpeg can read (${why})`);
  }
  // deno-lint-ignore no-explicit-any
  let parsed: any;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new FfmpegError(`${shown}: ffprobe printed no JSON`);
  }
  // deno-lint-ignore no-explicit-any
  const streams: any[] = Array.isArray(parsed?.streams) ? parsed.streams : [];
  const stream = streams.find((s) => s?.codec_type === "video");
  if (!stream) throw new InvalidInputError(`${shown}: has no video stream`);
  const format = String(parsed?.format?.format_name ?? "");
  if (format === "image2" || format.endsWith("_pipe")) {
    throw new InvalidInputError(
      `${shown}: is a still image, not a video; use \`deno task pose ${shown}\``,
    );
  }
  const frameRate = parseFrameRate(stream.avg_frame_rate) ?? parseFrameRate(stream.r_frame_rate);
  if (!frameRate) throw new InvalidInputError(`${shown}: the video stream has no frame rate`);
  let width = Number(stream.width), height = Number(stream.height);
  if (!(width > 0 && height > 0)) {
    throw new InvalidInputError(`${shown}: the video stream has no frame size`);
  }
  const rotation = Number(
    // deno-lint-ignore no-explicit-any
    (stream.side_data_list ?? []).find((d: any) => d?.rotation !== undefined)?.rotation ??
      stream.tags?.rotate ?? 0,
  );
  if (Math.abs(rotation) % 180 === 90) [width, height] = [height, width];
  const duration = Number(stream.duration ?? parsed?.format?.duration);
  const durationS = Number.isFinite(duration) && duration > 0 ? duration : undefined;
  const frames = Number(stream.nb_frames);
  const frameCount = Number.isSafeInteger(frames) && frames > 0
    ? frames
    : durationS === undefined
    ? undefined
    : Math.max(1, Math.round(durationS * frameRate.num / frameRate.den));
  return {
    width,
    height,
    frameRate,
    codec: String(stream.codec_name ?? "unknown"),
    ...(durationS === undefined ? {} : { durationS }),
    ...(frameCount === undefined ? {} : { frameCount }),
  };
}
