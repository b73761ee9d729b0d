/**
 * MoveNet MultiPose Lightning recognised in a TF.js graph model: the int32 input of any size whose
 * sides are multiples of 32, the graph's normalisation, the backbone, feature pyramid and six heads
 * (lowered to an {@linkcode OpGraph} per input shape, since the graph's shapes follow the input's:
 * its ~40 shape ops are resolved when it is lowered), and the constants of the in-graph decode
 * (peaks, top-k, boxes, the Gaussian-weighted keypoint search, the instance score), read from the
 * graph's own nodes. The decode ops themselves are replaced by one GPU kernel
 * (`decode/movenet_multipose_decode_gpu.ts`).
 *
 * @module
 */

import { showJson } from "../_describe.ts";
import { LOWERED_OPS, lowerTfjsGraph } from "../graph/lower_tfjs.ts";
import type { OpGraph } from "../graph/op_graph.ts";
import {
  attrIntList,
  attrString,
  constWeight,
  type GraphNode,
  readGraph,
  type TfjsGraph,
} from "../graph/tfjs_graph.ts";
import { fail, guard, parseJson, prop } from "./_tfjs_json.ts";
import { assembleGroups, readManifest, type ShardData, WeightStore } from "./_tfjs_manifest.ts";
import { readTfjsModelFiles } from "./_tfjs_model_io.ts";
import {
  constFloats,
  headConv,
  type MoveNetNormalisation,
  readNormalisation,
} from "./movenet_graph.ts";
import type { LoadTfjsGraphModelOptions } from "./tfjs_graph_model.ts";

/** The ops a MoveNet MultiPose graph holds: the lowered network, shape plumbing and the decode. */
const MULTIPOSE_OPS: ReadonlySet<string> = new Set([
  ...LOWERED_OPS,
  ..."Placeholder Const Identity Cast Sub Mul Shape StridedSlice Reshape Pack Maximum Minimum"
    .split(" "),
  ..."Squeeze Unpack FloorDiv GatherNd ExpandDims RealDiv Less LogicalAnd Sigmoid Range Size Tile"
    .split(" "),
  ..."Equal SquaredDifference AddN GreaterEqual Select Sum ConcatV2 MaxPool Abs Fill TopKV2 Exp"
    .split(" "),
  ..."Split Max ArgMax Greater Reciprocal".split(" "),
]);

/** The six heads, by block, in the order the op graph outputs them. */
export const MULTIPOSE_HEADS: readonly {
  readonly key: "center" | "boxScale" | "boxOffset" | "heatmap" | "regress" | "offset";
  readonly block: string;
  readonly channels: number;
}[] = Object.freeze(
  [
    { key: "center", block: "center_0", channels: 1 },
    { key: "boxScale", block: "box_scale_0", channels: 2 },
    { key: "boxOffset", block: "box_offset_0", channels: 2 },
    { key: "heatmap", block: "kpt_heatmap_0", channels: 17 },
    { key: "regress", block: "kpt_regress_0", channels: 34 },
    { key: "offset", block: "kpt_offset_0", channels: 34 },
  ] as const,
);

/** The in-graph decode's constants, each read from the node named beside it. */
export interface MultiPoseDecodeConstants {
  /** `MaxPool` ksize: a cell is a peak if it is its `peakWindow`² neighbourhood's maximum (5). */
  readonly peakWindow: number;
  /** `Less/y`: |center − maxpool(center)| below this is a peak (float16 1e-6). */
  readonly peakThreshold: number;
  /** `TopKV2/k`: instances kept (6). */
  readonly maxInstances: number;
  /** `truediv_2..5_recip`: the box is center + offset ± scale · this (0.5). */
  readonly boxHalf: number;
  /** `mul_6/y`: the Gaussian's spread, exp(−d² / (min(Hf, Wf) · this)) (float16 0.3). */
  readonly gaussianSpread: number;
  /** `Greater_1/y`: keypoints above this count in the instance score (float16 0.127). */
  readonly keypointThreshold: number;
  /** `mul/y`, `mul_5/y`, `truediv_8/x`: input pixels per head cell (4). */
  readonly stride: number;
}

/** A MoveNet MultiPose model as the runtime builds it. */
export interface MoveNetMultiPoseGraph {
  /** The input normalisation the graph applies before its first conv. */
  readonly normalisation: MoveNetNormalisation;
  /** The decode's constants. */
  readonly decode: MultiPoseDecodeConstants;
  /** Input sides must be multiples of this (32: the backbone's total stride). */
  readonly sideMultiple: number;
  /**
   * The backbone, feature pyramid and heads for one input shape; outputs in
   * {@linkcode MULTIPOSE_HEADS} order, each `[height / 4, width / 4, channels]`.
   *
   * @param height Input rows, a multiple of 32.
   * @param width Input columns, a multiple of 32.
   */
  network(height: number, width: number): OpGraph;
}

