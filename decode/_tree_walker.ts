/**
 * The tree walk of the CPU multi-pose decode, as PoseNet 2.x's `decodePose`: from a root
 * keypoint, along the keypoint tree with the displacement heads, snapping to cells and adding the
 * offsets there. The GPU runs the same walk in `shaders/multi_pose_walk.ts`.
 *
 * @module
 */

import type { ScoredHeads } from "./heads.ts";
import {
  type Keypoint,
  NUM_EDGES,
  NUM_KEYPOINTS,
  PART_NAMES,
  POSE_CHAIN_INDICES,
  type Vector2D,
} from "./keypoints.ts";
import type { PartCandidate } from "./multi_pose.ts";

/** How many times a traversed keypoint is snapped to a cell and moved by that cell's offset. */
const OFFSET_REFINE_STEPS = 2;

/**
 * The pose-growing walk over one set of scored heads.
 *
 * @example
 * ```ts
 * import { TreeWalker } from "./_tree_walker.ts";
 *
 * const cells = 3 * 3;
 * const walker = new TreeWalker({
 *   height: 3,
 *   width: 3,
 *   outputStride: 16,
 *   scores: new Float32Array(cells * 17).fill(0.5),
 *   offsets: new Float32Array(cells * 34),
 *   displacementFwd: new Float32Array(cells * 32),
 *   displacementBwd: new Float32Array(cells * 32),
 * });
 * const root = { part: 0, y: 1, x: 1, score: 0.9 };
 * const keypoints = walker.grow(root, walker.pointAt(0, 1, 1));
 * console.log(keypoints.length, keypoints[16].position); // 17 { x: 16, y: 16 }
 * ```
 */
export class TreeWalker {
  readonly #heads: ScoredHeads;

  /**
   * Walks over the given heads.
   *
   * @param heads Scored heads, already checked.
   */
  constructor(heads: ScoredHeads) {
    this.#heads = heads;
  }

  /**
   * Cell centre plus the part's offset there, in float64 as TF.js.
   *
   * @param part Part index.
   * @param y Heatmap row.
   * @param x Heatmap column.
   * @returns The position in network-input pixels.
   */
  pointAt(part: number, y: number, x: number): Vector2D {
    const { width, outputStride, offsets } = this.#heads;
    const base = (y * width + x) * 2 * NUM_KEYPOINTS;
    return {
      x: x * outputStride + offsets[base + NUM_KEYPOINTS + part],
      y: y * outputStride + offsets[base + part],
    };
  }

  /** `clamp(Math.round(p / stride), 0, size - 1)` per axis, as `getStridedIndexNearPoint`. */
  #nearestCell(point: Vector2D): { y: number; x: number } {
    const { height, width, outputStride } = this.#heads;
    return {
      y: clamp(Math.round(point.y / outputStride), 0, height - 1),
      x: clamp(Math.round(point.x / outputStride), 0, width - 1),
    };
  }

  /** Follows edge `edge` from a known keypoint to `target`, as `traverseToTargetKeypoint`. */
  #traverse(
    edge: number,
    source: Vector2D,
    target: number,
    displacements: Float32Array,
  ): Keypoint {
    const { width, scores } = this.#heads;
    const from = this.#nearestCell(source);
    const base = (from.y * width + from.x) * 2 * NUM_EDGES;
    let point: Vector2D = {
      x: source.x + displacements[base + NUM_EDGES + edge],
      y: source.y + displacements[base + edge],
    };
    for (let step = 0; step < OFFSET_REFINE_STEPS; step++) {
      const cell = this.#nearestCell(point);
      point = this.pointAt(target, cell.y, cell.x);
    }
    const last = this.#nearestCell(point);
    return {
      part: PART_NAMES[target],
      score: scores[(last.y * width + last.x) * NUM_KEYPOINTS + target],
      position: point,
    };
  }

  /**
   * Grows all 17 keypoints from a root, as PoseNet's `decodePose`.
   *
   * @param root The root candidate.
   * @param rootPosition Its position ({@linkcode TreeWalker.pointAt}).
   * @returns The keypoints in `PART_NAMES` order.
   */
  grow(root: PartCandidate, rootPosition: Vector2D): Keypoint[] {
    const found: (Keypoint | undefined)[] = new Array(NUM_KEYPOINTS);
    found[root.part] = { part: PART_NAMES[root.part], score: root.score, position: rootPosition };
    // Towards the root of the tree first, with the backward (child → parent) displacements...
    for (let edge = NUM_EDGES - 1; edge >= 0; edge--) {
      const [parent, child] = POSE_CHAIN_INDICES[edge];
      const source = found[child];
      if (source !== undefined && found[parent] === undefined) {
        found[parent] = this.#traverse(edge, source.position, parent, this.#heads.displacementBwd);
      }
    }
    // ...then out to the leaves with the forward (parent → child) ones.
    for (let edge = 0; edge < NUM_EDGES; edge++) {
      const [parent, child] = POSE_CHAIN_INDICES[edge];
      const source = found[parent];
      if (source !== undefined && found[child] === undefined) {
        found[child] = this.#traverse(edge, source.position, child, this.#heads.displacementFwd);
      }
    }
    return found as Keypoint[];
  }
}

function clamp(value: number, min: number, max: number): number {
  if (value < min) return min;
  if (value > max) return max;
  return value;
}
