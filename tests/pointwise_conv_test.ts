import assert from "node:assert/strict";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { createPointwiseConvKernel, pointwiseConv } from "../kernels/pointwise_conv.ts";
import { packedByteLength } from "../runtime/layout.ts";
import { InvalidInputError } from "../errors.ts";
import type { Activation } from "../shaders/wgsl_common.ts";
import type { Residual } from "../shaders/residual.ts";
import { CHANNELS, checkConvMatrix, type ConvCase, SIZES } from "./support/conv_case.ts";

const ACTIVATIONS: readonly Activation[] = ["none", "relu6", "relu"];
const base = { kind: "pointwise", kernel: 1, stride: 1, dilation: 1 } as const;

function pointwiseCases(): ConvCase[] {
  const cases: ConvCase[] = [];
  // Every (in, out) channel pair of the matrix at a 7x7 input; the activations take turns.
  CHANNELS.forEach((cin, i) =>
    CHANNELS.forEach((cout, j) =>
      cases.push({
        ...base,
        height: 7,
        width: 7,
        inChannels: cin,
        outChannels: cout,
        activation: ACTIVATIONS[(i + j) % 3],
      })
    )
  );
  // Every spatial size with the hot 384→384 layer, a head (384→17) and a small odd layer.
  for (const size of SIZES) {
    cases.push({
      ...base,
      height: size,
      width: size,
      inChannels: 384,
      outChannels: 384,
      activation: "relu6",
    });
    cases.push({
      ...base,
      height: size,
      width: size,
      inChannels: 384,
      outChannels: 17,
      activation: "none",
    });
    cases.push({
      ...base,
      height: size,
      width: size,
      inChannels: 17,
      outChannels: 34,
      activation: size % 2 === 0 ? "relu6" : "relu",
    });
  }
  // Non-square inputs.
  cases.push({
    ...base,
    height: 7,
    width: 33,
    inChannels: 96,
    outChannels: 32,
    activation: "relu6",
  });
  cases.push({
    ...base,
    height: 65,
    width: 2,
    inChannels: 24,
    outChannels: 34,
    activation: "none",
  });
  return cases;
}

/** [size, in, out, activation, residual]: a square 1x1 layer. */
type Layer = [number, number, number, Activation, Residual];

/**
 * MoveNet's 1x1 layers with the epilogue each has in the graph (channels read from
 * movenet-lightning.json and movenet-thunder.json), then the epilogues on odd shapes.
 */
function epilogueCases(): ConvCase[] {
  const lightning: Layer[] = [
    [96, 32, 16, "none", "none"], // block 0 projection
    [96, 16, 96, "relu6", "none"], // block 1 expansion
    [48, 144, 24, "none", "identity"], // block 2 projection + residual add
    [24, 192, 32, "none", "identity"],
    [12, 384, 64, "none", "identity"],
    [12, 576, 96, "none", "identity"],
    [6, 960, 160, "none", "identity"],
    [6, 320, 1280, "relu6", "none"], // out_relu
    [6, 1280, 64, "none", "none"], // top of the pyramid
    [12, 64, 64, "none", "bilinear2x"], // lateral conv + the 6x6 level upsampled
    [24, 32, 32, "none", "bilinear2x"],
    [48, 24, 24, "none", "bilinear2x"],
    [12, 64, 32, "relu", "none"], // pyramid convs after the bias-less depthwise
    [24, 32, 24, "relu", "none"],
    [48, 24, 24, "relu", "none"],
    [48, 24, 96, "relu", "none"], // head hidden layer
    [48, 96, 34, "none", "none"], // head output (offsets, regression)
    [48, 96, 1, "none", "none"], // centre head
  ];
  const thunder: Layer[] = [
    [64, 240, 40, "none", "identity"],
    [8, 1680, 280, "none", "identity"],
    [16, 112, 64, "none", "bilinear2x"], // lateral 112→64 + the 8x8 level
    [32, 56, 32, "none", "bilinear2x"],
    [64, 40, 24, "none", "bilinear2x"],
    [64, 96, 17, "none", "none"], // keypoint heatmap head
  ];
  const cases: ConvCase[] = [...lightning, ...thunder].map(([size, cin, cout, act, residual]) => ({
    ...base,
    height: size,
    width: size,
    inChannels: cin,
    outChannels: cout,
    activation: act,
    residual,
  }));
  // Every activation before each residual, channel counts that leave padded lanes, non-square and
  // 1x1 low-resolution inputs (every output pixel then clamps to the one source pixel).
  const odd: [number, number, number, number, Activation, Residual][] = [
    [7, 7, 17, 34, "relu6", "identity"],
    [1, 1, 3, 5, "relu", "identity"],
    [65, 2, 24, 3, "none", "identity"],
    [2, 2, 3, 3, "relu6", "bilinear2x"],
    [6, 10, 96, 17, "none", "bilinear2x"],
    [12, 4, 24, 34, "relu", "bilinear2x"],
    [34, 66, 17, 24, "relu6", "bilinear2x"],
  ];
  for (const [height, width, cin, cout, act, residual] of odd) {
    cases.push({
      ...base,
      height,
      width,
      inChannels: cin,
      outChannels: cout,
      activation: act,
      residual,
    });
  }
  return cases;
}

