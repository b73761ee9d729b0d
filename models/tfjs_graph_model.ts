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

import { resolve as resolvePath } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ModelLoadError } from "../errors.ts";
import { networkTimeout, openBounded, readAll } from "./_bounded_fetch.ts";
import type {
  ConvLayerKind,
  ConvLayerWeights,
  MobileNetBlockWeights,
  PoseNetHeadWeights,
  PoseNetWeights,
} from "./posenet_weights.ts";

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

/** Largest model.json read over http(s) (PoseNet's is 32 KB; its weights are in the shards). */
const MAX_MODEL_JSON_BYTES = 32 * 1024 * 1024;

/** The bytes of one weights shard, as given to {@linkcode parseTfjsGraphModel}. */
export type ShardData = ArrayBuffer | Uint8Array;

/** Number of MobileNetV1 depthwise/pointwise blocks. */
const BLOCK_COUNT = 13;
/** Largest stride or dilation accepted from a file. */
const MAX_STRIDE = 64;

const HEADS = [
  { key: "heatmap", marker: "heatmap_2", channels: 17 },
  { key: "offsets", marker: "offset_2", channels: 34 },
  { key: "displacementFwd", marker: "displacement_fwd_2", channels: 32 },
  { key: "displacementBwd", marker: "displacement_bwd_2", channels: 32 },
] as const;

const SUPPORTED_OPS = new Set([
  "Placeholder",
  "Const",
  "Identity",
  "_FusedConv2D",
  "FusedDepthwiseConv2dNative",
  "Conv2D",
  "BiasAdd",
]);

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
  const modelUrl = toModelUrl(source);
  const net: NetworkRead = {
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: networkTimeout(options.timeoutMs),
  };
  const text = new TextDecoder().decode(
    await readResource(modelUrl, net, `model.json ${display(modelUrl)}`, MAX_MODEL_JSON_BYTES),
  );
  const doc = parseJson(text, display(modelUrl));
  const manifest = guard(() => readManifest(doc));
  const shards: Uint8Array[] = [];
  for (const group of manifest.groups) {
    const urls = group.paths.map((path) => resolveShardUrl(modelUrl, path));
    if (modelUrl.protocol === "file:") {
      // Check sizes before reading so a wrong (possibly huge) file is never read into memory.
      let total = 0;
      for (const [i, url] of urls.entries()) {
        total += await fileSize(url, group.paths[i], group.index);
      }
      if (total !== group.byteLength) throw groupSizeError(group, total);
    }
    let left = group.byteLength; // what the shards of this group may still hold
    for (const [i, url] of urls.entries()) {
      const shard = await readResource(
        url,
        net,
        `weights shard "${group.paths[i]}" (weights group ${group.index}) at ${display(url)}`,
        left,
        (final) => checkInModelDir(modelUrl, final, `weights shard "${group.paths[i]}" redirected`),
      );
      left -= shard.byteLength;
      shards.push(shard);
    }
  }
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
    const graph = readGraph(doc);
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

/** Runs `fn`, turning any unexpected exception into a ModelLoadError (defence in depth). */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    throw new ModelLoadError(`model is malformed (internal error: ${String(e)})`, { cause: e });
  }
}

