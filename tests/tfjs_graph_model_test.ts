import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serveMisbehaving } from "./support/misbehaving_server.ts";
import { ModelLoadError } from "../errors.ts";
import { moduleTempDir } from "./support/temp_dir.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import type { ConvLayerWeights, PoseNetWeights } from "../models/posenet_weights.ts";
import {
  loadTfjsGraphModel,
  parseTfjsGraphModel,
  tfjsShardPaths,
  tfjsWeightsByteLength,
} from "../models/tfjs_graph_model.ts";

/** Every temp dir of this file lives below one root, removed when the test module unloads. */
const { tempDir } = await moduleTempDir("posenet_test_");

// ---------------------------------------------------------------------------------------------
// Helpers

// deno-lint-ignore no-explicit-any
type Json = any;

interface Model {
  json: Json;
  bin: Uint8Array;
}

/** The real posenet.json: the unpacked copy in .cache/ if present, else the download cache. */
async function realModelPath(): Promise<string> {
  const local = new URL("../.cache/human-models/package/models/posenet.json", import.meta.url);
  try {
    await Deno.stat(local);
    return fileURLToPath(local);
  } catch {
    return await fetchDefaultWeights();
  }
}

let realModel: Promise<Model> | undefined;

function loadRealModel(): Promise<Model> {
  return realModel ??= (async () => {
    const path = await realModelPath();
    return {
      json: JSON.parse(await Deno.readTextFile(path)),
      bin: await Deno.readFile(join(dirname(path), "posenet.bin")),
    };
  })();
}

function b64(text: string): string {
  return btoa(text);
}

function convAttr(stride: number, fused: string[], dilation = 1): Json {
  return {
    strides: { list: { i: ["1", String(stride), String(stride), "1"] } },
    dilations: { list: { i: ["1", String(dilation), String(dilation), "1"] } },
    padding: { s: b64("SAME") },
    data_format: { s: b64("NHWC") },
    fused_ops: { list: { s: fused.map(b64) } },
    num_args: { i: "1" },
    T: { type: "DT_FLOAT" },
    explicit_paddings: { list: {} },
  };
}

interface TinyOptions {
  /** Output channels of conv0 and the 13 pointwise layers. */
  channels?: number[];
  /** Head channels: heatmap, offset, fwd, bwd. */
  headChannels?: [number, number, number, number];
  /** Heads as unfused Conv2D + BiasAdd, reached through Identity nodes. */
  unfusedHeads?: boolean;
  /** Split the weights over two shards in one group. */
  twoShards?: boolean;
}

/**
 * A tiny PoseNet-shaped TF.js graph model laid out like the real one (same ops, attrs, names and
 * recorded strides), with few channels and deterministic weights.
 */
function tinyModel(options: TinyOptions = {}): Model {
  const channels = options.channels ?? [4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
  const headChannels = options.headChannels ?? [17, 34, 32, 32];
  const nodes: Json[] = [];
  const weights: Json[] = [];
  const values: number[] = [];
  let seed = 1;
  const addConst = (shape: number[]): string => {
    const name = `Const_${weights.length}`;
    weights.push({ name, shape, dtype: "float32" });
    nodes.push({
      name,
      op: "Const",
      attr: {
        value: {
          tensor: {
            dtype: "DT_FLOAT",
            tensorShape: { dim: shape.map((s) => ({ size: String(s) })) },
          },
        },
        dtype: { type: "DT_FLOAT" },
      },
    });
    const n = shape.reduce((a, b) => a * b, 1);
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      values.push(seed / 2147483648 - 0.5);
    }
    return name;
  };
  nodes.push({
    name: "image",
    op: "Placeholder",
    attr: {
      shape: { shape: { dim: [{ size: "1" }, { size: "385" }, { size: "385" }, { size: "3" }] } },
      dtype: { type: "DT_FLOAT" },
    },
  });
  const relu6 = ["BiasAdd", "Relu6"];
  let prev = "MobilenetV1/MobilenetV1/Conv2d_0/Relu6";
  nodes.push({
    name: prev,
    op: "_FusedConv2D",
    input: ["image", addConst([3, 3, 3, channels[0]]), addConst([channels[0]])],
    device: "/device:CPU:0",
    attr: { ...convAttr(2, relu6), epsilon: { f: 0 }, use_cudnn_on_gpu: { b: true } },
  });
  const depthwiseStrides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1];
  for (let b = 1; b <= 13; b++) {
    const c = channels[b - 1];
    const dw = `MobilenetV1/MobilenetV1/Conv2d_${b}_depthwise/BatchNorm/batchnorm/add_1/conv`;
    nodes.push({
      name: dw,
      op: "FusedDepthwiseConv2dNative",
      input: [prev, addConst([3, 3, c, 1]), addConst([c])],
      attr: convAttr(depthwiseStrides[b - 1], relu6),
    });
    const pw = `MobilenetV1/MobilenetV1/Conv2d_${b}_pointwise/Relu6`;
    nodes.push({
      name: pw,
      op: "_FusedConv2D",
      input: [dw, addConst([1, 1, c, channels[b]]), addConst([channels[b]])],
      attr: convAttr(1, relu6),
    });
    prev = pw;
  }
  const last = channels[13];
  ["heatmap_2", "offset_2", "displacement_fwd_2", "displacement_bwd_2"].forEach((head, i) => {
    const name = `MobilenetV1/${head}/BiasAdd`;
    const filter = addConst([1, 1, last, headChannels[i]]);
    const bias = addConst([headChannels[i]]);
    if (options.unfusedHeads) {
      nodes.push({ name: `${filter}/read`, op: "Identity", input: [filter] });
      nodes.push({ name: `MobilenetV1/${head}/in`, op: "Identity", input: [`${prev}:0`] });
      nodes.push({
        name: `MobilenetV1/${head}/Conv2D`,
        op: "Conv2D",
        input: [`MobilenetV1/${head}/in`, `${filter}/read`, "^image"],
        attr: {
          strides: { list: { i: ["1", "1", "1", "1"] } },
          padding: { s: b64("SAME") },
          data_format: { s: b64("NHWC") },
          T: { type: "DT_FLOAT" },
        },
      });
      nodes.push({
        name,
        op: "BiasAdd",
        input: [`MobilenetV1/${head}/Conv2D`, bias],
        attr: { data_format: { s: b64("NHWC") }, T: { type: "DT_FLOAT" } },
      });
    } else {
      nodes.push({
        name,
        op: "_FusedConv2D",
        input: [prev, filter, bias],
        attr: convAttr(1, ["BiasAdd"]),
      });
    }
  });
  const bin = new Uint8Array(new Float32Array(values).buffer);
  const paths = options.twoShards ? ["group1-shard1of2.bin", "group1-shard2of2.bin"] : [
    "posenet.bin",
  ];
  return {
    json: {
      format: "graph-model",
      modelTopology: { node: nodes, library: {}, versions: {} },
      weightsManifest: [{ paths, weights }],
    },
    bin,
  };
}

