/**
 * A GPU context for the length of one test body.
 *
 * @module
 */

import { createGpuContext, type GpuContext } from "../../runtime/gpu_context.ts";

/**
 * Runs `fn` with a GPU context of its own, destroyed afterwards (whether `fn` returns or throws).
 *
 * @param fn The test body.
 */
export async function withGpu(fn: (gpu: GpuContext) => Promise<void>): Promise<void> {
  const gpu = await createGpuContext();
  try {
    await fn(gpu);
  } finally {
    gpu.destroy();
  }
}
