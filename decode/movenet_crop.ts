/**
 * pose-detection 2.1.3's MoveNet SinglePose crop geometry on the host: the crop region of a first
 * frame (`initCropRegion` in `movenet/crop_utils.js`), the box `cropAndResize` is given, and the
 * mapping of the model's keypoints (fractions of the crop) back to image pixels
 * (`estimateSinglePose` then `estimatePoses` in `movenet/detector.js`), with the same f64
 * arithmetic in the same order.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import type { CropBox } from "../kernels/crop_resize_kernel.ts";

/** A crop region as pose-detection keeps it: fractions of the image, f64. */
export interface CropRegion {
  /** Top edge. */
  readonly yMin: number;
  /** Left edge. */
  readonly xMin: number;
  /** Bottom edge. */
  readonly yMax: number;
  /** Right edge. */
  readonly xMax: number;
  /** `yMax − yMin` as pose-detection stores it. */
  readonly height: number;
  /** `xMax − xMin` as pose-detection stores it. */
  readonly width: number;
}

/** A keypoint in image pixels, as pose-detection returns it (before names are added). */
export interface ImageKeypoint {
  /** Column. */
  readonly x: number;
  /** Row. */
  readonly y: number;
  /** The model's score. */
  readonly score: number;
}

/** pose-detection's `MIN_CROP_KEYPOINT_SCORE`: keypoints above it count towards the pose score. */
export const MIN_CROP_KEYPOINT_SCORE = 0.2;

function checkSize(imageWidth: number, imageHeight: number): void {
  for (const [name, v] of [["width", imageWidth], ["height", imageHeight]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new InvalidInputError(
        `crop region: image ${name} must be a positive integer, got ${v}`,
      );
    }
  }
}

/**
 * pose-detection's `initCropRegion(firstFrame, {width, height})`. For the first frame (and after
 * `reset()`), the centred square of side min(W, H); otherwise (the fallback when the torso is not
 * visible) the whole image padded to a square on both sides.
 *
 * @param imageWidth Image columns.
 * @param imageHeight Image rows.
 * @param firstFrame The first-frame crop (default) or the padded fallback.
 * @returns The region.
 * @throws {InvalidInputError} On a size that is not a positive integer.
 *
 * @example
 * ```ts
 * import { initCropRegion } from "./movenet_crop.ts";
 * const r = initCropRegion(640, 480);
 * console.log(r.yMin, r.xMin, r.yMax, r.xMax); // 0 0.125 1 0.875
 * ```
 */
export function initCropRegion(
  imageWidth: number,
  imageHeight: number,
  firstFrame = true,
): CropRegion {
  checkSize(imageWidth, imageHeight);
  const size = { width: imageWidth, height: imageHeight };
  let boxHeight: number, boxWidth: number, yMin: number, xMin: number;
  if (firstFrame === (size.width > size.height)) {
    boxHeight = 1.0;
    boxWidth = size.height / size.width;
    yMin = 0.0;
    xMin = (size.width / 2 - size.height / 2) / size.width;
  } else {
    boxHeight = size.width / size.height;
    boxWidth = 1.0;
    yMin = (size.height / 2 - size.width / 2) / size.height;
    xMin = 0.0;
  }
  return {
    yMin,
    xMin,
    yMax: yMin + boxHeight,
    xMax: xMin + boxWidth,
    height: boxHeight,
    width: boxWidth,
  };
}

/**
 * The box `tf.image.cropAndResize` is given for a region: `[yMin, xMin, yMax, xMax]`, which
 * `tf.tensor2d` stores as float32.
 *
 * @param region The region.
 * @returns The four box values, rounded to float32.
 *
 * @example
 * ```ts
 * import { cropBox, initCropRegion } from "./movenet_crop.ts";
 * console.log(cropBox(initCropRegion(300, 200))[1]); // 0.1666666716337204 (float32 of 1/6)
 * ```
 */
export function cropBox(region: CropRegion): CropBox {
  const f = Math.fround;
  return [f(region.yMin), f(region.xMin), f(region.yMax), f(region.xMax)];
}

