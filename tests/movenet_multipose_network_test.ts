/**
 * MoveNet MultiPose's backbone, feature pyramid and six heads as the op-graph runtime runs them
 * (lowered per input shape, the shape ops resolved, epilogues fused, one pass) against the same
 * network converted to ONNX and run in ONNX Runtime (`reference/movenet_multipose_onnx.ts`, weights
 * decoded by tfjs-core), on a group photo's real input and on random ints at another shape:
 * every head within 1e-5 of its largest magnitude.
 */

import assert from "node:assert/strict";
import { readImageFile } from "../cli/read_image.ts";
import { compileOpGraph, runOpGraphOnce } from "../graph/compiled_graph.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import {
  loadMoveNetMultiPoseGraph,
  type MoveNetMultiPoseGraph,
  MULTIPOSE_HEADS,
} from "../models/movenet_multipose_graph.ts";
import { createMultiPoseOrtSession } from "../reference/movenet_multipose_onnx.ts";
import { tfjsMultiPoseInput } from "./support/movenet_multipose_graph.ts";
import { difference } from "./support/compare.ts";
import { suiteCacheDir } from "./support/suite_cache.ts";
import { mulberry32, runSeed } from "./support/random.ts";

/** max |ours − ORT| ≤ HEAD_TOLERANCE · max |ORT|, per head (the single-pose networks' rule). */
const HEAD_TOLERANCE = 1e-5;

function normalise(model: MoveNetMultiPoseGraph, ints: Int32Array): Float32Array {
  const { mean, scale, offset } = model.normalisation;
  const f = Math.fround;
  return Float32Array.from(ints, (v, i) => f(f(f(v - mean[i % 3]) * scale[i % 3]) - offset));
}

Deno.test("MoveNet MultiPose network (op graph) equals ONNX Runtime on every head", async (t) => {
  const path = await fetchDefaultWeights("movenet-multipose", { cacheDir: suiteCacheDir() });
  const model = await loadMoveNetMultiPoseGraph(path);
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("movenet multipose network"));
  const photo = await readImageFile("tests/fixtures/photos/group3_couch.jpg");
  const rgb = Int32Array.from(
    { length: photo.width * photo.height * 3 },
    (_, i) => photo.data[4 * Math.floor(i / 3) + (i % 3)],
  );
  const pre = tfjsMultiPoseInput(rgb, photo.height, photo.width);
  const cases: [string, number, number, Int32Array][] = [
    ["group3_couch.jpg's input", pre.paddedHeight, pre.paddedWidth, pre.input],
    [
      "random ints",
      256,
      160,
      Int32Array.from({ length: 256 * 160 * 3 }, () => Math.floor(rng() * 256)),
    ],
  ];
  const worst: string[] = [];
  try {
    for (const [what, h, w, ints] of cases) {
      await t.step(`${what} (${h}x${w})`, async () => {
        const compiled = await compileOpGraph(gpu, model.network(h, w));
        const session = await createMultiPoseOrtSession(path, h, w);
        try {
          const ours = await runOpGraphOnce(gpu, compiled, normalise(model, ints));
          const ort = await session.run(ints);
          MULTIPOSE_HEADS.forEach((head, i) => {
            const reference = ort[head.key];
            assert.deepEqual(reference.shape, [1, h / 4, w / 4, head.channels]);
            const d = difference(ours[i], reference.data as Float32Array);
            const relative = d.maxAbsError / d.maxAbsReference;
            worst.push(`${what} ${head.key}: ${relative.toExponential(2)}`);
            assert.ok(
              relative <= HEAD_TOLERANCE,
              `${what} head ${head.key}: max |ours − ORT| = ${d.maxAbsError} is ` +
                `${relative.toExponential(2)} of the largest magnitude ${d.maxAbsReference}`,
            );
          });
        } finally {
          compiled.dispose();
          await session.release();
        }
      });
    }
  } finally {
    console.log(
      `movenet multipose heads vs ORT (relative to each head's largest): ${worst.join(", ")}`,
    );
    gpu.destroy();
  }
});
