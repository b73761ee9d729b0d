/**
 * Host side of the crop-resize shader (`shaders/crop_resize.ts`): pose-detection's MoveNet
 * preprocessing, `cropAndResize` of one float32 box to S × S, the int32 cast, and the graph's
 * normalisation, from RGB(A) bytes to the model's NHWC4 input.
 *
 * The sampling coordinates are computed here, per image, in float64 with tfjs-backend-cpu 4.22's
 * own expressions (`CropAndResize.js`): S rows and S columns, each a (low, high, lerp) or "outside
 * the image". Doing them on the host makes the floor/ceil choices and the out-of-image tests TF's
 * bit for bit (at the last row, `y1·(H−1) + (S−1)·scale` can land one f64 ULP above H−1, and TF
 * then writes zeros). Each lerp goes up twice: as 42-bit fixed point for the shader's exact integer
 * blend, and as its float64 words for the replay of tfjs's float64 blend where that decides.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import {
  CROP_NORMALIZATION_BYTES,
  CROP_OUTSIDE,
  CROP_WEIGHT_BITS,
  cropNearReplayShader,
  cropResizeShader,
  cropResizeUniformBytes,
  sampleTableWords,
} from "../shaders/crop_resize.ts";
import { checkPoseImage, type PoseImage } from "../runtime/pose_image.ts";
import { workgroupGrid } from "./compute_kernel.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import { unpackChannels } from "../runtime/layout.ts";
import { dispatchAndRead } from "./run_kernel.ts";

/** A crop box as `cropAndResize` takes it: `[yMin, xMin, yMax, xMax]`, fractions of the image. */
export type CropBox = readonly [yMin: number, xMin: number, yMax: number, xMax: number];

/** What the crop shader's uniforms are computed from, per image: its size and the crop. */
export interface CropUniformValues {
  /** Image columns. */
  readonly imageWidth: number;
  /** Image rows. */
  readonly imageHeight: number;
  /** Bytes per pixel, 3 (RGB) or 4 (RGBA). */
  readonly channels: 3 | 4;
  /** The box; each value is rounded to float32, as `tf.tensor2d` stores it. */
  readonly box: CropBox;
  /** Crop the mirrored image (`tf.reverse(image, 1)`) instead. */
  readonly flipHorizontal?: boolean;
}

/** The graph's input normalisation, `(x − mean) · scale − offset`, each op rounded to float32. */
export interface CropNormalization {
  /** Per channel, the graph's first `Sub` constant. */
  readonly mean: readonly [number, number, number];
  /** Per channel, the `Mul` constant. */
  readonly scale: readonly [number, number, number];
  /** The second `Sub`'s scalar. */
  readonly offset: number;
}

/** One output row's or column's source: two pixel indices and the float64 lerp, or outside. */
export interface AxisSample {
  readonly low: number;
  readonly high: number;
  readonly lerp: number;
}

/**
 * The S source samples along one axis, as tfjs-backend-cpu's `cropAndResize` computes them (the
 * same f64 expressions, so the same roundings).
 */
function axisSamples(
  lo: number,
  hi: number,
  imageSize: number,
  cropSize: number,
  flip: boolean,
): (AxisSample | undefined)[] {
  const scale = cropSize > 1 ? (hi - lo) * (imageSize - 1) / (cropSize - 1) : 0;
  const samples: (AxisSample | undefined)[] = [];
  for (let i = 0; i < cropSize; i++) {
    const at = cropSize > 1 ? lo * (imageSize - 1) + i * scale : 0.5 * (lo + hi) * (imageSize - 1);
    if (at < 0 || at > imageSize - 1) {
      samples.push(undefined);
      continue;
    }
    const low = Math.floor(at);
    const high = Math.ceil(at);
    const lerp = at - low;
    samples.push(
      flip ? { low: imageSize - 1 - low, high: imageSize - 1 - high, lerp } : { low, high, lerp },
    );
  }
  return samples;
}