Deno.test("pointwiseConv() equals ONNX Runtime over the shape matrix", async (t) => {
  await checkConvMatrix(t, "pointwiseConv", pointwiseCases());
});

Deno.test("pointwiseConv() with Relu and fused residuals equals ONNX Runtime on MoveNet's layers", async (t) => {
  await checkConvMatrix(t, "pointwiseConv epilogues", epilogueCases());
});

Deno.test("pointwiseConv() rejects a filter whose input channels do not match", async () => {
  const gpu = await createGpuContext();
  try {
    await assert.rejects(
      pointwiseConv(
        { data: new Float32Array(2 * 2 * 3), shape: [1, 2, 2, 3] },
        { data: new Float32Array(4 * 5), shape: [1, 1, 4, 5] },
        new Float32Array(5),
        { context: gpu },
      ),
      (e: unknown) =>
        e instanceof InvalidInputError &&
        /filter has shape \[1,1,4,5\], expected \[1,1,3,\?\]/.test(e.message),
    );
  } finally {
    gpu.destroy();
  }
});

Deno.test("pointwiseConv() rejects bad residuals and activations, naming what is wrong", async () => {
  const gpu = await createGpuContext();
  const input = { data: new Float32Array(7 * 8 * 2), shape: [1, 7, 8, 2] };
  const filter = { data: new Float32Array(2 * 3), shape: [1, 1, 2, 3] };
  const rejects = (options: Parameters<typeof pointwiseConv>[3], pattern: RegExp) =>
    assert.rejects(
      pointwiseConv(input, filter, new Float32Array(3), { context: gpu, ...options }),
      (e: unknown) => e instanceof InvalidInputError && pattern.test(e.message),
    );
  try {
    await rejects(
      { upsampledResidual: { data: new Float32Array(3 * 4 * 3), shape: [1, 3, 4, 3] } },
      /output's height and width must be even, got 7x8/,
    );
    await rejects(
      { residual: { data: new Float32Array(7 * 8 * 2), shape: [1, 7, 8, 2] } },
      /residual has shape \[1,7,8,2\], expected \[1,7,8,3\]/,
    );
    await rejects(
      {
        residual: { data: new Float32Array(7 * 8 * 3), shape: [1, 7, 8, 3] },
        upsampledResidual: { data: new Float32Array(3), shape: [1, 1, 1, 3] },
      },
      /give residual or upsampledResidual, not both/,
    );
    await rejects(
      { activation: "relu5" as Activation },
      /activation must be one of "none", "relu", "relu6", got "relu5"/,
    );
  } finally {
    gpu.destroy();
  }
});

Deno.test("createPointwiseConvKernel() kernels bind a second input only where they read one", async () => {
  const gpu = await createGpuContext();
  const usage = GPUBufferUsage.STORAGE;
  const buffer = (bytes: number) => gpu.device.createBuffer({ size: bytes, usage });
  const spec = { height: 4, width: 6, inChannels: 8, outChannels: 5, activation: "none" } as const;
  const made = (residual: Residual) =>
    createPointwiseConvKernel(
      gpu,
      { ...spec, residual },
      new Float32Array(40),
      new Float32Array(5),
    );
  const [plain, added, upsampled] = [
    await made("none"),
    await made("identity"),
    await made("bilinear2x"),
  ];
  const input = buffer(packedByteLength(4, 6, 8));
  const output = buffer(packedByteLength(4, 6, 5));
  const low = buffer(packedByteLength(2, 3, 5));
  const throwsInvalid = (f: () => unknown, pattern: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof InvalidInputError && pattern.test(e.message));
  try {
    assert.equal(plain.secondInputShape, undefined);
    assert.deepEqual(added.secondInputShape, [4, 6, 5]);
    assert.deepEqual(upsampled.secondInputShape, [2, 3, 5]);
    plain.bind(input, output);
    added.bind(input, output, output);
    upsampled.bind(input, output, low);
    throwsInvalid(() => added.bind(input, output), /needs a second input \(4x6x5, binding 4\)/);
    throwsInvalid(() => plain.bind(input, output, low), /takes no second input/);
    throwsInvalid(
      () => added.bind(input, output, low),
      /second input buffer has 192 bytes, its 4x6x5 tensor needs 768/,
    );
    throwsInvalid(
      () => plain.bind(low, output),
      /input buffer has 192 bytes, its 4x6x8 tensor needs 768/,
    );
  } finally {
    for (const k of [plain, added, upsampled]) k.dispose();
    for (const b of [input, output, low]) b.destroy();
    gpu.destroy();
  }
});
