/**
 * The fused depthwise + pointwise block (kernels/fused_block.ts) against the two kernels it
 * replaces, on random weights: A = fused, B = depthwise (4 × 4 tile) then pointwise (default 8 px
 * × 16 ch), C = depthwise then pointwise `px16` (16 px × 16 ch). Timed in rounds, the order of A,
 * B, C rotating each round, on each WebGPU provider (`timestamp-query` on Deno, `cpu-batched` on
 * Dawn); prints medians, the ratios of the medians and the range of the per-round ratio. Also the
 * compile time of each pipeline: building the kernel (pipeline creation) and its first dispatch
 * (llvmpipe compiles at first use). `--fused` lists fused tilings to time side by side (each
 * against the same B and C). Run with `MESA_SHADER_CACHE_DISABLE=true`, or Mesa's disk
 * cache answers for shaders seen before. Respect /tmp/BENCH_RUNNING.
 *
 * ```sh
 * MESA_SHADER_CACHE_DISABLE=true deno run -A bench/fused_block_bench.ts [--webgpu deno,dawn] \
 *   [--shapes 17x17x384x384,33x33x384x384,65x65x96x96] [--rounds 7] \
 *   [--fused default,tileSlots=6,tilePixels=8:chunkSlots=8]
 * ```
 *
 * Prediction, written before the first measurement (load counts per dispatch, from the kernels'
 * code; storage load = 1 unit, workgroup load = 1/1.5, store = 1; out/loads.ts, not kept):
 *
 * | shape          | depthwise | pw default | pw px16 | fused: storage / wg loads, wg stores, barriers/wg | B units | C units | A units | A/B  | A/C  |
 * | -------------- | --------- | ---------- | ------- | ------------------------------------------------- | ------- | ------- | ------- | ---- | ---- |
 * | 17x17 384→384  | 0.11 M    | 2.05 M     | 1.40 M  | 0.94 M / 0.98 M, 31 K, 12                          | 2.22 M  | 1.57 M  | 1.64 M  | 0.74 | 1.05 |
 * | 33x33 384→384  | 0.36 M    | 7.59 M     | 5.09 M  | 3.21 M / 3.44 M, 108 K, 12                         | 8.16 M  | 5.66 M  | 5.68 M  | 0.70 | 1.00 |
 * | 65x65 96→96    | 0.32 M    | 1.84 M     | 1.23 M  | 1.20 M / 0.84 M, 104 K, 6                          | 2.36 M  | 1.75 M  | 1.93 M  | 0.81 | 1.10 |
 *
 * The fused kernel's weight loads per FMA are px16's (both 16 pixels per tile: 4N/16 storage loads
 * per pixel and input slot); what it saves is the pointwise input loads (storage → workgroup
 * memory) and the depthwise store, and what it adds is its depthwise (6–7 storage loads per
 * output instead of 2.9: a 32-pixel raster strip is one row thick and its runs of 8 pixels wrap
 * rows), the workgroup stores, 2 barriers per chunk and tail waste (17x17: 320 pixels computed for
 * 289, px16 304). So: A ≈ 0.70–0.75 of B and 1.0–1.05 of C at 17x17 and 33x33, A slower than C at
 * 65x65 96→96 (there the depthwise is a larger share and the saved input loads a smaller one).
 * Compile time: A has 48 accumulators (B's pointwise 32, C's 64) and a depthwise: between B and C.
 *
 * Result, 2026-12-01 (`--fused default,tileSlots=6`, 7 rounds, both providers; another engineer's
 * test suite was running, so absolute times are ~2× a quiet machine's, ratios are what count):
 * the fused kernel is slower. A/B: 1.18 / 1.21 (17x17, Deno / Dawn), 1.12 / 1.12 (33x33), 1.39 /
 * 1.38 (65x65 96→96); A/C: 1.40 / 1.50, 1.39 / 1.49, 1.70 / 1.70; per-round ranges within ±0.1 of
 * these except at 65x65 (0.7–2.7, bursts of load). With `tileSlots=6` (96 accumulators, 64 pixels
 * per workgroup): A/B 0.99 / 1.04, 0.97 / 1.00, 1.28 / 1.30; A/C 1.18 / 1.29, 1.21 / 1.32, 1.57 /
 * 1.59. Compile (create + first dispatch, cache off): fused 1.3–1.7 s (`tileSlots=6` 2.6–3.1 s)
 * against 0.59–0.67 s for B's two kernels and 0.87–1.05 s for C's.
 *
 * Why the prediction was wrong (33x33, Deno, string-mutated copies of the fused WGSL timed side by
 * side, out/fused_exp.ts, not kept): the fused kernel took 28.9 ms, 22.0 ms with its barriers
 * removed; its pointwise part alone 25.8 ms, 18.9 ms without barriers (C's pointwise ≈ 19.3 ms, B's
 * ≈ 24.6 ms); its depthwise part alone 5.9 ms, 4.5 ms without barriers (the depthwise kernel: 1.6
 * ms). So (1) the load model held for the pointwise part (same weight loads per FMA as px16, same
 * time), but (2) barriers were not free: llvmpipe runs every compute shader as LLVM coroutines, one
 * per 8-lane block, and a barrier is a suspend point (lp_state_cs.c `generate_compute`); the
 * register tile is live across every suspend; removing the barriers (same loads, wrong results)
 * took 24 % off the whole kernel (28 % at 17x17) and 27 % off its pointwise part; and (3) the depthwise part cost 2.8× the depthwise
 * kernel where its loads were 1.7–2.2× (its wrap windows, 72 selects per item and the item loop
 * come on top). More pixels per tile lower the barrier cost per FMA (`tileSlots=6`: 0.85–0.88 of
 * the default fused time) but compile more slowly, and still lose to C.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import { resolveWebGpuProvider } from "../runtime/webgpu_provider.ts";
import { createFusedBlockKernel, type FusedBlockSpec } from "../kernels/fused_block.ts";
import { createDepthwiseConvKernel } from "../kernels/depthwise_conv.ts";
import { createPointwiseConvKernel } from "../kernels/pointwise_conv.ts";
import { variantTiling } from "../kernels/kernel_variants.ts";
import type { GpuKernel } from "../kernels/compute_kernel.ts";
import { packedByteLength } from "../runtime/layout.ts";
import { GpuTimer, summarize } from "./gpu_timer.ts";
import { noteShaderCache, parseDimensionList } from "./_shape_args.ts";
import { mulberry32, uniform } from "../tests/support/random.ts";

const TILE_KEYS = ["tilePixels", "tileSlots", "chunkSlots", "runPixels"] as const;

/** `default` or `tileSlots=6:chunkSlots=8`: a fused kernel's tiles, unnamed ones at their default. */
function parseTiles(text: string): Partial<FusedBlockSpec> {
  if (text === "default") return {};
  const tiles: Record<string, number> = {};
  for (const pair of text.split(":")) {
    const [key, value] = pair.split("=");
    if (!(TILE_KEYS as readonly string[]).includes(key) || !(Number(value) >= 1)) {
      throw new Error(`--fused: ${pair} is not one of ${TILE_KEYS.join(", ")} = a number`);
    }
    tiles[key] = Number(value);
  }
  return tiles;
}

