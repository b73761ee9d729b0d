/**
 * Video-stream soak: `deno task soak [--frames 5000] [--checkpoints 20]`. Not part of CI.
 *
 * Two models on one GPU device, at 257 and 513 (3 frames in flight each), take a stream of frames
 * whose sizes grow over the first half of the run and then keep changing, with single- and
 * multi-pose calls mixed and 3 frames in flight over both. After a warm-up that gives every frame
 * slot its largest image (see `detectors/_image_buffer.ts`) and its multi-pose buffers, it asserts at
 * every checkpoint:
 *
 * - a flat GPU buffer count and a flat GPU memory total, both counted here, independently of the
 *   runtime, by wrapping the device's `createBuffer` and each buffer's `destroy`;
 * - bounded RSS growth: at most {@linkcode RSS_SLACK_BYTES} plus {@linkcode RSS_BYTES_PER_FRAME}
 *   per frame over the warm-up figure (after a GC);
 * - finite poses.
 *
 * Prints one line per checkpoint and a summary; exits 1 when an assertion fails.
 *
 * @module
 */

import { createGpuContext } from "../runtime/gpu_context.ts";
import type { Pose } from "../decode/keypoints.ts";
import { load, type PoseNet } from "../detectors/posenet_model.ts";
import type { PoseImage } from "../runtime/pose_image.ts";
import { mulberry32 } from "../tests/support/random.ts";

/** RSS may grow by this much over the run, whatever its length (allocator and JIT settling). */
const RSS_SLACK_BYTES = 64 * 1024 * 1024;
/** And by at most this much per frame. */
const RSS_BYTES_PER_FRAME = 4 * 1024;
/** Frames in flight over both models. */
const IN_FLIGHT = 3;
/** Frame sizes, smallest to largest: the stream grows through them, then moves among them. */
const SIZES: readonly [number, number][] = [
  [160, 120],
  [240, 320],
  [320, 240],
  [480, 360],
  [360, 640],
  [640, 480],
  [800, 600],
  [720, 1280],
  [1280, 720],
];

function option(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(Deno.args[i + 1]);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`soak: --${name} needs a positive integer, got ${Deno.args[i + 1]}`);
    Deno.exit(2);
  }
  return value;
}

/** A smooth synthetic frame (gradients and a moving blob), `width × height` RGBA. */
function frame(width: number, height: number, seed: number): PoseImage {
  const data = new Uint8Array(width * height * 4);
  const cx = (seed * 37) % width;
  const cy = (seed * 53) % height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const d = Math.hypot(x - cx, y - cy) < height / 6 ? 120 : 0;
      data[i] = (x * 255 / width + d) & 255;
      data[i + 1] = (y * 255 / height) & 255;
      data[i + 2] = (seed * 17 + d) & 255;
      data[i + 3] = 255;
    }
  }
  return { data, width, height };
}

function assertFinite(poses: readonly Pose[], what: string): void {
  for (const pose of poses) {
    const ok = Number.isFinite(pose.score) && pose.keypoints.length === 17 &&
      pose.keypoints.every((k) =>
        Number.isFinite(k.score) && Number.isFinite(k.position.x) && Number.isFinite(k.position.y)
      );
    if (!ok) throw new Error(`${what}: a pose with a non-finite number or missing keypoints`);
  }
}

function rss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().rss;
}

const MB = 1024 * 1024;
const frames = option("frames", 5000);
const checkpoints = Math.min(option("checkpoints", 20), frames);

const gpu = await createGpuContext();
const device = gpu.device;
const live = new Map<GPUBuffer, number>();
const createBuffer = device.createBuffer.bind(device);
device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
  const buffer = createBuffer(descriptor);
  live.set(buffer, descriptor.size);
  const destroy = buffer.destroy.bind(buffer);
  buffer.destroy = () => {
    live.delete(buffer);
    destroy();
  };
  return buffer;
};
const gpuBytes = () => [...live.values()].reduce((a, b) => a + b, 0);

const nets: PoseNet[] = [
  await load({ inputResolution: 257, context: gpu, maxFramesInFlight: IN_FLIGHT }),
  await load({ inputResolution: 513, context: gpu, maxFramesInFlight: IN_FLIGHT }),
];
const pool = new Map<string, PoseImage>();
const image = (size: number, variant: number) => {
  const [w, h] = SIZES[size];
  const key = `${size}/${variant}`;
  if (!pool.has(key)) pool.set(key, frame(w, h, size * 7 + variant));
  return pool.get(key)!;
};

