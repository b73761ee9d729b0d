import assert from "node:assert/strict";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { createPointwiseConvKernel } from "../kernels/pointwise_conv.ts";
import { runKernelOnce } from "../kernels/run_kernel.ts";
import { DeviceLostError, InvalidInputError, WebGpuUnavailableError } from "../errors.ts";

Deno.test("createGpuContext() reports the adapter it found", async () => {
  const gpu = await createGpuContext();
  try {
    console.log(
      `adapter: ${gpu.adapter.description} (backend ${gpu.adapter.backend}, fallback ` +
        `${gpu.adapter.isFallbackAdapter}, timestamp-query ${gpu.hasTimestampQuery})`,
    );
    assert.ok(gpu.adapter.description.length > 0);
    assert.ok(gpu.maxStorageBufferBindingSize >= 128 * 1024 * 1024);
    assert.equal(gpu.lostReason, undefined);
  } finally {
    gpu.destroy();
  }
});

Deno.test("createGpuContext() without navigator.gpu says how to get WebGPU", async () => {
  Object.defineProperty(navigator, "gpu", { value: undefined, configurable: true });
  try {
    await assert.rejects(
      createGpuContext({ provider: "deno" }),
      (e: unknown) =>
        e instanceof WebGpuUnavailableError && /navigator\.gpu is undefined/.test(e.message) &&
        /mesa-vulkan-drivers/.test(e.message) && /DENO_WEBGPU_BACKEND=vulkan/.test(e.message),
    );
  } finally {
    delete (navigator as unknown as Record<string, unknown>).gpu;
  }
  assert.ok(navigator.gpu, "navigator.gpu is restored");
});

Deno.test("createGpuContext() asks navigator.gpu for the feature level given, rejects another", async () => {
  for (const featureLevel of ["core", "compatibility"] as const) {
    const gpu = await createGpuContext({ provider: "deno", featureLevel });
    try {
      assert.equal(gpu.adapter.featureLevel, featureLevel);
    } finally {
      gpu.destroy();
    }
  }
  await assert.rejects(
    createGpuContext({ featureLevel: "webgl" as never }),
    (e: unknown) =>
      e instanceof InvalidInputError && /featureLevel must be "core" or/.test(e.message),
  );
});

Deno.test("createGpuContext() outside Deno speaks of browsers, and keeps Dawn to Deno", async () => {
  const deno = globalThis.Deno;
  const hide = () =>
    Object.defineProperty(globalThis, "Deno", { value: undefined, configurable: true });
  const restore = () =>
    Object.defineProperty(globalThis, "Deno", { value: deno, configurable: true });
  Object.defineProperty(navigator, "gpu", { value: undefined, configurable: true });
  let noGpu: unknown;
  let dawn: unknown;
  hide();
  try {
    noGpu = await createGpuContext({ provider: "deno" }).catch((e) => e);
    dawn = await createGpuContext({ provider: "dawn" }).catch((e) => e);
  } finally {
    restore();
    delete (navigator as unknown as Record<string, unknown>).gpu;
  }
  assert.ok(noGpu instanceof WebGpuUnavailableError, String(noGpu));
  assert.match(noGpu.message, /In a web page WebGPU needs a browser/);
  assert.match(noGpu.message, /--enable-unsafe-webgpu/);
  assert.doesNotMatch(noGpu.message, /DENO_WEBGPU_BACKEND/);
  assert.ok(dawn instanceof WebGpuUnavailableError, String(dawn));
  assert.match(dawn.message, /runs only in Deno/);
  assert.ok(navigator.gpu, "navigator.gpu is restored");
});

async function smallKernel() {
  const gpu = await createGpuContext();
  const kernel = await createPointwiseConvKernel(
    gpu,
    { height: 64, width: 64, inChannels: 96, outChannels: 96, activation: "relu6" },
    new Float32Array(96 * 96).fill(0.01),
    new Float32Array(96),
  );
  return { gpu, kernel, input: new Float32Array(64 * 64 * 96).fill(1) };
}

function withinSeconds<T>(promise: Promise<T>, seconds: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`hung for ${seconds}s`)), seconds * 1000);
    }),
  ]);
}

Deno.test("runKernelOnce() after device loss rejects with DeviceLostError", async () => {
  const { gpu, kernel, input } = await smallKernel();
  gpu.destroy();
  await assert.rejects(
    withinSeconds(runKernelOnce(gpu, kernel, input), 10),
    (e: unknown) => e instanceof DeviceLostError && /lost \(destroyed\)/.test(e.message),
  );
});

Deno.test("runKernelOnce() pending when the device is lost settles instead of hanging", async () => {
  const { gpu, kernel, input } = await smallKernel();
  const pending = runKernelOnce(gpu, kernel, input);
  gpu.destroy();
  try {
    // The work may already have finished; what must not happen is a hang or another error type.
    const out = await withinSeconds(pending, 10);
    assert.equal(out.length, input.length);
  } catch (e) {
    assert.ok(e instanceof DeviceLostError, `expected DeviceLostError, got ${e}`);
  }
});
