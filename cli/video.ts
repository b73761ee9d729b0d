/**
 * The `pose video` command: poses in every frame of a video, as JSON lines and, with `--out`, as
 * an annotated MP4.
 *
 * ```sh
 * deno task pose video in.mp4 --out annotated.mp4 --jsonl poses.jsonl
 * deno task pose video in.mp4 --model movenet-thunder > poses.jsonl
 * ```
 *
 * ffprobe reads the stream (`_ffmpeg.ts`), ffmpeg decodes it to raw RGBA frames (`_ffmpeg_streams.ts`); each frame goes to the detector with
 * its timestamp (`estimatePoses(frame, config, timestampMs)`: a video frame, so MoveNet tracks its
 * crop); the poses are written as one JSON line (`_video_output.ts`) and drawn onto the frame,
 * which a second ffmpeg encodes. Up to `--in-flight` frames are between decoder and encoder at
 * once (`_frame_pipeline.ts`), so decoding, the GPU and encoding overlap. Ctrl-C stops after the
 * frame being written and leaves only complete lines and a closed video. Every failure is one line
 * `pose video: <message>` on stderr.
 *
 * @module
 */

import { dirname, isAbsolute, resolve } from "node:path";
import { InvalidInputError } from "../errors.ts";
import type { DetectedPose, EstimationConfig, PoseDetector } from "../detectors/detector_types.ts";
import type { StderrProgress } from "../models/_stderr_progress.ts";
import { poseFromDetected } from "../detectors/pose_shapes.ts";
import { drawPoses } from "./draw_overlay.ts";
import { UsageError } from "./_args.ts";
import { probeVideo, type VideoInfo } from "./_ffmpeg.ts";
import { pickEncoder, startDecoder, startEncoder, type VideoEncoder } from "./_ffmpeg_streams.ts";
import { runFramePipeline } from "./_frame_pipeline.ts";
import { loadPoseDetector, modelLocation, type PoseCliLoaders } from "./_model.ts";
import { errorLine } from "./_output.ts";
import { frameProgress } from "./_progress.ts";
import { parseVideoArgs, VIDEO_USAGE, type VideoCliOptions } from "./_video_args.ts";
import { createTrackColoring, jsonlLine, jsonlRecord, openJsonl } from "./_video_output.ts";

/**
 * Where {@linkcode runVideoCli} writes, what it loads models with, and how it hears Ctrl-C.
 *
 * @example
 * ```ts
 * import { runVideoCli, type VideoCliIo } from "./video.ts";
 *
 * const io: VideoCliIo = { stdout: (t) => console.log(t), stderr: (t) => console.error(t) };
 * console.log(await runVideoCli(["--help"], io)); // 0
 * ```
 */
export interface VideoCliIo extends PoseCliLoaders {
  /** Receives stdout text: the help, and the JSON lines when `--jsonl` is not given. */
  stdout(text: string): void | Promise<void>;
  /** Receives stderr text (the summary and the error line), each ending in a newline. */
  stderr(text: string): void | Promise<void>;
  /** The progress line (a bar on a terminal); default: none. */
  progressLine?: StderrProgress;
  /** Receives the weights-download progress; default: lines on stderr. */
  progress?: (message: string) => void;
  /** Directory relative paths are taken from; default: the process's working directory. */
  cwd?: string;
  /** Calls `listener` on Ctrl-C (SIGINT) until the returned function is called. */
  onInterrupt?: (listener: () => void) => () => void;
}

/** The exit code of a run stopped by Ctrl-C (128 + SIGINT). */
export const INTERRUPTED_EXIT_CODE = 130;

/** A progress line that shows nothing. */
const NO_PROGRESS: StderrProgress = { tty: false, progress() {}, write() {} };

