/**
 * Tests for the GPU multi-pose decode (`decode/multi_pose_gpu.ts`, `shaders/multi_pose_candidates.ts`,
 * `shaders/multi_pose_walk.ts`) and `PoseNet.estimateMultiplePoses()`, which uses it.
 *
 * - against TF.js PoseNet's own `estimateMultiplePoses` on real photos (`tests/fixtures`);
 * - against the CPU decode (`decodeMultiplePoses`, itself bit-identical to posenet 2.2.2) of the
 *   very same heads: real heads read back with `predictHeads`, and synthetic heads uploaded
 *   straight to the GPU passes. These must agree exactly (`===` on every score and coordinate;
 *   only the sign of a zero may differ), not just closely.
 *
 * Random heads draw a fresh seed per run (printed; `POSENET_TEST_SEED=<seed>` replays it).
 */

import assert from "node:assert/strict";
import { readImageFile } from "../cli/read_image.ts";
import { type PoseNetHeads, sigmoidScores } from "../decode/heads.ts";
import { applyInputTransform, inputTransformFor } from "../decode/input_transform.ts";
import { PART_IDS, type Pose } from "../decode/keypoints.ts";
import {
  decodeMultiplePoses,
  findPartCandidates,
  type MultiPoseOptions,
} from "../decode/multi_pose.ts";
import {
  candidateCount,
  createMultiPoseDecoder,
  type MultiPoseDecoder,
  posesFromCandidateRecords,
} from "../decode/multi_pose_gpu.ts";
import { InvalidInputError } from "../errors.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { createGpuContext } from "../runtime/gpu_context.ts";
import { load, type PoseNet } from "../detectors/posenet_model.ts";
import { HEAD_LAYOUT } from "../models/posenet_network.ts";
import { loadTfjsGraphModel } from "../models/tfjs_graph_model.ts";
import { mulberry32, runSeed } from "./support/random.ts";
import {
  blankHeads,
  randomHeadsCase,
  setDisplacement,
  setLogit,
  setOffset,
} from "./support/synthetic_heads.ts";

interface ReferenceCase {
  photo: string;
  width: number;
  height: number;
  inputResolution: number;
  multi: Pose[];
}

const reference = JSON.parse(await Deno.readTextFile("tests/fixtures/tfjs_reference.json")) as {
  cases: ReferenceCase[];
};
const weights = await loadTfjsGraphModel(await fetchDefaultWeights());

// One device and one model per resolution for the whole file: building the network's pipelines
// (first frame) is the slow part on a software GPU.
const gpu = await createGpuContext();
const nets = new Map<number, PoseNet>();
async function net(resolution: number): Promise<PoseNet> {
  if (!nets.has(resolution)) {
    nets.set(resolution, await load({ weights, inputResolution: resolution, context: gpu }));
  }
  return nets.get(resolution)!;
}
const images = new Map<string, Awaited<ReturnType<typeof readImageFile>>>();
async function photo(name: string) {
  if (!images.has(name)) images.set(name, await readImageFile(`tests/fixtures/photos/${name}`));
  return images.get(name)!;
}
const headsCache = new Map<string, PoseNetHeads>();
async function photoHeads(name: string, resolution: number): Promise<PoseNetHeads> {
  const key = `${name}@${resolution}`;
  if (!headsCache.has(key)) {
    headsCache.set(key, await (await net(resolution)).predictHeads(await photo(name)));
  }
  return headsCache.get(key)!;
}

// ---------------------------------------------------------------------------------------------
// Running the two GPU passes on host heads.

