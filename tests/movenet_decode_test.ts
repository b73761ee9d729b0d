import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import {
  createMovenetDecoder,
  type MovenetDecodeConfig,
  type MovenetDecodeResult,
  type MovenetHostHeads,
  runMovenetDecodeOnce,
} from "../decode/movenet_decode_gpu.ts";
import { decodeMovenetF64, type MovenetDecodeF64Result } from "../reference/movenet_decode_f64.ts";
import { cropBox, initCropRegion } from "../decode/movenet_crop.ts";
import { readImageFile } from "../cli/read_image.ts";
import { InvalidInputError } from "../errors.ts";
import {
  f32Ulps,
  loadTfjsMovenet,
  MOVENET_NODES,
  MOVENET_SCORE_ULPS,
  type MovenetModel,
  runTfjsMovenet,
  runTfjsMovenetDecode,
  type TfjsMovenet,
} from "./support/movenet_graph.ts";
import { mulberry32, type Rng, runSeed, uniform } from "./support/random.ts";

const PHOTOS = "tests/fixtures/photos";
const PARTS = 17;
const SCORE_ULPS = MOVENET_SCORE_ULPS;
/**
 * Two cells may swap in an argmax only if the reference's values at them are this close, in ULPs
 * of the larger: each of ours is within SCORE_ULPS + 1 (the product or division after it).
 */
const SWAP_ULPS = 2 * (SCORE_ULPS + 1);

const ulps = f32Ulps;

/** The int32 model input pose-detection makes from a photo (first-frame crop, cropAndResize). */
async function photoInput(name: string, size: number): Promise<Int32Array> {
  const img = await readImageFile(`${PHOTOS}/${name}`);
  const region = initCropRegion(img.width, img.height);
  return tf.tidy(() => {
    const rgba = tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, 4], "int32");
    const rgb = tf.expandDims(tf.slice(rgba, [0, 0, 0], [-1, -1, 3]), 0) as tf.Tensor4D;
    const box = [Array.from(cropBox(region))];
    const crop = tf.image.cropAndResize(rgb, box, [0], [size, size], "bilinear", 0);
    return Int32Array.from(tf.cast(crop, "int32").dataSync());
  });
}

interface Worst {
  scoreUlps: number;
  swaps: number;
}

/**
 * Asserts our decode equals a reference: the same centre and keypoint cells (or, where the
 * reference's values are given, a swap between two cells within SWAP_ULPS), the same y and x bit
 * for bit at the same cell, and scores within SCORE_ULPS.
 */
function assertSameDecode(
  what: string,
  ours: MovenetDecodeResult,
  ref: { centerCell: number; keypointCells: readonly number[]; output: ArrayLike<number> },
  values: MovenetDecodeF64Result | undefined,
  worst: Worst,
  exactCells = false,
): void {
  const cellsMatch = (oursCell: number, refCell: number, value: (cell: number) => number) => {
    if (oursCell === refCell) return true;
    if (exactCells || !values) return false;
    const a = value(refCell);
    const b = value(oursCell);
    if (ulps(a, b) > SWAP_ULPS) return false;
    worst.swaps++;
    return true;
  };
  assert.ok(
    cellsMatch(ours.centerCell, ref.centerCell, (c) => values!.centerValues[c]),
    `${what}: centre cell ${ours.centerCell}, reference ${ref.centerCell}`,
  );
  for (let k = 0; k < PARTS; k++) {
    const [oc, rc] = [ours.keypointCells[k], ref.keypointCells[k]];
    assert.ok(
      cellsMatch(oc, rc, (c) => values!.keypointValues[c * PARTS + k]),
      `${what}: keypoint ${k} cell ${oc}, reference ${rc}`,
    );
    if (oc !== rc) continue;
    for (const [i, axis] of [[0, "y"], [1, "x"]] as const) {
      assert.equal(
        ours.keypoints[3 * k + i],
        Math.fround(ref.output[3 * k + i]),
        `${what}: keypoint ${k} ${axis}`,
      );
    }
    const d = ulps(ours.keypoints[3 * k + 2], ref.output[3 * k + 2]);
    assert.ok(
      d <= SCORE_ULPS,
      `${what}: keypoint ${k} score ${ours.keypoints[3 * k + 2]}, reference ` +
        `${ref.output[3 * k + 2]} (${d} ULP, limit ${SCORE_ULPS})`,
    );
    worst.scoreUlps = Math.max(worst.scoreUlps, d);
  }
}

