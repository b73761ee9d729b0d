/**
 * PoseNet MobileNetV1 recognised in a parsed TF.js graph: from the `image` placeholder, the first
 * 3x3 conv, 13 depthwise/pointwise blocks, then the four 1x1 heads (`heatmap_2`, `offset_2`,
 * `displacement_fwd_2`, `displacement_bwd_2`), as {@linkcode PoseNetWeights}. Anything else is a
 * {@linkcode ModelLoadError} naming the node: it never returns a network it cannot run exactly.
 *
 * @module
 */

import { showJson } from "../_describe.ts";
import {
  attrValue,
  checkDataFormat,
  constWeight,
  convAttrs,
  fusedActivation,
  type GraphNode,
  type TfjsGraph,
} from "../graph/tfjs_graph.ts";
import { fail, prop } from "./_tfjs_json.ts";
import type { WeightStore } from "./_tfjs_manifest.ts";
import {
  type ConvLayerKind,
  type ConvLayerWeights,
  HEAD_CHANNELS,
  type MobileNetBlockWeights,
  type PoseNetHeadWeights,
  type PoseNetWeights,
} from "./posenet_weights.ts";

/** The ops a PoseNet graph may hold. */
export const POSENET_OPS: ReadonlySet<string> = new Set([
  "Placeholder",
  "Const",
  "Identity",
  "_FusedConv2D",
  "FusedDepthwiseConv2dNative",
  "Conv2D",
  "BiasAdd",
]);

/** Number of MobileNetV1 depthwise/pointwise blocks. */
const BLOCK_COUNT = 13;

const HEADS = [
  { key: "heatmap", marker: "heatmap_2", channels: HEAD_CHANNELS.heatmap },
  { key: "offsets", marker: "offset_2", channels: HEAD_CHANNELS.offsets },
  { key: "displacementFwd", marker: "displacement_fwd_2", channels: HEAD_CHANNELS.displacementFwd },
  { key: "displacementBwd", marker: "displacement_bwd_2", channels: HEAD_CHANNELS.displacementBwd },
] as const;

interface LayerSpec {
  readonly kind: ConvLayerKind;
  /** What the layer is, for messages. */
  readonly role: string;
  readonly kernel: number;
  readonly inChannels: number;
  /** Required output channels (heads); undefined = any positive. */
  readonly outChannels?: number;
  /** Whether a stride/dilation other than 1 is allowed (conv0 and depthwise only). */
  readonly strided: boolean;
}

interface ParsedLayer {
  readonly layer: ConvLayerWeights;
  /** Name of the node producing the layer's output. */
  readonly output: string;
  /** Name of the conv node (for head identification). */
  readonly convName: string;
}

