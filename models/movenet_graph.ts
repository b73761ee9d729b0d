/**
 * MoveNet SinglePose (Lightning, Thunder) recognised in a TF.js graph model: the int32 input and
 * the graph's own normalisation (`Cast`, then `(x − mean) · scale − offset`), the MobileNetV2
 * backbone and feature pyramid lowered to an {@linkcode OpGraph} up to the four heads, and the
 * constant center prior the in-graph decode multiplies `sigmoid(center)` by. The decode ops after
 * the heads (Sigmoid, ArgMax, GatherNd, …) are replaced by one GPU kernel, so they are only
 * checked to be of the kinds MoveNet's decode uses.
 *
 * @module
 */

import { ModelLoadError } from "../errors.ts";
import { showJson } from "../_describe.ts";
import { LOWERED_OPS, lowerTfjsGraph } from "../graph/lower_tfjs.ts";
import type { OpGraph } from "../graph/op_graph.ts";
import { constWeight, type GraphNode, readGraph, type TfjsGraph } from "../graph/tfjs_graph.ts";
import { fail, guard, parseJson, prop } from "./_tfjs_json.ts";
import { assembleGroups, readManifest, type ShardData, WeightStore } from "./_tfjs_manifest.ts";
import { readTfjsModelFiles } from "./_tfjs_model_io.ts";
import type { LoadTfjsGraphModelOptions } from "./tfjs_graph_model.ts";

/** The ops a MoveNet SinglePose graph may hold: the lowered network, plumbing, and the decode. */
const MOVENET_OPS: ReadonlySet<string> = new Set([
  ...LOWERED_OPS,
  "Placeholder",
  "Const",
  "Identity",
  "Cast",
  "Unpack",
  "Pack",
  "ExpandDims",
  "Squeeze",
  "Reshape",
  "Sub",
  "Mul",
  "RealDiv",
  "Sigmoid",
  "ArgMax",
  "FloorDiv",
  "GatherNd",
  "SquaredDifference",
  "Sqrt",
  "ConcatV2",
]);

/** Nodes that pass the input through unchanged at batch 1 (the graph's ResizeImage no-op). */
const PASS_THROUGH = new Set(["Cast", "Unpack", "ExpandDims", "Squeeze", "Reshape", "Identity"]);

/** The four heads, by the name of the block that computes each. */
export const MOVENET_HEADS: readonly {
  readonly key: "center" | "heatmap" | "regression" | "offset";
  readonly block: string;
  readonly channels: number;
}[] = Object.freeze(
  [
    { key: "center", block: "center_0", channels: 1 },
    { key: "heatmap", block: "kpt_heatmap_0", channels: 17 },
    { key: "regression", block: "kpt_regress_0", channels: 34 },
    { key: "offset", block: "kpt_offset_0", channels: 34 },
  ] as const,
);

/** The graph's normalisation of the int input: `(x − mean[c]) · scale[c] − offset`. */
export interface MoveNetNormalisation {
  /** Per-channel value subtracted first (RGB). */
  readonly mean: Float32Array;
  /** Per-channel factor applied next. */
  readonly scale: Float32Array;
  /** Subtracted last. */
  readonly offset: number;
}

/** A MoveNet SinglePose model as the runtime builds it. */
export interface MoveNetGraph {
  /** Side of the square int32 input (192 Lightning, 256 Thunder). */
  readonly inputSize: number;
  /** The input normalisation the graph applies before its first conv. */
  readonly normalisation: MoveNetNormalisation;
  /** Backbone, feature pyramid and heads; outputs center, heatmap, regression, offset. */
  readonly network: OpGraph;
  /** Side of the head maps (inputSize / 4). */
  readonly heatmapSize: number;
  /** The center prior, `heatmapSize²` values, row-major. */
  readonly centerPrior: Float32Array;
  /** Added to the distance to the regressed point before dividing the heatmap by it (≈ 1.8). */
  readonly distanceBias: number;
  /** Multiplies (cell + offset) into fractions of the input: (y, x), ≈ 1 / heatmapSize. */
  readonly outputScale: readonly [number, number];
}

/**
 * Parses an in-memory MoveNet SinglePose TF.js graph model. Pure: no I/O.
 *
 * @param modelJson The parsed model.json (or its text).
 * @param shards The bytes of every shard, in manifest order.
 * @returns The model.
 * @throws {ModelLoadError} When the graph is malformed or not MoveNet SinglePose.
 */
