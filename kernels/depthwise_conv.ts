/**
 * Depthwise convolution with stride, dilation (atrous), TF SAME padding, fused bias (or none, as
 * TF's `DepthwiseConv2dNative`) and activation (none, ReLU, ReLU6).
 *
 * @module
 */

import { depthwiseConvInvocations, depthwiseConvShader } from "../shaders/depthwise_conv.ts";
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
 * Shape and options of a depthwise conv layer.
 *
 * @example
 * ```ts
 * import type { DepthwiseConvSpec } from "./depthwise_conv.ts";
 *
 * // The last depthwise layer of MobileNetV1 0.75 at output stride 8 and resolution 257.
 * const atrous: DepthwiseConvSpec = {
 *   height: 33,
 *   width: 33,
 *   channels: 768,
 *   dilation: 4,
 *   activation: "relu6",
 * };
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
  /** Activation after the bias. */
  readonly activation: Activation;
  /** Output pixels per invocation along x (default 4). */
  readonly tileX?: number;
  /** Output rows per invocation (default 4). */
  readonly tileY?: number;
}

/**
 * Builds a depthwise-conv kernel for one shape, with its weights on the GPU.
 *
 * @param gpu The device context.
 * @param spec Shape and options.
 * @param filter Filter in TF layout `[kh, kw, channels, 1]`, flat.
 * @param bias `channels` values, or null for none (TF's `DepthwiseConv2dNative`): the kernel then
 *   has no bias buffer and its shader no bias binding.
 * @returns The kernel.
 * @throws {InvalidInputError} On a bad shape, weight length or activation.
 *
 * @example
 * ```ts
 * import { createDepthwiseConvKernel, createGpuContext } from "./mod.ts";
 * import { runKernelOnce } from "./run_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const kernel = await createDepthwiseConvKernel(
 *   gpu,
 *   { height: 33, width: 33, channels: 384, dilation: 2, activation: "relu6" },
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
  bias: Float32Array | null,
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
  if (bias !== null) checkTensor("depthwise bias", { data: bias, shape: [channels] }, [channels]);
  const act = checkChoice("activation", spec.activation, ACTIVATIONS);
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
    activation: act,
    bias: bias !== null,
    tileX: checkInteger("tileX", spec.tileX ?? DEFAULT_TILING.depthwise.tileX, 1, 8),
    tileY: checkInteger("tileY", spec.tileY ?? DEFAULT_TILING.depthwise.tileY, 1, 8),
  };
  return await createGpuKernel(gpu, {
    label: `depthwise ${height}x${width}x${channels} ${kh}x${kw} s${stride} d${dilation}${
      act === "none" ? "" : ` ${act}`
    }${bias === null ? " no-bias" : ""}`,
    wgsl: depthwiseConvShader(params),
    invocations: depthwiseConvInvocations(params),
    filter: padLastAxis(filter, kh * kw, channels, slots * 4),
    ...(bias !== null ? { bias: padLastAxis(bias, 1, channels, slots * 4) } : {}),
    inputShape: [height, width, channels],
    outputShape: [padY.outSize, padX.outSize, channels],
    flops: 2 * padY.outSize * padX.outSize * channels * kh * kw,
    weightElements: kh * kw * channels + (bias !== null ? channels : 0),
  });
}

/**
 * Options of {@linkcode depthwiseConv}.
 *
 * @example
 * ```ts
 * import { depthwiseConv, type DepthwiseConvOptions } from "./mod.ts";
 *
 * const options: DepthwiseConvOptions = { stride: 2, activation: "relu6" };
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
  /** Activation after the bias (default `none`). */
  readonly activation?: Activation;
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
 * @param bias `C` values, or null for none (TF's `DepthwiseConv2dNative`).
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
 *
 * @example Without bias, as TF's `DepthwiseConv2dNative`
 * ```ts
 * import { depthwiseConv } from "./depthwise_conv.ts";
 * const out = await depthwiseConv(
 *   { data: new Float32Array(9).fill(1), shape: [1, 3, 3, 1] },
 *   { data: new Float32Array(9).fill(-1), shape: [3, 3, 1, 1] },
 *   null,
 * );
 * console.log(out.data[0]); // -4: a corner sees four inputs
 * ```
 */
export async function depthwiseConv(
  input: HostTensor,
  filter: HostTensor,
  bias: Float32Array | null,
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
      activation: options.activation ?? "none",
      ...variantTiling("depthwise", { depthwise: options.variant }),
    },
    filter.data,
    bias,
  );
  return await runAndDispose(gpu, kernel, input.data);
}
