/**
 * GPU faults other than `destroy()`: a device lost with reason `unknown` (a driver reset), and
 * allocations the GPU refuses, caught with WebGPU error scopes and turned into a typed
 * {@linkcode GpuError}. The device is a real one behind a proxy that can report the loss and can
 * make chosen `createBuffer` calls invalid (a real validation error: a size beyond the device's
 * limit); the proxy also counts the live buffers, independently of the runtime.
 */

import assert from "node:assert/strict";
import { DeviceLostError, GpuError } from "../errors.ts";
import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import { load } from "../detectors/posenet_model.ts";
import { defaultWeights, noiseImage, trackLive, within } from "./reliability_helpers.ts";

interface FaultyDevice {
  readonly gpu: GpuContext;
  /** Reports the device lost, as the driver would. */
  lose(info: { reason: string; message: string }): void;
  /** When it returns true for a descriptor, that `createBuffer` call makes an invalid buffer. */
  refuse: ((descriptor: GPUBufferDescriptor) => boolean) | undefined;
  /** Buffers made and not destroyed. */
  readonly live: Set<GPUBuffer>;
  /** Destroys the real device. */
  close(): void;
}

async function faultyDevice(): Promise<FaultyDevice> {
  const navigatorGpu = navigator.gpu;
  const requestAdapter = navigatorGpu.requestAdapter;
  const lost = Promise.withResolvers<GPUDeviceLostInfo>();
  const live = new Set<GPUBuffer>();
  let real: GPUDevice | undefined;
  const faulty: { refuse: FaultyDevice["refuse"] } = { refuse: undefined };
  const forward = <T extends object>(target: T, overrides: Record<PropertyKey, unknown>) =>
    new Proxy(target, {
      get(t, p) {
        if (p in overrides) return overrides[p];
        const v = Reflect.get(t, p, t);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
  navigatorGpu.requestAdapter = async (options?: GPURequestAdapterOptions) => {
    const adapter = await requestAdapter.call(navigatorGpu, options);
    if (!adapter) return adapter;
    return forward(adapter, {
      requestDevice: async (descriptor?: GPUDeviceDescriptor) => {
        const device = await adapter.requestDevice(descriptor);
        real = device;
        return forward(device, {
          lost: lost.promise,
          createBuffer: (d: GPUBufferDescriptor) => {
            const refused = faulty.refuse?.(d) ?? false;
            return trackLive(live, device.createBuffer(refused ? { ...d, size: 2 ** 50 } : d));
          },
        });
      },
    });
  };
  let gpu: GpuContext;
  try {
    // The faults are injected through navigator.gpu, i.e. Deno's provider, whatever
    // $POSENET_WEBGPU says.
    gpu = await createGpuContext({ provider: "deno" });
  } finally {
    navigatorGpu.requestAdapter = requestAdapter;
  }
  return {
    gpu,
    lose: (info) => lost.resolve(info as unknown as GPUDeviceLostInfo),
    get refuse() {
      return faulty.refuse;
    },
    set refuse(fn) {
      faulty.refuse = fn;
    },
    live,
    close: () => real?.destroy(),
  };
}

Deno.test("device loss with reason `unknown`: pending and later calls reject with DeviceLostError", async () => {
  const weights = await defaultWeights();
  const faulty = await faultyDevice();
  try {
    const net = await load({ weights, context: faulty.gpu, inputResolution: 129 });
    const image = noiseImage(160, 120, 5);
    await net.estimateSinglePose(image); // healthy first
    const pending = [
      net.estimateSinglePose(image),
      net.estimateMultiplePoses(image),
      net.predictHeads(image),
    ];
    faulty.lose({ reason: "unknown", message: "the driver reset" });
    for (const outcome of await within(Promise.allSettled(pending), 30, "pending calls")) {
      if (outcome.status === "rejected") {
        assert.ok(outcome.reason instanceof DeviceLostError, String(outcome.reason));
      }
    }
    assert.equal(faulty.gpu.lostReason, "unknown: the driver reset");
    const later: Promise<unknown>[] = [
      net.estimateSinglePose(image),
      net.estimateMultiplePoses(image),
    ];
    for (const call of later) {
      await assert.rejects(within(call, 30, "a later call"), (e) => {
        assert.ok(e instanceof DeviceLostError, String(e));
        assert.match(e.message, /the GPU device was lost \(unknown: the driver reset\)/);
        return true;
      });
    }
    await assert.rejects(
      load({ weights, context: faulty.gpu, inputResolution: 129 }),
      DeviceLostError,
    );
    net.dispose();
  } finally {
    faulty.close();
  }
});

Deno.test("a weight buffer the GPU refuses makes `load()` reject with GpuError and free the rest", async () => {
  const weights = await defaultWeights();
  const faulty = await faultyDevice();
  try {
    faulty.refuse = (d) => d.label?.endsWith(" filter") === true && d.label.includes("pointwise");
    await assert.rejects(load({ weights, context: faulty.gpu, inputResolution: 129 }), (e) => {
      assert.ok(e instanceof GpuError, String(e));
      assert.equal(e.kind, "validation");
      assert.match(e.message, /pointwise .*: weight buffers: the GPU reported validation/);
      return true;
    });
    assert.equal(faulty.live.size, 0, "buffers left after the failed load");
  } finally {
    faulty.close();
  }
});

Deno.test("frame buffers the GPU refuses make the call reject with GpuError, and the model recovers", async () => {
  const weights = await defaultWeights();
  const faulty = await faultyDevice();
  try {
    const net = await load({ weights, context: faulty.gpu, inputResolution: 129 });
    const image = noiseImage(160, 120, 6);
    const weightBuffers = faulty.live.size;
    // The image buffer of a frame.
    faulty.refuse = (d) => d.label === "posenet image";
    await assert.rejects(net.estimateSinglePose(image), (e) => {
      assert.ok(e instanceof GpuError, String(e));
      assert.match(e.message, /^the image buffer \(\d+ bytes\): the GPU reported validation/);
      return true;
    });
    faulty.refuse = undefined;
    const expected = await net.estimateSinglePose(image);
    // A new frame slot's buffers (a second slot is made for the second concurrent call).
    faulty.refuse = (d) => d.label === "posenet keypoints";
    const [first, second] = await Promise.allSettled([
      net.estimateSinglePose(image),
      net.estimateSinglePose(image),
    ]);
    assert.equal(first.status, "fulfilled");
    assert.deepEqual((first as PromiseFulfilledResult<unknown>).value, expected);
    assert.equal(second.status, "rejected");
    assert.ok((second as PromiseRejectedResult).reason instanceof GpuError);
    // The multi-pose buffers.
    faulty.refuse = (d) => d.label?.startsWith("multi-pose") === true;
    await assert.rejects(net.estimateMultiplePoses(image), GpuError);
    faulty.refuse = undefined;
    assert.deepEqual(await net.estimateSinglePose(image), expected);
    await net.estimateMultiplePoses(image);
    assert.equal(net.liveBufferCount, faulty.live.size, "the model's count equals the device's");
    net.dispose();
    assert.equal(faulty.live.size, 0, "buffers left after dispose()");
    assert.ok(weightBuffers > 0);
  } finally {
    faulty.close();
  }
});

Deno.test("calls waiting for a frame slot the GPU refuses reject with GpuError instead of hanging", async () => {
  const weights = await defaultWeights();
  const faulty = await faultyDevice();
  try {
    const net = await load({
      weights,
      context: faulty.gpu,
      inputResolution: 129,
      maxFramesInFlight: 2,
    });
    const image = noiseImage(100, 80, 7);
    faulty.refuse = (d) => d.label === "posenet keypoints";
    // 2 calls try to make the 2 slots; the other 4 wait for one of them, which never comes.
    const calls: Promise<unknown>[] = [0, 1, 2].flatMap(() => [
      net.estimateSinglePose(image),
      net.estimateMultiplePoses(image),
    ]);
    for (const outcome of await within(Promise.allSettled(calls), 30, "calls waiting for a slot")) {
      assert.equal(outcome.status, "rejected");
      assert.ok((outcome as PromiseRejectedResult).reason instanceof GpuError);
    }
    faulty.refuse = undefined;
    await net.estimateSinglePose(image); // and the model works once the GPU does
    net.dispose();
    assert.equal(faulty.live.size, 0, "buffers left after dispose()");
  } finally {
    faulty.close();
  }
});
