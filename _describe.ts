/**
 * How values and errors are quoted in messages, written once for the whole package.
 *
 * @module
 */

/**
 * The message of an error, or the value as text when it is not an `Error`.
 *
 * @param e What was thrown.
 * @returns Its message.
 */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A JSON rendering of `v` for a message, cut to 80 characters.
 *
 * @param v Any value.
 * @returns `JSON.stringify(v)` (or `String(v)` when that fails), at most 80 characters.
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
