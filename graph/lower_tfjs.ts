/**
 * Lowers the part of a parsed TF.js graph between one input tensor and chosen output nodes to an
 * {@linkcode OpGraph}, independent of any model: it walks back from the outputs, maps each TF op to
 * op-graph nodes, and orders them so every node follows what it reads.
 *
 * | TF op | op-graph node |
 * | --- | --- |
 * | `_FusedConv2D` (`BiasAdd` [+ `Relu` / `Relu6`]) 1x1, stride 1 | `pointwise` |
 * | `_FusedConv2D` KxK, or strided | `conv2d` |
 * | `Conv2D` + `BiasAdd` | `conv2d` / `pointwise`, activation none |
 * | `FusedDepthwiseConv2dNative` (`BiasAdd` [+ `Relu` / `Relu6`]) | `depthwise` |
 * | `DepthwiseConv2dNative` | `depthwise` without bias |
 * | `AddV2`, `Add` | `add` |
 * | `ResizeBilinear` 2x, `half_pixel_centers`, not `align_corners` | `resize_bilinear2x` |
 * | `Identity` | (resolved away) |
 *
 * A `ResizeBilinear` size may be a Const or shape arithmetic on a lowered tensor
 * (`static_ints.ts`: `Shape`, `StridedSlice`, `Mul`), resolved here for the fixed input shape.
 *
 * Padding must be SAME and the layout NHWC. Any other op on the path is a
 * {@linkcode ModelLoadError} naming the node and its op.
 *
 * @module
 */

import type { Hwc } from "../kernels/compute_kernel.ts";
import { fail, prop } from "../models/_tfjs_json.ts";
import type { WeightStore } from "../models/_tfjs_manifest.ts";
import { type OpGraph, OpGraphBuilder } from "./op_graph.ts";
import { staticInts } from "./static_ints.ts";
import {
  attrValue,
  checkDataFormat,
  constWeight,
  convAttrs,
  fusedActivation,
  type GraphNode,
  type TfjsGraph,
} from "./tfjs_graph.ts";

/** Ops this lowering turns into op-graph nodes (plus the graph's plumbing). */
export const LOWERED_OPS: ReadonlySet<string> = new Set([
  "_FusedConv2D",
  "Conv2D",
  "BiasAdd",
  "FusedDepthwiseConv2dNative",
  "DepthwiseConv2dNative",
  "AddV2",
  "Add",
  "ResizeBilinear",
]);

/** What to lower. */
export interface LowerTfjsOptions {
  /** The node whose output is the op graph's input (e.g. the last normalisation op). */
  readonly input: string;
  /** Shape of that tensor (batch 1, NHWC). */
  readonly inputShape: Hwc;
  /** The nodes whose outputs the op graph returns, in order. */
  readonly outputs: readonly string[];
}

/**
 * Lowers `graph` from `options.input` to `options.outputs`.
 *
 * @param graph The parsed graph.
 * @param weights The weights its `Const` nodes refer to.
 * @param options The input node and shape, and the output nodes.
 * @returns The op graph, in a valid execution order.
 * @throws {ModelLoadError} On an op that cannot be lowered, a path that never reaches the input,
 *   or weights and attributes that do not fit.
 */
