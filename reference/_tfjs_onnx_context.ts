/**
 * What the op handlers of the TF.js → ONNX converter share: the value and context types, TF's
 * JSON attribute encoding, and the layout rule of element-wise ops (they stay in NCHW when their
 * non-scalar operands already are, else run in TF's layout).
 *
 * @module
 */

import type { OnnxAttribute, OnnxGraphBuilder } from "./onnx_graph.ts";
import type { TfjsConstant, TfjsGraphNode } from "./tfjs_artifacts.ts";

/** One tensor of the TF graph during conversion. */
export interface TfValue {
  /** Element type. */
  readonly dtype: "float32" | "int32";
  /** Static shape in TF's order. */
  readonly shape: readonly number[];
  /** The value when it is a graph constant. */
  readonly constant?: TfjsConstant;
  /** ONNX value holding it in TF's layout, once made. */
  tfName?: string;
  /** ONNX value holding it in NCHW (4-D only), once made. */
  nchwName?: string;
}

/** What an op handler gets from the converter. */
export interface TfOpContext {
  /** The graph being built. */
  readonly graph: OnnxGraphBuilder;
  /** The node being converted. */
  readonly node: TfjsGraphNode;
  /** Its data inputs (control dependencies dropped). */
  readonly inputs: readonly TfValue[];
  /** Every `Const` node's value by name. */
  readonly constants: ReadonlyMap<string, TfjsConstant>;
  /** Shapes given for free placeholders. */
  readonly inputShapes: Readonly<Record<string, readonly number[]>>;
  /** Throws a `ModelLoadError` naming the node and its op. */
  fail(message: string): never;
  /** The i-th data input (fails when missing). */
  input(i: number): TfValue;
  /** A value's constant contents (fails when it is not a constant). */
  constant(v: TfValue, what: string): TfjsConstant;
  /** The ONNX value of `v` in TF's layout (transposed or materialised on first use). */
  tf(v: TfValue): string;
  /** The ONNX value of 4-D `v` in NCHW (transposed on first use). */
  nchw(v: TfValue): string;
  /** An int64 initializer. */
  int64(values: readonly number[], dims?: readonly number[]): string;
}

/** Converts one node: returns its outputs. */
export type Handler = (ctx: TfOpContext) => TfValue[];
/** An element type. */
export type Dtype = TfValue["dtype"];

// ---- attributes (TF's JSON encoding) ----

/** A node attribute in TF's JSON encoding, or undefined. */
export function attr(ctx: TfOpContext, key: string) {
  return ctx.node.attr?.[key];
}

/** An int-list attribute (`{ list: { i } }`); `fallback` when absent. */
export function attrInts(ctx: TfOpContext, key: string, fallback?: number[]): number[] {
  const a = attr(ctx, key);
  if (a === undefined && fallback) return fallback;
  const list = a?.list;
  if (list === undefined) ctx.fail(`attribute ${key} is missing`);
  return (list.i ?? []).map(Number);
}

/** An int attribute (`{ i }`); `fallback` when absent. */
export function attrInt(ctx: TfOpContext, key: string, fallback?: number): number {
  const a = attr(ctx, key);
  if (a?.i !== undefined) return Number(a.i);
  if (fallback !== undefined) return fallback;
  ctx.fail(`attribute ${key} is missing`);
}

/** A bool attribute (`{ b }`); false when absent. */
export function attrBool(ctx: TfOpContext, key: string): boolean {
  return attr(ctx, key)?.b === true;
}

/** A base64 string attribute value as text. */
export function decodeString(b64: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
}

/** A string attribute (`{ s }`, base64); `fallback` when absent. */
export function attrString(ctx: TfOpContext, key: string, fallback?: string): string {
  const s = attr(ctx, key)?.s;
  if (s !== undefined) return decodeString(s);
  if (fallback !== undefined) return fallback;
  ctx.fail(`attribute ${key} is missing`);
}

/** A string-list attribute (`{ list: { s } }`); empty when absent. */
export function attrStrings(ctx: TfOpContext, key: string): string[] {
  return (attr(ctx, key)?.list?.s ?? []).map(decodeString);
}

