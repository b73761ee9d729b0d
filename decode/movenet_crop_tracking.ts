/**
 * pose-detection 2.1.3's MoveNet SinglePose crop tracking for video: the next frame's crop region
 * from this frame's keypoints (`determineNextCropRegion`, `torsoVisible` and the torso and body
 * range in `movenet/crop_utils.js`), and the low-pass filter over the region's edges
 * (`filterCropRegion` in `movenet/detector.js`, alpha `CROP_FILTER_ALPHA` 0.9), and the state
 * one video keeps ({@linkcode MoveNetCropTracker}). Same f64 arithmetic in the same order, so the
 * regions are pose-detection's bit for bit.
 *
 * @module
 */

import { type CropRegion, initCropRegion, MIN_CROP_KEYPOINT_SCORE } from "./movenet_crop.ts";
import {
  KeypointsOneEuroFilter,
  MOVENET_KEYPOINT_FILTER_CONFIG,
} from "../tracking/keypoints_one_euro_filter.ts";
import { LowPassFilter } from "../tracking/low_pass_filter.ts";
import type { TrackedKeypoint } from "../tracking/tracker.ts";

/** pose-detection's `CROP_FILTER_ALPHA`: the weight of a new crop region edge. */
export const CROP_FILTER_ALPHA = 0.9;

/** COCO indices of the torso's joints. */
const LEFT_SHOULDER = 5;
const RIGHT_SHOULDER = 6;
const LEFT_HIP = 11;
const RIGHT_HIP = 12;
const TORSO = [LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP];

/**
 * Whether MoveNet sees a torso: a hip and a shoulder (either side) above
 * {@linkcode MIN_CROP_KEYPOINT_SCORE}.
 *
 * @param keypoints The 17 COCO keypoints.
 * @returns `true` when the crop can be centred on the hips.
 *
 * @example
 * ```ts
 * import { torsoVisible } from "./movenet_crop_tracking.ts";
 * const kps = Array.from({ length: 17 }, (_, i) => ({ x: 0.5, y: 0.5, score: i === 5 || i === 12 ? 0.6 : 0.1 }));
 * console.log(torsoVisible(kps)); // true: left shoulder and right hip
 * ```
 */
export function torsoVisible(keypoints: readonly TrackedKeypoint[]): boolean {
  const seen = (i: number) => keypoints[i].score > MIN_CROP_KEYPOINT_SCORE;
  return (seen(LEFT_HIP) || seen(RIGHT_HIP)) && (seen(LEFT_SHOULDER) || seen(RIGHT_SHOULDER));
}

/**
 * pose-detection's `determineNextCropRegion`: with a torso visible, the square centred on the
 * hips' midpoint whose half side is the largest of 1.9 × the torso's reach and 1.2 × the body's
 * (keypoints scoring at least {@linkcode MIN_CROP_KEYPOINT_SCORE}), in pixels, capped at the
 * farthest image edge from the centre; when that half side exceeds half the image's longer side,
 * or no torso is visible, `initCropRegion` (the padded whole image when `current` is given, the
 * first-frame square otherwise).
 *
 * @param current The region this frame was cut from (`null` when there is none).
 * @param keypoints This frame's 17 keypoints in fractions of the image (smoothed, when smoothing).
 * @param imageWidth Image columns.
 * @param imageHeight Image rows.
 * @returns The next frame's region, before {@linkcode CropRegionFilter}.
 *
 * @example
 * ```ts
 * import { determineNextCropRegion } from "./movenet_crop_tracking.ts";
 * import { initCropRegion } from "./movenet_crop.ts";
 * // A small person in the middle of a 640x480 frame.
 * const kps = Array.from({ length: 17 }, (_, i) => ({ x: 0.5 + (i % 2) * 0.02, y: 0.3 + i * 0.02, score: 0.8 }));
 * const next = determineNextCropRegion(initCropRegion(640, 480), kps, 640, 480);
 * console.log(next.yMin.toFixed(3), next.yMax.toFixed(3)); // 0.254 0.806: around the person
 * ```
 */
