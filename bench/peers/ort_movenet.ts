/**
 * ONNX Runtime Web 1.30 peers for MoveNet SinglePose (Lightning 192², Thunder 256²):
 * `ort-wasm-1t`, `ort-wasm-2t` and `ort-webgpu` (on Deno's WebGPU or Dawn), the same engines as
 * the PoseNet ORT peers (`ort.ts`, whose ORT module instances, locks and `blob:` patch they share)
 * on the MoveNet graph converted to ONNX (`reference/movenet_onnx.ts`: backbone, heads and the
 * graph's own decode).
 *
 * The job, as for every peer: RGBA bytes on the CPU → 17 keypoints on the CPU in image pixels.
 * The CPU does pose-detection's first-crop preprocessing (`movenet_crop.ts`: the centred square,
 * bilinear crop-and-resize, int32 cast) into a reused int32 buffer, the peer's own cost as the
 * PoseNet peers' preprocessing is theirs; then `session.run` from that int32 tensor fetches the
 * `[1, 1, 17, 3]` keypoints alone (the decode is in the graph), which are mapped back to the
 * image through the crop box. The pose score is pose-detection's: the mean of the keypoint scores
 * above 0.2.
 *
 * @module
 */

import { PART_NAMES } from "../../decode/keypoints.ts";
import type { WebGpuProvider } from "../../runtime/webgpu_provider.ts";
import {
  buildMovenetOnnx,
  MOVENET_HEAD_NODES,
  type MovenetHead,
  type MovenetOrtResult,
} from "../../reference/movenet_onnx.ts";
import type { NamedTensor } from "../../reference/ort_session.ts";
import { cropAndResizeToInt32, movenetFirstCrop } from "./movenet_crop.ts";
import { ORT_VERSION, ortInstance, withOrtBlobUrlPatch } from "./ort.ts";
import { checkNotDisposed, checkPeerImage, type PeerImage, type Pose } from "./peer.ts";

/** The two MoveNet SinglePose models. */
export type MovenetModelType = "lightning" | "thunder";

/** Each model's input side. */
export const MOVENET_INPUT_SIZE: Readonly<Record<MovenetModelType, number>> = Object.freeze({
  lightning: 192,
  thunder: 256,
});

/** The MoveNet ORT peers' names. */
export type MovenetOrtPeerName = "ort-wasm-1t" | "ort-wasm-2t" | "ort-webgpu";

/** Every MoveNet ORT peer, in a fixed order. */
export const MOVENET_ORT_PEER_NAMES: readonly MovenetOrtPeerName[] = Object.freeze([
  "ort-wasm-1t",
  "ort-wasm-2t",
  "ort-webgpu",
]);

/** Options of {@linkcode createMovenetOrtPeer}. */
export interface MovenetPeerOptions {
  /** Which model `modelJsonPath` holds. */
  readonly model: MovenetModelType;
  /** Path of `movenet-lightning.json` or `movenet-thunder.json` (its `.bin` beside it). */
  readonly modelJsonPath: string;
  /** `ort-webgpu`: the WebGPU provider (default `"deno"`); the wasm peers ignore it. */
  readonly provider?: WebGpuProvider;
}

/** One MoveNet peer engine (the bench's `Engine` interface, plus `predict`). */
export interface MovenetPeerEngine {
  /** Which peer. */
  readonly name: MovenetOrtPeerName;
  /** Which model. */
  readonly model: MovenetModelType;
  /** Versions, execution provider, threads. */
  readonly description: string;
  /** The WebGPU provider of `ort-webgpu`; `null` for the wasm peers. */
  readonly provider: WebGpuProvider | null;
  /** The single pose: 17 keypoints in image pixels, pose-detection's pose score. */
  estimateSinglePose(image: PeerImage): Promise<Pose>;
  /** The four heads (NHWC) and the graph's keypoints of the preprocessed image (for tests). */
  predict(image: PeerImage): Promise<MovenetOrtResult>;
  /** Frees the session; later calls throw. */
  dispose(): Promise<void>;
}

/** pose-detection's threshold for a keypoint to count in the pose score. */
const MIN_KEYPOINT_SCORE = 0.2;

const EP: Readonly<Record<MovenetOrtPeerName, { ep: "wasm" | "webgpu"; threads: number }>> = {
  "ort-wasm-1t": { ep: "wasm", threads: 1 },
  "ort-wasm-2t": { ep: "wasm", threads: 2 },
  "ort-webgpu": { ep: "webgpu", threads: 1 },
};

/**
 * Builds one MoveNet ORT peer.
 *
 * @param name Which peer.
 * @param opts Model, its path and (for `ort-webgpu`) the provider.
 * @returns The engine.
 * @throws {Error} When the name or model is unknown, or the model file's input is not the
 *   model's size, or ORT runs another thread count than asked.
 *
 * @example
 * ```ts ignore
 * import { fetchDefaultWeights } from "../../models/default_weights.ts";
 * import { createMovenetOrtPeer } from "./ort_movenet.ts";
 * const engine = await createMovenetOrtPeer("ort-wasm-1t", {
 *   model: "lightning",
 *   modelJsonPath: await fetchDefaultWeights("movenet-lightning"),
 * });
 * const image = { data: new Uint8Array(640 * 480 * 4).fill(90), width: 640, height: 480 };
 * console.log((await engine.estimateSinglePose(image)).keypoints.length); // 17
 * await engine.dispose();
 * ```
 */