/** The reference decode's result in the shape assertSameDecode compares. */
function f64Reference(heads: MovenetHostHeads, config: MovenetDecodeConfig) {
  const result = decodeMovenetF64({ height: config.height, width: config.width, ...heads }, config);
  return { ...result, output: result.keypoints };
}

Deno.test("`createMovenetDecoder()` equals the TF.js graph's own decode on real photos", async (t) => {
  const gpu = await createGpuContext();
  try {
    const models: [MovenetModel, string[]][] = [
      ["movenet-lightning", [
        "group3_couch.jpg",
        "group5_stairs.jpg",
        "single_green_dress_crop.jpg",
        "single_uniform_crop.png",
      ]],
      ["movenet-thunder", ["group4_standing.jpg", "single_portrait.jpg"]],
    ];
    for (const [model, photos] of models) {
      const net = await loadTfjsMovenet(model);
      const decoder = await createMovenetDecoder(gpu, net.decode);
      const worst: Worst = { scoreUlps: 0, swaps: 0 };
      try {
        await t.step(`${model}: the graph's constants are what the shader assumes`, () => {
          const gridY = net.constant(MOVENET_NODES.gridY);
          const gridX = net.constant(MOVENET_NODES.gridX);
          for (let j = 0; j < net.headSize ** 2; j++) {
            assert.equal(gridY[j], Math.floor(j / net.headSize), `row grid at cell ${j}`);
            assert.equal(gridX[j], j % net.headSize, `column grid at cell ${j}`);
          }
          assert.equal(net.decode.distanceBias, 1.7998046875);
        });
        for (const photo of photos) {
          await t.step(`${model}: ${photo}`, async () => {
            const run = runTfjsMovenet(net, await photoInput(photo, net.inputSize));
            const ours = await runMovenetDecodeOnce(gpu, decoder, run);
            assertSameDecode(`${model} ${photo}`, ours, run, undefined, worst, true);
            // The float64 reference with float32 storage is the graph's decode bit for bit.
            const ref = f64Reference(run, net.decode);
            assert.equal(ref.centerCell, run.centerCell);
            assert.deepEqual(ref.keypointCells, run.keypointCells);
            assert.deepEqual(Float32Array.from(ref.keypoints), run.output);
          });
        }
      } finally {
        console.log(`${model}: photos, worst score difference ${worst.scoreUlps} ULP`);
        decoder.dispose();
        net.graph.dispose();
      }
    }
  } finally {
    gpu.destroy();
  }
});

/** Random heads: logits uniform in [−8, 8], regressions within half the map, offsets in ±1. */
function randomHeads(rng: Rng, height: number, width: number): MovenetHostHeads {
  const cells = height * width;
  return {
    center: uniform(rng, cells, -8, 8),
    heatmap: uniform(rng, cells * PARTS, -8, 8),
    regress: uniform(rng, cells * 2 * PARTS, -height / 2, height / 2),
    offset: uniform(rng, cells * 2 * PARTS, -1, 1),
  };
}

function randomConfig(rng: Rng, height: number, width: number): MovenetDecodeConfig {
  return {
    height,
    width,
    prior: uniform(rng, height * width, 0.02, 0.56),
    distanceBias: 1.7998046875,
    outputScale: [Math.fround(1 / height), Math.fround(1 / width)],
  };
}

