/**
 * PoseNet (MobileNetV1) on WebGPU with hand-written WGSL kernels.
 *
 * The kernels are usable on their own: each runs once on host `Float32Array`s in NHWC with
 * weights in TensorFlow layout, and each is checked against ONNX Runtime in the tests.
 *
 * ```ts
 * import { createGpuContext, depthwiseConv } from "./mod.ts";
 *
 * const gpu = await createGpuContext();
 * const input = { data: new Float32Array(33 * 33 * 96).fill(0.5), shape: [1, 33, 33, 96] };
 * const filter = { data: new Float32Array(3 * 3 * 96).fill(0.1), shape: [3, 3, 96, 1] };
 * const out = await depthwiseConv(input, filter, new Float32Array(96), {
 *   dilation: 2, relu6: true, context: gpu,
 * });
 * console.log(out.shape); // [1, 33, 33, 96]
 * gpu.destroy();
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./kernels/gpu_context.ts";
export * from "./kernels/host_tensor.ts";
export * from "./kernels/compute_kernel.ts";
export * from "./kernels/conv2d.ts";
export * from "./kernels/depthwise_conv.ts";
export * from "./kernels/pointwise_conv.ts";
export * from "./kernels/same_padding.ts";
export { channelSlots, packChannels, packedByteLength, unpackChannels } from "./kernels/layout.ts";
