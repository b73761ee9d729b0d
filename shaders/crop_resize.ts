/**
 * WGSL generator for pose-detection's MoveNet preprocessing: `tf.image.cropAndResize` (bilinear,
 * extrapolation 0) of one box, the cast to int32 that truncates, then the graph's own
 * normalisation, written as the model's NHWC4 input. The sampling table is made on the host
 * (`kernels/crop_resize_kernel.ts`) in float64 exactly as tfjs-backend-cpu makes it; the blend is
 * decided exactly in integers, and wherever that cannot tell which side of a float32 rounding
 * midpoint tfjs's float64 value falls, tfjs's float64 arithmetic is replayed (`_f64_lerp.ts`).
 *
 * @module
 */

import { entryPoint, WORKGROUP_SIZE } from "./wgsl_common.ts";
import { F64_WGSL } from "./_f64_lerp.ts";

/** Shape constants baked into a crop-resize shader. */
export interface CropResizeShaderParams {
  /** Output rows (192 for Lightning, 256 for Thunder; MultiPose: the padded input's). */
  readonly height: number;
  /** Output columns. */
  readonly width: number;
  /**
   * Replay tfjs's float64 blend for every value, not only where the fast path is within
   * {@linkcode CROP_NEAR_WINDOW} of a decision (for tests of that path; much slower).
   */
  readonly emulateEverywhere?: boolean;
}

/** Bits of the fixed-point bilinear weights: three base-2^14 digits. */
export const CROP_WEIGHT_BITS = 42;

/** Marks a sample row or column outside the image (cropAndResize's extrapolation). */
export const CROP_OUTSIDE = 0xffffffff;

/**
 * How far (in units of 2^-28) the fast path's fraction may lie from a float32 rounding midpoint
 * before the float64 replay decides: the fast value is within 2^-33 of the exact blend (42-bit
 * lerps) and tfjs's float64 value within 9 · 2^-46 of it, so ±1 suffices; 2 leaves margin.
 */
export const CROP_NEAR_WINDOW = 2;

/**
 * Where things are in the per-image uniform block, in u32 words: a 4-word header (image width,
 * height, bytes per pixel, 0), the samples (the output's rows, then its columns, 4 words each: low
 * index, high index, lerp bits 41..14, lerp bits 13..0), then the same samples' lerps as float64
 * (hi, lo words), two per 16 bytes (the last 16 half used when their count is odd).
 *
 * @param height Output rows.
 * @param width Output columns (default: as many as rows).
 * @returns Word offsets of the samples and the float64 lerps, and the total.
 *
 * @example
 * ```ts
 * import { cropResizeUniformWords } from "./crop_resize.ts";
 * console.log(cropResizeUniformWords(4)); // { samples: 4, lerps: 36, total: 52 }
 * ```
 */
export function cropResizeUniformWords(
  height: number,
  width: number = height,
): { samples: number; lerps: number; total: number } {
  return sampleTableWords(height + width);
}

/**
 * {@linkcode cropResizeUniformWords} for a table of `count` samples (rows plus columns).
 *
 * @param count The samples.
 * @returns Word offsets of the samples and the float64 lerps, and the total.
 *
 * @example
 * ```ts
 * import { sampleTableWords } from "./crop_resize.ts";
 * console.log(sampleTableWords(3)); // { samples: 4, lerps: 16, total: 24 }
 * ```
 */
export function sampleTableWords(count: number): { samples: number; lerps: number; total: number } {
  return { samples: 4, lerps: 4 + 4 * count, total: 4 + 4 * count + 4 * lerpVectors(count) };
}

/** The `vec4<u32>`s that hold `samples` float64 lerps, two each. */
function lerpVectors(samples: number): number {
  return Math.ceil(samples / 2);
}

/**
 * Bytes of the per-image uniform block ({@linkcode cropResizeUniformWords}).
 *
 * @param height Output rows.
 * @param width Output columns (default: as many as rows).
 * @returns The block's size.
 *
 * @example
 * ```ts
 * import { cropResizeUniformBytes } from "./crop_resize.ts";
 * console.log(cropResizeUniformBytes(256), cropResizeUniformBytes(256, 160)); // 12304 9616
 * ```
 */
export function cropResizeUniformBytes(height: number, width: number = height): number {
  return 4 * cropResizeUniformWords(height, width).total;
}

/** Bytes of the normalisation table: 256 `vec4<f32>`, one per int value 0..255. */
export const CROP_NORMALIZATION_BYTES = 256 * 16;