export function parseMoveNetGraph(modelJson: unknown, shards: readonly ShardData[]): MoveNetGraph {
  return guard(() => {
    const doc = typeof modelJson === "string" ? parseJson(modelJson, "model.json") : modelJson;
    const manifest = readManifest(doc);
    const store = new WeightStore(manifest, assembleGroups(manifest, shards));
    return recognise(readGraph(doc, MOVENET_OPS, true), store);
  });
}

/**
 * Loads a MoveNet SinglePose TF.js graph model from a path or URL (same path policy and read
 * bounds as {@linkcode loadTfjsGraphModel}).
 *
 * @param source model.json as a path, `file:` URL or http(s) URL.
 * @param options Optional `fetch` and timeout for http(s) sources.
 * @returns The model.
 * @throws {ModelLoadError} When a file cannot be read, or the graph is not MoveNet SinglePose.
 *
 * @example
 * ```ts
 * import { fetchDefaultWeights } from "./default_weights.ts";
 * import { loadMoveNetGraph } from "./movenet_graph.ts";
 *
 * const model = await loadMoveNetGraph(await fetchDefaultWeights("movenet-lightning"));
 * console.log(model.inputSize, model.heatmapSize); // 192 48
 * ```
 */
export async function loadMoveNetGraph(
  source: string | URL,
  options: LoadTfjsGraphModelOptions = {},
): Promise<MoveNetGraph> {
  const { doc, shards } = await readTfjsModelFiles(source, options);
  return parseMoveNetGraph(doc, shards);
}

function recognise(graph: TfjsGraph, store: WeightStore): MoveNetGraph {
  const placeholders = [...graph.nodes.values()].filter((n) => n.op === "Placeholder");
  if (placeholders.length !== 1) {
    fail(`expected one Placeholder (the int32 image), found ${placeholders.length}`);
  }
  const input = placeholders[0];
  const inputSize = squareInputSize(input);

  const { last, normalisation } = readNormalisation(graph, store, input);
  const constant = (n: GraphNode, count: number, what: string) =>
    constFloats(graph, store, n, count, what);

  const heatmapSize = inputSize / 4;
  const headNodes = MOVENET_HEADS.map((head) => headConv(graph, head.block));
  const network = lowerTfjsGraph(graph, store, {
    input: last.name,
    inputShape: [inputSize, inputSize, 3],
    outputs: headNodes.map((n) => n.name),
  });
  MOVENET_HEADS.forEach((head, i) => {
    const shape = network.tensors[network.outputs[i]].shape;
    if (shape[0] !== heatmapSize || shape[1] !== heatmapSize || shape[2] !== head.channels) {
      fail(
        `head "${head.block}" is [${shape}], expected [${heatmapSize},${heatmapSize},` +
          `${head.channels}]`,
      );
    }
  });

  // sigmoid(center) · prior: the Mul after the center head's Sigmoid holds the prior.
  const sigmoid = (graph.consumers.get(headNodes[0].name) ?? []).find((c) =>
    c.node.op === "Sigmoid"
  )?.node;
  const priorMul = sigmoid && (graph.consumers.get(sigmoid.name) ?? [])[0]?.node;
  if (!priorMul || priorMul.op !== "Mul") {
    fail(`the center head "${headNodes[0].name}" must feed Sigmoid, then Mul by the center prior`);
  }
  const centerPrior = constant(priorMul, heatmapSize * heatmapSize, "center prior");

  // distance + bias: the AddV2 after the decode's Sqrt. The output scale: the Mul whose Const
  // holds (y, x) factors, feeding the last ConcatV2.
  const sqrt = [...graph.nodes.values()].filter((n) => n.op === "Sqrt");
  const biasAdd = sqrt.length === 1
    ? (graph.consumers.get(sqrt[0].name) ?? [])[0]?.node
    : undefined;
  if (!biasAdd || biasAdd.op !== "AddV2") {
    fail("MoveNet's decode must add a constant to the one Sqrt (the distance) it takes");
  }
  const distanceBias = constant(biasAdd, 1, "distance bias")[0];
  const scaleMul = [...graph.nodes.values()].filter((n) =>
    n.op === "Mul" && (graph.consumers.get(n.name) ?? []).some((c) => c.node.op === "ConcatV2")
  );
  if (scaleMul.length !== 1) {
    fail("MoveNet's decode must scale (y, x) by one Mul before its output");
  }
  const scale = constant(scaleMul[0], 2, "output scale");
  return {
    inputSize,
    normalisation,
    network,
    heatmapSize,
    centerPrior,
    distanceBias,
    outputScale: [scale[0], scale[1]],
  };
}

