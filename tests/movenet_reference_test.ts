/**
 * What `tests/fixtures/movenet_reference.json` (made by `tests/fixtures/make_movenet_reference.ts`)
 * must itself satisfy, before anything is compared against it: every model and photo present, 17
 * keypoints named in pose-detection's order, finite numbers, and the fields consistent with each
 * other as pose-detection 2.1.3 computes them (the first frame's centred-square crop, the pose
 * score, the mapping of the raw output to image pixels). No TF.js runs here.
 */

import assert from "node:assert/strict";
import { readImageFile } from "../cli/read_image.ts";
import { DEFAULT_WEIGHTS_PACKAGE } from "../models/default_weights.ts";
import { MOVENET_KEYPOINT_NAMES } from "../reference/tfjs_movenet.ts";

const MODELS = { "movenet-lightning": 192, "movenet-thunder": 256 } as const;
/** Keypoints above this score count towards the pose score (`MIN_CROP_KEYPOINT_SCORE`). */
const MIN_CROP_KEYPOINT_SCORE = 0.2;
/** pose-detection returns no pose below this score (`DEFAULT_MIN_POSE_SCORE`). */
const MIN_POSE_SCORE = 0.25;

interface Keypoint {
  x: number;
  y: number;
  score: number;
  name: string;
}
interface Case {
  model: keyof typeof MODELS;
  photo: string;
  width: number;
  height: number;
  inputSize: number;
  cropBox: number[];
  cropRegion: Record<"yMin" | "xMin" | "yMax" | "xMax" | "height" | "width", number>;
  inputShape: number[];
  inputSha256: string;
  rawOutput: number[];
  poses: { score: number; keypoints: Keypoint[] }[];
}

const FIXTURES = new URL("./fixtures/", import.meta.url);
const reference = JSON.parse(
  await Deno.readTextFile(new URL("movenet_reference.json", FIXTURES)),
) as { generator: Record<string, unknown>; cases: Case[] };

async function photoNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(new URL("photos/", FIXTURES))) {
    if (e.isFile && /\.(jpe?g|png)$/i.test(e.name)) names.push(e.name);
  }
  return names.sort();
}

Deno.test("`movenet_reference.json` has one case per model and photo, each with its image's size", async () => {
  const photos = await photoNames();
  assert.ok(photos.length >= 4, `only ${photos.length} photos`);
  const keys = reference.cases.map((c) => `${c.model} ${c.photo}`).sort();
  const expected = Object.keys(MODELS).flatMap((m) => photos.map((p) => `${m} ${p}`)).sort();
  assert.deepEqual(keys, expected);
  const shapes = new Set<string>();
  for (const photo of photos) {
    const image = await readImageFile(new URL(`photos/${photo}`, FIXTURES).pathname);
    for (const c of reference.cases.filter((c) => c.photo === photo)) {
      assert.equal(c.width, image.width, `${c.model} ${photo}: width`);
      assert.equal(c.height, image.height, `${c.model} ${photo}: height`);
    }
    shapes.add(
      image.width === image.height ? "square" : image.width > image.height ? "wide" : "tall",
    );
  }
  assert.deepEqual([...shapes].sort(), ["square", "tall", "wide"]);
});

Deno.test("`movenet_reference.json` names its generator, weights and keypoint order", () => {
  const g = reference.generator as {
    poseDetection: string;
    tfjs: string;
    backend: string;
    command: string;
    keypointNames: string[];
    config: { enableSmoothing: boolean };
    weights: Record<string, { sha256: { modelJson: string; weightsBin: string } }>;
  };
  assert.equal(g.poseDetection, "2.1.3");
  assert.equal(g.tfjs, "4.22.0");
  assert.equal(g.backend, "cpu");
  assert.equal(g.config.enableSmoothing, false);
  assert.match(g.command, /make_movenet_reference\.ts/);
  assert.deepEqual(g.keypointNames, MOVENET_KEYPOINT_NAMES);
  for (const model of Object.keys(MODELS) as (keyof typeof MODELS)[]) {
    const pins = DEFAULT_WEIGHTS_PACKAGE.models[model];
    assert.deepEqual(g.weights[model].sha256, {
      modelJson: pins.modelJson.sha256,
      weightsBin: pins.weightsBin.sha256,
    });
  }
});