/** The crop shader's header comment: what the two passes compute, the layout, the workgroups. */
function header(): string {
  return `// pose-detection 2.1.3's MoveNet preprocessing for one crop box (single pose) or the resize and
// pad of MultiPose (the same blend from a table of rows and columns, resizeBilinear's, with the
// padding's rows or columns outside the image), written as a ROWS × COLS model input:
//   1. tf.image.cropAndResize(image, [box], [0], [S, S], "bilinear", 0) as tfjs-backend-cpu 4.22:
//      in_y = y1·(H−1) + y·(y2−y1)·(H−1)/(S−1) in f64 from the f32 box (likewise x), or
//      resizeBilinear's in_y = y·H/R for R resized rows (no corner alignment, no half-pixel
//      centres, floor and ceil clamped to the image; the padding's rows are outside); a row or
//      column with in_y < 0 or > H−1 is the extrapolation value 0; else top = floor(in_y),
//      bottom = ceil(in_y), lerp = in_y − top, and the value blends the 4 pixels
//      (top + (bottom − top)·y_lerp of the two row blends);
//   2. the f64 value is stored as f32, then cast to int32 (truncation): n = trunc(fround(v));
//   3. the graph's Cast, Sub, Mul, Sub: NORM[n], a table the host fills with TF's arithmetic.
// The host computes each row's and column's (top, bottom, lerp) in f64 with TF's own expression,
// so the floor/ceil choices and the out-of-image tests are TF's bit for bit; a flip
// (the mirrored image) is the column indices mirrored there. Lerps arrive twice: as 42-bit fixed
// point (truncated) and as their f64 words.
// Here the blend is exact integer arithmetic: with lx = X/2^42, ly = Y/2^42,
//   v·2^84 = TL·2^84 + (TR−TL)·X·2^42 + (BL−TL)·Y·2^42 + (BR−BL−TR+TL)·X·Y
// in base-2^14 digits (every product < 2^24, so i32 holds it). trunc(fround(v)) is then
// floor(v), plus 1 when v is within half an f32 ULP below the next integer m, i.e. when the top
// q fraction bits are all ones (q = 25 − log2(m) when m is a power of two, else 24 − floor(log2 m)).
// That is exact for the 42-bit lerps (truncations of the f64 ones), which puts it within 2^-33 of
// the exact blend of tfjs's lerps; tfjs's own value, rounded at each of its 7 f64 steps, lies
// within 9·2^-46 of that. So the fast decision is tfjs's unless the fraction's top 28 bits lie
// within NEAR of the midpoint 1 − 2^-q. There (about 2 values in 10^8 of random images, and at
// every constructed near-tie) this pass lists the pixel (index << 3 | channel mask) in near_list,
// and the replay pass dispatched right after it (cropNearReplayShader) replays tfjs's 7 f64 steps
// for those channels exactly in integer arithmetic (f64_bilinear_trunc, shaders/_f64_lerp.ts) from
// the f64 lerps, rewrites them, and empties the list.
// Layout: image = the raw bytes (RGB or RGBA, row-major) viewed as array<u32>; uniforms = a header
// (image width, height, bytes per pixel) then ROWS rows and COLS columns of (low index, high index,
// lerp bits 41..14, lerp bits 13..0), low = ${
    CROP_OUTSIDE.toString(16)
  } outside the image, then the same
// ROWS + COLS lerps as f64 words (hi, lo), two per vec4; norm = 256 vec4, NORM[n] per channel in
// .xyz; output = NHWC4 [ROWS, COLS, 3] with channel 3 = 0; near_list = (count, ROWS·COLS items),
// empty between images.
// Workgroup: ${WORKGROUP_SIZE} invocations, one output pixel (3 channels as vec3<i32>) each. The replay
// is a pass of its own because inlined here it made this pass 2.2× slower on lavapipe although no
// value of a real image takes it (measured: bench/NOTES.md).`;
}

/** Constants, uniforms, bindings and helpers both passes declare (one source for the layout). */
function declarations(p: CropResizeShaderParams): string {
  return `const ROWS: u32 = ${p.height}u;
const COLS: u32 = ${p.width}u;
const DIGIT: i32 = 0x3fff;
const OUTSIDE: u32 = 0x${CROP_OUTSIDE.toString(16)}u;
const NEAR: u32 = ${CROP_NEAR_WINDOW}u;
const EMULATE_EVERYWHERE = ${p.emulateEverywhere === true};

// The pixels whose ints the replay pass decides: count, then (index << 3 | channel mask) each.
struct NearList {
  count: atomic<u32>,
  items: array<u32>,
}

struct Uniforms {
  imageWidth: u32,
  imageHeight: u32,
  channels: u32,
  reserved: u32,
  samples: array<vec4<u32>, ${p.height + p.width}>,
  lerps: array<vec4<u32>, ${lerpVectors(p.height + p.width)}>,
}

@group(0) @binding(0) var<storage, read> image: array<u32>;
@group(0) @binding(1) var<uniform> uniforms: Uniforms;
@group(0) @binding(2) var<uniform> norm: array<vec4<f32>, 256>;
@group(0) @binding(3) var<storage, read_write> output: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> near_list: NearList;

fn pixel(y: u32, x: u32) -> vec3<i32> {
  let first = (y * uniforms.imageWidth + x) * uniforms.channels;
  var rgb: vec3<i32>;
  for (var c = 0u; c < 3u; c++) {
    let b = first + c;
    rgb[c] = i32((image[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu);
  }
  return rgb;
}`;
}

