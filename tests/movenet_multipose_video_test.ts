/**
 * MoveNet MultiPose on video frames (calls with a timestamp: tracking and smoothing on) against
 * pose-detection 2.1.3's own MultiPose detector (tfjs 4.22 cpu, same weights, `enableTracking` and
 * `enableSmoothing` true, the `boundingBox` and the `keypoint` tracker) on the same frames with the
 * same timestamps (`tests/fixtures/movenet_multipose_video_reference.json`, made by
 * `tests/fixtures/make_movenet_multipose_video_reference.ts` from `groupSequence()` of
 * `tests/support/video_frames.ts`: people leaving and entering, a blank frame, a repeated
 * timestamp, a gap longer than `maxAge`).
 *
 * Three checks, so that a difference shows where it comes from:
 * 1. `createPoseTracker` on pose-detection's own raw model outputs gives its ids and smoothed
 *    keypoints exactly (the tracker port on real frames).
 * 2. Our detector's video output is `createPoseTracker` on our own untracked output, exactly (the
 *    detector runs the tracker where pose-detection does: on fractions, before pixels).
 * 3. Against pose-detection: the same pose count, order and ids on every frame, scores and boxes
 *    within the still-photo limits, keypoints within the bound the filters give the networks'
 *    difference: per output, Σ over the track's earlier frames of |∂ output / ∂ input| (the
 *    filter's linear response, measured on pose-detection's own trajectory by finite differences)
 *    times the measured raw difference of that frame. The One-Euro filter's cutoff follows the
 *    derivative, so a raw difference can come out of the filter larger than it went in.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { DetectedPose, MoveNetConfig, TrackerType } from "../detectors/detector_types.ts";
import { createDetector } from "../detectors/pose_detector.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import { withGpu } from "./support/with_gpu.ts";
import { createPoseTracker } from "../tracking/pose_tracker.ts";
import {
  KeypointsOneEuroFilter,
  MOVENET_KEYPOINT_FILTER_CONFIG,
} from "../tracking/keypoints_one_euro_filter.ts";
import type { MultiPosePose } from "../reference/tfjs_movenet_multipose.ts";
import { COCO_KEYPOINTS } from "../detectors/detector_types.ts";
import { type FrameSpec, groupSequence, renderFrames } from "./support/video_frames.ts";

/** The still-photo limits of `tests/movenet_multipose_accuracy_test.ts`. */
const RAW_PIXELS = 1;
const SCORE = 2e-3;
const BOX = 1e-4;
/** pose-detection's defaults. */
const MIN_POSE_SCORE = 0.25;
const MAX_DIMENSION = 256;
/** The finite-difference step of the filter's response, in fractions (~4e-4 px, the raw size). */
const STEP = 1e-6;
/** The step's rounding: a response of 1 measures as 1 ± ~1e-10 (ε · |x| / STEP). */
const STEP_ROUNDING = 1e-8;

interface ReferenceFrame {
  timestampMs: number;
  frameSha256: string;
  inputShape: number[];
  rawOutput: number[];
  poses: (MultiPosePose & { id: number })[];
}

const fixture: {
  specs: FrameSpec[];
  runs: { trackerType: TrackerType; frames: ReferenceFrame[] }[];
} = JSON.parse(
  await Deno.readTextFile(
    new URL("./fixtures/movenet_multipose_video_reference.json", import.meta.url),
  ),
);
const specs = groupSequence();
const frames = await renderFrames(specs);
const WIDTH = frames[0].width;
const HEIGHT = frames[0].height;

/** pose-detection's poses from its raw `[1, 6, 56]` output: score-filtered, in fractions. */
function rawPoses(frame: ReferenceFrame): DetectedPose[] {
  const [, paddedHeight, paddedWidth] = frame.inputShape;
  const landscape = WIDTH > HEIGHT;
  const resizedWidth = landscape ? MAX_DIMENSION : Math.round(MAX_DIMENSION * WIDTH / HEIGHT);
  const resizedHeight = landscape ? Math.round(MAX_DIMENSION * HEIGHT / WIDTH) : MAX_DIMENSION;
  const poses: DetectedPose[] = [];
  for (let i = 0; i < frame.rawOutput.length / 56; i++) {
    const row = frame.rawOutput.slice(i * 56, (i + 1) * 56);
    if (!(row[55] >= MIN_POSE_SCORE)) continue;
    const [yMin, xMin, yMax, xMax] = row.slice(51, 55);
    poses.push({
      score: row[55],
      box: { yMin, xMin, yMax, xMax, width: xMax - xMin, height: yMax - yMin },
      keypoints: COCO_KEYPOINTS.map((name, k) => ({
        y: row[3 * k] * (paddedHeight / resizedHeight),
        x: row[3 * k + 1] * (paddedWidth / resizedWidth),
        score: row[3 * k + 2],
        name,
      })),
    });
  }
  return poses;
}

