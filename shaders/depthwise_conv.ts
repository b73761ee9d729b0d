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
  /**
   * Output rows per invocation (default 1). With stride 1 they sit `dilation` apart, like the
   * columns, so an input row loaded once feeds the taps of several output rows.
   */
  readonly tileY?: number;
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
 * Invocation tiles per output column: the rows cut into blocks of `tileY · step` rows, `step`
 * interleaved tiles each, as {@linkcode depthwiseTilesPerRow} cuts a row.
 *
 * @param p Shader parameters.
 * @returns Tiles per column (`outHeight` when `tileY` is 1).
 *
 * @example
 * ```ts
 * import { depthwiseTilesPerColumn } from "./depthwise_conv.ts";
 * depthwiseTilesPerColumn({ outHeight: 33, tileY: 2, stride: 1, dilation: 1 }); // 17
 * ```
 */
export function depthwiseTilesPerColumn(
  p: Pick<DepthwiseConvShaderParams, "outHeight" | "tileY" | "stride" | "dilation">,
): number {
  const rows = p.tileY ?? 1;
  if (rows === 1) return p.outHeight;
  const step = depthwiseOutputStep(p);
  return Math.ceil(p.outHeight / (rows * step)) * step;
}

/**
 * Number of invocations a depthwise-conv dispatch needs.
 *
 * @param p Shader parameters.
 * @returns `tilesPerColumn · tilesPerRow · slots`.
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
    "outHeight" | "outWidth" | "tileX" | "tileY" | "stride" | "dilation" | "slots"
  >,
): number {
  return depthwiseTilesPerColumn(p) * depthwiseTilesPerRow(p) * p.slots;
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
  const TY = p.tileY ?? 1;
  const step = depthwiseOutputStep(p);
  const tilesPerRow = depthwiseTilesPerRow(p);
  // Input column offset (from the tile's first tap) of output j, tap kx; likewise the input row
  // offset of output row r, tap ky.
  const offsetOf = (j: number, kx: number) => j * step * p.stride + kx * p.dilation;
  const rowOffsetOf = (r: number, ky: number) => r * step * p.stride + ky * p.dilation;
  const distinct = (count: number, per: number, at: (a: number, b: number) => number) =>
    [...new Set(Array.from({ length: count * per }, (_, t) => at(Math.floor(t / per), t % per)))]
      .sort((a, b) => a - b);
  const offsets = distinct(T, p.kernelWidth, offsetOf);
  const rowOffsets = distinct(TY, p.kernelHeight, rowOffsetOf);
  const acc = (r: number, j: number) => TY === 1 ? `acc${j}` : `acc${r}_${j}`;
  const taps = p.kernelHeight * p.kernelWidth;
  // Each distinct input row once; its loads feed every (output row, kernel row) pair that reads it,
  // so each accumulator still takes its taps in (ky, kx) order.
  const rows = rowOffsets.map((ro) => {
    const loads = offsets.map((o) =>
      `    let v${o} = select(vec4<f32>(0.0), input[(rowBase + u32(clamp(x0 + ${o}, 0, IN_W - 1))) * SLOTS + c], ` +
      `rowOk && x0 + ${o} >= 0 && x0 + ${o} < IN_W);`
    ).join("\n");
    const uses = Array.from({ length: TY * p.kernelHeight }, (_, t) => ({
      r: Math.floor(t / p.kernelHeight),
      ky: t % p.kernelHeight,
    })).filter(({ r, ky }) => rowOffsetOf(r, ky) === ro);
    const fmas = uses.map(({ r, ky }) =>
      unroll(T * p.kernelWidth, (t) => {
        const j = Math.floor(t / p.kernelWidth);
        const kx = t % p.kernelWidth;
        return `    ${acc(r, j)} = fma(v${offsetOf(j, kx)}, k${ky * p.kernelWidth + kx}, ${
          acc(r, j)
        });`;
      })
    ).join("\n");
    return `  {
    let y = y0 + ${ro};
    let rowOk = y >= 0 && y < IN_H;
    let rowBase = u32(clamp(y, 0, IN_H - 1)) * u32(IN_W);
${loads}
${fmas}
  }`;
  }).join("\n");
  const withBias = p.bias ?? true;
  const rowTiling = TY === 1 ? "" : `
// Each invocation also covers ${TY} output rows (oy0, oy0+${step}, ...): an input row is loaded once
// for every output row whose taps read it, ${rowOffsets.length} rows of loads for ${
    TY * p.kernelHeight
  } kernel-row passes.`;
  const oy = TY === 1 ? "oy" : "oy0";
  const rowDecode = TY === 1
    ? `  let oy = rest / TILES_PER_ROW;`
    : `  let rowTile = rest / TILES_PER_ROW;
  let oy0 = (rowTile / ${step}u) * ${TY * step}u + rowTile % ${step}u;`;
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
// neighbouring invocations read neighbouring vec4s of the same pixel.${rowTiling}
const IN_H: i32 = ${p.inHeight};
const IN_W: i32 = ${p.inWidth};
const SLOTS: u32 = ${p.slots}u;
${TY === 1 ? "" : `const OUT_H: u32 = ${p.outHeight}u;\n`}const OUT_W: u32 = ${p.outWidth}u;
const TILES_PER_ROW: u32 = ${tilesPerRow}u;

${bindingDeclaration("input")}
${bindingDeclaration("filter")}
${withBias ? `${bindingDeclaration("bias")}\n` : ""}${bindingDeclaration("output")}

${entryPoint(depthwiseConvInvocations(p))}
  let c = index % SLOTS;
  let rest = index / SLOTS;
  let tile = rest % TILES_PER_ROW;
${rowDecode}
  // Tile \`tile\` holds outputs ox0 + j·${step}: blocks of ${
    T * step
  } columns, ${step} interleaved tiles each.
  let ox0 = (tile / ${step}u) * ${T * step}u + tile % ${step}u;
  let x0 = i32(ox0) * ${p.stride} - ${p.padLeft};
  let y0 = i32(${oy}) * ${p.stride} - ${p.padTop};
${unroll(taps, (t) => `  let k${t} = weights[${t}u * SLOTS + c];`)}
${withBias ? "  let b = bias[c];\n" : ""}${
    unroll(T * TY, (t) => `  var ${acc(Math.floor(t / T), t % T)} = vec4<f32>(0.0);`)
  }
${rows}
${
    unroll(T * TY, (t) => {
      const r = Math.floor(t / T);
      const j = t % T;
      const rowOk = TY === 1 ? "" : `${oy} + ${r * step}u < OUT_H && `;
      const outRow = TY === 1 ? "oy" : `(${oy} + ${r * step}u)`;
      return `  if (${rowOk}ox0 + ${j * step}u < OUT_W) { output[(${outRow} * OUT_W + ox0 + ${
        j * step
      }u) * SLOTS + c] = ` +
        `${activation(withBias ? `${acc(r, j)} + b` : acc(r, j), p.activation)}; }`;
    })
  }
}
`;
}
