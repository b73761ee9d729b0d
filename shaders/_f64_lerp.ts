/**
 * WGSL emulation of JavaScript's float64 arithmetic, for reproducing tfjs-backend-cpu's bilinear
 * blends bit for bit on a GPU (WGSL has no f64). Every operation returns the correctly rounded
 * (round to nearest, ties to even) float64 result of the exact operation, computed with u32
 * integer arithmetic only, so any GPU gives the same bits as V8.
 *
 * Representation: `struct F64 { lo, hi: u32, e: i32, neg: bool }` is (−1)^neg · m · 2^e, with the
 * 53-bit mantissa m = hi·2^32 + lo in [2^52, 2^53) (hi < 2^21), or m = 0 for zero (neg false).
 * Range: normal float64 values only. Subnormals, infinities and NaN are not represented: the
 * blends here stay far from them (lerps are ≥ 2^-300 when nonzero, values below 2^10).
 *
 * Functions (all pure, scalar, no bindings; include {@linkcode F64_WGSL} once in a shader):
 * - `f64_from_bits(hi, lo)`: a float64 from its IEEE-754 words (as the host writes them), and
 *   `f64_to_bits(a)` back (`vec2(hi, lo)`);
 * - `f64_from_int(n)`: an integer |n| < 2^31; `f64_from_f32(x)`: an f32, exactly;
 * - `f64_add(a, b)`, `f64_neg(a)`, `f64_mul(a, b)`, `f64_mul_int(a, d)` (|d| < 2^11): a + b, −a,
 *   a · b, d · a, each rounded once as JavaScript rounds it;
 * - `f64_fround(v)`: `Math.fround(v)` (the store to a Float32Array), for |v| < 2^128, subnormal
 *   results included; `f64_trunc_fround(v)`: `Math.trunc(Math.fround(v))` (then the int32 cast)
 *   for |v| < 2^31, as i32;
 * - `f64_bilinear_trunc(tl, tr, bl, br, x_lerp, y_lerp)`: tfjs-backend-cpu 4.22's
 *   `top = tl + (tr − tl)·x_lerp; bottom = bl + (br − bl)·x_lerp; top + (bottom − top)·y_lerp`
 *   on integer pixels (`CropAndResize`, and `ResizeBilinear`'s blend on an int image), stored as
 *   f32 and truncated.
 *
 * How the rounding is done: an exact result is formed in a 64-bit (two u32) integer, then
 * `f64_round` keeps its leading 53 bits and rounds with the bits below. Sums align the smaller
 * operand's mantissa (moved up by 10 guard bits) and OR every bit shifted out into the lowest
 * ("sticky") bit; with ≥ 2 guard bits that keeps the rounding exact for sums and differences.
 * Products of two mantissas are formed exactly in 128 bits (16-bit halves), then compressed to 64
 * bits with the same sticky bit.
 *
 * Cost: a few hundred integer operations per blend, so a kernel should take this path only where
 * its fast (f32 or fixed-point) path cannot decide, as `shaders/crop_resize.ts` does.
 *
 * @module
 */

/**
 * The float64 emulation's WGSL: the `F64` struct and the `f64_*` functions listed in the module
 * doc. Paste it once into a shader's source, outside any function.
 *
 * @example
 * ```ts
 * import { F64_WGSL } from "./_f64_lerp.ts";
 * console.log(F64_WGSL.includes("fn f64_bilinear_trunc(")); // true
 * ```
 */
