/**
 * Reading environment variables where there may be none (a browser) or no permission to read
 * them (no `--allow-env`): both count as unset.
 *
 * @module
 */

/**
 * The value of an environment variable, or `undefined` when it is unset or cannot be read.
 *
 * @param name The variable.
 * @returns Its value, or `undefined`.
 */
export function readEnv(name: string): string | undefined {
  try {
    return globalThis.Deno?.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * Sets an environment variable if it is unset and can be set.
 *
 * @param name The variable.
 * @param value Its value.
 * @returns Whether the variable now has `value` (set here or before).
 */
export function defaultEnv(name: string, value: string): boolean {
  try {
    const current = globalThis.Deno?.env.get(name);
    if (current !== undefined) return current === value;
    globalThis.Deno?.env.set(name, value);
    return globalThis.Deno !== undefined;
  } catch {
    return false;
  }
}
