/**
 * MoveNet SinglePose's TF.js graph on tfjs-backend-cpu, for the decode and preprocessing tests:
 * where the weights files are, loading the graph, its decode constants (read through TF.js's own
 * dequantisation), and one run that returns the heads, the argmax cells and the output.
 *
 * @module
 */

import { type MoveNetModelName, moveNetWeights } from "./movenet_weights.ts";
import { readTfjsGraphArtifacts } from "../../reference/tfjs_artifacts.ts";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as tfconv from "@tensorflow/tfjs-converter";
import type { MovenetDecodeConfig } from "../../decode/movenet_decode_gpu.ts";

/** The two single-pose models. */
export type MovenetModel = MoveNetModelName;

/** Model input side of each model. */
export const MOVENET_INPUT_SIZE: Readonly<Record<MovenetModel, number>> = Object.freeze({
  "movenet-lightning": 192,
  "movenet-thunder": 256,
});

/** The graph nodes of the four heads and of the decode steps the tests compare. */
export const MOVENET_NODES = Object.freeze({
  center: "StatefulPartitionedCall/center_0/conv2d_4/BiasAdd",
  heatmap: "StatefulPartitionedCall/kpt_heatmap_0/conv2d_5/BiasAdd",
  regress: "StatefulPartitionedCall/kpt_regress_0/conv2d_6/BiasAdd",
  offset: "StatefulPartitionedCall/kpt_offset_0/conv2d_7/BiasAdd",
  centerArgmax: "StatefulPartitionedCall/ArgMax",
  keypointArgmax: "StatefulPartitionedCall/ArgMax_1",
  output: "Identity",
  prior: "ConstantFolding/StatefulPartitionedCall/truediv_2_recip",
  gridY: "StatefulPartitionedCall/strided_slice_3",
  gridX: "StatefulPartitionedCall/strided_slice_4",
  distanceBias: "StatefulPartitionedCall/add_5/y",
  outputScale: "StatefulPartitionedCall/Reshape_13",
  inputMean: "StatefulPartitionedCall/Reshape",
  inputScale: "StatefulPartitionedCall/truediv",
  inputOffset: "StatefulPartitionedCall/sub_1/y",
});

/**
 * Largest difference between our GPU decode's scores and TF.js's, in f32 ULPs: the shader's exp
 * is within about 1.5 ULP (its Taylor remainder < 0.1, Horner and 1 + p roundings), then 1 + e and
 * the division round once each, and TF rounds its f64 result once: at most 3 ULP apart on a GPU
 * whose division is correctly rounded (llvmpipe's is). One ULP of margin for the GPU's division.
 */
export const MOVENET_SCORE_ULPS = 4;

/**
 * Distance between two f32 values in ULPs (their bit patterns; same sign).
 *
 * @param a One value.
 * @param b The other.
 * @returns |bits(a) − bits(b)|.
 */
export function f32Ulps(a: number, b: number): number {
  const bits = new Int32Array(new Float32Array([a, b]).buffer);
  return Math.abs(bits[0] - bits[1]);
}

/** A loaded graph and what the tests read from it. */
export interface TfjsMovenet {
  /** The model. */
  readonly graph: tfconv.GraphModel;
  /** Model input side. */
  readonly inputSize: number;
  /** Head side (input / 4). */
  readonly headSize: number;
  /** The decode constants, as TF.js dequantised them. */
  readonly decode: MovenetDecodeConfig;
  /** Reads any weight (constant) node as float32 values. */
  constant(name: string): Float32Array;
}

/**
 * Reads a MoveNet model's JSON and weights into artifacts for `tf.io.fromMemory`.
 *
 * @param model Which model.
 * @returns The artifacts.
 */
export async function readMovenetArtifacts(model: MovenetModel): Promise<tf.io.ModelArtifacts> {
  return await readTfjsGraphArtifacts(await moveNetWeights(model));
}

/**
 * Loads a MoveNet model on tfjs-backend-cpu.
 *
 * @param model Which model.
 * @returns The graph and its constants.
 */
