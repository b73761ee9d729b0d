/**
 * `deno task bench`: per-kernel and end-to-end figures for this runtime next to ONNX Runtime Web
 * (wasm 1 and 2 threads, webgpu) and TF.js (webgpu, wasm), on the same machine in the same run.
 *
 * ```sh
 * deno task bench [--quick] [--json out.json] [--variant pointwise=simple,depthwise=tiled]
 *                 [--engines this,ort-wasm-2t] [--resolutions 257,513] [--no-kernels]
 * ```
 *
 * @module
 */

import { createGpuContext } from "../kernels/gpu_context.ts";
import {
  KERNEL_VARIANTS,
  type KernelFamily,
  type KernelVariantChoice,
  variantTiling,
} from "../kernels/kernel_variants.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { load } from "../models/posenet_model.ts";
import { loadTfjsGraphModel } from "../models/tfjs_graph_model.ts";
import { readImageFile } from "../cli/read_image.ts";
import { PEER_FACTORIES, PEER_NAMES, type PeerName } from "./peers/peer.ts";
import { measureCeilings } from "./ceilings.ts";
import { GpuTimer } from "./gpu_timer.ts";
import { benchKernels, type KernelFigure } from "./kernel_bench.ts";
import {
  type EndToEndFigure,
  endToEndFigure,
  type Engine,
  interleavedLatency,
  throughput,
  warmUp,
} from "./end_to_end.ts";

const ENGINES = ["this", ...PEER_NAMES] as const;
type EngineName = (typeof ENGINES)[number];

interface Options {
  quick: boolean;
  json?: string;
  variants: KernelVariantChoice;
  engines: EngineName[];
  resolutions: number[];
  kernels: boolean;
}

function usage(message: string): never {
  console.error(`bench: ${message}`);
  console.error(
    "usage: deno task bench [--quick] [--json FILE] [--variant family=name,...] " +
      "[--engines this,ort-wasm-1t,...] [--resolutions 257,513] [--no-kernels]",
  );
  Deno.exit(2);
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    quick: false,
    variants: {},
    engines: [...ENGINES],
    resolutions: [257, 513],
    kernels: true,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => args[++i] ?? usage(`${arg} needs a value`);
    if (arg === "--quick") options.quick = true;
    else if (arg === "--no-kernels") options.kernels = false;
    else if (arg === "--json") options.json = value();
    else if (arg === "--variant") {
      for (const pair of value().split(",")) {
        const [family, name] = pair.split("=");
        if (!(family in KERNEL_VARIANTS)) usage(`unknown kernel family ${JSON.stringify(family)}`);
        options.variants[family as KernelFamily] = name;
        try {
          variantTiling(family as KernelFamily, options.variants);
        } catch (e) {
          usage((e as Error).message);
        }
      }
    } else if (arg === "--engines") {
      const names = value().split(",");
      for (const n of names) {
        if (!ENGINES.includes(n as EngineName)) usage(`unknown engine ${JSON.stringify(n)}`);
      }
      options.engines = names as EngineName[];
    } else if (arg === "--resolutions") {
      options.resolutions = value().split(",").map(Number);
      for (const r of options.resolutions) {
        if (!Number.isInteger(r) || r < 17 || (r - 1) % 16 !== 0) {
          usage(`resolution ${r} is not k·16 + 1`);
        }
      }
    } else usage(`unknown option ${JSON.stringify(arg)}`);
  }
  return options;
}