/**
 * Packs one image's sampling table into the shader's uniform block.
 *
 * @param values Image size, bytes per pixel, box and flip.
 * @param size The crop side S.
 * @returns The uniform bytes ({@linkcode cropResizeUniformBytes}).
 * @throws {InvalidInputError} On a bad image size or a non-finite box value.
 *
 * @example
 * ```ts
 * import { cropResizeUniforms } from "./crop_resize_kernel.ts";
 * const bytes = cropResizeUniforms(
 *   { imageWidth: 640, imageHeight: 480, channels: 4, box: [0, 0.125, 1, 0.875] },
 *   192,
 * );
 * console.log(bytes.byteLength); // 9232
 * ```
 */
export function cropResizeUniforms(values: CropUniformValues, size: number): ArrayBuffer {
  const { imageWidth, imageHeight, channels } = values;
  for (const [name, v] of [["imageWidth", imageWidth], ["imageHeight", imageHeight]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 16384) {
      throw new InvalidInputError(`crop: ${name} must be an integer in 1..16384, got ${v}`);
    }
  }
  if (channels !== 3 && channels !== 4) {
    throw new InvalidInputError(`crop: channels must be 3 or 4, got ${channels}`);
  }
  if (values.box.length !== 4) {
    throw new InvalidInputError(
      `crop: the box must be [yMin, xMin, yMax, xMax], got ${values.box}`,
    );
  }
  const [y1, x1, y2, x2] = values.box.map(Math.fround);
  if (![y1, x1, y2, x2].every(Number.isFinite)) {
    throw new InvalidInputError(`crop: box values must be finite, got [${values.box}]`);
  }
  return sampleTableUniforms(values, [
    ...axisSamples(y1, y2, imageHeight, size, false),
    ...axisSamples(x1, x2, imageWidth, size, values.flipHorizontal === true),
  ]);
}

/**
 * Packs a sampling table (the output's rows, then its columns) into the shader's uniform block
 * ({@linkcode cropResizeUniformWords}); the image's size and bytes per pixel are the header.
 * Shared by the crop and MultiPose's resize (`multipose_input.ts`).
 *
 * @param image The image's columns, rows and bytes per pixel (already checked).
 * @param samples One entry per output row, then per output column; undefined: outside (0). Each
 * lerp is the float64 tfjs computed, in [0, 1).
 * @returns The uniform bytes.
 *
 * @example
 * ```ts
 * import { sampleTableUniforms } from "./crop_resize_kernel.ts";
 * const rows = [{ low: 0, high: 1, lerp: 0.5 }, undefined];
 * const bytes = sampleTableUniforms({ imageWidth: 2, imageHeight: 2, channels: 3 }, [...rows, ...rows]);
 * console.log(bytes.byteLength); // 112
 * ```
 */
export function sampleTableUniforms(
  image: { readonly imageWidth: number; readonly imageHeight: number; readonly channels: number },
  samples: readonly (AxisSample | undefined)[],
): ArrayBuffer {
  const words = sampleTableWords(samples.length);
  const buffer = new ArrayBuffer(4 * words.total);
  const u = new Uint32Array(buffer);
  const f64 = new DataView(new ArrayBuffer(8));
  u[0] = image.imageWidth;
  u[1] = image.imageHeight;
  u[2] = image.channels;
  const unit = 2 ** CROP_WEIGHT_BITS;
  samples.forEach((s, i) => {
    const at = words.samples + 4 * i;
    if (s === undefined) {
      u[at] = CROP_OUTSIDE;
      return;
    }
    const bits = Math.floor(s.lerp * unit); // < 2^42: exact in f64
    u[at] = s.low;
    u[at + 1] = s.high;
    u[at + 2] = Math.floor(bits / 2 ** 14);
    u[at + 3] = bits % 2 ** 14;
    f64.setFloat64(0, s.lerp);
    u[words.lerps + 2 * i] = f64.getUint32(0);
    u[words.lerps + 2 * i + 1] = f64.getUint32(4);
  });
  return buffer;
}

