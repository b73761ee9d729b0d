/**
 * A compute kernel built for one shape: a pipeline whose WGSL has the shape baked in as constants,
 * the layer's packed weights on the GPU, and what one dispatch costs. Conv2d, depthwise, pointwise
 * and resize kernels are all of this form; they differ in the shader and the weight packing.
 *
 * Every kernel binds group 0 as `shaders/wgsl_common.ts`'s `BINDING` says: 0 input, 1 filter,
 * 2 bias, 3 output, 4 a second input. A kernel without weights or bias has no binding 1 or 2; one
 * with a second input (a fused residual, the other operand of an add) says its shape in
 * {@linkcode GpuKernel.secondInputShape} and must be bound with it.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import { packedByteLength } from "../runtime/layout.ts";
import { BINDING, WORKGROUP_SIZE } from "../shaders/wgsl_common.ts";
import { scopedGpuWork } from "../runtime/_error_scope.ts";

/**
 * Height, width and channels of a batch-1 NHWC tensor.
 *
 * @example
 * ```ts
 * import type { Hwc } from "./compute_kernel.ts";
 * const heads: Hwc = [17, 17, 120];
 * ```
 */
export type Hwc = readonly [height: number, width: number, channels: number];

/**
 * One layer's kernel, ready to be bound to buffers and dispatched.
 *
 * @example Bind to your own buffers and dispatch
 * ```ts
 * import { createGpuContext, createPointwiseConvKernel, packChannels, packedByteLength, unpackChannels } from "./mod.ts";
 *
 * const gpu = await createGpuContext();
 * const [h, w, cin, cout] = [4, 4, 8, 8];
 * const kernel = await createPointwiseConvKernel(
 *   gpu,
 *   { height: h, width: w, inChannels: cin, outChannels: cout, activation: "relu6" },
 *   new Float32Array(cin * cout).fill(0.125),
 *   new Float32Array(cout),
 * );
 * const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
 * const input = gpu.device.createBuffer({ size: packedByteLength(h, w, cin), usage });
 * const output = gpu.device.createBuffer({ size: packedByteLength(h, w, cout), usage });
 * const readback = gpu.device.createBuffer({
 *   size: output.size,
 *   usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
 * });
 * gpu.device.queue.writeBuffer(input, 0, packChannels(new Float32Array(h * w * cin).fill(1), h * w, cin));
 *
 * const encoder = gpu.device.createCommandEncoder();
 * const pass = encoder.beginComputePass();
 * kernel.dispatch(pass, kernel.bind(input, output)); // any number of layers can share one pass
 * pass.end();
 * encoder.copyBufferToBuffer(output, 0, readback, 0, output.size);
 * gpu.device.queue.submit([encoder.finish()]);
 * await gpu.guard(readback.mapAsync(GPUMapMode.READ));
 * const out = unpackChannels(new Float32Array(readback.getMappedRange().slice(0)), h * w, cout);
 * console.log(out[0], kernel.flops); // 1 (8 inputs of 1 × 0.125) 2048
 * kernel.dispose();
 * gpu.destroy();
 * ```
 */
export interface GpuKernel {
  /** A readable name, e.g. `pointwise 33x33 384→384 relu6`. */
  readonly label: string;
  /** Input shape (NHWC4 on the GPU). */
  readonly inputShape: Hwc;
  /**
   * Shape of the second input (NHWC4, binding 4) for a kernel that reads one, e.g. a pointwise
   * conv with a fused residual; undefined for a kernel with one input.
   */
  readonly secondInputShape?: Hwc;
  /** Output shape (NHWC4 on the GPU). */
  readonly outputShape: Hwc;
  /** Floating-point operations of one dispatch (2 per multiply-add). */
  readonly flops: number;
  /**
   * Fewest bytes one dispatch must move: inputs, weights and bias read once, output written once.
   */
  readonly bytes: number;
  /** The generated WGSL. */
  readonly wgsl: string;
  /**
   * Makes the bind group that runs this kernel from `input` (and `second`) to `output`. Each buffer
   * must hold at least its tensor's NHWC4 bytes.
   *
   * @param input NHWC4 buffer of {@linkcode GpuKernel.inputShape}.
   * @param output NHWC4 buffer of {@linkcode GpuKernel.outputShape}.
   * @param second NHWC4 buffer of {@linkcode GpuKernel.secondInputShape}: required when the kernel
   *   has one, refused when it has none.
   * @throws {InvalidInputError} When `second` is missing or unexpected, or a buffer is too small.
   */
  bind(input: GPUBuffer, output: GPUBuffer, second?: GPUBuffer): GPUBindGroup;
  /**
   * Records the dispatch into a compute pass.
   *
   * @param pass An open compute pass.
   * @param bindGroup A bind group from {@linkcode GpuKernel.bind}.
   */
  dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup): void;
  /** Frees the kernel's weight buffers. */
  dispose(): void;
}

