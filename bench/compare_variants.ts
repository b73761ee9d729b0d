/**
 * Two kernel variants side by side, layer by layer, in one process: every distinct layer of the
 * network built once with variant set A and once with B, timed in alternating rounds (A, B, A, B,
 * …) on each WebGPU provider, so a drift in the machine's load hits both alike. Prints each
 * layer's median milliseconds, B/A, and the network's weighted total (each layer × its count);
 * "B/A by round" is the range over the rounds of B's median over A's in that round (for the
 * network: of the rounds' weighted totals), the spread of the paired ratio.
 *
 * ```sh
 * deno run -A bench/compare_variants.ts --a pointwise=tiled --b pointwise=staged \
 *   [--webgpu deno,dawn] [--resolutions 257,513] [--rounds 5] [--layers depthwise,conv2d] \
 *   [--output-stride 16]
 * ```
 *
 * `--layers` times only the layers whose label starts with one of the given words (the network
 * total is then the sum over those layers).
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
import type { OutputStride } from "../models/architecture.ts";
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
      layers: { type: "string", default: "" },
      "output-stride": { type: "string", default: "16" },
    },
  });
  if (!values.b) throw new Error("--b family=variant is required (and --a, default tiled)");
  const a = parseChoice(values.a || "pointwise=tiled");
  const b = parseChoice(values.b);
  const rounds = Number(values.rounds);
  const outputStride = Number(values["output-stride"]) as OutputStride;
  if (![8, 16, 32].includes(outputStride)) {
    throw new Error(`--output-stride must be 8, 16 or 32, got ${values["output-stride"]}`);
  }
  const prefixes = values.layers ? values.layers.split(",") : [""];
  const weights = await loadTfjsGraphModel(await fetchDefaultWeights());
  console.log(
    `A = ${JSON.stringify(a)}, B = ${JSON.stringify(b)}, ${rounds} rounds of 5 samples\n`,
  );
  console.log("| provider | R | layer | × | A ms | B ms | B/A | B/A by round | timing |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
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
          outputStride,
        };
        const netA = await createPoseNetNetwork(gpu, weights, { ...config, variants: a });
        const netB = await createPoseNetNetwork(gpu, weights, { ...config, variants: b });
        const workA = distinctLayers(netA, storage);
        const workB = distinctLayers(netB, storage);
        let totalA = 0;
        let totalB = 0;
        const roundA = new Array<number>(rounds).fill(0);
        const roundB = new Array<number>(rounds).fill(0);
        const range = (ratios: number[]) =>
          `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
        for (const [label, wa] of workA) {
          if (!prefixes.some((prefix) => label.startsWith(prefix))) continue;
          const wb = workB.get(label)!;
          const ta: number[] = [];
          const tb: number[] = [];
          await timer.time(2, wa.record);
          await timer.time(2, wb.record);
          const ratios: number[] = [];
          for (let r = 0; r < rounds; r++) {
            const sa = await timer.time(5, wa.record);
            const sb = await timer.time(5, wb.record);
            ta.push(...sa);
            tb.push(...sb);
            const ra = summarize(sa).median;
            const rb = summarize(sb).median;
            ratios.push(rb / ra);
            roundA[r] += wa.count * ra;
            roundB[r] += wb.count * rb;
          }
          const ma = summarize(ta).median;
          const mb = summarize(tb).median;
          totalA += wa.count * ma;
          totalB += wb.count * mb;
          if (label.startsWith("pointwise") || ma !== mb) {
            console.log(
              `| ${provider} | ${resolution} | ${label} | ${wa.count} | ${ma.toFixed(3)} | ` +
                `${mb.toFixed(3)} | ${(mb / ma).toFixed(2)} | ${range(ratios)} | ${timer.method} |`,
            );
          }
        }
        console.log(
          `| ${provider} | ${resolution} | **network, ${
            values.layers ? `${values.layers} layers` : "all layers"
          }** | | ${totalA.toFixed(2)} | ` +
            `${totalB.toFixed(2)} | **${(totalB / totalA).toFixed(2)}** | ${
              range(roundB.map((b, r) => b / roundA[r]))
            } | ${timer.method} |`,
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
