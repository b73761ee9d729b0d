/**
 * End-to-end latency of the MoveNet ORT peers (`peers/ort_movenet.ts`): RGBA bytes on the CPU →
 * 17 keypoints on the CPU, for Lightning and Thunder, `ort-wasm-1t`, `ort-wasm-2t` and
 * `ort-webgpu` on each WebGPU provider asked for, measured as `bench.ts` measures its engines
 * (warm-up until the frame time settles, then interleaved rounds, one frame at a time). Not yet in
 * `bench.ts`'s table.
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-env --allow-net=registry.npmjs.org --allow-ffi \
 *   bench/movenet_ort.ts [--models lightning,thunder] [--webgpu deno,dawn] [--rounds 5] \
 *   [--models-dir /tmp/hm/package/models] [--json out.json]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { readImageFile } from "../cli/read_image.ts";
import type { PoseImage } from "../models/pose_image.ts";
import { WEBGPU_PROVIDERS, type WebGpuProvider } from "../kernels/webgpu_provider.ts";
import { type EndToEndFigure, endToEndFigure, interleavedLatency, warmUp } from "./end_to_end.ts";
import {
  createMovenetOrtPeer,
  MOVENET_INPUT_SIZE,
  type MovenetModelType,
  type MovenetPeerEngine,
} from "./peers/ort_movenet.ts";

/** Options of {@linkcode benchMovenetOrtPeers}. */
export interface MovenetOrtBenchOptions {
  /** Each model's model.json path; the models to run are its keys. */
  readonly modelJsonPaths: Partial<Readonly<Record<MovenetModelType, string>>>;
  /** WebGPU providers for `ort-webgpu` (default both; `[]` runs the wasm peers only). */
  readonly providers?: readonly WebGpuProvider[];
  /** The frame (default `tests/fixtures/photos/single_portrait.jpg`). */
  readonly image?: PoseImage;
  /** Measured frames per engine (default 5). */
  readonly rounds?: number;
  /**
   * Warm-up frames: at least `min`, at most `max` (default 12 and 30: ORT's wasm reaches its
   * steady speed on Lightning only after about 9 runs, V8 tiering its code up).
   */
  readonly warmup?: { readonly min: number; readonly max: number };
  /** Progress lines (default: stderr). */
  readonly log?: (line: string) => void;
}

/** One figure, with the model it is for. */
export interface MovenetOrtFigure extends EndToEndFigure {
  /** Which model (`resolution` is its input side). */
  readonly model: MovenetModelType;
  /** The engine's description. */
  readonly description: string;
}

/**
 * Times the MoveNet ORT peers, one model at a time (its engines interleaved).
 *
 * @param options Models, providers, frame, rounds.
 * @returns One latency figure per model and engine.
 *
 * @example
 * ```ts ignore
 * import { benchMovenetOrtPeers } from "./movenet_ort.ts";
 * const figures = await benchMovenetOrtPeers({
 *   modelJsonPaths: { lightning: "/tmp/hm/package/models/movenet-lightning.json" },
 *   providers: [],
 *   rounds: 3,
 * });
 * for (const f of figures) console.log(f.engine, f.medianMs.toFixed(1));
 * ```
 */
export async function benchMovenetOrtPeers(
  options: MovenetOrtBenchOptions,
): Promise<MovenetOrtFigure[]> {
  const log = options.log ?? ((line: string) => console.error(line));
  const rounds = options.rounds ?? 5;
  const warm = options.warmup ?? { min: 12, max: 30 };
  const image = options.image ?? await readImageFile(
    new URL("../tests/fixtures/photos/single_portrait.jpg", import.meta.url).pathname,
  );
  const figures: MovenetOrtFigure[] = [];
  for (const [model, modelJsonPath] of Object.entries(options.modelJsonPaths)) {
    if (modelJsonPath === undefined) continue;
    const m = model as MovenetModelType;
    const engines: MovenetPeerEngine[] = [];
    try {
      engines.push(await createMovenetOrtPeer("ort-wasm-1t", { model: m, modelJsonPath }));
      engines.push(await createMovenetOrtPeer("ort-wasm-2t", { model: m, modelJsonPath }));
      for (const provider of options.providers ?? WEBGPU_PROVIDERS) {
        engines.push(
          await createMovenetOrtPeer("ort-webgpu", { model: m, modelJsonPath, provider }),
        );
      }
      const frame = { data: image.data as Uint8Array, width: image.width, height: image.height };
      const warmups = new Map<MovenetPeerEngine, number>();
      for (const e of engines) {
        warmups.set(e, await warmUp(e, frame, warm.min, warm.max));
        log(`${m} ${e.name}${e.provider ? ` (${e.provider})` : ""}: warmed up`);
      }
      const times = await interleavedLatency(engines, frame, rounds);
      for (const e of engines) {
        const f = endToEndFigure(
          e,
          MOVENET_INPUT_SIZE[m],
          "latency",
          times.get(e)!,
          1,
          warmups.get(e)!,
        );
        figures.push({ ...f, model: m, description: e.description });
      }
    } finally {
      for (const e of engines) await e.dispose();
    }
  }
  return figures;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      models: { type: "string", default: "lightning,thunder" },
      webgpu: { type: "string", default: WEBGPU_PROVIDERS.join(",") },
      rounds: { type: "string", default: "5" },
      "models-dir": { type: "string", default: "/tmp/hm/package/models" },
      json: { type: "string" },
    },
  });
  const models = values.models.split(",").filter((m) => m !== "");
  for (const m of models) {
    if (!Object.hasOwn(MOVENET_INPUT_SIZE, m)) throw new Error(`unknown model ${m}`);
  }
  const providers = values.webgpu.split(",").filter((p) => p !== "");
  for (const p of providers) {
    if (!(WEBGPU_PROVIDERS as readonly string[]).includes(p)) {
      throw new Error(`unknown provider ${p}`);
    }
  }
  const figures = await benchMovenetOrtPeers({
    modelJsonPaths: Object.fromEntries(
      models.map((m) => [m, `${values["models-dir"]}/movenet-${m}.json`]),
    ),
    providers: providers as WebGpuProvider[],
    rounds: Number(values.rounds),
  });
  console.log("| model | engine | provider | median ms | min ms | max ms | frames |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const f of figures) {
    console.log(
      `| ${f.model} | ${f.engine} | ${f.provider ?? ""} | ${f.medianMs.toFixed(1)} | ` +
        `${f.ms.min.toFixed(1)} | ${f.ms.max.toFixed(1)} | ${f.ms.runs} |`,
    );
  }
  if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(figures, null, 2));
  Deno.exit(0); // ORT's pthread workers and the WebGPU devices would keep the process alive
}