function shardsOf(model: Model): Uint8Array[] {
  const paths = model.json?.weightsManifest?.[0]?.paths;
  if (Array.isArray(paths) && paths.length === 2) {
    const half = Math.floor(model.bin.length / 2) + 1;
    return [model.bin.slice(0, half), model.bin.slice(half)];
  }
  return [model.bin];
}

function parse(model: Model): PoseNetWeights {
  return parseTfjsGraphModel(model.json, shardsOf(model));
}

function allLayers(w: PoseNetWeights): ConvLayerWeights[] {
  return [
    w.conv0,
    ...w.blocks.flatMap((b) => [b.depthwise, b.pointwise]),
    w.heads.heatmap,
    w.heads.offsets,
    w.heads.displacementFwd,
    w.heads.displacementBwd,
  ];
}

function findNode(model: Model, fragment: string): Json {
  const node = model.json.modelTopology.node.find((n: Json) => n.name.includes(fragment));
  assert.ok(node, fragment);
  return node;
}

function findWeight(model: Model, name: string): Json {
  return model.json.weightsManifest[0].weights.find((w: Json) => w.name === name);
}

/** Byte offset of a weight in its (float32) group. */
function weightOffset(model: Model, name: string): number {
  let offset = 0;
  for (const w of model.json.weightsManifest[0].weights) {
    if (w.name === name) return offset;
    offset += 4 * w.shape.reduce((a: number, b: number) => a * b, 1);
  }
  throw new Error(name);
}

/** Asserts a ModelLoadError whose message matches every pattern. */
function assertLoadError(fn: () => unknown, ...patterns: (RegExp | string)[]): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof ModelLoadError, `expected ModelLoadError, got ${e}`);
    for (const p of patterns) {
      const ok = typeof p === "string" ? e.message.includes(p) : p.test(e.message);
      assert.ok(ok, `message ${JSON.stringify(e.message)} does not match ${p}`);
    }
    return true;
  });
}

async function assertLoadRejects(
  promise: Promise<unknown>,
  ...patterns: (RegExp | string)[]
): Promise<void> {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof ModelLoadError, `expected ModelLoadError, got ${e}`);
    for (const p of patterns) {
      const ok = typeof p === "string" ? e.message.includes(p) : p.test(e.message);
      assert.ok(ok, `message ${JSON.stringify(e.message)} does not match ${p}`);
    }
    return true;
  });
}

/** Writes a model to a fresh temp dir; returns the model.json path. */
async function writeModel(model: Model, jsonText?: string): Promise<string> {
  const dir = await tempDir();
  const path = join(dir, "posenet.json");
  await Deno.writeTextFile(path, jsonText ?? JSON.stringify(model.json));
  const paths: string[] = model.json.weightsManifest.flatMap((g: Json) => g.paths);
  const shards = shardsOf(model);
  for (const [i, p] of paths.entries()) await Deno.writeFile(join(dir, p), shards[i]);
  return path;
}

/** Re-encodes every float32 weight of a model with a quantization scheme. */
function quantize(model: Model, kind: "uint8" | "uint16" | "float16"): Model {
  const json = structuredClone(model.json);
  const floats = new Float32Array(model.bin.slice().buffer);
  const bytesPer = kind === "uint8" ? 1 : 2;
  const bin = new Uint8Array(floats.length * bytesPer);
  const out = new DataView(bin.buffer);
  let at = 0;
  for (const w of json.weightsManifest[0].weights) {
    const n = w.shape.reduce((a: number, b: number) => a * b, 1);
    const v = floats.subarray(at, at + n);
    if (kind === "float16") {
      w.quantization = { dtype: "float16" };
      const half = new Uint16Array(new Float16Array(v).buffer);
      for (let i = 0; i < n; i++) out.setUint16(2 * (at + i), half[i], true);
    } else {
      const min = v.reduce((a, b) => Math.min(a, b), Infinity);
      const max = v.reduce((a, b) => Math.max(a, b), -Infinity);
      const scale = (max - min) / (kind === "uint8" ? 255 : 65535) || 1;
      w.quantization = { dtype: kind, scale, min };
      for (let i = 0; i < n; i++) {
        const q = Math.round((v[i] - min) / scale);
        if (kind === "uint8") out.setUint8(at + i, q);
        else out.setUint16(2 * (at + i), q, true);
      }
    }
    at += n;
  }
  return { json, bin };
}

