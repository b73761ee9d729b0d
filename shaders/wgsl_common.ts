/**
 * Pieces every generated compute shader shares: the workgroup size and the flat invocation index
 * that lets a dispatch spill into a second grid dimension when it exceeds the per-dimension limit.
 *
 * @module
 */

/**
 * Invocations per workgroup for every kernel. 64 is a multiple of every SIMD width seen (llvmpipe
 * runs 8 or 16 lanes, NVIDIA 32, AMD 64) and small enough that a tail workgroup wastes little.
 */
export const WORKGROUP_SIZE = 64;

/**
 * The shader entry point's signature and flat invocation index. Work is laid out on a 2D grid of
 * workgroups (x fastest) so that more than 65,535 workgroups fit in one dispatch.
 *
 * @param total Number of invocations that do work; the rest return at once.
 * @returns WGSL that opens `fn main` and defines `let index: u32`.
 *
 * @example
 * ```ts
 * import { entryPoint } from "./wgsl_common.ts";
 * const head = entryPoint(1000); // "@compute @workgroup_size(64)\nfn main(...) {..."
 * ```
 */
export function entryPoint(total: number): string {
  return `@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>) {
  let index = gid.x + gid.y * groups.x * ${WORKGROUP_SIZE}u;
  if (index >= ${total}u) { return; }`;
}

/**
 * WGSL for the fused activation applied to a `vec4<f32>` expression.
 *
 * @param expr A WGSL `vec4<f32>` expression.
 * @param relu6 Whether to clamp to [0, 6].
 * @returns The expression with the activation applied.
 *
 * @example
 * ```ts
 * import { activation } from "./wgsl_common.ts";
 * activation("acc", true); // "clamp(acc, vec4<f32>(0.0), vec4<f32>(6.0))"
 * ```
 */
export function activation(expr: string, relu6: boolean): string {
  return relu6 ? `clamp(${expr}, vec4<f32>(0.0), vec4<f32>(6.0))` : expr;
}

/**
 * Repeats `fn(i)` for `i` in `[0, count)` and joins the results with newlines: the unrolling
 * helper the generators use to keep register tiles as plain named variables.
 *
 * @param count How many times.
 * @param fn Produces one line (or block) of WGSL.
 * @returns The joined WGSL.
 *
 * @example
 * ```ts
 * import { unroll } from "./wgsl_common.ts";
 * unroll(2, (i) => `var acc${i} = vec4<f32>(0.0);`);
 * ```
 */
export function unroll(count: number, fn: (i: number) => string): string {
  return Array.from({ length: count }, (_, i) => fn(i)).join("\n");
}
