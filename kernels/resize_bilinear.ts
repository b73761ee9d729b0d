/**
 * Bilinear resize to twice the height and width, as TF's `ResizeBilinear` with
 * `half_pixel_centers = true` and `align_corners = false`, optionally fused with the add that
 * follows it: a weightless kernel for graphs where the add's other operand is not a fresh 1x1 conv
 * (there, `createPointwiseConvKernel`'s `bilinear2x` residual fuses both into the conv).
 *
 * @module
 */

import { resizeBilinear2xInvocations, resizeBilinear2xShader } from "../shaders/resize_bilinear.ts";
import { createGpuKernel, type GpuKernel } from "./compute_kernel.ts";
import { defaultGpuContext } from "../runtime/default_context.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import { checkInteger, checkTensor, type HostTensor } from "../runtime/host_tensor.ts";
import { channelSlots } from "../runtime/layout.ts";
import { runAndDispose } from "./run_kernel.ts";

/**
 * Shape and options of a 2x resize.
 *
 * @example
 * ```ts
 * import type { ResizeBilinear2xSpec } from "./resize_bilinear.ts";
 *
 * // MoveNet Lightning's first top-down step: 6x6x64 → 12x12x64, plus the lateral tensor.
 * const topDown: ResizeBilinear2xSpec = { height: 6, width: 6, channels: 64, add: true };
 * ```
 */
export interface ResizeBilinear2xSpec {
  /** Input rows (the output has twice as many). */
  readonly height: number;
  /** Input columns (the output has twice as many). */
  readonly width: number;
  /** Channels (in = out). */
  readonly channels: number;
  /**
   * Add a second input of the output's shape, `[2 · height, 2 · width, channels]`, bound as the
   * kernel's second input (default false).
   */
  readonly add?: boolean;
}

/**
 * Builds a 2x bilinear resize kernel for one shape. It has no weights: bind it with
 * `bind(input, output)`, or `bind(input, output, addend)` with `add`.
 *
 * @param gpu The device context.
 * @param spec Shape and options.
 * @returns The kernel.
 * @throws {InvalidInputError} On a bad shape.
 *
 * @example
 * ```ts
 * import { createGpuContext, createResizeBilinear2xKernel } from "./mod.ts";
 * import { runKernelOnce } from "./run_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const kernel = await createResizeBilinear2xKernel(gpu, { height: 1, width: 2, channels: 1 });
 * console.log(kernel.outputShape); // [2, 4, 1]
 * console.log(await runKernelOnce(gpu, kernel, new Float32Array([0, 4]))); // [0, 1, 3, 4, 0, 1, 3, 4]
 * kernel.dispose();
 * gpu.destroy();
 * ```
 */
export async function createResizeBilinear2xKernel(
  gpu: GpuContext,
  spec: ResizeBilinear2xSpec,
): Promise<GpuKernel> {
  const height = checkInteger("height", spec.height, 1);
  const width = checkInteger("width", spec.width, 1);
  const channels = checkInteger("channels", spec.channels, 1);
  const add = Boolean(spec.add);
  const params = { lowHeight: height, lowWidth: width, slots: channelSlots(channels), add };
  const out = [2 * height, 2 * width, channels] as const;
  return await createGpuKernel(gpu, {
    label: `resize-bilinear2x ${height}x${width}x${channels}${add ? " + add" : ""}`,
    wgsl: resizeBilinear2xShader(params),
    invocations: resizeBilinear2xInvocations(params),
    inputShape: [height, width, channels],
    ...(add ? { secondInputShape: out } : {}),
    outputShape: out,
    // Three lerps of a subtract, a multiply and an add per output element, and the add.
    flops: (add ? 10 : 9) * out[0] * out[1] * channels,
    weightElements: 0,
  });
}

/**
 * Options of {@linkcode resizeBilinear2x}.
 *
 * @example
 * ```ts
 * import { resizeBilinear2x, type ResizeBilinear2xOptions } from "./mod.ts";
 *
 * const options: ResizeBilinear2xOptions = {
 *   add: { data: new Float32Array(4).fill(10), shape: [1, 2, 2, 1] },
 * };
 * const out = await resizeBilinear2x({ data: new Float32Array([1]), shape: [1, 1, 1, 1] }, options);
 * console.log(out.data); // [11, 11, 11, 11]
 * ```
 */
export interface ResizeBilinear2xOptions {
  /** `[1, 2H, 2W, C]`, added to the resized tensor. */
  readonly add?: HostTensor;
  /** Device to run on (default: the shared one). */
  readonly context?: GpuContext;
}

/**
 * Resizes an NHWC tensor to twice its height and width once on host data, as TF's
 * `tf.image.resizeBilinear(x, [2H, 2W], false, true)` (half-pixel centres), optionally adding a
 * tensor of the result's shape.
 *
 * @param input NHWC input `[1, H, W, C]`.
 * @param options The addend and device.
 * @returns NHWC output `[1, 2H, 2W, C]`.
 * @throws {InvalidInputError} On mismatched shapes.
 *
 * @example
 * ```ts
 * import { resizeBilinear2x } from "./resize_bilinear.ts";
 * const out = await resizeBilinear2x({ data: new Float32Array([0, 8]), shape: [1, 2, 1, 1] });
 * console.log(out.shape, out.data); // [1, 4, 2, 1] [0, 0, 2, 2, 6, 6, 8, 8]
 * ```
 */
export async function resizeBilinear2x(
  input: HostTensor,
  options: ResizeBilinear2xOptions = {},
): Promise<HostTensor> {
  const [, height, width, channels] = checkTensor("input", input, [
    1,
    undefined,
    undefined,
    undefined,
  ]);
  if (options.add) checkTensor("add", options.add, [1, 2 * height, 2 * width, channels]);
  const gpu = options.context ?? await defaultGpuContext();
  const kernel = await createResizeBilinear2xKernel(gpu, {
    height,
    width,
    channels,
    add: options.add !== undefined,
  });
  return await runAndDispose(gpu, kernel, input.data, options.add?.data);
}
