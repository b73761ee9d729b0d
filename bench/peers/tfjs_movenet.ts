/**
 * TF.js 4.22 MoveNet peers: `tfjs-movenet-webgpu` (on Deno's WebGPU or Dawn) and
 * `tfjs-movenet-wasm`, each running the ORIGINAL `@tensorflow-models/pose-detection` 2.1.3
 * MoveNet SinglePose detector (Lightning or Thunder) end to end: `estimatePoses(image)` from RGBA
 * bytes on the CPU to 17 keypoints in image pixels on the CPU, each image a first frame
 * (`reset()` first), smoothing off. The detector, its loading from our files and the image
 * tensor are those of the reference (`reference/tfjs_movenet.ts`, which makes
 * `tests/fixtures/movenet_reference.json` on the `cpu` backend), so a peer differs from the
 * reference only in its TF.js backend.
 *
 * Backends go through the same process-wide gate as the PoseNet TF.js peers
 * (`_tfjs_backend.ts`), so MoveNet and PoseNet engines on `webgpu`, `webgpu-dawn` and `wasm` can
 * be interleaved in one process.
 *
 * On Dawn the backend is TF.js's `WebGPUBackend` registered as `webgpu-dawn`, but pose-detection
 * picks how it reads the model output by backend NAME: `dataSync()` unless `tf.getBackend()` is
 * `"webgpu"`, and the webgpu backend's `readSync` needs an `OffscreenCanvas`, which Deno lacks.
 * So while a call of a Dawn engine runs, the `getBackend` that pose-detection sees (the CommonJS
 * exports of `@tensorflow/tfjs-core` it `require`s) answers `"webgpu"` for `"webgpu-dawn"`: the
 * same code path as on Deno's WebGPU, asynchronous `data()`. Nothing else reads that export
 * during such a call (the gate holds other backends off; posenet never asks).
 *
 * @module
 */

import * as tfNamespace from "@tensorflow/tfjs-core";
import { poseFromDetected } from "../../detectors/pose_shapes.ts";
import type { WebGpuProvider } from "../../runtime/webgpu_provider.ts";
import {
  createTfjsMoveNetDetector,
  type MoveNetPose,
  POSE_DETECTION_VERSION,
  TFJS_MOVENET_MODELS,
  type TfjsMoveNetModel,
} from "../../reference/tfjs_movenet.ts";
import { TFJS_VERSION, type TfjsBackend, tfjsBackendFor, withBackend } from "./_tfjs_backend.ts";
import { readTfjsGraphArtifacts } from "../../reference/tfjs_artifacts.ts";
import { checkPeerImage, type PeerImage, type Pose } from "./peer.ts";

export type { MoveNetPose, TfjsMoveNetModel };

/** The MoveNet peers' names. */
export type MoveNetPeerName = "tfjs-movenet-webgpu" | "tfjs-movenet-wasm";

/** Every MoveNet peer name, in a fixed order. */
export const MOVENET_PEER_NAMES: readonly MoveNetPeerName[] = Object.freeze([
  "tfjs-movenet-webgpu",
  "tfjs-movenet-wasm",
]);

/** Options of a MoveNet peer factory. */
export interface MoveNetPeerOptions {
  /** Lightning (192²) or Thunder (256²). */
  model: TfjsMoveNetModel;
  /** Path of the TF.js graph model `movenet-*.json` (its `.bin` beside it). */
  modelJsonPath: string;
  /** The WebGPU provider of the webgpu peer (default `"deno"`); the wasm peer ignores it. */
  provider?: WebGpuProvider;
}

/**
 * One MoveNet peer engine. It has the bench's `Engine` shape (`bench/end_to_end.ts`):
 * `estimateSinglePose` is `estimatePoses` with the pose in PoseNet's field names.
 */
export interface MoveNetPeerEngine {
  /** Which peer. */
  readonly name: MoveNetPeerName;
  /** Which model. */
  readonly model: TfjsMoveNetModel;
  /** The model's square input side (192 or 256), the bench's "resolution". */
  readonly inputSize: number;
  /** Versions, backend, provider, threads. */
  readonly description: string;
  /** The WebGPU provider the webgpu peer runs on; `null` for the wasm peer. */
  readonly provider: WebGpuProvider | null;
  /** pose-detection's `estimatePoses(image)`: one pose, or none below its `minPoseScore`. */
  estimatePoses(image: PeerImage): Promise<MoveNetPose[]>;
  /**
   * The same call, its pose as `{score, keypoints: [{part, score, position}]}` (`part` in
   * PoseNet's camelCase, the same 17 in the same order); `{score: 0, keypoints: []}` for none.
   */
  estimateSinglePose(image: PeerImage): Promise<Pose>;
  /** Frees the engine's model; later calls throw. */
  dispose(): Promise<void>;
}

/** Builds one MoveNet peer engine. */
export type MoveNetPeerFactory = (opts: MoveNetPeerOptions) => Promise<MoveNetPeerEngine>;

