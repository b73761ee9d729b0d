/**
 * The bench's MoveNet MultiPose peers:
 * - `tfjs-webgpu`: pose-detection 2.1.3's own MultiPose detector (`reference/tfjs_movenet_multipose.ts`)
 *   on tfjs-backend-webgpu, once per WebGPU provider: the whole job (RGBA bytes → poses in image
 *   pixels), as this runtime's row;
 * - `ort-wasm-2t`: ONNX Runtime Web's wasm EP on 2 threads running the backbone, feature pyramid and
 *   heads converted to ONNX (`reference/movenet_multipose_onnx.ts`), after pose-detection's
 *   resize + pad + int32 cast done here on the CPU (tfjs-backend-cpu's `ResizeBilinear` formula).
 *   The converter cannot convert the graph's decode (MaxPool, TopKV2, Exp, …), so this row does
 *   not decode: it is the network's cost, not the whole job, and says so in its description.
 *
 * @module
 */

import { createTfjsMultiPoseDetector } from "../../reference/tfjs_movenet_multipose.ts";
import { buildMultiPoseOnnx } from "../../reference/movenet_multipose_onnx.ts";
import { readTfjsGraphArtifacts } from "../../reference/tfjs_artifacts.ts";
import { poseFromDetected } from "../../detectors/pose_shapes.ts";
import type { WebGpuProvider } from "../../runtime/webgpu_provider.ts";
import { multiPoseInputSize } from "../../kernels/multipose_input.ts";
import { POSE_DETECTION_VERSION } from "../../reference/tfjs_movenet.ts";
import { TFJS_VERSION, tfjsBackendFor, withBackend } from "./_tfjs_backend.ts";
import { asWebGpuName } from "./tfjs_movenet.ts";
import { ORT_VERSION, ortInstance, withOrtBlobUrlPatch } from "./ort.ts";
import { checkNotDisposed, checkPeerImage, type PeerImage, type Pose } from "./peer.ts";

/** A MultiPose peer (the bench's `Engine`). */
export interface MultiPosePeerEngine {
  /** `tfjs-webgpu` or `ort-wasm-2t`. */
  readonly name: string;
  /** Versions, backend, threads, what the row measures. */
  readonly description: string;
  /** The WebGPU provider; `null` on the CPU. */
  readonly provider: WebGpuProvider | null;
  /** One image; the first pose (`{score: 0, keypoints: []}` for none; ORT: no decode, empty). */
  estimateSinglePose(image: PeerImage): Promise<Pose>;
  /** Frees the engine. */
  dispose(): Promise<void>;
}

/**
 * pose-detection's MultiPose on tfjs-backend-webgpu.
 *
 * @param modelJsonPath Path of `movenet-multipose.json`.
 * @param provider The WebGPU provider tfjs's backend runs on.
 * @returns The engine.
 */
export function createTfjsMultiPosePeer(
  modelJsonPath: string,
  provider: WebGpuProvider,
): Promise<MultiPosePeerEngine> {
  const backend = tfjsBackendFor(provider);
  const run = <T>(fn: () => Promise<T>): Promise<T> =>
    withBackend(backend, backend === "webgpu-dawn" ? () => asWebGpuName(fn) : fn);
  return run(async () => {
    const detector = await createTfjsMultiPoseDetector(await readTfjsGraphArtifacts(modelJsonPath));
    let disposed = false;
    return {
      name: "tfjs-webgpu",
      provider,
      description: `@tensorflow-models/pose-detection ${POSE_DETECTION_VERSION} MultiPose on ` +
        `tfjs ${TFJS_VERSION} webgpu backend (its own GPU device on ${provider}), the whole job`,
      estimateSinglePose: (image: PeerImage) =>
        run(async () => {
          checkNotDisposed("tfjs-webgpu", disposed);
          checkPeerImage(image);
          const [pose] = await detector.estimatePoses(image);
          return pose ? poseFromDetected(pose) : { score: 0, keypoints: [] };
        }),
      dispose: () =>
        run(() => {
          if (!disposed) detector.dispose();
          disposed = true;
          return Promise.resolve();
        }),
    };
  });
}