/** Packs split heads into the network's fused layout (`HEAD_LAYOUT`, 120 floats per cell). */
function fuseHeads(heads: PoseNetHeads): Float32Array<ArrayBuffer> {
  const cells = heads.height * heads.width;
  const fused = new Float32Array(cells * HEAD_LAYOUT.channels);
  const put = (source: Float32Array, first: number, channels: number) => {
    for (let c = 0; c < cells; c++) {
      fused.set(
        source.subarray(c * channels, (c + 1) * channels),
        c * HEAD_LAYOUT.channels + first,
      );
    }
  };
  put(heads.heatmap, HEAD_LAYOUT.heatmap, 17);
  put(heads.offsets, HEAD_LAYOUT.offsets, 34);
  put(heads.displacementFwd, HEAD_LAYOUT.displacementFwd, 32);
  put(heads.displacementBwd, HEAD_LAYOUT.displacementBwd, 32);
  return fused;
}

const decoders = new Map<string, MultiPoseDecoder>();
async function decoderFor(
  heads: PoseNetHeads,
  maxCandidates?: number,
): Promise<MultiPoseDecoder> {
  const key = `${heads.height}x${heads.width}/${heads.outputStride}/${maxCandidates}`;
  if (!decoders.has(key)) {
    decoders.set(
      key,
      await createMultiPoseDecoder(gpu, {
        height: heads.height,
        width: heads.width,
        outputStride: heads.outputStride,
        cellStride: HEAD_LAYOUT.channels,
        heatmapChannel: HEAD_LAYOUT.heatmap,
        offsetChannel: HEAD_LAYOUT.offsets,
        displacementFwdChannel: HEAD_LAYOUT.displacementFwd,
        displacementBwdChannel: HEAD_LAYOUT.displacementBwd,
        maxCandidates,
      }),
    );
  }
  return decoders.get(key)!;
}

