/**
 * MoveNet MultiPose Lightning on the GPU, behind pose-detection's detector interface. One image is
 * one command buffer: pose-detection's resize (longer side `multiPoseMaxDimension`) and pad (to a
 * multiple of 32) with the int cast and the graph's normalisation, the backbone, feature pyramid
 * and six heads as a compiled op graph, and the graph's decode in one dispatch; only the
 * `K × 56` result (K = 6) is read back.
 *
 * The network's shapes follow the padded input's, so a network, decoder and buffers are built per
 * padded shape and the last {@linkcode MULTIPOSE_SHAPE_CACHE} shapes are kept.
 *
 * Poses come in the model's order (not sorted by score), those scoring at least `minPoseScore`
 * (pose-detection's `>=`), keypoints in image pixels and `box` in fractions of the padded input,
 * as pose-detection. On a video frame (a call with a timestamp) with `enableTracking` (default
 * true), pose-detection's tracker (`tracking/pose_tracker.ts`: box IoU or keypoint OKS) gives each
 * pose its track's `id`, and with `enableSmoothing` (default true) each track's keypoints go
 * through its own One-Euro filter, all while the keypoints are fractions of the image, as
 * pose-detection runs them; then they are scaled to pixels. A still image (no timestamp) is
 * neither tracked nor smoothed and leaves the tracks as they are.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import { showJson } from "../_describe.ts";
import {
  createMultiPoseDecoder,
  type MultiPoseDecoder,
} from "../decode/movenet_multipose_decode_gpu.ts";
import { type CompiledGraph, compileOpGraph, type GraphBuffers } from "../graph/compiled_graph.ts";
import { createCropResizeKernel, type CropResizeKernel } from "../kernels/crop_resize_kernel.ts";
import {
  type MultiPoseInputSize,
  multiPoseInputSize,
  resizePadUniforms,
} from "../kernels/multipose_input.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import {
  loadMoveNetMultiPoseGraph,
  type MoveNetMultiPoseGraph,
} from "../models/movenet_multipose_graph.ts";
import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import { checkPoseImage, type PoseImage } from "../runtime/pose_image.ts";
import {
  MULTIPOSE_BOX_INDEX,
  MULTIPOSE_ROW_FLOATS,
  MULTIPOSE_SCORE_INDEX,
} from "../shaders/movenet_multipose_decode.ts";
import {
  COCO_KEYPOINTS,
  type DetectedPose,
  type EstimationConfig,
  type MoveNetConfig,
  type PoseDetector,
} from "./detector_types.ts";
import { checkMultiPoseOptions } from "./_multipose_options.ts";
import { checkEstimationArgs } from "./_estimation_args.ts";
import { createPoseTracker, type PoseTracker } from "../tracking/pose_tracker.ts";
import { callsInOrder } from "./_call_queue.ts";

/** Padded input shapes whose network is kept compiled (the most recently used). */
export const MULTIPOSE_SHAPE_CACHE = 3;

const DISPOSED_MESSAGE = "this MoveNet MultiPose detector was disposed; create a new one";

/**
 * Builds a MoveNet MultiPose detector: `createDetector("MoveNet", { modelType:
 * "MultiPose.Lightning" })` calls this.
 *
 * @param config Weights, provider, thresholds, `multiPoseMaxDimension` and the tracking options.
 * @returns The detector.
 * @throws {InvalidInputError} For a bad option.
 * @throws {ModelLoadError} When the weights cannot be read or are not MoveNet MultiPose.
 *
 * @example
 * ```ts
 * import { createMoveNetMultiPoseDetector } from "./movenet_multipose_model.ts";
 * import { readImageFile } from "../cli/read_image.ts";
 *
 * const detector = await createMoveNetMultiPoseDetector({ modelType: "MultiPose.Lightning" });
 * const poses = await detector.estimatePoses(await readImageFile("tests/fixtures/photos/group4_standing.jpg"));
 * console.log(poses.length, poses[0].keypoints.length, poses[0].box!.xMin < poses[0].box!.xMax); // 3 17 true
 * detector.dispose();
 * ```
 */
export async function createMoveNetMultiPoseDetector(
  config: MoveNetConfig = {},
): Promise<PoseDetector> {
  const options = checkMultiPoseOptions(config);
  const source = config.modelUrl ??
    await fetchDefaultWeights("movenet-multipose", { onProgress: config.onProgress });
  const graph = await loadMoveNetMultiPoseGraph(source);
  const gpu = config.context ?? await createGpuContext({ provider: config.provider });
  return new MoveNetMultiPoseDetector(gpu, !config.context, graph, options);
}

