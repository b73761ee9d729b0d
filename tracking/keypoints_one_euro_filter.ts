/**
 * A One-Euro filter per keypoint axis: pose-detection 2.1.3's `KeypointsOneEuroFilter`
 * (`shared/filters/keypoints_one_euro_filter.js`, after MediaPipe's landmarks smoothing), with its
 * value scaling by the object's size, and MoveNet's configuration of it.
 *
 * @module
 */

import { OneEuroFilter, type OneEuroFilterConfig } from "./one_euro_filter.ts";

/** pose-detection's `KeypointsFilterConfig`: the One-Euro parameters and the value scaling. */
export interface KeypointsFilterConfig extends OneEuroFilterConfig {
  /**
   * `true`: filter the coordinates as they are. `false` (default): divide the speed estimate by
   * the object's scale, so the same smoothing applies to a near and a far person.
   */
  readonly disableValueScaling?: boolean;
  /** With value scaling: objects smaller than this are returned unfiltered. */
  readonly minAllowedObjectScale?: number;
}

/** A keypoint the filter smooths: `x`, `y` and optionally `z`; other fields are copied. */
export interface FilterableKeypoint {
  /** Column (filtered). */
  readonly x: number;
  /** Row (filtered). */
  readonly y: number;
  /** Depth, where the model has one (filtered). */
  readonly z?: number;
}

/**
 * MoveNet's keypoint filter (pose-detection's `KEYPOINT_FILTER_CONFIG` in `movenet/constants.js`),
 * for keypoints in fractions of the image: 30 Hz until timestamps say otherwise, cutoff 2.5 Hz
 * rising by 300 per unit/s, steps softly capped from 0.5, no value scaling.
 */
export const MOVENET_KEYPOINT_FILTER_CONFIG: KeypointsFilterConfig = Object.freeze({
  frequency: 30,
  minCutOff: 2.5,
  beta: 300.0,
  derivateCutOff: 2.5,
  thresholdCutOff: 0.5,
  thresholdBeta: 5.0,
  disableValueScaling: true,
});

/**
 * Smooths a sequence of keypoint sets, each axis of each keypoint by its own
 * {@linkcode OneEuroFilter}. The filters are made on the first set and again whenever the number
 * of keypoints changes.
 *
 * @example
 * ```ts
 * import {
 *   KeypointsOneEuroFilter,
 *   MOVENET_KEYPOINT_FILTER_CONFIG,
 * } from "./keypoints_one_euro_filter.ts";
 *
 * const filter = new KeypointsOneEuroFilter(MOVENET_KEYPOINT_FILTER_CONFIG);
 * filter.apply([{ x: 0.5, y: 0.5, score: 0.9 }], 1_000, 1);
 * const [k] = filter.apply([{ x: 0.51, y: 0.5, score: 0.8 }], 34_000, 1);
 * console.log(k.x < 0.51, k.score); // true 0.8: x is pulled towards 0.5, the score is copied
 * ```
 */
export class KeypointsOneEuroFilter {
  readonly #config: KeypointsFilterConfig;
  #filters: { x: OneEuroFilter; y: OneEuroFilter; z: OneEuroFilter }[] | undefined;

  /**
   * Makes a filter; the per-axis filters are made on the first `apply()`.
   *
   * @param config The One-Euro parameters, the same for every axis.
   */
  constructor(config: KeypointsFilterConfig) {
    this.#config = config;
  }

  /**
   * Filters one set of keypoints.
   *
   * @param keypoints This sample's keypoints (not changed).
   * @param microseconds The sample's time in microseconds.
   * @param objectScale The object's size in the keypoints' units (with value scaling).
   * @returns New keypoints: every field copied, `x`, `y` (and `z` where present) filtered.
   */
  apply<K extends FilterableKeypoint>(
    keypoints: readonly K[],
    microseconds: number,
    objectScale: number,
  ): K[] {
    if (this.#filters === undefined || this.#filters.length !== keypoints.length) {
      const config = this.#config;
      this.#filters = keypoints.map(() => ({
        x: new OneEuroFilter(config),
        y: new OneEuroFilter(config),
        z: new OneEuroFilter(config),
      }));
    }
    let valueScale = 1;
    if (!this.#config.disableValueScaling) {
      // pose-detection compares with an unset minimum too (always false): never skipped then.
      if (objectScale < (this.#config.minAllowedObjectScale ?? NaN)) return [...keypoints];
      valueScale = 1.0 / objectScale;
    }
    const filters = this.#filters;
    return keypoints.map((keypoint, i) => {
      const out: { -readonly [F in keyof K]: K[F] } = {
        ...keypoint,
        x: filters[i].x.apply(keypoint.x, microseconds, valueScale),
        y: filters[i].y.apply(keypoint.y, microseconds, valueScale),
      };
      if (keypoint.z != null) out.z = filters[i].z.apply(keypoint.z, microseconds, valueScale);
      return out;
    });
  }

  /** Forgets every keypoint's history: the next set passes through. */
  reset(): void {
    this.#filters = undefined;
  }
}
