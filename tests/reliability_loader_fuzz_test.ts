/**
 * Loader fuzz aimed at the weights shards, which tests/tfjs_graph_model_test.ts's 1,000-mutation
 * fuzz only touches lightly (one shard of a float32 model; truncate, pad, set one byte to 0xff;
 * fixed seed): here float32, uint8, uint16 and float16 models in one or two groups of one to three
 * shards get their shard bytes (bit flips, random runs, NaN/Inf/huge values), shard lengths and
 * count (truncate, extend, drop, add, swap, re-split) and the byte-related manifest fields (shape,
 * dtype, quantisation, order, group, paths) mutated. Every outcome must be a valid load or a
 * `ModelLoadError` that is not an "internal error"; a valid load must be finite and consistent,
 * and equal the unmutated model when only the shard boundaries moved. Every 8th case also goes
 * through `loadTfjsGraphModel` on files. Seeded: `POSENET_TEST_SEED=<seed>` replays a run.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ModelLoadError } from "../errors.ts";
import type { ConvLayerWeights, PoseNetWeights } from "../models/posenet_weights.ts";
import { loadTfjsGraphModel, parseTfjsGraphModel } from "../models/tfjs_graph_model.ts";
import { mulberry32, type Rng, runSeed } from "./support/random.ts";

// deno-lint-ignore no-explicit-any
type Json = any;
type Quant = "float32" | "uint8" | "uint16" | "float16";

interface Model {
  json: Json;
  /** Shard bytes in manifest order (group 0's paths, then group 1's). */
  shards: Uint8Array[];
}

const ITERATIONS = 2000;
const FILE_EVERY = 8;

const b64 = (text: string) => btoa(text);

function convAttr(stride: number, fused: string[]): Json {
  return {
    strides: { list: { i: ["1", String(stride), String(stride), "1"] } },
    dilations: { list: { i: ["1", "1", "1", "1"] } },
    padding: { s: b64("SAME") },
    data_format: { s: b64("NHWC") },
    fused_ops: { list: { s: fused.map(b64) } },
    num_args: { i: "1" },
    T: { type: "DT_FLOAT" },
  };
}

/**
 * A tiny PoseNet-shaped graph model (the real ops, names and strides, few channels) with its
 * weights quantised as `quant`, in `groups` groups of `shardsPerGroup` shards.
 */
function tinyModel(quant: Quant, groups: 1 | 2, shardsPerGroup: number, seed: number): Model {
  const rng = mulberry32(seed);
  const channels = [4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
  const nodes: Json[] = [{
    name: "image",
    op: "Placeholder",
    attr: { dtype: { type: "DT_FLOAT" } },
  }];
  const weights: { name: string; shape: number[]; values: Float32Array }[] = [];
  const constant = (shape: number[]): string => {
    const name = `Const_${weights.length}`;
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = rng() - 0.5;
    weights.push({ name, shape, values });
    nodes.push({ name, op: "Const", attr: { dtype: { type: "DT_FLOAT" } } });
    return name;
  };
  const relu6 = ["BiasAdd", "Relu6"];
  let prev = "MobilenetV1/MobilenetV1/Conv2d_0/Relu6";
  nodes.push({
    name: prev,
    op: "_FusedConv2D",
    input: ["image", constant([3, 3, 3, channels[0]]), constant([channels[0]])],
    attr: convAttr(2, relu6),
  });
  const strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1];
  for (let b = 1; b <= 13; b++) {
    const c = channels[b - 1];
    const dw = `MobilenetV1/MobilenetV1/Conv2d_${b}_depthwise/depthwise`;
    nodes.push({
      name: dw,
      op: "FusedDepthwiseConv2dNative",
      input: [prev, constant([3, 3, c, 1]), constant([c])],
      attr: convAttr(strides[b - 1], relu6),
    });
    prev = `MobilenetV1/MobilenetV1/Conv2d_${b}_pointwise/Relu6`;
    nodes.push({
      name: prev,
      op: "_FusedConv2D",
      input: [dw, constant([1, 1, c, channels[b]]), constant([channels[b]])],
      attr: convAttr(1, relu6),
    });
  }
  for (
    const [head, out] of [["heatmap_2", 17], ["offset_2", 34], ["displacement_fwd_2", 32], [
      "displacement_bwd_2",
      32,
    ]] as const
  ) {
    nodes.push({
      name: `MobilenetV1/${head}/BiasAdd`,
      op: "_FusedConv2D",
      input: [prev, constant([1, 1, channels[13], out]), constant([out])],
      attr: convAttr(1, ["BiasAdd"]),
    });
  }
  // Encode each weight; split the weights over the groups, each group's bytes over its shards.
  const split = groups === 1 ? weights.length : Math.floor(weights.length / 2);
  const manifest: Json[] = [];
  const shards: Uint8Array[] = [];
  for (let g = 0; g < groups; g++) {
    const members = g === 0 ? weights.slice(0, split) : weights.slice(split);
    const parts = members.map((w) => encode(w.values, quant));
    const bytes = concat(parts.map((p) => p.bytes));
    const paths = Array.from(
      { length: shardsPerGroup },
      (_, i) => `group${g + 1}-shard${i + 1}of${shardsPerGroup}.bin`,
    );
    shards.push(...cut(bytes, shardsPerGroup, rng));
    manifest.push({
      paths,
      weights: members.map((w, i) => ({
        name: w.name,
        shape: w.shape,
        dtype: "float32",
        ...(parts[i].quantization ? { quantization: parts[i].quantization } : {}),
      })),
    });
  }
  return {
    json: {
      format: "graph-model",
      modelTopology: { node: nodes },
      weightsManifest: manifest,
    },
    shards,
  };
}

