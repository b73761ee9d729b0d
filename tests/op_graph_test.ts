import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { InvalidInputError, ModelLoadError } from "../errors.ts";
import { planBuffers } from "../graph/buffer_plan.ts";
import { fuseEpilogues } from "../graph/fuse_epilogues.ts";
import { lowerTfjsGraph } from "../graph/lower_tfjs.ts";
import { type OpGraph, OpGraphBuilder, tensorReaders } from "../graph/op_graph.ts";
import { readGraph } from "../graph/tfjs_graph.ts";
import { assembleGroups, readManifest, WeightStore } from "../models/_tfjs_manifest.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { POSENET_OPS } from "../models/posenet_graph.ts";
import { loadTfjsGraphModel } from "../models/tfjs_graph_model.ts";
import { mulberry32, type Rng, runSeed, uniform } from "./support/random.ts";

const pw = (rng: Rng, cin: number, cout: number) => ({
  activation: "none" as const,
  filter: uniform(rng, cin * cout),
  bias: uniform(rng, cout),
});

/** A random DAG of pointwise convs, adds and 2x resizes over a few sizes and channel counts. */
function randomGraph(rng: Rng, nodes: number): OpGraph {
  const g = new OpGraphBuilder("x", [8, 8, 4]);
  const made = [g.input];
  const outputs: number[] = [];
  for (let i = 0; i < nodes; i++) {
    const a = made[Math.floor(rng() * made.length)];
    const [h, w, c] = g.shape(a);
    const r = rng();
    let t: number;
    if (r < 0.4) t = g.pointwise(`pw${i}`, a, pw(rng, c, 4 * (1 + Math.floor(rng() * 3))));
    else if (r < 0.6 && h <= 16) t = g.resizeBilinear2x(`up${i}`, a);
    else {
      const same = made.filter((m) => g.shape(m).every((d, k) => d === [h, w, c][k]));
      t = g.add(`add${i}`, a, same[Math.floor(rng() * same.length)]);
    }
    made.push(t);
  }
  // Every tensor nobody reads is an output, so the graph has no dead nodes.
  const readers = new Set<number>();
  const probe = g.finish([made[made.length - 1]]);
  for (const n of probe.nodes) n.inputs.forEach((t) => readers.add(t));
  for (const t of made.slice(1)) if (!readers.has(t)) outputs.push(t);
  return g.finish(outputs);
}

/** Live range [writer, last reader] of every tensor a node writes or reads. */
function liveRanges(graph: OpGraph): Map<number, [number, number]> {
  const ranges = new Map<number, [number, number]>([[graph.input, [-1, -1]]]);
  graph.nodes.forEach((n, i) => ranges.set(n.output, [i, i]));
  const end = graph.nodes.length;
  tensorReaders(graph).forEach((readers, t) => {
    if (readers.length && ranges.has(t)) ranges.get(t)![1] = readers[readers.length - 1];
  });
  for (const t of [graph.input, ...graph.outputs]) ranges.get(t)![1] = end;
  return ranges;
}

Deno.test("`planBuffers()` never lets two live tensors or a node's input and output share a buffer", () => {
  const rng = mulberry32(runSeed("op_graph buffer plan"));
  for (let trial = 0; trial < 200; trial++) {
    const graph = rng() < 0.5
      ? randomGraph(rng, 4 + Math.floor(rng() * 30))
      : fuseEpilogues(randomGraph(rng, 30));
    const plan = planBuffers(graph);
    const ranges = liveRanges(graph);
    const tensors = [...ranges.keys()];
    for (const t of tensors) {
      const b = plan.tensorBuffer[t];
      assert.ok(b >= 0, `tensor ${t} has no buffer`);
      const [h, w, c] = graph.tensors[t].shape;
      assert.ok(plan.bufferBytes[b] >= h * w * Math.ceil(c / 4) * 16, `buffer ${b} too small`);
    }
    for (const [i, a] of tensors.entries()) {
      for (const b of tensors.slice(i + 1)) {
        if (plan.tensorBuffer[a] !== plan.tensorBuffer[b]) continue;
        const [ra, rb] = [ranges.get(a)!, ranges.get(b)!];
        // Sharing is fine only when one is dead before the other is written.
        assert.ok(
          ra[1] < rb[0] || rb[1] < ra[0],
          `tensors ${a} ${ra} and ${b} ${rb} share a buffer`,
        );
      }
    }
    for (const node of graph.nodes) {
      for (const input of node.inputs) {
        assert.notEqual(plan.tensorBuffer[input], plan.tensorBuffer[node.output]);
      }
    }
    const pinned = [plan.inputBuffer, ...plan.outputBuffers];
    assert.equal(new Set(pinned).size, pinned.length);
    for (const t of tensors) {
      if (t !== graph.input && !graph.outputs.includes(t)) {
        assert.ok(!pinned.includes(plan.tensorBuffer[t]), "a scratch tensor took a pinned buffer");
      }
    }
  }
});

