/**
 * MoveNet MultiPose's input as pose-detection 2.1.3 makes it (`estimateMultiplePoses`): the image
 * resized with `tf.image.resizeBilinear` (no corner alignment, no half-pixel centres) so that its
 * longer side is `multiPoseMaxDimension`, the other side `Math.round`ed, then zero-padded at the
 * end of the shorter side up to a multiple of 32, then cast to int32. The GPU pass is the crop
 * kernel (`crop_resize_kernel.ts`) with this sampling table: each output row and column's source
 * pixels and lerp, computed here in float64 with tfjs-backend-cpu 4.22's own `ResizeBilinear`
 * expressions, and the padding's rows or columns marked outside the image (value 0).
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { type AxisSample, sampleTableUniforms } from "./crop_resize_kernel.ts";

/** The backbone's stride: the padded sides are multiples of it. */
export const MULTIPOSE_SIDE_MULTIPLE = 32;

/** The resized and padded sizes of one image. */
export interface MultiPoseInputSize {
  /** Rows the image is resized to. */
  readonly resizedHeight: number;
  /** Columns the image is resized to. */
  readonly resizedWidth: number;
  /** The model input's rows (a multiple of 32). */
  readonly paddedHeight: number;
  /** The model input's columns (a multiple of 32). */
  readonly paddedWidth: number;
}

/**
 * The resized and padded size of an image, as pose-detection computes it.
 *
 * @param imageWidth Image columns.
 * @param imageHeight Image rows.
 * @param maxDimension `multiPoseMaxDimension` (a multiple of 32).
 * @returns The sizes.
 * @throws {InvalidInputError} When the shorter side would be resized to nothing.
 *
 * @example
 * ```ts
 * import { multiPoseInputSize } from "./multipose_input.ts";
 * console.log(multiPoseInputSize(640, 427, 256));
 * // { resizedHeight: 171, resizedWidth: 256, paddedHeight: 192, paddedWidth: 256 }
 * ```
 */
export function multiPoseInputSize(
  imageWidth: number,
  imageHeight: number,
  maxDimension: number,
): MultiPoseInputSize {
  const m = MULTIPOSE_SIDE_MULTIPLE;
  const landscape = imageWidth > imageHeight;
  const resizedWidth = landscape
    ? maxDimension
    : Math.round(maxDimension * imageWidth / imageHeight);
  const resizedHeight = landscape
    ? Math.round(maxDimension * imageHeight / imageWidth)
    : maxDimension;
  if (resizedWidth < 1 || resizedHeight < 1) {
    throw new InvalidInputError(
      `MoveNet MultiPose: a ${imageWidth}x${imageHeight} image resized to a longer side of ` +
        `${maxDimension} is ${resizedWidth}x${resizedHeight}; the shorter side must be at least 1`,
    );
  }
  return {
    resizedHeight,
    resizedWidth,
    paddedHeight: landscape ? Math.ceil(resizedHeight / m) * m : resizedHeight,
    paddedWidth: landscape ? resizedWidth : Math.ceil(resizedWidth / m) * m,
  };
}

/**
 * The `padded` output positions along one axis, as tfjs-backend-cpu's `resizeBilinear` samples
 * them for the first `resized` (`in = (old / new) · i`, floor and ceil clamped to the image, lerp
 * = in − floor), the rest outside (the padding).
 */
function axisSamples(
  imageSize: number,
  resized: number,
  padded: number,
  flip: boolean,
): (AxisSample | undefined)[] {
  const ratio = imageSize / resized;
  const samples: (AxisSample | undefined)[] = [];
  for (let i = 0; i < padded; i++) {
    if (i >= resized) {
      samples.push(undefined);
      continue;
    }
    const at = ratio * i;
    const low = Math.max(0, Math.floor(at));
    const high = Math.min(imageSize - 1, Math.ceil(at));
    const lerp = at - low;
    samples.push(
      flip ? { low: imageSize - 1 - low, high: imageSize - 1 - high, lerp } : { low, high, lerp },
    );
  }
  return samples;
}

/**
 * The crop kernel's uniform block for one image's resize and pad.
 *
 * @param image The image's size and bytes per pixel, and whether to resize its mirror image.
 * @param size From {@linkcode multiPoseInputSize}.
 * @returns The uniform bytes, for a crop kernel of `paddedHeight × paddedWidth`.
 * @throws {InvalidInputError} On a bad image size or bytes per pixel.
 *
 * @example
 * ```ts
 * import { multiPoseInputSize, resizePadUniforms } from "./multipose_input.ts";
 * const size = multiPoseInputSize(640, 427, 256);
 * const bytes = resizePadUniforms({ imageWidth: 640, imageHeight: 427, channels: 4 }, size);
 * console.log(bytes.byteLength); // 10768
 * ```
 */
export function resizePadUniforms(
  image: {
    readonly imageWidth: number;
    readonly imageHeight: number;
    readonly channels: 3 | 4;
    readonly flipHorizontal?: boolean;
  },
  size: MultiPoseInputSize,
): ArrayBuffer {
  const { imageWidth, imageHeight, channels } = image;
  for (const [name, v] of [["imageWidth", imageWidth], ["imageHeight", imageHeight]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 16384) {
      throw new InvalidInputError(
        `MultiPose resize: ${name} must be an integer in 1..16384, got ${v}`,
      );
    }
  }
  if (channels !== 3 && channels !== 4) {
    throw new InvalidInputError(`MultiPose resize: channels must be 3 or 4, got ${channels}`);
  }
  return sampleTableUniforms(image, [
    ...axisSamples(imageHeight, size.resizedHeight, size.paddedHeight, false),
    ...axisSamples(imageWidth, size.resizedWidth, size.paddedWidth, image.flipHorizontal === true),
  ]);
}
