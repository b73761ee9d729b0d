/**
 * The video row of the bench: frames/s of `pose video` end to end — ffmpeg decoding an H.264 clip,
 * MoveNet Lightning on the GPU, the skeleton drawn, ffmpeg encoding the annotated H.264 and the
 * JSONL written — with 1 frame in flight and with several, and, for scale, the detector alone on
 * the same frames already in memory (one at a time, as the detector runs them). The clip is made
 * by ffmpeg from a test photo (a pan and zoom over `group4_standing.jpg`, 640x480, 30 frames/s),
 * so the bench needs no download. Runs alternate between the settings, and the figure is the
 * median.
 *
 * ```sh
 * deno task bench --video-only [--quick] [--webgpu deno,dawn]   # just this row
 * ```
 *
 * In `deno task bench` (also `--quick`) this row comes after the MoveNet rows; `--no-video` skips
 * it.
 *
 * @module
 */

import { join } from "node:path";
import type { GpuContext } from "../runtime/gpu_context.ts";
import type { WebGpuProvider } from "../runtime/webgpu_provider.ts";
import { createDetector } from "../detectors/pose_detector.ts";
import type { PoseDetector } from "../detectors/detector_types.ts";
import { runVideoCli } from "../cli/video.ts";
import { fmt, table } from "./_format.ts";

/** The clip's size, rate and photo. */
const CLIP = { width: 640, height: 480, rate: 30, photo: "group4_standing.jpg" } as const;

/** One figure of the video row. */
export interface VideoFigure {
  /** The WebGPU provider. */
  readonly provider: WebGpuProvider;
  /** `"pose video"` (end to end) or `"detector alone"`. */
  readonly what: "pose video" | "detector alone";
  /** Frames in flight (the detector alone: 1). */
  readonly inFlight: number;
  /** Frames per run. */
  readonly frames: number;
  /** Median frames/s over the runs. */
  readonly framesPerSecond: number;
  /** Frames/s of every run. */
  readonly runs: readonly number[];
}