Deno.test("`planBuffers()` runs a chain on two scratch buffers", () => {
  const rng = mulberry32(runSeed("op_graph chain"));
  const g = new OpGraphBuilder("x", [5, 5, 8]);
  let t = g.input;
  for (let i = 0; i < 9; i++) t = g.pointwise(`pw${i}`, t, pw(rng, 8, 8));
  const plan = planBuffers(g.finish([t]));
  assert.equal(plan.bufferBytes.length, 4);
});

Deno.test("`fuseEpilogues()` folds residual adds and upsample-adds into the producing 1x1 conv", () => {
  const rng = mulberry32(runSeed("op_graph fuse"));
  const g = new OpGraphBuilder("x", [8, 8, 8]);
  const expand = g.pointwise("expand", g.input, pw(rng, 8, 16));
  const project = g.pointwise("project", expand, pw(rng, 16, 8));
  const block = g.add("residual", project, g.input); // MobileNetV2: project + block input
  const coarse = g.depthwise("down", block, {
    kernelHeight: 3,
    kernelWidth: 3,
    stride: 2,
    dilation: 1,
    activation: "relu6",
    filter: uniform(rng, 72),
  });
  const lateral = g.pointwise("lateral", block, pw(rng, 8, 8));
  const fpn = g.add("fpn", g.resizeBilinear2x("up", coarse), lateral);
  const both = g.add("resize-add", g.resizeBilinear2x("up2", coarse), g.input); // no conv to fold into
  const graph = g.finish([fpn, both]);
  const fused = fuseEpilogues(graph);
  assert.deepEqual(fused.nodes.map((n) => n.op), [
    "pointwise",
    "pointwise",
    "depthwise",
    "pointwise",
    "resize_bilinear2x",
  ]);
  const [, proj, , lat, up2] = fused.nodes;
  assert.ok(proj.op === "pointwise" && lat.op === "pointwise");
  assert.equal(proj.residual, "identity");
  assert.deepEqual(proj.inputs, [expand, g.input]);
  assert.equal(proj.output, block);
  assert.equal(lat.residual, "bilinear2x");
  assert.deepEqual(lat.inputs, [block, coarse]);
  assert.equal(lat.output, fpn);
  assert.deepEqual(up2.inputs, [coarse, g.input]);
  assert.equal(up2.output, both);
  assert.deepEqual(fused.outputs, graph.outputs);
});

Deno.test("`fuseEpilogues()` leaves an add whose conv output is read elsewhere or is an output", () => {
  const rng = mulberry32(runSeed("op_graph no fuse"));
  const g = new OpGraphBuilder("x", [4, 4, 4]);
  const a = g.pointwise("a", g.input, pw(rng, 4, 4));
  const sum = g.add("sum", a, g.input);
  const other = g.pointwise("other", a, pw(rng, 4, 4)); // a has two readers
  const graph = g.finish([sum, other]);
  assert.deepEqual(fuseEpilogues(graph).nodes.map((n) => n.op), ["pointwise", "add", "pointwise"]);
  const h = new OpGraphBuilder("x", [4, 4, 4]);
  const b = h.pointwise("b", h.input, pw(rng, 4, 4));
  const graph2 = h.finish([b, h.add("sum", b, h.input)]); // b is an output
  assert.deepEqual(fuseEpilogues(graph2).nodes.map((n) => n.op), ["pointwise", "add"]);
});

