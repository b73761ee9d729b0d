/**
 * The pose-detection-shaped API (`@tensorflow-models/pose-detection`): one detector interface for
 * every model, so code written for pose-detection switches by changing its import.
 *
 * @module
 */

import type { GpuContext } from "../runtime/gpu_context.ts";
import type { WebGpuProvider } from "../runtime/webgpu_provider.ts";
import type { PoseImage } from "../runtime/pose_image.ts";

/** The models {@linkcode createDetector} builds, named as pose-detection's `SupportedModels`. */
export type SupportedModel = "MoveNet" | "PoseNet";

/** MoveNet's variants, named as pose-detection's `movenet.modelType`. */
export type MoveNetModelType =
  | "SinglePose.Lightning"
  | "SinglePose.Thunder"
  | "MultiPose.Lightning";

/** How MultiPose poses are matched to tracks from frame to frame, as pose-detection's `TrackerType`. */
export type TrackerType = "boundingBox" | "keypoint";

/** pose-detection's `KeypointTrackerConfig`: the OKS similarity's parameters. */
export interface KeypointTrackerParams {
  /** Keypoints scoring below this are left out of the similarity. */
  readonly keypointConfidenceThreshold: number;
  /** Per-keypoint falloff (COCO's sigmas), 17 numbers. */
  readonly keypointFalloff: readonly number[];
  /** Fewer confident keypoints than this give similarity 0. */
  readonly minNumberOfKeypoints: number;
}

/** pose-detection's `TrackerConfig`. */
export interface TrackerConfig {
  /** Most tracks kept. */
  readonly maxTracks: number;
  /** A track not matched for this many milliseconds is dropped. */
  readonly maxAge: number;
  /** A pose joins a track only above this similarity (IoU or OKS). */
  readonly minSimilarity: number;
  /** For `trackerType: "keypoint"`. */
  readonly keypointTrackerParams?: KeypointTrackerParams;
}

/** A box in fractions of the model's input, as pose-detection's `BoundingBox`. */
export interface BoundingBox {
  /** Left edge. */
  readonly xMin: number;
  /** Top edge. */
  readonly yMin: number;
  /** Right edge. */
  readonly xMax: number;
  /** Bottom edge. */
  readonly yMax: number;
  /** xMax − xMin. */
  readonly width: number;
  /** yMax − yMin. */
  readonly height: number;
}

/** One keypoint, in original image pixels (not clamped to the image). */
export interface DetectorKeypoint {
  /** Column. */
  readonly x: number;
  /** Row. */
  readonly y: number;
  /** Confidence in [0, 1]. */
  readonly score: number;
  /** COCO name: `nose`, `left_eye`, … `right_ankle`. */
  readonly name: string;
}

/** One person. */
export interface DetectedPose {
  /** Pose confidence (MoveNet: the mean of the keypoint scores above 0.2). */
  readonly score: number;
  /** The 17 keypoints in COCO order. */
  readonly keypoints: readonly DetectorKeypoint[];
  /** MultiPose: the person's box (pose-detection's `box`). */
  readonly box?: BoundingBox;
  /** With tracking (MultiPose on video frames): the track's id, stable across frames. */
  readonly id?: number;
}

/** What the detectors share. */
export interface DetectorConfigBase {
  /** A TF.js `model.json` path or URL instead of the default weights. */
  readonly modelUrl?: string | URL;
  /** The WebGPU implementation; default `$POSENET_WEBGPU`, else Deno's own. */
  readonly provider?: WebGpuProvider;
  /** Run on this device context instead of making one (the caller destroys it). */
  readonly context?: GpuContext;
  /** Receives progress lines (the one-time weights download). */
  readonly onProgress?: (message: string) => void;
}

/** `createDetector("MoveNet", config)`. */
export interface MoveNetConfig extends DetectorConfigBase {
  /** Default `"SinglePose.Lightning"`. */
  readonly modelType?: MoveNetModelType;
  /** Poses scoring below this are dropped (default 0.25, as pose-detection). */
  readonly minPoseScore?: number;
  /**
   * One-Euro keypoint smoothing on video frames, i.e. calls given a timestamp (default true, as
   * pose-detection). Still images (no timestamp) are never smoothed.
   */
  readonly enableSmoothing?: boolean;
  /** MultiPose: the input's longer side (default 256, a multiple of 32). */
  readonly multiPoseMaxDimension?: number;
  /** MultiPose: give poses track ids across video frames (default true). */
  readonly enableTracking?: boolean;
  /** MultiPose: match by box IoU or by keypoint OKS (default `"boundingBox"`). */
  readonly trackerType?: TrackerType;
  /** MultiPose: the tracker's limits (default pose-detection's for the tracker type). */
  readonly trackerConfig?: TrackerConfig;
}

/** `createDetector("PoseNet", config)`: PoseNet through the same interface. */
export interface PoseNetDetectorConfig extends DetectorConfigBase {
  /** 8, 16 or 32 (default 16). */
  readonly outputStride?: 8 | 16 | 32;
  /** Square size or width and height (default 257). */
  readonly inputResolution?: number | { readonly width: number; readonly height: number };
}

/** Per-call options of {@linkcode PoseDetector.estimatePoses}. */
export interface EstimationConfig {
  /** Most poses returned (default 1: single pose; PoseNet only above 1). */
  readonly maxPoses?: number;
  /** Mirror the result horizontally (x → width − x), as for a selfie camera. */
  readonly flipHorizontal?: boolean;
}

/** A loaded pose model. */
export interface PoseDetector {
  /** The model this detector runs, e.g. `"MoveNet SinglePose.Lightning"`. */
  readonly model: string;
  /** Side lengths of the model's input tensor. */
  readonly inputResolution: { readonly width: number; readonly height: number };
  /**
   * Estimates the poses in one image.
   *
   * A call with a timestamp is a video frame: MoveNet SinglePose then crops around the previous
   * frame's pose, keypoints are smoothed, and MultiPose poses get track ids. A call without one is
   * a still image, independent of every other call.
   *
   * @param image RGBA or RGB bytes with their size.
   * @param config Per-call options.
   * @param timestampMs The frame's time in milliseconds, increasing from frame to frame (as
   * pose-detection's third argument).
   * @returns The poses (possibly none), keypoints in image pixels.
   */
  estimatePoses(
    image: PoseImage,
    config?: EstimationConfig,
    timestampMs?: number,
  ): Promise<DetectedPose[]>;
  /** Forgets the state kept between video frames (crop region, filters, tracks). */
  reset(): void;
  /** Frees the GPU resources (and the device context if the detector made it). */
  dispose(): void;
}

/** COCO's 17 keypoint names in model order, as pose-detection names them. */
export const COCO_KEYPOINTS: readonly string[] = Object.freeze([
  "nose",
  "left_eye",
  "right_eye",
  "left_ear",
  "right_ear",
  "left_shoulder",
  "right_shoulder",
  "left_elbow",
  "right_elbow",
  "left_wrist",
  "right_wrist",
  "left_hip",
  "right_hip",
  "left_knee",
  "right_knee",
  "left_ankle",
  "right_ankle",
]);
