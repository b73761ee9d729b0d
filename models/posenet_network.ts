/**
 * PoseNet's MobileNetV1 as a chain of GPU kernels for one input size and output stride: the first
 * 3x3 conv, 13 depthwise/pointwise blocks with the stride and dilation schedule of the output-stride
 * rule, and the four 1x1 heads fused into one pointwise GEMM.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import type { FusedHeadsLayout } from "../shaders/fused_heads_layout.ts";
import type { GpuKernel } from "../kernels/compute_kernel.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import { channelSlots, packChannels, packedByteLength } from "../runtime/layout.ts";
import { dispatchAndRead } from "../kernels/run_kernel.ts";
import type { PoseNetHeads } from "../decode/heads.ts";
import { compileOpGraph, type GraphBuffers } from "../graph/compiled_graph.ts";
import { type Activation, type OpGraph, OpGraphBuilder } from "../graph/op_graph.ts";
import { type OutputStride, resolveLayerSchedule } from "./architecture.ts";
import { validateInputResolution } from "./input_resolution.ts";
import { type ConvLayerWeights, HEAD_CHANNELS, type PoseNetWeights } from "./posenet_weights.ts";
import type { KernelVariantChoice } from "../kernels/kernel_variants.ts";
import { checkActivationBounds } from "./_activation_bound.ts";

/**
 * Where each head sits in the fused heads tensor. Each head is padded to a multiple of 4 channels
 * so it starts on a `vec4` boundary: heatmap 17 → 20, offsets 34 → 36, displacements 32 each.
 *
 * @example
 * ```ts
 * import { HEAD_LAYOUT } from "./posenet_network.ts";
 *
 * // The x offset of part k at cell (y, x) of a 17x17 fused heads tensor.
 * function offsetX(fused: Float32Array, y: number, x: number, k: number): number {
 *   return fused[(y * 17 + x) * HEAD_LAYOUT.channels + HEAD_LAYOUT.offsets + 17 + k];
 * }
 * console.log(offsetX(new Float32Array(17 * 17 * HEAD_LAYOUT.channels), 0, 0, 0)); // 0
 * ```
 */
export const HEAD_LAYOUT: {
  readonly heatmap: number;
  readonly offsets: number;
  readonly displacementFwd: number;
  readonly displacementBwd: number;
  readonly channels: number;
} = headLayout();

/** Each head's first channel, in HEAD_CHANNELS order, each on a `vec4` boundary. */
function headLayout() {
  const at = (channels: number) => 4 * channelSlots(channels);
  const heatmap = 0;
  const offsets = heatmap + at(HEAD_CHANNELS.heatmap);
  const displacementFwd = offsets + at(HEAD_CHANNELS.offsets);
  const displacementBwd = displacementFwd + at(HEAD_CHANNELS.displacementFwd);
  const channels = displacementBwd + at(HEAD_CHANNELS.displacementBwd);
  return Object.freeze({ heatmap, offsets, displacementFwd, displacementBwd, channels });
}

/** Input size and output stride of a network instance. */
export interface NetworkConfig {
  /** Input rows R_h, with (R_h − 1) % outputStride === 0. */
  readonly inputHeight: number;
  /** Input columns R_w, with (R_w − 1) % outputStride === 0. */
  readonly inputWidth: number;
  /** 8, 16 or 32. */
  readonly outputStride: OutputStride;
  /** Kernel variant per family (default `tiled` everywhere). */
  readonly variants?: KernelVariantChoice;
}

/**
 * The GPU buffers one frame runs through; make one set per frame in flight.
 *
 * @example
 * ```ts
 * import { createGpuContext, fetchDefaultWeights, loadTfjsGraphModel } from "../mod.ts";
 * import { createPoseNetNetwork } from "./posenet_network.ts";
 *
 * const gpu = await createGpuContext();
 * const weights = await loadTfjsGraphModel(await fetchDefaultWeights());
 * const network = await createPoseNetNetwork(gpu, weights, {
 *   inputHeight: 257,
 *   inputWidth: 257,
 *   outputStride: 16,
 * });
 *
 * // Two frames in flight, each with its own buffers.
 * const frames = [network.createBuffers(), network.createBuffers()];
 * const encoder = gpu.device.createCommandEncoder();
 * for (const buffers of frames) {
 *   const pass = encoder.beginComputePass();
 *   network.encode(pass, buffers);
 *   pass.end();
 * }
 * gpu.device.queue.submit([encoder.finish()]);
 * await gpu.guard(gpu.device.queue.onSubmittedWorkDone());
 * for (const buffers of frames) buffers.destroy();
 * network.dispose();
 * gpu.destroy();
 * ```
 */
