/**
 * An op graph on the GPU: one kernel per node (shapes baked in, weights uploaded), buffers
 * assigned by liveness (`buffer_plan.ts`), and every dispatch recorded into one compute pass, so a
 * whole network is one command buffer.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import type { GpuKernel } from "../kernels/compute_kernel.ts";
import { packChannels, unpackChannels } from "../runtime/layout.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import type { KernelVariantChoice } from "../kernels/kernel_variants.ts";
import { type BufferPlan, planBuffers } from "./buffer_plan.ts";
import { fuseEpilogues } from "./fuse_epilogues.ts";
import type { OpGraph } from "./op_graph.ts";
import { createNodeKernel } from "./_node_kernel.ts";

/** Options of {@linkcode compileOpGraph}. */
export interface CompileOptions {
  /** Kernel variant per family (default `tiled` everywhere). */
  readonly variants?: KernelVariantChoice;
  /** Label prefix of the GPU buffers (default `"network"`). */
  readonly label?: string;
}

/**
 * The GPU buffers one run of a compiled graph goes through; make one set per frame in flight.
 *
 * @example
 * ```ts
 * import type { GraphBuffers } from "./compiled_graph.ts";
 * function inputOf(buffers: GraphBuffers): GPUBuffer {
 *   return buffers.input;
 * }
 * ```
 */
export interface GraphBuffers {
  /** The input tensor's buffer (NHWC4); write it before the run. */
  readonly input: GPUBuffer;
  /** The outputs' buffers (NHWC4), in {@linkcode OpGraph.outputs} order. */
  readonly outputs: readonly GPUBuffer[];
  /** Frees every buffer of the set. */
  destroy(): void;
}

/**
 * A graph ready to run.
 *
 * @example
 * ```ts
 * import { createGpuContext, packChannels, packedByteLength } from "../kernels/mod.ts";
 * import { OpGraphBuilder } from "./op_graph.ts";
 * import { compileOpGraph } from "./compiled_graph.ts";
 *
 * const g = new OpGraphBuilder("x", [4, 4, 4]);
 * const y = g.pointwise("double", g.input, {
 *   activation: "none",
 *   filter: new Float32Array([2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2]),
 *   bias: new Float32Array(4),
 * });
 * const gpu = await createGpuContext();
 * const compiled = await compileOpGraph(gpu, g.finish([y]));
 * const buffers = compiled.createBuffers();
 * gpu.device.queue.writeBuffer(buffers.input, 0, packChannels(new Float32Array(64).fill(1), 16, 4));
 * const readback = gpu.device.createBuffer({
 *   size: packedByteLength(4, 4, 4),
 *   usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
 * });
 * const encoder = gpu.device.createCommandEncoder();
 * const pass = encoder.beginComputePass();
 * compiled.encode(pass, buffers);
 * pass.end();
 * encoder.copyBufferToBuffer(buffers.outputs[0], 0, readback, 0, readback.size);
 * gpu.device.queue.submit([encoder.finish()]);
 * await gpu.guard(readback.mapAsync(GPUMapMode.READ));
 * console.log(new Float32Array(readback.getMappedRange())[0]); // 2
 * buffers.destroy();
 * compiled.dispose();
 * gpu.destroy();
 * ```
 */
export interface CompiledGraph {
  /** The graph after epilogue fusion, as it runs. */
  readonly graph: OpGraph;
  /** One kernel per node of {@linkcode CompiledGraph.graph}, in execution order. */
  readonly kernels: readonly GpuKernel[];
  /** The buffer assignment. */
  readonly buffers: BufferPlan;
  /** Bytes of one buffer set (what {@linkcode CompiledGraph.createBuffers} allocates). */
  readonly bufferSetBytes: number;
  /** Allocates the buffers of one run (one frame in flight). */
  createBuffers(): GraphBuffers;
  /**
   * Records every node's dispatch, from `buffers.input` to `buffers.outputs`.
   *
   * @param pass An open compute pass.
   * @param buffers A set from {@linkcode CompiledGraph.createBuffers}.
   */
  encode(pass: GPUComputePassEncoder, buffers: GraphBuffers): void;
  /** Frees the kernels' weights. Buffer sets are freed by their owner. */
  dispose(): void;
}

/**
 * Fuses epilogues, builds a kernel for every node, and plans the buffers.
 *
 * @param gpu The device context.
 * @param graph The op graph.
 * @param options Kernel variants and labels.
 * @returns The compiled graph.
 * @throws {InvalidInputError} When a node has no kernel (e.g. an add that could not be fused), or
 *   a tensor is too large for the device.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "../mod.ts";
 * import { OpGraphBuilder } from "./op_graph.ts";
 * import { compileOpGraph } from "./compiled_graph.ts";
 *
 * const g = new OpGraphBuilder("x", [6, 6, 8]);
 * const y = g.depthwise("dw", g.input, {
 *   kernelHeight: 3, kernelWidth: 3, stride: 2, dilation: 1, activation: "relu6",
 *   filter: new Float32Array(72).fill(0.1), bias: new Float32Array(8),
 * });
 * const gpu = await createGpuContext();
 * const compiled = await compileOpGraph(gpu, g.finish([y]));
 * console.log(compiled.kernels[0].outputShape); // [3, 3, 8]
 * compiled.dispose();
 * gpu.destroy();
 * ```
 */
