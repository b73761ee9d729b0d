/**
 * The weights manifest of a TF.js graph model: groups of shards, each weight's dtype, shape and
 * quantization (uint8/uint16 affine or float16), and the dequantisation of a weight's bytes to
 * float32 at load, with every value checked to be finite.
 *
 * @module
 */

import { ModelLoadError } from "../errors.ts";
import { showJson } from "../_describe.ts";
import { fail, isObject, prop } from "./_tfjs_json.ts";

/** The bytes of one weights shard. */
export type ShardData = ArrayBuffer | Uint8Array;

export type QuantKind = "uint8" | "uint16" | "float16";

export interface ManifestWeight {
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

export interface ManifestGroup {
  readonly index: number;
  readonly paths: readonly string[];
  readonly weights: readonly ManifestWeight[];
  readonly byteLength: number;
}

export interface Manifest {
  readonly groups: readonly ManifestGroup[];
  readonly byName: ReadonlyMap<string, ManifestWeight>;
}

export function readManifest(doc: unknown): Manifest {
  if (!isObject(doc)) fail(`model.json must be a JSON object, got ${showJson(doc)}`);
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
      if (typeof p !== "string") fail(`${where}.paths[${i}] is not a string: ${showJson(p)}`);
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
      fail(`${label} has an invalid shape ${showJson(shape)}: dims must be non-negative integers`);
    }
    count *= d;
    if (count > 2 ** 40) fail(`${label} has an impossibly large shape ${showJson(shape)}`);
  }
  const dtype = prop(raw, "dtype");
  if (dtype !== "float32" && dtype !== "int32") {
    fail(`${label} has unsupported dtype ${showJson(dtype)} (supported: float32, int32)`);
  }
  const rawQuant = prop(raw, "quantization");
  let quantization: ManifestWeight["quantization"];
  let bytesPerElement = 4;
  if (rawQuant !== undefined && rawQuant !== null) {
    if (!isObject(rawQuant)) fail(`${label} has a malformed quantization ${showJson(rawQuant)}`);
    const kind = prop(rawQuant, "dtype");
    if (kind === "float16") {
      if (dtype !== "float32") fail(`${label}: float16 quantization needs dtype float32`);
      quantization = { kind, scale: 1, min: 0 };
      bytesPerElement = 2;
    } else if (kind === "uint8" || kind === "uint16") {
      const scale = prop(rawQuant, "scale");
      const min = prop(rawQuant, "min");
      if (typeof scale !== "number" || !Number.isFinite(scale)) {
        fail(`${label} has ${kind} quantization with invalid scale ${showJson(scale)}`);
      }
      if (typeof min !== "number" || !Number.isFinite(min)) {
        fail(`${label} has ${kind} quantization with invalid min ${showJson(min)}`);
      }
      quantization = { kind, scale, min };
      bytesPerElement = kind === "uint8" ? 1 : 2;
    } else {
      fail(
        `${label} has unsupported quantization dtype ${showJson(kind)} ` +
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
export function checkShardPath(path: string): void {
  const bad = (why: string): never =>
    fail(`weights shard path ${showJson(path)} is not allowed: ${why}`);
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

export function assembleGroups(manifest: Manifest, shards: readonly ShardData[]): Uint8Array[] {
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

export function groupSizeError(group: ManifestGroup, actual: number): ModelLoadError {
  const names = group.paths.map((p) => `"${p}"`).join(", ");
  const problem = actual < group.byteLength ? "too short" : "too long";
  return new ModelLoadError(
    `weights group ${group.index} (shard${group.paths.length > 1 ? "s" : ""} ${names}) is ` +
      `${problem}: it holds ${actual} bytes but its ${group.weights.length} weights need ` +
      `${group.byteLength} bytes`,
  );
}

let halfTable: Float32Array | undefined;

export function halfToFloatTable(): Float32Array {
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
export class WeightStore {
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
  /** Int32 values of an int32 constant (`role` names its use). */
  ints(weight: ManifestWeight, role: string): Int32Array {
    if (weight.dtype !== "int32" || weight.quantization !== undefined) {
      fail(`weight "${weight.name}" has dtype ${weight.dtype}, but it is used as ${role}`);
    }
    const bytes = this.#groups[weight.group];
    const view = new DataView(bytes.buffer, bytes.byteOffset + weight.offset, weight.byteLength);
    const out = new Int32Array(weight.count);
    for (let i = 0; i < out.length; i++) out[i] = view.getInt32(4 * i, true);
    return out;
  }
}
