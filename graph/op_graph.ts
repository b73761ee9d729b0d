/**
 * The op graph: what a network computes, as a list of nodes over batch-1 NHWC tensors, before any
 * GPU object exists. A model's front end (PoseNet's weights, or a TF.js graph lowered by
 * `lower_tfjs.ts`) builds one with {@linkcode OpGraphBuilder}; `fuse_epilogues.ts` folds adds and
 * upsamples into the convs that produce them; `buffer_plan.ts` assigns GPU buffers by liveness; and
 * `compiled_graph.ts` turns it into kernels recorded into one command buffer.
 *
 * Nodes are kept in execution order: a node reads only tensors made before it. Shapes are inferred
 * when a node is added (TF's SAME padding), so a malformed graph fails where it is built, naming the
 * node.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import type { Hwc } from "../kernels/compute_kernel.ts";
import { samePadding } from "../kernels/same_padding.ts";
import type { Residual } from "../shaders/residual.ts";
import type { Activation } from "../shaders/wgsl_common.ts";

export type { Activation, Residual };

/** A tensor of the graph: its name (the producing node's, or the input's) and its shape. */
export interface TensorSpec {
  /** Readable name, unique in the graph. */
  readonly name: string;
  /** Height, width, channels. */
  readonly shape: Hwc;
}

/** What every node has: a name, the tensors it reads, the tensor it writes. */
export interface NodeBase {
  /** Readable name (the source node's). */
  readonly name: string;
  /** Indices into {@linkcode OpGraph.tensors} of what the node reads, data input first. */
  readonly inputs: readonly number[];
  /** Index of the tensor the node writes. */
  readonly output: number;
}

/** What a KxK window op (full or depthwise conv) takes: its window, stride, dilation, activation. */
export interface WindowFields {
  /** Kernel rows. */
  readonly kernelHeight: number;
  /** Kernel columns. */
  readonly kernelWidth: number;
  /** Stride, the same on both axes. */
  readonly stride: number;
  /** Dilation (atrous rate), the same on both axes. */
  readonly dilation: number;
  /** Activation after the bias. */
  readonly activation: Activation;
}

/** A full KxK convolution with bias and activation. */
export interface Conv2dNode extends NodeBase, WindowFields {
  /** Which op. */
  readonly op: "conv2d";
  /** TF layout `[kh, kw, cin, cout]`. */
  readonly filter: Float32Array;
  /** `cout` values. */
  readonly bias: Float32Array;
}

/** A depthwise KxK convolution, with or without a bias. */
export interface DepthwiseNode extends NodeBase, WindowFields {
  /** Which op. */
  readonly op: "depthwise";
  /** TF layout `[kh, kw, c, 1]`. */
  readonly filter: Float32Array;
  /** `c` values, or undefined for none (TF's `DepthwiseConv2dNative`). */
  readonly bias?: Float32Array;
}

/** A 1x1 convolution (a GEMM over pixels × channels), optionally adding a residual. */
export interface PointwiseNode extends NodeBase {
  /** Which op. */
  readonly op: "pointwise";
  /** Activation after the bias. */
  readonly activation: Activation;
  /** TF layout `[1, 1, cin, cout]`. */
  readonly filter: Float32Array;
  /** `cout` values. */
  readonly bias: Float32Array;
  /**
   * What the epilogue adds after the activation: `"identity"` adds `inputs[1]` of the output's
   * shape, `"bilinear2x"` adds `inputs[1]` of half its height and width resized 2x bilinearly with
   * half-pixel centres; absent or `"none"`: nothing (`inputs` has one entry).
   */
  readonly residual?: Residual;
}

/** Bilinear 2x upsampling with half-pixel centres (TF `ResizeBilinear`), plus `inputs[1]` if any. */
export interface ResizeNode extends NodeBase {
  /** Which op. */
  readonly op: "resize_bilinear2x";
}

/** Elementwise sum of two tensors of one shape (TF `AddV2`). */
export interface AddNode extends NodeBase {
  /** Which op. */
  readonly op: "add";
}

