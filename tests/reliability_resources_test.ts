/**
 * Resources: `dispose()` destroys every GPU buffer the model made (counted independently by
 * wrapping the device's `createBuffer`), `liveBufferCount` agrees with that count, calls in flight
 * when `dispose()` runs complete or reject with `DisposedError`, and 2,000 sequential frames grow
 * neither the buffer count nor process memory.
 */

import assert from "node:assert/strict";
import type { Pose } from "../decode/keypoints.ts";
import { DisposedError } from "../errors.ts";
import { load, type PoseNet } from "../detectors/posenet_model.ts";
import type { PoseImage } from "../runtime/pose_image.ts";
import {
  countingContext,
  defaultWeights,
  noiseImage,
  solidImage,
  within,
} from "./reliability_helpers.ts";

const IMAGES: PoseImage[] = [
  noiseImage(64, 48, 1),
  noiseImage(33, 33, 2, 3),
  noiseImage(100, 80, 3),
  solidImage(20, 120, 200),
];

function assertDisposed(err: unknown, what: string): void {
  assert.ok(err instanceof DisposedError, `${what}: expected DisposedError, got ${err}`);
  assert.match(err.message, /disposed/, what);
}

Deno.test("dispose() destroys every GPU buffer the model made; liveBufferCount counts them all", async () => {
  const { gpu, live, created } = await countingContext();
  try {
    const net = await load({ weights: await defaultWeights(), inputResolution: 65, context: gpu });
    const check = (stage: string) =>
      assert.equal(net.liveBufferCount, live.size, `${stage}: liveBufferCount vs live buffers`);
    check("after load (weights only)");
    assert.ok(live.size > 0);
    await net.estimateSinglePose(IMAGES[0]);
    check("after a single pose");
    await net.estimateMultiplePoses(IMAGES[1]);
    check("after a multi pose");
    await net.predictHeads(IMAGES[2]);
    check("after predictHeads");
    // Three frames at once: three slots, each with its own buffers.
    await Promise.all([
      net.estimateMultiplePoses(IMAGES[0]),
      net.estimateSinglePose(IMAGES[3]),
      net.estimateMultiplePoses(IMAGES[2], { scoreThreshold: 0 }),
      net.estimateSinglePose(IMAGES[1]),
    ]);
    check("after concurrent frames");
    const before = live.size;
    console.log(`model buffers: ${before} live, ${created()} made`);
    net.dispose();
    assert.equal(live.size, 0, `${live.size} buffers were not destroyed`);
    assert.equal(net.liveBufferCount, 0);
    net.dispose(); // twice is fine
    const later: (() => Promise<unknown>)[] = [
      () => net.estimateSinglePose(IMAGES[0]),
      () => net.estimateMultiplePoses(IMAGES[0]),
      () => net.predictHeads(IMAGES[0]),
    ];
    for (const call of later) {
      await assert.rejects(within(call(), 10, "call after dispose()"), (e) => {
        assertDisposed(e, "call after dispose()");
        return true;
      });
    }
    assert.equal(gpu.lostReason, undefined, "a shared context is not destroyed");
  } finally {
    gpu.destroy();
  }
});

Deno.test("calls in flight when dispose() runs complete or reject with DisposedError, never hang", async (t) => {
  const weights = await defaultWeights();
  const { gpu, live } = await countingContext();
  try {
    // What each call returns when nothing interferes.
    const reference = await load({ weights, inputResolution: 65, context: gpu });
    const calls = (net: PoseNet): Promise<Pose | Pose[]>[] =>
      IMAGES.flatMap((image) => [
        net.estimateSinglePose(image),
        net.estimateMultiplePoses(image, { flipHorizontal: true }),
      ]);
    const expected = await Promise.all(calls(reference));
    reference.dispose();
    const pauses: [string, () => Promise<unknown>][] = [
      ["at once", () => Promise.resolve()],
      ["after a microtask", () => Promise.resolve().then(() => {})],
      ["after 10 ms", () => new Promise((r) => setTimeout(r, 10))],
      ["after 60 ms", () => new Promise((r) => setTimeout(r, 60))],
    ];
    for (const owned of [false, true]) {
      for (const [when, pause] of pauses) {
        await t.step(`${owned ? "own" : "shared"} context, dispose() ${when}`, async () => {
          const net = await load({
            weights,
            inputResolution: 65,
            context: owned ? undefined : gpu,
            maxFramesInFlight: 2,
          });
          // Warm the slots up on other images so a stale result cannot pass for a fresh one.
          await Promise.all([
            net.estimateSinglePose(solidImage(8, 8, 0)),
            net.estimateMultiplePoses(solidImage(8, 8, 0)),
          ]);
          const pending = Promise.allSettled(calls(net));
          if (when !== "at once") await pause();
          net.dispose();
          const settled = await within(pending, 30, "calls in flight");
          let completed = 0;
          for (const [i, result] of settled.entries()) {
            if (result.status === "fulfilled") {
              completed++;
              assert.deepEqual(
                result.value,
                expected[i],
                `call ${i} completed with a wrong result`,
              );
            } else {
              assertDisposed(result.reason, `call ${i}`);
            }
          }
          if (owned) {
            assert.equal(net.context.lostReason, "destroyed", "its own device is destroyed");
          } else {
            assert.equal(live.size, 0, "every buffer is destroyed once the calls settle");
          }
          assert.equal(net.liveBufferCount, 0);
          console.log(`${when}: ${completed} of ${settled.length} completed, the rest disposed`);
        });
      }
    }
  } finally {
    gpu.destroy();
  }
});

