/**
 * MoveNet SinglePose (Lightning 192², Thunder 256²) as an ONNX model for ONNX Runtime: the
 * independent reference of the GPU runtime's backbone and heads, and the network of the ORT bench
 * peer (`bench/peers/ort_movenet.ts`).
 *
 * The model is converted from the TF.js graph model files by the generic converter
 * (`tfjs_to_onnx.ts`), with the weights decoded by TF.js (`tfjs_artifacts.ts`), so it shares no
 * code with the runtime's loader. It takes the graph's int32 `input` `[1, H, W, 3]` and runs the
 * graph's own ops: the cast to float, the normalisation Sub/Mul/Sub with the graph's constants,
 * the MobileNetV2 backbone, the feature pyramid (bilinear 2x upsampling with half-pixel
 * centres) and the four heads, whose pre-sigmoid values are outputs in NHWC (see
 * {@linkcode MOVENET_HEAD_NODES}); and the graph's in-graph decode, whose `[1, 1, 17, 3]`
 * result (y, x, score; y and x as fractions of the input) is the output
 * {@linkcode MOVENET_KEYPOINTS_NODE}.
 *
 * @module
 */

import * as ort from "onnxruntime-web";
import { InvalidInputError } from "../errors.ts";
import type { NamedTensor } from "./ort_session.ts";
import { decodeTfjsWeights, readTfjsGraphArtifacts, tfjsGraphNodes } from "./tfjs_artifacts.ts";
import { convertTfjsGraphToOnnx, type OnnxTensorInfo, type TfjsOnnxModel } from "./tfjs_to_onnx.ts";

/** The four heads of MoveNet SinglePose. */
export type MovenetHead = "center" | "heatmap" | "regress" | "offset";

/**
 * The graph node of each head (pre-sigmoid, `[1, Hf, Wf, C]` at stride 4): center 1 channel,
 * keypoint heatmap 17, regression 34 (17 × (dy, dx) from the center, in cells), offset 34
 * (17 × (dy, dx) within the cell).
 */
export const MOVENET_HEAD_NODES: Readonly<Record<MovenetHead, string>> = Object.freeze({
  center: "StatefulPartitionedCall/center_0/conv2d_4/BiasAdd",
  heatmap: "StatefulPartitionedCall/kpt_heatmap_0/conv2d_5/BiasAdd",
  regress: "StatefulPartitionedCall/kpt_regress_0/conv2d_6/BiasAdd",
  offset: "StatefulPartitionedCall/kpt_offset_0/conv2d_7/BiasAdd",
});

/** The graph's output node: `[1, 1, 17, 3]`, (y, x, score) per keypoint. */
export const MOVENET_KEYPOINTS_NODE = "Identity";

/** The converted model and where its tensors are. */
export interface MovenetOnnxModel extends TfjsOnnxModel {
  /** The int32 input `[1, H, W, 3]`. */
  readonly input: OnnxTensorInfo;
  /** Each head's output. */
  readonly heads: Readonly<Record<MovenetHead, OnnxTensorInfo>>;
  /** The decoded keypoints' output, `[1, 1, 17, 3]`. */
  readonly keypoints: OnnxTensorInfo;
}

const HEADS = Object.keys(MOVENET_HEAD_NODES) as MovenetHead[];

/**
 * Converts a MoveNet SinglePose TF.js graph model (model.json with its shard beside it) into an
 * ONNX model with the four heads and the decoded keypoints as outputs.
 *
 * @param modelJsonPath Path of `movenet-lightning.json` or `movenet-thunder.json`.
 * @returns The ONNX model and its input and outputs.
 * @throws {ModelLoadError} When the graph has an op the converter does not support.
 *
 * @example
 * ```ts ignore
 * import { fetchDefaultWeights } from "../models/default_weights.ts";
 * import { buildMovenetOnnx } from "./movenet_onnx.ts";
 * const m = await buildMovenetOnnx(await fetchDefaultWeights("movenet-lightning"));
 * console.log(m.input.shape, m.heads.heatmap.shape); // [ 1, 192, 192, 3 ] [ 1, 48, 48, 17 ]
 * ```
 */
export async function buildMovenetOnnx(modelJsonPath: string): Promise<MovenetOnnxModel> {
  const artifacts = await readTfjsGraphArtifacts(modelJsonPath);
  const constants = await decodeTfjsWeights(artifacts);
  const converted = convertTfjsGraphToOnnx(tfjsGraphNodes(artifacts), constants, {
    outputs: [...HEADS.map((h) => MOVENET_HEAD_NODES[h]), MOVENET_KEYPOINTS_NODE],
  });
  const [input] = converted.inputs;
  if (converted.inputs.length !== 1 || input.dtype !== "int32" || input.shape.length !== 4) {
    throw new InvalidInputError(
      `${modelJsonPath}: expected one int32 [1,H,W,3] input, got ` +
        converted.inputs.map((i) => `${i.name} ${i.dtype} [${i.shape}]`).join(", "),
    );
  }
  const heads = Object.fromEntries(HEADS.map((h, i) => [h, converted.outputs[i]])) as Record<
    MovenetHead,
    OnnxTensorInfo
  >;
  return { ...converted, input, heads, keypoints: converted.outputs[HEADS.length] };
}

