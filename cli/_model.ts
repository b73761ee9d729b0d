/**
 * The models behind the `pose` command: what the CLI asks of each (types taken from the library),
 * the default loaders (imported lazily, so `--help` and usage errors load no GPU code), and
 * {@linkcode estimateWithModel}, which loads the chosen model, estimates the poses of one image
 * in PoseNet's keypoint shape, and disposes of the model.
 *
 * PoseNet is loaded with `load()` (`detectors/posenet_model.ts`); MoveNet with
 * `createDetector("MoveNet", …)` (`detectors/pose_detector.ts`), the pose-detection-shaped API of
 * `detectors/detector_types.ts`.
 *
 * @module
 */

import type { DefaultModel } from "../models/default_weights.ts";
import type {
  DetectorConfigBase,
  MoveNetConfig,
  MoveNetModelType,
  PoseDetector,
  PoseNetDetectorConfig,
} from "../detectors/detector_types.ts";
import type { PoseImage } from "../runtime/pose_image.ts";
import type { ModelConfig, PoseNet } from "../detectors/posenet_model.ts";
import type { PoseCliOptions } from "./_args.ts";
import { plainPose, type PoseCliResult, poseFromDetected } from "./_output.ts";

/**
 * A model `--model` names: one of {@linkcode POSE_CLI_MODELS}.
 *
 * @example
 * ```ts
 * import type { PoseCliModelName } from "./pose.ts";
 * const model: PoseCliModelName = "movenet-thunder";
 * ```
 */
export type PoseCliModelName = Extract<
  DefaultModel,
  "posenet" | "movenet-lightning" | "movenet-thunder" | "movenet-multipose"
>;

/**
 * The MoveNet models `--model` names, with the `modelType` each is in `createDetector("MoveNet")`.
 *
 * @example
 * ```ts
 * import { MOVENET_MODEL_TYPES } from "./pose.ts";
 * console.log(MOVENET_MODEL_TYPES["movenet-thunder"]); // "SinglePose.Thunder"
 * ```
 */
export const MOVENET_MODEL_TYPES: Readonly<
  Record<Exclude<PoseCliModelName, "posenet">, MoveNetModelType>
> = Object.freeze({
  "movenet-lightning": "SinglePose.Lightning",
  "movenet-thunder": "SinglePose.Thunder",
  "movenet-multipose": "MultiPose.Lightning",
});

/**
 * Every model name `--model` takes, the default (`posenet`) first.
 *
 * @example
 * ```ts
 * import { POSE_CLI_MODELS } from "./pose.ts";
 * console.log(POSE_CLI_MODELS.join(", ")); // posenet, movenet-lightning, movenet-thunder, movenet-multipose
 * ```
 */
export const POSE_CLI_MODELS: readonly PoseCliModelName[] = Object.freeze([
  "posenet",
  ...(Object.keys(MOVENET_MODEL_TYPES) as (keyof typeof MOVENET_MODEL_TYPES)[]),
]);

/**
 * What the CLI asks of a PoseNet model: the part of `PoseNet` (what `load()` returns) it uses.
 *
 * @example
 * ```ts
 * import { type PoseCliModel, runPoseCli } from "./pose.ts";
 *
 * // A stand-in model (tests do this): every keypoint at the image centre.
 * const fakeModel: PoseCliModel = {
 *   inputResolution: { width: 257, height: 257 },
 *   outputStride: 16,
 *   estimateSinglePose: (image) =>
 *     Promise.resolve({
 *       score: 1,
 *       keypoints: ["nose"].map((part) => ({
 *         part,
 *         score: 1,
 *         position: { x: image.width / 2, y: image.height / 2 },
 *       })),
 *     }),
 *   estimateMultiplePoses: () => Promise.resolve([]),
 *   dispose: () => {},
 * };
 *
 * const out: string[] = [];
 * await runPoseCli(["tests/fixtures/photos/single_portrait.jpg"], {
 *   stdout: (text) => void out.push(text),
 *   stderr: () => {},
 *   loadModel: () => Promise.resolve(fakeModel),
 * });
 * console.log(JSON.parse(out.join("")).poses[0].keypoints[0].position); // the image centre
 * ```
 */
