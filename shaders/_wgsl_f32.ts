/**
 * WGSL pieces for decodes that must match TF.js's float32 results: an f32 as an exact WGSL literal,
 * and an exp accurate to about 1 ULP with the sigmoid built on it (the MoveNet decodes share them).
 *
 * @module
 */

/**
 * An f32 as a WGSL literal that is its exact decimal value (an f32 is a dyadic rational, so its
 * expansion is finite), so the literal parses to the same f32 whatever the parser rounds through.
 *
 * @param value The value, rounded to f32 first.
 * @returns The WGSL literal.
 * @throws {RangeError} When the value is not finite as an f32.
 *
 * @example
 * ```ts
 * import { f32Literal } from "./_wgsl_f32.ts";
 * console.log(f32Literal(0.1)); // 0.100000001490116119384765625
 * ```
 */
export function f32Literal(value: number): string {
  const v = Math.fround(value);
  if (!Number.isFinite(v)) throw new RangeError(`not a finite f32: ${value}`);
  if (v === 0) return "0.0";
  const bits = new Uint32Array(new Float32Array([v]).buffer)[0];
  const biased = (bits >>> 23) & 0xff;
  let mantissa = BigInt(bits & 0x7fffff);
  const exponent = biased === 0 ? -149 : biased - 150;
  if (biased !== 0) mantissa |= 1n << 23n;
  const sign = v < 0 ? "-" : "";
  if (exponent >= 0) return `${sign}${mantissa << BigInt(exponent)}.0`;
  const digits = (mantissa * 5n ** BigInt(-exponent)).toString().padStart(-exponent + 1, "0");
  const point = digits.length + exponent;
  const fraction = digits.slice(point).replace(/0+$/, "") || "0";
  return `${sign}${digits.slice(0, point) || "0"}.${fraction}`;
}

/**
 * WGSL `expAccurate(t)` (about 1 ULP on any GPU) and `sigmoid(x) = 1 / (1 + expAccurate(−x))`, as
 * TF computes the sigmoid; paste into a shader's module scope.
 *
 * @example
 * ```ts
 * import { SIGMOID_WGSL } from "./_wgsl_f32.ts";
 * console.log(SIGMOID_WGSL.includes("fn sigmoid(x: f32) -> f32")); // true
 * ```
 */
export const SIGMOID_WGSL: string =
  `// exp(t) = 2^k · exp(r), t = k·ln2 + r with |r| <= ln2/2 (Cody-Waite: LN2_HI has 16 significant
// bits, so k·LN2_HI is exact for |k| < 256), exp(r) − 1 by its Taylor series to r^7 (error
// < 2e-9), 2^k by ldexp. About 1 ULP on any GPU, where WGSL's exp may be 3 + 2|t| ULP (lavapipe's
// is up to 16 ULP on [−20, 20]). t is clamped to [−104, 88.7] so that k stays in ldexp's range;
// beyond it exp is 0 or overflows to +inf there too, and the sigmoid is 1 or 0.
fn expAccurate(t: f32) -> f32 {
  let u = clamp(t, -104.0, 88.7);
  let k = round(u * 1.44269504);
  let r = (u - k * 0.693145751953125) - k * 1.4286068203094172e-06;
  var p = 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r * r + r;
  return ldexp(1.0 + p, i32(k)) * select(1.0, 2.0, t > 88.7);
}

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + expAccurate(-x));
}

`;
