/**
 * `deno task bench`: per-kernel and end-to-end figures for this runtime next to ONNX Runtime Web
 * (wasm 1 and 2 threads, webgpu) and TF.js (webgpu, wasm), on the same machine in the same run.
 *
 * ```sh
 * deno task bench [--quick] [--json out.json] [--webgpu deno,dawn]
 *                 [--models posenet,movenet-lightning,movenet-thunder,movenet-multipose]
 *                 [--variant pointwise=simple,depthwise=tiled] [--engines this,ort-wasm-2t]
 *                 [--resolutions 257,513] [--no-kernels]
 *                 [--kernel-timing timestamp-query|cpu-batched] [--no-video | --video-only]
 * ```
 *
 * `--models` (default all four): PoseNet's rows at each `--resolutions` and its kernel table, and
 * MoveNet Lightning's, Thunder's and MultiPose's end-to-end rows (`movenet_bench.ts`) next to ONNX Runtime
 * running the same network as ONNX and TF.js pose-detection.
 *
 * The video row (`video_bench.ts`): `pose video` end to end on a clip ffmpeg makes, 1 and 4
 * frames in flight; `--no-video` skips it, `--video-only` runs only it.
 *
 * `--webgpu` names the WebGPU providers (default both): each gets its own device, round trip,
 * ceilings and kernel table, and this runtime and the GPU peers (`ort-webgpu`, `tfjs-webgpu`) run
 * once on each, all interleaved in the same latency rounds as the CPU peers. Kernels are timed
 * with `timestamp-query` where the adapter has it, else `cpu-batched` (see `gpu_timer.ts`);
 * `--kernel-timing` forces one.
 *
 * @module
 */

import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import {
  resolveWebGpuProvider,
  WEBGPU_PROVIDERS,
  type WebGpuProvider,
} from "../runtime/webgpu_provider.ts";
import {
  KERNEL_VARIANTS,
  type KernelFamily,
  type KernelVariantChoice,
  variantTiling,
} from "../kernels/kernel_variants.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { load } from "../detectors/posenet_model.ts";
import { loadTfjsGraphModel } from "../models/tfjs_graph_model.ts";
import { readImageFile } from "../cli/read_image.ts";
import { PEER_FACTORIES, PEER_NAMES, type PeerName } from "./peers/peer.ts";
import { type Ceilings, measureCeilings } from "./ceilings.ts";
import { GpuTimer, type TimingMethod } from "./gpu_timer.ts";
import { benchKernels, type KernelFigure } from "./kernel_bench.ts";
import { engineLabel, fmt, table } from "./_format.ts";
import {
  benchMoveNet,
  MOVENET_BENCH_MODELS,
  MOVENET_ENGINES,
  type MoveNetBenchModel,
  moveNetTable,
} from "./movenet_bench.ts";
import { benchVideo, videoTable } from "./video_bench.ts";
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

/** Peers that run on a WebGPU provider: one engine per provider. */
const GPU_PEERS: readonly EngineName[] = ["ort-webgpu", "tfjs-webgpu"];

interface Options {
  quick: boolean;
  webgpu: WebGpuProvider[];
  kernelTiming?: TimingMethod;
  json?: string;
  variants: KernelVariantChoice;
  engines: EngineName[];
  resolutions: number[];
  kernels: boolean;
  posenet: boolean;
  movenet: MoveNetBenchModel[];
  video: boolean;
  videoOnly: boolean;
}

const MODELS = ["posenet", ...MOVENET_BENCH_MODELS] as const;

