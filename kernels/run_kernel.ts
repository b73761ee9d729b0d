/**
 * Runs one kernel once on host data: the path researchers and the ORT comparison tests use.
 *
 * @module
 */

import type { GpuContext } from "../runtime/gpu_context.ts";
import type { GpuKernel } from "./compute_kernel.ts";
import type { HostTensor } from "../runtime/host_tensor.ts";
import { packChannels, packedByteLength, unpackChannels } from "../runtime/layout.ts";
import { InvalidInputError } from "../errors.ts";

/**
 * Uploads an NHWC input (and second input), runs `kernel` once and reads the NHWC output back. The
 * output buffer is filled with NaN first, so any element the kernel fails to write comes back as
 * NaN.
 *
 * @param gpu The device context the kernel was built on.
 * @param kernel The kernel.
 * @param input NHWC values of `kernel.inputShape`.
 * @param second NHWC values of `kernel.secondInputShape`, for a kernel that has one.
 * @returns NHWC values of `kernel.outputShape`.
 * @throws {DeviceLostError} If the device is lost before the result arrives.
 * @throws {InvalidInputError} When `second` is missing, unexpected or of the wrong length.
 *
 * @example
 * ```ts
 * import { createGpuContext, createPointwiseConvKernel } from "./mod.ts";
 * import { runKernelOnce } from "./run_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const kernel = await createPointwiseConvKernel(
 *   gpu,
 *   { height: 1, width: 2, inChannels: 1, outChannels: 1, activation: "none" },
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
  second?: Float32Array,
): Promise<Float32Array> {
  gpu.assertAlive();
  const [ih, iw, ic] = kernel.inputShape;
  const [oh, ow, oc] = kernel.outputShape;
  const device = gpu.device;
  const packedIn = packChannels(input, ih * iw, ic);
  const secondShape = kernel.secondInputShape;
  if (secondShape && !second) {
    throw new InvalidInputError(
      `${kernel.label}: needs a second input of ${secondShape.join("x")}`,
    );
  }
  if (!secondShape && second) throw new InvalidInputError(`${kernel.label}: takes no second input`);
  const packedSecond = secondShape && second &&
    packChannels(second, secondShape[0] * secondShape[1], secondShape[2]);
  const outBytes = packedByteLength(oh, ow, oc);
  const upload = (what: string, packed: Float32Array<ArrayBuffer>) => {
    const buffer = device.createBuffer({
      label: `${kernel.label} ${what}`,
      size: packed.byteLength,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(buffer, 0, packed);
    return buffer;
  };
  const inBuffer = upload("input", packedIn);
  const secondBuffer = packedSecond && upload("second input", packedSecond);
  const outBuffer = device.createBuffer({
    label: `${kernel.label} output`,
    size: outBytes,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  try {
    const bindGroup = kernel.bind(inBuffer, outBuffer, secondBuffer);
    const packedOut = await dispatchAndRead(
      gpu,
      kernel.label,
      outBuffer,
      outBytes,
      (pass) => kernel.dispatch(pass, bindGroup),
    );
    return unpackChannels(packedOut, oh * ow, oc);
  } finally {
    inBuffer.destroy();
    secondBuffer?.destroy();
    outBuffer.destroy();
  }
}

/**
 * Runs a kernel built for one call on host data, frees it, and returns the output as a batch-1
 * NHWC {@linkcode HostTensor}: what the one-shot `conv2d`, `depthwiseConv`, `pointwiseConv` and
 * `resizeBilinear2x` do after building their kernel.
 *
 * @param gpu The device context the kernel was built on.
 * @param kernel The kernel; disposed when this returns or throws.
 * @param input NHWC values of `kernel.inputShape`.
 * @param second NHWC values of `kernel.secondInputShape`, for a kernel that has one.
 * @returns `[1, H, W, C]` of `kernel.outputShape`.
 *
 * @example
 * ```ts
 * import { createGpuContext, createPointwiseConvKernel } from "./mod.ts";
 * import { runAndDispose } from "./run_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const kernel = await createPointwiseConvKernel(
 *   gpu,
 *   { height: 1, width: 1, inChannels: 1, outChannels: 1, activation: "none" },
 *   new Float32Array([2]),
 *   new Float32Array([0]),
 * );
 * console.log((await runAndDispose(gpu, kernel, new Float32Array([3]))).shape); // [1, 1, 1, 1]
 * gpu.destroy();
 * ```
 */
export async function runAndDispose(
  gpu: GpuContext,
  kernel: GpuKernel,
  input: Float32Array,
  second?: Float32Array,
): Promise<HostTensor> {
  try {
    return {
      data: await runKernelOnce(gpu, kernel, input, second),
      shape: [1, ...kernel.outputShape],
    };
  } finally {
    kernel.dispose();
  }
}

/**
 * The one-shot readback every "run once" path shares: fills the first `bytes` of `output` with
 * NaN (so an element the work fails to write comes back as NaN), records `record` in one compute
 * pass, copies `output` to a fresh mappable buffer, submits, and returns the bytes as floats.
 *
 * @param gpu The device context.
 * @param label Label for the command encoder and the readback buffer.
 * @param output The buffer the work writes (needs `COPY_SRC | COPY_DST`).
 * @param bytes How many bytes of `output` to poison and read back.
 * @param record Records the dispatches into the pass.
 * @returns The first `bytes` of `output` after the work.
 * @throws {DeviceLostError} If the device is lost before the result arrives.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "../runtime/gpu_context.ts";
 * import { dispatchAndRead } from "./run_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const out = gpu.device.createBuffer({
 *   size: 16,
 *   usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
 * });
 * const values = await dispatchAndRead(gpu, "nothing", out, 16, () => {});
 * console.log(values); // NaN × 4: nothing wrote the buffer
 * out.destroy();
 * gpu.destroy();
 * ```
 */
export async function dispatchAndRead(
  gpu: GpuContext,
  label: string,
  output: GPUBuffer,
  bytes: number,
  record: (pass: GPUComputePassEncoder) => void,
): Promise<Float32Array<ArrayBuffer>> {
  gpu.assertAlive();
  const device = gpu.device;
  const readback = device.createBuffer({
    label: `${label} readback`,
    size: bytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    device.queue.writeBuffer(output, 0, new Float32Array(bytes / 4).fill(NaN));
    const encoder = device.createCommandEncoder({ label });
    const pass = encoder.beginComputePass({ label });
    record(pass);
    pass.end();
    encoder.copyBufferToBuffer(output, 0, readback, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await gpu.guard(readback.mapAsync(GPUMapMode.READ));
    const result = new Float32Array(readback.getMappedRange().slice(0));
    readback.unmap();
    return result;
  } finally {
    readback.destroy();
  }
}