export type PoseCliModel = Pick<
  PoseNet,
  "inputResolution" | "outputStride" | "estimateSinglePose" | "estimateMultiplePoses" | "dispose"
>;

/**
 * The part of `load()`'s configuration the CLI sets.
 *
 * @example
 * ```ts
 * import { load } from "../mod.ts";
 * import type { PoseCliLoadConfig } from "./pose.ts";
 *
 * // What `pose photo.jpg --resolution 353 --stride 8` asks the loader for.
 * const config: PoseCliLoadConfig = { inputResolution: 353, outputStride: 8 };
 * const net = await load(config);
 * net.dispose();
 * ```
 */
export type PoseCliLoadConfig = Pick<
  ModelConfig,
  "outputStride" | "inputResolution" | "modelUrl" | "onProgress" | "provider"
>;

/**
 * Loads a PoseNet model: `load()` by default.
 *
 * @example
 * ```ts
 * import { load } from "../mod.ts";
 * import { type PoseCliLoader, runPoseCli } from "./pose.ts";
 *
 * // Run the CLI with a caller-chosen kernel variant.
 * const loadModel: PoseCliLoader = (config) => load({ ...config, variants: { pointwise: "simple" } });
 * const code = await runPoseCli(["tests/fixtures/photos/single_portrait.jpg"], {
 *   stdout: () => {},
 *   stderr: (text) => console.error(text),
 *   loadModel,
 * });
 * console.log(code); // 0
 * ```
 */
export type PoseCliLoader = (config: PoseCliLoadConfig) => Promise<PoseCliModel>;

/**
 * The part of `createDetector("MoveNet", config)`'s configuration the CLI sets.
 *
 * @example
 * ```ts
 * import type { PoseCliDetectorConfig } from "./pose.ts";
 *
 * // What `pose photo.jpg --model movenet-thunder --webgpu dawn` asks the loader for.
 * const config: PoseCliDetectorConfig = { modelType: "SinglePose.Thunder", provider: "dawn" };
 * ```
 */
export type PoseCliDetectorConfig = Pick<
  MoveNetConfig,
  "modelType" | "modelUrl" | "onProgress" | "provider"
>;

/**
 * Loads a MoveNet detector: `createDetector("MoveNet", config)` by default.
 *
 * @example
 * ```ts
 * import { type PoseCliDetectorLoader, runPoseCli } from "./pose.ts";
 *
 * // A stand-in detector: one pose with its nose at (5, 6).
 * const loadDetector: PoseCliDetectorLoader = () =>
 *   Promise.resolve({
 *     model: "MoveNet SinglePose.Lightning",
 *     inputResolution: { width: 192, height: 192 },
 *     estimatePoses: () =>
 *       Promise.resolve([{ score: 0.9, keypoints: [{ x: 5, y: 6, score: 0.9, name: "nose" }] }]),
 *     reset: () => {},
 *     dispose: () => {},
 *   });
 * const out: string[] = [];
 * await runPoseCli(["tests/fixtures/photos/single_portrait.jpg", "--model", "movenet-lightning"], {
 *   stdout: (text) => void out.push(text),
 *   stderr: () => {},
 *   loadDetector,
 * });
 * console.log(JSON.parse(out.join("")).poses[0].keypoints[0]); // nose at (5, 6)
 * ```
 */
export type PoseCliDetectorLoader = (config: PoseCliDetectorConfig) => Promise<PoseDetector>;

/** The loaders {@linkcode estimateWithModel} uses; each absent one is the library's. */
export interface PoseCliLoaders {
  /** Loads PoseNet. */
  readonly loadModel?: PoseCliLoader;
  /** Loads a MoveNet detector. */
  readonly loadDetector?: PoseCliDetectorLoader;
  /** Loads PoseNet behind the detector interface (`pose video`): `createDetector("PoseNet")`. */
  readonly loadPoseNetDetector?: (config: PoseNetDetectorConfig) => Promise<PoseDetector>;
}

