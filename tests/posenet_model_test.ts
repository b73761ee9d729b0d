import assert from "node:assert/strict";
import { load, type PoseNet } from "../detectors/posenet_model.ts";
import { loadTfjsGraphModel } from "../models/tfjs_graph_model.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { readImageFile } from "../cli/read_image.ts";
import { DisposedError, InvalidInputError } from "../errors.ts";
import type { Pose } from "../decode/keypoints.ts";

interface ReferenceCase {
  photo: string;
  width: number;
  height: number;
  inputResolution: number;
  single: Pose;
  singleFlipped: Pose;
  multi: Pose[];
}

const reference = JSON.parse(await Deno.readTextFile("tests/fixtures/tfjs_reference.json")) as {
  cases: ReferenceCase[];
};
const weights = await loadTfjsGraphModel(await fetchDefaultWeights());

/** Compares a pose with TF.js's: keypoints with score ≥ 0.5 within 1 px, every score within 2e-3. */
function comparePose(what: string, ours: Pose, tfjs: Pose): { px: number; score: number } {
  let px = 0;
  let score = Math.abs(ours.score - tfjs.score);
  assert.equal(tfjs.keypoints.length, 17, `${what}: TF.js keypoints`);
  assert.equal(ours.keypoints.length, tfjs.keypoints.length, `${what}: number of keypoints`);
  ours.keypoints.forEach((k, i) => {
    const r = tfjs.keypoints[i];
    assert.equal(k.part, r.part);
    score = Math.max(score, Math.abs(k.score - r.score));
    if (r.score >= 0.5) {
      px = Math.max(px, Math.hypot(k.position.x - r.position.x, k.position.y - r.position.y));
    }
  });
  assert.ok(px <= 1, `${what}: a keypoint is ${px} px from TF.js`);
  assert.ok(score <= 2e-3, `${what}: a score differs from TF.js by ${score}`);
  return { px, score };
}

Deno.test("estimateSinglePose() agrees with TF.js PoseNet on real photos at 257 and 513", async (t) => {
  const gpu = await createGpuContext();
  const nets = new Map<number, PoseNet>();
  const rows: string[] = [];
  try {
    for (const c of reference.cases) {
      if (!nets.has(c.inputResolution)) {
        nets.set(
          c.inputResolution,
          await load({ weights, inputResolution: c.inputResolution, context: gpu }),
        );
      }
      const net = nets.get(c.inputResolution)!;
      const image = await readImageFile(`tests/fixtures/photos/${c.photo}`);
      await t.step(`${c.photo} at ${c.inputResolution}`, async () => {
        const plain = comparePose(c.photo, await net.estimateSinglePose(image), c.single);
        const flipped = comparePose(
          `${c.photo} flipped`,
          await net.estimateSinglePose(image, { flipHorizontal: true }),
          c.singleFlipped,
        );
        rows.push(
          `| ${c.photo} | ${c.inputResolution} | ${Math.max(plain.px, flipped.px).toFixed(4)} | ` +
            `${Math.max(plain.score, flipped.score).toExponential(1)} |`,
        );
      });
    }
  } finally {
    console.log(
      [
        "| photo | R | max px (score ≥ 0.5) | max score diff |",
        "| --- | --- | --- | --- |",
        ...rows,
      ].join("\n"),
    );
    for (const net of nets.values()) net.dispose();
    gpu.destroy();
  }
});

Deno.test("load() rejects an invalid resolution naming the nearest valid values", async () => {
  await assert.rejects(
    load({ weights, inputResolution: 256 }),
    (e: unknown) => e instanceof InvalidInputError && /241 and 257/.test(e.message),
  );
});

Deno.test("load() rejects output stride 7 naming the valid strides", async () => {
  await assert.rejects(
    // @ts-expect-error: 7 is not an OutputStride, which is the point
    load({ weights, outputStride: 7 }),
    (e: unknown) => e instanceof InvalidInputError && /8, 16.*32/.test(e.message),
  );
});

Deno.test("estimateSinglePose() rejects images of the wrong size and calls after dispose()", async () => {
  const net = await load({ weights });
  try {
    await assert.rejects(
      net.estimateSinglePose({ data: new Uint8Array(10), width: 2, height: 2 }),
      (e: unknown) =>
        e instanceof InvalidInputError &&
        /10 bytes.*needs 16 \(RGBA\) or 12 \(RGB\)/.test(e.message),
    );
    await assert.rejects(
      net.estimateSinglePose({ data: new Uint8Array(0), width: 0, height: 0 }),
      (e: unknown) =>
        e instanceof InvalidInputError && /width must be a positive integer, got 0/.test(e.message),
    );
    await assert.rejects(
      net.estimateSinglePose({ data: new Uint8Array(12), width: 2, height: 2 }, {
        flipHorizontal: "yes" as unknown as boolean,
      }),
      (e: unknown) =>
        e instanceof InvalidInputError && /flipHorizontal must be a boolean/.test(e.message),
    );
  } finally {
    net.dispose();
  }
  await assert.rejects(
    net.estimateSinglePose({ data: new Uint8Array(12), width: 2, height: 2 }),
    (e: unknown) => e instanceof DisposedError,
  );
});

Deno.test("estimateSinglePose() runs non-square inputs and strides 8 and 32", async () => {
  const gpu = await createGpuContext();
  try {
    const image = await readImageFile("tests/fixtures/photos/single_portrait.jpg");
    const at16 = await load({ weights, context: gpu });
    const base = await at16.estimateSinglePose(image);
    for (
      const [outputStride, inputResolution] of [[8, 257], [32, 257], [16, {
        width: 353,
        height: 257,
      }]] as const
    ) {
      const net = await load({ weights, outputStride, inputResolution, context: gpu });
      const pose = await net.estimateSinglePose(image);
      assert.equal(pose.keypoints.length, 17);
      // Another stride or aspect sees the image differently, but the confident parts stay on the person.
      const nose = pose.keypoints[0];
      assert.ok(
        nose.score > 0.5 &&
          Math.hypot(
              nose.position.x - base.keypoints[0].position.x,
              nose.position.y - base.keypoints[0].position.y,
            ) < 40,
      );
      net.dispose();
    }
    at16.dispose();
  } finally {
    gpu.destroy();
  }
});

Deno.test("load() maps PoseNet 1.x's scaleFactor to a valid input resolution", async () => {
  // 640x480 at 0.5: 319 → 305 and 239 → 225 (k·16 + 1, rounded down as posenet 1.x does).
  const net = await load({ weights, scaleFactor: 0.5, imageSize: { width: 640, height: 480 } });
  try {
    assert.deepEqual(net.inputResolution, { width: 305, height: 225 });
    const pose = await net.estimateSinglePose(
      await readImageFile("tests/fixtures/photos/single_portrait.jpg"),
    );
    assert.ok(pose.keypoints[0].score > 0.5);
  } finally {
    net.dispose();
  }
  await assert.rejects(
    load({ weights, scaleFactor: 0.5 }),
    (e: unknown) => e instanceof InvalidInputError && /scaleFactor needs imageSize/.test(e.message),
  );
  await assert.rejects(
    load({ weights, scaleFactor: 1.5, imageSize: { width: 640, height: 480 } }),
    (e: unknown) => e instanceof InvalidInputError && /between 0.2 and 1/.test(e.message),
  );
  await assert.rejects(
    load({
      weights,
      scaleFactor: 0.5,
      inputResolution: 257,
      imageSize: { width: 640, height: 480 },
    }),
    (e: unknown) =>
      e instanceof InvalidInputError && /either inputResolution or scaleFactor/.test(e.message),
  );
});