function encode(values: Float32Array, quant: Quant): { bytes: Uint8Array; quantization?: Json } {
  if (quant === "float32") return { bytes: new Uint8Array(values.slice().buffer) };
  if (quant === "float16") {
    return {
      bytes: new Uint8Array(new Float16Array(values).buffer),
      quantization: { dtype: "float16" },
    };
  }
  const min = Math.min(...values);
  const max = Math.max(...values);
  const levels = quant === "uint8" ? 255 : 65535;
  const scale = (max - min) / levels || 1;
  const q = quant === "uint8" ? new Uint8Array(values.length) : new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) q[i] = Math.round((values[i] - min) / scale);
  return { bytes: new Uint8Array(q.buffer), quantization: { dtype: quant, scale, min } };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Cuts `bytes` into `n` pieces at random points (pieces may be empty). */
function cut(bytes: Uint8Array, n: number, rng: Rng): Uint8Array[] {
  const points = Array.from({ length: n - 1 }, () => Math.floor(rng() * (bytes.length + 1)))
    .sort((a, b) => a - b);
  const edges = [0, ...points, bytes.length];
  return edges.slice(1).map((end, i) => bytes.slice(edges[i], end));
}

/** Which shards (indices into `Model.shards`) belong to group `g`. */
function groupShards(model: Model, g: number): number[] {
  const counts: number[] = model.json.weightsManifest.map((group: Json) =>
    Array.isArray(group?.paths) ? group.paths.length : 0
  );
  const start = counts.slice(0, g).reduce((a, b) => a + b, 0);
  return Array.from({ length: counts[g] ?? 0 }, (_, i) => start + i);
}

interface Mutation {
  readonly name: string;
  /** Leaves the weights' meaning unchanged (only shard boundaries move). */
  readonly preserving?: boolean;
  readonly apply: (model: Model, rng: Rng) => void;
}

const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)];
const int = (rng: Rng, n: number) => Math.floor(rng() * n);

function someShard(model: Model, rng: Rng): number | undefined {
  const nonEmpty = model.shards.flatMap((s, i) => (s.length > 0 ? [i] : []));
  return nonEmpty.length === 0 ? undefined : pick(rng, nonEmpty);
}

function someWeight(model: Model, rng: Rng): Json | undefined {
  const groups = model.json.weightsManifest;
  const all = groups.flatMap((g: Json) => (Array.isArray(g?.weights) ? g.weights : []));
  return all.length === 0 ? undefined : pick(rng, all);
}

