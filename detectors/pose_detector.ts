/**
 * `createDetector()`: MoveNet and PoseNet behind `@tensorflow-models/pose-detection`'s interface.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { showJson } from "../_describe.ts";
import type {
  EstimationConfig,
  MoveNetConfig,
  PoseDetector,
  PoseNetDetectorConfig,
  SupportedModel,
} from "./detector_types.ts";
import { createMoveNetDetector } from "./movenet_model.ts";
import { createMoveNetMultiPoseDetector } from "./movenet_multipose_model.ts";
import { load } from "./posenet_model.ts";
import { detectedFromPose } from "./pose_shapes.ts";
import type { PoseImage } from "../runtime/pose_image.ts";

export type * from "./detector_types.ts";
export { COCO_KEYPOINTS } from "./detector_types.ts";

/**
 * Builds a pose detector, as pose-detection's `createDetector(model, config)` does.
 *
 * @param model `"MoveNet"` or `"PoseNet"`.
 * @param config The model's options ({@linkcode MoveNetConfig} or {@linkcode PoseNetDetectorConfig}).
 * @returns The detector; `dispose()` it when done.
 * @throws {InvalidInputError} For an unknown model or a bad option.
 * @throws {ModelLoadError} When the weights cannot be read.
 * @throws {WebGpuUnavailableError} When no WebGPU adapter can be found.
 *
 * @example
 * ```ts
 * import { createDetector } from "./pose_detector.ts";
 * import { readImageFile } from "../cli/read_image.ts";
 *
 * const detector = await createDetector("MoveNet", { modelType: "SinglePose.Lightning" });
 * const image = await readImageFile("tests/fixtures/photos/single_portrait.jpg");
 * const [pose] = await detector.estimatePoses(image);
 * console.log(pose.keypoints[0].name, pose.keypoints.length); // nose 17
 * detector.dispose();
 * ```
 */
export async function createDetector(
  model: "MoveNet",
  config?: MoveNetConfig,
): Promise<PoseDetector>;
/**
 * Builds a PoseNet detector: PoseNet behind pose-detection's interface.
 *
 * @param model `"PoseNet"`.
 * @param config Output stride, input resolution, weights, provider.
 * @returns The detector.
 */
export async function createDetector(
  model: "PoseNet",
  config?: PoseNetDetectorConfig,
): Promise<PoseDetector>;
/**
 * Builds the detector `model` names, with that model's config.
 *
 * @param model `"MoveNet"` or `"PoseNet"`.
 * @param config The model's options.
 * @returns The detector.
 */
export async function createDetector(
  model: SupportedModel,
  config?: MoveNetConfig | PoseNetDetectorConfig,
): Promise<PoseDetector>;
export async function createDetector(
  model: SupportedModel,
  config: MoveNetConfig | PoseNetDetectorConfig = {},
): Promise<PoseDetector> {
  if (typeof config !== "object" || config === null) {
    throw new InvalidInputError(
      `createDetector: config must be an object, got ${showJson(config)}`,
    );
  }
  if (model === "MoveNet") {
    const moveNet = config as MoveNetConfig;
    return moveNet.modelType === "MultiPose.Lightning"
      ? await createMoveNetMultiPoseDetector(moveNet)
      : await createMoveNetDetector(moveNet);
  }
  if (model === "PoseNet") return await createPoseNetDetector(config as PoseNetDetectorConfig);
  throw new InvalidInputError(
    `createDetector: model must be "MoveNet" or "PoseNet", got ${showJson(model)}`,
  );
}

async function createPoseNetDetector(config: PoseNetDetectorConfig): Promise<PoseDetector> {
  const net = await load({
    outputStride: config.outputStride,
    inputResolution: config.inputResolution,
    modelUrl: config.modelUrl,
    provider: config.provider,
    context: config.context,
    onProgress: config.onProgress,
  });
  return {
    model: "PoseNet MobileNetV1",
    inputResolution: net.inputResolution,
    async estimatePoses(image: PoseImage, options: EstimationConfig = {}) {
      const maxPoses = options.maxPoses ?? 1;
      if (!Number.isSafeInteger(maxPoses) || maxPoses < 1) {
        throw new InvalidInputError(
          `estimatePoses: maxPoses must be a positive integer, got ${showJson(maxPoses)}`,
        );
      }
      const flipHorizontal = options.flipHorizontal ?? false;
      const poses = maxPoses === 1
        ? [await net.estimateSinglePose(image, { flipHorizontal })]
        : await net.estimateMultiplePoses(image, { flipHorizontal, maxDetections: maxPoses });
      return poses.map(detectedFromPose);
    },
    reset() {},
    dispose: () => net.dispose(),
  };
}
