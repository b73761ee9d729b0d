/**
 * Where the decode shaders find the PoseNet heads in the fused heads buffer: the heatmap grid,
 * and the channels of each head within a cell (all four heads side by side, `cellStride` floats
 * per cell). The single-pose and the multi-pose decode shaders both take it.
 *
 * @module
 */

/**
 * The heatmap grid and the channels of the heads in the fused heads buffer.
 *
 * @example
 * ```ts
 * import type { FusedHeadsLayout } from "./fused_heads_layout.ts";
 * import { decodeSinglePoseShader } from "./decode_single_pose.ts";
 *
 * const layout: FusedHeadsLayout = {
 *   height: 17,
 *   width: 17,
 *   outputStride: 16,
 *   cellStride: 120,
 *   heatmapChannel: 0,
 *   offsetChannel: 20,
 * };
 * const wgsl = decodeSinglePoseShader({ ...layout, parts: 17 });
 * ```
 */
export interface FusedHeadsLayout {
  /** Heatmap rows. */
  readonly height: number;
  /** Heatmap columns. */
  readonly width: number;
  /** Network output stride: input pixels per heatmap cell. */
  readonly outputStride: number;
  /** Floats per heatmap cell in the heads buffer (all heads, each padded to a multiple of 4). */
  readonly cellStride: number;
  /** Channel of part 0's heatmap logit within a cell. */
  readonly heatmapChannel: number;
  /** Channel of part 0's y offset within a cell (x offsets follow 17 channels later). */
  readonly offsetChannel: number;
}
