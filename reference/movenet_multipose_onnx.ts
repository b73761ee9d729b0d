/**
 * MoveNet MultiPose Lightning's backbone, feature pyramid and six heads as an ONNX model for ONNX
 * Runtime, for one input shape: the independent reference of the GPU network (converted from the
 * TF.js graph by the generic converter, `tfjs_to_onnx.ts`, with the weights decoded by TF.js, so it
 * shares no code with the runtime's loader), and the network of the ORT bench peer. The graph's
 * shape ops (`Shape`, `StridedSlice`, `Mul` of the upsampling sizes) fold to constants once the
 * input shape is given. The decode after the heads (MaxPool, TopKV2, …) is not converted.
 *
 * @module
 */

import * as ort from "onnxruntime-web";
import { InvalidInputError } from "../errors.ts";
import type { NamedTensor } from "./ort_session.ts";
import { decodeTfjsWeights, readTfjsGraphArtifacts, tfjsGraphNodes } from "./tfjs_artifacts.ts";
import { convertTfjsGraphToOnnx, type TfjsOnnxModel } from "./tfjs_to_onnx.ts";

const S = "StatefulPartitionedCall/";

/** The graph node of each head (pre-sigmoid, `[1, H/4, W/4, C]`). */
export const MULTIPOSE_HEAD_NODES = Object.freeze({
  center: `${S}center_0/conv2d_4/BiasAdd`,
  boxScale: `${S}box_scale_0/conv2d_5/BiasAdd`,
  boxOffset: `${S}box_offset_0/conv2d_6/BiasAdd`,
  heatmap: `${S}kpt_heatmap_0/conv2d_7/BiasAdd`,
  regress: `${S}kpt_regress_0/conv2d_8/BiasAdd`,
  offset: `${S}kpt_offset_0/conv2d_9/BiasAdd`,
});

/** A head's key. */
export type MultiPoseHead = keyof typeof MULTIPOSE_HEAD_NODES;

const HEADS = Object.keys(MULTIPOSE_HEAD_NODES) as MultiPoseHead[];

/**
 * Converts the MultiPose graph for one input shape, with the six heads as outputs.
 *
 * @param modelJsonPath Path of `movenet-multipose.json`.
 * @param height Input rows (a multiple of 32).
 * @param width Input columns.
 * @returns The ONNX model.
 * @throws {ModelLoadError} When the graph has an op the converter does not support.
 */
export async function buildMultiPoseOnnx(
  modelJsonPath: string,
  height: number,
  width: number,
): Promise<TfjsOnnxModel> {
  const artifacts = await readTfjsGraphArtifacts(modelJsonPath);
  return convertTfjsGraphToOnnx(tfjsGraphNodes(artifacts), await decodeTfjsWeights(artifacts), {
    outputs: HEADS.map((h) => MULTIPOSE_HEAD_NODES[h]),
    inputShapes: { input: [1, height, width, 3] },
  });
}

/** An ORT session of the converted network for one shape. */
export interface MultiPoseOrtSession {
  /** Runs the int32 `[1, H, W, 3]` input; the six heads, NHWC. */
  run(input: Int32Array): Promise<Record<MultiPoseHead, NamedTensor>>;
  /** Frees the session. */
  release(): Promise<void>;
}

/**
 * Builds an ORT session (wasm EP) of the network for one input shape.
 *
 * @param modelJsonPath Path of `movenet-multipose.json`.
 * @param height Input rows.
 * @param width Input columns.
 * @returns The session.
 *
 * @example
 * ```ts ignore
 * import { fetchDefaultWeights } from "../models/default_weights.ts";
 * import { createMultiPoseOrtSession } from "./movenet_multipose_onnx.ts";
 * const session = await createMultiPoseOrtSession(await fetchDefaultWeights("movenet-multipose"), 192, 256);
 * const heads = await session.run(new Int32Array(192 * 256 * 3).fill(128));
 * console.log(heads.heatmap.shape); // [ 1, 48, 64, 17 ]
 * await session.release();
 * ```
 */
export async function createMultiPoseOrtSession(
  modelJsonPath: string,
  height: number,
  width: number,
): Promise<MultiPoseOrtSession> {
  const model = await buildMultiPoseOnnx(modelJsonPath, height, width);
  ort.env.logLevel = "error";
  const session = await ort.InferenceSession.create(model.model, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
  });
  const n = height * width * 3;
  return {
    async run(input: Int32Array) {
      if (!(input instanceof Int32Array) || input.length !== n) {
        throw new InvalidInputError(`input must be an Int32Array of ${height}·${width}·3 = ${n}`);
      }
      const results = await session.run({
        [model.inputs[0].name]: new ort.Tensor("int32", input, [1, height, width, 3]),
      });
      try {
        return Object.fromEntries(HEADS.map((h, i) => {
          const t = results[model.outputs[i].name];
          return [h, { data: new Float32Array(t.data as Float32Array), shape: t.dims.map(Number) }];
        })) as unknown as Record<MultiPoseHead, NamedTensor>;
      } finally {
        for (const t of Object.values(results)) t.dispose();
      }
    },
    release: () => session.release(),
  };
}
