/**
 * The pointwise filter's GPU layout, written once for the kernels that read it (the pointwise conv
 * and the fused block).
 *
 * @module
 */

import { padLastAxis } from "../runtime/host_tensor.ts";
import { channelSlots } from "../runtime/layout.ts";

/**
 * Packs a TF `[1, 1, cin, cout]` filter as the pointwise shader reads it: `ceil(cin / 4) · 4` rows
 * (one per input channel) of `ceil(cout / 4)` vec4 (4 output channels each); the rows of padded
 * input channels and the padded output channels are zero, so they add nothing.
 *
 * @param filter The filter, flat, `cin · cout` values.
 * @param cin Input channels.
 * @param cout Output channels.
 * @returns The packed rows.
 *
 * @example
 * ```ts
 * import { packPointwiseFilter } from "./_pointwise_filter.ts";
 * const rows = packPointwiseFilter(new Float32Array([1, 2, 3, 4, 5, 6]), 3, 2); // 3 → 2 channels
 * console.log(rows.length, Array.from(rows.slice(0, 8))); // 16 [1, 2, 0, 0, 3, 4, 0, 0]
 * ```
 */
export function packPointwiseFilter(
  filter: Float32Array,
  cin: number,
  cout: number,
): Float32Array<ArrayBuffer> {
  const outWidth = channelSlots(cout) * 4;
  const rows = new Float32Array(channelSlots(cin) * 4 * outWidth);
  rows.set(padLastAxis(filter, cin, cout, outWidth));
  return rows;
}
