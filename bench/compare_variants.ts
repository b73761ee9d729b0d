/**
 * Two kernel variants side by side, layer by layer, in one process: every distinct layer of the
 * network built once with variant set A and once with B, timed in alternating rounds (A, B, A, B,
 * …) on each WebGPU provider, so a drift in the machine's load hits both alike. Prints each
 * layer's median milliseconds, B/A, and the network's weighted total (each layer × its count).
 *
 * ```sh
 * deno run -A bench/compare_variants.ts --a pointwise=tiled --b pointwise=staged \
 *   [--webgpu deno,dawn] [--resolutions 257,513] [--rounds 5]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createGpuContext } from "../runtime/gpu_context.ts";
import {
  KERNEL_VARIANTS,
  type KernelFamily,
  type KernelVariantChoice,
  variantTiling,
} from "../kernels/kernel_variants.ts";
import { resolveWebGpuProvider } from "../runtime/webgpu_provider.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { createPoseNetNetwork } from "../models/posenet_network.ts";
import { loadTfjsGraphModel } from "../models/tfjs_graph_model.ts";
import { GpuTimer, summarize } from "./gpu_timer.ts";
import { distinctLayers } from "./kernel_bench.ts";

function parseChoice(text: string): KernelVariantChoice {
  const choice: KernelVariantChoice = {};
  for (const pair of text.split(",")) {
    const [family, name] = pair.split("=");
    if (!(family in KERNEL_VARIANTS)) throw new Error(`unknown kernel family ${family}`);
    choice[family as KernelFamily] = name;
    variantTiling(family as KernelFamily, choice);
  }
  return choice;
}

async function main() {
  const { values } = parseArgs({
    options: {
      a: { type: "string", default: "" },
      b: { type: "string" },
      webgpu: { type: "string", default: "deno,dawn" },
      resolutions: { type: "string", default: "257,513" },
      rounds: { type: "string", default: "5" },
    },
  });
  if (!values.b) throw new Error("--b family=variant is required (and --a, default tiled)");
  const a = parseChoice(values.a || "pointwise=tiled");
  const b = parseChoice(values.b);
  const rounds = Number(values.rounds);
  const weights = await loadTfjsGraphModel(await fetchDefaultWeights());
  console.log(
    `A = ${JSON.stringify(a)}, B = ${JSON.stringify(b)}, ${rounds} rounds of 5 samples\n`,
  );
  console.log("| provider | R | layer | × | A ms | B ms | B/A | timing |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const provider of values.webgpu.split(",").map((p) => resolveWebGpuProvider(p))) {
    const gpu = await createGpuContext({ provider });
    const timer = new GpuTimer(gpu);
    const buffers: GPUBuffer[] = [];
    const storage = (size: number) => {
      const buffer = gpu.device.createBuffer({
        size: Math.max(16, size),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      buffers.push(buffer);
      return buffer;
    };
    try {
      for (const resolution of values.resolutions.split(",").map(Number)) {
        const config = {
          inputHeight: resolution,
          inputWidth: resolution,
          outputStride: 16 as const,
        };
        const netA = await createPoseNetNetwork(gpu, weights, { ...config, variants: a });
        const netB = await createPoseNetNetwork(gpu, weights, { ...config, variants: b });
        const workA = distinctLayers(netA, storage);
        const workB = distinctLayers(netB, storage);
        let totalA = 0;
        let totalB = 0;
        for (const [label, wa] of workA) {
          const wb = workB.get(label)!;
          const ta: number[] = [];
          const tb: number[] = [];
          await timer.time(2, wa.record);
          await timer.time(2, wb.record);
          for (let r = 0; r < rounds; r++) {
            ta.push(...await timer.time(5, wa.record));
            tb.push(...await timer.time(5, wb.record));
          }
          const ma = summarize(ta).median;
          const mb = summarize(tb).median;
          totalA += wa.count * ma;
          totalB += wb.count * mb;
          if (label.startsWith("pointwise") || ma !== mb) {
            console.log(
              `| ${provider} | ${resolution} | ${label} | ${wa.count} | ${ma.toFixed(3)} | ` +
                `${mb.toFixed(3)} | ${(mb / ma).toFixed(2)} | ${timer.method} |`,
            );
          }
        }
        console.log(
          `| ${provider} | ${resolution} | **network, all layers** | | ${totalA.toFixed(2)} | ` +
            `${totalB.toFixed(2)} | **${(totalB / totalA).toFixed(2)}** | ${timer.method} |`,
        );
        netA.dispose();
        netB.dispose();
      }
    } finally {
      for (const buffer of buffers) buffer.destroy();
      timer.dispose();
      gpu.destroy();
    }
  }
}

if (import.meta.main) await main();
