/**
 * Host-side tensors and the checks the one-shot kernel functions run on them.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";

/**
 * A dense float32 tensor on the host, row-major (NHWC for images, TF layout for filters).
 *
 * @example
 * ```ts
 * import type { HostTensor } from "./host_tensor.ts";
 *
 * // A 2x3 RGB image, batch 1: NHWC [1, 2, 3, 3].
 * const image: HostTensor = { data: new Float32Array(2 * 3 * 3), shape: [1, 2, 3, 3] };
 * ```
 */
export interface HostTensor {
  /** Values, row-major. */
  readonly data: Float32Array;
  /** Dimensions. */
  readonly shape: readonly number[];
}

/**
 * Throws unless `value` is an integer in `[min, max]`.
 *
 * @param name What the value is, for the message.
 * @param value The value.
 * @param min Smallest allowed.
 * @param max Largest allowed.
 * @returns `value`, typed as a number.
 *
 * @example
 * ```ts
 * import { checkInteger } from "./host_tensor.ts";
 * checkInteger("stride", 2, 1, 8); // 2
 * ```
 */
export function checkInteger(
  name: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidInputError(
      `${name} must be an integer in [${min}, ${
        max === Number.MAX_SAFE_INTEGER ? "∞" : max
      }], got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Throws unless `value` is one of `choices`.
 *
 * @param name What the value is, for the message.
 * @param value The value.
 * @param choices The allowed values.
 * @returns `value`, typed as one of them.
 *
 * @example
 * ```ts
 * import { checkChoice } from "./host_tensor.ts";
 * checkChoice("activation", "relu", ["none", "relu", "relu6"] as const); // "relu"
 * ```
 */
export function checkChoice<T extends string>(
  name: string,
  value: unknown,
  choices: readonly T[],
): T {
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
    throw new InvalidInputError(
      `${name} must be one of ${choices.map((c) => JSON.stringify(c)).join(", ")}, got ${
        typeof value === "string" ? JSON.stringify(value) : String(value)
      }`,
    );
  }
  return value as T;
}

/**
 * Throws unless `tensor` has rank `expected.length`, the expected dimensions (where given) and a
 * data length equal to the product of its dimensions.
 *
 * @param name What the tensor is, for the message.
 * @param tensor The tensor.
 * @param expected Expected dimensions; `undefined` entries accept any positive size.
 * @returns The shape as a plain array.
 *
 * @example
 * ```ts
 * import { checkTensor } from "./host_tensor.ts";
 * checkTensor("input", { data: new Float32Array(12), shape: [1, 2, 2, 3] }, [1, undefined, undefined, undefined]);
 * ```
 */
export function checkTensor(
  name: string,
  tensor: HostTensor,
  expected: readonly (number | undefined)[],
): number[] {
  if (!tensor || !(tensor.data instanceof Float32Array) || !Array.isArray(tensor.shape)) {
    throw new InvalidInputError(`${name} must be {data: Float32Array, shape: number[]}`);
  }
  const shape = [...tensor.shape];
  if (shape.length !== expected.length) {
    throw new InvalidInputError(
      `${name} must have rank ${expected.length} [${expected.map((d) => d ?? "?").join(",")}], ` +
        `got shape [${shape.join(",")}]`,
    );
  }
  shape.forEach((d, i) => {
    const want = expected[i];
    if (!Number.isInteger(d) || d < 1 || (want !== undefined && d !== want)) {
      throw new InvalidInputError(
        `${name} has shape [${shape.join(",")}], expected [${
          expected.map((e) => e ?? "?").join(",")
        }]`,
      );
    }
  });
  const size = shape.reduce((a, b) => a * b, 1);
  if (tensor.data.length !== size) {
    throw new InvalidInputError(
      `${name} has ${tensor.data.length} values but its shape [${shape.join(",")}] needs ${size}`,
    );
  }
  return shape;
}

/**
 * Zero-pads the last axis of a row-major tensor from `inner` to `paddedInner` values.
 *
 * @param data Values, `rows × inner`.
 * @param rows Product of the leading dimensions.
 * @param inner Size of the last axis.
 * @param paddedInner Padded size of the last axis (≥ inner).
 * @returns `rows × paddedInner` values.
 *
 * @example
 * ```ts
 * import { padLastAxis } from "./host_tensor.ts";
 * padLastAxis(new Float32Array([1, 2, 3]), 1, 3, 4); // [1, 2, 3, 0]
 * ```
 */
export function padLastAxis(
  data: Float32Array,
  rows: number,
  inner: number,
  paddedInner: number,
): Float32Array<ArrayBuffer> {
  if (inner === paddedInner) return data.slice(0, rows * inner);
  const out = new Float32Array(rows * paddedInner);
  for (let r = 0; r < rows; r++) {
    out.set(data.subarray(r * inner, (r + 1) * inner), r * paddedInner);
  }
  return out;
}
