/**
 * Finding a WebGPU adapter and device on the chosen provider (Deno's built-in WebGPU, the page's
 * in a browser, or Dawn, see `webgpu_provider.ts`), checking the limits the kernels rely on, and
 * turning device loss into an error instead of a hang.
 *
 * @module
 */

import { DeviceLostError, InvalidInputError, WebGpuUnavailableError } from "../errors.ts";
import { showJson } from "../_describe.ts";
import { type FeatureLevel, requestDawnAdapter } from "./_dawn_adapter.ts";
import { readEnv } from "./_env.ts";
import { WORKGROUP_SIZE } from "../shaders/wgsl_common.ts";
import { resolveWebGpuProvider, type WebGpuProvider } from "./webgpu_provider.ts";

export type { FeatureLevel };

/**
 * What the adapter says about itself, copied out of `GPUAdapterInfo`, and which provider and
 * backend it came from.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "./gpu_context.ts";
 *
 * const gpu = await createGpuContext();
 * const { description, isFallbackAdapter, provider, backend, featureLevel } = gpu.adapter;
 * console.log(description, isFallbackAdapter ? "(software)" : "", provider, backend, featureLevel);
 * gpu.destroy();
 * ```
 */
export interface AdapterSummary {
  /** Vendor string or id. */
  readonly vendor: string;
  /** Architecture, often empty. */
  readonly architecture: string;
  /** Driver description, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`. */
  readonly description: string;
  /** Whether the adapter is a software fallback (llvmpipe / lavapipe). */
  readonly isFallbackAdapter: boolean;
  /** The WebGPU implementation that runs the work. */
  readonly provider: WebGpuProvider;
  /**
   * The native API under it: for Dawn the backend it runs on (`vulkan`, `opengl`, …); for Deno
   * `DENO_WEBGPU_BACKEND` when set, else `"default"`.
   */
  readonly backend: string;
  /** WebGPU feature level of the adapter: `"core"`, or `"compatibility"` (e.g. Dawn on OpenGL). */
  readonly featureLevel: FeatureLevel;
}

/**
 * Options for {@linkcode createGpuContext}.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "./gpu_context.ts";
 *
 * const gpu = await createGpuContext({ powerPreference: "high-performance" });
 * gpu.destroy();
 * ```
 *
 * @example In a web page: WebGPU compatibility mode, where a GPU-less headless Chromium has lavapipe
 * ```ts ignore
 * import { createGpuContext, load } from "@posekit/posenet-webgpu";
 *
 * const gpu = await createGpuContext({ featureLevel: "compatibility" });
 * const net = await load({ modelUrl: "models/posenet.json", context: gpu }); // fetched over HTTP
 * ```
 *
 * @example Dawn, on its OpenGL backend only
 * ```ts ignore
 * import { createGpuContext } from "./gpu_context.ts";
 *
 * // deno run --allow-ffi --allow-env --allow-read app.ts
 * const gpu = await createGpuContext({ provider: "dawn", dawnBackend: "opengl" });
 * console.log(gpu.adapter.provider, gpu.adapter.backend); // dawn opengl
 * gpu.destroy();
 * ```
 */
export interface GpuContextOptions {
  /** Adapter power preference. */
  readonly powerPreference?: GPUPowerPreference;
  /**
   * The WebGPU feature level to ask `navigator.gpu` for: `"core"`, or `"compatibility"` (WebGPU
   * compatibility mode, e.g. OpenGL ES; in headless Chromium without a GPU, the ANGLE adapter on
   * Mesa's lavapipe, where a plain request gets the slower SwiftShader). Default: core, then
   * compatibility when no core adapter exists. Dawn probes its backends' levels itself.
   */
  readonly featureLevel?: FeatureLevel;
  /**
   * The WebGPU implementation: `"deno"` (the host's `navigator.gpu`) or `"dawn"` (the npm
   * package `webgpu`, loaded on first use; needs `--allow-ffi`). Default: `$POSENET_WEBGPU`, else
   * `"deno"`.
   */
  readonly provider?: WebGpuProvider;
  /**
   * Dawn only: the one backend to try (`vulkan`, `opengl`, `opengles`, `metal`, `d3d12`, `d3d11`).
   * Default: `$POSENET_DAWN_BACKEND`, else Vulkan, then OpenGL, then OpenGL ES on Linux.
   */
  readonly dawnBackend?: string;
  /** Dawn only: extra flags for its `create()`, e.g. `["enable-dawn-features=…"]`. */
  readonly dawnFlags?: readonly string[];
}