/** Options of {@linkcode benchVideo}. */
export interface VideoBenchOptions {
  /** The devices to run on, one per provider. */
  readonly providers: readonly { readonly provider: WebGpuProvider; readonly gpu: GpuContext }[];
  /** Fewer and shorter runs. */
  readonly quick: boolean;
  /** Progress lines. */
  readonly log: (message: string) => void;
  /** The settings of frames in flight compared (default 1 and 4). */
  readonly inFlight?: readonly number[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Makes the clip with ffmpeg: `frames` frames panning and zooming over the photo. */
async function makeClip(path: string, frames: number): Promise<void> {
  const photo = new URL(`../tests/fixtures/photos/${CLIP.photo}`, import.meta.url).pathname;
  const out = await new Deno.Command("ffmpeg", {
    args: [
      ...["-v", "error", "-y", "-loop", "1", "-i", photo],
      ...["-vf", `crop='1600-4*n':'1200-3*n':'2*n':'n',scale=${CLIP.width}:${CLIP.height}`],
      ...["-r", String(CLIP.rate), "-frames:v", String(frames)],
      ...["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", path],
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`ffmpeg could not make the clip: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Decodes the clip to RGBA frames in memory. */
async function decodeClip(path: string): Promise<Uint8Array[]> {
  const out = await new Deno.Command("ffmpeg", {
    args: ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const bytes = CLIP.width * CLIP.height * 4;
  return Array.from(
    { length: Math.floor(out.stdout.length / bytes) },
    (_, i) => out.stdout.subarray(i * bytes, (i + 1) * bytes),
  );
}

/** One `pose video` run on `detector` (kept alive across runs); its frames/s, wall clock. */
async function timeCli(
  detector: PoseDetector,
  clip: string,
  dir: string,
  inFlight: number,
  frames: number,
): Promise<number> {
  detector.reset();
  const shared: PoseDetector = {
    model: detector.model,
    inputResolution: detector.inputResolution,
    estimatePoses: (image, config, timestampMs) =>
      detector.estimatePoses(image, config, timestampMs),
    reset: () => detector.reset(),
    dispose: () => {},
  };
  let errors = "";
  const started = performance.now();
  const code = await runVideoCli([
    clip,
    ...["--out", join(dir, "annotated.mp4"), "--jsonl", join(dir, "poses.jsonl")],
    ...["--in-flight", String(inFlight)],
  ], {
    stdout: () => {},
    stderr: (text) => void (errors += text),
    loadDetector: () => Promise.resolve(shared),
  });
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`pose video failed: ${errors.trim()}`);
  const lines = (await Deno.readTextFile(join(dir, "poses.jsonl"))).split("\n").length - 1;
  if (lines !== frames) throw new Error(`pose video wrote ${lines} lines for ${frames} frames`);
  return frames / seconds;
}

/** The detector alone on frames in memory, one at a time, with timestamps; frames/s. */
async function timeDetector(detector: PoseDetector, frames: readonly Uint8Array[]) {
  detector.reset();
  const started = performance.now();
  for (const [i, data] of frames.entries()) {
    await detector.estimatePoses(
      { data, width: CLIP.width, height: CLIP.height },
      {},
      (i * 1000) / CLIP.rate,
    );
  }
  return frames.length / ((performance.now() - started) / 1000);
}

/**
 * Runs the video row on each provider.
 *
 * @param options Devices, run length and logging.
 * @returns The figures, and the clip in words.
 */
export async function benchVideo(
  options: VideoBenchOptions,
): Promise<{ figures: VideoFigure[]; clip: string }> {
  const frames = options.quick ? 60 : 150;
  const rounds = options.quick ? 2 : 3;
  const settings = options.inFlight ?? [1, 4];
  const dir = await Deno.makeTempDir({ prefix: "posenet_video_bench_" });
  const figures: VideoFigure[] = [];
  try {
    const clip = join(dir, "clip.mp4");
    await makeClip(clip, frames);
    const decoded = await decodeClip(clip);
    for (const { provider, gpu } of options.providers) {
      const detector = await createDetector("MoveNet", {
        modelType: "SinglePose.Lightning",
        context: gpu,
      });
      try {
        options.log(`video (${provider}): warming up`);
        await timeDetector(detector, decoded.slice(0, 10));
        const runs = new Map<string, number[]>();
        const record = (key: string, value: number) =>
          runs.set(key, [...(runs.get(key) ?? []), value]);
        for (let round = 0; round < rounds; round++) {
          options.log(`video (${provider}): round ${round + 1} of ${rounds}, ${frames} frames`);
          record("alone", await timeDetector(detector, decoded));
          for (const n of settings) {
            record(`cli ${n}`, await timeCli(detector, clip, dir, n, frames));
          }
        }
        const figure = (what: VideoFigure["what"], inFlight: number, key: string) => {
          const values = runs.get(key)!;
          figures.push({
            provider,
            what,
            inFlight,
            frames,
            framesPerSecond: median(values),
            runs: values,
          });
        };
        for (const n of settings) figure("pose video", n, `cli ${n}`);
        figure("detector alone", 1, "alone");
      } finally {
        detector.dispose();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return {
    figures,
    clip: `${frames} frames of ${CLIP.width}x${CLIP.height} H.264 at ${CLIP.rate} frames/s ` +
      `(ffmpeg pan over ${CLIP.photo}), MoveNet Lightning, annotated H.264 + JSONL out`,
  };
}

/**
 * The video row as a Markdown table.
 *
 * @param figures From {@linkcode benchVideo}.
 * @returns The table.
 */
export function videoTable(figures: readonly VideoFigure[]): string {
  return table(
    ["provider", "what", "in flight", "frames/s (median)", "runs", "vs 1 in flight"],
    figures.map((f) => {
      const one = figures.find((g) =>
        g.provider === f.provider && g.what === "pose video" && g.inFlight === 1
      );
      return [
        f.provider,
        f.what === "pose video" ? "pose video (decode + GPU + draw + encode)" : "detector alone",
        String(f.inFlight),
        fmt(f.framesPerSecond),
        f.runs.map((r) => fmt(r)).join(", "),
        one && f.what === "pose video" ? `${fmt(f.framesPerSecond / one.framesPerSecond, 2)}×` : "",
      ];
    }),
  );
}