/** One padded input shape's compiled parts and buffers. */
interface ShapeParts {
  readonly size: MultiPoseInputSize;
  readonly network: CompiledGraph;
  readonly crop: CropResizeKernel;
  readonly decoder: MultiPoseDecoder;
  readonly buffers: GraphBuffers;
  readonly uniforms: GPUBuffer;
  readonly result: GPUBuffer;
  readonly readback: GPUBuffer;
  readonly decodeGroup: GPUBindGroup;
  /** The crop's bind group and the image buffer it was made for. */
  cropGroup?: { readonly image: GPUBuffer; readonly group: GPUBindGroup };
}

function disposeParts(parts: Partial<ShapeParts>): void {
  for (const b of [parts.uniforms, parts.result, parts.readback]) b?.destroy();
  parts.buffers?.destroy();
  parts.network?.dispose();
  parts.crop?.dispose();
  parts.decoder?.dispose();
}

class MoveNetMultiPoseDetector implements PoseDetector {
  readonly model = "MoveNet MultiPose.Lightning";
  readonly inputResolution: { readonly width: number; readonly height: number };
  readonly #gpu: GpuContext;
  readonly #ownsGpu: boolean;
  readonly #graph: MoveNetMultiPoseGraph;
  readonly #options: ReturnType<typeof checkMultiPoseOptions>;
  /** Compiled shapes by `HxW`, least recently used first. */
  readonly #shapes = new Map<string, ShapeParts>();
  /** The video's tracks and their filters (with `enableTracking`). */
  readonly #tracker: PoseTracker | undefined;
  /** Counts `reset()` calls: a frame that was running during one is not tracked. */
  #generation = 0;
  #image: GPUBuffer | undefined;
  readonly #queue = callsInOrder();
  #disposed = false;

  constructor(
    gpu: GpuContext,
    ownsGpu: boolean,
    graph: MoveNetMultiPoseGraph,
    options: ReturnType<typeof checkMultiPoseOptions>,
  ) {
    const side = options.multiPoseMaxDimension;
    this.inputResolution = Object.freeze({ width: side, height: side });
    this.#gpu = gpu;
    this.#ownsGpu = ownsGpu;
    this.#graph = graph;
    this.#options = options;
    this.#tracker = options.enableTracking
      ? createPoseTracker({
        trackerType: options.trackerType,
        trackerConfig: options.trackerConfig,
        enableSmoothing: options.enableSmoothing,
      })
      : undefined;
  }

  estimatePoses(
    image: PoseImage,
    config: EstimationConfig = {},
    timestampMs?: number,
  ): Promise<DetectedPose[]> {
    return this.#queue(() => this.#estimate(image, config, timestampMs));
  }

