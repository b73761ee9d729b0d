import assert from "node:assert/strict";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { conv2d } from "../kernels/conv2d.ts";
import { InvalidInputError } from "../errors.ts";
import type { Activation } from "../shaders/wgsl_common.ts";
import {
  CHANNELS,
  checkConvMatrix,
  type ConvCase,
  DILATIONS,
  EVEN_SIZES,
  SIZES,
  STRIDES,
} from "./support/conv_case.ts";

function conv2dCases(): ConvCase[] {
  const cases: ConvCase[] = [];
  const conv = (
    height: number,
    width: number,
    inChannels: number,
    outChannels: number,
    kernel: number,
    stride: number,
    dilation: number,
    activation: Activation,
  ) =>
    cases.push({
      kind: "conv2d",
      height,
      width,
      inChannels,
      outChannels,
      kernel,
      stride,
      dilation,
      activation,
    });
  const act = (n: number): Activation => (["relu6", "none", "relu"] as const)[n % 3];
  let n = 0;
  // MobileNet's first layer (3x3, 3→24) at every size × stride × dilation, odd and even sizes.
  for (const size of [...SIZES, ...EVEN_SIZES]) {
    for (const stride of STRIDES) {
      for (const dilation of DILATIONS) {
        conv(size, size, 3, 24, 3, stride, dilation, act(n++));
      }
    }
  }
  // Every input channel count, each with two output counts, at 7x7; stride and dilation cycle.
  CHANNELS.forEach((cin, i) => {
    for (const cout of [CHANNELS[(i + 2) % CHANNELS.length], CHANNELS[(i + 5) % CHANNELS.length]]) {
      conv(7, 7, cin, cout, 3, STRIDES[n % 2], DILATIONS[n % 3], act(n++));
    }
  });
  // Larger grids with wider layers, other kernel sizes, non-square inputs.
  conv(33, 33, 32, 96, 3, 1, 2, "relu6");
  conv(65, 65, 24, 17, 3, 2, 1, "none");
  conv(33, 33, 17, 34, 1, 1, 1, "none");
  conv(33, 33, 3, 24, 5, 2, 1, "relu6");
  conv(7, 33, 3, 24, 3, 2, 1, "relu6");
  conv(129, 65, 3, 24, 3, 2, 1, "relu6");
  conv(12, 48, 17, 34, 3, 2, 1, "relu");
  // MoveNet's first layer: Lightning 192x192 3→32, Thunder 256x256 3→56, stride 2 on even sizes.
  conv(192, 192, 3, 32, 3, 2, 1, "relu6");
  conv(256, 256, 3, 56, 3, 2, 1, "relu6");
  return cases;
}

Deno.test("conv2d() equals ONNX Runtime over the shape matrix", async (t) => {
  await checkConvMatrix(t, "conv2d", conv2dCases());
});

Deno.test("conv2d() rejects an input whose data length does not match its shape", async () => {
  const gpu = await createGpuContext();
  try {
    await assert.rejects(
      conv2d(
        { data: new Float32Array(10), shape: [1, 2, 2, 3] },
        { data: new Float32Array(3 * 3 * 3 * 4), shape: [3, 3, 3, 4] },
        new Float32Array(4),
        { context: gpu },
      ),
      (e: unknown) =>
        e instanceof InvalidInputError &&
        /input has 10 values but its shape \[1,2,2,3\] needs 12/.test(e.message),
    );
  } finally {
    gpu.destroy();
  }
});