/**
 * Maps the model's output (y, x as fractions of the crop, score; the graph's `[1, 1, 17, 3]`) to
 * fractions of the image as pose-detection's `estimateSinglePose` does:
 * `y = yMin + y · height` and likewise x, in f64 from the float32 outputs. This is where
 * pose-detection smooths and tracks, before {@linkcode cropToImageKeypoints}' scaling to pixels.
 *
 * @param output 17 × (y, x, score).
 * @param region The crop region the input was cut from.
 * @returns The keypoints in fractions of the image (not clamped).
 * @throws {InvalidInputError} On an output length that is not a multiple of 3.
 *
 * @example
 * ```ts
 * import { cropToImageFractions, initCropRegion } from "./movenet_crop.ts";
 * const region = initCropRegion(640, 480);
 * const [kp] = cropToImageFractions(new Float32Array([0.5, 0.5, 0.9]), region);
 * console.log(kp.x, kp.y); // 0.5 0.5: the crop's centre is the image's
 * ```
 */
export function cropToImageFractions(
  output: ArrayLike<number>,
  region: CropRegion,
): ImageKeypoint[] {
  if (output.length % 3 !== 0) {
    throw new InvalidInputError(
      `crop region: the output must hold (y, x, score) triples, got ${output.length} values`,
    );
  }
  const keypoints: ImageKeypoint[] = [];
  for (let i = 0; i < output.length; i += 3) {
    const y = region.yMin + output[i] * region.height;
    const x = region.xMin + output[i + 1] * region.width;
    keypoints.push({ y, x, score: output[i + 2] });
  }
  return keypoints;
}

/**
 * Maps the model's output (y, x as fractions of the crop, score; the graph's `[1, 1, 17, 3]`) to
 * image pixels as pose-detection does: `y = (yMin + y · height) · imageHeight` and likewise x,
 * in f64 from the float32 outputs ({@linkcode cropToImageFractions}, then the scaling of
 * `estimatePoses`). Keypoints are not clamped to the image.
 *
 * @param output 17 × (y, x, score).
 * @param region The crop region the input was cut from.
 * @param imageWidth Image columns.
 * @param imageHeight Image rows.
 * @returns The keypoints in image pixels.
 * @throws {InvalidInputError} On an output length that is not a multiple of 3, or a bad size.
 *
 * @example
 * ```ts
 * import { cropToImageKeypoints, initCropRegion } from "./movenet_crop.ts";
 * const region = initCropRegion(640, 480);
 * const [kp] = cropToImageKeypoints(new Float32Array([0.5, 0.5, 0.9]), region, 640, 480);
 * console.log(kp.x, kp.y); // 320 240: the crop's centre is the image's
 * ```
 */
export function cropToImageKeypoints(
  output: ArrayLike<number>,
  region: CropRegion,
  imageWidth: number,
  imageHeight: number,
): ImageKeypoint[] {
  checkSize(imageWidth, imageHeight);
  return fractionsToPixels(cropToImageFractions(output, region), imageWidth, imageHeight);
}

/**
 * Scales keypoints from fractions of the image to pixels, `x · imageWidth`, `y · imageHeight`, as
 * pose-detection's `estimatePoses` does last; every other field is copied.
 *
 * @param keypoints Keypoints in fractions of the image.
 * @param imageWidth Image columns.
 * @param imageHeight Image rows.
 * @returns New keypoints in pixels.
 *
 * @example
 * ```ts
 * import { fractionsToPixels } from "./movenet_crop.ts";
 * console.log(fractionsToPixels([{ x: 0.25, y: 0.5, score: 1 }], 640, 480)); // [ { x: 160, y: 240, score: 1 } ]
 * ```
 */
export function fractionsToPixels<K extends { readonly x: number; readonly y: number }>(
  keypoints: readonly K[],
  imageWidth: number,
  imageHeight: number,
): K[] {
  return keypoints.map((k) => ({ ...k, y: k.y * imageHeight, x: k.x * imageWidth }));
}

/**
 * pose-detection's single-pose score: the mean of the keypoint scores above
 * {@linkcode MIN_CROP_KEYPOINT_SCORE}, summed in keypoint order; 0 when none is.
 *
 * @param scores The keypoint scores.
 * @returns The pose score.
 *
 * @example
 * ```ts
 * import { movenetPoseScore } from "./movenet_crop.ts";
 * console.log(movenetPoseScore([0.9, 0.1, 0.5])); // 0.7
 * ```
 */
export function movenetPoseScore(scores: ArrayLike<number>): number {
  let total = 0;
  let count = 0;
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] > MIN_CROP_KEYPOINT_SCORE) {
      count++;
      total += scores[i];
    }
  }
  return count > 0 ? total / count : 0;
}
