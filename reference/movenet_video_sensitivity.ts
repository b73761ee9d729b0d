/**
 * How sensitive pose-detection 2.1.3's own MoveNet video loop is to a tiny change of its crop:
 * runs its SinglePose Lightning detector (tfjs 4.22 cpu, smoothing on) twice over the first 10
 * frames of the moving test sequence (`tests/support/video_frames.ts`), the second time with the
 * crop region it chose after the first frame moved down by 1e-7 of the frame, and prints per frame
 * the largest keypoint distance and pose score difference between the two runs. (Our detector
 * and pose-detection's differ by about that much after a first frame; the README's accuracy
 * section quotes this.)
 *
 * ```sh
 * deno run -A reference/movenet_video_sensitivity.ts   # about 30 s
 * ```
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as poseDetection from "@tensorflow-models/pose-detection";
import { readTfjsGraphArtifacts } from "./tfjs_artifacts.ts";
import { toImageTensor } from "./tfjs_movenet.ts";
import { moveNetWeights } from "../tests/support/movenet_weights.ts";
import { movingSequence, renderFrames } from "../tests/support/video_frames.ts";

type Pose = { score: number; keypoints: { x: number; y: number }[] };

async function run(perturb: number): Promise<Pose[][]> {
  const specs = movingSequence().slice(0, 10);
  const frames = await renderFrames(specs);
  const detector = await poseDetection.createDetector(poseDetection.SupportedModels.MoveNet, {
    modelType: poseDetection.movenet.modelType.SINGLEPOSE_LIGHTNING,
    enableSmoothing: true,
    modelUrl: tf.io.fromMemory(
      await readTfjsGraphArtifacts(await moveNetWeights("movenet-lightning")),
    ),
  });
  // pose-detection keeps the next frame's region in this plain field of its MoveNetDetector.
  const state = detector as unknown as { cropRegion: Record<string, number> };
  const out: Pose[][] = [];
  try {
    for (const [i, frame] of frames.entries()) {
      const input = toImageTensor(frame);
      out.push(await detector.estimatePoses(input, {}, specs[i].timestampMs) as Pose[]);
      input.dispose();
      if (i === 0) {
        const r = state.cropRegion;
        state.cropRegion = { ...r, yMin: r.yMin + perturb, yMax: r.yMax + perturb };
      }
    }
  } finally {
    detector.dispose();
  }
  return out;
}

if (import.meta.main) {
  await tf.setBackend("cpu");
  const [plain, moved] = [await run(0), await run(1e-7)];
  for (const [i, poses] of plain.entries()) {
    const [a, b] = [poses[0], moved[i][0]];
    if (!a || !b) {
      console.log(`frame ${i}: ${poses.length} vs ${moved[i].length} poses`);
      continue;
    }
    const px = Math.max(
      ...a.keypoints.map((k, j) => Math.hypot(k.x - b.keypoints[j].x, k.y - b.keypoints[j].y)),
    );
    console.log(
      `frame ${i}: keypoints up to ${px.toFixed(4)} px apart, pose score ` +
        `${Math.abs(a.score - b.score).toExponential(1)}`,
    );
  }
}
