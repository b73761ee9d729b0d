/**
 * The benchmark's peer engines (`bench/peers/`) do the same, correct job as this project's
 * engine: on `tests/fixtures/photos/single_portrait.jpg` at input resolution 257, output stride
 * 16, every keypoint TF.js PoseNet (the `cpu`-backend reference in
 * `tests/fixtures/tfjs_reference.json`) scores ≥ 0.5 must be within 1 px of the peer's, and the
 * scores must agree. For `ort-wasm-2t`, per-thread CPU times (Linux `/proc`) must show a second
 * thread doing a real share of the work.
 *
 * The WebGPU peers are skipped only where `navigator.gpu` gives no adapter at all.
 */

import assert from "node:assert/strict";
import type { WebGpuProvider } from "../runtime/webgpu_provider.ts";
import { readImageFile } from "../cli/read_image.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { PEER_FACTORIES, PEER_NAMES, type PeerName, type Pose } from "../bench/peers/peer.ts";
import { canProbeThreads, probeThreads } from "../bench/peers/thread_probe.ts";

const RESOLUTION = 257;
const PHOTO = "single_portrait.jpg";
const MIN_SCORE = 0.5;
const MAX_DISTANCE_PX = 1;
const MAX_SCORE_DIFF = 1e-3;

interface RefPose {
  score: number;
  keypoints: { part: string; score: number; position: { x: number; y: number } }[];
}

const reference = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/tfjs_reference.json", import.meta.url)),
) as { cases: { photo: string; inputResolution: number; single: RefPose }[] };
const expected = reference.cases.find((c) => c.photo === PHOTO && c.inputResolution === RESOLUTION)
  ?.single;
const image = await readImageFile(
  new URL(`./fixtures/photos/${PHOTO}`, import.meta.url).pathname,
);
const peerImage = { data: image.data as Uint8Array, width: image.width, height: image.height };

const gpuAdapter = await navigator.gpu?.requestAdapter().catch(() => null) ?? null;
const NEEDS_WEBGPU: readonly PeerName[] = ["ort-webgpu", "tfjs-webgpu"];

let modelJsonPath: Promise<string> | undefined;

function checkAgainstReference(name: string, pose: Pose): void {
  assert.ok(expected, `no ${PHOTO} @${RESOLUTION} case in tfjs_reference.json`);
  assert.equal(pose.keypoints.length, 17, `${name}: keypoint count`);
  let worst = 0;
  let confident = 0;
  for (const [i, ref] of expected.keypoints.entries()) {
    const got = pose.keypoints[i];
    assert.equal(got.part, ref.part, `${name}: keypoint ${i} part`);
    assert.ok(
      Math.abs(got.score - ref.score) <= MAX_SCORE_DIFF,
      `${name}: ${ref.part} score ${got.score}, TF.js ${ref.score}`,
    );
    if (ref.score < MIN_SCORE) continue;
    confident++;
    const d = Math.hypot(got.position.x - ref.position.x, got.position.y - ref.position.y);
    worst = Math.max(worst, d);
    assert.ok(
      d <= MAX_DISTANCE_PX,
      `${name}: ${ref.part} at (${got.position.x}, ${got.position.y}), TF.js at ` +
        `(${ref.position.x}, ${ref.position.y}): ${d} px apart`,
    );
  }
  assert.ok(confident >= 5, `only ${confident} confident keypoints in the reference`);
  console.log(
    `${name} @${RESOLUTION}: ${confident} keypoints (score ≥ ${MIN_SCORE}) within ` +
      `${worst.toExponential(2)} px of TF.js`,
  );
}

// Every peer, and the GPU peers once more on Dawn: the same job on the same provider as
// `this (dawn)` in the bench.
const PEER_RUNS: readonly { name: PeerName; provider?: WebGpuProvider }[] = [
  ...PEER_NAMES.map((name) => ({ name })),
  ...NEEDS_WEBGPU.map((name) => ({ name, provider: "dawn" as const })),
];

for (const { name, provider } of PEER_RUNS) {
  const label = provider ? `${name} (${provider})` : name;
  const noGpu = NEEDS_WEBGPU.includes(name) && provider === undefined && gpuAdapter === null;
  if (noGpu) {
    console.warn(`skipping ${name}: navigator.gpu gives no WebGPU adapter here`);
  }
  Deno.test({
    name: `bench peer ${name}${
      provider ? ` on ${provider}` : ""
    } @${RESOLUTION} matches TF.js PoseNet`,
    ignore: noGpu,
    // ORT's pthread workers and the WebGPU devices stay alive for the process, by design.
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      modelJsonPath ??= fetchDefaultWeights();
      const engine = await PEER_FACTORIES[name]({
        resolution: RESOLUTION,
        modelJsonPath: await modelJsonPath,
        provider,
      });
      try {
        assert.equal(engine.name, name);
        if (provider) {
          assert.equal(engine.provider, provider);
          assert.match(engine.description, new RegExp(`on ${provider}`));
        }
        checkAgainstReference(label, await engine.estimateSinglePose(peerImage));
        if (name === "ort-wasm-2t" && !(await canProbeThreads())) {
          console.warn(`${name}: per-thread CPU times unreadable here; thread check skipped`);
        } else if (name === "ort-wasm-2t") {
          // A few calls after the first. Leaving out V8's compiler threads (still tiering the
          // wasm up), the two busiest threads are the one running JS (the main thread under
          // `deno run`, a tokio thread under `deno test`) and, with 2 threads, ORT's pthread
          // worker: the second must have done at least a third of the first one's work.
          await engine.estimateSinglePose(peerImage);
          const probe = await probeThreads(async () => {
            for (let i = 0; i < 6; i++) await engine.estimateSinglePose(peerImage);
          });
          const desc = probe.threads.slice(0, 5).map((t) => `${t.name} ${t.cpuMs} ms`).join(", ");
          console.log(`${name}: ${probe.wallMs.toFixed(0)} ms wall; CPU by thread: ${desc}`);
          const [first, second] = probe.threads.filter((t) => !t.name.startsWith("V8 "));
          assert.ok(
            first && second && second.cpuMs >= 50 && second.cpuMs >= first.cpuMs / 3,
            `${name}: no second thread doing a real share of the work (${desc})`,
          );
        }
      } finally {
        await engine.dispose();
      }
    },
  });
}
