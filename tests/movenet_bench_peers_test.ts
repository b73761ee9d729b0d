/**
 * The TF.js MoveNet bench peers (`bench/peers/tfjs_movenet.ts`) do the same, correct job as the
 * reference: pose-detection 2.1.3 on TF.js's `webgpu` (Deno's and Dawn) and `wasm` backends must
 * report what it reports on the `cpu` backend (`tests/fixtures/movenet_reference.json`), for
 * Lightning and Thunder, on the bench's photo (`single_portrait.jpg`, square) and a tall one
 * (`single_green_dress_crop.jpg`, whose first crop is offset).
 *
 * Tolerances, measured on all six photos for every peer (wasm, webgpu on Deno, webgpu on Dawn):
 * - positions of keypoints the reference scores ≥ 0.2 (the ones pose-detection counts in the
 *   pose score): at most 0.052 px apart, checked against 1 px. Below that score a keypoint's
 *   heatmap argmax can flip between near-equal cells: the Lightning right ankle of the portrait
 *   (score 0.048) is 9.2 px off on every peer.
 * - every keypoint score: at most 1.01e-3 apart, checked against 2e-3 (the bound issue #16 sets
 *   for our runtime against this reference). The differences come from the crop: each backend's
 *   `cropAndResize` rounds differently (the cpu kernel interpolates in doubles), so a few int32
 *   input values differ by 1 after the truncating cast (the model input's hash differs on every
 *   peer).
 *
 * The WebGPU peers are skipped only where `navigator.gpu` gives no adapter at all.
 */

import assert from "node:assert/strict";
import type { WebGpuProvider } from "../runtime/webgpu_provider.ts";
import { readImageFile } from "../cli/read_image.ts";
import { PART_NAMES } from "../decode/keypoints.ts";
import {
  MOVENET_PEER_FACTORIES,
  MOVENET_PEER_NAMES,
  type MoveNetPeerName,
  type MoveNetPose,
  type TfjsMoveNetModel,
} from "../bench/peers/tfjs_movenet.ts";
import { moveNetWeights } from "./support/movenet_weights.ts";

const PHOTOS = ["single_portrait.jpg", "single_green_dress_crop.jpg"];
const MODELS: readonly TfjsMoveNetModel[] = ["movenet-lightning", "movenet-thunder"];
const MIN_SCORE = 0.2;
const MAX_DISTANCE_PX = 1;
const MAX_SCORE_DIFF = 2e-3;

interface RefCase {
  model: TfjsMoveNetModel;
  photo: string;
  poses: MoveNetPose[];
}

const reference = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/movenet_reference.json", import.meta.url)),
) as { cases: RefCase[] };
const images = new Map(
  await Promise.all(PHOTOS.map(async (photo) => {
    const image = await readImageFile(
      new URL(`./fixtures/photos/${photo}`, import.meta.url).pathname,
    );
    return [photo, { data: image.data, width: image.width, height: image.height }] as const;
  })),
);

const gpuAdapter = await navigator.gpu?.requestAdapter().catch(() => null) ?? null;

function checkAgainstReference(label: string, expected: MoveNetPose, got: MoveNetPose[]): number {
  assert.equal(got.length, 1, `${label}: poses`);
  const [pose] = got;
  assert.ok(Math.abs(pose.score - expected.score) <= MAX_SCORE_DIFF, `${label}: pose score`);
  assert.equal(pose.keypoints.length, 17, `${label}: keypoint count`);
  let worst = 0;
  let confident = 0;
  for (const [i, ref] of expected.keypoints.entries()) {
    const k = pose.keypoints[i];
    assert.equal(k.name, ref.name, `${label}: keypoint ${i} name`);
    assert.ok(
      Math.abs(k.score - ref.score) <= MAX_SCORE_DIFF,
      `${label}: ${ref.name} score ${k.score}, cpu ${ref.score}`,
    );
    if (ref.score < MIN_SCORE) continue;
    confident++;
    const d = Math.hypot(k.x - ref.x, k.y - ref.y);
    worst = Math.max(worst, d);
    assert.ok(
      d <= MAX_DISTANCE_PX,
      `${label}: ${ref.name} at (${k.x}, ${k.y}), cpu at (${ref.x}, ${ref.y}): ${d} px apart`,
    );
  }
  assert.ok(confident >= 3, `${label}: only ${confident} keypoints scored ≥ ${MIN_SCORE}`);
  return worst;
}

