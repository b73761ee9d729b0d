/**
 * The one TF.js backend a process has active at a time, shared by every TF.js bench peer
 * (`tfjs.ts`: PoseNet; `tfjs_movenet.ts`: pose-detection's MoveNet), so engines of either kind on
 * `webgpu`, `webgpu-dawn` and `wasm` can be interleaved in one process.
 *
 * TF.js has one active backend per process (`tf.setBackend`). Each engine remembers its backend
 * and loads its own copy of the weights while that backend is active, so its weight tensors live
 * on that backend. Every call (create, estimate, dispose) goes through one module-wide gate
 * ({@linkcode withBackend}): calls for the active backend run concurrently (so several frames in
 * flight on one engine overlap, as TF.js allows), and a call for the other backend waits until
 * every call in flight has ended, then switches (`tf.setBackend` of an initialised backend only
 * re-points TF.js: cheap). Backends are never removed.
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
import { fileURLToPath } from "node:url";
import { requestDawnAdapter } from "../../runtime/_dawn_adapter.ts";
import type { WebGpuProvider } from "../../runtime/webgpu_provider.ts";

/** The TF.js version deno.json pins (core, converter and both backends). */
export const TFJS_VERSION = "4.22.0";

/** `webgpu` runs on Deno's `navigator.gpu`; `webgpu-dawn` is the same backend on Dawn. */
export type TfjsBackend = "webgpu" | "webgpu-dawn" | "wasm";

/** The TF.js backend name of the webgpu backend on each provider. */
export const WEBGPU_BACKEND: Readonly<Record<WebGpuProvider, TfjsBackend>> = {
  deno: "webgpu",
  dawn: "webgpu-dawn",
};

/** The `.wasm` binaries tfjs-backend-wasm may ask for. */
const WASM_BINARIES = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "tfjs-backend-wasm-threaded-simd.wasm",
] as const;

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
export async function withBackend<T>(backend: TfjsBackend, fn: () => Promise<T>): Promise<T> {
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

/**
 * The TF.js backend of a peer: the webgpu backend of `provider`, or wasm when it is `null`.
 *
 * @param provider The WebGPU provider, or `null` for the CPU peer.
 * @returns The backend name.
 */
export function tfjsBackendFor(provider: WebGpuProvider | null): TfjsBackend {
  return provider === null ? "wasm" : WEBGPU_BACKEND[provider];
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
