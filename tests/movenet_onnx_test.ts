/**
 * The TF.js → ONNX converter (`reference/tfjs_to_onnx.ts`) and the MoveNet ONNX model
 * (`reference/movenet_onnx.ts`) against the original TF.js graphs executed by tfjs-converter 4.22
 * on tfjs-backend-cpu: MoveNet Lightning and Thunder on a real photo (pose-detection's first crop,
 * `bench/peers/movenet_crop.ts`) and on random int inputs, the four heads within 1e-5 of each
 * head's largest magnitude (and the graph's decoded keypoints on the photo; a random input may
 * instead meet a float64 criterion, see `TOLERANCE`); the input chain
 * (Cast, Unpack/ExpandDims/Squeeze at batch 1, the normalisation) exactly; and small graphs that
 * reach what MoveNet does not (every ResizeBilinear coordinate mode, odd sizes, dilation,
 * explicit pads, depthwise multipliers; the float64 evaluation as well), plus the errors for what
 * the converter cannot convert.
 */

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as tfconv from "@tensorflow/tfjs-converter";
import { readImageFile } from "../cli/read_image.ts";
import { ModelLoadError } from "../errors.ts";
import { cropAndResizeToInt32, movenetFirstCrop } from "../bench/peers/movenet_crop.ts";
import {
  MOVENET_HEAD_NODES,
  MOVENET_KEYPOINTS_NODE,
  type MovenetHead,
  releaseMovenetOrtSessions,
  runMovenetHeadsOrt,
} from "../reference/movenet_onnx.ts";
import { createOrtSession } from "../reference/ort_session.ts";
import {
  decodeTfjsWeights,
  readTfjsGraphArtifacts,
  type TfjsGraphNode,
  tfjsGraphNodes,
} from "../reference/tfjs_artifacts.ts";
import { evaluateTfjsGraphFloat64, type Float64Tensor } from "../reference/tfjs_graph_float64.ts";
import { convertTfjsGraphToOnnx } from "../reference/tfjs_to_onnx.ts";
import { assertClose, difference } from "./support/compare.ts";
import { type MoveNetModelName, moveNetWeights } from "./support/movenet_weights.ts";
import { mulberry32, runSeed, uniform } from "./support/random.ts";

tf.env().set("IS_NODE", false); // silences the "install tfjs-node" banner
await tf.setBackend("cpu");

/**
 * max |ORT − TF.js| ≤ TOLERANCE · max |TF.js|, per head. On a random (noise) input Thunder's two
 * float32 evaluations can differ by 2e-5 (TF.js's cpu convolutions then being the further from
 * float64), so there a head beyond it passes when ORT is within TOLERANCE of a float64 evaluation
 * of the graph (`reference/tfjs_graph_float64.ts`) and e_ORT ≤ FACTOR_OVER_TFJS · e_TF.js + SLACK,
 * the rule `tests/posenet_network_test.ts` applies to the GPU network against ORT.
 */
const TOLERANCE = 1e-5;
const FACTOR_OVER_TFJS = 2;
const SLACK = 1e-6;
const PHOTO = "single_portrait.jpg";
const SEED = runSeed("movenet_onnx_test");
const HEADS = Object.keys(MOVENET_HEAD_NODES) as MovenetHead[];

const photo = await readImageFile(new URL(`./fixtures/photos/${PHOTO}`, import.meta.url).pathname);

/** The graph executed by tfjs-converter on the cpu backend: each output's values. */
async function tfjsExecute(
  artifacts: tf.io.ModelArtifacts,
  feeds: Record<string, tf.Tensor>,
  outputs: string[],
): Promise<Float32Array[]> {
  const model = await tfconv.loadGraphModel(tf.io.fromMemory(artifacts));
  try {
    const out = [model.execute(feeds, outputs)].flat();
    const values = out.map((t) => Float32Array.from(t.dataSync()));
    tf.dispose(out);
    return values;
  } finally {
    model.dispose();
    tf.dispose(Object.values(feeds));
  }
}