/** The four heads (NHWC float32) and the decoded keypoints of one input. */
export interface MovenetOrtResult extends Readonly<Record<MovenetHead, NamedTensor>> {
  /** `[1, 1, 17, 3]`: y, x (fractions of the input) and score per keypoint. */
  readonly keypoints: NamedTensor;
}

/** Options of {@linkcode runMovenetHeadsOrt}. */
export interface MovenetOrtOptions {
  /**
   * ORT execution provider: `"wasm"` (default; on the CPU, one thread) or `"webgpu"` (ORT's own
   * device from Deno's `navigator.gpu`).
   */
  readonly ep?: "wasm" | "webgpu";
}

const models = new Map<string, Promise<MovenetOnnxModel>>();
const sessions = new Map<string, Promise<ort.InferenceSession>>();
let queue: Promise<unknown> = Promise.resolve();

/** Runs `fn` after every earlier call has settled (ORT Web cannot run two calls at once). */
function locked<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => {});
  return run;
}

function cached<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = map.get(key);
  if (p === undefined) {
    p = make();
    map.set(key, p);
    p.catch(() => map.delete(key));
  }
  return p;
}

/**
 * Runs MoveNet on ONNX Runtime Web and returns the four heads as NHWC float32 arrays with their
 * shapes, and the graph's decoded keypoints. The converted model and one session per model file
 * and EP are kept for later calls (free them with {@linkcode releaseMovenetOrtSessions}); calls
 * run one at a time.
 *
 * @param modelJsonPath Path of the MoveNet model.json.
 * @param input The int32 image `[1, H, W, 3]` (H = W = 192 for Lightning, 256 for Thunder),
 *   values 0..255 as the graph expects (it casts and normalises itself).
 * @param options The execution provider.
 * @returns The heads and keypoints.
 * @throws {InvalidInputError} When `input` is not an Int32Array of H·W·3 values.
 *
 * @example
 * ```ts ignore
 * import { fetchDefaultWeights } from "../models/default_weights.ts";
 * import { runMovenetHeadsOrt } from "./movenet_onnx.ts";
 * const input = new Int32Array(192 * 192 * 3).fill(128);
 * const out = await runMovenetHeadsOrt(await fetchDefaultWeights("movenet-lightning"), input);
 * console.log(out.heatmap.shape); // [ 1, 48, 48, 17 ]
 * ```
 */
export async function runMovenetHeadsOrt(
  modelJsonPath: string,
  input: Int32Array,
  options: MovenetOrtOptions = {},
): Promise<MovenetOrtResult> {
  const ep = options.ep ?? "wasm";
  if (ep !== "wasm" && ep !== "webgpu") {
    throw new InvalidInputError(`ep must be "wasm" or "webgpu", got ${ep}`);
  }
  const key = new URL(modelJsonPath, `file://${Deno.cwd()}/`).href;
  const model = await cached(models, key, () => buildMovenetOnnx(modelJsonPath));
  const shape = model.input.shape;
  const n = shape.reduce((a, b) => a * b, 1);
  if (!(input instanceof Int32Array) || input.length !== n) {
    throw new InvalidInputError(
      `input must be an Int32Array of ${shape.join("·")} = ${n} values, got ` +
        (input instanceof Int32Array ? `${input.length}` : typeof input),
    );
  }
  const session = await cached(sessions, `${ep} ${key}`, () =>
    locked(() => {
      ort.env.logLevel = "error";
      return ort.InferenceSession.create(model.model, {
        executionProviders: [ep],
        graphOptimizationLevel: "all",
        logSeverityLevel: 3, // not the warning that shape ops run on the CPU
      });
    }));
  const results = await locked(() =>
    session.run({ [model.input.name]: new ort.Tensor("int32", input, [...shape]) })
  );
  const read = (info: OnnxTensorInfo): NamedTensor => {
    const t = results[info.name];
    return { data: new Float32Array(t.data as Float32Array), shape: t.dims.map(Number) };
  };
  try {
    const heads = Object.fromEntries(HEADS.map((h) => [h, read(model.heads[h])]));
    return { ...heads, keypoints: read(model.keypoints) } as MovenetOrtResult;
  } finally {
    for (const t of Object.values(results)) t.dispose();
  }
}

/**
 * Releases the sessions {@linkcode runMovenetHeadsOrt} keeps (the converted models stay cached).
 *
 * @example
 * ```ts
 * import { releaseMovenetOrtSessions } from "./movenet_onnx.ts";
 * await releaseMovenetOrtSessions();
 * ```
 */
export async function releaseMovenetOrtSessions(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  for (const s of all) {
    const session = await s.catch(() => undefined);
    if (session) await locked(() => session.release());
  }
}