/** Any node of an op graph. */
export type OpNode = Conv2dNode | DepthwiseNode | PointwiseNode | ResizeNode | AddNode;

/** A network as nodes over tensors, in execution order. */
export interface OpGraph {
  /** Every tensor; `tensors[input]` is the network input. */
  readonly tensors: readonly TensorSpec[];
  /** The nodes in execution order. */
  readonly nodes: readonly OpNode[];
  /** Index of the input tensor. */
  readonly input: number;
  /** Indices of the output tensors, in the order the caller asked for them. */
  readonly outputs: readonly number[];
}

/** The fields of a node that its builder method takes (all but op, name, inputs and output). */
export type NodeFields<N extends OpNode> = Omit<N, "op" | "inputs" | "output" | "name">;

/**
 * Builds an {@linkcode OpGraph} node by node, inferring each output's shape.
 *
 * @example A MobileNetV2 inverted-residual block
 * ```ts
 * import { OpGraphBuilder } from "./op_graph.ts";
 *
 * const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
 * const g = new OpGraphBuilder("input", [12, 12, 16]);
 * const expand = g.pointwise("expand", g.input, { activation: "relu6", filter: rand(16 * 96), bias: rand(96) });
 * const dw = g.depthwise("dw", expand, {
 *   kernelHeight: 3, kernelWidth: 3, stride: 1, dilation: 1, activation: "relu6",
 *   filter: rand(9 * 96), bias: rand(96),
 * });
 * const project = g.pointwise("project", dw, { activation: "none", filter: rand(96 * 16), bias: rand(16) });
 * const sum = g.add("sum", project, g.input);
 * const graph = g.finish([sum]);
 * console.log(graph.tensors[sum].shape); // [12, 12, 16]
 * ```
 */
export class OpGraphBuilder {
  readonly #tensors: TensorSpec[] = [];
  readonly #nodes: OpNode[] = [];
  /** Index of the input tensor. */
  readonly input: number;

  /**
   * Starts a graph with one input.
   *
   * @param name The input's name.
   * @param shape The input's shape.
   */
  constructor(name: string, shape: Hwc) {
    for (const d of shape) {
      if (!Number.isSafeInteger(d) || d < 1) {
        throw new InvalidInputError(`op graph input "${name}" has an invalid shape [${shape}]`);
      }
    }
    this.input = this.#tensor(name, shape);
  }

  /** The shape of tensor `t`. */
  shape(t: number): Hwc {
    return this.#spec(t, "shape()").shape;
  }

  /** Adds a KxK convolution; returns its output tensor. */
  conv2d(name: string, input: number, f: NodeFields<Conv2dNode>): number {
    const [h, w, cin] = this.#spec(input, name).shape;
    const cout = f.bias.length;
    this.#checkLength(name, "filter", f.filter, f.kernelHeight * f.kernelWidth * cin * cout);
    const shape = this.#convShape(name, [h, w], f, cout);
    return this.#push({ op: "conv2d", name, inputs: [input], ...f }, shape);
  }

  /** Adds a depthwise KxK convolution; returns its output tensor. */
  depthwise(name: string, input: number, f: NodeFields<DepthwiseNode>): number {
    const [h, w, c] = this.#spec(input, name).shape;
    this.#checkLength(name, "filter", f.filter, f.kernelHeight * f.kernelWidth * c);
    if (f.bias) this.#checkLength(name, "bias", f.bias, c);
    const shape = this.#convShape(name, [h, w], f, c);
    return this.#push({ op: "depthwise", name, inputs: [input], ...f }, shape);
  }

  /** Adds a 1x1 convolution (no residual: {@linkcode fuseEpilogues} adds those); returns its output. */
  pointwise(name: string, input: number, f: Omit<NodeFields<PointwiseNode>, "residual">): number {
    const [h, w, cin] = this.#spec(input, name).shape;
    const cout = f.bias.length;
    this.#checkLength(name, "filter", f.filter, cin * cout);
    if (cout < 1) throw new InvalidInputError(`op graph node "${name}" has no output channels`);
    return this.#push({ op: "pointwise", name, inputs: [input], ...f }, [h, w, cout]);
  }

