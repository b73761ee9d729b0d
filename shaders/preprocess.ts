/**
 * WGSL generator for PoseNet's input preprocessing: uint8 image → padded to the network's aspect
 * ratio → bilinear resize → x / 127.5 − 1, written as the network's NHWC4 input.
 *
 * @module
 */

import { entryPoint, WORKGROUP_SIZE } from "./wgsl_common.ts";

/** Shape constants baked into a preprocessing shader (the network input size). */
export interface PreprocessShaderParams {
  /** Network input rows. */
  readonly outHeight: number;
  /** Network input columns. */
  readonly outWidth: number;
}

/** Bytes of the per-image uniform block ({@linkcode preprocessUniforms}). */
export const PREPROCESS_UNIFORM_BYTES = 32;

/** What the preprocessing shader's uniforms hold, per image: its size and how it is padded. */
export interface PreprocessUniformValues {
  /** Image columns. */
  readonly imageWidth: number;
  /** Image rows. */
  readonly imageHeight: number;
  /** Bytes per pixel, 3 (RGB) or 4 (RGBA). */
  readonly channels: 3 | 4;
  /** Zero rows added above the image. */
  readonly padTop: number;
  /** Zero columns added left of the image. */
  readonly padLeft: number;
  /** Padded image rows. */
  readonly paddedHeight: number;
  /** Padded image columns. */
  readonly paddedWidth: number;
}

/**
 * Packs an image's values into the shader's uniform block.
 *
 * @param values Image size and padding.
 * @returns The uniform bytes.
 *
 * @example
 * ```ts
 * import { preprocessUniforms } from "./preprocess.ts";
 * preprocessUniforms({ imageWidth: 640, imageHeight: 480, channels: 4, padTop: 80, padLeft: 0, paddedHeight: 640, paddedWidth: 640 });
 * ```
 */
export function preprocessUniforms(values: PreprocessUniformValues): ArrayBuffer {
  const buffer = new ArrayBuffer(PREPROCESS_UNIFORM_BYTES);
  const u = new Uint32Array(buffer);
  u[0] = values.imageWidth;
  u[1] = values.imageHeight;
  u[2] = values.channels;
  u[3] = values.padTop;
  u[4] = values.padLeft;
  u[5] = values.paddedHeight;
  u[6] = values.paddedWidth;
  return buffer;
}

/**
 * Generates the preprocessing shader for one network input size.
 *
 * @param p Output size.
 * @returns WGSL source.
 *
 * @example
 * ```ts
 * import { preprocessShader } from "./preprocess.ts";
 * const wgsl = preprocessShader({ outHeight: 257, outWidth: 257 });
 * ```
 */
export function preprocessShader(p: PreprocessShaderParams): string {
  return `// PoseNet preprocessing, as TF.js PoseNet 2.x's padAndResizeTo + MobileNet's normalisation:
//   1. the image is padded with zeros to the network's aspect ratio (PAD_TOP / PAD_LEFT before it);
//   2. resizeBilinear to OUT_H × OUT_W, alignCorners = false, halfPixelCenters = false:
//      src = dst · paddedSize / outSize, blending the 4 neighbours (the zero border included);
//   3. v / 127.5 − 1.
// Everything stays in f32: rounding the resized image to integers moves keypoints by pixels.
// Layout: the image is the raw bytes (RGB or RGBA, row-major) viewed as array<u32>; the output is
// NHWC4, one vec4 (r, g, b, 0) per pixel, the network's input. Image size and padding are uniforms,
// so one pipeline serves images of any size. Workgroup: ${WORKGROUP_SIZE} invocations, one output pixel each.
struct Uniforms {
  imageWidth: u32,
  imageHeight: u32,
  channels: u32,
  padTop: u32,
  padLeft: u32,
  paddedHeight: u32,
  paddedWidth: u32,
}

const OUT_H: u32 = ${p.outHeight}u;
const OUT_W: u32 = ${p.outWidth}u;

@group(0) @binding(0) var<storage, read> image: array<u32>;
@group(0) @binding(1) var<uniform> uniforms: Uniforms;
@group(0) @binding(2) var<storage, read_write> output: array<vec4<f32>>;

// One pixel of the padded image: zero outside the original image.
fn padded(py: u32, px: u32) -> vec3<f32> {
  let y = i32(py) - i32(uniforms.padTop);
  let x = i32(px) - i32(uniforms.padLeft);
  if (y < 0 || x < 0 || y >= i32(uniforms.imageHeight) || x >= i32(uniforms.imageWidth)) {
    return vec3<f32>(0.0);
  }
  let first = (u32(y) * uniforms.imageWidth + u32(x)) * uniforms.channels;
  var rgb: vec3<f32>;
  for (var c = 0u; c < 3u; c++) {
    let b = first + c;
    rgb[c] = f32((image[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu);
  }
  return rgb;
}

${entryPoint(p.outHeight * p.outWidth)}
  let oy = index / OUT_W;
  let ox = index % OUT_W;
  // src = dst · paddedSize / outSize, split exactly into whole and fraction with integers: an f32
  // product would lose the fraction's low bits at large coordinates (TF.js computes it in f64).
  let ny = oy * uniforms.paddedHeight;
  let nx = ox * uniforms.paddedWidth;
  let y0 = ny / OUT_H;
  let x0 = nx / OUT_W;
  let fy = f32(ny % OUT_H) / f32(OUT_H);
  let fx = f32(nx % OUT_W) / f32(OUT_W);
  let y1 = min(y0 + 1u, uniforms.paddedHeight - 1u);
  let x1 = min(x0 + 1u, uniforms.paddedWidth - 1u);
  let top = padded(y0, x0) + (padded(y0, x1) - padded(y0, x0)) * fx;
  let bottom = padded(y1, x0) + (padded(y1, x1) - padded(y1, x0)) * fx;
  let v = top + (bottom - top) * fy;
  output[index] = vec4<f32>(v / 127.5 - 1.0, 0.0);
}
`;
}
