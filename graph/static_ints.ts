/**
 * Shape arithmetic of a TF.js graph resolved at lowering time: the small int32 expressions a
 * graph computes from `Shape` of a tensor (`Shape`, `StridedSlice` of a 1-D vector, `Mul`, `Const`),
 * as TF's `ResizeBilinear` size `Shape(x)[1:3] · 2` in a graph whose input size is only known when
 * it is compiled. Once the input shape is fixed these are constants; anything else is a
 * {@linkcode ModelLoadError} naming the node.
 *
 * @module
 */

import { fail, prop } from "../models/_tfjs_json.ts";
import type { WeightStore } from "../models/_tfjs_manifest.ts";
import type { Hwc } from "../kernels/compute_kernel.ts";
import {
  attrValue,
  constWeight,
  type GraphNode,
  parseInt64,
  type TfjsGraph,
} from "./tfjs_graph.ts";

/** The shape of a lowered tensor, by the name of the node that makes it. */
export type ShapeOf = (name: string, from: GraphNode) => Hwc;

/**
 * Evaluates the int32 vector that `from` reads as `input`.
 *
 * @param graph The parsed graph.
 * @param weights Its constants.
 * @param from The node that reads the value.
 * @param input The input's name.
 * @param shapeOf The NHWC shape (batch 1) of a tensor the lowering has made.
 * @returns The values.
 * @throws {ModelLoadError} When the expression holds an op other than Const, Shape,
 *   StridedSlice (1-D, stride 1, no masks but shrink) or Mul.
 *
 * @example
 * ```ts
 * import { staticInts } from "./static_ints.ts";
 * import type { TfjsGraph } from "./tfjs_graph.ts";
 * import type { WeightStore } from "../models/_tfjs_manifest.ts";
 *
 * const shape = { name: "s", op: "Shape", inputs: ["x"], ports: [0], attr: {} };
 * const graph = { nodes: new Map([["s", shape]]), consumers: new Map(), source: () => shape };
 * const reader = { name: "r", op: "ResizeBilinear", inputs: ["x", "s"], ports: [0, 0], attr: {} };
 * const ints = staticInts(graph as TfjsGraph, {} as WeightStore, reader, "s", () => [8, 6, 3]);
 * console.log(ints); // [ 1, 8, 6, 3 ]
 * ```
 */
export function staticInts(
  graph: TfjsGraph,
  weights: WeightStore,
  from: GraphNode,
  input: string,
  shapeOf: ShapeOf,
): number[] {
  const node = graph.source(input, from);
  const operand = (i: number) => {
    if (node.inputs.length <= i) fail(`node "${node.name}" (${node.op}) lacks input ${i}`);
    return staticInts(graph, weights, node, node.inputs[i], shapeOf);
  };
  switch (node.op) {
    case "Const": {
      const weight = constWeight(graph, weights, from, input);
      return Array.from(weights.ints(weight, `the value of "${node.name}"`));
    }
    case "Shape": {
      if (node.inputs.length !== 1) fail(`Shape node "${node.name}" must have one data input`);
      return [1, ...shapeOf(node.inputs[0], node)];
    }
    case "Mul": {
      const [a, b] = [operand(0), operand(1)];
      if (a.length !== b.length && a.length !== 1 && b.length !== 1) {
        fail(`Mul node "${node.name}" multiplies [${a}] by [${b}]`);
      }
      const n = Math.max(a.length, b.length);
      return Array.from(
        { length: n },
        (_, i) => a[a.length === 1 ? 0 : i] * b[b.length === 1 ? 0 : i],
      );
    }
    case "StridedSlice": {
      const [value, begin, end, strides] = [operand(0), operand(1), operand(2), operand(3)];
      const mask = (key: string) => {
        const v = attrValue(node, key);
        return v === undefined ? 0 : parseInt64(node, key, prop(v, "i") ?? 0);
      };
      if (
        begin.length !== 1 || end.length !== 1 || strides[0] !== 1 || mask("begin_mask") ||
        mask("end_mask") || mask("ellipsis_mask") || mask("new_axis_mask")
      ) {
        fail(`StridedSlice node "${node.name}" is not a plain 1-D slice of a shape`);
      }
      const [b, e] = [begin[0], end[0]];
      if (!(0 <= b && b < e && e <= value.length)) {
        fail(`StridedSlice node "${node.name}" slices [${b}, ${e}) of ${value.length} values`);
      }
      return mask("shrink_axis_mask") & 1 ? [value[b]] : value.slice(b, e);
    }
    default:
      return fail(
        `node "${node.name}" has op "${node.op}" in a shape expression; only Const, Shape, ` +
          `StridedSlice and Mul are resolved when the graph is lowered`,
      );
  }
}
