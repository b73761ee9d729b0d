/**
 * The pointwise register tile's WGSL, written once for the shaders that hold one (the pointwise
 * conv and the fused block): the loop over the tile's accumulators and the step that adds one
 * input vec4's products. Both depend on the same summation order to give the same bits.
 *
 * @module
 */

import { unroll } from "./wgsl_common.ts";

/**
 * `fn(i, n)` for each pixel `i` and output slot `n` of a `TP` × `TN` register tile, one line each.
 *
 * @param TP Pixels of the tile.
 * @param TN Output vec4 slots of the tile.
 * @param fn Makes one line.
 * @returns The lines, pixel-major.
 *
 * @example
 * ```ts
 * import { forTiles } from "./_register_tile.ts";
 * console.log(forTiles(2, 1, (i, n) => `var acc${i}_${n} = vec4<f32>(0.0);`));
 * ```
 */
export function forTiles(TP: number, TN: number, fn: (i: number, n: number) => string): string {
  return unroll(TP * TN, (t) => fn(Math.floor(t / TN), t % TN));
}

/**
 * One input vec4 step of the tile: for each accumulator `acc{i}_{n}`, the 4 products of input
 * vec4 `a{i}` with weight rows `w{n}_0..3` summed first (x, y, z, w in that order), then added.
 * Summing the products first halves the rounding of a long sum where `fma` is not fused.
 *
 * @param TP Pixels of the tile.
 * @param TN Output vec4 slots of the tile.
 * @param indent What each line starts with.
 * @returns The WGSL lines.
 *
 * @example
 * ```ts
 * import { tileFmas } from "./_register_tile.ts";
 * console.log(tileFmas(1, 1, "  ")); // acc0_0 += fma(vec4<f32>(a0.w), w0_3, …
 * ```
 */
export function tileFmas(TP: number, TN: number, indent: string): string {
  return forTiles(
    TP,
    TN,
    (i, n) =>
      `${indent}acc${i}_${n} += fma(vec4<f32>(a${i}.w), w${n}_3, fma(vec4<f32>(a${i}.z), w${n}_2, ` +
      `fma(vec4<f32>(a${i}.y), w${n}_1, vec4<f32>(a${i}.x) * w${n}_0)));`,
  );
}