function toPixels(poses: readonly DetectedPose[]): DetectedPose[] {
  return poses.map((p) => ({
    ...p,
    keypoints: p.keypoints.map((k) => ({ ...k, y: k.y * HEIGHT, x: k.x * WIDTH })),
  }));
}

function toFractions(poses: readonly DetectedPose[]): DetectedPose[] {
  return poses.map((p) => ({
    ...p,
    keypoints: p.keypoints.map((k) => ({ ...k, y: k.y / HEIGHT, x: k.x / WIDTH })),
  }));
}

function multiPose(gpu: GpuContext, extra: Partial<MoveNetConfig> = {}) {
  return createDetector("MoveNet", { modelType: "MultiPose.Lightning", context: gpu, ...extra });
}

/**
 * Per frame and pose (by id) the first-order bound on our smoothed keypoints' distance from
 * pose-detection's, in pixels: each id's keypoints go through one filter over the frames it is
 * seen in; `rawError[f].get(id)` is the largest |Δx| and |Δy| (pixels) of that pose's raw
 * keypoints on frame f (the filter is linear in the scale, so pixels in give pixels out). The response of output t to input s is measured by nudging every input
 * coordinate of frame s by `STEP` (the axes and keypoints are filtered independently).
 */
function filterBounds(
  reference: readonly ReferenceFrame[],
  rawError: readonly Map<number, { x: number; y: number }>[],
): { bounds: Map<number, number>[]; gain: number } {
  const bounds = reference.map(() => new Map<number, number>());
  const raws = reference.map(rawPoses);
  let gain = 0;
  const ids = new Set(reference.flatMap((f) => f.poses.map((p) => p.id)));
  for (const id of ids) {
    const seen = reference.flatMap((f, i) => {
      const k = f.poses.findIndex((p) => p.id === id);
      return k < 0 ? [] : [{ i, keypoints: raws[i][k].keypoints, us: f.timestampMs * 1000 }];
    });
    const run = (nudged: number) => {
      const filter = new KeypointsOneEuroFilter(MOVENET_KEYPOINT_FILTER_CONFIG);
      return seen.map((s, n) =>
        filter.apply(
          n === nudged
            ? s.keypoints.map((k) => ({ ...k, x: k.x + STEP, y: k.y + STEP }))
            : s.keypoints,
          s.us,
          1,
        )
      );
    };
    const base = run(-1);
    // sum[t][k][axis] = Σ_s |response| · rawError_s (pixels).
    const sum = seen.map(() => COCO_KEYPOINTS.map(() => [0, 0]));
    const gains = seen.map(() => COCO_KEYPOINTS.map(() => [0, 0]));
    for (let s = 0; s < seen.length; s++) {
      const nudged = run(s);
      const error = rawError[seen[s].i].get(id)!;
      for (let t = s; t < seen.length; t++) {
        for (let k = 0; k < COCO_KEYPOINTS.length; k++) {
          const ry = Math.abs(nudged[t][k].y - base[t][k].y) / STEP;
          const rx = Math.abs(nudged[t][k].x - base[t][k].x) / STEP;
          sum[t][k][0] += ry * error.y;
          sum[t][k][1] += rx * error.x;
          gains[t][k][0] += ry;
          gains[t][k][1] += rx;
        }
      }
    }
    for (const [t, s] of seen.entries()) {
      bounds[s.i].set(id, Math.max(...sum[t].map(([y, x]) => Math.hypot(y, x))));
      gain = Math.max(gain, ...gains[t].flat());
    }
  }
  return { bounds, gain };
}

