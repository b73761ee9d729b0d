/**
 * WGSL generator for pose-detection's MoveNet preprocessing: `tf.image.cropAndResize` (bilinear,
 * extrapolation 0) of one box, the cast to int32 that truncates, then the graph's own
 * normalisation, written as the model's NHWC4 input. The sampling table is made on the host
 * (`kernels/crop_resize_kernel.ts`) in float64 exactly as tfjs-backend-cpu makes it.
 *
 * @module
 */

import { entryPoint, WORKGROUP_SIZE } from "./wgsl_common.ts";

/** Shape constants baked into a crop-resize shader. */
export interface CropResizeShaderParams {
  /** Output rows (192 for Lightning, 256 for Thunder; MultiPose: the padded input's). */
  readonly height: number;
  /** Output columns. */
  readonly width: number;
}

/** Bits of the fixed-point bilinear weights: three base-2^14 digits. */
export const CROP_WEIGHT_BITS = 42;

/** Marks a sample row or column outside the image (cropAndResize's extrapolation). */
export const CROP_OUTSIDE = 0xffffffff;

/**
 * Bytes of the per-image uniform block: a 16-byte header, then the output's rows and columns
 * (16 bytes each).
 *
 * @param height Output rows.
 * @param width Output columns (default: as many as rows).
 * @returns The block's size.
 *
 * @example
 * ```ts
 * import { cropResizeUniformBytes } from "./crop_resize.ts";
 * console.log(cropResizeUniformBytes(256), cropResizeUniformBytes(256, 160)); // 8208 6672
 * ```
 */
export function cropResizeUniformBytes(height: number, width: number = height): number {
  return 16 + (height + width) * 16;
}

/** Bytes of the normalisation table: 256 `vec4<f32>`, one per int value 0..255. */
export const CROP_NORMALIZATION_BYTES = 256 * 16;

/**
 * Generates the crop-resize shader for one output size.
 *
 * @param p Output rows and columns.
 * @returns WGSL source.
 *
 * @example
 * ```ts
 * import { cropResizeShader } from "./crop_resize.ts";
 * const wgsl = cropResizeShader({ height: 192, width: 192 });
 * console.log(wgsl.includes("const ROWS: u32 = 192u;")); // true
 * ```
 */