/**
 * The normalisation table the shader reads: for each int value n in 0..255 and each channel,
 * `fround(fround(fround(n − mean) · scale) − offset)` (TF.js's Sub, Mul, Sub on float32 tensors),
 * channel 3 = 0. Without a normalisation, n itself (the int32 crop, for inspection).
 *
 * @param normalization The graph's constants, or undefined for the raw int values.
 * @returns 256 × 4 floats.
 *
 * @example
 * ```ts
 * import { normalizationTable } from "./crop_resize_kernel.ts";
 * const table = normalizationTable({ mean: [0, 0, 0], scale: [1 / 127.5, 1 / 127.5, 1 / 127.5], offset: 1 });
 * console.log(table[0], table[255 * 4]); // -1 1
 * ```
 */
export function normalizationTable(
  normalization: CropNormalization | undefined,
): Float32Array<ArrayBuffer> {
  const table = new Float32Array(256 * 4);
  const f = Math.fround;
  for (let n = 0; n < 256; n++) {
    for (let c = 0; c < 3; c++) {
      table[4 * n + c] = normalization
        ? f(
          f(f(n - f(normalization.mean[c])) * f(normalization.scale[c])) - f(normalization.offset),
        )
        : n;
    }
  }
  return table;
}

/** The bind group layout both crop passes share (the bindings `shaders/crop_resize.ts` declares). */
function cropBindGroupLayout(device: GPUDevice): GPUBindGroupLayout {
  const buffer = (type: GPUBufferBindingType) => ({ buffer: { type } });
  return device.createBindGroupLayout({
    label: "crop resize",
    entries: [
      buffer("read-only-storage"),
      buffer("uniform"),
      buffer("uniform"),
      buffer("storage"),
      buffer("storage"),
    ].map((entry, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, ...entry })),
  });
}

/** The main and replay pipelines on one explicit layout, so that one bind group serves both. */
async function cropPipelines(
  gpu: GpuContext,
  sources: readonly string[],
): Promise<GPUComputePipeline[]> {
  gpu.assertAlive();
  const device = gpu.device;
  const layout = device.createPipelineLayout({
    label: "crop resize",
    bindGroupLayouts: [cropBindGroupLayout(device)],
  });
  device.pushErrorScope("validation");
  const pipelines = sources.map((code) =>
    device.createComputePipeline({
      label: "crop resize",
      layout,
      compute: {
        module: device.createShaderModule({ label: "crop resize", code }),
        entryPoint: "main",
      },
    })
  );
  const error = await gpu.guard(device.popErrorScope());
  if (error) throw new Error(`crop resize: shader did not compile: ${error.message}`);
  return pipelines;
}

/** The crop-resize passes for one output size. */
export interface CropResizeKernel {
  /** The crop side S (the output's rows when it is not square). */
  readonly size: number;
  /** Output rows. */
  readonly height: number;
  /** Output columns. */
  readonly width: number;
  /** Bytes of the per-image uniform buffer. */
  readonly uniformBytes: number;
  /**
   * Makes the bind group for one image's buffers.
   *
   * @param image Raw image bytes (RGB or RGBA) as a storage buffer.
   * @param uniforms Uniform buffer holding `cropResizeUniforms(...)`.
   * @param output The model's NHWC4 `[height, width, 3]` input buffer.
   */
  bind(image: GPUBuffer, uniforms: GPUBuffer, output: GPUBuffer): GPUBindGroup;
  /**
   * Records the dispatch.
   *
   * @param pass An open compute pass.
   * @param bindGroup From {@linkcode CropResizeKernel.bind}.
   */
  dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup): void;
  /** Frees the normalisation table's buffer. */
  dispose(): void;
}

/** Options of {@linkcode createCropResizeKernel}. */
export interface CropResizeKernelOptions {
  /** The crop side S (192 for Lightning, 256 for Thunder), or the output's rows with `width`. */
  readonly size: number;
  /** Output columns when not `size` (MultiPose's padded input). */
  readonly width?: number;
  /** The graph's normalisation; without it the output is the int32 crop itself, as floats. */
  readonly normalization?: CropNormalization;
  /**
   * Replay tfjs's float64 blend for every value instead of only near float32 rounding midpoints
   * (for testing that path; several times slower).
   */
  readonly emulateEverywhere?: boolean;
}

