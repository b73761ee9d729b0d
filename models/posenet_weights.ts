/**
 * The in-memory form of PoseNet (MobileNetV1) weights, independent of the file format they came
 * from. Weights are float32 in TensorFlow layout.
 *
 * @module
 */

/**
 * Which kernel a layer runs on.
 *
 * @example
 * ```ts
 * import type { ConvLayerKind } from "./posenet_weights.ts";
 * const kinds: ConvLayerKind[] = ["conv2d", "depthwise", "pointwise"];
 * ```
 */
export type ConvLayerKind = "conv2d" | "depthwise" | "pointwise";

/**
 * One convolution layer with its bias, as recorded in the weights file.
 *
 * @example
 * ```ts
 * import { fetchDefaultWeights, loadTfjsGraphModel } from "../mod.ts";
 *
 * const { conv0 } = await loadTfjsGraphModel(await fetchDefaultWeights());
 * console.log(conv0.kind, conv0.kernelHeight, conv0.inChannels, conv0.outChannels, conv0.stride);
 * // "conv2d" 3 3 24 2
 * ```
 */
export interface ConvLayerWeights {
  /** Node name in the source graph, e.g. `MobilenetV1/Conv2d_1_depthwise/Relu6`. */
  readonly name: string;
  /** Kernel family: full conv, depthwise, or 1x1 pointwise. */
  readonly kind: ConvLayerKind;
  /** Kernel height. */
  readonly kernelHeight: number;
  /** Kernel width. */
  readonly kernelWidth: number;
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels (equal to inChannels for depthwise). */
  readonly outChannels: number;
  /** Stride recorded in the graph (same in y and x). */
  readonly stride: number;
  /** Dilation recorded in the graph (same in y and x). */
  readonly dilation: number;
  /** Whether ReLU6 follows the bias. */
  readonly relu6: boolean;
  /**
   * Filter in TF layout: `[kh, kw, cin, cout]` for conv2d/pointwise, `[kh, kw, c, 1]` for depthwise.
   */
  readonly filter: Float32Array;
  /** Bias, `outChannels` long. */
  readonly bias: Float32Array;
}

/**
 * One MobileNetV1 block: depthwise 3x3 then pointwise 1x1.
 *
 * @example
 * ```ts
 * import { fetchDefaultWeights, loadTfjsGraphModel } from "../mod.ts";
 *
 * const { blocks } = await loadTfjsGraphModel(await fetchDefaultWeights());
 * for (const { depthwise, pointwise } of blocks) {
 *   console.log(depthwise.stride, `${pointwise.inChannels}→${pointwise.outChannels}`);
 * }
 * ```
 */
export interface MobileNetBlockWeights {
  /** The depthwise 3x3 layer. */
  readonly depthwise: ConvLayerWeights;
  /** The pointwise 1x1 layer. */
  readonly pointwise: ConvLayerWeights;
}

/**
 * The four PoseNet output heads (1x1 convs with bias, no activation).
 *
 * @example
 * ```ts
 * import { fetchDefaultWeights, loadTfjsGraphModel } from "../mod.ts";
 *
 * const { heads } = await loadTfjsGraphModel(await fetchDefaultWeights());
 * console.log(heads.heatmap.outChannels, heads.offsets.outChannels); // 17 34
 * ```
 */
export interface PoseNetHeadWeights {
  /** `heatmap_2`: 17 channels. */
  readonly heatmap: ConvLayerWeights;
  /** `offset_2`: 34 channels (y in 0..16, x in 17..33). */
  readonly offsets: ConvLayerWeights;
  /** `displacement_fwd_2`: 32 channels (y in 0..15, x in 16..31). */
  readonly displacementFwd: ConvLayerWeights;
  /** `displacement_bwd_2`: 32 channels (y in 0..15, x in 16..31). */
  readonly displacementBwd: ConvLayerWeights;
}

/**
 * A whole PoseNet MobileNetV1 network.
 *
 * @example
 * ```ts
 * import { fetchDefaultWeights, load, loadTfjsGraphModel } from "../mod.ts";
 *
 * // Load the weights once, then build models at two resolutions from them.
 * const weights = await loadTfjsGraphModel(await fetchDefaultWeights());
 * console.log(weights.blocks.length, weights.nativeOutputStride); // 13 16
 * const small = await load({ weights, inputResolution: 257 });
 * const large = await load({ weights, inputResolution: 513 });
 * small.dispose();
 * large.dispose();
 * ```
 */
export interface PoseNetWeights {
  /** The first 3x3 conv, 3 input channels. */
  readonly conv0: ConvLayerWeights;
  /** The 13 depthwise/pointwise blocks, in order. */
  readonly blocks: readonly MobileNetBlockWeights[];
  /** The output heads. */
  readonly heads: PoseNetHeadWeights;
  /** The output stride the graph computes as recorded (product of its strides). */
  readonly nativeOutputStride: number;
}

/**
 * Channels of each PoseNet head, the one source of these counts: 17 heatmaps, 34 offsets (y of
 * the 17 parts, then x), 32 displacements each way (y of the 16 edges, then x).
 *
 * @example
 * ```ts
 * import { HEAD_CHANNELS } from "./posenet_weights.ts";
 * console.log(HEAD_CHANNELS.offsets); // 34
 * ```
 */
export const HEAD_CHANNELS: {
  readonly heatmap: number;
  readonly offsets: number;
  readonly displacementFwd: number;
  readonly displacementBwd: number;
} = Object.freeze({ heatmap: 17, offsets: 34, displacementFwd: 32, displacementBwd: 32 });