/**
 * Generates the crop's main pass for one output size: the exact integer decision for every value,
 * and the list of pixels whose decision the replay pass ({@linkcode cropNearReplayShader}) makes.
 *
 * @param p Output rows and columns (and the test switch).
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
  return `${header()}
${declarations(p)}
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
    // Near the midpoint 1 − 2^-q (top 28 fraction bits within NEAR): replay tfjs's f64 blend.
    let fraction = (vec3<u32>(f5) << vec3<u32>(14u)) | vec3<u32>(f4);
    let midpoint = vec3<u32>(1u << 28u) - (vec3<u32>(1u) << (28u - q));
    let near = ((fraction + NEAR) - midpoint) <= vec3<u32>(2u * NEAR);
    if (EMULATE_EVERYWHERE || any(near)) {
      let mask = select(
        dot(select(vec3<u32>(0u), vec3<u32>(1u, 2u, 4u), near), vec3<u32>(1u)),
        7u,
        EMULATE_EVERYWHERE,
      );
      near_list.items[atomicAdd(&near_list.count, 1u)] = (index << 3u) | mask;
    }
  }
  output[index] = vec4<f32>(norm[n.x].x, norm[n.y].y, norm[n.z].z, 0.0);
}
`;
}

/**
 * Generates the near-tie replay pass that follows {@linkcode cropResizeShader} in the same compute
 * pass: one workgroup; each invocation takes every WORKGROUP_SIZE-th listed pixel, replays tfjs's
 * float64 blend (`f64_bilinear_trunc`) for its listed channels and rewrites them; then the list is
 * emptied for the next image.
 *
 * @param p Output rows and columns (and the test switch).
 * @returns WGSL source.
 *
 * @example
 * ```ts
 * import { cropNearReplayShader } from "./crop_resize.ts";
 * const wgsl = cropNearReplayShader({ height: 192, width: 192 });
 * console.log(wgsl.includes("f64_bilinear_trunc(")); // true
 * ```
 */
export function cropNearReplayShader(p: CropResizeShaderParams): string {
  return `// The replay pass of the crop (see shaders/crop_resize.ts's main pass for the whole story):
// for each pixel the main pass listed, the listed channels' ints become tfjs's, replayed in f64.
// Layout: the main pass's bindings; near_list = (count, items), emptied at the end.
// Workgroup: one of ${WORKGROUP_SIZE} invocations; invocation i takes items i, i + ${WORKGROUP_SIZE}, ...
${declarations(p)}
${F64_WGSL}
// Sample s's lerp as the f64 tfjs computed.
fn lerp64(s: u32) -> F64 {
  let w = uniforms.lerps[s >> 1u];
  if ((s & 1u) == 0u) {
    return f64_from_bits(w.x, w.y);
  }
  return f64_from_bits(w.z, w.w);
}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(local_invocation_index) lane: u32) {
  let count = atomicLoad(&near_list.count);
  workgroupBarrier(); // every invocation has read the count before it is reset below
  for (var i = lane; i < count; i += ${WORKGROUP_SIZE}u) {
    let item = near_list.items[i];
    let index = item >> 3u;
    let row = uniforms.samples[index / COLS];
    let col = uniforms.samples[ROWS + index % COLS];
    let tl = pixel(row.x, col.x);
    let tr = pixel(row.x, col.y);
    let bl = pixel(row.y, col.x);
    let br = pixel(row.y, col.y);
    let x64 = lerp64(ROWS + index % COLS);
    let y64 = lerp64(index / COLS);
    var value = output[index];
    for (var c = 0u; c < 3u; c++) {
      if ((item & (1u << c)) != 0u) {
        let n = clamp(f64_bilinear_trunc(tl[c], tr[c], bl[c], br[c], x64, y64), 0, 255);
        value[c] = norm[n][c];
      }
    }
    output[index] = value;
  }
  workgroupBarrier();
  if (lane == 0u) {
    atomicStore(&near_list.count, 0u);
  }
}
`;
}
