/**
 * The multi-person trackers and `createPoseTracker()` against pose-detection 2.1.3's own code on
 * random people sequences (drift, jumps, missing keypoints, people appearing and disappearing,
 * more people than `maxTracks`, gaps past `maxAge`, repeated and backward timestamps):
 * - `BoundingBoxTracker` / `KeypointTracker` against pose-detection's classes
 *   (`dist/calculators/*.js`): the same ids for every pose and the same tracks after every frame;
 * - `createPoseTracker()` against pose-detection's MoveNet MultiPose detector itself, its model
 *   swapped for one returning the sequence (`tests/support/pose_detection_fake.ts`): its score
 *   filter, tracker and per-track One-Euro filters are pose-detection's; ids must be equal and
 *   keypoints within 1e-6 (the worst is printed).
 */

import assert from "node:assert/strict";
import { BoundingBoxTracker as TheirBoxTracker } from "@tensorflow-models/pose-detection/dist/calculators/bounding_box_tracker.js";
import { KeypointTracker as TheirKeypointTracker } from "@tensorflow-models/pose-detection/dist/calculators/keypoint_tracker.js";
import {
  DEFAULT_BOUNDING_BOX_TRACKER_CONFIG as THEIR_BOX_DEFAULTS,
  DEFAULT_KEYPOINT_TRACKER_CONFIG as THEIR_KEYPOINT_DEFAULTS,
} from "@tensorflow-models/pose-detection/dist/movenet/constants.js";
import {
  mergeBoundingBoxTrackerConfig,
  mergeKeypointTrackerConfig,
} from "@tensorflow-models/pose-detection/dist/movenet/detector_utils.js";
import { InvalidInputError } from "../errors.ts";
import type { DetectedPose, TrackerType } from "../detectors/detector_types.ts";
import { BoundingBoxTracker } from "../tracking/bounding_box_tracker.ts";
import { KeypointTracker } from "../tracking/keypoint_tracker.ts";
import { createPoseTracker } from "../tracking/pose_tracker.ts";
import { meanKeypointJitter } from "../tracking/keypoint_jitter.ts";
import {
  DEFAULT_BOUNDING_BOX_TRACKER_CONFIG,
  DEFAULT_KEYPOINT_TRACKER_CONFIG,
  type PartialTrackerConfig,
  resolveTrackerConfig,
} from "../tracking/tracker_config.ts";
import { mulberry32, type Rng, runSeed } from "./support/random.ts";
import {
  multiPoseOutput,
  randomPeopleSequence,
  type SequenceFrame,
} from "./support/keypoint_sequences.ts";
import { createFakeModelDetector } from "./support/pose_detection_fake.ts";

const TOLERANCE = 1e-6;
const MIN_POSE_SCORE = 0.25;
const seed = runSeed("pose_tracker_test");

/** A random partial config (or none), as a user might pass it. */
function randomUserConfig(rng: Rng, type: TrackerType): PartialTrackerConfig | undefined {
  if (rng() < 0.25) return undefined;
  return {
    ...(rng() < 0.7 ? { maxTracks: 1 + Math.floor(rng() * 6) } : {}),
    ...(rng() < 0.7 ? { maxAge: 50 + 1500 * rng() } : {}),
    ...(rng() < 0.5
      ? { minSimilarity: type === "keypoint" ? 0.05 + 0.5 * rng() : 0.4 * rng() }
      : {}),
    ...(type === "keypoint" && rng() < 0.5
      ? {
        keypointTrackerParams: {
          // float32 0.3 ties with the sequences' scores at that value (`<` vs `>` matter).
          ...(rng() < 0.5
            ? { keypointConfidenceThreshold: rng() < 0.5 ? Math.fround(0.3) : 0.1 + 0.5 * rng() }
            : {}),
          ...(rng() < 0.5 ? { minNumberOfKeypoints: 1 + Math.floor(rng() * 8) } : {}),
        },
      }
      : {}),
  };
}

function theirConfig(type: TrackerType, user: PartialTrackerConfig | undefined) {
  if (user === undefined) return type === "keypoint" ? THEIR_KEYPOINT_DEFAULTS : THEIR_BOX_DEFAULTS;
  // pose-detection's merge takes partial configs (its types say otherwise).
  const partial = user as Parameters<typeof mergeKeypointTrackerConfig>[0];
  return type === "keypoint"
    ? mergeKeypointTrackerConfig(partial)
    : mergeBoundingBoxTrackerConfig(partial);
}

function sequenceFor(rng: Rng): SequenceFrame[] {
  return randomPeopleSequence(rng, {
    frames: 30 + Math.floor(rng() * 30),
    people: 1 + Math.floor(rng() * 9),
    jumpChance: 0.02 + 0.1 * rng(),
  });
}