/**
 * What a kernel family hands {@linkcode createGpuKernel}.
 *
 * @example A kernel family of one's own
 * ```ts
 * import { createGpuContext, createGpuKernel, type GpuKernelSource } from "./mod.ts";
 * import { runKernelOnce } from "./run_kernel.ts";
 * import { entryPoint } from "../shaders/wgsl_common.ts";
 *
 * // A toy family: out = in · weights[0] + bias[0] per vec4 (filter and bias are 4 floats each).
 * const [h, w, c] = [2, 3, 4];
 * const source: GpuKernelSource = {
 *   label: "scale",
 *   wgsl: `@group(0) @binding(0) var<storage, read> input: array<vec4<f32>>;
 * @group(0) @binding(1) var<storage, read> weights: array<vec4<f32>>;
 * @group(0) @binding(2) var<storage, read> bias: array<vec4<f32>>;
 * @group(0) @binding(3) var<storage, read_write> output: array<vec4<f32>>;
 * ${entryPoint(h * w)}
 *   output[index] = input[index] * weights[0] + bias[0];
 * }`,
 *   invocations: h * w,
 *   filter: new Float32Array([2, 2, 2, 2]),
 *   bias: new Float32Array([0, 0, 0, 1]),
 *   inputShape: [h, w, c],
 *   outputShape: [h, w, c],
 *   flops: 2 * h * w * c,
 *   weightElements: 8,
 * };
 * const gpu = await createGpuContext();
 * const kernel = await createGpuKernel(gpu, source);
 * const out = await runKernelOnce(gpu, kernel, new Float32Array(h * w * c).fill(1));
 * console.log(out.slice(0, 4)); // [2, 2, 2, 3]
 * kernel.dispose();
 * gpu.destroy();
 * ```
 */
export interface GpuKernelSource {
  /** Readable name. */
  readonly label: string;
  /** Generated WGSL. */
  readonly wgsl: string;
  /** Invocations that do work. */
  readonly invocations: number;
  /** Packed filter, laid out as the shader reads it (binding 1); omitted by a weightless kernel. */
  readonly filter?: Float32Array<ArrayBuffer>;
  /** Packed bias, `vec4` slots (binding 2); omitted by a kernel without bias. */
  readonly bias?: Float32Array<ArrayBuffer>;
  /** Input shape. */
  readonly inputShape: Hwc;
  /** Shape of a second input (binding 4); omitted by a kernel with one input. */
  readonly secondInputShape?: Hwc;
  /** Output shape. */
  readonly outputShape: Hwc;
  /** FLOPs of one dispatch. */
  readonly flops: number;
  /** Unpadded weight + bias element count, for the byte count (0 for a weightless kernel). */
  readonly weightElements: number;
}

const pipelineCache = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/**
 * Compiles (or reuses) the compute pipeline for `wgsl`. Pipelines are cached per device by source,
 * so layers of the same shape share one. A shader that does not compile is an error here, not a
 * silently skipped dispatch later.
 *
 * @param gpu The device context.
 * @param wgsl Shader source with a `main` entry point.
 * @param label Label for errors and debuggers.
 * @returns The pipeline.
 * @throws {Error} With the compiler's message when the WGSL is invalid.
 *
 * @example
 * ```ts
 * import { computePipeline, createGpuContext } from "./mod.ts";
 * import { pointwiseConvShader } from "../shaders/pointwise_conv.ts";
 *
 * const gpu = await createGpuContext();
 * const wgsl = pointwiseConvShader({
 *   pixels: 289,
 *   inSlots: 96,
 *   outSlots: 96,
 *   activation: "relu6",
 *   tilePixels: 8,
 *   tileSlots: 4,
 * });
 * const pipeline = await computePipeline(gpu, wgsl, "pointwise");
 * console.log(pipeline === await computePipeline(gpu, wgsl, "pointwise")); // true: cached
 * gpu.destroy();
 * ```
 */
