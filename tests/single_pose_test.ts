/**
 * Tests for `decode/single_pose.ts`. The reference is the original TF.js PoseNet 2.2.2
 * `decodeSinglePose` (+ `scaleAndFlipPoses`) run on the same heads with the CPU backend.
 *
 * Random heads draw a fresh base seed per run (printed; `POSENET_TEST_SEED=<seed>` replays it).
 * Each case's seed is derived from it and shown in its step name.
 */

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as posenet from "@tensorflow-models/posenet";
import { InvalidInputError } from "../errors.ts";
import { type PoseNetHeads, sigmoidScores, toScoredHeads } from "../decode/heads.ts";
import { inputPaddingFor, inputTransformFor } from "../decode/input_transform.ts";
import { PART_IDS, PART_NAMES, type Pose } from "../decode/keypoints.ts";
import { decodeSinglePose, decodeSinglePoseFromScores } from "../decode/single_pose.ts";
import { runSeed } from "./support/random.ts";
import { blankHeads, randomHeadsCase, setLogit, setOffset } from "./support/synthetic_heads.ts";

tf.env().set("IS_NODE", false); // silences the "install tfjs-node" banner
await tf.setBackend("cpu");

const BASE_SEED = runSeed("single-pose decode");
const SEEDS_PER_GRID = 24;

// ---------------------------------------------------------------------------------------------
// The reference: the original PoseNet 2.2.2 code.

async function referenceSinglePose(
  heads: PoseNetHeads,
  image?: { width: number; height: number; flipHorizontal: boolean },
): Promise<Pose> {
  const { height, width, outputStride } = heads;
  const scores = tf.sigmoid(tf.tensor3d(heads.heatmap, [height, width, 17])) as tf.Tensor3D;
  const offsets = tf.tensor3d(heads.offsets, [height, width, 34]);
  const pose = await posenet.decodeSinglePose(scores, offsets, outputStride as 16) as Pose;
  tf.dispose([scores, offsets]);
  if (image === undefined) return pose;
  const inputHeight = (height - 1) * outputStride + 1;
  const inputWidth = (width - 1) * outputStride + 1;
  const padding = inputPaddingFor(image.width, image.height, inputWidth, inputHeight);
  return posenet.scaleAndFlipPoses(
    [pose],
    [image.height, image.width],
    [inputHeight, inputWidth],
    { ...padding },
    image.flipHorizontal,
  )[0] as Pose;
}

const worst = { position: 0, score: 0, poses: 0 };

function assertPoseMatches(actual: Pose, expected: Pose, label: string): void {
  const ds = Math.abs(actual.score - expected.score);
  worst.score = Math.max(worst.score, ds);
  assert.ok(ds <= 1e-6, `${label}: pose score ${actual.score} vs ${expected.score}`);
  assert.equal(actual.keypoints.length, 17, `${label}: keypoint count`);
  for (let k = 0; k < 17; k++) {
    const a = actual.keypoints[k];
    const e = expected.keypoints[k];
    assert.equal(a.part, e.part, `${label}: keypoint ${k} part`);
    const dks = Math.abs(a.score - e.score);
    const dp = Math.max(
      Math.abs(a.position.x - e.position.x),
      Math.abs(a.position.y - e.position.y),
    );
    worst.score = Math.max(worst.score, dks);
    worst.position = Math.max(worst.position, dp);
    assert.ok(dks <= 1e-6, `${label}: ${e.part} score ${a.score} vs ${e.score}`);
    assert.ok(
      dp <= 1e-4,
      `${label}: ${e.part} at ${JSON.stringify(a.position)} vs ${JSON.stringify(e.position)}`,
    );
  }
  worst.poses++;
}

async function runRandomGrid(
  t: Deno.TestContext,
  height: number,
  width: number,
  stride: number,
): Promise<void> {
  for (let i = 0; i < SEEDS_PER_GRID; i++) {
    const seed = (BASE_SEED + height * 1000 + width * 10 + i) >>> 0;
    const c = randomHeadsCase(seed, height, width, stride);
    await t.step(`seed ${seed}${c.quantized ? " (quantized)" : ""}`, async () => {
      const label = `seed ${seed}`;
      assertPoseMatches(decodeSinglePose(c.heads), await referenceSinglePose(c.heads), label);
      const image = {
        width: c.imageWidth,
        height: c.imageHeight,
        flipHorizontal: c.flipHorizontal,
      };
      const transform = inputTransformFor(
        image.width,
        image.height,
        (width - 1) * stride + 1,
        (height - 1) * stride + 1,
        image.flipHorizontal,
      );
      assertPoseMatches(
        decodeSinglePose(c.heads, transform),
        await referenceSinglePose(c.heads, image),
        label,
      );
    });
  }
}

Deno.test("`decodeSinglePose()` matches PoseNet 2.2.2 on random 17x17 heads (stride 16)", async (t) => {
  await runRandomGrid(t, 17, 17, 16);
});

Deno.test("`decodeSinglePose()` matches PoseNet 2.2.2 on random 33x33 heads (stride 8)", async (t) => {
  await runRandomGrid(t, 33, 33, 8);
});

Deno.test("`decodeSinglePose()` matches PoseNet 2.2.2 on random 9x13 heads (stride 32)", async (t) => {
  await runRandomGrid(t, 9, 13, 32);
  console.log(
    `base seed ${BASE_SEED}: ${worst.poses} poses compared, ` +
      `max |Δposition| ${worst.position} px, max |Δscore| ${worst.score}`,
  );
});

// ---------------------------------------------------------------------------------------------
// Targeted cases on hand-built heads.

