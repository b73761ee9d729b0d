/**
 * Runs ONNX models with ONNX Runtime Web's `wasm` execution provider: the independent reference the
 * kernels and the network are checked against.
 *
 * @module
 */

import * as ort from "onnxruntime-web";

let configured = false;

/** One float32 NHWC tensor by name. */
export interface NamedTensor {
  /** Values, row-major. */
  readonly data: Float32Array;
  /** Dimensions. */
  readonly shape: readonly number[];
}

/**
 * Creates an ORT session on the `wasm` EP (single thread unless asked otherwise).
 *
 * @param model ONNX model bytes.
 * @param numThreads WASM threads (default 1).
 * @returns The session.
 */
export async function createOrtSession(
  model: Uint8Array,
  numThreads = 1,
): Promise<ort.InferenceSession> {
  if (!configured) {
    ort.env.logLevel = "error";
    configured = true;
  }
  ort.env.wasm.numThreads = numThreads;
  return await ort.InferenceSession.create(model, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
}

/**
 * Runs a session and returns the named outputs as float32 arrays.
 *
 * @param session The session.
 * @param inputs Input tensors by name.
 * @returns Output tensors by name.
 */
export async function runOrt(
  session: ort.InferenceSession,
  inputs: Record<string, NamedTensor>,
): Promise<Record<string, NamedTensor>> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(inputs)) {
    feeds[name] = new ort.Tensor("float32", t.data, [...t.shape]);
  }
  const results = await session.run(feeds);
  const out: Record<string, NamedTensor> = {};
  for (const [name, t] of Object.entries(results)) {
    out[name] = { data: new Float32Array(t.data as Float32Array), shape: t.dims.map(Number) };
    t.dispose();
  }
  return out;
}

/**
 * Runs one convolution layer model built by `OnnxGraphBuilder` (input `x`, output `y`).
 *
 * @param model ONNX model bytes.
 * @param input NHWC input.
 * @returns NHWC output.
 */
export async function runOrtOnce(model: Uint8Array, input: NamedTensor): Promise<NamedTensor> {
  const session = await createOrtSession(model);
  try {
    return (await runOrt(session, { x: input })).y;
  } finally {
    await session.release();
  }
}
