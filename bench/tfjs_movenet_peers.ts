/**
 * End-to-end latency of the TF.js MoveNet peers (`bench/peers/tfjs_movenet.ts`): pose-detection
 * 2.1.3 MoveNet Lightning and Thunder, `estimatePoses(image)` from RGBA bytes on the CPU to 17
 * keypoints on the CPU, on TF.js's `webgpu` backend (each WebGPU provider) and `wasm` backend
 * (1 thread), on the bench's photo (`tests/fixtures/photos/single_portrait.jpg`, 700×700). Each
 * engine is warmed up until its frame time settles (`warmUp`), then the engines of one model run
 * interleaved rounds (`interleavedLatency`), as `bench/bench.ts` does for the PoseNet engines;
 * the figures are `EndToEndFigure`s with the model's input side (192, 256) as `resolution`.
 *
 * Not in `bench/bench.ts`'s table yet: {@linkcode measureTfjsMoveNetPeers} is the function to
 * wire in next to our MoveNet. To try it:
 *
 * ```sh
 * deno run -A bench/tfjs_movenet_peers.ts [--rounds 5] [--models movenet-lightning,movenet-thunder]
 *   [--webgpu deno,dawn] [--peers tfjs-movenet-webgpu,tfjs-movenet-wasm] [--json out.json]
 * ```
 *
 * @module
 */

import { readImageFile } from "../cli/read_image.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import type { WebGpuProvider } from "../kernels/webgpu_provider.ts";
import { type EndToEndFigure, endToEndFigure, interleavedLatency, warmUp } from "./end_to_end.ts";
import {
  MOVENET_PEER_FACTORIES,
  MOVENET_PEER_NAMES,
  type MoveNetPeerEngine,
  type MoveNetPeerName,
  type TfjsMoveNetModel,
} from "./peers/tfjs_movenet.ts";

/** Options of {@linkcode measureTfjsMoveNetPeers}. */
export interface MeasureTfjsMoveNetPeersOptions {
  /** Models, in order (default both). */
  readonly models?: readonly TfjsMoveNetModel[];
  /** Peers (default both). */
  readonly peers?: readonly MoveNetPeerName[];
  /** WebGPU providers of the webgpu peer (default `deno` and `dawn`). */
  readonly providers?: readonly WebGpuProvider[];
  /** Interleaved latency rounds per model (default 15). */
  readonly rounds?: number;
  /** Fewest and most warm-up frames per engine (default 3 and 10). */
  readonly warmup?: readonly [number, number];
  /** Model JSON per model (default `fetchDefaultWeights(model)`). */
  readonly modelJsonPaths?: Partial<Record<TfjsMoveNetModel, string>>;
  /** Progress lines (default none). */
  readonly log?: (line: string) => void;
}

/** The bench's photo. */
export const MOVENET_BENCH_PHOTO: string =
  new URL("../tests/fixtures/photos/single_portrait.jpg", import.meta.url).pathname;

/**
 * Latency figures of the TF.js MoveNet peers, one per peer, provider and model.
 *
 * @param options Models, peers, providers, rounds, warm-up, weights, log.
 * @returns The latency figures and each engine's description (by `name (provider) model`).
 */
export async function measureTfjsMoveNetPeers(
  options: MeasureTfjsMoveNetPeersOptions = {},
): Promise<{ figures: EndToEndFigure[]; descriptions: Record<string, string> }> {
  const models = options.models ?? ["movenet-lightning", "movenet-thunder"];
  const peers = options.peers ?? MOVENET_PEER_NAMES;
  const providers = options.providers ?? ["deno", "dawn"];
  const rounds = options.rounds ?? 15;
  const [minWarmup, maxWarmup] = options.warmup ?? [3, 10];
  const log = options.log ?? (() => {});
  const image = await readImageFile(MOVENET_BENCH_PHOTO);
  const figures: EndToEndFigure[] = [];
  const descriptions: Record<string, string> = {};
  for (const model of models) {
    const modelJsonPath = options.modelJsonPaths?.[model] ?? await fetchDefaultWeights(model);
    const engines: MoveNetPeerEngine[] = [];
    try {
      for (const name of peers) {
        for (const provider of name === "tfjs-movenet-webgpu" ? providers : [undefined]) {
          const label = `${name}${provider ? ` (${provider})` : ""} ${model}`;
          try {
            engines.push(await MOVENET_PEER_FACTORIES[name]({ model, modelJsonPath, provider }));
          } catch (error) {
            log(`${label} could not start: ${(error as Error).message}`);
          }
        }
      }
      const warmups = new Map<MoveNetPeerEngine, number>();
      for (const engine of engines) {
        const label = `${engine.name}${engine.provider ? ` (${engine.provider})` : ""} ${model}`;
        descriptions[label] = engine.description;
        log(`warming up ${label}`);
        warmups.set(engine, await warmUp(engine, image, minWarmup, maxWarmup));
      }
      log(`${model}: ${rounds} interleaved rounds of ${engines.length} engines`);
      const times = await interleavedLatency(engines, image, rounds);
      for (const engine of engines) {
        figures.push(
          endToEndFigure(
            engine,
            engine.inputSize,
            "latency",
            times.get(engine)!,
            1,
            warmups.get(engine)!,
          ),
        );
      }
    } finally {
      for (const engine of engines) await engine.dispose();
    }
  }
  return { figures, descriptions };
}

function parseList<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!allowed.includes(item as T)) {
      throw new Error(`unknown ${what} ${item}; expected one of ${allowed.join(", ")}`);
    }
  }
  return items as T[];
}

async function main(): Promise<void> {
  const options: {
    models?: TfjsMoveNetModel[];
    peers?: MoveNetPeerName[];
    providers?: WebGpuProvider[];
    rounds?: number;
    json?: string;
  } = {};
  const args = [...Deno.args];
  while (args.length > 0) {
    const flag = args.shift()!;
    const value = args.shift();
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--models") {
      options.models = parseList(value, ["movenet-lightning", "movenet-thunder"], "model");
    } else if (flag === "--peers") options.peers = parseList(value, MOVENET_PEER_NAMES, "peer");
    else if (flag === "--webgpu") {
      options.providers = parseList(value, ["deno", "dawn"], "provider");
    } else if (flag === "--rounds") options.rounds = Number(value);
    else if (flag === "--json") options.json = value;
    else throw new Error(`unknown argument ${flag}`);
  }
  const { figures, descriptions } = await measureTfjsMoveNetPeers({
    ...options,
    log: (line) => console.error(`movenet peers: ${line}`),
  });
  console.log("| engine | input | latency ms (median) | min–max | frames/s |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const f of figures) {
    const label = f.provider ? `${f.engine} (${f.provider})` : f.engine;
    console.log(
      `| ${label} | ${f.resolution} | ${f.medianMs.toFixed(1)} | ${f.ms.min.toFixed(1)}–` +
        `${f.ms.max.toFixed(1)} | ${f.framesPerSecond.toFixed(1)} |`,
    );
  }
  for (const [label, description] of Object.entries(descriptions)) {
    console.log(`- ${label}: ${description}`);
  }
  if (options.json) {
    await Deno.writeTextFile(options.json, JSON.stringify({ figures, descriptions }, null, 2));
  }
}

if (import.meta.main) {
  await main();
}
