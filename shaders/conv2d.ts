/**
 * WGSL generator for the full k×k convolution (MobileNet's first layer, 3x3 stride 2, 3 → 24).
 *
 * @module
 */

import {
  type Activation,
  activation,
  activationName,
  bindingDeclaration,
  entryPoint,
  unroll,
  WORKGROUP_SIZE,
} from "./wgsl_common.ts";

/** Shape constants baked into a conv2d shader. */
export interface Conv2dShaderParams {
  /** Input rows. */
  readonly inHeight: number;
  /** Input columns. */
  readonly inWidth: number;
  /** Input `vec4` slots per pixel. */
  readonly inSlots: number;
  /** Output rows. */
  readonly outHeight: number;
  /** Output columns. */
  readonly outWidth: number;
  /** Output `vec4` slots per pixel. */
  readonly outSlots: number;
  /** Kernel rows. */
  readonly kernelHeight: number;
  /** Kernel columns. */
  readonly kernelWidth: number;
  /** Stride (both axes). */
  readonly stride: number;
  /** Dilation (both axes). */
  readonly dilation: number;
  /** Zero rows above the input. */
  readonly padTop: number;
  /** Zero columns left of the input. */
  readonly padLeft: number;
  /** Activation after the bias. */
  readonly activation: Activation;
  /** Consecutive output pixels along x per invocation. */
  readonly tileX: number;
  /** Output `vec4` slots per invocation. */
  readonly tileSlots: number;
}

/**
 * Number of invocations a conv2d dispatch needs.
 *
 * @param p Shader parameters.
 * @returns `outHeight · ceil(outWidth / tileX) · ceil(outSlots / tileSlots)`.
 *
 * @example
 * ```ts
 * import { conv2dInvocations } from "./conv2d.ts";
 * conv2dInvocations({ outHeight: 129, outWidth: 129, outSlots: 6, tileX: 4, tileSlots: 2 });
 * ```
 */
export function conv2dInvocations(
  p: Pick<Conv2dShaderParams, "outHeight" | "outWidth" | "outSlots" | "tileX" | "tileSlots">,
): number {
  return p.outHeight * Math.ceil(p.outWidth / p.tileX) * Math.ceil(p.outSlots / p.tileSlots);
}

/**
 * Generates the conv2d shader for one shape.
 *
 * @param p Shape and tile constants.
 * @returns WGSL source.
 *
 * @example
 * ```ts
 * import { conv2dShader } from "./conv2d.ts";
 * const wgsl = conv2dShader({
 *   inHeight: 257, inWidth: 257, inSlots: 1, outHeight: 129, outWidth: 129, outSlots: 6,
 *   kernelHeight: 3, kernelWidth: 3, stride: 2, dilation: 1, padTop: 1, padLeft: 1,
 *   activation: "relu6", tileX: 4, tileSlots: 2,
 * });
 * ```
 */
export function conv2dShader(p: Conv2dShaderParams): string {
  const TX = p.tileX;
  const TN = p.tileSlots;
  const slotTiles = Math.ceil(p.outSlots / TN);
  const xTiles = Math.ceil(p.outWidth / TX);
  const tiles = (fn: (j: number, n: number) => string) =>
    unroll(TX * TN, (t) => fn(Math.floor(t / TN), t % TN));
  return `// ${p.kernelHeight}x${p.kernelWidth} convolution, stride ${p.stride}, dilation ${p.dilation}, TF SAME padding, fused bias
// and ${activationName(p.activation)}:
//   out[oy][ox][n] = act(bias[n] + sum_ky,kx,k in[oy*S - PAD_T + ky*D][ox*S - PAD_L + kx*D][k] * f[ky][kx][k][n])
// Layout: input NHWC4 (IN_SLOTS vec4 per pixel); weights [KH][KW][IN_SLOTS·4][OUT_SLOTS] vec4 (a row per
// input channel, vec4 = 4 outputs); bias OUT_SLOTS vec4; output NHWC4.
// Each invocation computes ${TX} consecutive output pixels of one row × ${TN} output vec4s. Per tap and
// input vec4 it loads ${TX} input vec4 and ${4 * TN} weight vec4 for ${
    4 * TX * TN
  } vec4 FMAs. Padding reads
// clamp in bounds and select zero. Workgroup: ${WORKGROUP_SIZE} invocations, output-slot tile fastest. The 4
// products of an input vec4 are summed before they reach the accumulator, and the bias is added
// last (see pointwise_conv.ts).
const IN_H: i32 = ${p.inHeight};
const IN_W: i32 = ${p.inWidth};
const IN_SLOTS: u32 = ${p.inSlots}u;
const OUT_W: u32 = ${p.outWidth}u;
const OUT_SLOTS: u32 = ${p.outSlots}u;
const SLOT_TILES: u32 = ${slotTiles}u;
const X_TILES: u32 = ${xTiles}u;

${bindingDeclaration("input")}
${bindingDeclaration("filter")}
${bindingDeclaration("bias")}
${bindingDeclaration("output")}

${entryPoint(conv2dInvocations(p))}
  let n0 = (index % SLOT_TILES) * ${TN}u;
  let rest = index / SLOT_TILES;
  let ox0 = (rest % X_TILES) * ${TX}u;
  let oy = rest / X_TILES;
${unroll(TN, (n) => `  let col${n} = min(n0 + ${n}u, OUT_SLOTS - 1u);`)}
${tiles((j, n) => `  var acc${j}_${n} = vec4<f32>(0.0);`)}
  for (var ky = 0; ky < ${p.kernelHeight}; ky++) {
    let y = i32(oy) * ${p.stride} - ${p.padTop} + ky * ${p.dilation};
    let rowOk = y >= 0 && y < IN_H;
    let rowBase = u32(clamp(y, 0, IN_H - 1)) * u32(IN_W);
    for (var kx = 0; kx < ${p.kernelWidth}; kx++) {
${
    unroll(TX, (j) =>
      `      let x${j} = i32(ox0 + ${j}u) * ${p.stride} - ${p.padLeft} + kx * ${p.dilation};
      let ok${j} = rowOk && x${j} >= 0 && x${j} < IN_W;
      let base${j} = (rowBase + u32(clamp(x${j}, 0, IN_W - 1))) * IN_SLOTS;`)
  }
      let tap = u32(ky * ${p.kernelWidth} + kx) * IN_SLOTS * 4u * OUT_SLOTS;
      for (var k = 0u; k < IN_SLOTS; k++) {
${unroll(TX, (j) => `        let a${j} = select(vec4<f32>(0.0), input[base${j} + k], ok${j});`)}
        let w = tap + k * 4u * OUT_SLOTS;
${
    unroll(
      4 * TN,
      (t) => `        let w${t >> 2}_${t % 4} = weights[w + ${t % 4}u * OUT_SLOTS + col${t >> 2}];`,
    )
  }
${
    tiles((j, n) =>
      `        acc${j}_${n} += fma(vec4<f32>(a${j}.w), w${n}_3, fma(vec4<f32>(a${j}.z), w${n}_2, ` +
      `fma(vec4<f32>(a${j}.y), w${n}_1, vec4<f32>(a${j}.x) * w${n}_0)));`
    )
  }
      }
    }
  }
${
    tiles((j, n) =>
      `  if (ox0 + ${j}u < OUT_W && n0 + ${n}u < OUT_SLOTS) { ` +
      `output[(oy * OUT_W + ox0 + ${j}u) * OUT_SLOTS + n0 + ${n}u] = ${
        activation(`acc${j}_${n} + bias[col${n}]`, p.activation)
      }; }`
    )
  }
}
`;
}
