/**
 * The whole PoseNet MobileNetV1 network evaluated in float64 on the CPU, as the accuracy yardstick
 * for both float32 implementations (the GPU network and ONNX Runtime): the first 3x3 conv, the 13
 * depthwise/pointwise blocks with the schedule's stride and dilation, and the four 1x1 heads.
 *
 * Every layer pads TF SAME with {@linkcode tfSamePads} (TensorFlow's definition, not the kernels'
 * padding code), adds its bias and applies ReLU6 exactly when its weights say so. The float32
 * weights and input are used as they are; every product and sum after that is float64, so its own
 * rounding error (~1e-16 relative to the sum of |terms|) is far below float32's.
 *
 * Loops are written for speed in plain JS: NHWC activations in `Float64Array`s, the pointwise
 * layers (most of the work) as a row-times-matrix product with the output channel innermost.
 *
 * @module
 */

import type { LayerSchedule } from "../models/architecture.ts";
import type { ConvLayerWeights, PoseNetWeights } from "../models/posenet_weights.ts";
import { tfSamePads } from "./onnx_graph.ts";

/** The four heads of one float64 evaluation, NHWC. */
export interface PoseNetFloat64Heads {
  /** Heatmap rows. */
  readonly height: number;
  /** Heatmap columns. */
  readonly width: number;
  /** `height · width · 17`. */
  readonly heatmap: Float64Array;
  /** `height · width · 34`. */
  readonly offsets: Float64Array;
  /** `height · width · 32`. */
  readonly displacementFwd: Float64Array;
  /** `height · width · 32`. */
  readonly displacementBwd: Float64Array;
}

/** An NHWC activation. */
interface Activation {
  readonly data: Float64Array;
  readonly h: number;
  readonly w: number;
  readonly c: number;
}

/** Bias plus optional ReLU6, in place over one output row of `cout` values. */
function finish(y: Float64Array, base: number, cout: number, bias: Float64Array, relu6: boolean) {
  for (let co = 0; co < cout; co++) {
    let v = y[base + co] + bias[co];
    if (relu6) v = v < 0 ? 0 : v > 6 ? 6 : v;
    y[base + co] = v;
  }
}

/** Full k×k convolution, filter `[k, k, cin, cout]`. */
function conv2d(
  x: Activation,
  filter: Float64Array,
  bias: Float64Array,
  k: number,
  cout: number,
  stride: number,
  dilation: number,
  relu6: boolean,
): Activation {
  const { data, h, w, c: cin } = x;
  const [top] = tfSamePads(h, k, stride, dilation);
  const [left] = tfSamePads(w, k, stride, dilation);
  const oh = Math.ceil(h / stride);
  const ow = Math.ceil(w / stride);
  const y = new Float64Array(oh * ow * cout);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      const yb = (oy * ow + ox) * cout;
      for (let ky = 0; ky < k; ky++) {
        const iy = oy * stride - top + ky * dilation;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < k; kx++) {
          const ix = ox * stride - left + kx * dilation;
          if (ix < 0 || ix >= w) continue;
          const xb = (iy * w + ix) * cin;
          for (let ci = 0; ci < cin; ci++) {
            const xv = data[xb + ci];
            const fb = ((ky * k + kx) * cin + ci) * cout;
            for (let co = 0; co < cout; co++) y[yb + co] += xv * filter[fb + co];
          }
        }
      }
      finish(y, yb, cout, bias, relu6);
    }
  }
  return { data: y, h: oh, w: ow, c: cout };
}

/** Depthwise k×k convolution, filter `[k, k, c, 1]`. */
function depthwise(
  x: Activation,
  filter: Float64Array,
  bias: Float64Array,
  k: number,
  stride: number,
  dilation: number,
  relu6: boolean,
): Activation {
  const { data, h, w, c } = x;
  const [top] = tfSamePads(h, k, stride, dilation);
  const [left] = tfSamePads(w, k, stride, dilation);
  const oh = Math.ceil(h / stride);
  const ow = Math.ceil(w / stride);
  const y = new Float64Array(oh * ow * c);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      const yb = (oy * ow + ox) * c;
      for (let ky = 0; ky < k; ky++) {
        const iy = oy * stride - top + ky * dilation;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < k; kx++) {
          const ix = ox * stride - left + kx * dilation;
          if (ix < 0 || ix >= w) continue;
          const xb = (iy * w + ix) * c;
          const fb = (ky * k + kx) * c;
          for (let ch = 0; ch < c; ch++) y[yb + ch] += data[xb + ch] * filter[fb + ch];
        }
      }
      finish(y, yb, c, bias, relu6);
    }
  }
  return { data: y, h: oh, w: ow, c };
}

