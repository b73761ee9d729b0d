/**
 * PoseNet 2.x preprocessing on the CPU, for the peers that feed a network directly (the ORT
 * peers): pad the RGBA image with zeros to the input's aspect ratio (`padAndResizeTo`), bilinear
 * resize to R×R with alignCorners=false and halfPixelCenters=false (source coordinate
 * `dst · in / out`), then MobileNet's `x / 127.5 − 1`. Everything stays in float (rounding the
 * resized image to whole values moves keypoints by pixels); the result is float32 NHWC
 * `[1, R, R, 3]`.
 *
 * The resize is separable: the per-column source indices and weights are computed once per call,
 * padding rows and columns are never read (they are zeros, so their terms drop out), and the
 * inner loop is three multiply-adds per channel.
 *
 * @module
 */

import {
  inputPaddingFor,
  type InputTransform,
  inputTransformFor,
} from "../../decode/input_transform.ts";
import type { PeerImage } from "./peer.ts";

/** One preprocessed image. */
export interface PreprocessedImage {
  /** NHWC `[1, height, width, 3]` float32, values in [−1, 1]. */
  readonly input: Float32Array;
  /** Maps decoded positions back to the image (for `decodeSinglePose`). */
  readonly transform: InputTransform;
}

/**
 * Pads, resizes and normalises an RGBA image to the network input.
 *
 * @param image RGBA bytes, `width · height · 4`.
 * @param height Network input rows R_h.
 * @param width Network input columns R_w.
 * @param out Optional output buffer of `height · width · 3` floats to write into (reused across
 *   calls by the engines); a new one is allocated when absent.
 * @returns The input tensor data and the transform back to image pixels.
 */
export function preprocessRgba(
  image: PeerImage,
  height: number,
  width: number,
  out?: Float32Array,
): PreprocessedImage {
  const { data, width: imgW, height: imgH } = image;
  const n = height * width * 3;
  if (out === undefined) out = new Float32Array(n);
  else if (out.length !== n) throw new Error(`output buffer has ${out.length} floats, need ${n}`);

  const pad = inputPaddingFor(imgW, imgH, width, height);
  const paddedH = imgH + pad.top + pad.bottom;
  const paddedW = imgW + pad.left + pad.right;
  const scaleY = paddedH / height;
  const scaleX = paddedW / width;

  // Per column: byte offsets of the two source pixels in an image row (-1 = padding, reads 0)
  // and the weight of the right one.
  const col0 = new Int32Array(width);
  const col1 = new Int32Array(width);
  const fxs = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const sx = x * scaleX;
    const x0 = Math.floor(sx);
    const x1 = Math.min(x0 + 1, paddedW - 1);
    fxs[x] = sx - x0;
    const i0 = x0 - pad.left;
    const i1 = x1 - pad.left;
    col0[x] = i0 >= 0 && i0 < imgW ? i0 * 4 : -1;
    col1[x] = i1 >= 0 && i1 < imgW ? i1 * 4 : -1;
  }

  for (let y = 0; y < height; y++) {
    const sy = y * scaleY;
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, paddedH - 1);
    const fy = sy - y0;
    const r0 = y0 - pad.top;
    const r1 = y1 - pad.top;
    // Byte offset of each source row, -1 for a padding row.
    const row0 = r0 >= 0 && r0 < imgH ? r0 * imgW * 4 : -1;
    const row1 = r1 >= 0 && r1 < imgH ? r1 * imgW * 4 : -1;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      const c0 = col0[x];
      const c1 = col1[x];
      const fx = fxs[x];
      for (let c = 0; c < 3; c++) {
        let top = 0;
        let bottom = 0;
        if (row0 >= 0) {
          const a = c0 >= 0 ? data[row0 + c0 + c] : 0;
          const b = c1 >= 0 ? data[row0 + c1 + c] : 0;
          top = a + (b - a) * fx;
        }
        if (row1 >= 0) {
          const a = c0 >= 0 ? data[row1 + c0 + c] : 0;
          const b = c1 >= 0 ? data[row1 + c1 + c] : 0;
          bottom = a + (b - a) * fx;
        }
        out[o + c] = (top + (bottom - top) * fy) / 127.5 - 1;
      }
    }
  }
  return { input: out, transform: inputTransformFor(imgW, imgH, width, height) };
}
