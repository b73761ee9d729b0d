/**
 * A TF.js graph model's `modelTopology` as nodes (op, data inputs, attributes), independent of any
 * model: the reading of every node, the resolution of `Identity` chains, who consumes each output,
 * and typed access to the attributes a conv-like node carries. Malformed input fails with a
 * {@linkcode ModelLoadError} naming the node and attribute.
 *
 * @module
 */

import { showJson } from "../_describe.ts";
import { fail, isObject, type Json, prop } from "../models/_tfjs_json.ts";
import type { Activation } from "../shaders/wgsl_common.ts";
import type { ManifestWeight, WeightStore } from "../models/_tfjs_manifest.ts";

/** Largest stride or dilation accepted from a file. */
const MAX_STRIDE = 64;

export interface GraphNode {
  readonly name: string;
  readonly op: string;
  /** Data inputs (control inputs `^x` dropped, `:0` suffixes removed). */
  readonly inputs: readonly string[];
  /** Which output of each input node is read (`x:1` → 1); all 0 unless `multiOutput`. */
  readonly ports: readonly number[];
  readonly attr: Json;
}

export interface TfjsGraph {
  readonly nodes: ReadonlyMap<string, GraphNode>;
  /** For each producing node (Identity resolved), the nodes reading it and at which input. */
  readonly consumers: ReadonlyMap<string, readonly { node: GraphNode; index: number }[]>;
  /** Resolves a node name through Identity nodes. */
  readonly source: (name: string, from: GraphNode) => GraphNode;
}

export function readGraph(
  doc: unknown,
  supportedOps: ReadonlySet<string>,
  multiOutput = false,
): TfjsGraph {
  const topology = isObject(doc) ? prop(doc, "modelTopology") : undefined;
  if (!isObject(topology)) fail(`model.json lacks "modelTopology"`);
  const rawNodes = prop(topology, "node");
  if (!Array.isArray(rawNodes)) fail(`modelTopology.node must be an array of graph nodes`);
  const nodes = new Map<string, GraphNode>();
  for (const [i, raw] of rawNodes.entries()) {
    if (!isObject(raw)) fail(`modelTopology.node[${i}] is not an object`);
    const name = prop(raw, "name");
    if (typeof name !== "string" || name === "") {
      fail(`modelTopology.node[${i}] has no name (or it is not a string)`);
    }
    const op = prop(raw, "op");
    if (typeof op !== "string") fail(`node "${name}" has no op (or it is not a string)`);
    if (!supportedOps.has(op)) {
      fail(
        `node "${name}" has unsupported op "${op}" (supported: ${[...supportedOps].join(", ")})`,
      );
    }
    if (nodes.has(name)) fail(`node name "${name}" appears twice in modelTopology.node`);
    const rawInputs = prop(raw, "input") ?? [];
    if (!Array.isArray(rawInputs)) fail(`node "${name}" has a malformed input list`);
    const inputs: string[] = [];
    const ports: number[] = [];
    for (const input of rawInputs) {
      if (typeof input !== "string" || input === "") {
        fail(`node "${name}" has a malformed input ${showJson(input)}`);
      }
      if (input.startsWith("^")) continue; // control dependency: no data
      const m = /^(.*):(\d+)$/.exec(input);
      ports.push(m ? Number(m[2]) : 0);
      if (m && m[2] !== "0" && !multiOutput) {
        fail(`node "${name}" reads output ${m[2]} of "${m[1]}"; only output 0 is supported`);
      }
      inputs.push(m ? m[1] : input);
    }
    const attr = prop(raw, "attr") ?? {};
    if (!isObject(attr)) fail(`node "${name}" has a malformed attr ${showJson(attr)}`);
    nodes.set(name, { name, op, inputs, ports, attr });
  }

  const memo = new Map<string, GraphNode>();
  const source = (name: string, from: GraphNode): GraphNode => {
    const known = memo.get(name);
    if (known) return known;
    let node = nodes.get(name);
    const seen = new Set<string>();
    while (true) {
      if (!node) fail(`node "${from.name}" reads "${name}", which is not a node of the graph`);
      if (node.op !== "Identity") break;
      if (seen.has(node.name)) fail(`Identity node "${node.name}" is part of a cycle`);
      seen.add(node.name);
      if (node.inputs.length !== 1) {
        fail(`Identity node "${node.name}" must have exactly one data input`);
      }
      node = nodes.get(node.inputs[0]);
    }
    memo.set(name, node);
    for (const alias of seen) memo.set(alias, node);
    return node;
  };

  const consumers = new Map<string, { node: GraphNode; index: number }[]>();
  for (const node of nodes.values()) {
    if (node.op === "Identity" || node.op === "Const" || node.op === "Placeholder") continue;
    for (const [index, input] of node.inputs.entries()) {
      const src = source(input, node);
      let list = consumers.get(src.name);
      if (!list) consumers.set(src.name, list = []);
      list.push({ node, index });
    }
  }
  return { nodes, consumers, source };
}

export function attrValue(node: GraphNode, key: string): Json | undefined {
  const v = prop(node.attr, key);
  if (v === undefined) return undefined;
  if (!isObject(v)) fail(`node "${node.name}" has a malformed attr "${key}": ${showJson(v)}`);
  return v;
}

function decodeBase64(node: GraphNode, key: string, value: unknown): string {
  if (typeof value !== "string") fail(`node "${node.name}" attr "${key}" is not a string`);
  try {
    const binary = atob(value);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail(`node "${node.name}" attr "${key}" is not valid base64 text: ${showJson(value)}`);
  }
}

