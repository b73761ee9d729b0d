/**
 * Typed errors thrown by the runtime. Every error names what is wrong so a caller (or the CLI)
 * can print one clear line.
 *
 * @example Tell a caller's mistake from a missing GPU
 * ```ts
 * import { InvalidInputError, PoseNetError, WebGpuUnavailableError } from "./errors.ts";
 *
 * function describe(err: unknown): string {
 *   if (err instanceof InvalidInputError) return `bad argument: ${err.message}`;
 *   if (err instanceof WebGpuUnavailableError) return "no WebGPU here";
 *   if (err instanceof PoseNetError) return `${err.name}: ${err.message}`;
 *   throw err;
 * }
 * console.log(describe(new InvalidInputError("outputStride must be 8, 16 or 32, got 12")));
 * ```
 *
 * @module
 */

/**
 * Base class of every error this package throws on purpose; its `name` is the subclass's name.
 *
 * @example
 * ```ts
 * import { ModelLoadError, PoseNetError } from "./errors.ts";
 *
 * const err = new ModelLoadError("posenet.json: not a TF.js graph model");
 * console.log(err instanceof PoseNetError, err.name); // true "ModelLoadError"
 * ```
 */
export class PoseNetError extends Error {
  /**
   * Makes an error whose `name` is the subclass's name.
   *
   * @param message What went wrong, naming the offending value.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * No WebGPU (`navigator.gpu` missing) or no adapter could be found.
 *
 * @example
 * ```ts
 * import { createGpuContext, WebGpuUnavailableError } from "./mod.ts";
 *
 * try {
 *   const gpu = await createGpuContext();
 *   gpu.destroy();
 * } catch (err) {
 *   if (!(err instanceof WebGpuUnavailableError)) throw err;
 *   console.log("no GPU:", err.message); // e.g. install mesa-vulkan-drivers
 * }
 * ```
 */
export class WebGpuUnavailableError extends PoseNetError {}

/**
 * The GPU device was lost (driver reset, `device.destroy()`), so work cannot complete.
 *
 * @example
 * ```ts
 * import { createGpuContext, pointwiseConv } from "./kernels/mod.ts";
 * import { DeviceLostError } from "./mod.ts";
 *
 * const gpu = await createGpuContext();
 * gpu.destroy();
 * const input = { data: new Float32Array(4), shape: [1, 1, 1, 4] };
 * const filter = { data: new Float32Array(16), shape: [1, 1, 4, 4] };
 * await pointwiseConv(input, filter, new Float32Array(4), { context: gpu })
 *   .catch((err) => console.log(err instanceof DeviceLostError)); // true
 * ```
 */
export class DeviceLostError extends PoseNetError {}

/**
 * A model file (model.json or a weights shard) is missing, malformed or unsupported.
 *
 * @example
 * ```ts
 * import { loadTfjsGraphModel, ModelLoadError } from "./mod.ts";
 *
 * await loadTfjsGraphModel("no/such/model.json")
 *   .catch((err) => console.log(err instanceof ModelLoadError)); // true
 * ```
 */
export class ModelLoadError extends PoseNetError {}

/**
 * An argument (shape, resolution, stride, image, option) is invalid.
 *
 * @example
 * ```ts
 * import { validateInputResolution } from "./kernels/mod.ts";
 * import { InvalidInputError } from "./mod.ts";
 *
 * try {
 *   validateInputResolution(256, 16); // must be k·16 + 1
 * } catch (err) {
 *   console.log(err instanceof InvalidInputError, (err as Error).message);
 * }
 * ```
 */
export class InvalidInputError extends PoseNetError {}

/**
 * A model or kernel was used after `dispose()`.
 *
 * @example
 * ```ts
 * import { DisposedError } from "./errors.ts";
 *
 * const err = new DisposedError("PoseNet was disposed");
 * console.log(err.name); // "DisposedError"
 * ```
 */
export class DisposedError extends PoseNetError {}

/**
 * The GPU refused an allocation or a command: an `out-of-memory` or `validation` error that the
 * runtime caught with WebGPU error scopes (instead of an uncaptured error and a wrong result).
 *
 * @example
 * ```ts
 * import { GpuError, PoseNetError } from "./errors.ts";
 *
 * const err = new GpuError("out-of-memory", "frame buffers: the GPU is out of memory");
 * console.log(err instanceof PoseNetError, err.name, err.kind); // true "GpuError" "out-of-memory"
 * ```
 */
export class GpuError extends PoseNetError {
  /** Which error scope caught it. */
  readonly kind: "out-of-memory" | "validation";

  /**
   * Makes the error.
   *
   * @param kind The WebGPU error filter that caught it.
   * @param message What was refused, and the GPU's message.
   * @param options Standard error options (`cause`).
   */
  constructor(kind: "out-of-memory" | "validation", message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}
