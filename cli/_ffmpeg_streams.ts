/**
 * The frame streams of `pose video`, each an ffmpeg subprocess: {@linkcode startDecoder} streams a
 * file's frames as raw RGBA at a constant frame rate, {@linkcode startEncoder} takes raw RGBA
 * frames and writes an H.264 (yuv420p) MP4 with the encoder {@linkcode pickEncoder} finds. A
 * decoder or encoder that stops is an `FfmpegError` with ffmpeg's last line.
 *
 * @module
 */

import {
  FfmpegError,
  type FrameRate,
  lastLine,
  rateText,
  runTool,
  toolStartError,
  type VideoInfo,
} from "./_ffmpeg.ts";

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
 * import { probeVideo } from "./_ffmpeg.ts";
 * import { startDecoder } from "./_ffmpeg_streams.ts";
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
 * import { pickEncoder } from "./_ffmpeg_streams.ts";
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
 * import { startEncoder } from "./_ffmpeg_streams.ts";
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
