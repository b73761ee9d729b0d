/**
 * A fused MobileNetV1 block as one kernel: depthwise 3x3 (stride 1, TF SAME, bias, ReLU6) then
 * pointwise C→N (bias, ReLU6), the depthwise result kept in workgroup memory; bit-identical to
 * `createDepthwiseConvKernel` then `createPointwiseConvKernel`. An experiment, not used by the
 * networks: on llvmpipe it is 1.12–1.21× the two default kernels' time at PoseNet's 384-channel
 * blocks and 1.4–1.5× the time with the `px16` pointwise, and compiles 2–3× slower
 * (bench/fused_block_bench.ts has the figures and why).
 *
 * @module
 */

import { fusedBlockLayout, fusedBlockShader } from "../shaders/fused_block.ts";
import { createGpuKernel, type GpuKernel } from "./compute_kernel.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import { checkInteger, checkTensor, padLastAxis } from "../runtime/host_tensor.ts";
import { channelSlots } from "../runtime/layout.ts";
import { InvalidInputError } from "../errors.ts";
import { samePadding } from "./same_padding.ts";
import { packPointwiseFilter } from "./_pointwise_filter.ts";

/** Most `vec4` of workgroup memory a kernel may use: 16 KiB, WebGPU's default limit. */
const WORKGROUP_VEC4S = 1024;

/**
 * Shape and tiles of a fused block.
 *
 * @example
 * ```ts
 * import type { FusedBlockSpec } from "./fused_block.ts";
 *
 * // PoseNet's 17x17 blocks at resolution 257, output stride 16.
 * const block: FusedBlockSpec = { height: 17, width: 17, inChannels: 384, outChannels: 384 };
 * ```
 */
export interface FusedBlockSpec {
  /** Rows (input = output). */
  readonly height: number;
  /** Columns. */
  readonly width: number;
  /** Input channels (depthwise in = out). */
  readonly inChannels: number;
  /** Output channels of the pointwise conv. */
  readonly outChannels: number;
  /** Pointwise pixels per invocation (default 16). */
  readonly tilePixels?: number;
  /**
   * Pointwise output `vec4` slots per invocation (default `max(3, ceil(outSlots / 32))`, at most
   * `outSlots`: a workgroup covers every output channel in at most 64 tiles).
   */
  readonly tileSlots?: number;
  /** Input slots per chunk in workgroup memory (default the most of 16 that fits 16 KiB). */
  readonly chunkSlots?: number;
  /** Depthwise pixels per work item (default 8). */
  readonly runPixels?: number;
}

/**
 * Builds a fused depthwise + pointwise kernel for one shape, with its weights on the GPU. The
 * weights are taken in the layouts `createDepthwiseConvKernel` and `createPointwiseConvKernel`
 * take, and packed as they pack them.
 *
 * @param gpu The device context.
 * @param spec Shape and tiles.
 * @param depthwiseFilter `[3, 3, inChannels, 1]`, flat.
 * @param depthwiseBias `inChannels` values.
 * @param pointwiseFilter `[1, 1, inChannels, outChannels]`, flat.
 * @param pointwiseBias `outChannels` values.
 * @returns The kernel: input `[height, width, inChannels]`, output `[height, width, outChannels]`.
 * @throws {InvalidInputError} On a bad shape, weight length or tile (one that needs more than 64
 *   tiles or 16 KiB of workgroup memory).
 *
 * @example
 * ```ts
 * import { createGpuContext } from "./mod.ts";
 * import { createFusedBlockKernel } from "./fused_block.ts";
 * import { runKernelOnce } from "./run_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const kernel = await createFusedBlockKernel(
 *   gpu,
 *   { height: 5, width: 5, inChannels: 8, outChannels: 4 },
 *   new Float32Array(9 * 8).fill(0.25),
 *   new Float32Array(8),
 *   new Float32Array(8 * 4).fill(0.125),
 *   new Float32Array(4).fill(-0.5),
 * );
 * const out = await runKernelOnce(gpu, kernel, new Float32Array(5 * 5 * 8).fill(1));
 * console.log(out[(2 * 5 + 2) * 4]); // 1.75: relu6(9 · 0.25) = 2.25, 8 · 2.25 · 0.125 − 0.5
 * kernel.dispose();
 * gpu.destroy();
 * ```
 */
