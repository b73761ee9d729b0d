import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import {
  createCropResizeKernel,
  type CropResizeKernel,
  runCropResizeUniformsOnce,
} from "../kernels/crop_resize_kernel.ts";
import { multiPoseInputSize, resizePadUniforms } from "../kernels/multipose_input.ts";
import { checkPoseImage } from "../runtime/pose_image.ts";
import { readImageFile } from "../cli/read_image.ts";
import { InvalidInputError } from "../errors.ts";
import { mulberry32, type Rng, runSeed } from "./support/random.ts";

tf.env().set("IS_NODE", false);
await tf.setBackend("cpu");

/**
 * The reference: pose-detection 2.1.3's `estimateMultiplePoses` preprocessing on tfjs-backend-cpu
 * (its own lines: `resizeBilinear`, `pad`, `cast`), the image mirrored with `tf.reverse` first when
 * asked.
 */
function tfjsInput(
  data: Uint8Array,
  width: number,
  height: number,
  channels: 3 | 4,
  maxDimension: number,
  flip: boolean,
): { ints: Int32Array; paddedHeight: number; paddedWidth: number } {
  let resizedWidth, resizedHeight, paddedWidth, paddedHeight;
  return tf.tidy(() => {
    let image: tf.Tensor3D = tf.tensor3d(Int32Array.from(data), [height, width, channels], "int32");
    if (channels === 4) image = tf.slice(image, [0, 0, 0], [-1, -1, 3]);
    if (flip) image = tf.reverse(image, 1);
    const image4d = tf.expandDims(image, 0) as tf.Tensor4D;
    let padded;
    if (width > height) {
      resizedWidth = maxDimension;
      resizedHeight = Math.round(maxDimension * height / width);
      const resized = tf.image.resizeBilinear(image4d, [resizedHeight, resizedWidth]);
      paddedWidth = resizedWidth;
      paddedHeight = Math.ceil(resizedHeight / 32) * 32;
      padded = tf.pad(resized, [[0, 0], [0, paddedHeight - resizedHeight], [0, 0], [0, 0]]);
    } else {
      resizedWidth = Math.round(maxDimension * width / height);
      resizedHeight = maxDimension;
      const resized = tf.image.resizeBilinear(image4d, [resizedHeight, resizedWidth]);
      paddedWidth = Math.ceil(resizedWidth / 32) * 32;
      paddedHeight = resizedHeight;
      padded = tf.pad(resized, [[0, 0], [0, 0], [0, paddedWidth - resizedWidth], [0, 0]]);
    }
    const ints = Int32Array.from(tf.cast(padded, "int32").dataSync());
    return { ints, paddedHeight, paddedWidth };
  });
}

interface Tally {
  compared: number;
  different: number;
  cases: string[];
}

/** Our resize and pad (the crop kernel, no normalisation: the int values) against tfjs's. */
async function check(
  gpu: GpuContext,
  kernels: Map<string, CropResizeKernel>,
  image: { data: Uint8Array; width: number; height: number },
  maxDimension: number,
  flip: boolean,
  tally: Tally,
): Promise<void> {
  const checked = checkPoseImage(image, gpu.maxStorageBufferBindingSize);
  const size = multiPoseInputSize(checked.width, checked.height, maxDimension);
  const key = `${size.paddedHeight}x${size.paddedWidth}`;
  let kernel = kernels.get(key);
  if (!kernel) {
    kernel = await createCropResizeKernel(gpu, {
      size: size.paddedHeight,
      width: size.paddedWidth,
    });
    kernels.set(key, kernel);
  }
  const uniforms = resizePadUniforms({
    imageWidth: checked.width,
    imageHeight: checked.height,
    channels: checked.channels,
    flipHorizontal: flip,
  }, size);
  const ours = await runCropResizeUniformsOnce(gpu, kernel, checked.bytes, uniforms);
  const ref = tfjsInput(
    image.data,
    image.width,
    image.height,
    checked.channels,
    maxDimension,
    flip,
  );
  assert.equal(ref.paddedHeight, size.paddedHeight);
  assert.equal(ref.paddedWidth, size.paddedWidth);
  assert.equal(ours.length, ref.ints.length);
  let count = 0;
  for (let i = 0; i < ours.length; i++) {
    if (ours[i] !== ref.ints[i]) {
      if (count++ >= 20) continue; // the first 20 are named
      const pixel = Math.floor(i / 3);
      tally.cases.push(
        `${image.width}x${image.height} → ${key}${flip ? " mirrored" : ""}: row ` +
          `${Math.floor(pixel / size.paddedWidth)}, column ${pixel % size.paddedWidth}, channel ` +
          `${i % 3}: ours ${ours[i]}, tfjs ${ref.ints[i]}`,
      );
    }
  }
  tally.compared += ours.length;
  tally.different += count;
  assert.equal(count, 0, `${count} int values differ from tfjs:\n${tally.cases.join("\n")}`);
}