export function buildPoseNet(graph: TfjsGraph, store: WeightStore): PoseNetWeights {
  const placeholders = [...graph.nodes.values()].filter((n) => n.op === "Placeholder");
  if (placeholders.length !== 1 || placeholders[0].name !== "image") {
    fail(
      `expected exactly one Placeholder named "image", found ` +
        `[${placeholders.map((n) => `"${n.name}"`).join(", ")}]`,
    );
  }
  const image = placeholders[0];
  const dtype = attrValue(image, "dtype");
  if (dtype !== undefined && prop(dtype, "type") !== "DT_FLOAT") {
    fail(`Placeholder "image" has dtype ${showJson(prop(dtype, "type"))}; expected DT_FLOAT`);
  }

  const conv0 = readLayer(graph, store, soleConsumer(graph, image.name), {
    kind: "conv2d",
    role: "the first conv (Conv2d_0)",
    kernel: 3,
    inChannels: 3,
    strided: true,
  });
  let prev = conv0;
  const blocks: MobileNetBlockWeights[] = [];
  for (let b = 1; b <= BLOCK_COUNT; b++) {
    const depthwise = readLayer(graph, store, soleConsumer(graph, prev.output), {
      kind: "depthwise",
      role: `depthwise layer of block ${b}`,
      kernel: 3,
      inChannels: prev.layer.outChannels,
      strided: true,
    });
    const pointwise = readLayer(graph, store, soleConsumer(graph, depthwise.output), {
      kind: "pointwise",
      role: `pointwise layer of block ${b}`,
      kernel: 1,
      inChannels: depthwise.layer.outChannels,
      strided: false,
    });
    blocks.push({ depthwise: depthwise.layer, pointwise: pointwise.layer });
    prev = pointwise;
  }

  const found = new Map<string, ParsedLayer>();
  const headConsumers = graph.consumers.get(prev.output) ?? [];
  for (const { node, index } of headConsumers) {
    if (index !== 0) {
      fail(`node "${node.name}" reads "${prev.output}" as input ${index}, not as its data input`);
    }
    const outputName = node.op === "Conv2D" ? biasAddOf(graph, node).name : node.name;
    const matches = HEADS.filter((h) =>
      node.name.includes(h.marker) || outputName.includes(h.marker)
    );
    if (matches.length !== 1) {
      fail(
        `node "${node.name}" reads the last block's output "${prev.output}" but is not one head ` +
          `(expected node names containing ${HEADS.map((h) => h.marker).join(", ")})`,
      );
    }
    const head = matches[0];
    if (found.has(head.key)) fail(`head "${head.marker}" appears twice (node "${node.name}")`);
    found.set(
      head.key,
      readLayer(graph, store, node, {
        kind: "pointwise",
        role: `head ${head.marker}`,
        kernel: 1,
        inChannels: prev.layer.outChannels,
        outChannels: head.channels,
        strided: false,
      }),
    );
  }
  const missing = HEADS.filter((h) => !found.has(h.key));
  if (missing.length > 0) {
    fail(
      `the graph lacks head${missing.length > 1 ? "s" : ""} ` +
        `${missing.map((h) => h.marker).join(", ")} after "${prev.output}"`,
    );
  }
  const heads: PoseNetHeadWeights = {
    heatmap: found.get("heatmap")!.layer,
    offsets: found.get("offsets")!.layer,
    displacementFwd: found.get("displacementFwd")!.layer,
    displacementBwd: found.get("displacementBwd")!.layer,
  };
  const nativeOutputStride = blocks.reduce(
    (s, b) => s * b.depthwise.stride * b.pointwise.stride,
    conv0.layer.stride,
  );
  return { conv0: conv0.layer, blocks, heads, nativeOutputStride };
}

/** The single node reading `name`'s output as its data input. */
function soleConsumer(graph: TfjsGraph, name: string): GraphNode {
  const list = graph.consumers.get(name) ?? [];
  if (list.length === 0) fail(`nothing reads the output of node "${name}"; the graph ends early`);
  if (list.length > 1) {
    fail(
      `node "${name}" feeds ${list.length} nodes (${
        list.slice(0, 4).map((c) => `"${c.node.name}"`).join(", ")
      }); MobileNetV1 expects one`,
    );
  }
  if (list[0].index !== 0) {
    fail(`node "${list[0].node.name}" reads "${name}" as input ${list[0].index}, not as data`);
  }
  return list[0].node;
}

function biasAddOf(graph: TfjsGraph, conv: GraphNode): GraphNode {
  const list = graph.consumers.get(conv.name) ?? [];
  if (list.length !== 1 || list[0].node.op !== "BiasAdd" || list[0].index !== 0) {
    fail(`Conv2D node "${conv.name}" must be followed by exactly one BiasAdd`);
  }
  return list[0].node;
}