/** max |values − f64| / max |f64|; NaN anywhere gives Infinity. */
function errorAgainstFloat64(values: Float32Array, f64: Float64Array): number {
  let maxRef = 0;
  let maxErr = 0;
  for (let i = 0; i < f64.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(f64[i]));
    const e = Math.abs(values[i] - f64[i]);
    if (!(e <= maxErr)) maxErr = Number.isNaN(e) ? Infinity : e;
  }
  return maxErr / maxRef;
}

for (const model of ["movenet-lightning", "movenet-thunder"] as MoveNetModelName[]) {
  Deno.test({
    name: `\`runMovenetHeadsOrt()\` equals TF.js ${model} on a photo and a random input`,
    sanitizeResources: false,
    async fn() {
      const path = await moveNetWeights(model);
      const artifacts = await readTfjsGraphArtifacts(path);
      const side = model === "movenet-lightning" ? 192 : 256;
      const rng = mulberry32(SEED ^ side);
      const inputs: { what: string; input: Int32Array; random: boolean }[] = [
        {
          what: PHOTO,
          input: cropAndResizeToInt32(photo, movenetFirstCrop(photo.width, photo.height), side),
          random: false,
        },
        {
          what: "random",
          input: Int32Array.from(uniform(rng, side * side * 3, 0, 256), Math.floor),
          random: true,
        },
      ];
      const nodes = [...HEADS.map((h) => MOVENET_HEAD_NODES[h]), MOVENET_KEYPOINTS_NODE];
      const failures: string[] = [];
      try {
        for (const { what, input, random } of inputs) {
          const ort = await runMovenetHeadsOrt(path, input);
          const ref = await tfjsExecute(
            artifacts,
            { input: tf.tensor(input, [1, side, side, 3], "int32") },
            nodes,
          );
          // Where ORT and TF.js are more than 1e-5 apart on a random input, the float64
          // evaluation decides: ORT must be within 1e-5 of it and about as close as TF.js.
          let f64: Float64Tensor[] | undefined;
          const float64 = async () =>
            f64 ??= evaluateTfjsGraphFloat64(
              tfjsGraphNodes(artifacts),
              await decodeTfjsWeights(artifacts),
              { input: { shape: [1, side, side, 3], data: Float64Array.from(input) } },
              HEADS.map((h) => MOVENET_HEAD_NODES[h]),
            );
          const f = side / 4;
          for (const [i, head] of HEADS.entries()) {
            const channels = { center: 1, heatmap: 17, regress: 34, offset: 34 }[head];
            assert.deepEqual(ort[head].shape, [1, f, f, channels], `${head} shape`);
            const d = difference(ort[head].data, ref[i]);
            const relative = d.maxAbsError / d.maxAbsReference;
            let line = `${model} ${what} ${head.padEnd(7)}: max |ORT − TF.js| ` +
              `${d.maxAbsError.toExponential(2)} = ${relative.toExponential(2)} · max |TF.js| ` +
              `${d.maxAbsReference.toFixed(2)}`;
            let ok = relative <= TOLERANCE;
            if (!ok && random) {
              const exact = (await float64())[i].data;
              const eOrt = errorAgainstFloat64(ort[head].data, exact);
              const eTfjs = errorAgainstFloat64(ref[i], exact);
              line += `; against float64: ORT ${eOrt.toExponential(2)}, TF.js ` +
                eTfjs.toExponential(2);
              ok = eOrt <= TOLERANCE && eOrt <= FACTOR_OVER_TFJS * eTfjs + SLACK;
            }
            console.log(line);
            if (!ok) failures.push(line);
          }
          // The in-graph decode takes argmaxes, which a random input could tip at a near-tie;
          // the photo's keypoints must agree.
          if (!random) {
            assert.deepEqual(ort.keypoints.shape, [1, 1, 17, 3]);
            const d = assertClose(`${model} keypoints`, ort.keypoints.data, ref[4], TOLERANCE);
            console.log(`${model} keypoints: max |ORT − TF.js| ${d.maxAbsError.toExponential(2)}`);
          }
        }
      } finally {
        await releaseMovenetOrtSessions();
      }
      assert.equal(failures.length, 0, `beyond ${TOLERANCE}:\n${failures.join("\n")}`);
    },
  });
}