  reset(): void {
    this.#generation++;
    this.#tracker?.reset();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const parts of this.#shapes.values()) disposeParts(parts);
    this.#shapes.clear();
    this.#image?.destroy();
    if (this.#ownsGpu) this.#gpu.destroy();
  }

  async #estimate(
    image: PoseImage,
    config: EstimationConfig,
    timestampMs: number | undefined,
  ): Promise<DetectedPose[]> {
    if (this.#disposed) throw new InvalidInputError(DISPOSED_MESSAGE);
    const { flipHorizontal, timestampMs: videoTimestampMs } = checkEstimationArgs(
      config,
      timestampMs,
    );
    const maxPoses = config.maxPoses ?? this.#graph.decode.maxInstances;
    if (!Number.isInteger(maxPoses) || maxPoses < 1) {
      throw new InvalidInputError(
        `estimatePoses: maxPoses must be a positive integer, got ${showJson(config.maxPoses)}`,
      );
    }
    const generation = this.#generation;
    const gpu = this.#gpu;
    gpu.assertAlive();
    const checked = checkPoseImage(image, gpu.maxStorageBufferBindingSize);
    const size = multiPoseInputSize(
      checked.width,
      checked.height,
      this.#options.multiPoseMaxDimension,
    );
    const parts = await this.#partsFor(size);
    const device = gpu.device;
    if (!this.#image || this.#image.size < checked.bytes.byteLength) {
      this.#image?.destroy();
      this.#image = device.createBuffer({
        label: "movenet multipose image",
        size: Math.max(16, checked.bytes.byteLength),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
    }
    if (parts.cropGroup?.image !== this.#image) {
      const group = parts.crop.bind(this.#image, parts.uniforms, parts.buffers.input);
      parts.cropGroup = { image: this.#image, group };
    }
    device.queue.writeBuffer(this.#image, 0, checked.bytes);
    device.queue.writeBuffer(
      parts.uniforms,
      0,
      resizePadUniforms({
        imageWidth: checked.width,
        imageHeight: checked.height,
        channels: checked.channels,
        flipHorizontal,
      }, size),
    );
    const encoder = device.createCommandEncoder({ label: "movenet multipose image" });
    const pass = encoder.beginComputePass({ label: "movenet multipose image" });
    parts.crop.dispatch(pass, parts.cropGroup.group);
    parts.network.encode(pass, parts.buffers);
    parts.decoder.dispatch(pass, parts.decodeGroup);
    pass.end();
    encoder.copyBufferToBuffer(parts.result, 0, parts.readback, 0, parts.decoder.resultBytes);
    device.queue.submit([encoder.finish()]);
    await gpu.guard(parts.readback.mapAsync(GPUMapMode.READ));
    const raw = new Float32Array(parts.readback.getMappedRange().slice(0));
    parts.readback.unmap();
    let poses = this.#toPoses(raw, size).slice(0, maxPoses);
    if (videoTimestampMs !== undefined && this.#tracker && generation === this.#generation) {
      poses = this.#tracker.apply(poses, videoTimestampMs);
    }
    return poses.map((pose) => ({
      ...pose,
      keypoints: pose.keypoints.map((k) => ({
        y: k.y * checked.height,
        x: k.x * checked.width,
        score: k.score,
        name: k.name,
      })),
    }));
  }

  /**
   * The raw `K × 56` result as pose-detection's poses: the instances scoring at least
   * `minPoseScore`, in the model's order, keypoints scaled from the padded input to fractions of
   * the image (pose-detection's first multiplication; pixels are its second), named.
   */
  #toPoses(raw: Float32Array, size: MultiPoseInputSize): DetectedPose[] {
    const poses: DetectedPose[] = [];
    const yScale = size.paddedHeight / size.resizedHeight;
    const xScale = size.paddedWidth / size.resizedWidth;
    for (let i = 0; i < raw.length / MULTIPOSE_ROW_FLOATS; i++) {
      const row = raw.subarray(i * MULTIPOSE_ROW_FLOATS, (i + 1) * MULTIPOSE_ROW_FLOATS);
      const score = row[MULTIPOSE_SCORE_INDEX];
      if (!(score >= this.#options.minPoseScore)) continue;
      const [yMin, xMin, yMax, xMax] = row.subarray(MULTIPOSE_BOX_INDEX, MULTIPOSE_BOX_INDEX + 4);
      poses.push({
        keypoints: COCO_KEYPOINTS.map((name, k) => ({
          y: row[3 * k] * yScale,
          x: row[3 * k + 1] * xScale,
          score: row[3 * k + 2],
          name,
        })),
        box: { yMin, xMin, yMax, xMax, width: xMax - xMin, height: yMax - yMin },
        score,
      });
    }
    return poses;
  }

  /** The compiled parts of one padded shape, built on first use; the least recent is evicted. */
  async #partsFor(size: MultiPoseInputSize): Promise<ShapeParts> {
    const key = `${size.paddedHeight}x${size.paddedWidth}`;
    const known = this.#shapes.get(key);
    if (known) {
      this.#shapes.delete(key);
      this.#shapes.set(key, known);
      return known;
    }
    const parts = await this.#build(size);
    this.#shapes.set(key, parts);
    while (this.#shapes.size > MULTIPOSE_SHAPE_CACHE) {
      const [oldest, evicted] = this.#shapes.entries().next().value!;
      this.#shapes.delete(oldest);
      disposeParts(evicted);
    }
    return parts;
  }

  async #build(size: MultiPoseInputSize): Promise<ShapeParts> {
    const gpu = this.#gpu;
    const { paddedHeight: height, paddedWidth: width } = size;
    const made: { -readonly [K in keyof ShapeParts]?: ShapeParts[K] } = {};
    try {
      const label = `movenet multipose ${height}x${width}`;
      const network = made.network = await compileOpGraph(gpu, this.#graph.network(height, width), {
        label,
      });
      const { mean, scale, offset } = this.#graph.normalisation;
      const crop = made.crop = await createCropResizeKernel(gpu, {
        size: height,
        width,
        normalization: {
          mean: [mean[0], mean[1], mean[2]],
          scale: [scale[0], scale[1], scale[2]],
          offset,
        },
      });
      const stride = this.#graph.decode.stride;
      const decoder = made.decoder = await createMultiPoseDecoder(gpu, {
        ...this.#graph.decode,
        height: height / stride,
        width: width / stride,
      });
      const buffers = made.buffers = network.createBuffers();
      const device = gpu.device;
      const uniforms = made.uniforms = device.createBuffer({
        label: `${label} resize uniforms`,
        size: crop.uniformBytes,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      const result = made.result = device.createBuffer({
        label: `${label} result`,
        size: decoder.outputBytes,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      const readback = made.readback = device.createBuffer({
        label: `${label} readback`,
        size: decoder.resultBytes,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      const [center, boxScale, boxOffset, heatmap, regress, offsetHead] = buffers.outputs;
      const decodeGroup = decoder.bind(
        { center, boxScale, boxOffset, heatmap, regress, offset: offsetHead },
        result,
      );
      return {
        size,
        network,
        crop,
        decoder,
        buffers,
        uniforms,
        result,
        readback,
        decodeGroup,
      };
    } catch (error) {
      disposeParts(made);
      throw error;
    }
  }
}
