/**
 * The 2x bilinear resize (TF's `ResizeBilinear`, `half_pixel_centers = true`) and its fused add,
 * against ONNX Runtime (`Resize`, linear, `half_pixel`), against a float64 evaluation of TF's
 * formula (which checks ORT too: its weighted-sum form must agree with TF's lerps), and against
 * tfjs-backend-cpu's own `resizeBilinear`.
 */

import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { InvalidInputError } from "../errors.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { resizeBilinear2x } from "../kernels/resize_bilinear.ts";
import { OnnxGraphBuilder } from "../reference/onnx_graph.ts";
import { createOrtSession, type NamedTensor, runOrt } from "../reference/ort_session.ts";
import { assertClose } from "./support/compare.ts";
import { KERNEL_TOLERANCE, WorstError } from "./support/conv_case.ts";
import { resizeBilinear2xFloat64 } from "./support/float64_ops.ts";
import { mulberry32, runSeed, uniform } from "./support/random.ts";

await tf.setBackend("cpu");

/** [low height, low width, channels, add]. */
type ResizeCase = [number, number, number, boolean];

const CASES: ResizeCase[] = [
  // MoveNet's top-down steps: Lightning 6→12 (64), 12→24 (32), 24→48 (24); Thunder 8→16 … 32→64.
  [6, 6, 64, true],
  [12, 12, 32, true],
  [24, 24, 24, true],
  [8, 8, 64, true],
  [16, 16, 32, true],
  [32, 32, 24, true],
  [24, 24, 24, false],
  // Borders everywhere (1 and 2 pixels), non-square, channel counts that leave padded lanes.
  [1, 1, 1, false],
  [1, 1, 5, true],
  [1, 3, 3, false],
  [2, 1, 4, true],
  [3, 3, 17, false],
  [7, 5, 34, true],
  [33, 2, 3, false],
];

const name = ([h, w, c, add]: ResizeCase) =>
  `${h}x${w}x${c} → ${2 * h}x${2 * w}${add ? " + add" : ""}`;

Deno.test("resizeBilinear2x() equals ONNX Runtime and TF's formula in float64", async (t) => {
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("resizeBilinear2x"));
  const worst = { ort: new WorstError(), ours: new WorstError(), ortFloat64: new WorstError() };
  try {
    for (const c of CASES) {
      await t.step(name(c), async () => {
        const [h, w, ch, add] = c;
        const x = { data: uniform(rng, h * w * ch), shape: [1, h, w, ch] };
        const b = add ? { data: uniform(rng, 4 * h * w * ch), shape: [1, 2 * h, 2 * w, ch] } : null;
        const ours = await resizeBilinear2x(x, { context: gpu, ...(b ? { add: b } : {}) });
        assert.deepEqual(ours.shape, [1, 2 * h, 2 * w, ch]);

        const graph = new OnnxGraphBuilder();
        let y = graph.resize2x(graph.inputNhwc("x", x.shape));
        const feeds: Record<string, NamedTensor> = { x };
        if (b) {
          y = graph.add(y, graph.inputNhwc("b", b.shape));
          feeds.b = b;
        }
        graph.outputNhwc(y, "y");
        const session = await createOrtSession(graph.build());
        const ort = await runOrt(session, feeds).finally(() => session.release());

        const f64 = resizeBilinear2xFloat64(x.data, h, w, ch);
        const exact = new Float32Array(f64.length);
        for (let i = 0; i < f64.length; i++) exact[i] = f64[i] + (b ? b.data[i] : 0);
        worst.ort.add(name(c), assertClose(name(c), ours.data, ort.y.data, KERNEL_TOLERANCE));
        worst.ours.add(name(c), assertClose(`${name(c)} ours`, ours.data, exact, KERNEL_TOLERANCE));
        worst.ortFloat64.add(
          name(c),
          assertClose(`${name(c)} ORT vs float64`, ort.y.data, exact, KERNEL_TOLERANCE),
        );
      });
    }
  } finally {
    console.log(worst.ort.summary("resizeBilinear2x"));
    console.log(worst.ours.summary("resizeBilinear2x", "ours", "float64"));
    console.log(worst.ortFloat64.summary("resizeBilinear2x", "ORT", "float64"));
    gpu.destroy();
  }
});

Deno.test("resizeBilinear2x() equals tfjs-backend-cpu's resizeBilinear with halfPixelCenters", async () => {
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("resizeBilinear2x vs TF.js"));
  const worst = new WorstError();
  try {
    for (const [h, w, c] of [[6, 6, 64], [7, 5, 3], [1, 2, 5]]) {
      const x = uniform(rng, h * w * c);
      const ours = await resizeBilinear2x({ data: x, shape: [1, h, w, c] }, { context: gpu });
      const input = tf.tensor4d(x, [1, h, w, c]);
      const resized = tf.image.resizeBilinear(input, [2 * h, 2 * w], false, true);
      const reference = new Float32Array(await resized.data());
      tf.dispose([input, resized]);
      const what = `${h}x${w}x${c} vs TF.js`;
      worst.add(what, assertClose(what, ours.data, reference, KERNEL_TOLERANCE));
    }
  } finally {
    console.log(worst.summary("resizeBilinear2x", "ours", "TF.js"));
    gpu.destroy();
  }
});

Deno.test("resizeBilinear2x() rejects an addend that is not the output's shape", async () => {
  const gpu = await createGpuContext();
  try {
    await assert.rejects(
      resizeBilinear2x(
        { data: new Float32Array(2 * 3 * 4), shape: [1, 2, 3, 4] },
        { add: { data: new Float32Array(2 * 3 * 4), shape: [1, 2, 3, 4] }, context: gpu },
      ),
      (e: unknown) =>
        e instanceof InvalidInputError &&
        /add has shape \[1,2,3,4\], expected \[1,4,6,4\]/.test(e.message),
    );
  } finally {
    gpu.destroy();
  }
});
