/**
 * One convolution test case: fresh random data, our kernel, the same layer in ONNX Runtime, and the
 * comparison under the kernel tolerance. A case may carry a fused residual (ORT: `Add`, after a
 * `Resize` for `bilinear2x`, which is also checked against a float64 evaluation of TF's formula) or
 * a depthwise conv without bias.
 *
 * @module
 */

import { variantTiling } from "../../kernels/kernel_variants.ts";
import { conv2d } from "../../kernels/conv2d.ts";
import { depthwiseConv } from "../../kernels/depthwise_conv.ts";
import { pointwiseConv } from "../../kernels/pointwise_conv.ts";
import type { GpuContext } from "../../runtime/gpu_context.ts";
import { OnnxGraphBuilder, tfSamePads } from "../../reference/onnx_graph.ts";
import { createOrtSession, type NamedTensor, runOrt } from "../../reference/ort_session.ts";
import type { Activation } from "../../shaders/wgsl_common.ts";
import type { Residual } from "../../shaders/residual.ts";
import { pointwiseFloat64, resizeBilinear2xFloat64 } from "./float64_ops.ts";
import { assertClose, type Difference } from "./compare.ts";
import { mulberry32, type Rng, runSeed, uniform } from "./random.ts";
import { createGpuContext } from "../../runtime/gpu_context.ts";

/** max |ours − ORT| ≤ KERNEL_TOLERANCE · max(1, max |ORT|). */
export const KERNEL_TOLERANCE = 1e-4;

/** Spatial sizes, channel counts, strides and dilations the kernels are checked over. */
export const SIZES = [1, 2, 7, 33, 65, 129] as const;
/**
 * Even sizes, where TF's SAME at stride 2 pads 0 before and 1 after: MoveNet's feature maps
 * (Lightning 96, 48, 24, 12, 6; Thunder 128 … 8) and a small one.
 */
export const EVEN_SIZES = [2, 6, 12, 48, 96] as const;
/** Channel counts of the matrix (MobileNet 0.75's and the heads', plus RGB). */
export const CHANNELS = [3, 17, 24, 32, 34, 96, 384] as const;
/** Strides of the matrix. */
export const STRIDES = [1, 2] as const;
/** Dilations (atrous rates) of the matrix. */
export const DILATIONS = [1, 2, 4] as const;

/** A convolution layer to check. */
export interface ConvCase {
  /** Kernel family. */
  readonly kind: "conv2d" | "depthwise" | "pointwise";
  /** Input rows. */
  readonly height: number;
  /** Input columns. */
  readonly width: number;
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels (equal to inChannels for depthwise). */
  readonly outChannels: number;
  /** Kernel size (1 for pointwise). */
  readonly kernel: number;
  /** Stride. */
  readonly stride: number;
  /** Dilation. */
  readonly dilation: number;
  /** Fused activation. */
  readonly activation: Activation;
  /** Depthwise only: false for a conv without bias (TF's `DepthwiseConv2dNative`); default true. */
  readonly bias?: boolean;
  /** Pointwise only: the fused residual epilogue (default `none`). */
  readonly residual?: Residual;
}

/**
 * A short name for a case, used as the test step's name.
 *
 * @param c The case.
 * @returns e.g. `33x33 96→96 k3 s1 d2 relu6`, `12x12 64→64 k1 s1 d1 + bilinear2x`.
 */
export function caseName(c: ConvCase): string {
  return `${c.height}x${c.width} ${c.inChannels}→${c.outChannels} k${c.kernel} s${c.stride} d${c.dilation}` +
    (c.activation === "none" ? "" : ` ${c.activation}`) + (c.bias === false ? " no-bias" : "") +
    (c.residual && c.residual !== "none" ? ` + ${c.residual}` : "");
}

/** Worst errors against a float64 evaluation: ours, and ONNX Runtime's. */
export interface Float64Worst {
  /** max |ours − float64|. */
  readonly ours: WorstError;
  /** max |ORT − float64|. */
  readonly ort: WorstError;
}

/**
 * Runs one case on fresh random data in [-1, 1] and compares with ONNX Runtime. A `bilinear2x`
 * case is also compared, ours and ORT's, with a float64 evaluation of TF's definition.
 *
 * @param gpu Device to run on.
 * @param rng Seeded generator.
 * @param c The case.
 * @param variant Kernel variant (default `tiled`).
 * @param float64 Where to record the float64 comparisons.
 * @returns The measured difference from ORT (the assertions have passed).
 */
