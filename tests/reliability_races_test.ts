/**
 * Races on one shared GPU device: `load()` and `dispose()` of other models interleaved with it,
 * `dispose()` (and the device's destruction) while a load is in progress, and two models at
 * different resolutions whose frames interleave. Results must equal the same calls run alone, every
 * error must be typed, nothing may hang, and the buffers counted on the device (independently of
 * the runtime) must come back to what they were.
 */

import assert from "node:assert/strict";
import type { Pose } from "../decode/keypoints.ts";
import { DeviceLostError, DisposedError } from "../errors.ts";
import { load, type PoseNet } from "../detectors/posenet_model.ts";
import type { PoseImage } from "../runtime/pose_image.ts";
import {
  countingContext,
  defaultWeights,
  noiseImage,
  readPhotos,
  within,
} from "./reliability_helpers.ts";

async function images(): Promise<PoseImage[]> {
  const photos = await readPhotos();
  return [photos[0], photos[3], noiseImage(150, 100, 3)];
}

/** Call `kind` (0 single, 1 multi) on image `j`. */
function call(net: PoseNet, imgs: readonly PoseImage[], j: number, kind: number) {
  return kind === 0
    ? net.estimateSinglePose(imgs[j], { flipHorizontal: j % 2 === 1 })
    : net.estimateMultiplePoses(imgs[j], { maxDetections: 3 });
}

/** A single and a multi-pose call per image, at once; results at index 2j + kind. */
function frames(net: PoseNet, imgs: readonly PoseImage[]): Promise<Pose | Pose[]>[] {
  return imgs.flatMap((_, j) => [call(net, imgs, j, 0), call(net, imgs, j, 1)]);
}

Deno.test("`load()` and `dispose()` race on one shared device", async () => {
  const weights = await defaultWeights();
  const imgs = await images();
  const { gpu, live } = await countingContext();
  try {
    const expected = new Map<number, (Pose | Pose[])[]>();
    for (const size of [129, 161]) {
      const alone = await load({ weights, context: gpu, inputResolution: size });
      expected.set(size, await Promise.all(frames(alone, imgs)));
      alone.dispose();
    }
    assert.equal(live.size, 0, "buffers after the first dispose()");
    for (let round = 0; round < 4; round++) {
      // Two loads in flight; the first to finish is disposed while the other may still load.
      const a = load({ weights, context: gpu, inputResolution: 129 });
      const b = load({ weights, context: gpu, inputResolution: round % 2 ? 129 : 161 });
      const first = await within(Promise.race([a, b]), 60, `round ${round}: a load`);
      const pending = frames(first, imgs);
      first.dispose(); // frames in flight complete or reject with DisposedError
      for (const result of await Promise.allSettled(pending)) {
        if (result.status === "rejected") {
          assert.ok(result.reason instanceof DisposedError, String(result.reason));
        }
      }
      const [na, nb] = await within(Promise.all([a, b]), 60, `round ${round}: both loads`);
      const other = first === na ? nb : na;
      const results = await within(Promise.all(frames(other, imgs)), 60, "frames");
      assert.deepEqual(results, expected.get(other.inputResolution.width));
      other.dispose();
      assert.equal(live.size, 0, `round ${round}: buffers left`);
    }
  } finally {
    gpu.destroy();
  }
});

Deno.test("`dispose()` of a model while another loads on its device leaves the load intact", async () => {
  const weights = await defaultWeights();
  const imgs = await images();
  const { gpu, live } = await countingContext();
  try {
    const reference = await load({ weights, context: gpu, inputResolution: 161 });
    const expected = await Promise.all(frames(reference, imgs));
    const busy = await load({ weights, context: gpu, inputResolution: 129 });
    const inFlight = frames(busy, imgs);
    const loading = load({ weights, context: gpu, inputResolution: 161 });
    busy.dispose(); // while `loading` is building its pipelines and weight buffers
    reference.dispose();
    for (const result of await Promise.allSettled(inFlight)) {
      if (result.status === "rejected") {
        assert.ok(result.reason instanceof DisposedError, String(result.reason));
      }
    }
    const net = await within(loading, 60, "the load");
    assert.deepEqual(await Promise.all(frames(net, imgs)), expected);
    net.dispose();
    assert.equal(live.size, 0, "buffers left");
  } finally {
    gpu.destroy();
  }
});

Deno.test("the shared device destroyed while `load()` is in progress rejects with DeviceLostError", async () => {
  const weights = await defaultWeights();
  for (const pause of [0, 1, 5, 20]) {
    const { gpu } = await countingContext();
    const loading = load({ weights, context: gpu, inputResolution: 257 });
    await new Promise((r) => setTimeout(r, pause));
    gpu.destroy();
    const outcome = await within(
      loading.then((net) => net, (e) => e as Error),
      60,
      `load with the device destroyed after ${pause} ms`,
    );
    if (outcome instanceof Error) {
      assert.ok(outcome instanceof DeviceLostError, `after ${pause} ms: ${outcome}`);
    } else {
      // The load won the race: the model must then report the loss on use.
      await assert.rejects(outcome.estimateSinglePose(noiseImage(64, 64, 1)), DeviceLostError);
      outcome.dispose();
    }
  }
});

Deno.test("two models at different resolutions interleave on one device as they run alone", async () => {
  const weights = await defaultWeights();
  const imgs = await images();
  const { gpu, live } = await countingContext();
  try {
    const small = await load({ weights, context: gpu, inputResolution: 129 });
    const large = await load({
      weights,
      context: gpu,
      inputResolution: { width: 257, height: 193 },
    });
    const aloneSmall: (Pose | Pose[])[] = [];
    for (const f of frames(small, imgs)) aloneSmall.push(await f);
    const aloneLarge: (Pose | Pose[])[] = [];
    for (const f of frames(large, imgs)) aloneLarge.push(await f);
    // Both models' frames at once, twice over, alternating small and large.
    const mixed = await within(
      Promise.all([0, 1].map(() =>
        Promise.all(
          imgs.flatMap((_, j) =>
            [0, 1].flatMap((kind) => [call(small, imgs, j, kind), call(large, imgs, j, kind)])
          ),
        )
      )),
      120,
      "interleaved frames",
    );
    for (const results of mixed) {
      assert.deepEqual(results.filter((_, i) => i % 2 === 0), aloneSmall);
      assert.deepEqual(results.filter((_, i) => i % 2 === 1), aloneLarge);
    }
    small.dispose();
    large.dispose();
    assert.equal(live.size, 0, "buffers left");
  } finally {
    gpu.destroy();
  }
});
