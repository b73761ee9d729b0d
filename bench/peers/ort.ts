/**
 * ONNX Runtime Web 1.30 peers: `ort-wasm-1t`, `ort-wasm-2t` and `ort-webgpu`.
 *
 * Each runs the whole network as one ONNX graph (`reference/posenet_onnx.ts`, NHWC input `image`
 * `[1, R, R, 3]`) built from the same `posenet.json` weights at the engine's resolution, output
 * stride 16. The CPU does the rest of the job, as the TF.js peers' posenet does on its backend:
 * PoseNet's preprocessing in float32 (`cpu_preprocess.ts`) and the single-pose decode
 * (`decodeSinglePose` with `inputTransformFor`) on the `heatmap` and `offsets` heads read back.
 * Only those two heads are fetched, as posenet's `estimateSinglePose` reads only those two; ORT
 * still computes all four.
 *
 * ## One ORT module instance per thread count
 *
 * ORT Web initialises its WebAssembly module once per module instance, with a global intra-op
 * thread pool of `env.wasm.numThreads` threads that every session of that instance shares (its
 * per-session `intraOpNumThreads` is ignored in the wasm build). A single instance therefore
 * cannot serve a 1-thread and a 2-thread engine. This file imports the ORT bundle (the file
 * `onnxruntime-web` maps to in deno.json) once per thread count, under distinct URLs
 * (`…/ort.webgpu.bundle.min.mjs?threads=N`), so each is its own module with its own wasm
 * instance. `ort-webgpu` shares the 1-thread instance: its work runs on the GPU (and on
 * llvmpipe the GPU's work needs the CPU cores), so ORT's own CPU threads would only compete.
 *
 * ## Concurrent calls
 *
 * ORT Web has no guard against two `run`s of one wasm instance at once (and its asyncify build
 * cannot interleave them), so every `run` and session creation of an instance takes that
 * instance's lock. Calls in flight together on an engine still overlap their CPU preprocessing
 * and decode with another call's `run`; each takes its own input buffer from a small pool.
 *
 * ## The `blob:` trap (Deno, numThreads > 1)
 *
 * With more than one thread, ORT loads its threaded Emscripten glue
 * (`ort-wasm-simd-threaded.asyncify.mjs`) itself: it sees no `location` (so no same origin),
 * `fetch`es the file, wraps it with `URL.createObjectURL(blob)` and `import()`s the `blob:` URL.
 * Deno's module loader rejects that with `ERR_UNSUPPORTED_ESM_URL_SCHEME 'blob'`.
 * {@linkcode withOrtBlobUrlPatch}, around the creation of every 2-thread session (only the first
 * one of an instance fetches), wraps `fetch` and `URL.createObjectURL` narrowly: a response
 * fetched from ORT's own `dist/` directory for an `.mjs` file remembers its URL on the `Blob` its
 * `.blob()` returns, and `URL.createObjectURL` of exactly that `Blob` returns the original
 * `file:` URL. ORT then `import()`s the file itself, and its pthread workers start from the
 * glue's `import.meta.url`, a `file:` URL Deno can load. Every other fetch and blob is untouched.
 * After each session is created, `env.wasm.numThreads` is checked to still be the requested count
 * (ORT silently falls back to 1 thread when it thinks threads are unavailable), and
 * `tests/bench_peers_test.ts` checks from per-thread CPU times that a second thread does work.
 *
 * ## The WebGPU EP
 *
 * ORT requests its own adapter and device from `navigator.gpu` (Deno's provider), or its own device
 * from the Dawn adapter it is given: either way a device separate from this project's engine. Inputs go up from and outputs come back to the CPU (ORT's default
 * `preferredOutputLocation: "cpu"`).
 *
 * @module
 */

import type * as OrtNs from "onnxruntime-web";
import { decodeSinglePose } from "../../decode/single_pose.ts";
import { requestDawnAdapter } from "../../runtime/_dawn_adapter.ts";
import type { WebGpuProvider } from "../../runtime/webgpu_provider.ts";
import { resolveLayerSchedule } from "../../models/architecture.ts";
import { loadTfjsGraphModel } from "../../models/tfjs_graph_model.ts";
import {
  buildPoseNetOnnx,
  POSENET_ONNX_INPUT,
  POSENET_ONNX_OUTPUTS,
} from "../../reference/posenet_onnx.ts";
import { preprocessRgba } from "./cpu_preprocess.ts";
import {
  checkNotDisposed,
  checkPeerImage,
  checkPeerOptions,
  PEER_OUTPUT_STRIDE,
  type PeerEngine,
  type PeerImage,
  type PeerName,
  type PeerOptions,
  type Pose,
} from "./peer.ts";

