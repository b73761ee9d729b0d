/**
 * Shared pieces of the `reliability_*_test.ts` suites: the cached default weights, the six
 * fixture photos, synthetic images, a timeout for every await that could hang, a GPU context that
 * counts the buffers made on it, and one with a smaller binding limit.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readImageFile } from "../cli/read_image.ts";
import type { Pose } from "../decode/keypoints.ts";
import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import type { PoseImage } from "../runtime/pose_image.ts";
import { loadTfjsGraphModel } from "../models/tfjs_graph_model.ts";
import type { PoseNetWeights } from "../models/posenet_weights.ts";
import { mulberry32 } from "./support/random.ts";

let weightsPromise: Promise<PoseNetWeights> | undefined;

/** The default PoseNet weights (downloaded once into the cache, then read from it). */
export function defaultWeights(): Promise<PoseNetWeights> {
  return weightsPromise ??= (async () => loadTfjsGraphModel(await fetchDefaultWeights()))();
}

/** The six fixture photos, in a fixed order. */
export const PHOTOS = [
  "single_portrait.jpg",
  "single_green_dress_crop.jpg",
  "single_uniform_crop.png",
  "group3_couch.jpg",
  "group4_standing.jpg",
  "group5_stairs.jpg",
] as const;

/** Decodes the fixture photos (RGBA). */
export async function readPhotos(): Promise<(PoseImage & { name: string })[]> {
  return await Promise.all(PHOTOS.map(async (name) => ({
    name,
    ...(await readImageFile(new URL(`fixtures/photos/${name}`, import.meta.url).pathname)),
  })));
}

/** A `width × height` image filled with one byte value (alpha too). */
export function solidImage(width: number, height: number, value: number, channels = 4): PoseImage {
  return { data: new Uint8Array(width * height * channels).fill(value), width, height };
}

/** A `width × height` image of seeded uniform noise. */
export function noiseImage(width: number, height: number, seed: number, channels = 4): PoseImage {
  const rng = mulberry32(seed);
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng() * 256);
  return { data, width, height };
}

/**
 * Rejects when `promise` has not settled after `seconds`, naming `what`: no test here may hang on
 * the GPU.
 */
export function within<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: hung for ${seconds} s`)), seconds * 1000);
    }),
  ]);
}

/** Asserts that every number of the poses is finite and every score in [0, 1]. */
export function assertFinitePoses(poses: readonly Pose[], what: string): void {
  for (const [p, pose] of poses.entries()) {
    assert.equal(pose.keypoints.length, 17, `${what}: pose ${p} has 17 keypoints`);
    const numbers: [string, number][] = [
      ["score", pose.score],
      ...pose.keypoints.flatMap((k): [string, number][] => [
        [`${k.part}.score`, k.score],
        [`${k.part}.x`, k.position.x],
        [`${k.part}.y`, k.position.y],
      ]),
    ];
    for (const [name, value] of numbers) {
      assert.ok(Number.isFinite(value), `${what}: pose ${p} ${name} is ${value}`);
    }
    for (const [name, value] of numbers) {
      if (name.endsWith("score")) {
        assert.ok(value >= 0 && value <= 1, `${what}: pose ${p} ${name} = ${value}`);
      }
    }
  }
}

/** A GPU context whose device counts the buffers made on it that are not destroyed yet. */
export interface CountingContext {
  /** The context (a real one; its device's `createBuffer` is wrapped). */
  readonly gpu: GpuContext;
  /** Buffers made and not yet destroyed. */
  readonly live: Set<GPUBuffer>;
  /** Buffers made in all. */
  readonly created: () => number;
}

/**
 * Makes a GPU context and wraps its device's `createBuffer` so every buffer made on it is tracked
 * until its `destroy()` is called: an independent count of what a model holds.
 */
export async function countingContext(): Promise<CountingContext> {
  const gpu = await createGpuContext();
  const live = new Set<GPUBuffer>();
  let created = 0;
  const device = gpu.device;
  const createBuffer = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
    created++;
    return trackLive(live, createBuffer(descriptor));
  };
  return { gpu, live, created: () => created };
}

/**
 * Adds `buffer` to `live` until its `destroy()` is called, and returns it.
 *
 * @param live The set of buffers made and not destroyed.
 * @param buffer A buffer just made.
 * @returns `buffer`.
 */
export function trackLive(live: Set<GPUBuffer>, buffer: GPUBuffer): GPUBuffer {
  live.add(buffer);
  const destroy = buffer.destroy.bind(buffer);
  buffer.destroy = () => {
    live.delete(buffer);
    destroy();
  };
  return buffer;
}

/**
 * A view of `gpu` that reports a smaller `maxStorageBufferBindingSize` (and `maxBufferSize`), to
 * reach the "too large for the device" paths on any adapter.
 */
export function limitedContext(gpu: GpuContext, maxBytes: number): GpuContext {
  return {
    device: gpu.device,
    adapter: gpu.adapter,
    hasTimestampQuery: gpu.hasTimestampQuery,
    maxStorageBufferBindingSize: maxBytes,
    maxBufferSize: Math.min(maxBytes, gpu.maxBufferSize),
    maxWorkgroupsPerDimension: gpu.maxWorkgroupsPerDimension,
    get lostReason() {
      return gpu.lostReason;
    },
    assertAlive: () => gpu.assertAlive(),
    guard: (promise) => gpu.guard(promise),
    destroy: () => gpu.destroy(),
  };
}