Deno.test("`resolveTrackerConfig()` gives pose-detection's defaults and merges", () => {
  assert.deepEqual(DEFAULT_BOUNDING_BOX_TRACKER_CONFIG, {
    maxTracks: THEIR_BOX_DEFAULTS.maxTracks,
    maxAge: THEIR_BOX_DEFAULTS.maxAge,
    minSimilarity: THEIR_BOX_DEFAULTS.minSimilarity,
  });
  assert.deepEqual(DEFAULT_KEYPOINT_TRACKER_CONFIG, THEIR_KEYPOINT_DEFAULTS);
  const rng = mulberry32(seed);
  for (let i = 0; i < 200; i++) {
    const type: TrackerType = rng() < 0.5 ? "keypoint" : "boundingBox";
    const user = randomUserConfig(rng, type);
    const theirs = theirConfig(type, user);
    const ours = resolveTrackerConfig(type, user);
    assert.deepEqual(
      ours,
      type === "keypoint" ? theirs : {
        maxTracks: theirs.maxTracks,
        maxAge: theirs.maxAge,
        minSimilarity: theirs.minSimilarity,
      },
      JSON.stringify(user),
    );
  }
});

Deno.test("`resolveTrackerConfig()` names a bad field", () => {
  const bad: [TrackerType, unknown, RegExp][] = [
    ["boundingBox", { maxTracks: 0 }, /maxTracks must be an integer ≥ 1, got 0/],
    ["boundingBox", { maxTracks: 2.5 }, /maxTracks/],
    ["keypoint", { maxAge: -1 }, /maxAge must be a positive number of milliseconds, got -1/],
    ["keypoint", { maxAge: NaN }, /maxAge/],
    ["boundingBox", { minSimilarity: "0.2" }, /minSimilarity must be a finite number, got "0.2"/],
    ["keypoint", { keypointTrackerParams: { keypointConfidenceThreshold: 1.5 } }, /\[0, 1\]/],
    ["keypoint", { keypointTrackerParams: { minNumberOfKeypoints: 0 } }, /minNumberOfKeypoints/],
    [
      "keypoint",
      { keypointTrackerParams: { keypointFalloff: [0.1, -0.2] } },
      /keypointFalloff\[1\] must be positive/,
    ],
    [
      "keypoint",
      { keypointTrackerParams: { keypointFalloff: [] } },
      /keypointFalloff must be a list/,
    ],
    ["keypoint", "fast", /trackerConfig must be an object, got "fast"/],
    ["iou" as TrackerType, undefined, /trackerType must be "boundingBox" or "keypoint", got "iou"/],
  ];
  for (const [type, config, message] of bad) {
    assert.throws(
      () => resolveTrackerConfig(type, config as PartialTrackerConfig),
      (e: unknown) => e instanceof InvalidInputError && message.test(e.message),
      `${type} ${JSON.stringify(config)}`,
    );
  }
});

for (const type of ["boundingBox", "keypoint"] as const) {
  Deno.test(`\`${type === "keypoint" ? "KeypointTracker" : "BoundingBoxTracker"}\` gives pose-detection's ids and tracks`, () => {
    const rng = mulberry32(seed + (type === "keypoint" ? 11 : 12));
    let frames = 0;
    let poses = 0;
    let linked = 0;
    let maxId = 0;
    for (let run = 0; run < 40; run++) {
      const seen = new Set<number>();
      const user = randomUserConfig(rng, type);
      const config = resolveTrackerConfig(type, user);
      const ours = type === "keypoint"
        ? new KeypointTracker(config)
        : new BoundingBoxTracker(config);
      const theirs = type === "keypoint"
        ? new TheirKeypointTracker(theirConfig(type, user))
        : new TheirBoxTracker(theirConfig(type, user));
      for (const [f, frame] of sequenceFor(rng).entries()) {
        if (rng() < 0.02) {
          ours.reset();
          theirs.reset();
        }
        const input: (SequenceFrame["poses"][number] & { id?: number })[] = frame.poses.map((
          p,
        ) => ({
          ...p,
          keypoints: p.keypoints.map((k) => ({ ...k })),
        }));
        const ids = ours.apply(frame.poses, frame.timestampMs * 1000);
        theirs.apply(input as Parameters<typeof theirs.apply>[0], frame.timestampMs * 1000);
        assert.deepEqual(ids, input.map((p) => p.id), `run ${run} frame ${f}: ids`);
        const theirTracks = theirs.getTracks().map((t) => ({ ...t }));
        assert.deepEqual(
          ours.tracks.map((t) => ({ ...t })),
          theirTracks,
          `run ${run} frame ${f}: tracks`,
        );
        assert.deepEqual(ours.trackIds, theirs.getTrackIDs());
        frames++;
        poses += ids.length;
        linked += ids.filter((id) => seen.has(id)).length;
        for (const id of ids) seen.add(id);
        maxId = Math.max(maxId, ...ids);
      }
    }
    console.log(
      `${type}: ${frames} frames, ${poses} poses (${linked} linked to an earlier track), ids up ` +
        `to ${maxId}: all equal`,
    );
    assert.ok(linked > poses / 2 && linked < poses, "both links and new tracks are exercised");
  });
}