/** The backbone's total stride: input sides must be multiples of it. */
const SIDE_MULTIPLE = 32;

/**
 * Parses an in-memory MoveNet MultiPose TF.js graph model. Pure: no I/O.
 *
 * @param modelJson The parsed model.json (or its text).
 * @param shards The bytes of every shard, in manifest order.
 * @returns The model.
 * @throws {ModelLoadError} When the graph is malformed or not MoveNet MultiPose.
 */
export function parseMoveNetMultiPoseGraph(
  modelJson: unknown,
  shards: readonly ShardData[],
): MoveNetMultiPoseGraph {
  return guard(() => {
    const doc = typeof modelJson === "string" ? parseJson(modelJson, "model.json") : modelJson;
    const manifest = readManifest(doc);
    const store = new WeightStore(manifest, assembleGroups(manifest, shards));
    return recognise(readGraph(doc, MULTIPOSE_OPS, true), store);
  });
}

/**
 * Loads a MoveNet MultiPose TF.js graph model from a path or URL (same path policy and read bounds
 * as {@linkcode loadTfjsGraphModel}).
 *
 * @param source model.json as a path, `file:` URL or http(s) URL.
 * @param options Optional `fetch` and timeout for http(s) sources.
 * @returns The model.
 * @throws {ModelLoadError} When a file cannot be read, or the graph is not MoveNet MultiPose.
 *
 * @example
 * ```ts
 * import { fetchDefaultWeights } from "./default_weights.ts";
 * import { loadMoveNetMultiPoseGraph } from "./movenet_multipose_graph.ts";
 *
 * const model = await loadMoveNetMultiPoseGraph(await fetchDefaultWeights("movenet-multipose"));
 * const network = model.network(256, 160);
 * console.log(model.decode.maxInstances, network.tensors[network.outputs[0]].shape); // 6 [ 64, 40, 1 ]
 * ```
 */
export async function loadMoveNetMultiPoseGraph(
  source: string | URL,
  options: LoadTfjsGraphModelOptions = {},
): Promise<MoveNetMultiPoseGraph> {
  const { doc, shards } = await readTfjsModelFiles(source, options);
  return parseMoveNetMultiPoseGraph(doc, shards);
}

const SCOPE = "StatefulPartitionedCall/";

