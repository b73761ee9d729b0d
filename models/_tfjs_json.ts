/**
 * JSON access and the one error type of the TF.js model readers: every malformed input becomes a
 * {@linkcode ModelLoadError} that names what is wrong.
 *
 * @module
 */

import { ModelLoadError } from "../errors.ts";
export { showJson as show } from "../_describe.ts";
/** Runs `fn`, turning any unexpected exception into a ModelLoadError (defence in depth). */
export function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    throw new ModelLoadError(`model is malformed (internal error: ${String(e)})`, { cause: e });
  }
}

export function fail(message: string): never {
  throw new ModelLoadError(message);
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError(
      `${what} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Own property of a JSON object (never the prototype chain). */
export function prop(obj: Json, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Weights manifest
