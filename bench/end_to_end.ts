/**
 * End-to-end figures: image bytes on the CPU → 17 keypoints on the CPU, for this runtime and its
 * peers, measured interleaved (A B A B …) in the same process so they share the machine's state.
 *
 * @module
 */

import type { Pose } from "../decode/keypoints.ts";
import type { PoseImage } from "../runtime/pose_image.ts";
import type { WebGpuProvider } from "../runtime/webgpu_provider.ts";
import { summarize, type Summary } from "./gpu_timer.ts";

/** Anything that turns an image into a single pose. */
export interface Engine {
  /** `this`, `ort-wasm-1t`, `ort-wasm-2t`, `ort-webgpu`, `tfjs-webgpu` or `tfjs-wasm`. */
  readonly name: string;
  /** Versions, backend, threads. */
  readonly description: string;
  /** The WebGPU provider it runs on; `null` for an engine that runs on the CPU alone. */
  readonly provider: WebGpuProvider | null;
  /** One frame. */
  estimateSinglePose(image: PoseImage): Promise<Pose>;
  /** Frees the engine. */
  dispose(): Promise<void> | void;
}

/** One engine's figures at one resolution and mode. */
export interface EndToEndFigure {
  /** Engine name. */
  readonly engine: string;
  /** The WebGPU provider the engine ran on; `null` for a CPU engine (the wasm peers). */
  readonly provider: WebGpuProvider | null;
  /** Input resolution. */
  readonly resolution: number;
  /** `latency`: one frame at a time; `throughput`: several frames in flight. */
  readonly mode: "latency" | "throughput";
  /** Median milliseconds per frame (for throughput: wall time of a batch / frames). */
  readonly medianMs: number;
  /** Frames per second at the median. */
  readonly framesPerSecond: number;
  /** The raw per-frame milliseconds. */
  readonly ms: Summary;
  /** Frames in flight (1 for latency). */
  readonly inFlight: number;
  /** Warm-up frames run before measuring. */
  readonly warmup: number;
}

/**
 * Runs an engine until its frame time settles: at least `min` frames, then until the median of the
 * last three is within 5 % of the three before, at most `max` frames.
 *
 * @param engine The engine.
 * @param image The frame.
 * @param min Fewest warm-up frames.
 * @param max Most warm-up frames.
 * @returns Frames run.
 */
export async function warmUp(
  engine: Engine,
  image: PoseImage,
  min: number,
  max: number,
): Promise<number> {
  const times: number[] = [];
  while (times.length < max) {
    const t0 = performance.now();
    await engine.estimateSinglePose(image);
    times.push(performance.now() - t0);
    if (times.length >= Math.max(min, 6)) {
      const last = summarize(times.slice(-3)).median;
      const before = summarize(times.slice(-6, -3)).median;
      if (Math.abs(last - before) <= 0.05 * before) break;
    }
  }
  return times.length;
}

/**
 * Latency of several engines measured interleaved: each round runs one frame on each engine in
 * turn, so drifts in machine load hit all engines alike.
 *
 * @param engines The engines (already warmed up).
 * @param image The frame.
 * @param rounds Frames per engine.
 * @returns Milliseconds per frame per engine.
 */
export async function interleavedLatency(
  engines: readonly Engine[],
  image: PoseImage,
  rounds: number,
): Promise<Map<Engine, number[]>> {
  const times = new Map<Engine, number[]>(engines.map((e) => [e, []]));
  for (let r = 0; r < rounds; r++) {
    for (const engine of engines) {
      const t0 = performance.now();
      await engine.estimateSinglePose(image);
      times.get(engine)!.push(performance.now() - t0);
    }
  }
  return times;
}

/**
 * Throughput with `inFlight` frames in flight: `batches` times, start `frames` frames keeping at
 * most `inFlight` outstanding, and record wall time / frames.
 *
 * @param engine The engine.
 * @param image The frame.
 * @param inFlight Frames outstanding at once.
 * @param frames Frames per batch.
 * @param batches Batches.
 * @returns Milliseconds per frame of each batch.
 */
export async function throughput(
  engine: Engine,
  image: PoseImage,
  inFlight: number,
  frames: number,
  batches: number,
): Promise<number[]> {
  const perFrame: number[] = [];
  for (let b = 0; b < batches; b++) {
    let started = 0;
    const t0 = performance.now();
    const lane = async () => {
      while (started < frames) {
        started++;
        await engine.estimateSinglePose(image);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    perFrame.push((performance.now() - t0) / frames);
  }
  return perFrame;
}

/**
 * Packs raw timings into a figure.
 *
 * @param engine The engine.
 * @param resolution Input size.
 * @param mode Latency or throughput.
 * @param perFrameMs Milliseconds per frame samples.
 * @param inFlight Frames in flight.
 * @param warmup Warm-up frames.
 * @returns The figure.
 */
export function endToEndFigure(
  engine: Pick<Engine, "name" | "provider">,
  resolution: number,
  mode: "latency" | "throughput",
  perFrameMs: number[],
  inFlight: number,
  warmup: number,
): EndToEndFigure {
  const ms = summarize(perFrameMs);
  return {
    engine: engine.name,
    provider: engine.provider,
    resolution,
    mode,
    medianMs: ms.median,
    framesPerSecond: 1000 / ms.median,
    ms,
    inFlight,
    warmup,
  };
}
