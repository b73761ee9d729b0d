/**
 * The two shapes a pose comes in, and the conversions between them, written once: PoseNet's
 * `{score, keypoints: [{part, score, position: {x, y}}]}` (camelCase parts) and pose-detection's
 * `{score, keypoints: [{x, y, score, name}]}` (COCO names). Both list the same 17 parts in the
 * same order.
 *
 * @module
 */

import { PART_NAMES, type PartName, type Pose } from "../decode/keypoints.ts";
import { COCO_KEYPOINTS, type DetectedPose } from "./detector_types.ts";

/**
 * Copies the fields of a pose in a fixed order (score, keypoints: part, score, position x/y).
 *
 * @param pose A pose, possibly with extra fields.
 * @returns A plain pose with only the printed fields.
 *
 * @example
 * ```ts
 * import { plainPose } from "./pose_shapes.ts";
 * const pose = plainPose({ score: 1, keypoints: [] });
 * console.log(pose); // { score: 1, keypoints: [] }
 * ```
 */
export function plainPose(pose: Pose): Pose {
  return {
    score: pose.score,
    keypoints: pose.keypoints.map((k) => ({
      part: k.part,
      score: k.score,
      position: { x: k.position.x, y: k.position.y },
    })),
  };
}

/** COCO's keypoint names (pose-detection's) to PoseNet's, which list the same parts in order. */
const PART_OF_COCO: ReadonlyMap<string, PartName> = new Map(
  COCO_KEYPOINTS.map((name, i) => [name, PART_NAMES[i]]),
);

/**
 * A detector's pose (`{score, keypoints: [{x, y, score, name}]}`) in PoseNet's shape: each COCO
 * name becomes the PoseNet part at the same index (`left_eye` → `leftEye`), `x, y` become
 * `position`. The order of the keypoints is kept.
 *
 * @param pose A pose from `PoseDetector.estimatePoses`.
 * @returns The same pose as PoseNet prints it.
 * @throws {Error} When a keypoint's name is not one of the 17 COCO names.
 *
 * @example
 * ```ts
 * import { poseFromDetected } from "./pose_shapes.ts";
 * const pose = poseFromDetected({
 *   score: 0.8,
 *   keypoints: [{ x: 10, y: 20, score: 0.9, name: "left_ankle" }],
 * });
 * console.log(pose.keypoints[0]); // { part: "leftAnkle", score: 0.9, position: { x: 10, y: 20 } }
 * ```
 */
export function poseFromDetected(pose: DetectedPose): Pose {
  return {
    score: pose.score,
    keypoints: pose.keypoints.map((k) => {
      const part = PART_OF_COCO.get(k.name);
      if (part === undefined) {
        throw new Error(`the detector gave a keypoint named ${JSON.stringify(k.name)}, not COCO's`);
      }
      return { part, score: k.score, position: { x: k.x, y: k.y } };
    }),
  };
}

/**
 * A PoseNet pose in pose-detection's shape: each part becomes the COCO name at the same index
 * (`leftEye` → `left_eye`), `position` becomes `x, y`.
 *
 * @param pose A PoseNet pose.
 * @returns The same pose as pose-detection gives it.
 *
 * @example
 * ```ts
 * import { detectedFromPose } from "./pose_shapes.ts";
 * const pose = detectedFromPose({
 *   score: 0.8,
 *   keypoints: [{ part: "leftAnkle", score: 0.9, position: { x: 10, y: 20 } }],
 * });
 * console.log(pose.keypoints[0]); // { x: 10, y: 20, score: 0.9, name: "left_ankle" }
 * ```
 */
export function detectedFromPose(pose: Pose): DetectedPose {
  return {
    score: pose.score,
    keypoints: pose.keypoints.map((k) => ({
      x: k.position.x,
      y: k.position.y,
      score: k.score,
      name: COCO_KEYPOINTS[(PART_NAMES as readonly string[]).indexOf(k.part)],
    })),
  };
}
