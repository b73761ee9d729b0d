/**
 * The 17 PoseNet keypoints, the tree the multi-pose decoder walks, the skeleton used for
 * drawing, and the public pose types.
 *
 * The order of {@link PART_NAMES} is the channel order of the heatmap and offset heads, and the
 * order of {@link POSE_CHAIN} is the channel order of the two displacement heads, so neither may
 * be changed.
 *
 * @example Look up a part's channel
 * ```ts
 * import { PART_IDS, PART_NAMES } from "./keypoints.ts";
 *
 * console.log(PART_IDS.leftWrist); // 9
 * console.log(PART_NAMES[9]); // "leftWrist"
 * ```
 *
 * @module
 */

/**
 * The keypoint names, in heatmap channel order.
 *
 * @example
 * ```ts
 * import { PART_NAMES } from "./keypoints.ts";
 * console.log(PART_NAMES[0], PART_NAMES.length); // "nose" 17
 * ```
 */
export const PART_NAMES: readonly [
  "nose",
  "leftEye",
  "rightEye",
  "leftEar",
  "rightEar",
  "leftShoulder",
  "rightShoulder",
  "leftElbow",
  "rightElbow",
  "leftWrist",
  "rightWrist",
  "leftHip",
  "rightHip",
  "leftKnee",
  "rightKnee",
  "leftAnkle",
  "rightAnkle",
] = Object.freeze(
  [
    "nose",
    "leftEye",
    "rightEye",
    "leftEar",
    "rightEar",
    "leftShoulder",
    "rightShoulder",
    "leftElbow",
    "rightElbow",
    "leftWrist",
    "rightWrist",
    "leftHip",
    "rightHip",
    "leftKnee",
    "rightKnee",
    "leftAnkle",
    "rightAnkle",
  ] as const,
);

/**
 * One of the 17 keypoint names.
 *
 * @example
 * ```ts
 * import type { PartName } from "./keypoints.ts";
 * const wrists: PartName[] = ["leftWrist", "rightWrist"];
 * ```
 */
export type PartName = (typeof PART_NAMES)[number];

/**
 * The number of keypoints (and of heatmap channels): 17.
 *
 * @example
 * ```ts
 * import { NUM_KEYPOINTS } from "./keypoints.ts";
 * const scores = new Float32Array(NUM_KEYPOINTS); // one per part
 * ```
 */
export const NUM_KEYPOINTS: number = 17;

/**
 * The number of edges in {@link POSE_CHAIN} (and of displacement channel pairs): 16.
 *
 * @example
 * ```ts
 * import { NUM_EDGES } from "./keypoints.ts";
 * const edge = 4; // nose → leftShoulder
 * console.log(edge, NUM_EDGES + edge); // channels of its y and x displacement
 * ```
 */
export const NUM_EDGES: number = 16;

/**
 * Keypoint name → heatmap channel index, the inverse of {@link PART_NAMES}.
 *
 * @example
 * ```ts
 * import { PART_IDS } from "./keypoints.ts";
 * console.log(PART_IDS.leftWrist); // 9
 * ```
 */
export const PART_IDS: Readonly<Record<PartName, number>> = Object.freeze(
  Object.fromEntries(PART_NAMES.map((name, index) => [name, index])) as Record<PartName, number>,
);

/**
 * A pair of keypoint names: parent → child in {@link POSE_CHAIN}, or the ends of a bone.
 *
 * @example
 * ```ts
 * import type { PartNamePair } from "./keypoints.ts";
 * const forearm: PartNamePair = ["leftElbow", "leftWrist"];
 * ```
 */
export type PartNamePair = readonly [PartName, PartName];

/**
 * A pair of keypoint channel indices.
 *
 * @example
 * ```ts
 * import { PART_IDS, type PartIndexPair } from "./keypoints.ts";
 * const forearm: PartIndexPair = [PART_IDS.leftElbow, PART_IDS.leftWrist]; // [7, 9]
 * ```
 */
export type PartIndexPair = readonly [number, number];

/**
 * The 16 parent → child edges of the keypoint tree rooted at the nose, in displacement channel
 * order: edge `e` has its y displacement in channel `e` and its x displacement in `16 + e`.
 *
 * @example
 * ```ts
 * import { POSE_CHAIN } from "./keypoints.ts";
 * console.log(POSE_CHAIN[0]); // ["nose", "leftEye"]
 * ```
 */