Deno.test("`convertTfjsGraphToOnnx()` converts MoveNet's input chain to the graph's normalisation", async () => {
  const artifacts = await readTfjsGraphArtifacts(await moveNetWeights("movenet-lightning"));
  const normalised = "StatefulPartitionedCall/sub_1";
  const converted = convertTfjsGraphToOnnx(
    tfjsGraphNodes(artifacts),
    await decodeTfjsWeights(artifacts),
    { outputs: [normalised] },
  );
  // Placeholder → Cast → Unpack → ExpandDims → Squeeze → ExpandDims → Sub → Mul → Sub.
  assert.deepEqual(converted.tfOps, {
    Placeholder: 1,
    Cast: 1,
    Unpack: 1,
    ExpandDims: 2,
    Squeeze: 1,
    Const: 5,
    Sub: 2,
    Mul: 1,
  });
  assert.deepEqual(converted.outputs[0].shape, [1, 192, 192, 3]);
  const input = Int32Array.from(uniform(mulberry32(SEED), 192 * 192 * 3, 0, 256), Math.floor);
  const [ref] = await tfjsExecute(
    artifacts,
    { input: tf.tensor(input, [1, 192, 192, 3], "int32") },
    [normalised],
  );
  const ours = await runSingle(converted.model, input, [1, 192, 192, 3], normalised);
  assert.equal(ours.length, ref.length);
  const differing = ours.filter((v, i) => v !== ref[i]).length;
  const i = ours.findIndex((v, i) => v !== ref[i]);
  assert.equal(differing, 0, `${differing} values differ, first at ${i}: ${ours[i]} vs ${ref[i]}`);
});

/** Runs a one-input model on ORT wasm and returns one output. */
async function runSingle(
  model: Uint8Array,
  input: Int32Array | Float32Array,
  shape: number[],
  output: string,
  inputName = "input",
): Promise<Float32Array> {
  const ortModule = await import("onnxruntime-web");
  const session = await createOrtSession(model);
  try {
    const dtype = input instanceof Int32Array ? "int32" : "float32";
    const out = await session.run({ [inputName]: new ortModule.Tensor(dtype, input, shape) });
    return new Float32Array(out[output].data as Float32Array);
  } finally {
    await session.release();
  }
}

// ---- small graphs ----

const enc = (s: string) => btoa(s);
const floatT = { type: "DT_FLOAT" };

function placeholder(name: string, shape: number[]): TfjsGraphNode {
  return {
    name,
    op: "Placeholder",
    attr: { dtype: floatT, shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } },
  };
}

function constNode(name: string, dtype = floatT): TfjsGraphNode {
  return { name, op: "Const", attr: { dtype, value: { tensor: { dtype: dtype.type } } } };
}

/**
 * Converts a small graph, runs it on ORT and on tfjs-converter, and checks the output within
 * TOLERANCE; returns the measured error.
 */
async function checkGraph(
  what: string,
  nodes: TfjsGraphNode[],
  weights: Record<string, tf.Tensor>,
  inputShape: number[],
  output: string,
): Promise<number> {
  const { specs, data } = await tf.io.encodeWeights(weights);
  tf.dispose(Object.values(weights));
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: { node: nodes, versions: {} },
    weightSpecs: specs,
    weightData: data,
    format: "graph-model",
  };
  const constants = await decodeTfjsWeights(artifacts);
  const converted = convertTfjsGraphToOnnx(nodes, constants, { outputs: [output] });
  const x = uniform(mulberry32(SEED ^ nodes.length), inputShape.reduce((a, b) => a * b), -2, 2);
  const ours = await runSingle(converted.model, x, inputShape, output, "x");
  const [ref] = await tfjsExecute(artifacts, { x: tf.tensor(x, inputShape) }, [output]);
  // The float64 evaluation (the arbiter of the MoveNet test) must agree with TF.js too.
  const feeds = { x: { shape: inputShape, data: Float64Array.from(x) } };
  const [f64] = evaluateTfjsGraphFloat64(nodes, constants, feeds, [output]);
  assertClose(`${what} (float64)`, Float32Array.from(f64.data), ref, TOLERANCE);
  return assertClose(what, ours, ref, TOLERANCE).maxAbsError;
}

