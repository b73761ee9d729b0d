/**
 * TF.js 4.22 peers: `tfjs-webgpu` and `tfjs-wasm`, each running the ORIGINAL
 * `@tensorflow-models/posenet` 2.2.2 `PoseNet.estimateSinglePose` (its preprocessing, tfjs-converter
 * executing the graph model, its decode) on one TF.js backend. This is what
 * `tests/fixtures/make_tfjs_reference.ts` does on the `cpu` backend to make the reference, with
 * the same code (`reference/tfjs_posenet.ts`): the same two in-memory edits to the model JSON
 * (`prepareTfjsPoseNetModel`) and the same wrapping, `new PoseNet(new MobileNet(graphModel, 16),
 * [R, R])` (`createTfjsPoseNet`), fed an ImageData-like `{data, width, height}` (posenet's
 * `tf.browser.fromPixels` drops alpha).
 *
 * Both run through the module-wide TF.js backend gate of `_tfjs_backend.ts` (one active backend
 * per process, shared with the MoveNet peers), so 257 and 513 engines on `webgpu` (Deno's or
 * Dawn's) and `wasm` can be interleaved in any order. `dispose()` frees the engine's weights only
 * (the webgpu backend keeps its device). The wasm backend runs ONE thread: tfjs-backend-wasm's
 * threads cannot start under Deno (see `_tfjs_backend.ts`).
 *
 * @module
 */

import type * as tf from "@tensorflow/tfjs-core";
import type { WebGpuProvider } from "../../runtime/webgpu_provider.ts";
import { plainPose } from "../../detectors/pose_shapes.ts";
import { TFJS_VERSION, type TfjsBackend, tfjsBackendFor, withBackend } from "./_tfjs_backend.ts";
import {
  createTfjsPoseNet,
  loadTfjsPoseNetGraph,
  readTfjsPoseNetArtifacts,
} from "../../reference/tfjs_posenet.ts";
import {
  checkNotDisposed,
  checkPeerImage,
  checkPeerOptions,
  type PeerEngine,
  type PeerImage,
  type PeerName,
  type PeerOptions,
  type Pose,
} from "./peer.ts";

export { TFJS_VERSION } from "./_tfjs_backend.ts";
/** The posenet version deno.json pins. */
export const POSENET_VERSION = "2.2.2";

/** The model JSON (prepared for posenet) and its weights, read once per path. */
const artifactsCache = new Map<string, Promise<tf.io.ModelArtifacts>>();

function readArtifacts(modelJsonPath: string): Promise<tf.io.ModelArtifacts> {
  let artifacts = artifactsCache.get(modelJsonPath);
  if (artifacts === undefined) {
    artifacts = readTfjsPoseNetArtifacts(modelJsonPath);
    artifactsCache.set(modelJsonPath, artifacts);
    artifacts.catch(() => artifactsCache.delete(modelJsonPath));
  }
  return artifacts;
}

/** A TF.js peer on the webgpu backend of `provider`, or on the wasm backend when it is `null`. */
function createTfjsPeer(
  name: PeerName,
  provider: WebGpuProvider | null,
  opts: PeerOptions,
): Promise<PeerEngine> {
  checkPeerOptions(opts);
  const backend: TfjsBackend = tfjsBackendFor(provider);
  const r = opts.resolution;
  return withBackend(backend, async () => {
    // Loaded while `backend` is active, so the weight tensors live on it.
    const model = await loadTfjsPoseNetGraph(await readArtifacts(opts.modelJsonPath));
    const net = createTfjsPoseNet(model, r);
    let disposed = false;
    const description = provider !== null
      ? `@tensorflow-models/posenet ${POSENET_VERSION} estimateSinglePose on TF.js ` +
        `${TFJS_VERSION} webgpu backend (its own GPU device on ${provider})`
      : `@tensorflow-models/posenet ${POSENET_VERSION} estimateSinglePose on TF.js ` +
        `${TFJS_VERSION} wasm backend (XNNPACK, SIMD, 1 thread: tfjs-backend-wasm's threads ` +
        `cannot start under Deno)`;
    return {
      name,
      description,
      provider,
      estimateSinglePose(image: PeerImage): Promise<Pose> {
        checkNotDisposed(name, disposed);
        checkPeerImage(image);
        const input = { data: image.data, width: image.width, height: image.height };
        return withBackend(backend, async () => {
          checkNotDisposed(name, disposed);
          const pose = await net.estimateSinglePose(input as unknown as ImageData, {
            flipHorizontal: false,
          });
          return plainPose(pose);
        });
      },
      dispose(): Promise<void> {
        return withBackend(backend, () => {
          if (!disposed) {
            disposed = true;
            net.dispose();
          }
          return Promise.resolve();
        });
      },
    };
  });
}

/** TF.js `webgpu` backend + posenet 2.2.2, on `opts.provider` (default Deno's WebGPU). */
export function createTfjsWebGpu(opts: PeerOptions): Promise<PeerEngine> {
  return createTfjsPeer("tfjs-webgpu", opts.provider ?? "deno", opts);
}

/** TF.js `wasm` backend (1 thread) + posenet 2.2.2. */
export function createTfjsWasm(opts: PeerOptions): Promise<PeerEngine> {
  return createTfjsPeer("tfjs-wasm", null, opts);
}