function fail(message: string): never {
  throw new ModelLoadError(message);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError(
      `${what} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Own property of a JSON object (never the prototype chain). */
function prop(obj: Json, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

// ---------------------------------------------------------------------------------------------
// Weights manifest

type QuantKind = "uint8" | "uint16" | "float16";

interface ManifestWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: "float32" | "int32";
  readonly quantization?: {
    readonly kind: QuantKind;
    readonly scale: number;
    readonly min: number;
  };
  readonly group: number;
  readonly offset: number;
  readonly count: number;
  readonly byteLength: number;
}

interface ManifestGroup {
  readonly index: number;
  readonly paths: readonly string[];
  readonly weights: readonly ManifestWeight[];
  readonly byteLength: number;
}

interface Manifest {
  readonly groups: readonly ManifestGroup[];
  readonly byName: ReadonlyMap<string, ManifestWeight>;
}

function readManifest(doc: unknown): Manifest {
  if (!isObject(doc)) fail(`model.json must be a JSON object, got ${show(doc)}`);
  if (!isObject(prop(doc, "modelTopology"))) {
    fail(`model.json lacks "modelTopology" (or it is not an object)`);
  }
  const rawGroups = prop(doc, "weightsManifest");
  if (!Array.isArray(rawGroups)) {
    fail(`model.json lacks "weightsManifest" (or it is not an array)`);
  }
  const groups: ManifestGroup[] = [];
  const byName = new Map<string, ManifestWeight>();
  for (const [g, rawGroup] of rawGroups.entries()) {
    const where = `weightsManifest[${g}]`;
    if (!isObject(rawGroup)) fail(`${where} is not an object`);
    const paths = prop(rawGroup, "paths");
    if (!Array.isArray(paths) || paths.length === 0) {
      fail(`${where}.paths must be a non-empty array of shard paths`);
    }
    for (const [i, p] of paths.entries()) {
      if (typeof p !== "string") fail(`${where}.paths[${i}] is not a string: ${show(p)}`);
      checkShardPath(p);
    }
    const rawWeights = prop(rawGroup, "weights");
    if (!Array.isArray(rawWeights)) fail(`${where}.weights must be an array`);
    const weights: ManifestWeight[] = [];
    let offset = 0;
    for (const [w, raw] of rawWeights.entries()) {
      const weight = readManifestWeight(raw, `${where}.weights[${w}]`, g, offset);
      if (byName.has(weight.name)) fail(`weight "${weight.name}" appears twice in the manifest`);
      byName.set(weight.name, weight);
      weights.push(weight);
      offset += weight.byteLength;
      if (offset > Number.MAX_SAFE_INTEGER) fail(`${where} declares an impossible byte size`);
    }
    groups.push({ index: g, paths: paths as string[], weights, byteLength: offset });
  }
  return { groups, byName };
}

function readManifestWeight(raw: unknown, where: string, group: number, offset: number) {
  if (!isObject(raw)) fail(`${where} is not an object`);
  const name = prop(raw, "name");
  if (typeof name !== "string" || name === "") fail(`${where}.name must be a non-empty string`);
  const label = `weight "${name}"`;
  const shape = prop(raw, "shape");
  if (!Array.isArray(shape)) fail(`${label} has no shape array`);
  if (shape.length > 8) fail(`${label} has rank ${shape.length}; at most 8 is supported`);
  let count = 1;
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      fail(`${label} has an invalid shape ${show(shape)}: dims must be non-negative integers`);
    }
    count *= d;
    if (count > 2 ** 40) fail(`${label} has an impossibly large shape ${show(shape)}`);
  }
  const dtype = prop(raw, "dtype");
  if (dtype !== "float32" && dtype !== "int32") {
    fail(`${label} has unsupported dtype ${show(dtype)} (supported: float32, int32)`);
  }
  const rawQuant = prop(raw, "quantization");
  let quantization: ManifestWeight["quantization"];
  let bytesPerElement = 4;
  if (rawQuant !== undefined && rawQuant !== null) {
    if (!isObject(rawQuant)) fail(`${label} has a malformed quantization ${show(rawQuant)}`);
    const kind = prop(rawQuant, "dtype");
    if (kind === "float16") {
      if (dtype !== "float32") fail(`${label}: float16 quantization needs dtype float32`);
      quantization = { kind, scale: 1, min: 0 };
      bytesPerElement = 2;
    } else if (kind === "uint8" || kind === "uint16") {
      const scale = prop(rawQuant, "scale");
      const min = prop(rawQuant, "min");
      if (typeof scale !== "number" || !Number.isFinite(scale)) {
        fail(`${label} has ${kind} quantization with invalid scale ${show(scale)}`);
      }
      if (typeof min !== "number" || !Number.isFinite(min)) {
        fail(`${label} has ${kind} quantization with invalid min ${show(min)}`);
      }
      quantization = { kind, scale, min };
      bytesPerElement = kind === "uint8" ? 1 : 2;
    } else {
      fail(
        `${label} has unsupported quantization dtype ${show(kind)} ` +
          `(supported: uint8, uint16, float16)`,
      );
    }
  }
  return {
    name,
    shape: shape as number[],
    dtype,
    quantization,
    group,
    offset,
    count,
    byteLength: count * bytesPerElement,
  } satisfies ManifestWeight;
}

/** Rejects absolute shard paths, URLs, `..` segments and odd characters. */
function checkShardPath(path: string): void {
  const bad = (why: string): never =>
    fail(`weights shard path ${show(path)} is not allowed: ${why}`);
  if (path === "") bad("it is empty");
  if ([...path].some((c) => c.charCodeAt(0) < 0x20 || c === "\u007f" || c === "?" || c === "#")) {
    bad("it contains a control character, '?' or '#'");
  }
  if (/^[\\/]/.test(path)) bad("it is absolute");
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path)) bad("it is absolute (has a scheme or drive)");
  for (const segment of path.split(/[\\/]/)) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return bad("it has malformed percent-encoding");
    }
    if (decoded === ".." || /^\.(%2e|\.)$/i.test(segment)) bad("it contains a '..' segment");
    if (/[\\/]/.test(decoded)) bad("it contains an encoded path separator");
  }
}

function assembleGroups(manifest: Manifest, shards: readonly ShardData[]): Uint8Array[] {
  if (!Array.isArray(shards)) fail("shards must be an array of ArrayBuffer/Uint8Array");
  const pathCount = manifest.groups.reduce((n, g) => n + g.paths.length, 0);
  let next = 0;
  const out: Uint8Array[] = [];
  for (const group of manifest.groups) {
    const parts: Uint8Array[] = [];
    for (const path of group.paths) {
      const data: unknown = shards[next++];
      if (data === undefined || data === null) {
        fail(
          `weights shard "${path}" (weights group ${group.index}) is missing: ` +
            `got ${shards.length} shard buffers for ${pathCount} shard paths`,
        );
      }
      if (data instanceof Uint8Array) parts.push(data);
      else if (data instanceof ArrayBuffer) parts.push(new Uint8Array(data));
      else fail(`weights shard "${path}" is not an ArrayBuffer or Uint8Array`);
    }
    const total = parts.reduce((n, p) => n + p.byteLength, 0);
    if (total !== group.byteLength) throw groupSizeError(group, total);
    if (parts.length === 1) {
      out.push(parts[0]);
    } else {
      const joined = new Uint8Array(total);
      let at = 0;
      for (const p of parts) {
        joined.set(p, at);
        at += p.byteLength;
      }
      out.push(joined);
    }
  }
  if (next !== shards.length) {
    fail(`got ${shards.length} shard buffers but the manifest lists ${pathCount} shard paths`);
  }
  return out;
}

function groupSizeError(group: ManifestGroup, actual: number): ModelLoadError {
  const names = group.paths.map((p) => `"${p}"`).join(", ");
  const problem = actual < group.byteLength ? "too short" : "too long";
  return new ModelLoadError(
    `weights group ${group.index} (shard${group.paths.length > 1 ? "s" : ""} ${names}) is ` +
      `${problem}: it holds ${actual} bytes but its ${group.weights.length} weights need ` +
      `${group.byteLength} bytes`,
  );
}

let halfTable: Float32Array | undefined;

function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = sign * frac * 2 ** -24;
    else if (exp === 31) table[h] = frac ? NaN : sign * Infinity;
    else table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return (halfTable = table);
}

/** Decodes float weights on demand, checking they are finite. */
class WeightStore {
  readonly #manifest: Manifest;
  readonly #groups: readonly Uint8Array[];
  readonly #cache = new Map<string, Float32Array>();

  constructor(manifest: Manifest, groups: readonly Uint8Array[]) {
    this.#manifest = manifest;
    this.#groups = groups;
  }

  get(name: string): ManifestWeight | undefined {
    return this.#manifest.byName.get(name);
  }

  /** Float values of a weight used as a filter or bias (`role` names that use). */
  floats(weight: ManifestWeight, role: string): Float32Array {
    const cached = this.#cache.get(weight.name);
    if (cached) return cached;
    if (weight.dtype !== "float32") {
      fail(`weight "${weight.name}" has dtype ${weight.dtype}, but it is used as ${role}`);
    }
    const bytes = this.#groups[weight.group];
    const view = new DataView(bytes.buffer, bytes.byteOffset + weight.offset, weight.byteLength);
    const out = new Float32Array(weight.count);
    const q = weight.quantization;
    if (q === undefined) {
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    } else if (q.kind === "float16") {
      const table = halfToFloatTable();
      for (let i = 0; i < out.length; i++) out[i] = table[view.getUint16(2 * i, true)];
    } else if (q.kind === "uint8") {
      for (let i = 0; i < out.length; i++) out[i] = view.getUint8(i) * q.scale + q.min;
    } else {
      for (let i = 0; i < out.length; i++) out[i] = view.getUint16(2 * i, true) * q.scale + q.min;
    }
    for (let i = 0; i < out.length; i++) {
      if (!Number.isFinite(out[i])) {
        fail(`weight "${weight.name}" holds a non-finite value (${out[i]}) at index ${i}`);
      }
    }
    this.#cache.set(weight.name, out);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Graph

interface GraphNode {
  readonly name: string;
  readonly op: string;
  /** Data inputs (control inputs `^x` dropped, `:0` suffixes removed). */
  readonly inputs: readonly string[];
  readonly attr: Json;
}

interface Graph {
  readonly nodes: ReadonlyMap<string, GraphNode>;
  /** For each producing node (Identity resolved), the nodes reading it and at which input. */
  readonly consumers: ReadonlyMap<string, readonly { node: GraphNode; index: number }[]>;
  /** Resolves a node name through Identity nodes. */
  readonly source: (name: string, from: GraphNode) => GraphNode;
}

function readGraph(doc: unknown): Graph {
  const topology = isObject(doc) ? prop(doc, "modelTopology") : undefined;
  if (!isObject(topology)) fail(`model.json lacks "modelTopology"`);
  const rawNodes = prop(topology, "node");
  if (!Array.isArray(rawNodes)) fail(`modelTopology.node must be an array of graph nodes`);
  const nodes = new Map<string, GraphNode>();
  for (const [i, raw] of rawNodes.entries()) {
    if (!isObject(raw)) fail(`modelTopology.node[${i}] is not an object`);
    const name = prop(raw, "name");
    if (typeof name !== "string" || name === "") {
      fail(`modelTopology.node[${i}] has no name (or it is not a string)`);
    }
    const op = prop(raw, "op");
    if (typeof op !== "string") fail(`node "${name}" has no op (or it is not a string)`);
    if (!SUPPORTED_OPS.has(op)) {
      fail(
        `node "${name}" has unsupported op "${op}" (supported: ${[...SUPPORTED_OPS].join(", ")})`,
      );
    }
    if (nodes.has(name)) fail(`node name "${name}" appears twice in modelTopology.node`);
    const rawInputs = prop(raw, "input") ?? [];
    if (!Array.isArray(rawInputs)) fail(`node "${name}" has a malformed input list`);
    const inputs: string[] = [];
    for (const input of rawInputs) {
      if (typeof input !== "string" || input === "") {
        fail(`node "${name}" has a malformed input ${show(input)}`);
      }
      if (input.startsWith("^")) continue; // control dependency: no data
      const m = /^(.*):(\d+)$/.exec(input);
      if (m && m[2] !== "0") {
        fail(`node "${name}" reads output ${m[2]} of "${m[1]}"; only output 0 is supported`);
      }
      inputs.push(m ? m[1] : input);
    }
    const attr = prop(raw, "attr") ?? {};
    if (!isObject(attr)) fail(`node "${name}" has a malformed attr ${show(attr)}`);
    nodes.set(name, { name, op, inputs, attr });
  }

  const memo = new Map<string, GraphNode>();
  const source = (name: string, from: GraphNode): GraphNode => {
    const known = memo.get(name);
    if (known) return known;
    let node = nodes.get(name);
    const seen = new Set<string>();
    while (true) {
      if (!node) fail(`node "${from.name}" reads "${name}", which is not a node of the graph`);
      if (node.op !== "Identity") break;
      if (seen.has(node.name)) fail(`Identity node "${node.name}" is part of a cycle`);
      seen.add(node.name);
      if (node.inputs.length !== 1) {
        fail(`Identity node "${node.name}" must have exactly one data input`);
      }
      node = nodes.get(node.inputs[0]);
    }
    memo.set(name, node);
    for (const alias of seen) memo.set(alias, node);
    return node;
  };

  const consumers = new Map<string, { node: GraphNode; index: number }[]>();
  for (const node of nodes.values()) {
    if (node.op === "Identity" || node.op === "Const" || node.op === "Placeholder") continue;
    for (const [index, input] of node.inputs.entries()) {
      const src = source(input, node);
      let list = consumers.get(src.name);
      if (!list) consumers.set(src.name, list = []);
      list.push({ node, index });
    }
  }
  return { nodes, consumers, source };
}

function attrValue(node: GraphNode, key: string): Json | undefined {
  const v = prop(node.attr, key);
  if (v === undefined) return undefined;
  if (!isObject(v)) fail(`node "${node.name}" has a malformed attr "${key}": ${show(v)}`);
  return v;
}

function decodeBase64(node: GraphNode, key: string, value: unknown): string {
  if (typeof value !== "string") fail(`node "${node.name}" attr "${key}" is not a string`);
  try {
    const binary = atob(value);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail(`node "${node.name}" attr "${key}" is not valid base64 text: ${show(value)}`);
  }
}

function attrString(node: GraphNode, key: string): string | undefined {
  const v = attrValue(node, key);
  if (v === undefined) return undefined;
  return decodeBase64(node, key, prop(v, "s"));
}

function attrList(node: GraphNode, key: string, kind: "i" | "s"): unknown[] | undefined {
  const v = attrValue(node, key);
  if (v === undefined) return undefined;
  const list = prop(v, "list");
  if (!isObject(list)) fail(`node "${node.name}" attr "${key}" is not a list: ${show(v)}`);
  const items = prop(list, kind) ?? [];
  if (!Array.isArray(items)) fail(`node "${node.name}" attr "${key}" is malformed: ${show(v)}`);
  return items;
}

function parseInt64(node: GraphNode, key: string, value: unknown): number {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value === "string" && /^-?\d{1,15}$/.test(value)) return Number(value);
  return fail(`node "${node.name}" attr "${key}" holds a non-integer ${show(value)}`);
}

function attrIntList(node: GraphNode, key: string): number[] | undefined {
  return attrList(node, key, "i")?.map((v) => parseInt64(node, key, v));
}

function attrStringList(node: GraphNode, key: string): string[] | undefined {
  return attrList(node, key, "s")?.map((v) => decodeBase64(node, key, v));
}

/** Reads `strides`/`dilations` as `[1, s, s, 1]` and returns `s`. */
function spatialAttr(node: GraphNode, key: "strides" | "dilations", required: boolean): number {
  const list = attrIntList(node, key);
  if (list === undefined) {
    if (required) fail(`node "${node.name}" (${node.op}) has no "${key}" attr`);
    return 1;
  }
  if (list.length !== 4 || list[0] !== 1 || list[3] !== 1) {
    fail(`node "${node.name}" has ${key} [${list}]; expected [1, ${key[0]}, ${key[0]}, 1] (NHWC)`);
  }
  if (list[1] !== list[2]) {
    fail(`node "${node.name}" has ${key} [${list}]; y and x must be equal`);
  }
  if (list[1] < 1 || list[1] > MAX_STRIDE) {
    fail(`node "${node.name}" has ${key} [${list}]; must be between 1 and ${MAX_STRIDE}`);
  }
  return list[1];
}

/** Checks the attrs a conv-like node must have; returns stride and dilation. */
function convAttrs(node: GraphNode): { stride: number; dilation: number } {
  const padding = attrString(node, "padding");
  if (padding !== "SAME") {
    fail(`node "${node.name}" has padding ${show(padding)}; only "SAME" is supported`);
  }
  checkDataFormat(node);
  const type = attrValue(node, "T");
  if (type !== undefined && prop(type, "type") !== "DT_FLOAT") {
    fail(`node "${node.name}" has T ${show(prop(type, "type"))}; only DT_FLOAT is supported`);
  }
  const stride = spatialAttr(node, "strides", true);
  const dilation = spatialAttr(node, "dilations", false);
  if (stride > 1 && dilation > 1) {
    fail(`node "${node.name}" has both stride ${stride} and dilation ${dilation} above 1`);
  }
  return { stride, dilation };
}

function checkDataFormat(node: GraphNode): void {
  const format = attrString(node, "data_format") ?? "NHWC";
  if (format !== "NHWC") {
    fail(`node "${node.name}" has data_format ${show(format)}; only "NHWC" is supported`);
  }
}

/** `fused_ops` of a fused conv: returns whether Relu6 follows the bias. */
function fusedRelu6(node: GraphNode): boolean {
  const ops = attrStringList(node, "fused_ops");
  const joined = ops?.join(",");
  if (joined !== "BiasAdd" && joined !== "BiasAdd,Relu6") {
    fail(
      `node "${node.name}" has fused_ops ${show(ops ?? null)}; ` +
        `supported: ["BiasAdd"] and ["BiasAdd","Relu6"]`,
    );
  }
  const numArgs = attrValue(node, "num_args");
  if (numArgs !== undefined && parseInt64(node, "num_args", prop(numArgs, "i")) !== 1) {
    fail(`node "${node.name}" has num_args ${show(prop(numArgs, "i"))}; expected 1 (the bias)`);
  }
  return joined === "BiasAdd,Relu6";
}

// ---------------------------------------------------------------------------------------------
// PoseNet structure

interface LayerSpec {
  readonly kind: ConvLayerKind;
  /** What the layer is, for messages. */
  readonly role: string;
  readonly kernel: number;
  readonly inChannels: number;
  /** Required output channels (heads); undefined = any positive. */
  readonly outChannels?: number;
  /** Whether a stride/dilation other than 1 is allowed (conv0 and depthwise only). */
  readonly strided: boolean;
}

interface ParsedLayer {
  readonly layer: ConvLayerWeights;
  /** Name of the node producing the layer's output. */
  readonly output: string;
  /** Name of the conv node (for head identification). */
  readonly convName: string;
}

function buildPoseNet(graph: Graph, store: WeightStore): PoseNetWeights {
  const placeholders = [...graph.nodes.values()].filter((n) => n.op === "Placeholder");
  if (placeholders.length !== 1 || placeholders[0].name !== "image") {
    fail(
      `expected exactly one Placeholder named "image", found ` +
        `[${placeholders.map((n) => `"${n.name}"`).join(", ")}]`,
    );
  }
  const image = placeholders[0];
  const dtype = attrValue(image, "dtype");
  if (dtype !== undefined && prop(dtype, "type") !== "DT_FLOAT") {
    fail(`Placeholder "image" has dtype ${show(prop(dtype, "type"))}; expected DT_FLOAT`);
  }

  const conv0 = readLayer(graph, store, soleConsumer(graph, image.name), {
    kind: "conv2d",
    role: "the first conv (Conv2d_0)",
    kernel: 3,
    inChannels: 3,
    strided: true,
  });
  let prev = conv0;
  const blocks: MobileNetBlockWeights[] = [];
  for (let b = 1; b <= BLOCK_COUNT; b++) {
    const depthwise = readLayer(graph, store, soleConsumer(graph, prev.output), {
      kind: "depthwise",
      role: `depthwise layer of block ${b}`,
      kernel: 3,
      inChannels: prev.layer.outChannels,
      strided: true,
    });
    const pointwise = readLayer(graph, store, soleConsumer(graph, depthwise.output), {
      kind: "pointwise",
      role: `pointwise layer of block ${b}`,
      kernel: 1,
      inChannels: depthwise.layer.outChannels,
      strided: false,
    });
    blocks.push({ depthwise: depthwise.layer, pointwise: pointwise.layer });
    prev = pointwise;
  }

  const found = new Map<string, ParsedLayer>();
  const headConsumers = graph.consumers.get(prev.output) ?? [];
  for (const { node, index } of headConsumers) {
    if (index !== 0) {
      fail(`node "${node.name}" reads "${prev.output}" as input ${index}, not as its data input`);
    }
    const outputName = node.op === "Conv2D" ? biasAddOf(graph, node).name : node.name;
    const matches = HEADS.filter((h) =>
      node.name.includes(h.marker) || outputName.includes(h.marker)
    );
    if (matches.length !== 1) {
      fail(
        `node "${node.name}" reads the last block's output "${prev.output}" but is not one head ` +
          `(expected node names containing ${HEADS.map((h) => h.marker).join(", ")})`,
      );
    }
    const head = matches[0];
    if (found.has(head.key)) fail(`head "${head.marker}" appears twice (node "${node.name}")`);
    found.set(
      head.key,
      readLayer(graph, store, node, {
        kind: "pointwise",
        role: `head ${head.marker}`,
        kernel: 1,
        inChannels: prev.layer.outChannels,
        outChannels: head.channels,
        strided: false,
      }),
    );
  }
  const missing = HEADS.filter((h) => !found.has(h.key));
  if (missing.length > 0) {
    fail(
      `the graph lacks head${missing.length > 1 ? "s" : ""} ` +
        `${missing.map((h) => h.marker).join(", ")} after "${prev.output}"`,
    );
  }
  const heads: PoseNetHeadWeights = {
    heatmap: found.get("heatmap")!.layer,
    offsets: found.get("offsets")!.layer,
    displacementFwd: found.get("displacementFwd")!.layer,
    displacementBwd: found.get("displacementBwd")!.layer,
  };
  const nativeOutputStride = blocks.reduce(
    (s, b) => s * b.depthwise.stride * b.pointwise.stride,
    conv0.layer.stride,
  );
  return { conv0: conv0.layer, blocks, heads, nativeOutputStride };
}

