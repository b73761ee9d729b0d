import assert from "node:assert/strict";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { createDepthwiseConvKernel, depthwiseConv } from "../kernels/depthwise_conv.ts";
import { InvalidInputError } from "../errors.ts";
import type { Activation } from "../shaders/wgsl_common.ts";
import { KERNEL_VARIANTS } from "../kernels/kernel_variants.ts";
import { mulberry32, runSeed, uniform } from "./support/random.ts";
import {
  caseName,
  CHANNELS,
  checkConvMatrix,
  type ConvCase,
  DILATIONS,
  EVEN_SIZES,
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
    activation: Activation,
    bias = true,
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
      activation,
      bias,
    });
  const act = (n: number): Activation => (["relu6", "none", "relu"] as const)[n % 3];
  let n = 0;
  // Every size × stride × dilation; channels cycle through the matrix, and so do the activations.
  for (const size of [...SIZES, ...EVEN_SIZES]) {
    for (const stride of STRIDES) {
      for (const dilation of DILATIONS) {
        dw(size, size, CHANNELS[n % CHANNELS.length], stride, dilation, act(n));
        n++;
      }
    }
  }
  // Every channel count × stride × dilation at 33x33 (PoseNet's 513 / stride-16 grid).
  for (const channels of CHANNELS) {
    for (const stride of STRIDES) {
      for (const dilation of DILATIONS) dw(33, 33, channels, stride, dilation, act(++n));
    }
  }
  // Non-square inputs, and the largest layer PoseNet runs with dilation (384 channels at 65x65).
  dw(7, 33, 96, 1, 2, "relu6");
  dw(65, 2, 24, 2, 1, "none");
  dw(33, 7, 17, 1, 4, "relu6");
  dw(65, 65, 384, 1, 4, "relu6");
  dw(12, 48, 34, 2, 1, "relu");
  return cases;
}

/**
 * MoveNet's depthwise layers (channels read from movenet-lightning.json and movenet-thunder.json):
 * its stride-2 layers all run on even sizes, where TF's SAME pads 0 before and 1 after; then its
 * bias-less `DepthwiseConv2dNative` of the feature pyramid and heads, and the bias-less kernel on
 * odd shapes and with an activation.
 */
function moveNetCases(): ConvCase[] {
  const cases: ConvCase[] = [];
  const dw = (size: number, c: number, stride: number, act: Activation, bias: boolean) =>
    cases.push({
      kind: "depthwise",
      height: size,
      width: size,
      inChannels: c,
      outChannels: c,
      kernel: 3,
      stride,
      dilation: 1,
      activation: act,
      bias,
    });
  const lightning = [[96, 32, 1], [96, 96, 2], [48, 144, 1], [48, 144, 2], [24, 192, 1]];
  const lightningLow = [[24, 192, 2], [12, 384, 1], [12, 576, 1], [12, 576, 2], [6, 960, 1]];
  const thunder = [[128, 192, 2], [64, 240, 2], [32, 336, 2], [16, 1008, 2], [8, 1680, 1]];
  for (const [size, c, stride] of [...lightning, ...lightningLow, ...thunder]) {
    dw(size, c, stride, "relu6", true);
  }
  for (const [size, c] of [[12, 64], [24, 32], [48, 24], [16, 64], [32, 32], [64, 24]]) {
    dw(size, c, 1, "none", false);
  }
  cases.push({ ...cases.at(-1)!, height: 7, width: 5, inChannels: 17, outChannels: 17 });
  cases.push({ ...cases.at(-1)!, height: 12, width: 12, stride: 2, dilation: 2 });
  cases.push({ ...cases.at(-1)!, height: 33, width: 33, activation: "relu6", dilation: 4 });
  return cases;
}

Deno.test("depthwiseConv() equals ONNX Runtime over the shape matrix, dilated and strided", async (t) => {
  await checkConvMatrix(t, "depthwiseConv", depthwiseCases());
});