function usage(message: string): never {
  console.error(`bench: ${message}`);
  console.error(
    "usage: deno task bench [--quick] [--json FILE] [--webgpu deno,dawn] " +
      "[--models posenet,movenet-lightning,movenet-thunder,movenet-multipose] [--variant family=name,...] [--engines this,ort-wasm-1t,...] [--resolutions 257,513] " +
      "[--no-kernels] [--kernel-timing timestamp-query|cpu-batched] [--no-video | --video-only]",
  );
  Deno.exit(2);
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    quick: false,
    webgpu: [...WEBGPU_PROVIDERS],
    variants: {},
    engines: [...ENGINES],
    resolutions: [257, 513],
    kernels: true,
    posenet: true,
    movenet: [...MOVENET_BENCH_MODELS],
    video: true,
    videoOnly: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => args[++i] ?? usage(`${arg} needs a value`);
    if (arg === "--quick") options.quick = true;
    else if (arg === "--no-kernels") options.kernels = false;
    else if (arg === "--no-video") options.video = false;
    else if (arg === "--video-only") options.videoOnly = true;
    else if (arg === "--json") options.json = value();
    else if (arg === "--models") {
      const names = value().split(",");
      for (const n of names) {
        if (!(MODELS as readonly string[]).includes(n)) {
          usage(`unknown model ${JSON.stringify(n)}; known: ${MODELS.join(", ")}`);
        }
      }
      options.posenet = names.includes("posenet");
      options.movenet = MOVENET_BENCH_MODELS.filter((m) => names.includes(m));
    } else if (arg === "--webgpu") {
      const names = value().split(",");
      try {
        options.webgpu = [...new Set(names.map((n) => resolveWebGpuProvider(n)))];
      } catch (e) {
        usage(`--webgpu: ${(e as Error).message}`);
      }
    } else if (arg === "--kernel-timing") {
      const method = value();
      if (method !== "timestamp-query" && method !== "cpu-batched") {
        usage(
          `--kernel-timing must be timestamp-query or cpu-batched, got ${JSON.stringify(method)}`,
        );
      }
      options.kernelTiming = method;
    } else if (arg === "--variant") {
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
        const known = ENGINES.includes(n as EngineName) ||
          (MOVENET_ENGINES as readonly string[]).includes(n);
        if (!known) usage(`unknown engine ${JSON.stringify(n)}`);
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
  if (options.videoOnly) {
    if (!options.video) usage("--video-only and --no-video contradict each other");
    Object.assign(options, { kernels: false, posenet: false, movenet: [] });
  }
  return options;
}

/** One provider's device, timer and figures. */
interface ProviderRun {
  readonly provider: WebGpuProvider;
  readonly gpu: GpuContext;
  readonly timer: GpuTimer;
  readonly ceilings: Ceilings;
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const runs = options.quick ? 15 : 25;
  const log = (message: string) => console.error(`bench: ${message}`);
  const modelJsonPath = await fetchDefaultWeights();
  const weights = await loadTfjsGraphModel(modelJsonPath);
  const image = await readImageFile(
    new URL("../tests/fixtures/photos/single_portrait.jpg", import.meta.url).pathname,
  );

  const providers: ProviderRun[] = [];
  for (const provider of options.webgpu) {
    const gpu = await createGpuContext({ provider });
    const timer = new GpuTimer(gpu, Math.max(runs, 64), options.kernelTiming);
    log(
      `${provider}: adapter ${gpu.adapter.description} (backend ${gpu.adapter.backend}, ` +
        `${gpu.adapter.featureLevel}); kernel timing ${timer.method}`,
    );
    log(`${provider}: measuring the round trip and ceilings (FMA kernel, copy kernel)`);
    const ceilings = await measureCeilings(gpu, timer, runs);
    providers.push({ provider, gpu, timer, ceilings });
  }

  const kernels: KernelFigure[] = [];
  if (options.kernels && options.posenet) {
    for (const { provider, gpu, timer, ceilings } of providers) {
      // Every distinct layer shape the network runs at these sizes: stride 16 as recorded, then
      // the atrous layers of strides 8 and 32.
      const seen = new Set<string>();
      for (const resolution of options.resolutions) {
        for (const outputStride of [16, 8, 32] as const) {
          log(`${provider}: kernels at ${resolution}, output stride ${outputStride}`);
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
  }

  const endToEnd: EndToEndFigure[] = [];
  const descriptions: Record<string, string> = {};
  const inFlight = 3;
  for (const resolution of options.posenet ? options.resolutions : []) {
    const engines: Engine[] = [];
    const start = async (label: string, make: () => Promise<Engine>) => {
      try {
        engines.push(await make());
      } catch (error) {
        log(`${label} at ${resolution} could not start: ${(error as Error).message}`);
      }
    };
    for (const name of options.engines) {
      if (!ENGINES.includes(name)) continue; // a MoveNet-only engine
      if (name === "this") {
        for (const { provider, gpu } of providers) {
          await start(`this (${provider})`, async () => {
            const net = await load({
              weights,
              inputResolution: resolution,
              context: gpu,
              variants: options.variants,
              maxFramesInFlight: inFlight,
            });
            return {
              name,
              provider,
              description: `posenet-webgpu, WGSL on ${provider} (${gpu.adapter.backend}), ` +
                gpu.adapter.description,
              estimateSinglePose: (img) => net.estimateSinglePose(img),
              dispose: () => net.dispose(),
            };
          });
        }
      } else if (GPU_PEERS.includes(name)) {
        for (const { provider } of providers) {
          await start(
            `${name} (${provider})`,
            () => PEER_FACTORIES[name as PeerName]({ resolution, modelJsonPath, provider }),
          );
        }
      } else {
        await start(name, () => PEER_FACTORIES[name as PeerName]({ resolution, modelJsonPath }));
      }
    }
    const warmups = new Map<Engine, number>();
    for (const engine of engines) {
      descriptions[engineLabel(engine.name, engine.provider)] = engine.description;
      log(`warming up ${engineLabel(engine.name, engine.provider)}`);
      warmups.set(engine, await warmUp(engine, image, 3, options.quick ? 8 : 15));
    }
    const labels = engines.map((e) => engineLabel(e.name, e.provider));
    log(`latency at ${resolution}: ${runs} interleaved rounds of ${labels.join(", ")}`);
    const latencies = await interleavedLatency(engines, image, runs);
    const latencyOf = new Map<Engine, EndToEndFigure>();
    for (const engine of engines) {
      const figure = endToEndFigure(
        engine,
        resolution,
        "latency",
        latencies.get(engine)!,
        1,
        warmups.get(engine)!,
      );
      latencyOf.set(engine, figure);
      endToEnd.push(figure);
    }
    for (const engine of engines) {
      // Slow engines get fewer frames so the run stays short; each batch still has 2·k frames.
      const batches = latencyOf.get(engine)!.medianMs > 300 ? 1 : options.quick ? 3 : 5;
      log(
        `throughput of ${
          engineLabel(engine.name, engine.provider)
        } at ${resolution}: ${batches} batches of ${2 * inFlight} frames, ${inFlight} in flight`,
      );
      const perFrame = await throughput(engine, image, inFlight, 2 * inFlight, batches);
      endToEnd.push(endToEndFigure(engine, resolution, "throughput", perFrame, inFlight, 0));
    }
    for (const engine of engines) await engine.dispose();
  }

  const moveNet = await benchMoveNet({
    models: options.movenet,
    engines: options.engines,
    providers,
    image,
    runs,
    quick: options.quick,
    log,
  });
  Object.assign(descriptions, moveNet.descriptions);
  const video = options.video
    ? await benchVideo({ providers, quick: options.quick, log })
    : { figures: [], clip: "" };

  const date = new Date().toISOString();
  console.log(`\n## posenet-webgpu bench, ${date.slice(0, 10)}`);
  for (const { provider, gpu, timer, ceilings } of providers) {
    console.log(
      `${provider}: ${gpu.adapter.description} (${gpu.adapter.backend}, ` +
        `${gpu.adapter.featureLevel}); round trip ${fmt(ceilings.roundTripMs, 3)} ms; FMA ` +
        `${fmt(ceilings.gflops)} GFLOP/s, copy ${fmt(ceilings.gbps)} GB/s; kernel timing ` +
        timer.method,
    );
  }
  console.log(
    `variants: ${
      (["conv2d", "depthwise", "pointwise"] as const).map((f) =>
        `${f}=${options.variants[f] ?? "tiled"}`
      ).join(", ")
    }\n`,
  );
  const reference = providers.at(-1)?.provider ?? null;
  const ours = (r: number) =>
    endToEnd.find((f) =>
      f.engine === "this" && f.provider === reference && f.resolution === r && f.mode === "latency"
    );
  if (endToEnd.length) {
    console.log(table(
      [
        "engine",
        "R",
        "latency ms (median)",
        "min–max",
        "throughput fps (3 in flight)",
        `engine vs this (${reference ?? "-"}), latency`,
      ],
      endToEnd.filter((f) => f.mode === "latency").map((f) => {
        const tp = endToEnd.find((g) =>
          g.engine === f.engine && g.provider === f.provider && g.resolution === f.resolution &&
          g.mode === "throughput"
        );
        const mine = ours(f.resolution);
        return [
          engineLabel(f.engine, f.provider),
          String(f.resolution),
          fmt(f.medianMs),
          `${fmt(f.ms.min)}–${fmt(f.ms.max)}`,
          tp ? fmt(tp.framesPerSecond) : "-",
          mine ? `${fmt(f.medianMs / mine.medianMs, 2)}×` : "-",
        ];
      }),
    ));
  }
  if (moveNet.figures.length) {
    console.log("");
    console.log(moveNetTable(moveNet.figures, reference));
  }
  if (video.figures.length) {
    console.log(`\nVideo: ${video.clip}`);
    console.log(videoTable(video.figures));
  }
  if (kernels.length) {
    console.log("");
    console.log(table(
      [
        "provider",
        "R/stride",
        "kernel",
        "×",
        "ms (median)",
        "GFLOP/s",
        "GB/s",
        "% FMA ceiling",
        "% copy ceiling",
        "timing",
      ],
      kernels.map((k) => [
        k.provider,
        `${k.resolution}/${k.outputStride}`,
        k.kernel,
        String(k.count),
        fmt(k.ms.median, 3),
        fmt(k.gflops),
        fmt(k.gbps, 2),
        fmt(100 * k.shareOfFlopCeiling),
        fmt(100 * k.shareOfCopyCeiling),
        k.timing,
      ]),
    ));
  }
  if (options.json) {
    const report = {
      date,
      adapters: providers.map((p) => p.gpu.adapter),
      timing: Object.fromEntries(providers.map((p) => [p.provider, p.timer.method])),
      versions: { deno: Deno.version.deno, v8: Deno.version.v8, engines: descriptions },
      options: {
        quick: options.quick,
        variants: options.variants,
        runs,
        webgpu: options.webgpu,
      },
      ceilings: providers.map((p) => p.ceilings),
      endToEnd,
      moveNet: moveNet.figures,
      video: video.figures,
      kernels,
    };
    await Deno.writeTextFile(options.json, JSON.stringify(report, null, 2) + "\n");
    log(`wrote ${options.json}`);
  }
  for (const { timer, gpu } of providers) {
    timer.dispose();
    gpu.destroy();
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
