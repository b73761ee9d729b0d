/**
 * The MoveNet peers' CPU preprocessing (`bench/peers/movenet_crop.ts`) against TF.js: on a tall
 * and a wide real photo, at both MoveNet input sizes, `cropAndResizeToInt32` of
 * `movenetFirstCrop` must equal, value for value, `tf.image.cropAndResize` (tfjs-backend-cpu,
 * bilinear) of the centred square of side min(W, H) followed by a cast to int32, as
 * pose-detection cuts a single image's first crop.
 */

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { readImageFile } from "../cli/read_image.ts";
import { cropAndResizeToInt32, movenetFirstCrop } from "../bench/peers/movenet_crop.ts";

tf.env().set("IS_NODE", false); // silences the "install tfjs-node" banner
await tf.setBackend("cpu");

for (const photo of ["single_uniform_crop.png", "group3_couch.jpg"]) {
  Deno.test(`\`cropAndResizeToInt32()\` of \`movenetFirstCrop()\` equals TF.js on ${photo}`, async () => {
    const image = await readImageFile(
      new URL(`./fixtures/photos/${photo}`, import.meta.url).pathname,
    );
    const { width: w, height: h } = image;
    const rgb = new Float32Array(w * h * 3);
    for (let i = 0; i < w * h; i++) {
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = image.data[i * 4 + c];
    }
    // The centred square of side min(W, H), in pixels, as fractions of the image.
    const side = Math.min(w, h);
    const top = (h - side) / 2;
    const left = (w - side) / 2;
    const box = [top / h, left / w, (top + side) / h, (left + side) / w];
    const b = movenetFirstCrop(w, h);
    assert.deepEqual([b.yMin, b.xMin, b.yMax, b.xMax], box.map(Math.fround));
    for (const size of [192, 256]) {
      const ref = tf.tidy(() => {
        const crop = tf.image.cropAndResize(tf.tensor4d(rgb, [1, h, w, 3]), [box], [0], [
          size,
          size,
        ]);
        return tf.cast(crop, "int32").dataSync();
      });
      const ours = cropAndResizeToInt32(image, b, size);
      let mismatches = 0;
      for (let i = 0; i < ours.length; i++) if (ours[i] !== ref[i]) mismatches++;
      assert.equal(mismatches, 0, `${photo} at ${size}: ${mismatches} values differ from TF.js`);
    }
  });
}
