/**
 * Times MoveNet's crop-resize kernel alone (GPU time per dispatch) on a random 640×480 RGBA image,
 * at Lightning's and Thunder's sides, as shipped (float64 replay only near float32 midpoints) and
 * with the float64 replay on every value (its worst case, `emulateEverywhere`).
 *
 * Run: `deno run --allow-all bench/crop_bench.ts [--repetitions 30]`; respect /tmp/BENCH_RUNNING.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { createCropResizeKernel, cropResizeUniforms } from "../kernels/crop_resize_kernel.ts";
import { cropBox, initCropRegion } from "../decode/movenet_crop.ts";
import { GpuTimer, summarize } from "./gpu_timer.ts";
import { fmt, table } from "./_format.ts";

const { values } = parseArgs({ options: { repetitions: { type: "string", default: "30" } } });
const repetitions = Number(values.repetitions);

const gpu = await createGpuContext();
const timer = new GpuTimer(gpu, repetitions);
const [width, height] = [640, 480];
const pixels = new Uint8Array(width * height * 4);
for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24;
const image = gpu.device.createBuffer({
  size: pixels.byteLength,
  usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
});
gpu.device.queue.writeBuffer(image, 0, pixels);
const rows: string[][] = [];
for (const size of [192, 256]) {
  for (const emulateEverywhere of [false, true]) {
    const kernel = await createCropResizeKernel(gpu, { size, emulateEverywhere });
    const uniforms = gpu.device.createBuffer({
      size: kernel.uniformBytes,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const box = cropBox(initCropRegion(width, height));
    gpu.device.queue.writeBuffer(
      uniforms,
      0,
      cropResizeUniforms({ imageWidth: width, imageHeight: height, channels: 4, box }, size),
    );
    const output = gpu.device.createBuffer({
      size: size * size * 16,
      usage: GPUBufferUsage.STORAGE,
    });
    const bindGroup = kernel.bind(image, uniforms, output);
    await timer.time(3, (pass) => kernel.dispatch(pass, bindGroup)); // warm-up
    const ms = summarize(await timer.time(repetitions, (pass) => kernel.dispatch(pass, bindGroup)));
    rows.push([
      `${size}`,
      emulateEverywhere ? "float64 replay everywhere" : "as shipped",
      fmt(ms.median, 3),
      fmt(ms.min, 3),
    ]);
    kernel.dispose();
    for (const b of [uniforms, output]) b.destroy();
  }
}
console.log(
  `crop-resize kernel, ${gpu.adapter.provider} (${timer.method}), ${width}x${height} RGBA`,
);
console.log(table(["side", "path", "median ms", "min ms"], rows));
image.destroy();
timer.dispose();
gpu.destroy();