/** Runs passes A and B once on host heads and returns the raw result (count + records). */
async function runPasses(
  heads: PoseNetHeads,
  scoreThreshold: number,
  maxCandidates?: number,
): Promise<{ result: ArrayBuffer; decoder: MultiPoseDecoder }> {
  const decoder = await decoderFor(heads, maxCandidates);
  const device = gpu.device;
  const fused = fuseHeads(heads);
  const buffer = device.createBuffer({
    size: fused.byteLength,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  const buffers = decoder.createBuffers(buffer);
  try {
    device.queue.writeBuffer(buffer, 0, fused);
    // Garbage in every record, so a record the passes should have written and did not shows.
    device.queue.writeBuffer(
      buffers.candidates,
      0,
      new Uint32Array(decoder.resultBytes / 4).fill(0xffffffff),
    );
    decoder.prepare(buffers, scoreThreshold);
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    decoder.dispatch(pass, buffers);
    pass.end();
    decoder.copyResult(encoder, buffers);
    device.queue.submit([encoder.finish()]);
    return { result: await decoder.readResult(buffers), decoder };
  } finally {
    buffer.destroy();
    buffers.destroy();
  }
}

/** The GPU decode of host heads, in network-input pixels (or image pixels with a transform). */
async function gpuDecode(
  heads: PoseNetHeads,
  options: MultiPoseOptions = {},
  transform?: ReturnType<typeof inputTransformFor>,
): Promise<Pose[]> {
  // Room for every (cell, part), so that synthetic heads with many equal scores never overflow.
  const { result, decoder } = await runPasses(
    heads,
    options.scoreThreshold ?? 0.5,
    heads.height * heads.width * 17,
  );
  const poses = posesFromCandidateRecords(result, decoder, options);
  return transform ? poses.map((p) => applyInputTransform(p, transform)) : poses;
}

/**
 * Asserts that two pose lists are the same: same poses in the same order, and every score and
 * coordinate equal (`===`, so only the sign of a zero may differ). Returns the largest position
 * difference, which is therefore 0.
 */
function assertSamePoses(actual: Pose[], expected: Pose[], label: string): number {
  assert.equal(actual.length, expected.length, `${label}: number of poses`);
  let px = 0;
  expected.forEach((e, i) => {
    const a = actual[i];
    assert.ok(a.score === e.score, `${label}: pose ${i} score ${a.score} vs ${e.score}`);
    assert.equal(a.keypoints.length, e.keypoints.length);
    e.keypoints.forEach((ek, k) => {
      const ak = a.keypoints[k];
      const where = `${label}: pose ${i} ${ek.part}`;
      assert.equal(ak.part, ek.part);
      assert.ok(ak.score === ek.score, `${where} score ${ak.score} vs ${ek.score}`);
      px = Math.max(px, Math.hypot(ak.position.x - ek.position.x, ak.position.y - ek.position.y));
      // Not just within 1e-3 px: the GPU hands back cells, offsets and logits, and the host
      // computes positions and scores from them exactly as the CPU decode does.
      assert.ok(
        ak.position.x === ek.position.x && ak.position.y === ek.position.y,
        `${where} at ${JSON.stringify(ak.position)} vs ${JSON.stringify(ek.position)}`,
      );
    });
  });
  return px;
}

// ---------------------------------------------------------------------------------------------
// Real photos.

Deno.test("`estimateMultiplePoses()` agrees with TF.js PoseNet on real photos at 257 and 513", async (t) => {
  const rows: string[] = [];
  try {
    for (const c of reference.cases) {
      await t.step(`${c.photo} at ${c.inputResolution}`, async () => {
        const model = await net(c.inputResolution);
        const ours = await model.estimateMultiplePoses(await photo(c.photo));
        const readback = model.lastMultiPoseReadback!;
        assert.equal(ours.length, c.multi.length, "number of poses");
        let px = 0;
        let score = 0;
        ours.forEach((pose, i) => {
          const tfjs = c.multi[i];
          score = Math.max(score, Math.abs(pose.score - tfjs.score));
          assert.equal(tfjs.keypoints.length, 17);
          assert.equal(pose.keypoints.length, tfjs.keypoints.length, `pose ${i}: keypoints`);
          pose.keypoints.forEach((k, j) => {
            const r = tfjs.keypoints[j];
            assert.equal(k.part, r.part);
            score = Math.max(score, Math.abs(k.score - r.score));
            if (r.score >= 0.5) {
              px = Math.max(
                px,
                Math.hypot(k.position.x - r.position.x, k.position.y - r.position.y),
              );
            }
          });
        });
        assert.ok(px <= 1, `a keypoint (score >= 0.5) is ${px} px from TF.js`);
        assert.ok(score <= 2e-3, `a score differs from TF.js by ${score}`);
        assert.equal(readback.fallback, false);
        rows.push(
          `| ${c.photo} | ${c.inputResolution} | ${ours.length} | ${px.toFixed(4)} | ` +
            `${score.toExponential(1)} | ${readback.candidates} | ${readback.bytes} | ` +
            `${model.network.headsBytes} |`,
        );
      });
    }
  } finally {
    console.log(
      [
        "| photo | R | poses | max px (score ≥ 0.5) | max score diff | candidates | bytes read back | heads bytes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ...rows,
      ].join("\n"),
    );
  }
});

Deno.test("`estimateMultiplePoses()` equals the CPU decode of the same heads on real photos", async (t) => {
  // One end-to-end call per photo and resolution with its own options and mirror, then the GPU
  // passes on the same heads with every combination of options.
  const endToEnd: (MultiPoseOptions & { flipHorizontal: boolean })[] = [
    { flipHorizontal: true },
    { flipHorizontal: false, scoreThreshold: 0.1, nmsRadius: 40, maxDetections: 10 },
    { flipHorizontal: true, scoreThreshold: 0.3, nmsRadius: 5, maxDetections: 3 },
    { flipHorizontal: false, scoreThreshold: 0.9, nmsRadius: 20, maxDetections: 1 },
  ];
  let worst = 0;
  let combinations = 0;
  let n = 0;
  for (const c of reference.cases) {
    await t.step(`${c.photo} at ${c.inputResolution}`, async () => {
      const model = await net(c.inputResolution);
      const image = await photo(c.photo);
      const heads = await photoHeads(c.photo, c.inputResolution);
      const R = c.inputResolution;
      const config = endToEnd[n++ % endToEnd.length];
      const transform = (flip: boolean) => inputTransformFor(image.width, image.height, R, R, flip);
      const ours = await model.estimateMultiplePoses(image, config);
      assert.equal(model.lastMultiPoseReadback!.fallback, false);
      worst = Math.max(
        worst,
        assertSamePoses(
          ours,
          decodeMultiplePoses(heads, config, transform(config.flipHorizontal)),
          `end to end ${JSON.stringify(config)}`,
        ),
      );
      for (const scoreThreshold of [0.1, 0.3, 0.5, 0.9]) {
        const { result, decoder } = await runPasses(heads, scoreThreshold);
        assert.ok(candidateCount(result) <= decoder.maxCandidates);
        for (const nmsRadius of [5, 20, 40]) {
          for (const maxDetections of [1, 3, 10]) {
            for (const flip of [false, true]) {
              const options = { scoreThreshold, nmsRadius, maxDetections };
              const gpuPoses = posesFromCandidateRecords(result, decoder, options)
                .map((p) => applyInputTransform(p, transform(flip)));
              worst = Math.max(
                worst,
                assertSamePoses(
                  gpuPoses,
                  decodeMultiplePoses(heads, options, transform(flip)),
                  `${JSON.stringify(options)} flip ${flip}`,
                ),
              );
              combinations++;
            }
          }
        }
      }
    });
  }
  console.log(
    `GPU vs CPU decode of the same heads: ${combinations} option sets on ${reference.cases.length} ` +
      `photo/resolution pairs, worst position difference ${worst} px`,
  );
});

Deno.test("`estimateMultiplePoses()` falls back to the CPU decode when candidates overflow", async () => {
  // scoreThreshold 0 makes every local maximum a candidate: hundreds, more than the GPU keeps.
  for (const R of [257, 513]) {
    const model = await net(R);
    const image = await photo("group4_standing.jpg");
    const options = { scoreThreshold: 0, maxDetections: 7, nmsRadius: 15 };
    const poses = await model.estimateMultiplePoses(image, options);
    const readback = model.lastMultiPoseReadback!;
    assert.equal(readback.fallback, true);
    assert.ok(readback.candidates > readback.capacity, `${readback.candidates} candidates`);
    assert.equal(readback.bytes, 4 + 280 * readback.capacity + model.network.headsBytes);
    const heads = await photoHeads("group4_standing.jpg", R);
    assertSamePoses(
      poses,
      decodeMultiplePoses(heads, options, inputTransformFor(image.width, image.height, R, R)),
      `fallback at ${R}`,
    );
    assert.equal(poses.length, 7);
  }
});

Deno.test("`estimateMultiplePoses()` returns no poses when nothing reaches the threshold", async () => {
  const model = await net(257);
  const image = await photo("group3_couch.jpg");
  const heads = await photoHeads("group3_couch.jpg", 257);
  // No logit is large enough for its float32 sigmoid to round to 1.
  assert.ok(Math.max(...heads.heatmap) < 16);
  assert.deepEqual(await model.estimateMultiplePoses(image, { scoreThreshold: 1 }), []);
  assert.equal(model.lastMultiPoseReadback!.candidates, 0);
  // A blank image has nothing at 0.9 either, and agrees with the CPU decode at the default.
  const blank = { data: new Uint8Array(320 * 240 * 4), width: 320, height: 240 };
  assert.deepEqual(await model.estimateMultiplePoses(blank, { scoreThreshold: 0.9 }), []);
  const blankHeadsOut = await model.predictHeads(blank);
  assertSamePoses(
    await model.estimateMultiplePoses(blank),
    decodeMultiplePoses(blankHeadsOut, {}, inputTransformFor(320, 240, 257, 257)),
    "blank image",
  );
});

Deno.test("`estimateMultiplePoses()` reads back far fewer bytes than the heads, per frame", async () => {
  // The naive path for comparison: the whole frame's heads read back, decoded on the CPU (what
  // estimateMultiplePoses did before, and still does when the candidates overflow).
  const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1];
  const lines: string[] = [];
  for (const R of [257, 513]) {
    const model = await net(R);
    const image = await photo("group5_stairs.jpg");
    const transform = inputTransformFor(image.width, image.height, R, R);
    const gpuMs: number[] = [];
    const cpuMs: number[] = [];
    let gpuPoses: Pose[] = [];
    let cpuPoses: Pose[] = [];
    for (let i = 0; i < 4; i++) { // interleaved, so that load from elsewhere hits both alike
      let t0 = performance.now();
      gpuPoses = await model.estimateMultiplePoses(image);
      gpuMs.push(performance.now() - t0);
      t0 = performance.now();
      cpuPoses = decodeMultiplePoses(await model.predictHeads(image), {}, transform);
      cpuMs.push(performance.now() - t0);
    }
    assertSamePoses(gpuPoses, cpuPoses, `timing at ${R}`);
    const { bytes, candidates } = model.lastMultiPoseReadback!;
    const headsBytes = model.network.headsBytes;
    assert.ok(bytes * 3 < headsBytes, `${bytes} bytes vs ${headsBytes}`);
    lines.push(
      `multi-pose at ${R} (${candidates} candidates): GPU candidates + walk ${bytes} bytes/frame, ` +
        `${median(gpuMs).toFixed(0)} ms/call; heads + CPU decode ${headsBytes} bytes/frame, ` +
        `${median(cpuMs).toFixed(0)} ms/call (${(headsBytes / bytes).toFixed(1)}x fewer bytes)`,
    );
  }
  console.log(lines.join("\n"));
});

Deno.test("`estimateMultiplePoses()` rejects bad options and keeps its buffers per frame slot", async () => {
  const model = await net(257);
  const image = { data: new Uint8Array(16 * 16 * 4), width: 16, height: 16 };
  for (
    const [config, message] of [
      [{ maxDetections: 0 }, /maxDetections.*got 0/],
      [{ scoreThreshold: 2 }, /scoreThreshold.*got 2/],
      [{ nmsRadius: -1 }, /nmsRadius.*got -1/],
      [{ flipHorizontal: 1 as unknown as boolean }, /flipHorizontal must be a boolean/],
    ] as const
  ) {
    await assert.rejects(
      model.estimateMultiplePoses(image, config),
      (e: unknown) => e instanceof InvalidInputError && message.test(e.message),
    );
  }
  const before = model.liveBufferCount;
  await model.estimateMultiplePoses(image);
  await model.estimateMultiplePoses(image);
  assert.equal(
    model.liveBufferCount,
    before,
    "no new buffers once the slot has its multi-pose frame",
  );
});

// ---------------------------------------------------------------------------------------------
// Synthetic heads straight into the GPU passes.

const NOSE = PART_IDS.nose;
const LEFT_EYE = PART_IDS.leftEye;

/** GPU decode of synthetic heads; asserts it equals the CPU decode, and returns it. */
async function decodeBoth(heads: PoseNetHeads, options: MultiPoseOptions = {}): Promise<Pose[]> {
  const poses = await gpuDecode(heads, options);
  assertSamePoses(poses, decodeMultiplePoses(heads, options), JSON.stringify(options));
  return poses;
}

Deno.test("GPU multi-pose decode applies NMS to the root, at exactly nmsRadius too", async () => {
  const heads = blankHeads(9, 9);
  setLogit(heads, 4, 2, NOSE, 3);
  setLogit(heads, 4, 4, NOSE, 2);
  setOffset(heads, 4, 4, NOSE, 0, -20); // second nose 12 px from the first
  assert.equal((await decodeBoth(heads)).length, 1);
  assert.equal((await decodeBoth(heads, { nmsRadius: 11.9 })).length, 2);
  setOffset(heads, 4, 4, NOSE, 0, -12); // 20 px exactly: squared distance <= r² suppresses
  assert.equal((await decodeBoth(heads, { nmsRadius: 20 })).length, 1);
  assert.equal((await decodeBoth(heads, { nmsRadius: 19.999 })).length, 2);
});

Deno.test("GPU multi-pose decode scores a pose by its keypoints not claimed by earlier poses", async () => {
  const heads = blankHeads(9, 9);
  setLogit(heads, 2, 2, NOSE, 3);
  setLogit(heads, 2, 4, NOSE, 2);
  for (const edge of [0, 2, 4, 10]) setDisplacement(heads, "displacementFwd", 2, 4, edge, 0, -32);
  const poses = await decodeBoth(heads);
  assert.equal(poses.length, 2);
  assert.equal(poses[1].score, Math.fround(1 / (1 + Math.exp(-2))) / 17);
});

Deno.test("GPU multi-pose decode clamps roots and displacements at the grid border", async () => {
  const heads = blankHeads(5, 7);
  setLogit(heads, 0, 0, NOSE, 3);
  setLogit(heads, 4, 6, LEFT_EYE, -1);
  setLogit(heads, 0, 0, LEFT_EYE, -5);
  setOffset(heads, 0, 0, NOSE, -3, -5); // root outside the input, at (-3, -5)
  setOffset(heads, 4, 6, LEFT_EYE, 7, 9);
  setDisplacement(heads, "displacementFwd", 0, 0, 0, 1000, 1000); // far past the last cell
  setDisplacement(heads, "displacementFwd", 4, 6, 1, -1000, -1000); // far before the first
  setOffset(heads, 0, 0, PART_IDS.leftEar, 2, -2);
  // A root in the bottom-right corner too, walking backwards off the grid.
  setLogit(heads, 4, 6, PART_IDS.rightAnkle, 2.5);
  setOffset(heads, 4, 6, PART_IDS.rightAnkle, 30, 40);
  setDisplacement(heads, "displacementBwd", 4, 6, 15, 5e4, -7e4);
  const [pose] = await decodeBoth(heads, { scoreThreshold: 0.5, nmsRadius: 1 });
  assert.deepEqual(pose.keypoints[NOSE].position, { x: -5, y: -3 });
  assert.deepEqual(pose.keypoints[LEFT_EYE].position, { x: 6 * 16 + 9, y: 4 * 16 + 7 });
  assert.deepEqual(pose.keypoints[PART_IDS.leftEar].position, { x: -2, y: 2 });
  // Displacements near the float32 limit still clamp to the border cells.
  for (const value of [3.0e38, -3.0e38]) {
    setDisplacement(heads, "displacementFwd", 0, 0, 0, value, -value);
    await decodeBoth(heads, { maxDetections: 3, nmsRadius: 1 });
  }
});

Deno.test("GPU multi-pose decode rounds half a cell up, as JS Math.round, also after a displacement", async () => {
  const heads = blankHeads(5, 5);
  setLogit(heads, 2, 2, NOSE, 3);
  setOffset(heads, 2, 2, NOSE, -8, 8); // (24, 40): 1.5 → 2, 2.5 → 3 (WGSL round() gives 2, 2)
  setDisplacement(heads, "displacementFwd", 2, 3, 0, 16, 0);
  setDisplacement(heads, "displacementFwd", 1, 2, 0, -99, -99);
  setDisplacement(heads, "displacementFwd", 2, 2, 0, -99, -99);
  const [pose] = await decodeBoth(heads);
  assert.deepEqual(pose.keypoints[LEFT_EYE].position, { x: 48, y: 48 });

  // Just below half a cell: 0.49999997 must round down (floor(q + 0.5) in f32 would round up).
  const below = blankHeads(5, 5);
  setLogit(below, 2, 2, NOSE, 3);
  const justBelowHalf = 8 - 2 ** -21; // 16 · (0.5 − 2⁻²⁵)
  setOffset(below, 2, 2, NOSE, justBelowHalf, justBelowHalf);
  setDisplacement(below, "displacementFwd", 2, 2, 0, 16, 16); // read here: (2, 2)
  setDisplacement(below, "displacementFwd", 3, 3, 0, -99, -99); // not here
  await decodeBoth(below);

  // offset + displacement is exactly 8 − 2⁻³⁰ (below half a cell), but rounds to 8 in float32:
  // the CPU sums in float64 and rounds down; the GPU must notice that its sum was rounded up.
  const tie = blankHeads(5, 5);
  setLogit(tie, 2, 2, NOSE, 3);
  setOffset(tie, 2, 2, NOSE, 8 - 2 ** -20, 8 - 2 ** -20);
  setDisplacement(tie, "displacementFwd", 2, 2, 0, 2 ** -20 - 2 ** -30, 2 ** -20 + 2 ** -30);
  for (let y = 0; y < 5; y++) {
    for (let x = 0; x < 5; x++) setOffset(tie, y, x, LEFT_EYE, y / 2, x);
  }
  assert.equal(Math.fround(8 - 2 ** -20 + (2 ** -20 - 2 ** -30)), 8);
  const [tied] = await decodeBoth(tie);
  // y: exactly below half → cell 2; x: exactly above half → cell 3.
  assert.deepEqual(tied.keypoints[LEFT_EYE].position, { x: 3 * 16 + 3, y: 2 * 16 + 1 });
});

Deno.test("GPU multi-pose decode returns at most maxDetections poses, best roots first", async () => {
  const heads = blankHeads(17, 17);
  for (let i = 0; i < 8; i++) setLogit(heads, 2 * i, 2 * i, i, 1 + i * 0.25);
  assert.equal((await decodeBoth(heads)).length, 5);
  assert.equal((await decodeBoth(heads, { maxDetections: 100 })).length, 8);
  const three = await decodeBoth(heads, { maxDetections: 3 });
  assert.deepEqual(three.map((p) => p.keypoints.findIndex((k) => k.score > 0.5)), [7, 6, 5]);
});

Deno.test("GPU multi-pose decode orders equal root scores as PoseNet's max-heap does", async () => {
  const heads = blankHeads(17, 17);
  const spots = [[1, 1], [1, 8], [1, 15], [8, 1], [8, 8], [8, 15], [15, 1], [15, 8], [15, 15]];
  spots.forEach(([y, x], i) => setLogit(heads, y, x, (i * 5) % 17, i === 4 ? 3 : i === 7 ? 1 : 2));
  const poses = await decodeBoth(heads, { maxDetections: 9, nmsRadius: 5 });
  const roots = poses.map((p) => p.keypoints.findIndex((k) => k.score > 0.5));
  assert.deepEqual(roots, [3, 6, 0, 13, 8, 5, 15, 10, 1]);
});

Deno.test("GPU multi-pose decode keeps equal neighbours and drops cells beaten in their 3x3 window", async () => {
  const heads = blankHeads(3, 3);
  setLogit(heads, 1, 1, 2, 2.2);
  setLogit(heads, 1, 2, 2, 2.2);
  assert.equal((await decodeBoth(heads, { nmsRadius: 1 })).length, 2);
  setLogit(heads, 0, 0, 2, 2.5); // beats (1, 1), but is outside (1, 2)'s window
  const poses = await decodeBoth(heads, { nmsRadius: 1 });
  assert.deepEqual(poses.map((p) => p.keypoints[2].position), [{ x: 0, y: 0 }, { x: 32, y: 16 }]);
  // Distinct logits whose float32 sigmoids are equal (both 1): equal neighbours, both kept.
  setLogit(heads, 2, 0, 4, 40);
  setLogit(heads, 2, 1, 4, 41);
  assert.equal((await decodeBoth(heads, { nmsRadius: 1, maxDetections: 10 })).length, 4);
});

Deno.test("GPU multi-pose decode returns no poses when no score reaches the threshold", async () => {
  const heads = blankHeads(9, 13, 32, 0); // every score is exactly 0.5
  assert.deepEqual(await decodeBoth(heads, { scoreThreshold: 0.51 }), []);
  assert.equal((await decodeBoth(heads, { scoreThreshold: 0.5 })).length, 5);
  heads.heatmap.fill(-0.01);
  assert.deepEqual(await decodeBoth(heads), []);
  assert.deepEqual(await decodeBoth(heads, { scoreThreshold: 1 }), []);
});

Deno.test("GPU multi-pose decode reports an overflow of its candidate list", async () => {
  const heads = blankHeads(9, 9, 16, 0);
  // 10 separate noses; at threshold 0.5, every cell of every other part is a candidate too.
  for (let i = 0; i < 10; i++) setLogit(heads, 2 * Math.floor(i / 5), 2 * (i % 5), NOSE, 1 + i);
  const all = await runPasses(heads, 0.6, 10);
  assert.equal(candidateCount(all.result), 10);
  assertSamePoses(
    posesFromCandidateRecords(all.result, all.decoder, { scoreThreshold: 0.6, maxDetections: 10 }),
    decodeMultiplePoses(heads, { scoreThreshold: 0.6, maxDetections: 10 }),
    "exactly full",
  );
  const over = await runPasses(heads, 0.6, 4);
  assert.equal(candidateCount(over.result), 10, "the count goes on past the capacity");
  assert.throws(() => posesFromCandidateRecords(over.result, over.decoder), RangeError);
  const many = await runPasses(heads, 0.5, 4);
  assert.equal(
    candidateCount(many.result),
    findPartCandidates(sigmoidScores(heads.heatmap), 9, 9, 0.5).length,
  );
});

Deno.test("GPU multi-pose decode equals the CPU decode on random heads", async (t) => {
  // Random heads shaped like real ones, a third of them quantized (`randomHeadsCase`), each
  // from its own seed derived from the run's; the thresholds are drawn from the run's seed.
  const baseSeed = runSeed("multi-pose GPU decode");
  const rand = mulberry32(baseSeed);
  let cases = 0;
  for (const [h, w, stride] of [[17, 17, 16], [33, 33, 8], [9, 13, 32], [1, 1, 16], [2, 3, 16]]) {
    await t.step(`${h}x${w} stride ${stride}`, async () => {
      for (let i = 0; i < 6; i++) {
        const seed = (baseSeed + h * 1000 + w * 10 + i) >>> 0;
        const { heads, quantized } = randomHeadsCase(seed, h, w, stride);
        const scoreThreshold = [0.1, 0.3, 0.5, 0.7][Math.floor(rand() * 4)];
        const { result, decoder } = await runPasses(heads, scoreThreshold, h * w * 17);
        for (const nmsRadius of [5, 20, 30.5]) {
          for (const maxDetections of [1, 4, 12]) {
            const options = { scoreThreshold, nmsRadius, maxDetections };
            assertSamePoses(
              posesFromCandidateRecords(result, decoder, options),
              decodeMultiplePoses(heads, options),
              `case ${i} seed ${seed}${quantized ? " (quantized)" : ""} ${JSON.stringify(options)}`,
            );
            cases++;
          }
        }
      }
    });
  }
  console.log(`GPU multi-pose decode: ${cases} random cases equal to the CPU decode`);
});

Deno.test("GPU multi-pose decode rejects a stride that is not a power of two", async () => {
  await assert.rejects(
    createMultiPoseDecoder(gpu, {
      height: 3,
      width: 3,
      outputStride: 12,
      cellStride: 120,
      heatmapChannel: 0,
      offsetChannel: 20,
      displacementFwdChannel: 56,
      displacementBwdChannel: 88,
    }),
    (e: unknown) => e instanceof InvalidInputError && /power-of-two/.test(e.message),
  );
});

Deno.test("(cleanup) dispose the models and the device", () => {
  for (const model of nets.values()) model.dispose();
  gpu.destroy();
});
