/**
 * The accuracy cost of a kernel variant: single-pose keypoints (plain and mirrored) on the six
 * photos at 257 and 513 against the committed TF.js PoseNet reference
 * (`tests/fixtures/tfjs_reference.json`), for the default kernels and for the variant, in one
 * process. The default must stay at ~0.001 px (tests/posenet_model_test.ts asserts it); an opt-in
 * variant such as `pointwise=half` (float16 weights) reports what it costs.
 *
 * ```sh
 * deno run -A bench/variant_accuracy.ts pointwise=half [--webgpu dawn]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { Pose } from "../decode/keypoints.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";
import type { KernelFamily, KernelVariantChoice } from "../kernels/kernel_variants.ts";
import { resolveWebGpuProvider } from "../runtime/webgpu_provider.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { load } from "../detectors/posenet_model.ts";
import { loadTfjsGraphModel } from "../models/tfjs_graph_model.ts";
import { readImageFile } from "../cli/read_image.ts";

interface ReferenceCase {
  photo: string;
  inputResolution: number;
  single: Pose;
  singleFlipped: Pose;
}

/** Largest keypoint distance (reference score ≥ 0.5) and score difference of two poses. */
function difference(ours: Pose, tfjs: Pose): { px: number; score: number } {
  let px = 0;
  let score = Math.abs(ours.score - tfjs.score);
  ours.keypoints.forEach((k, i) => {
    const r = tfjs.keypoints[i];
    score = Math.max(score, Math.abs(k.score - r.score));
    if (r.score >= 0.5) {
      px = Math.max(px, Math.hypot(k.position.x - r.position.x, k.position.y - r.position.y));
    }
  });
  return { px, score };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    options: { webgpu: { type: "string", default: "deno" } },
    allowPositionals: true,
  });
  const variant: KernelVariantChoice = {};
  for (const pair of (positionals[0] ?? "pointwise=half").split(",")) {
    const [family, name] = pair.split("=");
    variant[family as KernelFamily] = name;
  }
  const reference = JSON.parse(
    await Deno.readTextFile(new URL("../tests/fixtures/tfjs_reference.json", import.meta.url)),
  ) as { cases: ReferenceCase[] };
  const weights = await loadTfjsGraphModel(await fetchDefaultWeights());
  const gpu = await createGpuContext({ provider: resolveWebGpuProvider(values.webgpu) });
  console.log(
    `| photo | R | default: max px | max score diff | ${
      JSON.stringify(variant)
    }: max px | max score diff |`,
  );
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const resolution of [257, 513]) {
    const nets = [
      await load({ weights, inputResolution: resolution, context: gpu }),
      await load({ weights, inputResolution: resolution, context: gpu, variants: variant }),
    ];
    for (const c of reference.cases.filter((c) => c.inputResolution === resolution)) {
      const image = await readImageFile(
        new URL(`../tests/fixtures/photos/${c.photo}`, import.meta.url).pathname,
      );
      const cells: string[] = [];
      for (const net of nets) {
        const plain = difference(await net.estimateSinglePose(image), c.single);
        const flipped = difference(
          await net.estimateSinglePose(image, { flipHorizontal: true }),
          c.singleFlipped,
        );
        cells.push(
          Math.max(plain.px, flipped.px).toFixed(4),
          Math.max(plain.score, flipped.score).toExponential(1),
        );
      }
      console.log(`| ${c.photo} | ${resolution} | ${cells.join(" | ")} |`);
    }
    for (const net of nets) net.dispose();
  }
  gpu.destroy();
}