for (const { trackerType, frames: reference } of fixture.runs) {
  Deno.test(`\`createPoseTracker()\` on pose-detection's MultiPose outputs gives its ids and keypoints (${trackerType})`, () => {
    assert.deepEqual(fixture.specs, specs, "the fixture is stale");
    const tracker = createPoseTracker({ trackerType, enableSmoothing: true });
    for (const [i, frame] of reference.entries()) {
      assert.equal(createHash("sha256").update(frames[i].data).digest("hex"), frame.frameSha256);
      const got = toPixels(tracker.apply(rawPoses(frame), frame.timestampMs));
      assert.deepEqual(got, frame.poses, `frame ${i}`);
    }
    const ids = new Set(reference.flatMap((f) => f.poses.map((p) => p.id)));
    console.log(`${trackerType}: ${reference.length} frames, ${ids.size} tracks, exact`);
  });

  Deno.test(`MultiPose \`estimatePoses(frame, {}, timestampMs)\` follows pose-detection's video frames (${trackerType})`, () =>
    withGpu(async (gpu) => {
      const video = await multiPose(gpu, { trackerType });
      const untracked = await multiPose(gpu, { enableTracking: false });
      const tracker = createPoseTracker({ trackerType, enableSmoothing: true });
      const ours: DetectedPose[][] = [];
      const rawError: Map<number, { x: number; y: number }>[] = [];
      const worst = { raw: 0, score: 0, box: 0 };
      try {
        for (const [i, frame] of frames.entries()) {
          const ref = reference[i];
          const at = `frame ${i} (t=${ref.timestampMs})`;
          const got = await video.estimatePoses(frame, {}, ref.timestampMs);
          const raw = await untracked.estimatePoses(frame, {}, ref.timestampMs);
          assert.deepEqual(
            got,
            toPixels(tracker.apply(toFractions(raw), ref.timestampMs)),
            `${at}: the detector's tracking is createPoseTracker's on its own output`,
          );
          assert.deepEqual(got.map((p) => p.id), ref.poses.map((p) => p.id), `${at}: ids`);
          const theirRaw = toPixels(rawPoses(ref));
          const errors = new Map<number, { x: number; y: number }>();
          for (const [p, pose] of got.entries()) {
            const want = ref.poses[p];
            worst.score = Math.max(worst.score, Math.abs(pose.score - want.score));
            assert.ok(
              worst.score <= SCORE,
              `${at} pose ${p}: score ${pose.score} vs ${want.score}`,
            );
            for (const key of ["yMin", "xMin", "yMax", "xMax", "width", "height"] as const) {
              worst.box = Math.max(worst.box, Math.abs(pose.box![key] - want.box[key]));
            }
            assert.ok(
              worst.box <= BOX,
              `${at} pose ${p}: box ${showBox(pose)} vs ${showBox(want)}`,
            );
            const e = { x: 0, y: 0 };
            for (const [k, kp] of raw[p].keypoints.entries()) {
              const r = theirRaw[p].keypoints[k];
              e.x = Math.max(e.x, Math.abs(kp.x - r.x));
              e.y = Math.max(e.y, Math.abs(kp.y - r.y));
              const ds = Math.abs(pose.keypoints[k].score - want.keypoints[k].score);
              worst.score = Math.max(worst.score, ds);
            }
            assert.ok(
              worst.score <= SCORE,
              `${at} pose ${p}: a keypoint score off by ${worst.score}`,
            );
            const distance = Math.hypot(e.x, e.y);
            assert.ok(distance <= RAW_PIXELS, `${at} pose ${p}: raw keypoints ${distance} px off`);
            worst.raw = Math.max(worst.raw, distance);
            errors.set(pose.id!, e);
          }
          rawError.push(errors);
          ours.push(got);
        }
      } finally {
        video.dispose();
        untracked.dispose();
      }
      // Keypoints: each within the filters' bound of the raw differences.
      const { bounds, gain } = filterBounds(reference, rawError);
      let [px, slack, laterSlack] = [0, 0, 0];
      for (const [i, got] of ours.entries()) {
        for (const [p, pose] of got.entries()) {
          const want = reference[i].poses[p];
          const bound = bounds[i].get(pose.id!)! * (1 + STEP_ROUNDING);
          const first = reference.findIndex((f) => f.poses.some((q) => q.id === pose.id)) === i;
          for (const [k, kp] of pose.keypoints.entries()) {
            const r = want.keypoints[k];
            assert.equal(kp.name, r.name);
            const d = Math.hypot(kp.x - r.x, kp.y - r.y);
            assert.ok(d <= bound, `frame ${i} id ${pose.id} ${kp.name}: ${d} px, bound ${bound}`);
            px = Math.max(px, d);
            slack = Math.max(slack, d / bound);
            if (!first) laterSlack = Math.max(laterSlack, d / bound);
          }
        }
      }
      const poses = ours.reduce((n, f) => n + f.length, 0);
      console.log(
        `${trackerType}: ${frames.length} frames, ${poses} poses, the same ids; smoothed keypoints ` +
          `≤ ${px.toExponential(2)} px (raw ≤ ${worst.raw.toExponential(2)} px; the filters' ` +
          `worst gain ${gain.toFixed(2)}; worst distance/bound ${
            slack.toFixed(3)
          }, after a track's first frame ` +
          `${laterSlack.toFixed(3)}), scores ` +
          `${worst.score.toExponential(2)}, boxes ${worst.box.toExponential(2)}`,
      );
      const ids = new Set(reference.flatMap((f) => f.poses.map((p) => p.id)));
      assert.ok(ids.size >= 6, "tracks are born and die");
    }));
}

