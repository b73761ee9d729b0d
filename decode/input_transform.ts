/**
 * The mapping from network-input pixels back to the original image, as PoseNet 2.x
 * (`padAndResizeTo` then `scaleAndFlipPoses`): the image is padded with zeros to the input's
 * aspect ratio, resized to the input size, and decoded positions are scaled back, shifted by the
 * padding and, if asked, mirrored. The CPU decoders apply it with {@linkcode applyInputTransform};
 * the GPU single-pose decode takes the same {@linkcode InputTransform} as its uniforms
 * (`shaders/decode_single_pose.ts`).
 *
 * @example Decode positions back to a 640x480 image fed at 257x257
 * ```ts
 * import { applyInputTransform, inputTransformFor } from "./input_transform.ts";
 *
 * const transform = inputTransformFor(640, 480, 257, 257);
 * console.log(transform.padTop); // 80
 * const pose = { score: 1, keypoints: [{ part: "nose", score: 1, position: { x: 128, y: 128 } }] };
 * console.log(applyInputTransform(pose, transform).keypoints[0].position);
 * ```
 *
 * @module
 */

import { describe } from "../_describe.ts";
import { requireObject, requirePositiveInteger } from "../_checks.ts";
import { InvalidInputError } from "../errors.ts";
import type { Pose } from "./keypoints.ts";

/**
 * How decoded positions map back to the original image: `x_img = x * scaleX - padLeft`, likewise
 * for y, then, when `flipHorizontal` is set, `x_img' = imageWidth - 1 - x_img`. Results are not
 * clamped to the image.
 *
 * @example
 * ```ts
 * import { applyInputTransform, type InputTransform, inputTransformFor } from "./input_transform.ts";
 *
 * // A 640x480 image fed at 257x257 is padded by 80 rows above and below.
 * const t: InputTransform = inputTransformFor(640, 480, 257, 257);
 * const pose = { score: 1, keypoints: [{ part: "nose", score: 1, position: { x: 128, y: 128 } }] };
 * console.log(applyInputTransform(pose, t).keypoints[0].position); // about { x: 318.8, y: 238.8 }
 * ```
 */
export interface InputTransform {
  /** Padded image width divided by the network input width. */
  readonly scaleX: number;
  /** Padded image height divided by the network input height. */
  readonly scaleY: number;
  /** Columns of zeros added on the left of the image (and as many on the right). */
  readonly padLeft: number;
  /** Rows of zeros added above the image (and as many below). */
  readonly padTop: number;
  /** Width of the original image in pixels. */
  readonly imageWidth: number;
  /** Whether to mirror x after scaling. */
  readonly flipHorizontal: boolean;
}

/** Zero padding, in image pixels, that brings an image to the network input's aspect ratio. */
export interface InputPadding {
  /** Rows added above. */
  readonly top: number;
  /** Rows added below. */
  readonly bottom: number;
  /** Columns added on the left. */
  readonly left: number;
  /** Columns added on the right. */
  readonly right: number;
}

/**
 * Computes the zero padding PoseNet 2.x adds before resizing an image to the network input. A
 * relatively taller image (`W/H < inputWidth/inputHeight`) is padded left and right by
 * `Math.round(0.5 * (targetAspect * H - W))` each; otherwise, equal aspect included, it is padded
 * top and bottom by `Math.round(0.5 * ((1 / targetAspect) * W - H))` each, where
 * `targetAspect = inputWidth / inputHeight`. `Math.round` rounds .5 up, so the padded image can be
 * 1 px wider or taller than the exact aspect ratio.
 *
 * @param imageWidth Original image width in pixels.
 * @param imageHeight Original image height in pixels.
 * @param inputWidth Network input width in pixels.
 * @param inputHeight Network input height in pixels.
 * @returns The padding on each side.
 * @throws {InvalidInputError} When a size is not a positive integer.
 *
 * @example
 * ```ts
 * import { inputPaddingFor } from "./input_transform.ts";
 *
 * console.log(inputPaddingFor(640, 481, 257, 257)); // { top: 80, bottom: 80, left: 0, right: 0 }
 * ```
 */
export function inputPaddingFor(
  imageWidth: number,
  imageHeight: number,
  inputWidth: number,
  inputHeight: number,
): InputPadding {
  requirePositiveInteger("imageWidth", imageWidth);
  requirePositiveInteger("imageHeight", imageHeight);
  requirePositiveInteger("inputWidth", inputWidth);
  requirePositiveInteger("inputHeight", inputHeight);
  // Same expressions, in the same order, as PoseNet 2.x, so the floating-point results agree.
  const targetAspect = inputWidth / inputHeight;
  const aspect = imageWidth / imageHeight;
  if (aspect < targetAspect) {
    const side = Math.round(0.5 * (targetAspect * imageHeight - imageWidth));
    return { top: 0, bottom: 0, left: side, right: side };
  }
  const side = Math.round(0.5 * ((1.0 / targetAspect) * imageWidth - imageHeight));
  return { top: side, bottom: side, left: 0, right: 0 };
}