export async function createFusedBlockKernel(
  gpu: GpuContext,
  spec: FusedBlockSpec,
  depthwiseFilter: Float32Array,
  depthwiseBias: Float32Array,
  pointwiseFilter: Float32Array,
  pointwiseBias: Float32Array,
): Promise<GpuKernel> {
  const height = checkInteger("height", spec.height, 1);
  const width = checkInteger("width", spec.width, 1);
  const cin = checkInteger("inChannels", spec.inChannels, 1);
  const cout = checkInteger("outChannels", spec.outChannels, 1);
  checkTensor("depthwise filter", { data: depthwiseFilter, shape: [3, 3, cin, 1] }, [3, 3, cin, 1]);
  checkTensor("depthwise bias", { data: depthwiseBias, shape: [cin] }, [cin]);
  checkTensor("pointwise filter", { data: pointwiseFilter, shape: [1, 1, cin, cout] }, [
    1,
    1,
    cin,
    cout,
  ]);
  checkTensor("pointwise bias", { data: pointwiseBias, shape: [cout] }, [cout]);
  const inSlots = channelSlots(cin);
  const outSlots = channelSlots(cout);
  const tilePixels = checkInteger("tilePixels", spec.tilePixels ?? 16, 1, 32);
  const tileSlots = Math.min(
    checkInteger(
      "tileSlots",
      spec.tileSlots ?? Math.min(8, Math.max(3, Math.ceil(outSlots / 32))),
      1,
      8,
    ),
    outSlots,
  );
  const runPixels = checkInteger("runPixels", spec.runPixels ?? 8, 1, 32);
  const padY = samePadding(height, 3, 1, 1);
  const padX = samePadding(width, 3, 1, 1);
  const base = {
    height,
    width,
    inSlots,
    outSlots,
    padTop: padY.before,
    padLeft: padX.before,
    tilePixels,
    tileSlots,
    runPixels,
    chunkSlots: 1,
  };
  const { slotTiles, groupPixels } = fusedBlockLayout(base);
  if (slotTiles > 64) {
    throw new InvalidInputError(
      `fused block: ${outSlots} output slots in tiles of ${tileSlots} make ${slotTiles} tiles, ` +
        `more than a 64-invocation workgroup holds; raise tileSlots`,
    );
  }
  const fitting = Math.floor(WORKGROUP_VEC4S / groupPixels);
  if (fitting < 1) {
    throw new InvalidInputError(
      `fused block: ${groupPixels} pixels per workgroup do not fit 16 KiB of workgroup memory; ` +
        `lower tilePixels`,
    );
  }
  const chunkSlots = Math.min(
    checkInteger("chunkSlots", spec.chunkSlots ?? Math.min(16, fitting), 1, 64),
    inSlots,
  );
  if (chunkSlots > fitting) {
    throw new InvalidInputError(
      `fused block: ${groupPixels} pixels × ${chunkSlots} slots need ${
        16 * groupPixels * chunkSlots
      } bytes of workgroup memory, more than 16 KiB; chunkSlots ≤ ${fitting}`,
    );
  }
  const params = { ...base, chunkSlots };
  const layout = fusedBlockLayout(params);
  const rows = packPointwiseFilter(pointwiseFilter, cin, cout);
  const depthwiseTaps = padLastAxis(depthwiseFilter, 9, cin, inSlots * 4);
  const filter = new Float32Array(depthwiseTaps.length + rows.length);
  filter.set(depthwiseTaps);
  filter.set(rows, depthwiseTaps.length);
  const bias = new Float32Array(4 * (inSlots + outSlots));
  bias.set(padLastAxis(depthwiseBias, 1, cin, inSlots * 4));
  bias.set(padLastAxis(pointwiseBias, 1, cout, outSlots * 4), inSlots * 4);
  return await createGpuKernel(gpu, {
    label: `fused block ${height}x${width} dw3x3 ${cin} relu6 → pw ${cout} relu6`,
    wgsl: fusedBlockShader(params),
    invocations: layout.workgroups * 64,
    filter,
    bias,
    inputShape: [height, width, cin],
    outputShape: [height, width, cout],
    flops: 2 * height * width * cin * (9 + cout),
    weightElements: 9 * cin + cin + cin * cout + cout,
  });
}
