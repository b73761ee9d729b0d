/**
 * The whole GPU network (`createPoseNetNetwork` + `runNetworkOnce`) against the same network built
 * as one ONNX graph (`reference/posenet_onnx.ts`) and run by ONNX Runtime Web (wasm), with the real
 * PoseNet weights: output strides 8, 16 and 32 at 257x257 and 513x513 on random inputs, one real
 * photo preprocessed as PoseNet 2.x does (also at every stride and size), and one non-square input.
 *
 * Tolerance, per head: max |ours − ORT| ≤ 1e-5 · max |ORT| over that head. A random input may
 * instead meet the float64 criterion of `tests/posenet_accuracy_test.ts` (ours as accurate as ORT
 * against a float64 evaluation: e_ours ≤ min(2 · e_ort + 1e-6, 1e-4)), checked only where it is
 * beyond 1e-5 of ORT; the log says when that happened.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { readImageFile } from "../cli/read_image.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import { type OutputStride, resolveLayerSchedule } from "../models/architecture.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { createPoseNetNetwork, runNetworkOnce } from "../models/posenet_network.ts";
import type { PoseNetWeights } from "../models/posenet_weights.ts";
import { loadTfjsGraphModel } from "../models/tfjs_graph_model.ts";
import {
  buildPoseNetOnnx,
  POSENET_ONNX_INPUT,
  POSENET_ONNX_OUTPUTS,
} from "../reference/posenet_onnx.ts";
import { createOrtSession, runOrt } from "../reference/ort_session.ts";
import { runPoseNetFloat64 } from "../reference/posenet_float64.ts";
import { difference } from "./support/compare.ts";
import { preprocess } from "./support/cpu_preprocess.ts";
import { mulberry32, runSeed, uniform } from "./support/random.ts";

/**
 * max |ours − ORT| ≤ NETWORK_TOLERANCE · max |ORT|, per head (stricter than normalising by the
 * largest value over all heads). Our kernels add the bias after the products, as ORT does; with the
 * bias added first the two networks differed by up to 5.6e-5 on real photos at 513, and
 * `tests/posenet_accuracy_test.ts` showed ours was then the less accurate one against float64.
 */
const NETWORK_TOLERANCE = 1e-5;
/** The float64 criterion of `tests/posenet_accuracy_test.ts`, for random inputs only. */
const FACTOR_OVER_ORT = 2;
const SLACK = 1e-6;
const ABSOLUTE_BOUND = 1e-4;

const HEADS = [
  { key: "heatmap", output: POSENET_ONNX_OUTPUTS.heatmap, channels: 17 },
  { key: "offsets", output: POSENET_ONNX_OUTPUTS.offsets, channels: 34 },
  { key: "displacementFwd", output: POSENET_ONNX_OUTPUTS.displacementFwd, channels: 32 },
  { key: "displacementBwd", output: POSENET_ONNX_OUTPUTS.displacementBwd, channels: 32 },
] as const;

/** Worst relative error per (output stride, head), printed at the end. */
class WorstPerHead {
  #rows = new Map<string, { relative: number; abs: number; maxRef: number; where: string }>();

  add(stride: number, head: string, relative: number, abs: number, maxRef: number, where: string) {
    const key = `stride ${String(stride).padStart(2)} ${head.padEnd(15)}`;
    const row = this.#rows.get(key);
    if (!row || relative >= row.relative) this.#rows.set(key, { relative, abs, maxRef, where });
  }

  summary(): string {
    const lines = [...this.#rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(
      ([key, r]) =>
        `  ${key} max|ours−ORT|/max|ORT| = ${r.relative.toExponential(2)} ` +
        `(${r.abs.toExponential(2)} of ${r.maxRef.toFixed(2)}) at ${r.where}`,
    );
    return `posenet network vs ONNX Runtime, worst error per stride and head:\n${lines.join("\n")}`;
  }
}

/** One input of a network case. */
interface NetworkInput {
  readonly name: string;
  readonly data: Float32Array;
  /**
   * Random inputs may instead pass the float64 criterion of `tests/posenet_accuracy_test.ts` when
   * the 1e-5 limit against ORT is too tight for them (513 at stride 8 reaches it: each network is
   * about 5e-6 from float64 there, so ours and ORT can differ by 1e-5 without either being off).
   */
  readonly random: boolean;
}

/** max |values − f64| / max |f64|; NaN anywhere in `values` gives Infinity. */
function errorAgainstFloat64(values: Float32Array, f64: Float64Array): number {
  let maxRef = 0;
  let maxErr = 0;
  for (let i = 0; i < f64.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(f64[i]));
    const e = Math.abs(values[i] - f64[i]);
    if (!(e <= maxErr)) maxErr = Number.isNaN(e) ? Infinity : e;
  }
  return maxErr / maxRef;
}

/**
 * One network case (a size and output stride): our GPU network and ORT, each built once, on every
 * input, all four heads compared.
 */