function compareQuantized(
  exact: PoseNetWeights,
  decoded: PoseNetWeights,
  tolerance: (v: number, layer: string) => number,
): void {
  const a = allLayers(exact);
  const b = allLayers(decoded);
  for (const [i, layer] of a.entries()) {
    for (const key of ["filter", "bias"] as const) {
      const x = layer[key];
      const y = b[i][key];
      assert.equal(y.length, x.length);
      for (let j = 0; j < x.length; j++) {
        const tol = tolerance(x[j], `${layer.name}/${key}`);
        if (!(Math.abs(x[j] - y[j]) <= tol)) {
          assert.fail(`${layer.name} ${key}[${j}]: ${y[j]} vs ${x[j]} (tolerance ${tol})`);
        }
      }
    }
  }
}

const EXPECTED_CHANNELS = [48, 96, 96, 192, 192, 384, 384, 384, 384, 384, 384, 384, 384];
const RECORDED_STRIDES = [2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1];

// ---------------------------------------------------------------------------------------------
// The real file

Deno.test("`loadTfjsGraphModel()` loads the real PoseNet file with its channel counts", async () => {
  const weights = await loadTfjsGraphModel(await realModelPath());
  const { conv0, blocks, heads } = weights;
  assert.equal(conv0.kind, "conv2d");
  assert.deepEqual(
    [conv0.kernelHeight, conv0.kernelWidth, conv0.inChannels, conv0.outChannels],
    [3, 3, 3, 24],
  );
  assert.equal(blocks.length, 13);
  let c = 24;
  for (const [i, { depthwise, pointwise }] of blocks.entries()) {
    assert.equal(depthwise.kind, "depthwise");
    assert.deepEqual([depthwise.kernelHeight, depthwise.inChannels, depthwise.outChannels], [
      3,
      c,
      c,
    ]);
    assert.equal(depthwise.filter.length, 9 * c);
    assert.equal(pointwise.kind, "pointwise");
    assert.deepEqual([pointwise.kernelHeight, pointwise.inChannels], [1, c]);
    assert.equal(pointwise.outChannels, EXPECTED_CHANNELS[i]);
    c = pointwise.outChannels;
  }
  assert.deepEqual(
    [heads.heatmap, heads.offsets, heads.displacementFwd, heads.displacementBwd].map((h) => [
      h.name,
      h.inChannels,
      h.outChannels,
      h.relu6,
    ]),
    [
      ["MobilenetV1/heatmap_2/BiasAdd", 384, 17, false],
      ["MobilenetV1/offset_2/BiasAdd", 384, 34, false],
      ["MobilenetV1/displacement_fwd_2/BiasAdd", 384, 32, false],
      ["MobilenetV1/displacement_bwd_2/BiasAdd", 384, 32, false],
    ],
  );
  const layers = allLayers(weights);
  const params = layers.reduce((n, l) => n + l.filter.length + l.bias.length, 0);
  assert.equal(params, 1_258_195);
  assert.ok(layers.slice(0, 27).every((l) => l.relu6));
  assert.ok(layers.every((l) => l.dilation === 1));
  assert.ok(layers.every((l) => l.bias.length === l.outChannels));
  assert.deepEqual(
    [conv0, ...blocks.map((b) => b.depthwise)].map((l) => l.stride),
    RECORDED_STRIDES,
  );
  assert.ok(blocks.every((b) => b.pointwise.stride === 1));
  assert.equal(weights.nativeOutputStride, 16);
});

Deno.test("`loadTfjsGraphModel()` returns the file's float32 values unchanged", async () => {
  const model = await loadRealModel();
  const weights = parseTfjsGraphModel(model.json, [model.bin]);
  const convNode = findNode(model, "Conv2d_0/Relu6");
  const [, filterName, biasName] = convNode.input;
  for (
    const [name, values] of [[filterName, weights.conv0.filter], [
      biasName,
      weights.conv0.bias,
    ]] as const
  ) {
    const offset = weightOffset(model, name);
    const expected = new Float32Array(model.bin.slice(offset, offset + 4 * values.length).buffer);
    assert.deepEqual(values, expected);
  }
  assert.equal(tfjsWeightsByteLength(model.json), 5_032_780);
  assert.deepEqual(tfjsShardPaths(model.json), ["posenet.bin"]);
});

Deno.test("`loadTfjsGraphModel()` loads from a file: URL and over http", async () => {
  const path = await realModelPath();
  const fromPath = await loadTfjsGraphModel(path);
  const fromFileUrl = await loadTfjsGraphModel(new URL(`file://${path}`));
  assert.deepEqual(fromFileUrl, fromPath);
  const dir = dirname(path);
  const requests: string[] = [];
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const name = new URL(req.url).pathname;
      requests.push(name);
      if (name !== "/models/posenet.json" && name !== "/models/posenet.bin") {
        return new Response("not found", { status: 404 });
      }
      return new Response(await Deno.readFile(join(dir, name.slice("/models/".length))));
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  assert.deepEqual(await loadTfjsGraphModel(`${base}/models/posenet.json`), fromPath);
  assert.deepEqual(requests, ["/models/posenet.json", "/models/posenet.bin"]);
  await assertLoadRejects(
    loadTfjsGraphModel(`${base}/other/posenet.json`),
    "HTTP 404",
    "model.json",
  );
  let custom = 0;
  const viaCustom = await loadTfjsGraphModel(new URL(`${base}/models/posenet.json`), {
    fetch: (input, init) => {
      custom++;
      return fetch(input, init);
    },
  });
  assert.equal(custom, 2);
  assert.equal(viaCustom.nativeOutputStride, 16);
});