export function attrString(node: GraphNode, key: string): string | undefined {
  const v = attrValue(node, key);
  if (v === undefined) return undefined;
  return decodeBase64(node, key, prop(v, "s"));
}

function attrList(node: GraphNode, key: string, kind: "i" | "s"): unknown[] | undefined {
  const v = attrValue(node, key);
  if (v === undefined) return undefined;
  const list = prop(v, "list");
  if (!isObject(list)) fail(`node "${node.name}" attr "${key}" is not a list: ${showJson(v)}`);
  const items = prop(list, kind) ?? [];
  if (!Array.isArray(items)) fail(`node "${node.name}" attr "${key}" is malformed: ${showJson(v)}`);
  return items;
}

export function parseInt64(node: GraphNode, key: string, value: unknown): number {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value === "string" && /^-?\d{1,15}$/.test(value)) return Number(value);
  return fail(`node "${node.name}" attr "${key}" holds a non-integer ${showJson(value)}`);
}

export function attrIntList(node: GraphNode, key: string): number[] | undefined {
  return attrList(node, key, "i")?.map((v) => parseInt64(node, key, v));
}

export function attrStringList(node: GraphNode, key: string): string[] | undefined {
  return attrList(node, key, "s")?.map((v) => decodeBase64(node, key, v));
}

/** Reads `strides`/`dilations` as `[1, s, s, 1]` and returns `s`. */
export function spatialAttr(
  node: GraphNode,
  key: "strides" | "dilations",
  required: boolean,
): number {
  const list = attrIntList(node, key);
  if (list === undefined) {
    if (required) fail(`node "${node.name}" (${node.op}) has no "${key}" attr`);
    return 1;
  }
  if (list.length !== 4 || list[0] !== 1 || list[3] !== 1) {
    fail(`node "${node.name}" has ${key} [${list}]; expected [1, ${key[0]}, ${key[0]}, 1] (NHWC)`);
  }
  if (list[1] !== list[2]) {
    fail(`node "${node.name}" has ${key} [${list}]; y and x must be equal`);
  }
  if (list[1] < 1 || list[1] > MAX_STRIDE) {
    fail(`node "${node.name}" has ${key} [${list}]; must be between 1 and ${MAX_STRIDE}`);
  }
  return list[1];
}

/**
 * Checks the attrs a conv-like node must have (SAME padding, or VALID when `pointKernel` says the
 * filter is 1x1; NHWC; float); returns stride and dilation.
 */
export function convAttrs(
  node: GraphNode,
  pointKernel = false,
): { stride: number; dilation: number } {
  const padding = attrString(node, "padding");
  // A 1x1 kernel pads nothing, so VALID and SAME are the same there.
  if (padding !== "SAME" && !(pointKernel && padding === "VALID")) {
    fail(
      `node "${node.name}" has padding ${showJson(padding)}; only "SAME" is supported` +
        (pointKernel ? ` (or "VALID" for a 1x1 kernel)` : ""),
    );
  }
  checkDataFormat(node);
  const type = attrValue(node, "T");
  if (type !== undefined && prop(type, "type") !== "DT_FLOAT") {
    fail(`node "${node.name}" has T ${showJson(prop(type, "type"))}; only DT_FLOAT is supported`);
  }
  const stride = spatialAttr(node, "strides", true);
  const dilation = spatialAttr(node, "dilations", false);
  if (stride > 1 && dilation > 1) {
    fail(`node "${node.name}" has both stride ${stride} and dilation ${dilation} above 1`);
  }
  return { stride, dilation };
}

export function checkDataFormat(node: GraphNode): void {
  const format = attrString(node, "data_format") ?? "NHWC";
  if (format !== "NHWC") {
    fail(`node "${node.name}" has data_format ${showJson(format)}; only "NHWC" is supported`);
  }
}

/**
 * The activation in a fused conv's `fused_ops`: `BiasAdd` alone, or followed by `Relu` or
 * `Relu6`; anything else fails, naming the node. Also checks `num_args` is 1 (the bias).
 */
export function fusedActivation(node: GraphNode): Activation {
  const ops = attrStringList(node, "fused_ops");
  const joined = ops?.join(",");
  const activation = joined === "BiasAdd"
    ? "none"
    : joined === "BiasAdd,Relu"
    ? "relu"
    : joined === "BiasAdd,Relu6"
    ? "relu6"
    : undefined;
  if (activation === undefined) {
    fail(
      `node "${node.name}" has fused_ops ${showJson(ops ?? null)}; ` +
        `supported: ["BiasAdd"], ["BiasAdd","Relu"] and ["BiasAdd","Relu6"]`,
    );
  }
  const numArgs = attrValue(node, "num_args");
  if (numArgs !== undefined && parseInt64(node, "num_args", prop(numArgs, "i")) !== 1) {
    fail(`node "${node.name}" has num_args ${showJson(prop(numArgs, "i"))}; expected 1 (the bias)`);
  }
  return activation;
}

/**
 * The weight of the `Const` node that `node` reads as `input` (through any `Identity`): fails,
 * naming both nodes, when the input is not a `Const` or the manifest lacks it.
 */
export function constWeight(
  graph: TfjsGraph,
  store: WeightStore,
  node: GraphNode,
  input: string,
): ManifestWeight {
  const src = graph.source(input, node);
  if (src.op !== "Const") {
    fail(`node "${node.name}" expects a Const for "${input}", but it is a ${src.op}`);
  }
  const weight = store.get(src.name);
  if (!weight) fail(`Const node "${src.name}" (used by "${node.name}") is not in weightsManifest`);
  return weight;
}
