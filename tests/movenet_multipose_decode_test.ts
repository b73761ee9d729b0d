import assert from "node:assert/strict";
import { createGpuContext } from "../runtime/gpu_context.ts";
import {
  createMultiPoseDecoder,
  type MultiPoseDecodeConfig,
  type MultiPoseDecodeResult,
  type MultiPoseHostHeads,
  runMultiPoseDecodeOnce,
} from "../decode/movenet_multipose_decode_gpu.ts";
import { loadMoveNetMultiPoseGraph } from "../models/movenet_multipose_graph.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { readImageFile } from "../cli/read_image.ts";
import { InvalidInputError } from "../errors.ts";
import {
  MULTIPOSE_BOX_INDEX,
  MULTIPOSE_ROW_FLOATS,
  MULTIPOSE_SCORE_INDEX,
} from "../shaders/movenet_multipose_decode.ts";
import { f32Ulps, MOVENET_SCORE_ULPS } from "./support/movenet_graph.ts";
import {
  loadTfjsMultiPose,
  runTfjsMultiPose,
  runTfjsMultiPoseDecode,
  tfjsMultiPoseInput,
  type TfjsMultiPoseRun,
} from "./support/movenet_multipose_graph.ts";
import { suiteCacheDir } from "./support/suite_cache.ts";
import { mulberry32, type Rng, runSeed, uniform } from "./support/random.ts";

const PARTS = 17;
/**
 * A keypoint score is sigmoid · exp(t) · mask (each of sigmoid and exp within MOVENET_SCORE_ULPS
 * of TF's, as the single-pose decode's, plus the product's rounding): 2 · MOVENET_SCORE_ULPS + 2.
 * Then t = −d² / DEN itself: TF rounds each (Y − p)² once from f64, we round Y − p first, so our
 * d² is within about 3 ULP of TF's (relative) and t within 3.5 ULP (the division besides); exp
 * turns a relative error ε of t into one of ε·|t| in its result, i.e. 3.5·|t| ULP more. So a
 * score's limit is SCORE_ULPS + ceil(4·|t|), with t at the chosen cell for the instance whose
 * value is the maximum there (computed from the heads in f64). |t| reaches about 10 on the
 * photos and hundreds on random heads, where such values underflow towards 0 in both.
 */
const SCORE_ULPS = 2 * MOVENET_SCORE_ULPS + 2;
/** Two cells may swap in an argmax only if TF's values at them are this close. */
const SWAP_ULPS = 2 * SCORE_ULPS;

/** TF's exponent t = −((Y − p_y)² + (X − p_x)²) / DEN of instance i, keypoint k, at `cell`. */
function exponent(
  ref: TfjsMultiPoseRun,
  width: number,
  height: number,
  i: number,
  k: number,
  cell: number,
) {
  const f = Math.fround;
  const c = ref.topCells[i];
  const py = f(Math.floor(c / width) + ref.heads.regress[c * 2 * PARTS + 2 * k]);
  const px = f((c % width) + ref.heads.regress[c * 2 * PARTS + 2 * k + 1]);
  const d2 = (Math.floor(cell / width) - py) ** 2 + ((cell % width) - px) ** 2;
  return -d2 / f(Math.min(width, height) * 0.300048828125);
}
/** The box: one division that WGSL lets a GPU round within 2.5 ULP; TF's is correctly rounded. */
const BOX_ULPS = 3;
/**
 * The instance score, a mean of 17 products each within its keypoint score's limit, summed in f32
 * (TF sums in f64): the sum's own roundings add at most 17 half-ULPs of the largest partial sum.
 * So the row's largest keypoint limit (or a swapped keypoint's SWAP_ULPS) plus SUM_ULPS.
 */
const SUM_ULPS = 9;

interface Worst {
  scoreUlps: number;
  maxT: number;
  boxUlps: number;
  instanceUlps: number;
  swaps: number;
}