Deno.test("`loadTfjsGraphModel()` times out on a server that accepts and never answers", async () => {
  await using server = serveMisbehaving(() => ({ kind: "hang" }));
  const start = performance.now();
  await assertLoadRejects(
    loadTfjsGraphModel(`${server.url}/models/posenet.json`, { timeoutMs: 300 }),
    "model.json",
    "timed out after 300 ms waiting for the server to answer",
  );
  assert.ok(performance.now() - start < 5000, `took ${performance.now() - start} ms`);
});

Deno.test("`loadTfjsGraphModel()` times out on a shard that stops mid-body", async () => {
  const { json, bin } = await loadRealModel();
  const jsonBytes = new TextEncoder().encode(JSON.stringify(json));
  await using server = serveMisbehaving((path) =>
    path.endsWith(".json")
      ? { kind: "ok", body: jsonBytes }
      : { kind: "stall", body: bin, sent: 100_000 }
  );
  const start = performance.now();
  await assertLoadRejects(
    loadTfjsGraphModel(`${server.url}/models/posenet.json`, { timeoutMs: 300 }),
    `weights shard "posenet.bin"`,
    "timed out after 300 ms waiting for more data",
    "bytes received",
  );
  assert.ok(performance.now() - start < 5000, `took ${performance.now() - start} ms`);
});

Deno.test("`loadTfjsGraphModel()` stops reading a shard larger than its weights group", async () => {
  const { json, bin } = await loadRealModel();
  const jsonBytes = new TextEncoder().encode(JSON.stringify(json));
  const big = new Uint8Array(bin.length + 1_000_000);
  big.set(bin);
  for (const contentLength of [true, false]) {
    await using server = serveMisbehaving((path) =>
      path.endsWith(".json")
        ? { kind: "ok", body: jsonBytes }
        : { kind: "ok", body: big, contentLength }
    );
    await assertLoadRejects(
      loadTfjsGraphModel(`${server.url}/models/posenet.json`),
      `weights shard "posenet.bin"`,
      "more than the 5032780",
    );
  }
});

Deno.test("`loadTfjsGraphModel()` checks the redirected URL of a shard against the model directory", async () => {
  const { json, bin } = await loadRealModel();
  const jsonBytes = new TextEncoder().encode(JSON.stringify(json));
  await using elsewhere = serveMisbehaving(() => ({ kind: "ok", body: bin }));
  await using server = serveMisbehaving((path) =>
    path === "/models/posenet.json"
      ? { kind: "ok", body: jsonBytes }
      : path === "/models/posenet.bin"
      ? { kind: "redirect", location: `${elsewhere.url}/models/posenet.bin` }
      : { kind: "status", status: 404 }
  );
  await assertLoadRejects(
    loadTfjsGraphModel(`${server.url}/models/posenet.json`),
    `weights shard "posenet.bin" redirected to ${elsewhere.url}/models/posenet.bin`,
    "outside the model directory",
  );
  assert.deepEqual(elsewhere.requests, ["/models/posenet.bin"]);
  // A redirect within the model directory is followed.
  await using inside = serveMisbehaving((path) =>
    path === "/models/posenet.json"
      ? { kind: "ok", body: jsonBytes }
      : path === "/models/posenet.bin"
      ? { kind: "redirect", location: "/models/v2/posenet.bin" }
      : path === "/models/v2/posenet.bin"
      ? { kind: "ok", body: bin }
      : { kind: "status", status: 404 }
  );
  const weights = await loadTfjsGraphModel(`${inside.url}/models/posenet.json`);
  assert.equal(weights.blocks.length, 13);
});

// ---------------------------------------------------------------------------------------------
// Quantization

Deno.test("`parseTfjsGraphModel()` dequantizes uint8 weights as v * scale + min", async () => {
  const model = await loadRealModel();
  const exact = parseTfjsGraphModel(model.json, [model.bin]);
  const q = quantize(model, "uint8");
  assert.equal(tfjsWeightsByteLength(q.json), 1_258_195);
  const decoded = parseTfjsGraphModel(q.json, [q.bin]);
  const scales = new Map<string, number>();
  const graph = q.json.modelTopology.node;
  for (const n of graph) {
    if (n.input?.length === 3) {
      for (const [k, input] of [[1, "filter"], [2, "bias"]] as const) {
        scales.set(`${n.name}/${input}`, findWeight(q, n.input[k]).quantization.scale);
      }
    }
  }
  compareQuantized(exact, decoded, (v, key) => scales.get(key)! / 2 + 1e-6 * Math.abs(v) + 1e-7);
  // Exactness on one value: the decoded float is q * scale + min in float32.
  const w = findWeight(q, findNode(q, "Conv2d_0/Relu6").input[1]);
  const first = q.bin[weightByteOffsetQuantized(q, w.name)];
  assert.equal(
    decoded.conv0.filter[0],
    Math.fround(first * w.quantization.scale + w.quantization.min),
  );
});

