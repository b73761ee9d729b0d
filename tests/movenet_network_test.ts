/**
 * MoveNet's backbone, feature pyramid and heads as the op-graph runtime runs them (lowered from the
 * TF.js graph, epilogues fused, buffers by liveness, one pass) against the same network converted to
 * ONNX and run in ONNX Runtime (reference/movenet_onnx.ts, whose weights are decoded by tfjs-core
 * independently of our loader), on a real photo's first crop and on random int inputs: every head
 * within 1e-5 of its largest magnitude.
 */

import assert from "node:assert/strict";
import { readImageFile } from "../cli/read_image.ts";
import { compileOpGraph, runOpGraphOnce } from "../graph/compiled_graph.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { loadMoveNetGraph, MOVENET_HEADS, type MoveNetGraph } from "../models/movenet_graph.ts";
import { cropAndResizeToInt32, movenetFirstCrop } from "../bench/peers/movenet_crop.ts";
import { releaseMovenetOrtSessions, runMovenetHeadsOrt } from "../reference/movenet_onnx.ts";
import { difference } from "./support/compare.ts";
import { mulberry32, runSeed } from "./support/random.ts";

/** max |ours − ORT| ≤ HEAD_TOLERANCE · max |ORT|, per head. */
const HEAD_TOLERANCE = 1e-5;
const ORT_HEAD = { center: "center", heatmap: "heatmap", regression: "regress", offset: "offset" };

/** The graph's normalisation, in float32 and in its order: (x − mean) · scale − offset. */
function normalise(model: MoveNetGraph, ints: Int32Array): Float32Array {
  const { mean, scale, offset } = model.normalisation;
  const out = new Float32Array(ints.length);
  for (let i = 0; i < ints.length; i++) {
    const c = i % 3;
    out[i] = Math.fround(Math.fround(Math.fround(ints[i] - mean[c]) * scale[c]) - offset);
  }
  return out;
}

for (const name of ["movenet-lightning", "movenet-thunder"] as const) {
  Deno.test(`MoveNet ${name.slice(8)} network (op graph) equals ONNX Runtime on every head`, async (t) => {
    const path = await fetchDefaultWeights(name);
    const model = await loadMoveNetGraph(path);
    const gpu = await createGpuContext();
    const compiled = await compileOpGraph(gpu, model.network, { label: name });
    try {
      const size = model.inputSize;
      const photo = await readImageFile("tests/fixtures/photos/single_portrait.jpg");
      const rng = mulberry32(runSeed(`movenet network ${name}`));
      const inputs = {
        "the portrait's first crop": cropAndResizeToInt32(
          photo,
          movenetFirstCrop(photo.width, photo.height),
          size,
        ),
        "random ints": Int32Array.from({ length: size * size * 3 }, () => Math.floor(rng() * 256)),
      };
      const worst: string[] = [];
      for (const [what, ints] of Object.entries(inputs)) {
        await t.step(what, async () => {
          const ours = await runOpGraphOnce(gpu, compiled, normalise(model, ints));
          const ort = await runMovenetHeadsOrt(path, ints);
          MOVENET_HEADS.forEach((head, i) => {
            const reference = ort[ORT_HEAD[head.key] as keyof typeof ort];
            assert.deepEqual(reference.shape.slice(1), [
              model.heatmapSize,
              model.heatmapSize,
              head.channels,
            ]);
            const d = difference(ours[i], reference.data as Float32Array);
            const relative = d.maxAbsError / d.maxAbsReference;
            worst.push(
              `${what} ${head.key}: ${relative.toExponential(2)} of ${
                d.maxAbsReference.toFixed(2)
              }`,
            );
            assert.ok(
              relative <= HEAD_TOLERANCE,
              `${name} ${what} head ${head.key}: max |ours − ORT| = ${d.maxAbsError} is ` +
                `${relative.toExponential(2)} of the largest magnitude ${d.maxAbsReference}`,
            );
          });
        });
      }
      console.log(
        `${name} vs ONNX Runtime, max |ours − ORT| / max |ORT|:\n  ${worst.join("\n  ")}`,
      );
    } finally {
      compiled.dispose();
      gpu.destroy();
      await releaseMovenetOrtSessions();
    }
  });
}