const newWorst = (): Worst => ({ scoreUlps: 0, maxT: 0, boxUlps: 0, instanceUlps: 0, swaps: 0 });

/** Asserts our decode equals TF.js's run of the graph's own decode. */
function assertSameDecode(
  what: string,
  ours: MultiPoseDecodeResult,
  ref: TfjsMultiPoseRun,
  size: { height: number; width: number },
  worst: Worst,
): void {
  const k = ref.topCells.length;
  // TopKV2's order: the same cells, or two whose candidate values (sigmoids) are a near tie, so
  // that ours may order them the other way; rows are then compared by cell.
  for (let r = 0; r < k; r++) {
    const [oc, rc] = [ours.centerCells[r], ref.topCells[r]];
    if (oc === rc) continue;
    const [a, b] = [ref.candidates[rc], ref.candidates[oc]];
    assert.ok(
      f32Ulps(a, b) <= SWAP_ULPS,
      `${what}: TopKV2's cell ${r} is ${oc}, reference ${rc} (values ${b}, ${a})`,
    );
    worst.swaps++;
  }
  const columns = k * PARTS;
  for (let i = 0; i < k; i++) {
    const mine = ours.centerCells.indexOf(ref.topCells[i]);
    if (mine === -1) continue; // swapped out at the k-th place
    const row = i * MULTIPOSE_ROW_FLOATS;
    const ourRow = mine * MULTIPOSE_ROW_FLOATS;
    let rowLimit = SCORE_ULPS;
    for (let p = 0; p < PARTS; p++) {
      const [oc, rc] = [ours.keypointCells[mine * PARTS + p], ref.keypointCells[i * PARTS + p]];
      const label = `${what}: instance ${i} keypoint ${p}`;
      if (oc !== rc) {
        const a = ref.weighted[rc * columns + i * PARTS + p];
        const b = ref.weighted[oc * columns + i * PARTS + p];
        assert.ok(
          f32Ulps(a, b) <= SWAP_ULPS,
          `${label}: cell ${oc}, reference ${rc} (values ${b}, ${a})`,
        );
        worst.swaps++;
        rowLimit = Math.max(rowLimit, SWAP_ULPS);
        continue;
      }
      for (const [j, axis] of [[0, "y"], [1, "x"]] as const) {
        assert.equal(
          ours.output[ourRow + 3 * p + j],
          ref.output[row + 3 * p + j],
          `${label} ${axis}`,
        );
      }
      // The instance whose weighted value is the score (the maximum at the cell), its t.
      let source = 0;
      for (let j = 1; j < k; j++) {
        const at = (n: number) => ref.weighted[rc * columns + n * PARTS + p];
        if (at(j) > at(source)) source = j;
      }
      const t = exponent(ref, size.width, size.height, source, p, rc);
      const limit = SCORE_ULPS + Math.ceil(4 * Math.abs(t));
      rowLimit = Math.max(rowLimit, limit);
      const d = f32Ulps(ours.output[ourRow + 3 * p + 2], ref.output[row + 3 * p + 2]);
      assert.ok(
        d <= limit,
        `${label}: score ${ours.output[ourRow + 3 * p + 2]}, reference ` +
          `${ref.output[row + 3 * p + 2]} (${d} ULP, limit ${limit}, t = ${t})`,
      );
      worst.maxT = Math.max(worst.maxT, Math.abs(t));
      worst.scoreUlps = Math.max(worst.scoreUlps, d);
    }
    for (let e = 0; e < 4; e++) {
      const [at, ourAt] = [row + MULTIPOSE_BOX_INDEX + e, ourRow + MULTIPOSE_BOX_INDEX + e];
      const d = f32Ulps(ours.output[ourAt], ref.output[at]);
      assert.ok(
        d <= BOX_ULPS,
        `${what}: instance ${i} box[${e}] ${ours.output[ourAt]}, ` +
          `reference ${ref.output[at]} (${d} ULP)`,
      );
      worst.boxUlps = Math.max(worst.boxUlps, d);
    }
    const [at, ourAt] = [row + MULTIPOSE_SCORE_INDEX, ourRow + MULTIPOSE_SCORE_INDEX];
    const d = f32Ulps(ours.output[ourAt], ref.output[at]);
    assert.ok(
      d <= rowLimit + SUM_ULPS,
      `${what}: instance ${i} score ${ours.output[ourAt]}, reference ${
        ref.output[at]
      } (${d} ULP, ` +
        `limit ${rowLimit + SUM_ULPS})`,
    );
    worst.instanceUlps = Math.max(worst.instanceUlps, d);
  }
}