function weightByteOffsetQuantized(model: Model, name: string): number {
  let offset = 0;
  for (const w of model.json.weightsManifest[0].weights) {
    if (w.name === name) return offset;
    const n = w.shape.reduce((a: number, b: number) => a * b, 1);
    offset += n * (w.quantization?.dtype === "uint8" ? 1 : w.quantization ? 2 : 4);
  }
  throw new Error(name);
}

Deno.test("`parseTfjsGraphModel()` dequantizes uint16 weights as v * scale + min", async () => {
  const model = await loadRealModel();
  const exact = parseTfjsGraphModel(model.json, [model.bin]);
  const q = quantize(model, "uint16");
  assert.equal(tfjsWeightsByteLength(q.json), 2 * 1_258_195);
  const decoded = parseTfjsGraphModel(q.json, [q.bin]);
  const maxScale = Math.max(
    ...q.json.weightsManifest[0].weights.map((w: Json) => w.quantization.scale),
  );
  compareQuantized(exact, decoded, (v) => maxScale / 2 + 1e-6 * Math.abs(v) + 1e-7);
  // uint16 is at least 100x finer than uint8 on this file's largest range.
  assert.ok(maxScale < 1e-2);
});

Deno.test("`parseTfjsGraphModel()` decodes float16 weights", async () => {
  const model = await loadRealModel();
  const exact = parseTfjsGraphModel(model.json, [model.bin]);
  const q = quantize(model, "float16");
  const decoded = parseTfjsGraphModel(q.json, [q.bin]);
  // Half precision: 11 significant bits (relative error 2^-11), subnormals below 2^-14.
  compareQuantized(exact, decoded, (v) => Math.abs(v) * 2 ** -11 + 2 ** -25);
  // Known encodings, including a subnormal and negative zero.
  const tiny = tinyModel();
  const bias = findWeight(tiny, findNode(tiny, "Conv2d_0/Relu6").input[2]);
  const offset = weightOffset(tiny, bias.name);
  bias.quantization = { dtype: "float16" };
  const halves = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x8000]); // 1, -2, 2^-24, -0
  const bin = new Uint8Array(tiny.bin.length - 4 * 4 + 2 * 4);
  bin.set(tiny.bin.subarray(0, offset));
  bin.set(new Uint8Array(halves.buffer), offset);
  bin.set(tiny.bin.subarray(offset + 16), offset + 8);
  const w = parseTfjsGraphModel(tiny.json, [bin]);
  assert.deepEqual([...w.conv0.bias], [1, -2, 2 ** -24, -0]);
});

// ---------------------------------------------------------------------------------------------
// Structure

Deno.test("`parseTfjsGraphModel()` reads a tiny synthetic PoseNet", () => {
  const model = tinyModel();
  const w = parse(model);
  assert.deepEqual(
    [w.conv0, ...w.blocks.map((b) => b.pointwise)].map((l) => l.outChannels),
    [4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8],
  );
  assert.deepEqual(
    [w.conv0, ...w.blocks.map((b) => b.depthwise)].map((l) => l.stride),
    RECORDED_STRIDES,
  );
  assert.equal(w.nativeOutputStride, 16);
  assert.equal(w.heads.offsets.outChannels, 34);
  // Values come straight from the bin, in manifest order.
  const all = new Float32Array(model.bin.slice().buffer);
  assert.equal(w.conv0.filter[0], all[0]);
  assert.equal(w.conv0.bias[0], all[3 * 3 * 3 * 4]);
});

Deno.test("`parseTfjsGraphModel()` accepts unfused Conv2D + BiasAdd heads and Identity nodes", () => {
  const fused = parse(tinyModel());
  const unfused = parse(tinyModel({ unfusedHeads: true }));
  assert.deepEqual(unfused.heads, fused.heads);
  assert.equal(unfused.heads.heatmap.name, "MobilenetV1/heatmap_2/BiasAdd");
});

Deno.test("`parseTfjsGraphModel()` concatenates a group's shards", () => {
  const one = parse(tinyModel());
  const two = tinyModel({ twoShards: true });
  assert.deepEqual(parse(two), one);
  assertLoadError(
    () => parseTfjsGraphModel(two.json, [shardsOf(two)[0]]),
    `"group1-shard2of2.bin"`,
    "missing",
  );
});

Deno.test("`parseTfjsGraphModel()` reads the dilation and stride attrs", () => {
  const model = tinyModel();
  findNode(model, "Conv2d_13_depthwise").attr.dilations.list.i = ["1", "2", "2", "1"];
  const w = parse(model);
  assert.equal(w.blocks[12].depthwise.dilation, 2);
  assert.equal(w.blocks[12].depthwise.stride, 1);
  const strides = tinyModel();
  findNode(strides, "Conv2d_12_depthwise").attr.strides.list.i = [1, 2, 2, 1]; // numbers work too
  assert.equal(parse(strides).nativeOutputStride, 32);
});

// ---------------------------------------------------------------------------------------------
// Errors

Deno.test("`loadTfjsGraphModel()` rejects a model.json that is not JSON", async () => {
  assertLoadError(() => parseTfjsGraphModel("{not json", []), "not valid JSON");
  const path = await writeModel(tinyModel(), "<html>404</html>");
  await assertLoadRejects(loadTfjsGraphModel(path), path, "not valid JSON");
  assertLoadError(() => parseTfjsGraphModel([1, 2], []), "must be a JSON object");
  assertLoadError(() => parseTfjsGraphModel(null, []), "must be a JSON object");
});

