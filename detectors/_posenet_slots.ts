/**
 * The slots of a PoseNet model: each frame (image) in flight runs in a slot, the GPU buffers of
 * one image from its bytes to its keypoints, so concurrent calls never share intermediate tensors.
 * {@linkcode SlotPool} hands slots out, makes them lazily up to a limit, queues callers when all
 * are busy, and destroys them when the model is disposed; {@linkcode fitImage},
 * {@linkcode writeInputs} and {@linkcode readHeads} fill a slot and read it back.
 *
 * @module
 */

import { DisposedError } from "../errors.ts";
import type { MultiPoseBuffers } from "../decode/multi_pose_gpu.ts";
import { SINGLE_POSE_RESULT_BYTES, type SinglePoseDecoder } from "../decode/single_pose_gpu.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import { scopedGpuWork } from "../runtime/_error_scope.ts";
import type { PreprocessKernel } from "../kernels/preprocess_kernel.ts";
import type { PoseNetHeads } from "../decode/heads.ts";
import { inputPaddingFor, inputTransformFor } from "../decode/input_transform.ts";
import { DECODE_UNIFORM_BYTES, decodeUniforms } from "../shaders/decode_single_pose.ts";
import { PREPROCESS_UNIFORM_BYTES, preprocessUniforms } from "../shaders/preprocess.ts";
import { type NetworkBuffers, type PoseNetNetwork, splitHeads } from "../models/posenet_network.ts";
import type { CheckedImage } from "../runtime/pose_image.ts";
import type { InputResolution } from "./posenet_config.ts";
import { imageBufferBytes } from "./_image_buffer.ts";

/**
 * Buffers every slot has from the start: the network's input, two activation buffers and heads
 * (`createBuffers`), plus the preprocess and decode uniforms, the keypoints and their readback.
 */
const SLOT_BUFFERS = 8;
/** Params, candidates and readback of a slot's multi-pose buffers (`createBuffers`). */
const MULTI_POSE_SLOT_BUFFERS = 3;

/**
 * GPU buffers of one image in flight.
 *
 * @example
 * ```ts ignore
 * const slot: PoseNetSlot = createSlot(gpu, network, decoder);
 * console.log(slotBufferCount(slot)); // 8: the image buffer comes with the first image
 * destroySlot(slot);
 * ```
 */
export interface PoseNetSlot {
  /** The network's input, activations and heads. */
  readonly network: NetworkBuffers;
  /** The image bytes, grown to fit (`detectors/_image_buffer.ts`); made with the first image. */
  image: GPUBuffer | undefined;
  /** The preprocess pass bound to `image`. */
  imageBindGroup: GPUBindGroup | undefined;
  /** The preprocess shader's uniforms (`preprocessUniforms`). */
  readonly preprocessUniforms: GPUBuffer;
  /** The single-pose decode's uniforms (`decodeUniforms`). */
  readonly decodeUniforms: GPUBuffer;
  /** The single-pose decode's output. */
  readonly keypoints: GPUBuffer;
  /** Where `keypoints` is read back. */
  readonly keypointsReadback: GPUBuffer;
  /** The single-pose decode bound to the heads, uniforms and keypoints. */
  readonly decodeBindGroup: GPUBindGroup;
  /** Where the heads are read back; made with the first `predictHeads` or CPU fallback. */
  headsReadback: GPUBuffer | undefined;
  /** The multi-pose decode's buffers; made with the first multi-pose call. */
  multiPose: MultiPoseBuffers | undefined;
}

/**
 * Makes a slot's buffers (the image buffer, the heads readback and the multi-pose buffers come
 * later, when first needed).
 *
 * @param gpu The device context.
 * @param network The network whose buffers the slot holds.
 * @param decoder The single-pose decode, bound to the slot's heads.
 * @returns The slot.
 *
 * @example
 * ```ts ignore
 * const slot = createSlot(gpu, network, decoder);
 * ```
 */