Deno.test("`createMovenetDecoder()` equals the float64 decode on random heads", async (t) => {
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("movenet decode"));
  const worst: Worst = { scoreUlps: 0, swaps: 0 };
  const graphs: TfjsMovenet[] = [];
  try {
    // The two models' own sizes and constants, also run through the TF.js graph fed with the
    // heads; then other sizes, fewer cells than lanes included, with random priors.
    for (const model of ["movenet-lightning", "movenet-thunder"] as const) {
      const net = await loadTfjsMovenet(model);
      graphs.push(net);
      const decoder = await createMovenetDecoder(gpu, net.decode);
      try {
        for (let i = 0; i < 3; i++) {
          await t.step(`${model} heads, draw ${i}`, async () => {
            const heads = randomHeads(rng, net.headSize, net.headSize);
            const ref = f64Reference(heads, net.decode);
            const graph = runTfjsMovenetDecode(net, heads);
            assert.equal(ref.centerCell, graph.centerCell, "float64 reference vs TF.js: centre");
            assert.deepEqual(ref.keypointCells, graph.keypointCells, "… keypoint cells");
            assert.deepEqual(Float32Array.from(ref.keypoints), graph.output, "… output");
            const ours = await runMovenetDecodeOnce(gpu, decoder, heads);
            assertSameDecode(`${model} draw ${i}`, ours, ref, ref, worst);
          });
        }
      } finally {
        decoder.dispose();
      }
    }
    for (const [h, w] of [[1, 1], [3, 5], [7, 9], [13, 8], [33, 31], [64, 64]]) {
      await t.step(`${h}x${w}`, async () => {
        const config = randomConfig(rng, h, w);
        const decoder = await createMovenetDecoder(gpu, config);
        try {
          const heads = randomHeads(rng, h, w);
          const ours = await runMovenetDecodeOnce(gpu, decoder, heads);
          const ref = f64Reference(heads, config);
          assertSameDecode(`${h}x${w}`, ours, ref, ref, worst);
        } finally {
          decoder.dispose();
        }
      });
    }
  } finally {
    console.log(
      `movenet decode, random heads: worst score difference ${worst.scoreUlps} ULP, ` +
        `${worst.swaps} near-tie swaps (within ${SWAP_ULPS} ULP)`,
    );
    for (const net of graphs) net.graph.dispose();
    gpu.destroy();
  }
});

/** Sets the heatmap logit of keypoint k at (y, x). */
function setHeat(
  heads: MovenetHostHeads,
  width: number,
  k: number,
  y: number,
  x: number,
  v: number,
) {
  heads.heatmap[(y * width + x) * PARTS + k] = v;
}

