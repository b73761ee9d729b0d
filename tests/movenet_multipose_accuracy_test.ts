import assert from "node:assert/strict";
import { createDetector } from "../detectors/pose_detector.ts";
import { readImageFile } from "../cli/read_image.ts";
import type { DetectedPose } from "../detectors/detector_types.ts";
import type { MultiPosePose } from "../reference/tfjs_movenet_multipose.ts";

/** The fixture made by `tests/fixtures/make_movenet_multipose_reference.ts`. */
interface Reference {
  generator: { keypointNames: string[] };
  cases: { photo: string; width: number; height: number; poses: MultiPosePose[] }[];
}

const reference: Reference = JSON.parse(
  await Deno.readTextFile("tests/fixtures/movenet_multipose_reference.json"),
);

/** The task's limits: keypoints within 1 px, scores within 2e-3; boxes (fractions) within 1e-4. */
const PIXELS = 1;
const SCORE = 2e-3;
const BOX = 1e-4;

Deno.test('`createDetector("MoveNet", MultiPose.Lightning)` equals pose-detection\'s MultiPose on the photos', async (t) => {
  const detector = await createDetector("MoveNet", { modelType: "MultiPose.Lightning" });
  const worst = { pixels: 0, score: 0, poseScore: 0, box: 0, poses: 0 };
  try {
    for (const c of reference.cases) {
      await t.step(c.photo, async () => {
        const image = await readImageFile(`tests/fixtures/photos/${c.photo}`);
        assert.equal(image.width, c.width);
        const ours: DetectedPose[] = await detector.estimatePoses(image);
        assert.equal(ours.length, c.poses.length, `${c.photo}: pose count`);
        worst.poses += ours.length;
        ours.forEach((pose, i) => {
          const ref = c.poses[i];
          const label = `${c.photo} pose ${i}`;
          const ds = Math.abs(pose.score - ref.score);
          assert.ok(ds <= SCORE, `${label}: score ${pose.score}, reference ${ref.score}`);
          worst.poseScore = Math.max(worst.poseScore, ds);
          for (const key of ["yMin", "xMin", "yMax", "xMax", "width", "height"] as const) {
            const d = Math.abs(pose.box![key] - ref.box[key]);
            assert.ok(
              d <= BOX,
              `${label}: box.${key} ${pose.box![key]}, reference ${ref.box[key]}`,
            );
            worst.box = Math.max(worst.box, d);
          }
          pose.keypoints.forEach((k, j) => {
            const r = ref.keypoints[j];
            assert.equal(k.name, r.name);
            const dist = Math.hypot(k.x - r.x, k.y - r.y);
            assert.ok(
              dist <= PIXELS,
              `${label} ${k.name}: (${k.x}, ${k.y}), reference (${r.x}, ${r.y})`,
            );
            const dk = Math.abs(k.score - r.score);
            assert.ok(dk <= SCORE, `${label} ${k.name}: score ${k.score}, reference ${r.score}`);
            worst.pixels = Math.max(worst.pixels, dist);
            worst.score = Math.max(worst.score, dk);
          });
        });
      });
    }
  } finally {
    console.log(
      `multipose vs pose-detection: ${worst.poses} poses on ${reference.cases.length} photos; ` +
        `worst keypoint ${worst.pixels.toPrecision(3)} px, keypoint score ` +
        `${worst.score.toExponential(2)}, pose score ${worst.poseScore.toExponential(2)}, box ` +
        `${worst.box.toExponential(2)}`,
    );
    detector.dispose();
  }
});

Deno.test("MultiPose poses keep pose-detection's `>=` at minPoseScore and honour maxPoses", async () => {
  const image = await readImageFile("tests/fixtures/photos/group3_couch.jpg");
  const all = await createDetector("MoveNet", {
    modelType: "MultiPose.Lightning",
    minPoseScore: 0,
  });
  const ours = await all.estimatePoses(image);
  all.dispose();
  assert.equal(ours.length, 6, "minPoseScore 0 keeps every instance");
  const kept = ours.filter((p) => p.score >= 0.25);
  const lowest = Math.min(...kept.map((p) => p.score));
  // minPoseScore exactly at the lowest kept score (an f32, as our scores are): still kept.
  const detector = await createDetector("MoveNet", {
    modelType: "MultiPose.Lightning",
    minPoseScore: lowest,
  });
  try {
    const poses = await detector.estimatePoses(image);
    assert.deepEqual(poses.map((p) => p.score), kept.map((p) => p.score));
    const two = await detector.estimatePoses(image, { maxPoses: 2 });
    assert.deepEqual(two.map((p) => p.score), poses.slice(0, 2).map((p) => p.score));
  } finally {
    detector.dispose();
  }
});
