/**
 * MoveNet SinglePose's preprocessing on the CPU, for the peers that feed the network directly (the
 * ORT MoveNet peers): the first crop of `@tensorflow-models/pose-detection` for a single image
 * (the centred square of side min(W, H), as fractions of the image, held as float32 as its boxes
 * tensor holds them), then `tf.image.cropAndResize` to S×S, bilinear, written out here as
 * tfjs-backend-cpu 4.22 computes it (source row `y1·(H−1) + y·(y2−y1)·(H−1)/(S−1)`, likewise
 * columns, extrapolation 0), the result rounded to float32 and cast to int32, which truncates.
 * RGBA's alpha is dropped, as `tf.browser.fromPixels` drops it.
 *
 * @module
 */

import type { PeerImage } from "./peer.ts";

import { cropBox, initCropRegion } from "../../decode/movenet_crop.ts";

/** A crop box as fractions of the image (`tf.image.cropAndResize`'s `[y1, x1, y2, x2]`). */
export interface CropBox {
  /** Top. */
  readonly yMin: number;
  /** Left. */
  readonly xMin: number;
  /** Bottom. */
  readonly yMax: number;
  /** Right. */
  readonly xMax: number;
}

/**
 * pose-detection's first crop region of a `width × height` image: the centred square of side
 * min(width, height), each coordinate rounded to float32.
 *
 * @param width Image columns.
 * @param height Image rows.
 * @returns The box.
 *
 * @example
 * ```ts
 * import { movenetFirstCrop } from "./movenet_crop.ts";
 * console.log(movenetFirstCrop(400, 200)); // { yMin: 0, xMin: 0.25, yMax: 1, xMax: 0.75 }
 * ```
 */
export function movenetFirstCrop(width: number, height: number): CropBox {
  const [yMin, xMin, yMax, xMax] = cropBox(initCropRegion(width, height));
  return { yMin, xMin, yMax, xMax };
}

/**
 * Crops and resizes an RGBA image to the int32 MoveNet input `[1, size, size, 3]`.
 *
 * @param image RGBA bytes, `width · height · 4`.
 * @param box The crop, as fractions of the image.
 * @param size Output side S (192 for Lightning, 256 for Thunder).
 * @param out Optional output of `S · S · 3` values to write into.
 * @returns The int32 input, row-major NHWC.
 *
 * @example
 * ```ts
 * import { cropAndResizeToInt32, movenetFirstCrop } from "./movenet_crop.ts";
 * const image = { data: new Uint8Array(4 * 3 * 4).fill(200), width: 4, height: 3 };
 * const input = cropAndResizeToInt32(image, movenetFirstCrop(4, 3), 2);
 * console.log(input); // Int32Array(12) [ 200, 200, … ]
 * ```
 */
export function cropAndResizeToInt32(
  image: PeerImage,
  box: CropBox,
  size: number,
  out?: Int32Array,
): Int32Array {
  const { data, width: w, height: h } = image;
  const n = size * size * 3;
  if (out === undefined) out = new Int32Array(n);
  else if (out.length !== n) throw new Error(`output buffer has ${out.length} values, need ${n}`);
  const { yMin: y1, xMin: x1, yMax: y2, xMax: x2 } = box;
  const heightScale = size > 1 ? (y2 - y1) * (h - 1) / (size - 1) : 0;
  const widthScale = size > 1 ? (x2 - x1) * (w - 1) / (size - 1) : 0;
  // Per column: byte offsets of the left and right source pixels in a row (-1: outside), weight.
  const left = new Int32Array(size);
  const right = new Int32Array(size);
  const xLerp = new Float64Array(size);
  for (let x = 0; x < size; x++) {
    const xInd = size > 1 ? x1 * (w - 1) + x * widthScale : 0.5 * (x1 + x2) * (w - 1);
    if (xInd < 0 || xInd > w - 1) {
      left[x] = -1;
      continue;
    }
    left[x] = Math.floor(xInd) * 4;
    right[x] = Math.ceil(xInd) * 4;
    xLerp[x] = xInd - Math.floor(xInd);
  }
  let o = 0;
  for (let y = 0; y < size; y++) {
    const yInd = size > 1 ? y1 * (h - 1) + y * heightScale : 0.5 * (y1 + y2) * (h - 1);
    if (yInd < 0 || yInd > h - 1) {
      out.fill(0, o, o + size * 3);
      o += size * 3;
      continue;
    }
    const top = Math.floor(yInd) * w * 4;
    const bottom = Math.ceil(yInd) * w * 4;
    const yLerp = yInd - Math.floor(yInd);
    for (let x = 0; x < size; x++) {
      const l = left[x];
      if (l < 0) {
        out[o++] = 0;
        out[o++] = 0;
        out[o++] = 0;
        continue;
      }
      const r = right[x];
      const fx = xLerp[x];
      for (let c = 0; c < 3; c++) {
        const tl = data[top + l + c];
        const t = tl + (data[top + r + c] - tl) * fx;
        const bl = data[bottom + l + c];
        const b = bl + (data[bottom + r + c] - bl) * fx;
        out[o++] = Math.trunc(Math.fround(t + (b - t) * yLerp));
      }
    }
  }
  return out;
}