export function cropResizeShader(p: CropResizeShaderParams): string {
  return `// pose-detection 2.1.3's MoveNet preprocessing for one crop box (single pose) or the resize and
// pad of MultiPose (the same blend from a table of rows and columns, resizeBilinear's, with the
// padding's rows or columns outside the image):
//   1. tf.image.cropAndResize(image, [box], [0], [S, S], "bilinear", 0) as tfjs-backend-cpu 4.22:
//      in_y = y1·(H−1) + y·(y2−y1)·(H−1)/(S−1) in f64 from the f32 box (likewise x), or
//      resizeBilinear's in_y = y·H/S (no corner alignment, no half-pixel centres); a row or
//      column with in_y < 0 or > H−1 is the extrapolation value 0; else top = floor(in_y),
//      bottom = ceil(in_y), lerp = in_y − top, and the value blends the 4 pixels
//      (top + (bottom − top)·y_lerp of the two row blends);
//   2. the f64 value is stored as f32, then cast to int32 (truncation): n = trunc(fround(v));
//   3. the graph's Cast, Sub, Mul, Sub: NORM[n], a table the host fills with TF's arithmetic.
// The host computes each row's and column's (top, bottom, lerp) in f64 with TF's own expression,
// so the floor/ceil choices and the out-of-image tests are TF's bit for bit; a flip
// (the mirrored image) is the column indices mirrored there. Lerps arrive as 42-bit fixed point.
// Here the blend is exact integer arithmetic: with lx = X/2^42, ly = Y/2^42,
//   v·2^84 = TL·2^84 + (TR−TL)·X·2^42 + (BL−TL)·Y·2^42 + (BR−BL−TR+TL)·X·Y
// in base-2^14 digits (every product < 2^24, so i32 holds it). trunc(fround(v)) is then
// floor(v), plus 1 when v is within half an f32 ULP below the next integer m, i.e. when the top
// q fraction bits are all ones (q = 25 − log2(m) when m is a power of two, else 24 − floor(log2 m)).
// The exact blend of 42-bit lerps differs from TF's f64 roundings by < 1e-10, so n differs only
// if v lies that close to such a threshold.
// Layout: image = the raw bytes (RGB or RGBA, row-major) viewed as array<u32>; uniforms = a header
// (image width, height, bytes per pixel) then ROWS rows and COLS columns of (low index, high index,
// lerp bits 41..14, lerp bits 13..0), low = ${
    CROP_OUTSIDE.toString(16)
  } outside the image; norm = 256 vec4,
// NORM[n] per channel in .xyz; output = NHWC4 [ROWS, COLS, 3], channel 3 = 0.
// Workgroup: ${WORKGROUP_SIZE} invocations, one output pixel (3 channels as vec3<i32>) each.
const ROWS: u32 = ${p.height}u;
const COLS: u32 = ${p.width}u;
const DIGIT: i32 = 0x3fff;
const OUTSIDE: u32 = 0x${CROP_OUTSIDE.toString(16)}u;

struct Uniforms {
  imageWidth: u32,
  imageHeight: u32,
  channels: u32,
  reserved: u32,
  samples: array<vec4<u32>, ${p.height + p.width}>,
}

@group(0) @binding(0) var<storage, read> image: array<u32>;
@group(0) @binding(1) var<uniform> uniforms: Uniforms;
@group(0) @binding(2) var<uniform> norm: array<vec4<f32>, 256>;
@group(0) @binding(3) var<storage, read_write> output: array<vec4<f32>>;

fn pixel(y: u32, x: u32) -> vec3<i32> {
  let first = (y * uniforms.imageWidth + x) * uniforms.channels;
  var rgb: vec3<i32>;
  for (var c = 0u; c < 3u; c++) {
    let b = first + c;
    rgb[c] = i32((image[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu);
  }
  return rgb;
}

// A lerp's 42 bits as digits (least significant first).
fn digits(s: vec4<u32>) -> vec3<i32> {
  return vec3<i32>(i32(s.w), i32(s.z) & DIGIT, i32(s.z >> 14u));
}

${entryPoint(p.height * p.width)}
  let row = uniforms.samples[index / COLS];
  let col = uniforms.samples[ROWS + index % COLS];
  var n = vec3<i32>(0);
  if (row.x != OUTSIDE && col.x != OUTSIDE) {
    let tl = pixel(row.x, col.x);
    let tr = pixel(row.x, col.y);
    let bl = pixel(row.y, col.x);
    let br = pixel(row.y, col.y);
    let x = digits(col);
    let y = digits(row);
    // X·Y in 6 digits.
    var p0 = x[0] * y[0];
    var p1 = x[0] * y[1] + x[1] * y[0] + (p0 >> 14u);
    var p2 = x[0] * y[2] + x[1] * y[1] + x[2] * y[0] + (p1 >> 14u);
    var p3 = x[1] * y[2] + x[2] * y[1] + (p2 >> 14u);
    var p4 = x[2] * y[2] + (p3 >> 14u);
    let p5 = p4 >> 14u;
    p0 &= DIGIT;
    p1 &= DIGIT;
    p2 &= DIGIT;
    p3 &= DIGIT;
    p4 &= DIGIT;
    let dt = tr - tl;
    let dl = bl - tl;
    let e = br - bl - tr + tl;
    // The fraction digits of v·2^84, carried from the least significant (>> is a floor here).
    var t = e * p0;
    t = e * p1 + (t >> vec3<u32>(14u));
    t = e * p2 + (t >> vec3<u32>(14u));
    t = e * p3 + dt * x[0] + dl * y[0] + (t >> vec3<u32>(14u));
    t = e * p4 + dt * x[1] + dl * y[1] + (t >> vec3<u32>(14u));
    let f4 = t & vec3<i32>(DIGIT);
    t = e * p5 + dt * x[2] + dl * y[2] + (t >> vec3<u32>(14u));
    let f5 = t & vec3<i32>(DIGIT);
    let whole = tl + (t >> vec3<u32>(14u));
    // Round up when the top q fraction bits are all ones (v ≥ m − half an ULP below m).
    let m = vec3<u32>(whole + 1);
    let log2m = firstLeadingBit(m);
    let q = select(vec3<u32>(24u) - log2m, vec3<u32>(25u) - log2m, (m & (m - 1u)) == vec3<u32>(0u));
    let ones = (vec3<u32>(1u) << (q - 14u)) - 1u;
    let up = (f5 == vec3<i32>(DIGIT)) & ((vec3<u32>(f4) >> (28u - q)) == ones);
    n = clamp(whole + select(vec3<i32>(0), vec3<i32>(1), up), vec3<i32>(0), vec3<i32>(255));
  }
  output[index] = vec4<f32>(norm[n.x].x, norm[n.y].y, norm[n.z].z, 0.0);
}
`;
}
