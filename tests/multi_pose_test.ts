/**
 * Tests for `decode/multi_pose.ts`. The reference is the original TF.js PoseNet 2.2.2
 * `decodeMultiplePoses` (+ `scaleAndFlipPoses`) run on the same heads with the CPU backend.
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
import type { Pose } from "../decode/keypoints.ts";
import { PART_IDS } from "../decode/keypoints.ts";
import {
  decodeMultiplePoses,
  decodeMultiplePosesFromCandidates,
  findPartCandidates,
  type MultiPoseOptions,
  type PartCandidate,
} from "../decode/multi_pose.ts";
import { mulberry32, runSeed } from "./support/random.ts";
import {
  blankHeads,
  randomHeadsCase,
  setDisplacement,
  setLogit,
  setOffset,
} from "./support/synthetic_heads.ts";

tf.env().set("IS_NODE", false); // silences the "install tfjs-node" banner
await tf.setBackend("cpu");

const BASE_SEED = runSeed("multi-pose decode");
const SEEDS_PER_GRID = 24;

// ---------------------------------------------------------------------------------------------
// The reference: the original PoseNet 2.2.2 code.

function tfScores(heads: PoseNetHeads): Float32Array {
  return tf.tidy(() =>
    tf.sigmoid(tf.tensor3d(heads.heatmap, [heads.height, heads.width, 17])).dataSync()
  ) as Float32Array;
}

function referenceMultiplePoses(
  heads: PoseNetHeads,
  options: MultiPoseOptions,
  image?: { width: number; height: number; flipHorizontal: boolean },
): Pose[] {
  const { height, width, outputStride } = heads;
  const buffer = (data: Float32Array, channels: number) =>
    tf.buffer([height, width, channels], "float32", data) as tf.TensorBuffer<tf.Rank.R3>;
  const poses = posenet.decodeMultiplePoses(
    buffer(tfScores(heads), 17),
    buffer(heads.offsets, 34),
    buffer(heads.displacementFwd, 32),
    buffer(heads.displacementBwd, 32),
    outputStride as 16,
    options.maxDetections ?? 5,
    options.scoreThreshold ?? 0.5,
    options.nmsRadius ?? 20,
  ) as Pose[];
  if (image === undefined) return poses;
  const inputHeight = (height - 1) * outputStride + 1;
  const inputWidth = (width - 1) * outputStride + 1;
  const padding = inputPaddingFor(image.width, image.height, inputWidth, inputHeight);
  return posenet.scaleAndFlipPoses(
    poses,
    [image.height, image.width],
    [inputHeight, inputWidth],
    { ...padding },
    image.flipHorizontal,
  ) as Pose[];
}

const worst = { position: 0, score: 0, poses: 0, tiedCases: 0 };

function assertPosesMatch(actual: Pose[], expected: Pose[], label: string): void {
  assert.equal(actual.length, expected.length, `${label}: number of poses`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const ds = Math.abs(a.score - e.score);
    worst.score = Math.max(worst.score, ds);
    assert.ok(ds <= 1e-6, `${label}: pose ${i} score ${a.score} vs ${e.score}`);
    assert.equal(a.keypoints.length, 17, `${label}: pose ${i} keypoint count`);
    for (let k = 0; k < 17; k++) {
      const ak = a.keypoints[k];
      const ek = e.keypoints[k];
      assert.equal(ak.part, ek.part, `${label}: pose ${i} keypoint ${k} part`);
      const dks = Math.abs(ak.score - ek.score);
      const dp = Math.max(
        Math.abs(ak.position.x - ek.position.x),
        Math.abs(ak.position.y - ek.position.y),
      );
      worst.score = Math.max(worst.score, dks);
      worst.position = Math.max(worst.position, dp);
      assert.ok(dks <= 1e-6, `${label}: pose ${i} ${ek.part} score ${ak.score} vs ${ek.score}`);
      assert.ok(
        dp <= 1e-4,
        `${label}: pose ${i} ${ek.part} at ${JSON.stringify(ak.position)} vs ${
          JSON.stringify(ek.position)
        }`,
      );
    }
  }
  worst.poses += expected.length;
}

function runRandomGrid(t: Deno.TestContext, height: number, width: number, stride: number) {
  return async () => {
    for (let i = 0; i < SEEDS_PER_GRID; i++) {
      const seed = (BASE_SEED + height * 1000 + width * 10 + i) >>> 0;
      const c = randomHeadsCase(seed, height, width, stride);
      await t.step(`seed ${seed}${c.quantized ? " (quantized)" : ""}`, () => {
        const label = `seed ${seed}`;
        // Without the transform: network-input pixels.
        const raw = decodeMultiplePoses(c.heads, c.options);
        assertPosesMatch(raw, referenceMultiplePoses(c.heads, c.options), label);
        // With it: image pixels, padding and mirror included.
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
        const mapped = decodeMultiplePoses(c.heads, c.options, transform);
        assertPosesMatch(mapped, referenceMultiplePoses(c.heads, c.options, image), label);
        const scores = findPartCandidates(
          sigmoidScores(c.heads.heatmap),
          height,
          width,
          c.options.scoreThreshold ?? 0.5,
        ).map((candidate) => candidate.score);
        if (new Set(scores).size < scores.length) worst.tiedCases++;
      });
    }
  };
}

Deno.test("`decodeMultiplePoses()` matches PoseNet 2.2.2 on random 17x17 heads (stride 16)", async (t) => {
  await runRandomGrid(t, 17, 17, 16)();
});

Deno.test("`decodeMultiplePoses()` matches PoseNet 2.2.2 on random 33x33 heads (stride 8)", async (t) => {
  await runRandomGrid(t, 33, 33, 8)();
});

Deno.test("`decodeMultiplePoses()` matches PoseNet 2.2.2 on random 9x13 heads (stride 32)", async (t) => {
  await runRandomGrid(t, 9, 13, 32)();
  console.log(
    `base seed ${BASE_SEED}: ${worst.poses} poses compared ` +
      `(${worst.tiedCases} cases with equal candidate scores), ` +
      `max |Δposition| ${worst.position} px, max |Δscore| ${worst.score}`,
  );
});

// ---------------------------------------------------------------------------------------------
// Targeted cases on hand-built heads.

const NOSE = PART_IDS.nose;
const LEFT_EYE = PART_IDS.leftEye;

Deno.test("`decodeMultiplePoses()` keeps one pose when two roots of a part are within nmsRadius", () => {
  const heads = blankHeads(9, 9);
  setLogit(heads, 4, 2, NOSE, 3);
  setLogit(heads, 4, 4, NOSE, 2);
  setOffset(heads, 4, 4, NOSE, 0, -20); // second nose at x = 44, 12 px from the first at 32
  const poses = decodeMultiplePoses(heads);
  assert.equal(poses.length, 1);
  assert.deepEqual(poses[0].keypoints[NOSE].position, { x: 32, y: 64 });
  assertPosesMatch(poses, referenceMultiplePoses(heads, {}), "nms");
  // A smaller radius lets the second one through, with its nose not counted twice.
  const two = decodeMultiplePoses(heads, { nmsRadius: 11.9 });
  assert.equal(two.length, 2);
  assert.deepEqual(two[1].keypoints[NOSE].position, { x: 44, y: 64 });
  assertPosesMatch(two, referenceMultiplePoses(heads, { nmsRadius: 11.9 }), "nms 11.9");
});

Deno.test("`decodeMultiplePoses()` suppresses a root at exactly nmsRadius (squared distance <= r²)", () => {
  const heads = blankHeads(9, 9);
  setLogit(heads, 4, 2, NOSE, 3);
  setLogit(heads, 4, 4, NOSE, 2);
  setOffset(heads, 4, 4, NOSE, 0, -12); // 52 - 32 = 20 px exactly
  assert.equal(decodeMultiplePoses(heads, { nmsRadius: 20 }).length, 1);
  assert.equal(decodeMultiplePoses(heads, { nmsRadius: 19.999 }).length, 2);
});

Deno.test("`decodeMultiplePoses()` scores a pose by its keypoints not claimed by earlier poses", () => {
  const heads = blankHeads(9, 9);
  setLogit(heads, 2, 2, NOSE, 3);
  setLogit(heads, 2, 4, NOSE, 2);
  // The second nose (32 px from the first) sends its four children back onto the first pose's
  // cell, so every keypoint but its nose lands on a keypoint of the first pose.
  for (const edge of [0, 2, 4, 10]) setDisplacement(heads, "displacementFwd", 2, 4, edge, 0, -32);
  const poses = decodeMultiplePoses(heads);
  assert.equal(poses.length, 2);
  assert.deepEqual(poses[1].keypoints[PART_IDS.rightAnkle].position, { x: 32, y: 32 });
  assert.equal(poses[1].score, Math.fround(1 / (1 + Math.exp(-2))) / 17);
  assertPosesMatch(poses, referenceMultiplePoses(heads, {}), "instance score");
});

Deno.test("`decodeMultiplePoses()` clamps displacements that point outside the grid", () => {
  const heads = blankHeads(5, 7);
  setLogit(heads, 0, 0, NOSE, 3);
  setLogit(heads, 4, 6, LEFT_EYE, -1);
  setLogit(heads, 0, 0, LEFT_EYE, -5);
  setOffset(heads, 0, 0, NOSE, -3, -5); // root at (-3, -5): rounds to cell (0, 0)
  setOffset(heads, 4, 6, LEFT_EYE, 7, 9);
  setDisplacement(heads, "displacementFwd", 0, 0, 0, 1000, 1000); // nose → leftEye, far off
  setDisplacement(heads, "displacementFwd", 4, 6, 1, -1000, -1000); // leftEye → leftEar
  setOffset(heads, 0, 0, PART_IDS.leftEar, 2, -2);
  const [pose] = decodeMultiplePoses(heads, { scoreThreshold: 0.5 });
  assert.deepEqual(pose.keypoints[NOSE].position, { x: -5, y: -3 });
  // Clamped to the last cell (4, 6), then moved by that cell's offset.
  assert.deepEqual(pose.keypoints[LEFT_EYE].position, { x: 6 * 16 + 9, y: 4 * 16 + 7 });
  assert.equal(pose.keypoints[LEFT_EYE].score, Math.fround(1 / (1 + Math.exp(1))));
  // From there, clamped back to the first cell.
  assert.deepEqual(pose.keypoints[PART_IDS.leftEar].position, { x: -2, y: 2 });
  assertPosesMatch([pose], referenceMultiplePoses(heads, {}), "border");
});

Deno.test("`decodeMultiplePoses()` rounds half a cell up when snapping to the grid", () => {
  const heads = blankHeads(5, 5);
  setLogit(heads, 2, 2, NOSE, 3);
  setOffset(heads, 2, 2, NOSE, -8, 8); // (24, 40): y/16 = 1.5 → 2, x/16 = 2.5 → 3
  setDisplacement(heads, "displacementFwd", 2, 3, 0, 16, 0); // read here, not at (1, 2)/(2, 2)
  setDisplacement(heads, "displacementFwd", 1, 2, 0, -99, -99);
  setDisplacement(heads, "displacementFwd", 2, 2, 0, -99, -99);
  const [pose] = decodeMultiplePoses(heads);
  // (24 + 16, 40) = (40, 40) → cell (2.5 → 3, 2.5 → 3) = (48, 48).
  assert.deepEqual(pose.keypoints[LEFT_EYE].position, { x: 48, y: 48 });
  assertPosesMatch([pose], referenceMultiplePoses(heads, {}), "rounding");
});

Deno.test("`decodeMultiplePoses()` returns at most maxDetections poses", () => {
  const heads = blankHeads(17, 17);
  for (let i = 0; i < 8; i++) setLogit(heads, 2 * i, 2 * i, i, 1 + i * 0.25);
  assert.equal(decodeMultiplePoses(heads).length, 5);
  assert.equal(decodeMultiplePoses(heads, { maxDetections: 3 }).length, 3);
  assert.equal(decodeMultiplePoses(heads, { maxDetections: 100 }).length, 8);
  const three = decodeMultiplePoses(heads, { maxDetections: 3 });
  // Best roots first: part i sits alone at cell (2i, 2i) with logit 1 + i/4.
  assert.deepEqual(three.map((p) => p.keypoints.findIndex((k) => k.score > 0.5)), [7, 6, 5]);
  assertPosesMatch(three, referenceMultiplePoses(heads, { maxDetections: 3 }), "cap");
});

Deno.test("`decodeMultiplePoses()` returns no poses when no score reaches the threshold", () => {
  const heads = blankHeads(9, 13, 32, 0); // every score is exactly 0.5
  assert.deepEqual(decodeMultiplePoses(heads, { scoreThreshold: 0.51 }), []);
  assert.equal(decodeMultiplePoses(heads, { scoreThreshold: 0.5 }).length, 5); // >= counts
  heads.heatmap.fill(-0.01);
  assert.deepEqual(decodeMultiplePoses(heads), []);
  assert.deepEqual(referenceMultiplePoses(heads, {}), []);
});

Deno.test("`decodeMultiplePoses()` orders equal root scores as PoseNet's max-heap does", () => {
  const heads = blankHeads(17, 17);
  // Seven equal roots of different parts, far apart, plus a better and a worse one.
  const spots = [[1, 1], [1, 8], [1, 15], [8, 1], [8, 8], [8, 15], [15, 1], [15, 8], [15, 15]];
  spots.forEach(([y, x], i) => setLogit(heads, y, x, (i * 5) % 17, i === 4 ? 3 : i === 7 ? 1 : 2));
  const options = { maxDetections: 9, nmsRadius: 5 };
  const poses = decodeMultiplePoses(heads, options);
  assert.equal(poses.length, 9);
  const reference = referenceMultiplePoses(heads, options);
  assertPosesMatch(poses, reference, "ties");
  // Roots by part: the best (3), the seven equal ones in heap order, the worst (1). Raster
  // (insertion) order of the equal ones would be 0, 5, 10, 15, 8, 13, 6; a stable sort by score
  // would give that, and would not match TF.js.
  const roots = poses.map((p) => p.keypoints.findIndex((k) => k.score > 0.5));
  assert.deepEqual(roots, [3, 6, 0, 13, 8, 5, 15, 10, 1]);
});

Deno.test("`findPartCandidates()` keeps equal neighbours and drops cells beaten in their 3x3 window", () => {
  const scores = sigmoidScores(blankHeads(3, 3).heatmap);
  const s = Math.fround(0.9);
  scores[(1 * 3 + 1) * 17 + 2] = s;
  scores[(1 * 3 + 2) * 17 + 2] = s;
  assert.deepEqual(findPartCandidates(scores, 3, 3, 0.5), [
    { part: 2, y: 1, x: 1, score: s },
    { part: 2, y: 1, x: 2, score: s },
  ]);
  scores[(0 * 3 + 0) * 17 + 2] = Math.fround(0.95); // beats (1, 1) but is outside (1, 2)'s window
  assert.deepEqual(findPartCandidates(scores, 3, 3, 0.5), [
    { part: 2, y: 0, x: 0, score: Math.fround(0.95) },
    { part: 2, y: 1, x: 2, score: s },
  ]);
});

Deno.test("`decodeMultiplePosesFromCandidates()` gives the same poses whatever the candidate order", () => {
  for (let i = 0; i < 10; i++) {
    const seed = (BASE_SEED + 777 + i) >>> 0;
    const c = randomHeadsCase(seed, 17, 17, 16);
    const scored = toScoredHeads(c.heads);
    const candidates = findPartCandidates(scored.scores, 17, 17, 0.1);
    const rand = mulberry32(seed);
    const shuffled: PartCandidate[] = [...candidates];
    for (let j = shuffled.length - 1; j > 0; j--) {
      const k = Math.floor(rand() * (j + 1));
      [shuffled[j], shuffled[k]] = [shuffled[k], shuffled[j]];
    }
    // Candidates found at a lower threshold are filtered by the options' threshold.
    const fromCandidates = decodeMultiplePosesFromCandidates(shuffled, scored, c.options);
    assertPosesMatch(fromCandidates, decodeMultiplePoses(c.heads, c.options), `seed ${seed}`);
    assertPosesMatch(fromCandidates, referenceMultiplePoses(c.heads, c.options), `seed ${seed}`);
  }
});

Deno.test("`decodeMultiplePoses()` rejects invalid options naming the option and value", () => {
  const heads = blankHeads(3, 3);
  const bad: [MultiPoseOptions, RegExp][] = [
    [{ maxDetections: 0 }, /maxDetections.*got 0/],
    [{ maxDetections: 2.5 }, /maxDetections.*got 2\.5/],
    [{ maxDetections: "3" as unknown as number }, /maxDetections.*got "3"/],
    [{ scoreThreshold: -0.1 }, /scoreThreshold.*got -0\.1/],
    [{ scoreThreshold: 1.5 }, /scoreThreshold.*got 1\.5/],
    [{ scoreThreshold: NaN }, /scoreThreshold.*got NaN/],
    [{ nmsRadius: 0 }, /nmsRadius.*got 0/],
    [{ nmsRadius: Infinity }, /nmsRadius.*got Infinity/],
    [{ nmsRadius: null as unknown as number }, /nmsRadius.*got null/],
    [7 as unknown as MultiPoseOptions, /options.*got 7/],
  ];
  for (const [options, message] of bad) {
    assert.throws(() => decodeMultiplePoses(heads, options), (e: unknown) => {
      assert.ok(e instanceof InvalidInputError, `${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("`decodeMultiplePoses()` rejects heads and candidates of the wrong shape", () => {
  const good = blankHeads(3, 4);
  const cases: [PoseNetHeads, RegExp][] = [
    [{ ...good, heatmap: new Float32Array(5) }, /heads\.heatmap.*204.*got 5/],
    [{ ...good, offsets: new Float32Array(12 * 17) }, /heads\.offsets.*408/],
    [{ ...good, displacementFwd: new Float32Array(1) }, /heads\.displacementFwd/],
    [{ ...good, displacementBwd: [] as unknown as Float32Array }, /heads\.displacementBwd/],
    [{ ...good, height: 0 }, /heads\.height.*got 0/],
    [{ ...good, outputStride: -16 }, /heads\.outputStride.*got -16/],
  ];
  for (const [heads, message] of cases) {
    assert.throws(() => decodeMultiplePoses(heads), (e: unknown) => {
      assert.ok(e instanceof InvalidInputError, `${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
  const scored = toScoredHeads(good);
  assert.throws(
    () => decodeMultiplePosesFromCandidates([{ part: 17, y: 0, x: 0, score: 1 }], scored),
    /candidates\[0\]\.part/,
  );
  assert.throws(
    () => decodeMultiplePosesFromCandidates([{ part: 0, y: 0, x: 4, score: 1 }], scored),
    /candidates\[0\]\.x/,
  );
});
