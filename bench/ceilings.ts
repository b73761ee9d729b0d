/**
 * The adapter's measured ceilings, so kernel figures can be read as a share of what this GPU can
 * do: an FMA throughput kernel (GFLOP/s) and a vec4 copy kernel (GB/s).
 *
 * @module
 */

import { computePipeline } from "../kernels/compute_kernel.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import type { WebGpuProvider } from "../runtime/webgpu_provider.ts";
import { type GpuTimer, summarize, type Summary, type TimingMethod } from "./gpu_timer.ts";

/** Measured ceilings of one provider's adapter. */
export interface Ceilings {
  /** The WebGPU provider they were measured on. */
  readonly provider: WebGpuProvider;
  /** Median empty round trip, ms: submit a 4-byte copy, `mapAsync` its destination, unmap. */
  readonly roundTripMs: number;
  /** The raw round-trip timings. */
  readonly roundTrip: Summary;
  /** How the FMA and copy kernels were timed. */
  readonly timing: TimingMethod;
  /** FMA throughput, GFLOP/s (median run). */
  readonly gflops: number;
  /** Copy bandwidth, GB/s (bytes read + bytes written, median run). */
  readonly gbps: number;
  /** The raw timings. */
  readonly fmaMs: Summary;
  /** The raw timings. */
  readonly copyMs: Summary;
}

const FMA_ITERATIONS = 256;
const FMA_CHAINS = 8;
const FMA_WORKGROUPS = 512;

// Eight independent vec4 FMA chains per invocation, so a deep pipeline can overlap them; the
// result is stored so the compiler cannot drop the loop.
const fmaShader = `
@group(0) @binding(0) var<storage, read_write> sink: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let seed = f32(gid.x) * 1e-7;
  let b = vec4<f32>(0.9999, 0.9998, 0.9997, 0.9996);
  let c = vec4<f32>(seed);
${
  Array.from({ length: FMA_CHAINS }, (_, i) => `  var a${i} = vec4<f32>(seed + ${i}.0);`).join("\n")
}
  for (var i = 0u; i < ${FMA_ITERATIONS}u; i++) {
${Array.from({ length: FMA_CHAINS }, (_, i) => `    a${i} = fma(a${i}, b, c);`).join("\n")}
  }
  sink[gid.x] = ${Array.from({ length: FMA_CHAINS }, (_, i) => `a${i}`).join(" + ")};
}`;

// Each invocation copies COPY_PER_INVOCATION consecutive vec4s, so the per-invocation index
// arithmetic does not dominate (on llvmpipe a one-vec4-per-invocation copy is slower than some of
// the depthwise kernels).
const COPY_PER_INVOCATION = 8;
const copyShader = `
@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let first = (gid.x + gid.y * groups.x * 64u) * ${COPY_PER_INVOCATION}u;
  if (first >= arrayLength(&src)) { return; }
${
  Array.from({ length: COPY_PER_INVOCATION }, (_, i) =>
    `  dst[first + ${i}u] = src[first + ${i}u];`).join("\n")
}
}`;

/**
 * The empty round trip a frame pays at least once: submit a command buffer that copies 4 bytes,
 * `mapAsync` the destination, read it, unmap.
 *
 * @param gpu The device context.
 * @param runs Round trips timed (after 3 untimed ones).
 * @returns Milliseconds per round trip.
 */
export async function measureRoundTrip(gpu: GpuContext, runs: number): Promise<number[]> {
  const device = gpu.device;
  const src = device.createBuffer({ size: 4, usage: GPUBufferUsage.COPY_SRC });
  const dst = device.createBuffer({
    size: 4,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const times: number[] = [];
    for (let i = 0; i < runs + 3; i++) {
      const t0 = performance.now();
      const encoder = device.createCommandEncoder();
      encoder.copyBufferToBuffer(src, 0, dst, 0, 4);
      device.queue.submit([encoder.finish()]);
      await gpu.guard(dst.mapAsync(GPUMapMode.READ));
      new Uint32Array(dst.getMappedRange()).at(0);
      dst.unmap();
      if (i >= 3) times.push(performance.now() - t0);
    }
    return times;
  } finally {
    src.destroy();
    dst.destroy();
  }
}

/**
 * Measures the round trip and the FMA and copy ceilings.
 *
 * @param gpu The device context.
 * @param timer A timer on the same device.
 * @param runs Repetitions of each.
 * @returns The ceilings.
 */
export async function measureCeilings(
  gpu: GpuContext,
  timer: GpuTimer,
  runs: number,
): Promise<Ceilings> {
  const device = gpu.device;
  const fma = await computePipeline(gpu, fmaShader, "ceiling fma");
  const sink = device.createBuffer({
    size: FMA_WORKGROUPS * 64 * 16,
    usage: GPUBufferUsage.STORAGE,
  });
  const fmaGroup = device.createBindGroup({
    layout: fma.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: sink } }],
  });
  const copy = await computePipeline(gpu, copyShader, "ceiling copy");
  const bytes = 32 * 1024 * 1024;
  const src = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE });
  const dst = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE });
  const copyGroup = device.createBindGroup({
    layout: copy.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: dst } }],
  });
  const vec4s = bytes / 16;
  const groups = Math.ceil(vec4s / COPY_PER_INVOCATION / 64);
  const gx = Math.min(groups, 32768);
  try {
    await timer.time(2, (pass) => {
      pass.setPipeline(fma);
      pass.setBindGroup(0, fmaGroup);
      pass.dispatchWorkgroups(FMA_WORKGROUPS);
    });
    const fmaMs = summarize(
      await timer.time(runs, (pass) => {
        pass.setPipeline(fma);
        pass.setBindGroup(0, fmaGroup);
        pass.dispatchWorkgroups(FMA_WORKGROUPS);
      }),
    );
    const copyMs = summarize(
      await timer.time(runs, (pass) => {
        pass.setPipeline(copy);
        pass.setBindGroup(0, copyGroup);
        pass.dispatchWorkgroups(gx, Math.ceil(groups / gx));
      }),
    );
    const flops = FMA_WORKGROUPS * 64 * FMA_ITERATIONS * FMA_CHAINS * 4 * 2;
    const roundTrip = summarize(await measureRoundTrip(gpu, runs));
    return {
      provider: gpu.adapter.provider,
      roundTripMs: roundTrip.median,
      roundTrip,
      timing: timer.method,
      gflops: flops / fmaMs.median / 1e6,
      gbps: (2 * bytes) / copyMs.median / 1e6,
      fmaMs,
      copyMs,
    };
  } finally {
    sink.destroy();
    src.destroy();
    dst.destroy();
  }
}
