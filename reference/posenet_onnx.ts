/**
 * The whole PoseNet MobileNetV1 network as one ONNX graph, for ONNX Runtime to serve as the
 * independent reference of the GPU network (`models/posenet_network.ts`).
 *
 * The graph takes `image`, NHWC `[1, H, W, 3]`, transposes it once to NCHW, runs the first 3x3 conv,
 * the 13 depthwise/pointwise blocks and the four 1x1 heads in NCHW, and transposes each head back
 * to NHWC as the outputs `heatmap`, `offsets`, `displacement_fwd` and `displacement_bwd`. Every
 * conv has explicit TF SAME pads, computed here per layer from the running spatial size with
 * {@linkcode tfSamePads} (not the kernels' padding code). ReLU6 follows a layer exactly when its
 * weights say so.
 *
 * @module
 */

import type { LayerSchedule } from "../models/architecture.ts";
import type { ConvLayerWeights, PoseNetWeights } from "../models/posenet_weights.ts";
import { OnnxGraphBuilder, tfSamePads } from "./onnx_graph.ts";

/** The graph's input name. */
export const POSENET_ONNX_INPUT = "image";

/** The graph's output names, by head. */
export const POSENET_ONNX_OUTPUTS: {
  readonly heatmap: "heatmap";
  readonly offsets: "offsets";
  readonly displacementFwd: "displacement_fwd";
  readonly displacementBwd: "displacement_bwd";
} = Object.freeze({
  heatmap: "heatmap",
  offsets: "offsets",
  displacementFwd: "displacement_fwd",
  displacementBwd: "displacement_bwd",
});

/** Output size of one axis under TF SAME padding. */
function sameOutputSize(size: number, stride: number): number {
  return Math.ceil(size / stride);
}

/**
 * Builds the full network (or, for debugging, the network cut after some layer) as an ONNX model.
 *
 * @param weights The loaded weights.
 * @param schedule 14 entries: conv0's then the 13 depthwise layers' stride and dilation
 *   (from `resolveLayerSchedule`).
 * @param inputHeight Input rows H.
 * @param inputWidth Input columns W.
 * @param stopAfter When given, the graph ends after this many conv layers (1 = conv0, 2 = conv0 +
 *   depthwise 1, 3 = + pointwise 1, …, 27 = the whole trunk) and has the single NHWC output `y`
 *   instead of the heads.
 * @returns The ONNX model bytes.
 */
export function buildPoseNetOnnx(
  weights: PoseNetWeights,
  schedule: readonly LayerSchedule[],
  inputHeight: number,
  inputWidth: number,
  stopAfter?: number,
): Uint8Array {
  if (schedule.length !== 1 + weights.blocks.length) {
    throw new Error(
      `schedule has ${schedule.length} entries, expected ${1 + weights.blocks.length}`,
    );
  }
  const trunkLayers = 1 + 2 * weights.blocks.length;
  if (
    stopAfter !== undefined &&
    !(Number.isInteger(stopAfter) && stopAfter >= 1 && stopAfter <= trunkLayers)
  ) {
    throw new Error(`stopAfter ${stopAfter} is not in 1..${trunkLayers}`);
  }
  const graph = new OnnxGraphBuilder();
  let h = inputHeight;
  let w = inputWidth;
  let value = graph.inputNhwc(POSENET_ONNX_INPUT, [1, inputHeight, inputWidth, 3]);
  let done = 0;

  const layer = (l: ConvLayerWeights, stride: number, dilation: number): boolean => {
    if (l.kernelHeight !== l.kernelWidth) {
      throw new Error(`${l.name}: non-square kernel ${l.kernelHeight}x${l.kernelWidth}`);
    }
    const k = l.kernelHeight;
    const [top, bottom] = tfSamePads(h, k, stride, dilation);
    const [left, right] = tfSamePads(w, k, stride, dilation);
    const depthwise = l.kind === "depthwise";
    value = graph.conv(
      value,
      l.filter,
      [k, k, l.inChannels, depthwise ? 1 : l.outChannels],
      l.bias,
      {
        stride,
        dilation,
        pads: [top, left, bottom, right],
        depthwise,
        activation: l.relu6 ? "relu6" : "none",
      },
    );
    h = sameOutputSize(h, stride);
    w = sameOutputSize(w, stride);
    done++;
    if (stopAfter !== undefined && done === stopAfter) {
      graph.outputNhwc(value, "y");
      return true;
    }
    return false;
  };

  if (layer(weights.conv0, schedule[0].stride, schedule[0].dilation)) return graph.build();
  for (const [i, block] of weights.blocks.entries()) {
    if (layer(block.depthwise, schedule[i + 1].stride, schedule[i + 1].dilation)) {
      return graph.build();
    }
    if (layer(block.pointwise, 1, 1)) return graph.build();
  }
  const trunk = value;
  const heads = weights.heads;
  for (
    const [head, name] of [
      [heads.heatmap, POSENET_ONNX_OUTPUTS.heatmap],
      [heads.offsets, POSENET_ONNX_OUTPUTS.offsets],
      [heads.displacementFwd, POSENET_ONNX_OUTPUTS.displacementFwd],
      [heads.displacementBwd, POSENET_ONNX_OUTPUTS.displacementBwd],
    ] as const
  ) {
    value = trunk;
    const [savedH, savedW] = [h, w];
    layer(head, 1, 1);
    [h, w] = [savedH, savedW];
    graph.outputNhwc(value, name);
  }
  return graph.build();
}
