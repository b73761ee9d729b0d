/**
 * WGSL generator for the pointwise (1x1) convolution, a GEMM over pixels × channels.
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
  workgroupEntryPoint,
} from "./wgsl_common.ts";
import {
  type Residual,
  residualComment,
  residualDeclarations,
  type ResidualParams,
  withResidual,
} from "./residual.ts";
import { forTiles, tileFmas } from "./_register_tile.ts";

/** Shape constants baked into a pointwise-conv shader. */
export interface PointwiseConvShaderParams {
  /** Pixels (height × width). */
  readonly pixels: number;
  /** Input `vec4` slots per pixel, `ceil(inChannels / 4)`. */
  readonly inSlots: number;
  /** Output `vec4` slots per pixel, `ceil(outChannels / 4)`. */
  readonly outSlots: number;
  /** Activation after the bias. */
  readonly activation: Activation;
  /** What the epilogue adds after the activation (default `none`), from binding 4. */
  readonly residual?: Residual;
  /** Output columns (pixels = rows × width); needed by a `bilinear2x` residual only. */
  readonly width?: number;
  /** Pixels per invocation (register tile rows). */
  readonly tilePixels: number;
  /** Output `vec4` slots per invocation (register tile columns). */
  readonly tileSlots: number;
  /**
   * Input `vec4` slots per chunk of weights staged in workgroup memory; 0 (default): weights are
   * read from the storage buffer directly.
   */
  readonly stagedSlots?: number;
  /**
   * Weights stored as float16 pairs (`pack2x16float`), halving the weight loads; not with
   * `stagedSlots`. Layout: `IN_SLOTS · 2` rows of `OUT_SLOTS` `vec4<u32>`; row `2k + h`, slot `n`,
   * component `j` holds input channels `4k + 2h` (low half) and `4k + 2h + 1` (high half) of output
   * channel `4n + j`.
   */
  readonly weightsF16?: boolean;
}

/**
 * Number of invocations a pointwise-conv dispatch needs.
 *
 * @param p Shader parameters.
 * @returns `ceil(pixels / tilePixels) · ceil(outSlots / tileSlots)`.
 *
 * @example
 * ```ts
 * import { pointwiseConvInvocations } from "./pointwise_conv.ts";
 * pointwiseConvInvocations({ pixels: 289, inSlots: 96, outSlots: 96, activation: "relu6", tilePixels: 4, tileSlots: 2 });
 * ```
 */
export function pointwiseConvInvocations(p: PointwiseConvShaderParams): number {
  if (p.stagedSlots) {
    const pixelBlocks = Math.ceil(p.pixels / (WORKGROUP_SIZE * p.tilePixels));
    return pixelBlocks * Math.ceil(p.outSlots / p.tileSlots) * WORKGROUP_SIZE;
  }
  return Math.ceil(p.pixels / p.tilePixels) * Math.ceil(p.outSlots / p.tileSlots);
}

/**
 * Generates the pointwise-conv shader for one shape.
 *
 * @param p Shape and tile constants.
 * @returns WGSL source.
 *
 * @example
 * ```ts
 * import { pointwiseConvShader } from "./pointwise_conv.ts";
 * const wgsl = pointwiseConvShader({ pixels: 289, inSlots: 96, outSlots: 96, activation: "relu6", tilePixels: 4, tileSlots: 2 });
 * ```
 */