export async function compileOpGraph(
  gpu: GpuContext,
  graph: OpGraph,
  options: CompileOptions = {},
): Promise<CompiledGraph> {
  const fused = fuseEpilogues(graph);
  const plan = planBuffers(fused);
  const kernels: GpuKernel[] = [];
  try {
    for (const node of fused.nodes) {
      kernels.push(await createNodeKernel(gpu, fused, node, options.variants));
    }
  } catch (error) {
    for (const kernel of kernels) kernel.dispose();
    throw error;
  }
  const label = options.label ?? "network";
  const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const bindGroups = new WeakMap<GraphBuffers, GPUBindGroup[]>();
  return {
    graph: fused,
    kernels,
    buffers: plan,
    bufferSetBytes: plan.bufferBytes.reduce((a, b) => a + b, 0),
    createBuffers(): GraphBuffers {
      const made = plan.bufferBytes.map((size, b) =>
        gpu.device.createBuffer({
          label: b === plan.inputBuffer
            ? `${label} input`
            : plan.outputBuffers.includes(b)
            ? `${label} output ${plan.outputBuffers.indexOf(b)}`
            : `${label} activations ${b}`,
          size,
          usage: storage,
        })
      );
      const set: GraphBuffers = {
        input: made[plan.inputBuffer],
        outputs: plan.outputBuffers.map((b) => made[b]),
        destroy() {
          for (const buffer of made) buffer.destroy();
        },
      };
      const of = (t: number) => made[plan.tensorBuffer[t]];
      bindGroups.set(
        set,
        fused.nodes.map((node, i) =>
          kernels[i].bind(
            of(node.inputs[0]),
            of(node.output),
            node.inputs.length > 1 ? of(node.inputs[1]) : undefined,
          )
        ),
      );
      return set;
    },
    encode(pass: GPUComputePassEncoder, buffers: GraphBuffers): void {
      const groups = bindGroups.get(buffers);
      if (!groups) throw new Error("buffers were not made by this graph's createBuffers()");
      kernels.forEach((kernel, i) => kernel.dispatch(pass, groups[i]));
    },
    dispose(): void {
      for (const kernel of kernels) kernel.dispose();
    },
  };
}

/**
 * Runs a compiled graph once on a host input and reads every output back, unpacked to NHWC. The
 * outputs are filled with NaN first, so anything left unwritten shows.
 *
 * @param gpu The device context the graph was compiled on.
 * @param compiled The graph.
 * @param input The input tensor, NHWC, `h · w · c` floats.
 * @returns Each output, NHWC, in {@linkcode OpGraph.outputs} order.
 * @throws {InvalidInputError} When `input` has the wrong length.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "../mod.ts";
 * import { OpGraphBuilder } from "./op_graph.ts";
 * import { compileOpGraph, runOpGraphOnce } from "./compiled_graph.ts";
 *
 * const g = new OpGraphBuilder("x", [2, 2, 3]);
 * const up = g.resizeBilinear2x("up", g.input);
 * const gpu = await createGpuContext();
 * const compiled = await compileOpGraph(gpu, g.finish([up]));
 * const [out] = await runOpGraphOnce(gpu, compiled, new Float32Array(12).fill(5));
 * console.log(out.length, out[0]); // 48 5
 * compiled.dispose();
 * gpu.destroy();
 * ```
 */
export async function runOpGraphOnce(
  gpu: GpuContext,
  compiled: CompiledGraph,
  input: Float32Array,
): Promise<Float32Array[]> {
  const { tensors, input: inputTensor, outputs } = compiled.graph;
  const [h, w, c] = tensors[inputTensor].shape;
  if (input.length !== h * w * c) {
    throw new InvalidInputError(
      `op graph input has ${input.length} values, expected ${h}x${w}x${c}`,
    );
  }
  const buffers = compiled.createBuffers();
  const readbacks: GPUBuffer[] = [];
  try {
    const device = gpu.device;
    device.queue.writeBuffer(buffers.input, 0, packChannels(input, h * w, c));
    const encoder = device.createCommandEncoder({ label: "op graph run" });
    for (const out of buffers.outputs) {
      device.queue.writeBuffer(out, 0, new Float32Array(out.size / 4).fill(NaN));
    }
    const pass = encoder.beginComputePass();
    compiled.encode(pass, buffers);
    pass.end();
    for (const out of buffers.outputs) {
      const readback = device.createBuffer({
        size: out.size,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      readbacks.push(readback);
      encoder.copyBufferToBuffer(out, 0, readback, 0, out.size);
    }
    device.queue.submit([encoder.finish()]);
    await gpu.guard(Promise.all(readbacks.map((r) => r.mapAsync(GPUMapMode.READ))));
    return readbacks.map((r, i) => {
      const [oh, ow, oc] = tensors[outputs[i]].shape;
      return unpackChannels(new Float32Array(r.getMappedRange().slice(0)), oh * ow, oc);
    });
  } finally {
    for (const r of readbacks) r.destroy();
    buffers.destroy();
  }
}
