/**
 * A lazily created, process-wide {@linkcode GpuContext} for the one-shot kernel functions.
 *
 * @module
 */

import { createGpuContext, type GpuContext } from "./gpu_context.ts";

let shared: Promise<GpuContext> | undefined;

/**
 * Returns the shared GPU context, creating it on first use and again after a device loss.
 *
 * @returns The shared context.
 *
 * @example
 * ```ts
 * import { defaultGpuContext } from "./default_context.ts";
 * const gpu = await defaultGpuContext();
 * console.log(gpu.adapter.description);
 * ```
 */
export async function defaultGpuContext(): Promise<GpuContext> {
  if (shared) {
    const gpu = await shared.catch(() => undefined);
    if (gpu && gpu.lostReason === undefined) return gpu;
  }
  shared = createGpuContext();
  return await shared;
}
