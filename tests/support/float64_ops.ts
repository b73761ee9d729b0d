/**
 * Float64 CPU evaluations of the ops the residual epilogues compute, written from TensorFlow's
 * definitions and sharing no code with the kernels: they check ONNX Runtime (the reference) as well
 * as the kernels.
 *
 * @module
 */

import type { Activation } from "../../shaders/wgsl_common.ts";

/**
 * TF's `ResizeBilinear` to `[2H, 2W]` with `half_pixel_centers = true`, `align_corners = false`,
 * in float64, as `tensorflow/core/kernels/image/resize_bilinear_op.cc` defines it: scale = in / out,
 * source `s = (o + 0.5) · scale − 0.5`, lower `max(floor(s), 0)`, upper `min(ceil(s), in − 1)`,
 * lerp `s − floor(s)`; `top = tl + (tr − tl)·lx`, `bottom = bl + (br − bl)·lx`,
 * `out = top + (bottom − top)·ly`.
 *
 * @param x NHWC values `[H, W, C]`.
 * @param h Rows.
 * @param w Columns.
 * @param c Channels.
 * @returns NHWC `[2H, 2W, C]` in float64.
 */
export function resizeBilinear2xFloat64(
  x: ArrayLike<number>,
  h: number,
  w: number,
  c: number,
): Float64Array {
  const [oh, ow] = [2 * h, 2 * w];
  const axis = (o: number, inSize: number, outSize: number) => {
    const s = (o + 0.5) * (inSize / outSize) - 0.5;
    const f = Math.floor(s);
    return { lo: Math.max(f, 0), hi: Math.min(Math.ceil(s), inSize - 1), lerp: s - f };
  };
  const out = new Float64Array(oh * ow * c);
  for (let oy = 0; oy < oh; oy++) {
    const y = axis(oy, h, oh);
    for (let ox = 0; ox < ow; ox++) {
      const xs = axis(ox, w, ow);
      for (let k = 0; k < c; k++) {
        const at = (yy: number, xx: number) => x[(yy * w + xx) * c + k];
        const top = at(y.lo, xs.lo) + (at(y.lo, xs.hi) - at(y.lo, xs.lo)) * xs.lerp;
        const bottom = at(y.hi, xs.lo) + (at(y.hi, xs.hi) - at(y.hi, xs.lo)) * xs.lerp;
        out[(oy * ow + ox) * c + k] = top + (bottom - top) * y.lerp;
      }
    }
  }
  return out;
}

/**
 * A 1x1 convolution with bias and activation in float64: `act(bias[n] + Σ_k x[p][k] · f[k][n])`.
 *
 * @param x NHWC values, `pixels × cin`.
 * @param filter TF filter `[1, 1, cin, cout]`.
 * @param bias `cout` values.
 * @param pixels Height × width.
 * @param cin Input channels.
 * @param cout Output channels.
 * @param act Activation.
 * @returns NHWC `pixels × cout` in float64.
 */
export function pointwiseFloat64(
  x: ArrayLike<number>,
  filter: ArrayLike<number>,
  bias: ArrayLike<number>,
  pixels: number,
  cin: number,
  cout: number,
  act: Activation,
): Float64Array {
  const out = new Float64Array(pixels * cout);
  for (let p = 0; p < pixels; p++) {
    for (let n = 0; n < cout; n++) {
      let sum = 0;
      for (let k = 0; k < cin; k++) sum += x[p * cin + k] * filter[k * cout + n];
      out[p * cout + n] = activateFloat64(sum + bias[n], act);
    }
  }
  return out;
}

/**
 * One activation in float64.
 *
 * @param v The value.
 * @param act Activation.
 * @returns `v`, `max(v, 0)` or `min(max(v, 0), 6)`.
 */
export function activateFloat64(v: number, act: Activation): number {
  if (act === "relu") return Math.max(v, 0);
  if (act === "relu6") return Math.min(Math.max(v, 0), 6);
  return v;
}