export async function createMovenetOrtPeer(
  name: MovenetOrtPeerName,
  opts: MovenetPeerOptions,
): Promise<MovenetPeerEngine> {
  if (!Object.hasOwn(EP, name)) throw new Error(`unknown MoveNet ORT peer ${name}`);
  if (!Object.hasOwn(MOVENET_INPUT_SIZE, opts?.model)) {
    throw new Error(`model must be "lightning" or "thunder", got ${opts?.model}`);
  }
  const { ep, threads } = EP[name];
  const model = opts.model;
  const side = MOVENET_INPUT_SIZE[model];
  const provider = ep === "webgpu" ? opts.provider ?? "deno" : null;
  const [{ ort, locked }, onnx] = await Promise.all([
    ortInstance(threads, provider ?? "deno"),
    buildMovenetOnnx(opts.modelJsonPath),
  ]);
  if (onnx.input.shape.join() !== [1, side, side, 3].join()) {
    throw new Error(
      `${opts.modelJsonPath}: input [${onnx.input.shape}] is not MoveNet ${model}'s ` +
        `[1,${side},${side},3]`,
    );
  }
  const create = () =>
    ort.InferenceSession.create(onnx.model, {
      executionProviders: [ep],
      graphOptimizationLevel: "all",
      logSeverityLevel: 3, // not the warning that shape ops run on the CPU
    });
  const session = await locked(() => threads > 1 ? withOrtBlobUrlPatch(create) : create());
  if (ort.env.wasm.numThreads !== threads) {
    await session.release();
    throw new Error(
      `${name}: ORT runs ${ort.env.wasm.numThreads} wasm thread(s), ${threads} asked`,
    );
  }
  const freeInputs: Int32Array[] = [];
  const heads = Object.keys(MOVENET_HEAD_NODES) as MovenetHead[];
  const everything = [...heads.map((h) => onnx.heads[h].name), onnx.keypoints.name];
  let disposed = false;

  const run = async (image: PeerImage, fetches: string[]) => {
    checkNotDisposed(name, disposed);
    checkPeerImage(image);
    const box = movenetFirstCrop(image.width, image.height);
    const input = freeInputs.pop() ?? new Int32Array(side * side * 3);
    cropAndResizeToInt32(image, box, side, input);
    const out = await locked(() => {
      checkNotDisposed(name, disposed);
      const feeds = { [onnx.input.name]: new ort.Tensor("int32", input, [1, side, side, 3]) };
      return session.run(feeds, fetches);
    }).finally(() => freeInputs.push(input));
    return { box, out };
  };

  return {
    name,
    model,
    provider,
    description:
      `onnxruntime-web ${ORT_VERSION}, ${
        ep === "wasm"
          ? `wasm EP (SIMD, ${threads} thread${threads > 1 ? "s" : ""})`
          : `webgpu EP (ORT's own device on ${provider})`
      }, MoveNet ${model} converted by reference/movenet_onnx.ts (decode in the graph); ` +
      "CPU crop + resize to int32, keypoints read back",
    async estimateSinglePose(image: PeerImage): Promise<Pose> {
      const { box, out } = await run(image, [onnx.keypoints.name]);
      const t = out[onnx.keypoints.name];
      try {
        const kp = t.data as Float32Array;
        const h = box.yMax - box.yMin;
        const w = box.xMax - box.xMin;
        let sum = 0;
        let count = 0;
        const keypoints = PART_NAMES.map((part, i) => {
          const score = kp[i * 3 + 2];
          if (score > MIN_KEYPOINT_SCORE) {
            sum += score;
            count++;
          }
          const y = (box.yMin + kp[i * 3] * h) * image.height;
          const x = (box.xMin + kp[i * 3 + 1] * w) * image.width;
          return { part, score, position: { x, y } };
        });
        return { score: count > 0 ? sum / count : 0, keypoints };
      } finally {
        t.dispose();
      }
    },
    async predict(image: PeerImage): Promise<MovenetOrtResult> {
      const { out } = await run(image, everything);
      try {
        const read = (key: string): NamedTensor => ({
          data: new Float32Array(out[key].data as Float32Array),
          shape: out[key].dims.map(Number),
        });
        const result = Object.fromEntries(heads.map((h) => [h, read(onnx.heads[h].name)]));
        return { ...result, keypoints: read(onnx.keypoints.name) } as MovenetOrtResult;
      } finally {
        for (const t of Object.values(out)) t.dispose();
      }
    },
    dispose(): Promise<void> {
      return locked(async () => {
        if (disposed) return;
        disposed = true;
        await session.release();
      });
    },
  };
}
