/**
 * The GPU network's accuracy, measured against a float64 evaluation of the same network
 * (`reference/posenet_float64.ts`) next to ONNX Runtime's, on real photos preprocessed on the CPU.
 *
 * `tests/posenet_network_test.ts` compares ours with ORT directly, but two correct float32 networks
 * differ by float32 rounding accumulated over 27 layers, so that comparison alone cannot say which
 * of the two is off. Here each head's error is taken against float64:
 *
 *   e = max |float32 head − float64 head| / max |float64 head|
 *
 * for ours (e_ours) and for ORT (e_ort), and ours must be no less accurate than ORT, up to a factor
 * 2: e_ours ≤ 2 · e_ort + 1e-6 (the 1e-6 keeps a head where ORT happens to be near-exact from
 * demanding more than float32 can give), and never worse than e_ours ≤ 1e-4.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { readImageFile } from "../cli/read_image.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { type OutputStride, resolveLayerSchedule } from "../models/architecture.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { createPoseNetNetwork, runNetworkOnce } from "../models/posenet_network.ts";
import { loadTfjsGraphModel } from "../models/tfjs_graph_model.ts";
import { runPoseNetFloat64 } from "../reference/posenet_float64.ts";
import {
  buildPoseNetOnnx,
  POSENET_ONNX_INPUT,
  POSENET_ONNX_OUTPUTS,
} from "../reference/posenet_onnx.ts";
import { createOrtSession, runOrt } from "../reference/ort_session.ts";
import { preprocess } from "./support/cpu_preprocess.ts";

/** Ours may be at most this many times ORT's error against float64 (plus {@linkcode SLACK}). */
const FACTOR_OVER_ORT = 2;
/** Absolute allowance added to the factor bound, far below any float32 error seen here. */
const SLACK = 1e-6;
/** Ours against float64, whatever ORT does: the bound the network test is allowed to use. */
const ABSOLUTE_BOUND = 1e-4;

const HEADS = [
  { key: "heatmap", output: POSENET_ONNX_OUTPUTS.heatmap, channels: 17 },
  { key: "offsets", output: POSENET_ONNX_OUTPUTS.offsets, channels: 34 },
  { key: "displacementFwd", output: POSENET_ONNX_OUTPUTS.displacementFwd, channels: 32 },
  { key: "displacementBwd", output: POSENET_ONNX_OUTPUTS.displacementBwd, channels: 32 },
] as const;

/** One case: a photo at an input size and output stride. */
interface AccuracyCase {
  readonly photo: string;
  readonly height: number;
  readonly width: number;
  readonly outputStride: OutputStride;
}

const CASES: readonly AccuracyCase[] = [
  { photo: "group3_couch.jpg", height: 257, width: 257, outputStride: 8 },
  { photo: "single_green_dress_crop.jpg", height: 257, width: 257, outputStride: 16 },
  { photo: "group5_stairs.jpg", height: 257, width: 257, outputStride: 16 },
  { photo: "single_uniform_crop.png", height: 257, width: 257, outputStride: 32 },
  { photo: "group4_standing.jpg", height: 257, width: 353, outputStride: 16 },
  { photo: "single_portrait.jpg", height: 513, width: 513, outputStride: 16 },
];

/** max |values − f64| / max |f64|; NaN anywhere in `values` gives Infinity. */
function relativeError(values: Float32Array, f64: Float64Array): number {
  assert.equal(values.length, f64.length, "head lengths differ");
  let maxRef = 0;
  let maxErr = 0;
  for (let i = 0; i < f64.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(f64[i]));
    const e = Math.abs(values[i] - f64[i]);
    if (!(e <= maxErr)) maxErr = Number.isNaN(e) ? Infinity : e;
  }
  return maxErr / maxRef;
}

Deno.test("the PoseNet network is as accurate as ONNX Runtime against a float64 evaluation", async (t) => {
  const weights = await loadTfjsGraphModel(await fetchDefaultWeights());
  const convLayers = [weights.conv0, ...weights.blocks.map((b) => b.depthwise)];
  const gpu = await createGpuContext();
  const rows: string[] = [];
  try {
    for (const c of CASES) {
      const name = `${c.height}x${c.width} stride ${c.outputStride}, ${c.photo}`;
      await t.step(name, async () => {
        const image = await readImageFile(
          fileURLToPath(new URL(`./fixtures/photos/${c.photo}`, import.meta.url)),
        );
        const input = preprocess(image.data, image.width, image.height, c.height, c.width);
        const schedule = resolveLayerSchedule(
          convLayers.map((l) => l.stride),
          c.outputStride,
          convLayers.map((l) => l.dilation),
        );

        const network = await createPoseNetNetwork(gpu, weights, {
          inputHeight: c.height,
          inputWidth: c.width,
          outputStride: c.outputStride,
        });
        let ours;
        try {
          ours = await runNetworkOnce(gpu, network, input);
        } finally {
          network.dispose();
        }

        const session = await createOrtSession(
          buildPoseNetOnnx(weights, schedule, c.height, c.width),
        );
        let ort;
        try {
          ort = await runOrt(session, {
            [POSENET_ONNX_INPUT]: { data: input, shape: [1, c.height, c.width, 3] },
          });
        } finally {
          await session.release();
        }

        const f64 = runPoseNetFloat64(weights, schedule, c.height, c.width, input);
        assert.deepEqual(
          [ours.height, ours.width],
          [f64.height, f64.width],
          `${name}: heatmap size`,
        );

        const failures: string[] = [];
        for (const head of HEADS) {
          const reference = f64[head.key];
          assert.deepEqual(
            ort[head.output].shape,
            [1, f64.height, f64.width, head.channels],
            `${name} ${head.key}: ORT shape`,
          );
          const eOurs = relativeError(ours[head.key], reference);
          const eOrt = relativeError(ort[head.output].data, reference);
          rows.push(
            `  ${name.padEnd(46)} ${head.key.padEnd(15)} ` +
              `${eOurs.toExponential(2).padStart(9)} ${eOrt.toExponential(2).padStart(9)} ` +
              `${(eOurs / eOrt).toFixed(2).padStart(6)}`,
          );
          // No less accurate than ORT, up to a factor 2.
          const limit = FACTOR_OVER_ORT * eOrt + SLACK;
          if (!(eOurs <= limit)) {
            failures.push(
              `${head.key}: e_ours ${eOurs.toExponential(3)} > ${FACTOR_OVER_ORT} · e_ort ` +
                `${eOrt.toExponential(3)} + ${SLACK} (ours is ${(eOurs / eOrt).toFixed(2)}x ` +
                `ORT's error against float64)`,
            );
          }
          if (!(eOurs <= ABSOLUTE_BOUND)) {
            failures.push(
              `${head.key}: e_ours ${eOurs.toExponential(3)} > ${ABSOLUTE_BOUND} against float64`,
            );
          }
        }
        assert.ok(failures.length === 0, `${name}:\n${failures.join("\n")}`);
      });
    }
  } finally {
    gpu.destroy();
    console.log(
      "max|x − f64|/max|f64| per head, x = ours and ORT " +
        `(bound: e_ours ≤ ${FACTOR_OVER_ORT}·e_ort + ${SLACK} and ≤ ${ABSOLUTE_BOUND}):\n` +
        `  ${"case".padEnd(46)} ${"head".padEnd(15)} ${"e_ours".padStart(9)} ` +
        `${"e_ort".padStart(9)} ${"ratio".padStart(6)}\n${rows.join("\n")}`,
    );
  }
});