Deno.test("2,000 sequential frames grow neither the GPU buffer count nor process memory", async () => {
  const { gpu, live } = await countingContext();
  const net = await load({ weights: await defaultWeights(), inputResolution: 33, context: gpu });
  const rows: string[] = [];
  try {
    const frame = async (i: number) => {
      const image = IMAGES[i % IMAGES.length];
      const flipHorizontal = i % 3 === 0;
      if (i % 100 === 10) {
        await net.predictHeads(image);
      } else if (i % 100 === 20) {
        // Every local maximum is a candidate (35-48 of them at 33x33).
        await net.estimateMultiplePoses(image, { scoreThreshold: 0, maxDetections: 20 });
      } else if (i % 5 === 4) {
        await net.estimateMultiplePoses(image, { flipHorizontal });
      } else {
        await net.estimateSinglePose(image, { flipHorizontal });
      }
    };
    const WARM_UP = 30;
    for (let i = 0; i < WARM_UP; i++) await within(frame(i), 30, `warm-up frame ${i}`);
    const buffers = net.liveBufferCount;
    assert.equal(buffers, live.size);
    const samples: { frame: number; rss: number; heap: number }[] = [];
    const sample = (frame: number) => {
      const { rss, heapUsed } = Deno.memoryUsage();
      samples.push({ frame, rss, heap: heapUsed });
      assert.equal(net.liveBufferCount, buffers, `frame ${frame}: liveBufferCount`);
      assert.equal(live.size, buffers, `frame ${frame}: live buffers`);
    };
    const started = performance.now();
    sample(0);
    for (let i = 0; i < 2000; i++) {
      await within(frame(WARM_UP + i), 30, `frame ${i}`);
      if ((i + 1) % 200 === 0) sample(i + 1);
    }
    const seconds = (performance.now() - started) / 1000;
    const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    for (const s of samples) {
      rows.push(`| ${s.frame} | ${mb(s.rss)} | ${mb(s.heap)} | ${buffers} |`);
    }
    const first = samples[0];
    const last = samples[samples.length - 1];
    // Memory "beyond noise": compare the later half of the run with the first samples, by max.
    const max = (list: typeof samples, key: "rss" | "heap") => Math.max(...list.map((s) => s[key]));
    const early = samples.slice(0, 3);
    const late = samples.slice(-3);
    const rssGrowth = max(late, "rss") - max(early, "rss");
    const heapGrowth = max(late, "heap") - max(early, "heap");
    console.log(
      [
        `2,000 frames at 33x33 in ${seconds.toFixed(1)} s (${(1000 * seconds / 2000).toFixed(1)} ` +
        `ms/frame); GPU buffers ${buffers} throughout (${live.size} counted independently)`,
        `rss ${mb(first.rss)} → ${mb(last.rss)} MiB (late − early max ${mb(rssGrowth)}), ` +
        `heapUsed ${mb(first.heap)} → ${mb(last.heap)} MiB (late − early max ${mb(heapGrowth)})`,
        "| frame | rss MiB | heapUsed MiB | GPU buffers |",
        "| --- | --- | --- | --- |",
        ...rows,
      ].join("\n"),
    );
    assert.ok(rssGrowth < 24 * 2 ** 20, `rss grew by ${mb(rssGrowth)} MiB`);
    assert.ok(heapGrowth < 8 * 2 ** 20, `heapUsed grew by ${mb(heapGrowth)} MiB`);
  } finally {
    net.dispose();
    assert.equal(live.size, 0);
    gpu.destroy();
  }
});
