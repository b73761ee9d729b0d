/**
 * Weights that are finite but huge: either refused when the network is built (when some image
 * could overflow float32 and give Inf/NaN heads), or, when they cannot overflow, poses whose every
 * number is finite. Never poses with NaN positions.
 */

import assert from "node:assert/strict";
import { ModelLoadError } from "../errors.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { layerBound, MAX_ACTIVATION_BOUND } from "../models/_activation_bound.ts";
import { load } from "../detectors/posenet_model.ts";
import type { ConvLayerWeights, PoseNetWeights } from "../models/posenet_weights.ts";
import { assertFinitePoses, defaultWeights, noiseImage } from "./reliability_helpers.ts";

function scaled(layer: ConvLayerWeights, factor: number): ConvLayerWeights {
  return {
    ...layer,
    filter: layer.filter.map((v) => v * factor),
    bias: layer.bias.map((v) => v * factor),
  };
}

/** The real weights with conv0 and the heatmap and offset heads scaled by `factor`. */
function hugeWeights(base: PoseNetWeights, factor: number): PoseNetWeights {
  return {
    ...base,
    conv0: scaled(base.conv0, factor),
    heads: {
      ...base.heads,
      heatmap: scaled(base.heads.heatmap, factor),
      offsets: scaled(base.heads.offsets, factor),
    },
  };
}

Deno.test("`layerBound()` is Σ|w|·max|input| + |b| per output channel, the worst one", () => {
  const layer: ConvLayerWeights = {
    name: "pw",
    kind: "pointwise",
    kernelHeight: 1,
    kernelWidth: 1,
    inChannels: 2,
    outChannels: 2,
    stride: 1,
    dilation: 1,
    relu6: true,
    filter: new Float32Array([1, -2, -3, 4]), // [cin 0: (1, -2)], [cin 1: (-3, 4)]
    bias: new Float32Array([0.5, -1]),
  };
  assert.equal(layerBound(layer, 6), Math.max((1 + 3) * 6 + 0.5, (2 + 4) * 6 + 1));
  assert.ok(Number.isNaN(layerBound({ ...layer, bias: new Float32Array([NaN, 0]) }, 6)));
});

Deno.test("`load()` refuses finite weights of 3e38 that would give Inf/NaN heads", async () => {
  const base = await defaultWeights();
  const context = await createGpuContext();
  try {
    // ±3e38 (finite float32) in the first layer: its sums overflow to ±Inf and then NaN.
    const conv0: ConvLayerWeights = {
      ...base.conv0,
      filter: base.conv0.filter.map((_, i) => i % 2 ? -3e38 : 3e38),
    };
    assert.ok(conv0.filter.every(Number.isFinite));
    await assert.rejects(
      load({ weights: { ...base, conv0 }, inputResolution: 257, context }),
      (e) => {
        assert.ok(e instanceof ModelLoadError, String(e));
        assert.match(e.message, /layer \S*Conv2d_0\S* are too large for float32/);
        assert.match(e.message, /can reach 8\.10e\+39/);
        assert.match(e.message, /Inf or NaN/);
        return true;
      },
    );
    // 3e38 in the heatmap head and ±3e38 in the offsets (all finite): without this check the
    // single pose came back with score 1 and NaN positions, and the multi-pose list with 5 such.
    const heads = {
      ...base.heads,
      heatmap: { ...base.heads.heatmap, filter: base.heads.heatmap.filter.map(() => 3e38) },
      offsets: {
        ...base.heads.offsets,
        filter: base.heads.offsets.filter.map((_, i) => i % 2 ? -3e38 : 3e38),
      },
    };
    await assert.rejects(
      load({ weights: { ...base, heads }, inputResolution: 257, context }),
      /layer \S*heatmap_2\S* are too large/,
    );
    // Infinity itself (weights passed directly, not through the loader's check) is refused too.
    const inf = { ...base.conv0, filter: base.conv0.filter.map((v, i) => i === 0 ? Infinity : v) };
    await assert.rejects(
      load({ weights: { ...base, conv0: inf }, inputResolution: 257, context }),
      ModelLoadError,
    );
  } finally {
    context.destroy();
  }
});

Deno.test("`load()` with huge weights that cannot overflow gives only finite poses", async () => {
  const base = await defaultWeights();
  const weights = hugeWeights(base, 1e30);
  const context = await createGpuContext();
  const net = await load({ weights, inputResolution: 257, context });
  try {
    for (const seed of [1, 2]) {
      const image = noiseImage(300, 200, seed);
      const single = await net.estimateSinglePose(image);
      assertFinitePoses([single], `single, seed ${seed}`);
      const multi = await net.estimateMultiplePoses(image, { scoreThreshold: 0 });
      assertFinitePoses(multi, `multi, seed ${seed}`);
      const heads = await net.predictHeads(image);
      for (const key of ["heatmap", "offsets", "displacementFwd", "displacementBwd"] as const) {
        assert.ok(heads[key].every(Number.isFinite), `${key} finite`);
      }
    }
  } finally {
    net.dispose();
    context.destroy();
  }
  assert.ok(MAX_ACTIVATION_BOUND > 1e38);
});