const MUTATIONS: Mutation[] = [
  // Shard bytes
  {
    name: "flip bits",
    apply(m, rng) {
      const s = someShard(m, rng);
      if (s === undefined) return;
      for (let k = 1 + int(rng, 8); k > 0; k--) {
        m.shards[s][int(rng, m.shards[s].length)] ^= 1 << int(rng, 8);
      }
    },
  },
  {
    name: "random run",
    apply(m, rng) {
      const s = someShard(m, rng);
      if (s === undefined) return;
      const at = int(rng, m.shards[s].length);
      const end = Math.min(m.shards[s].length, at + 1 + int(rng, 64));
      for (let i = at; i < end; i++) m.shards[s][i] = int(rng, 256);
    },
  },
  {
    name: "special float",
    apply(m, rng) {
      const s = someShard(m, rng);
      if (s === undefined || m.shards[s].length < 4) return;
      const view = new DataView(m.shards[s].buffer, m.shards[s].byteOffset);
      const at = int(rng, m.shards[s].length - 3);
      if (rng() < 0.5) {
        view.setFloat32(at, pick(rng, [NaN, Infinity, -Infinity, 3.4e38, -3.4e38, 1e-45]), true);
      } else {
        view.setUint16(at, pick(rng, [0x7c00, 0xfc00, 0x7e00, 0x7bff, 0x0001, 0xffff]), true);
      }
    },
  },
  // Shard lengths and count
  {
    name: "truncate",
    apply(m, rng) {
      if (m.shards.length === 0) return;
      const s = int(rng, m.shards.length);
      m.shards[s] = m.shards[s].slice(0, int(rng, m.shards[s].length + 1));
    },
  },
  {
    name: "extend",
    apply(m, rng) {
      if (m.shards.length === 0) return;
      const s = int(rng, m.shards.length);
      const extra = Uint8Array.from({ length: 1 + int(rng, 16) }, () => int(rng, 256));
      m.shards[s] = concat([m.shards[s], extra]);
    },
  },
  { name: "drop a shard", apply: (m, rng) => void m.shards.splice(int(rng, m.shards.length), 1) },
  { name: "add a shard", apply: (m, rng) => void m.shards.push(new Uint8Array(int(rng, 64))) },
  {
    name: "swap shards",
    apply(m, rng) {
      if (m.shards.length === 0) return;
      const [a, b] = [int(rng, m.shards.length), int(rng, m.shards.length)];
      [m.shards[a], m.shards[b]] = [m.shards[b], m.shards[a]];
    },
  },
  {
    name: "move a shard boundary",
    preserving: true,
    apply(m, rng) {
      const g = int(rng, m.json.weightsManifest.length);
      const ids = groupShards(m, g);
      if (ids.length < 2 || ids.some((i) => i >= m.shards.length)) return;
      const whole = concat(ids.map((i) => m.shards[i]));
      cut(whole, ids.length, rng).forEach((piece, k) => m.shards[ids[k]] = piece);
    },
  },
  {
    name: "re-split a group, paths updated",
    preserving: true,
    apply(m, rng) {
      const g = int(rng, m.json.weightsManifest.length);
      const ids = groupShards(m, g);
      if (ids.length === 0 || ids.some((i) => i >= m.shards.length)) return;
      const n = 1 + int(rng, 4);
      const pieces = cut(concat(ids.map((i) => m.shards[i])), n, rng);
      m.shards.splice(ids[0], ids.length, ...pieces);
      m.json.weightsManifest[g].paths = pieces.map((_, i) => `g${g}-resplit-${i}.bin`);
    },
  },
  {
    name: "re-split a group, paths kept",
    apply(m, rng) {
      const ids = groupShards(m, int(rng, m.json.weightsManifest.length));
      if (ids.length === 0 || ids.some((i) => i >= m.shards.length)) return;
      const pieces = cut(concat(ids.map((i) => m.shards[i])), ids.length + 1, rng);
      m.shards.splice(ids[0], ids.length, ...pieces);
    },
  },
  // Byte-related manifest fields
  {
    name: "shape",
    apply(m, rng) {
      const w = someWeight(m, rng);
      if (!w || !Array.isArray(w.shape) || w.shape.length === 0) return;
      const d = int(rng, w.shape.length);
      const change = pick(rng, ["double", "half", "zero", "negative", "swap", "drop", "add"]);
      if (change === "double") w.shape[d] *= 2;
      else if (change === "half") w.shape[d] = Math.floor(w.shape[d] / 2);
      else if (change === "zero") w.shape[d] = 0;
      else if (change === "negative") w.shape[d] = -w.shape[d];
      else if (change === "swap") w.shape.reverse();
      else if (change === "drop") w.shape.splice(d, 1);
      else w.shape.push(1 + int(rng, 3));
    },
  },
  {
    name: "dtype",
    apply(m, rng) {
      const w = someWeight(m, rng);
      if (w) w.dtype = pick(rng, ["int32", "float64", "float16", "bool", "", undefined, 4]);
    },
  },
  {
    name: "quantization",
    apply(m, rng) {
      const w = someWeight(m, rng);
      if (!w) return;
      const bad = [NaN, Infinity, -Infinity, 0, -1, 1e300, "1", null];
      const kind = pick(rng, ["kind", "scale", "min", "remove", "garbage"]);
      if (kind === "remove") delete w.quantization;
      else if (kind === "garbage") w.quantization = pick(rng, [null, 7, "uint8", [], {}]);
      else if (kind === "kind") {
        w.quantization = {
          ...(w.quantization ?? { scale: 0.01, min: -1 }),
          dtype: pick(rng, ["uint8", "uint16", "float16", "int8", "uint4", "float32"]),
        };
      } else {w.quantization = {
          dtype: "uint8",
          scale: 0.01,
          min: 0,
          ...w.quantization,
          [kind]: pick(rng, bad),
        };}
    },
  },
  {
    name: "reorder weights",
    apply(m, rng) {
      const g = m.json.weightsManifest[int(rng, m.json.weightsManifest.length)];
      if (!Array.isArray(g?.weights) || g.weights.length < 2) return;
      const [a, b] = [int(rng, g.weights.length), int(rng, g.weights.length)];
      [g.weights[a], g.weights[b]] = [g.weights[b], g.weights[a]];
    },
  },
  {
    name: "remove or duplicate a weight",
    apply(m, rng) {
      const g = m.json.weightsManifest[int(rng, m.json.weightsManifest.length)];
      if (!Array.isArray(g?.weights) || g.weights.length === 0) return;
      const i = int(rng, g.weights.length);
      if (rng() < 0.5) g.weights.splice(i, 1);
      else g.weights.push(structuredClone(g.weights[i]));
    },
  },
  {
    name: "move a weight to another group",
    apply(m, rng) {
      const groups = m.json.weightsManifest;
      if (groups.length < 2) return;
      const g = int(rng, 2);
      const [from, to] = [groups[g].weights, groups[1 - g].weights];
      if (!Array.isArray(from) || !Array.isArray(to) || from.length === 0) return;
      to.push(...from.splice(int(rng, from.length), 1));
    },
  },
  {
    name: "paths",
    apply(m, rng) {
      const g = m.json.weightsManifest[int(rng, m.json.weightsManifest.length)];
      const bad = ["../x.bin", "/etc/passwd", "", "a/../../b.bin", "%2e%2e/x", "x?y", 3, null];
      if (rng() < 0.3) g.paths = pick(rng, [[], "x.bin", null, {}]);
      else if (Array.isArray(g.paths) && g.paths.length > 0) {
        g.paths[int(rng, g.paths.length)] = pick(rng, bad);
      }
    },
  },
];