/**
 * Builds the {@link InputTransform} that maps decoded positions (network-input pixels) back to an
 * image that was padded with {@link inputPaddingFor} and resized to the input size.
 *
 * @param imageWidth Original image width in pixels.
 * @param imageHeight Original image height in pixels.
 * @param inputWidth Network input width in pixels.
 * @param inputHeight Network input height in pixels.
 * @param flipHorizontal Whether to mirror the output (`x' = imageWidth - 1 - x`); default false.
 * @returns The transform.
 * @throws {InvalidInputError} When a size is not a positive integer or `flipHorizontal` is not a
 * boolean.
 *
 * @example
 * ```ts
 * import { inputTransformFor } from "./input_transform.ts";
 *
 * const t = inputTransformFor(480, 640, 257, 257, true);
 * console.log(t.padLeft, t.scaleX); // 80 2.490272373540856
 * ```
 */
export function inputTransformFor(
  imageWidth: number,
  imageHeight: number,
  inputWidth: number,
  inputHeight: number,
  flipHorizontal: boolean = false,
): InputTransform {
  if (typeof flipHorizontal !== "boolean") {
    throw new InvalidInputError(
      `flipHorizontal must be a boolean, got ${describe(flipHorizontal)}`,
    );
  }
  const pad = inputPaddingFor(imageWidth, imageHeight, inputWidth, inputHeight);
  return {
    scaleX: (imageWidth + pad.left + pad.right) / inputWidth,
    scaleY: (imageHeight + pad.top + pad.bottom) / inputHeight,
    padLeft: pad.left,
    padTop: pad.top,
    imageWidth,
    flipHorizontal,
  };
}

function requireFinite(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new InvalidInputError(`${name} must be a finite number, got ${describe(value)}`);
  }
  return value;
}

/**
 * Checks that a transform's fields have the right types.
 *
 * @param transform The transform to check.
 * @returns Nothing; returns normally when the transform is valid.
 * @throws {InvalidInputError} When a scale is not a positive finite number, a padding is not a
 * finite number, `imageWidth` is not a positive integer or `flipHorizontal` is not a boolean.
 *
 * @example
 * ```ts
 * import { inputTransformFor, validateInputTransform } from "./input_transform.ts";
 *
 * validateInputTransform(inputTransformFor(640, 480, 257, 257));
 * ```
 */
export function validateInputTransform(transform: InputTransform): void {
  requireObject("transform", transform);
  for (const key of ["scaleX", "scaleY"] as const) {
    if (requireFinite(`transform.${key}`, transform[key]) <= 0) {
      throw new InvalidInputError(`transform.${key} must be positive, got ${transform[key]}`);
    }
  }
  requireFinite("transform.padLeft", transform.padLeft);
  requireFinite("transform.padTop", transform.padTop);
  requirePositiveInteger("transform.imageWidth", transform.imageWidth);
  if (typeof transform.flipHorizontal !== "boolean") {
    throw new InvalidInputError(
      `transform.flipHorizontal must be a boolean, got ${describe(transform.flipHorizontal)}`,
    );
  }
}

/**
 * Maps a pose from network-input pixels to image pixels, as PoseNet 2.x's `scaleAndFlipPoses`:
 * first `x * scaleX - padLeft` (likewise y), then the mirror `imageWidth - 1 - x` if asked.
 * Scores are unchanged and positions are not clamped.
 *
 * @param pose A pose in network-input pixels.
 * @param transform The transform from {@link inputTransformFor}.
 * @returns A new pose in image pixels.
 * @throws {InvalidInputError} When the transform fails {@link validateInputTransform}.
 *
 * @example
 * ```ts
 * import { applyInputTransform, inputTransformFor } from "./input_transform.ts";
 *
 * const t = inputTransformFor(257, 257, 257, 257, true);
 * const pose = { score: 1, keypoints: [{ part: "nose", score: 1, position: { x: 6, y: 7 } }] };
 * console.log(applyInputTransform(pose, t).keypoints[0].position); // { x: 250, y: 7 }
 * ```
 */
export function applyInputTransform(pose: Pose, transform: InputTransform): Pose {
  validateInputTransform(transform);
  const { scaleX, scaleY, padLeft, padTop, imageWidth, flipHorizontal } = transform;
  return {
    score: pose.score,
    keypoints: pose.keypoints.map(({ part, score, position }) => {
      const x = position.x * scaleX - padLeft;
      const y = position.y * scaleY - padTop;
      return { part, score, position: { x: flipHorizontal ? imageWidth - 1 - x : x, y } };
    }),
  };
}