function readLayer(
  graph: TfjsGraph,
  store: WeightStore,
  node: GraphNode,
  spec: LayerSpec,
): ParsedLayer {
  const expectedOps = spec.kind === "depthwise"
    ? ["FusedDepthwiseConv2dNative"]
    : ["_FusedConv2D", "Conv2D"];
  if (!expectedOps.includes(node.op)) {
    fail(
      `node "${node.name}" is a ${node.op}, but ${spec.role} must be ${expectedOps.join(" or ")}`,
    );
  }
  const { stride, dilation } = convAttrs(node);
  if (!spec.strided && (stride !== 1 || dilation !== 1)) {
    fail(
      `node "${node.name}" (${spec.role}) has stride ${stride} and dilation ${dilation}; ` +
        `only 1 is supported there`,
    );
  }
  let relu6: boolean;
  let biasInput: string;
  let biasNode: GraphNode;
  let output: GraphNode;
  if (node.op === "Conv2D") {
    if (node.inputs.length !== 2) fail(`Conv2D node "${node.name}" must have 2 data inputs`);
    output = biasAddOf(graph, node);
    if (output.inputs.length !== 2) fail(`BiasAdd node "${output.name}" must have 2 data inputs`);
    checkDataFormat(output);
    biasNode = output;
    biasInput = output.inputs[1];
    relu6 = false;
  } else {
    if (node.inputs.length !== 3) {
      fail(`node "${node.name}" (${node.op}) must have 3 data inputs (x, filter, bias)`);
    }
    const activation = fusedActivation(node);
    if (activation === "relu") {
      fail(
        `node "${node.name}" has fused_ops ["BiasAdd","Relu"]; PoseNet supports fused_ops ` +
          `["BiasAdd"] and ["BiasAdd","Relu6"]`,
      );
    }
    relu6 = activation === "relu6";
    biasNode = output = node;
    biasInput = node.inputs[2];
  }
  const filterWeight = constWeight(graph, store, node, node.inputs[1]);
  const biasWeight = constWeight(graph, store, biasNode, biasInput);
  const fs = filterWeight.shape;
  const shapeText = `[${fs.join(",")}]`;
  const k = spec.kernel;
  if (fs.length !== 4 || fs[0] !== k || fs[1] !== k) {
    fail(
      `node "${node.name}" (${spec.role}) has filter "${filterWeight.name}" of shape ` +
        `${shapeText}; expected a ${k}x${k} kernel [${k},${k},cin,cout]`,
    );
  }
  if (fs[2] !== spec.inChannels) {
    fail(
      `node "${node.name}" (${spec.role}) has filter "${filterWeight.name}" of shape ` +
        `${shapeText} with ${fs[2]} input channels, but its input has ${spec.inChannels}`,
    );
  }
  let outChannels: number;
  if (spec.kind === "depthwise") {
    if (fs[3] !== 1) {
      fail(
        `node "${node.name}" (${spec.role}) has depthwise filter "${filterWeight.name}" of ` +
          `shape ${shapeText}; expected [3,3,${spec.inChannels},1]`,
      );
    }
    outChannels = spec.inChannels;
  } else {
    outChannels = fs[3];
  }
  if (outChannels < 1) fail(`node "${node.name}" (${spec.role}) has no output channels`);
  if (spec.outChannels !== undefined && outChannels !== spec.outChannels) {
    fail(
      `node "${node.name}" (${spec.role}) has ${outChannels} output channels; ` +
        `expected ${spec.outChannels}`,
    );
  }
  if (biasWeight.shape.length !== 1 || biasWeight.shape[0] !== outChannels) {
    fail(
      `node "${biasNode.name}" has bias "${biasWeight.name}" of shape ` +
        `[${biasWeight.shape.join(",")}]; expected [${outChannels}]`,
    );
  }
  const filter = store.floats(filterWeight, `the filter of "${node.name}"`);
  const bias = store.floats(biasWeight, `the bias of "${biasNode.name}"`);
  return {
    layer: {
      name: output.name,
      kind: spec.kind,
      kernelHeight: k,
      kernelWidth: k,
      inChannels: spec.inChannels,
      outChannels,
      stride,
      dilation,
      relu6,
      filter,
      bias,
    },
    output: output.name,
    convName: node.name,
  };
}

// ---------------------------------------------------------------------------------------------
// I/O
