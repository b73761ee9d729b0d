/**
 * The image a pose estimate runs on, and the checks it must pass before it reaches the GPU.
 *
 * @module
 */

import { requirePositiveInteger } from "../_checks.ts";
import { InvalidInputError } from "../errors.ts";

/**
 * An RGBA or RGB image in row-major bytes, like `ImageData`.
 *
 * @example
 * ```ts
 * import { load, type PoseImage } from "../mod.ts";
 * import { readImageFile } from "../cli/read_image.ts";
 *
 * const image: PoseImage = await readImageFile("tests/fixtures/photos/single_portrait.jpg");
 * const rgb: PoseImage = { data: new Uint8Array(64 * 48 * 3), width: 64, height: 48 };
 * const net = await load();
 * const { keypoints } = await net.estimateSinglePose(image);
 * console.log(keypoints[0].part, keypoints[0].score > 0.9); // "nose" true
 * await net.estimateSinglePose(rgb);
 * net.dispose();
 * ```
 */
export interface PoseImage {
  /** `width · height · 4` (RGBA) or `width · height · 3` (RGB) bytes. */
  readonly data: Uint8Array | Uint8ClampedArray;
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
}

/** An image that passed {@linkcode checkPoseImage}, with its bytes ready to upload. */
export interface CheckedImage {
  /** The bytes, length padded to a multiple of 4. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
  /** 3 (RGB) or 4 (RGBA). */
  readonly channels: 3 | 4;
}

/**
 * Largest width or height of a {@linkcode PoseImage} the models accept; larger images are
 * downscaled by the caller.
 */
export const MAX_POSE_IMAGE_SIDE = 16384;

/**
 * Checks an image's size and data length, and lays its bytes out for upload.
 *
 * @param image The image.
 * @param maxBytes The largest image buffer the device can bind.
 * @returns The checked image.
 * @throws {InvalidInputError} On a zero or non-integer size, a data length that is not
 * `width · height · 3` or `· 4`, or an image too large for the device.
 *
 * @example
 * ```ts
 * import { checkPoseImage } from "./pose_image.ts";
 * const img = checkPoseImage({ data: new Uint8Array(2 * 2 * 3), width: 2, height: 2 }, 1 << 27);
 * console.log(img.channels, img.bytes.length); // 3 12
 * ```
 */
export function checkPoseImage(image: PoseImage, maxBytes: number): CheckedImage {
  if (typeof image !== "object" || image === null) {
    throw new InvalidInputError(
      `image must be {data, width, height}, got ${image === null ? "null" : typeof image}`,
    );
  }
  const { data, width, height } = image;
  for (const [name, value] of [["width", width], ["height", height]] as const) {
    requirePositiveInteger(`image ${name}`, value);
    if (value > MAX_POSE_IMAGE_SIDE) {
      throw new InvalidInputError(
        `image ${width}x${height} is too large: each side must be at most ${MAX_POSE_IMAGE_SIDE} px; downscale it first`,
      );
    }
  }
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new InvalidInputError(
      "image data must be a Uint8Array or Uint8ClampedArray of RGBA or RGB bytes",
    );
  }
  const pixels = width * height;
  const channels = data.length === pixels * 4 ? 4 : data.length === pixels * 3 ? 3 : undefined;
  if (channels === undefined) {
    throw new InvalidInputError(
      `image data has ${data.length} bytes, but a ${width}x${height} image needs ${
        pixels * 4
      } (RGBA) ` +
        `or ${pixels * 3} (RGB)`,
    );
  }
  const padded = Math.ceil(data.length / 4) * 4;
  if (padded > maxBytes) {
    throw new InvalidInputError(
      `image ${width}x${height} needs ${padded} bytes on the GPU, more than the device's limit of ${maxBytes}; downscale it first`,
    );
  }
  let bytes: Uint8Array<ArrayBuffer>;
  if (padded === data.length && data.buffer instanceof ArrayBuffer) {
    bytes = new Uint8Array(data.buffer, data.byteOffset, data.length);
  } else {
    bytes = new Uint8Array(padded);
    bytes.set(data);
  }
  return { bytes, width, height, channels };
}
