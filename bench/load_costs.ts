/**
 * What one vec4 load costs, by memory and access pattern: the measurement that decides where a
 * kernel should keep its operands (issue "faster kernels"). On llvmpipe, a storage-buffer load
 * whose address differs across lanes is a per-lane scalar loop; whether workgroup memory,
 * uniform buffers or lane-uniform addresses escape that is what this measures.
 *
 * Each kernel runs `LOADS` vec4 loads per invocation in a loop over an 8 KiB window (so every
 * kind of memory holds it), adds them into one accumulator and stores it, so no load can be
 * dropped. "divergent": lane i reads vec4 (i + k) mod 512; "uniform": every lane reads vec4 k. The
 * figure is G vec4 loads per second (the loop's add counts as part of a load).
 *
 * ```sh
 * deno run -A bench/load_costs.ts [--webgpu deno,dawn]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { computePipeline } from "../kernels/compute_kernel.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { resolveWebGpuProvider, type WebGpuProvider } from "../runtime/webgpu_provider.ts";
import { GpuTimer, summarize } from "./gpu_timer.ts";

const LOADS = 1024;
const WINDOW = 512; // vec4s: 8 KiB
const WORKGROUPS = 256;

type Memory = "storage" | "uniform" | "workgroup";
type Pattern = "divergent" | "uniform";

function shader(memory: Memory, pattern: Pattern): string {
  const decl = memory === "storage"
    ? "@group(0) @binding(1) var<storage, read> src: array<vec4<f32>, WINDOW>;"
    : memory === "uniform"
    ? "@group(0) @binding(1) var<uniform> src: array<vec4<f32>, WINDOW>;"
    : "@group(0) @binding(1) var<storage, read> init: array<vec4<f32>, WINDOW>;\n" +
      "var<workgroup> src: array<vec4<f32>, WINDOW>;";
  const fill = memory === "workgroup"
    ? `for (var i = lid; i < ${WINDOW}u; i += 64u) { src[i] = init[i]; }\n  workgroupBarrier();`
    : "";
  const index = pattern === "divergent" ? `(lid + k) & ${WINDOW - 1}u` : `k & ${WINDOW - 1}u`;
  return `
const WINDOW = ${WINDOW};
@group(0) @binding(0) var<storage, read_write> sink: array<vec4<f32>>;
${decl}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${fill}
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < ${LOADS}u; k++) {
    acc += src[${index}];
  }
  sink[gid.x] = acc;
}`;
}

async function measure(provider: WebGpuProvider): Promise<string[]> {
  const gpu = await createGpuContext({ provider });
  const timer = new GpuTimer(gpu);
  const device = gpu.device;
  const sink = device.createBuffer({ size: WORKGROUPS * 64 * 16, usage: GPUBufferUsage.STORAGE });
  const src = device.createBuffer({
    size: WINDOW * 16,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(src, 0, new Float32Array(WINDOW * 4).map((_, i) => i % 7));
  const rows: string[] = [];
  try {
    for (const memory of ["storage", "uniform", "workgroup"] as const) {
      for (const pattern of ["divergent", "uniform"] as const) {
        const pipeline = await computePipeline(
          gpu,
          shader(memory, pattern),
          `${memory} ${pattern}`,
        );
        const group = device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: sink } },
            { binding: 1, resource: { buffer: src } },
          ],
        });
        const record = (pass: GPUComputePassEncoder) => {
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, group);
          pass.dispatchWorkgroups(WORKGROUPS);
        };
        await timer.time(2, record);
        const ms = summarize(await timer.time(9, record)).median;
        const loads = WORKGROUPS * 64 * LOADS;
        rows.push(
          `| ${provider} | ${memory} | ${pattern} | ${ms.toFixed(3)} | ${
            (loads / ms / 1e6).toFixed(2)
          } | ${timer.method} |`,
        );
      }
    }
  } finally {
    sink.destroy();
    src.destroy();
    timer.dispose();
    gpu.destroy();
  }
  return rows;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { webgpu: { type: "string", default: "deno,dawn" } } });
  const providers = values.webgpu.split(",").map((p) => resolveWebGpuProvider(p));
  console.log("| provider | memory | address across lanes | ms | G vec4 loads/s | timing |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const provider of providers) {
    for (const row of await measure(provider)) console.log(row);
  }
}