export async function loadTfjsMovenet(model: MovenetModel): Promise<TfjsMovenet> {
  tf.env().set("IS_NODE", false);
  await tf.setBackend("cpu");
  const graph = await tfconv.loadGraphModel(tf.io.fromMemory(await readMovenetArtifacts(model)));
  const constant = (name: string): Float32Array => {
    const tensors = graph.weights[name];
    if (!tensors) throw new Error(`${model}: no constant ${name}`);
    return Float32Array.from(tensors[0].dataSync() as Float32Array);
  };
  const inputSize = MOVENET_INPUT_SIZE[model];
  const headSize = inputSize / 4;
  const scale = constant(MOVENET_NODES.outputScale);
  return {
    graph,
    inputSize,
    headSize,
    constant,
    decode: {
      height: headSize,
      width: headSize,
      prior: constant(MOVENET_NODES.prior),
      distanceBias: constant(MOVENET_NODES.distanceBias)[0],
      outputScale: [scale[0], scale[1]],
    },
  };
}

/** One graph run: the heads (NHWC, batch squeezed), the argmax cells and the output. */
export interface TfjsMovenetRun {
  /** `[H, W, 1]`. */
  readonly center: Float32Array;
  /** `[H, W, 17]`. */
  readonly heatmap: Float32Array;
  /** `[H, W, 34]`. */
  readonly regress: Float32Array;
  /** `[H, W, 34]`. */
  readonly offset: Float32Array;
  /** The centre cell (`ArgMax`). */
  readonly centerCell: number;
  /** The keypoint cells (`ArgMax_1`). */
  readonly keypointCells: number[];
  /** `[17 × (y, x, score)]`. */
  readonly output: Float32Array;
}

const HEADS = ["center", "heatmap", "regress", "offset"] as const;
const DECODE_OUTPUTS = [
  MOVENET_NODES.centerArgmax,
  MOVENET_NODES.keypointArgmax,
  MOVENET_NODES.output,
];

function collect(heads: Float32Array[], decoded: tf.Tensor[]): TfjsMovenetRun {
  const [center, heatmap, regress, offset] = heads;
  return {
    center,
    heatmap,
    regress,
    offset,
    centerCell: decoded[0].dataSync()[0],
    keypointCells: Array.from(decoded[1].dataSync()),
    output: Float32Array.from(decoded[2].dataSync()),
  };
}

/**
 * Runs the whole graph on an int32 input image.
 *
 * @param net The loaded model.
 * @param input `[S, S, 3]` int32 pixel values.
 * @returns The heads, cells and output.
 */
export function runTfjsMovenet(net: TfjsMovenet, input: Int32Array): TfjsMovenetRun {
  const s = net.inputSize;
  const image = tf.tensor4d(input, [1, s, s, 3], "int32");
  const names = [...HEADS.map((h) => MOVENET_NODES[h]), ...DECODE_OUTPUTS];
  const outputs = net.graph.execute(image, names) as tf.Tensor[];
  try {
    const heads = outputs.slice(0, 4).map((t) => Float32Array.from(t.dataSync() as Float32Array));
    return collect(heads, outputs.slice(4));
  } finally {
    image.dispose();
    for (const t of outputs) t.dispose();
  }
}

/**
 * Runs only the graph's decode, feeding the four head nodes directly.
 *
 * @param net The loaded model.
 * @param heads NHWC heads of the model's head size.
 * @returns The same heads, the cells and the output.
 */
export function runTfjsMovenetDecode(
  net: TfjsMovenet,
  heads: {
    center: Float32Array;
    heatmap: Float32Array;
    regress: Float32Array;
    offset: Float32Array;
  },
): TfjsMovenetRun {
  const h = net.headSize;
  const channels = { center: 1, heatmap: 17, regress: 34, offset: 34 };
  const feeds: Record<string, tf.Tensor> = {};
  for (const name of HEADS) {
    feeds[MOVENET_NODES[name]] = tf.tensor4d(heads[name], [1, h, h, channels[name]]);
  }
  const outputs = net.graph.execute(feeds, DECODE_OUTPUTS) as tf.Tensor[];
  try {
    return collect(HEADS.map((name) => heads[name]), outputs);
  } finally {
    for (const t of [...Object.values(feeds), ...outputs]) t.dispose();
  }
}
