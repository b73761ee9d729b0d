/**
 * Device loss: with `gpu.destroy()` or `device.destroy()` while calls are pending and before
 * later ones, pending calls complete or reject with `DeviceLostError`, later calls reject with
 * `DeviceLostError` naming the loss, nothing hangs (every await has a timeout), and a new `load()`
 * gives the same keypoints as before.
 */

import assert from "node:assert/strict";
import type { Pose } from "../decode/keypoints.ts";
import { DeviceLostError } from "../errors.ts";
import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import { load, type PoseNet } from "../detectors/posenet_model.ts";
import type { PoseImage } from "../runtime/pose_image.ts";
import {
  countingContext,
  defaultWeights,
  noiseImage,
  readPhotos,
  solidImage,
  within,
} from "./reliability_helpers.ts";

const RESOLUTION = 129;

function assertLost(err: unknown, what: string): void {
  assert.ok(err instanceof DeviceLostError, `${what}: expected DeviceLostError, got ${err}`);
  assert.match(err.message, /^the GPU device was lost \(destroyed/, what);
}

type Result = Pose | Pose[] | Float32Array;

/** Single, multi and heads calls on a few images; heads are reduced to their heatmap. */
function calls(net: PoseNet, images: PoseImage[]): Promise<Result>[] {
  return images.flatMap((image, i) => [
    net.estimateSinglePose(image, { flipHorizontal: i % 2 === 1 }),
    net.estimateMultiplePoses(image, { maxDetections: 4 }),
    net.predictHeads(image).then((h) => h.heatmap),
  ]);
}

let images: PoseImage[] | undefined;
let expected: Result[] | undefined;

/** The images and what the calls return on a healthy device (computed once). */
async function baseline(): Promise<{ images: PoseImage[]; expected: Result[] }> {
  if (!images || !expected) {
    const photos = await readPhotos();
    images = [photos[0], photos[3], noiseImage(120, 90, 11), solidImage(50, 70, 255)];
    const net = await load({ weights: await defaultWeights(), inputResolution: RESOLUTION });
    try {
      expected = await within(Promise.all(calls(net, images)), 60, "baseline");
    } finally {
      net.dispose();
    }
  }
  return { images, expected };
}

const LOSSES: [string, (gpu: GpuContext) => void][] = [
  ["gpu.destroy()", (gpu) => gpu.destroy()],
  ["device.destroy()", (gpu) => gpu.device.destroy()],
];
const PAUSES: [string, () => Promise<unknown>][] = [
  ["at once", () => Promise.resolve()],
  ["after a microtask", () => Promise.resolve().then(() => {})],
  ["after 30 ms", () => new Promise((r) => setTimeout(r, 30))],
  ["after 150 ms", () => new Promise((r) => setTimeout(r, 150))],
];

for (const [loss, destroy] of LOSSES) {
  Deno.test(`device loss by ${loss}: pending and later calls reject with DeviceLostError`, async (t) => {
    const weights = await defaultWeights();
    const { images, expected } = await baseline();
    for (const [when, pause] of PAUSES) {
      await t.step(`lost ${when}`, async () => {
        const gpu = await createGpuContext();
        const net = await load({ weights, inputResolution: RESOLUTION, context: gpu });
        const pending = Promise.allSettled(calls(net, images));
        if (when !== "at once") await pause();
        destroy(gpu);
        const later = Promise.allSettled(calls(net, images));
        const settled = await within(pending, 30, "pending calls");
        let completed = 0;
        for (const [i, result] of settled.entries()) {
          if (result.status === "fulfilled") {
            completed++;
            assert.deepEqual(result.value, expected[i], `pending call ${i} completed wrongly`);
          } else {
            assertLost(result.reason, `pending call ${i}`);
          }
        }
        for (const [i, result] of (await within(later, 30, "later calls")).entries()) {
          assert.equal(result.status, "rejected", `later call ${i} must reject`);
          if (result.status === "rejected") assertLost(result.reason, `later call ${i}`);
        }
        // And calls started after the loss was reported.
        await assert.rejects(within(net.estimateSinglePose(images[0]), 30, "after"), (e) => {
          assertLost(e, "a call after the loss");
          return true;
        });
        assert.match(gpu.lostReason ?? "", /^destroyed/);
        net.dispose(); // does not throw on a lost device
        gpu.destroy();
        console.log(`${loss} ${when}: ${completed} of ${settled.length} pending calls completed`);
      });
    }
    // A new model on a new device gives the same results as before the loss.
    const fresh = await load({ weights, inputResolution: RESOLUTION });
    try {
      assert.deepEqual(await within(Promise.all(calls(fresh, images)), 60, "new load()"), expected);
    } finally {
      fresh.dispose();
    }
  });
}

Deno.test("device loss: load() on a lost device rejects with DeviceLostError", async () => {
  const weights = await defaultWeights();
  const gpu = await createGpuContext();
  gpu.destroy();
  await assert.rejects(
    within(load({ weights, inputResolution: 33, context: gpu }), 30, "load()"),
    (e) => {
      assertLost(e, "load()");
      return true;
    },
  );
  // A loss reported while load() builds the pipelines: it rejects and frees the weights it made.
  const { gpu: real, live } = await countingContext();
  try {
    let guards = 0;
    let lost = false;
    const dying: GpuContext = {
      device: real.device,
      adapter: real.adapter,
      hasTimestampQuery: real.hasTimestampQuery,
      maxStorageBufferBindingSize: real.maxStorageBufferBindingSize,
      maxBufferSize: real.maxBufferSize,
      maxWorkgroupsPerDimension: real.maxWorkgroupsPerDimension,
      get lostReason() {
        return lost ? "destroyed (simulated)" : undefined;
      },
      assertAlive() {
        if (lost) throw new DeviceLostError("the GPU device was lost (destroyed (simulated))");
      },
      guard(promise) {
        if (++guards === 20) lost = true; // halfway through the network's pipelines
        return real.guard(promise);
      },
      destroy: () => real.destroy(),
    };
    await assert.rejects(
      within(load({ weights, inputResolution: 33, context: dying }), 30, "load()"),
      (e) => {
        assertLost(e, "load() on a device lost meanwhile");
        return true;
      },
    );
    assert.ok(guards >= 20);
    assert.equal(live.size, 0, "the weights made before the loss are destroyed");
  } finally {
    real.destroy();
  }
});

Deno.test("device loss between a frame's readback and its unmap() is a DeviceLostError", async () => {
  const weights = await defaultWeights();
  const image = noiseImage(40, 30, 3);
  const methods: [string, (net: PoseNet) => Promise<unknown>][] = [
    ["estimateSinglePose", (net) => net.estimateSinglePose(image)],
    ["estimateMultiplePoses", (net) => net.estimateMultiplePoses(image)],
    ["predictHeads", (net) => net.predictHeads(image)],
  ];
  for (const [name, call] of methods) {
    const gpu = await createGpuContext();
    try {
      // Once armed, a readback buffer's unmap() behaves as when the device is destroyed between
      // the readback and the unmap (seen with `device.destroy()` from a timer): the data was read,
      // the device goes, and unmap() throws "OperationError: Parent device is lost" before
      // `device.lost` has settled.
      const device = gpu.device;
      const createBuffer = device.createBuffer.bind(device);
      let armed = false;
      device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
        const buffer = createBuffer(descriptor);
        if (descriptor.usage & GPUBufferUsage.MAP_READ) {
          const unmap = buffer.unmap.bind(buffer);
          buffer.unmap = () => {
            unmap();
            if (armed) {
              armed = false;
              device.destroy();
              throw new DOMException("Parent device is lost", "OperationError");
            }
          };
        }
        return buffer;
      };
      const net = await load({ weights, inputResolution: 33, context: gpu });
      await call(net); // makes the slot's buffers
      armed = true;
      await assert.rejects(within(call(net), 30, name), (e) => {
        assertLost(e, name);
        return true;
      });
      assert.equal(armed, false, `${name} reached unmap()`);
      net.dispose();
    } finally {
      gpu.destroy();
    }
  }
});