export function pointwiseConvShader(p: PointwiseConvShaderParams): string {
  if (p.stagedSlots) return stagedPointwiseConvShader(p);
  const residual = residualParams(p);
  const TP = p.tilePixels;
  const TN = p.tileSlots;
  const slotTiles = Math.ceil(p.outSlots / TN);
  return `// Pointwise (1x1) convolution with fused bias and ${activationName(p.activation)}:
//   out[p][n] = act(bias[n] + sum_k in[p][k] * weights[k][n])
// a GEMM of (pixels × in channels) by (in channels × out channels).
// Layout: input NHWC4, PIXELS × IN_SLOTS vec4 (4 channels each, padded channels are zero);
//         weights IN_SLOTS·4 rows × OUT_SLOTS vec4 (row = one input channel, vec4 = 4 outputs);
//         bias OUT_SLOTS vec4; output NHWC4, PIXELS × OUT_SLOTS vec4.
// Each invocation keeps a ${TP} pixel × ${TN} vec4 tile of outputs in registers. Per input vec4 it
// loads ${TP} input vec4 and ${4 * TN} weight vec4 and does ${4 * TP * TN} vec4 FMAs, so every load
// feeds several FMAs. Workgroup: ${WORKGROUP_SIZE} invocations in a row; neighbouring invocations take
// neighbouring output-column tiles of the same pixels, so they read the same input vec4 and
// adjacent weight vec4s. Tail tiles clamp their loads in bounds and skip their stores.
// ${
    p.weightsF16
      ? `Weights: float16 pairs, ${2 * TN} vec4<u32> loads per input vec4 instead of ${4 * TN} (see
// PointwiseConvShaderParams.weightsF16 for the layout); products and sums stay f32.
// `
      : ""
  }Accuracy: the 4 products of an input vec4 are summed first and then added to the accumulator,
// so the accumulator takes K/4 additions instead of K. That halves the rounding error of a long
// sum (K = 384) at no cost where FMA is not fused (llvmpipe) and one extra add where it is. The
// bias is added last, as ONNX Runtime and TF do: a large bias would otherwise swallow the low bits
// of every product added to it.
${residualComment(residual)}const PIXELS: u32 = ${p.pixels}u;
const IN_SLOTS: u32 = ${p.inSlots}u;
const OUT_SLOTS: u32 = ${p.outSlots}u;
const SLOT_TILES: u32 = ${slotTiles}u;

${bindingDeclaration("input")}
${bindingDeclaration("filter", p.weightsF16 ? "vec4<u32>" : "vec4<f32>")}
${bindingDeclaration("bias")}
${bindingDeclaration("output")}${declarations(residual)}
${p.weightsF16 ? HALF_UNPACK : ""}
${entryPoint(pointwiseConvInvocations(p))}
  let n0 = (index % SLOT_TILES) * ${TN}u;
  let p0 = (index / SLOT_TILES) * ${TP}u;
${unroll(TP, (i) => `  let row${i} = min(p0 + ${i}u, PIXELS - 1u) * IN_SLOTS;`)}
${unroll(TN, (n) => `  let col${n} = min(n0 + ${n}u, OUT_SLOTS - 1u);`)}
${unroll(TN, (n) => `  let b${n} = bias[col${n}];`)}
${forTiles(TP, TN, (i, n) => `  var acc${i}_${n} = vec4<f32>(0.0);`)}
  for (var k = 0u; k < IN_SLOTS; k++) {
${unroll(TP, (i) => `    let a${i} = input[row${i} + k];`)}
${p.weightsF16 ? halfWeightLoads(TN) : fullWeightLoads(TN)}
${tileFmas(TP, TN, "    ")}
  }
${tileStores(p, residual)}
}
`;
}

/** The tile's stores, tail tiles skipped: bias, activation, then the residual epilogue. */
function tileStores(p: PointwiseConvShaderParams, residual: ResidualParams): string {
  return forTiles(
    p.tilePixels,
    p.tileSlots,
    (i, n) =>
      `  if (p0 + ${i}u < PIXELS && n0 + ${n}u < OUT_SLOTS) { ` +
      `output[(p0 + ${i}u) * OUT_SLOTS + n0 + ${n}u] = ${
        withResidual(
          activation(`acc${i}_${n} + b${n}`, p.activation),
          residual,
          `p0 + ${i}u`,
          `n0 + ${n}u`,
        )
      }; }`,
  );
}

/** The residual epilogue of `p`, with the output shape it needs. */
function residualParams(p: PointwiseConvShaderParams): ResidualParams {
  const kind = p.residual ?? "none";
  const width = p.width ?? p.pixels;
  return { kind, outHeight: p.pixels / width, outWidth: width, slots: p.outSlots };
}

/** The residual's module-scope WGSL on lines of its own after the bindings, or nothing. */
function declarations(residual: ResidualParams): string {
  const wgsl = residualDeclarations(residual);
  return wgsl ? `\n${wgsl}` : "";
}

/** The weight loads of one input vec4 step (f32 weights): `w{n}_{c}`, row `4k + c`, slot `col{n}`. */
function fullWeightLoads(TN: number): string {
  return `    let w = k * 4u * OUT_SLOTS;\n` + unroll(
    4 * TN,
    (t) => `    let w${t >> 2}_${t % 4} = weights[w + ${t % 4}u * OUT_SLOTS + col${t >> 2}];`,
  );
}

/** The same from float16 pairs: two `vec4<u32>` per slot give the four rows. */
function halfWeightLoads(TN: number): string {
  return `    let w = k * 2u * OUT_SLOTS;\n` +
    unroll(TN, (n) =>
      `    let u${n}_0 = weights[w + col${n}];\n` +
      `    let u${n}_1 = weights[w + OUT_SLOTS + col${n}];\n` +
      `    let w${n}_0 = low_halves(u${n}_0);\n    let w${n}_1 = high_halves(u${n}_0);\n` +
      `    let w${n}_2 = low_halves(u${n}_1);\n    let w${n}_3 = high_halves(u${n}_1);`);
}

const HALF_UNPACK = `
fn low_halves(u: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(u.x).x, unpack2x16float(u.y).x, unpack2x16float(u.z).x,
                   unpack2x16float(u.w).x);
}
fn high_halves(u: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(u.x).y, unpack2x16float(u.y).y, unpack2x16float(u.z).y,
                   unpack2x16float(u.w).y);
}
`;

/** The `stagedSlots` form: weights read from workgroup memory, staged a chunk at a time. */
function stagedPointwiseConvShader(p: PointwiseConvShaderParams): string {
  const residual = residualParams(p);
  const TP = p.tilePixels;
  const TN = p.tileSlots;
  const KC = p.stagedSlots!;
  const slotTiles = Math.ceil(p.outSlots / TN);
  const pixelBlocks = Math.ceil(p.pixels / (WORKGROUP_SIZE * TP));
  return `// Pointwise (1x1) convolution with fused bias and ${activationName(p.activation)}:
