/**
 * ffmpeg and ffprobe as subprocesses, for the `pose video` command: {@linkcode probeVideo} reads a
 * file's first video stream (size, frame rate, duration, frame count), {@linkcode startDecoder}
 * streams its frames as raw RGBA at a constant frame rate, {@linkcode startEncoder} takes raw RGBA
 * frames and writes an H.264 (yuv420p) MP4, and {@linkcode ffmpegVersion} says whether ffmpeg is
 * there. Every failure is an {@linkcode FfmpegError} or an `InvalidInputError` with one line that
 * says what is wrong: ffmpeg missing (and how to install it), a file ffmpeg cannot read, a file
 * with no video stream, an encoder that stopped.
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

/** Runs `tool args…` to the end; a missing tool is an {@linkcode FfmpegError}. */
async function runTool(tool: "ffmpeg" | "ffprobe", args: string[]): Promise<ToolOutput> {
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

/** The error for a tool that could not be started. */
function toolStartError(tool: "ffmpeg" | "ffprobe", err: unknown): Error {
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
 * ffmpeg's version line, e.g. `ffmpeg version 5.1.6-0+deb12u1 …`.
 *
 * @returns The first line of `ffmpeg -version`.
 * @throws {FfmpegError} When ffmpeg is not installed.
 *
 * @example
 * ```ts
 * import { ffmpegVersion } from "./_ffmpeg.ts";
 * console.log((await ffmpegVersion()).startsWith("ffmpeg version")); // true
 * ```
 */
export async function ffmpegVersion(): Promise<string> {
  const { stdout } = await runTool("ffmpeg", ["-hide_banner", "-version"]);
  return lastLine(stdout.split("\n")[0] ?? "", "ffmpeg");
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

/** Formats a rate for ffmpeg's `-r` and `fps=`. */
function rateText(rate: FrameRate): string {
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

/** Collects up to 64 KiB of a child's stderr (its end, where the error is). */
function collectStderr(stream: ReadableStream<Uint8Array>): Promise<string> {
  return (async () => {
    const decoder = new TextDecoder();
    let text = "";
    try {
      for await (const chunk of stream) {
        text = (text + decoder.decode(chunk, { stream: true })).slice(-65536);
      }
    } catch {
      // A killed child: keep what arrived.
    }
    return text;
  })();
}

/** A running ffmpeg decoder. */
export interface VideoDecoder {
  /**
   * The next frame (`width * height * 4` RGBA bytes), or `undefined` after the last one.
   *
   * @throws {FfmpegError} When ffmpeg stops with an error or in the middle of a frame.
   */
  read(): Promise<Uint8Array | undefined>;
  /** Stops ffmpeg (when a run ends early) and waits for it. */
  stop(): Promise<void>;
}

/**
 * Starts ffmpeg decoding `path`'s first video stream to raw RGBA frames at `info.frameRate`
 * (constant: ffmpeg's `fps` filter repeats or drops frames of a variable-rate file, so frame `i`
 * is at `i / rate` seconds).
 *
 * @param path The video file.
 * @param info Its {@linkcode probeVideo} result.
 * @param shown The name used in messages.
 * @returns The decoder.
 * @throws {FfmpegError} When ffmpeg is not installed.
 *
 * @example
 * ```ts
 * import { probeVideo, startDecoder } from "./_ffmpeg.ts";
 *
 * const path = await Deno.makeTempFile({ suffix: ".mp4" });
 * await new Deno.Command("ffmpeg", {
 *   args: ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=32x16:rate=5:duration=1", path],
 * }).output();
 * const decoder = startDecoder(path, await probeVideo(path, "clip.mp4"), "clip.mp4");
 * let frames = 0;
 * while (await decoder.read()) frames++;
 * console.log(frames); // 5
 * ```
 */
export function startDecoder(path: string, info: VideoInfo, shown: string): VideoDecoder {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("ffmpeg", {
      args: [
        ...["-v", "error", "-nostdin", "-i", path, "-map", "0:v:0", "-an", "-sn"],
        ...["-vf", `fps=${rateText(info.frameRate)}`, "-f", "rawvideo", "-pix_fmt", "rgba"],
        "pipe:1",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw toolStartError("ffmpeg", err);
  }
  const stderr = collectStderr(child.stderr);
  const frameBytes = info.width * info.height * 4;
  const reader = child.stdout.getReader({ mode: "byob" });
  let ended = false;
  let stopped = false;
  const failure = async (what: string) => {
    const status = await child.status;
    const why = lastLine(await stderr, `ffmpeg exited with ${status.code}`);
    return new FfmpegError(`${shown}: decoding stopped ${what}: ${why}`);
  };
  return {
    async read() {
      if (ended) return undefined;
      let frame = new Uint8Array(frameBytes);
      let filled = 0;
      while (filled < frameBytes) {
        const { value, done } = await reader.read(frame.subarray(filled));
        if (value) frame = new Uint8Array(value.buffer, 0, frameBytes);
        if (done) break;
        filled += value.byteLength;
      }
      if (filled === frameBytes) return frame;
      ended = true;
      const status = await child.status;
      if (stopped) return undefined;
      if (filled > 0) {
        throw await failure(`in the middle of a frame (${filled} of ${frameBytes} bytes)`);
      }
      if (!status.success) throw await failure("with an error");
      return undefined;
    },
    async stop() {
      stopped = true;
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await reader.cancel().catch(() => {});
      await child.status;
      await stderr;
    },
  };
}

/**
 * The H.264 encoder ffmpeg has (`libx264`, else `libopenh264`), or MPEG-4 part 2 (`mpeg4`, always
 * built in) when it has neither.
 *
 * @returns The encoder's name.
 * @throws {FfmpegError} When ffmpeg is not installed.
 *
 * @example
 * ```ts
 * import { pickEncoder } from "./_ffmpeg.ts";
 * console.log(await pickEncoder()); // "libx264" with Debian's ffmpeg
 * ```
 */
export async function pickEncoder(): Promise<"libx264" | "libopenh264" | "mpeg4"> {
  const { stdout } = await runTool("ffmpeg", ["-hide_banner", "-encoders"]);
  const has = (name: string) => new RegExp(`^\\s*V\\S*\\s+${name}\\s`, "m").test(stdout);
  return has("libx264") ? "libx264" : has("libopenh264") ? "libopenh264" : "mpeg4";
}

/** A running ffmpeg encoder. */
export interface VideoEncoder {
  /**
   * Writes one RGBA frame; resolves when ffmpeg has taken it (backpressure).
   *
   * @throws {FfmpegError} When ffmpeg stopped.
   */
  write(frame: Uint8Array): Promise<void>;
  /**
   * Ends the input and waits for ffmpeg to finish the file.
   *
   * @throws {FfmpegError} When ffmpeg fails.
   */
  close(): Promise<void>;
}

/**
 * Starts ffmpeg writing raw RGBA frames of `width × height` at `frameRate` to an MP4: H.264 in
 * yuv420p (sides padded to even), `+faststart`, the widely playable choice.
 *
 * @param path The output file (overwritten).
 * @param size The frames' size.
 * @param frameRate The output rate.
 * @param codec From {@linkcode pickEncoder}.
 * @param shown The name used in messages.
 * @returns The encoder.
 * @throws {FfmpegError} When ffmpeg is not installed.
 *
 * @example
 * ```ts
 * import { startEncoder } from "./_ffmpeg.ts";
 *
 * const path = await Deno.makeTempFile({ suffix: ".mp4" });
 * const encoder = startEncoder(path, { width: 16, height: 16 }, { num: 10, den: 1 }, "libx264", "o.mp4");
 * for (let i = 0; i < 3; i++) await encoder.write(new Uint8Array(16 * 16 * 4).fill(40 * i));
 * await encoder.close();
 * console.log((await Deno.stat(path)).size > 0); // true
 * ```
 */
export function startEncoder(
  path: string,
  size: { readonly width: number; readonly height: number },
  frameRate: FrameRate,
  codec: string,
  shown: string,
): VideoEncoder {
  const quality = codec === "libx264"
    ? ["-preset", "veryfast", "-crf", "20"]
    : codec === "mpeg4"
    ? ["-q:v", "3"]
    : [];
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("ffmpeg", {
      args: [
        ...["-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgba"],
        ...["-s", `${size.width}x${size.height}`, "-r", rateText(frameRate), "-i", "pipe:0"],
        ...["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", codec, ...quality],
        ...["-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", path],
      ],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw toolStartError("ffmpeg", err);
  }
  const stderr = collectStderr(child.stderr);
  const writer = child.stdin.getWriter();
  const failure = async (err?: unknown) => {
    const status = await child.status;
    const fallback = err instanceof Error ? err.message : `ffmpeg exited with ${status.code}`;
    return new FfmpegError(`${shown}: encoding failed: ${lastLine(await stderr, fallback)}`);
  };
  let closed = false;
  return {
    async write(frame) {
      try {
        await writer.write(frame);
      } catch (err) {
        throw await failure(err);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await writer.close().catch(() => {});
      const status = await child.status;
      if (!status.success) throw await failure();
      await stderr;
    },
  };
}