Deno.test("`createMovenetDecoder()` breaks exact ties to the first cell and finds maxima on borders", async (t) => {
  const gpu = await createGpuContext();
  const rng = mulberry32(runSeed("movenet decode ties"));
  const worst: Worst = { scoreUlps: 0, swaps: 0 };
  try {
    for (const [h, w] of [[48, 48], [11, 70]]) {
      const config = randomConfig(rng, h, w);
      const decoder = await createMovenetDecoder(gpu, config);
      const check = async (what: string, heads: MovenetHostHeads) => {
        const ours = await runMovenetDecodeOnce(gpu, decoder, heads);
        const ref = f64Reference(heads, config);
        assertSameDecode(`${h}x${w} ${what}`, ours, ref, ref, worst, true);
        return { ours, ref };
      };
      try {
        await t.step(`${h}x${w}: every value equal`, async () => {
          const heads = randomHeads(rng, h, w);
          const flat = { ...config, prior: new Float32Array(h * w).fill(0.25) };
          const flatDecoder = await createMovenetDecoder(gpu, flat);
          try {
            heads.center.fill(1.5);
            heads.heatmap.fill(-2);
            heads.regress.fill(0);
            const ours = await runMovenetDecodeOnce(gpu, flatDecoder, heads);
            const ref = f64Reference(heads, flat);
            assertSameDecode(`${h}x${w} flat`, ours, ref, ref, worst, true);
            assert.equal(ours.centerCell, 0);
          } finally {
            flatDecoder.dispose();
          }
        });
        await t.step(`${h}x${w}: two centre cells of equal value`, async () => {
          const heads = randomHeads(rng, h, w);
          heads.center.fill(-6);
          const [a, b] = [h * w - 1 - (w + 1), w + 2]; // the later cell is listed first
          const prior = new Float32Array(config.prior);
          prior[a] = prior[b];
          const tied = { ...config, prior };
          const tiedDecoder = await createMovenetDecoder(gpu, tied);
          try {
            heads.center[a] = heads.center[b] = 7;
            const ours = await runMovenetDecodeOnce(gpu, tiedDecoder, heads);
            const ref = f64Reference(heads, tied);
            assertSameDecode(`${h}x${w} centre tie`, ours, ref, ref, worst, true);
            assert.equal(ours.centerCell, Math.min(a, b));
          } finally {
            tiedDecoder.dispose();
          }
        });
        await t.step(`${h}x${w}: keypoint cells at equal distance`, async () => {
          const heads = randomHeads(rng, h, w);
          heads.center.fill(-6);
          const [cy, cx] = [Math.floor(h / 2), Math.floor(w / 2)];
          heads.center[cy * w + cx] = 8;
          heads.heatmap.fill(-7);
          for (let k = 0; k < PARTS; k++) {
            // Regressed to an interior cell (integer offsets keep the distances exact).
            const ry = 1 + (k * 5) % (h - 2);
            const rx = 1 + (k * 7) % (w - 2);
            heads.regress[(cy * w + cx) * 2 * PARTS + 2 * k] = ry - cy;
            heads.regress[(cy * w + cx) * 2 * PARTS + 2 * k + 1] = rx - cx;
            const ring = k % 2 === 0
              ? [[ry - 1, rx], [ry, rx - 1], [ry, rx + 1], [ry + 1, rx]]
              : [[ry + 1, rx - 1], [ry - 1, rx + 1]];
            for (const [y, x] of ring) setHeat(heads, w, k, y, x, 5);
          }
          const { ours } = await check("distance ties", heads);
          for (let k = 0; k < PARTS; k++) {
            const ry = 1 + (k * 5) % (h - 2);
            const rx = 1 + (k * 7) % (w - 2);
            const first = k % 2 === 0 ? (ry - 1) * w + rx : (ry - 1) * w + rx + 1;
            assert.equal(
              ours.keypointCells[k],
              first,
              `keypoint ${k}: the first of the tied cells`,
            );
          }
        });
        await t.step(`${h}x${w}: centre and keypoints on the borders`, async () => {
          const corners = [[0, 0], [0, w - 1], [h - 1, 0], [h - 1, w - 1], [0, w >> 1], [h - 1, 3]];
          for (const [cy, cx] of corners) {
            const heads = randomHeads(rng, h, w);
            heads.center.fill(-5);
            heads.center[cy * w + cx] = 6;
            for (let k = 0; k < PARTS; k++) {
              const [y, x] = corners[(k + 1) % corners.length];
              heads.regress[(cy * w + cx) * 2 * PARTS + 2 * k] = y - cy + 0.25;
              heads.regress[(cy * w + cx) * 2 * PARTS + 2 * k + 1] = x - cx - 0.25;
              setHeat(heads, w, k, y, x, 8);
            }
            const { ours } = await check(`centre (${cy}, ${cx})`, heads);
            assert.equal(ours.centerCell, cy * w + cx);
          }
        });
      } finally {
        decoder.dispose();
      }
    }
  } finally {
    console.log(`movenet decode, ties and borders: worst score difference ${worst.scoreUlps} ULP`);
    gpu.destroy();
  }
});

Deno.test("`createMovenetDecoder()` rejects bad sizes, priors, constants and heads", async () => {
  const gpu: GpuContext = await createGpuContext();
  try {
    const good = randomConfig(mulberry32(1), 4, 4);
    const bad: [Partial<MovenetDecodeConfig>, RegExp][] = [
      [{ height: 0 }, /height must be an integer in 1\.\.4096, got 0/],
      [{ width: 2.5 }, /width must be an integer/],
      [{ prior: new Float32Array(15) }, /prior has 15 values, expected 4x4 = 16/],
      [{ distanceBias: NaN }, /distanceBias must be finite/],
      [{ distanceBias: -1 }, /distanceBias must be > 0/],
      [{ outputScale: [1, Infinity] }, /outputScale\[1\] must be finite/],
    ];
    for (const [change, message] of bad) {
      await assert.rejects(
        createMovenetDecoder(gpu, { ...good, ...change }),
        (e: unknown) => e instanceof InvalidInputError && message.test(e.message),
        JSON.stringify(change),
      );
    }
    const decoder = await createMovenetDecoder(gpu, good);
    try {
      const heads = randomHeads(mulberry32(2), 4, 4);
      await assert.rejects(
        runMovenetDecodeOnce(gpu, decoder, { ...heads, regress: new Float32Array(16 * 17) }),
        (e: unknown) =>
          e instanceof InvalidInputError &&
          /regress head has 272 values, expected 4x4x34 = 544/.test(e.message),
      );
    } finally {
      decoder.dispose();
    }
  } finally {
    gpu.destroy();
  }
});
