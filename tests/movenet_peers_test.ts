/**
 * The MoveNet ORT bench peers (`bench/peers/ort_movenet.ts`) do the same, correct job: on
 * `tests/fixtures/photos/group3_couch.jpg` (1920x1367, so the crop is not the whole image), for
 * Lightning and Thunder, each peer's four heads equal those of the reference run
 * (`runMovenetHeadsOrt`, ORT wasm, on the same int32 crop) within 1e-5 of each head's largest
 * magnitude, and its pose is the reference's keypoints mapped back through pose-detection's first
 * crop (positions within 1e-5 of the image's longer side, scores within 1e-5), with
 * pose-detection's pose score. Not timed.
 *
 * The WebGPU peer on Deno's provider is skipped only where `navigator.gpu` gives no adapter.
 */

import assert from "node:assert/strict";
import { readImageFile } from "../cli/read_image.ts";
import type { WebGpuProvider } from "../runtime/webgpu_provider.ts";
import { cropAndResizeToInt32, movenetFirstCrop } from "../bench/peers/movenet_crop.ts";
import {
  createMovenetOrtPeer,
  MOVENET_INPUT_SIZE,
  MOVENET_ORT_PEER_NAMES,
  type MovenetModelType,
  type MovenetOrtPeerName,
} from "../bench/peers/ort_movenet.ts";
import {
  MOVENET_HEAD_NODES,
  type MovenetHead,
  type MovenetOrtResult,
  runMovenetHeadsOrt,
} from "../reference/movenet_onnx.ts";
import { assertClose } from "./support/compare.ts";
import { moveNetWeights } from "./support/movenet_weights.ts";

const TOLERANCE = 1e-5;
const PHOTO = "group3_couch.jpg";
const HEADS = Object.keys(MOVENET_HEAD_NODES) as MovenetHead[];

const photo = await readImageFile(new URL(`./fixtures/photos/${PHOTO}`, import.meta.url).pathname);
const image = { data: photo.data, width: photo.width, height: photo.height };
const gpuAdapter = await navigator.gpu?.requestAdapter().catch(() => null) ?? null;

const references = new Map<MovenetModelType, Promise<MovenetOrtResult>>();

/** The reference run's heads and keypoints on the photo's first crop. */
function reference(model: MovenetModelType): Promise<MovenetOrtResult> {
  let r = references.get(model);
  if (r === undefined) {
    r = (async () => {
      const side = MOVENET_INPUT_SIZE[model];
      const box = movenetFirstCrop(image.width, image.height);
      const path = await moveNetWeights(`movenet-${model}`);
      return await runMovenetHeadsOrt(path, cropAndResizeToInt32(image, box, side));
    })();
    references.set(model, r);
  }
  return r;
}

const RUNS: readonly { name: MovenetOrtPeerName; provider?: WebGpuProvider }[] = [
  ...MOVENET_ORT_PEER_NAMES.map((name) => ({ name })),
  { name: "ort-webgpu", provider: "dawn" },
];

for (const model of ["lightning", "thunder"] as const) {
  for (const { name, provider } of RUNS) {
    const noGpu = name === "ort-webgpu" && provider === undefined && gpuAdapter === null;
    if (noGpu) console.warn(`skipping ${name}: navigator.gpu gives no WebGPU adapter here`);
    Deno.test({
      name: `MoveNet bench peer ${name}${provider ? ` on ${provider}` : ""} (${model}) ` +
        "matches the ORT reference heads",
      ignore: noGpu,
      // ORT's pthread workers and the WebGPU devices stay alive for the process, by design.
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        const ref = await reference(model);
        const engine = await createMovenetOrtPeer(name, {
          model,
          modelJsonPath: await moveNetWeights(`movenet-${model}`),
          provider,
        });
        try {
          assert.equal(engine.name, name);
          assert.equal(engine.model, model);
          assert.equal(engine.provider, name === "ort-webgpu" ? provider ?? "deno" : null);
          const got = await engine.predict(image);
          const worst: string[] = [];
          for (const head of [...HEADS, "keypoints" as const]) {
            assert.deepEqual(got[head].shape, ref[head].shape, `${head} shape`);
            const d = assertClose(
              `${name} ${model} ${head}`,
              got[head].data,
              ref[head].data,
              TOLERANCE,
            );
            worst.push(
              `${head} ${(d.maxAbsError / Math.max(1, d.maxAbsReference)).toExponential(2)}`,
            );
          }
          console.log(`${name}${provider ? ` (${provider})` : ""} ${model}: ${worst.join(", ")}`);

          const pose = await engine.estimateSinglePose(image);
          const box = movenetFirstCrop(image.width, image.height);
          const kp = ref.keypoints.data;
          const maxPx = TOLERANCE * Math.max(image.width, image.height);
          let sum = 0;
          let count = 0;
          assert.equal(pose.keypoints.length, 17);
          for (const [i, k] of pose.keypoints.entries()) {
            const y = (box.yMin + kp[i * 3] * (box.yMax - box.yMin)) * image.height;
            const x = (box.xMin + kp[i * 3 + 1] * (box.xMax - box.xMin)) * image.width;
            const score = kp[i * 3 + 2];
            const d = Math.hypot(k.position.x - x, k.position.y - y);
            assert.ok(
              d <= maxPx,
              `${k.part} at (${k.position.x}, ${k.position.y}), ref (${x}, ${y})`,
            );
            assert.ok(
              Math.abs(k.score - score) <= TOLERANCE,
              `${k.part} score ${k.score}, ${score}`,
            );
            if (score > 0.2) {
              sum += score;
              count++;
            }
          }
          assert.ok(count >= 5, `only ${count} keypoints scored above 0.2 on ${PHOTO}`);
          assert.ok(Math.abs(pose.score - sum / count) <= TOLERANCE, `pose score ${pose.score}`);
        } finally {
          await engine.dispose();
        }
      },
    });
  }
}
