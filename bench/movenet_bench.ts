/**
 * The bench's MoveNet rows: SinglePose Lightning and Thunder end to end (image bytes in, 17
 * keypoints in image pixels out), and MultiPose (up to 6 poses; its peers in
 * `peers/multipose_peers.ts`: pose-detection on tfjs-webgpu, ORT wasm 2 threads on the network
 * alone) on this runtime, ONNX Runtime running the same backbone and heads
 * converted to ONNX (wasm 1 and 2 threads, webgpu), and TF.js pose-detection (webgpu, wasm), all in
 * the same interleaved latency rounds, the GPU engines once per WebGPU provider.
 *
 * Latency only: this runtime's MoveNet detector runs one frame at a time (calls queue), so frames
 * in flight would measure the queue, not the GPU.
 *
 * @module
 */

import type { GpuContext } from "../runtime/gpu_context.ts";
import { engineLabel, fmt, table } from "./_format.ts";
import type { WebGpuProvider } from "../runtime/webgpu_provider.ts";
import { poseFromDetected } from "../detectors/pose_shapes.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import type { PoseImage } from "../runtime/pose_image.ts";
import { createDetector } from "../detectors/pose_detector.ts";
import { createMovenetOrtPeer, MOVENET_ORT_PEER_NAMES } from "./peers/ort_movenet.ts";
import { MOVENET_PEER_FACTORIES } from "./peers/tfjs_movenet.ts";
import { createOrtMultiPosePeer, createTfjsMultiPosePeer } from "./peers/multipose_peers.ts";
import type { PeerImage } from "./peers/peer.ts";
import {
  type EndToEndFigure,
  endToEndFigure,
  type Engine,
  interleavedLatency,
  warmUp,
} from "./end_to_end.ts";

/** The MoveNet models the bench runs. */
export const MOVENET_BENCH_MODELS = [
  "movenet-lightning",
  "movenet-thunder",
  "movenet-multipose",
] as const;
/** One of {@linkcode MOVENET_BENCH_MODELS}. */
export type MoveNetBenchModel = (typeof MOVENET_BENCH_MODELS)[number];

/** The engines of a MoveNet row, named as in the PoseNet table. */
export const MOVENET_ENGINES = [
  "this",
  "ort-wasm-1t",
  "ort-wasm-2t",
  "ort-webgpu",
  "tfjs-webgpu",
  "tfjs-wasm",
] as const;

/** A MoveNet figure: which model, then the usual end-to-end figure (resolution = input side). */
export interface MoveNetFigure extends EndToEndFigure {
  /** `movenet-lightning` or `movenet-thunder`. */
  readonly model: MoveNetBenchModel;
}

/** What {@linkcode benchMoveNet} needs. */
export interface MoveNetBenchOptions {
  /** Models to run. */
  readonly models: readonly MoveNetBenchModel[];
  /** Engines to run (default all). */
  readonly engines?: readonly string[];
  /** One device per WebGPU provider, shared with the rest of the bench. */
  readonly providers: readonly { readonly provider: WebGpuProvider; readonly gpu: GpuContext }[];
  /** The photo. */
  readonly image: PoseImage;
  /** Latency rounds. */
  readonly runs: number;
  /** Fewer warm-up frames. */
  readonly quick: boolean;
  /** Progress lines. */
  readonly log: (message: string) => void;
}

/**
 * Runs every engine on every model, interleaved per model.
 *
 * @param options Models, engines, devices, photo and rounds.
 * @returns Latency figures, and the engine descriptions by table label.
 */
