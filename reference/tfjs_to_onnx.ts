/**
 * A generic converter from a TF.js graph model to an ONNX model, for ONNX Runtime to run as an
 * independent reference (and as a bench peer) of a TF.js network: it walks the graph from the
 * requested outputs back to the inputs and maps each TF op to ONNX nodes through the op table
 * in `_tfjs_onnx_ops.ts`, never through a model's layer list. An op not in the table is a
 * {@linkcode ModelLoadError} naming the node and the op.
 *
 * Values keep TF's shapes (NHWC for images). A 4-D value made by a convolution or a resize is
 * held in ONNX's NCHW and transposed back to TF's layout only where an op needs that layout
 * (reshapes, gathers, graph outputs); element-wise ops between NCHW values stay in NCHW, so a
 * conv net costs one transpose at its input and one per output. Every shape is static: the
 * graph's inputs must have known shapes (or be given in {@linkcode TfjsToOnnxOptions}).
 *
 * @module
 */

import { ModelLoadError } from "../errors.ts";
import { OnnxGraphBuilder } from "./onnx_graph.ts";
import type { TfjsConstant, TfjsGraphNode } from "./tfjs_artifacts.ts";
import { TFJS_ONNX_OPS, type TfOpContext, type TfValue } from "./_tfjs_onnx_ops.ts";

export type { TfValue };

/** Options of {@linkcode convertTfjsGraphToOnnx}. */
export interface TfjsToOnnxOptions {
  /** Tensors to expose as ONNX outputs, as TF refs (`node` for output 0, or `node:k`). */
  readonly outputs: readonly string[];
  /** Shapes of `Placeholder`s whose recorded shape has a free (-1) dimension, by node name. */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
}

/** An input or output of the converted model. */
export interface OnnxTensorInfo {
  /** ONNX name (the TF placeholder's name, or the TF ref of an output). */
  readonly name: string;
  /** Element type. */
  readonly dtype: "float32" | "int32";
  /** Static shape, in TF's order (NHWC for images). */
  readonly shape: readonly number[];
}

/** What {@linkcode convertTfjsGraphToOnnx} returns. */
export interface TfjsOnnxModel {
  /** ONNX model bytes (opset 17). */
  readonly model: Uint8Array;
  /** The graph's inputs (the `Placeholder`s the outputs depend on). */
  readonly inputs: readonly OnnxTensorInfo[];
  /** The outputs, in the order asked for. */
  readonly outputs: readonly OnnxTensorInfo[];
  /** How many nodes of each TF op were converted (the nodes the outputs depend on). */
  readonly tfOps: Readonly<Record<string, number>>;
}

/** `node:k` → `[node, k]`; `node` → `[node, 0]`. */
function parseRef(ref: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(ref);
  return m ? [m[1], Number(m[2])] : [ref, 0];
}

/** The nodes the outputs depend on, inputs first (iterative post-order DFS). */
function topologicalOrder(
  byName: ReadonlyMap<string, TfjsGraphNode>,
  outputs: readonly string[],
): TfjsGraphNode[] {
  const order: TfjsGraphNode[] = [];
  const state = new Map<string, "open" | "done">();
  for (const ref of outputs) {
    const [root] = parseRef(ref);
    if (!byName.has(root)) throw new ModelLoadError(`output ${ref}: no node ${root} in the graph`);
    const stack: { node: TfjsGraphNode; next: number }[] = [];
    const visit = (name: string, from: string) => {
      const node = byName.get(name);
      if (node === undefined) {
        throw new ModelLoadError(`node ${from}: input ${name} is not a node of the graph`);
      }
      const s = state.get(name);
      if (s === "done") return;
      if (s === "open") throw new ModelLoadError(`node ${name}: the graph has a cycle through it`);
      state.set(name, "open");
      stack.push({ node, next: 0 });
    };
    visit(root, "(outputs)");
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const inputs = (top.node.input ?? []).filter((i) => !i.startsWith("^"));
      if (top.next < inputs.length) {
        visit(parseRef(inputs[top.next++])[0], top.node.name);
      } else {
        stack.pop();
        state.set(top.node.name, "done");
        order.push(top.node);
      }
    }
  }
  return order;
}

/**
 * Converts the part of a TF.js graph that `options.outputs` depend on into an ONNX model.
 *
 * @param nodes The graph's nodes (`modelTopology.node`, e.g. from `tfjsGraphNodes`).
 * @param constants Every `Const` node's value by node name (e.g. from `decodeTfjsWeights`).
 * @param options Outputs to expose and shapes of free inputs.
 * @returns The model bytes and its inputs, outputs and converted TF ops.
 * @throws {ModelLoadError} Naming the node and op, when an op (or one of its attributes, fused
 *   ops, data types or shapes) is not supported, a constant is missing, or an input shape is
 *   unknown.
 *
 * @example Convert a one-node graph
 * ```ts
 * import { convertTfjsGraphToOnnx } from "./tfjs_to_onnx.ts";
 * const nodes = [
 *   { name: "x", op: "Placeholder", attr: { dtype: { type: "DT_FLOAT" }, shape: { shape: { dim: [{ size: "2" }] } } } },
 *   { name: "y", op: "Relu", input: ["x"], attr: { T: { type: "DT_FLOAT" } } },
 * ];
 * const { outputs, tfOps } = convertTfjsGraphToOnnx(nodes, new Map(), { outputs: ["y"] });
 * console.log(outputs[0].shape, tfOps); // [ 2 ] { Placeholder: 1, Relu: 1 }
 * ```
 */
