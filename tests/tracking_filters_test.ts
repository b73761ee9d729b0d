/**
 * The smoothing filters (`tracking/low_pass_filter.ts`, `one_euro_filter.ts`,
 * `keypoints_one_euro_filter.ts`) against pose-detection 2.1.3's own classes
 * (`dist/shared/filters/*.js`) on random signals: random walks with jumps, irregular timestamps
 * (repeats, a step back, gaps, a first time of 0), random configs, value scaling with object
 * scales above and below the minimum, keypoint counts that change. Every output must be equal
 * (|Δ| ≤ 1e-6 is the requirement; the worst seen is printed, 0 so far).
 */

import assert from "node:assert/strict";
import { LowPassFilter as TheirLowPass } from "@tensorflow-models/pose-detection/dist/shared/filters/low_pass_filter.js";
import { OneEuroFilter as TheirOneEuro } from "@tensorflow-models/pose-detection/dist/shared/filters/one_euro_filter.js";
import { KeypointsOneEuroFilter as TheirKeypointsFilter } from "@tensorflow-models/pose-detection/dist/shared/filters/keypoints_one_euro_filter.js";
import { KEYPOINT_FILTER_CONFIG } from "@tensorflow-models/pose-detection/dist/movenet/constants.js";
import { LowPassFilter } from "../tracking/low_pass_filter.ts";
import { OneEuroFilter, type OneEuroFilterConfig } from "../tracking/one_euro_filter.ts";
import {
  type KeypointsFilterConfig,
  KeypointsOneEuroFilter,
  MOVENET_KEYPOINT_FILTER_CONFIG,
} from "../tracking/keypoints_one_euro_filter.ts";
import { mulberry32, type Rng, runSeed } from "./support/random.ts";
import { randomTimestamps } from "./support/keypoint_sequences.ts";

const TOLERANCE = 1e-6;
const seed = runSeed("tracking_filters_test");

function randomWalk(rng: Rng, n: number, scale: number): number[] {
  const out: number[] = [];
  let v = scale * rng();
  for (let i = 0; i < n; i++) {
    v += scale * 0.02 * (rng() - 0.5);
    if (rng() < 0.05) v += scale * (rng() - 0.5); // a jump
    out.push(v);
  }
  return out;
}

function randomConfig(rng: Rng): OneEuroFilterConfig {
  const withThreshold = rng() < 0.6;
  return {
    frequency: 10 + 50 * rng(),
    minCutOff: 0.05 + 5 * rng(),
    beta: rng() < 0.2 ? 0 : 500 * rng(),
    derivateCutOff: 0.1 + 5 * rng(),
    ...(withThreshold ? { thresholdCutOff: 0.01 + rng(), thresholdBeta: 10 * rng() } : {}),
  };
}

function worstDifference(a: readonly number[], b: readonly number[]): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    assert.ok(Number.isFinite(a[i]), `output ${i} is ${a[i]}`);
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  return worst;
}

Deno.test("`LowPassFilter` equals pose-detection's LowPassFilter, with and without threshold", () => {
  const rng = mulberry32(seed);
  let worst = 0;
  for (let run = 0; run < 50; run++) {
    const alpha = 0.01 + 0.99 * rng();
    const [ours, theirs] = [new LowPassFilter(alpha), new TheirLowPass(alpha)];
    const values = randomWalk(rng, 60, 10);
    const got: number[] = [];
    const want: number[] = [];
    for (const [i, v] of values.entries()) {
      if (rng() < 0.05) {
        ours.reset();
        theirs.reset();
      }
      const threshold = rng() < 0.5 ? undefined : 0.1 + rng();
      const newAlpha = rng() < 0.3 ? 0.01 + 0.99 * rng() : undefined;
      got.push(
        newAlpha === undefined
          ? ours.apply(v, threshold)
          : ours.applyWithAlpha(v, newAlpha, threshold),
      );
      want.push(
        newAlpha === undefined
          ? theirs.apply(v, threshold)
          : theirs.applyWithAlpha(v, newAlpha, threshold),
      );
      assert.equal(ours.hasLastRawValue, theirs.hasLastRawValue(), `frame ${i}`);
      if (ours.hasLastRawValue) assert.equal(ours.lastRawValue, theirs.lastRawValue());
    }
    worst = Math.max(worst, worstDifference(got, want));
  }
  console.log(`LowPassFilter: worst |ours − pose-detection| ${worst}`);
  assert.ok(worst <= TOLERANCE, `worst difference ${worst}`);
});