function randomImage(rng: Rng, width: number, height: number, channels: 3 | 4): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng() * 256);
  return data;
}

Deno.test("MultiPose's resize and pad equal tfjs resizeBilinear + pad + int32 cast on random images", async (t) => {
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("multipose input"));
  const kernels = new Map<string, CropResizeKernel>();
  const tally: Tally = { compared: 0, different: 0, cases: [] };
  try {
    const images: [number, number, 3 | 4, number][] = [
      [37, 23, 4, 256], // landscape, upscaled
      [23, 37, 3, 256], // portrait
      [64, 64, 4, 256], // square: the else branch
      [999, 333, 4, 256], // wide, odd
      [481, 641, 3, 256], // tall, odd
      [640, 427, 4, 256], // a photo's shape
      [300, 17, 3, 256], // very wide: 15 rows padded to 32
      [255, 256, 4, 320], // another maxDimension
      [1000, 701, 3, 96],
      [1, 1, 4, 32],
    ];
    for (const [w, h, channels, max] of images) {
      const data = randomImage(rng, w, h, channels);
      for (const flip of [false, true]) {
        await t.step(
          `${w}x${h}x${channels} → ${max}${flip ? " mirrored" : ""}`,
          () => check(gpu, kernels, { data, width: w, height: h }, max, flip, tally),
        );
      }
    }
  } finally {
    console.log(
      `multipose input, random images: ${tally.different} of ${tally.compared} int values ` +
        `differ from tfjs${tally.cases.length ? `:\n${tally.cases.join("\n")}` : ""}`,
    );
    for (const k of kernels.values()) k.dispose();
    gpu.destroy();
  }
});

Deno.test("MultiPose's resize and pad equal tfjs on the photos", async (t) => {
  const gpu = await createGpuContext();
  const kernels = new Map<string, CropResizeKernel>();
  const tally: Tally = { compared: 0, different: 0, cases: [] };
  try {
    for (const photo of ["group3_couch.jpg", "group4_standing.jpg", "single_portrait.jpg"]) {
      const img = await readImageFile(`tests/fixtures/photos/${photo}`);
      await t.step(photo, () => check(gpu, kernels, img, 256, false, tally));
    }
  } finally {
    console.log(`multipose input, photos: ${tally.different} of ${tally.compared} differ`);
    for (const k of kernels.values()) k.dispose();
    gpu.destroy();
  }
});

Deno.test("`multiPoseInputSize()` and `resizePadUniforms()` reject what cannot be resized", () => {
  assert.throws(
    () => multiPoseInputSize(1000, 1, 256),
    (e: unknown) =>
      e instanceof InvalidInputError && /resized to .*256x0; the shorter side/.test(e.message),
  );
  const size = multiPoseInputSize(10, 10, 32);
  assert.throws(
    () => resizePadUniforms({ imageWidth: 0, imageHeight: 10, channels: 3 }, size),
    (e: unknown) =>
      e instanceof InvalidInputError && /imageWidth must be an integer/.test(e.message),
  );
  assert.throws(
    () => resizePadUniforms({ imageWidth: 10, imageHeight: 10, channels: 2 as 3 }, size),
    (e: unknown) => e instanceof InvalidInputError && /channels must be 3 or 4/.test(e.message),
  );
});
