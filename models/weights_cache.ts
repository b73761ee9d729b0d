/**
 * Where the default weights are cached on this machine (Deno only: a web page has no file
 * cache and gives the model's URL instead). `fetchDefaultWeights` loads this module when it runs.
 *
 * @module
 */

import { homedir } from "node:os";
import { join } from "node:path";
import { ModelLoadError } from "../errors.ts";
import { readEnv } from "../runtime/_env.ts";

/**
 * The default cache directory: `$POSENET_CACHE_DIR`, else `$XDG_CACHE_HOME/posenet-webgpu`, else
 * `~/.cache/posenet-webgpu`. Environment variables that cannot be read (no `--allow-env`) count as
 * unset.
 *
 * @returns An absolute or relative directory path.
 * @throws {ModelLoadError} When none of these can be determined.
 *
 * @example Usage
 * ```ts
 * import { defaultCacheDir } from "./weights_cache.ts";
 * console.log(defaultCacheDir()); // e.g. /home/me/.cache/posenet-webgpu
 * ```
 */
export function defaultCacheDir(): string {
  const explicit = env("POSENET_CACHE_DIR");
  if (explicit) return explicit;
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "posenet-webgpu");
  let home = env("HOME") ?? env("USERPROFILE");
  if (!home) {
    try {
      home = homedir();
    } catch {
      home = undefined;
    }
  }
  if (!home) {
    throw new ModelLoadError(
      "cannot find a cache directory for the model weights: set POSENET_CACHE_DIR or pass cacheDir",
    );
  }
  return join(home, ".cache", "posenet-webgpu");
}

/** An environment variable's value; empty, unset and unreadable all count as unset. */
function env(name: string): string | undefined {
  return readEnv(name) || undefined;
}
