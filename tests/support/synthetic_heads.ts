/**
 * Synthetic PoseNet heads for the decode tests: seeded random heads shaped like real ones, and
 * blank heads with helpers to set single values by cell and part.
 *
 * @module
 */

import type { PoseNetHeads } from "../../decode/heads.ts";
import type { MultiPoseOptions } from "../../decode/multi_pose.ts";
import { mulberry32 } from "./random.ts";

/** One random case: the heads, multi-pose options, and an image to map the poses back to. */
export interface RandomHeadsCase {
  heads: PoseNetHeads;
  /** `{}` (the defaults) for about a quarter of the seeds. */
  options: MultiPoseOptions;
  imageWidth: number;
  imageHeight: number;
  flipHorizontal: boolean;
  /** Whether the values were snapped to a grid (see {@linkcode randomHeadsCase}). */
  quantized: boolean;
}

/**
 * Seeded random heads shaped like real ones. Heatmap logits in about [-8, 4] with 1-4 planted
 * people (each part a peak in a 3x3 window); offsets within ±20, displacements within ±40. About
 * a third of the seeds are "quantized": logits on a 0.5 grid and offsets and displacements on a
 * 4 px grid, which gives many exactly equal scores (first-maximum rule, heap tie order, equal
 * neighbours in the 3x3 window) and many positions at exactly half a cell (rounding).
 *
 * @param seed 32-bit seed; the same seed gives the same case.
 * @param height Grid height in cells.
 * @param width Grid width in cells.
 * @param outputStride Output stride of the heads.
 * @returns The case.
 */
export function randomHeadsCase(
  seed: number,
  height: number,
  width: number,
  outputStride: number,
): RandomHeadsCase {
  const rand = mulberry32(seed);
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * rand();
  const quantized = rand() < 0.35;
  const q = (v: number, step: number) => (quantized ? Math.round(v / step) * step : v);
  const cells = height * width;
  const heatmap = new Float32Array(cells * 17);
  for (let i = 0; i < heatmap.length; i++) heatmap[i] = q(uniform(-8, -1), 0.5);
  const people = 1 + Math.floor(rand() * 4);
  for (let p = 0; p < people; p++) {
    const cy = Math.floor(rand() * height);
    const cx = Math.floor(rand() * width);
    for (let part = 0; part < 17; part++) {
      const py = Math.min(height - 1, Math.max(0, cy + Math.round(uniform(-2, 2))));
      const px = Math.min(width - 1, Math.max(0, cx + Math.round(uniform(-2, 2))));
      const peak = uniform(-1, 4);
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const y = py + dy;
          const x = px + dx;
          if (y < 0 || y >= height || x < 0 || x >= width) continue;
          const i = (y * width + x) * 17 + part;
          const v = q(peak - uniform(0, 3) * (Math.abs(dy) + Math.abs(dx)), 0.5);
          if (v > heatmap[i]) heatmap[i] = v;
        }
      }
    }
  }
  const fill = (length: number, range: number) => {
    const a = new Float32Array(length);
    for (let i = 0; i < length; i++) a[i] = q(uniform(-range, range), 4);
    return a;
  };
  const heads: PoseNetHeads = {
    height,
    width,
    outputStride,
    heatmap,
    offsets: fill(cells * 34, 20),
    displacementFwd: fill(cells * 32, 40),
    displacementBwd: fill(cells * 32, 40),
  };
  const options: MultiPoseOptions = rand() < 0.25 ? {} : {
    maxDetections: 1 + Math.floor(rand() * 10),
    scoreThreshold: [0.2, 0.3, 0.5, 0.7][Math.floor(rand() * 4)],
    nmsRadius: [5, 10, 20, 30.5][Math.floor(rand() * 4)],
  };
  return {
    heads,
    options,
    imageWidth: 50 + Math.floor(rand() * 1000),
    imageHeight: 50 + Math.floor(rand() * 1000),
    flipHorizontal: rand() < 0.5,
    quantized,
  };
}

/**
 * Heads with every heatmap logit set to `logit` and every offset and displacement 0.
 *
 * @param height Grid height in cells.
 * @param width Grid width in cells.
 * @param outputStride Output stride (default 16).
 * @param logit The logit of every (cell, part) (default -8, a score of about 0.0003).
 * @returns The heads.
 */
export function blankHeads(
  height: number,
  width: number,
  outputStride = 16,
  logit = -8,
): PoseNetHeads {
  const cells = height * width;
  return {
    height,
    width,
    outputStride,
    heatmap: new Float32Array(cells * 17).fill(logit),
    offsets: new Float32Array(cells * 34),
    displacementFwd: new Float32Array(cells * 32),
    displacementBwd: new Float32Array(cells * 32),
  };
}

/** Sets the heatmap logit of `part` at cell (`y`, `x`). */
export function setLogit(h: PoseNetHeads, y: number, x: number, part: number, v: number): void {
  h.heatmap[(y * h.width + x) * 17 + part] = v;
}

/** Sets the offset of `part` at cell (`y`, `x`): y in channel `part`, x in `part + 17`. */
export function setOffset(
  h: PoseNetHeads,
  y: number,
  x: number,
  part: number,
  oy: number,
  ox: number,
): void {
  const base = (y * h.width + x) * 34;
  h.offsets[base + part] = oy;
  h.offsets[base + 17 + part] = ox;
}

/**
 * Sets the displacement along skeleton `edge` at cell (`y`, `x`) in the forward or backward
 * head: y in channel `edge`, x in `edge + 16`.
 */
export function setDisplacement(
  h: PoseNetHeads,
  which: "displacementFwd" | "displacementBwd",
  y: number,
  x: number,
  edge: number,
  dy: number,
  dx: number,
): void {
  const base = (y * h.width + x) * 32;
  h[which][base + edge] = dy;
  h[which][base + 16 + edge] = dx;
}