Deno.test("`convertTfjsGraphToOnnx()` and `evaluateTfjsGraphFloat64()` ResizeBilinear match TF.js in every coordinate mode", async () => {
  const cases = [
    { from: [5, 7], to: [10, 14] }, // 2x, odd sizes
    { from: [6, 6], to: [12, 12] }, // 2x, as in MoveNet's feature pyramid
    { from: [5, 4], to: [7, 9] }, // non-integer factors
    { from: [4, 6], to: [1, 3] }, // downscaling to one row
  ];
  const modes = [
    { align_corners: false, half_pixel_centers: true },
    { align_corners: true, half_pixel_centers: false },
    { align_corners: false, half_pixel_centers: false },
  ];
  for (const { from, to } of cases) {
    for (const mode of modes) {
      const nodes: TfjsGraphNode[] = [
        placeholder("x", [1, ...from, 3]),
        constNode("size", { type: "DT_INT32" }),
        {
          name: "y",
          op: "ResizeBilinear",
          input: ["x", "size"],
          attr: {
            T: floatT,
            align_corners: { b: mode.align_corners },
            half_pixel_centers: { b: mode.half_pixel_centers },
          },
        },
      ];
      const weights = { size: tf.tensor1d(to, "int32") };
      const what = `[${from}] → [${to}] ${JSON.stringify(mode)}`;
      const e = await checkGraph(what, nodes, weights, [1, ...from, 3], "y");
      console.log(`ResizeBilinear ${what}: max |ORT − TF.js| ${e.toExponential(2)}`);
    }
  }
});

/** A conv node of the small graphs. */
function convNode(
  op: string,
  padding: string,
  stride: number,
  dilation: number,
  fused: string[] = [],
  explicit: number[] = [],
): TfjsGraphNode {
  const attr: Record<string, unknown> = {
    T: floatT,
    strides: { list: { i: ["1", String(stride), String(stride), "1"] } },
    dilations: { list: { i: ["1", String(dilation), String(dilation), "1"] } },
    padding: { s: enc(padding) },
    data_format: { s: enc("NHWC") },
    explicit_paddings: { list: { i: explicit.map(String) } },
  };
  if (fused.length > 0) {
    attr.fused_ops = { list: { s: fused.map(enc) } };
    attr.num_args = { i: fused[0] === "BiasAdd" ? "1" : "0" };
  }
  const input = ["x", "w", ...(fused[0] === "BiasAdd" ? ["b"] : [])];
  return { name: "y", op, input, attr };
}

