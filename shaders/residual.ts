/**
 * The residual epilogue a convolution can fuse: after its bias and activation it adds a second
 * input, as is (MobileNetV2's inverted-residual add) or upsampled 2x by TF's half-pixel bilinear
 * resize (a feature pyramid's top-down path added to a lateral conv).
 *
 * @module
 */

import { upsample2xFunction } from "./resize_bilinear.ts";
import { bindingDeclaration } from "./wgsl_common.ts";

/**
 * What the epilogue adds after the activation, from the second input (binding 4):
 *
 * - `none`: nothing, and there is no second input;
 * - `identity`: the second input as is, of the output's shape: `out = act(acc + bias) + second`;
 * - `bilinear2x`: the second input, of half the output's height and width, upsampled 2x as TF's
 *   `ResizeBilinear` with `half_pixel_centers`: `out = act(acc + bias) + resize2x(second)`.
 *
 * @example
 * ```ts
 * import type { Residual } from "./residual.ts";
 * const project: Residual = "identity"; // an inverted-residual block's projection conv
 * ```
 */
export type Residual = "none" | "identity" | "bilinear2x";

/**
 * Every {@linkcode Residual}, in the order error messages list them.
 *
 * @example
 * ```ts
 * import { RESIDUALS } from "./residual.ts";
 * console.log(RESIDUALS.length); // 3
 * ```
 */
export const RESIDUALS: readonly Residual[] = Object.freeze(["none", "identity", "bilinear2x"]);

/** The residual of one kernel and the output shape it is added to. */
export interface ResidualParams {
  /** What is added. */
  readonly kind: Residual;
  /** Output rows (the `bilinear2x` residual has half as many). */
  readonly outHeight: number;
  /** Output columns (the `bilinear2x` residual has half as many). */
  readonly outWidth: number;
  /** Output `vec4` channel slots (the residual's too). */
  readonly slots: number;
}

/**
 * Floating-point operations the epilogue adds per output element: 1 for the add, 9 more for the
 * three lerps of the upsampling.
 *
 * @param kind The residual.
 * @returns 0, 1 or 10.
 *
 * @example
 * ```ts
 * import { residualFlopsPerElement } from "./residual.ts";
 * residualFlopsPerElement("bilinear2x"); // 10
 * ```
 */
export function residualFlopsPerElement(kind: Residual): number {
  return kind === "identity" ? 1 : kind === "bilinear2x" ? 10 : 0;
}

/**
 * The WGSL the residual needs at module scope: the second input's binding and, for `bilinear2x`,
 * the upsampling function. Empty for `none`, so a kernel without a residual is unchanged.
 *
 * @param p The residual.
 * @returns WGSL lines, or `""`.
 *
 * @example
 * ```ts
 * import { residualDeclarations } from "./residual.ts";
 * residualDeclarations({ kind: "identity", outHeight: 12, outWidth: 12, slots: 16 });
 * ```
 */
export function residualDeclarations(p: ResidualParams): string {
  if (p.kind === "none") return "";
  const binding = bindingDeclaration("second");
  if (p.kind === "identity") return binding;
  const low = { lowHeight: p.outHeight / 2, lowWidth: p.outWidth / 2, slots: p.slots };
  return `${binding}
${upsample2xFunction("upsample2x", "second", low)}
fn residual_at(pixel: u32, c: u32) -> vec4<f32> {
  return upsample2x(pixel / ${p.outWidth}u, pixel % ${p.outWidth}u, c);
}`;
}

/**
 * Adds the residual to an output expression.
 *
 * @param expr The activated output `vec4<f32>` expression.
 * @param p The residual.
 * @param pixel WGSL `u32` expression of the output pixel (`oy · outWidth + ox`).
 * @param slot WGSL `u32` expression of the output channel slot.
 * @returns `expr` for `none`, else `expr + <residual at pixel, slot>`.
 *
 * @example
 * ```ts
 * import { withResidual } from "./residual.ts";
 * const p = { kind: "identity", outHeight: 6, outWidth: 6, slots: 40 } as const;
 * withResidual("v", p, "px", "n"); // "v + second[(px) * 40u + n]"
 * ```
 */
export function withResidual(expr: string, p: ResidualParams, pixel: string, slot: string): string {
  if (p.kind === "identity") return `${expr} + second[(${pixel}) * ${p.slots}u + ${slot}]`;
  if (p.kind === "bilinear2x") return `${expr} + residual_at(${pixel}, ${slot})`;
  return expr;
}

/**
 * The header-comment line that says what the epilogue adds, or `""` for `none`.
 *
 * @param p The residual.
 * @returns A `// `-prefixed line ending in a newline, or `""`.
 *
 * @example
 * ```ts
 * import { residualComment } from "./residual.ts";
 * residualComment({ kind: "bilinear2x", outHeight: 12, outWidth: 12, slots: 16 });
 * ```
 */
export function residualComment(p: ResidualParams): string {
  if (p.kind === "identity") {
    return `// Epilogue: + second[p][n] (binding 4, NHWC4 of the output's shape), after the activation,
// as TF's AddV2 after the conv: the sum is rounded once more, as there.
`;
  }
  if (p.kind === "bilinear2x") {
    return `// Epilogue: + resize2x(second)[p][n] after the activation: second (binding 4) is NHWC4 of ${
      p.outHeight / 2
    }x${p.outWidth / 2},
// upsampled 2x as TF's ResizeBilinear with half_pixel_centers (upsample2x below), as TF's AddV2
// of the resize and the conv.
`;
  }
  return "";
}
