import assert from "node:assert/strict";
import { createGpuContext } from "../runtime/gpu_context.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import { createFusedBlockKernel, type FusedBlockSpec } from "../kernels/fused_block.ts";
import { createDepthwiseConvKernel } from "../kernels/depthwise_conv.ts";
import { createPointwiseConvKernel } from "../kernels/pointwise_conv.ts";
import { runKernelOnce } from "../kernels/run_kernel.ts";
import { InvalidInputError } from "../errors.ts";
import { mulberry32, type Rng, runSeed, uniform } from "./support/random.ts";
import { activateFloat64, pointwiseFloat64 } from "./support/float64_ops.ts";
import { assertClose } from "./support/compare.ts";
import { KERNEL_TOLERANCE } from "./support/conv_case.ts";

/** Random weights of one block, scaled so most outputs land inside ReLU6's linear range. */
interface BlockData {
  readonly input: Float32Array<ArrayBuffer>;
  readonly dwFilter: Float32Array<ArrayBuffer>;
  readonly dwBias: Float32Array<ArrayBuffer>;
  readonly pwFilter: Float32Array<ArrayBuffer>;
  readonly pwBias: Float32Array<ArrayBuffer>;
}

function blockData(rng: Rng, s: FusedBlockSpec): BlockData {
  const scale = 2 / Math.sqrt(s.inChannels);
  return {
    input: uniform(rng, s.height * s.width * s.inChannels),
    dwFilter: uniform(rng, 9 * s.inChannels),
    dwBias: uniform(rng, s.inChannels, 0, 1),
    pwFilter: uniform(rng, s.inChannels * s.outChannels, -scale, scale),
    pwBias: uniform(rng, s.outChannels, 0, 2),
  };
}

/**
 * TF's depthwise 3x3 at stride 1 with SAME padding (1 zero row and column on each side), bias and
 * ReLU6, in float64.
 */
function depthwiseFloat64(d: BlockData, h: number, w: number, c: number): Float64Array {
  const out = new Float64Array(h * w * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            const [yy, xx] = [y + ky - 1, x + kx - 1];
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            sum += d.input[(yy * w + xx) * c + k] * d.dwFilter[(ky * 3 + kx) * c + k];
          }
        }
        out[(y * w + x) * c + k] = activateFloat64(sum + d.dwBias[k], "relu6");
      }
    }
  }
  return out;
}

async function runFused(gpu: GpuContext, s: FusedBlockSpec, d: BlockData): Promise<Float32Array> {
  const kernel = await createFusedBlockKernel(gpu, s, d.dwFilter, d.dwBias, d.pwFilter, d.pwBias);
  try {
    // runKernelOnce fills the output with NaN first: an unwritten element fails every comparison.
    return await runKernelOnce(gpu, kernel, d.input);
  } finally {
    kernel.dispose();
  }
}

/** The project's two kernels one after the other, default tiles. */
async function runTwoKernels(
  gpu: GpuContext,
  s: FusedBlockSpec,
  d: BlockData,
): Promise<Float32Array> {
  const shape = { height: s.height, width: s.width, activation: "relu6" as const };
  const dw = await createDepthwiseConvKernel(
    gpu,
    { ...shape, channels: s.inChannels },
    d.dwFilter,
    d.dwBias,
  );
  const pw = await createPointwiseConvKernel(
    gpu,
    { ...shape, inChannels: s.inChannels, outChannels: s.outChannels },
    d.pwFilter,
    d.pwBias,
  );
  try {
    return await runKernelOnce(gpu, pw, await runKernelOnce(gpu, dw, d.input));
  } finally {
    dw.dispose();
    pw.dispose();
  }
}

