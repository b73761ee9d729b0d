/**
 * Constructed near-ties for the crop kernel: tiny images and boxes where one crop value lies so
 * close to a float32 rounding midpoint that tfjs's float64 roundings, the exact blend, and the exact
 * blend of 42-bit truncated lerps do not all agree on its int.
 *
 * The construction: a 2×2 image cropped with the box `[y1, 0, y2, 1]` to S × S. Output row 0 reads
 * image row 0 with y_lerp = y1 = b/2^24 exactly; output column j reads x_lerp = tfjs's float64
 * `j · ((1 − 0)·1/(S − 1))`, within an ULP of the rational r = j/(S − 1) but never equal to it.
 * Pick pixels and b so that the blend at (r, y1) is exactly the midpoint T = m − 2^-q below an
 * integer m (a linear equation in integers: b·(dl·(S−1) + e·j) = Z). The real blend at tfjs's
 * lerp is then T + (dt + e·y1)·(x_lerp − r): a hair off T, on a side known exactly, while tfjs's
 * float64 steps land on either side at random, and the old kernel's 42-bit lerp (below x_lerp by
 * up to 2^-42) on a side of its own.
 *
 * @module
 */

import type { Rng } from "./random.ts";

/** One constructed case: the image (pre-mirror), the box, the side, and what is known of it. */
export interface CropNearTie {
  /** 2×2 RGB(A) bytes as tfjs sees them (mirror them before our kernel when `flip`). */
  readonly data: Uint8Array;
  readonly channels: 3 | 4;
  readonly box: readonly [number, number, number, number];
  readonly size: number;
  /** The output column of the near-tie (row 0) and its channel. */
  readonly column: number;
  readonly channel: number;
  /** The integer m whose midpoint T = m − 2^-q the blend straddles. */
  readonly m: number;
  /** trunc(fround(·)) of tfjs's float64 value (JavaScript arithmetic, tfjs's expression). */
  readonly tfjs: number;
  /** The int of the exact real blend of tfjs's lerps. */
  readonly exact: number;
  /** The int of the exact blend of the 42-bit truncated lerps (the kernel before the f64 replay). */
  readonly truncated42: number;
}

/** tfjs-backend-cpu's x in-coordinate of column j for the box x-range [0, 1] on a 2-wide image. */
function columnLerp(j: number, size: number): number {
  const scale = (1 - 0) * (2 - 1) / (size - 1);
  const at = 0 * (2 - 1) + j * scale;
  return at - Math.floor(at);
}

/** x as an exact fraction X / 2^1100 (x ≥ 0, a float64). */
function exactScaled(x: number): bigint {
  if (x === 0) return 0n;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const mantissa = (BigInt(hi & 0xfffff) << 32n | BigInt(view.getUint32(4))) | (1n << 52n);
  return mantissa << BigInt((hi >>> 20) - 1075 + 1100);
}

/** q with T = m − 2^-q the f32 rounding midpoint just below m (2 ≤ m ≤ 255). */
function midpointBits(m: number): number {
  const log2 = Math.floor(Math.log2(m));
  return (m & (m - 1)) === 0 ? 25 - log2 : 24 - log2;
}

/**
 * Searches random pixels, sides and columns for near-ties and returns those where tfjs's int
 * differs from the exact one or from the 42-bit one.
 *
 * @param rng Generator.
 * @param sizes Crop sides to build for (each ≥ 3).
 * @param wanted How many cases to return.
 * @returns The cases, in the order found.
 */
export function findCropNearTies(
  rng: Rng,
  sizes: readonly number[],
  wanted: number,
): CropNearTie[] {
  const found: CropNearTie[] = [];
  for (let tries = 0; found.length < wanted && tries < 5e6; tries++) {
    const size = sizes[Math.floor(rng() * sizes.length)];
    const d = size - 1;
    const column = 1 + Math.floor(rng() * (d - 1));
    if (column * 2 === d) continue; // r = 1/2 is a float64: no near-tie
    const m = 2 + Math.floor(rng() * 254);
    const q = midpointBits(m);
    const p = () => Math.floor(rng() * 256);
    const [tl, tr, bl, br] = [p(), p(), p(), p()];
    const dt = tr - tl, dl = bl - tl, e = br - bl - tr + tl;
    const divisor = dl * d + e * column;
    // b·divisor = d·2^24·(T − tl) − dt·column·2^24, all integers (q ≤ 24).
    const z = d * (m - tl) * 2 ** 24 - d * 2 ** (24 - q) - dt * column * 2 ** 24;
    if (divisor === 0 || z % divisor !== 0) continue;
    const b = z / divisor;
    if (!(b >= 1 && b < 2 ** 24)) continue;
    const y1 = b / 2 ** 24;
    const slope = dt * 2 ** 24 + e * b; // (dt + e·y1)·2^24
    if (slope === 0) continue;
    const xLerp = columnLerp(column, size);
    // tfjs's arithmetic, as CropAndResize.js writes it.
    const top = tl + (tr - tl) * xLerp;
    const bottom = bl + (br - bl) * xLerp;
    const tfjs = Math.trunc(Math.fround(top + (bottom - top) * y1));
    // Exact: the blend is T + (dt + e·y1)·(x − r); above T iff slope·(x − r) ≥ 0.
    const side = (x: bigint) => (BigInt(slope) * (x * BigInt(d) - BigInt(column) * (1n << 1100n)));
    const exact = side(exactScaled(xLerp)) >= 0n ? m : m - 1;
    const truncatedLerp = Math.floor(xLerp * 2 ** 42) / 2 ** 42;
    const truncated42 = side(exactScaled(truncatedLerp)) >= 0n ? m : m - 1;
    if (tfjs === exact && tfjs === truncated42) continue;
    const channels: 3 | 4 = rng() < 0.5 ? 3 : 4;
    const channel = Math.floor(rng() * 3);
    const data = new Uint8Array(4 * channels);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng() * 256);
    [tl, tr, bl, br].forEach((v, k) => data[k * channels + channel] = v);
    const y2 = Math.fround(y1 + rng());
    found.push({
      data,
      channels,
      box: [y1, 0, y2, 1],
      size,
      column,
      channel,
      m,
      tfjs,
      exact,
      truncated42,
    });
  }
  return found;
}