function recognise(graph: TfjsGraph, store: WeightStore): MoveNetMultiPoseGraph {
  const placeholders = [...graph.nodes.values()].filter((n) => n.op === "Placeholder");
  if (placeholders.length !== 1) {
    fail(`expected one Placeholder (the int32 image), found ${placeholders.length}`);
  }
  const input = placeholders[0];
  checkInput(input);
  const { last, normalisation } = readNormalisation(graph, store, input);
  const heads = MULTIPOSE_HEADS.map((head) => headConv(graph, head.block));

  const node = (name: string, op: string): GraphNode => {
    const found = graph.nodes.get(SCOPE + name);
    if (!found || found.op !== op) {
      fail(
        `MoveNet MultiPose's decode must have a ${op} node "${SCOPE + name}"` +
          (found ? `, it is a ${found.op}` : ""),
      );
    }
    return found;
  };
  const scalar = (name: string, op: string, index: number, what: string): number => {
    const n = node(name, op);
    const weight = constWeight(graph, store, n, n.inputs[index]);
    if (weight.count !== 1) fail(`node "${n.name}" must take a scalar Const as its ${what}`);
    return weight.dtype === "int32"
      ? store.ints(weight, `the ${what} of "${n.name}"`)[0]
      : store.floats(weight, `the ${what} of "${n.name}"`)[0];
  };

  // Peaks: |sigmoid(center) − MaxPool(sigmoid(center))| < Less/y.
  const pool = node("MaxPool", "MaxPool");
  const ksize = attrIntList(pool, "ksize");
  const strides = attrIntList(pool, "strides");
  if (
    !ksize || ksize.length !== 4 || ksize[1] !== ksize[2] || ksize[1] % 2 !== 1 ||
    strides?.join() !== "1,1,1,1" || attrString(pool, "padding") !== "SAME"
  ) {
    fail(`MaxPool node "${pool.name}" must be an odd square window, stride 1, SAME padding`);
  }
  const halves = [2, 3, 4, 5].map((i) => {
    const mul = node(`truediv_${i}`, "Mul");
    return constFloats(graph, store, mul, 1, "box half-size factor")[0];
  });
  if (!halves.every((h) => h === halves[0])) {
    fail(`the box half-size factors truediv_2..5 differ: ${showJson(halves)}`);
  }
  const stride = scalar("mul_5", "Mul", 1, "box scale");
  for (const [name, op, index] of [["mul", "Mul", 1], ["truediv_8", "RealDiv", 0]] as const) {
    const v = scalar(name, op, index, "stride");
    if (v !== stride) fail(`node "${SCOPE + name}" has stride ${v}, "mul_5" has ${stride}`);
  }
  if (stride !== 4) fail(`MoveNet MultiPose's heads must be at stride 4, the graph says ${stride}`);
  const fixed = [
    ["Maximum", "Maximum", 1, 0, "box scale floor"],
    ["mul_7", "Mul", 0, -1, "sign of the squared distance"],
    ["Maximum_1", "Maximum", 1, 1, "keypoint count floor"],
  ] as const;
  for (const [name, op, index, expected, what] of fixed) {
    const v = scalar(name, op, index, what);
    if (v !== expected) {
      fail(`node "${SCOPE + name}" has ${what} ${v}; the decode assumes ${expected}`);
    }
  }
  const decode: MultiPoseDecodeConstants = {
    peakWindow: ksize[1],
    peakThreshold: scalar("Less", "Less", 1, "peak threshold"),
    maxInstances: scalar("TopKV2", "TopKV2", 1, "k"),
    boxHalf: halves[0],
    gaussianSpread: scalar("mul_6", "Mul", 1, "Gaussian spread"),
    keypointThreshold: scalar("Greater_1", "Greater", 1, "keypoint score threshold"),
    stride,
  };
  if (
    !Number.isInteger(decode.maxInstances) || decode.maxInstances < 1 || decode.maxInstances > 64
  ) {
    fail(`TopKV2 must keep 1..64 instances, the graph keeps ${decode.maxInstances}`);
  }
  return {
    normalisation,
    decode,
    sideMultiple: SIDE_MULTIPLE,
    network(height: number, width: number): OpGraph {
      for (const [name, v] of [["height", height], ["width", width]] as const) {
        if (!Number.isInteger(v) || v < SIDE_MULTIPLE || v % SIDE_MULTIPLE !== 0 || v > 4096) {
          fail(
            `MoveNet MultiPose's input ${name} must be a multiple of ${SIDE_MULTIPLE} in ` +
              `${SIDE_MULTIPLE}..4096, got ${showJson(v)}`,
          );
        }
      }
      const network = lowerTfjsGraph(graph, store, {
        input: last.name,
        inputShape: [height, width, 3],
        outputs: heads.map((n) => n.name),
      });
      MULTIPOSE_HEADS.forEach((head, i) => {
        const shape = network.tensors[network.outputs[i]].shape;
        if (
          shape[0] * stride !== height || shape[1] * stride !== width || shape[2] !== head.channels
        ) {
          fail(
            `head "${head.block}" is [${shape}] for a ${height}x${width} input, expected ` +
              `[${height / stride},${width / stride},${head.channels}]`,
          );
        }
      });
      return network;
    },
  };
}

function checkInput(input: GraphNode): void {
  const dims = prop(prop(input.attr, "shape") as Record<string, unknown> ?? {}, "shape");
  const list = dims && typeof dims === "object" ? prop(dims as Record<string, unknown>, "dim") : [];
  const sizes = Array.isArray(list)
    ? list.map((d) => Number((d as Record<string, unknown>)?.size))
    : [];
  const side = (v: number) => v === -1 || (Number.isSafeInteger(v) && v % SIDE_MULTIPLE === 0);
  if (
    sizes.length !== 4 || sizes[0] !== 1 || sizes[3] !== 3 || !side(sizes[1]) || !side(sizes[2])
  ) {
    fail(
      `Placeholder "${input.name}" has shape ${showJson(sizes)}; MoveNet MultiPose takes ` +
        `[1, H, W, 3] with H and W free or multiples of ${SIDE_MULTIPLE}`,
    );
  }
  const dtype = prop(prop(input.attr, "dtype") as Record<string, unknown> ?? {}, "type");
  if (dtype !== "DT_INT32") {
    fail(`Placeholder "${input.name}" must be DT_INT32, is ${showJson(dtype)}`);
  }
}