export function convertTfjsGraphToOnnx(
  nodes: readonly TfjsGraphNode[],
  constants: ReadonlyMap<string, TfjsConstant>,
  options: TfjsToOnnxOptions,
): TfjsOnnxModel {
  if (options.outputs.length === 0) throw new ModelLoadError("no outputs asked for");
  const byName = new Map<string, TfjsGraphNode>();
  for (const n of nodes) byName.set(n.name, n);
  const graph = new OnnxGraphBuilder();
  const values = new Map<string, readonly TfValue[]>();
  const inputs: OnnxTensorInfo[] = [];
  const tfOps: Record<string, number> = {};

  for (const node of topologicalOrder(byName, options.outputs)) {
    const handler = Object.hasOwn(TFJS_ONNX_OPS, node.op) ? TFJS_ONNX_OPS[node.op] : undefined;
    if (handler === undefined) {
      throw new ModelLoadError(
        `node ${node.name}: TF op ${node.op} is not supported by the ONNX converter ` +
          `(supported: ${Object.keys(TFJS_ONNX_OPS).join(", ")})`,
      );
    }
    const dataInputs = (node.input ?? []).filter((i) => !i.startsWith("^")).map((ref) => {
      const [name, k] = parseRef(ref);
      const v = values.get(name)?.[k];
      if (v === undefined) {
        throw new ModelLoadError(`node ${node.name}: input ${ref} has no output ${k}`);
      }
      return v;
    });
    const ctx = new OpContext(graph, node, dataInputs, constants, options.inputShapes ?? {});
    const out = handler(ctx);
    if (node.op === "Placeholder") {
      inputs.push({ name: node.name, dtype: out[0].dtype, shape: out[0].shape });
    }
    values.set(node.name, out);
    tfOps[node.op] = (tfOps[node.op] ?? 0) + 1;
  }

  const outputs = options.outputs.map((ref): OnnxTensorInfo => {
    const [name, k] = parseRef(ref);
    const v = values.get(name)?.[k];
    if (v === undefined) throw new ModelLoadError(`output ${ref}: node ${name} has no output ${k}`);
    const ctx = new OpContext(graph, byName.get(name)!, [], constants, {});
    graph.output(ctx.tf(v), ref, v.dtype, v.shape);
    return { name: ref, dtype: v.dtype, shape: v.shape };
  });
  return { model: graph.build(), inputs, outputs, tfOps };
}

/** What an op handler sees while its node is converted; see `TfOpContext`. */
class OpContext implements TfOpContext {
  constructor(
    readonly graph: OnnxGraphBuilder,
    readonly node: TfjsGraphNode,
    readonly inputs: readonly TfValue[],
    readonly constants: ReadonlyMap<string, TfjsConstant>,
    readonly inputShapes: Readonly<Record<string, readonly number[]>>,
  ) {}

  fail(message: string): never {
    throw new ModelLoadError(`node ${this.node.name} (${this.node.op}): ${message}`);
  }

  input(i: number): TfValue {
    const v = this.inputs[i];
    if (v === undefined) this.fail(`expected at least ${i + 1} inputs, got ${this.inputs.length}`);
    return v;
  }

  constant(v: TfValue, what: string): TfjsConstant {
    if (v.constant === undefined) this.fail(`${what} must be a constant`);
    return v.constant;
  }

  tf(v: TfValue): string {
    if (v.tfName === undefined) {
      if (v.nchwName !== undefined) {
        [v.tfName] = this.graph.node("Transpose", [v.nchwName], { perm: { ints: [0, 2, 3, 1] } });
      } else if (v.constant !== undefined) {
        v.tfName = this.graph.tensor(v.constant.values, v.constant.shape);
      } else {
        this.fail("internal error: a value with no ONNX name");
      }
    }
    return v.tfName;
  }

  nchw(v: TfValue): string {
    if (v.nchwName === undefined) {
      if (v.shape.length !== 4) this.fail(`expected a 4-D tensor, got shape [${v.shape}]`);
      [v.nchwName] = this.graph.node("Transpose", [this.tf(v)], { perm: { ints: [0, 3, 1, 2] } });
    }
    return v.nchwName;
  }

  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.graph.tensor(BigInt64Array.from(values, (x) => BigInt(x)), dims);
  }
}
