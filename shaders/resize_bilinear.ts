/**
 * WGSL generators for TF's `ResizeBilinear` to twice the height and width with
 * `half_pixel_centers = true`, `align_corners = false` (MoveNet's feature pyramid): the sampling
 * function the fused pointwise epilogue shares, and the standalone kernel, optionally fused with
 * the add that follows it.
 *
 * @module
 */

import { bindingDeclaration, entryPoint, WORKGROUP_SIZE } from "./wgsl_common.ts";

/** Shape of the low-resolution tensor a 2x upsampling reads. */
export interface Upsample2xParams {
  /** Rows of the low-resolution tensor (the output has twice as many). */
  readonly lowHeight: number;
  /** Columns of the low-resolution tensor (the output has twice as many). */
  readonly lowWidth: number;
  /** `vec4` channel slots per pixel, `ceil(channels / 4)`. */
  readonly slots: number;
}

/**
 * The WGSL function `fn <name>(oy: u32, ox: u32, c: u32) -> vec4<f32>`: channel slot `c` of output
 * pixel (oy, ox) of the 2x upsampling of `source` (an NHWC4 binding of `lowHeight × lowWidth ×
 * slots` vec4), computed as TF's CPU kernel (`resize_bilinear_op.cc`) and tfjs-backend-cpu do:
 * source coordinate `s = (o + 0.5) · scale − 0.5` with `scale = in / out = 0.5`, rows and columns
 * `max(floor(s), 0)` and `min(ceil(s), size − 1)` (so the borders repeat the edge pixel), lerp
 * `s − floor(s)`, then `top = tl + (tr − tl) · lx`, `bottom = bl + (br − bl) · lx`,
 * `out = top + (bottom − top) · ly`. For 2x every coordinate and lerp (0.25 or 0.75) is exact in
 * f32, so only the three lerps round.
 *
 * @param name Function name.
 * @param source Variable of the low-resolution binding (`input` or `second`).
 * @param p Its shape.
 * @returns WGSL source of the function.
 *
 * @example
 * ```ts
 * import { upsample2xFunction } from "./resize_bilinear.ts";
 * const fn = upsample2xFunction("upsample2x", "second", { lowHeight: 6, lowWidth: 6, slots: 16 });
 * ```
 */
export function upsample2xFunction(name: string, source: string, p: Upsample2xParams): string {
  return `// ${name}: TF ResizeBilinear 2x, half-pixel centres, of the ${p.lowHeight}x${p.lowWidth}x${p.slots} vec4 \`${source}\`.
fn ${name}(oy: u32, ox: u32, c: u32) -> vec4<f32> {
  let sy = (f32(oy) + 0.5) * 0.5 - 0.5;
  let sx = (f32(ox) + 0.5) * 0.5 - 0.5;
  let fy = floor(sy);
  let fx = floor(sx);
  let y0 = u32(max(i32(fy), 0)) * ${p.lowWidth}u;
  let y1 = u32(min(i32(ceil(sy)), ${p.lowHeight - 1})) * ${p.lowWidth}u;
  let x0 = u32(max(i32(fx), 0));
  let x1 = u32(min(i32(ceil(sx)), ${p.lowWidth - 1}));
  let ly = vec4<f32>(sy - fy);
  let lx = vec4<f32>(sx - fx);
  let tl = ${source}[(y0 + x0) * ${p.slots}u + c];
  let tr = ${source}[(y0 + x1) * ${p.slots}u + c];
  let bl = ${source}[(y1 + x0) * ${p.slots}u + c];
  let br = ${source}[(y1 + x1) * ${p.slots}u + c];
  let top = tl + (tr - tl) * lx;
  let bottom = bl + (br - bl) * lx;
  return top + (bottom - top) * ly;
}`;
}

/** Shape constants baked into a standalone resize shader. */
export interface ResizeBilinear2xShaderParams extends Upsample2xParams {
  /** Add a second input of the output's shape: `out = resize2x(input) + second`. */
  readonly add: boolean;
}

/**
 * Number of invocations a resize dispatch needs: one per output `vec4`.
 *
 * @param p Shader parameters.
 * @returns `2·lowHeight · 2·lowWidth · slots`.
 *
 * @example
 * ```ts
 * import { resizeBilinear2xInvocations } from "./resize_bilinear.ts";
 * resizeBilinear2xInvocations({ lowHeight: 6, lowWidth: 6, slots: 16 }); // 2304
 * ```
 */
export function resizeBilinear2xInvocations(p: Upsample2xParams): number {
  return 4 * p.lowHeight * p.lowWidth * p.slots;
}

/**
 * Generates the standalone 2x resize shader (weightless: bindings 0 input, 3 output and, with
 * `add`, 4 second).
 *
 * @param p Shape constants.
 * @returns WGSL source.
 *
 * @example
 * ```ts
 * import { resizeBilinear2xShader } from "./resize_bilinear.ts";
 * const wgsl = resizeBilinear2xShader({ lowHeight: 12, lowWidth: 12, slots: 8, add: true });
 * ```
 */
export function resizeBilinear2xShader(p: ResizeBilinear2xShaderParams): string {
  const outW = 2 * p.lowWidth;
  const sum = p.add ? " + second[index]" : "";
  return `// Bilinear resize to twice the height and width, TF ResizeBilinear with half_pixel_centers=true and
// align_corners=false${p.add ? ", fused with the add that follows it" : ""}:
//   out[oy][ox][c] = lerp_y(lerp_x(in[y0][x0], in[y0][x1]), lerp_x(in[y1][x0], in[y1][x1]))${
    p.add ? " + second[oy][ox][c]" : ""
  }
// with TF's source rows and columns and lerps (see upsample2x below).
// Layout: input NHWC4, ${p.lowHeight} × ${p.lowWidth} × SLOTS vec4; output${
    p.add ? " and second" : ""
  } NHWC4, ${2 * p.lowHeight} × ${outW} × SLOTS vec4.
// Weightless: no filter or bias binding. Each invocation writes one output vec4; channel slot
// varies fastest, so neighbouring invocations read neighbouring vec4s of the same four source
// pixels. A memory-bound op of a few loads per output: a register tile would save loads that the
// cache already serves. Workgroup: ${WORKGROUP_SIZE} invocations. Padded channels stay zero (zero in, zero out).
const SLOTS: u32 = ${p.slots}u;
const OUT_W: u32 = ${outW}u;

${bindingDeclaration("input")}
${bindingDeclaration("output")}${p.add ? `\n${bindingDeclaration("second")}` : ""}

${upsample2xFunction("upsample2x", "input", p)}

${entryPoint(resizeBilinear2xInvocations(p))}
  let c = index % SLOTS;
  let pixel = index / SLOTS;
  output[index] = upsample2x(pixel / OUT_W, pixel % OUT_W, c)${sum};
}
`;
}
