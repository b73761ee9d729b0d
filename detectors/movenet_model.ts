/**
 * MoveNet SinglePose (Lightning, Thunder) on the GPU, behind pose-detection's detector interface.
 * One frame is one command buffer: the crop-and-resize of the image bytes to the model input (with
 * the graph's int cast and normalisation), the backbone, feature pyramid and heads as a compiled op
 * graph, and the decode in one dispatch; only the 17 × (y, x, score) result is read back.
 *
 * A call without a timestamp is a still image: the crop is pose-detection's first-frame crop, the
 * centred square of side min(width, height), and no state is read or kept. A call with a timestamp
 * is a video frame, as in pose-detection: the crop is the one the previous frame's pose chose
 * (`decode/movenet_crop_tracking.ts`), the keypoints are One-Euro smoothed (`enableSmoothing`,
 * default true), and a pose scoring below `minPoseScore` resets the video state.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { showJson } from "../_describe.ts";
import {
  cropBox,
  type CropRegion,
  cropToImageFractions,
  fractionsToPixels,
  type ImageKeypoint,
  initCropRegion,
  movenetPoseScore,
} from "../decode/movenet_crop.ts";
import { MoveNetCropTracker } from "../decode/movenet_crop_tracking.ts";
import {
  createMovenetDecoder,
  MOVENET_DECODE_OUTPUT_BYTES,
  MOVENET_RESULT_BYTES,
  type MovenetDecoder,
} from "../decode/movenet_decode_gpu.ts";
import { type CompiledGraph, compileOpGraph, type GraphBuffers } from "../graph/compiled_graph.ts";
import {
  createCropResizeKernel,
  type CropResizeKernel,
  cropResizeUniforms,
} from "../kernels/crop_resize_kernel.ts";
import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import {
  COCO_KEYPOINTS,
  type DetectedPose,
  type EstimationConfig,
  type MoveNetConfig,
  type MoveNetModelType,
  type PoseDetector,
} from "./detector_types.ts";
import { type DefaultModel, fetchDefaultWeights } from "../models/default_weights.ts";
import { loadMoveNetGraph, type MoveNetGraph } from "../models/movenet_graph.ts";
import { checkPoseImage, type PoseImage } from "../runtime/pose_image.ts";
import { checkEstimationArgs } from "./_estimation_args.ts";
import { callsInOrder } from "./_call_queue.ts";

/** pose-detection's default `minPoseScore`. */
const DEFAULT_MIN_POSE_SCORE = 0.25;

const WEIGHTS: Record<Exclude<MoveNetModelType, "MultiPose.Lightning">, DefaultModel> = {
  "SinglePose.Lightning": "movenet-lightning",
  "SinglePose.Thunder": "movenet-thunder",
};

const DISPOSED_MESSAGE = "this MoveNet detector was disposed; create a new one";

/** The MoveNet SinglePose detector: a {@linkcode PoseDetector} whose video crop can be read. */
export interface MoveNetSinglePoseDetector extends PoseDetector {
  /**
   * The crop region (fractions of the image) the next video frame will be cut from, as
   * pose-detection's `cropRegion`: `null` before the first video frame, after `reset()` and after
   * a frame whose pose scored below `minPoseScore` (the next frame then gets the first-frame crop).
   */
  readonly cropRegion: CropRegion | null;
}

/**
 * Builds a MoveNet SinglePose detector: `createDetector("MoveNet", config)` calls this.
 *
 * @param config Model type, weights, provider and thresholds.
 * @returns The detector.
 * @throws {InvalidInputError} For a bad option.
 * @throws {ModelLoadError} When the weights cannot be read or are not MoveNet SinglePose.
 *
 * @example
 * ```ts
 * import { createMoveNetDetector } from "./movenet_model.ts";
 *
 * const detector = await createMoveNetDetector({ modelType: "SinglePose.Thunder" });
 * console.log(detector.model, detector.inputResolution); // MoveNet SinglePose.Thunder { width: 256, height: 256 }
 * detector.dispose();
 * ```
 *
 * Video: give each frame its time in milliseconds (e.g. `performance.now()` or the video's
 * `currentTime · 1000`); the crop follows the person and the keypoints are smoothed.
 *
 * ```ts
 * import { createMoveNetDetector } from "./movenet_model.ts";
 * import { readImageFile } from "../cli/read_image.ts";
 *
 * const detector = await createMoveNetDetector({ enableSmoothing: true });
 * const frame = await readImageFile("tests/fixtures/photos/single_portrait.jpg");
 * await detector.estimatePoses(frame, {}, 0);
 * console.log(detector.cropRegion !== null); // true: the next frame is cut around this pose
 * await detector.estimatePoses(frame, {}, 33.3);
 * detector.reset(); // a new video: forget the crop and the filters
 * console.log(detector.cropRegion); // null
 * detector.dispose();
 * ```
 */
