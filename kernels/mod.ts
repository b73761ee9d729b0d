/**
 * The kernel researcher's surface (`@posekit/posenet-webgpu/kernels`): every kernel family on its
 * own (built for one shape, or run once on host tensors), the op-graph runtime that chains them,
 * the networks as built, the layouts and the kernel variants the bench compares.
 *
 * ```ts
 * import { createGpuContext, OpGraphBuilder, compileOpGraph, runOpGraphOnce } from "./mod.ts";
 *
 * const g = new OpGraphBuilder("x", [8, 8, 16]);
 * const y = g.pointwise("expand", g.input, {
 *   activation: "relu6",
 *   filter: new Float32Array(16 * 32).fill(0.01),
 *   bias: new Float32Array(32),
 * });
 * const gpu = await createGpuContext();
 * const compiled = await compileOpGraph(gpu, g.finish([y]));
 * const [out] = await runOpGraphOnce(gpu, compiled, new Float32Array(8 * 8 * 16).fill(1));
 * console.log(out[0].toFixed(2), compiled.kernels[0].label); // "0.16" "pointwise 8x8 16→32 relu6"
 * compiled.dispose();
 * gpu.destroy();
 * ```
 *
 * @module
 */

export * from "../runtime/gpu_context.ts";
export * from "../runtime/webgpu_provider.ts";
export type { HostTensor } from "../runtime/host_tensor.ts";
export {
  computePipeline,
  createGpuKernel,
  type GpuKernel,
  type GpuKernelSource,
  type Hwc,
} from "./compute_kernel.ts";
export { runKernelOnce } from "./run_kernel.ts";
export * from "./conv2d.ts";
export * from "./depthwise_conv.ts";
export * from "./pointwise_conv.ts";
export * from "./resize_bilinear.ts";
export { type Activation, ACTIVATIONS } from "../shaders/wgsl_common.ts";
export { type Residual, RESIDUALS } from "../shaders/residual.ts";
export * from "./same_padding.ts";
export { channelSlots, packChannels, packedByteLength, unpackChannels } from "../runtime/layout.ts";
export * from "./kernel_variants.ts";
export * from "../graph/op_graph.ts";
export { fuseEpilogues } from "../graph/fuse_epilogues.ts";
export { type BufferPlan, planBuffers } from "../graph/buffer_plan.ts";
export * from "../graph/compiled_graph.ts";
export {
  createPoseNetNetwork,
  HEAD_LAYOUT,
  type NetworkBuffers,
  type NetworkConfig,
  type PoseNetNetwork,
  runNetworkOnce,
  splitHeads,
} from "../models/posenet_network.ts";
export {
  loadMoveNetGraph,
  MOVENET_HEADS,
  type MoveNetGraph,
  type MoveNetNormalisation,
  parseMoveNetGraph,
} from "../models/movenet_graph.ts";
export {
  loadMoveNetMultiPoseGraph,
  type MoveNetMultiPoseGraph,
  MULTIPOSE_HEADS,
  type MultiPoseDecodeConstants,
  parseMoveNetMultiPoseGraph,
} from "../models/movenet_multipose_graph.ts";
export type { ShardData } from "../models/_tfjs_manifest.ts";
export { type LayerSchedule, resolveLayerSchedule } from "../models/architecture.ts";
export { validateInputResolution, type ValidInputResolution } from "../models/input_resolution.ts";
