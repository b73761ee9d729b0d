/**
 * A static bound on every activation of the network, so that weights that are finite but huge
 * (e.g. 3e38) are refused before they can turn the heads into Inf/NaN and the keypoints into NaN.
 *
 * The network input lies in [-1, 1] (preprocessing maps bytes to x / 127.5 − 1, pads with 0 and
 * interpolates), and every ReLU6 layer's output lies in [0, 6]. So the pre-activation of a layer's
 * output channel o is at most B_o = Σ |w| · m + |b_o|, summed over its taps and input channels,
 * where m is the largest input magnitude (1 for the first layer, 6 or the previous bound after
 * that). Every partial sum is below B_o as well. While each B_o is below half of float32's largest
 * value (the half covers rounding), no layer can overflow, and the heads (no ReLU6) are finite for
 * every image: finite offsets, displacements and logits, so finite keypoints and scores in [0, 1].
 *
 * @module
 */

import { ModelLoadError } from "../errors.ts";
import type { ConvLayerWeights, PoseNetWeights } from "./posenet_weights.ts";

/** Largest pre-activation bound accepted: half of float32's largest finite value. */
export const MAX_ACTIVATION_BOUND = 3.4028234663852886e38 / 2;

/**
 * The largest pre-activation bound of a layer whose inputs are at most `inputMax` in magnitude.
 *
 * @param layer The layer's weights (TF layout).
 * @param inputMax Largest |input|.
 * @returns max over output channels of Σ |w| · inputMax + |b| (NaN or Infinity for such weights).
 */
export function layerBound(layer: ConvLayerWeights, inputMax: number): number {
  const cout = layer.outChannels;
  const sums = new Float64Array(cout);
  const f = layer.filter;
  // Depthwise [kh, kw, c, 1] and conv [kh, kw, cin, cout]: the output channel is index % cout.
  for (let i = 0; i < f.length; i++) sums[i % cout] += Math.abs(f[i]);
  let worst = 0;
  for (let o = 0; o < cout; o++) {
    const bound = sums[o] * inputMax + Math.abs(layer.bias[o]);
    if (Number.isNaN(bound)) return NaN;
    worst = Math.max(worst, bound);
  }
  return worst;
}

/**
 * Throws unless no activation of the network can overflow float32, for any input image.
 *
 * @param weights The network's weights.
 * @throws {ModelLoadError} Naming the first layer whose bound exceeds
 *   {@linkcode MAX_ACTIVATION_BOUND}, with the bound.
 */
export function checkActivationBounds(weights: PoseNetWeights): void {
  const check = (layer: ConvLayerWeights, inputMax: number): number => {
    const bound = layerBound(layer, inputMax);
    if (!(bound <= MAX_ACTIVATION_BOUND)) {
      throw new ModelLoadError(
        `the weights of layer ${layer.name} are too large for float32: its outputs can reach ` +
          `${bound.toExponential(2)} (Σ|w|·${inputMax.toExponential(2)} + |b|), beyond ` +
          `${MAX_ACTIVATION_BOUND.toExponential(2)}, so the heads could be Inf or NaN`,
      );
    }
    return layer.relu6 ? 6 : bound;
  };
  let inputMax = check(weights.conv0, 1);
  for (const block of weights.blocks) {
    inputMax = check(block.depthwise, inputMax);
    inputMax = check(block.pointwise, inputMax);
  }
  const { heatmap, offsets, displacementFwd, displacementBwd } = weights.heads;
  for (const head of [heatmap, offsets, displacementFwd, displacementBwd]) check(head, inputMax);
}