function tilesName(tiles: Partial<FusedBlockSpec>): string {
  const set = TILE_KEYS.filter((k) => tiles[k] !== undefined).map((k) => `${k}=${tiles[k]}`);
  return set.length ? set.join(":") : "default";
}

/** Milliseconds of `build()` and of the built kernel's first dispatch, submitted alone. */
async function compileTimed(
  gpu: GpuContext,
  build: () => Promise<GpuKernel>,
  bind: (kernel: GpuKernel) => GPUBindGroup,
): Promise<{ kernel: GpuKernel; group: GPUBindGroup; createMs: number; firstMs: number }> {
  const t0 = performance.now();
  const kernel = await build();
  const t1 = performance.now();
  const group = bind(kernel);
  const encoder = gpu.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  kernel.dispatch(pass, group);
  pass.end();
  gpu.device.queue.submit([encoder.finish()]);
  await gpu.guard(gpu.device.queue.onSubmittedWorkDone());
  return { kernel, group, createMs: t1 - t0, firstMs: performance.now() - t1 };
}

async function benchShape(
  gpu: GpuContext,
  provider: string,
  timer: GpuTimer,
  [h, w, cin, cout]: number[],
  rounds: number,
  fusedTiles: Partial<FusedBlockSpec>[],
  compileRows: string[],
): Promise<string[]> {
  const shape = `${h}x${w} ${cin}→${cout}`;
  const buffers: GPUBuffer[] = [];
  const storage = (bytes: number) => {
    const b = gpu.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    buffers.push(b);
    return b;
  };
  const input = storage(packedByteLength(h, w, cin));
  const mid = storage(packedByteLength(h, w, cin));
  const output = storage(packedByteLength(h, w, cout));
  const rng = mulberry32(h * 1_000_003 + cin * 1009 + cout);
  gpu.device.queue.writeBuffer(input, 0, uniform(rng, input.size / 4));
  const dwFilter = uniform(rng, 9 * cin);
  const dwBias = uniform(rng, cin, 0, 1);
  const scale = 2 / Math.sqrt(cin);
  const pwFilter = uniform(rng, cin * cout, -scale, scale);
  const pwBias = uniform(rng, cout, 0, 2);
  const pwSpec = {
    height: h,
    width: w,
    inChannels: cin,
    outChannels: cout,
    activation: "relu6" as const,
  };
  const built: Record<string, Awaited<ReturnType<typeof compileTimed>>> = {};
  for (const tiles of fusedTiles) {
    built[`fused ${tilesName(tiles)}`] = await compileTimed(
      gpu,
      () =>
        createFusedBlockKernel(
          gpu,
          { height: h, width: w, inChannels: cin, outChannels: cout, ...tiles },
          dwFilter,
          dwBias,
          pwFilter,
          pwBias,
        ),
      (k) => k.bind(input, output),
    );
  }
  Object.assign(built, {
    depthwise: await compileTimed(
      gpu,
      () =>
        createDepthwiseConvKernel(
          gpu,
          { height: h, width: w, channels: cin, activation: "relu6" },
          dwFilter,
          dwBias,
        ),
      (k) => k.bind(input, mid),
    ),
    pointwise: await compileTimed(
      gpu,
      () => createPointwiseConvKernel(gpu, pwSpec, pwFilter, pwBias),
      (k) => k.bind(mid, output),
    ),
    px16: await compileTimed(
      gpu,
      () =>
        createPointwiseConvKernel(
          gpu,
          { ...pwSpec, ...variantTiling("pointwise", { pointwise: "px16" }) },
          pwFilter,
          pwBias,
        ),
      (k) => k.bind(mid, output),
    ),
  });
  for (const [what, b] of Object.entries(built)) {
    compileRows.push(
      `| ${provider} | ${shape} | ${what} | ${b.createMs.toFixed(0)} | ${b.firstMs.toFixed(0)} | ${
        (b.createMs + b.firstMs).toFixed(0)
      } |`,
    );
  }
  const run = (b: (typeof built)[string]) => (pass: GPUComputePassEncoder) =>
    b.kernel.dispatch(pass, b.group);
  const fusedNames = fusedTiles.map((t) => `fused ${tilesName(t)}`);
  const works: Record<string, (pass: GPUComputePassEncoder) => void> = {
    ...Object.fromEntries(fusedNames.map((n) => [n, run(built[n])])),
    B: (pass: GPUComputePassEncoder) => {
      run(built.depthwise)(pass);
      run(built.pointwise)(pass);
    },
    C: (pass: GPUComputePassEncoder) => {
      run(built.depthwise)(pass);
      run(built.px16)(pass);
    },
    dw: run(built.depthwise),
  };
  const names = Object.keys(works);
  const all = Object.fromEntries(names.map((n) => [n, [] as number[]]));
  const perRound = Object.fromEntries(names.map((n) => [n, [] as number[]]));
  for (const n of names) await timer.time(2, works[n]); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const n = names[(i + r) % names.length];
      const ms = await timer.time(5, works[n]);
      all[n].push(...ms);
      perRound[n].push(summarize(ms).median);
    }
  }
  const med = (n: string) => summarize(all[n]).median;
  const ratio = (x: string, y: string) => {
    const byRound = perRound[x].map((v, r) => v / perRound[y][r]);
    return `${(med(x) / med(y)).toFixed(2)} (${Math.min(...byRound).toFixed(2)}–${
      Math.max(...byRound).toFixed(2)
    })`;
  };
  for (const b of Object.values(built)) b.kernel.dispose();
  for (const b of buffers) b.destroy();
  return fusedNames.map((a) =>
    `| ${provider} | ${shape} | ${a.slice(6)} | ${med(a).toFixed(3)} | ${med("B").toFixed(3)} | ${
      med("C").toFixed(3)
    } | ${med("dw").toFixed(3)} | ${ratio(a, "B")} | ${ratio(a, "C")} | ${timer.method} |`
  );
}

