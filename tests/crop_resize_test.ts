import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import {
  createCropResizeKernel,
  type CropBox,
  type CropResizeKernel,
  cropResizeUniforms,
  runCropResizeOnce,
} from "../kernels/crop_resize_kernel.ts";
import { cropBox, initCropRegion } from "../decode/movenet_crop.ts";
import { readImageFile } from "../cli/read_image.ts";
import { InvalidInputError } from "../errors.ts";
import { loadTfjsMovenet, MOVENET_NODES } from "./support/movenet_graph.ts";
import { mulberry32, type Rng, runSeed } from "./support/random.ts";
import { findCropNearTies } from "./support/crop_near_ties.ts";

tf.env().set("IS_NODE", false);
await tf.setBackend("cpu");

const PHOTOS = "tests/fixtures/photos";

/** An image's RGB channels as an int32 tensor `[1, H, W, 3]`, as pose-detection's input. */
function rgbTensor(data: Uint8Array, width: number, height: number, channels: 3 | 4): tf.Tensor4D {
  return tf.tidy(() => {
    let image: tf.Tensor3D = tf.tensor3d(Int32Array.from(data), [height, width, channels], "int32");
    if (channels === 4) image = tf.slice(image, [0, 0, 0], [-1, -1, 3]);
    return tf.expandDims(image, 0) as tf.Tensor4D;
  });
}

/**
 * The reference: pose-detection's preprocessing on tfjs-backend-cpu, `tf.cast(tf.image.
 * cropAndResize(image, [box], [0], [S, S], "bilinear", 0), "int32")` (the image mirrored first
 * with `tf.reverse` when asked).
 */
function tfjsCrop(image: tf.Tensor4D, box: CropBox, size: number, flip: boolean): Int32Array {
  return tf.tidy(() => {
    const source = flip ? tf.reverse(image, 2) : image;
    const crop = tf.image.cropAndResize(
      source,
      [Array.from(box)],
      [0],
      [size, size],
      "bilinear",
      0,
    );
    return Int32Array.from(tf.cast(crop, "int32").dataSync());
  });
}

/** Counts the int values of our crop that differ from the reference (and the largest difference). */
function countDifferences(ours: Float32Array, reference: Int32Array): [number, number] {
  assert.equal(ours.length, reference.length);
  let count = 0;
  let largest = 0;
  for (let i = 0; i < ours.length; i++) {
    const d = Math.abs(ours[i] - reference[i]);
    if (!(d === 0)) {
      count++;
      largest = Math.max(largest, Number.isNaN(d) ? Infinity : d);
    }
  }
  return [count, largest];
}

/** Totals over a test: int values compared and values that differ. */
interface Tally {
  compared: number;
  different: number;
}

/** Runs our crop and the reference on one image and box, and asserts every int is equal. */
async function checkCrop(
  gpu: GpuContext,
  kernel: CropResizeKernel,
  image: { data: Uint8Array; width: number; height: number },
  tensor: tf.Tensor4D,
  crop: { box: CropBox; flip: boolean },
  tally: Tally,
): Promise<void> {
  const ours = await runCropResizeOnce(gpu, kernel, image, {
    box: crop.box,
    flipHorizontal: crop.flip,
  });
  const reference = tfjsCrop(tensor, crop.box, kernel.size, crop.flip);
  const [count, largest] = countDifferences(ours, reference);
  tally.compared += reference.length;
  tally.different += count;
  assert.equal(count, 0, `${count} int values differ from tfjs (largest by ${largest})`);
}

function randomImage(rng: Rng, width: number, height: number, channels: 3 | 4): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng() * 256);
  return data;
}

/** A W×H image with its columns reversed (`tf.reverse(image, 1)`). */
function mirrored(data: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * width + x) * channels;
      out.set(data.subarray(from, from + channels), (y * width + width - 1 - x) * channels);
    }
  }
  return out;
}

/** The kernels of the sides used here, built once per device. */
async function kernels(gpu: GpuContext, sizes: number[]): Promise<Map<number, CropResizeKernel>> {
  const map = new Map<number, CropResizeKernel>();
  for (const size of sizes) map.set(size, await createCropResizeKernel(gpu, { size }));
  return map;
}

/** Random images of these sizes, each cropped with the boxes MoveNet makes and with odd ones. */
const RANDOM_IMAGES: [number, number, 3 | 4][] = [
  [37, 23, 4], // landscape
  [23, 37, 3], // portrait
  [64, 64, 4], // square
  [1, 1, 4], // one pixel
  [2, 3, 3],
  [999, 333, 4], // wide, odd
  [481, 641, 3], // tall, odd, larger than the crop
  [192, 1, 4], // one row
];