export function createSlot(
  gpu: GpuContext,
  network: PoseNetNetwork,
  decoder: SinglePoseDecoder,
): PoseNetSlot {
  const device = gpu.device;
  const uniform = (label: string, size: number) =>
    device.createBuffer({ label, size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const buffers = network.createBuffers();
  const decodeUniforms = uniform("posenet decode uniforms", DECODE_UNIFORM_BYTES);
  const keypoints = device.createBuffer({
    label: "posenet keypoints",
    size: SINGLE_POSE_RESULT_BYTES,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  });
  return {
    network: buffers,
    image: undefined,
    imageBindGroup: undefined,
    preprocessUniforms: uniform("posenet preprocess uniforms", PREPROCESS_UNIFORM_BYTES),
    decodeUniforms,
    keypoints,
    keypointsReadback: device.createBuffer({
      label: "posenet keypoints readback",
      size: SINGLE_POSE_RESULT_BYTES,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    }),
    decodeBindGroup: decoder.bind(buffers.heads, decodeUniforms, keypoints),
    headsReadback: undefined,
    multiPose: undefined,
  };
}

/**
 * Destroys every buffer of a slot.
 *
 * @param slot The slot.
 *
 * @example
 * ```ts ignore
 * destroySlot(slot);
 * ```
 */
export function destroySlot(slot: PoseNetSlot): void {
  slot.network.destroy();
  slot.multiPose?.destroy();
  for (
    const b of [
      slot.image,
      slot.preprocessUniforms,
      slot.decodeUniforms,
      slot.keypoints,
      slot.keypointsReadback,
      slot.headsReadback,
    ]
  ) {
    b?.destroy();
  }
}

/**
 * GPU buffers a slot holds now: 8, plus the image, the heads readback and the 3 multi-pose
 * buffers once made.
 *
 * @param slot The slot.
 * @returns Its live buffer count.
 *
 * @example
 * ```ts ignore
 * console.log(slotBufferCount(createSlot(gpu, network, decoder))); // 8
 * ```
 */
export function slotBufferCount(slot: PoseNetSlot): number {
  return SLOT_BUFFERS + (slot.image ? 1 : 0) + (slot.headsReadback ? 1 : 0) +
    (slot.multiPose ? MULTI_POSE_SLOT_BUFFERS : 0);
}

/**
 * Makes sure the slot's image buffer holds `image`: grown, never shrunk, to a power of two (see
 * detectors/_image_buffer.ts), inside error scopes so that a refused buffer is a GpuError.
 *
 * @param gpu The device context.
 * @param preprocess The preprocess pass, bound to the new buffer.
 * @param slot The slot.
 * @param image The checked image.
 *
 * @example
 * ```ts ignore
 * await fitImage(gpu, preprocess, slot, image);
 * writeInputs(gpu, slot, image, net.inputResolution, false);
 * ```
 */
export async function fitImage(
  gpu: GpuContext,
  preprocess: PreprocessKernel,
  slot: PoseNetSlot,
  image: CheckedImage,
): Promise<void> {
  if (slot.image && slot.image.size >= image.bytes.byteLength) return;
  slot.image?.destroy();
  slot.image = undefined;
  slot.imageBindGroup = undefined;
  const device = gpu.device;
  const size = imageBufferBytes(image.bytes.byteLength, gpu.maxStorageBufferBindingSize);
  const made = await scopedGpuWork(gpu, `the image buffer (${size} bytes)`, () => {
    const buffer = device.createBuffer({
      label: "posenet image",
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    return {
      buffer,
      bindGroup: preprocess.bind(buffer, slot.preprocessUniforms, slot.network.input),
    };
  }, (m) => m.buffer.destroy());
  slot.image = made.buffer;
  slot.imageBindGroup = made.bindGroup;
}

/**
 * Uploads the image and the slot's uniforms (the image buffer fits: {@linkcode fitImage}).
 *
 * @param gpu The device context.
 * @param slot The slot.
 * @param image The checked image.
 * @param inputResolution The network's input size.
 * @param flip Whether the decode mirrors the output.
 *
 * @example
 * ```ts ignore
 * writeInputs(gpu, slot, image, { width: 257, height: 257 }, false);
 * ```
 */
export function writeInputs(
  gpu: GpuContext,
  slot: PoseNetSlot,
  image: CheckedImage,
  inputResolution: InputResolution,
  flip: boolean,
): void {
  const device = gpu.device;
  const { width: inW, height: inH } = inputResolution;
  const pad = inputPaddingFor(image.width, image.height, inW, inH);
  const transform = inputTransformFor(image.width, image.height, inW, inH, flip);
  device.queue.writeBuffer(slot.image!, 0, image.bytes);
  device.queue.writeBuffer(
    slot.preprocessUniforms,
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
  device.queue.writeBuffer(slot.decodeUniforms, 0, decodeUniforms(transform));
}

/**
 * Copies the slot's heads back, at the end of `encoder` (which it submits) or, by default, after
 * the work already submitted, and returns them.
 *
 * @param gpu The device context.
 * @param network The network whose heads the slot holds.
 * @param slot The slot.
 * @param encoder Work to submit before the copy; default: a new, empty encoder.
 * @returns The heads in NHWC.
 *
 * @example
 * ```ts ignore
 * const heads = await readHeads(gpu, network, slot);
 * ```
 */
export async function readHeads(
  gpu: GpuContext,
  network: PoseNetNetwork,
  slot: PoseNetSlot,
  encoder: GPUCommandEncoder = gpu.device.createCommandEncoder({
    label: "posenet heads readback",
  }),
): Promise<PoseNetHeads> {
  const device = gpu.device;
  slot.headsReadback ??= device.createBuffer({
    label: "posenet heads readback",
    size: network.headsBytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  encoder.copyBufferToBuffer(slot.network.heads, 0, slot.headsReadback, 0, network.headsBytes);
  device.queue.submit([encoder.finish()]);
  await gpu.guard(slot.headsReadback.mapAsync(GPUMapMode.READ));
  const fused = new Float32Array(slot.headsReadback.getMappedRange().slice(0));
  slot.headsReadback.unmap();
  return splitHeads(fused, network.heatmapHeight, network.heatmapWidth, network.outputStride);
}

/**
 * Up to `max` slots, made when first needed, each lent to one call at a time; calls beyond that
 * wait, in order, for a slot to be released. After {@linkcode SlotPool.close} idle slots are
 * destroyed at once and busy ones when released; waiting and later calls reject with
 * `DisposedError`.
 *
 * @example
 * ```ts ignore
 * const pool = new SlotPool(gpu, 3, () => createSlot(gpu, network, decoder), message, onDrained);
 * const slot = await pool.acquire();
 * try {
 *   // encode and submit the image's work on the slot's buffers
 * } finally {
 *   pool.release(slot);
 * }
 * ```
 */
export class SlotPool {
  readonly #context: GpuContext;
  readonly #max: number;
  readonly #create: () => PoseNetSlot;
  readonly #disposedMessage: string;
  readonly #onDrained: () => void;
  #slots: PoseNetSlot[] = [];
  #free: PoseNetSlot[] = [];
  /** Calls waiting for a slot; woken with a slot, or undefined to retry (or see `close()`). */
  #waiting: ((slot: PoseNetSlot | undefined) => void)[] = [];
  /** Slots being made (their buffers checked by error scopes). */
  #creating = 0;
  #closed = false;

  /**
   * @param context The device context the slots' buffers are made on.
   * @param max Most slots at once (`maxFramesInFlight`).
   * @param create Makes a slot's buffers (inside error scopes).
   * @param disposedMessage The message of the `DisposedError` after `close()`.
   * @param onDrained Called when the last busy slot is released after `close()`.
   */
  constructor(
    context: GpuContext,
    max: number,
    create: () => PoseNetSlot,
    disposedMessage: string,
    onDrained: () => void,
  ) {
    this.#context = context;
    this.#max = max;
    this.#create = create;
    this.#disposedMessage = disposedMessage;
    this.#onDrained = onDrained;
  }

  /** Whether {@linkcode SlotPool.close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The slots made and not destroyed yet, busy or idle. */
  get slots(): readonly PoseNetSlot[] {
    return this.#slots;
  }

  /**
   * A slot for one call: an idle one, a new one while fewer than `max` exist, or the next one
   * released.
   *
   * @returns The slot; give it back with {@linkcode SlotPool.release}.
   * @throws {DisposedError} When the pool is or gets closed before a slot is free.
   * @throws {GpuError} When the GPU refuses a new slot's buffers.
   */
  async acquire(): Promise<PoseNetSlot> {
    while (true) {
      if (this.#closed) {
        throw new DisposedError(this.#disposedMessage);
      }
      let slot = this.#free.pop();
      if (!slot && this.#slots.length + this.#creating < this.#max) {
        // A slot the GPU refuses (out of memory, validation) is a GpuError, not a frame that runs
        // on invalid buffers.
        this.#creating++;
        try {
          slot = await scopedGpuWork(
            this.#context,
            "a frame's GPU buffers",
            this.#create,
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
      slot ??= await new Promise<PoseNetSlot | undefined>((resolve) => this.#waiting.push(resolve));
      if (!slot && !this.#closed) continue; // woken to try making a slot
      if (this.#closed || !slot) {
        if (slot) this.release(slot);
        throw new DisposedError(this.#disposedMessage);
      }
      return slot;
    }
  }

  /**
   * Gives a slot back: to the next waiting call, else to the idle ones; after `close()` it is
   * destroyed (and `onDrained` called if it was the last).
   *
   * @param slot A slot from {@linkcode SlotPool.acquire}.
   */
  release(slot: PoseNetSlot): void {
    if (this.#closed) {
      destroySlot(slot);
      this.#slots = this.#slots.filter((s) => s !== slot);
      if (this.#slots.length === 0) this.#onDrained();
      return;
    }
    const next = this.#waiting.shift();
    if (next) next(slot);
    else this.#free.push(slot);
  }

  /**
   * Closes the pool: destroys the idle slots and rejects the waiting calls with `DisposedError`.
   *
   * @returns Whether no slot is busy (so `onDrained` will not be called).
   */
  close(): boolean {
    this.#closed = true;
    for (const slot of this.#free) destroySlot(slot);
    this.#slots = this.#slots.filter((s) => !this.#free.includes(s));
    this.#free = [];
    for (const wake of this.#waiting.splice(0)) wake(undefined);
    return this.#slots.length === 0;
  }
}
