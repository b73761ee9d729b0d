/**
 * The pointwise register tile swept: for each P-pixel × C-slot tile, the generator's shader on
 * random data, its compile time (pipeline creation + first dispatch: llvmpipe compiles at first
 * use) and its run time, in rounds interleaved over the tiles, next to the load-cost model of
 * bench/NOTES.md optimisation 10: a step over one input vec4 makes P + 4C storage loads and 32·P·C
 * FLOPs, which on llvmpipe do not overlap, so GFLOP/s = 32PC / ((P + 4C) / L + 32PC / F) with L =
 * 0.8 G vec4 loads/s (bench/load_costs.ts) and F = 77 GFLOP/s (the FMA ceiling of a quiet run).
 * Tiles beyond the kernel's limits (`tilePixels` ≤ 16) are allowed here: this times the WGSL
 * generator directly. Run with `MESA_SHADER_CACHE_DISABLE=true`, or Mesa's disk cache answers the
 * compile of any shader seen before; respect /tmp/BENCH_RUNNING.
 *
 * ```sh
 * MESA_SHADER_CACHE_DISABLE=true deno run -A bench/tile_sweep.ts [--webgpu deno,dawn] \
 *   [--tiles 8x4,12x4,16x4,24x4,32x4,8x8,16x8] [--shapes 289x384x384,1089x384x384] [--rounds 4]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { resolveWebGpuProvider } from "../runtime/webgpu_provider.ts";
import { pointwiseConvInvocations, pointwiseConvShader } from "../shaders/pointwise_conv.ts";
import { WORKGROUP_SIZE } from "../shaders/wgsl_common.ts";
import { channelSlots } from "../runtime/layout.ts";
import { GpuTimer, summarize } from "./gpu_timer.ts";
import { fmt, table } from "./_format.ts";
import { noteShaderCache, parseDimensionList } from "./_shape_args.ts";
import { mulberry32, uniform } from "../tests/support/random.ts";

/** G vec4 storage loads per second (bench/load_costs.ts, lane-divergent, both providers). */
const LOADS_PER_NS = 0.8;
/** GFLOP/s of the FMA ceiling on a quiet machine (bench/ceilings.ts). */
const FLOPS_PER_NS = 77;

/** The model's GFLOP/s for a P-pixel × C-slot tile. */
function modelGflops(pixels: number, slots: number): number {
  const flops = 32 * pixels * slots;
  return flops / ((pixels + 4 * slots) / LOADS_PER_NS + flops / FLOPS_PER_NS);
}

interface Built {
  readonly tile: string;
  readonly shape: string;
  readonly compileMs: number;
  readonly flops: number;
  readonly record: (pass: GPUComputePassEncoder) => void;
  readonly ms: number[];
}

async function sweep(
  providerName: string,
  tiles: number[][],
  shapes: number[][],
  rounds: number,
): Promise<void> {
  const gpu = await createGpuContext({ provider: resolveWebGpuProvider(providerName) });
  const timer = new GpuTimer(gpu);
  const device = gpu.device;
  const rng = mulberry32(0x7153);
  const buffers: GPUBuffer[] = [];
  const storage = (data: Float32Array<ArrayBuffer> | number) => {
    const size = typeof data === "number" ? data : data.byteLength;
    const buffer = device.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    if (typeof data !== "number") device.queue.writeBuffer(buffer, 0, data);
    buffers.push(buffer);
    return buffer;
  };
  const built: Built[] = [];
  try {
    for (const [pixels, inChannels, outChannels] of shapes) {
      const inSlots = channelSlots(inChannels);
      const outSlots = channelSlots(outChannels);
      const bindings = [
        storage(uniform(rng, pixels * inSlots * 4)),
        storage(uniform(rng, inSlots * 4 * outSlots * 4)),
        storage(uniform(rng, outSlots * 4)),
        storage(pixels * outSlots * 16),
      ];
      for (const [tilePixels, tileSlots] of tiles) {
        const params = {
          pixels,
          inSlots,
          outSlots,
          activation: "relu6" as const,
          tilePixels,
          tileSlots: Math.min(tileSlots, outSlots),
        };
        const groups = Math.ceil(pointwiseConvInvocations(params) / WORKGROUP_SIZE);
        const start = performance.now();
        const module = device.createShaderModule({ code: pointwiseConvShader(params) });
        const pipeline = device.createComputePipeline({
          layout: "auto",
          compute: { module, entryPoint: "main" },
        });
        const bindGroup = device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: bindings.map((buffer, binding) => ({ binding, resource: { buffer } })),
        });
        const record = (pass: GPUComputePassEncoder) => {
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, bindGroup);
          pass.dispatchWorkgroups(groups);
        };
        await timer.time(1, record);
        built.push({
          tile: `${tilePixels}x${tileSlots}`,
          shape: `${pixels} px ${inChannels}→${outChannels}`,
          compileMs: performance.now() - start,
          flops: 2 * pixels * inSlots * 4 * outSlots * 4,
          record,
          ms: [],
        });
      }
    }
    for (let round = 0; round < rounds; round++) {
      for (const b of built) b.ms.push(summarize(await timer.time(5, b.record)).median);
    }
    console.log(`\n${gpu.adapter.provider} (${timer.method}), ${rounds} rounds of 5 samples`);
    const rows = built.map((b) => {
      const base = built.find((x) => x.shape === b.shape)!;
      const ratios = b.ms.map((ms, i) => ms / base.ms[i]).sort((x, y) => x - y);
      const ms = summarize(b.ms).median;
      const [p, c] = b.tile.split("x").map(Number);
      return [
        b.shape,
        b.tile,
        fmt(b.compileMs, 0),
        fmt(ms, 3),
        fmt(b.flops / ms / 1e6),
        fmt(modelGflops(p, c)),
        fmt(summarize(ratios).median, 2),
        `${fmt(ratios[0], 2)}–${fmt(ratios.at(-1)!, 2)}`,
      ];
    });
    const header = ["shape", "P×C", "compile ms", "ms", "GFLOP/s", "model GFLOP/s"];
    console.log(table([...header, "vs first tile", "by round"], rows));
  } finally {
    for (const buffer of buffers) buffer.destroy();
    timer.dispose();
    gpu.destroy();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      webgpu: { type: "string", default: "deno,dawn" },
      tiles: { type: "string", default: "8x4,12x4,16x4,24x4,32x4,8x8,16x8" },
      shapes: { type: "string", default: "289x384x384,1089x384x384" },
      rounds: { type: "string", default: "4" },
    },
  });
  noteShaderCache();
  const tiles = parseDimensionList(values.tiles, "PxC", "--tiles");
  const shapes = parseDimensionList(values.shapes, "PIXELSxCINxCOUT", "--shapes");
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds must be ≥ 1");
  for (const provider of values.webgpu.split(",")) await sweep(provider, tiles, shapes, rounds);
}

if (import.meta.main) await main();
