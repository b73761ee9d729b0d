/**
 * Pointwise (1x1) convolution with fused bias, activation (none, ReLU, ReLU6) and optional
 * residual add (as is, or upsampled 2x): 91% of PoseNet's arithmetic and most of MoveNet's.
 *
 * @module
 */

import { pointwiseConvInvocations, pointwiseConvShader } from "../shaders/pointwise_conv.ts";
import { InvalidInputError } from "../errors.ts";
import { createGpuKernel, type GpuKernel, type Hwc } from "./compute_kernel.ts";
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
import { type Residual, residualFlopsPerElement, RESIDUALS } from "../shaders/residual.ts";
import { channelSlots } from "../runtime/layout.ts";
import { runAndDispose } from "./run_kernel.ts";
import { DEFAULT_TILING, variantTiling } from "./kernel_variants.ts";
import { packPointwiseFilter } from "./_pointwise_filter.ts";

/**
 * Shape and options of a pointwise conv layer.
 *
 * @example
 * ```ts
 * import type { PointwiseConvSpec } from "./pointwise_conv.ts";
 *
 * // The fused heads GEMM at resolution 257, stride 16, with the `small` variant's tile.
 * const heads: PointwiseConvSpec = {
 *   height: 17,
 *   width: 17,
 *   inChannels: 384,
 *   outChannels: 120,
 *   activation: "none",
 *   tilePixels: 4,
 *   tileSlots: 2,
 * };
 * ```
 */
export interface PointwiseConvSpec {
  /** Input rows. */
  readonly height: number;
  /** Input columns. */
  readonly width: number;
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Activation after the bias. */
  readonly activation: Activation;
  /**
   * What the epilogue adds after the activation (default `none`). The kernel then reads a second
   * input ({@linkcode GpuKernel.secondInputShape}): `[height, width, outChannels]` for
   * `identity`, `[height / 2, width / 2, outChannels]` for `bilinear2x` (even height and width).
   */
  readonly residual?: Residual;
  /** Pixels per invocation (default 8). */
  readonly tilePixels?: number;
  /** Output `vec4` slots per invocation (default 4, fewer when the layer has fewer). */
  readonly tileSlots?: number;
  /** Input slots per chunk of weights staged in workgroup memory (default 0: not staged). */
  readonly stagedSlots?: number;
  /** Store the weights as float16 (rounded to nearest), halving the weight loads. */
  readonly weightsF16?: boolean;
}

/**
 * Builds a pointwise-conv kernel for one shape, with its weights on the GPU.
 *
 * @param gpu The device context.
 * @param spec Shape and options.
 * @param filter Filter in TF layout `[1, 1, inChannels, outChannels]`, flat.
 * @param bias `outChannels` values.
 * @returns The kernel.
 * @throws {InvalidInputError} On a bad shape, weight length, activation or residual (a
 *   `bilinear2x` residual needs an even height and width).
 *
 * @example
 * ```ts
 * import { createGpuContext, createPointwiseConvKernel, variantTiling } from "./mod.ts";
 * import { runKernelOnce } from "./run_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const kernel = await createPointwiseConvKernel(
 *   gpu,
 *   {
 *     height: 17,
 *     width: 17,
 *     inChannels: 384,
 *     outChannels: 17,
 *     activation: "none",
 *     ...variantTiling("pointwise", { pointwise: "simple" }),
 *   },
 *   new Float32Array(384 * 17).fill(1 / 384), // [1, 1, cin, cout]
 *   new Float32Array(17).fill(1),
 * );
 * const out = await runKernelOnce(gpu, kernel, new Float32Array(17 * 17 * 384).fill(2));
 * console.log(out[0].toFixed(4)); // "3.0000"
 * kernel.dispose();
 * gpu.destroy();
 * ```
 */
