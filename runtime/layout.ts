/**
 * The GPU tensor layout every kernel reads and writes: NHWC with the channel axis padded to a
 * multiple of 4 so a pixel is a whole number of `vec4<f32>` ("NHWC4"). Padded channels hold zeros.
 * Host code speaks plain NHWC; these helpers convert.
 *
 * @module
 */

import { InvalidInputError } from "../errors.ts";

/**
 * Number of `vec4` slots that hold `channels` channels.
 *
 * @param channels Channel count (≥ 1).
 * @returns `ceil(channels / 4)`.
 *
 * @example
 * ```ts
 * import { channelSlots } from "./layout.ts";
 * channelSlots(17); // 5
 * ```
 */
export function channelSlots(channels: number): number {
  return Math.ceil(channels / 4);
}

/**
 * Bytes of an NHWC4 tensor of `height × width × channels` (batch 1).
 *
 * @param height Rows.
 * @param width Columns.
 * @param channels Channels before padding.
 * @returns Size in bytes.
 *
 * @example
 * ```ts
 * import { packedByteLength } from "./layout.ts";
 * packedByteLength(2, 2, 3); // 64: four pixels of one vec4
 * ```
 */
export function packedByteLength(height: number, width: number, channels: number): number {
  return height * width * channelSlots(channels) * 16;
}

/**
 * Copies an NHWC tensor into NHWC4, zero-filling the padded channels.
 *
 * @param data NHWC values, `pixels × channels` long.
 * @param pixels Height × width.
 * @param channels Channels per pixel.
 * @returns The NHWC4 array.
 *
 * @example
 * ```ts
 * import { packChannels } from "./layout.ts";
 * packChannels(new Float32Array([1, 2, 3]), 1, 3); // [1, 2, 3, 0]
 * ```
 */
export function packChannels(
  data: Float32Array,
  pixels: number,
  channels: number,
): Float32Array<ArrayBuffer> {
  if (data.length !== pixels * channels) {
    throw new InvalidInputError(
      `tensor has ${data.length} values, expected ${pixels} pixels × ${channels} channels = ` +
        `${pixels * channels}`,
    );
  }
  const stride = channelSlots(channels) * 4;
  if (stride === channels) return data.slice();
  const out = new Float32Array(pixels * stride);
  for (let p = 0; p < pixels; p++) {
    out.set(data.subarray(p * channels, (p + 1) * channels), p * stride);
  }
  return out;
}

/**
 * Copies an NHWC4 tensor back to NHWC, dropping the padded channels.
 *
 * @param packed NHWC4 values.
 * @param pixels Height × width.
 * @param channels Channels per pixel before padding.
 * @returns The NHWC array, `pixels × channels` long.
 *
 * @example
 * ```ts
 * import { unpackChannels } from "./layout.ts";
 * unpackChannels(new Float32Array([1, 2, 3, 0]), 1, 3); // [1, 2, 3]
 * ```
 */
export function unpackChannels(
  packed: Float32Array,
  pixels: number,
  channels: number,
): Float32Array<ArrayBuffer> {
  const stride = channelSlots(channels) * 4;
  if (stride === channels) return packed.slice(0, pixels * channels);
  const out = new Float32Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    out.set(packed.subarray(p * stride, p * stride + channels), p * channels);
  }
  return out;
}
