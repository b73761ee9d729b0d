/**
 * Typed errors thrown by the runtime. Every error names what is wrong so a caller (or the CLI)
 * can print one clear line.
 *
 * @module
 */

/** Base class of every error this package throws on purpose. */
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

/** No WebGPU (`navigator.gpu` missing) or no adapter could be found. */
export class WebGpuUnavailableError extends PoseNetError {}

/** The GPU device was lost (driver reset, `device.destroy()`), so work cannot complete. */
export class DeviceLostError extends PoseNetError {}

/** A model file (model.json or a weights shard) is missing, malformed or unsupported. */
export class ModelLoadError extends PoseNetError {}

/** An argument (shape, resolution, stride, image, option) is invalid. */
export class InvalidInputError extends PoseNetError {}

/** A model or kernel was used after `dispose()`. */
export class DisposedError extends PoseNetError {}