function assertSameBits(what: string, ours: Float32Array, expected: Float32Array) {
  assert.equal(ours.length, expected.length, `${what}: length`);
  const a = new Uint32Array(ours.buffer, ours.byteOffset, ours.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const first = a.findIndex((bits, i) => bits !== b[i]);
  assert.equal(
    first,
    -1,
    `${what}: element ${first} is ${ours[first]}, expected ${expected[first]}`,
  );
}

const name = (s: FusedBlockSpec) =>
  `${s.height}x${s.width}x${s.inChannels}→${s.outChannels}` +
  (s.tilePixels || s.tileSlots || s.chunkSlots || s.runPixels
    ? ` tiles ${s.tilePixels ?? "-"}/${s.tileSlots ?? "-"}/${s.chunkSlots ?? "-"}/${
      s.runPixels ?? "-"
    }`
    : "");

const SHAPES: FusedBlockSpec[] = [
  { height: 17, width: 17, inChannels: 384, outChannels: 384 }, // PoseNet 257, stride 16
  { height: 33, width: 33, inChannels: 384, outChannels: 384 }, // PoseNet 513, stride 16
  { height: 9, width: 9, inChannels: 96, outChannels: 128 },
  { height: 65, width: 65, inChannels: 48, outChannels: 96 },
  { height: 7, width: 5, inChannels: 24, outChannels: 40 }, // runs of 8 span three rows of 5
  { height: 3, width: 40, inChannels: 8, outChannels: 12 },
  { height: 2, width: 3, inChannels: 3, outChannels: 5 }, // padded channels on both sides
  { height: 1, width: 1, inChannels: 17, outChannels: 1 },
];

Deno.test("createFusedBlockKernel() gives the bits of depthwise then pointwise, and float64's values", async (t) => {
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("fused block"));
  let unclamped = 0;
  let outputs = 0;
  try {
    for (const s of SHAPES) {
      await t.step(name(s), async () => {
        const d = blockData(rng, s);
        const ours = await runFused(gpu, s, d);
        assertSameBits(`${name(s)} vs the two kernels`, ours, await runTwoKernels(gpu, s, d));
        const pixels = s.height * s.width;
        const mid = depthwiseFloat64(d, s.height, s.width, s.inChannels);
        const exact = pointwiseFloat64(
          mid,
          d.pwFilter,
          d.pwBias,
          pixels,
          s.inChannels,
          s.outChannels,
          "relu6",
        );
        const diff = assertClose(
          `${name(s)} vs float64`,
          ours,
          new Float32Array(exact),
          KERNEL_TOLERANCE,
        );
        // The data must exercise the arithmetic, not only ReLU6's clamps: checked per shape where
        // there are enough outputs for a share to mean something (1x1x17→1 has one, which a
        // random seed clamps about half the time), and over the whole matrix below.
        const linear = exact.filter((v) => v > 0 && v < 6).length;
        unclamped += linear;
        outputs += exact.length;
        if (exact.length >= 64) {
          assert.ok(linear > 0.3 * exact.length, `${name(s)}: only ${linear} outputs unclamped`);
        }
        console.log(`${name(s)}: max |ours − float64| ${diff.maxAbsError.toExponential(2)}`);
      });
    }
    assert.ok(unclamped > 0.3 * outputs, `only ${unclamped} of ${outputs} outputs unclamped`);
  } finally {
    gpu.destroy();
  }
});

Deno.test("createFusedBlockKernel() gives the same bits whatever its tiles", async (t) => {
  // Each output's sums run in the same order whatever the tiling, so every tiling must give the
  // default's floats: partial chunks, runs that do not divide the workgroup's pixels, idle lanes.
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("fused block tiles"));
  const shape = { height: 13, width: 11, inChannels: 40, outChannels: 72 };
  const tiles: Partial<FusedBlockSpec>[] = [
    { tilePixels: 8, tileSlots: 2, chunkSlots: 3, runPixels: 4 },
    { tilePixels: 12, tileSlots: 5, chunkSlots: 5 },
    { tilePixels: 4, tileSlots: 1, runPixels: 16 },
    { tilePixels: 1, tileSlots: 8, chunkSlots: 1, runPixels: 1 },
    { runPixels: 3 },
  ];
  try {
    const d = blockData(rng, shape);
    const expected = await runFused(gpu, shape, d);
    for (const tile of tiles) {
      const s = { ...shape, ...tile };
      await t.step(
        name(s),
        async () => assertSameBits(name(s), await runFused(gpu, s, d), expected),
      );
    }
  } finally {
    gpu.destroy();
  }
});

Deno.test("createFusedBlockKernel() names a bad weight length or tile", async () => {
  const gpu = await createGpuContext();
  const s = { height: 4, width: 4, inChannels: 8, outChannels: 8 };
  const f = (n: number) => new Float32Array(n);
  try {
    await assert.rejects(
      createFusedBlockKernel(gpu, s, f(9 * 8), f(8), f(8 * 7), f(8)),
      (e: Error) => e instanceof InvalidInputError && /pointwise filter/.test(e.message),
    );
    await assert.rejects(
      createFusedBlockKernel(
        gpu,
        { ...s, tilePixels: 32, tileSlots: 1, outChannels: 4 },
        f(72),
        f(8),
        f(32),
        f(4),
      ),
      (e: Error) => e instanceof InvalidInputError && /16 KiB/.test(e.message),
    );
    await assert.rejects(
      createFusedBlockKernel(
        gpu,
        { ...s, outChannels: 520, tileSlots: 1 },
        f(72),
        f(8),
        f(8 * 520),
        f(520),
      ),
      (e: Error) => e instanceof InvalidInputError && /64-invocation/.test(e.message),
    );
  } finally {
    gpu.destroy();
  }
});