Deno.test("depthwiseConv() equals ONNX Runtime on MoveNet's layers, with and without bias", async (t) => {
  await checkConvMatrix(t, "depthwiseConv MoveNet", moveNetCases());
});

/**
 * One case of the matrix and MoveNet's layers per tile-edge signature: what a tiling's edges and
 * tails depend on (output rows mod 8 and columns mod 4, or the count where smaller than a tile;
 * stride; dilation; bias; whether the channels fill their last vec4). Channel counts and sizes
 * beyond that only change how many whole tiles run, and every case is still checked against ORT
 * above; this keeps the variant comparison (4 kernels compiled per case) to about half the cases.
 */
function tileEdgeCases(): ConvCase[] {
  const seen = new Set<string>();
  return [...depthwiseCases(), ...moveNetCases()].filter((c) => {
    const rows = Math.ceil(c.height / c.stride);
    const columns = Math.ceil(c.width / c.stride);
    const signature = [
      rows < 8 ? `r${rows}` : rows % 8,
      columns < 4 ? `c${columns}` : columns % 4,
      c.stride,
      c.dilation,
      c.bias !== false,
      c.inChannels % 4 === 0,
    ].join();
    if (seen.has(signature)) return false;
    seen.add(signature);
    return true;
  });
}

Deno.test("depthwiseConv() gives the bits of the one-output `simple` kernel with every variant", async (t) => {
  // Every variant sums each output's taps in (ky, kx) order from zero and adds the bias last, so
  // however the outputs are tiled (columns, rows) the results must be the same floats: this checks
  // the tiles' edges, interleaving and tails exactly, where the ORT comparison has a tolerance.
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("depthwise variants bitwise"));
  const variants = Object.keys(KERNEL_VARIANTS.depthwise).filter((v) => v !== "simple");
  try {
    for (const c of tileEdgeCases()) {
      await t.step(caseName(c), async () => {
        const input = {
          data: uniform(rng, c.height * c.width * c.inChannels),
          shape: [1, c.height, c.width, c.inChannels],
        };
        const filter = { data: uniform(rng, 9 * c.inChannels), shape: [3, 3, c.inChannels, 1] };
        const bias = c.bias === false ? null : uniform(rng, c.inChannels);
        const options = {
          stride: c.stride,
          dilation: c.dilation,
          activation: c.activation,
          context: gpu,
        };
        const simple = await depthwiseConv(input, filter, bias, { ...options, variant: "simple" });
        const expected = new Uint32Array(simple.data.buffer);
        for (const variant of variants) {
          const out = await depthwiseConv(input, filter, bias, { ...options, variant });
          const bits = new Uint32Array(out.data.buffer);
          const first = bits.findIndex((b, i) => b !== expected[i]);
          assert.equal(
            first,
            -1,
            `${variant}: element ${first} is ${out.data[first]}, simple ${simple.data[first]}`,
          );
        }
      });
    }
  } finally {
    gpu.destroy();
  }
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

Deno.test("createDepthwiseConvKernel() with a null bias has no bias buffer or binding", async () => {
  const gpu = await createGpuContext();
  try {
    const spec = { height: 12, width: 12, channels: 64, activation: "none" } as const;
    const filter = new Float32Array(9 * 64);
    const withBias = await createDepthwiseConvKernel(gpu, spec, filter, new Float32Array(64));
    const without = await createDepthwiseConvKernel(gpu, spec, filter, null);
    try {
      assert.match(withBias.wgsl, /@binding\(2\) var<storage, read> bias/);
      assert.doesNotMatch(without.wgsl, /@binding\(2\)|bias\[/);
      assert.equal(withBias.bytes - without.bytes, 4 * 64, "the bias is not read");
      assert.match(without.label, /no-bias$/);
    } finally {
      withBias.dispose();
      without.dispose();
    }
  } finally {
    gpu.destroy();
  }
});