export async function createPointwiseConvKernel(
  gpu: GpuContext,
  spec: PointwiseConvSpec,
  filter: Float32Array,
  bias: Float32Array,
): Promise<GpuKernel> {
  const height = checkInteger("height", spec.height, 1);
  const width = checkInteger("width", spec.width, 1);
  const cin = checkInteger("inChannels", spec.inChannels, 1);
  const cout = checkInteger("outChannels", spec.outChannels, 1);
  checkTensor("pointwise filter", { data: filter, shape: [1, 1, cin, cout] }, [1, 1, cin, cout]);
  checkTensor("pointwise bias", { data: bias, shape: [cout] }, [cout]);
  const act = checkChoice("activation", spec.activation, ACTIVATIONS);
  const residual = checkChoice("residual", spec.residual ?? "none", RESIDUALS);
  const secondInputShape = residualShape(residual, height, width, cout);
  const inSlots = channelSlots(cin);
  const outSlots = channelSlots(cout);
  const params = {
    pixels: height * width,
    width,
    inSlots,
    outSlots,
    activation: act,
    residual,
    tilePixels: checkInteger(
      "tilePixels",
      spec.tilePixels ?? DEFAULT_TILING.pointwise.tilePixels,
      1,
      16,
    ),
    tileSlots: Math.min(
      checkInteger("tileSlots", spec.tileSlots ?? DEFAULT_TILING.pointwise.tileSlots, 1, 8),
      outSlots,
    ),
    stagedSlots: Math.min(checkInteger("stagedSlots", spec.stagedSlots ?? 0, 0, 64), inSlots),
    weightsF16: Boolean(spec.weightsF16),
  };
  if (params.weightsF16 && params.stagedSlots > 0) {
    throw new InvalidInputError("pointwise: weightsF16 and stagedSlots cannot be combined");
  }
  const rows = packPointwiseFilter(filter, cin, cout);
  const packedFilter = params.weightsF16 ? packHalfPairs(rows, inSlots, outSlots) : rows;
  const added = residual === "identity"
    ? " + residual"
    : residual === "bilinear2x"
    ? ` + bilinear2x ${secondInputShape![0]}x${secondInputShape![1]}`
    : "";
  return await createGpuKernel(gpu, {
    label: `pointwise ${height}x${width} ${cin}→${cout}${act === "none" ? "" : ` ${act}`}${added}`,
    wgsl: pointwiseConvShader(params),
    invocations: pointwiseConvInvocations(params),
    filter: packedFilter,
    bias: padLastAxis(bias, 1, cout, outSlots * 4),
    inputShape: [height, width, cin],
    ...(secondInputShape ? { secondInputShape } : {}),
    outputShape: [height, width, cout],
    flops: (2 * cin + residualFlopsPerElement(residual)) * height * width * cout,
    weightElements: (params.weightsF16 ? Math.ceil(cin * cout / 2) : cin * cout) + cout,
  });
}

/** The second input's shape for `residual` on a `height × width × channels` output. */
function residualShape(
  residual: Residual,
  height: number,
  width: number,
  channels: number,
): Hwc | undefined {
  if (residual === "identity") return [height, width, channels];
  if (residual !== "bilinear2x") return undefined;
  if (height % 2 !== 0 || width % 2 !== 0) {
    throw new InvalidInputError(
      `pointwise: a bilinear2x residual is upsampled to twice its size, so the output's height ` +
        `and width must be even, got ${height}x${width}`,
    );
  }
  return [height / 2, width / 2, channels];
}

/**
 * Packs f32 weight rows (`inSlots · 4` rows × `outSlots · 4` channels) as float16 pairs in the
 * layout of `PointwiseConvShaderParams.weightsF16`, returned as the bytes of a `Float32Array`
 * (never read as floats: they are `u32`s).
 */
function packHalfPairs(
  rows: Float32Array,
  inSlots: number,
  outSlots: number,
): Float32Array<ArrayBuffer> {
  const width = outSlots * 4;
  const halves = new Uint16Array(new Float16Array(rows).buffer);
  const packed = new Uint32Array(inSlots * 2 * width);
  for (let pair = 0; pair < inSlots * 2; pair++) {
    for (let c = 0; c < width; c++) {
      packed[pair * width + c] = halves[2 * pair * width + c] |
        (halves[(2 * pair + 1) * width + c] << 16);
    }
  }
  return new Float32Array(packed.buffer);
}

/**
 * Options of {@linkcode pointwiseConv}.
 *
 * @example
 * ```ts
 * import { createGpuContext, pointwiseConv, type PointwiseConvOptions } from "./mod.ts";
 *
 * const gpu = await createGpuContext();
 * const options: PointwiseConvOptions = { activation: "relu6", context: gpu, variant: "small" };
 * const out = await pointwiseConv(
 *   { data: new Float32Array([1, 2]), shape: [1, 1, 1, 2] },
 *   { data: new Float32Array([4, 0, 4, 0]), shape: [1, 1, 2, 2] },
 *   new Float32Array(2),
 *   options,
 * );
 * console.log(out.data); // [6, 0]: 12 clamped by ReLU6
 * gpu.destroy();
 * ```
 */