// Every peer, and the webgpu peer once more on Dawn.
const RUNS: readonly { name: MoveNetPeerName; provider?: WebGpuProvider }[] = [
  ...MOVENET_PEER_NAMES.map((name) => ({ name })),
  { name: "tfjs-movenet-webgpu", provider: "dawn" },
];

for (const { name, provider } of RUNS) {
  for (const model of MODELS) {
    const noGpu = name === "tfjs-movenet-webgpu" && provider === undefined && gpuAdapter === null;
    if (noGpu) console.warn(`skipping ${name}: navigator.gpu gives no WebGPU adapter here`);
    Deno.test({
      name: `bench peer ${name}${provider ? ` on ${provider}` : ""} ${model} matches ` +
        "pose-detection on cpu",
      ignore: noGpu,
      // The WebGPU devices stay alive for the process, by design.
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        const engine = await MOVENET_PEER_FACTORIES[name]({
          model,
          modelJsonPath: await moveNetWeights(model),
          provider,
        });
        try {
          assert.equal(engine.name, name);
          assert.equal(engine.model, model);
          if (provider) {
            assert.equal(engine.provider, provider);
            assert.match(engine.description, new RegExp(`on ${provider}`));
          }
          for (const photo of PHOTOS) {
            const expected = reference.cases.find((c) => c.model === model && c.photo === photo);
            assert.ok(expected?.poses[0], `no ${model} ${photo} pose in movenet_reference.json`);
            const label = `${name}${provider ? ` (${provider})` : ""} ${model} ${photo}`;
            const image = images.get(photo)!;
            const worst = checkAgainstReference(
              label,
              expected.poses[0],
              await engine.estimatePoses(image),
            );
            console.log(`${label}: keypoints (score ≥ ${MIN_SCORE}) within ${worst.toFixed(3)} px`);
          }
          // The bench's Engine view: the same pose, in PoseNet's field names.
          const image = images.get(PHOTOS[0])!;
          const [pose] = await engine.estimatePoses(image);
          const single = await engine.estimateSinglePose(image);
          assert.equal(single.score, pose.score);
          assert.deepEqual(
            single.keypoints.map((k) => [k.part, k.score, k.position.x, k.position.y]),
            pose.keypoints.map((k, i) => [PART_NAMES[i], k.score, k.x, k.y]),
          );
        } finally {
          await engine.dispose();
        }
        await assert.rejects(engine.estimatePoses(images.get(PHOTOS[0])!), /disposed/);
      },
    });
  }
}

Deno.test({
  name: "bench peers of MoveNet and PoseNet interleave across TF.js backends in one process",
  ignore: gpuAdapter === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { PEER_FACTORIES } = await import("../bench/peers/peer.ts");
    const { fetchDefaultWeights } = await import("../models/default_weights.ts");
    const model = "movenet-lightning";
    const modelJsonPath = await moveNetWeights(model);
    const engines = [
      await MOVENET_PEER_FACTORIES["tfjs-movenet-webgpu"]({ model, modelJsonPath }),
      await MOVENET_PEER_FACTORIES["tfjs-movenet-wasm"]({ model, modelJsonPath }),
    ];
    const posenet = await PEER_FACTORIES["tfjs-wasm"]({
      resolution: 257,
      modelJsonPath: await fetchDefaultWeights(),
    });
    try {
      // The tall photo: a second frame's crop would differ from the first (the square one's not).
      const image = images.get(PHOTOS[1])!;
      const alone = await posenet.estimateSinglePose(image);
      const expected = reference.cases.find((c) => c.model === model && c.photo === PHOTOS[1])!;
      // Every call at once, twice. (Correct even without the backend gate, as TF.js moves a
      // tensor's data to the active backend; the gate keeps that from happening.)
      for (let round = 0; round < 2; round++) {
        const [webgpu, wasm, pose] = await Promise.all([
          engines[0].estimatePoses(image),
          engines[1].estimatePoses(image),
          posenet.estimateSinglePose(image),
        ]);
        checkAgainstReference(`interleaved webgpu, round ${round}`, expected.poses[0], webgpu);
        checkAgainstReference(`interleaved wasm, round ${round}`, expected.poses[0], wasm);
        assert.deepEqual(pose, alone);
      }
    } finally {
      for (const engine of engines) await engine.dispose();
      await posenet.dispose();
    }
  },
});
