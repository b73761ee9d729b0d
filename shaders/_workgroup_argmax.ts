/**
 * A WGSL workgroup argmax the MoveNet decodes share: each lane offers one (value, cell) and the
 * workgroup agrees on the cell of the largest value, ties going to the lower cell (TF's ArgMax
 * order). It declares its two `var<workgroup>` arrays and needs the shader's `LANES` constant (its
 * workgroup size, a power of two).
 *
 * @module
 */

/**
 * WGSL: `bestValue`, `bestCell` (workgroup arrays of `LANES`) and
 * `argmaxOfLanes(lane, value, cell) -> u32`, a tree reduction in log2(LANES) barrier steps whose
 * result every lane reads (`workgroupUniformLoad`). Values must be ≥ 0, so a lane with no cell
 * offers −1 and never wins.
 *
 * @example
 * ```ts
 * import { WORKGROUP_ARGMAX_WGSL } from "./_workgroup_argmax.ts";
 * console.log(WORKGROUP_ARGMAX_WGSL.includes("fn argmaxOfLanes(")); // true
 * ```
 */
export const WORKGROUP_ARGMAX_WGSL: string = `var<workgroup> bestValue: array<f32, LANES>;
var<workgroup> bestCell: array<u32, LANES>;

// Workgroup argmax of each lane's (value, cell): the larger value wins, equal values go to the
// lower cell. Every value is >= 0, so a lane without cells (value -1) never wins.
fn argmaxOfLanes(lane: u32, value: f32, cell: u32) -> u32 {
  bestValue[lane] = value;
  bestCell[lane] = cell;
  workgroupBarrier();
  for (var half = LANES / 2u; half > 0u; half >>= 1u) {
    if (lane < half) {
      let v = bestValue[lane + half];
      let c = bestCell[lane + half];
      if (v > bestValue[lane] || (v == bestValue[lane] && c < bestCell[lane])) {
        bestValue[lane] = v;
        bestCell[lane] = c;
      }
    }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&bestCell[0]);
}`;