export interface PointwiseConvOptions {
  /** Activation after the bias (default `none`). */
  readonly activation?: Activation;
  /** `[1, H, W, Cout]`, added after the activation (an inverted-residual block's add). */
  readonly residual?: HostTensor;
  /**
   * `[1, H / 2, W / 2, Cout]`, upsampled 2x (TF's `ResizeBilinear`, half-pixel centres) and added
   * after the activation (a feature pyramid's top-down path). Not with `residual`.
   */
  readonly upsampledResidual?: HostTensor;
  /** Device to run on (default: the shared one). */
  readonly context?: GpuContext;
  /** Kernel variant from `KERNEL_VARIANTS.pointwise` (default `tiled`). */
  readonly variant?: string;
}

/**
 * Runs a pointwise (1x1) convolution once on host data.
 *
 * @param input NHWC input `[1, H, W, Cin]`.
 * @param filter TF filter `[1, 1, Cin, Cout]`.
 * @param bias `Cout` values.
 * @param options Activation, residual, device and variant.
 * @returns NHWC output `[1, H, W, Cout]`.
 * @throws {InvalidInputError} On mismatched shapes, or both residuals given.
 *
 * @example
 * ```ts
 * import { pointwiseConv } from "./pointwise_conv.ts";
 * const out = await pointwiseConv(
 *   { data: new Float32Array([1, 2]), shape: [1, 1, 1, 2] },
 *   { data: new Float32Array([1, 0, 1, 0, 1, 1]), shape: [1, 1, 2, 3] },
 *   new Float32Array([0, 0, 0.5]),
 * );
 * console.log(out.data); // [1, 2, 3.5]
 * ```
 *
 * @example A feature-pyramid step: a lateral 1x1 conv plus the coarser level upsampled 2x
 * ```ts
 * import { pointwiseConv } from "./pointwise_conv.ts";
 * const out = await pointwiseConv(
 *   { data: new Float32Array(4 * 4).fill(1), shape: [1, 4, 4, 1] },
 *   { data: new Float32Array([2]), shape: [1, 1, 1, 1] },
 *   new Float32Array([0]),
 *   { upsampledResidual: { data: new Float32Array([0, 4, 8, 12]), shape: [1, 2, 2, 1] } },
 * );
 * console.log(out.data[0], out.data[1]); // 2 3: 2 + 0 at the corner, then 2 + (0 + (4 − 0) · 0.25)
 * ```
 */
export async function pointwiseConv(
  input: HostTensor,
  filter: HostTensor,
  bias: Float32Array,
  options: PointwiseConvOptions = {},
): Promise<HostTensor> {
  const [, height, width, cin] = checkTensor("input", input, [1, undefined, undefined, undefined]);
  const [, , , cout] = checkTensor("filter", filter, [1, 1, cin, undefined]);
  if (options.residual && options.upsampledResidual) {
    throw new InvalidInputError("pointwise: give residual or upsampledResidual, not both");
  }
  const second = options.residual ?? options.upsampledResidual;
  if (options.residual) checkTensor("residual", options.residual, [1, height, width, cout]);
  if (options.upsampledResidual) {
    // An odd height or width is refused, with its reason, when the kernel is built.
    const half = (n: number) => n % 2 === 0 ? n / 2 : undefined;
    checkTensor("upsampledResidual", options.upsampledResidual, [
      1,
      half(height),
      half(width),
      cout,
    ]);
  }
  const gpu = options.context ?? await defaultGpuContext();
  const kernel = await createPointwiseConvKernel(
    gpu,
    {
      height,
      width,
      inChannels: cin,
      outChannels: cout,
      activation: options.activation ?? "none",
      residual: options.residual ? "identity" : options.upsampledResidual ? "bilinear2x" : "none",
      ...variantTiling("pointwise", { pointwise: options.variant }),
    },
    filter.data,
    bias,
  );
  return await runAndDispose(gpu, kernel, input.data, second?.data);
}