Deno.test("`createPoseTracker()` equals pose-detection's MoveNet MultiPose tracking and smoothing", async () => {
  const rng = mulberry32(seed + 3);
  let worst = 0;
  let frames = 0;
  let poses = 0;
  for (let run = 0; run < 16; run++) {
    const trackerType: TrackerType = run % 2 === 0 ? "boundingBox" : "keypoint";
    const trackerConfig = randomUserConfig(rng, trackerType);
    const enableSmoothing = run % 4 !== 3;
    const theirs = await createFakeModelDetector({
      modelType: "MultiPose.Lightning",
      multiPoseMaxDimension: 32,
      enableTracking: true,
      enableSmoothing,
      trackerType,
      ...(trackerConfig ? { trackerConfig } : {}),
    });
    const ours = createPoseTracker({ trackerType, trackerConfig, enableSmoothing });
    try {
      for (const [f, frame] of sequenceFor(rng).entries()) {
        // A 1x1 image: pose-detection's padding factor and its scaling to pixels are both 1.
        const want = await theirs.estimate(
          multiPoseOutput(frame.poses),
          { width: 1, height: 1 },
          frame.timestampMs,
        );
        const input: DetectedPose[] = frame.poses
          .filter((p) => p.score >= MIN_POSE_SCORE)
          .map((p) => ({ ...p, keypoints: p.keypoints.map((k, i) => ({ ...k, name: `k${i}` })) }));
        const got = ours.apply(input, frame.timestampMs);
        assert.equal(got.length, want.length, `run ${run} frame ${f}: pose count`);
        for (const [i, pose] of got.entries()) {
          assert.equal(pose.id, want[i].id, `run ${run} frame ${f} pose ${i}: id`);
          assert.equal(pose.score, want[i].score);
          assert.deepEqual(pose.box, want[i].box);
          for (const [k, kp] of pose.keypoints.entries()) {
            const w = want[i].keypoints[k];
            assert.equal(kp.score, w.score);
            worst = Math.max(worst, Math.abs(kp.x - w.x), Math.abs(kp.y - w.y));
          }
        }
        frames++;
        poses += got.length;
      }
    } finally {
      theirs.dispose();
    }
  }
  console.log(
    `createPoseTracker: ${frames} frames, ${poses} poses: same ids, worst keypoint |Δ| ${worst}`,
  );
  assert.ok(worst <= TOLERANCE, `worst keypoint difference ${worst}`);
});

Deno.test("`createPoseTracker()` smooths a still person and leaves its input alone", () => {
  const tracker = createPoseTracker();
  const rng = mulberry32(seed + 4);
  const person = (t: number): DetectedPose => ({
    score: 0.9,
    keypoints: Array.from({ length: 17 }, (_, i) => ({
      x: 0.4 + i * 0.01 + 0.003 * (rng() - 0.5),
      y: 0.2 + i * 0.03 + 0.003 * (rng() - 0.5),
      score: 0.9,
      name: `k${i}`,
    })),
    box: { xMin: 0.35, yMin: 0.15, xMax: 0.6, yMax: 0.75, width: 0.25, height: 0.6 },
    id: t, // overwritten
  });
  const raw: DetectedPose[] = [];
  const smoothed: DetectedPose[] = [];
  for (let f = 0; f < 30; f++) {
    const input = person(f);
    const copy = structuredClone(input);
    const [out] = tracker.apply([input], 1000 + f * 33.3);
    assert.deepEqual(input, copy, "the input is not changed");
    assert.equal(out.id, 1);
    raw.push(input);
    smoothed.push(out);
  }
  const move = (seq: DetectedPose[]) => meanKeypointJitter(seq.map((p) => p.keypoints));
  console.log(
    `still person: jitter ${move(raw).toFixed(5)} raw, ${move(smoothed).toFixed(5)} smoothed`,
  );
  assert.ok(move(smoothed) < 0.75 * move(raw), `${move(smoothed)} vs ${move(raw)}`);
  tracker.reset();
  assert.equal(tracker.apply([person(0)], 5000)[0].id, 2, "ids keep counting after reset()");
});