/** Crops random images of `images`' sizes with many boxes and sides; every int must be tfjs's. */
async function checkRandomImages(
  t: Deno.TestContext,
  label: string,
  images: [number, number, 3 | 4][],
  options: { emulateEverywhere?: boolean },
): Promise<void> {
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed(label));
  const byside = new Map<number, CropResizeKernel>();
  for (const size of [192, 256, 5, 1]) {
    byside.set(size, await createCropResizeKernel(gpu, { size, ...options }));
  }
  const tally: Tally = { compared: 0, different: 0 };
  try {
    for (const [w, h, channels] of images) {
      const data = randomImage(rng, w, h, channels);
      const image = rgbTensor(data, w, h, channels);
      const r = () => Math.fround(rng() * 1.6 - 0.3);
      const boxes: [string, CropBox, number[]][] = [
        ["first-frame square", cropBox(initCropRegion(w, h)), [192, 256, 1]],
        ["padded square", cropBox(initCropRegion(w, h, false)), [256, 5]],
        ["random", [r(), r(), r(), r()], [192, 5]],
        ["inverted", [0.9, 0.8, 0.1, 0.2], [192, 1]],
        ["outside", [1.2, -0.5, 1.7, -0.1], [5]],
      ];
      for (const [name, box, sizes] of boxes) {
        for (const size of sizes) {
          const flip = rng() < 0.5;
          await t.step(
            `${w}x${h}x${channels} ${name} → ${size}${flip ? " mirrored" : ""}`,
            () =>
              checkCrop(gpu, byside.get(size)!, { data, width: w, height: h }, image, {
                box,
                flip,
              }, tally),
          );
        }
      }
      image.dispose();
    }
  } finally {
    console.log(`${label}: ${tally.different} of ${tally.compared} int values differ from tfjs`);
    for (const k of byside.values()) k.dispose();
    gpu.destroy();
  }
}

Deno.test("`createCropResizeKernel()` equals tfjs cropAndResize + int32 cast on random images", (t) =>
  checkRandomImages(t, "crop resize, random images", RANDOM_IMAGES, {}));

Deno.test("`createCropResizeKernel()` with the float64 replay everywhere equals tfjs too", (t) =>
  checkRandomImages(
    t,
    "crop resize, float64 replay everywhere",
    RANDOM_IMAGES.filter(([w, h]) => w * h < 100_000),
    { emulateEverywhere: true },
  ));

Deno.test("`createCropResizeKernel()` equals tfjs at constructed float32-midpoint near-ties", async () => {
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("crop near-ties"));
  const sizes = [4, 6, 7, 8, 192, 256];
  const byside = await kernels(gpu, sizes);
  const tally: Tally = { compared: 0, different: 0 };
  try {
    const cases = sizes.flatMap((size) => findCropNearTies(rng, [size], 4));
    assert.equal(cases.length, 4 * sizes.length, "the search found too few near-ties");
    const f64Ties = cases.filter((c) => c.exact !== c.tfjs).length;
    const lerpTies = cases.filter((c) => c.truncated42 !== c.tfjs).length;
    console.log(
      `crop near-ties: ${cases.length} cases; tfjs's f64 int differs from the exact blend's in ` +
        `${f64Ties}, from the 42-bit lerps' in ${lerpTies}`,
    );
    for (const c of cases) {
      const flip = rng() < 0.5;
      // Our kernel mirrors the image itself when flipping, as tfjs's reverse does.
      const data = flip ? mirrored(c.data, 2, 2, c.channels) : c.data;
      const image = rgbTensor(data, 2, 2, c.channels);
      const reference = tfjsCrop(image, c.box, c.size, flip);
      image.dispose();
      // The construction's own float64 arithmetic is tfjs's: the case is what it claims to be.
      assert.equal(reference[3 * c.column + c.channel], c.tfjs);
      const ours = await runCropResizeOnce(gpu, byside.get(c.size)!, {
        data,
        width: 2,
        height: 2,
      }, { box: c.box, flipHorizontal: flip });
      const [count, largest] = countDifferences(ours, reference);
      tally.compared += reference.length;
      tally.different += count;
      assert.equal(
        count,
        0,
        `${count} int values differ from tfjs (largest by ${largest}) on ${JSON.stringify(c)}`,
      );
    }
  } finally {
    console.log(
      `crop resize, near-ties: ${tally.different} of ${tally.compared} int values differ from tfjs`,
    );
    for (const k of byside.values()) k.dispose();
    gpu.destroy();
  }
});