/**
 * A WebGPU device with what the runtime needs to know about it. Create one with
 * {@linkcode createGpuContext}; every kernel and model takes one.
 *
 * @example Share one device between models
 * ```ts
 * import { createGpuContext, load } from "../mod.ts";
 *
 * // One device shared by two models; the caller owns it and destroys it last.
 * const gpu = await createGpuContext();
 * console.log(gpu.maxStorageBufferBindingSize, gpu.hasTimestampQuery);
 * const a = await load({ inputResolution: 257, context: gpu });
 * const b = await load({ inputResolution: 353, context: gpu });
 * a.dispose();
 * b.dispose();
 * gpu.destroy();
 * ```
 */
export interface GpuContext {
  /** The device all kernels run on. */
  readonly device: GPUDevice;
  /** What the adapter reported. */
  readonly adapter: AdapterSummary;
  /** Whether `timestamp-query` was enabled on the device. */
  readonly hasTimestampQuery: boolean;
  /** The largest storage-buffer binding the device accepts, in bytes. */
  readonly maxStorageBufferBindingSize: number;
  /** The largest buffer the device accepts, in bytes. */
  readonly maxBufferSize: number;
  /** The largest workgroup count per dispatch dimension. */
  readonly maxWorkgroupsPerDimension: number;
  /** Why the device was lost, or `undefined` while it is alive. */
  readonly lostReason: string | undefined;
  /**
   * Throws {@linkcode DeviceLostError} if the device is lost. Call before encoding work.
   */
  assertAlive(): void;
  /**
   * Waits for `promise` (a `mapAsync` or `onSubmittedWorkDone`) but rejects with
   * {@linkcode DeviceLostError} as soon as the device is lost, so no caller hangs on a dead device.
   */
  guard<T>(promise: Promise<T>): Promise<T>;
  /** Destroys the device. Pending and later work rejects with {@linkcode DeviceLostError}. */
  destroy(): void;
}

/** Storage buffers one kernel binds at most (input, weights, bias, output, plus spares). */
const REQUIRED_STORAGE_BUFFERS = 6;
/** How long a failed `mapAsync` waits for `device.lost` before it is reported as it is. */
const LOSS_GRACE_MS = 100;

const HOW_TO_GET_WEBGPU_IN_DENO = "On a machine without a GPU, install Mesa's software drivers " +
  "(`apt-get install -y mesa-vulkan-drivers`), then pick the backend with " +
  "DENO_WEBGPU_BACKEND=vulkan (lavapipe) or DENO_WEBGPU_BACKEND=gl (llvmpipe); or run on Dawn " +
  '(provider "dawn", POSENET_WEBGPU=dawn, with --allow-ffi).';

const HOW_TO_GET_WEBGPU_IN_A_PAGE = "In a web page WebGPU needs a browser that has it " +
  "(Chrome or Edge 113+, Safari 26, Firefox 141+ on Windows) and a secure context (https: or " +
  "http://localhost); headless Chromium needs --enable-unsafe-webgpu, and on a machine without a " +
  'GPU also --use-webgpu-adapter=opengles --use-angle=vulkan with featureLevel "compatibility".';

/** Whether this runs in Deno (else a web page or worker). */
function inDeno(): boolean {
  return (globalThis as { Deno?: unknown }).Deno !== undefined;
}

/** How to get WebGPU where this runs: Deno's drivers and providers, or a browser's. */
function howToGetWebGpu(): string {
  return inDeno() ? HOW_TO_GET_WEBGPU_IN_DENO : HOW_TO_GET_WEBGPU_IN_A_PAGE;
}

/** An adapter from one provider, before a device is requested from it. */
interface ProvidedAdapter {
  readonly adapter: GPUAdapter;
  readonly backend: string;
  readonly featureLevel: FeatureLevel;
  /** What must stay referenced while the device lives (Dawn's instance). */
  readonly owner?: unknown;
}