type Ort = typeof OrtNs;

/** The ORT Web version deno.json pins. */
export const ORT_VERSION = "1.30.0";

/** The file `onnxruntime-web` resolves to (the `webgpu` bundle, wasm EP included). */
const ORT_MODULE_URL = import.meta.resolve("onnxruntime-web");
/** ORT's `dist/` directory, where its glue `.mjs` and `.wasm` files sit beside the bundle. */
const ORT_DIST_URL = ORT_MODULE_URL.slice(0, ORT_MODULE_URL.lastIndexOf("/") + 1);

let blobPatchUsers = 0;
let restoreBlobPatch: (() => void) | undefined;

/**
 * Runs `fn` with ORT's multi-threaded wasm made loadable under Deno (see the module doc):
 * meanwhile, `URL.createObjectURL` of a `Blob` read from a `fetch` of one of ORT's own `.mjs`
 * files returns that file's original URL instead of a `blob:` URL; every other fetch and blob is
 * untouched. ORT fetches its glue only while the first session of a module instance initialises
 * the wasm, so the patch is only in place around session creation, and both globals are restored
 * when the last overlapping `fn` ends (unless someone else replaced them meanwhile).
 *
 * @param fn What needs the patch (creating a session with numThreads > 1).
 * @returns `fn`'s result.
 */
export async function withOrtBlobUrlPatch<T>(fn: () => Promise<T>): Promise<T> {
  if (blobPatchUsers++ === 0) restoreBlobPatch = installBlobUrlPatch();
  try {
    return await fn();
  } finally {
    if (--blobPatchUsers === 0) {
      restoreBlobPatch?.();
      restoreBlobPatch = undefined;
    }
  }
}

/** Installs the patch; returns the function that removes it. */
function installBlobUrlPatch(): () => void {
  const sourceOf = new WeakMap<Blob, string>();
  const originalFetch = globalThis.fetch;
  const patchedFetch = async (
    input: RequestInfo | URL,
    init?: RequestInit,
  ): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const response = await originalFetch(input, init);
    if (url.startsWith(ORT_DIST_URL) && url.endsWith(".mjs")) {
      const blob = response.blob.bind(response);
      response.blob = async () => {
        const b = await blob();
        sourceOf.set(b, url);
        return b;
      };
    }
    return response;
  };
  const originalCreateObjectURL = URL.createObjectURL;
  const patchedCreateObjectURL = (obj: Blob): string =>
    sourceOf.get(obj) ?? originalCreateObjectURL(obj);
  globalThis.fetch = patchedFetch as typeof fetch;
  URL.createObjectURL = patchedCreateObjectURL;
  return () => {
    if (globalThis.fetch === patchedFetch) globalThis.fetch = originalFetch;
    if (URL.createObjectURL === patchedCreateObjectURL) {
      URL.createObjectURL = originalCreateObjectURL;
    }
  };
}

/** One ORT module instance and the lock its runs take. */
export interface OrtInstance {
  readonly ort: Ort;
  /** Runs `fn` after every earlier locked call on this instance has settled. */
  readonly locked: <T>(fn: () => Promise<T>) => Promise<T>;
}

const instances = new Map<string, Promise<OrtInstance>>();

/**
 * The ORT module instance whose wasm runs `numThreads` threads and whose WebGPU EP (if used) runs
 * on `provider` (imported on first use). ORT keeps one WebGPU adapter per module instance, so each
 * provider has its own instance too; on Dawn, `env.webgpu.adapter` is set to the adapter the
 * project's Dawn provider finds (ORT then requests its own device from it). Shared with the MoveNet
 * peers (`ort_movenet.ts`).
 */
export function ortInstance(
  numThreads: number,
  provider: WebGpuProvider,
): Promise<OrtInstance> {
  const key = `threads=${numThreads}&provider=${provider}`;
  let instance = instances.get(key);
  if (instance === undefined) {
    instance = (async () => {
      const ort = (await import(`${ORT_MODULE_URL}?${key}`)) as Ort;
      ort.env.logLevel = "error";
      ort.env.wasm.numThreads = numThreads;
      if (provider === "dawn") {
        ort.env.webgpu.adapter = (await requestDawnAdapter()).adapter;
      }
      let queue: Promise<unknown> = Promise.resolve();
      const locked = <T>(fn: () => Promise<T>): Promise<T> => {
        const run = queue.then(fn, fn);
        queue = run.catch(() => {});
        return run;
      };
      return { ort, locked };
    })();
    instances.set(key, instance);
    instance.catch(() => instances.delete(key));
  }
  return instance;
}