/** The single node reading `name`'s output as its data input. */
function soleConsumer(graph: Graph, name: string): GraphNode {
  const list = graph.consumers.get(name) ?? [];
  if (list.length === 0) fail(`nothing reads the output of node "${name}"; the graph ends early`);
  if (list.length > 1) {
    fail(
      `node "${name}" feeds ${list.length} nodes (${
        list.slice(0, 4).map((c) => `"${c.node.name}"`).join(", ")
      }); MobileNetV1 expects one`,
    );
  }
  if (list[0].index !== 0) {
    fail(`node "${list[0].node.name}" reads "${name}" as input ${list[0].index}, not as data`);
  }
  return list[0].node;
}

function biasAddOf(graph: Graph, conv: GraphNode): GraphNode {
  const list = graph.consumers.get(conv.name) ?? [];
  if (list.length !== 1 || list[0].node.op !== "BiasAdd" || list[0].index !== 0) {
    fail(`Conv2D node "${conv.name}" must be followed by exactly one BiasAdd`);
  }
  return list[0].node;
}

function constWeight(graph: Graph, store: WeightStore, node: GraphNode, input: string) {
  const src = graph.source(input, node);
  if (src.op !== "Const") {
    fail(`node "${node.name}" expects a Const for "${input}", but it is a ${src.op}`);
  }
  const weight = store.get(src.name);
  if (!weight) fail(`Const node "${src.name}" (used by "${node.name}") is not in weightsManifest`);
  return weight;
}