/** 1x1 convolution, filter `[1, 1, cin, cout]`: each pixel's row times the `cin×cout` matrix. */
function pointwise(
  x: Activation,
  filter: Float64Array,
  bias: Float64Array,
  cout: number,
  relu6: boolean,
): Activation {
  const { data, h, w, c: cin } = x;
  const pixels = h * w;
  const y = new Float64Array(pixels * cout);
  for (let p = 0; p < pixels; p++) {
    const xb = p * cin;
    const yb = p * cout;
    for (let ci = 0; ci < cin; ci++) {
      const xv = data[xb + ci];
      if (xv === 0) continue; // ReLU6 zeros are common; skipping them changes no sum.
      const fb = ci * cout;
      for (let co = 0; co < cout; co++) y[yb + co] += xv * filter[fb + co];
    }
    finish(y, yb, cout, bias, relu6);
  }
  return { data: y, h, w, c: cout };
}

/** One layer of the trunk or a head, in float64. */
function runLayer(
  x: Activation,
  l: ConvLayerWeights,
  stride: number,
  dilation: number,
): Activation {
  if (l.kernelHeight !== l.kernelWidth) {
    throw new Error(`${l.name}: non-square kernel ${l.kernelHeight}x${l.kernelWidth}`);
  }
  if (l.inChannels !== x.c) {
    throw new Error(`${l.name}: expects ${l.inChannels} input channels, got ${x.c}`);
  }
  const k = l.kernelHeight;
  const filter = Float64Array.from(l.filter);
  const bias = Float64Array.from(l.bias);
  if (l.kind === "depthwise") return depthwise(x, filter, bias, k, stride, dilation, l.relu6);
  if (k === 1 && stride === 1) return pointwise(x, filter, bias, l.outChannels, l.relu6);
  return conv2d(x, filter, bias, k, l.outChannels, stride, dilation, l.relu6);
}

/**
 * Runs the whole network in float64.
 *
 * @param weights The loaded weights.
 * @param schedule 14 entries: conv0's then the 13 depthwise layers' stride and dilation (from
 *   `resolveLayerSchedule`).
 * @param inputHeight Input rows R_h.
 * @param inputWidth Input columns R_w.
 * @param input Preprocessed input, NHWC `R_h · R_w · 3`.
 * @returns The four heads in NHWC, float64.
 *
 * @example
 * ```ts ignore
 * const heads = runPoseNetFloat64(weights, schedule, 257, 257, input);
 * console.log(heads.heatmap.length); // 17 * 17 * 17 at output stride 16
 * ```
 */
export function runPoseNetFloat64(
  weights: PoseNetWeights,
  schedule: readonly LayerSchedule[],
  inputHeight: number,
  inputWidth: number,
  input: Float32Array,
): PoseNetFloat64Heads {
  if (schedule.length !== 1 + weights.blocks.length) {
    throw new Error(
      `schedule has ${schedule.length} entries, expected ${1 + weights.blocks.length}`,
    );
  }
  if (input.length !== inputHeight * inputWidth * 3) {
    throw new Error(
      `input has ${input.length} values, expected ${inputHeight}x${inputWidth}x3`,
    );
  }
  let x: Activation = {
    data: Float64Array.from(input),
    h: inputHeight,
    w: inputWidth,
    c: 3,
  };
  x = runLayer(x, weights.conv0, schedule[0].stride, schedule[0].dilation);
  for (const [i, block] of weights.blocks.entries()) {
    x = runLayer(x, block.depthwise, schedule[i + 1].stride, schedule[i + 1].dilation);
    x = runLayer(x, block.pointwise, 1, 1);
  }
  const heads = weights.heads;
  return {
    height: x.h,
    width: x.w,
    heatmap: runLayer(x, heads.heatmap, 1, 1).data,
    offsets: runLayer(x, heads.offsets, 1, 1).data,
    displacementFwd: runLayer(x, heads.displacementFwd, 1, 1).data,
    displacementBwd: runLayer(x, heads.displacementBwd, 1, 1).data,
  };
}
