/**
 * Per-kernel figures: every distinct layer PoseNet runs at one input size, plus preprocessing and
 * the fused decode, each timed on the GPU over many repetitions and reported as GFLOP/s and GB/s
 * (fewest bytes: every input read once, every output written once) and as a share of the
 * adapter's measured ceilings.
 *
 * @module
 */

import type { GpuContext } from "../runtime/gpu_context.ts";
import { createPreprocessKernel } from "../kernels/preprocess_kernel.ts";
import { packedByteLength } from "../runtime/layout.ts";
import type { KernelVariantChoice } from "../kernels/kernel_variants.ts";
import { createSinglePoseDecoder, SINGLE_POSE_RESULT_BYTES } from "../decode/single_pose_gpu.ts";
import { inputPaddingFor, inputTransformFor } from "../decode/input_transform.ts";
import {
  createPoseNetNetwork,
  fusedHeadsLayout,
  type PoseNetNetwork,
} from "../models/posenet_network.ts";
import type { PoseNetWeights } from "../models/posenet_weights.ts";
import type { OutputStride } from "../models/architecture.ts";
import { DECODE_UNIFORM_BYTES, decodeUniforms } from "../shaders/decode_single_pose.ts";
import { PREPROCESS_UNIFORM_BYTES, preprocessUniforms } from "../shaders/preprocess.ts";
import type { Ceilings } from "./ceilings.ts";
import type { WebGpuProvider } from "../runtime/webgpu_provider.ts";
import { type GpuTimer, summarize, type Summary, type TimingMethod } from "./gpu_timer.ts";

/** One kernel's figures. */
export interface KernelFigure {
  /** The WebGPU provider it ran on. */
  readonly provider: WebGpuProvider;
  /** How it was timed. */
  readonly timing: TimingMethod;
  /** Kernel label, e.g. `pointwise 33x33 384→384 relu6`. */
  readonly kernel: string;
  /** Network input size it was first seen at. */
  readonly resolution: number;
  /** Output stride of that network. */
  readonly outputStride: number;
  /** How many layers of the network have this shape. */
  readonly count: number;
  /** Milliseconds per dispatch. */
  readonly ms: Summary;
  /** FLOPs per dispatch. */
  readonly flops: number;
  /** Fewest bytes per dispatch. */
  readonly bytes: number;
  /** At the median time. */
  readonly gflops: number;
  /** At the median time. */
  readonly gbps: number;
  /** gflops / ceiling. */
  readonly shareOfFlopCeiling: number;
  /** gbps / ceiling. */
  readonly shareOfCopyCeiling: number;
}

/** A timed unit of work: what it costs and how to record it. */
export interface Timed {
  readonly label: string;
  readonly flops: number;
  readonly bytes: number;
  count: number;
  record(pass: GPUComputePassEncoder): void;
}

/**
 * The network's layers, one entry per distinct label (`count` layers share it), each bound to
 * fresh buffers from `storage` and ready to record.
 *
 * @param network The network.
 * @param storage Makes a storage buffer of at least `size` bytes.
 * @returns Label → what to time.
 */
export function distinctLayers(
  network: PoseNetNetwork,
  storage: (size: number) => GPUBuffer,
): Map<string, Timed> {
  const seen = new Map<string, Timed & { count: number }>();
  for (const layer of network.layers) {
    const existing = seen.get(layer.label);
    if (existing) {
      existing.count++;
      continue;
    }
    const bytes = (s: readonly [number, number, number]) => packedByteLength(s[0], s[1], s[2]);
    const group = layer.bind(
      storage(bytes(layer.inputShape)),
      storage(bytes(layer.outputShape)),
      layer.secondInputShape && storage(bytes(layer.secondInputShape)),
    );
    seen.set(layer.label, {
      label: layer.label,
      flops: layer.flops,
      bytes: layer.bytes,
      count: 1,
      record: (pass: GPUComputePassEncoder) => layer.dispatch(pass, group),
    });
  }
  return seen;
}

/**
 * Times every layer of the network at one input size and output stride whose shape is not in
 * `timed` yet (strides 8 and 32 add the dilated depthwise layers), preprocessing of a 640x480
 * RGBA image, and the fused single-pose decode.
 *
 * @param gpu Device.
 * @param timer Timer on the device.
 * @param weights Network weights.
 * @param resolution Square input size.
 * @param outputStride 8, 16 or 32.
 * @param runs Repetitions per kernel (the median is reported).
 * @param ceilings Measured ceilings.
 * @param variants Kernel variants to time.
 * @param timed Labels already timed; the new ones are added.
 * @returns One figure per kernel shape not timed before.
 */
