/**
 * WGSL generator for the depthwise convolution with stride and dilation (atrous).
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

/** Shape constants baked into a depthwise-conv shader. */
export interface DepthwiseConvShaderParams {
  /** Input rows. */
  readonly inHeight: number;
  /** Input columns. */
  readonly inWidth: number;
  /** `vec4` channel slots, `ceil(channels / 4)`. */
  readonly slots: number;
  /** Output rows. */
  readonly outHeight: number;
  /** Output columns. */
  readonly outWidth: number;
  /** Kernel rows. */
  readonly kernelHeight: number;
  /** Kernel columns. */
  readonly kernelWidth: number;
  /** Stride (both axes). */
  readonly stride: number;
  /** Dilation (both axes). */
  readonly dilation: number;
  /** Zero rows above the input (SAME padding). */
  readonly padTop: number;
  /** Zero columns left of the input (SAME padding). */
  readonly padLeft: number;
  /** Activation after the bias. */
  readonly activation: Activation;
  /**
   * Add a bias (binding 2) before the activation (default true). False: no bias and no bias
   * binding, TF's `DepthwiseConv2dNative`.
   */
  readonly bias?: boolean;
  /** Output pixels per invocation along x. */
  readonly tileX: number;
}

/**
 * How an invocation's `tileX` outputs are spaced along x. With stride 1 they sit `dilation` apart,
 * so output j's right tap is output j+1's centre tap and loads are shared even when dilated.
 *
 * @param p Shader parameters.
 * @returns The x distance between an invocation's outputs.
 *
 * @example
 * ```ts
 * import { depthwiseOutputStep } from "./depthwise_conv.ts";
 * depthwiseOutputStep({ stride: 1, dilation: 4 }); // 4
 * ```
 */
export function depthwiseOutputStep(
  p: Pick<DepthwiseConvShaderParams, "stride" | "dilation">,
): number {
  return p.stride === 1 ? p.dilation : 1;
}

/**
 * Invocation tiles per output row: the row is cut into blocks of `tileX · step` columns, and each
 * block holds `step` interleaved tiles.
 *
 * @param p Shader parameters.
 * @returns Tiles per row.
 *
 * @example
 * ```ts
 * import { depthwiseTilesPerRow } from "./depthwise_conv.ts";
 * depthwiseTilesPerRow({ outWidth: 33, tileX: 4, stride: 1, dilation: 2 }); // 10
 * ```
 */
export function depthwiseTilesPerRow(
  p: Pick<DepthwiseConvShaderParams, "outWidth" | "tileX" | "stride" | "dilation">,
): number {
  const step = depthwiseOutputStep(p);
  return Math.ceil(p.outWidth / (p.tileX * step)) * step;
}

/**
 * Number of invocations a depthwise-conv dispatch needs.
 *
 * @param p Shader parameters.
 * @returns `outHeight · tilesPerRow · slots`.
 *
 * @example
 * ```ts
 * import { depthwiseConvInvocations } from "./depthwise_conv.ts";
 * depthwiseConvInvocations({ outHeight: 33, outWidth: 33, tileX: 4, stride: 1, dilation: 1, slots: 24 });
 * ```
 */
export function depthwiseConvInvocations(
  p: Pick<
    DepthwiseConvShaderParams,
    "outHeight" | "outWidth" | "tileX" | "stride" | "dilation" | "slots"
  >,
): number {
  return p.outHeight * depthwiseTilesPerRow(p) * p.slots;
}

/**
 * Generates the depthwise-conv shader for one shape. The distinct input columns an invocation
 * touches are worked out here, at build time, so each is loaded once per kernel row.
 *
 * @param p Shape and tile constants.
 * @returns WGSL source.
 *
 * @example
 * ```ts
 * import { depthwiseConvShader } from "./depthwise_conv.ts";
 * const wgsl = depthwiseConvShader({
 *   inHeight: 33, inWidth: 33, slots: 96, outHeight: 33, outWidth: 33, kernelHeight: 3,
 *   kernelWidth: 3, stride: 1, dilation: 2, padTop: 2, padLeft: 2, activation: "relu6", tileX: 4,
 * });
 * ```
 */
