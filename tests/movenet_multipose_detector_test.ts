import assert from "node:assert/strict";
import { createDetector } from "../detectors/pose_detector.ts";
import { InvalidInputError } from "../errors.ts";
import type { MoveNetConfig } from "../detectors/detector_types.ts";
import { readImageFile } from "../cli/read_image.ts";

const MULTI = { modelType: "MultiPose.Lightning" } as const;

Deno.test('`createDetector("MoveNet", MultiPose)` rejects bad options, naming them', async () => {
  const bad: [Partial<Record<keyof MoveNetConfig, unknown>>, RegExp][] = [
    [
      { multiPoseMaxDimension: 100 },
      /multiPoseMaxDimension must be a multiple of 32 in 32\.\.1024, got 100/,
    ],
    [{ multiPoseMaxDimension: 0 }, /multiPoseMaxDimension must be .*, got 0/],
    [{ multiPoseMaxDimension: "256" }, /multiPoseMaxDimension must be .*, got "256"/],
    [{ multiPoseMaxDimension: 2048 }, /multiPoseMaxDimension must be .*, got 2048/],
    [{ minPoseScore: 1.5 }, /minPoseScore must be a number in \[0, 1\], got 1\.5/],
    [{ enableTracking: "yes" }, /enableTracking must be a boolean, got "yes"/],
    [{ enableSmoothing: 1 }, /enableSmoothing must be a boolean, got 1/],
    [{ trackerType: "iou" }, /trackerType must be "boundingBox" or "keypoint", got "iou"/],
    [{ trackerConfig: [] }, /trackerConfig must be an object, got \[\]/],
    [
      { trackerConfig: { maxTracks: 0 } },
      /trackerConfig\.maxTracks must be a positive integer, got 0/,
    ],
    [
      { trackerConfig: { minSimilarity: 2 } },
      /trackerConfig\.minSimilarity must be a number in \[0, 1\]/,
    ],
    [
      { trackerConfig: { keypointTrackerParams: { minNumberOfKeypoints: 3 } } },
      /keypointTrackerParams is for trackerType "keypoint", not "boundingBox"/,
    ],
    [
      {
        trackerType: "keypoint",
        trackerConfig: { keypointTrackerParams: { keypointFalloff: [1] } },
      },
      /keypointFalloff must be 17 positive numbers, got \[1\]/,
    ],
  ];
  for (const [change, message] of bad) {
    await assert.rejects(
      createDetector("MoveNet", { ...MULTI, ...change } as MoveNetConfig),
      (e: unknown) => e instanceof InvalidInputError && message.test(e.message),
      JSON.stringify(change),
    );
  }
});

Deno.test("MultiPose `estimatePoses()` checks its arguments, keeps 3 shapes compiled, and refuses after dispose", async () => {
  const detector = await createDetector("MoveNet", {
    ...MULTI,
    multiPoseMaxDimension: 64,
    trackerType: "keypoint",
    trackerConfig: {
      maxTracks: 4,
      maxAge: 1000,
      minSimilarity: 0.2,
      keypointTrackerParams: {
        keypointConfidenceThreshold: 0.3,
        keypointFalloff: new Array(17).fill(0.05),
        minNumberOfKeypoints: 2,
      },
    },
  });
  const photo = await readImageFile("tests/fixtures/photos/group4_standing.jpg");
  try {
    assert.equal(detector.model, "MoveNet MultiPose.Lightning");
    const bad: [unknown, unknown, RegExp][] = [
      [{ maxPoses: 0 }, undefined, /maxPoses must be a positive integer, got 0/],
      [{ flipHorizontal: "no" }, undefined, /flipHorizontal must be a boolean, got "no"/],
      [{}, NaN, /timestampMs must be a finite number ≥ 0 \(milliseconds\), got NaN/],
      [{}, -1, /timestampMs must be a finite number ≥ 0 \(milliseconds\), got -1/],
      [null, undefined, /config must be an object, got null/],
    ];
    for (const [config, timestamp, message] of bad) {
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        detector.estimatePoses(photo, config as any, timestamp as number),
        (e: unknown) => e instanceof InvalidInputError && message.test(e.message),
      );
    }
    await assert.rejects(
      detector.estimatePoses({ data: new Uint8Array(1000 * 4), width: 1000, height: 1 }),
      (e: unknown) =>
        e instanceof InvalidInputError && /the shorter side must be at least 1/.test(e.message),
    );
    // Four padded shapes in turn (the photo's, 64x64, 32x64, 64x32), then the first again: it was
    // evicted and is compiled anew, with the same result.
    const first = await detector.estimatePoses(photo);
    const gray = (w: number, h: number) => ({
      data: new Uint8Array(w * h * 4).fill(120),
      width: w,
      height: h,
    });
    for (const [w, h] of [[50, 50], [100, 30], [30, 100]]) await detector.estimatePoses(gray(w, h));
    assert.deepEqual(await detector.estimatePoses(photo), first);
    // A video frame (a timestamp): the same poses, each given a new track's id (1, 2, …; a
    // track's first frame passes its filter unchanged); a still image after it has no ids.
    const tracked = await detector.estimatePoses(photo, {}, 1000);
    assert.deepEqual(tracked.map((p) => p.id), first.map((_, i) => i + 1));
    assert.deepEqual(tracked.map(({ id: _, ...p }) => p), first);
    assert.deepEqual(await detector.estimatePoses(photo), first);
    detector.reset();
  } finally {
    detector.dispose();
  }
  await assert.rejects(
    detector.estimatePoses(photo),
    (e: unknown) => e instanceof InvalidInputError && /was disposed/.test(e.message),
  );
});