export function determineNextCropRegion(
  current: CropRegion | null,
  keypoints: readonly TrackedKeypoint[],
  imageWidth: number,
  imageHeight: number,
): CropRegion {
  if (!torsoVisible(keypoints)) return initCropRegion(imageWidth, imageHeight, current == null);
  const targetY = keypoints.map((k) => k.y * imageHeight);
  const targetX = keypoints.map((k) => k.x * imageWidth);
  const centerY = (targetY[LEFT_HIP] + targetY[RIGHT_HIP]) / 2;
  const centerX = (targetX[LEFT_HIP] + targetX[RIGHT_HIP]) / 2;
  // Running maxima by `>`, as pose-detection keeps them (a NaN distance is skipped).
  let torsoY = 0.0;
  let torsoX = 0.0;
  for (const i of TORSO) {
    const [dy, dx] = [Math.abs(centerY - targetY[i]), Math.abs(centerX - targetX[i])];
    if (dy > torsoY) torsoY = dy;
    if (dx > torsoX) torsoX = dx;
  }
  let bodyY = 0.0;
  let bodyX = 0.0;
  for (let i = 0; i < keypoints.length; i++) {
    if (keypoints[i].score < MIN_CROP_KEYPOINT_SCORE) continue;
    const [dy, dx] = [Math.abs(centerY - targetY[i]), Math.abs(centerX - targetX[i])];
    if (dy > bodyY) bodyY = dy;
    if (dx > bodyX) bodyX = dx;
  }
  let half = Math.max(torsoX * 1.9, torsoY * 1.9, bodyY * 1.2, bodyX * 1.2);
  half = Math.min(
    half,
    Math.max(centerX, imageWidth - centerX, centerY, imageHeight - centerY),
  );
  if (half > Math.max(imageWidth, imageHeight) / 2) {
    return initCropRegion(imageWidth, imageHeight, current == null);
  }
  const [cornerY, cornerX] = [centerY - half, centerX - half];
  const length = half * 2;
  const yMin = cornerY / imageHeight;
  const xMin = cornerX / imageWidth;
  const yMax = (cornerY + length) / imageHeight;
  const xMax = (cornerX + length) / imageWidth;
  return { yMin, xMin, yMax, xMax, height: yMax - yMin, width: xMax - xMin };
}

/**
 * The low-pass filter over a crop region's four edges (alpha {@linkcode CROP_FILTER_ALPHA}), as
 * pose-detection's `filterCropRegion`: the first region passes through.
 *
 * @example
 * ```ts
 * import { CropRegionFilter } from "./movenet_crop_tracking.ts";
 * import { initCropRegion } from "./movenet_crop.ts";
 *
 * const filter = new CropRegionFilter();
 * filter.apply(initCropRegion(100, 100));
 * const r = filter.apply({ yMin: 0.1, xMin: 0.1, yMax: 0.9, xMax: 0.9, height: 0.8, width: 0.8 });
 * console.log(r.yMin.toFixed(2), r.height.toFixed(2)); // 0.09 0.82
 * ```
 */
export class CropRegionFilter {
  readonly #yMin = new LowPassFilter(CROP_FILTER_ALPHA);
  readonly #xMin = new LowPassFilter(CROP_FILTER_ALPHA);
  readonly #yMax = new LowPassFilter(CROP_FILTER_ALPHA);
  readonly #xMax = new LowPassFilter(CROP_FILTER_ALPHA);

  /**
   * Filters the next region.
   *
   * @param region The unfiltered region.
   * @returns The filtered region; its height and width are the filtered edges' differences.
   */
  apply(region: CropRegion): CropRegion {
    const yMin = this.#yMin.apply(region.yMin);
    const xMin = this.#xMin.apply(region.xMin);
    const yMax = this.#yMax.apply(region.yMax);
    const xMax = this.#xMax.apply(region.xMax);
    return { yMin, xMin, yMax, xMax, height: yMax - yMin, width: xMax - xMin };
  }