/**
 * Requests a WebGPU adapter and device from the chosen provider, checks the limits the kernels
 * rely on, and watches for device loss.
 *
 * @param options Provider and adapter preferences.
 * @returns A ready {@linkcode GpuContext}.
 * @throws {InvalidInputError} When `provider` (or `$POSENET_WEBGPU`) is not a provider name, or
 *   `featureLevel` is not a feature level.
 * @throws {WebGpuUnavailableError} When the provider cannot start, or no adapter or device can be
 * had; the message names the provider, what was tried and how to fix it.
 *
 * @example Run on whatever adapter the system offers
 * ```ts
 * import { createGpuContext } from "./gpu_context.ts";
 * const gpu = await createGpuContext();
 * console.log(gpu.adapter.provider, gpu.adapter.description);
 * gpu.destroy();
 * ```
 */
export async function createGpuContext(options: GpuContextOptions = {}): Promise<GpuContext> {
  const provider = resolveWebGpuProvider(options.provider);
  if (
    options.featureLevel !== undefined && !["core", "compatibility"].includes(options.featureLevel)
  ) {
    throw new InvalidInputError(
      `featureLevel must be "core" or "compatibility", got ${showJson(options.featureLevel)}`,
    );
  }
  if (provider === "dawn" && !inDeno()) {
    throw new WebGpuUnavailableError(
      'the "dawn" WebGPU provider (the npm package webgpu) runs only in Deno; in a web page the ' +
        `browser's own WebGPU is used (provider "deno": navigator.gpu). ${howToGetWebGpu()}`,
    );
  }
  const provided = provider === "dawn"
    ? await dawnAdapter(options)
    : await navigatorAdapter(options.powerPreference, options.featureLevel);
  const { adapter } = provided;
  const limits = adapter.limits;
  const problems: string[] = [];
  if (limits.maxStorageBuffersPerShaderStage < REQUIRED_STORAGE_BUFFERS) {
    problems.push(
      `maxStorageBuffersPerShaderStage is ${limits.maxStorageBuffersPerShaderStage}, ` +
        `need ${REQUIRED_STORAGE_BUFFERS}`,
    );
  }
  if (limits.maxComputeInvocationsPerWorkgroup < WORKGROUP_SIZE) {
    problems.push(
      `maxComputeInvocationsPerWorkgroup is ${limits.maxComputeInvocationsPerWorkgroup}, ` +
        `need ${WORKGROUP_SIZE}`,
    );
  }
  if (problems.length > 0) {
    throw new WebGpuUnavailableError(
      `the ${provider} WebGPU adapter lacks limits the kernels need: ${problems.join("; ")}`,
    );
  }
  const hasTimestampQuery = adapter.features.has("timestamp-query");
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredFeatures: hasTimestampQuery ? ["timestamp-query"] : [],
      requiredLimits: {
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxStorageBuffersPerShaderStage: REQUIRED_STORAGE_BUFFERS,
      },
    });
  } catch (cause) {
    throw new WebGpuUnavailableError(
      `requesting a WebGPU device from the ${provider} provider failed: ${
        (cause as Error).message
      }`,
      { cause },
    );
  }
  const info = adapter.info;
  const summary: AdapterSummary = {
    vendor: String(info?.vendor ?? ""),
    architecture: String(info?.architecture ?? ""),
    description: String(info?.description || info?.device || ""),
    isFallbackAdapter: Boolean(
      (info as GPUAdapterInfo & { isFallbackAdapter?: boolean })?.isFallbackAdapter,
    ),
    provider,
    backend: provided.backend,
    featureLevel: provided.featureLevel,
  };
  return new WatchedGpuContext(device, summary, hasTimestampQuery, provided.owner);
}

/**
 * Deno's built-in WebGPU (or a page's): the asked-for feature level, else core first, then
 * compatibility mode.
 */
async function navigatorAdapter(
  powerPreference: GPUPowerPreference | undefined,
  asked: FeatureLevel | undefined,
): Promise<ProvidedAdapter> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new WebGpuUnavailableError(
      `WebGPU is not available here (navigator.gpu is undefined). ${howToGetWebGpu()}`,
    );
  }
  const backend = readEnv("DENO_WEBGPU_BACKEND") ?? (inDeno() ? "default" : "browser");
  const levels: readonly FeatureLevel[] = asked ? [asked] : ["core", "compatibility"];
  for (const featureLevel of levels) {
    let adapter: GPUAdapter | null;
    try {
      adapter = await gpu.requestAdapter(
        { powerPreference, featureLevel } as GPURequestAdapterOptions,
      );
    } catch (cause) {
      throw new WebGpuUnavailableError(
        `requesting a WebGPU adapter failed: ${(cause as Error).message}. ${howToGetWebGpu()}`,
        { cause },
      );
    }
    if (adapter) return { adapter, backend, featureLevel };
  }
  const which = asked ? ` at feature level "${asked}"` : "";
  throw new WebGpuUnavailableError(`no WebGPU adapter was found${which}. ${howToGetWebGpu()}`);
}