async function modelDecodeConfig(height: number, width: number): Promise<MultiPoseDecodeConfig> {
  const path = await fetchDefaultWeights("movenet-multipose", { cacheDir: suiteCacheDir() });
  const model = await loadMoveNetMultiPoseGraph(path);
  return { ...model.decode, height, width };
}

const report = (what: string, w: Worst) =>
  console.log(
    `${what}: worst keypoint score ${w.scoreUlps} ULP (largest |t| ${
      w.maxT.toFixed(2)
    }), box ${w.boxUlps} ULP, instance score ` +
      `${w.instanceUlps} ULP, ${w.swaps} near-tie cell swaps (within ${SWAP_ULPS} ULP)`,
  );

Deno.test("`createMultiPoseDecoder()` equals the TF.js graph's own decode on the photos' heads", async (t) => {
  const gpu = await createGpuContext();
  const graph = await loadTfjsMultiPose();
  const worst = newWorst();
  try {
    for (const photo of ["group3_couch.jpg", "group4_standing.jpg", "group5_stairs.jpg"]) {
      await t.step(photo, async () => {
        const img = await readImageFile(`tests/fixtures/photos/${photo}`);
        const rgb = new Int32Array(img.width * img.height * 3);
        for (let p = 0; p < img.width * img.height; p++) {
          for (let c = 0; c < 3; c++) rgb[3 * p + c] = img.data[4 * p + c];
        }
        const pre = tfjsMultiPoseInput(rgb, img.height, img.width);
        const run = runTfjsMultiPose(graph, pre.input, pre.paddedHeight, pre.paddedWidth);
        const [h, w] = [pre.paddedHeight / 4, pre.paddedWidth / 4];
        const decoder = await createMultiPoseDecoder(gpu, await modelDecodeConfig(h, w));
        const ours = await runMultiPoseDecodeOnce(gpu, decoder, run.heads);
        assertSameDecode(photo, ours, run, { height: h, width: w }, worst);
      });
    }
  } finally {
    report("multipose decode, photos", worst);
    graph.dispose();
    gpu.destroy();
  }
});

/**
 * Random heads: centre logits in [−8, 8] (many peaks, random order), box scales up to a third of
 * the map (and some negative: the graph clamps them), offsets in ±1, heatmap logits in [−8, 8],
 * regressions within a quarter of the map, so each keypoint's Gaussian centre lies near its box.
 */
function randomHeads(rng: Rng, height: number, width: number): MultiPoseHostHeads {
  const cells = height * width;
  const side = Math.min(height, width);
  return {
    center: uniform(rng, cells, -8, 8),
    boxScale: uniform(rng, cells * 2, -1, side / 3),
    boxOffset: uniform(rng, cells * 2, -1, 1),
    heatmap: uniform(rng, cells * PARTS, -8, 8),
    regress: uniform(rng, cells * 2 * PARTS, -side / 4, side / 4),
    offset: uniform(rng, cells * 2 * PARTS, -1, 1),
  };
}