  /** Adds a bilinear 2x upsample (half-pixel centres); returns its output tensor. */
  resizeBilinear2x(name: string, input: number): number {
    const [h, w, c] = this.#spec(input, name).shape;
    return this.#push({ op: "resize_bilinear2x", name, inputs: [input] }, [2 * h, 2 * w, c]);
  }

  /** Adds `a + b` of one shape; returns its output tensor. */
  add(name: string, a: number, b: number): number {
    const sa = this.#spec(a, name).shape;
    const sb = this.#spec(b, name).shape;
    if (sa.some((d, i) => d !== sb[i])) {
      throw new InvalidInputError(
        `op graph node "${name}" adds tensors of different shapes [${sa}] and [${sb}]`,
      );
    }
    return this.#push({ op: "add", name, inputs: [a, b] }, sa);
  }

  /**
   * Ends the graph.
   *
   * @param outputs The tensors the caller reads, in order.
   * @returns The graph.
   */
  finish(outputs: readonly number[]): OpGraph {
    if (outputs.length === 0) throw new InvalidInputError("an op graph needs at least one output");
    for (const t of outputs) this.#spec(t, "finish()");
    if (new Set(outputs).size !== outputs.length || outputs.includes(this.input)) {
      throw new InvalidInputError("op graph outputs must be distinct node outputs");
    }
    return Object.freeze({
      tensors: Object.freeze([...this.#tensors]),
      nodes: Object.freeze([...this.#nodes]),
      input: this.input,
      outputs: Object.freeze([...outputs]),
    });
  }

  #tensor(name: string, shape: Hwc): number {
    this.#tensors.push(Object.freeze({ name, shape: Object.freeze([...shape]) as unknown as Hwc }));
    return this.#tensors.length - 1;
  }

  #spec(t: number, where: string): TensorSpec {
    const spec = Number.isInteger(t) ? this.#tensors[t] : undefined;
    if (!spec) throw new InvalidInputError(`op graph node "${where}" reads unknown tensor ${t}`);
    return spec;
  }

  #push(node: Omit<OpNode, "output">, shape: Hwc): number {
    const output = this.#tensor(node.name, shape);
    this.#nodes.push(Object.freeze({ ...node, output }) as OpNode);
    return output;
  }

  #checkLength(name: string, what: string, data: Float32Array, expected: number): void {
    if (!(data instanceof Float32Array) || data.length !== expected) {
      throw new InvalidInputError(
        `op graph node "${name}": ${what} has ${data?.length} values, expected ${expected}`,
      );
    }
  }

  #convShape(
    name: string,
    [h, w]: readonly [number, number],
    f: { kernelHeight: number; kernelWidth: number; stride: number; dilation: number },
    channels: number,
  ): Hwc {
    for (const key of ["kernelHeight", "kernelWidth", "stride", "dilation"] as const) {
      if (!Number.isSafeInteger(f[key]) || f[key] < 1) {
        throw new InvalidInputError(`op graph node "${name}" has an invalid ${key} ${f[key]}`);
      }
    }
    const y = samePadding(h, f.kernelHeight, f.stride, f.dilation).outSize;
    const x = samePadding(w, f.kernelWidth, f.stride, f.dilation).outSize;
    return [y, x, channels];
  }
}

/**
 * For each tensor, the indices of the nodes that read it, in execution order.
 *
 * @param graph The graph.
 * @returns `readers[t]` lists the nodes reading tensor `t`.
 *
 * @example
 * ```ts
 * import { OpGraphBuilder, tensorReaders } from "./op_graph.ts";
 * const g = new OpGraphBuilder("x", [2, 2, 4]);
 * const up = g.resizeBilinear2x("up", g.input);
 * const graph = g.finish([up]);
 * console.log(tensorReaders(graph)[graph.input]); // [0]
 * ```
 */
export function tensorReaders(graph: OpGraph): number[][] {
  const readers = graph.tensors.map((): number[] => []);
  graph.nodes.forEach((node, i) => {
    for (const t of new Set(node.inputs)) readers[t].push(i);
  });
  return readers;
}