/** Checks that `path` is a readable file, with a one-line reason when it is not. */
async function checkReadable(path: string, shown: string): Promise<void> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new InvalidInputError(`${shown}: no such file`);
    throw new InvalidInputError(`${shown}: cannot read it: ${errorLine(err)}`);
  }
  if (stat.isDirectory) throw new InvalidInputError(`${shown}: is a directory, not a video`);
  try {
    (await Deno.open(path, { read: true })).close();
  } catch (err) {
    throw new InvalidInputError(`${shown}: cannot read it: ${errorLine(err)}`);
  }
}

/** Makes `path`'s directory and checks that the file can be written, before any frame is done. */
async function checkWritable(path: string, shown: string): Promise<void> {
  try {
    const dir = dirname(path);
    if (dir !== "" && dir !== ".") await Deno.mkdir(dir, { recursive: true });
    (await Deno.open(path, { write: true, create: true, truncate: true })).close();
  } catch (err) {
    throw new InvalidInputError(`${shown}: cannot write the video: ${errorLine(err)}`);
  }
}

/** Frame `index`'s time in milliseconds at `info`'s rate, to the microsecond. */
function timestampMs(index: number, info: VideoInfo): number {
  return Math.round(index * 1e6 * info.frameRate.den / info.frameRate.num) / 1000;
}

/** What a finished run did. */
interface VideoRunResult {
  readonly frames: number;
  readonly seconds: number;
  readonly interrupted: boolean;
}

/** Runs the frames of the video through `detector`, writing the JSONL and the video. */
async function processVideo(
  options: VideoCliOptions,
  paths: { input: string; out?: string; jsonl?: string },
  info: VideoInfo,
  codec: string | undefined,
  detector: PoseDetector,
  io: VideoCliIo,
): Promise<VideoRunResult> {
  const jsonl = await openJsonl(paths.jsonl, options.jsonl ?? "stdout", io.stdout);
  const stop = new AbortController();
  const unsubscribe = io.onInterrupt?.(() => stop.abort()) ?? (() => {});
  const decoder = startDecoder(paths.input, info, options.input);
  let encoder: VideoEncoder | undefined;
  const started = performance.now();
  try {
    if (paths.out !== undefined && codec !== undefined) {
      encoder = startEncoder(paths.out, info, info.frameRate, codec, options.out!);
    }
    const limit = options.frames ?? Infinity;
    const total = info.frameCount === undefined ? undefined : Math.min(info.frameCount, limit);
    const progress = frameProgress(io.progressLine ?? NO_PROGRESS, total);
    let read = 0;
    const config: EstimationConfig = options.maxPoses === undefined
      ? {}
      : { maxPoses: options.maxPoses };
    const { width, height } = info;
    const colorsFor = createTrackColoring();
    let done = 0;
    let stopped = true;
    try {
      ({ stopped } = await runFramePipeline<Uint8Array, DetectedPose[]>({
        read: () => read++ < limit ? decoder.read() : Promise.resolve(undefined),
        start: (frame, i) =>
          detector.estimatePoses({ data: frame, width, height }, config, timestampMs(i, info)),
        finish: async (frame, poses, i) => {
          await jsonl.write(jsonlLine(jsonlRecord(i, timestampMs(i, info), poses)));
          if (encoder) {
            const drawn = drawPoses({ data: frame, width, height }, poses.map(poseFromDetected), {
              minScore: options.minScore,
              colors: colorsFor(poses),
            });
            await encoder.write(drawn);
          }
          done = i + 1;
          progress.update(done);
        },
      }, { inFlight: options.inFlight, signal: stop.signal }));
    } catch (err) {
      // A child killed by the same Ctrl-C (a terminal signals the whole group) is no error.
      if (!stop.signal.aborted) throw err;
    }
    progress.end(done);
    await decoder.stop();
    const closing = encoder;
    encoder = undefined;
    try {
      await closing?.close();
    } catch (err) {
      if (!stop.signal.aborted) throw err;
    }
    return {
      frames: done,
      seconds: (performance.now() - started) / 1000,
      interrupted: stop.signal.aborted && stopped,
    };
  } finally {
    unsubscribe();
    await decoder.stop();
    await encoder?.close().catch(() => {});
    jsonl.close();
  }
}

