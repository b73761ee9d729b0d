/**
 * Runs one kernel once on host data: the path researchers and the ORT comparison tests use.
 *
 * @module
 */

import type { GpuContext } from "./gpu_context.ts";
import type { GpuKernel } from "./compute_kernel.ts";
import { packChannels, packedByteLength, unpackChannels } from "./layout.ts";

/**
 * Uploads an NHWC input, runs `kernel` once and reads the NHWC output back. The output buffer is
 * filled with NaN first, so any element the kernel fails to write comes back as NaN.
 *
 * @param gpu The device context the kernel was built on.
 * @param kernel The kernel.
 * @param input NHWC values of `kernel.inputShape`.
 * @returns NHWC values of `kernel.outputShape`.
 * @throws {DeviceLostError} If the device is lost before the result arrives.
 *
 * @example
 * ```ts
 * import { createGpuContext, createPointwiseConvKernel } from "../mod.ts";
 * import { runKernelOnce } from "./run_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const kernel = await createPointwiseConvKernel(
 *   gpu,
 *   { height: 1, width: 2, inChannels: 1, outChannels: 1, relu6: false },
 *   new Float32Array([3]),
 *   new Float32Array([1]),
 * );
 * console.log(await runKernelOnce(gpu, kernel, new Float32Array([1, 2]))); // [4, 7]
 * kernel.dispose();
 * gpu.destroy();
 * ```
 */
export async function runKernelOnce(
  gpu: GpuContext,
  kernel: GpuKernel,
  input: Float32Array,
): Promise<Float32Array> {
  gpu.assertAlive();
  const [ih, iw, ic] = kernel.inputShape;
  const [oh, ow, oc] = kernel.outputShape;
  const device = gpu.device;
  const packedIn = packChannels(input, ih * iw, ic);
  const outBytes = packedByteLength(oh, ow, oc);
  const inBuffer = device.createBuffer({
    label: `${kernel.label} input`,
    size: packedIn.byteLength,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  const outBuffer = device.createBuffer({
    label: `${kernel.label} output`,
    size: outBytes,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  const readBuffer = device.createBuffer({
    label: `${kernel.label} readback`,
    size: outBytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    device.queue.writeBuffer(inBuffer, 0, packedIn);
    device.queue.writeBuffer(outBuffer, 0, new Float32Array(outBytes / 4).fill(NaN));
    const encoder = device.createCommandEncoder({ label: kernel.label });
    const pass = encoder.beginComputePass({ label: kernel.label });
    kernel.dispatch(pass, kernel.bind(inBuffer, outBuffer));
    pass.end();
    encoder.copyBufferToBuffer(outBuffer, 0, readBuffer, 0, outBytes);
    device.queue.submit([encoder.finish()]);
    await gpu.guard(readBuffer.mapAsync(GPUMapMode.READ));
    const packedOut = new Float32Array(readBuffer.getMappedRange().slice(0));
    readBuffer.unmap();
    return unpackChannels(packedOut, oh * ow, oc);
  } finally {
    inBuffer.destroy();
    outBuffer.destroy();
    readBuffer.destroy();
  }
}
