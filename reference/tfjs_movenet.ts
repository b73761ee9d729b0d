/**
 * The ORIGINAL `@tensorflow-models/pose-detection` 2.1.3 MoveNet SinglePose detector (Lightning or
 * Thunder) on TF.js 4.22, loaded from our local weights files, run on single still images. Shared
 * by the reference generator (`tests/fixtures/make_movenet_reference.ts`, on the `cpu` backend)
 * and the TF.js MoveNet bench peers (`bench/peers/tfjs_movenet.ts`, on `webgpu` and `wasm`).
 *
 * Nothing about MoveNet is re-implemented: `createDetector(SupportedModels.MoveNet, {modelType,
 * modelUrl, enableSmoothing: false})` builds pose-detection's own `MoveNetDetector`; the crop
 * (`initCropRegion`: for a first frame, the centred square of side min(W, H)), `cropAndResize`,
 * the int32 cast, the graph (tfjs-converter) and the pose score are its code. This module only:
 * 1. reads `movenet-*.json` and the shard it names into a `tf.io.fromMemory` handler, passed as
 *    `modelUrl` (no network), and checks once that the loaded graph holds OUR weights (one
 *    float16 weight decoded here by hand from the `.bin` must equal TF.js's tensor, bit for bit);
 * 2. hands pose-detection an int32 `[H, W, 3]` tensor of the image's RGB bytes (what
 *    `tf.browser.fromPixels` makes of an ImageData; pose-detection under Deno rejects a real
 *    `ImageData`), and calls `reset()` before every still image, so each is a first frame; video
 *    frames (`traceVideoFrame`, with a timestamp) keep pose-detection's state from frame to frame,
 *    with `enableSmoothing` as the detector was made;
 * 3. optionally records what pose-detection fed and got: the crop box `cropAndResize` received
 *    (read from the kernel's own `boxes` input), the sha256 of the int32 model input, and the raw
 *    `[1, 1, 17, 3]` model output — by wrapping the backend's `CropAndResize` kernel and the graph
 *    model's `execute` for the duration of one call; the values returned are untouched.
 *
 * Which backend runs it is the caller's business ({@linkcode runTfjsMoveNetReference} uses `cpu`).
 *
 * @module
 */

import { readTfjsGraphArtifacts } from "./tfjs_artifacts.ts";
import * as tf from "@tensorflow/tfjs-core";
import type * as tfconv from "@tensorflow/tfjs-converter";
import "@tensorflow/tfjs-backend-cpu";
import * as poseDetection from "@tensorflow-models/pose-detection";
import { createHash } from "node:crypto";

/** The pose-detection version deno.json pins. */
export const POSE_DETECTION_VERSION = "2.1.3";

/** The MoveNet SinglePose models the reference runs, by our default-weights name. */
export type TfjsMoveNetModel = "movenet-lightning" | "movenet-thunder";

/** pose-detection's `modelType` and the model's square input side, per model. */
export const TFJS_MOVENET_MODELS: Readonly<
  Record<TfjsMoveNetModel, { readonly modelType: string; readonly inputSize: number }>
> = Object.freeze({
  "movenet-lightning": Object.freeze({
    modelType: poseDetection.movenet.modelType.SINGLEPOSE_LIGHTNING,
    inputSize: 192,
  }),
  "movenet-thunder": Object.freeze({
    modelType: poseDetection.movenet.modelType.SINGLEPOSE_THUNDER,
    inputSize: 256,
  }),
});

/** The 17 keypoint names in pose-detection's output order (from its own `util`). */
export const MOVENET_KEYPOINT_NAMES: readonly string[] = Object.freeze(
  Object.entries(poseDetection.util.getKeypointIndexByName(poseDetection.SupportedModels.MoveNet))
    .sort((a, b) => a[1] - b[1])
    .map(([name]) => name),
);

/** An image: RGBA (4 channels, like `ImageData.data`) or RGB (3) bytes, row-major. */
export interface MoveNetImage {
  /** `width · height · channels` bytes. */
  readonly data: Uint8Array | Uint8ClampedArray;
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
  /** 4 (RGBA, the default) or 3 (RGB). */
  readonly channels?: 3 | 4;
}

/** A keypoint as pose-detection returns it: image pixels, not clamped. */
export interface MoveNetKeypoint {
  x: number;
  y: number;
  score: number;
  name: string;
}

/** A pose as pose-detection returns it (single pose: no box, no id). */
export interface MoveNetPose {
  score: number;
  keypoints: MoveNetKeypoint[];
}

/** A crop region as pose-detection computes it (doubles, normalised to the image). */
export interface MoveNetCropRegion {
  yMin: number;
  xMin: number;
  yMax: number;
  xMax: number;
  height: number;
  width: number;
}