  /** Forgets the history: the next region passes through. */
  reset(): void {
    for (const f of [this.#yMin, this.#xMin, this.#yMax, this.#xMax]) f.reset();
  }
}

/**
 * One video's MoveNet SinglePose state, as pose-detection's `MoveNetDetector` keeps it between
 * frames: the crop region, the keypoint filter and the crop-region filter. Per frame:
 * {@linkcode MoveNetCropTracker.regionFor} gives the region to cut, the model runs, then
 * {@linkcode MoveNetCropTracker.update} smooths the keypoints and chooses the next region, or,
 * when the pose scored below `minPoseScore`, drops it and resets.
 *
 * @example
 * ```ts
 * import { MoveNetCropTracker } from "./movenet_crop_tracking.ts";
 *
 * const video = new MoveNetCropTracker({ enableSmoothing: true, minPoseScore: 0.25 });
 * const region = video.regionFor(640, 480); // the first frame: the centred square
 * const keypoints = Array.from({ length: 17 }, (_, i) => ({ x: 0.5, y: 0.2 + i * 0.03, score: 0.7 }));
 * video.update(keypoints, 0.7, region, 0, 640, 480);
 * console.log(video.cropRegion !== null); // true: the next frame's crop follows the pose
 * console.log(video.update(keypoints, 0.1, region, 33_000, 640, 480), video.cropRegion); // null null
 * ```
 */
export class MoveNetCropTracker {
  readonly #enableSmoothing: boolean;
  readonly #minPoseScore: number;
  readonly #keypointFilter = new KeypointsOneEuroFilter(MOVENET_KEYPOINT_FILTER_CONFIG);
  readonly #cropFilter = new CropRegionFilter();
  #cropRegion: CropRegion | null = null;

  /**
   * @param options `enableSmoothing`: One-Euro filter the keypoints (pose-detection's default
   * true); `minPoseScore`: a pose scoring below it is dropped and resets the state (0.25).
   */
  constructor(options: { readonly enableSmoothing: boolean; readonly minPoseScore: number }) {
    this.#enableSmoothing = options.enableSmoothing;
    this.#minPoseScore = options.minPoseScore;
  }

  /** The region the next frame will be cut from; `null` before a first frame or after a reset. */
  get cropRegion(): CropRegion | null {
    return this.#cropRegion;
  }

  /**
   * The region to cut this frame from: the tracked one, or the first-frame square.
   *
   * @param imageWidth Image columns.
   * @param imageHeight Image rows.
   * @returns The region.
   */
  regionFor(imageWidth: number, imageHeight: number): CropRegion {
    return this.#cropRegion ?? initCropRegion(imageWidth, imageHeight);
  }

  /**
   * Takes one frame's pose: below `minPoseScore` it is dropped and the state reset (the next frame
   * is a first frame); otherwise its keypoints are smoothed (with smoothing on) and set the next
   * frame's region.
   *
   * @param keypoints The 17 keypoints in fractions of the image (`cropToImageFractions`).
   * @param poseScore The pose's score (`movenetPoseScore`).
   * @param region The region this frame was cut from.
   * @param microseconds The frame's time in microseconds.
   * @param imageWidth Image columns.
   * @param imageHeight Image rows.
   * @returns The keypoints to report, in fractions of the image, or `null` for a dropped pose.
   */
  update<K extends TrackedKeypoint>(
    keypoints: readonly K[],
    poseScore: number,
    region: CropRegion,
    microseconds: number,
    imageWidth: number,
    imageHeight: number,
  ): K[] | null {
    if (poseScore < this.#minPoseScore) {
      this.reset();
      return null;
    }
    // pose-detection smooths before choosing the next crop, "to make it more stable".
    const out = this.#enableSmoothing
      ? this.#keypointFilter.apply(keypoints, microseconds, 1)
      : [...keypoints];
    const next = determineNextCropRegion(region, out, imageWidth, imageHeight);
    this.#cropRegion = this.#cropFilter.apply(next);
    return out;
  }

  /** Forgets the region and both filters: the next frame is a first frame. */
  reset(): void {
    this.#cropRegion = null;
    this.#keypointFilter.reset();
    this.#cropFilter.reset();
  }
}