export function lowerTfjsGraph(
  graph: TfjsGraph,
  weights: WeightStore,
  options: LowerTfjsOptions,
): OpGraph {
  const builder = new OpGraphBuilder(options.input, options.inputShape);
  const tensorOf = new Map<string, number>([[options.input, builder.input]]);
  const visiting = new Set<string>();
  const lower = (name: string, from: GraphNode | undefined): number => {
    const node = from ? graph.source(name, from) : graph.nodes.get(name);
    if (!node) return fail(`output node "${name}" is not in the graph`);
    const known = tensorOf.get(node.name);
    if (known !== undefined) return known;
    if (visiting.has(node.name)) fail(`node "${node.name}" is part of a cycle`);
    visiting.add(node.name);
    const t = lowerNode(node);
    visiting.delete(node.name);
    tensorOf.set(node.name, t);
    return t;
  };
  const constant = (node: GraphNode, input: string) => constWeight(graph, weights, node, input);
  const floats = (node: GraphNode, input: string, what: string, shape: readonly number[]) => {
    const weight = constant(node, input);
    const ok = weight.shape.length === shape.length &&
      weight.shape.every((d, i) => shape[i] < 0 || d === shape[i]);
    if (!ok) {
      fail(
        `node "${node.name}" has ${what} "${weight.name}" of shape [${weight.shape}]; ` +
          `expected [${shape.map((d) => (d < 0 ? "?" : d))}]`,
      );
    }
    return { data: weights.floats(weight, `the ${what} of "${node.name}"`), shape: weight.shape };
  };
  const arity = (node: GraphNode, n: number) => {
    if (node.inputs.length !== n) {
      fail(
        `node "${node.name}" (${node.op}) must have ${n} data inputs, has ${node.inputs.length}`,
      );
    }
  };

  function lowerNode(node: GraphNode): number {
    const port = node.ports.findIndex((p) => p !== 0);
    if (port !== -1) {
      fail(
        `node "${node.name}" reads output ${node.ports[port]} of "${node.inputs[port]}"; ` +
          `the op graph reads only output 0`,
      );
    }
    switch (node.op) {
      case "_FusedConv2D":
      case "Conv2D":
      case "BiasAdd": {
        let conv = node;
        let bias: { data: Float32Array };
        let activation: ReturnType<typeof fusedActivation> = "none";
        if (node.op === "BiasAdd") {
          arity(node, 2);
          checkDataFormat(node);
          conv = graph.source(node.inputs[0], node);
          if (conv.op !== "Conv2D") {
            fail(`BiasAdd node "${node.name}" follows a ${conv.op}; only Conv2D is supported`);
          }
          arity(conv, 2);
          bias = floats(node, node.inputs[1], "bias", [-1]);
        } else if (node.op === "Conv2D") {
          return fail(`Conv2D node "${node.name}" must be followed by a BiasAdd`);
        } else {
          arity(node, 3);
          activation = fusedActivation(node);
          bias = floats(node, node.inputs[2], "bias", [-1]);
        }
        const x = lower(conv.inputs[0], conv);
        const [, , cin] = builder.shape(x);
        const cout = bias.data.length;
        const filter = floats(conv, conv.inputs[1], "filter", [-1, -1, cin, cout]);
        const [kh, kw] = filter.shape;
        const { stride, dilation } = convAttrs(conv, kh === 1 && kw === 1);
        if (kh === 1 && kw === 1 && stride === 1) {
          return builder.pointwise(node.name, x, {
            activation,
            filter: filter.data,
            bias: bias.data,
          });
        }
        return builder.conv2d(node.name, x, {
          kernelHeight: kh,
          kernelWidth: kw,
          stride,
          dilation,
          activation,
          filter: filter.data,
          bias: bias.data,
        });
      }
      case "FusedDepthwiseConv2dNative":
      case "DepthwiseConv2dNative": {
        const fused = node.op === "FusedDepthwiseConv2dNative";
        arity(node, fused ? 3 : 2);
        const x = lower(node.inputs[0], node);
        const [, , c] = builder.shape(x);
        const filter = floats(node, node.inputs[1], "filter", [-1, -1, c, 1]);
        const { stride, dilation } = convAttrs(
          node,
          filter.shape[0] === 1 && filter.shape[1] === 1,
        );
        return builder.depthwise(node.name, x, {
          kernelHeight: filter.shape[0],
          kernelWidth: filter.shape[1],
          stride,
          dilation,
          activation: fused ? fusedActivation(node) : "none",
          filter: filter.data,
          bias: fused ? floats(node, node.inputs[2], "bias", [c]).data : undefined,
        });
      }
      case "AddV2":
      case "Add": {
        arity(node, 2);
        return builder.add(node.name, lower(node.inputs[0], node), lower(node.inputs[1], node));
      }
      case "ResizeBilinear": {
        arity(node, 2);
        const flag = (key: string) => prop(attrValue(node, key) ?? {}, "b") === true;
        if (!flag("half_pixel_centers") || flag("align_corners")) {
          fail(
            `ResizeBilinear node "${node.name}" must have half_pixel_centers=true and ` +
              `align_corners=false`,
          );
        }
        const x = lower(node.inputs[0], node);
        // A Const, or shape arithmetic on a tensor already lowered (Shape(x)[1:3] · 2).
        const size = staticInts(
          graph,
          weights,
          node,
          node.inputs[1],
          (name, from) => builder.shape(lower(name, from)),
        );
        const [h, w] = builder.shape(x);
        if (size.length !== 2 || size[0] !== 2 * h || size[1] !== 2 * w) {
          fail(
            `ResizeBilinear node "${node.name}" resizes ${h}x${w} to [${size}]; only 2x is supported`,
          );
        }
        return builder.resizeBilinear2x(node.name, x);
      }
      default:
        return fail(
          `node "${node.name}" has op "${node.op}", which the op graph cannot run ` +
            `(supported: ${[...LOWERED_OPS].join(", ")})`,
        );
    }
  }

  const outputs = options.outputs.map((name) => lower(name, undefined));
  return builder.finish(outputs);
}
