/**
 * Timing GPU work, two ways:
 *
 * - `timestamp-query`: the GPU's own begin/end timestamps around each compute pass (Deno's
 *   WebGPU on lavapipe has them);
 * - `cpu-batched`: for adapters without timestamps (Dawn on OpenGL): each sample is one compute
 *   pass holding the same work `k` times, submitted alone and timed on the CPU clock from submit to
 *   `onSubmittedWorkDone`; the empty submit's median time is subtracted and the rest divided by `k`.
 *   `k` is chosen per kernel so that the work in one sample is at least 20 empty round trips (and
 *   2 ms), so the round trip's jitter is small next to it. Back-to-back dispatches of one kernel
 *   run as they do in the network, one after the other with a barrier between them.
 *
 * @module
 */

import type { GpuContext } from "../runtime/gpu_context.ts";

/** How a figure was timed. */
export type TimingMethod = "timestamp-query" | "cpu-batched";

/** Most repetitions of one kernel in one `cpu-batched` sample. */
const MAX_BATCH = 64;

/** Times passes recorded by `record`, one pass per repetition. */
export class GpuTimer {
  readonly method: TimingMethod;
  #gpu: GpuContext;
  #querySet: GPUQuerySet | undefined;
  #resolve: GPUBuffer | undefined;
  #read: GPUBuffer | undefined;
  #capacity: number;
  #emptyMs: number | undefined;

  /**
   * @param gpu The device context.
   * @param capacity Most passes timed in one call.
   * @param method `timestamp-query` where the device has it, else `cpu-batched` (default); or
   *   force `cpu-batched`.
   */
  constructor(gpu: GpuContext, capacity = 64, method?: TimingMethod) {
    this.#gpu = gpu;
    this.#capacity = capacity;
    if (method === "timestamp-query" && !gpu.hasTimestampQuery) {
      throw new Error(`the ${gpu.adapter.provider} adapter has no timestamp-query`);
    }
    this.method = method ?? (gpu.hasTimestampQuery ? "timestamp-query" : "cpu-batched");
    if (this.method === "timestamp-query") {
      this.#querySet = gpu.device.createQuerySet({ type: "timestamp", count: 2 * capacity });
      this.#resolve = gpu.device.createBuffer({
        size: 16 * capacity,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
      this.#read = gpu.device.createBuffer({
        size: 16 * capacity,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
    }
  }

  /**
   * Times `repetitions` samples of the work `record` puts in a pass and returns each sample's
   * milliseconds for one `record`.
   *
   * @param repetitions Samples (≤ capacity).
   * @param record Records the work once into a pass.
   * @returns Milliseconds per `record`, one per sample.
   */
  time(repetitions: number, record: (pass: GPUComputePassEncoder) => void): Promise<number[]> {
    const n = Math.min(repetitions, this.#capacity);
    return this.#querySet ? this.#timestamps(n, record) : this.#cpuBatched(n, record);
  }

  /** The empty submit's median wall time, `cpu-batched`'s baseline (measured on first use). */
  async #emptySubmitMs(): Promise<number> {
    if (this.#emptyMs === undefined) {
      const times = [];
      for (let i = 0; i < 11; i++) times.push(await this.#submitted(() => {}, 0));
      this.#emptyMs = summarize(times).median;
    }
    return this.#emptyMs;
  }

  /** Wall milliseconds of one submit of a pass with `record` in it `k` times. */
  async #submitted(record: (pass: GPUComputePassEncoder) => void, k: number): Promise<number> {
    const device = this.#gpu.device;
    const encoder = device.createCommandEncoder();
    if (k > 0) {
      const pass = encoder.beginComputePass();
      for (let i = 0; i < k; i++) record(pass);
      pass.end();
    }
    const t0 = performance.now();
    device.queue.submit([encoder.finish()]);
    await this.#gpu.guard(device.queue.onSubmittedWorkDone());
    return performance.now() - t0;
  }

  async #cpuBatched(n: number, record: (pass: GPUComputePassEncoder) => void) {
    const empty = await this.#emptySubmitMs();
    const once = Math.max(1e-3, (await this.#submitted(record, 1)) - empty);
    const k = Math.min(MAX_BATCH, Math.max(1, Math.ceil(Math.max(20 * empty, 2) / once)));
    const out: number[] = [];
    for (let r = 0; r < n; r++) {
      out.push(Math.max(0, (await this.#submitted(record, k)) - empty) / k);
    }
    return out;
  }

  async #timestamps(n: number, record: (pass: GPUComputePassEncoder) => void) {
    const device = this.#gpu.device;
    const encoder = device.createCommandEncoder();
    for (let r = 0; r < n; r++) {
      const pass = encoder.beginComputePass({
        timestampWrites: {
          querySet: this.#querySet!,
          beginningOfPassWriteIndex: 2 * r,
          endOfPassWriteIndex: 2 * r + 1,
        },
      });
      record(pass);
      pass.end();
    }
    encoder.resolveQuerySet(this.#querySet!, 0, 2 * n, this.#resolve!, 0);
    encoder.copyBufferToBuffer(this.#resolve!, 0, this.#read!, 0, 16 * n);
    device.queue.submit([encoder.finish()]);
    await this.#gpu.guard(this.#read!.mapAsync(GPUMapMode.READ, 0, 16 * n));
    const stamps = new BigInt64Array(this.#read!.getMappedRange(0, 16 * n).slice(0));
    this.#read!.unmap();
    return Array.from({ length: n }, (_, r) => Number(stamps[2 * r + 1] - stamps[2 * r]) / 1e6);
  }

  /** Frees the query set and buffers. */
  dispose(): void {
    this.#querySet?.destroy();
    this.#resolve?.destroy();
    this.#read?.destroy();
  }
}

/** Median, min, max and count of a sample. */
export interface Summary {
  /** Median. */
  readonly median: number;
  /** Smallest. */
  readonly min: number;
  /** Largest. */
  readonly max: number;
  /** Sample size. */
  readonly runs: number;
}

/**
 * Summarises a sample.
 *
 * @param values The sample (not modified).
 * @returns Median, min, max, count.
 */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: sorted.length };
}