async function dawnAdapter(options: GpuContextOptions): Promise<ProvidedAdapter> {
  const found = await requestDawnAdapter({
    powerPreference: options.powerPreference,
    backend: options.dawnBackend,
    flags: options.dawnFlags,
  });
  return { ...found, owner: found.instance };
}

/** Resolves when `promise` does or after `ms`, whichever comes first. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => timer = setTimeout(resolve, ms))]);
  clearTimeout(timer);
}

class WatchedGpuContext implements GpuContext {
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  readonly hasTimestampQuery: boolean;
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxWorkgroupsPerDimension: number;
  #lostReason: string | undefined;
  #lost: Promise<never>;
  #markLost!: (reason: string) => void;

  /** Kept referenced while the device lives (Dawn's instance). */
  readonly #owner: unknown;

  constructor(
    device: GPUDevice,
    adapter: AdapterSummary,
    hasTimestampQuery: boolean,
    owner: unknown,
  ) {
    this.#owner = owner;
    this.device = device;
    this.adapter = adapter;
    this.hasTimestampQuery = hasTimestampQuery;
    this.maxStorageBufferBindingSize = device.limits.maxStorageBufferBindingSize;
    this.maxBufferSize = device.limits.maxBufferSize;
    this.maxWorkgroupsPerDimension = device.limits.maxComputeWorkgroupsPerDimension;
    // Rejects once, either when the driver reports the loss or when `destroy()` is called (some
    // implementations settle `device.lost` late or never after an explicit destroy).
    this.#lost = new Promise<never>((_, reject) => {
      this.#markLost = (reason: string) => {
        this.#lostReason ??= reason;
        reject(new DeviceLostError(`the GPU device was lost (${this.#lostReason})`));
      };
    });
    // Nobody may be awaiting `#lost` when the device goes; keep that from being unhandled.
    this.#lost.catch(() => {});
    device.lost.then((info) => {
      this.#markLost(`${info.reason}${info.message ? `: ${info.message}` : ""}`);
    });
  }

  get lostReason(): string | undefined {
    return this.#lostReason;
  }

  assertAlive(): void {
    if (this.#lostReason !== undefined) {
      throw new DeviceLostError(`the GPU device was lost (${this.#lostReason})`);
    }
  }

  guard<T>(promise: Promise<T>): Promise<T> {
    // Once the device is gone, `promise` (a `mapAsync`) rejects too, possibly after the race is
    // decided: its rejection must not go unhandled (that kills the process), and a rejection caused
    // by the loss is reported as the loss.
    const settled = promise.catch(async (cause) => {
      // Right after `device.destroy()`, a `mapAsync` rejects (OperationError) a moment before
      // `device.lost` settles: give the loss that moment to arrive.
      if (this.#lostReason === undefined) await this.#lostWithin(LOSS_GRACE_MS);
      if (this.#lostReason === undefined) throw cause;
      throw new DeviceLostError(`the GPU device was lost (${this.#lostReason})`, { cause });
    });
    settled.catch(() => {});
    this.assertAlive();
    // A loss decides the outcome, even when `promise` then succeeds. `promise` usually settles a
    // moment after the loss: wait for it (a bounded time) before rejecting, so no native callback
    // is left pending. Dawn's addon crashes the process if it exits while a `mapAsync` of a
    // destroyed device has not called back yet.
    return new Promise<T>((resolve, reject) => {
      let lost = false;
      settled.then(
        (value) => {
          if (!lost) resolve(value);
        },
        (error) => {
          if (!lost) reject(error);
        },
      );
      this.#lost.catch(async (error) => {
        lost = true;
        await within(settled.catch(() => {}), LOSS_GRACE_MS);
        reject(error);
      });
    });
  }

  /** Resolves once the device is lost or after `ms`, whichever comes first. */
  #lostWithin(ms: number): Promise<void> {
    return within(this.#lost.catch(() => {}), ms);
  }

  destroy(): void {
    this.#markLost("destroyed");
    this.device.destroy();
  }
}