Deno.test("`movenet_reference.json` poses have 17 named, finite keypoints", () => {
  for (const c of reference.cases) {
    const label = `${c.model} ${c.photo}`;
    assert.equal(c.inputSize, MODELS[c.model], label);
    assert.deepEqual(c.inputShape, [1, c.inputSize, c.inputSize, 3], label);
    assert.match(c.inputSha256, /^[0-9a-f]{64}$/, label);
    assert.equal(c.rawOutput.length, 17 * 3, label);
    assert.ok(c.rawOutput.every(Number.isFinite), label);
    assert.ok(c.poses.length <= 1, `${label}: ${c.poses.length} poses`);
    for (const pose of c.poses) {
      assert.ok(Number.isFinite(pose.score), label);
      assert.deepEqual(pose.keypoints.map((k) => k.name), MOVENET_KEYPOINT_NAMES, label);
      for (const k of pose.keypoints) {
        assert.ok([k.x, k.y, k.score].every(Number.isFinite), `${label}: ${JSON.stringify(k)}`);
        assert.ok(k.score >= 0 && k.score <= 1, `${label}: ${JSON.stringify(k)}`);
      }
    }
  }
  // Every photo of this set has a person: both models find one pose on each.
  assert.ok(reference.cases.every((c) => c.poses.length === 1));
});

Deno.test("`movenet_reference.json` crop is the first frame's centred square, in float32", () => {
  for (const c of reference.cases) {
    const { width: w, height: h } = c;
    // initCropRegion(firstFrame = true) of pose-detection 2.1.3, in doubles.
    const expected = w > h
      ? { yMin: 0, xMin: (w / 2 - h / 2) / w, height: 1, width: h / w }
      : { yMin: (h / 2 - w / 2) / h, xMin: 0, height: w / h, width: 1 };
    const r = c.cropRegion;
    assert.deepEqual(r, {
      ...expected,
      yMax: expected.yMin + expected.height,
      xMax: expected.xMin + expected.width,
    }, `${c.model} ${c.photo}`);
    assert.deepEqual(c.cropBox, [r.yMin, r.xMin, r.yMax, r.xMax].map(Math.fround));
    // The square is min(W, H) pixels a side.
    assert.ok(Math.abs(r.height * h - Math.min(w, h)) < 1e-9);
    assert.ok(Math.abs(r.width * w - Math.min(w, h)) < 1e-9);
  }
});

Deno.test("`movenet_reference.json` poses follow from the raw output as pose-detection maps them", () => {
  for (const c of reference.cases) {
    const label = `${c.model} ${c.photo}`;
    const r = c.cropRegion;
    let sum = 0;
    let count = 0;
    const raw = c.rawOutput;
    for (let i = 0; i < 17; i++) {
      if (raw[i * 3 + 2] > MIN_CROP_KEYPOINT_SCORE) {
        sum += raw[i * 3 + 2];
        count++;
      }
    }
    const score = count > 0 ? sum / count : 0;
    if (score < MIN_POSE_SCORE) {
      assert.equal(c.poses.length, 0, label);
      continue;
    }
    const [pose] = c.poses;
    assert.equal(pose.score, score, `${label}: pose score`);
    pose.keypoints.forEach((k, i) => {
      // pose-detection: crop → image fractions in doubles, then × image size.
      assert.equal(k.y, (r.yMin + raw[i * 3] * r.height) * c.height, `${label} ${k.name} y`);
      assert.equal(k.x, (r.xMin + raw[i * 3 + 1] * r.width) * c.width, `${label} ${k.name} x`);
      assert.equal(k.score, raw[i * 3 + 2], `${label} ${k.name} score`);
    });
  }
});
