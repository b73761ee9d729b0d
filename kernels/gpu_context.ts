/**
 * Finding a WebGPU adapter and device, checking the limits the kernels rely on, and turning device
 * loss into an error instead of a hang.
 *
 * @module
 */

import { DeviceLostError, WebGpuUnavailableError } from "../errors.ts";

/**
 * What the adapter says about itself, copied out of `GPUAdapterInfo`.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "./gpu_context.ts";
 *
 * const gpu = await createGpuContext();
 * const { description, isFallbackAdapter, backend } = gpu.adapter;
 * console.log(description, isFallbackAdapter ? "(software)" : "", backend);
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
  /** The WebGPU backend in use when known (`DENO_WEBGPU_BACKEND`), else `"default"`. */
  readonly backend: string;
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
 */
export interface GpuContextOptions {
  /** Adapter power preference. */
  readonly powerPreference?: GPUPowerPreference;
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
/** Workgroup size every kernel uses. */
const REQUIRED_INVOCATIONS = 64;
/** How long a failed `mapAsync` waits for `device.lost` before it is reported as it is. */
const LOSS_GRACE_MS = 100;

const HOW_TO_GET_WEBGPU = "On a machine without a GPU, install Mesa's software drivers " +
  "(`apt-get install -y mesa-vulkan-drivers`), then pick the backend with " +
  "DENO_WEBGPU_BACKEND=vulkan (lavapipe) or DENO_WEBGPU_BACKEND=gl (llvmpipe).";

/**
 * Requests a WebGPU adapter and device, checks the limits the kernels rely on, and watches for
 * device loss.
 *
 * @param options Adapter preferences.
 * @returns A ready {@linkcode GpuContext}.
 * @throws {WebGpuUnavailableError} When `navigator.gpu` is missing or no adapter or device can be
 * had; the message says how to get one.
 *
 * @example Run on whatever adapter the system offers
 * ```ts
 * import { createGpuContext } from "./gpu_context.ts";
 * const gpu = await createGpuContext();
 * console.log(gpu.adapter.description);
 * gpu.destroy();
 * ```
 */
export async function createGpuContext(options: GpuContextOptions = {}): Promise<GpuContext> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new WebGpuUnavailableError(
      `WebGPU is not available here (navigator.gpu is undefined). ${HOW_TO_GET_WEBGPU}`,
    );
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
  } catch (cause) {
    throw new WebGpuUnavailableError(
      `requesting a WebGPU adapter failed: ${(cause as Error).message}. ${HOW_TO_GET_WEBGPU}`,
      { cause },
    );
  }
  if (!adapter) {
    throw new WebGpuUnavailableError(`no WebGPU adapter was found. ${HOW_TO_GET_WEBGPU}`);
  }
  const limits = adapter.limits;
  const problems: string[] = [];
  if (limits.maxStorageBuffersPerShaderStage < REQUIRED_STORAGE_BUFFERS) {
    problems.push(
      `maxStorageBuffersPerShaderStage is ${limits.maxStorageBuffersPerShaderStage}, ` +
        `need ${REQUIRED_STORAGE_BUFFERS}`,
    );
  }
  if (limits.maxComputeInvocationsPerWorkgroup < REQUIRED_INVOCATIONS) {
    problems.push(
      `maxComputeInvocationsPerWorkgroup is ${limits.maxComputeInvocationsPerWorkgroup}, ` +
        `need ${REQUIRED_INVOCATIONS}`,
    );
  }
  if (problems.length > 0) {
    throw new WebGpuUnavailableError(
      `the WebGPU adapter lacks limits the kernels need: ${problems.join("; ")}`,
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
      `requesting a WebGPU device failed: ${(cause as Error).message}`,
      { cause },
    );
  }
  const info = adapter.info;
  const summary: AdapterSummary = {
    vendor: String(info?.vendor ?? ""),
    architecture: String(info?.architecture ?? ""),
    description: String(info?.description ?? ""),
    isFallbackAdapter: Boolean(
      (info as GPUAdapterInfo & { isFallbackAdapter?: boolean })?.isFallbackAdapter,
    ),
    backend: readBackendEnv(),
  };
  return new WatchedGpuContext(device, summary, hasTimestampQuery);
}

function readBackendEnv(): string {
  try {
    return Deno.env.get("DENO_WEBGPU_BACKEND") ?? "default";
  } catch {
    return "default";
  }
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

  constructor(device: GPUDevice, adapter: AdapterSummary, hasTimestampQuery: boolean) {
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
    return Promise.race([settled, this.#lost]);
  }

  /** Resolves once the device is lost or after `ms`, whichever comes first. */
  async #lostWithin(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#lost.catch(() => {}),
      new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
    ]);
    clearTimeout(timer);
  }

  destroy(): void {
    this.#markLost("destroyed");
    this.device.destroy();
  }
}
