/**
 * The four PoseNet output heads as the decoders take them, and the mapping from network-input
 * pixels back to the original image.
 *
 * The mapping mirrors PoseNet 2.x (`padAndResizeTo` then `scaleAndFlipPoses`): the image is padded
 * with zeros to the input's aspect ratio, resized to the input size, and decoded positions are
 * scaled back, shifted by the padding and, if asked, mirrored.
 *
 * @example Decode positions back to a 640x480 image fed at 257x257
 * ```ts
 * import { applyInputTransform, inputTransformFor } from "./heads.ts";
 *
 * const transform = inputTransformFor(640, 480, 257, 257);
 * console.log(transform.padTop); // 80
 * const pose = { score: 1, keypoints: [{ part: "nose", score: 1, position: { x: 128, y: 128 } }] };
 * console.log(applyInputTransform(pose, transform).keypoints[0].position);
 * ```
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { NUM_EDGES, NUM_KEYPOINTS, type Pose } from "./keypoints.ts";

/**
 * The raw outputs of the network for one image, all NHWC float32 with batch 1 squeezed.
 *
 * @example
 * ```ts
 * import { decodeSinglePose, load, type PoseNetHeads } from "../mod.ts";
 *
 * const net = await load({ inputResolution: 257 });
 * const image = { data: new Uint8Array(320 * 240 * 4).fill(128), width: 320, height: 240 };
 * const heads: PoseNetHeads = await net.predictHeads(image);
 * console.log(heads.height, heads.width, heads.heatmap.length); // 17 17 4913
 * const pose = decodeSinglePose(heads); // in network-input pixels (no transform given)
 * net.dispose();
 * ```
 */
export interface PoseNetHeads {
  /** Heatmap rows. */
  readonly height: number;
  /** Heatmap columns. */
  readonly width: number;
  /** Input pixels per heatmap cell (16 for the stock MobileNetV1 model). */
  readonly outputStride: number;
  /** Heatmap logits (before the sigmoid), `[height, width, 17]`. */
  readonly heatmap: Float32Array;
  /** Short-range offsets in input pixels, `[height, width, 34]`: y in 0..16, x in 17..33. */
  readonly offsets: Float32Array;
  /** Forward (parent → child) displacements, `[height, width, 32]`: y in 0..15, x in 16..31. */
  readonly displacementFwd: Float32Array;
  /** Backward (child → parent) displacements, `[height, width, 32]`: y in 0..15, x in 16..31. */
  readonly displacementBwd: Float32Array;
}

/**
 * The heads as the decoders' shared back end uses them: like {@link PoseNetHeads}, but with the
 * keypoint scores (the sigmoid of the heatmap, as float32) in place of the raw logits. A GPU pass
 * can produce `scores` itself, so the raw heatmap never has to reach the CPU.
 */
export interface ScoredHeads {
  /** Heatmap rows. */
  readonly height: number;
  /** Heatmap columns. */
  readonly width: number;
  /** Input pixels per heatmap cell. */
  readonly outputStride: number;
  /** Keypoint scores `sigmoid(heatmap)` rounded to float32, `[height, width, 17]`. */
  readonly scores: Float32Array;
  /** Short-range offsets, `[height, width, 34]`. */
  readonly offsets: Float32Array;
  /** Forward displacements, `[height, width, 32]`. */
  readonly displacementFwd: Float32Array;
  /** Backward displacements, `[height, width, 32]`. */
  readonly displacementBwd: Float32Array;
}

/**
 * How decoded positions map back to the original image: `x_img = x * scaleX - padLeft`, likewise
 * for y, then, when `flipHorizontal` is set, `x_img' = imageWidth - 1 - x_img`. Results are not
 * clamped to the image.
 *
 * @example
 * ```ts
 * import { applyInputTransform, type InputTransform, inputTransformFor } from "./heads.ts";
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

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) {
    return `a ${value.constructor.name} of length ${(value as Float32Array).length}`;
  }
  return String(value);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}

function requirePositiveInteger(name: string, value: unknown): number {
  if (!isPositiveInteger(value)) {
    throw new InvalidInputError(`${name} must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

function requireArray(name: string, value: unknown, length: number): void {
  if (!(value instanceof Float32Array)) {
    throw new InvalidInputError(
      `${name} must be a Float32Array of length ${length}, got ${describe(value)}`,
    );
  }
  if (value.length !== length) {
    throw new InvalidInputError(`${name} must have length ${length}, got ${value.length}`);
  }
}

function requireObject(name: string, value: unknown): void {
  if (typeof value !== "object" || value === null) {
    throw new InvalidInputError(`${name} must be an object, got ${describe(value)}`);
  }
}

function validateGrid(
  name: string,
  heads: { readonly height: number; readonly width: number; readonly outputStride: number },
): number {
  requireObject(name, heads);
  const height = requirePositiveInteger(`${name}.height`, heads.height);
  const width = requirePositiveInteger(`${name}.width`, heads.width);
  requirePositiveInteger(`${name}.outputStride`, heads.outputStride);
  return height * width;
}

/**
 * Checks that heads have a valid grid and arrays of the right type and length.
 *
 * @param heads The network outputs to check.
 * @returns Nothing; returns normally when the heads are valid.
 * @throws {InvalidInputError} When a size is not a positive integer or an array is not a
 * `Float32Array` of `height * width * channels` elements.
 *
 * @example
 * ```ts
 * import { validateHeads } from "./heads.ts";
 *
 * const cells = 9 * 9;
 * validateHeads({
 *   height: 9,
 *   width: 9,
 *   outputStride: 16,
 *   heatmap: new Float32Array(cells * 17),
 *   offsets: new Float32Array(cells * 34),
 *   displacementFwd: new Float32Array(cells * 32),
 *   displacementBwd: new Float32Array(cells * 32),
 * });
 * ```
 */