/**
 * pose-detection's MultiPose preprocessing on the CPU into `out`: tfjs-backend-cpu's
 * `ResizeBilinear` (f64, stored as f32), zero padding, the int32 cast (truncation).
 */
function resizePadToInt32(
  image: PeerImage,
  size: ReturnType<typeof multiPoseInputSize>,
  out: Int32Array,
): void {
  const { width, height, data } = image;
  const channels = data.length / (width * height);
  const f = Math.fround;
  out.fill(0);
  const rowRatio = height / size.resizedHeight;
  const colRatio = width / size.resizedWidth;
  for (let r = 0; r < size.resizedHeight; r++) {
    const sy = rowRatio * r;
    const y0 = Math.max(0, Math.floor(sy));
    const y1 = Math.min(height - 1, Math.ceil(sy));
    const ly = sy - y0;
    for (let c = 0; c < size.resizedWidth; c++) {
      const sx = colRatio * c;
      const x0 = Math.max(0, Math.floor(sx));
      const x1 = Math.min(width - 1, Math.ceil(sx));
      const lx = sx - x0;
      for (let d = 0; d < 3; d++) {
        const at = (y: number, x: number) => data[(y * width + x) * channels + d];
        const top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * lx;
        const bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * lx;
        out[(r * size.paddedWidth + c) * 3 + d] = Math.trunc(f(top + (bottom - top) * ly));
      }
    }
  }
}

/**
 * ORT wasm (2 threads) running MultiPose's network: preprocessing on the CPU, the six heads, no
 * decode. One session per padded shape, made on first use.
 *
 * @param modelJsonPath Path of `movenet-multipose.json`.
 * @returns The engine.
 */
export async function createOrtMultiPosePeer(modelJsonPath: string): Promise<MultiPosePeerEngine> {
  const threads = 2;
  const { ort, locked } = await ortInstance(threads, "deno");
  const sessions = new Map<string, Promise<{ session: unknown; input: string }>>();
  let disposed = false;
  const sessionFor = (h: number, w: number) => {
    const key = `${h}x${w}`;
    let made = sessions.get(key);
    if (!made) {
      made = (async () => {
        const onnx = await buildMultiPoseOnnx(modelJsonPath, h, w);
        const create = () =>
          ort.InferenceSession.create(onnx.model, {
            executionProviders: ["wasm"],
            graphOptimizationLevel: "all",
            logSeverityLevel: 3,
          });
        const session = await locked(() => withOrtBlobUrlPatch(create));
        if (ort.env.wasm.numThreads !== threads) {
          throw new Error(`ort-wasm-2t: ORT runs ${ort.env.wasm.numThreads} wasm thread(s)`);
        }
        return { session, input: onnx.inputs[0].name };
      })();
      sessions.set(key, made);
    }
    return made;
  };
  return {
    name: "ort-wasm-2t",
    provider: null,
    description: `onnxruntime-web ${ORT_VERSION}, wasm EP (SIMD, 2 threads), MultiPose's ` +
      "backbone and heads converted by reference/movenet_multipose_onnx.ts; CPU resize + pad to " +
      "int32; NO decode (the converter cannot convert it): the network's cost, not the whole job",
    async estimateSinglePose(image: PeerImage): Promise<Pose> {
      checkNotDisposed("ort-wasm-2t", disposed);
      checkPeerImage(image);
      const size = multiPoseInputSize(image.width, image.height, 256);
      const { session, input } = await sessionFor(size.paddedHeight, size.paddedWidth);
      const ints = new Int32Array(size.paddedHeight * size.paddedWidth * 3);
      resizePadToInt32(image, size, ints);
      const s = session as { run(f: Record<string, unknown>): Promise<Record<string, unknown>> };
      const out = await locked(() =>
        s.run({
          [input]: new ort.Tensor("int32", ints, [1, size.paddedHeight, size.paddedWidth, 3]),
        })
      );
      for (const t of Object.values(out)) (t as { dispose(): void }).dispose();
      return { score: 0, keypoints: [] };
    },
    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      for (const made of sessions.values()) {
        const { session } = await made;
        await locked(() => (session as { release(): Promise<void> }).release());
      }
    },
  };
}
