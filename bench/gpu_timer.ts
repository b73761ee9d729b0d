/**
 * Timing GPU work: with `timestamp-query`, the GPU's own begin/end timestamps around each compute
 * pass; without it, the wall clock around submit + `onSubmittedWorkDone` (which includes Deno's
 * ~11 ms completion poll, so it is only an upper bound).
 *
 * @module
 */

import type { GpuContext } from "../kernels/gpu_context.ts";

/** How a figure was timed. */
export type TimingMethod = "timestamp-query" | "wall-clock";

/** Times passes recorded by `record`, one pass per repetition. */
export class GpuTimer {
  readonly method: TimingMethod;
  #gpu: GpuContext;
  #querySet: GPUQuerySet | undefined;
  #resolve: GPUBuffer | undefined;
  #read: GPUBuffer | undefined;
  #capacity: number;

  /**
   * @param gpu The device context.
   * @param capacity Most passes timed in one call.
   */
  constructor(gpu: GpuContext, capacity = 64) {
    this.#gpu = gpu;
    this.#capacity = capacity;
    this.method = gpu.hasTimestampQuery ? "timestamp-query" : "wall-clock";
    if (gpu.hasTimestampQuery) {
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
   * Records `repetitions` passes, each filled by `record`, submits them in one command buffer and
   * returns each pass's duration in milliseconds.
   *
   * @param repetitions Passes to time (≤ capacity).
   * @param record Fills one pass.
   * @returns Milliseconds per pass.
   */
  async time(
    repetitions: number,
    record: (pass: GPUComputePassEncoder) => void,
  ): Promise<number[]> {
    const device = this.#gpu.device;
    if (!this.#querySet) {
      const out: number[] = [];
      for (let r = 0; r < repetitions; r++) {
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        record(pass);
        pass.end();
        const t0 = performance.now();
        device.queue.submit([encoder.finish()]);
        await this.#gpu.guard(device.queue.onSubmittedWorkDone());
        out.push(performance.now() - t0);
      }
      return out;
    }
    const n = Math.min(repetitions, this.#capacity);
    const encoder = device.createCommandEncoder();
    for (let r = 0; r < n; r++) {
      const pass = encoder.beginComputePass({
        timestampWrites: {
          querySet: this.#querySet,
          beginningOfPassWriteIndex: 2 * r,
          endOfPassWriteIndex: 2 * r + 1,
        },
      });
      record(pass);
      pass.end();
    }
    encoder.resolveQuerySet(this.#querySet, 0, 2 * n, this.#resolve!, 0);
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
