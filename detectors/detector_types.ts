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

/** MoveNet's single-pose variants, named as pose-detection's `movenet.modelType`. */
export type MoveNetModelType = "SinglePose.Lightning" | "SinglePose.Thunder";

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
   * @param image RGBA or RGB bytes with their size.
   * @param config Per-call options.
   * @returns The poses (possibly none), keypoints in image pixels.
   */
  estimatePoses(image: PoseImage, config?: EstimationConfig): Promise<DetectedPose[]>;
  /** Forgets state kept between frames (none yet: every call is a still image). */
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