/** What a loader gets besides the model's own options. */
export interface PoseCliLoadContext {
  /** The weights to use instead of the default ones (a path resolved from the cwd, or a URL). */
  readonly modelUrl?: string | URL;
  /** Receives progress lines (the weights download). */
  readonly onProgress: (message: string) => void;
}

/**
 * MoveNet's heads are at stride 4 of its input (48² for 192², 64² for 256²); `PoseDetector` does
 * not report it.
 */
const MOVENET_OUTPUT_STRIDE = 4;

/** `load()`, imported lazily. */
async function defaultLoader(config: PoseCliLoadConfig): Promise<PoseCliModel> {
  const { load } = await import("../detectors/posenet_model.ts");
  return await load(config);
}

/** `createDetector("PoseNet", config)`, imported lazily. */
async function defaultPoseNetDetectorLoader(
  config: PoseNetDetectorConfig,
): Promise<PoseDetector> {
  const { createDetector } = await import("../detectors/pose_detector.ts");
  return await createDetector("PoseNet", config);
}

/** `createDetector("MoveNet", config)`, imported lazily. */
async function defaultDetectorLoader(config: PoseCliDetectorConfig): Promise<PoseDetector> {
  const { createDetector } = await import("../detectors/pose_detector.ts");
  return await createDetector("MoveNet", config);
}

/** Calls `dispose()`; an error there must not hide the result or the first error. */
function disposeQuietly(model: { dispose(): void }): void {
  try {
    model.dispose();
  } catch {
    // Nothing to report it to that would not hide the result.
  }
}

/** `{width, height}` as printed: a number when square. */
function sideOrSize(size: { readonly width: number; readonly height: number }) {
  return size.width === size.height ? size.width : { width: size.width, height: size.height };
}

/**
 * Loads the model `options` name, estimates the poses of `image` with it and disposes of it
 * (also when estimation fails).
 *
 * @param options The parsed command line.
 * @param image The decoded image.
 * @param loaders The loaders; absent ones are the library's.
 * @param context Custom weights and the progress sink.
 * @returns The result without the image size, poses in PoseNet's keypoint shape.
 *
 * @example
 * ```ts
 * import { estimateWithModel } from "./_model.ts";
 * import { parsePoseArgs, type PoseCliOptions } from "./pose.ts";
 *
 * const options = parsePoseArgs(["photo.jpg", "--model", "movenet-thunder"]) as PoseCliOptions;
 * const image = { data: new Uint8Array(4 * 4 * 4), width: 4, height: 4 };
 * const result = await estimateWithModel(options, image, {
 *   loadDetector: () =>
 *     Promise.resolve({
 *       model: "MoveNet SinglePose.Thunder",
 *       inputResolution: { width: 256, height: 256 },
 *       estimatePoses: () => Promise.resolve([]),
 *       reset: () => {},
 *       dispose: () => {},
 *     }),
 * }, { onProgress: () => {} });
 * console.log(result); // { model: "movenet-thunder", inputResolution: 256, outputStride: 4, poses: [] }
 * ```
 */
