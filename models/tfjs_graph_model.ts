/**
 * Loads a TF.js graph model (`model.json` + binary weight shards) holding PoseNet MobileNetV1 and
 * turns it into {@linkcode PoseNetWeights}.
 *
 * The loader follows the data flow from the `image` placeholder: the first 3x3 conv, 13
 * depthwise/pointwise blocks, then the four 1x1 heads (`heatmap_2`, `offset_2`,
 * `displacement_fwd_2`, `displacement_bwd_2`). Everything it does not understand is a
 * {@linkcode ModelLoadError} naming the node, weight, shard or field: it never returns a network it
 * cannot run exactly.
 *
 * Supported graph ops: `Placeholder`, `Const`, `Identity`, `_FusedConv2D` and
 * `FusedDepthwiseConv2dNative` (`fused_ops` = `BiasAdd` or `BiasAdd,Relu6`), and unfused
 * `Conv2D` + `BiasAdd`. Padding must be `SAME` and the data format `NHWC`. Weight dtypes: float32
 * (optionally quantized as uint8/uint16 with `v * scale + min`, or as float16) and int32 (only where
 * not used as a filter or bias). Weight data is little-endian, as TF.js writes it.
 *
 * @module
 */

import { readGraph } from "../graph/tfjs_graph.ts";
import { guard, parseJson } from "./_tfjs_json.ts";
import { assembleGroups, readManifest, type ShardData, WeightStore } from "./_tfjs_manifest.ts";
import { readTfjsModelFiles } from "./_tfjs_model_io.ts";
import { buildPoseNet, POSENET_OPS } from "./posenet_graph.ts";
import type { PoseNetWeights } from "./posenet_weights.ts";

export type { ShardData } from "./_tfjs_manifest.ts";
export type {
  ConvLayerKind,
  ConvLayerWeights,
  MobileNetBlockWeights,
  PoseNetHeadWeights,
  PoseNetWeights,
} from "./posenet_weights.ts";

/**
 * Options for {@linkcode loadTfjsGraphModel}.
 *
 * @example
 * ```ts
 * import { basename, dirname, join } from "node:path";
 * import { fetchDefaultWeights } from "./default_weights.ts";
 * import { type LoadTfjsGraphModelOptions, loadTfjsGraphModel } from "./tfjs_graph_model.ts";
 *
 * // A fetch that adds credentials, or (here) serves the files from a local mirror.
 * const mirror = dirname(await fetchDefaultWeights());
 * const options: LoadTfjsGraphModelOptions = {
 *   fetch: async (input) => {
 *     const name = basename(new URL(input instanceof Request ? input.url : input).pathname);
 *     return new Response(await Deno.readFile(join(mirror, name)));
 *   },
 * };
 * const weights = await loadTfjsGraphModel("https://models.example/posenet/posenet.json", options);
 * console.log(weights.blocks.length); // 13
 * ```
 */
export interface LoadTfjsGraphModelOptions {
  /** `fetch` used for http(s) sources; defaults to `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /**
   * Longest wait in milliseconds, for http(s) sources, for a response and then between two chunks
   * of its body; default 30,000.
   */
  readonly timeoutMs?: number;
}

/**
 * Loads PoseNet MobileNetV1 weights from a TF.js graph model.
 *
 * @param source `model.json` as a file path, a `file:` URL or an http(s) URL. Shards are
 *   resolved relative to it and must lie in its directory (same origin for http), and so must the
 *   final URL of a redirected shard. Over http(s) every read has an idle timeout, model.json is
 *   capped at 32 MiB, and a shard at the bytes its weights group declares.
 * @param options Optional `fetch` and timeout for http(s) sources.
 * @returns The weights, with strides and dilations as recorded in the graph.
 * @throws {ModelLoadError} When a file is missing or unreadable, a read times out or exceeds its
 *   cap, model.json is malformed, a shard path (or a shard's redirect) escapes the model directory, a shard's size does not match the manifest, a dtype or op is
 *   unsupported, the graph is not PoseNet MobileNetV1, or a weight is NaN/Inf.
 *
 * @example Usage
 * ```ts
 * import { fetchDefaultWeights } from "./default_weights.ts";
 * import { loadTfjsGraphModel } from "./tfjs_graph_model.ts";
 *
 * const modelJson = await fetchDefaultWeights(); // a path; a file: or https: URL works as well
 * const weights = await loadTfjsGraphModel(modelJson);
 * console.log(weights.nativeOutputStride); // 16
 * ```
 */