Deno.test("`loadTfjsGraphModel()` rejects a missing modelTopology or weightsManifest", () => {
  const noManifest = tinyModel();
  delete noManifest.json.weightsManifest;
  assertLoadError(() => parse(noManifest), `lacks "weightsManifest"`);
  const noTopology = tinyModel();
  noTopology.json.modelTopology = "x";
  assertLoadError(() => parse(noTopology), `lacks "modelTopology"`);
  const noNodes = tinyModel();
  delete noNodes.json.modelTopology.node;
  assertLoadError(() => parse(noNodes), "modelTopology.node");
  const badGroup = tinyModel();
  badGroup.json.weightsManifest[0].paths = [];
  assertLoadError(() => parse(badGroup), "weightsManifest[0].paths");
  const badWeight = tinyModel();
  badWeight.json.weightsManifest[0].weights[3].shape = [2, -1];
  assertLoadError(() => parse(badWeight), `weight "Const_3"`, "invalid shape");
});

Deno.test("`loadTfjsGraphModel()` rejects an unsupported op, naming the node", () => {
  const model = tinyModel();
  findNode(model, "Conv2d_5_pointwise").op = "Conv3D";
  assertLoadError(
    () => parse(model),
    `node "MobilenetV1/MobilenetV1/Conv2d_5_pointwise/Relu6"`,
    `unsupported op "Conv3D"`,
  );
});

Deno.test("`loadTfjsGraphModel()` rejects unsupported attrs, naming the node", () => {
  const cases: [(m: Model) => void, ...string[]][] = [
    [
      (m) => findNode(m, "Conv2d_3_depthwise").attr.padding = { s: b64("VALID") },
      "Conv2d_3_depthwise",
      "VALID",
    ],
    [
      (m) => findNode(m, "Conv2d_3_pointwise").attr.data_format = { s: b64("NCHW") },
      "Conv2d_3_pointwise",
      "NCHW",
    ],
    [
      (m) => findNode(m, "Conv2d_0").attr.strides.list.i = ["1", "2", "1", "1"],
      "Conv2d_0",
      "y and x must be equal",
    ],
    [
      (m) => findNode(m, "Conv2d_2_depthwise").attr.dilations.list.i = ["1", "1", "2", "1"],
      "Conv2d_2_depthwise",
      "dilations",
    ],
    [
      (m) => findNode(m, "Conv2d_4_pointwise").attr.strides.list.i = ["1", "2", "2", "1"],
      "Conv2d_4_pointwise",
      "stride 2",
    ],
    [
      (m) =>
        findNode(m, "Conv2d_7_pointwise").attr.fused_ops.list.s = [b64("BiasAdd"), b64("Relu")],
      "Conv2d_7_pointwise",
      "fused_ops",
      "Relu",
    ],
    [
      (m) => findNode(m, "Conv2d_8_depthwise").attr.fused_ops.list.s = ["%%%"],
      "Conv2d_8_depthwise",
      "base64",
    ],
    [(m) => delete findNode(m, "heatmap_2").attr.strides, "heatmap_2", `no "strides"`],
  ];
  for (const [mutate, ...patterns] of cases) {
    const model = tinyModel();
    mutate(model);
    assertLoadError(() => parse(model), ...patterns);
  }
});

Deno.test("`loadTfjsGraphModel()` rejects a missing shard file, naming it", async () => {
  const path = await writeModel(tinyModel());
  await Deno.remove(join(dirname(path), "posenet.bin"));
  await assertLoadRejects(loadTfjsGraphModel(path), `"posenet.bin"`, "not found");
  assertLoadError(() => parseTfjsGraphModel(tinyModel().json, []), `"posenet.bin"`, "missing");
  const model = tinyModel();
  assertLoadError(
    () => parseTfjsGraphModel(model.json, [model.bin, model.bin]),
    "2 shard buffers",
    "1 shard paths",
  );
  await assertLoadRejects(
    loadTfjsGraphModel(join(dirname(path), "nope.json")),
    "nope.json",
    "not found",
  );
});

Deno.test("`loadTfjsGraphModel()` rejects a short or long shard with both sizes", async () => {
  const model = tinyModel();
  const size = model.bin.length;
  const short = { ...model, bin: model.bin.slice(0, size - 4) };
  assertLoadError(
    () => parse(short),
    "weights group 0",
    `"posenet.bin"`,
    "too short",
    `${size - 4} bytes`,
    `${size} bytes`,
  );
  const long = { ...model, bin: new Uint8Array(size + 4) };
  assertLoadError(
    () => parse(long),
    `"posenet.bin"`,
    "too long",
    `${size + 4} bytes`,
    `${size} bytes`,
  );
  await assertLoadRejects(
    loadTfjsGraphModel(await writeModel(short)),
    "too short",
    `${size} bytes`,
  );
  await assertLoadRejects(
    loadTfjsGraphModel(await writeModel(long)),
    "too long",
    `${size + 4} bytes`,
  );
});