async function checkNetwork(
  gpu: GpuContext,
  weights: PoseNetWeights,
  worst: WorstPerHead,
  inputHeight: number,
  inputWidth: number,
  outputStride: OutputStride,
  inputs: readonly NetworkInput[],
): Promise<void> {
  const convLayers = [weights.conv0, ...weights.blocks.map((b) => b.depthwise)];
  const schedule = resolveLayerSchedule(
    convLayers.map((l) => l.stride),
    outputStride,
    convLayers.map((l) => l.dilation),
  );
  const network = await createPoseNetNetwork(gpu, weights, {
    inputHeight,
    inputWidth,
    outputStride,
  });
  const session = await createOrtSession(
    buildPoseNetOnnx(weights, schedule, inputHeight, inputWidth),
  );
  const failures: string[] = [];
  try {
    for (const { name, data: input, random } of inputs) {
      const ours = await runNetworkOnce(gpu, network, input);
      const reference = await runOrt(session, {
        [POSENET_ONNX_INPUT]: { data: input, shape: [1, inputHeight, inputWidth, 3] },
      });
      const line: string[] = [];
      const tooFar: { key: (typeof HEADS)[number]["key"]; output: string; why: string }[] = [];
      for (const head of HEADS) {
        const ref = reference[head.output];
        const expectedShape = [1, ours.height, ours.width, head.channels];
        assert.deepEqual(ref.shape, expectedShape, `${name} ${head.key}: ORT shape`);
        const mine = ours[head.key];
        const d = difference(mine, ref.data);
        const limit = NETWORK_TOLERANCE * d.maxAbsReference;
        const cell = Math.floor(d.index / head.channels);
        const where = `${name} [y ${Math.floor(cell / ours.width)}, x ${cell % ours.width}, ` +
          `c ${d.index % head.channels}] (ours ${mine[d.index]}, ORT ${ref.data[d.index]})`;
        worst.add(
          outputStride,
          head.key,
          d.maxAbsError / d.maxAbsReference,
          d.maxAbsError,
          d.maxAbsReference,
          where,
        );
        line.push(`${head.key} ${(d.maxAbsError / d.maxAbsReference).toExponential(2)}`);
        if (!(d.maxAbsError <= limit)) {
          tooFar.push({
            key: head.key,
            output: head.output,
            why: `${head.key}: max |ours − ORT| = ${d.maxAbsError} > ${limit} ` +
              `(${NETWORK_TOLERANCE} · max |ORT| ${d.maxAbsReference}) at ${where}`,
          });
        }
      }
      console.log(`${name}: max|ours−ORT|/max|ORT|: ${line.join(", ")}`);
      if (tooFar.length === 0) continue;
      if (!random) {
        failures.push(`${name}:\n${tooFar.map((f) => f.why).join("\n")}`);
        continue;
      }
      // Beyond 1e-5 of ORT on a random input: ours must be as accurate as ORT against float64.
      const f64 = runPoseNetFloat64(weights, schedule, inputHeight, inputWidth, input);
      for (const f of tooFar) {
        const eOurs = errorAgainstFloat64(ours[f.key], f64[f.key]);
        const eOrt = errorAgainstFloat64(reference[f.output].data, f64[f.key]);
        const limit = Math.min(FACTOR_OVER_ORT * eOrt + SLACK, ABSOLUTE_BOUND);
        console.log(
          `${name} ${f.key}: beyond ${NETWORK_TOLERANCE} of ORT; against float64 e_ours ` +
            `${eOurs.toExponential(2)}, e_ort ${eOrt.toExponential(2)} (limit ${
              limit.toExponential(2)
            })`,
        );
        if (!(eOurs <= limit)) {
          failures.push(
            `${name}: ${f.why}\nand against float64 e_ours ${eOurs.toExponential(3)} > ` +
              `min(${FACTOR_OVER_ORT} · e_ort ${
                eOrt.toExponential(3)
              } + ${SLACK}, ${ABSOLUTE_BOUND})`,
          );
        }
      }
    }
  } finally {
    network.dispose();
    await session.release();
  }
  assert.ok(failures.length === 0, failures.join("\n"));
}

Deno.test("PoseNet network equals ONNX Runtime on the real weights", async (t) => {
  const weights = await loadTfjsGraphModel(await fetchDefaultWeights());
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("posenet network"));
  const worst = new WorstPerHead();
  const photoInput = async (photo: string, height: number, width: number) => {
    const image = await readImageFile(
      fileURLToPath(new URL(`./fixtures/photos/${photo}`, import.meta.url)),
    );
    return preprocess(image.data, image.width, image.height, height, width);
  };
  try {
    // At every stride and size: a real photo, preprocessed on the CPU (what the network sees; each
    // case takes another photo so padding on both axes is exercised), and a random input in
    // [-1, 1], which drives the activations differently from photos.
    const photos = [
      "group3_couch.jpg",
      "single_green_dress_crop.jpg",
      "single_uniform_crop.png",
      "group5_stairs.jpg",
    ];
    let n = 0;
    for (const outputStride of [8, 16, 32] as const) {
      for (const size of [257, 513]) {
        const photo = photos[n++ % photos.length];
        const name = `${size}x${size} stride ${outputStride}`;
        await t.step(`${name}, ${photo} and a random input`, async () => {
          await checkNetwork(gpu, weights, worst, size, size, outputStride, [
            { name: `${name}, ${photo}`, data: await photoInput(photo, size, size), random: false },
            {
              name: `${name}, random input`,
              data: uniform(rng, size * size * 3),
              random: true,
            },
          ]);
        });
      }
    }
    await t.step("257x353 stride 16, group4_standing.jpg", async () => {
      await checkNetwork(gpu, weights, worst, 257, 353, 16, [{
        name: "257x353 stride 16, group4_standing.jpg",
        data: await photoInput("group4_standing.jpg", 257, 353),
        random: false,
      }]);
    });
  } finally {
    console.log(worst.summary());
    gpu.destroy();
  }
});
