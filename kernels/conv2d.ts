/**
 * Full k×k convolution with stride, dilation, TF SAME padding, fused bias and activation (none,
 * ReLU, ReLU6): MobileNet's first layer (3x3, stride 2, 3 → 24 or 32 channels).
 *
 * @module
 */

import { conv2dInvocations, conv2dShader } from "../shaders/conv2d.ts";
import { createGpuKernel, type GpuKernel } from "./compute_kernel.ts";
import { defaultGpuContext } from "../runtime/default_context.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import {
  checkChoice,
  checkInteger,
  checkTensor,
  type HostTensor,
  padLastAxis,
} from "../runtime/host_tensor.ts";
import { type Activation, ACTIVATIONS } from "../shaders/wgsl_common.ts";
import { channelSlots } from "../runtime/layout.ts";
import { runAndDispose } from "./run_kernel.ts";
import { DEFAULT_TILING, variantTiling } from "./kernel_variants.ts";
import { samePadding } from "./same_padding.ts";

/**
 * Shape and options of a conv2d layer.
 *
 * @example
 * ```ts
 * import type { Conv2dSpec } from "./conv2d.ts";
 *
 * // MobileNetV1's first layer at input resolution 257.
 * const conv0: Conv2dSpec = {
 *   height: 257,
 *   width: 257,
 *   inChannels: 3,
 *   outChannels: 24,
 *   kernelHeight: 3,
 *   kernelWidth: 3,
 *   stride: 2,
 *   activation: "relu6",
 * };
 * ```
 */
export interface Conv2dSpec {
  /** Input rows. */
  readonly height: number;
  /** Input columns. */
  readonly width: number;
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Kernel rows. */
  readonly kernelHeight: number;
  /** Kernel columns. */
  readonly kernelWidth: number;
  /** Stride, both axes (default 1). */
  readonly stride?: number;
  /** Dilation, both axes (default 1). */
  readonly dilation?: number;
  /** Activation after the bias. */
  readonly activation: Activation;
  /** Consecutive output pixels per invocation (default 4). */
  readonly tileX?: number;
  /** Output `vec4` slots per invocation (default 2, fewer when the layer has fewer). */
  readonly tileSlots?: number;
}

/**
 * Builds a conv2d kernel for one shape, with its weights on the GPU.
 *
 * @param gpu The device context.
 * @param spec Shape and options.
 * @param filter Filter in TF layout `[kh, kw, inChannels, outChannels]`, flat.
 * @param bias `outChannels` values.
 * @returns The kernel.
 * @throws {InvalidInputError} On a bad shape, weight length or activation.
 *
 * @example
 * ```ts
 * import { createConv2dKernel, createGpuContext } from "./mod.ts";
 * import { runKernelOnce } from "./run_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const kernel = await createConv2dKernel(
 *   gpu,
 *   {
 *     height: 257,
 *     width: 257,
 *     inChannels: 3,
 *     outChannels: 24,
 *     kernelHeight: 3,
 *     kernelWidth: 3,
 *     stride: 2,
 *     activation: "relu6",
 *   },
 *   new Float32Array(3 * 3 * 3 * 24).fill(0.1), // [kh, kw, cin, cout]
 *   new Float32Array(24),
 * );
 * console.log(kernel.outputShape); // [129, 129, 24]
 * const out = await runKernelOnce(gpu, kernel, new Float32Array(257 * 257 * 3).fill(1));
 * console.log(out[129 * 24 + 24].toFixed(4)); // "2.7000": an interior pixel sums 27 inputs × 0.1
 * kernel.dispose();
 * gpu.destroy();
 * ```
 */
