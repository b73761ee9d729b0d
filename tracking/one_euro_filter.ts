/**
 * The One-Euro filter (Casiez et al., "1€ Filter", CHI 2012) as pose-detection 2.1.3 implements it
 * (`shared/filters/one_euro_filter.js`, after MediaPipe's `one_euro_filter.cc`): a low-pass filter
 * whose cutoff rises with the signal's speed, so slow jitter is smoothed and fast motion lags
 * little. Timestamps are in microseconds, as in pose-detection.
 *
 * @module
 */

import { LowPassFilter } from "./low_pass_filter.ts";

/** pose-detection's `OneEuroFilterConfig`. */
export interface OneEuroFilterConfig {
  /** The sampling frequency assumed until two timestamps give one, in Hz. */
  readonly frequency: number;
  /** The cutoff at zero speed, in Hz: lower smooths more. */
  readonly minCutOff: number;
  /** How fast the cutoff rises with speed: higher lags less. */
  readonly beta: number;
  /** The cutoff of the speed estimate's own filter, in Hz. */
  readonly derivateCutOff: number;
  /** With a number, the soft cap on large steps at zero speed (see {@linkcode LowPassFilter}). */
  readonly thresholdCutOff?: number;
  /** How fast that cap rises with speed. */
  readonly thresholdBeta?: number;
}

/** Microseconds to seconds, pose-detection's `MICRO_SECONDS_TO_SECOND`. */
const MICROSECONDS_TO_SECONDS = 1e-6;

/**
 * One scalar signal's One-Euro filter.
 *
 * A timestamp not after the last one used (or the first call at 0) returns the value unfiltered
 * and leaves the filter as it was, as pose-detection does. The sampling frequency is re-estimated
 * from each pair of (nonzero) timestamps.
 *
 * @example
 * ```ts
 * import { OneEuroFilter } from "./one_euro_filter.ts";
 *
 * const filter = new OneEuroFilter({ frequency: 30, minCutOff: 1, beta: 0, derivateCutOff: 1 });
 * console.log(filter.apply(10, 1_000_000, 1)); // 10: the first value passes through
 * console.log(filter.apply(11, 1_033_333, 1).toFixed(4)); // 10.1732: smoothed
 * ```
 */
export class OneEuroFilter {
  #frequency: number;
  readonly #minCutOff: number;
  readonly #beta: number;
  readonly #thresholdCutOff: number | undefined;
  readonly #thresholdBeta: number | undefined;
  readonly #derivateCutOff: number;
  readonly #x: LowPassFilter;
  readonly #dx: LowPassFilter;
  #lastMicroseconds = 0;

  /**
   * Makes a filter with no history.
   *
   * @param config The cutoffs and the initial frequency.
   */
  constructor(config: OneEuroFilterConfig) {
    this.#frequency = config.frequency;
    this.#minCutOff = config.minCutOff;
    this.#beta = config.beta;
    this.#thresholdCutOff = config.thresholdCutOff;
    this.#thresholdBeta = config.thresholdBeta;
    this.#derivateCutOff = config.derivateCutOff;
    this.#x = new LowPassFilter(this.#alpha(this.#minCutOff));
    this.#dx = new LowPassFilter(this.#alpha(this.#derivateCutOff));
  }

  /**
   * Filters one sample.
   *
   * @param value The raw value.
   * @param microseconds The sample's time in microseconds (truncated to an integer).
   * @param valueScale Multiplies the speed estimate (1 / the object's scale, or 1).
   * @returns The filtered value.
   */
  apply(value: number, microseconds: number, valueScale: number): number {
    const now = Math.trunc(microseconds);
    if (this.#lastMicroseconds >= now) return value;
    if (this.#lastMicroseconds !== 0 && now !== 0) {
      this.#frequency = 1 / ((now - this.#lastMicroseconds) * MICROSECONDS_TO_SECONDS);
    }
    this.#lastMicroseconds = now;
    const speed = this.#x.hasLastRawValue
      ? (value - this.#x.lastRawValue) * valueScale * this.#frequency
      : 0;
    const smoothedSpeed = this.#dx.applyWithAlpha(speed, this.#alpha(this.#derivateCutOff));
    const cutOff = this.#minCutOff + this.#beta * Math.abs(smoothedSpeed);
    const threshold = this.#thresholdCutOff != null
      ? this.#thresholdCutOff + this.#thresholdBeta! * Math.abs(smoothedSpeed)
      : null;
    return this.#x.applyWithAlpha(value, this.#alpha(cutOff), threshold);
  }

  /** The low-pass weight of a cutoff at the current frequency: 1 / (1 + f / (2π · cutoff)). */
  #alpha(cutOff: number): number {
    return 1.0 / (1.0 + (this.#frequency / (2 * Math.PI * cutOff)));
  }
}
