/**
 * pose-detection 2.1.3's own MoveNet detector (`createDetector(SupportedModels.MoveNet, …)` on
 * tfjs-backend-cpu) with its graph model swapped for one that returns outputs the test chooses.
 * Everything after the model is pose-detection's code: the single-pose crop tracking, keypoint
 * smoothing and crop-region filter, or the multi-pose score filter, tracker and per-track filters.
 * So our tracking code can be compared with pose-detection's on any keypoint sequence, without
 * running a network.
 *
 * The model is loaded from a one-node graph (`tf.io.fromMemory`), then its `moveNetModel` field
 * (the graph model, a plain JS field of pose-detection's `MoveNetDetector`) is replaced by an
 * object whose `execute()` returns the next output as a float32 tensor.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as poseDetection from "@tensorflow-models/pose-detection";

/** A pose as pose-detection returns it. */
export interface PoseDetectionPose {
  score?: number;
  keypoints: { x: number; y: number; score?: number; name?: string }[];
  box?: { xMin: number; yMin: number; xMax: number; yMax: number; width: number; height: number };
  id?: number;
}

/** pose-detection's detector around a model that returns what it is told. */
export interface FakeModelDetector {
  /**
   * Runs pose-detection's `estimatePoses` on a zero image of the given size, the model returning
   * `output` (single pose: 51 values, `[1, 1, 17, 3]`; multi pose: 56 per person, `[1, n, 56]`).
   */
  estimate(
    output: readonly number[],
    image: { width: number; height: number },
    timestampMs?: number,
  ): Promise<PoseDetectionPose[]>;
  /** pose-detection's `cropRegion` field (single pose): the next frame's region, or null. */
  readonly cropRegion: {
    yMin: number;
    xMin: number;
    yMax: number;
    xMax: number;
    height: number;
    width: number;
  } | null;
  /** pose-detection's `reset()`. */
  reset(): void;
  dispose(): void;
}

const EMPTY_GRAPH = {
  format: "graph-model",
  modelTopology: {
    versions: { producer: 1, minConsumer: 0 },
    node: [{ name: "input", op: "Placeholder", attr: { dtype: { type: "DT_INT32" } } }],
  },
  weightSpecs: [],
  weightData: new ArrayBuffer(0),
};

/**
 * Builds pose-detection's MoveNet detector with a fake model.
 *
 * @param config pose-detection's `MoveNetModelConfig` (modelType, enableSmoothing, tracker…).
 * @returns The detector.
 */
export async function createFakeModelDetector(
  config: Record<string, unknown>,
): Promise<FakeModelDetector> {
  if (tf.getBackend() !== "cpu") await tf.setBackend("cpu");
  await tf.ready();
  const detector = await poseDetection.createDetector(poseDetection.SupportedModels.MoveNet, {
    ...config,
    modelUrl: tf.io.fromMemory(EMPTY_GRAPH as unknown as tf.io.ModelArtifacts),
  } as poseDetection.MoveNetModelConfig);
  const multi = config.modelType === "MultiPose.Lightning";
  let next: readonly number[] = [];
  const holder = detector as unknown as {
    moveNetModel: unknown;
    cropRegion: FakeModelDetector["cropRegion"];
  };
  holder.moveNetModel = {
    execute: () =>
      multi
        ? tf.tensor3d(next as number[], [1, next.length / 56, 56], "float32")
        : tf.tensor4d(next as number[], [1, 1, 17, 3], "float32"),
    dispose() {},
  };
  const images = new Map<string, tf.Tensor3D>();
  return {
    async estimate(output, image, timestampMs) {
      next = output;
      const key = `${image.width}x${image.height}`;
      let tensor = images.get(key);
      if (!tensor) {
        tensor = tf.zeros([image.height, image.width, 3], "int32") as tf.Tensor3D;
        images.set(key, tensor);
      }
      return await detector.estimatePoses(tensor, {}, timestampMs) as PoseDetectionPose[];
    },
    get cropRegion() {
      return holder.cropRegion ?? null;
    },
    reset: () => detector.reset(),
    dispose() {
      for (const t of images.values()) t.dispose();
    },
  };
}