/** What one call recorded besides the poses. */
export interface MoveNetTrace {
  /**
   * The crop box `cropAndResize` received, `[yMin, xMin, yMax, xMax]` normalised to the image:
   * the float32 values of its `boxes` tensor, read in the kernel.
   */
  cropBox: [number, number, number, number];
  /**
   * The region that box was made from, in doubles, as pose-detection set it (`initCropRegion`);
   * it also maps the output back to the image: `x = (xMin + x_crop · width) · W`, likewise y.
   */
  cropRegion: MoveNetCropRegion;
  /** The model input's shape, `[1, S, S, 3]`. */
  inputShape: number[];
  /** sha256 (hex) of the int32 model input (the cast crop), as little-endian bytes. */
  inputSha256: string;
  /** The raw model output `[1, 1, 17, 3]` flattened: y, x, score per keypoint, in the crop. */
  rawOutput: number[];
  /**
   * pose-detection's `cropRegion` after the call: the next video frame's region (`null` after a
   * reset, i.e. a pose below `minPoseScore`).
   */
  nextCropRegion: MoveNetCropRegion | null;
}

/** The result of one traced call. */
export interface MoveNetRun extends MoveNetTrace {
  /** pose-detection's `estimatePoses` result: one pose, or none below `minPoseScore` (0.25). */
  poses: MoveNetPose[];
}

/** A pose-detection MoveNet detector on the active backend. */
export interface TfjsMoveNetDetector {
  /** Which model. */
  readonly model: TfjsMoveNetModel;
  /** `estimatePoses` of one still image (after `reset()`), as pose-detection returns it. */
  estimatePoses(image: MoveNetImage): Promise<MoveNetPose[]>;
  /** The same, recording the crop box, the input's hash and the raw output (slower). */
  trace(image: MoveNetImage): Promise<MoveNetRun>;
  /**
   * One video frame: `estimatePoses(image, {}, timestampMs)` without a reset, so the crop comes
   * from the previous frame and the keypoints are smoothed when the detector was made so; traced.
   */
  traceVideoFrame(image: MoveNetImage, timestampMs: number): Promise<MoveNetRun>;
  /** pose-detection's `reset()`: the next video frame is a first frame. */
  reset(): void;
  /** Frees the detector's model. */
  dispose(): void;
}

/** IEEE half → double, by hand (independent of TF.js's decoder). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/**
 * Checks that `graph` holds the weights of `artifacts`: the largest float16-quantised weight,
 * decoded here from the raw bytes, must equal the graph's tensor exactly (also used by the
 * MultiPose reference).
 *
 * @param graph The graph model pose-detection loaded.
 * @param artifacts The files it was given.
 * @returns The name of the weight checked.
 * @throws {Error} When they differ.
 */
export async function checkOurWeights(
  graph: tfconv.GraphModel,
  artifacts: tf.io.ModelArtifacts,
): Promise<string> {
  const bytes = new Uint8Array(artifacts.weightData as ArrayBuffer);
  let offset = 0;
  let best: { spec: tf.io.WeightsManifestEntry; offset: number; size: number } | undefined;
  for (const spec of artifacts.weightSpecs!) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const q = spec.quantization;
    const width = q
      ? (q.dtype === "float16" || q.dtype === "uint16" ? 2 : 1)
      : DTYPE_BYTES[spec.dtype];
    if (q?.dtype === "float16" && (!best || size > best.size)) best = { spec, offset, size };
    offset += size * width;
  }
  if (offset !== bytes.byteLength) {
    throw new Error(`weights manifest covers ${offset} bytes, the shards hold ${bytes.byteLength}`);
  }
  if (!best) throw new Error("no float16 weight in the model to check");
  const tensor = graph.weights[best.spec.name]?.[0];
  if (!tensor) throw new Error(`the loaded graph has no weight ${best.spec.name}`);
  const got = await tensor.data(); // asynchronous: the webgpu backends cannot read synchronously
  const view = new DataView(bytes.buffer, bytes.byteOffset + best.offset, best.size * 2);
  for (let i = 0; i < best.size; i++) {
    const want = Math.fround(halfToNumber(view.getUint16(i * 2, true)));
    if (!Object.is(got[i], want)) {
      throw new Error(
        `the loaded graph's ${best.spec.name}[${i}] is ${got[i]}, our file says ${want}: ` +
          "pose-detection did not use our weights",
      );
    }
  }
  return best.spec.name;
}