/** The ONNX graph of the whole network at R×R, output stride 16. */
async function buildModel(opts: PeerOptions): Promise<Uint8Array> {
  const weights = await loadTfjsGraphModel(opts.modelJsonPath);
  const layers = [weights.conv0, ...weights.blocks.map((b) => b.depthwise)];
  const schedule = resolveLayerSchedule(
    layers.map((l) => l.stride),
    PEER_OUTPUT_STRIDE,
    layers.map((l) => l.dilation),
  );
  return buildPoseNetOnnx(weights, schedule, opts.resolution, opts.resolution);
}

type OrtEp = "wasm" | "webgpu";

async function createOrtPeer(
  name: PeerName,
  ep: OrtEp,
  numThreads: number,
  opts: PeerOptions,
): Promise<PeerEngine> {
  checkPeerOptions(opts);
  const r = opts.resolution;
  const side = (r - 1) / PEER_OUTPUT_STRIDE + 1;
  const provider = ep === "webgpu" ? opts.provider ?? "deno" : null;
  const [{ ort, locked }, model] = await Promise.all([
    ortInstance(numThreads, provider ?? "deno"),
    buildModel(opts),
  ]);
  const create = () =>
    ort.InferenceSession.create(model, {
      executionProviders: [ep],
      graphOptimizationLevel: "all",
    });
  const session = await locked(() => numThreads > 1 ? withOrtBlobUrlPatch(create) : create());
  if (ort.env.wasm.numThreads !== numThreads) {
    await session.release();
    throw new Error(
      `${name}: ORT runs ${ort.env.wasm.numThreads} wasm thread(s), ${numThreads} requested`,
    );
  }
  // Input buffers, reused; calls in flight at once each take their own.
  const freeInputs: Float32Array[] = [];
  // Not read by the single-pose decode, which only checks their lengths.
  const unusedDisplacements = new Float32Array(side * side * 32);
  const fetches = [POSENET_ONNX_OUTPUTS.heatmap, POSENET_ONNX_OUTPUTS.offsets];
  let disposed = false;

  const description = ep === "wasm"
    ? `onnxruntime-web ${ORT_VERSION}, wasm EP (SIMD, ${numThreads} thread${
      numThreads > 1 ? "s" : ""
    }), ONNX graph from reference/posenet_onnx.ts; CPU preprocess + decode`
    : `onnxruntime-web ${ORT_VERSION}, webgpu EP (ORT's own device on ${provider}), ONNX graph from ` +
      `reference/posenet_onnx.ts; CPU preprocess + decode, heatmap+offsets read back`;

  return {
    name,
    description,
    provider,
    async estimateSinglePose(image: PeerImage): Promise<Pose> {
      checkNotDisposed(name, disposed);
      checkPeerImage(image);
      const input = freeInputs.pop() ?? new Float32Array(r * r * 3);
      const { transform } = preprocessRgba(image, r, r, input);
      const out = await locked(() => {
        checkNotDisposed(name, disposed);
        const feeds = { [POSENET_ONNX_INPUT]: new ort.Tensor("float32", input, [1, r, r, 3]) };
        return session.run(feeds, fetches);
      }).finally(() => freeInputs.push(input));
      try {
        return decodeSinglePose({
          height: side,
          width: side,
          outputStride: PEER_OUTPUT_STRIDE,
          heatmap: out[POSENET_ONNX_OUTPUTS.heatmap].data as Float32Array,
          offsets: out[POSENET_ONNX_OUTPUTS.offsets].data as Float32Array,
          displacementFwd: unusedDisplacements,
          displacementBwd: unusedDisplacements,
        }, transform);
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

/** ORT Web, `wasm` EP, 1 thread. */
export function createOrtWasm1t(opts: PeerOptions): Promise<PeerEngine> {
  return createOrtPeer("ort-wasm-1t", "wasm", 1, opts);
}

/** ORT Web, `wasm` EP, 2 threads (see the module doc for the `blob:` patch this needs). */
export function createOrtWasm2t(opts: PeerOptions): Promise<PeerEngine> {
  return createOrtPeer("ort-wasm-2t", "wasm", 2, opts);
}

/** ORT Web, `webgpu` EP, on ORT's own WebGPU device. */
export function createOrtWebGpu(opts: PeerOptions): Promise<PeerEngine> {
  return createOrtPeer("ort-webgpu", "webgpu", 1, opts);
}
