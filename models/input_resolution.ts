/**
 * The input resolutions PoseNet MobileNetV1 accepts at an output stride, and the heatmap each
 * gives: a side R is valid when `(R - 1) % stride === 0` and `R >= 1 + stride`, and its heatmap
 * has `(R - 1) / stride + 1` cells along that side.
 *
 * @example
 * ```ts
 * import { nearestValidResolutions, validateInputResolution } from "./input_resolution.ts";
 *
 * console.log(validateInputResolution(257, 16).heatmapHeight); // 17
 * console.log(nearestValidResolutions(250, 16)); // { below: 241, above: 257 }
 * ```
 *
 * @module
 */

import { describe } from "../_describe.ts";
import { isPositiveInteger } from "../_checks.ts";
import { InvalidInputError } from "../errors.ts";
import { type OutputStride, validateOutputStride } from "./architecture.ts";

/**
 * A validated input resolution and the heatmap it gives.
 *
 * @example
 * ```ts
 * import { validateInputResolution, type ValidInputResolution } from "./input_resolution.ts";
 *
 * const r: ValidInputResolution = validateInputResolution(513, 32);
 * console.log(r.heatmapHeight, r.heatmapWidth); // 17 17
 * ```
 */
export interface ValidInputResolution {
  /** Input height R_h in pixels, with (R_h - 1) % stride === 0. */
  readonly height: number;
  /** Input width R_w in pixels, with (R_w - 1) % stride === 0. */
  readonly width: number;
  /** Heatmap rows, (R_h - 1) / stride + 1. */
  readonly heatmapHeight: number;
  /** Heatmap columns, (R_w - 1) / stride + 1. */
  readonly heatmapWidth: number;
}

/** The nearest valid resolutions around a value. */
export interface NearestValidResolutions {
  /** Largest valid resolution ≤ the value, or `undefined` when there is none. */
  readonly below: number | undefined;
  /** Smallest valid resolution ≥ the value. */
  readonly above: number;
}

/**
 * Heatmap size for an input resolution: `(R - 1) / stride + 1`.
 *
 * @param resolution Input height or width R, with (R - 1) % stride === 0.
 * @param stride The output stride.
 * @returns The number of heatmap cells along that axis.
 * @throws {InvalidInputError} When R or the stride is not a positive integer, or (R - 1) % stride
 *   is not 0.
 *
 * @example Usage
 * ```ts
 * import { heatmapSize } from "./input_resolution.ts";
 * console.log(heatmapSize(257, 16)); // 17
 * ```
 */
export function heatmapSize(resolution: number, stride: number): number {
  if (!isPositiveInteger(stride)) {
    throw new InvalidInputError(`stride ${describe(stride)} is not a positive integer`);
  }
  if (!isPositiveInteger(resolution) || (resolution - 1) % stride !== 0) {
    throw new InvalidInputError(
      `resolution ${describe(resolution)} is not valid for stride ${stride}: ` +
        `(R - 1) must be a multiple of ${stride}`,
    );
  }
  return (resolution - 1) / stride + 1;
}

/**
 * The smallest input resolution accepted at a stride: `1 + stride`, a 2-cell heatmap. A 1-cell
 * heatmap (R = 1) is computable but useless: the multi-pose decoder's 3x3 local maximum and the
 * displacement steps need neighbouring cells.
 *
 * @param outputStride The output stride.
 * @returns `1 + outputStride`.
 *
 * @example Usage
 * ```ts
 * import { minInputResolution } from "./input_resolution.ts";
 * console.log(minInputResolution(16)); // 17
 * ```
 */
export function minInputResolution(outputStride: OutputStride): number {
  return 1 + validateOutputStride(outputStride);
}

/**
 * The nearest valid resolutions (R with (R - 1) % stride === 0 and R ≥ 1 + stride) below and above
 * a value.
 *
 * @param value Any finite number.
 * @param outputStride The output stride.
 * @returns The largest valid resolution ≤ value (if any) and the smallest ≥ value.
 * @throws {InvalidInputError} For a bad stride or a non-finite value.
 *
 * @example Usage
 * ```ts
 * import { nearestValidResolutions } from "./input_resolution.ts";
 * console.log(nearestValidResolutions(250, 16)); // { below: 241, above: 257 }
 * ```
 */
export function nearestValidResolutions(
  value: number,
  outputStride: OutputStride,
): NearestValidResolutions {
  const stride = validateOutputStride(outputStride);
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new InvalidInputError(`resolution ${describe(value)} is not a finite number`);
  }
  const min = minInputResolution(stride);
  const k = Math.floor((value - 1) / stride);
  const floorR = k * stride + 1;
  const ceilR = floorR === value ? floorR : floorR + stride;
  return {
    below: floorR >= min ? floorR : undefined,
    above: Math.max(min, ceilR),
  };
}