Deno.test("`createCropResizeKernel()` equals tfjs on the photos, plain and mirrored", async (t) => {
  const gpu = await createGpuContext();
  const byside = await kernels(gpu, [192, 256]);
  const tally: Tally = { compared: 0, different: 0 };
  try {
    const photos = [...Deno.readDirSync(PHOTOS)].map((e) => e.name).filter((n) =>
      /\.(jpg|png)$/.test(n)
    ).sort();
    for (const photo of photos) {
      const img = await readImageFile(`${PHOTOS}/${photo}`);
      const image = rgbTensor(img.data, img.width, img.height, 4);
      const box = cropBox(initCropRegion(img.width, img.height));
      for (const size of [192, 256]) {
        for (const flip of [false, true]) {
          await t.step(
            `${photo} (${img.width}x${img.height}) → ${size}${flip ? " mirrored" : ""}`,
            () => checkCrop(gpu, byside.get(size)!, img, image, { box, flip }, tally),
          );
        }
      }
      image.dispose();
    }
  } finally {
    console.log(
      `crop resize, photos: ${tally.different} of ${tally.compared} int values differ from tfjs`,
    );
    for (const k of byside.values()) k.dispose();
    gpu.destroy();
  }
});

Deno.test("`createCropResizeKernel()` writes the graph's own normalised input, bit for bit", async () => {
  const gpu = await createGpuContext();
  const net = await loadTfjsMovenet("movenet-lightning");
  const mean = net.constant(MOVENET_NODES.inputMean);
  const scale = net.constant(MOVENET_NODES.inputScale);
  const normalization = {
    mean: [mean[0], mean[1], mean[2]] as const,
    scale: [scale[0], scale[1], scale[2]] as const,
    offset: net.constant(MOVENET_NODES.inputOffset)[0],
  };
  const kernel = await createCropResizeKernel(gpu, { size: net.inputSize, normalization });
  try {
    const img = await readImageFile(`${PHOTOS}/group5_stairs.jpg`);
    const box = cropBox(initCropRegion(img.width, img.height));
    const ours = await runCropResizeOnce(gpu, kernel, img, { box });
    const image = rgbTensor(img.data, img.width, img.height, 4);
    const ints = tfjsCrop(image, box, net.inputSize, false);
    image.dispose();
    const s = net.inputSize;
    const input = tf.tensor4d(ints, [1, s, s, 3], "int32");
    const normalised = net.graph.execute(input, "StatefulPartitionedCall/sub_1") as tf.Tensor;
    const reference = Float32Array.from(normalised.dataSync());
    tf.dispose([input, normalised]);
    assert.equal(ours.length, reference.length);
    let different = 0;
    for (let i = 0; i < ours.length; i++) if (!Object.is(ours[i], reference[i])) different++;
    assert.equal(different, 0, `${different} normalised values differ from the graph's`);
  } finally {
    kernel.dispose();
    net.graph.dispose();
    gpu.destroy();
  }
});

Deno.test("`createCropResizeKernel()` rejects bad sides, normalisations, boxes and images", async () => {
  const gpu = await createGpuContext();
  try {
    const isInvalid = (message: RegExp) => (e: unknown) =>
      e instanceof InvalidInputError && message.test(e.message);
    await assert.rejects(
      createCropResizeKernel(gpu, { size: 0 }),
      isInvalid(/crop side must be an integer in 1\.\.1024, got 0/),
    );
    await assert.rejects(
      createCropResizeKernel(gpu, {
        size: 4,
        normalization: { mean: [0, 0, NaN], scale: [1, 1, 1], offset: 0 },
      }),
      isInvalid(/normalisation needs 3 finite means/),
    );
    const kernel = await createCropResizeKernel(gpu, { size: 4 });
    try {
      const image = { data: new Uint8Array(6 * 4 * 4), width: 6, height: 4 };
      await assert.rejects(
        runCropResizeOnce(gpu, kernel, image, { box: [0, 0, NaN, 1] }),
        isInvalid(/box values must be finite/),
      );
      await assert.rejects(
        runCropResizeOnce(gpu, kernel, { ...image, width: 5 }, { box: [0, 0, 1, 1] }),
        isInvalid(/image data has 96 bytes, but a 5x4 image needs 80/),
      );
      assert.throws(
        () =>
          cropResizeUniforms({
            imageWidth: 4,
            imageHeight: 4,
            channels: 2 as 3,
            box: [0, 0, 1, 1],
          }, 4),
        isInvalid(/channels must be 3 or 4, got 2/),
      );
    } finally {
      kernel.dispose();
    }
  } finally {
    gpu.destroy();
  }
});
