/**
 * MoveNet SinglePose crop tracking (`decode/movenet_crop_tracking.ts`) against pose-detection
 * 2.1.3's own code:
 * - `torsoVisible()` / `determineNextCropRegion()` against `dist/movenet/crop_utils.js` on random
 *   poses (torso seen or not, small and large people, near the edges, any image shape): equal;
 * - `MoveNetCropTracker` (what the detector runs per video frame) against pose-detection's MoveNet
 *   SinglePose detector itself, its model swapped for one returning a chosen raw output
 *   (`tests/support/pose_detection_fake.ts`), over random videos of one person (drift, jumps,
 *   keypoints lost, the pose score dropping below 0.25, irregular timestamps), smoothing on and
 *   off: every frame's crop region, pose score and keypoints within 1e-6 (the worst is printed).
 */

import assert from "node:assert/strict";
import {
  determineNextCropRegion as theirNextCropRegion,
  torsoVisible as theirTorsoVisible,
} from "@tensorflow-models/pose-detection/dist/movenet/crop_utils.js";
import { getKeypointIndexByName } from "@tensorflow-models/pose-detection/dist/util.js";
import {
  cropToImageFractions,
  fractionsToPixels,
  movenetPoseScore,
} from "../decode/movenet_crop.ts";
import {
  CropRegionFilter,
  determineNextCropRegion,
  MoveNetCropTracker,
  torsoVisible,
} from "../decode/movenet_crop_tracking.ts";
import { type CropRegion, initCropRegion } from "../decode/movenet_crop.ts";
import { mulberry32, type Rng, runSeed } from "./support/random.ts";
import { randomTimestamps } from "./support/keypoint_sequences.ts";
import { createFakeModelDetector } from "./support/pose_detection_fake.ts";

const TOLERANCE = 1e-6;
const INDEX = getKeypointIndexByName("MoveNet" as Parameters<typeof getKeypointIndexByName>[0]);
const seed = runSeed("movenet_crop_tracking_test");
const f = Math.fround;

/**
 * A person: 17 keypoints around (cx, cy) of the given size, in fractions of the image, standing
 * (angle 0) or turned by `angle` (lying at π/2), so that each of the torso's and the body's x and
 * y reach can be the one that sizes the crop.
 */
function randomPerson(rng: Rng, cx: number, cy: number, size: number, angle: number) {
  const [c, s] = [Math.cos(angle), Math.sin(angle)];
  return Array.from({ length: 17 }, (_, i) => {
    const dx = 0.3 * Math.sin(i) + 0.05 * (rng() - 0.5);
    const dy = (i - 8) / 16 + 0.05 * (rng() - 0.5);
    return {
      x: cx + size * (c * dx - s * dy),
      y: cy + size * (s * dx + c * dy),
      score: rng() < 0.15 ? 0.25 * rng() : rng() < 0.03 ? 0.2 : rng(),
    };
  });
}

function randomImage(rng: Rng): { width: number; height: number } {
  return { width: 16 + Math.floor(rng() * 1200), height: 16 + Math.floor(rng() * 1200) };
}

Deno.test("`determineNextCropRegion()` and `torsoVisible()` equal pose-detection's", () => {
  const rng = mulberry32(seed);
  let torso = 0;
  let cases = 0;
  for (let i = 0; i < 3000; i++) {
    const { width, height } = randomImage(rng);
    const keypoints = randomPerson(rng, rng(), rng(), 0.02 + 1.5 * rng(), Math.PI * rng());
    const current = rng() < 0.3 ? null : initCropRegion(width, height);
    assert.equal(torsoVisible(keypoints), theirTorsoVisible(keypoints, INDEX));
    if (torsoVisible(keypoints)) torso++;
    assert.deepEqual(
      determineNextCropRegion(current, keypoints, width, height),
      theirNextCropRegion(current!, keypoints, INDEX, { width, height }), // null is allowed in JS
      `${width}x${height} ${JSON.stringify(keypoints)}`,
    );
    cases++;
  }
  console.log(`${cases} poses, ${torso} with a torso: equal regions`);
  assert.ok(torso > cases / 4 && torso < cases, "both branches are exercised");
});

Deno.test("`CropRegionFilter` low-passes the edges and restarts after reset()", () => {
  const filter = new CropRegionFilter();
  const a = { yMin: 0, xMin: 0.1, yMax: 1, xMax: 0.9, height: 1, width: 0.8 };
  const b = { yMin: 0.2, xMin: 0.3, yMax: 0.6, xMax: 0.5, height: 0.4, width: 0.2 };
  assert.deepEqual(filter.apply(a), a);
  const r = filter.apply(b);
  assert.equal(r.yMin, 0 + 0.9 * (0.2 - 0));
  assert.equal(r.xMax, 0.9 + 0.9 * (0.5 - 0.9));
  assert.equal(r.height, r.yMax - r.yMin);
  filter.reset();
  assert.deepEqual(filter.apply(b), { ...b, height: 0.6 - 0.2, width: 0.5 - 0.3 });
});