function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)]
    .join("\n");
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const runs = options.quick ? 15 : 25;
  const log = (message: string) => console.error(`bench: ${message}`);
  const gpu = await createGpuContext();
  const timer = new GpuTimer(gpu, Math.max(runs, 64));
  log(
    `adapter ${gpu.adapter.description} (backend ${gpu.adapter.backend}); timing ${timer.method}`,
  );
  const modelJsonPath = await fetchDefaultWeights();
  const weights = await loadTfjsGraphModel(modelJsonPath);
  const image = await readImageFile(
    new URL("../tests/fixtures/photos/single_portrait.jpg", import.meta.url).pathname,
  );

  log("measuring ceilings (FMA kernel, copy kernel)");
  const ceilings = await measureCeilings(gpu, timer, runs);

  const kernels: KernelFigure[] = [];
  if (options.kernels) {
    // Every distinct layer shape the network runs at these sizes: stride 16 as recorded, then the
    // atrous layers of strides 8 and 32.
    const seen = new Set<string>();
    for (const resolution of options.resolutions) {
      for (const outputStride of [16, 8, 32] as const) {
        log(`kernels at ${resolution}, output stride ${outputStride}`);
        kernels.push(
          ...await benchKernels(
            gpu,
            timer,
            weights,
            resolution,
            outputStride,
            runs,
            ceilings,
            options.variants,
            seen,
          ),
        );
      }
    }
  }

  const endToEnd: EndToEndFigure[] = [];
  const descriptions: Record<string, string> = {};
  const inFlight = 3;
  for (const resolution of options.resolutions) {
    const engines: Engine[] = [];
    for (const name of options.engines) {
      try {
        if (name === "this") {
          const net = await load({
            weights,
            inputResolution: resolution,
            context: gpu,
            variants: options.variants,
            maxFramesInFlight: inFlight,
          });
          engines.push({
            name,
            description: `posenet-webgpu, WGSL on ${gpu.adapter.description}`,
            estimateSinglePose: (img) => net.estimateSinglePose(img),
            dispose: () => net.dispose(),
          });
        } else {
          const peer = await PEER_FACTORIES[name as PeerName]({ resolution, modelJsonPath });
          engines.push(peer);
        }
      } catch (error) {
        log(`${name} at ${resolution} could not start: ${(error as Error).message}`);
      }
    }
    const warmups = new Map<Engine, number>();
    for (const engine of engines) {
      descriptions[engine.name] = engine.description;
      log(`warming up ${engine.name} at ${resolution}`);
      warmups.set(engine, await warmUp(engine, image, 3, options.quick ? 8 : 15));
    }
    log(
      `latency at ${resolution}: ${runs} interleaved rounds of ${
        engines.map((e) => e.name).join(", ")
      }`,
    );
    const latencies = await interleavedLatency(engines, image, runs);
    for (const engine of engines) {
      endToEnd.push(
        endToEndFigure(
          engine.name,
          resolution,
          "latency",
          latencies.get(engine)!,
          1,
          warmups.get(engine)!,
        ),
      );
    }
    for (const engine of engines) {
      const latency = endToEnd.at(-engines.length + engines.indexOf(engine))!.medianMs;
      // Slow engines get fewer frames so the run stays short; each batch still has 2·k frames.
      const batches = latency > 300 ? 1 : options.quick ? 3 : 5;
      log(
        `throughput of ${engine.name} at ${resolution}: ${batches} batches of ${
          2 * inFlight
        } frames, ${inFlight} in flight`,
      );
      const perFrame = await throughput(engine, image, inFlight, 2 * inFlight, batches);
      endToEnd.push(endToEndFigure(engine.name, resolution, "throughput", perFrame, inFlight, 0));
    }
    for (const engine of engines) await engine.dispose();
  }

  const date = new Date().toISOString();
  console.log(`\n## posenet-webgpu bench, ${date.slice(0, 10)}`);
  console.log(
    `adapter: ${gpu.adapter.description} (${gpu.adapter.backend}); kernel timing: ${timer.method}`,
  );
  console.log(
    `ceilings: FMA ${fmt(ceilings.gflops)} GFLOP/s, copy ${fmt(ceilings.gbps)} GB/s; ` +
      `variants: ${
        (["conv2d", "depthwise", "pointwise"] as const).map((f) =>
          `${f}=${options.variants[f] ?? "tiled"}`
        ).join(", ")
      }\n`,
  );
  const ours = (r: number, mode: string) =>
    endToEnd.find((f) => f.engine === "this" && f.resolution === r && f.mode === mode);
  console.log(table(
    [
      "engine",
      "R",
      "latency ms (median)",
      "min–max",
      "throughput fps (3 in flight)",
      "this vs engine (latency)",
    ],
    endToEnd.filter((f) => f.mode === "latency").map((f) => {
      const tp = endToEnd.find((g) =>
        g.engine === f.engine && g.resolution === f.resolution && g.mode === "throughput"
      );
      const mine = ours(f.resolution, "latency");
      return [
        f.engine,
        String(f.resolution),
        fmt(f.medianMs),
        `${fmt(f.ms.min)}–${fmt(f.ms.max)}`,
        tp ? fmt(tp.framesPerSecond) : "-",
        mine ? `${fmt(f.medianMs / mine.medianMs, 2)}×` : "-",
      ];
    }),
  ));
  if (kernels.length) {
    console.log("");
    console.log(table(
      [
        "R/stride",
        "kernel",
        "×",
        "ms (median)",
        "GFLOP/s",
        "GB/s",
        "% FMA ceiling",
        "% copy ceiling",
      ],
      kernels.map((k) => [
        `${k.resolution}/${k.outputStride}`,
        k.kernel,
        String(k.count),
        fmt(k.ms.median, 3),
        fmt(k.gflops),
        fmt(k.gbps, 2),
        fmt(100 * k.shareOfFlopCeiling),
        fmt(100 * k.shareOfCopyCeiling),
      ]),
    ));
  }
  if (options.json) {
    const report = {
      date,
      adapter: gpu.adapter,
      timing: timer.method,
      versions: { deno: Deno.version.deno, v8: Deno.version.v8, engines: descriptions },
      options: { quick: options.quick, variants: options.variants, runs },
      ceilings,
      endToEnd,
      kernels,
    };
    await Deno.writeTextFile(options.json, JSON.stringify(report, null, 2) + "\n");
    log(`wrote ${options.json}`);
  }
  timer.dispose();
  gpu.destroy();
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
