/**
 * The MoveNet weights files for tests, the reference script and the bench peers: the suite's
 * cached copy from `fetchDefaultWeights(model)`.
 *
 * @module
 */

import { fetchDefaultWeights } from "../../models/default_weights.ts";
import { suiteCacheDir } from "./suite_cache.ts";

/** The MoveNet SinglePose models. */
export type MoveNetModelName = "movenet-lightning" | "movenet-thunder";

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
  return await fetchDefaultWeights(model, { cacheDir });
}