export async function computePipeline(
  gpu: GpuContext,
  wgsl: string,
  label: string,
): Promise<GPUComputePipeline> {
  gpu.assertAlive();
  let cache = pipelineCache.get(gpu.device);
  if (!cache) {
    cache = new Map();
    pipelineCache.set(gpu.device, cache);
  }
  let pipeline = cache.get(wgsl);
  if (!pipeline) {
    gpu.device.pushErrorScope("validation");
    const module = gpu.device.createShaderModule({ label, code: wgsl });
    pipeline = gpu.device.createComputePipeline({
      label,
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    const error = await gpu.guard(gpu.device.popErrorScope());
    if (error) throw new Error(`${label}: shader did not compile: ${error.message}`);
    cache.set(wgsl, pipeline);
  }
  return pipeline;
}

/**
 * Workgroup counts for `invocations`, spilling into y when x would pass the device limit.
 *
 * @param invocations Invocations that do work.
 * @param maxPerDimension The device's `maxComputeWorkgroupsPerDimension`.
 * @returns `[x, y]` workgroup counts.
 *
 * @example
 * ```ts
 * import { workgroupGrid } from "./compute_kernel.ts";
 * workgroupGrid(100, 65535); // [2, 1]
 * ```
 */
export function workgroupGrid(invocations: number, maxPerDimension: number): [number, number] {
  const groups = Math.max(1, Math.ceil(invocations / WORKGROUP_SIZE));
  if (groups <= maxPerDimension) return [groups, 1];
  const y = Math.ceil(groups / maxPerDimension);
  const x = Math.ceil(groups / y);
  if (y > maxPerDimension) {
    throw new InvalidInputError(`dispatch of ${invocations} invocations exceeds the device's grid`);
  }
  return [x, y];
}

/**
 * Uploads a float array into a new storage buffer.
 *
 * @param gpu The device context.
 * @param data Values to upload.
 * @param label Buffer label.
 * @returns The buffer (`STORAGE | COPY_DST`).
 *
 * @example
 * ```ts
 * import { createGpuContext } from "./mod.ts";
 * import { uploadStorage } from "./compute_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const buffer = uploadStorage(gpu, new Float32Array([1, 2, 3, 4]), "bias");
 * console.log(buffer.size); // 16
 * buffer.destroy();
 * gpu.destroy();
 * ```
 */
export function uploadStorage(
  gpu: GpuContext,
  data: Float32Array<ArrayBuffer>,
  label: string,
): GPUBuffer {
  const buffer = gpu.device.createBuffer({
    label,
    size: Math.max(16, data.byteLength),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  gpu.device.queue.writeBuffer(buffer, 0, data);
  return buffer;
}

/**
 * Builds a {@linkcode GpuKernel} from a kernel family's shader and packed weights.
 *
 * @param gpu The device context.
 * @param source Shader, weights and shapes.
 * @returns The kernel.
 * @throws {InvalidInputError} When a tensor is larger than the device can bind.
 * @throws {GpuError} When the GPU refuses the weight buffers (out of memory, validation).
 *
 * @example A weightless kernel (no bindings 1 and 2; GpuKernelSource shows one with weights)
 * ```ts
 * import { createGpuContext, createGpuKernel } from "./mod.ts";
 * import { runKernelOnce } from "./run_kernel.ts";
 * import { entryPoint } from "../shaders/wgsl_common.ts";
 *
 * const gpu = await createGpuContext();
 * const kernel = await createGpuKernel(gpu, {
 *   label: "double",
 *   wgsl: `@group(0) @binding(0) var<storage, read> input: array<vec4<f32>>;
 * @group(0) @binding(3) var<storage, read_write> output: array<vec4<f32>>;
 * ${entryPoint(1)}
 *   output[index] = 2.0 * input[index];
 * }`,
 *   invocations: 1,
 *   inputShape: [1, 1, 4],
 *   outputShape: [1, 1, 4],
 *   flops: 4,
 *   weightElements: 0,
 * });
 * console.log(await runKernelOnce(gpu, kernel, new Float32Array([1, 2, 3, 4]))); // [2, 4, 6, 8]
 * kernel.dispose();
 * gpu.destroy();
 * ```
 */
export async function createGpuKernel(
  gpu: GpuContext,
  source: GpuKernelSource,
): Promise<GpuKernel> {
  const shapes = [["input", source.inputShape], ["output", source.outputShape]] as [string, Hwc][];
  if (source.secondInputShape) shapes.push(["second input", source.secondInputShape]);
  for (const [what, shape] of shapes) {
    const bytes = packedByteLength(shape[0], shape[1], shape[2]);
    if (bytes > gpu.maxStorageBufferBindingSize) {
      throw new InvalidInputError(
        `${source.label}: ${what} ${shape.join("x")} needs ${bytes} bytes, more than the ` +
          `device's maxStorageBufferBindingSize of ${gpu.maxStorageBufferBindingSize}`,
      );
    }
  }
  const pipeline = await computePipeline(gpu, source.wgsl, source.label);
  // An out-of-memory or validation error of the uploads is a GpuError here, not a broken kernel.
  const [filter, bias] = await scopedGpuWork(
    gpu,
    `${source.label}: weight buffers`,
    () =>
      [
        source.filter && uploadStorage(gpu, source.filter, `${source.label} filter`),
        source.bias && uploadStorage(gpu, source.bias, `${source.label} bias`),
      ] as const,
    (made) => made.forEach((b) => b?.destroy()),
  );
  const grid = workgroupGrid(source.invocations, gpu.maxWorkgroupsPerDimension);
  const elements = (s: Hwc | undefined) => s ? s[0] * s[1] * s[2] : 0;
  const secondShape = source.secondInputShape;
  /** Throws unless `buffer` holds the NHWC4 bytes of `shape`. */
  const checkSize = (what: string, buffer: GPUBuffer, shape: Hwc) => {
    const bytes = packedByteLength(shape[0], shape[1], shape[2]);
    if (buffer.size < bytes) {
      throw new InvalidInputError(
        `${source.label}: ${what} buffer has ${buffer.size} bytes, its ${shape.join("x")} tensor ` +
          `needs ${bytes}`,
      );
    }
  };
  return {
    label: source.label,
    inputShape: source.inputShape,
    ...(secondShape ? { secondInputShape: secondShape } : {}),
    outputShape: source.outputShape,
    flops: source.flops,
    bytes: 4 *
      (elements(source.inputShape) + elements(secondShape) + elements(source.outputShape) +
        source.weightElements),
    wgsl: source.wgsl,
    bind(input: GPUBuffer, output: GPUBuffer, second?: GPUBuffer): GPUBindGroup {
      if (secondShape && !second) {
        throw new InvalidInputError(
          `${source.label}: needs a second input (${secondShape.join("x")}, binding ` +
            `${BINDING.second}); bind(input, output, second)`,
        );
      }
      if (!secondShape && second) {
        throw new InvalidInputError(`${source.label}: takes no second input`);
      }
      checkSize("input", input, source.inputShape);
      checkSize("output", output, source.outputShape);
      const entries: GPUBindGroupEntry[] = [
        { binding: BINDING.input, resource: { buffer: input } },
        { binding: BINDING.output, resource: { buffer: output } },
      ];
      if (filter) entries.push({ binding: BINDING.filter, resource: { buffer: filter } });
      if (bias) entries.push({ binding: BINDING.bias, resource: { buffer: bias } });
      if (secondShape && second) {
        checkSize("second input", second, secondShape);
        entries.push({ binding: BINDING.second, resource: { buffer: second } });
      }
      return gpu.device.createBindGroup({
        label: source.label,
        layout: pipeline.getBindGroupLayout(0),
        entries,
      });
    },
    dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup): void {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(grid[0], grid[1]);
    },
    dispose(): void {
      filter?.destroy();
      bias?.destroy();
    },
  };
}

/**
 * A bind group of `buffers` at bindings 0, 1, 2, … of group 0 of `pipeline`: the one way the
 * hand-bound passes (preprocessing, crop, the decoders) bind their buffers.
 *
 * @param gpu The device context.
 * @param pipeline The pipeline whose layout the group follows.
 * @param label Label of the bind group.
 * @param buffers The buffers, in binding order.
 * @returns The bind group.
 *
 * @example
 * ```ts
 * import { createGpuContext } from "../mod.ts";
 * import { bindBuffers, computePipeline } from "./compute_kernel.ts";
 *
 * const gpu = await createGpuContext();
 * const wgsl = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
 * @compute @workgroup_size(1) fn main() { out[0] = 1.0; }`;
 * const pipeline = await computePipeline(gpu, wgsl, "one");
 * const out = gpu.device.createBuffer({ size: 4, usage: GPUBufferUsage.STORAGE });
 * const group = bindBuffers(gpu, pipeline, "one", [out]);
 * console.log(group instanceof GPUBindGroup || typeof group === "object"); // true
 * out.destroy();
 * gpu.destroy();
 * ```
 */
export function bindBuffers(
  gpu: GpuContext,
  pipeline: GPUComputePipeline,
  label: string,
  buffers: readonly GPUBuffer[],
): GPUBindGroup {
  return gpu.device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}