Deno.test("`loadTfjsGraphModel()` rejects `..`, absolute and URL shard paths", async () => {
  const bad = [
    "../posenet.bin",
    "sub/../../posenet.bin",
    "%2e%2e/posenet.bin",
    "..\\posenet.bin",
    "/etc/passwd",
    "\\\\server\\share\\x.bin",
    "C:\\weights\\posenet.bin",
    "https://example.com/posenet.bin",
    "//example.com/posenet.bin",
    "file:///etc/passwd",
    "posenet.bin?x=1",
  ];
  for (const p of bad) {
    const model = tinyModel();
    model.json.weightsManifest[0].paths = [p];
    assertLoadError(() => parse(model), JSON.stringify(p), "not allowed");
    const path = await writeModel({ ...model, json: tinyModel().json }, JSON.stringify(model.json));
    await assertLoadRejects(loadTfjsGraphModel(path), JSON.stringify(p));
  }
  // A relative path into a subdirectory is fine.
  const model = tinyModel();
  model.json.weightsManifest[0].paths = ["weights/posenet.bin"];
  const path = await writeModel(tinyModel(), JSON.stringify(model.json));
  await Deno.mkdir(join(dirname(path), "weights"));
  await Deno.rename(join(dirname(path), "posenet.bin"), join(dirname(path), "weights/posenet.bin"));
  assert.equal((await loadTfjsGraphModel(path)).nativeOutputStride, 16);
});

Deno.test("`loadTfjsGraphModel()` rejects unknown dtypes, naming the weight and dtype", () => {
  const model = tinyModel();
  model.json.weightsManifest[0].weights[5].dtype = "float64";
  assertLoadError(() => parse(model), `weight "Const_5"`, `"float64"`);
  const quant = tinyModel();
  quant.json.weightsManifest[0].weights[2].quantization = { dtype: "int4", scale: 1, min: 0 };
  assertLoadError(() => parse(quant), `weight "Const_2"`, `"int4"`);
  const noScale = tinyModel();
  noScale.json.weightsManifest[0].weights[2].quantization = { dtype: "uint8", min: 0 };
  assertLoadError(() => parse(noScale), `weight "Const_2"`, "scale");
});

Deno.test("`loadTfjsGraphModel()` accepts int32 weights only where they are not filters", () => {
  const model = tinyModel();
  model.json.weightsManifest[0].weights.push({ name: "unused_int", shape: [2], dtype: "int32" });
  model.bin = new Uint8Array([...model.bin, 1, 0, 0, 0, 2, 0, 0, 0]);
  parse(model);
  const asFilter = tinyModel();
  const filter = findNode(asFilter, "Conv2d_6_pointwise").input[1];
  findWeight(asFilter, filter).dtype = "int32";
  assertLoadError(() => parse(asFilter), `weight "${filter}"`, "int32", "Conv2d_6_pointwise");
});

Deno.test("`loadTfjsGraphModel()` rejects shapes that do not chain, naming the node", () => {
  const cases: [string, (m: Model) => void, ...string[]][] = [
    [
      "pointwise in-channels",
      (m) => {
        const w = findWeight(m, findNode(m, "Conv2d_5_pointwise").input[1]);
        w.shape = [1, 1, 4, 16]; // was [1,1,8,8]; same size
      },
      "Conv2d_5_pointwise",
      "4 input channels",
      "its input has 8",
    ],
    [
      "depthwise layout",
      (m) => {
        const w = findWeight(m, findNode(m, "Conv2d_9_depthwise").input[1]);
        w.shape = [3, 3, 1, 8];
      },
      "Conv2d_9_depthwise",
      "[3,3,1,8]",
    ],
    [
      "conv0 kernel",
      (m) => {
        const w = findWeight(m, findNode(m, "Conv2d_0").input[1]);
        w.shape = [1, 1, 27, 4];
      },
      "Conv2d_0",
      "3x3",
    ],
    [
      "bias length",
      (m) => {
        findWeight(m, findNode(m, "Conv2d_2_pointwise").input[2]).shape = [3, 2]; // same size
      },
      "Conv2d_2_pointwise",
      "bias",
      "[3,2]",
      "expected [6]",
    ],
  ];
  for (const [what, mutate, ...patterns] of cases) {
    const model = tinyModel();
    mutate(model);
    try {
      assertLoadError(() => parse(model), ...patterns);
    } catch (e) {
      throw new Error(`${what}: ${e instanceof Error ? e.message : e}`);
    }
  }
  assertLoadError(
    () => parse(tinyModel({ headChannels: [17, 34, 32, 31] })),
    "displacement_bwd_2",
    "31 output channels",
    "expected 32",
  );
  assertLoadError(
    () => parse(tinyModel({ headChannels: [16, 34, 32, 32] })),
    "heatmap_2",
    "expected 17",
  );
});

