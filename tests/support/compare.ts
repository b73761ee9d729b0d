/**
 * Comparing kernel output with a reference under the project's tolerance rule.
 *
 * @module
 */

import assert from "node:assert/strict";

/** Worst absolute difference and where it is. */
export interface Difference {
  /** max |ours − reference|; Infinity when any value is NaN or the lengths differ. */
  readonly maxAbsError: number;
  /** Index of the worst element. */
  readonly index: number;
  /** max |reference|. */
  readonly maxAbsReference: number;
}

/**
 * Measures max |ours − reference|. A NaN anywhere in `ours` (an unwritten, poisoned element)
 * counts as an infinite error.
 *
 * @param ours Values under test.
 * @param reference Reference values.
 * @returns The worst difference.
 */
export function difference(ours: Float32Array, reference: Float32Array): Difference {
  let maxAbsReference = 0;
  for (const v of reference) maxAbsReference = Math.max(maxAbsReference, Math.abs(v));
  if (ours.length !== reference.length) {
    return { maxAbsError: Infinity, index: -1, maxAbsReference };
  }
  let maxAbsError = 0;
  let index = 0;
  for (let i = 0; i < ours.length; i++) {
    const e = Math.abs(ours[i] - reference[i]);
    if (!(e <= maxAbsError)) {
      maxAbsError = Number.isNaN(e) ? Infinity : e;
      index = i;
      if (maxAbsError === Infinity) break;
    }
  }
  return { maxAbsError, index, maxAbsReference };
}

/**
 * Asserts max |ours − reference| ≤ `relative` · max(1, max |reference|).
 *
 * @param what Case description for the failure message.
 * @param ours Values under test.
 * @param reference Reference values.
 * @param relative Tolerance factor (the kernels use 1e-4).
 * @returns The measured difference.
 */
export function assertClose(
  what: string,
  ours: Float32Array,
  reference: Float32Array,
  relative: number,
): Difference {
  const d = difference(ours, reference);
  const limit = relative * Math.max(1, d.maxAbsReference);
  assert.ok(
    d.maxAbsError <= limit,
    `${what}: max |ours − ref| = ${d.maxAbsError} at index ${d.index} ` +
      `(ours ${ours[d.index]}, ref ${
        reference[d.index]
      }), limit ${limit}; lengths ${ours.length}/${reference.length}`,
  );
  return d;
}