/**
 * Validates an input resolution (height and width separately, so non-square inputs work): each
 * must be a safe integer R with (R - 1) % stride === 0 and R ≥ 1 + stride.
 *
 * @param resolution A square size, or `{height, width}`.
 * @param outputStride The output stride: 8, 16 or 32.
 * @returns The resolution with its heatmap size.
 * @throws {InvalidInputError} When the stride is not 8, 16 or 32, or a dimension is not valid; the
 *   message names the nearest valid values below and above.
 *
 * @example Usage
 * ```ts
 * import { validateInputResolution } from "./input_resolution.ts";
 * const r = validateInputResolution({ height: 257, width: 353 }, 16);
 * console.log(r.heatmapHeight, r.heatmapWidth); // 17 23
 * ```
 */
export function validateInputResolution(
  resolution: number | { readonly height: number; readonly width: number },
  outputStride: OutputStride,
): ValidInputResolution {
  const stride = validateOutputStride(outputStride);
  let height: unknown;
  let width: unknown;
  if (typeof resolution === "number") {
    height = width = resolution;
  } else if (typeof resolution === "object" && resolution !== null) {
    height = resolution.height;
    width = resolution.width;
  } else {
    throw new InvalidInputError(
      `input resolution ${describe(resolution)} must be a number or {height, width}`,
    );
  }
  const h = checkDimension("height", height, stride);
  const w = checkDimension("width", width, stride);
  return {
    height: h,
    width: w,
    heatmapHeight: heatmapSize(h, stride),
    heatmapWidth: heatmapSize(w, stride),
  };
}

/**
 * Maps PoseNet v1's `imageScaleFactor` to a valid input resolution along one axis, exactly as v1's
 * `getValidResolution` did: `e = imageSize * scaleFactor - 1; R = e - (e % stride) + 1`, i.e. the
 * scaled size rounded *down* to the nearest valid R. (PoseNet 2.x's `toValidInputResolution` rounds
 * `floor(R / stride) * stride + 1` instead, which can round up by one step; v1 never did.) Unlike
 * v1, a result below the minimum ({@linkcode minInputResolution}) is raised to it. v1 applied this
 * to height and width separately; do the same for non-square images.
 *
 * @param scaleFactor v1's image scale factor, in [0.2, 1].
 * @param imageSize Image height or width in pixels.
 * @param outputStride The output stride: 8, 16 or 32.
 * @returns A valid input resolution for that axis.
 * @throws {InvalidInputError} For a scale factor outside [0.2, 1], a non-positive image size, or a
 *   bad stride.
 *
 * @example Usage
 * ```ts
 * import { resolutionFromScaleFactor } from "./input_resolution.ts";
 * console.log(resolutionFromScaleFactor(0.5, 480, 16)); // 225
 * ```
 */
export function resolutionFromScaleFactor(
  scaleFactor: number,
  imageSize: number,
  outputStride: OutputStride,
): number {
  const stride = validateOutputStride(outputStride);
  if (typeof scaleFactor !== "number" || !(scaleFactor >= 0.2 && scaleFactor <= 1)) {
    throw new InvalidInputError(
      `scale factor ${describe(scaleFactor)} is out of range: it must be between 0.2 and 1`,
    );
  }
  if (typeof imageSize !== "number" || !Number.isFinite(imageSize) || !(imageSize > 0)) {
    throw new InvalidInputError(`image size ${describe(imageSize)} must be a positive number`);
  }
  const even = imageSize * scaleFactor - 1;
  const resolution = even - (even % stride) + 1;
  return Math.max(resolution, minInputResolution(stride));
}

function checkDimension(axis: string, value: unknown, stride: OutputStride): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new InvalidInputError(`input ${axis} ${describe(value)} is not a finite number`);
  }
  const min = minInputResolution(stride);
  if (Number.isSafeInteger(value) && value >= min && (value - 1) % stride === 0) {
    return value;
  }
  const near = nearestValidResolutions(value, stride);
  const options = near.below === undefined
    ? `the smallest valid value is ${near.above}`
    : `nearest valid values are ${near.below} and ${near.above}`;
  throw new InvalidInputError(
    `input ${axis} ${value} is not valid for output stride ${stride}: it must be ` +
      `k * ${stride} + 1 and at least ${min}; ${options}`,
  );
}