function layers(w: PoseNetWeights): ConvLayerWeights[] {
  return [
    w.conv0,
    ...w.blocks.flatMap((b) => [b.depthwise, b.pointwise]),
    ...Object.values(w.heads),
  ];
}

/** Checks a model that loaded: sizes agree with the layer shapes, every value is finite. */
function assertConsistent(w: PoseNetWeights, what: string): void {
  for (const l of layers(w)) {
    const perOut = l.kind === "depthwise" ? 1 : l.inChannels;
    assert.equal(l.filter.length, l.kernelHeight * l.kernelWidth * perOut * l.outChannels, what);
    assert.equal(l.bias.length, l.outChannels, what);
    assert.ok(l.filter.every(Number.isFinite) && l.bias.every(Number.isFinite), `${what}: finite`);
  }
}

type Outcome = { weights: PoseNetWeights } | { error: ModelLoadError };

function check(outcome: unknown, what: string): Outcome {
  if (outcome instanceof Error || !(typeof outcome === "object" && outcome && "conv0" in outcome)) {
    if (!(outcome instanceof ModelLoadError)) {
      throw new Error(`${what}: ${outcome} escaped`, { cause: outcome });
    }
    assert.ok(!outcome.message.includes("internal error"), `${what}: ${outcome.message}`);
    return { error: outcome };
  }
  const weights = outcome as PoseNetWeights;
  assertConsistent(weights, what);
  return { weights };
}

