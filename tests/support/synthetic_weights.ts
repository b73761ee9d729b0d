/**
 * PoseNet MobileNetV1 weights of any channel counts, seeded uniform: for tests that need channel
 * counts the real model (24…384, all multiples of 4) does not have, or weights of a chosen size.
 *
 * @module
 */

import type { ConvLayerWeights, PoseNetWeights } from "../../models/posenet_weights.ts";
import { type Rng, uniform } from "./random.ts";

/** The real model's recorded strides: conv0, then the 13 depthwise layers (native stride 16). */
const STRIDES = [2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1];

/**
 * Weights whose layer `i` (conv0, then each block) outputs `channels[i]` channels (14 counts).
 *
 * @param channels The output channels of conv0 and of the 13 blocks.
 * @param rng Source of the uniform values.
 * @param scale Filters and biases are uniform in [-scale, scale].
 * @returns The weights, with the real model's strides and dilation 1.
 */
export function syntheticWeights(
  channels: readonly number[],
  rng: Rng,
  scale = 1,
): PoseNetWeights {
  if (channels.length !== 14) throw new Error("14 channel counts: conv0 and 13 blocks");
  const layer = (
    name: string,
    kind: ConvLayerWeights["kind"],
    k: number,
    inChannels: number,
    outChannels: number,
    stride: number,
    relu6: boolean,
  ): ConvLayerWeights => ({
    name,
    kind,
    kernelHeight: k,
    kernelWidth: k,
    inChannels,
    outChannels,
    stride,
    dilation: 1,
    relu6,
    filter: uniform(
      rng,
      k * k * inChannels * (kind === "depthwise" ? 1 : outChannels),
      -scale,
      scale,
    ),
    bias: uniform(rng, outChannels, -scale, scale),
  });
  const blocks = channels.slice(1).map((out, i) => ({
    depthwise: layer(`dw${i}`, "depthwise", 3, channels[i], channels[i], STRIDES[i + 1], true),
    pointwise: layer(`pw${i}`, "pointwise", 1, channels[i], out, 1, true),
  }));
  const last = channels[13];
  const head = (name: string, out: number) => layer(name, "pointwise", 1, last, out, 1, false);
  return {
    conv0: layer("conv0", "conv2d", 3, 3, channels[0], STRIDES[0], true),
    blocks,
    heads: {
      heatmap: head("heatmap_2", 17),
      offsets: head("offset_2", 34),
      displacementFwd: head("displacement_fwd_2", 32),
      displacementBwd: head("displacement_bwd_2", 32),
    },
    nativeOutputStride: 16,
  };
}
