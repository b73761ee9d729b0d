/**
 * PoseNet 2.x preprocessing done on the CPU, shared by the network tests
 * (`tests/posenet_network_test.ts`, `tests/posenet_accuracy_test.ts`).
 *
 * @module
 */

import { inputPaddingFor } from "../../decode/input_transform.ts";

/**
 * PoseNet 2.x preprocessing on the CPU, written on its own (not the runtime's GPU code): pad the
 * RGBA image with zeros to the input's aspect ratio (`inputPaddingFor`), bilinear resize to
 * `height`×`width` with alignCorners=false and halfPixelCenters=false (source coordinate
 * `dst · in / out`), then x / 127.5 − 1, all in float.
 *
 * @param rgba Image pixels, RGBA, `imageWidth · imageHeight · 4` bytes.
 * @param imageWidth Image columns.
 * @param imageHeight Image rows.
 * @param height Network input rows.
 * @param width Network input columns.
 * @returns The network input, NHWC `height · width · 3`.
 */
export function preprocess(
  rgba: Uint8Array,
  imageWidth: number,
  imageHeight: number,
  height: number,
  width: number,
): Float32Array {
  const pad = inputPaddingFor(imageWidth, imageHeight, width, height);
  const paddedH = imageHeight + pad.top + pad.bottom;
  const paddedW = imageWidth + pad.left + pad.right;
  const pixel = (y: number, x: number, c: number): number => {
    const iy = y - pad.top;
    const ix = x - pad.left;
    if (iy < 0 || iy >= imageHeight || ix < 0 || ix >= imageWidth) return 0;
    return rgba[(iy * imageWidth + ix) * 4 + c];
  };
  const scaleY = paddedH / height;
  const scaleX = paddedW / width;
  const out = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    const sy = y * scaleY;
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, paddedH - 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = x * scaleX;
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, paddedW - 1);
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const top = pixel(y0, x0, c) + (pixel(y0, x1, c) - pixel(y0, x0, c)) * fx;
        const bottom = pixel(y1, x0, c) + (pixel(y1, x1, c) - pixel(y1, x0, c)) * fx;
        const v = top + (bottom - top) * fy;
        out[(y * width + x) * 3 + c] = v / 127.5 - 1;
      }
    }
  }
  return out;
}
