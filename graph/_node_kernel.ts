/**
 * The one place an op-graph node becomes a kernel: which kernel family runs each op, with which
 * options and tiling.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import type { GpuKernel } from "../kernels/compute_kernel.ts";
import { createConv2dKernel } from "../kernels/conv2d.ts";
import { createDepthwiseConvKernel } from "../kernels/depthwise_conv.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import { type KernelVariantChoice, variantTiling } from "../kernels/kernel_variants.ts";
import { createPointwiseConvKernel } from "../kernels/pointwise_conv.ts";
import { createResizeBilinear2xKernel } from "../kernels/resize_bilinear.ts";
import type { OpGraph, OpNode } from "./op_graph.ts";

/** Builds the kernel that runs `node` of `graph`. */
export async function createNodeKernel(
  gpu: GpuContext,
  graph: OpGraph,
  node: OpNode,
  variants: KernelVariantChoice | undefined,
): Promise<GpuKernel> {
  const [height, width, inChannels] = graph.tensors[node.inputs[0]].shape;
  const outChannels = graph.tensors[node.output].shape[2];
  switch (node.op) {
    case "conv2d":
      return await createConv2dKernel(
        gpu,
        {
          height,
          width,
          inChannels,
          outChannels,
          kernelHeight: node.kernelHeight,
          kernelWidth: node.kernelWidth,
          stride: node.stride,
          dilation: node.dilation,
          activation: node.activation,
          ...variantTiling("conv2d", variants),
        },
        node.filter,
        node.bias,
      );
    case "depthwise":
      return await createDepthwiseConvKernel(
        gpu,
        {
          height,
          width,
          channels: inChannels,
          kernelHeight: node.kernelHeight,
          kernelWidth: node.kernelWidth,
          stride: node.stride,
          dilation: node.dilation,
          activation: node.activation,
          ...variantTiling("depthwise", variants),
        },
        node.filter,
        node.bias ?? null,
      );
    case "pointwise":
      return await createPointwiseConvKernel(
        gpu,
        {
          height,
          width,
          inChannels,
          outChannels,
          activation: node.activation,
          residual: node.residual ?? "none",
          ...variantTiling("pointwise", variants),
        },
        node.filter,
        node.bias,
      );
    case "resize_bilinear2x":
      return await createResizeBilinear2xKernel(gpu, {
        height,
        width,
        channels: inChannels,
        add: node.inputs.length > 1,
      });
    case "add":
      throw new InvalidInputError(
        `op graph node "${node.name}" (add): a stand-alone add has no kernel; it runs only fused ` +
          `into the 1x1 conv or 2x resize that makes one of its operands`,
      );
  }
}