export interface NetworkBuffers {
  /** Network input, NHWC4 (r, g, b, 0). */
  readonly input: GPUBuffer;
  /** Fused heads output, NHWC4 with {@linkcode HEAD_LAYOUT.channels} channels. */
  readonly heads: GPUBuffer;
  /** Frees the buffers. */
  destroy(): void;
}

/**
 * A built network.
 *
 * @example
 * ```ts
 * import { createGpuContext, fetchDefaultWeights, loadTfjsGraphModel } from "../mod.ts";
 * import { createPoseNetNetwork } from "./posenet_network.ts";
 *
 * const gpu = await createGpuContext();
 * const weights = await loadTfjsGraphModel(await fetchDefaultWeights());
 * const network = await createPoseNetNetwork(gpu, weights, {
 *   inputHeight: 257,
 *   inputWidth: 257,
 *   outputStride: 16,
 * });
 *
 * console.log(network.layers.length, network.heatmapHeight, network.headsBytes); // 28 17 138720
 * for (const layer of network.layers.slice(0, 3)) console.log(layer.label, layer.flops);
 * network.dispose();
 * gpu.destroy();
 * ```
 */
export interface PoseNetNetwork {
  /** Input rows. */
  readonly inputHeight: number;
  /** Input columns. */
  readonly inputWidth: number;
  /** Heatmap rows, (R_h − 1) / stride + 1. */
  readonly heatmapHeight: number;
  /** Heatmap columns. */
  readonly heatmapWidth: number;
  /** Output stride. */
  readonly outputStride: OutputStride;
  /** The kernels in execution order: conv0, 13 × (depthwise, pointwise), fused heads. */
  readonly layers: readonly GpuKernel[];
  /** Bytes of the fused heads buffer. */
  readonly headsBytes: number;
  /** Allocates a set of buffers (input, two activations, heads) for one frame in flight. */
  createBuffers(): NetworkBuffers;
  /**
   * Records every layer's dispatch, from `buffers.input` to `buffers.heads`.
   *
   * @param pass An open compute pass.
   * @param buffers Buffers from {@linkcode PoseNetNetwork.createBuffers}.
   */
  encode(pass: GPUComputePassEncoder, buffers: NetworkBuffers): void;
  /** Frees the weights and kernels. Buffers made by `createBuffers` are freed by their owner. */
  dispose(): void;
}

/**
 * Builds the network on the GPU for one input size and output stride.
 *
 * @param gpu The device context.
 * @param weights Loaded weights.
 * @param config Input size and output stride.
 * @returns The network.
 * @throws {InvalidInputError} On an invalid resolution or stride, or a size the device cannot hold.
 * @throws {ModelLoadError} When the weights are so large (though finite) that an activation could
 *   overflow float32 for some image, which would make the heads Inf or NaN.
 *
 * @example
 * ```ts
 * import { createGpuContext, fetchDefaultWeights, loadTfjsGraphModel } from "../mod.ts";
 * import { createPoseNetNetwork } from "./posenet_network.ts";
 *
 * const gpu = await createGpuContext();
 * const weights = await loadTfjsGraphModel(await fetchDefaultWeights());
 * const network = await createPoseNetNetwork(gpu, weights, {
 *   inputHeight: 257,
 *   inputWidth: 257,
 *   outputStride: 16,
 * });
 *
 * console.log(network.heatmapHeight, network.heatmapWidth); // 17 17
 * network.dispose();
 * gpu.destroy();
 * ```
 */