export async function benchMoveNet(
  options: MoveNetBenchOptions,
): Promise<{ figures: MoveNetFigure[]; descriptions: Record<string, string> }> {
  const figures: MoveNetFigure[] = [];
  const descriptions: Record<string, string> = {};
  const wanted = new Set(options.engines ?? MOVENET_ENGINES);
  for (const model of options.models) {
    const modelJsonPath = await fetchDefaultWeights(model);
    const variant = model === "movenet-lightning" ? "lightning" : "thunder";
    const engines: Engine[] = [];
    const start = async (label: string, make: () => Promise<Engine>) => {
      try {
        engines.push(await make());
      } catch (error) {
        options.log(`${model}: ${label} could not start: ${(error as Error).message}`);
      }
    };
    if (model === "movenet-multipose") {
      await multiPoseEngines(wanted, options, modelJsonPath, start);
    } else if (wanted.has("this")) {
      for (const { provider, gpu } of options.providers) {
        await start(`this (${provider})`, async () => {
          const detector = await createDetector("MoveNet", {
            modelType: variant === "lightning" ? "SinglePose.Lightning" : "SinglePose.Thunder",
            context: gpu,
          });
          return {
            name: "this",
            provider,
            description: `posenet-webgpu ${detector.model}, WGSL on ${provider} ` +
              `(${gpu.adapter.backend}), ${gpu.adapter.description}`,
            estimateSinglePose: async (image) => {
              const [pose] = await detector.estimatePoses(image);
              return pose ? poseFromDetected(pose) : { score: 0, keypoints: [] };
            },
            dispose: () => detector.dispose(),
          };
        });
      }
    }
    for (const name of MOVENET_ORT_PEER_NAMES) {
      if (!wanted.has(name) || model === "movenet-multipose") continue;
      const providers = name === "ort-webgpu" ? options.providers.map((p) => p.provider) : [null];
      for (const provider of providers) {
        await start(
          provider ? `${name} (${provider})` : name,
          () =>
            createMovenetOrtPeer(name, {
              model: variant,
              modelJsonPath,
              provider: provider ?? undefined,
            }),
        );
      }
    }
    for (const [name, factory] of Object.entries(MOVENET_PEER_FACTORIES)) {
      const short = name.replace("tfjs-movenet-", "tfjs-");
      if (!wanted.has(short) || model === "movenet-multipose") continue;
      const singlePose = model as Exclude<MoveNetBenchModel, "movenet-multipose">;
      const providers = short === "tfjs-webgpu" ? options.providers.map((p) => p.provider) : [null];
      for (const provider of providers) {
        await start(provider ? `${short} (${provider})` : short, async () => {
          const engine = await factory({
            model: singlePose,
            modelJsonPath,
            provider: provider ?? undefined,
          });
          return {
            ...engine,
            name: short,
            estimateSinglePose: (i) => engine.estimateSinglePose(i as PeerImage),
            dispose: () => engine.dispose(),
          };
        });
      }
    }
    const warmups = new Map<Engine, number>();
    for (const engine of engines) {
      const label = engine.provider ? `${engine.name} (${engine.provider})` : engine.name;
      descriptions[`${model} ${label}`] = engine.description;
      options.log(`${model}: warming up ${label}`);
      // ORT wasm reaches its steady speed on Lightning only after about 9 frames (V8 tiers up).
      warmups.set(engine, await warmUp(engine, options.image, 10, options.quick ? 20 : 30));
    }
    options.log(
      `${model}: ${options.runs} interleaved latency rounds of ${engines.length} engines`,
    );
    const latencies = await interleavedLatency(engines, options.image, options.runs);
    const side = model === "movenet-lightning" ? 192 : 256; // MultiPose: the longer side
    for (const engine of engines) {
      figures.push({
        model,
        ...endToEndFigure(engine, side, "latency", latencies.get(engine)!, 1, warmups.get(engine)!),
      });
      await engine.dispose();
    }
  }
  return { figures, descriptions };
}

/**
 * MultiPose's engines: this runtime per provider, pose-detection's MultiPose on tfjs-webgpu per
 * provider, and ORT wasm on 2 threads running the network alone (see `peers/multipose_peers.ts`);
 * the other single-pose peers do not apply.
 */
async function multiPoseEngines(
  wanted: ReadonlySet<string>,
  options: MoveNetBenchOptions,
  modelJsonPath: string,
  start: (label: string, make: () => Promise<Engine>) => Promise<void>,
): Promise<void> {
  if (wanted.has("this")) {
    for (const { provider, gpu } of options.providers) {
      await start(`this (${provider})`, async () => {
        const detector = await createDetector("MoveNet", {
          modelType: "MultiPose.Lightning",
          context: gpu,
        });
        return {
          name: "this",
          provider,
          description: `posenet-webgpu ${detector.model}, WGSL on ${provider} ` +
            `(${gpu.adapter.backend}), ${gpu.adapter.description}, the whole job`,
          estimateSinglePose: async (image) => {
            const [pose] = await detector.estimatePoses(image);
            return pose ? poseFromDetected(pose) : { score: 0, keypoints: [] };
          },
          dispose: () => detector.dispose(),
        };
      });
    }
  }
  if (wanted.has("ort-wasm-2t")) {
    await start("ort-wasm-2t", () => createOrtMultiPosePeer(modelJsonPath));
  }
  if (wanted.has("tfjs-webgpu")) {
    for (const { provider } of options.providers) {
      await start(`tfjs-webgpu (${provider})`, async () => {
        const engine = await createTfjsMultiPosePeer(modelJsonPath, provider);
        return { ...engine, estimateSinglePose: (i) => engine.estimateSinglePose(i as PeerImage) };
      });
    }
  }
}

/**
 * The MoveNet rows as a Markdown table: latency, and each engine's ratio to this runtime on
 * `reference`.
 *
 * @param figures From {@linkcode benchMoveNet}.
 * @param reference The provider whose "this" row the ratios divide by.
 * @returns The table.
 */
export function moveNetTable(
  figures: readonly MoveNetFigure[],
  reference: WebGpuProvider | null,
): string {
  return table(
    [
      "model",
      "engine",
      "input",
      "latency ms (median)",
      "min–max",
      `engine vs this (${reference ?? "-"})`,
    ],
    figures.map((f) => {
      const mine = figures.find((g) =>
        g.model === f.model && g.engine === "this" && g.provider === reference
      );
      return [
        f.model,
        engineLabel(f.engine, f.provider),
        f.model === "movenet-multipose" ? `${f.resolution} max` : `${f.resolution}²`,
        fmt(f.medianMs),
        `${fmt(f.ms.min)}–${fmt(f.ms.max)}`,
        mine ? `${fmt(f.medianMs / mine.medianMs, 2)}×` : "-",
      ];
    }),
  );
}
