import assert from "node:assert/strict";
import { createGpuContext } from "../kernels/gpu_context.ts";
import { pointwiseConv } from "../kernels/pointwise_conv.ts";
import { InvalidInputError } from "../errors.ts";
import { CHANNELS, checkConvMatrix, type ConvCase, SIZES } from "./support/conv_case.ts";

function pointwiseCases(): ConvCase[] {
  const cases: ConvCase[] = [];
  const base = { kind: "pointwise", kernel: 1, stride: 1, dilation: 1 } as const;
  // Every (in, out) channel pair of the matrix at a 7x7 input.
  CHANNELS.forEach((cin, i) =>
    CHANNELS.forEach((cout, j) =>
      cases.push({
        ...base,
        height: 7,
        width: 7,
        inChannels: cin,
        outChannels: cout,
        relu6: (i + j) % 2 === 0,
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
      relu6: true,
    });
    cases.push({
      ...base,
      height: size,
      width: size,
      inChannels: 384,
      outChannels: 17,
      relu6: false,
    });
    cases.push({
      ...base,
      height: size,
      width: size,
      inChannels: 17,
      outChannels: 34,
      relu6: size % 2 === 0,
    });
  }
  // Non-square inputs.
  cases.push({ ...base, height: 7, width: 33, inChannels: 96, outChannels: 32, relu6: true });
  cases.push({ ...base, height: 65, width: 2, inChannels: 24, outChannels: 34, relu6: false });
  return cases;
}

Deno.test("pointwiseConv() equals ONNX Runtime over the shape matrix", async (t) => {
  await checkConvMatrix(t, "pointwiseConv", pointwiseCases());
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
