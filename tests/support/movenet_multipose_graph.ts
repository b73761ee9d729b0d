/**
 * MoveNet MultiPose's TF.js graph on tfjs-backend-cpu, for the decode and preprocessing tests: the
 * graph loaded from the suite's weights, pose-detection's preprocessing on TF.js ops, and runs of
 * the whole graph or of its decode alone (fed the six heads), returning the output and the
 * decode's intermediate cells and values.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as tfconv from "@tensorflow/tfjs-converter";
import { fetchDefaultWeights } from "../../models/default_weights.ts";
import { readTfjsGraphArtifacts } from "../../reference/tfjs_artifacts.ts";
import { MULTIPOSE_HEAD_NODES } from "../../reference/movenet_multipose_onnx.ts";
import type { MultiPoseHostHeads } from "../../decode/movenet_multipose_decode_gpu.ts";
import { suiteCacheDir } from "./suite_cache.ts";

const S = "StatefulPartitionedCall/";

/** The graph nodes of the six heads and of the decode steps the tests compare. */
export const MULTIPOSE_NODES = Object.freeze({
  ...MULTIPOSE_HEAD_NODES,
  /** The peak candidates `[1, H·W]` (sigmoid where a peak, else 0). */
  candidates: `${S}Reshape_2`,
  /** TopKV2's indices `[1, K]`. */
  topCells: `${S}TopKV2:1`,
  /** The weighted, masked heatmap `[H·W, K·17]`. */
  weighted: `${S}Reshape_16`,
  /** Its argmax `[K·17]`. */
  keypointCells: `${S}ArgMax`,
  output: "Identity",
});

/** The six head keys, in the order of the op graph's outputs. */
export const MULTIPOSE_HEAD_KEYS = [
  "center",
  "boxScale",
  "boxOffset",
  "heatmap",
  "regress",
  "offset",
] as const;

const CHANNELS = { center: 1, boxScale: 2, boxOffset: 2, heatmap: 17, regress: 34, offset: 34 };

/** One run of the graph (or its decode). */
export interface TfjsMultiPoseRun {
  /** The heads, NHWC, batch squeezed. */
  readonly heads: MultiPoseHostHeads;
  /** `Reshape_2`. */
  readonly candidates: Float32Array;
  /** `TopKV2:1`. */
  readonly topCells: number[];
  /** `Reshape_16`, `[H·W, K·17]` row-major. */
  readonly weighted: Float32Array;
  /** `ArgMax`, instance-major. */
  readonly keypointCells: number[];
  /** `Identity`, K × 56. */
  readonly output: Float32Array;
}

/**
 * Loads the MultiPose graph on tfjs-backend-cpu from the suite's weights.
 *
 * @returns The graph model.
 */
export async function loadTfjsMultiPose(): Promise<tfconv.GraphModel> {
  tf.env().set("IS_NODE", false);
  await tf.setBackend("cpu");
  const path = await fetchDefaultWeights("movenet-multipose", { cacheDir: suiteCacheDir() });
  return await tfconv.loadGraphModel(tf.io.fromMemory(await readTfjsGraphArtifacts(path)));
}

/**
 * pose-detection 2.1.3's MultiPose preprocessing on TF.js ops (`estimateMultiplePoses`):
 * `resizeBilinear` so the longer side is `maxDimension` (`Math.round` for the other), `pad` the
 * shorter side's end up to a multiple of 32, `cast` to int32.
 *
 * @param rgb `[H, W, 3]` int values 0..255.
 * @param height Image rows.
 * @param width Image columns.
 * @param maxDimension pose-detection's `multiPoseMaxDimension`.
 * @returns The int32 model input and its padded and resized sizes.
 */