/** The model JSON and its weights, read once per path. */
const artifactsCache = new Map<string, ReturnType<typeof readTfjsGraphArtifacts>>();

function readArtifacts(modelJsonPath: string): ReturnType<typeof readTfjsGraphArtifacts> {
  let artifacts = artifactsCache.get(modelJsonPath);
  if (artifacts === undefined) {
    artifacts = readTfjsGraphArtifacts(modelJsonPath);
    artifactsCache.set(modelJsonPath, artifacts);
    artifacts.catch(() => artifactsCache.delete(modelJsonPath));
  }
  return artifacts;
}

/** The CommonJS exports object of tfjs-core, which pose-detection `require`s. */
const tfExports = (tfNamespace as unknown as { default: { getBackend(): string } }).default;
let dawnCalls = 0;
let realGetBackend: (() => string) | undefined;

/** Runs `fn` (a Dawn engine's call) with pose-detection seeing `webgpu-dawn` as `webgpu`. */
export async function asWebGpuName<T>(fn: () => Promise<T>): Promise<T> {
  if (dawnCalls++ === 0) {
    const real = realGetBackend = tfExports.getBackend;
    tfExports.getBackend = () => {
      const name = real();
      return name === "webgpu-dawn" ? "webgpu" : name;
    };
  }
  try {
    return await fn();
  } finally {
    if (--dawnCalls === 0) tfExports.getBackend = realGetBackend!;
  }
}

function createPeer(
  name: MoveNetPeerName,
  provider: WebGpuProvider | null,
  opts: MoveNetPeerOptions,
): Promise<MoveNetPeerEngine> {
  const spec = TFJS_MOVENET_MODELS[opts?.model];
  if (!spec) {
    throw new Error(
      `model must be one of ${Object.keys(TFJS_MOVENET_MODELS).join(", ")}, got ${opts?.model}`,
    );
  }
  if (typeof opts.modelJsonPath !== "string" || opts.modelJsonPath === "") {
    throw new Error(`modelJsonPath must be the path of ${opts.model}.json`);
  }
  const backend: TfjsBackend = tfjsBackendFor(provider);
  const run = <T>(fn: () => Promise<T>): Promise<T> =>
    withBackend(backend, backend === "webgpu-dawn" ? () => asWebGpuName(fn) : fn);
  return run(async () => {
    // Created while `backend` is active, so the weight tensors live on it.
    const detector = await createTfjsMoveNetDetector(
      opts.model,
      await readArtifacts(opts.modelJsonPath),
    );
    let disposed = false;
    const check = () => {
      if (disposed) throw new Error(`${name}: the engine was disposed`);
    };
    const where = provider !== null
      ? `webgpu backend (its own GPU device on ${provider})`
      : "wasm backend (XNNPACK, SIMD, 1 thread: tfjs-backend-wasm's threads cannot start " +
        "under Deno)";
    const estimatePoses = async (image: PeerImage): Promise<MoveNetPose[]> => {
      check();
      checkPeerImage(image);
      return await run(() => {
        check();
        return detector.estimatePoses(image);
      });
    };
    return {
      name,
      model: opts.model,
      inputSize: spec.inputSize,
      description: `@tensorflow-models/pose-detection ${POSE_DETECTION_VERSION} MoveNet ` +
        `${spec.modelType} estimatePoses on TF.js ${TFJS_VERSION} ${where}`,
      provider,
      estimatePoses,
      async estimateSinglePose(image: PeerImage): Promise<Pose> {
        const [pose] = await estimatePoses(image);
        return pose ? poseFromDetected(pose) : { score: 0, keypoints: [] };
      },
      dispose(): Promise<void> {
        return run(() => {
          if (!disposed) {
            disposed = true;
            detector.dispose();
          }
          return Promise.resolve();
        });
      },
    };
  });
}

/**
 * pose-detection MoveNet on TF.js's `webgpu` backend, on `opts.provider` (default Deno's WebGPU).
 *
 * @param opts Model, weights path, provider.
 * @returns The engine.
 */
export function createTfjsMoveNetWebGpu(opts: MoveNetPeerOptions): Promise<MoveNetPeerEngine> {
  return createPeer("tfjs-movenet-webgpu", opts?.provider ?? "deno", opts);
}

/**
 * pose-detection MoveNet on TF.js's `wasm` backend (1 thread).
 *
 * @param opts Model and weights path.
 * @returns The engine.
 */
export function createTfjsMoveNetWasm(opts: MoveNetPeerOptions): Promise<MoveNetPeerEngine> {
  return createPeer("tfjs-movenet-wasm", null, opts);
}

/** The MoveNet peer factories by name. */
export const MOVENET_PEER_FACTORIES: Readonly<Record<MoveNetPeerName, MoveNetPeerFactory>> = Object
  .freeze({
    "tfjs-movenet-webgpu": createTfjsMoveNetWebGpu,
    "tfjs-movenet-wasm": createTfjsMoveNetWasm,
  });