export async function loadTfjsGraphModel(
  source: string | URL,
  options: LoadTfjsGraphModelOptions = {},
): Promise<PoseNetWeights> {
  const { doc, shards } = await readTfjsModelFiles(source, options);
  return parseTfjsGraphModel(doc, shards);
}

/**
 * Parses an in-memory TF.js graph model into PoseNet weights. Pure: no I/O.
 *
 * @param modelJson The parsed model.json document (or its JSON text).
 * @param shards The bytes of every shard, in manifest order (group 0's paths, then group 1's...).
 * @returns The weights, with strides and dilations as recorded in the graph.
 * @throws {ModelLoadError} For any malformed, unsupported or inconsistent input; nothing else.
 *
 * @example Usage
 * ```ts
 * import { dirname, join } from "node:path";
 * import { fetchDefaultWeights } from "./default_weights.ts";
 * import { parseTfjsGraphModel } from "./tfjs_graph_model.ts";
 *
 * const modelJson = await fetchDefaultWeights();
 * const json = JSON.parse(await Deno.readTextFile(modelJson));
 * const weights = parseTfjsGraphModel(json, [
 *   await Deno.readFile(join(dirname(modelJson), "posenet.bin")),
 * ]);
 * console.log(weights.heads.heatmap.outChannels); // 17
 * ```
 */
export function parseTfjsGraphModel(
  modelJson: unknown,
  shards: readonly ShardData[],
): PoseNetWeights {
  return guard(() => {
    const doc = typeof modelJson === "string" ? parseJson(modelJson, "model.json") : modelJson;
    const manifest = readManifest(doc);
    const groupBytes = assembleGroups(manifest, shards);
    const graph = readGraph(doc, POSENET_OPS);
    return buildPoseNet(graph, new WeightStore(manifest, groupBytes));
  });
}

/**
 * The shard paths of a model.json's weights manifest, in manifest order. Validates the manifest
 * (and that no path is absolute or contains `..`).
 *
 * @param modelJson The parsed model.json document (or its JSON text).
 * @returns Every shard path, group by group.
 * @throws {ModelLoadError} When the manifest is missing or malformed.
 *
 * @example Usage
 * ```ts
 * import { fetchDefaultWeights } from "./default_weights.ts";
 * import { tfjsShardPaths } from "./tfjs_graph_model.ts";
 * console.log(tfjsShardPaths(await Deno.readTextFile(await fetchDefaultWeights()))); // ["posenet.bin"]
 * ```
 */
export function tfjsShardPaths(modelJson: unknown): string[] {
  return guard(() => {
    const doc = typeof modelJson === "string" ? parseJson(modelJson, "model.json") : modelJson;
    return readManifest(doc).groups.flatMap((g) => g.paths);
  });
}

/**
 * Total number of weight bytes a model.json's manifest declares (all groups), from the weights'
 * shapes, dtypes and quantization.
 *
 * @param modelJson The parsed model.json document (or its JSON text).
 * @returns The byte length the concatenated shards must have.
 * @throws {ModelLoadError} When the manifest is missing or malformed.
 *
 * @example Usage
 * ```ts
 * import { fetchDefaultWeights } from "./default_weights.ts";
 * import { tfjsWeightsByteLength } from "./tfjs_graph_model.ts";
 * console.log(tfjsWeightsByteLength(await Deno.readTextFile(await fetchDefaultWeights()))); // 5032780
 * ```
 */
export function tfjsWeightsByteLength(modelJson: unknown): number {
  return guard(() => {
    const doc = typeof modelJson === "string" ? parseJson(modelJson, "model.json") : modelJson;
    return readManifest(doc).groups.reduce((sum, g) => sum + g.byteLength, 0);
  });
}

// ---------------------------------------------------------------------------------------------
// Errors and small helpers
