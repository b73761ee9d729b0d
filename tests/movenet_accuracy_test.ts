/**
 * MoveNet Lightning and Thunder end to end (GPU crop-and-resize, the op-graph network, the GPU
 * decode) against `@tensorflow-models/pose-detection` 2.1.3 on tfjs 4.22 cpu with the same weights,
 * single images, smoothing off (tests/fixtures/movenet_reference.json, made by
 * tests/fixtures/make_movenet_reference.ts): every keypoint within 1 px in image pixels, every
 * score within 2e-3, the pose score within 2e-3, on 6 real photos.
 */

import assert from "node:assert/strict";
import { readImageFile } from "../cli/read_image.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { createDetector } from "../detectors/pose_detector.ts";

/** Largest keypoint distance from the reference, image pixels. */
const MAX_PIXEL_ERROR = 1;
/** Largest keypoint or pose score difference. */
const MAX_SCORE_ERROR = 2e-3;

interface ReferenceCase {
  readonly model: "movenet-lightning" | "movenet-thunder";
  readonly photo: string;
  readonly width: number;
  readonly height: number;
  readonly poses: readonly {
    readonly score: number;
    readonly keypoints: readonly { x: number; y: number; score: number; name: string }[];
  }[];
}

const fixture: { cases: ReferenceCase[] } = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/movenet_reference.json", import.meta.url)),
);

const MODEL_TYPE = {
  "movenet-lightning": "SinglePose.Lightning",
  "movenet-thunder": "SinglePose.Thunder",
} as const;

for (const model of ["movenet-lightning", "movenet-thunder"] as const) {
  Deno.test(`createDetector("MoveNet", ${MODEL_TYPE[model]}) equals pose-detection on real photos`, async (t) => {
    const cases = fixture.cases.filter((c) => c.model === model);
    assert.ok(cases.length >= 4, `the fixture holds ${cases.length} photos for ${model}`);
    const gpu = await createGpuContext();
    const detector = await createDetector("MoveNet", {
      modelType: MODEL_TYPE[model],
      context: gpu,
    });
    const rows: string[] = [];
    try {
      for (const reference of cases) {
        await t.step(reference.photo, async () => {
          const image = await readImageFile(`tests/fixtures/photos/${reference.photo}`);
          assert.deepEqual([image.width, image.height], [reference.width, reference.height]);
          const poses = await detector.estimatePoses(image);
          assert.equal(poses.length, reference.poses.length, "pose count");
          let worstPx = 0;
          let worstScore = 0;
          for (const [p, pose] of poses.entries()) {
            const ref = reference.poses[p];
            worstScore = Math.max(worstScore, Math.abs(pose.score - ref.score));
            assert.equal(pose.keypoints.length, 17);
            for (const [k, kp] of pose.keypoints.entries()) {
              const r = ref.keypoints[k];
              assert.equal(kp.name, r.name);
              const px = Math.hypot(kp.x - r.x, kp.y - r.y);
              worstPx = Math.max(worstPx, px);
              worstScore = Math.max(worstScore, Math.abs(kp.score - r.score));
              assert.ok(
                px <= MAX_PIXEL_ERROR,
                `${reference.photo} ${r.name}: (${kp.x}, ${kp.y}) is ${px.toFixed(3)} px from ` +
                  `pose-detection's (${r.x}, ${r.y})`,
              );
              assert.ok(
                Math.abs(kp.score - r.score) <= MAX_SCORE_ERROR,
                `${reference.photo} ${r.name}: score ${kp.score} vs pose-detection's ${r.score}`,
              );
            }
            assert.ok(
              Math.abs(pose.score - ref.score) <= MAX_SCORE_ERROR,
              `${reference.photo}: pose score ${pose.score} vs pose-detection's ${ref.score}`,
            );
          }
          rows.push(
            `${reference.photo.padEnd(28)} ${reference.width}x${reference.height}  worst ` +
              `${worstPx.toExponential(2)} px, score ${worstScore.toExponential(2)}`,
          );
        });
      }
    } finally {
      detector.dispose();
      gpu.destroy();
      console.log(`${model} vs pose-detection 2.1.3 (tfjs cpu):\n  ${rows.join("\n  ")}`);
    }
  });
}
