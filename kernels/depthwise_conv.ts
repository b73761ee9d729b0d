/**
 * Depthwise convolution with stride, dilation (atrous), TF SAME padding, fused bias and ReLU6.
 *
 * @module
 */

import { depthwiseConvInvocations, depthwiseConvShader } from "../shaders/depthwise_conv.ts";
import { createGpuKernel, type GpuKernel } from "./compute_kernel.ts";
import { defaultGpuContext } from "./default_context.ts";
import type { GpuContext } from "./gpu_context.ts";
import { checkInteger, checkTensor, type HostTensor, padLastAxis } from "./host_tensor.ts";
import { channelSlots } from "./layout.ts";
import { runAndDispose } from "./run_kernel.ts";
import { variantTiling } from "./kernel_variants.ts";
import { samePadding } from "./same_padding.ts";

/**
 * Shape and options of a depthwise conv layer.
 *
 * @example
 * ```ts
 * import type { DepthwiseConvSpec } from "./depthwise_conv.ts";
 *
 * // The last depthwise layer of MobileNetV1 0.75 at output stride 8 and resolution 257.
 * const atrous: DepthwiseConvSpec = { height: 33, width: 33, channels: 768, dilation: 4, relu6: true };
 * ```
 */
export interface DepthwiseConvSpec {
  /** Input rows. */
  readonly height: number;
  /** Input columns. */
  readonly width: number;
  /** Channels (in = out). */
  readonly channels: number;
  /** Kernel rows (default 3). */
  readonly kernelHeight?: number;
  /** Kernel columns (default 3). */
  readonly kernelWidth?: number;
  /** Stride, both axes (default 1). */
  readonly stride?: number;
  /** Dilation, both axes (default 1). */
  readonly dilation?: number;
  /** Clamp outputs to [0, 6]. */
  readonly relu6: boolean;
  /** Output pixels per invocation along x (default 4). */
  readonly tileX?: number;
}

/**
 * Builds a depthwise-conv kernel for one shape, with its weights on the GPU.
 *
 * @param gpu The device context.
 * @param spec Shape and options.
 * @param filter Filter in TF layout `[kh, kw, channels, 1]`, flat.
 * @param bias `channels` values.
 * @returns The kernel.
 * @throws {InvalidInputError} On a bad shape or weight length.
 *
 * @example
 * ```ts
 * import { createDepthwiseConvKernel, createGpuContext } from "../mod.ts";
 * import { runKernelOnce } from "./run_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const kernel = await createDepthwiseConvKernel(
 *   gpu,
 *   { height: 33, width: 33, channels: 384, dilation: 2, relu6: true },
 *   new Float32Array(3 * 3 * 384).fill(1), // [kh, kw, c, 1]
 *   new Float32Array(384),
 * );
 * const out = await runKernelOnce(gpu, kernel, new Float32Array(33 * 33 * 384).fill(0.5));
 * console.log(out[(16 * 33 + 16) * 384]); // 4.5: nine taps of 0.5, 2 pixels apart
 * kernel.dispose();
 * gpu.destroy();
 * ```
 */
export async function createDepthwiseConvKernel(
  gpu: GpuContext,
  spec: DepthwiseConvSpec,
  filter: Float32Array,
  bias: Float32Array,
): Promise<GpuKernel> {
  const height = checkInteger("height", spec.height, 1);
  const width = checkInteger("width", spec.width, 1);
  const channels = checkInteger("channels", spec.channels, 1);
  const kh = checkInteger("kernelHeight", spec.kernelHeight ?? 3, 1, 15);
  const kw = checkInteger("kernelWidth", spec.kernelWidth ?? 3, 1, 15);
  const stride = checkInteger("stride", spec.stride ?? 1, 1, 8);
  const dilation = checkInteger("dilation", spec.dilation ?? 1, 1, 64);
  checkTensor("depthwise filter", { data: filter, shape: [kh, kw, channels, 1] }, [
    kh,
    kw,
    channels,
    1,
  ]);
  checkTensor("depthwise bias", { data: bias, shape: [channels] }, [channels]);
  const padY = samePadding(height, kh, stride, dilation);
  const padX = samePadding(width, kw, stride, dilation);
  const slots = channelSlots(channels);
  const params = {
    inHeight: height,
    inWidth: width,
    slots,
    outHeight: padY.outSize,
    outWidth: padX.outSize,
    kernelHeight: kh,
    kernelWidth: kw,
    stride,
    dilation,
    padTop: padY.before,
    padLeft: padX.before,
    relu6: Boolean(spec.relu6),
    tileX: checkInteger("tileX", spec.tileX ?? 4, 1, 8),
  };
  return await createGpuKernel(gpu, {
    label: `depthwise ${height}x${width}x${channels} ${kh}x${kw} s${stride} d${dilation}${
      params.relu6 ? " relu6" : ""
    }`,
    wgsl: depthwiseConvShader(params),
    invocations: depthwiseConvInvocations(params),
    filter: padLastAxis(filter, kh * kw, channels, slots * 4),
    bias: padLastAxis(bias, 1, channels, slots * 4),
    inputShape: [height, width, channels],
    outputShape: [padY.outSize, padX.outSize, channels],
    flops: 2 * padY.outSize * padX.outSize * channels * kh * kw,
    weightElements: kh * kw * channels + channels,
  });
}