export async function checkConvCase(
  gpu: GpuContext,
  rng: Rng,
  c: ConvCase,
  variant?: string,
  float64?: Float64Worst,
): Promise<Difference> {
  const k = c.kernel;
  const filterShape: [number, number, number, number] = c.kind === "depthwise"
    ? [k, k, c.inChannels, 1]
    : [k, k, c.inChannels, c.outChannels];
  const input = {
    data: uniform(rng, c.height * c.width * c.inChannels),
    shape: [1, c.height, c.width, c.inChannels],
  };
  const filter = { data: uniform(rng, filterShape.reduce((a, b) => a * b, 1)), shape: filterShape };
  // A variant that stores its weights as float16 is checked on weights already rounded to f16,
  // ORT's included: the tolerance then measures the kernel's arithmetic, not the rounding (whose
  // cost on the network is measured against TF.js separately).
  const family = c.kind === "conv2d"
    ? "conv2d"
    : c.kind === "depthwise"
    ? "depthwise"
    : "pointwise";
  if (variantTiling(family, { [family]: variant }).weightsF16) {
    filter.data = new Float32Array(new Float16Array(filter.data));
  }
  const bias = uniform(rng, c.outChannels);
  const residual = c.residual ?? "none";
  const rh = residual === "bilinear2x" ? c.height / 2 : c.height;
  const rw = residual === "bilinear2x" ? c.width / 2 : c.width;
  const second = residual === "none" ? undefined : {
    data: uniform(rng, rh * rw * c.outChannels),
    shape: [1, rh, rw, c.outChannels],
  };
  const options = {
    stride: c.stride,
    dilation: c.dilation,
    activation: c.activation,
    context: gpu,
    variant,
  };
  const ours = c.kind === "conv2d"
    ? await conv2d(input, filter, bias, options)
    : c.kind === "depthwise"
    ? await depthwiseConv(input, filter, c.bias === false ? null : bias, options)
    : await pointwiseConv(input, filter, bias, {
      ...options,
      ...(residual === "identity" ? { residual: second } : {}),
      ...(residual === "bilinear2x" ? { upsampledResidual: second } : {}),
    });

  const [padTop, padBottom] = tfSamePads(c.height, k, c.stride, c.dilation);
  const [padLeft, padRight] = tfSamePads(c.width, k, c.stride, c.dilation);
  const graph = new OnnxGraphBuilder();
  const x = graph.inputNhwc("x", input.shape);
  let y = graph.conv(x, filter.data, filterShape, c.bias === false ? null : bias, {
    stride: c.stride,
    dilation: c.dilation,
    pads: [padTop, padLeft, padBottom, padRight],
    depthwise: c.kind === "depthwise",
    activation: c.activation,
  });
  const feeds: Record<string, NamedTensor> = { x: input };
  if (second) {
    const r = graph.inputNhwc("r", second.shape);
    y = graph.add(y, residual === "bilinear2x" ? graph.resize2x(r) : r);
    feeds.r = second;
  }
  graph.outputNhwc(y, "y");
  const session = await createOrtSession(graph.build());
  let reference: NamedTensor;
  try {
    reference = (await runOrt(session, feeds)).y;
  } finally {
    await session.release();
  }
  if (reference.shape.join() !== ours.shape.join()) {
    throw new Error(`${caseName(c)}: shape ${ours.shape} but ORT gives ${reference.shape}`);
  }
  const d = assertClose(caseName(c), ours.data, reference.data, KERNEL_TOLERANCE);
  if (residual === "bilinear2x" && second) {
    const pixels = c.height * c.width;
    const conv = pointwiseFloat64(
      input.data,
      filter.data,
      bias,
      pixels,
      c.inChannels,
      c.outChannels,
      c.activation,
    );
    const up = resizeBilinear2xFloat64(second.data, rh, rw, c.outChannels);
    const exact = new Float32Array(conv.length);
    // Compared in float64: the rounding of the float32 array is 1e-7 relative, far below the bound.
    for (let i = 0; i < conv.length; i++) exact[i] = conv[i] + up[i];
    const name = `${caseName(c)} vs float64`;
    const oursVs = assertClose(`${name} (ours)`, ours.data, exact, KERNEL_TOLERANCE);
    const ortVs = assertClose(`${name} (ORT)`, reference.data, exact, KERNEL_TOLERANCE);
    float64?.ours.add(caseName(c), oursVs);
    float64?.ort.add(caseName(c), ortVs);
  }
  return d;
}

/**
 * Keeps the worst relative error over a suite and prints it at the end.
 */
export class WorstError {
  #worst = 0;
  #where = "";
  #cases = 0;

  /**
   * Records one case's difference.
   *
   * @param name Case name.
   * @param d Its difference.
   */
  add(name: string, d: Difference): void {
    this.#cases++;
    const relative = d.maxAbsError / Math.max(1, d.maxAbsReference);
    if (relative >= this.#worst) {
      this.#worst = relative;
      this.#where = `${name} (max |reference| ${d.maxAbsReference.toFixed(3)})`;
    }
  }

  /** Cases recorded. */
  get cases(): number {
    return this.#cases;
  }

  /**
   * The line printed at the end of a suite.
   *
   * @param kernel What was measured.
   * @param subject What was compared (default `ours`).
   * @param against The reference (default ORT).
   */
  summary(kernel: string, subject = "ours", against = "ORT"): string {
    const name = against === "ORT" ? "ONNX Runtime" : against;
    return `${kernel}: ${this.#cases} cases vs ${name}, worst ` +
      `max|${subject}−${against}|/max(1,max|${against}|) = ` +
      `${this.#worst.toExponential(2)} at ${this.#where}`;
  }
}

/**
 * Runs every case as a test step on one device and one seeded generator, and prints the suite's
 * worst error at the end (also when a step fails).
 *
 * @param t The test context.
 * @param suite Name printed with the seed and the worst error.
 * @param cases The cases.
 */
export async function checkConvMatrix(
  t: Deno.TestContext,
  suite: string,
  cases: readonly ConvCase[],
): Promise<void> {
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed(suite));
  const worst = new WorstError();
  const float64 = { ours: new WorstError(), ort: new WorstError() };
  try {
    for (const c of cases) {
      await t.step(
        caseName(c),
        async () => worst.add(caseName(c), await checkConvCase(gpu, rng, c, undefined, float64)),
      );
    }
  } finally {
    console.log(worst.summary(suite));
    if (float64.ours.cases > 0) {
      console.log(float64.ours.summary(suite, "ours", "float64"));
      console.log(float64.ort.summary(suite, "ORT", "float64"));
    }
    gpu.destroy();
  }
}
