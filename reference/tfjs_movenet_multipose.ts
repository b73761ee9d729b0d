/**
 * The ORIGINAL `@tensorflow-models/pose-detection` 2.1.3 MoveNet MultiPose Lightning detector on
 * TF.js 4.22, loaded from our local weights file, run on still images: the reference of
 * `tests/fixtures/make_movenet_multipose_reference.ts` (on the `cpu` backend) and the TF.js bench
 * peer (`webgpu`). Built on `tfjs_movenet.ts` (the image tensor, the weights check).
 *
 * Nothing about MultiPose is re-implemented: `createDetector(SupportedModels.MoveNet, {modelType:
 * "MultiPose.Lightning", modelUrl, enableSmoothing: false, enableTracking: false})` builds
 * pose-detection's own detector, whose `estimateMultiplePoses` resizes, pads, casts, runs the
 * graph and filters the poses. This module only hands it our files and an int32 image tensor and,
 * when tracing, records the model input's shape and sha256 and the raw `[1, 6, 56]` output by
 * wrapping the graph model's `execute` for one call; the values returned are untouched.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import type * as tfconv from "@tensorflow/tfjs-converter";
import "@tensorflow/tfjs-backend-cpu";
import * as poseDetection from "@tensorflow-models/pose-detection";
import { createHash } from "node:crypto";
import { readTfjsGraphArtifacts } from "./tfjs_artifacts.ts";
import { checkOurWeights, type MoveNetImage, toImageTensor } from "./tfjs_movenet.ts";

/** pose-detection's MultiPose box: fractions of the padded model input. */
export interface MultiPoseBox {
  yMin: number;
  xMin: number;
  yMax: number;
  xMax: number;
  width: number;
  height: number;
}

/** A pose as pose-detection's MultiPose returns it (tracking off: no id). */
export interface MultiPosePose {
  score: number;
  box: MultiPoseBox;
  /** The track id (video frames with tracking on). */
  id?: number;
  keypoints: { x: number; y: number; score: number; name: string }[];
}

/** One traced call. */
export interface MultiPoseRun {
  /** `estimatePoses`' result. */
  poses: MultiPosePose[];
  /** The model input's shape, `[1, H, W, 3]` (the padded size). */
  inputShape: number[];
  /** sha256 (hex) of the int32 model input, little-endian. */
  inputSha256: string;
  /** The raw `[1, 6, 56]` output, flattened. */
  rawOutput: number[];
}

/** A pose-detection MultiPose detector on the active backend. */
export interface TfjsMultiPoseDetector {
  /**
   * `estimatePoses(image, {}, timestampMs)`, as pose-detection returns it: a still image without
   * a timestamp, a video frame with one.
   */
  estimatePoses(image: MoveNetImage, timestampMs?: number): Promise<MultiPosePose[]>;
  /** The same, recording the model input's hash and the raw output. */
  trace(image: MoveNetImage, timestampMs?: number): Promise<MultiPoseRun>;
  /** Frees the detector's model. */
  dispose(): void;
}

/** Tracking options handed to pose-detection's `createDetector` (all off by default here). */
export interface TfjsMultiPoseTracking {
  readonly enableTracking?: boolean;
  readonly enableSmoothing?: boolean;
  /** pose-detection's `trackerType`: `"boundingBox"` (its default) or `"keypoint"`. */
  readonly trackerType?: "boundingBox" | "keypoint";
}

/**
 * Builds pose-detection's MoveNet MultiPose detector on the active TF.js backend from our files,
 * smoothing and tracking off unless `tracking` turns them on (pose-detection's own tracker and
 * filters then run, with its default tracker config), `minPoseScore` and `multiPoseMaxDimension`
 * at their defaults (0.25, 256), and checks that the graph holds our weights.
 *
 * @param source Path of the model JSON, or its artifacts.
 * @param tracking pose-detection's tracking options.
 * @returns The detector.
 * @throws {Error} When the loaded graph's weights are not those of the files.
 */
export async function createTfjsMultiPoseDetector(
  source: string | tf.io.ModelArtifacts,
  tracking: TfjsMultiPoseTracking = {},
): Promise<TfjsMultiPoseDetector> {
  const artifacts = typeof source === "string" ? await readTfjsGraphArtifacts(source) : source;
  const detector = await poseDetection.createDetector(poseDetection.SupportedModels.MoveNet, {
    modelType: poseDetection.movenet.modelType.MULTIPOSE_LIGHTNING,
    modelUrl: tf.io.fromMemory(artifacts),
    enableSmoothing: tracking.enableSmoothing ?? false,
    enableTracking: tracking.enableTracking ?? false,
    ...(tracking.trackerType
      ? {
        trackerType: poseDetection
          .TrackerType[tracking.trackerType === "keypoint" ? "Keypoint" : "BoundingBox"],
      }
      : {}),
  });
  const graph = (detector as unknown as { moveNetModel: tfconv.GraphModel }).moveNetModel;
  try {
    await checkOurWeights(graph, artifacts);
  } catch (e) {
    detector.dispose();
    throw e;
  }
  const estimate = async (image: MoveNetImage, timestampMs?: number): Promise<MultiPosePose[]> => {
    const input = toImageTensor(image);
    try {
      const poses = await detector.estimatePoses(input, {}, timestampMs);
      return poses.map((p) => ({
        score: p.score!,
        box: { ...p.box! },
        ...(p.id === undefined ? {} : { id: p.id }),
        keypoints: p.keypoints.map((k) => ({ x: k.x, y: k.y, score: k.score!, name: k.name! })),
      }));
    } finally {
      input.dispose();
    }
  };
  return {
    estimatePoses: estimate,
    async trace(image: MoveNetImage, timestampMs?: number): Promise<MultiPoseRun> {
      const inputs: { shape: number[]; sha256: string }[] = [];
      const outputs: number[][] = [];
      const execute = graph.execute;
      graph.execute = ((input: tf.Tensor, outputNames?: string | string[]) => {
        const data = input.dataSync();
        const le = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        inputs.push({ shape: input.shape, sha256: createHash("sha256").update(le).digest("hex") });
        const out = execute.call(graph, input, outputNames) as tf.Tensor;
        outputs.push(Array.from(out.dataSync()));
        return out;
      }) as typeof graph.execute;
      try {
        const poses = await estimate(image, timestampMs);
        if (inputs.length !== 1 || outputs[0]?.length !== 6 * 56) {
          throw new Error(`expected one model call giving 6 × 56 values, saw ${inputs.length}`);
        }
        return {
          poses,
          inputShape: inputs[0].shape,
          inputSha256: inputs[0].sha256,
          rawOutput: outputs[0],
        };
      } finally {
        graph.execute = execute;
      }
    },
    dispose: () => detector.dispose(),
  };
}
