/**
 * What {@linkcode load} and the estimate methods accept, and how `load()` resolves it: the stride,
 * the network's input size (given, or from PoseNet 1.x's `scaleFactor`) and the number of slots.
 * The option types are public (re-exported by `posenet_model.ts`); the resolvers are internal.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";
import type { MultiPoseOptions } from "../decode/multi_pose.ts";
import type { GpuContext } from "../runtime/gpu_context.ts";
import type { WebGpuProvider } from "../runtime/webgpu_provider.ts";
import type { KernelVariantChoice } from "../kernels/kernel_variants.ts";
import { type OutputStride, validateOutputStride } from "../models/architecture.ts";
import {
  resolutionFromScaleFactor,
  validateInputResolution,
  type ValidInputResolution,
} from "../models/input_resolution.ts";
import type { PoseNetWeights } from "../models/posenet_weights.ts";

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
   * Frames (images) that may be in flight at once (default 3): each runs in a slot of its own GPU
   * buffers, among them an image buffer grown (never shrunk) to the next power of two of the
   * largest image the slot has taken (at least 64 KiB), so images cost at most 2 × the largest
   * image's bytes per slot.
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

/** What {@linkcode resolveModelConfig} makes of a {@linkcode ModelConfig}. */
export interface ResolvedModelConfig {
  /** The output stride (default 16). */
  readonly outputStride: OutputStride;
  /** The network's input size, valid for the stride. */
  readonly resolution: ValidInputResolution;
  /** Frames in flight at once, each in its own slot (default 3). */
  readonly maxFramesInFlight: number;
}

/**
 * Checks the options `load()` needs before any weights are read: the architecture, the stride,
 * the input size (or `scaleFactor` with `imageSize`) and `maxFramesInFlight`.
 *
 * @param config The options given to `load()`.
 * @returns Stride, input size and slot count.
 * @throws {InvalidInputError} On an invalid option, naming it.
 *
 * @example
 * ```ts
 * import { resolveModelConfig } from "./posenet_config.ts";
 *
 * const { resolution } = resolveModelConfig({ scaleFactor: 0.5, imageSize: { width: 640, height: 480 } });
 * console.log(resolution.width, resolution.height); // 305 225 (the nearest valid sizes below)
 * ```
 */
export function resolveModelConfig(config: ModelConfig): ResolvedModelConfig {
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
  return { outputStride, resolution, maxFramesInFlight: maxFrames };
}

/**
 * The `flipHorizontal` of an estimate call's config.
 *
 * @param config The config given to `estimateSinglePose` or `estimateMultiplePoses`.
 * @returns Whether to mirror the output (default false).
 * @throws {InvalidInputError} When `config` is not an object or `flipHorizontal` not a boolean.
 *
 * @example
 * ```ts
 * import { checkFlip } from "./posenet_config.ts";
 * console.log(checkFlip({}), checkFlip({ flipHorizontal: true })); // false true
 * ```
 */
export function checkFlip(config: { readonly flipHorizontal?: unknown }): boolean {
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