export async function createMoveNetDetector(
  config: MoveNetConfig = {},
): Promise<MoveNetSinglePoseDetector> {
  const modelType = config.modelType ?? "SinglePose.Lightning";
  if (!Object.hasOwn(WEIGHTS, modelType)) {
    const multiPose = modelType === "MultiPose.Lightning"
      ? ` (MultiPose: createDetector("MoveNet", {modelType: "MultiPose.Lightning"}))`
      : `, or "MultiPose.Lightning" through createDetector`;
    throw new InvalidInputError(
      `MoveNet SinglePose modelType must be ${
        Object.keys(WEIGHTS).map((k) => `"${k}"`).join(" or ")
      }${multiPose}, got ${showJson(modelType)}`,
    );
  }
  const minPoseScore = config.minPoseScore ?? DEFAULT_MIN_POSE_SCORE;
  if (typeof minPoseScore !== "number" || !(minPoseScore >= 0 && minPoseScore <= 1)) {
    throw new InvalidInputError(
      `MoveNet minPoseScore must be a number in [0, 1], got ${showJson(minPoseScore)}`,
    );
  }
  const enableSmoothing = config.enableSmoothing ?? true;
  if (typeof enableSmoothing !== "boolean") {
    throw new InvalidInputError(
      `MoveNet enableSmoothing must be a boolean, got ${showJson(enableSmoothing)}`,
    );
  }
  const source = config.modelUrl ??
    await fetchDefaultWeights(WEIGHTS[modelType as keyof typeof WEIGHTS], {
      onProgress: config.onProgress,
    });
  const graph = await loadMoveNetGraph(source);
  const gpu = config.context ?? await createGpuContext({ provider: config.provider });
  try {
    return await MoveNetDetector.build(gpu, !config.context, graph, modelType, {
      minPoseScore,
      enableSmoothing,
    });
  } catch (error) {
    if (!config.context) gpu.destroy();
    throw error;
  }
}

/** The thresholds and switches a detector is built with. */
interface MoveNetOptions {
  readonly minPoseScore: number;
  readonly enableSmoothing: boolean;
}

class MoveNetDetector implements MoveNetSinglePoseDetector {
  readonly model: string;
  readonly inputResolution: { readonly width: number; readonly height: number };
  readonly #gpu: GpuContext;
  readonly #ownsGpu: boolean;
  readonly #minPoseScore: number;
  readonly #network: CompiledGraph;
  readonly #crop: CropResizeKernel;
  readonly #decoder: MovenetDecoder;
  readonly #buffers: GraphBuffers;
  readonly #cropUniforms: GPUBuffer;
  readonly #result: GPUBuffer;
  readonly #readback: GPUBuffer;
  readonly #decodeGroup: GPUBindGroup;
  #image: GPUBuffer | undefined;
  #cropGroup: GPUBindGroup | undefined;
  readonly #queue = callsInOrder();
  #disposed = false;
  // The video state, and a count of resets so that a frame already running when reset() is called
  // does not write into the new video's state.
  readonly #video: MoveNetCropTracker;
  #resets = 0;

  private constructor(
    gpu: GpuContext,
    ownsGpu: boolean,
    graph: MoveNetGraph,
    modelType: MoveNetModelType,
    options: MoveNetOptions,
    parts: { network: CompiledGraph; crop: CropResizeKernel; decoder: MovenetDecoder },
  ) {
    this.model = `MoveNet ${modelType}`;
    this.inputResolution = Object.freeze({ width: graph.inputSize, height: graph.inputSize });
    this.#gpu = gpu;
    this.#ownsGpu = ownsGpu;
    this.#minPoseScore = options.minPoseScore;
    this.#video = new MoveNetCropTracker(options);
    this.#network = parts.network;
    this.#crop = parts.crop;
    this.#decoder = parts.decoder;
    const device = gpu.device;
    this.#buffers = this.#network.createBuffers();
    this.#cropUniforms = device.createBuffer({
      label: "movenet crop uniforms",
      size: this.#crop.uniformBytes,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.#result = device.createBuffer({
      label: "movenet keypoints",
      size: MOVENET_DECODE_OUTPUT_BYTES,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.#readback = device.createBuffer({
      label: "movenet keypoints readback",
      size: MOVENET_RESULT_BYTES,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const [center, heatmap, regress, offset] = this.#buffers.outputs;
    this.#decodeGroup = this.#decoder.bind({ center, heatmap, regress, offset }, this.#result);
  }