async function main() {
  const { values } = parseArgs({
    options: {
      webgpu: { type: "string", default: "deno,dawn" },
      shapes: { type: "string", default: "17x17x384x384,33x33x384x384,65x65x96x96" },
      rounds: { type: "string", default: "7" },
      fused: { type: "string", default: "default" },
    },
  });
  const rounds = Number(values.rounds);
  if (!(rounds >= 1)) throw new Error(`--rounds must be a positive number, got ${values.rounds}`);
  const shapes = parseDimensionList(values.shapes, "HxWxCINxCOUT", "--shapes");
  const fusedTiles = values.fused.split(",").map(parseTiles);
  noteShaderCache();
  const timing = [
    `A = fused, B = depthwise + pointwise (default), C = depthwise + pointwise px16; ${rounds} ` +
    `rounds of 5 samples, order rotating\n`,
    "| provider | shape | fused tiles | A ms | B ms | C ms | depthwise alone ms | A/B (by round) | A/C (by round) | timing |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  const compile = [
    "| provider | shape | kernel | create ms | first dispatch ms | sum ms |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const name of values.webgpu.split(",")) {
    const provider = resolveWebGpuProvider(name);
    const gpu = await createGpuContext({ provider });
    const timer = new GpuTimer(gpu);
    try {
      for (const s of shapes) {
        timing.push(...await benchShape(gpu, provider, timer, s, rounds, fusedTiles, compile));
        console.log(timing.at(-1));
      }
    } finally {
      timer.dispose();
      gpu.destroy();
    }
  }
  console.log(
    `\n${timing.join("\n")}\n\nCompile (MESA_SHADER_CACHE_DISABLE=${
      Deno.env.get("MESA_SHADER_CACHE_DISABLE") ?? "unset"
    }):\n${compile.join("\n")}`,
  );
}

if (import.meta.main) await main();