export async function createConv2dKernel(
  gpu: GpuContext,
  spec: Conv2dSpec,
  filter: Float32Array,
  bias: Float32Array,
): Promise<GpuKernel> {
  const height = checkInteger("height", spec.height, 1);
  const width = checkInteger("width", spec.width, 1);
  const cin = checkInteger("inChannels", spec.inChannels, 1);
  const cout = checkInteger("outChannels", spec.outChannels, 1);
  const kh = checkInteger("kernelHeight", spec.kernelHeight, 1, 15);
  const kw = checkInteger("kernelWidth", spec.kernelWidth, 1, 15);
  const stride = checkInteger("stride", spec.stride ?? 1, 1, 8);
  const dilation = checkInteger("dilation", spec.dilation ?? 1, 1, 64);
  checkTensor("conv2d filter", { data: filter, shape: [kh, kw, cin, cout] }, [kh, kw, cin, cout]);
  checkTensor("conv2d bias", { data: bias, shape: [cout] }, [cout]);
  const act = checkChoice("activation", spec.activation, ACTIVATIONS);
  const padY = samePadding(height, kh, stride, dilation);
  const padX = samePadding(width, kw, stride, dilation);
  const inSlots = channelSlots(cin);
  const outSlots = channelSlots(cout);
  const params = {
    inHeight: height,
    inWidth: width,
    inSlots,
    outHeight: padY.outSize,
    outWidth: padX.outSize,
    outSlots,
    kernelHeight: kh,
    kernelWidth: kw,
    stride,
    dilation,
    padTop: padY.before,
    padLeft: padX.before,
    activation: act,
    tileX: checkInteger("tileX", spec.tileX ?? DEFAULT_TILING.conv2d.tileX, 1, 8),
    tileSlots: Math.min(
      checkInteger("tileSlots", spec.tileSlots ?? DEFAULT_TILING.conv2d.tileSlots, 1, 8),
      outSlots,
    ),
  };
  // [kh][kw][cin][cout] → [kh][kw][inSlots·4][outSlots·4]: pad cout, then pad each tap's cin rows.
  const paddedCout = padLastAxis(filter, kh * kw * cin, cout, outSlots * 4);
  const packedFilter = new Float32Array(kh * kw * inSlots * 4 * outSlots * 4);
  for (let tap = 0; tap < kh * kw; tap++) {
    packedFilter.set(
      paddedCout.subarray(tap * cin * outSlots * 4, (tap + 1) * cin * outSlots * 4),
      tap * inSlots * 4 * outSlots * 4,
    );
  }
  return await createGpuKernel(gpu, {
    label: `conv2d ${height}x${width} ${cin}→${cout} ${kh}x${kw} s${stride} d${dilation}${
      act === "none" ? "" : ` ${act}`
    }`,
    wgsl: conv2dShader(params),
    invocations: conv2dInvocations(params),
    filter: packedFilter,
    bias: padLastAxis(bias, 1, cout, outSlots * 4),
    inputShape: [height, width, cin],
    outputShape: [padY.outSize, padX.outSize, cout],
    flops: 2 * padY.outSize * padX.outSize * cout * kh * kw * cin,
    weightElements: kh * kw * cin * cout + cout,
  });
}

/**
 * Options of {@linkcode conv2d}.
 *
 * @example
 * ```ts
 * import { conv2d, type Conv2dOptions } from "./mod.ts";
 *
 * const options: Conv2dOptions = { stride: 1, dilation: 2, activation: "relu", variant: "simple" };
 * const out = await conv2d(
 *   { data: new Float32Array(5 * 5 * 2).fill(1), shape: [1, 5, 5, 2] },
 *   { data: new Float32Array(3 * 3 * 2 * 4).fill(1), shape: [3, 3, 2, 4] },
 *   new Float32Array(4),
 *   options,
 * );
 * console.log(out.shape); // [1, 5, 5, 4]
 * ```
 */
export interface Conv2dOptions {
  /** Stride, both axes (default 1). */
  readonly stride?: number;
  /** Dilation, both axes (default 1). */
  readonly dilation?: number;
  /** Activation after the bias (default `none`). */
  readonly activation?: Activation;
  /** Device to run on (default: the shared one). */
  readonly context?: GpuContext;
  /** Kernel variant from `KERNEL_VARIANTS.conv2d` (default `tiled`). */
  readonly variant?: string;
}

/**
 * Runs a k×k convolution once on host data, with TF SAME padding.
 *
 * @param input NHWC input `[1, H, W, Cin]`.
 * @param filter TF filter `[kh, kw, Cin, Cout]`.
 * @param bias `Cout` values.
 * @param options Stride, dilation, activation and device.
 * @returns NHWC output `[1, ceil(H/stride), ceil(W/stride), Cout]`.
 * @throws {InvalidInputError} On mismatched shapes.
 *
 * @example
 * ```ts
 * import { conv2d } from "./conv2d.ts";
 * const out = await conv2d(
 *   { data: new Float32Array(4 * 4 * 3).fill(1), shape: [1, 4, 4, 3] },
 *   { data: new Float32Array(3 * 3 * 3 * 2).fill(0.5), shape: [3, 3, 3, 2] },
 *   new Float32Array([0, 1]),
 *   { stride: 2, activation: "relu6" },
 * );
 * console.log(out.shape); // [1, 2, 2, 2]
 * ```
 */
export async function conv2d(
  input: HostTensor,
  filter: HostTensor,
  bias: Float32Array,
  options: Conv2dOptions = {},
): Promise<HostTensor> {
  const [, height, width, cin] = checkTensor("input", input, [1, undefined, undefined, undefined]);
  const [kernelHeight, kernelWidth, , cout] = checkTensor("filter", filter, [
    undefined,
    undefined,
    cin,
    undefined,
  ]);
  const gpu = options.context ?? await defaultGpuContext();
  const kernel = await createConv2dKernel(
    gpu,
    {
      height,
      width,
      inChannels: cin,
      outChannels: cout,
      kernelHeight,
      kernelWidth,
      stride: options.stride,
      dilation: options.dilation,
      activation: options.activation ?? "none",
      ...variantTiling("conv2d", { conv2d: options.variant }),
    },
    filter.data,
    bias,
  );
  return await runAndDispose(gpu, kernel, input.data);
}
