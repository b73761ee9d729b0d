/**
 * The test suite's own weights cache: `$POSENET_CACHE_DIR`, which `deno task test` sets to
 * `.cache/posenet-webgpu` in the repository (git-ignored, kept between runs so the 144 MB tarball
 * is downloaded once per checkout), else that same directory.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** The repository's `.cache/posenet-webgpu`. */
export const REPO_CACHE_DIR: string = fileURLToPath(
  new URL("../../.cache/posenet-webgpu", import.meta.url),
);

/**
 * The weights cache the suite uses.
 *
 * @returns `$POSENET_CACHE_DIR` when set, else {@linkcode REPO_CACHE_DIR}.
 */
export function suiteCacheDir(): string {
  return Deno.env.get("POSENET_CACHE_DIR") || REPO_CACHE_DIR;
}
