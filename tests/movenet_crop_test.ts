import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as poseDetection from "@tensorflow-models/pose-detection";
import { initCropRegion as poseDetectionInitCropRegion } from "@tensorflow-models/pose-detection/dist/movenet/crop_utils.js";
import {
  cropBox,
  cropToImageKeypoints,
  initCropRegion,
  movenetPoseScore,
} from "../decode/movenet_crop.ts";
import { createCropResizeKernel, runCropResizeOnce } from "../kernels/crop_resize_kernel.ts";
import { createMovenetDecoder, runMovenetDecodeOnce } from "../decode/movenet_decode_gpu.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { readImageFile } from "../cli/read_image.ts";
import { InvalidInputError } from "../errors.ts";
import {
  f32Ulps,
  loadTfjsMovenet,
  MOVENET_SCORE_ULPS,
  type MovenetModel,
  readMovenetArtifacts,
  runTfjsMovenet,
} from "./support/movenet_graph.ts";
import { mulberry32, runSeed } from "./support/random.ts";

tf.env().set("IS_NODE", false);
await tf.setBackend("cpu");

const PHOTOS = "tests/fixtures/photos";

/** Image sizes: landscape, portrait, square, single rows and columns, odd, the photos' sizes. */
function drawSizes(): [number, number][] {
  const rng = mulberry32(runSeed("movenet crop sizes"));
  const fixed: [number, number][] = [
    [640, 480],
    [480, 640],
    [700, 700],
    [1, 1],
    [1, 1000],
    [1000, 1],
    [1920, 1367],
    [1920, 1448],
    [333, 999],
    [7, 3],
    [3, 7],
  ];
  for (let i = 0; i < 200; i++) {
    fixed.push([1 + Math.floor(rng() * 4000), 1 + Math.floor(rng() * 4000)]);
  }
  return fixed;
}

const SIZES = drawSizes();

Deno.test("`initCropRegion()` equals pose-detection's initCropRegion", () => {
  for (const [width, height] of SIZES) {
    for (const firstFrame of [true, false]) {
      assert.deepEqual(
        initCropRegion(width, height, firstFrame),
        poseDetectionInitCropRegion(firstFrame, { width, height }),
        `${width}x${height}, firstFrame ${firstFrame}`,
      );
    }
  }
  assert.throws(
    () => initCropRegion(0, 10),
    (e: unknown) =>
      e instanceof InvalidInputError &&
      /image width must be a positive integer, got 0/.test(e.message),
  );
});

Deno.test("`cropBox()` is the box tf.tensor2d stores", () => {
  for (const [width, height] of SIZES) {
    const region = initCropRegion(width, height);
    const stored = tf.tidy(() =>
      tf.tensor2d([[region.yMin, region.xMin, region.yMax, region.xMax]]).dataSync()
    );
    assert.deepEqual(Array.from(cropBox(region)), Array.from(stored), `${width}x${height}`);
  }
});

/** pose-detection's MoveNet detector on tfjs-backend-cpu with the given weights, smoothing off. */
async function poseDetectionDetector(model: MovenetModel): Promise<poseDetection.PoseDetector> {
  const modelType = model === "movenet-lightning" ? "SinglePose.Lightning" : "SinglePose.Thunder";
  return await poseDetection.createDetector(poseDetection.SupportedModels.MoveNet, {
    modelType,
    enableSmoothing: false,
    modelUrl: tf.io.fromMemory(await readMovenetArtifacts(model)) as unknown as string,
  });
}

Deno.test("`cropToImageKeypoints()` and `movenetPoseScore()` give pose-detection's poses on the photos", async (t) => {
  const gpu = await createGpuContext();
  const cases: [MovenetModel, string, boolean][] = [
    ["movenet-lightning", "single_portrait.jpg", false],
    ["movenet-lightning", "group4_standing.jpg", false],
    ["movenet-lightning", "single_green_dress_crop.jpg", false],
    ["movenet-lightning", "single_uniform_crop.png", false],
    ["movenet-lightning", "single_portrait.jpg", true],
    ["movenet-thunder", "group5_stairs.jpg", false],
  ];
  let worstScoreUlps = 0;
  let compared = 0;
  try {
    for (const model of ["movenet-lightning", "movenet-thunder"] as const) {
      const net = await loadTfjsMovenet(model);
      const detector = await poseDetectionDetector(model);
      const crop = await createCropResizeKernel(gpu, { size: net.inputSize });
      const decoder = await createMovenetDecoder(gpu, net.decode);
      try {
        for (const [caseModel, photo, mirrored] of cases) {
          if (caseModel !== model) continue;
          await t.step(`${model}: ${photo}${mirrored ? " mirrored" : ""}`, async () => {
            const img = await readImageFile(`${PHOTOS}/${photo}`);
            // The reference: pose-detection on the image (mirrored with tf.reverse: MoveNet
            // itself has no flipHorizontal; its estimation config is ignored).
            const image = tf.tidy(() => {
              const rgba = tf.tensor3d(
                Int32Array.from(img.data),
                [img.height, img.width, 4],
                "int32",
              );
              const rgb = tf.slice(rgba, [0, 0, 0], [-1, -1, 3]);
              return mirrored ? tf.reverse(rgb, 1) : rgb;
            });
            const poses = await detector.estimatePoses(
              image as unknown as poseDetection.PoseDetectorInput,
            );
            detector.reset();
            image.dispose();

            // Ours: the GPU crop, the graph, then the GPU decode or the graph's own output.
            const region = initCropRegion(img.width, img.height);
            const ints = await runCropResizeOnce(gpu, crop, img, {
              box: cropBox(region),
              flipHorizontal: mirrored,
            });
            const run = runTfjsMovenet(net, Int32Array.from(ints));
            const fromGraph = cropToImageKeypoints(run.output, region, img.width, img.height);
            const score = movenetPoseScore(fromGraph.map((k) => k.score));
            if (poses.length === 0) {
              assert.ok(score < 0.25, `pose-detection found no pose, ours scores ${score}`);
              return;
            }
            assert.equal(score, poses[0].score, "pose score");
            compared++;
            assert.deepEqual(
              fromGraph,
              poses[0].keypoints.map(({ x, y, score }) => ({ y, x, score })),
              "keypoints from the graph's own output",
            );
            const decoded = await runMovenetDecodeOnce(gpu, decoder, run);
            const fromGpu = cropToImageKeypoints(decoded.keypoints, region, img.width, img.height);
            fromGpu.forEach((k, i) => {
              const ref = poses[0].keypoints[i];
              assert.equal(k.x, ref.x, `keypoint ${i} x`);
              assert.equal(k.y, ref.y, `keypoint ${i} y`);
              const ulps = f32Ulps(k.score, ref.score!);
              assert.ok(
                ulps <= MOVENET_SCORE_ULPS,
                `keypoint ${i} score ${k.score} vs ${ref.score} (${ulps} ULP)`,
              );
              worstScoreUlps = Math.max(worstScoreUlps, ulps);
            });
          });
        }
      } finally {
        crop.dispose();
        decoder.dispose();
        detector.dispose();
        net.graph.dispose();
      }
    }
  } finally {
    console.log(
      `pose-detection agreement: ${compared} of ${cases.length} photos with a pose, worst score ` +
        `difference through the GPU decode ${worstScoreUlps} ULP`,
    );
    gpu.destroy();
  }
});
