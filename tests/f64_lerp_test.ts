import assert from "node:assert/strict";
import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import { bindBuffers, computePipeline, workgroupGrid } from "../kernels/compute_kernel.ts";
import { dispatchAndRead } from "../kernels/run_kernel.ts";
import { entryPoint } from "../shaders/wgsl_common.ts";
import { F64_WGSL } from "../shaders/_f64_lerp.ts";
import { mulberry32, type Rng, runSeed } from "./support/random.ts";

/** Input words per case (`in`) and output words per case (`out`) of a test shader. */
interface Layout {
  readonly in: number;
  readonly out: number;
}

/** Runs `body` (WGSL using `input`, `output`, `base_in`, `base_out`) once per case on the GPU. */
async function runCases(
  gpu: GpuContext,
  layout: Layout,
  body: string,
  input: Uint32Array<ArrayBuffer>,
): Promise<Uint32Array> {
  const cases = input.length / layout.in;
  const wgsl = `${F64_WGSL}
@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
${entryPoint(cases)}
  let base_in = index * ${layout.in}u;
  let base_out = index * ${layout.out}u;
${body}
}
`;
  const device = gpu.device;
  const pipeline = await computePipeline(gpu, wgsl, "f64 test");
  const inBuffer = device.createBuffer({
    size: input.byteLength,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  const outBytes = cases * layout.out * 4;
  const outBuffer = device.createBuffer({
    size: outBytes,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  try {
    device.queue.writeBuffer(inBuffer, 0, input);
    const bindGroup = bindBuffers(gpu, pipeline, "f64 test", [inBuffer, outBuffer]);
    const grid = workgroupGrid(cases, gpu.maxWorkgroupsPerDimension);
    const out = await dispatchAndRead(gpu, "f64 test", outBuffer, outBytes, (pass) => {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(grid[0], grid[1]);
    });
    return new Uint32Array(out.buffer);
  } finally {
    inBuffer.destroy();
    outBuffer.destroy();
  }
}

const view = new DataView(new ArrayBuffer(8));

/** A float64's IEEE words `[hi, lo]`; −0 as +0 (the emulation's zero has no sign). */
function bits(x: number): [number, number] {
  view.setFloat64(0, x === 0 ? 0 : x);
  return [view.getUint32(0), view.getUint32(4)];
}

function fromBits(hi: number, lo: number): number {
  view.setUint32(0, hi);
  view.setUint32(4, lo);
  return view.getFloat64(0);
}

function f32Bits(x: number): number {
  view.setFloat32(0, x);
  return view.getUint32(0);
}

/** A random normal float64: 52 random mantissa bits, exponent in [lo, hi], random sign. */
function randomF64(rng: Rng, lo: number, hi: number, signed = true): number {
  const e = lo + Math.floor(rng() * (hi - lo + 1));
  const hiWord = ((e + 1023) << 20) | Math.floor(rng() * 2 ** 20);
  const x = fromBits(hiWord >>> 0, Math.floor(rng() * 2 ** 32));
  return signed && rng() < 0.5 ? -x : x;
}

/** A value with a short mantissa (k random bits), so that sums and products tie often. */
function shortF64(rng: Rng, scale: number): number {
  const k = 1 + Math.floor(rng() * 30);
  const m = Math.floor(rng() * 2 ** k) | 1;
  return (rng() < 0.5 ? -1 : 1) * m * 2 ** (scale - k);
}

/** An operand for `a`'s partner: unrelated, cancelling, aligned near a's ulp, or short. */
function partner(rng: Rng, a: number): number {
  const kind = Math.floor(rng() * 6);
  const ulp = 2 ** (Math.floor(Math.log2(Math.abs(a))) - 52);
  if (kind === 0) return randomF64(rng, -80, 20);
  if (kind === 1) return -a * (1 + (Math.floor(rng() * 64) - 32) * 2 ** -52); // cancellation
  if (kind === 2) return (rng() < 0.5 ? -1 : 1) * ulp * (0.5 + (Math.floor(rng() * 5) - 2) / 16);
  if (kind === 3) return a * 2 ** -Math.floor(rng() * 70) * (rng() < 0.5 ? -1 : 1);
  if (kind === 4) return shortF64(rng, Math.floor(rng() * 20) - 10);
  return randomF64(
    rng,
    Math.floor(Math.log2(Math.abs(a))) - 60,
    Math.floor(Math.log2(Math.abs(a))),
  );
}

/** A value whose f32 rounding is decided by its last float64 bits: an f32 midpoint ± a few ULP. */
function nearF32Midpoint(rng: Rng): number {
  const x = Math.fround(0.5 + rng() * 2 ** Math.floor(rng() * 29));
  const ulp32 = 2 ** (Math.floor(Math.log2(x)) - 23);
  const mid = x + ulp32 / 2;
  const ulp64 = 2 ** (Math.floor(Math.log2(mid)) - 52);
  return mid + (Math.floor(rng() * 7) - 3) * ulp64;
}

/** Counts cases whose GPU words differ from the JavaScript ones; reports the first few. */
function compare(label: string, gpu: Uint32Array, js: Uint32Array, width: number): number {
  let wrong = 0;
  const shown: string[] = [];
  for (let c = 0; c < js.length / width; c++) {
    for (let w = 0; w < width; w++) {
      if (gpu[c * width + w] !== js[c * width + w]) {
        wrong++;
        if (shown.length < 5) {
          shown.push(`case ${c} word ${w}: gpu ${gpu[c * width + w]} js ${js[c * width + w]}`);
        }
        break;
      }
    }
  }
  if (wrong) console.log(`${label}: ${shown.join("; ")}`);
  return wrong;
}

const CASES = 1 << 18;

Deno.test("`F64_WGSL` rounds sums, products and f32 stores exactly as JavaScript does", async () => {
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("f64 emulation ops"));
  try {
    const layout = { in: 10, out: 12 };
    const input = new Uint32Array(CASES * layout.in);
    const expected = new Uint32Array(CASES * layout.out);
    for (let c = 0; c < CASES; c++) {
      const a = rng() < 0.1 ? shortF64(rng, Math.floor(rng() * 20) - 10) : randomF64(rng, -80, 20);
      const b = rng() < 0.03 ? 0 : partner(rng, a);
      const v = rng() < 0.7 ? nearF32Midpoint(rng) * (rng() < 0.1 ? -1 : 1) : rng() * 300;
      const x = Math.fround(randomF64(rng, -149, 126));
      const d = Math.floor(rng() * 4095) - 2047;
      // Around f32's subnormal range and its underflow to 0.
      const w = randomF64(rng, -152, -120) * (rng() < 0.3 ? 1 + 2 ** -52 : 1);
      input.set(
        [...bits(a), ...bits(b), ...bits(v), f32Bits(x), d >>> 0, ...bits(w)],
        c * layout.in,
      );
      expected.set([
        ...bits(a + b),
        ...bits(a * b),
        ...bits(d * a),
        ...bits(x),
        Math.trunc(Math.fround(v)) >>> 0,
        f32Bits(a),
        f32Bits(v),
        f32Bits(w),
      ], c * layout.out);
    }
    const got = await runCases(
      gpu,
      layout,
      `  let a = f64_from_bits(input[base_in], input[base_in + 1u]);
  let b = f64_from_bits(input[base_in + 2u], input[base_in + 3u]);
  let v = f64_from_bits(input[base_in + 4u], input[base_in + 5u]);
  let x = bitcast<f32>(input[base_in + 6u]);
  let d = bitcast<i32>(input[base_in + 7u]);
  let w = f64_from_bits(input[base_in + 8u], input[base_in + 9u]);
  let words = array<vec2<u32>, 4>(
    f64_to_bits(f64_add(a, b)),
    f64_to_bits(f64_mul(a, b)),
    f64_to_bits(f64_mul_int(a, d)),
    f64_to_bits(f64_from_f32(x)),
  );
  for (var k = 0u; k < 4u; k++) {
    output[base_out + 2u * k] = words[k].x;
    output[base_out + 2u * k + 1u] = words[k].y;
  }
  output[base_out + 8u] = u32(f64_trunc_fround(v));
  output[base_out + 9u] = bitcast<u32>(f64_fround(a));
  output[base_out + 10u] = bitcast<u32>(f64_fround(v));
  output[base_out + 11u] = bitcast<u32>(f64_fround(w));`,
      input,
    );
    const wrong = compare("f64 ops", got, expected, layout.out);
    console.log(`f64 ops: ${wrong} of ${CASES} cases differ from JavaScript (8 ops each)`);
    assert.equal(wrong, 0);
  } finally {
    gpu.destroy();
  }
});

/** tfjs-backend-cpu's in-coordinates along one axis (`CropAndResize.js`), for realistic lerps. */
function axisLerps(lo: number, hi: number, imageSize: number, cropSize: number): number[] {
  const scale = cropSize > 1 ? (hi - lo) * (imageSize - 1) / (cropSize - 1) : 0;
  const lerps: number[] = [];
  for (let i = 0; i < cropSize; i++) {
    const at = cropSize > 1 ? lo * (imageSize - 1) + i * scale : 0.5 * (lo + hi) * (imageSize - 1);
    if (at >= 0 && at <= imageSize - 1) lerps.push(at - Math.floor(at));
  }
  return lerps;
}

/** A lerp in [0, 1): from a random crop, tiny, a rounded fraction k/n, near 1, short, or 0. */
function randomLerp(rng: Rng, crops: number[][]): number {
  const kind = Math.floor(rng() * 6);
  if (kind === 0) {
    const lerps = crops[Math.floor(rng() * crops.length)];
    return lerps[Math.floor(rng() * lerps.length)];
  }
  if (kind === 1) return randomF64(rng, -300, -1, false);
  if (kind === 2) {
    const n = 2 + Math.floor(rng() * 1000);
    return (1 + Math.floor(rng() * (n - 1))) / n;
  }
  if (kind === 3) return 1 - (1 + Math.floor(rng() * 8)) * 2 ** -53;
  if (kind === 4) return Math.abs(shortF64(rng, 0)) % 1;
  return 0;
}

Deno.test("`f64_bilinear_trunc()` equals tfjs's float64 blend, every intermediate bit for bit", async () => {
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("f64 bilinear"));
  try {
    const crops: number[][] = [];
    while (crops.length < 64) {
      const f = () => Math.fround(rng() * 1.6 - 0.3);
      const lerps = axisLerps(f(), f(), 1 + Math.floor(rng() * 1000), 1 + Math.floor(rng() * 300));
      if (lerps.length) crops.push(lerps);
    }
    const layout = { in: 8, out: 12 };
    const input = new Uint32Array(CASES * layout.in);
    const expected = new Uint32Array(CASES * layout.out);
    const pixel = () => rng() < 0.1 ? (rng() < 0.5 ? 0 : 255) : Math.floor(rng() * 256);
    for (let c = 0; c < CASES; c++) {
      const tl = pixel();
      const tr = rng() < 0.1 ? tl : pixel();
      const bl = pixel();
      const br = rng() < 0.1 ? bl : pixel();
      const xl = randomLerp(rng, crops);
      const yl = randomLerp(rng, crops);
      input.set([tl, tr, bl, br, ...bits(xl), ...bits(yl)], c * layout.in);
      const top = tl + (tr - tl) * xl;
      const bottom = bl + (br - bl) * xl;
      const difference = bottom - top;
      const product = difference * yl;
      const value = top + product;
      const n = Math.trunc(Math.fround(value)) >>> 0;
      expected.set([
        ...bits(top),
        ...bits(bottom),
        ...bits(difference),
        ...bits(product),
        ...bits(value),
        n,
        n,
      ], c * layout.out);
    }
    const got = await runCases(
      gpu,
      layout,
      `  let tl = i32(input[base_in]);
  let tr = i32(input[base_in + 1u]);
  let bl = i32(input[base_in + 2u]);
  let br = i32(input[base_in + 3u]);
  let xl = f64_from_bits(input[base_in + 4u], input[base_in + 5u]);
  let yl = f64_from_bits(input[base_in + 6u], input[base_in + 7u]);
  let top = f64_add(f64_from_int(tl), f64_mul_int(xl, tr - tl));
  let bottom = f64_add(f64_from_int(bl), f64_mul_int(xl, br - bl));
  let difference = f64_add(bottom, f64_neg(top));
  let product = f64_mul(difference, yl);
  let value = f64_add(top, product);
  let words = array<vec2<u32>, 5>(
    f64_to_bits(top),
    f64_to_bits(bottom),
    f64_to_bits(difference),
    f64_to_bits(product),
    f64_to_bits(value),
  );
  for (var k = 0u; k < 5u; k++) {
    output[base_out + 2u * k] = words[k].x;
    output[base_out + 2u * k + 1u] = words[k].y;
  }
  output[base_out + 10u] = u32(f64_trunc_fround(value));
  output[base_out + 11u] = u32(f64_bilinear_trunc(tl, tr, bl, br, xl, yl));`,
      input,
    );
    const wrong = compare("f64 bilinear", got, expected, layout.out);
    console.log(`f64 bilinear: ${wrong} of ${CASES} blends differ from JavaScript`);
    assert.equal(wrong, 0);
  } finally {
    gpu.destroy();
  }
});