// Every frame is made before the baseline, so that the pool is not counted as growth.
for (let size = 0; size < SIZES.length; size++) for (let v = 0; v < 3; v++) image(size, v);
// Warm-up: every slot of both models gets the largest frame and its multi-pose buffers.
const largest = SIZES.length - 1;
for (const net of nets) {
  await Promise.all([0, 1, 2].map((v) => net.estimateSinglePose(image(largest, v))));
  await Promise.all([0, 1, 2].map((v) => net.estimateMultiplePoses(image(largest, v))));
}
const base = { buffers: live.size, bytes: gpuBytes(), rss: rss() };
console.log(
  `soak: ${frames} frames, 257 and 513 on one device, ${IN_FLIGHT} in flight, ` +
    `sizes ${SIZES.map(([w, h]) => `${w}x${h}`).join(" ")}`,
);
console.log(
  `warm-up: ${base.buffers} GPU buffers, ${(base.bytes / MB).toFixed(2)} MiB on the GPU, ` +
    `RSS ${(base.rss / MB).toFixed(1)} MiB`,
);

const rng = mulberry32(12);
const failures: string[] = [];
let next = 0;
let done = 0;
let singles = 0;
let multis = 0;
const start = performance.now();
const every = Math.ceil(frames / checkpoints);

function checkpoint(): void {
  const now = { buffers: live.size, bytes: gpuBytes(), rss: rss() };
  const rssLimit = base.rss + RSS_SLACK_BYTES + RSS_BYTES_PER_FRAME * done;
  console.log(
    `frame ${String(done).padStart(6)}: ${now.buffers} buffers, ` +
      `${(now.bytes / MB).toFixed(2)} MiB GPU, RSS ${(now.rss / MB).toFixed(1)} MiB ` +
      `(${(((now.rss - base.rss) / Math.max(1, done)) / 1024).toFixed(2)} KiB/frame), ` +
      `${(done / ((performance.now() - start) / 1000)).toFixed(1)} frames/s`,
  );
  if (now.buffers !== base.buffers) {
    failures.push(`frame ${done}: ${now.buffers} GPU buffers, ${base.buffers} after warm-up`);
  }
  if (now.bytes !== base.bytes) {
    failures.push(`frame ${done}: ${now.bytes} GPU bytes, ${base.bytes} after warm-up`);
  }
  if (now.rss > rssLimit) {
    failures.push(`frame ${done}: RSS ${now.rss} B > ${rssLimit} B`);
  }
}

async function worker(): Promise<void> {
  while (next < frames) {
    const i = next++;
    // Sizes grow over the first half of the run, then move among all of them.
    const grown = Math.min(largest, Math.floor((i / frames) * 2 * SIZES.length));
    const size = i < frames / 2 ? grown : Math.floor(rng() * SIZES.length);
    const net = nets[i % 4 === 3 ? 1 : 0];
    const img = image(size, i % 3);
    if (rng() < 0.5) {
      assertFinite([await net.estimateSinglePose(img, { flipHorizontal: i % 2 === 0 })], `${i}`);
      singles++;
    } else {
      assertFinite(await net.estimateMultiplePoses(img), `frame ${i}`);
      multis++;
    }
    done++;
    if (done % every === 0 || done === frames) checkpoint();
  }
}

await Promise.all(Array.from({ length: IN_FLIGHT }, () => worker()));
const end = { buffers: live.size, bytes: gpuBytes(), rss: rss() };
const seconds = (performance.now() - start) / 1000;
for (const net of nets) net.dispose();
const afterDispose = live.size;
gpu.destroy();

console.log(
  `summary: ${frames} frames (${singles} single, ${multis} multi) in ${seconds.toFixed(0)} s; ` +
    `GPU buffers ${base.buffers} → ${end.buffers}; GPU bytes ${base.bytes} → ${end.bytes}; ` +
    `RSS ${(base.rss / MB).toFixed(1)} → ${(end.rss / MB).toFixed(1)} MiB ` +
    `(${(((end.rss - base.rss) / frames) / 1024).toFixed(2)} KiB/frame); ` +
    `${afterDispose} buffers left after dispose()`,
);
if (afterDispose !== 0) failures.push(`${afterDispose} GPU buffers left after dispose()`);
if (failures.length > 0) {
  console.error(`soak FAILED:\n${failures.join("\n")}`);
  Deno.exit(1);
}
console.log("soak ok");
