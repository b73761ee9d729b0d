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
 * ## Backends, and interleaving engines
 *
 * TF.js has one active backend per process (`tf.setBackend`). Each engine remembers its backend
 * and loads its own copy of the weights while that backend is active, so its weight tensors live
 * on that backend. Every call (create, estimate, dispose) goes through one module-wide gate
 * ({@linkcode withBackend}): calls for the active backend run concurrently (so several frames in
 * flight on one engine overlap, as TF.js allows), and a call for the other backend waits until
 * every call in flight has ended, then switches (`tf.setBackend` of an initialised backend only
 * re-points TF.js: cheap). So 257 and 513 engines on `webgpu` and `wasm` can be interleaved in
 * any order without a tensor ever being used while another backend is active. Backends are never
 * removed: `dispose()` frees the engine's weights only (the webgpu backend keeps its device).
 *
 * - `webgpu` (`@tensorflow/tfjs-backend-webgpu` 4.22.0): requests its own adapter and device
 *   from `navigator.gpu` (separate from this project's engine), default flags.
 * - `webgpu-dawn`: the same backend class and kernels on its own device from the Dawn adapter.
 * - `wasm` (`@tensorflow/tfjs-backend-wasm` 4.22.0, XNNPACK, SIMD): ONE thread.
 *   Its `WASM_HAS_MULTITHREAD_SUPPORT` check returns false whenever TF.js sees Node (`IS_NODE`,
 *   which Deno's `process` global makes true), and its threaded build's pthread workers are
 *   Node `worker_threads` scripts: threads cannot start under Deno. The `.wasm` binaries are
 *   located in the npm package with `import.meta.resolve` and passed to `setWasmPaths`.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import type * as posenet from "@tensorflow-models/posenet";
import { fileURLToPath } from "node:url";
import { requestDawnAdapter } from "../../kernels/_dawn_adapter.ts";
import type { WebGpuProvider } from "../../kernels/webgpu_provider.ts";
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

/** The TF.js version deno.json pins (core, converter and both backends). */
export const TFJS_VERSION = "4.22.0";
/** The posenet version deno.json pins. */
export const POSENET_VERSION = "2.2.2";

/** `webgpu` runs on Deno's `navigator.gpu`; `webgpu-dawn` is the same backend on Dawn. */
type TfjsBackend = "webgpu" | "webgpu-dawn" | "wasm";

/** The TF.js backend name of the webgpu backend on each provider. */
const WEBGPU_BACKEND: Record<WebGpuProvider, TfjsBackend> = {
  deno: "webgpu",
  dawn: "webgpu-dawn",
};

/** The `.wasm` binaries tfjs-backend-wasm may ask for. */
const WASM_BINARIES = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "tfjs-backend-wasm-threaded-simd.wasm",
] as const;

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

/** The calls in flight on the active backend. */
interface BackendGroup {
  readonly backend: TfjsBackend;
  /** Settles once the backend is active (rejects when it failed to initialise). */
  readonly ready: Promise<void>;
  count: number;
  /** Resolves when the last call of the group ends. */
  readonly idle: Promise<void>;
  readonly resolveIdle: () => void;
}

let group: BackendGroup | undefined;

/**
 * Runs `fn` with `backend` active. Calls on the backend already active join the calls in flight
 * (TF.js runs those concurrently, as posenet in a browser would); a call for another backend
 * waits until every call in flight has ended, then switches. Calls on one backend can thus delay
 * a switch as long as they keep coming; the benchmark never does that.
 */
async function withBackend<T>(backend: TfjsBackend, fn: () => Promise<T>): Promise<T> {
  while (group !== undefined && group.backend !== backend) await group.idle;
  if (group === undefined) {
    let resolveIdle!: () => void;
    const idle = new Promise<void>((resolve) => resolveIdle = resolve);
    group = { backend, ready: activate(backend), count: 0, idle, resolveIdle };
  }
  const g = group;
  g.count++;
  try {
    await g.ready;
    return await fn();
  } finally {
    if (--g.count === 0) {
      if (group === g) group = undefined;
      g.resolveIdle();
    }
  }
}

let wasmPathsSet = false;
let dawnRegistered = false;

/**
 * Registers `webgpu-dawn`: TF.js's `WebGPUBackend` on a device from the Dawn adapter, with the
 * limits tfjs-backend-webgpu's own registration asks for, and every `webgpu` kernel registered
 * under the new name too (kernels are looked up by backend name).
 */
function registerDawnBackend(): void {
  if (dawnRegistered) return;
  dawnRegistered = true;
  tf.registerBackend("webgpu-dawn", async () => {
    const { adapter } = await requestDawnAdapter();
    const limits = adapter.limits;
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      },
    });
    return new WebGPUBackend(device, adapter.info);
  }, 2);
  for (const kernel of tf.getKernelsForBackend("webgpu")) {
    tf.registerKernel({ ...kernel, backendName: "webgpu-dawn" });
  }
}

/** Makes `backend` the active TF.js backend (initialising it on first use). */
async function activate(backend: TfjsBackend): Promise<void> {
  if (tf.getBackend() === backend) return;
  if (backend === "webgpu-dawn") registerDawnBackend();
  if (backend === "wasm" && !wasmPathsSet) {
    const map: Record<string, string> = {};
    for (const name of WASM_BINARIES) {
      map[name] = fileURLToPath(import.meta.resolve(`@tensorflow/tfjs-backend-wasm/dist/${name}`));
    }
    setWasmPaths(map);
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend(backend))) {
    throw new Error(`TF.js backend "${backend}" failed to initialise`);
  }
  await tf.ready();
}

function toPose(pose: posenet.Pose): Pose {
  return {
    score: pose.score,
    keypoints: pose.keypoints.map((k) => ({
      part: k.part,
      score: k.score,
      position: { x: k.position.x, y: k.position.y },
    })),
  };
}

/** A TF.js peer on the webgpu backend of `provider`, or on the wasm backend when it is `null`. */
function createTfjsPeer(
  name: PeerName,
  provider: WebGpuProvider | null,
  opts: PeerOptions,
): Promise<PeerEngine> {
  checkPeerOptions(opts);
  const backend: TfjsBackend = provider === null ? "wasm" : WEBGPU_BACKEND[provider];
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
          return toPose(pose);
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
