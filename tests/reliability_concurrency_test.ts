/**
 * Concurrency: 16 single- and multi-pose calls started at once on one model, on different images
 * (the six photos, plain and mirrored, plus synthetic ones), return exactly what the same calls
 * return one at a time, with 1, 3 (the default) and 16 frames in flight.
 */

import assert from "node:assert/strict";
import type { Pose } from "../decode/keypoints.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { load, type PoseNet } from "../detectors/posenet_model.ts";
import type { PoseImage } from "../runtime/pose_image.ts";
import {
  assertFinitePoses,
  defaultWeights,
  noiseImage,
  readPhotos,
  solidImage,
  within,
} from "./reliability_helpers.ts";

interface Call {
  readonly what: string;
  readonly run: (net: PoseNet) => Promise<Pose | Pose[]>;
}

async function makeCalls(): Promise<Call[]> {
  const photos = await readPhotos();
  const synthetic: [string, PoseImage][] = [
    ["noise 200x150", noiseImage(200, 150, 7)],
    ["noise RGB 97x211", noiseImage(97, 211, 8, 3)],
    ["white 64x64", solidImage(64, 64, 255)],
    ["black 640x360", solidImage(640, 360, 0)],
  ];
  const calls: Call[] = [];
  for (const [i, photo] of photos.entries()) {
    // Each photo once plain and once mirrored; single pose for the portraits, multi for groups.
    for (const flipHorizontal of [false, true]) {
      const multi = photo.name.startsWith("group") !== (i % 2 === 1 && flipHorizontal);
      calls.push({
        what: `${photo.name}${flipHorizontal ? " flipped" : ""} ${multi ? "multi" : "single"}`,
        run: (net) =>
          multi
            ? net.estimateMultiplePoses(photo, { flipHorizontal, maxDetections: 6 })
            : net.estimateSinglePose(photo, { flipHorizontal }),
      });
    }
  }
  for (const [i, [what, image]] of synthetic.entries()) {
    calls.push({
      what: `${what} ${i % 2 ? "multi" : "single"}`,
      run: (net) =>
        i % 2
          ? net.estimateMultiplePoses(image, { scoreThreshold: 0.1, flipHorizontal: i === 3 })
          : net.estimateSinglePose(image, { flipHorizontal: i === 2 }),
    });
  }
  assert.equal(calls.length, 16);
  return calls;
}

Deno.test("16 concurrent single/multi calls on one model equal the same calls one at a time", async (t) => {
  const weights = await defaultWeights();
  const calls = await makeCalls();
  const gpu = await createGpuContext();
  try {
    let reference: (Pose | Pose[])[] | undefined;
    for (const maxFramesInFlight of [3, 1, 16]) {
      await t.step(`maxFramesInFlight ${maxFramesInFlight}`, async () => {
        const net = await load({ weights, inputResolution: 257, context: gpu, maxFramesInFlight });
        try {
          const sequential: (Pose | Pose[])[] = [];
          for (const call of calls) sequential.push(await within(call.run(net), 60, call.what));
          const started = performance.now();
          const concurrent = await within(
            Promise.all(calls.map((call) => call.run(net))),
            120,
            "16 concurrent calls",
          );
          const ms = performance.now() - started;
          for (const [i, call] of calls.entries()) {
            assert.deepEqual(
              concurrent[i],
              sequential[i],
              `${call.what}: concurrent vs sequential`,
            );
            const poses = Array.isArray(sequential[i]) ? sequential[i] : [sequential[i]];
            assertFinitePoses(poses as Pose[], call.what);
          }
          // Different pool sizes do not change a result either.
          if (reference) assert.deepEqual(sequential, reference);
          reference ??= sequential;
          const multi = sequential.filter(Array.isArray).map((p) => p.length);
          console.log(
            `maxFramesInFlight ${maxFramesInFlight}: 16 concurrent calls in ${ms.toFixed(0)} ms, ` +
              `multi-pose counts [${multi}], ${net.liveBufferCount} live buffers`,
          );
        } finally {
          net.dispose();
        }
      });
    }
  } finally {
    gpu.destroy();
  }
});