Deno.test("`createPoseTracker()` rejects a bad timestamp, poses and options", () => {
  const tracker = createPoseTracker({ trackerType: "keypoint" });
  for (const t of [NaN, -1, Infinity, "33", undefined]) {
    assert.throws(
      () => tracker.apply([], t as number),
      (e: unknown) =>
        e instanceof InvalidInputError &&
        /PoseTracker.apply: timestampMs must be a finite number ≥ 0/.test(e.message),
    );
  }
  assert.throws(() => tracker.apply({} as DetectedPose[], 0), /poses must be an array/);
  assert.throws(
    () => tracker.apply([{ score: 1, keypoints: [{ x: 0, y: 0, score: 1, name: "nose" }] }], 0),
    /17 falloffs; pose 0 has 1 keypoints/,
  );
  assert.throws(
    () => createPoseTracker().apply([{ score: 1, keypoints: [] }], 0),
    /the box tracker needs every pose's box; pose 0 has none/,
  );
  assert.throws(() => createPoseTracker({ enableSmoothing: 1 as unknown as boolean }), /boolean/);
});

Deno.test("`createPoseTracker()` equals pose-detection's MultiPose tracking on real keypoint sequences", async () => {
  // People from the MoveNet video reference (pose-detection's poses on real frames), several per
  // frame, as float32 fractions of the frame with boxes around their keypoints.
  const fixture: {
    generator: { config: { frameSize: { width: number; height: number } } };
    sequences: { frames: { timestampMs: number; poses: SequenceFrame["poses"] }[] }[];
  } = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/movenet_video_reference.json", import.meta.url)),
  );
  const { width, height } = fixture.generator.config.frameSize;
  const [main] = fixture.sequences;
  const frames: SequenceFrame[] = main.frames.map((frame, i) => {
    const poses = fixture.sequences.flatMap((s) => s.frames[i % s.frames.length].poses)
      .map((pose, p) => {
        const shift = 0.15 * (p % 3); // spread the copies a little
        const keypoints = pose.keypoints.map((k) => ({
          x: Math.fround(k.x / width + shift),
          y: Math.fround(k.y / height),
          score: Math.fround(k.score),
        }));
        const [yMin, xMin, yMax, xMax] = [
          Math.fround(Math.min(...keypoints.map((k) => k.y))),
          Math.fround(Math.min(...keypoints.map((k) => k.x))),
          Math.fround(Math.max(...keypoints.map((k) => k.y))),
          Math.fround(Math.max(...keypoints.map((k) => k.x))),
        ];
        return {
          score: Math.fround(pose.score),
          keypoints,
          box: { yMin, xMin, yMax, xMax, width: xMax - xMin, height: yMax - yMin },
        };
      })
      .sort((a, b) => b.score - a.score);
    return { timestampMs: frame.timestampMs, poses };
  });
  let worst = 0;
  let poses = 0;
  for (const trackerType of ["boundingBox", "keypoint"] as const) {
    for (const maxTracks of [18, 2]) {
      const theirs = await createFakeModelDetector({
        modelType: "MultiPose.Lightning",
        multiPoseMaxDimension: 32,
        trackerType,
        trackerConfig: { maxTracks },
      });
      const ours = createPoseTracker({ trackerType, trackerConfig: { maxTracks } });
      try {
        for (const [f, frame] of frames.entries()) {
          const want = await theirs.estimate(
            multiPoseOutput(frame.poses),
            { width: 1, height: 1 },
            frame.timestampMs,
          );
          const input = frame.poses.filter((p) => p.score >= MIN_POSE_SCORE)
            .map((p) => ({ ...p, keypoints: p.keypoints.map((k) => ({ ...k, name: "" })) }));
          const got = ours.apply(input, frame.timestampMs);
          assert.deepEqual(
            got.map((p) => p.id),
            want.map((p) => p.id),
            `${trackerType} frame ${f}`,
          );
          for (const [i, pose] of got.entries()) {
            for (const [k, kp] of pose.keypoints.entries()) {
              const w = want[i].keypoints[k];
              worst = Math.max(worst, Math.abs(kp.x - w.x), Math.abs(kp.y - w.y));
            }
          }
          poses += got.length;
        }
      } finally {
        theirs.dispose();
      }
    }
  }
  console.log(`real keypoint sequences: ${poses} poses, same ids, worst keypoint |Δ| ${worst}`);
  assert.ok(worst <= TOLERANCE, `worst keypoint difference ${worst}`);
});