export function depthwiseConvShader(p: DepthwiseConvShaderParams): string {
  const T = p.tileX;
  const step = depthwiseOutputStep(p);
  const tilesPerRow = depthwiseTilesPerRow(p);
  // Input column offset (from the tile's first tap) of output j, tap kx.
  const offsetOf = (j: number, kx: number) => j * step * p.stride + kx * p.dilation;
  const offsets = [
    ...new Set(
      Array.from(
        { length: T * p.kernelWidth },
        (_, t) => offsetOf(Math.floor(t / p.kernelWidth), t % p.kernelWidth),
      ),
    ),
  ].sort((a, b) => a - b);
  const taps = p.kernelHeight * p.kernelWidth;
  const rows = unroll(p.kernelHeight, (ky) => {
    const loads = offsets.map((o) =>
      `    let v${o} = select(vec4<f32>(0.0), input[(rowBase + u32(clamp(x0 + ${o}, 0, IN_W - 1))) * SLOTS + c], ` +
      `rowOk && x0 + ${o} >= 0 && x0 + ${o} < IN_W);`
    ).join("\n");
    const fmas = unroll(T * p.kernelWidth, (t) => {
      const j = Math.floor(t / p.kernelWidth);
      const kx = t % p.kernelWidth;
      return `    acc${j} = fma(v${offsetOf(j, kx)}, k${ky * p.kernelWidth + kx}, acc${j});`;
    });
    return `  {
    let y = y0 + ${ky * p.dilation};
    let rowOk = y >= 0 && y < IN_H;
    let rowBase = u32(clamp(y, 0, IN_H - 1)) * u32(IN_W);
${loads}
${fmas}
  }`;
  });
  const withBias = p.bias ?? true;
  return `// Depthwise ${p.kernelHeight}x${p.kernelWidth} convolution, stride ${p.stride}, dilation ${p.dilation}, TF SAME
// padding, ${withBias ? "fused bias" : "no bias"} and ${activationName(p.activation)}:
//   out[oy][ox][c] = act(${
    withBias ? "bias[c] + " : ""
  }sum_ky,kx in[oy*S - PAD_T + ky*D][ox*S - PAD_L + kx*D][c] * k[ky][kx][c])
// Layout: input and output NHWC4 (SLOTS vec4 per pixel); weights [KH·KW][SLOTS] vec4; ${
    withBias ? "bias [SLOTS] vec4." : "no bias binding\n// (TF's DepthwiseConv2dNative)."
  }
// Each invocation computes ${T} outputs of one row and one channel vec4. With stride 1 those outputs
// are DILATION apart (ox0, ox0+D, ox0+2D, ...), so a tap of one output is a tap of the next, even when
// dilated: each kernel row loads ${offsets.length} input vec4 for ${
    T * p.kernelWidth
  } FMAs, where one output per
// invocation would load ${
    T * p.kernelWidth
  }. The tap set is worked out when the shader is generated. Padding reads clamp
// in bounds and select zero${
    withBias ? "; the bias is added after the taps" : ""
  }. Workgroup: ${WORKGROUP_SIZE} invocations; channel
// slot varies fastest, so
// neighbouring invocations read neighbouring vec4s of the same pixel.
const IN_H: i32 = ${p.inHeight};
const IN_W: i32 = ${p.inWidth};
const SLOTS: u32 = ${p.slots}u;
const OUT_W: u32 = ${p.outWidth}u;
const TILES_PER_ROW: u32 = ${tilesPerRow}u;

${bindingDeclaration("input")}
${bindingDeclaration("filter")}
${withBias ? `${bindingDeclaration("bias")}\n` : ""}${bindingDeclaration("output")}

${entryPoint(depthwiseConvInvocations(p))}
  let c = index % SLOTS;
  let rest = index / SLOTS;
  let tile = rest % TILES_PER_ROW;
  let oy = rest / TILES_PER_ROW;
  // Tile \`tile\` holds outputs ox0 + j·${step}: blocks of ${
    T * step
  } columns, ${step} interleaved tiles each.
  let ox0 = (tile / ${step}u) * ${T * step}u + tile % ${step}u;
  let x0 = i32(ox0) * ${p.stride} - ${p.padLeft};
  let y0 = i32(oy) * ${p.stride} - ${p.padTop};
${unroll(taps, (t) => `  let k${t} = weights[${t}u * SLOTS + c];`)}
${withBias ? "  let b = bias[c];\n" : ""}${unroll(T, (j) => `  var acc${j} = vec4<f32>(0.0);`)}
${rows}
${
    unroll(T, (j) =>
      `  if (ox0 + ${j * step}u < OUT_W) { output[(oy * OUT_W + ox0 + ${
        j * step
      }u) * SLOTS + c] = ` +
      `${activation(withBias ? `acc${j} + b` : `acc${j}`, p.activation)}; }`)
  }
}
`;
}