/** A type attribute (`{ type }`) as an element type; fails for anything but float32 and int32. */
export function dtypeOf(ctx: TfOpContext, key: string): Dtype {
  const t = attr(ctx, key)?.type;
  if (t === "DT_FLOAT") return "float32";
  if (t === "DT_INT32") return "int32";
  ctx.fail(`${key} ${t ?? "(missing)"} is not supported (DT_FLOAT or DT_INT32)`);
}

// ---- values ----

/** A value held in TF's layout. */
export function tfValue(dtype: Dtype, shape: readonly number[], tfName: string): TfValue {
  return { dtype, shape, tfName };
}

/** A 4-D value held in NCHW (its shape still in TF's order). */
export function nchwValue(dtype: Dtype, shape: readonly number[], nchwName: string): TfValue {
  return { dtype, shape, nchwName };
}

/** The number of elements of a shape. */
export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A 0-based axis from a TF axis that may be negative, for a tensor of `rank`. */
export function axisOf(ctx: TfOpContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!(a >= 0 && a < rank)) ctx.fail(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** The scalar or 1-element constant's single value, or undefined. */
export function scalarOf(v: TfValue): number | undefined {
  return v.constant !== undefined && v.constant.values.length === 1
    ? v.constant.values[0]
    : undefined;
}

/** A constant's values as plain numbers. */
export function constInts(ctx: TfOpContext, v: TfValue, what: string): number[] {
  return Array.from(ctx.constant(v, what).values);
}

// ---- element-wise ----

/** The NumPy broadcast of two shapes (TF and ONNX share the rule). */
export function broadcast(ctx: TfOpContext, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) ctx.fail(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/**
 * Applies `emit` to the operands in NCHW when every non-scalar operand is 4-D and already held
 * in NCHW (scalar constants broadcast either way), else in TF's layout.
 */
export function elementwise(
  ctx: TfOpContext,
  operands: readonly TfValue[],
  dtype: Dtype,
  emit: (names: string[]) => string,
): TfValue {
  const shape = operands.map((v) => v.shape).reduce((a, b) => broadcast(ctx, a, b));
  const big = operands.filter((v) => scalarOf(v) === undefined);
  const inNchw = big.length > 0 &&
    big.every((v) => v.nchwName !== undefined && v.shape.join() === shape.join());
  const names = operands.map((v) => {
    const s = scalarOf(v);
    if (!inNchw) return ctx.tf(v);
    if (s === undefined) return ctx.nchw(v);
    // A 1-element constant whose rank is at most 4 adds nothing to the 4-D result's shape.
    return ctx.graph.tensor(v.dtype === "int32" ? Int32Array.of(s) : Float32Array.of(s), []);
  });
  const out = emit(names);
  return inNchw ? nchwValue(dtype, shape, out) : tfValue(dtype, shape, out);
}

/** A handler for a binary element-wise TF op that is one ONNX op. */
export function binary(op: string): Handler {
  return (ctx) => {
    const [a, b] = [ctx.input(0), ctx.input(1)];
    if (a.dtype !== b.dtype) ctx.fail(`operands are ${a.dtype} and ${b.dtype}`);
    return [elementwise(ctx, [a, b], a.dtype, (n) => ctx.graph.node(op, n)[0])];
  };
}

/** A handler for a unary element-wise TF op that is one ONNX op. */
export function unary(op: string, attributes: Record<string, OnnxAttribute> = {}): Handler {
  return (ctx) => {
    const x = ctx.input(0);
    return [elementwise(ctx, [x], x.dtype, (n) => ctx.graph.node(op, n, attributes)[0])];
  };
}

/** min(max(x, 0), 6), as ONNX `Clip`. */
export function relu6(ctx: TfOpContext, x: string): string {
  const lo = ctx.graph.tensor(Float32Array.of(0), []);
  const hi = ctx.graph.tensor(Float32Array.of(6), []);
  return ctx.graph.node("Clip", [x, lo, hi])[0];
}
