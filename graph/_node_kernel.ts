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
import type { GpuContext } from "../kernels/gpu_context.ts";
import { type KernelVariantChoice, variantTiling } from "../kernels/kernel_variants.ts";
import { createPointwiseConvKernel } from "../kernels/pointwise_conv.ts";
import type { Activation, OpGraph, OpNode } from "./op_graph.ts";

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
          relu6: relu6Only(node.name, node.activation),
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
          relu6: relu6Only(node.name, node.activation),
          ...variantTiling("depthwise", variants),
        },
        node.filter,
        node.bias ?? new Float32Array(inChannels),
      );
    case "pointwise":
      if (node.residual) unsupported(node, `a residual ${node.residual}`);
      return await createPointwiseConvKernel(
        gpu,
        {
          height,
          width,
          inChannels,
          outChannels,
          relu6: relu6Only(node.name, node.activation),
          ...variantTiling("pointwise", variants),
        },
        node.filter,
        node.bias,
      );
    default:
      return unsupported(node, "this op");
  }
}

function relu6Only(name: string, activation: Activation): boolean {
  if (activation === "relu") unsupported({ name, op: "relu" }, "relu");
  return activation === "relu6";
}

function unsupported(node: { name: string; op: string }, what: string): never {
  throw new InvalidInputError(
    `op graph node "${node.name}" (${node.op}): no kernel runs ${what} yet`,
  );
}
