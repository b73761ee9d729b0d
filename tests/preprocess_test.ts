import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { createPreprocessKernel, runPreprocessOnce } from "../kernels/preprocess_kernel.ts";
import { inputPaddingFor } from "../decode/input_transform.ts";
import { readImageFile } from "../cli/read_image.ts";
import { assertClose } from "./support/compare.ts";
import { mulberry32, runSeed } from "./support/random.ts";

tf.env().set("IS_NODE", false);
await tf.setBackend("cpu");

/**
 * The reference: TF.js ops exactly as PoseNet 2.x's padAndResizeTo + MobileNet normalisation run
 * them (pad3d with zeros, resizeBilinear with alignCorners = halfPixelCenters = false, /127.5 − 1).
 */
function tfjsPreprocess(
  rgb: Uint8Array,
  width: number,
  height: number,
  pad: { top: number; bottom: number; left: number; right: number },
  outH: number,
  outW: number,
): Float32Array {
  return tf.tidy(() => {
    const image = tf.tensor3d(Int32Array.from(rgb), [height, width, 3], "int32");
    const padded = tf.pad3d(image, [[pad.top, pad.bottom], [pad.left, pad.right], [0, 0]]);
    const resized = tf.image.resizeBilinear(padded, [outH, outW], false, false);
    return tf.sub(tf.div(resized, 127.5), 1).dataSync() as Float32Array;
  });
}

function dropAlpha(rgba: Uint8Array): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let p = 0; p < rgba.length / 4; p++) rgb.set(rgba.subarray(p * 4, p * 4 + 3), p * 3);
  return rgb;
}

async function check(
  gpu: Awaited<ReturnType<typeof createGpuContext>>,
  data: Uint8Array,
  width: number,
  height: number,
  channels: 3 | 4,
  outH: number,
  outW: number,
): Promise<number> {
  const pad = inputPaddingFor(width, height, outW, outH);
  const kernel = await createPreprocessKernel(gpu, outH, outW);
  const bytes = new Uint8Array(Math.ceil(data.length / 4) * 4);
  bytes.set(data);
  const ours = await runPreprocessOnce(gpu, kernel, {
    bytes,
    imageWidth: width,
    imageHeight: height,
    channels,
    padTop: pad.top,
    padLeft: pad.left,
    paddedHeight: height + pad.top + pad.bottom,
    paddedWidth: width + pad.left + pad.right,
  });
  const rgb = channels === 4 ? dropAlpha(data) : data;
  const reference = tfjsPreprocess(rgb, width, height, pad, outH, outW);
  return assertClose(`${width}x${height}x${channels} → ${outW}x${outH}`, ours, reference, 1e-5)
    .maxAbsError;
}

Deno.test("preprocess kernel equals TF.js pad + resizeBilinear + normalise on random images", async (t) => {
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("preprocess"));
  let worst = 0;
  try {
    const cases: [number, number, 3 | 4, number, number][] = [
      [37, 23, 4, 257, 257], // wider than the input: pad top and bottom
      [23, 37, 3, 257, 257], // taller: pad left and right
      [64, 64, 4, 33, 33], // same aspect, downscale
      [1, 1, 3, 17, 17],
      [300, 17, 4, 129, 257], // non-square network input
      [640, 481, 4, 513, 513], // the 1 px rounding case of the padding
      [97, 203, 3, 353, 257],
    ];
    for (const [w, h, c, outH, outW] of cases) {
      await t.step(`${w}x${h}x${c} → ${outW}x${outH}`, async () => {
        const data = new Uint8Array(w * h * c);
        for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng() * 256);
        worst = Math.max(worst, await check(gpu, data, w, h, c, outH, outW));
      });
    }
  } finally {
    console.log(`preprocess: worst max|ours − TF.js| = ${worst.toExponential(2)}`);
    gpu.destroy();
  }
});

Deno.test("preprocess kernel equals TF.js on a real photo at 513", async () => {
  const gpu = await createGpuContext();
  try {
    const photo = await readImageFile("tests/fixtures/photos/group4_standing.jpg");
    const err = await check(gpu, photo.data, photo.width, photo.height, 4, 513, 513);
    assert.ok(err < 1e-5);
  } finally {
    gpu.destroy();
  }
});