Deno.test("`OpGraphBuilder` infers TF SAME shapes and rejects malformed nodes by name", () => {
  const g = new OpGraphBuilder("x", [192, 192, 3]);
  const conv = g.conv2d("conv0", g.input, {
    kernelHeight: 3,
    kernelWidth: 3,
    stride: 2,
    dilation: 1,
    activation: "relu6",
    filter: new Float32Array(27 * 32),
    bias: new Float32Array(32),
  });
  assert.deepEqual(g.shape(conv), [96, 96, 32]);
  assert.throws(
    () =>
      g.pointwise("bad", conv, {
        activation: "none",
        filter: new Float32Array(5),
        bias: new Float32Array(2),
      }),
    (e) =>
      e instanceof InvalidInputError && /"bad": filter has 5 values, expected 64/.test(e.message),
  );
  assert.throws(
    () => g.add("mismatch", conv, g.input),
    (e) =>
      e instanceof InvalidInputError &&
      /"mismatch" adds tensors of different shapes/.test(e.message),
  );
});

Deno.test("`lowerTfjsGraph()` lowers PoseNet's own graph to the same op graph as its front end", async () => {
  const path = await fetchDefaultWeights();
  const doc = JSON.parse(await Deno.readTextFile(path));
  const manifest = readManifest(doc);
  const store = new WeightStore(
    manifest,
    assembleGroups(manifest, [await Deno.readFile(join(dirname(path), "posenet.bin"))]),
  );
  const heads = ["heatmap_2", "offset_2", "displacement_fwd_2", "displacement_bwd_2"].map((m) =>
    `MobilenetV1/${m}/BiasAdd`
  );
  const lowered = lowerTfjsGraph(readGraph(doc, POSENET_OPS), store, {
    input: "image",
    inputShape: [257, 257, 3],
    outputs: heads,
  });
  const weights = await loadTfjsGraphModel(path);
  const layers = [weights.conv0, ...weights.blocks.flatMap((b) => [b.depthwise, b.pointwise])];
  const trunk = lowered.nodes.slice(0, layers.length);
  assert.equal(lowered.nodes.length, layers.length + 4);
  for (const [i, layer] of layers.entries()) {
    const node = trunk[i];
    if (node.op === "add" || node.op === "resize_bilinear2x") {
      throw new Error(`node ${i}: ${node.op}`);
    }
    assert.equal(node.op, layer.kind);
    assert.equal(node.activation, layer.relu6 ? "relu6" : "none");
    assert.deepEqual(node.filter, layer.filter);
    assert.deepEqual(node.bias, layer.bias);
    if (node.op !== "pointwise") assert.equal(node.stride, layer.stride);
  }
  assert.deepEqual(lowered.tensors[lowered.outputs[0]].shape, [17, 17, 17]);
  assert.deepEqual(lowered.tensors[lowered.outputs[3]].shape, [17, 17, 32]);
});

Deno.test("`lowerTfjsGraph()` names the node and op it cannot lower", async () => {
  const path = await fetchDefaultWeights();
  const doc = JSON.parse(await Deno.readTextFile(path));
  const node = doc.modelTopology.node.find((n: { name: string }) =>
    n.name === "MobilenetV1/MobilenetV1/Conv2d_3_pointwise/Relu6"
  );
  node.op = "Sigmoid";
  const manifest = readManifest(doc);
  const store = new WeightStore(
    manifest,
    assembleGroups(manifest, [await Deno.readFile(join(dirname(path), "posenet.bin"))]),
  );
  assert.throws(
    () =>
      lowerTfjsGraph(readGraph(doc, new Set([...POSENET_OPS, "Sigmoid"])), store, {
        input: "image",
        inputShape: [33, 33, 3],
        outputs: ["MobilenetV1/heatmap_2/BiasAdd"],
      }),
    (e) =>
      e instanceof ModelLoadError &&
      /node "MobilenetV1\/MobilenetV1\/Conv2d_3_pointwise\/Relu6" has op "Sigmoid", which the op graph cannot run/
        .test(e.message),
  );
});