/** Writes the model as files (shards at their manifest paths when those are plain names). */
async function writeFiles(dir: string, model: Model): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, "model.json");
  await Deno.writeTextFile(path, JSON.stringify(model.json));
  const paths: unknown[] =
    (Array.isArray(model.json.weightsManifest) ? model.json.weightsManifest : [])
      .flatMap((g: Json) => (Array.isArray(g?.paths) ? g.paths : []));
  for (const [i, p] of paths.entries()) {
    if (typeof p !== "string" || !/^[\w.-]+$/.test(p) || p.startsWith(".")) continue;
    if (i < model.shards.length) await Deno.writeFile(join(dir, p), model.shards[i]);
  }
  return path;
}

Deno.test("loader fuzz: mutated shards and manifests give a valid load or a ModelLoadError", async () => {
  const seed = runSeed("reliability loader fuzz");
  const rng = mulberry32(seed);
  const temp = await Deno.makeTempDir({ prefix: "posenet_loader_fuzz_" });
  const bases = new Map<string, { model: Model; weights: PoseNetWeights }>();
  const stats = { valid: 0, equalToBase: 0, errors: 0, files: 0, fileValid: 0 };
  const kinds = new Map<string, number>();
  const started = performance.now();
  try {
    for (let iter = 0; iter < ITERATIONS; iter++) {
      const quant = pick(rng, ["float32", "uint8", "uint16", "float16"] as const);
      const groups = pick(rng, [1, 2] as const);
      const shardsPerGroup = 1 + int(rng, 3);
      const key = `${quant}/${groups}/${shardsPerGroup}`;
      let base = bases.get(key);
      if (!base) {
        const model = tinyModel(quant, groups, shardsPerGroup, 7);
        base = { model, weights: parseTfjsGraphModel(model.json, model.shards) };
        assertConsistent(base.weights, key);
        bases.set(key, base);
      }
      const model: Model = {
        json: structuredClone(base.model.json),
        shards: base.model.shards.map((s) => s.slice()),
      };
      const applied: Mutation[] = [];
      for (let k = 1 + int(rng, 3); k > 0; k--) {
        const mutation = pick(rng, MUTATIONS);
        mutation.apply(model, rng);
        applied.push(mutation);
      }
      const what = `seed ${seed} iteration ${iter} (${key}: ${applied.map((m) => m.name)})`;
      let parsed: unknown;
      try {
        parsed = parseTfjsGraphModel(model.json, model.shards);
      } catch (e) {
        parsed = e;
      }
      const outcome = check(parsed, what);
      if ("weights" in outcome) {
        stats.valid++;
        if (applied.every((m) => m.preserving)) {
          assert.deepEqual(outcome.weights, base.weights, `${what}: only boundaries moved`);
          stats.equalToBase++;
        }
      } else {
        stats.errors++;
        const kind = outcome.error.message.replace(/"[^"]*"|\d+(\.\d+)?/g, "…").slice(0, 50);
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
      if (iter % FILE_EVERY === 0) {
        stats.files++;
        const dir = join(temp, String(iter));
        let loaded: unknown;
        try {
          loaded = await loadTfjsGraphModel(await writeFiles(dir, model));
        } catch (e) {
          loaded = e;
        }
        const fromFiles = check(loaded, `${what} (files)`);
        if ("weights" in fromFiles) {
          stats.fileValid++;
          // Files can only add what the in-memory list lacks (an unlisted extra buffer is ignored).
          if ("weights" in outcome) assert.deepEqual(fromFiles.weights, outcome.weights, what);
        }
        await Deno.remove(dir, { recursive: true });
      }
    }
  } finally {
    await Deno.remove(temp, { recursive: true });
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${ITERATIONS} cases in ${seconds.toFixed(1)} s: ${stats.valid} valid loads ` +
      `(${stats.equalToBase} equal to the unmutated model after moving shard boundaries), ` +
      `${stats.errors} ModelLoadErrors of ${kinds.size} kinds; ${stats.files} through files ` +
      `(${stats.fileValid} valid)`,
  );
  assert.ok(stats.valid > 0 && stats.errors > ITERATIONS / 2, JSON.stringify(stats));
  assert.ok(stats.equalToBase > 0, "some shard re-splits were checked against the base model");
  assert.ok(kinds.size > 15, `only ${kinds.size} kinds of error`);
});
