/**
 * PoseNet's MobileNetV1 as a chain of GPU kernels for one input size and output stride: the first
 * 3x3 conv, 13 depthwise/pointwise blocks with the stride and dilation schedule of the output-stride
 * rule, and the four 1x1 heads fused into one pointwise GEMM.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import type { GpuKernel } from "../kernels/compute_kernel.ts";
import { createConv2dKernel } from "../kernels/conv2d.ts";
import { createDepthwiseConvKernel } from "../kernels/depthwise_conv.ts";
import type { GpuContext } from "../kernels/gpu_context.ts";
import { packChannels, packedByteLength } from "../kernels/layout.ts";
import { dispatchAndRead } from "../kernels/run_kernel.ts";
import type { PoseNetHeads } from "../decode/heads.ts";
import { createPointwiseConvKernel } from "../kernels/pointwise_conv.ts";
import {
  type OutputStride,
  resolveLayerSchedule,
  validateInputResolution,
} from "./architecture.ts";
import type { ConvLayerWeights, PoseNetWeights } from "./posenet_weights.ts";
import { type KernelVariantChoice, variantTiling } from "../kernels/kernel_variants.ts";
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
} = Object.freeze({
  heatmap: 0,
  offsets: 20,
  displacementFwd: 56,
  displacementBwd: 88,
  channels: 120,
});

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
  const layers: GpuKernel[] = [];
  const conv2dTiling = variantTiling("conv2d", config.variants);
  const depthwiseTiling = variantTiling("depthwise", config.variants);
  const pointwiseTiling = variantTiling("pointwise", config.variants);
  try {
    let [h, w] = [resolution.height, resolution.width];
    const conv0 = weights.conv0;
    layers.push(
      await createConv2dKernel(
        gpu,
        {
          height: h,
          width: w,
          inChannels: conv0.inChannels,
          outChannels: conv0.outChannels,
          kernelHeight: conv0.kernelHeight,
          kernelWidth: conv0.kernelWidth,
          stride: schedule[0].stride,
          dilation: schedule[0].dilation,
          activation: conv0.relu6 ? "relu6" : "none",
          ...conv2dTiling,
        },
        conv0.filter,
        conv0.bias,
      ),
    );
    [h, w] = layers[0].outputShape;
    for (const [i, block] of weights.blocks.entries()) {
      const dw = block.depthwise;
      const depthwise = await createDepthwiseConvKernel(
        gpu,
        {
          height: h,
          width: w,
          channels: dw.inChannels,
          kernelHeight: dw.kernelHeight,
          kernelWidth: dw.kernelWidth,
          stride: schedule[i + 1].stride,
          dilation: schedule[i + 1].dilation,
          activation: dw.relu6 ? "relu6" : "none",
          ...depthwiseTiling,
        },
        dw.filter,
        dw.bias,
      );
      layers.push(depthwise);
      [h, w] = depthwise.outputShape;
      const pw = block.pointwise;
      layers.push(
        await createPointwiseConvKernel(
          gpu,
          {
            height: h,
            width: w,
            inChannels: pw.inChannels,
            outChannels: pw.outChannels,
            activation: pw.relu6 ? "relu6" : "none",
            ...pointwiseTiling,
          },
          pw.filter,
          pw.bias,
        ),
      );
    }
    if (h !== resolution.heatmapHeight || w !== resolution.heatmapWidth) {
      throw new InvalidInputError(
        `network output is ${h}x${w}, expected the ${resolution.heatmapHeight}x` +
          `${resolution.heatmapWidth} heatmap of stride ${config.outputStride}`,
      );
    }
    const heads = fuseHeads(weights);
    layers.push(
      await createPointwiseConvKernel(
        gpu,
        {
          height: h,
          width: w,
          inChannels: heads.inChannels,
          outChannels: HEAD_LAYOUT.channels,
          activation: "none",
          ...pointwiseTiling,
        },
        heads.filter,
        heads.bias,
      ),
    );
  } catch (error) {
    for (const layer of layers) layer.dispose();
    throw error;
  }
  const scratchBytes = Math.max(
    ...layers.slice(0, -1).map((l) =>
      packedByteLength(l.outputShape[0], l.outputShape[1], l.outputShape[2])
    ),
  );
  const inputBytes = packedByteLength(resolution.height, resolution.width, 3);
  const headsBytes = packedByteLength(
    resolution.heatmapHeight,
    resolution.heatmapWidth,
    HEAD_LAYOUT.channels,
  );
  const bindGroups = new WeakMap<NetworkBuffers, GPUBindGroup[]>();
  const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  return {
    inputHeight: resolution.height,
    inputWidth: resolution.width,
    heatmapHeight: resolution.heatmapHeight,
    heatmapWidth: resolution.heatmapWidth,
    outputStride: config.outputStride,
    layers,
    headsBytes,
    createBuffers(): NetworkBuffers {
      const make = (label: string, size: number) =>
        gpu.device.createBuffer({ label, size, usage: storage });
      const input = make("posenet input", inputBytes);
      const ping = make("posenet activations A", scratchBytes);
      const pong = make("posenet activations B", scratchBytes);
      const headsBuffer = make("posenet heads", headsBytes);
      const buffers: NetworkBuffers = {
        input,
        heads: headsBuffer,
        destroy() {
          for (const b of [input, ping, pong, headsBuffer]) b.destroy();
        },
      };
      // conv0: input → A, then alternate A/B, the heads read the last activation.
      const sources = [input, ...layers.slice(1).map((_, i) => (i % 2 === 0 ? ping : pong))];
      const targets = layers.map((
        _,
        i,
      ) => (i === layers.length - 1 ? headsBuffer : i % 2 === 0 ? ping : pong));
      bindGroups.set(buffers, layers.map((layer, i) => layer.bind(sources[i], targets[i])));
      return buffers;
    },
    encode(pass: GPUComputePassEncoder, buffers: NetworkBuffers): void {
      const groups = bindGroups.get(buffers);
      if (!groups) throw new Error("buffers were not made by this network's createBuffers()");
      layers.forEach((layer, i) => layer.dispatch(pass, groups[i]));
    },
    dispose(): void {
      for (const layer of layers) layer.dispose();
    },
  };
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
    heatmap: take(HEAD_LAYOUT.heatmap, 17),
    offsets: take(HEAD_LAYOUT.offsets, 34),
    displacementFwd: take(HEAD_LAYOUT.displacementFwd, 32),
    displacementBwd: take(HEAD_LAYOUT.displacementBwd, 32),
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