  static async build(
    gpu: GpuContext,
    ownsGpu: boolean,
    graph: MoveNetGraph,
    modelType: MoveNetModelType,
    options: MoveNetOptions,
  ): Promise<MoveNetDetector> {
    const made: { dispose(): void }[] = [];
    try {
      const network = await compileOpGraph(gpu, graph.network, { label: "movenet" });
      made.push(network);
      const { mean, scale, offset } = graph.normalisation;
      const crop = await createCropResizeKernel(gpu, {
        size: graph.inputSize,
        normalization: {
          mean: [mean[0], mean[1], mean[2]],
          scale: [scale[0], scale[1], scale[2]],
          offset,
        },
      });
      made.push(crop);
      const decoder = await createMovenetDecoder(gpu, {
        height: graph.heatmapSize,
        width: graph.heatmapSize,
        prior: graph.centerPrior,
        distanceBias: graph.distanceBias,
        outputScale: graph.outputScale,
      });
      made.push(decoder);
      return new MoveNetDetector(gpu, ownsGpu, graph, modelType, options, {
        network,
        crop,
        decoder,
      });
    } catch (error) {
      for (const part of made) part.dispose();
      throw error;
    }
  }

  estimatePoses(
    image: PoseImage,
    config: EstimationConfig = {},
    timestampMs?: number,
  ): Promise<DetectedPose[]> {
    return this.#queue(() => this.#estimate(image, config, timestampMs));
  }

  get cropRegion(): CropRegion | null {
    return this.#video.cropRegion;
  }

  reset(): void {
    this.#resets++;
    this.#video.reset();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const b of [this.#cropUniforms, this.#result, this.#readback, this.#image]) b?.destroy();
    this.#buffers.destroy();
    this.#network.dispose();
    this.#crop.dispose();
    this.#decoder.dispose();
    if (this.#ownsGpu) this.#gpu.destroy();
  }

  async #estimate(
    image: PoseImage,
    config: EstimationConfig,
    timestampMs: number | undefined,
  ): Promise<DetectedPose[]> {
    if (this.#disposed) throw new InvalidInputError(DISPOSED_MESSAGE);
    const args = checkEstimationArgs(config, timestampMs);
    const { flipHorizontal, microseconds } = args;
    const video = args.timestampMs !== undefined;
    if (config.maxPoses !== undefined && config.maxPoses !== 1) {
      throw new InvalidInputError(
        `estimatePoses: MoveNet SinglePose finds one pose; maxPoses must be 1, got ` +
          showJson(config.maxPoses),
      );
    }
    const gpu = this.#gpu;
    gpu.assertAlive();
    const checked = checkPoseImage(image, gpu.maxStorageBufferBindingSize);
    const resets = this.#resets;
    const region = video
      ? this.#video.regionFor(checked.width, checked.height)
      : initCropRegion(checked.width, checked.height);
    const device = gpu.device;
    if (!this.#image || this.#image.size < checked.bytes.byteLength) {
      this.#image?.destroy();
      this.#image = device.createBuffer({
        label: "movenet image",
        size: Math.max(16, checked.bytes.byteLength),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      this.#cropGroup = this.#crop.bind(this.#image, this.#cropUniforms, this.#buffers.input);
    }
    device.queue.writeBuffer(this.#image, 0, checked.bytes);
    device.queue.writeBuffer(
      this.#cropUniforms,
      0,
      cropResizeUniforms({
        imageWidth: checked.width,
        imageHeight: checked.height,
        channels: checked.channels,
        box: cropBox(region),
        flipHorizontal,
      }, this.#crop.size),
    );
    const encoder = device.createCommandEncoder({ label: "movenet frame" });
    const pass = encoder.beginComputePass({ label: "movenet frame" });
    this.#crop.dispatch(pass, this.#cropGroup!);
    this.#network.encode(pass, this.#buffers);
    this.#decoder.dispatch(pass, this.#decodeGroup);
    pass.end();
    encoder.copyBufferToBuffer(this.#result, 0, this.#readback, 0, MOVENET_RESULT_BYTES);
    device.queue.submit([encoder.finish()]);
    await gpu.guard(this.#readback.mapAsync(GPUMapMode.READ));
    const output = new Float32Array(this.#readback.getMappedRange().slice(0));
    this.#readback.unmap();
    let fractions: ImageKeypoint[] | null = cropToImageFractions(output, region);
    const score = movenetPoseScore(fractions.map((k) => k.score));
    if (video && resets === this.#resets) {
      const { width, height } = checked;
      fractions = this.#video.update(fractions, score, region, microseconds, width, height);
    } else if (score < this.#minPoseScore) fractions = null;
    if (fractions === null) return [];
    const keypoints = fractionsToPixels(fractions, checked.width, checked.height);
    return [{
      score,
      keypoints: keypoints.map((k, i) => ({
        x: k.x,
        y: k.y,
        score: k.score,
        name: COCO_KEYPOINTS[i],
      })),
    }];
  }
}