export const F64_WGSL =
  `// ---- float64 emulation (shaders/_f64_lerp.ts): value = (-1)^neg * (hi * 2^32 + lo) * 2^e ----
struct F64 {
  lo: u32,
  hi: u32,
  e: i32,
  neg: bool,
}

const F64_ZERO = F64(0u, 0u, 0, false);

// a * b as a 64-bit (lo, hi) pair.
fn f64_mul_wide(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>((p00 & 0xffffu) | (mid << 16u), a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}

// Index of the highest set bit of a nonzero 64-bit (lo, hi).
fn f64_leading_bit(x: vec2<u32>) -> u32 {
  if (x.y != 0u) {
    return 32u + firstLeadingBit(x.y);
  }
  return firstLeadingBit(x.x);
}

// x >> k for k in 0..63, every bit shifted out ORed into bit 0; k >= 64: 1 if x != 0 else 0.
fn f64_shift_right_sticky(x: vec2<u32>, k: u32) -> vec2<u32> {
  if (k == 0u) {
    return x;
  }
  if (k >= 64u) {
    return vec2<u32>(select(0u, 1u, (x.x | x.y) != 0u), 0u);
  }
  if (k < 32u) {
    let lost = x.x & ((1u << k) - 1u);
    return vec2<u32>((x.x >> k) | (x.y << (32u - k)) | select(0u, 1u, lost != 0u), x.y >> k);
  }
  let lost = x.x | (x.y & ((1u << (k - 32u)) - 1u));
  return vec2<u32>((x.y >> (k - 32u)) | select(0u, 1u, lost != 0u), 0u);
}

// The float64 nearest (ties to even) to (-1)^neg * x * 2^e, for any 64-bit x. Bits below the 53
// kept are exact or, where a caller shifted bits out, end in a sticky bit (see the module doc).
fn f64_round(neg: bool, x: vec2<u32>, e: i32) -> F64 {
  if ((x.x | x.y) == 0u) {
    return F64_ZERO;
  }
  let p = f64_leading_bit(x);
  if (p <= 52u) {
    let k = 52u - p;
    var m = x;
    if (k >= 32u) {
      m = vec2<u32>(0u, x.x << (k - 32u));
    } else if (k > 0u) {
      m = vec2<u32>(x.x << k, (x.y << k) | (x.x >> (32u - k)));
    }
    return F64(m.x, m.y, e - i32(k), neg);
  }
  let s = p - 52u; // 1..11: the dropped bits are all in x.x
  var lo = (x.x >> s) | (x.y << (32u - s));
  var hi = x.y >> s;
  let dropped = x.x & ((1u << s) - 1u);
  let half = 1u << (s - 1u);
  var exponent = e + i32(s);
  if (dropped > half || (dropped == half && (lo & 1u) == 1u)) {
    lo += 1u;
    if (lo == 0u) {
      hi += 1u;
    }
    if (hi == 0x200000u) {
      hi = 0x100000u;
      exponent += 1;
    }
  }
  return F64(lo, hi, exponent, neg);
}

fn f64_from_bits(hi: u32, lo: u32) -> F64 {
  let biased = (hi >> 20u) & 0x7ffu;
  if (biased == 0u) {
    return F64_ZERO;
  }
  return F64(lo, (hi & 0xfffffu) | 0x100000u, i32(biased) - 1075, (hi >> 31u) == 1u);
}

fn f64_to_bits(a: F64) -> vec2<u32> {
  if ((a.lo | a.hi) == 0u) {
    return vec2<u32>(0u, 0u);
  }
  let sign = select(0u, 0x80000000u, a.neg);
  return vec2<u32>(sign | (u32(a.e + 1075) << 20u) | (a.hi & 0xfffffu), a.lo);
}

fn f64_from_int(n: i32) -> F64 {
  return f64_round(n < 0, vec2<u32>(u32(abs(n)), 0u), 0);
}

fn f64_from_f32(x: f32) -> F64 {
  let bits = bitcast<u32>(x);
  let biased = (bits >> 23u) & 0xffu;
  let neg = (bits >> 31u) == 1u;
  if (biased == 0u) {
    return f64_round(neg, vec2<u32>(bits & 0x7fffffu, 0u), -149);
  }
  return f64_round(neg, vec2<u32>((bits & 0x7fffffu) | 0x800000u, 0u), i32(biased) - 150);
}

fn f64_neg(a: F64) -> F64 {
  return F64(a.lo, a.hi, a.e, !a.neg && (a.lo | a.hi) != 0u);
}

// |a| >= |b| for normalised values.
fn f64_magnitude_at_least(a: F64, b: F64) -> bool {
  if (a.e != b.e) {
    return a.e > b.e;
  }
  if (a.hi != b.hi) {
    return a.hi > b.hi;
  }
  return a.lo >= b.lo;
}

fn f64_add(a0: F64, b0: F64) -> F64 {
  if ((b0.lo | b0.hi) == 0u) {
    return a0;
  }
  if ((a0.lo | a0.hi) == 0u) {
    return b0;
  }
  var a = a0;
  var b = b0;
  if (!f64_magnitude_at_least(a, b)) {
    a = b0;
    b = a0;
  }
  // Both mantissas moved up by 10 guard bits (63 bits), b aligned to a's exponent.
  let big = vec2<u32>(a.lo << 10u, (a.hi << 10u) | (a.lo >> 22u));
  let small = f64_shift_right_sticky(
    vec2<u32>(b.lo << 10u, (b.hi << 10u) | (b.lo >> 22u)),
    u32(min(a.e - b.e, 64)),
  );
  var sum: vec2<u32>;
  if (a.neg == b.neg) {
    let lo = big.x + small.x;
    sum = vec2<u32>(lo, big.y + small.y + select(0u, 1u, lo < big.x));
  } else {
    sum = vec2<u32>(big.x - small.x, big.y - small.y - select(0u, 1u, big.x < small.x));
  }
  return f64_round(a.neg, sum, a.e - 10);
}

fn f64_mul(a: F64, b: F64) -> F64 {
  if ((a.lo | a.hi) == 0u || (b.lo | b.hi) == 0u) {
    return F64_ZERO;
  }
  // The exact 106-bit product in four words w0..w3.
  let ll = f64_mul_wide(a.lo, b.lo);
  let lh = f64_mul_wide(a.lo, b.hi);
  let hl = f64_mul_wide(a.hi, b.lo);
  let hh = f64_mul_wide(a.hi, b.hi);
  let w0 = ll.x;
  var w1 = ll.y + lh.x;
  var carry = select(0u, 1u, w1 < lh.x);
  w1 += hl.x;
  carry += select(0u, 1u, w1 < hl.x);
  var w2 = lh.y + carry;
  var carry2 = select(0u, 1u, w2 < carry);
  w2 += hl.y;
  carry2 += select(0u, 1u, w2 < hl.y);
  w2 += hh.x;
  carry2 += select(0u, 1u, w2 < hh.x);
  let w3 = hh.y + carry2;
  // Bits 42..105 (the product is >= 2^104), the 42 below folded into a sticky bit.
  let sticky = select(0u, 1u, (w0 | (w1 & 0x3ffu)) != 0u);
  let top = vec2<u32>((w1 >> 10u) | (w2 << 22u) | sticky, (w2 >> 10u) | (w3 << 22u));
  return f64_round(a.neg != b.neg, top, a.e + b.e + 42);
}

fn f64_mul_int(a: F64, d: i32) -> F64 {
  let k = u32(abs(d));
  if (k == 0u || (a.lo | a.hi) == 0u) {
    return F64_ZERO;
  }
  let low = f64_mul_wide(a.lo, k);
  return f64_round(a.neg != (d < 0), vec2<u32>(low.x, low.y + a.hi * k), a.e);
}

// round(m / 2^s) to nearest even, for a mantissa m (< 2^53) and s >= 29 (result < 2^25).
fn f64_shift_round(m: vec2<u32>, s: u32) -> u32 {
  // m >> (s - 2) with sticky: quotient above bit 1, the round bit at 1, sticky at 0.
  let t = f64_shift_right_sticky(m, s - 2u).x;
  let q = t >> 2u;
  let up = (t & 2u) != 0u && (t & 5u) != 0u;
  return q + select(0u, 1u, up);
}

fn f64_fround(v: F64) -> f32 {
  if ((v.lo | v.hi) == 0u) {
    return 0.0;
  }
  // The f32 keeps 24 bits, or fewer below 2^-126 (its quantum is never below 2^-149).
  let s = u32(max(29, -149 - v.e));
  var q = f64_shift_round(vec2<u32>(v.lo, v.hi), s);
  var e = v.e + i32(s); // |fround(v)| = q * 2^e
  if (q == 0x1000000u) {
    q = 0x800000u;
    e += 1;
  }
  var bits = q; // subnormal (e = -149) or zero
  if (q >= 0x800000u) {
    bits = (u32(e + 150) << 23u) | (q & 0x7fffffu);
  }
  return bitcast<f32>(bits | select(0u, 0x80000000u, v.neg));
}

fn f64_trunc_fround(v: F64) -> i32 {
  return i32(f64_fround(v)); // f32 to i32 truncates, exactly
}

fn f64_bilinear_trunc(tl: i32, tr: i32, bl: i32, br: i32, x_lerp: F64, y_lerp: F64) -> i32 {
  let top = f64_add(f64_from_int(tl), f64_mul_int(x_lerp, tr - tl));
  let bottom = f64_add(f64_from_int(bl), f64_mul_int(x_lerp, br - bl));
  return f64_trunc_fround(f64_add(top, f64_mul(f64_add(bottom, f64_neg(top)), y_lerp)));
}
// ---- end of float64 emulation ----
`;
