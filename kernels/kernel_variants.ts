/**
 * Named implementations of each kernel family, for researchers comparing them
 * (`deno task bench --variant pointwise=simple`). Every variant is validated against ONNX Runtime
 * in `tests/kernel_variants_test.ts`. A variant is a tiling of the same generated shader:
 *
 * - `tiled` (default): register tiles that reuse every load for several FMAs (pointwise 8 pixels ×
 *   16 channels per invocation; depthwise 4 × 4 outputs);
 * - pointwise `px16`: a 16-pixel × 16-channel tile, 1.2–1.3× faster per frame on llvmpipe but 2–2.4×
 *   slower to compile there (every new shape on a machine without Mesa's shader cache), and more
 *   registers than a GPU thread holds without spilling, so not the default (same bits);
 * - `simple`: one output `vec4` per invocation, the textbook kernel (and, for depthwise, what ONNX
 *   Runtime Web and tfjs-webgpu fall back to when dilated);
 * - pointwise `staged`: weights staged in workgroup memory a chunk at a time (slower here);
 * - pointwise `half`: weights stored as float16 pairs, half the weight loads, at an accuracy cost
 *   (bench/NOTES.md: up to 0.25 px and 3.7e-3 in score against TF.js, and an argmax can flip);
 * - depthwise `rows1` and `rows8`: the `tiled` depthwise kernel (4 outputs along x × 4 rows per
 *   invocation) with 1 row (the default until 2026-12-01) or 8; all give the same bits;
 * - conv2d `wide`: 8 pixels × 24 channels per invocation (0.83–0.90 of `tiled`'s time on conv0,
 *   bench/NOTES.md; not the default, validated as every variant).
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";

/**
 * Kernel families that have variants.
 *
 * @example
 * ```ts
 * import { KERNEL_VARIANTS, type KernelFamily } from "./kernel_variants.ts";
 *
 * const families = Object.keys(KERNEL_VARIANTS) as KernelFamily[];
 * console.log(families); // ["pointwise", "depthwise", "conv2d"]
 * ```
 */
export type KernelFamily = "conv2d" | "depthwise" | "pointwise";

/**
 * Tile parameters of a variant (the subset its family reads).
 *
 * @example
 * ```ts
 * import type { KernelTiling } from "./kernel_variants.ts";
 *
 * // What a new pointwise variant with a 4-pixel × 8-slot register tile would declare.
 * const wide: KernelTiling = { tilePixels: 4, tileSlots: 8 };
 * ```
 */
export interface KernelTiling {
  /** Pixels per invocation (pointwise). */
  readonly tilePixels?: number;
  /** Output `vec4` slots per invocation (pointwise, conv2d). */
  readonly tileSlots?: number;
  /** Input slots per chunk of weights staged in workgroup memory (pointwise; 0: none). */
  readonly stagedSlots?: number;
  /**
   * Weights stored as float16 (pointwise): half the weight loads, weights rounded to f16 (an
   * accuracy cost, measured in bench/NOTES.md; opt-in).
   */
  readonly weightsF16?: boolean;
  /** Output pixels along x per invocation (depthwise, conv2d). */
  readonly tileX?: number;
  /** Output rows per invocation (depthwise). */
  readonly tileY?: number;
}

/**
 * The default (`tiled`) tiling of each family: what a kernel uses for a tile parameter its spec
 * leaves out, and the `tiled` entry of {@linkcode KERNEL_VARIANTS}.
 *
 * @example
 * ```ts
 * import { DEFAULT_TILING } from "./kernel_variants.ts";
 *
 * console.log(DEFAULT_TILING.pointwise); // { tilePixels: 8, tileSlots: 4 }
 * ```
 */
export const DEFAULT_TILING: {
  readonly pointwise: { readonly tilePixels: number; readonly tileSlots: number };
  readonly depthwise: { readonly tileX: number; readonly tileY: number };
  readonly conv2d: { readonly tileX: number; readonly tileSlots: number };
} = Object.freeze({
  pointwise: Object.freeze({ tilePixels: 8, tileSlots: 4 }),
  depthwise: Object.freeze({ tileX: 4, tileY: 4 }),
  conv2d: Object.freeze({ tileX: 4, tileSlots: 2 }),
});

/**
 * The variants of each family, by name.
 *
 * @example
 * ```ts
 * import { KERNEL_VARIANTS } from "./kernel_variants.ts";
 *
 * for (const [family, variants] of Object.entries(KERNEL_VARIANTS)) {
 *   console.log(family, Object.keys(variants).join(", ")); // e.g. pointwise tiled, small, simple
 * }
 * ```
 */
export const KERNEL_VARIANTS: Readonly<
  Record<KernelFamily, Readonly<Record<string, KernelTiling>>>
> = Object
  .freeze({
    pointwise: Object.freeze({
      tiled: DEFAULT_TILING.pointwise,
      px16: Object.freeze({ tilePixels: 16, tileSlots: 4 }),
      small: Object.freeze({ tilePixels: 4, tileSlots: 2 }),
      staged: Object.freeze({ tilePixels: 8, tileSlots: 4, stagedSlots: 16 }),
      half: Object.freeze({ tilePixels: 8, tileSlots: 4, weightsF16: true }),
      simple: Object.freeze({ tilePixels: 1, tileSlots: 1 }),
    }),
    depthwise: Object.freeze({
      tiled: DEFAULT_TILING.depthwise,
      rows1: Object.freeze({ tileX: 4, tileY: 1 }),
      rows8: Object.freeze({ tileX: 4, tileY: 8 }),
      simple: Object.freeze({ tileX: 1, tileY: 1 }),
    }),
    conv2d: Object.freeze({
      tiled: DEFAULT_TILING.conv2d,
      wide: Object.freeze({ tileX: 8, tileSlots: 6 }),
      simple: Object.freeze({ tileX: 1, tileSlots: 1 }),
    }),
  });

/**
 * A choice of variant per family; unnamed families use `tiled`.
 *
 * @example
 * ```ts
 * import { load } from "../mod.ts";
 * import type { KernelVariantChoice } from "./kernel_variants.ts";
 *
 * // The whole network with textbook pointwise kernels (depthwise and conv2d stay `tiled`).
 * const variants: KernelVariantChoice = { pointwise: "simple" };
 * const net = await load({ inputResolution: 257, variants });
 * net.dispose();
 * ```
 */
export type KernelVariantChoice = Partial<Record<KernelFamily, string>>;

/**
 * The tiling of a family's chosen variant.
 *
 * @param family Kernel family.
 * @param choice Chosen variants.
 * @returns The tile parameters.
 * @throws {InvalidInputError} For an unknown variant name, listing the known ones.
 *
 * @example
 * ```ts
 * import { variantTiling } from "./kernel_variants.ts";
 * variantTiling("pointwise", { pointwise: "simple" }); // { tilePixels: 1, tileSlots: 1 }
 * ```
 */
export function variantTiling(
  family: KernelFamily,
  choice: KernelVariantChoice = {},
): KernelTiling {
  const name = choice[family] ?? "tiled";
  const tiling = KERNEL_VARIANTS[family][name];
  if (!tiling) {
    throw new InvalidInputError(
      `unknown ${family} variant ${JSON.stringify(name)}; known: ${
        Object.keys(KERNEL_VARIANTS[family]).join(", ")
      }`,
    );
  }
  return tiling;
}