export async function benchKernels(
  gpu: GpuContext,
  timer: GpuTimer,
  weights: PoseNetWeights,
  resolution: number,
  outputStride: OutputStride,
  runs: number,
  ceilings: Ceilings,
  variants: KernelVariantChoice,
  timed: Set<string>,
): Promise<KernelFigure[]> {
  const device = gpu.device;
  const network = await createPoseNetNetwork(gpu, weights, {
    inputHeight: resolution,
    inputWidth: resolution,
    outputStride,
    variants,
  });
  const buffers: GPUBuffer[] = [];
  const storage = (size: number) => {
    const b = device.createBuffer({
      size: Math.max(16, size),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.UNIFORM,
    });
    buffers.push(b);
    return b;
  };
  try {
    const work: Timed[] = [...distinctLayers(network, storage).values()];

    // Preprocessing: a 640x480 RGBA frame to the network input.
    const [imageW, imageH] = [640, 480];
    const preprocess = await createPreprocessKernel(gpu, resolution, resolution);
    const pad = inputPaddingFor(imageW, imageH, resolution, resolution);
    const frame = storage(PREPROCESS_UNIFORM_BYTES);
    device.queue.writeBuffer(
      frame,
      0,
      preprocessUniforms({
        imageWidth: imageW,
        imageHeight: imageH,
        channels: 4,
        padTop: pad.top,
        padLeft: pad.left,
        paddedHeight: imageH + pad.top + pad.bottom,
        paddedWidth: imageW + pad.left + pad.right,
      }),
    );
    const preprocessGroup = preprocess.bind(
      storage(imageW * imageH * 4),
      frame,
      storage(packedByteLength(resolution, resolution, 3)),
    );
    work.push({
      label: `preprocess ${imageW}x${imageH} RGBA → ${resolution}x${resolution}`,
      // Per output value: 4 taps, 3 lerps (2 FLOPs each), the normalisation (2 FLOPs).
      flops: resolution * resolution * 3 * 8,
      bytes: imageW * imageH * 4 + resolution * resolution * 3 * 4,
      count: 1,
      record: (pass) => preprocess.dispatch(pass, preprocessGroup),
    });

    // The fused decode over the heads.
    const cells = network.heatmapHeight * network.heatmapWidth;
    const decoder = await createSinglePoseDecoder(gpu, fusedHeadsLayout(network));
    const decodeFrame = storage(DECODE_UNIFORM_BYTES);
    device.queue.writeBuffer(
      decodeFrame,
      0,
      decodeUniforms(inputTransformFor(imageW, imageH, resolution, resolution, false)),
    );
    const decodeGroup = decoder.bind(
      storage(network.headsBytes),
      decodeFrame,
      storage(SINGLE_POSE_RESULT_BYTES),
    );
    work.push({
      label: `decode single pose ${network.heatmapHeight}x${network.heatmapWidth}`,
      // sigmoid (≈4 FLOPs) and a compare per heatmap value.
      flops: cells * 17 * 5,
      bytes: cells * 17 * 4 + 17 * 2 * 4 + SINGLE_POSE_RESULT_BYTES,
      count: 1,
      record: (pass) => decoder.dispatch(pass, decodeGroup),
    });

    const figures: KernelFigure[] = [];
    for (const w of work) {
      if (timed.has(w.label)) continue;
      timed.add(w.label);
      await timer.time(2, w.record); // pipeline warm-up
      const ms = summarize(await timer.time(runs, w.record));
      const gflops = w.flops / ms.median / 1e6;
      const gbps = w.bytes / ms.median / 1e6;
      figures.push({
        provider: gpu.adapter.provider,
        timing: timer.method,
        kernel: w.label,
        resolution,
        outputStride,
        count: w.count,
        ms,
        flops: w.flops,
        bytes: w.bytes,
        gflops,
        gbps,
        shareOfFlopCeiling: gflops / ceilings.gflops,
        shareOfCopyCeiling: gbps / ceilings.gbps,
      });
    }
    return figures;
  } finally {
    network.dispose();
    for (const b of buffers) b.destroy();
  }
}