/**
 * Builds pose-detection's MoveNet SinglePose detector on the active TF.js backend from our files
 * (`modelUrl` = a `tf.io.fromMemory` handler), with `enableSmoothing: false` unless asked and the
 * defaults otherwise (`minPoseScore` 0.25), and checks that the graph holds our weights.
 *
 * @param model Lightning or Thunder.
 * @param source Path of the model JSON, or artifacts from {@linkcode readTfjsMoveNetArtifacts}.
 * @param options `enableSmoothing` for video frames (default false; still images never are).
 * @returns The detector.
 * @throws {Error} When the loaded graph's weights are not those of the files.
 */
export async function createTfjsMoveNetDetector(
  model: TfjsMoveNetModel,
  source: string | tf.io.ModelArtifacts,
  options: { readonly enableSmoothing?: boolean } = {},
): Promise<TfjsMoveNetDetector> {
  const spec = TFJS_MOVENET_MODELS[model];
  if (!spec) throw new Error(`unknown MoveNet model ${JSON.stringify(model)}`);
  const artifacts = typeof source === "string" ? await readTfjsGraphArtifacts(source) : source;
  const detector = await poseDetection.createDetector(poseDetection.SupportedModels.MoveNet, {
    modelType: spec.modelType,
    modelUrl: tf.io.fromMemory(artifacts),
    enableSmoothing: options.enableSmoothing ?? false,
  });
  // pose-detection keeps the graph model in this (JS-visible) field of its MoveNetDetector.
  const graph = (detector as unknown as { moveNetModel: tfconv.GraphModel }).moveNetModel;
  try {
    await checkOurWeights(graph, artifacts);
  } catch (e) {
    detector.dispose();
    throw e;
  }
  const estimate = async (image: MoveNetImage): Promise<MoveNetPose[]> => {
    const input = toImageTensor(image);
    try {
      detector.reset(); // a still image: the first frame's crop, every time
      const poses = await detector.estimatePoses(input);
      return poses.map((p) => ({
        score: p.score!,
        keypoints: p.keypoints.map((k) => ({ x: k.x, y: k.y, score: k.score!, name: k.name! })),
      }));
    } finally {
      input.dispose();
    }
  };
  const videoFrame = async (image: MoveNetImage, timestampMs: number) => {
    const input = toImageTensor(image);
    try {
      const poses = await detector.estimatePoses(input, {}, timestampMs);
      return poses.map((p) => ({
        score: p.score!,
        keypoints: p.keypoints.map((k) => ({ x: k.x, y: k.y, score: k.score!, name: k.name! })),
      }));
    } finally {
      input.dispose();
    }
  };
  return {
    model,
    estimatePoses: estimate,
    async trace(image: MoveNetImage): Promise<MoveNetRun> {
      const { result, trace } = await traced(detector, graph, () => estimate(image));
      return { poses: result, ...trace };
    },
    async traceVideoFrame(image: MoveNetImage, timestampMs: number): Promise<MoveNetRun> {
      const { result, trace } = await traced(detector, graph, () => videoFrame(image, timestampMs));
      return { poses: result, ...trace };
    },
    reset: () => detector.reset(),
    dispose: () => detector.dispose(),
  };
}