Deno.test("`OneEuroFilter` equals pose-detection's OneEuroFilter on irregular timestamps", () => {
  const rng = mulberry32(seed + 1);
  let worst = 0;
  for (let run = 0; run < 60; run++) {
    const config = randomConfig(rng);
    const [ours, theirs] = [new OneEuroFilter(config), new TheirOneEuro(config)];
    const values = randomWalk(rng, 80, rng() < 0.5 ? 1 : 500);
    const times = randomTimestamps(rng, values.length, rng() < 0.3 ? 0 : 5000 * rng());
    const valueScale = rng() < 0.5 ? 1 : 0.01 + 3 * rng();
    const got = values.map((v, i) => ours.apply(v, times[i] * 1000, valueScale));
    const want = values.map((v, i) => theirs.apply(v, times[i] * 1000, valueScale));
    worst = Math.max(worst, worstDifference(got, want));
  }
  console.log(`OneEuroFilter: worst |ours − pose-detection| ${worst}`);
  assert.ok(worst <= TOLERANCE, `worst difference ${worst}`);
});

Deno.test("`MOVENET_KEYPOINT_FILTER_CONFIG` is pose-detection's KEYPOINT_FILTER_CONFIG", () => {
  assert.deepEqual({ ...MOVENET_KEYPOINT_FILTER_CONFIG }, { ...KEYPOINT_FILTER_CONFIG });
});

Deno.test("`KeypointsOneEuroFilter` equals pose-detection's on keypoint sequences (scaling, z, resizes)", () => {
  const rng = mulberry32(seed + 2);
  let worst = 0;
  let frames = 0;
  for (let run = 0; run < 40; run++) {
    const config: KeypointsFilterConfig = run % 3 === 0 ? MOVENET_KEYPOINT_FILTER_CONFIG : {
      ...randomConfig(rng),
      disableValueScaling: rng() < 0.3,
      ...(rng() < 0.7 ? { minAllowedObjectScale: 0.2 * rng() } : {}),
    };
    const ours = new KeypointsOneEuroFilter(config);
    const theirs = new TheirKeypointsFilter(config);
    let count = 17;
    const withZ = rng() < 0.3;
    const walks = Array.from({ length: 20 }, () => ({
      x: randomWalk(rng, 60, 1),
      y: randomWalk(rng, 60, 1),
      z: randomWalk(rng, 60, 1),
    }));
    const times = randomTimestamps(rng, 60, rng() < 0.3 ? 0 : 3000 * rng());
    for (let i = 0; i < 60; i++) {
      if (rng() < 0.05) count = 15 + Math.floor(rng() * 5); // a new keypoint count
      if (rng() < 0.03) {
        ours.reset();
        theirs.reset();
      }
      const keypoints = walks.slice(0, count).map((w, k) => ({
        x: w.x[i],
        y: w.y[i],
        ...(withZ ? { z: w.z[i] } : {}),
        score: rng(),
        name: `k${k}`,
      }));
      const objectScale = 0.01 + 0.5 * rng();
      const got = ours.apply(keypoints, times[i] * 1000, objectScale);
      const want = theirs.apply(keypoints, times[i] * 1000, objectScale);
      assert.equal(got.length, want.length);
      for (const [k, g] of got.entries()) {
        const w = want[k];
        assert.deepEqual(Object.keys(g).sort(), Object.keys(w).sort(), "the same fields");
        assert.equal(g.score, w.score);
        assert.equal(g.name, w.name);
        worst = Math.max(worst, Math.abs(g.x - w.x), Math.abs(g.y - w.y));
        if (withZ) worst = Math.max(worst, Math.abs(g.z! - w.z!));
      }
      frames++;
    }
  }
  console.log(`KeypointsOneEuroFilter: ${frames} frames, worst |ours − pose-detection| ${worst}`);
  assert.ok(worst <= TOLERANCE, `worst difference ${worst}`);
});

Deno.test("`KeypointsOneEuroFilter` leaves its input untouched and passes a first frame through", () => {
  const filter = new KeypointsOneEuroFilter(MOVENET_KEYPOINT_FILTER_CONFIG);
  const input = [{ x: 0.4, y: 0.6, score: 0.9 }];
  const first = filter.apply(input, 1000, 1);
  assert.deepEqual(first, input);
  assert.notEqual(first[0], input[0]);
  const second = filter.apply([{ x: 0.5, y: 0.6, score: 0.9 }], 34_000, 1);
  assert.ok(second[0].x > 0.4 && second[0].x < 0.5, `smoothed x ${second[0].x}`);
  assert.deepEqual(input, [{ x: 0.4, y: 0.6, score: 0.9 }]);
});
