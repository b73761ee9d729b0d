/**
 * Value checks shared by the validators of the whole package.
 *
 * @module
 */

import { describe } from "./_describe.ts";
import { InvalidInputError } from "./errors.ts";

/**
 * Whether `value` is a positive safe integer: a number `n` with `Number.isSafeInteger(n)` and
 * `n >= 1`. Every size, stride and count the package checks is one (an array length, a heatmap
 * side, an output stride), and a safe integer keeps the arithmetic on it exact
 * (`(R - 1) % stride`, `height * width * 17`).
 *
 * @param value Any value.
 * @returns `true` for 1, 2, 3, …, `Number.MAX_SAFE_INTEGER`.
 *
 * @example
 * ```ts
 * import { isPositiveInteger } from "./_checks.ts";
 *
 * console.log(isPositiveInteger(17), isPositiveInteger(0)); // true false
 * console.log(isPositiveInteger(2.5)); // false
 * console.log(isPositiveInteger(2 ** 53), isPositiveInteger("3")); // false false
 * ```
 */
export function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 1;
}

/**
 * Checks that `value` is a positive safe integer ({@linkcode isPositiveInteger}).
 *
 * @param name What the value is, for the message.
 * @param value The value to check.
 * @returns The value.
 * @throws {InvalidInputError} `${name} must be a positive integer, got ${describe(value)}`.
 *
 * @example
 * ```ts
 * import { requirePositiveInteger } from "./_checks.ts";
 *
 * console.log(requirePositiveInteger("height", 17)); // 17
 * ```
 */
export function requirePositiveInteger(name: string, value: unknown): number {
  if (!isPositiveInteger(value)) {
    throw new InvalidInputError(`${name} must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

/**
 * Checks that `value` is a non-null object.
 *
 * @param name What the value is, for the message.
 * @param value The value to check.
 * @returns Nothing; returns normally when `value` is an object.
 * @throws {InvalidInputError} `${name} must be an object, got ${describe(value)}`.
 *
 * @example
 * ```ts
 * import { requireObject } from "./_checks.ts";
 *
 * requireObject("options", {});
 * ```
 */
export function requireObject(name: string, value: unknown): void {
  if (typeof value !== "object" || value === null) {
    throw new InvalidInputError(`${name} must be an object, got ${describe(value)}`);
  }
}
