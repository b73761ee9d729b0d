/**
 * Epilogue fusion: folds each `add` into the 1x1 conv that produces one of its operands, and a
 * bilinear 2x upsample feeding that add into the same epilogue, so the sum is written once instead
 * of being read back by a separate pass. What it folds:
 * - `add(pointwise(x), r)` → `pointwise(x) + r` (MobileNetV2's linear projection plus the block
 *   input);
 * - `add(pointwise(x), resize2x(t))` → `pointwise(x) + resize2x(t)` sampled in the epilogue (an
 *   FPN's lateral conv plus the upsampled coarser level);
 * - `add(resize2x(t), r)` with no fusable conv → one resize node that also adds `r`.
 *
 * A conv is folded into only when the add is the sole reader of its output, that output is not a
 * graph output, and the other operand exists before the conv runs. Other adds stay as they are.
 *
 * @module
 */

import type { OpGraph, OpNode, PointwiseNode, Residual } from "./op_graph.ts";
import { tensorReaders } from "./op_graph.ts";

/**
 * Returns `graph` with adds (and the upsamples before them) folded into epilogues.
 *
 * @param graph An op graph in execution order.
 * @returns A new graph computing the same outputs with fewer nodes. Tensor indices are kept, so
 *   the input and outputs are the same tensors; tensors that no node writes any more are unused.
 *
 * @example
 * ```ts
 * import { OpGraphBuilder } from "./op_graph.ts";
 * import { fuseEpilogues } from "./fuse_epilogues.ts";
 *
 * const g = new OpGraphBuilder("x", [4, 4, 8]);
 * const top = g.pointwise("top", g.input, { activation: "none", filter: new Float32Array(64), bias: new Float32Array(8) });
 * const coarse = g.depthwise("down", top, {
 *   kernelHeight: 3, kernelWidth: 3, stride: 2, dilation: 1, activation: "relu6", filter: new Float32Array(72),
 * });
 * const lateral = g.pointwise("lateral", top, { activation: "none", filter: new Float32Array(64), bias: new Float32Array(8) });
 * const sum = g.add("sum", g.resizeBilinear2x("up", coarse), lateral);
 * const fused = fuseEpilogues(g.finish([sum]));
 * console.log(fused.nodes.map((n) => n.op)); // ["pointwise", "depthwise", "pointwise"]
 * ```
 */
export function fuseEpilogues(graph: OpGraph): OpGraph {
  const readers = tensorReaders(graph);
  const producer = new Map<number, number>();
  graph.nodes.forEach((node, i) => producer.set(node.output, i));
  const isOutput = new Set(graph.outputs);
  /** Tensor `t` is read only by node `reader` and is no graph output. */
  const private_ = (t: number, reader: number) =>
    !isOutput.has(t) && readers[t].length === 1 && readers[t][0] === reader;
  const made = (t: number) => (t === graph.input ? -1 : producer.get(t) ?? Infinity);

  const nodes: (OpNode | undefined)[] = [...graph.nodes];
  graph.nodes.forEach((node, at) => {
    if (node.op !== "add") return;
    const [a, b] = node.inputs;
    for (const [mine, other] of [[a, b], [b, a]] as const) {
      const p = producer.get(mine);
      const conv = p === undefined ? undefined : nodes[p];
      if (conv?.op !== "pointwise" || (conv.residual ?? "none") !== "none" || !private_(mine, at)) {
        continue;
      }
      const r = producer.get(other);
      const resize = r === undefined ? undefined : nodes[r];
      let residual: { tensor: number; mode: Residual; drop?: number };
      if (resize?.op === "resize_bilinear2x" && resize.inputs.length === 1 && private_(other, at)) {
        residual = { tensor: resize.inputs[0], mode: "bilinear2x", drop: r };
      } else {
        residual = { tensor: other, mode: "identity" };
      }
      if (made(residual.tensor) >= p!) continue; // not there yet when the conv runs
      const fused: PointwiseNode = {
        ...conv,
        inputs: [conv.inputs[0], residual.tensor],
        output: node.output,
        residual: residual.mode,
      };
      nodes[p!] = Object.freeze(fused);
      if (residual.drop !== undefined) nodes[residual.drop] = undefined;
      nodes[at] = undefined;
      return;
    }
    for (const [up, other] of [[a, b], [b, a]] as const) {
      const r = producer.get(up);
      const resize = r === undefined ? undefined : nodes[r];
      if (resize?.op !== "resize_bilinear2x" || resize.inputs.length !== 1) continue;
      if (!private_(up, at) || made(other) >= r!) continue;
      nodes[r!] = Object.freeze({
        ...resize,
        inputs: [resize.inputs[0], other],
        output: node.output,
      });
      nodes[at] = undefined;
      return;
    }
  });
  return Object.freeze({
    ...graph,
    nodes: Object.freeze(nodes.filter((n): n is OpNode => n !== undefined)),
  });
}
