/**
 * One convolution test case: fresh random data, our kernel, the same layer in ONNX Runtime, and the
 * comparison under the kernel tolerance.
 *
 * @module
 */

import { variantTiling } from "../../kernels/kernel_variants.ts";
import { conv2d } from "../../kernels/conv2d.ts";
import { depthwiseConv } from "../../kernels/depthwise_conv.ts";
import { pointwiseConv } from "../../kernels/pointwise_conv.ts";
import type { GpuContext } from "../../kernels/gpu_context.ts";
import { OnnxGraphBuilder, tfSamePads } from "../../reference/onnx_graph.ts";
import { runOrtOnce } from "../../reference/ort_session.ts";
import { assertClose, type Difference } from "./compare.ts";
import { mulberry32, type Rng, runSeed, uniform } from "./random.ts";
import { createGpuContext } from "../../kernels/gpu_context.ts";

/** max |ours − ORT| ≤ KERNEL_TOLERANCE · max(1, max |ORT|). */
export const KERNEL_TOLERANCE = 1e-4;

/** Spatial sizes, channel counts, strides and dilations the kernels are checked over. */
export const SIZES = [1, 2, 7, 33, 65, 129] as const;
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
  /** Fused ReLU6. */
  readonly relu6: boolean;
}

/**
 * A short name for a case, used as the test step's name.
 *
 * @param c The case.
 * @returns e.g. `33x33 96→96 k3 s1 d2 relu6`.
 */
export function caseName(c: ConvCase): string {
  return `${c.height}x${c.width} ${c.inChannels}→${c.outChannels} k${c.kernel} s${c.stride} d${c.dilation}` +
    (c.relu6 ? " relu6" : "");
}

/**
 * Runs one case on fresh random data in [-1, 1] and compares with ONNX Runtime.
 *
 * @param gpu Device to run on.
 * @param rng Seeded generator.
 * @param c The case.
 * @param variant Kernel variant (default `tiled`).
 * @returns The measured difference (the assertion has passed).
 */
export async function checkConvCase(
  gpu: GpuContext,
  rng: Rng,
  c: ConvCase,
  variant?: string,
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
  const options = { stride: c.stride, dilation: c.dilation, relu6: c.relu6, context: gpu, variant };
  const ours = c.kind === "conv2d"
    ? await conv2d(input, filter, bias, options)
    : c.kind === "depthwise"
    ? await depthwiseConv(input, filter, bias, options)
    : await pointwiseConv(input, filter, bias, options);

  const [padTop, padBottom] = tfSamePads(c.height, k, c.stride, c.dilation);
  const [padLeft, padRight] = tfSamePads(c.width, k, c.stride, c.dilation);
  const graph = new OnnxGraphBuilder();
  const x = graph.inputNhwc("x", input.shape);
  const y = graph.conv(x, filter.data, filterShape, bias, {
    stride: c.stride,
    dilation: c.dilation,
    pads: [padTop, padLeft, padBottom, padRight],
    depthwise: c.kind === "depthwise",
    relu6: c.relu6,
  });
  graph.outputNhwc(y, "y");
  const reference = await runOrtOnce(graph.build(), input);
  if (reference.shape.join() !== ours.shape.join()) {
    throw new Error(`${caseName(c)}: shape ${ours.shape} but ORT gives ${reference.shape}`);
  }
  return assertClose(caseName(c), ours.data, reference.data, KERNEL_TOLERANCE);
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
      this.#where = `${name} (max |ORT| ${d.maxAbsReference.toFixed(3)})`;
    }
  }

  /** The line printed at the end of a suite. */
  summary(kernel: string): string {
    return `${kernel}: ${this.#cases} cases vs ONNX Runtime, worst max|ours−ORT|/max(1,max|ORT|) = ` +
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
  try {
    for (const c of cases) {
      await t.step(
        caseName(c),
        async () => worst.add(caseName(c), await checkConvCase(gpu, rng, c)),
      );
    }
  } finally {
    console.log(worst.summary(suite));
    gpu.destroy();
  }
}