Deno.test("`createMultiPoseDecoder()` equals the TF.js graph's decode on random heads", async (t) => {
  const gpu = await createGpuContext();
  const graph = await loadTfjsMultiPose();
  const rng = mulberry32(runSeed("movenet multipose decode"));
  const worst = newWorst();
  try {
    for (const [h, w] of [[64, 64], [64, 40], [48, 64], [8, 8], [8, 24], [17, 11]]) {
      await t.step(`${h}x${w}`, async () => {
        const decoder = await createMultiPoseDecoder(gpu, await modelDecodeConfig(h, w));
        for (let draw = 0; draw < 2; draw++) {
          const heads = randomHeads(rng, h, w);
          const ref = runTfjsMultiPoseDecode(graph, heads, h, w);
          const ours = await runMultiPoseDecodeOnce(gpu, decoder, heads);
          assertSameDecode(`${h}x${w} draw ${draw}`, ours, ref, { height: h, width: w }, worst);
        }
      });
    }
    await t.step("ties: equal peaks, fewer peaks than K, empty boxes", async () => {
      const [h, w] = [24, 32];
      const decoder = await createMultiPoseDecoder(gpu, await modelDecodeConfig(h, w));
      const heads = randomHeads(rng, h, w);
      heads.center.fill(-9);
      // Three equal peaks (listed last first), one lower: TopKV2 orders equal values by cell;
      // the other two instances are zeros, cells 0 and 1.
      for (const cell of [20 * w + 25, 3 * w + 4, 12 * w + 16]) heads.center[cell] = 3;
      heads.center[6 * w + 28] = 1;
      // The second peak's box is empty (scale ≤ 0): all its keypoints fall to cell 0.
      heads.boxScale.fill(-2, 2 * (3 * w + 4), 2 * (3 * w + 4) + 2);
      const ref = runTfjsMultiPoseDecode(graph, heads, h, w);
      const ours = await runMultiPoseDecodeOnce(gpu, decoder, heads);
      assert.deepEqual(ref.topCells, [3 * w + 4, 12 * w + 16, 20 * w + 25, 6 * w + 28, 0, 1]);
      assert.equal(ref.keypointCells[0], 0, "the empty box's keypoint");
      assertSameDecode("ties", ours, ref, { height: h, width: w }, worst);
    });
  } finally {
    report("multipose decode, random heads", worst);
    graph.dispose();
    gpu.destroy();
  }
});

Deno.test("`createMultiPoseDecoder()` rejects bad sizes, constants and heads", async () => {
  const gpu = await createGpuContext();
  try {
    const good = await modelDecodeConfig(8, 8);
    const bad: [Partial<MultiPoseDecodeConfig>, RegExp][] = [
      [{ height: 0 }, /height must be an integer in 1\.\.4096, got 0/],
      [{ maxInstances: 70, height: 16, width: 16 }, /maxInstances must be an integer in 1\.\.64 /],
      [{ maxInstances: 7, height: 2, width: 3 }, /maxInstances must be an integer in 1\.\.6 /],
      [{ peakWindow: 4 }, /peakWindow must be an odd positive integer, got 4/],
      [{ gaussianSpread: NaN }, /gaussianSpread must be finite/],
      [{ stride: 0 }, /gaussianSpread and stride must be > 0/],
    ];
    for (const [change, message] of bad) {
      await assert.rejects(
        createMultiPoseDecoder(gpu, { ...good, ...change }),
        (e: unknown) => e instanceof InvalidInputError && message.test(e.message),
        JSON.stringify(change),
      );
    }
    const decoder = await createMultiPoseDecoder(gpu, good);
    const heads = randomHeads(mulberry32(3), 8, 8);
    await assert.rejects(
      runMultiPoseDecodeOnce(gpu, decoder, { ...heads, boxScale: new Float32Array(64) }),
      (e: unknown) =>
        e instanceof InvalidInputError &&
        /boxScale head has 64 values, expected 8x8x2 = 128/.test(e.message),
    );
  } finally {
    gpu.destroy();
  }
});