/**
 * Options of {@linkcode depthwiseConv}.
 *
 * @example
 * ```ts
 * import { depthwiseConv, type DepthwiseConvOptions } from "../mod.ts";
 *
 * const options: DepthwiseConvOptions = { stride: 2, relu6: true };
 * const out = await depthwiseConv(
 *   { data: new Float32Array(7 * 7 * 4).fill(1), shape: [1, 7, 7, 4] },
 *   { data: new Float32Array(3 * 3 * 4).fill(1), shape: [3, 3, 4, 1] },
 *   new Float32Array(4),
 *   options,
 * );
 * console.log(out.shape, out.data[(1 * 4 + 1) * 4]); // [1, 4, 4, 4] 6 (9, clamped by ReLU6)
 * ```
 */
export interface DepthwiseConvOptions {
  /** Stride, both axes (default 1). */
  readonly stride?: number;
  /** Dilation, both axes (default 1). */
  readonly dilation?: number;
  /** Clamp outputs to [0, 6] (default false). */
  readonly relu6?: boolean;
  /** Device to run on (default: the shared one). */
  readonly context?: GpuContext;
  /** Kernel variant from `KERNEL_VARIANTS.depthwise` (default `tiled`). */
  readonly variant?: string;
}

/**
 * Runs a depthwise convolution once on host data, with TF SAME padding.
 *
 * @param input NHWC input `[1, H, W, C]`.
 * @param filter TF filter `[kh, kw, C, 1]`.
 * @param bias `C` values.
 * @param options Stride, dilation, activation and device.
 * @returns NHWC output `[1, ceil(H/stride), ceil(W/stride), C]`.
 * @throws {InvalidInputError} On mismatched shapes.
 *
 * @example
 * ```ts
 * import { depthwiseConv } from "./depthwise_conv.ts";
 * const out = await depthwiseConv(
 *   { data: new Float32Array(9).fill(1), shape: [1, 3, 3, 1] },
 *   { data: new Float32Array(9).fill(1), shape: [3, 3, 1, 1] },
 *   new Float32Array([0]),
 * );
 * console.log(out.data[4]); // 9: the centre sees all nine inputs
 * ```
 */
export async function depthwiseConv(
  input: HostTensor,
  filter: HostTensor,
  bias: Float32Array,
  options: DepthwiseConvOptions = {},
): Promise<HostTensor> {
  const [, height, width, channels] = checkTensor("input", input, [
    1,
    undefined,
    undefined,
    undefined,
  ]);
  const [kernelHeight, kernelWidth] = checkTensor("filter", filter, [
    undefined,
    undefined,
    channels,
    1,
  ]);
  const gpu = options.context ?? await defaultGpuContext();
  const kernel = await createDepthwiseConvKernel(
    gpu,
    {
      height,
      width,
      channels,
      kernelHeight,
      kernelWidth,
      stride: options.stride,
      dilation: options.dilation,
      relu6: Boolean(options.relu6),
      ...variantTiling("depthwise", { depthwise: options.variant }),
    },
    filter.data,
    bias,
  );
  return await runAndDispose(gpu, kernel, input.data);
}
