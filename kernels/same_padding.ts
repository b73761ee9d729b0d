/**
 * TensorFlow's "SAME" padding, the padding every PoseNet layer uses.
 *
 * @module
 */

/**
 * Output size and padding of one spatial axis.
 *
 * @example
 * ```ts
 * import { type SamePadding, samePadding } from "./same_padding.ts";
 *
 * const { outSize, before, after }: SamePadding = samePadding(33, 3, 1, 4); // 3x3, dilation 4
 * console.log(outSize, before, after); // 33 4 4
 * ```
 */
export interface SamePadding {
  /** Output size, `ceil(inSize / stride)`. */
  readonly outSize: number;
  /** Zeros added before the first input element. */
  readonly before: number;
  /** Zeros added after the last input element. */
  readonly after: number;
}

/**
 * TF "SAME" padding of one axis:
 * `total = max((ceil(in/s) - 1)·s + (k - 1)·d + 1 - in, 0)`, `before = floor(total / 2)`.
 *
 * @param inSize Input size along the axis.
 * @param kernel Kernel size along the axis.
 * @param stride Stride.
 * @param dilation Dilation (atrous rate).
 * @returns The output size and the padding before and after.
 *
 * @example
 * ```ts
 * import { samePadding } from "./same_padding.ts";
 * samePadding(257, 3, 2, 1); // { outSize: 129, before: 1, after: 1 }
 * samePadding(8, 3, 2, 1); // { outSize: 4, before: 0, after: 1 }
 * ```
 */
export function samePadding(
  inSize: number,
  kernel: number,
  stride: number,
  dilation: number,
): SamePadding {
  const outSize = Math.ceil(inSize / stride);
  const total = Math.max((outSize - 1) * stride + (kernel - 1) * dilation + 1 - inSize, 0);
  const before = Math.floor(total / 2);
  return { outSize, before, after: total - before };
}
