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
 * The entry point of a kernel whose work is laid out per workgroup (it shares workgroup memory):
 * the flat workgroup index `group` over the same 2D grid as {@linkcode entryPoint}, and the
 * invocation's `lane` in it. Whole workgroups past the end return together, so a barrier after
 * this is still reached uniformly. The shader must define `const WORKGROUPS: u32`.
 *
 * @returns WGSL that opens `fn main` and defines `let group: u32` and `lane`.
 *
 * @example
 * ```ts
 * import { workgroupEntryPoint } from "./wgsl_common.ts";
 * const head = workgroupEntryPoint(); // "@compute @workgroup_size(64)\nfn main(...) {..."
 * ```
 */
export function workgroupEntryPoint(): string {
  return `@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
  let group = wid.x + wid.y * groups.x;
  if (group >= WORKGROUPS) { return; }`;
}

/**
 * The activation fused after a kernel's bias: none, ReLU (`max(x, 0)`) or ReLU6
 * (`min(max(x, 0), 6)`), TF's `Relu` and `Relu6` fused ops.
 *
 * @example
 * ```ts
 * import type { Activation } from "./wgsl_common.ts";
 * const fpn: Activation = "relu"; // MoveNet's feature-pyramid convs
 * ```
 */
export type Activation = "none" | "relu" | "relu6";

/**
 * Every {@linkcode Activation}, in the order error messages list them.
 *
 * @example
 * ```ts
 * import { ACTIVATIONS } from "./wgsl_common.ts";
 * console.log(ACTIVATIONS.includes("relu")); // true
 * ```
 */
export const ACTIVATIONS: readonly Activation[] = Object.freeze(["none", "relu", "relu6"]);

/**
 * WGSL for the fused activation applied to a `vec4<f32>` expression.
 *
 * @param expr A WGSL `vec4<f32>` expression.
 * @param act The activation.
 * @returns The expression with the activation applied.
 *
 * @example
 * ```ts
 * import { activation } from "./wgsl_common.ts";
 * activation("acc", "relu6"); // "clamp(acc, vec4<f32>(0.0), vec4<f32>(6.0))"
 * activation("acc", "relu"); // "max(acc, vec4<f32>(0.0))"
 * ```
 */
export function activation(expr: string, act: Activation): string {
  if (act === "relu6") return `clamp(${expr}, vec4<f32>(0.0), vec4<f32>(6.0))`;
  if (act === "relu") return `max(${expr}, vec4<f32>(0.0))`;
  return expr;
}

/**
 * How a shader's header comment names an activation.
 *
 * @param act The activation.
 * @returns `"ReLU6"`, `"ReLU"` or `"no activation"`.
 *
 * @example
 * ```ts
 * import { activationName } from "./wgsl_common.ts";
 * activationName("none"); // "no activation"
 * ```
 */
export function activationName(act: Activation): string {
  return act === "relu6" ? "ReLU6" : act === "relu" ? "ReLU" : "no activation";
}

/**
 * The bind group every kernel uses (group 0): its first input, packed filter, packed bias, output,
 * and an optional second input (a residual, or the other operand of an add). A kernel without
 * weights or bias leaves those bindings out. The host side (`kernels/compute_kernel.ts`) binds by
 * these numbers.
 *
 * @example
 * ```ts
 * import { BINDING } from "./wgsl_common.ts";
 * console.log(BINDING.second); // 4
 * ```
 */
export const BINDING: Readonly<
  { input: 0; filter: 1; bias: 2; output: 3; second: 4 }
> = Object.freeze({ input: 0, filter: 1, bias: 2, output: 3, second: 4 });

/** The WGSL variable of each binding. */
const BINDING_VARIABLE = {
  input: "input",
  filter: "weights",
  bias: "bias",
  output: "output",
  second: "second",
};

/**
 * The declaration of one binding of {@linkcode BINDING}: an array of `vec4` (read-only except the
 * output), named `input`, `weights`, `bias`, `output` or `second`.
 *
 * @param binding Which binding.
 * @param element Element type (default `vec4<f32>`; float16 weight pairs are `vec4<u32>`).
 * @returns One line of WGSL.
 *
 * @example
 * ```ts
 * import { bindingDeclaration } from "./wgsl_common.ts";
 * bindingDeclaration("second"); // "@group(0) @binding(4) var<storage, read> second: array<vec4<f32>>;"
 * ```
 */
export function bindingDeclaration(
  binding: keyof typeof BINDING,
  element = "vec4<f32>",
): string {
  const access = binding === "output" ? "read_write" : "read";
  return `@group(0) @binding(${BINDING[binding]}) var<storage, ${access}> ` +
    `${BINDING_VARIABLE[binding]}: array<${element}>;`;
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
