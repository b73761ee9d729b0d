/**
 * PoseNet's shaders are fixed: every layer of the network, over both resolutions, every output
 * stride and every kernel variant (`wgslConfigs()`), must generate the WGSL recorded in
 * `tests/fixtures/posenet_wgsl.json` (made by `tests/fixtures/make_posenet_wgsl.ts` before the
 * kernels gained Relu and the residual epilogues). Equal text means bit-identical kernels, so
 * PoseNet's results and speed cannot have changed through the generators.
 */

import assert from "node:assert/strict";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { loadTfjsGraphModel } from "../models/tfjs_graph_model.ts";
import { posenetLayerWgsl, wgslConfigs } from "./support/posenet_wgsl.ts";

Deno.test("createPoseNetNetwork() generates the recorded WGSL for every PoseNet layer", async () => {
  const expected: Record<string, string[]> = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/posenet_wgsl.json", import.meta.url)),
  );
  const gpu = await createGpuContext();
  try {
    const weights = await loadTfjsGraphModel(await fetchDefaultWeights());
    const actual = await posenetLayerWgsl(gpu, weights, wgslConfigs());
    assert.deepEqual(Object.keys(actual), Object.keys(expected));
    for (const [config, layers] of Object.entries(expected)) {
      assert.deepEqual(actual[config], layers, `WGSL of PoseNet ${config} changed`);
    }
    const shaders = new Set(Object.values(actual).flat().map((l) => l.split(" ")[0]));
    console.log(`${Object.keys(actual).length} configurations, ${shaders.size} distinct shaders`);
  } finally {
    gpu.destroy();
  }
});