export async function createPoseNetNetwork(
  gpu: GpuContext,
  weights: PoseNetWeights,
  config: NetworkConfig,
): Promise<PoseNetNetwork> {
  const resolution = validateInputResolution(
    { height: config.inputHeight, width: config.inputWidth },
    config.outputStride,
  );
  checkActivationBounds(weights);
  const convLayers = [weights.conv0, ...weights.blocks.map((b) => b.depthwise)];
  const schedule = resolveLayerSchedule(
    convLayers.map((l) => l.stride),
    config.outputStride,
    convLayers.map((l) => l.dilation),
  );
  const graph = poseNetOpGraph(weights, resolution, schedule);
  const [h, w] = graph.tensors[graph.outputs[0]].shape;
  if (h !== resolution.heatmapHeight || w !== resolution.heatmapWidth) {
    throw new InvalidInputError(
      `network output is ${h}x${w}, expected the ${resolution.heatmapHeight}x` +
        `${resolution.heatmapWidth} heatmap of stride ${config.outputStride}`,
    );
  }
  const compiled = await compileOpGraph(gpu, graph, {
    variants: config.variants,
    label: "posenet",
  });
  const headsBytes = packedByteLength(h, w, HEAD_LAYOUT.channels);
  const sets = new WeakMap<NetworkBuffers, GraphBuffers>();
  return {
    inputHeight: resolution.height,
    inputWidth: resolution.width,
    heatmapHeight: resolution.heatmapHeight,
    heatmapWidth: resolution.heatmapWidth,
    outputStride: config.outputStride,
    layers: compiled.kernels,
    headsBytes,
    createBuffers(): NetworkBuffers {
      const set = compiled.createBuffers();
      const buffers: NetworkBuffers = {
        input: set.input,
        heads: set.outputs[0],
        destroy: () => set.destroy(),
      };
      sets.set(buffers, set);
      return buffers;
    },
    encode(pass: GPUComputePassEncoder, buffers: NetworkBuffers): void {
      const set = sets.get(buffers);
      if (!set) throw new Error("buffers were not made by this network's createBuffers()");
      compiled.encode(pass, set);
    },
    dispose(): void {
      compiled.dispose();
    },
  };
}

/**
 * PoseNet as an op graph: conv0, the 13 blocks with the strides and dilations of `schedule`, and
 * the four heads fused into one 1x1 conv writing {@linkcode HEAD_LAYOUT}.
 */
function poseNetOpGraph(
  weights: PoseNetWeights,
  resolution: { readonly height: number; readonly width: number },
  schedule: readonly { readonly stride: number; readonly dilation: number }[],
): OpGraph {
  const activation = (layer: ConvLayerWeights): Activation => (layer.relu6 ? "relu6" : "none");
  const g = new OpGraphBuilder("image", [resolution.height, resolution.width, 3]);
  const conv0 = weights.conv0;
  let t = g.conv2d(conv0.name, g.input, {
    kernelHeight: conv0.kernelHeight,
    kernelWidth: conv0.kernelWidth,
    ...schedule[0],
    activation: activation(conv0),
    filter: conv0.filter,
    bias: conv0.bias,
  });
  for (const [i, { depthwise: dw, pointwise: pw }] of weights.blocks.entries()) {
    t = g.depthwise(dw.name, t, {
      kernelHeight: dw.kernelHeight,
      kernelWidth: dw.kernelWidth,
      stride: schedule[i + 1].stride,
      dilation: schedule[i + 1].dilation,
      activation: activation(dw),
      filter: dw.filter,
      bias: dw.bias,
    });
    t = g.pointwise(pw.name, t, { activation: activation(pw), filter: pw.filter, bias: pw.bias });
  }
  const heads = fuseHeads(weights);
  return g.finish([
    g.pointwise("heads", t, { activation: "none", filter: heads.filter, bias: heads.bias }),
  ]);
}

/** The four heads as one `[1, 1, cin, 120]` filter, each head on a `vec4` boundary. */
function fuseHeads(
  weights: PoseNetWeights,
): { inChannels: number; filter: Float32Array; bias: Float32Array } {
  const { heatmap, offsets, displacementFwd, displacementBwd } = weights.heads;
  const cin = heatmap.inChannels;
  const filter = new Float32Array(cin * HEAD_LAYOUT.channels);
  const bias = new Float32Array(HEAD_LAYOUT.channels);
  const place = (head: ConvLayerWeights, first: number) => {
    for (let k = 0; k < cin; k++) {
      filter.set(
        head.filter.subarray(k * head.outChannels, (k + 1) * head.outChannels),
        k * HEAD_LAYOUT.channels + first,
      );
    }
    bias.set(head.bias, first);
  };
  place(heatmap, HEAD_LAYOUT.heatmap);
  place(offsets, HEAD_LAYOUT.offsets);
  place(displacementFwd, HEAD_LAYOUT.displacementFwd);
  place(displacementBwd, HEAD_LAYOUT.displacementBwd);
  return { inChannels: cin, filter, bias };
}

/**
 * Splits the fused heads tensor (NHWC4, {@linkcode HEAD_LAYOUT}) into PoseNet's four heads.
 *
 * @param fused Fused heads, `height · width · HEAD_LAYOUT.channels` floats.
 * @param height Heatmap rows.
 * @param width Heatmap columns.
 * @param outputStride Output stride.
 * @returns The four heads in NHWC.
 *
 * @example
 * ```ts
 * import { HEAD_LAYOUT, splitHeads } from "./posenet_network.ts";
 * const heads = splitHeads(new Float32Array(2 * 2 * HEAD_LAYOUT.channels), 2, 2, 16);
 * console.log(heads.offsets.length); // 136
 * ```
 */