/** Disposes of the detector; an error there must not hide the result or the first error. */
function disposeQuietly(detector: PoseDetector): void {
  try {
    detector.dispose();
  } catch {
    // Nothing to report it to.
  }
}

/**
 * Runs `pose video`.
 *
 * Order: parse the options, check the input file, probe it (ffprobe), pick the encoder, check
 * that `--out` can be written, load the model, then decode, estimate, write and encode every frame, and dispose of the model.
 *
 * @param args The arguments after `video`.
 * @param io Output sinks, loaders, the progress line and the Ctrl-C hook.
 * @returns The exit code: 0, 1 on an error, 2 on a usage error, 130 when interrupted.
 *
 * @example
 * ```ts
 * import { runVideoCli } from "./video.ts";
 *
 * const clip = await Deno.makeTempFile({ suffix: ".mp4" });
 * await new Deno.Command("ffmpeg", {
 *   args: ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=5:duration=1", clip],
 * }).output();
 * const lines: string[] = [];
 * const code = await runVideoCli([clip], {
 *   stdout: (text) => void lines.push(text),
 *   stderr: () => {},
 * });
 * console.log(code, lines.length); // 0 5
 * ```
 */
export async function runVideoCli(args: readonly string[], io: VideoCliIo): Promise<number> {
  try {
    const options = parseVideoArgs(args);
    if (options === "help") {
      await io.stdout(VIDEO_USAGE);
      return 0;
    }
    const fromCwd = (path: string) =>
      io.cwd === undefined || isAbsolute(path) ? path : resolve(io.cwd, path);
    const input = fromCwd(options.input);
    await checkReadable(input, options.input);
    const info = await probeVideo(input, options.input);
    const codec = options.out === undefined ? undefined : await pickEncoder();
    if (options.out !== undefined) await checkWritable(fromCwd(options.out), options.out);
    const detector = await loadPoseDetector(options.model, {
      ...(options.modelUrl === undefined
        ? {}
        : { modelUrl: modelLocation(options.modelUrl, fromCwd) }),
      ...(options.webgpu === undefined ? {} : { provider: options.webgpu }),
      ...(options.maxDimension === undefined
        ? {}
        : { multiPoseMaxDimension: options.maxDimension }),
      onProgress: io.progress ?? ((message) => void io.stderr(`${message}\n`)),
    }, io);
    let run: VideoRunResult;
    try {
      run = await processVideo(
        options,
        {
          input,
          ...(options.out === undefined ? {} : { out: fromCwd(options.out) }),
          ...(options.jsonl === undefined ? {} : { jsonl: fromCwd(options.jsonl) }),
        },
        info,
        codec,
        detector,
        io,
      );
    } finally {
      disposeQuietly(detector);
    }
    const written = [options.out, options.jsonl].filter((p) => p !== undefined).join(" and ");
    const rate = run.frames > 0 ? ` (${(run.frames / run.seconds).toFixed(1)} frames/s)` : "";
    if (run.interrupted) {
      await io.stderr(
        `pose video: interrupted after ${run.frames} frames` +
          `${written === "" ? "" : `; ${written} hold them`}\n`,
      );
      return INTERRUPTED_EXIT_CODE;
    }
    await io.stderr(
      `pose video: ${run.frames} frames in ${run.seconds.toFixed(1)} s${rate}` +
        `${written === "" ? "" : `; wrote ${written}`}\n`,
    );
    return 0;
  } catch (err) {
    try {
      await io.stderr(`pose video: ${errorLine(err)}\n`);
    } catch {
      // Nowhere left to report to.
    }
    return err instanceof UsageError ? 2 : 1;
  }
}
