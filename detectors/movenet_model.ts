/**
 * MoveNet SinglePose (Lightning, Thunder) on the GPU, behind pose-detection's detector interface.
 * One frame is one command buffer: the crop-and-resize of the image bytes to the model input (with
 * the graph's int cast and normalisation), the backbone, feature pyramid and heads as a compiled op
 * graph, and the decode in one dispatch; only the 17 × (y, x, score) result is read back.
 *
 * Each call treats its image as a still: the crop is pose-detection's first-frame crop, the
 * centred square of side min(width, height). Tracking the crop from frame to frame (pose-detection's
 * video behaviour) is not done yet, and neither is smoothing.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { showJson } from "../_describe.ts";
import {
  cropBox,
  cropToImageKeypoints,
  initCropRegion,
  movenetPoseScore,
} from "../decode/movenet_crop.ts";
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
import { createMoveNetMultiPoseDetector } from "./movenet_multipose_model.ts";

/** pose-detection's default `minPoseScore`. */
const DEFAULT_MIN_POSE_SCORE = 0.25;

const WEIGHTS: Record<MoveNetModelType, DefaultModel> = {
  "SinglePose.Lightning": "movenet-lightning",
  "SinglePose.Thunder": "movenet-thunder",
  "MultiPose.Lightning": "movenet-multipose",
};

const DISPOSED_MESSAGE = "this MoveNet detector was disposed; create a new one";

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
 */
export async function createMoveNetDetector(config: MoveNetConfig = {}): Promise<PoseDetector> {
  const modelType = config.modelType ?? "SinglePose.Lightning";
  if (!Object.hasOwn(WEIGHTS, modelType)) {
    throw new InvalidInputError(
      `MoveNet modelType must be ${Object.keys(WEIGHTS).map((k) => `"${k}"`).join(" or ")}, ` +
        `got ${showJson(modelType)}`,
    );
  }
  if (modelType === "MultiPose.Lightning") return await createMoveNetMultiPoseDetector(config);
  const minPoseScore = config.minPoseScore ?? DEFAULT_MIN_POSE_SCORE;
  if (typeof minPoseScore !== "number" || !(minPoseScore >= 0 && minPoseScore <= 1)) {
    throw new InvalidInputError(
      `MoveNet minPoseScore must be a number in [0, 1], got ${showJson(minPoseScore)}`,
    );
  }
  const source = config.modelUrl ??
    await fetchDefaultWeights(WEIGHTS[modelType], { onProgress: config.onProgress });
  const graph = await loadMoveNetGraph(source);
  const gpu = config.context ?? await createGpuContext({ provider: config.provider });
  try {
    return await MoveNetDetector.build(gpu, !config.context, graph, modelType, minPoseScore);
  } catch (error) {
    if (!config.context) gpu.destroy();
    throw error;
  }
}

class MoveNetDetector implements PoseDetector {
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
  #queue: Promise<unknown> = Promise.resolve();
  #disposed = false;

  private constructor(
    gpu: GpuContext,
    ownsGpu: boolean,
    graph: MoveNetGraph,
    modelType: MoveNetModelType,
    minPoseScore: number,
    parts: { network: CompiledGraph; crop: CropResizeKernel; decoder: MovenetDecoder },
  ) {
    this.model = `MoveNet ${modelType}`;
    this.inputResolution = Object.freeze({ width: graph.inputSize, height: graph.inputSize });
    this.#gpu = gpu;
    this.#ownsGpu = ownsGpu;
    this.#minPoseScore = minPoseScore;
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
    minPoseScore: number,
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
      return new MoveNetDetector(gpu, ownsGpu, graph, modelType, minPoseScore, {
        network,
        crop,
        decoder,
      });
    } catch (error) {
      for (const part of made) part.dispose();
      throw error;
    }
  }

  estimatePoses(image: PoseImage, config: EstimationConfig = {}): Promise<DetectedPose[]> {
    const run = async () => await this.#estimate(image, config);
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }

  reset(): void {}

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

  async #estimate(image: PoseImage, config: EstimationConfig): Promise<DetectedPose[]> {
    if (this.#disposed) throw new InvalidInputError(DISPOSED_MESSAGE);
    if (typeof config !== "object" || config === null) {
      throw new InvalidInputError(
        `estimatePoses: config must be an object, got ${showJson(config)}`,
      );
    }
    if (config.maxPoses !== undefined && config.maxPoses !== 1) {
      throw new InvalidInputError(
        `estimatePoses: MoveNet SinglePose finds one pose; maxPoses must be 1, got ` +
          showJson(config.maxPoses),
      );
    }
    const flipHorizontal = config.flipHorizontal ?? false;
    if (typeof flipHorizontal !== "boolean") {
      throw new InvalidInputError(
        `estimatePoses: flipHorizontal must be a boolean, got ${showJson(flipHorizontal)}`,
      );
    }
    const gpu = this.#gpu;
    gpu.assertAlive();
    const checked = checkPoseImage(image, gpu.maxStorageBufferBindingSize);
    const region = initCropRegion(checked.width, checked.height);
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
    const keypoints = cropToImageKeypoints(output, region, checked.width, checked.height);
    const score = movenetPoseScore(keypoints.map((k) => k.score));
    if (score < this.#minPoseScore) return [];
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