Deno.test("`loadTfjsGraphModel()` rejects graphs that are not PoseNet MobileNetV1", () => {
  const renamed = tinyModel();
  findNode(renamed, "offset_2").name = "MobilenetV1/offset_3/BiasAdd";
  assertLoadError(() => parse(renamed), "MobilenetV1/offset_3/BiasAdd", "not one head");
  const noHead = tinyModel();
  noHead.json.modelTopology.node = noHead.json.modelTopology.node.filter((n: Json) =>
    !n.name.includes("displacement_fwd_2")
  );
  assertLoadError(() => parse(noHead), "lacks head displacement_fwd_2");
  const branch = tinyModel();
  const extra = structuredClone(findNode(branch, "Conv2d_4_pointwise"));
  extra.name = "extra_branch";
  branch.json.modelTopology.node.push(extra);
  assertLoadError(() => parse(branch), "Conv2d_4_depthwise", "feeds 2 nodes");
  const short = tinyModel();
  short.json.modelTopology.node = short.json.modelTopology.node.filter((n: Json) =>
    !/Conv2d_1[0-3]|_2\//.test(n.name)
  );
  assertLoadError(() => parse(short), "Conv2d_9_pointwise", "ends early");
  const noInput = tinyModel();
  findNode(noInput, "image").name = "input";
  findNode(noInput, "Conv2d_0/").input[0] = "input";
  assertLoadError(() => parse(noInput), `Placeholder named "image"`, `"input"`);
  const dangling = tinyModel();
  findNode(dangling, "Conv2d_3_pointwise").input[1] = "Const_missing";
  assertLoadError(() => parse(dangling), "Conv2d_3_pointwise", "Const_missing");
  const swapped = tinyModel();
  const dw = findNode(swapped, "Conv2d_1_depthwise");
  dw.op = "_FusedConv2D";
  assertLoadError(() => parse(swapped), "Conv2d_1_depthwise", "must be FusedDepthwiseConv2dNative");
});

Deno.test("`loadTfjsGraphModel()` rejects NaN and Inf weights, naming the weight", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const model = tinyModel();
    const name = findNode(model, "Conv2d_11_pointwise").input[2];
    const view = new DataView(model.bin.buffer);
    view.setFloat32(weightOffset(model, name) + 4, bad, true);
    assertLoadError(() => parse(model), `weight "${name}"`, "non-finite", "index 1");
  }
  const half = quantize(tinyModel(), "float16");
  new DataView(half.bin.buffer).setUint16(2 * 5, 0x7c00, true); // half +Inf at index 5
  assertLoadError(() => parse(half), `weight "Const_0"`, "non-finite", "index 5");
  const half2 = quantize(tinyModel(), "float16");
  new DataView(half2.bin.buffer).setUint16(0, 0x7e00, true); // half NaN
  assertLoadError(() => parse(half2), `weight "Const_0"`, "NaN");
});

Deno.test("`parseTfjsGraphModel()` survives 1,000 random mutations with only ModelLoadError", () => {
  let seed = 12345;
  const random = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const junk = (): unknown =>
    pick([
      null,
      true,
      false,
      0,
      -1,
      1,
      2,
      3,
      17,
      1e9,
      2 ** 53,
      -0.5,
      1e308,
      "",
      "1",
      "-3",
      "99999999999999999999",
      "U0FNRQ==",
      "%%",
      "__proto__",
      "constructor",
      "image",
      [],
      [1, 2, 2, 1],
      ["1", "2", "2", "1"],
      {},
      { list: {} },
      { list: { i: ["1", "x"] } },
      { s: "" },
      [1e9, 1e9, 1e9, 1e9],
      { dtype: "uint8", scale: 1, min: 0 },
      { dtype: "float16" },
    ]);
  const base = tinyModel({ unfusedHeads: true });
  let accepted = 0;
  const errors = new Map<string, number>();
  const started = performance.now();
  for (let iter = 0; iter < 1000; iter++) {
    const json = structuredClone(base.json);
    let bin: Uint8Array = base.bin;
    const mutations = 1 + Math.floor(random() * 3);
    for (let m = 0; m < mutations; m++) {
      // Collect every container and its keys.
      const slots: [Json, string | number][] = [];
      const walk = (v: Json) => {
        if (Array.isArray(v)) {
          v.forEach((x, i) => {
            slots.push([v, i]);
            walk(x);
          });
        } else if (v && typeof v === "object") {
          for (const k of Object.keys(v)) {
            slots.push([v, k]);
            walk(v[k]);
          }
        }
      };
      walk(json);
      const [holder, key] = pick(slots);
      const action = random();
      if (action < 0.08) {
        bin = bin.slice(0, Math.floor(random() * bin.length));
      } else if (action < 0.12) {
        bin = new Uint8Array([...bin, ...new Uint8Array(1 + Math.floor(random() * 9))]);
      } else if (action < 0.16) {
        bin = bin.slice();
        bin[Math.floor(random() * bin.length)] = 0xff;
      } else if (action < 0.35) {
        if (Array.isArray(holder)) holder.splice(key as number, 1);
        else delete holder[key];
      } else if (action < 0.45 && Array.isArray(holder)) {
        holder.push(structuredClone(holder[key as number]));
      } else if (action < 0.5 && typeof holder[key] === "string") {
        holder[key] = holder[key] + pick(["_2", "x", ":1", "/..", ""]);
      } else if (action < 0.55 && typeof holder[key] === "number") {
        holder[key] = holder[key] * pick([0, 2, -1, 1e6]);
      } else {
        holder[key] = structuredClone(junk());
      }
    }
    try {
      parseTfjsGraphModel(json, [bin]);
      accepted++;
    } catch (e) {
      if (!(e instanceof ModelLoadError)) {
        throw new Error(`iteration ${iter}: ${e} escaped\n${e instanceof Error ? e.stack : ""}`);
      }
      assert.ok(!e.message.includes("internal error"), `iteration ${iter}: ${e.message}`);
      const kind = e.message.replace(/"[^"]*"|\d+/g, "…").slice(0, 60);
      errors.set(kind, (errors.get(kind) ?? 0) + 1);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds < 30, `fuzzing took ${seconds} s`);
  assert.ok(accepted < 1000);
  assert.ok(errors.size > 10, `only ${errors.size} kinds of error`);
  if (Deno.env.get("FUZZ_REPORT")) console.log(accepted, errors);
});