/**
 * Builds the crop-resize pass for one crop side and uploads its normalisation table.
 *
 * @param gpu The device context.
 * @param options Crop side and normalisation.
 * @returns The pass.
 * @throws {InvalidInputError} On a crop side outside 1..1024 or a non-finite constant.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "../mod.ts";
 * import { createCropResizeKernel } from "./crop_resize_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const kernel = await createCropResizeKernel(gpu, { size: 192 });
 * console.log(kernel.size, kernel.uniformBytes); // 192 9232
 * kernel.dispose();
 * gpu.destroy();
 * ```
 */
export async function createCropResizeKernel(
  gpu: GpuContext,
  options: CropResizeKernelOptions,
): Promise<CropResizeKernel> {
  const { size, normalization } = options;
  const width = options.width ?? size;
  for (const [what, v] of [["crop side", size], ["output width", width]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 1024) {
      throw new InvalidInputError(`crop: the ${what} must be an integer in 1..1024, got ${v}`);
    }
  }
  if (normalization) {
    const values = [...normalization.mean, ...normalization.scale, normalization.offset];
    if (values.length !== 7 || !values.every(Number.isFinite)) {
      throw new InvalidInputError(
        `crop: the normalisation needs 3 finite means, 3 finite scales and a finite offset, got ` +
          JSON.stringify(normalization),
      );
    }
  }
  const shader = { height: size, width, emulateEverywhere: options.emulateEverywhere };
  const [pipeline, replay] = await cropPipelines(gpu, [
    cropResizeShader(shader),
    cropNearReplayShader(shader),
  ]);
  const grid = workgroupGrid(size * width, gpu.maxWorkgroupsPerDimension);
  const table = gpu.device.createBuffer({
    label: "crop normalisation",
    size: CROP_NORMALIZATION_BYTES,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  gpu.device.queue.writeBuffer(table, 0, normalizationTable(normalization));
  // The replay pass's work list, empty between images (created zeroed, emptied by that pass). One
  // per kernel suffices: the queue runs images' passes one after another.
  const nearList = gpu.device.createBuffer({
    label: "crop near-tie list",
    size: 4 + 4 * size * width,
    usage: GPUBufferUsage.STORAGE,
  });
  return {
    size,
    height: size,
    width,
    uniformBytes: cropResizeUniformBytes(size, width),
    bind(image: GPUBuffer, uniforms: GPUBuffer, output: GPUBuffer): GPUBindGroup {
      return gpu.device.createBindGroup({
        label: "crop resize",
        layout: pipeline.getBindGroupLayout(0),
        entries: [image, uniforms, table, output, nearList].map((buffer, binding) => ({
          binding,
          resource: { buffer },
        })),
      });
    },
    dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup): void {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(grid[0], grid[1]);
      pass.setPipeline(replay);
      pass.dispatchWorkgroups(1);
    },
    dispose(): void {
      table.destroy();
      nearList.destroy();
    },
  };
}

/**
 * Runs the pass once on a host image and reads the model input back as NHWC `[S, S, 3]`, for
 * tests and inspection. The output is NaN-filled first.
 *
 * @param gpu The device context.
 * @param kernel The pass.
 * @param image RGBA or RGB bytes and size.
 * @param crop The box and flip.
 * @returns The crop: int values (no normalisation) or the normalised model input.
 * @throws {InvalidInputError} On a bad image or box.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "../mod.ts";
 * import { createCropResizeKernel, runCropResizeOnce } from "./crop_resize_kernel.ts";
 *
 * // A 4x2 RGB image whose red channel is 10·x; its left half, resized to 2x2.
 * const data = new Uint8Array(4 * 2 * 3);
 * for (let p = 0; p < 8; p++) data[3 * p] = 10 * (p % 4);
 * const gpu = await createGpuContext();
 * const kernel = await createCropResizeKernel(gpu, { size: 2 });
 * const out = await runCropResizeOnce(gpu, kernel, { data, width: 4, height: 2 }, {
 *   box: [0, 0, 1, 0.5],
 * });
 * console.log(out[0], out[3]); // 0 15: x = 0 and x = 0.5·3 = 1.5
 * kernel.dispose();
 * gpu.destroy();
 * ```
 */
export async function runCropResizeOnce(
  gpu: GpuContext,
  kernel: CropResizeKernel,
  image: PoseImage,
  crop: { readonly box: CropBox; readonly flipHorizontal?: boolean },
): Promise<Float32Array> {
  const checked = checkPoseImage(image, gpu.maxStorageBufferBindingSize);
  const uniforms = cropResizeUniforms({
    imageWidth: checked.width,
    imageHeight: checked.height,
    channels: checked.channels,
    box: crop.box,
    flipHorizontal: crop.flipHorizontal,
  }, kernel.size);
  return await runCropResizeUniformsOnce(gpu, kernel, checked.bytes, uniforms);
}

/**
 * Runs the passes once on image bytes with a prepared uniform block (from
 * {@linkcode cropResizeUniforms} or another sampling table) and reads the output back as NHWC
 * `[height, width, 3]`, NaN-filled first: for tests and inspection.
 *
 * @param gpu The device context.
 * @param kernel The passes.
 * @param bytes The image bytes (RGB or RGBA, as the uniforms' header says).
 * @param uniforms The uniform block.
 * @returns The output, NHWC.
 * @throws {InvalidInputError} When the uniform block's size is not the kernel's.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "../mod.ts";
 * import {
 *   createCropResizeKernel,
 *   runCropResizeUniformsOnce,
 *   sampleTableUniforms,
 * } from "./crop_resize_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const kernel = await createCropResizeKernel(gpu, { size: 1, width: 2 });
 * const uniforms = sampleTableUniforms({ imageWidth: 1, imageHeight: 1, channels: 3 }, [
 *   { low: 0, high: 0, lerp: 0 },
 *   { low: 0, high: 0, lerp: 0 },
 *   undefined,
 * ]);
 * const out = await runCropResizeUniformsOnce(gpu, kernel, new Uint8Array([7, 8, 9]), uniforms);
 * console.log(Array.from(out)); // [ 7, 8, 9, 0, 0, 0 ]
 * kernel.dispose();
 * gpu.destroy();
 * ```
 */
export async function runCropResizeUniformsOnce(
  gpu: GpuContext,
  kernel: CropResizeKernel,
  bytes: Uint8Array<ArrayBuffer>,
  uniforms: ArrayBuffer,
): Promise<Float32Array> {
  if (uniforms.byteLength !== kernel.uniformBytes) {
    throw new InvalidInputError(
      `crop: the uniform block has ${uniforms.byteLength} bytes, the kernel takes ` +
        `${kernel.uniformBytes}`,
    );
  }
  const device = gpu.device;
  const outBytes = kernel.height * kernel.width * 16;
  const imageBuffer = device.createBuffer({
    label: "crop image",
    size: Math.max(16, bytes.byteLength),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  const uniformBuffer = device.createBuffer({
    label: "crop uniforms",
    size: kernel.uniformBytes,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const output = device.createBuffer({
    label: "crop output",
    size: outBytes,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  try {
    device.queue.writeBuffer(imageBuffer, 0, bytes);
    device.queue.writeBuffer(uniformBuffer, 0, uniforms);
    const bindGroup = kernel.bind(imageBuffer, uniformBuffer, output);
    const packed = await dispatchAndRead(
      gpu,
      "crop resize",
      output,
      outBytes,
      (pass) => kernel.dispatch(pass, bindGroup),
    );
    return unpackChannels(packed, kernel.height * kernel.width, 3);
  } finally {
    for (const b of [imageBuffer, uniformBuffer, output]) b.destroy();
  }
}
