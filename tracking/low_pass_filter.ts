/**
 * A first-order low-pass filter with an optional soft cap on large steps: pose-detection 2.1.3's
 * `LowPassFilter` (`shared/filters/low_pass_filter.js`, after MediaPipe's), the building block of
 * the One-Euro filter and of MoveNet's crop-region smoothing.
 *
 * @module
 */

/**
 * Exponential smoothing `out = prev + alpha · (value − prev)`. The first value passes through.
 * With a `threshold`, the step is bent to `alpha · threshold · asinh((value − prev) / threshold)`:
 * about the plain step for small changes, growing only logarithmically for large ones.
 *
 * @example
 * ```ts
 * import { LowPassFilter } from "./low_pass_filter.ts";
 *
 * const filter = new LowPassFilter(0.9);
 * console.log(filter.apply(1)); // 1: the first value passes through
 * console.log(filter.apply(2)); // 1.9
 * ```
 */
export class LowPassFilter {
  #alpha: number;
  #initialized = false;
  #raw = 0;
  #stored = 0;

  /**
   * Makes a filter with no history.
   *
   * @param alpha The weight of a new value, in (0, 1].
   */
  constructor(alpha: number) {
    this.#alpha = alpha;
  }

  /**
   * Filters one value with the current alpha.
   *
   * @param value The new raw value.
   * @param threshold With a number, the soft cap's scale; without, the plain filter.
   * @returns The filtered value.
   */
  apply(value: number, threshold?: number | null): number {
    let result: number;
    if (!this.#initialized) {
      result = value;
      this.#initialized = true;
    } else if (threshold == null) {
      result = this.#stored + this.#alpha * (value - this.#stored);
    } else {
      result = this.#stored +
        this.#alpha * threshold * Math.asinh((value - this.#stored) / threshold);
    }
    this.#raw = value;
    this.#stored = result;
    return result;
  }

  /**
   * Sets alpha, then filters one value ({@linkcode LowPassFilter.apply}).
   *
   * @param value The new raw value.
   * @param alpha The weight of this and later values.
   * @param threshold The soft cap's scale, or none.
   * @returns The filtered value.
   */
  applyWithAlpha(value: number, alpha: number, threshold?: number | null): number {
    this.#alpha = alpha;
    return this.apply(value, threshold);
  }

  /** Whether a value has been filtered since construction or the last reset. */
  get hasLastRawValue(): boolean {
    return this.#initialized;
  }

  /** The last raw (unfiltered) value given; meaningful when {@linkcode hasLastRawValue}. */
  get lastRawValue(): number {
    return this.#raw;
  }

  /** Forgets the history: the next value passes through. */
  reset(): void {
    this.#initialized = false;
  }
}
