import assert from "node:assert/strict";
import { createGpuContext } from "../kernels/gpu_context.ts";
import { depthwiseConv } from "../kernels/depthwise_conv.ts";
import { InvalidInputError } from "../errors.ts";
import {
  CHANNELS,
  checkConvMatrix,
  type ConvCase,
  DILATIONS,
  SIZES,
  STRIDES,
} from "./support/conv_case.ts";

function depthwiseCases(): ConvCase[] {
  const cases: ConvCase[] = [];
  const dw = (
    height: number,
    width: number,
    channels: number,
    stride: number,
    dilation: number,
    relu6: boolean,
  ) =>
    cases.push({
      kind: "depthwise",
      height,
      width,
      inChannels: channels,
      outChannels: channels,
      kernel: 3,
      stride,
      dilation,
      relu6,
    });
  let n = 0;
  // Every size × stride × dilation; channels cycle through the matrix, ReLU6 alternates.
  for (const size of SIZES) {
    for (const stride of STRIDES) {
      for (const dilation of DILATIONS) {
        dw(size, size, CHANNELS[n % CHANNELS.length], stride, dilation, n % 2 === 0);
        n++;
      }
    }
  }
  // Every channel count × stride × dilation at 33x33 (PoseNet's 513 / stride-16 grid).
  for (const channels of CHANNELS) {
    for (const stride of STRIDES) {
      for (const dilation of DILATIONS) dw(33, 33, channels, stride, dilation, (n++ % 2) === 1);
    }
  }
  // Non-square inputs, and the largest layer PoseNet runs with dilation (384 channels at 65x65).
  dw(7, 33, 96, 1, 2, true);
  dw(65, 2, 24, 2, 1, false);
  dw(33, 7, 17, 1, 4, true);
  dw(65, 65, 384, 1, 4, true);
  return cases;
}

Deno.test("depthwiseConv() equals ONNX Runtime over the shape matrix, dilated and strided", async (t) => {
  await checkConvMatrix(t, "depthwiseConv", depthwiseCases());
});

Deno.test("depthwiseConv() rejects a filter that is not [kh, kw, C, 1]", async () => {
  const gpu = await createGpuContext();
  try {
    await assert.rejects(
      depthwiseConv(
        { data: new Float32Array(2 * 2 * 4), shape: [1, 2, 2, 4] },
        { data: new Float32Array(3 * 3 * 4 * 2), shape: [3, 3, 4, 2] },
        new Float32Array(4),
        { context: gpu },
      ),
      (e: unknown) =>
        e instanceof InvalidInputError &&
        /filter has shape \[3,3,4,2\], expected \[\?,\?,4,1\]/.test(e.message),
    );
  } finally {
    gpu.destroy();
  }
});

Deno.test("depthwiseConv() rejects dilation 0 naming the option", async () => {
  const gpu = await createGpuContext();
  try {
    await assert.rejects(
      depthwiseConv(
        { data: new Float32Array(4), shape: [1, 2, 2, 1] },
        { data: new Float32Array(9), shape: [3, 3, 1, 1] },
        new Float32Array(1),
        { dilation: 0, context: gpu },
      ),
      (e: unknown) =>
        e instanceof InvalidInputError &&
        /dilation must be an integer in \[1, 64\], got 0/.test(e.message),
    );
  } finally {
    gpu.destroy();
  }
});