export function tfjsMultiPoseInput(
  rgb: Int32Array,
  height: number,
  width: number,
  maxDimension = 256,
): {
  input: Int32Array;
  paddedHeight: number;
  paddedWidth: number;
  resizedHeight: number;
  resizedWidth: number;
} {
  const landscape = width > height;
  const resizedWidth = landscape ? maxDimension : Math.round(maxDimension * width / height);
  const resizedHeight = landscape ? Math.round(maxDimension * height / width) : maxDimension;
  const paddedHeight = landscape ? Math.ceil(resizedHeight / 32) * 32 : resizedHeight;
  const paddedWidth = landscape ? resizedWidth : Math.ceil(resizedWidth / 32) * 32;
  const input = tf.tidy(() => {
    const image = tf.tensor4d(rgb, [1, height, width, 3], "int32");
    const resized = tf.image.resizeBilinear(image, [resizedHeight, resizedWidth]);
    const padded = tf.pad(resized, [[0, 0], [0, paddedHeight - resizedHeight], [
      0,
      paddedWidth - resizedWidth,
    ], [0, 0]]);
    return Int32Array.from(tf.cast(padded, "int32").dataSync());
  });
  return { input, paddedHeight, paddedWidth, resizedHeight, resizedWidth };
}

const DECODE_OUTPUTS = [
  MULTIPOSE_NODES.candidates,
  MULTIPOSE_NODES.topCells,
  MULTIPOSE_NODES.weighted,
  MULTIPOSE_NODES.keypointCells,
  MULTIPOSE_NODES.output,
];

function collect(heads: MultiPoseHostHeads, decoded: tf.Tensor[]): TfjsMultiPoseRun {
  const floats = (t: tf.Tensor) => Float32Array.from(t.dataSync() as Float32Array);
  return {
    heads,
    candidates: floats(decoded[0]),
    topCells: Array.from(decoded[1].dataSync()),
    weighted: floats(decoded[2]),
    keypointCells: Array.from(decoded[3].dataSync()),
    output: floats(decoded[4]),
  };
}

/**
 * Runs the whole graph on an int32 input.
 *
 * @param graph The loaded model.
 * @param input `[H, W, 3]` int32 values.
 * @param height Input rows (a multiple of 32).
 * @param width Input columns.
 * @returns The heads, the decode's cells and values, and the output.
 */
export function runTfjsMultiPose(
  graph: tfconv.GraphModel,
  input: Int32Array,
  height: number,
  width: number,
): TfjsMultiPoseRun {
  const image = tf.tensor4d(input, [1, height, width, 3], "int32");
  const names = [...MULTIPOSE_HEAD_KEYS.map((k) => MULTIPOSE_NODES[k]), ...DECODE_OUTPUTS];
  const outputs = graph.execute(image, names) as tf.Tensor[];
  try {
    const heads = Object.fromEntries(
      MULTIPOSE_HEAD_KEYS.map((k, i) => [k, Float32Array.from(outputs[i].dataSync())]),
    ) as unknown as MultiPoseHostHeads;
    return collect(heads, outputs.slice(MULTIPOSE_HEAD_KEYS.length));
  } finally {
    image.dispose();
    for (const t of outputs) t.dispose();
  }
}

/**
 * Runs only the graph's decode, feeding the six head nodes directly (the graph's shape ops follow
 * the heads' size, so any size runs).
 *
 * @param graph The loaded model.
 * @param heads NHWC heads.
 * @param height Head rows.
 * @param width Head columns.
 * @returns The same heads, the decode's cells and values, and the output.
 */
export function runTfjsMultiPoseDecode(
  graph: tfconv.GraphModel,
  heads: MultiPoseHostHeads,
  height: number,
  width: number,
): TfjsMultiPoseRun {
  const feeds: Record<string, tf.Tensor> = {};
  for (const key of MULTIPOSE_HEAD_KEYS) {
    feeds[MULTIPOSE_NODES[key]] = tf.tensor4d(heads[key], [1, height, width, CHANNELS[key]]);
  }
  const outputs = graph.execute(feeds, DECODE_OUTPUTS) as tf.Tensor[];
  try {
    return collect(heads, outputs);
  } finally {
    for (const t of [...Object.values(feeds), ...outputs]) t.dispose();
  }
}