for (const enableSmoothing of [true, false]) {
  Deno.test(`\`MoveNetCropTracker\` equals pose-detection's MoveNet video frames (smoothing ${enableSmoothing ? "on" : "off"})`, async () => {
    const rng = mulberry32(seed + (enableSmoothing ? 1 : 2));
    let worst = 0;
    let frames = 0;
    let resets = 0;
    let tracked = 0;
    for (let run = 0; run < 12; run++) {
      const image = randomImage(rng);
      const theirs = await createFakeModelDetector({
        modelType: run % 2 ? "SinglePose.Thunder" : "SinglePose.Lightning",
        enableSmoothing,
      });
      const ours = new MoveNetCropTracker({ enableSmoothing, minPoseScore: 0.25 });
      try {
        let [cx, cy, size] = [0.3 + 0.4 * rng(), 0.3 + 0.4 * rng(), 0.1 + 0.6 * rng()];
        const angle = rng() < 0.5 ? 0.3 * (rng() - 0.5) : Math.PI * rng();
        const times = randomTimestamps(rng, 40, rng() < 0.5 ? 0 : 2000 * rng());
        for (const [i, timestampMs] of times.entries()) {
          cx += 0.01 * (rng() - 0.5);
          cy += 0.01 * (rng() - 0.5);
          if (rng() < 0.05) [cx, cy] = [rng(), rng()];
          if (rng() < 0.05) size = 0.1 + 0.8 * rng();
          const region = ours.regionFor(image.width, image.height);
          assert.deepEqual(
            region,
            theirs.cropRegion ?? initCropRegion(image.width, image.height),
            `run ${run} frame ${i}: the crop region`,
          );
          if (theirs.cropRegion) tracked++;
          // The model's output: the person in crop fractions, float32; sometimes nobody.
          const person = randomPerson(rng, cx, cy, size, angle);
          const lost = rng() < 0.06;
          const raw = person.flatMap((k) => [
            f((k.y - region.yMin) / region.height),
            f((k.x - region.xMin) / region.width),
            f(lost ? 0.3 * rng() * k.score : k.score),
          ]);
          const want = await theirs.estimate(raw, image, timestampMs);
          const fractions = cropToImageFractions(raw, region);
          const score = movenetPoseScore(fractions.map((k) => k.score));
          const out = ours.update(
            fractions,
            score,
            region,
            timestampMs * 1000,
            image.width,
            image.height,
          );
          if (out === null) resets++;
          assert.equal(out === null ? 0 : 1, want.length, `run ${run} frame ${i}: pose count`);
          if (out !== null) {
            assert.equal(score, want[0].score);
            for (const [k, kp] of fractionsToPixels(out, image.width, image.height).entries()) {
              const w = want[0].keypoints[k];
              assert.equal(kp.score, w.score);
              worst = Math.max(worst, Math.abs(kp.x - w.x), Math.abs(kp.y - w.y));
            }
          }
          assert.deepEqual(
            ours.cropRegion,
            theirs.cropRegion,
            `run ${run} frame ${i}: next region`,
          );
          frames++;
        }
      } finally {
        theirs.dispose();
      }
    }
    console.log(
      `${frames} frames (${tracked} cut from a tracked region, ${resets} resets): equal regions, ` +
        `worst keypoint |Δ| ${worst} px`,
    );
    assert.ok(resets > 0 && tracked > frames / 2, "resets and tracking are exercised");
    assert.ok(worst <= TOLERANCE, `worst keypoint difference ${worst} px`);
  });
}

interface VideoReference {
  sequences: {
    sequence: string;
    model: string;
    frames: {
      timestampMs: number;
      cropRegion: CropRegion;
      rawOutput: number[];
      poses: { score: number; keypoints: { x: number; y: number; score: number }[] }[];
      nextCropRegion: CropRegion | null;
    }[];
  }[];
  generator: { config: { frameSize: { width: number; height: number } } };
}

Deno.test("`MoveNetCropTracker` on pose-detection's own model outputs of real frames gives its crops and poses", async () => {
  const fixture: VideoReference = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/movenet_video_reference.json", import.meta.url)),
  );
  const { width, height } = fixture.generator.config.frameSize;
  let worst = 0;
  let frames = 0;
  for (const reference of fixture.sequences) {
    const ours = new MoveNetCropTracker({ enableSmoothing: true, minPoseScore: 0.25 });
    for (const [i, frame] of reference.frames.entries()) {
      const at = `${reference.sequence} ${reference.model} frame ${i}`;
      const region = ours.regionFor(width, height);
      assert.deepEqual(region, frame.cropRegion, `${at}: the crop region`);
      const fractions = cropToImageFractions(frame.rawOutput, region);
      const score = movenetPoseScore(fractions.map((k) => k.score));
      const out = ours.update(fractions, score, region, frame.timestampMs * 1000, width, height);
      assert.equal(out === null ? 0 : 1, frame.poses.length, `${at}: pose count`);
      if (out !== null) {
        assert.equal(score, frame.poses[0].score);
        for (const [k, kp] of fractionsToPixels(out, width, height).entries()) {
          const w = frame.poses[0].keypoints[k];
          worst = Math.max(worst, Math.abs(kp.x - w.x), Math.abs(kp.y - w.y));
        }
      }
      assert.deepEqual(ours.cropRegion, frame.nextCropRegion, `${at}: the next region`);
      frames++;
    }
  }
  console.log(`${frames} real frames: equal crop regions, worst keypoint |Δ| ${worst} px`);
  assert.ok(worst <= TOLERANCE, `worst keypoint difference ${worst} px`);
});