/** Serialises traced calls (the kernel wrapper is process-wide). */
let traceChain: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn`, recording the crop region pose-detection cropped with (its `cropRegion` when the
 * crop kernel ran), the crop box the kernel gets, the model input's hash, the raw model output
 * and the region left for the next frame.
 */
function traced<T>(
  detector: poseDetection.PoseDetector,
  graph: tfconv.GraphModel,
  fn: () => Promise<T>,
): Promise<{ result: T; trace: MoveNetTrace }> {
  const run = traceChain.then(async () => {
    // `cropRegion` is a plain field of MoveNetDetector: shadow it with an accessor that keeps
    // every value assigned (the first is the one cropped with), then restore the field.
    const used: MoveNetCropRegion[] = [];
    const holder = detector as unknown as { cropRegion: MoveNetCropRegion | null };
    let region = holder.cropRegion;
    Object.defineProperty(holder, "cropRegion", {
      configurable: true,
      enumerable: true,
      get: () => region,
      set: (value) => {
        region = value;
      },
    });
    const backend = tf.getBackend();
    const kernel = tf.getKernel("CropAndResize", backend);
    if (!kernel) throw new Error(`no CropAndResize kernel on the ${backend} backend`);
    const boxes: number[][] = [];
    const inputs: { shape: number[]; sha256: string }[] = [];
    const outputs: number[][] = [];
    tf.unregisterKernel("CropAndResize", backend);
    tf.registerKernel({
      ...kernel,
      kernelFunc: (args) => {
        const info = args.inputs.boxes as tf.TensorInfo;
        const values = (args.backend as tf.KernelBackend).readSync(info.dataId) as Float32Array;
        boxes.push(Array.from(values));
        if (region) used.push({ ...region });
        return kernel.kernelFunc(args);
      },
    });
    const execute = graph.execute;
    graph.execute = ((input: tf.Tensor, outputNames?: string | string[]) => {
      const data = input.dataSync();
      const le = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      inputs.push({
        shape: input.shape,
        sha256: createHash("sha256").update(le).digest("hex"),
      });
      const out = execute.call(graph, input, outputNames) as tf.Tensor;
      outputs.push(Array.from(out.dataSync()));
      return out;
    }) as typeof graph.execute;
    try {
      const result = await fn();
      if (boxes.length !== 1 || inputs.length !== 1 || outputs.length !== 1) {
        throw new Error(
          `expected one crop and one model call, saw ${boxes.length} and ${outputs.length}`,
        );
      }
      if (inputs[0].shape.length !== 4 || outputs[0].length !== 51) {
        throw new Error(`unexpected model input [${inputs[0].shape}] or output size`);
      }
      const [yMin, xMin, yMax, xMax] = boxes[0];
      const first = used[0];
      const asBox = first && [first.yMin, first.xMin, first.yMax, first.xMax].map(Math.fround);
      if (!asBox || asBox.some((v, i) => v !== boxes[0][i])) {
        throw new Error(
          `crop box [${boxes[0]}] is not the float32 crop region ${JSON.stringify(first)}`,
        );
      }
      return {
        result,
        trace: {
          cropBox: [yMin, xMin, yMax, xMax] as [number, number, number, number],
          cropRegion: first,
          inputShape: inputs[0].shape,
          inputSha256: inputs[0].sha256,
          rawOutput: outputs[0],
          nextCropRegion: region ? { ...region } : null,
        },
      };
    } finally {
      delete (holder as { cropRegion?: unknown }).cropRegion;
      holder.cropRegion = region;
      graph.execute = execute;
      tf.unregisterKernel("CropAndResize", backend);
      tf.registerKernel(kernel);
    }
  });
  traceChain = run.catch(() => {});
  return run;
}

/**
 * An int32 `[H, W, 3]` tensor of an image's RGB bytes (alpha dropped), as
 * `tf.browser.fromPixels` makes of an `ImageData`.
 *
 * @param image RGBA or RGB bytes.
 * @returns A tensor the caller disposes.
 * @throws {Error} When the size and the data disagree.
 */
export function toImageTensor(image: MoveNetImage): tf.Tensor3D {
  const { data, width, height } = image;
  const channels = image.channels ?? 4;
  if (
    !Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 ||
    (channels !== 3 && channels !== 4) || data.length !== width * height * channels
  ) {
    throw new Error(
      `image must be ${width}·${height}·${channels} bytes of RGB(A), got ${data?.length}`,
    );
  }
  const n = width * height;
  const rgb = new Int32Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = data[i * channels];
    rgb[i * 3 + 1] = data[i * channels + 1];
    rgb[i * 3 + 2] = data[i * channels + 2];
  }
  return tf.tensor3d(rgb, [height, width, 3], "int32");
}

/**
 * The reference for one image: pose-detection's MoveNet on TF.js's `cpu` backend, from our files,
 * smoothing off, the image as a first frame; with the crop box, input hash and raw output.
 * Switches the process's TF.js backend to `cpu`.
 *
 * @param image RGBA or RGB bytes.
 * @param model Lightning or Thunder.
 * @param modelJsonPath The model JSON (e.g. `await fetchDefaultWeights("movenet-lightning")`).
 * @returns Poses (image pixels) and the trace.
 *
 * @example
 * ```ts ignore
 * import { runTfjsMoveNetReference } from "./tfjs_movenet.ts";
 * import { fetchDefaultWeights } from "../models/default_weights.ts";
 * import { readImageFile } from "../cli/read_image.ts";
 * const image = await readImageFile("tests/fixtures/photos/single_portrait.jpg");
 * const run = await runTfjsMoveNetReference(image, "movenet-lightning",
 *   await fetchDefaultWeights("movenet-lightning"));
 * console.log(run.poses[0]?.keypoints[0]); // { x, y, score, name: "nose" }
 * ```
 */
export async function runTfjsMoveNetReference(
  image: MoveNetImage,
  model: TfjsMoveNetModel,
  modelJsonPath: string,
): Promise<MoveNetRun> {
  if (tf.getBackend() !== "cpu" && !(await tf.setBackend("cpu"))) {
    throw new Error("the TF.js cpu backend failed to initialise");
  }
  await tf.ready();
  const detector = await createTfjsMoveNetDetector(model, modelJsonPath);
  try {
    return await detector.trace(image);
  } finally {
    detector.dispose();
  }
}
