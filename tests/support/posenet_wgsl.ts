/**
 * The WGSL of every PoseNet layer over a set of network configurations, as SHA-256 digests: the
 * record `tests/posenet_wgsl_test.ts` compares against `tests/fixtures/posenet_wgsl.json`, so a
 * change to the kernels' generators that alters any shader PoseNet runs is seen at once.
 *
 * @module
 */

import type { GpuContext } from "../../runtime/gpu_context.ts";
import type { KernelVariantChoice } from "../../kernels/kernel_variants.ts";
import { KERNEL_VARIANTS } from "../../kernels/kernel_variants.ts";
import type { OutputStride } from "../../models/architecture.ts";
import { sha256Hex } from "../../models/_pinned_weights.ts";
import { createPoseNetNetwork } from "../../models/posenet_network.ts";
import type { PoseNetWeights } from "../../models/posenet_weights.ts";

/** One network configuration: input side, output stride, kernel variants. */
export interface WgslConfig {
  /** Square input side. */
  readonly resolution: number;
  /** Output stride. */
  readonly outputStride: OutputStride;
  /** Kernel variants (default `tiled` everywhere). */
  readonly variants: KernelVariantChoice;
}

/**
 * The configurations recorded: both resolutions at every output stride with the default variants,
 * and every other variant of each family at 257 for output strides 8 (dilated) and 16.
 *
 * @returns The configurations.
 */
export function wgslConfigs(): WgslConfig[] {
  const configs: WgslConfig[] = [];
  for (const resolution of [257, 513]) {
    for (const outputStride of [8, 16, 32] as const) {
      configs.push({ resolution, outputStride, variants: {} });
    }
  }
  for (const family of ["conv2d", "depthwise", "pointwise"] as const) {
    for (const name of Object.keys(KERNEL_VARIANTS[family]).filter((n) => n !== "tiled")) {
      for (const outputStride of [8, 16] as const) {
        configs.push({ resolution: 257, outputStride, variants: { [family]: name } });
      }
    }
  }
  return configs;
}

/**
 * A configuration's key in the fixture, e.g. `257 s16 pointwise=half`.
 *
 * @param c The configuration.
 * @returns The key.
 */
export function wgslConfigKey(c: WgslConfig): string {
  const variants = Object.entries(c.variants).map(([f, v]) => ` ${f}=${v}`).join("");
  return `${c.resolution} s${c.outputStride}${variants}`;
}

/**
 * Builds the network of each configuration and records, for each layer in execution order, the
 * first 16 hex digits of the SHA-256 of its WGSL and its label: `"<digest> <label>"`.
 *
 * @param gpu Device.
 * @param weights PoseNet weights.
 * @param configs Configurations.
 * @returns Layers per configuration key.
 */
export async function posenetLayerWgsl(
  gpu: GpuContext,
  weights: PoseNetWeights,
  configs: readonly WgslConfig[],
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const c of configs) {
    const network = await createPoseNetNetwork(gpu, weights, {
      inputHeight: c.resolution,
      inputWidth: c.resolution,
      outputStride: c.outputStride,
      variants: c.variants,
    });
    try {
      out[wgslConfigKey(c)] = network.layers.map((layer) =>
        `${sha256Hex(new TextEncoder().encode(layer.wgsl)).slice(0, 16)} ${layer.label}`
      );
    } finally {
      network.dispose();
    }
  }
  return out;
}