export const POSE_CHAIN: readonly PartNamePair[] = Object.freeze(
  [
    ["nose", "leftEye"],
    ["leftEye", "leftEar"],
    ["nose", "rightEye"],
    ["rightEye", "rightEar"],
    ["nose", "leftShoulder"],
    ["leftShoulder", "leftElbow"],
    ["leftElbow", "leftWrist"],
    ["leftShoulder", "leftHip"],
    ["leftHip", "leftKnee"],
    ["leftKnee", "leftAnkle"],
    ["nose", "rightShoulder"],
    ["rightShoulder", "rightElbow"],
    ["rightElbow", "rightWrist"],
    ["rightShoulder", "rightHip"],
    ["rightHip", "rightKnee"],
    ["rightKnee", "rightAnkle"],
  ] as const,
);

/**
 * {@link POSE_CHAIN} as `[parentIndex, childIndex]` channel indices.
 *
 * @example
 * ```ts
 * import { POSE_CHAIN_INDICES } from "./keypoints.ts";
 * console.log(POSE_CHAIN_INDICES[0]); // [0, 1]: nose → leftEye
 * ```
 */
export const POSE_CHAIN_INDICES: readonly PartIndexPair[] = Object.freeze(
  POSE_CHAIN.map(([parent, child]) => Object.freeze([PART_IDS[parent], PART_IDS[child]] as const)),
);

/**
 * The 12 bones drawn between keypoints (PoseNet's `connectedPartNames`), in PoseNet's order.
 * The face has no bones.
 *
 * @example
 * ```ts
 * import { CONNECTED_PART_NAMES } from "./keypoints.ts";
 * for (const [a, b] of CONNECTED_PART_NAMES) console.log(`${a} – ${b}`);
 * ```
 */
export const CONNECTED_PART_NAMES: readonly PartNamePair[] = Object.freeze(
  [
    ["leftHip", "leftShoulder"],
    ["leftElbow", "leftShoulder"],
    ["leftElbow", "leftWrist"],
    ["leftHip", "leftKnee"],
    ["leftKnee", "leftAnkle"],
    ["rightHip", "rightShoulder"],
    ["rightElbow", "rightShoulder"],
    ["rightElbow", "rightWrist"],
    ["rightHip", "rightKnee"],
    ["rightKnee", "rightAnkle"],
    ["leftShoulder", "rightShoulder"],
    ["leftHip", "rightHip"],
  ] as const,
);

/**
 * {@link CONNECTED_PART_NAMES} as keypoint index pairs (PoseNet's `connectedPartIndices`).
 *
 * @example
 * ```ts
 * import { type Pose, SKELETON } from "./keypoints.ts";
 *
 * // The bones of a pose whose both ends score at least 0.5, as line segments.
 * function bones(pose: Pose): [number, number, number, number][] {
 *   return SKELETON
 *     .filter(([a, b]) => pose.keypoints[a].score >= 0.5 && pose.keypoints[b].score >= 0.5)
 *     .map(([a, b]) => {
 *       const [p, q] = [pose.keypoints[a].position, pose.keypoints[b].position];
 *       return [p.x, p.y, q.x, q.y];
 *     });
 * }
 * ```
 */
export const SKELETON: readonly PartIndexPair[] = Object.freeze(
  CONNECTED_PART_NAMES.map(([a, b]) => Object.freeze([PART_IDS[a], PART_IDS[b]] as const)),
);

/**
 * A 2-D point or vector in pixels.
 *
 * @example
 * ```ts
 * import type { Vector2D } from "./keypoints.ts";
 * const nose: Vector2D = { x: 314.9, y: 331.5 };
 * ```
 */
export interface Vector2D {
  /** Horizontal coordinate, growing to the right. */
  x: number;
  /** Vertical coordinate, growing downwards. */
  y: number;
}

/**
 * One detected keypoint.
 *
 * @example
 * ```ts
 * import type { Keypoint } from "./keypoints.ts";
 * const nose: Keypoint = { part: "nose", score: 0.99, position: { x: 314.9, y: 331.5 } };
 * ```
 */
export interface Keypoint {
  /** The keypoint's name, one of {@link PART_NAMES}. */
  part: string;
  /** Confidence in [0, 1]: the sigmoid of the heatmap logit at the keypoint's cell. */
  score: number;
  /** Position in pixels (network input pixels, or image pixels once mapped back). */
  position: Vector2D;
}

/**
 * One detected person.
 *
 * @example
 * ```ts
 * import { PART_IDS, type Pose } from "./keypoints.ts";
 *
 * function leftWrist(pose: Pose): { x: number; y: number } | undefined {
 *   const k = pose.keypoints[PART_IDS.leftWrist];
 *   return k.score >= 0.5 ? k.position : undefined;
 * }
 * ```
 */
export interface Pose {
  /** Pose confidence in [0, 1]. */
  score: number;
  /** All 17 keypoints, in {@link PART_NAMES} order. */
  keypoints: Keypoint[];
}