function readLayer(
  graph: Graph,
  store: WeightStore,
  node: GraphNode,
  spec: LayerSpec,
): ParsedLayer {
  const expectedOps = spec.kind === "depthwise"
    ? ["FusedDepthwiseConv2dNative"]
    : ["_FusedConv2D", "Conv2D"];
  if (!expectedOps.includes(node.op)) {
    fail(
      `node "${node.name}" is a ${node.op}, but ${spec.role} must be ${expectedOps.join(" or ")}`,
    );
  }
  const { stride, dilation } = convAttrs(node);
  if (!spec.strided && (stride !== 1 || dilation !== 1)) {
    fail(
      `node "${node.name}" (${spec.role}) has stride ${stride} and dilation ${dilation}; ` +
        `only 1 is supported there`,
    );
  }
  let relu6: boolean;
  let biasInput: string;
  let biasNode: GraphNode;
  let output: GraphNode;
  if (node.op === "Conv2D") {
    if (node.inputs.length !== 2) fail(`Conv2D node "${node.name}" must have 2 data inputs`);
    output = biasAddOf(graph, node);
    if (output.inputs.length !== 2) fail(`BiasAdd node "${output.name}" must have 2 data inputs`);
    checkDataFormat(output);
    biasNode = output;
    biasInput = output.inputs[1];
    relu6 = false;
  } else {
    if (node.inputs.length !== 3) {
      fail(`node "${node.name}" (${node.op}) must have 3 data inputs (x, filter, bias)`);
    }
    relu6 = fusedRelu6(node);
    biasNode = output = node;
    biasInput = node.inputs[2];
  }
  const filterWeight = constWeight(graph, store, node, node.inputs[1]);
  const biasWeight = constWeight(graph, store, biasNode, biasInput);
  const fs = filterWeight.shape;
  const shapeText = `[${fs.join(",")}]`;
  const k = spec.kernel;
  if (fs.length !== 4 || fs[0] !== k || fs[1] !== k) {
    fail(
      `node "${node.name}" (${spec.role}) has filter "${filterWeight.name}" of shape ` +
        `${shapeText}; expected a ${k}x${k} kernel [${k},${k},cin,cout]`,
    );
  }
  if (fs[2] !== spec.inChannels) {
    fail(
      `node "${node.name}" (${spec.role}) has filter "${filterWeight.name}" of shape ` +
        `${shapeText} with ${fs[2]} input channels, but its input has ${spec.inChannels}`,
    );
  }
  let outChannels: number;
  if (spec.kind === "depthwise") {
    if (fs[3] !== 1) {
      fail(
        `node "${node.name}" (${spec.role}) has depthwise filter "${filterWeight.name}" of ` +
          `shape ${shapeText}; expected [3,3,${spec.inChannels},1]`,
      );
    }
    outChannels = spec.inChannels;
  } else {
    outChannels = fs[3];
  }
  if (outChannels < 1) fail(`node "${node.name}" (${spec.role}) has no output channels`);
  if (spec.outChannels !== undefined && outChannels !== spec.outChannels) {
    fail(
      `node "${node.name}" (${spec.role}) has ${outChannels} output channels; ` +
        `expected ${spec.outChannels}`,
    );
  }
  if (biasWeight.shape.length !== 1 || biasWeight.shape[0] !== outChannels) {
    fail(
      `node "${biasNode.name}" has bias "${biasWeight.name}" of shape ` +
        `[${biasWeight.shape.join(",")}]; expected [${outChannels}]`,
    );
  }
  const filter = store.floats(filterWeight, `the filter of "${node.name}"`);
  const bias = store.floats(biasWeight, `the bias of "${biasNode.name}"`);
  return {
    layer: {
      name: output.name,
      kind: spec.kind,
      kernelHeight: k,
      kernelWidth: k,
      inChannels: spec.inChannels,
      outChannels,
      stride,
      dilation,
      relu6,
      filter,
      bias,
    },
    output: output.name,
    convName: node.name,
  };
}