//   out[p][n] = act(bias[n] + sum_k in[p][k] * weights[k][n])
// a GEMM of (pixels × in channels) by (in channels × out channels), weights staged in workgroup
// memory.
// Layout: input NHWC4, PIXELS × IN_SLOTS vec4; weights IN_SLOTS·4 rows × OUT_SLOTS vec4 (row = one
//         input channel, vec4 = 4 outputs); bias OUT_SLOTS vec4; output NHWC4, PIXELS × OUT_SLOTS.
// Workgroup: ${WORKGROUP_SIZE} invocations share one tile of ${TN} output vec4 (${
    4 * TN
  } channels) and
// take ${TP} consecutive pixels each (${
    WORKGROUP_SIZE * TP
  } per workgroup). The input channels are walked in chunks of
// ${KC} slots: the workgroup copies the chunk's ${KC * 4} × ${TN} weight vec4 into workgroup memory
// (${
    Math.ceil((KC * 4 * TN) / WORKGROUP_SIZE)
  } storage loads per invocation), then every invocation reads them from there.
// Why: on llvmpipe a storage-buffer load costs about 1.5× a workgroup-memory load
// (bench/load_costs.ts), and weights are 2/3 of the tiled kernel's loads. Per input vec4 an
// invocation loads ${TP} input vec4 from storage and ${
    4 * TN
  } weight vec4 from workgroup memory for
// ${
    4 * TP * TN
  } vec4 FMAs. Tail pixels clamp their loads and skip their stores; whole workgroups past
// the end return together, so every barrier is reached uniformly.
// Accuracy as the tiled form: each input vec4's 4 products summed first, the bias added last.
${residualComment(residual)}const PIXELS: u32 = ${p.pixels}u;
const IN_SLOTS: u32 = ${p.inSlots}u;
const OUT_SLOTS: u32 = ${p.outSlots}u;
const SLOT_TILES: u32 = ${slotTiles}u;
const WORKGROUPS: u32 = ${pixelBlocks * slotTiles}u;
const CHUNK: u32 = ${KC}u;
const STAGED: u32 = ${KC * 4 * TN}u;

${bindingDeclaration("input")}
${bindingDeclaration("filter")}
${bindingDeclaration("bias")}
${bindingDeclaration("output")}${declarations(residual)}

var<workgroup> staged: array<vec4<f32>, STAGED>;

${workgroupEntryPoint()}
  let n0 = (group % SLOT_TILES) * ${TN}u;
  let p0 = (group / SLOT_TILES) * ${WORKGROUP_SIZE * TP}u + lane * ${TP}u;
${unroll(TP, (i) => `  let row${i} = min(p0 + ${i}u, PIXELS - 1u) * IN_SLOTS;`)}
${unroll(TN, (n) => `  let col${n} = min(n0 + ${n}u, OUT_SLOTS - 1u);`)}
${forTiles(TP, TN, (i, n) => `  var acc${i}_${n} = vec4<f32>(0.0);`)}
  for (var k0 = 0u; k0 < IN_SLOTS; k0 += CHUNK) {
    for (var e = lane; e < STAGED; e += ${WORKGROUP_SIZE}u) {
      let r = e / ${TN}u;
      let k = min(k0 + r / 4u, IN_SLOTS - 1u);
      staged[e] = weights[(k * 4u + r % 4u) * OUT_SLOTS + min(n0 + e % ${TN}u, OUT_SLOTS - 1u)];
    }
    workgroupBarrier();
    let count = min(CHUNK, IN_SLOTS - k0);
    for (var kk = 0u; kk < count; kk++) {
${unroll(TP, (i) => `      let a${i} = input[row${i} + k0 + kk];`)}
      let w = kk * ${4 * TN}u;
${unroll(4 * TN, (t) => `      let w${t >> 2}_${t % 4} = staged[w + ${(t % 4) * TN + (t >> 2)}u];`)}
${tileFmas(TP, TN, "      ")}
    }
    workgroupBarrier();
  }
${unroll(TN, (n) => `  let b${n} = bias[col${n}];`)}
${tileStores(p, residual)}
}
`;
}