function showBox(pose: { box?: DetectedPose["box"] }): string {
  return JSON.stringify(pose.box);
}

Deno.test("MultiPose `estimatePoses()` without a timestamp between video frames changes nothing", () =>
  withGpu(async (gpu) => {
    const reference = fixture.runs.find((r) => r.trackerType === "boundingBox")!.frames;
    const video = await multiPose(gpu);
    const fresh = await multiPose(gpu);
    const stills = await multiPose(gpu);
    try {
      for (const [i, frame] of frames.entries()) {
        // A still of another frame before each video frame.
        const other = frames[(i + 7) % frames.length];
        const still = await video.estimatePoses(other);
        assert.deepEqual(still, await stills.estimatePoses(other), `frame ${i}: a still image`);
        assert.ok(still.every((p) => p.id === undefined), "a still image has no ids");
        const got = await video.estimatePoses(frame, {}, reference[i].timestampMs);
        assert.deepEqual(got.map((p) => p.id), reference[i].poses.map((p) => p.id));
        const tracked = await fresh.estimatePoses(frame, {}, reference[i].timestampMs);
        assert.deepEqual(got, tracked, `frame ${i}: the video goes on as without the stills`);
      }
    } finally {
      video.dispose();
      fresh.dispose();
      stills.dispose();
    }
  }));

Deno.test("MultiPose `reset()` drops the tracks and filters; ids keep counting (pose-detection's `Tracker.reset`)", () =>
  withGpu(async (gpu) => {
    const reference = fixture.runs.find((r) => r.trackerType === "boundingBox")!.frames;
    const detector = await multiPose(gpu);
    const whole = await multiPose(gpu);
    try {
      for (let i = 0; i < 3; i++) await detector.estimatePoses(frames[i], {}, specs[i].timestampMs);
      detector.reset();
      const after = await detector.estimatePoses(frames[3], {}, specs[3].timestampMs);
      const still = await detector.estimatePoses(frames[3]);
      // New tracks from the next id on (frames 0-2 had ids 1-3), in the model's order, and each
      // new track's first keypoints pass its new filter unchanged.
      assert.deepEqual(after.map((p) => p.id), still.map((_, i) => 4 + i));
      assert.deepEqual(after.map(({ id: _, ...p }) => p), still);
      // A reset where every track has expired anyway (in the gap) changes nothing: the ids go on
      // from pose-detection's count (4, not 1).
      for (const [i, frame] of frames.entries()) {
        if (i === 10) whole.reset();
        const got = await whole.estimatePoses(frame, {}, specs[i].timestampMs);
        assert.deepEqual(got.map((p) => p.id), reference[i].poses.map((p) => p.id), `frame ${i}`);
      }
    } finally {
      detector.dispose();
      whole.dispose();
    }
  }));