// ---------------------------------------------------------------------------------------------
// I/O

function toModelUrl(source: string | URL): URL {
  if (source instanceof URL) {
    if (!["file:", "http:", "https:"].includes(source.protocol)) {
      fail(`model source ${source.href} must be a file path, file: URL or http(s) URL`);
    }
    return new URL(source.href);
  }
  if (typeof source !== "string" || source === "") {
    fail(`model source must be a non-empty path or URL, got ${show(source)}`);
  }
  if (/^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(source)) {
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      return fail(`model source "${source}" is not a valid URL`);
    }
    return toModelUrl(url);
  }
  return pathToFileURL(resolvePath(source));
}

function display(url: URL): string {
  if (url.protocol !== "file:") return url.href;
  try {
    return fileURLToPath(url);
  } catch {
    return url.href;
  }
}

function resolveShardUrl(modelUrl: URL, path: string): URL {
  checkShardPath(path);
  let url: URL;
  try {
    url = new URL(path, modelUrl);
  } catch {
    return fail(`weights shard path "${path}" does not resolve against ${display(modelUrl)}`);
  }
  checkInModelDir(modelUrl, url, `weights shard path "${path}" resolves`);
  return url;
}

/** Fails unless `url` lies in the directory of `modelUrl` (same protocol and host). */
function checkInModelDir(modelUrl: URL, url: URL, what: string): void {
  const base = new URL(".", modelUrl);
  if (
    url.protocol !== base.protocol || url.host !== base.host ||
    !url.pathname.startsWith(base.pathname)
  ) {
    fail(`${what} to ${display(url)}, outside the model directory ${display(base)}`);
  }
}