export function splitHeads(
  fused: Float32Array,
  height: number,
  width: number,
  outputStride: number,
): PoseNetHeads {
  const cells = height * width;
  const take = (first: number, channels: number) => {
    const out = new Float32Array(cells * channels);
    for (let c = 0; c < cells; c++) {
      out.set(
        fused.subarray(
          c * HEAD_LAYOUT.channels + first,
          c * HEAD_LAYOUT.channels + first + channels,
        ),
        c * channels,
      );
    }
    return out;
  };
  return {
    height,
    width,
    outputStride,
    heatmap: take(HEAD_LAYOUT.heatmap, HEAD_CHANNELS.heatmap),
    offsets: take(HEAD_LAYOUT.offsets, HEAD_CHANNELS.offsets),
    displacementFwd: take(HEAD_LAYOUT.displacementFwd, HEAD_CHANNELS.displacementFwd),
    displacementBwd: take(HEAD_LAYOUT.displacementBwd, HEAD_CHANNELS.displacementBwd),
  };
}

/**
 * Runs the network once on a host input (already preprocessed, NHWC `[R_h, R_w, 3]`) and reads
 * all four heads back. The heads buffer is filled with NaN first, so anything left unwritten shows.
 *
 * @param gpu The device context the network was built on.
 * @param network The network.
 * @param input `R_h · R_w · 3` floats.
 * @returns The four heads.
 *
 * @example
 * ```ts
 * import { createGpuContext, fetchDefaultWeights, loadTfjsGraphModel } from "../mod.ts";
 * import { createPoseNetNetwork, runNetworkOnce } from "./posenet_network.ts";
 *
 * const gpu = await createGpuContext();
 * const weights = await loadTfjsGraphModel(await fetchDefaultWeights());
 * const network = await createPoseNetNetwork(gpu, weights, {
 *   inputHeight: 257,
 *   inputWidth: 257,
 *   outputStride: 16,
 * });
 *
 * const input = new Float32Array(257 * 257 * 3); // already normalised to [-1, 1]: a grey image
 * const heads = await runNetworkOnce(gpu, network, input);
 * console.log(heads.heatmap.length, heads.offsets.length); // 4913 9826
 * network.dispose();
 * gpu.destroy();
 * ```
 */
export async function runNetworkOnce(
  gpu: GpuContext,
  network: PoseNetNetwork,
  input: Float32Array,
): Promise<PoseNetHeads> {
  const { inputHeight, inputWidth, heatmapHeight, heatmapWidth } = network;
  if (input.length !== inputHeight * inputWidth * 3) {
    throw new InvalidInputError(
      `network input has ${input.length} values, expected ${inputHeight}x${inputWidth}x3`,
    );
  }
  const buffers = network.createBuffers();
  try {
    gpu.device.queue.writeBuffer(
      buffers.input,
      0,
      packChannels(input, inputHeight * inputWidth, 3),
    );
    const fused = await dispatchAndRead(
      gpu,
      "posenet network",
      buffers.heads,
      network.headsBytes,
      (pass) => network.encode(pass, buffers),
    );
    return splitHeads(fused, heatmapHeight, heatmapWidth, network.outputStride);
  } finally {
    buffers.destroy();
  }
}

/**
 * Where the decoders find the heatmap and offsets in a network's fused heads.
 *
 * @param network The network.
 * @returns Its heads' layout, for `createSinglePoseDecoder` and `createMultiPoseDecoder`.
 *
 * @example
 * ```ts
 * import { fusedHeadsLayout } from "./posenet_network.ts";
 * const layout = fusedHeadsLayout({ heatmapHeight: 17, heatmapWidth: 17, outputStride: 16 });
 * console.log(layout.cellStride, layout.offsetChannel); // 120 20
 * ```
 */
export function fusedHeadsLayout(
  network: Pick<PoseNetNetwork, "heatmapHeight" | "heatmapWidth" | "outputStride">,
): FusedHeadsLayout {
  return {
    height: network.heatmapHeight,
    width: network.heatmapWidth,
    outputStride: network.outputStride,
    cellStride: HEAD_LAYOUT.channels,
    heatmapChannel: HEAD_LAYOUT.heatmap,
    offsetChannel: HEAD_LAYOUT.offsets,
  };
}
