import { createGpuContext } from "../runtime/gpu_context.ts";
import { KERNEL_VARIANTS } from "../kernels/kernel_variants.ts";
import { caseName, checkConvCase, type ConvCase, WorstError } from "./support/conv_case.ts";
import { mulberry32, runSeed } from "./support/random.ts";

// Each variant over a slice of the kernel matrix: odd and even sizes, every stride and dilation,
// channel counts that do and do not fill a tile, every activation, both residual epilogues and the
// depthwise conv without bias.
const cases: ConvCase[] = [
  {
    kind: "pointwise",
    height: 7,
    width: 7,
    inChannels: 17,
    outChannels: 34,
    kernel: 1,
    stride: 1,
    dilation: 1,
    activation: "relu6",
  },
  {
    kind: "pointwise",
    height: 33,
    width: 33,
    inChannels: 384,
    outChannels: 384,
    kernel: 1,
    stride: 1,
    dilation: 1,
    activation: "relu6",
  },
  {
    kind: "pointwise",
    height: 2,
    width: 65,
    inChannels: 96,
    outChannels: 3,
    kernel: 1,
    stride: 1,
    dilation: 1,
    activation: "none",
  },
  {
    kind: "pointwise",
    height: 17,
    width: 17,
    inChannels: 384,
    outChannels: 120,
    kernel: 1,
    stride: 1,
    dilation: 1,
    activation: "none",
  },
  // MoveNet's epilogues on every pointwise variant: an inverted-residual add and a feature-pyramid
  // step (lateral conv + the coarser level upsampled 2x), with channel counts that leave padding.
  {
    kind: "pointwise",
    height: 12,
    width: 12,
    inChannels: 384,
    outChannels: 64,
    kernel: 1,
    stride: 1,
    dilation: 1,
    activation: "none",
    residual: "identity",
  },
  {
    kind: "pointwise",
    height: 10,
    width: 6,
    inChannels: 34,
    outChannels: 17,
    kernel: 1,
    stride: 1,
    dilation: 1,
    activation: "relu",
    residual: "bilinear2x",
  },
  {
    kind: "depthwise",
    height: 33,
    width: 33,
    inChannels: 96,
    outChannels: 96,
    kernel: 3,
    stride: 1,
    dilation: 2,
    activation: "relu6",
  },
  {
    kind: "depthwise",
    height: 65,
    width: 65,
    inChannels: 24,
    outChannels: 24,
    kernel: 3,
    stride: 2,
    dilation: 1,
    activation: "relu6",
  },
  {
    kind: "depthwise",
    height: 7,
    width: 2,
    inChannels: 17,
    outChannels: 17,
    kernel: 3,
    stride: 1,
    dilation: 4,
    activation: "none",
  },
  {
    kind: "depthwise",
    height: 129,
    width: 129,
    inChannels: 32,
    outChannels: 32,
    kernel: 3,
    stride: 2,
    dilation: 2,
    activation: "none",
  },
  {
    kind: "depthwise",
    height: 48,
    width: 48,
    inChannels: 24,
    outChannels: 24,
    kernel: 3,
    stride: 1,
    dilation: 1,
    activation: "none",
    bias: false,
  },
  {
    kind: "depthwise",
    height: 12,
    width: 12,
    inChannels: 144,
    outChannels: 144,
    kernel: 3,
    stride: 2,
    dilation: 1,
    activation: "relu",
  },
  {
    kind: "conv2d",
    height: 129,
    width: 129,
    inChannels: 3,
    outChannels: 24,
    kernel: 3,
    stride: 2,
    dilation: 1,
    activation: "relu6",
  },
  {
    kind: "conv2d",
    height: 48,
    width: 48,
    inChannels: 3,
    outChannels: 32,
    kernel: 3,
    stride: 2,
    dilation: 1,
    activation: "relu",
  },
  {
    kind: "conv2d",
    height: 33,
    width: 7,
    inChannels: 34,
    outChannels: 17,
    kernel: 3,
    stride: 1,
    dilation: 2,
    activation: "none",
  },
  {
    kind: "conv2d",
    height: 2,
    width: 2,
    inChannels: 24,
    outChannels: 384,
    kernel: 3,
    stride: 2,
    dilation: 4,
    activation: "relu6",
  },
];

Deno.test("every kernel variant equals ONNX Runtime", async (t) => {
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("kernel variants"));
  try {
    for (const kind of ["pointwise", "depthwise", "conv2d"] as const) {
      for (const variant of Object.keys(KERNEL_VARIANTS[kind])) {
        const worst = new WorstError();
        for (const c of cases.filter((c) => c.kind === kind)) {
          const name = `${kind}=${variant} ${caseName(c)}`;
          await t.step(
            name,
            async () => worst.add(name, await checkConvCase(gpu, rng, c, variant)),
          );
        }
        console.log(worst.summary(`${kind}=${variant}`));
      }
    }
  } finally {
    gpu.destroy();
  }
});