Deno.test("`decodeSinglePose()` takes the first cell in y * width + x order on equal scores", async () => {
  const heads = blankHeads(5, 5);
  const ear = PART_IDS.rightEar;
  setLogit(heads, 3, 1, ear, 2);
  setLogit(heads, 1, 3, ear, 2); // flat index 8 < 16
  setLogit(heads, 4, 4, ear, 2);
  const pose = decodeSinglePose(heads);
  assert.deepEqual(pose.keypoints[ear].position, { x: 48, y: 16 });
  assertPoseMatches(pose, await referenceSinglePose(heads), "tie");
  // All cells equal: the first cell wins.
  const flat = blankHeads(5, 5, 16, 1);
  assert.ok(
    decodeSinglePose(flat).keypoints.every((k) => k.position.x === 0 && k.position.y === 0),
  );
});

Deno.test("`decodeSinglePose()` compares float32 scores, so different logits can tie", async () => {
  const heads = blankHeads(3, 3);
  const high = 10;
  const higher = new Float32Array(
    new Uint32Array([new Uint32Array(new Float32Array([high]).buffer)[0] + 1]).buffer,
  )[0];
  assert.ok(higher > high);
  assert.equal(
    sigmoidScores(new Float32Array([high]))[0],
    sigmoidScores(new Float32Array([higher]))[0],
  );
  setLogit(heads, 0, 1, PART_IDS.nose, high);
  setLogit(heads, 2, 2, PART_IDS.nose, higher); // larger logit, but the same float32 score
  const pose = decodeSinglePose(heads);
  assert.deepEqual(pose.keypoints[PART_IDS.nose].position, { x: 16, y: 0 });
  assertPoseMatches(pose, await referenceSinglePose(heads), "float32 tie");
});

Deno.test("`decodeSinglePose()` adds the y offset from channel k and the x offset from k + 17", async () => {
  const heads = blankHeads(4, 6, 32);
  const wrist = PART_IDS.leftWrist;
  setLogit(heads, 2, 5, wrist, 3);
  setOffset(heads, 2, 5, wrist, -7, 11);
  const pose = decodeSinglePose(heads);
  assert.equal(pose.keypoints[wrist].part, "leftWrist");
  assert.deepEqual(pose.keypoints[wrist].position, { x: 5 * 32 + 11, y: 2 * 32 - 7 });
  assert.equal(pose.keypoints[wrist].score, Math.fround(1 / (1 + Math.exp(-3))));
  assertPoseMatches(pose, await referenceSinglePose(heads), "offsets");
});

Deno.test("`decodeSinglePose()` rounds positions to float32 as TF.js's tensor add does", async () => {
  const heads = blankHeads(3, 7);
  setLogit(heads, 1, 5, PART_IDS.nose, 3);
  setOffset(heads, 1, 5, PART_IDS.nose, 0.1, 0.1);
  const { x } = decodeSinglePose(heads).keypoints[PART_IDS.nose].position;
  assert.equal(x, Math.fround(80 + Math.fround(0.1)));
  assert.notEqual(x, 80 + Math.fround(0.1));
  assert.equal(x, (await referenceSinglePose(heads)).keypoints[PART_IDS.nose].position.x);
});

Deno.test("`decodeSinglePose()` scores the pose as the mean keypoint score", () => {
  const heads = blankHeads(2, 2, 16, -8);
  for (let part = 0; part < 17; part++) setLogit(heads, part % 2, 1, part, part / 4 - 2);
  const pose = decodeSinglePose(heads);
  const sum = pose.keypoints.reduce((total, k) => total + k.score, 0);
  assert.equal(pose.score, sum / 17);
  assert.deepEqual(pose.keypoints.map((k) => k.part), [...PART_NAMES]);
});

Deno.test("`decodeSinglePose()` maps back to the image by scaling, then mirroring", () => {
  const heads = blankHeads(17, 17);
  setLogit(heads, 16, 16, PART_IDS.nose, 3); // at input pixel (256, 256)
  const transform = inputTransformFor(100, 50, 257, 257, true); // padTop 25, scale 100/257
  const { position } = decodeSinglePose(heads, transform).keypoints[PART_IDS.nose];
  assert.ok(Math.abs(position.x - (100 - 1 - 256 * 100 / 257)) < 1e-12);
  assert.ok(Math.abs(position.y - (256 * 100 / 257 - 25)) < 1e-12);
});

Deno.test("`decodeSinglePoseFromScores()` gives the same pose as `decodeSinglePose()`", () => {
  const seed = (BASE_SEED + 99) >>> 0;
  const c = randomHeadsCase(seed, 9, 13, 32);
  assert.deepEqual(
    decodeSinglePoseFromScores(toScoredHeads(c.heads)),
    decodeSinglePose(c.heads),
    `seed ${seed}`,
  );
});

Deno.test("`decodeSinglePose()` rejects heads of the wrong shape", () => {
  const good = blankHeads(3, 4);
  const cases: [PoseNetHeads, RegExp][] = [
    [{ ...good, heatmap: new Float32Array(5) }, /heads\.heatmap.*204.*got 5/],
    [{ ...good, offsets: new Float64Array(408) as unknown as Float32Array }, /heads\.offsets/],
    [{ ...good, width: 4.5 }, /heads\.width.*got 4\.5/],
    [{ ...good, outputStride: 0 }, /heads\.outputStride.*got 0/],
    [null as unknown as PoseNetHeads, /heads must be an object, got null/],
  ];
  for (const [heads, message] of cases) {
    assert.throws(() => decodeSinglePose(heads), (e: unknown) => {
      assert.ok(e instanceof InvalidInputError, `${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.throws(
    () => decodeSinglePose(good, { ...inputTransformFor(5, 5, 5, 5), scaleX: 0 }),
    InvalidInputError,
  );
});
