/**
 * GPU buffer assignment by liveness. A tensor is live from the node that writes it to the last
 * node that reads it; two tensors may share a buffer when their live ranges do not overlap. A node
 * never writes a buffer one of its inputs is in (no kernel here works in place). The input and
 * the outputs get buffers of their own, never shared, because the caller writes and reads them.
 *
 * The assignment is greedy in execution order: a tensor takes the free buffer that fits it most
 * tightly, else grows the largest free one, else a new buffer is made. On a chain (PoseNet) that
 * gives two scratch buffers; on MoveNet's backbone and feature pyramid, the skip connections keep
 * a few more alive.
 *
 * @module
 */

import { packedByteLength } from "../runtime/layout.ts";
import type { OpGraph } from "./op_graph.ts";
import { tensorReaders } from "./op_graph.ts";

/** Which buffer holds each tensor, and how large each buffer is. */
export interface BufferPlan {
  /** Byte size of each buffer. */
  readonly bufferBytes: readonly number[];
  /** `tensorBuffer[t]`: the buffer of tensor `t`, or -1 for a tensor no node reads or writes. */
  readonly tensorBuffer: readonly number[];
  /** The input's buffer. */
  readonly inputBuffer: number;
  /** Each output's buffer, in {@linkcode OpGraph.outputs} order. */
  readonly outputBuffers: readonly number[];
}

/**
 * Assigns every tensor of `graph` a buffer.
 *
 * @param graph The graph, in execution order.
 * @returns The assignment.
 *
 * @example
 * ```ts
 * import { OpGraphBuilder } from "./op_graph.ts";
 * import { planBuffers } from "./buffer_plan.ts";
 *
 * const g = new OpGraphBuilder("x", [8, 8, 4]);
 * let t = g.input;
 * for (let i = 0; i < 5; i++) {
 *   t = g.pointwise(`pw${i}`, t, { activation: "relu6", filter: new Float32Array(16), bias: new Float32Array(4) });
 * }
 * const plan = planBuffers(g.finish([t]));
 * console.log(plan.bufferBytes.length); // 4: input, output and two scratch buffers
 * ```
 */
export function planBuffers(graph: OpGraph): BufferPlan {
  const readers = tensorReaders(graph);
  const lastRead = readers.map((r) => (r.length ? r[r.length - 1] : -1));
  const bytes = graph.tensors.map((t) => packedByteLength(t.shape[0], t.shape[1], t.shape[2]));
  const tensorBuffer: number[] = graph.tensors.map(() => -1);
  const bufferBytes: number[] = [];
  const pinned = new Set([graph.input, ...graph.outputs]);
  const own = (t: number) => {
    bufferBytes.push(bytes[t]);
    return (tensorBuffer[t] = bufferBytes.length - 1);
  };
  const inputBuffer = own(graph.input);
  const outputBuffers = graph.outputs.map(own);

  const free = new Set<number>();
  /** Scratch tensors whose buffer returns to `free` after node `i` ran. */
  const releaseAfter = new Map<number, number[]>();
  graph.nodes.forEach((node, i) => {
    const t = node.output;
    if (!pinned.has(t)) {
      if (tensorBuffer[t] !== -1) throw new Error(`tensor ${t} is written twice`);
      if (lastRead[t] <= i) {
        throw new Error(`op graph node "${node.name}" writes a tensor that nothing reads`);
      }
      let fit = -1;
      let largest = -1;
      for (const b of free) {
        const size = bufferBytes[b];
        if (size >= bytes[t] && (fit === -1 || size < bufferBytes[fit])) fit = b;
        if (largest === -1 || size > bufferBytes[largest]) largest = b;
      }
      const best = fit !== -1 ? fit : largest;
      if (best === -1) {
        own(t);
      } else {
        free.delete(best);
        bufferBytes[best] = Math.max(bufferBytes[best], bytes[t]);
        tensorBuffer[t] = best;
      }
      const list = releaseAfter.get(lastRead[t]) ?? [];
      list.push(t);
      releaseAfter.set(lastRead[t], list);
    }
    for (const done of releaseAfter.get(i) ?? []) free.add(tensorBuffer[done]);
  });
  return { bufferBytes, tensorBuffer, inputBuffer, outputBuffers };
}
