/**
 * Tests for the input transform in `decode/heads.ts`. The references are PoseNet 2.2.2's own
 * `padAndResizeTo` (for the padding) and `scaleAndFlipPoses` (for the mapping).
 *
 * Random cases draw a fresh base seed per run (printed; `POSENET_TEST_SEED=<seed>` replays it).
 */

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as posenet from "@tensorflow-models/posenet";
import { padAndResizeTo } from "@tensorflow-models/posenet/dist/util.js";
import { InvalidInputError } from "../errors.ts";
import {
  applyInputTransform,
  inputPaddingFor,
  type InputTransform,
  inputTransformFor,
} from "../decode/input_transform.ts";
import { PART_NAMES, type Pose } from "../decode/keypoints.ts";
import { mulberry32, runSeed } from "./support/random.ts";

tf.env().set("IS_NODE", false); // silences the "install tfjs-node" banner
await tf.setBackend("cpu");

const BASE_SEED = runSeed("input transform");

/** PoseNet's padding for an image of `width` x `height` fed at `inputWidth` x `inputHeight`. */
function referencePadding(width: number, height: number, inputWidth: number, inputHeight: number) {
  const image = tf.zeros([height, width, 3]) as tf.Tensor3D;
  const { resized, padding } = padAndResizeTo(image, [inputHeight, inputWidth]);
  tf.dispose([image, resized]);
  return padding;
}

function randomPose(rand: () => number): Pose {
  return {
    score: rand(),
    keypoints: PART_NAMES.map((part) => ({
      part,
      score: rand(),
      position: { x: rand() * 600 - 50, y: rand() * 600 - 50 },
    })),
  };
}

/** The same mapping through PoseNet's `scaleAndFlipPoses`. */
function referenceMap(
  pose: Pose,
  image: [width: number, height: number],
  input: [width: number, height: number],
  flipHorizontal: boolean,
): Pose {
  const padding = referencePadding(image[0], image[1], input[0], input[1]);
  return posenet.scaleAndFlipPoses(
    [pose],
    [image[1], image[0]],
    [input[1], input[0]],
    padding,
    flipHorizontal,
  )[0] as Pose;
}

Deno.test("`inputTransformFor()` pads a wide image top and bottom", () => {
  const t = inputTransformFor(640, 480, 257, 257);
  assert.deepEqual(inputPaddingFor(640, 480, 257, 257), { top: 80, bottom: 80, left: 0, right: 0 });
  assert.deepEqual(t, {
    scaleX: 640 / 257,
    scaleY: 640 / 257,
    padLeft: 0,
    padTop: 80,
    imageWidth: 640,
    flipHorizontal: false,
  });
});

Deno.test("`inputTransformFor()` pads a tall image left and right", () => {
  assert.deepEqual(inputPaddingFor(480, 640, 257, 257), { top: 0, bottom: 0, left: 80, right: 80 });
  const t = inputTransformFor(480, 640, 257, 257, true);
  assert.equal(t.padLeft, 80);
  assert.equal(t.padTop, 0);
  assert.equal(t.scaleX, 640 / 257);
  assert.equal(t.scaleY, 640 / 257);
  assert.equal(t.imageWidth, 480);
  assert.equal(t.flipHorizontal, true);
});

Deno.test("`inputTransformFor()` does not pad an image of the input's aspect ratio", () => {
  assert.deepEqual(inputPaddingFor(300, 300, 257, 257), { top: 0, bottom: 0, left: 0, right: 0 });
  assert.equal(inputTransformFor(300, 300, 257, 257).scaleX, 300 / 257);
  // Equal aspect goes through PoseNet's "pad the height" branch; a non-square input can leave a
  // rounding residue there, which Math.round turns into (possibly negative) zero.
  const p = inputPaddingFor(706, 514, 353, 257);
  assert.ok(p.top === 0 && p.bottom === 0 && p.left === 0 && p.right === 0);
  assert.deepEqual({ ...referencePadding(706, 514, 353, 257) }, { ...p });
});

Deno.test("`inputTransformFor()` rounds half-pixel padding up, 1 px past the aspect ratio", () => {
  // 0.5 * (640 - 481) = 79.5 → 80 on each side: the padded image is 640 x 641.
  assert.deepEqual(inputPaddingFor(640, 481, 257, 257), { top: 80, bottom: 80, left: 0, right: 0 });
  const t = inputTransformFor(640, 481, 257, 257);
  assert.equal(t.scaleY, 641 / 257);
  assert.equal(t.scaleX, 640 / 257);
  // Likewise for a tall image.
  const tall = inputTransformFor(481, 640, 257, 257);
  assert.equal(tall.padLeft, 80);
  assert.equal(tall.scaleX, 641 / 257);
  assert.equal(tall.scaleY, 640 / 257);
});

