/**
 * Pipelines a call may never use are built on first use: `load()` builds no multi-pose pipeline
 * (the walk shader is the one SwiftShader's compiler once took minutes over), a single pose
 * neither; the first `estimateMultiplePoses()` builds the two, once, however many calls race.
 */

import assert from "node:assert/strict";
import { load } from "../detectors/posenet_model.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { readImageFile } from "../cli/read_image.ts";

Deno.test("`load()` builds the multi-pose pipelines on the first multi-pose call only", async () => {
  const gpu = await createGpuContext();
  const built: string[] = [];
  const device = gpu.device as GPUDevice & Record<string, unknown>;
  const create = device.createComputePipeline.bind(device);
  device.createComputePipeline = (descriptor: GPUComputePipelineDescriptor) => {
    built.push(descriptor.label ?? "");
    return create(descriptor);
  };
  const multiPose = () => built.filter((label) => label.startsWith("multi-pose"));
  try {
    const net = await load({ inputResolution: 257, context: gpu });
    assert.ok(built.length > 10, `load() built ${built.length} pipelines`);
    assert.deepEqual(multiPose(), []);
    const image = await readImageFile("tests/fixtures/photos/group4_standing.jpg");
    await net.estimateSinglePose(image);
    assert.deepEqual(multiPose(), []);
    const [a, b] = await Promise.all([
      net.estimateMultiplePoses(image),
      net.estimateMultiplePoses(image),
    ]);
    assert.deepEqual(multiPose().sort(), ["multi-pose candidates", "multi-pose walk"]);
    assert.ok(a.length >= 2);
    assert.deepEqual(a, b);
    await net.estimateMultiplePoses(image);
    assert.equal(multiPose().length, 2);
    net.dispose();
  } finally {
    gpu.destroy();
  }
});