export async function estimateWithModel(
  options: PoseCliOptions,
  image: PoseImage,
  loaders: PoseCliLoaders,
  context: PoseCliLoadContext,
): Promise<Omit<PoseCliResult, "image">> {
  const common: DetectorConfigBase = {
    ...(context.modelUrl === undefined ? {} : { modelUrl: context.modelUrl }),
    onProgress: context.onProgress,
    ...(options.webgpu === undefined ? {} : { provider: options.webgpu }),
  };
  const model = options.modelGiven ? { model: options.model } : {};
  if (options.model !== "posenet") {
    const load = loaders.loadDetector ?? defaultDetectorLoader;
    const detector = await load({ modelType: MOVENET_MODEL_TYPES[options.model], ...common });
    try {
      const poses = await detector.estimatePoses(image, { flipHorizontal: options.flip });
      return {
        ...model,
        inputResolution: sideOrSize(detector.inputResolution),
        outputStride: MOVENET_OUTPUT_STRIDE,
        // MultiPose's box (fractions of the padded model input) is kept beside the keypoints.
        poses: poses.map((p) => ({ ...poseFromDetected(p), ...(p.box ? { box: p.box } : {}) })),
      };
    } finally {
      disposeQuietly(detector);
    }
  }
  const load = loaders.loadModel ?? defaultLoader;
  const net = await load({
    inputResolution: options.resolution,
    outputStride: options.stride,
    ...common,
  });
  try {
    const poses = options.multi
      ? await net.estimateMultiplePoses(image, {
        flipHorizontal: options.flip,
        ...(options.maxDetections === undefined ? {} : { maxDetections: options.maxDetections }),
        ...(options.scoreThreshold === undefined ? {} : { scoreThreshold: options.scoreThreshold }),
        ...(options.nmsRadius === undefined ? {} : { nmsRadius: options.nmsRadius }),
      })
      : [await net.estimateSinglePose(image, { flipHorizontal: options.flip })];
    return {
      ...model,
      inputResolution: sideOrSize(net.inputResolution),
      outputStride: net.outputStride,
      poses: poses.map(plainPose),
    };
  } finally {
    disposeQuietly(net);
  }
}

/**
 * A model `pose video --model` names: the same as the `pose` command's.
 *
 * @example
 * ```ts
 * import type { VideoModelName } from "./_model.ts";
 * const model: VideoModelName = "movenet-multipose";
 * ```
 */
export type VideoModelName = PoseCliModelName;

/**
 * Every model name `pose video --model` takes: {@linkcode POSE_CLI_MODELS}.
 *
 * @example
 * ```ts
 * import { VIDEO_MODELS } from "./_model.ts";
 * console.log(VIDEO_MODELS.join(", ")); // posenet, movenet-lightning, movenet-thunder, movenet-multipose
 * ```
 */
export const VIDEO_MODELS: readonly VideoModelName[] = POSE_CLI_MODELS;

/**
 * Loads the model `model` names behind the detector interface, for video: MoveNet with
 * `createDetector("MoveNet", {modelType})` (MultiPose included), PoseNet with
 * `createDetector("PoseNet")` (its default resolution and stride).
 *
 * @param model The model's CLI name.
 * @param config Weights, provider and the progress sink.
 * @param loaders The loaders; absent ones are the library's.
 * @returns The detector; the caller disposes of it.
 *
 * @example
 * ```ts
 * import { loadPoseDetector } from "./_model.ts";
 *
 * const detector = await loadPoseDetector("movenet-lightning", {}, {});
 * console.log(detector.model); // "MoveNet SinglePose.Lightning"
 * detector.dispose();
 * ```
 */
export async function loadPoseDetector(
  model: VideoModelName,
  config: DetectorConfigBase & { readonly multiPoseMaxDimension?: number },
  loaders: PoseCliLoaders,
): Promise<PoseDetector> {
  if (model === "posenet") {
    const { multiPoseMaxDimension: _, ...poseNetConfig } = config;
    return await (loaders.loadPoseNetDetector ?? defaultPoseNetDetectorLoader)(poseNetConfig);
  }
  const load = loaders.loadDetector ?? defaultDetectorLoader;
  return await load({ modelType: MOVENET_MODEL_TYPES[model], ...config });
}

/**
 * Where custom weights are: a path that looks like a URL is a `URL`, anything else a file path
 * resolved by `fromCwd`.
 *
 * @param model The `--model` or `--model-url` text.
 * @param fromCwd Resolves a relative path.
 * @returns The location the loaders take.
 *
 * @example
 * ```ts
 * import { modelLocation } from "./_model.ts";
 * console.log(modelLocation("https://example.com/model.json", (p) => p) instanceof URL); // true
 * console.log(modelLocation("w/model.json", (p) => `/home/${p}`)); // "/home/w/model.json"
 * ```
 */
export function modelLocation(model: string, fromCwd: (path: string) => string): string | URL {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(model) || model.startsWith("file:")
    ? new URL(model)
    : fromCwd(model);
}