export function validateHeads(heads: PoseNetHeads): void {
  const cells = validateGrid("heads", heads);
  requireArray("heads.heatmap", heads.heatmap, cells * NUM_KEYPOINTS);
  requireArray("heads.offsets", heads.offsets, cells * 2 * NUM_KEYPOINTS);
  requireArray("heads.displacementFwd", heads.displacementFwd, cells * 2 * NUM_EDGES);
  requireArray("heads.displacementBwd", heads.displacementBwd, cells * 2 * NUM_EDGES);
}

/**
 * Checks that scored heads have a valid grid and arrays of the right type and length.
 *
 * @param heads The scored heads to check.
 * @returns Nothing; returns normally when the heads are valid.
 * @throws {InvalidInputError} When a size is not a positive integer or an array is not a
 * `Float32Array` of `height * width * channels` elements.
 *
 * @example
 * ```ts
 * import { validateScoredHeads } from "./heads.ts";
 *
 * validateScoredHeads({
 *   height: 1,
 *   width: 1,
 *   outputStride: 16,
 *   scores: new Float32Array(17),
 *   offsets: new Float32Array(34),
 *   displacementFwd: new Float32Array(32),
 *   displacementBwd: new Float32Array(32),
 * });
 * ```
 */
export function validateScoredHeads(heads: ScoredHeads): void {
  const cells = validateGrid("heads", heads);
  requireArray("heads.scores", heads.scores, cells * NUM_KEYPOINTS);
  requireArray("heads.offsets", heads.offsets, cells * 2 * NUM_KEYPOINTS);
  requireArray("heads.displacementFwd", heads.displacementFwd, cells * 2 * NUM_EDGES);
  requireArray("heads.displacementBwd", heads.displacementBwd, cells * 2 * NUM_EDGES);
}

/**
 * Computes keypoint scores from heatmap logits exactly as TF.js's CPU `sigmoid` kernel does:
 * `1 / (1 + Math.exp(-x))` in double precision, stored as float32. Because the result is rounded
 * to float32, distinct logits near the top can give equal scores; the decoders compare these
 * rounded scores, as TF.js does.
 *
 * @param heatmap Heatmap logits.
 * @returns A new array of the same length with the scores.
 *
 * @example
 * ```ts
 * import { sigmoidScores } from "./heads.ts";
 *
 * console.log(sigmoidScores(new Float32Array([0]))[0]); // 0.5
 * ```
 */
export function sigmoidScores(heatmap: Float32Array): Float32Array {
  const scores = new Float32Array(heatmap.length);
  for (let i = 0; i < heatmap.length; i++) scores[i] = 1 / (1 + Math.exp(-heatmap[i]));
  return scores;
}

/**
 * Replaces the heatmap logits of validated heads by their {@link sigmoidScores}.
 *
 * @param heads The network outputs.
 * @returns The same heads with `scores` instead of `heatmap` (the other arrays are shared).
 * @throws {InvalidInputError} When the heads fail {@link validateHeads}.
 *
 * @example
 * ```ts
 * import { toScoredHeads } from "./heads.ts";
 *
 * const scored = toScoredHeads({
 *   height: 1,
 *   width: 1,
 *   outputStride: 16,
 *   heatmap: new Float32Array(17),
 *   offsets: new Float32Array(34),
 *   displacementFwd: new Float32Array(32),
 *   displacementBwd: new Float32Array(32),
 * });
 * console.log(scored.scores[0]); // 0.5
 * ```
 */
export function toScoredHeads(heads: PoseNetHeads): ScoredHeads {
  validateHeads(heads);
  return {
    height: heads.height,
    width: heads.width,
    outputStride: heads.outputStride,
    scores: sigmoidScores(heads.heatmap),
    offsets: heads.offsets,
    displacementFwd: heads.displacementFwd,
    displacementBwd: heads.displacementBwd,
  };
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
 * import { inputPaddingFor } from "./heads.ts";
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
 * import { inputTransformFor } from "./heads.ts";
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
 * import { inputTransformFor, validateInputTransform } from "./heads.ts";
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
 * import { applyInputTransform, inputTransformFor } from "./heads.ts";
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