/**
 * Follows a MoveNet graph's int32 input through the no-op plumbing to its normalisation,
 * `Sub → Mul → Sub` by Consts, shared by SinglePose and MultiPose.
 *
 * @param graph The parsed graph.
 * @param store Its weights.
 * @param input The Placeholder.
 * @returns The last normalisation node (the network's input) and the constants.
 * @throws {ModelLoadError} When the input does not reach a normalisation of that form.
 */
export function readNormalisation(
  graph: TfjsGraph,
  store: WeightStore,
  input: GraphNode,
): { readonly last: GraphNode; readonly normalisation: MoveNetNormalisation } {
  let node = input;
  const next = (from: GraphNode): GraphNode => {
    const readers = graph.consumers.get(from.name) ?? [];
    if (readers.length !== 1 || readers[0].index !== 0) {
      fail(`node "${from.name}" must feed exactly one node on the way to the first conv`);
    }
    return readers[0].node;
  };
  do node = next(node); while (PASS_THROUGH.has(node.op));
  const sub = expectOp(node, "Sub");
  const mul = expectOp(next(sub), "Mul");
  const last = expectOp(next(mul), "Sub");
  const constant = (n: GraphNode, count: number, what: string) =>
    constFloats(graph, store, n, count, what);
  return {
    last,
    normalisation: {
      mean: constant(sub, 3, "mean"),
      scale: constant(mul, 3, "scale"),
      offset: constant(last, 1, "offset")[0],
    },
  };
}

/**
 * The float values of the `Const` that `node` reads as its second input, which must hold `count`.
 *
 * @param graph The parsed graph.
 * @param store Its weights.
 * @param node The reader.
 * @param count How many values the Const must hold.
 * @param what What the values are, for the error.
 * @returns The values.
 * @throws {ModelLoadError} When the input is not a Const of `count` values.
 */
export function constFloats(
  graph: TfjsGraph,
  store: WeightStore,
  node: GraphNode,
  count: number,
  what: string,
): Float32Array {
  const weight = constWeight(graph, store, node, node.inputs[1]);
  if (weight.count !== count) {
    fail(`node "${node.name}" must take a Const of ${count} values as its ${what}`);
  }
  return store.floats(weight, `the ${what} of "${node.name}"`);
}

/**
 * The last 1x1 conv of a MoveNet head block (`center_0`, `kpt_heatmap_0`, …): the `_FusedConv2D`
 * under `/<block>/` that feeds no other conv.
 *
 * @param graph The parsed graph.
 * @param block The head's block name.
 * @returns The node.
 * @throws {ModelLoadError} When there is not exactly one.
 */
export function headConv(graph: TfjsGraph, block: string): GraphNode {
  const found = [...graph.nodes.values()].filter((n) =>
    n.op === "_FusedConv2D" && n.name.includes(`/${block}/`) &&
    !(graph.consumers.get(n.name) ?? []).some((c) => c.node.op === "_FusedConv2D")
  );
  if (found.length !== 1) {
    fail(`expected one final 1x1 conv of head "${block}", found ${found.length}`);
  }
  return found[0];
}

function expectOp(node: GraphNode, op: string): GraphNode {
  if (node.op !== op) {
    throw new ModelLoadError(
      `node "${node.name}" is a ${node.op}; MoveNet's input normalisation expects ${op} there`,
    );
  }
  return node;
}

function squareInputSize(input: GraphNode): number {
  const dims = prop(prop(input.attr, "shape") as Record<string, unknown> ?? {}, "shape");
  const list = dims && typeof dims === "object" ? prop(dims as Record<string, unknown>, "dim") : [];
  const sizes = Array.isArray(list)
    ? list.map((d) => Number((d as Record<string, unknown>)?.size))
    : [];
  if (
    sizes.length !== 4 || sizes[0] !== 1 || sizes[3] !== 3 || sizes[1] !== sizes[2] ||
    !Number.isSafeInteger(sizes[1]) || sizes[1] < 32 || sizes[1] % 32 !== 0
  ) {
    fail(
      `Placeholder "${input.name}" has shape ${showJson(sizes)}; MoveNet SinglePose takes ` +
        `[1, S, S, 3] with S a multiple of 32`,
    );
  }
  const dtype = prop(prop(input.attr, "dtype") as Record<string, unknown> ?? {}, "type");
  if (dtype !== "DT_INT32") {
    fail(`Placeholder "${input.name}" must be DT_INT32, is ${showJson(dtype)}`);
  }
  return sizes[1];
}