interface NetworkRead {
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
}

async function fileSize(url: URL, path: string, group: number): Promise<number> {
  try {
    const info = await Deno.stat(url);
    if (!info.isFile) fail(`weights shard "${path}" at ${display(url)} is not a file`);
    return info.size;
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      fail(`weights shard "${path}" (weights group ${group}) not found at ${display(url)}`);
    }
    throw new ModelLoadError(
      `cannot read weights shard "${path}" at ${display(url)}: ${errorText(e)}`,
      { cause: e },
    );
  }
}

async function readResource(
  url: URL,
  net: NetworkRead,
  what: string,
  maxBytes: number,
  checkUrl?: (final: URL) => void,
): Promise<Uint8Array> {
  if (url.protocol === "file:") {
    try {
      return await Deno.readFile(url);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new ModelLoadError(`${what} not found`, { cause: e });
      }
      throw new ModelLoadError(`cannot read ${what}: ${errorText(e)}`, { cause: e });
    }
  }
  const { response, body, cancel } = await openBounded(url, { ...net, what, maxBytes, checkUrl });
  if (!response.ok) {
    await cancel();
    if (response.status === 404) throw new ModelLoadError(`${what} not found (HTTP 404)`);
    throw new ModelLoadError(
      `cannot fetch ${what}: HTTP ${response.status} ${response.statusText}`.trim(),
    );
  }
  return await readAll(body);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