Deno.test("`inputPaddingFor()` matches PoseNet 2.2.2's `padAndResizeTo`", () => {
  const fixed: [number, number, number, number][] = [
    [640, 480, 257, 257],
    [480, 640, 257, 257],
    [300, 300, 257, 257],
    [640, 481, 257, 257],
    [481, 640, 257, 257],
    [641, 480, 513, 513],
    [1, 1, 257, 257],
    [1, 999, 257, 257],
    [999, 1, 257, 257],
    [500, 500, 513, 257],
    [500, 500, 257, 513],
    [706, 514, 353, 257],
    [514, 706, 257, 353],
    [1280, 720, 353, 257],
    [720, 1280, 353, 257],
  ];
  const rand = mulberry32(BASE_SEED);
  const strides = [8, 16, 32];
  for (let i = 0; i < 40; i++) {
    const stride = strides[Math.floor(rand() * 3)];
    fixed.push([
      1 + Math.floor(rand() * 900),
      1 + Math.floor(rand() * 900),
      Math.floor(1 + rand() * 20) * stride + 1,
      Math.floor(1 + rand() * 20) * stride + 1,
    ]);
  }
  for (const [w, h, iw, ih] of fixed) {
    const expected = referencePadding(w, h, iw, ih);
    assert.deepEqual(
      { ...inputPaddingFor(w, h, iw, ih) },
      { top: expected.top, bottom: expected.bottom, left: expected.left, right: expected.right },
      `image ${w}x${h}, input ${iw}x${ih} (base seed ${BASE_SEED})`,
    );
  }
});

Deno.test("`applyInputTransform()` matches PoseNet 2.2.2's `scaleAndFlipPoses` exactly", () => {
  const rand = mulberry32((BASE_SEED + 1) >>> 0);
  const cases: [number, number, number, number][] = [
    [640, 480, 257, 257],
    [480, 640, 257, 257],
    [300, 300, 257, 257],
    [640, 481, 257, 257],
    [706, 514, 353, 257],
  ];
  for (let i = 0; i < 20; i++) {
    cases.push([
      1 + Math.floor(rand() * 900),
      1 + Math.floor(rand() * 900),
      Math.floor(1 + rand() * 30) * 16 + 1,
      Math.floor(1 + rand() * 30) * 16 + 1,
    ]);
  }
  for (const [w, h, iw, ih] of cases) {
    for (const flip of [false, true]) {
      const pose = randomPose(rand);
      const label = `image ${w}x${h}, input ${iw}x${ih}, flip ${flip} (base seed ${BASE_SEED})`;
      const actual = applyInputTransform(pose, inputTransformFor(w, h, iw, ih, flip));
      assert.deepEqual(actual, referenceMap(pose, [w, h], [iw, ih], flip), label);
    }
  }
});

Deno.test("`applyInputTransform()` scales first, then mirrors about the image width", () => {
  const pose: Pose = {
    score: 0.5,
    keypoints: [{ part: "nose", score: 0.5, position: { x: 257, y: 0 } }],
  };
  // Wide 100x50: scale 100/257, padTop 25. x: 257 → 100 → 100 - 1 - 100 = -1.
  const wide = applyInputTransform(pose, inputTransformFor(100, 50, 257, 257, true));
  assert.ok(Math.abs(wide.keypoints[0].position.x - -1) < 1e-12);
  assert.ok(Math.abs(wide.keypoints[0].position.y - -25) < 1e-12);
  // Tall 50x100: scale 100/257, padLeft 25. x: 257 → 100 - 25 = 75 → 50 - 1 - 75 = -26.
  const tall = applyInputTransform(pose, inputTransformFor(50, 100, 257, 257, true));
  assert.ok(Math.abs(tall.keypoints[0].position.x - -26) < 1e-12);
  // Without the mirror, and the input pose is left untouched.
  const plain = applyInputTransform(pose, inputTransformFor(50, 100, 257, 257));
  assert.ok(Math.abs(plain.keypoints[0].position.x - 75) < 1e-12);
  assert.deepEqual(pose.keypoints[0].position, { x: 257, y: 0 });
  assert.equal(plain.score, 0.5);
  assert.equal(plain.keypoints[0].score, 0.5);
});

Deno.test("`inputTransformFor()` rejects sizes that are not positive integers", () => {
  const bad: [() => unknown, RegExp][] = [
    [() => inputTransformFor(0, 480, 257, 257), /imageWidth.*got 0/],
    [() => inputTransformFor(640, 480.5, 257, 257), /imageHeight.*got 480\.5/],
    [() => inputTransformFor(640, 480, NaN, 257), /inputWidth.*got NaN/],
    [() => inputTransformFor(640, 480, 257, "257" as unknown as number), /inputHeight.*got "257"/],
    [
      () => inputTransformFor(640, 480, 257, 257, 1 as unknown as boolean),
      /flipHorizontal.*got 1/,
    ],
    [() => inputPaddingFor(-1, 480, 257, 257), /imageWidth.*got -1/],
  ];
  for (const [call, message] of bad) {
    assert.throws(call, (e: unknown) => {
      assert.ok(e instanceof InvalidInputError, `${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
  const pose: Pose = { score: 1, keypoints: [] };
  const broken = { ...inputTransformFor(5, 5, 5, 5), padTop: Infinity } as InputTransform;
  assert.throws(() => applyInputTransform(pose, broken), /transform\.padTop.*got Infinity/);
});
