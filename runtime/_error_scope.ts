/**
 * WebGPU error scopes around the runtime's allocations: an `out-of-memory` or `validation` error
 * becomes a typed {@linkcode GpuError} from the call that caused it, instead of an uncaptured error
 * and work that silently runs on invalid buffers.
 *
 * `make` runs synchronously between the pushes and the pops, so no other work on the device (other
 * frames, other models) can fall into these scopes.
 *
 * @module
 */

import { GpuError } from "../errors.ts";
import type { GpuContext } from "./gpu_context.ts";

/**
 * Runs `make` inside `out-of-memory` and `validation` error scopes and throws a
 * {@linkcode GpuError} if the GPU reported either, after calling `cleanup` on what was made.
 *
 * @param gpu The device context.
 * @param what What is being made, for the message.
 * @param make Makes GPU objects, synchronously.
 * @param cleanup Frees what `make` made, when the GPU refused it.
 * @returns What `make` returned.
 * @throws {GpuError} When the GPU reported an error in the scopes.
 * @throws {DeviceLostError} When the device is lost meanwhile.
 */
export async function scopedGpuWork<T>(
  gpu: GpuContext,
  what: string,
  make: () => T,
  cleanup: (made: T) => void = () => {},
): Promise<T> {
  const device = gpu.device;
  device.pushErrorScope("out-of-memory");
  device.pushErrorScope("validation");
  let made: T;
  let validation: Promise<GPUError | null>;
  let memory: Promise<GPUError | null>;
  try {
    made = make();
  } finally {
    validation = device.popErrorScope();
    memory = device.popErrorScope();
    validation.catch(() => {});
    memory.catch(() => {});
  }
  let invalid: GPUError | null;
  let outOfMemory: GPUError | null;
  try {
    [invalid, outOfMemory] = await gpu.guard(Promise.all([validation, memory]));
  } catch (error) {
    // The device was lost meanwhile: what was made is of no use.
    try {
      cleanup(made);
    } catch {
      // best effort
    }
    throw error;
  }
  const error = outOfMemory ?? invalid;
  if (error) {
    try {
      cleanup(made);
    } catch {
      // best effort: the objects may be invalid already
    }
    const kind = outOfMemory ? "out-of-memory" : "validation";
    throw new GpuError(kind, `${what}: the GPU reported ${kind}: ${error.message}`);
  }
  return made;
}