Deno.test("`convertTfjsGraphToOnnx()` and `evaluateTfjsGraphFloat64()` convolutions match TF.js over pads, strides and dilations", async () => {
  const rng = mulberry32(SEED ^ 0x5eed);
  const cases = [
    {
      op: "_FusedConv2D",
      hw: [8, 10],
      k: 3,
      cin: 3,
      m: 5,
      pad: "SAME",
      s: 2,
      d: 1,
      f: ["BiasAdd", "Relu6"],
    },
    { op: "_FusedConv2D", hw: [7, 9], k: 3, cin: 4, m: 6, pad: "SAME", s: 2, d: 1, f: ["BiasAdd"] },
    { op: "Conv2D", hw: [9, 8], k: 3, cin: 2, m: 3, pad: "VALID", s: 1, d: 2, f: [] },
    {
      op: "Conv2D",
      hw: [6, 7],
      k: 3,
      cin: 2,
      m: 4,
      pad: "EXPLICIT",
      s: 2,
      d: 1,
      f: [],
      e: [0, 0, 1, 2, 0, 1, 0, 0],
    },
    {
      op: "_FusedConv2D",
      hw: [5, 5],
      k: 1,
      cin: 6,
      m: 4,
      pad: "VALID",
      s: 1,
      d: 1,
      f: ["BiasAdd", "Relu"],
    },
    {
      op: "FusedDepthwiseConv2dNative",
      hw: [8, 8],
      k: 3,
      cin: 4,
      m: 1,
      pad: "SAME",
      s: 2,
      d: 1,
      f: ["BiasAdd", "Relu6"],
    },
    { op: "DepthwiseConv2dNative", hw: [7, 6], k: 3, cin: 3, m: 2, pad: "SAME", s: 1, d: 2, f: [] },
    {
      op: "DepthwiseConv2dNative",
      hw: [9, 9],
      k: 5,
      cin: 2,
      m: 3,
      pad: "VALID",
      s: 2,
      d: 1,
      f: [],
    },
  ];
  for (const c of cases) {
    const depthwise = c.op.includes("Depthwise");
    const nodes = [
      placeholder("x", [1, ...c.hw, c.cin]),
      constNode("w"),
      ...(c.f[0] === "BiasAdd" ? [constNode("b")] : []),
      convNode(c.op, c.pad, c.s, c.d, c.f, c.e),
    ];
    const cout = depthwise ? c.cin * c.m : c.m;
    const weights: Record<string, tf.Tensor> = {
      w: tf.tensor4d(uniform(rng, c.k * c.k * c.cin * c.m), [c.k, c.k, c.cin, c.m]),
    };
    if (c.f[0] === "BiasAdd") weights.b = tf.tensor1d(uniform(rng, cout));
    const what = `${c.op} [${c.hw}]x${c.cin} k${c.k} ${c.pad} s${c.s} d${c.d} m${c.m} [${c.f}]`;
    const e = await checkGraph(what, nodes, weights, [1, ...c.hw, c.cin], "y");
    console.log(`${what}: max |ORT − TF.js| ${e.toExponential(2)}`);
  }
});

Deno.test("`convertTfjsGraphToOnnx()` names the node and op it cannot convert", () => {
  const x = placeholder("x", [1, 4, 4, 2]);
  assert.throws(
    () =>
      convertTfjsGraphToOnnx(
        [x, { name: "net/pad", op: "MirrorPad", input: ["x"] }],
        new Map(),
        { outputs: ["net/pad"] },
      ),
    (e: unknown) =>
      e instanceof ModelLoadError &&
      /node net\/pad: TF op MirrorPad is not supported/.test(e.message),
  );
  const w = { dtype: "float32" as const, shape: [1, 1, 2, 2], values: new Float32Array(4) };
  const b = { dtype: "float32" as const, shape: [2], values: new Float32Array(2) };
  const leaky = convNode("_FusedConv2D", "SAME", 1, 1, ["BiasAdd", "LeakyRelu"]);
  assert.throws(
    () =>
      convertTfjsGraphToOnnx(
        [x, constNode("w"), constNode("b"), leaky],
        new Map([["w", w], ["b", b]]),
        { outputs: ["y"] },
      ),
    (e: unknown) =>
      e instanceof ModelLoadError &&
      /node y \(_FusedConv2D\): fused ops \[BiasAdd,LeakyRelu\] are not supported/.test(e.message),
  );
  assert.throws(
    () => convertTfjsGraphToOnnx([placeholder("x", [1, -1, -1, 3])], new Map(), { outputs: ["x"] }),
    (e: unknown) =>
      e instanceof ModelLoadError &&
      /node x \(Placeholder\): input shape \[1,-1,-1,3\]/.test(e.message),
  );
});
