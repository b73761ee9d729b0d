/**
 * How values and errors are quoted in messages, written once for the whole package.
 *
 * @module
 */

/**
 * A short rendering of a value for an error message such as `x must be a number, got ${...}`:
 * strings in JSON quotes (so `"3"` is told from `3`), bigints with their `n`, arrays and typed
 * arrays by kind and length, other objects as `an object`, and everything else (numbers,
 * booleans, `null`, `undefined`) as `String(value)`.
 *
 * @param value Any value.
 * @returns Its rendering.
 *
 * @example
 * ```ts
 * import { describe } from "./_describe.ts";
 *
 * console.log(describe("3"), describe(3), describe(null)); // "3" 3 null
 * console.log(describe(new Float32Array(4))); // a Float32Array of length 4
 * console.log(describe([1, 2]), describe({})); // an array of length 2 an object
 * ```
 */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) {
    const length = (value as { length?: unknown }).length;
    const kind = value.constructor.name;
    return typeof length === "number" ? `a ${kind} of length ${length}` : `a ${kind}`;
  }
  if (typeof value === "object" && value !== null) return "an object";
  return String(value);
}

/**
 * The message of an error, or the value as text when it is not an `Error`.
 *
 * @param e What was thrown.
 * @returns Its message.
 *
 * @example
 * ```ts
 * import { errorText } from "./_describe.ts";
 *
 * console.log(errorText(new Error("boom")), errorText(42)); // boom 42
 * ```
 */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A JSON rendering of `v` for a message, cut to 80 characters.
 *
 * @param v Any value.
 * @returns `JSON.stringify(v)` (or `String(v)` when that fails), at most 80 characters.
 *
 * @example
 * ```ts
 * import { showJson } from "./_describe.ts";
 *
 * console.log(showJson({ a: 1 })); // {"a":1}
 * ```
 */
export function showJson(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
