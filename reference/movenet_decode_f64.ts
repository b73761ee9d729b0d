/**
 * MoveNet SinglePose's decode (its graph's ops after the four heads) on the CPU in float64: the
 * independent reference for the GPU decode (`shaders/movenet_decode.ts`).
 *
 * Every op is computed in float64 exactly as tfjs-backend-cpu 4.22 computes it (`Sigmoid`:
 * `1 / (1 + Math.exp(-x))`; `SquaredDifference`: `(a − b) · (a − b)` in one expression; `Sqrt`,
 * `RealDiv`, `AddV2`, `Mul`; `ArgMax`: a strict `>` scan, so the first maximal index wins;
 * `FloorDiv`: `Math.floor(a / b)`). With `storage: "float32"` each op's result is then rounded to
 * float32 (`Math.fround`), as TF.js stores every tensor in a `Float32Array`: this reproduces the
 * TF.js graph's output bit for bit. With `storage: "float64"` nothing is rounded: the decode in
 * exact-as-double arithmetic, to measure how far float32 implementations are from it.
 *
 * @module
 */

/** Keypoints MoveNet decodes. */
const PARTS = 17;

/** The heads as plain NHWC arrays (batch 1 squeezed). */
export interface MovenetHeadsF64 {
  /** Head rows. */
  readonly height: number;
  /** Head columns. */
  readonly width: number;
  /** `[H, W, 1]` centre logits. */
  readonly center: ArrayLike<number>;
  /** `[H, W, 17]` heatmap logits. */
  readonly heatmap: ArrayLike<number>;
  /** `[H, W, 34]` regressed (y, x) pairs. */
  readonly regress: ArrayLike<number>;
  /** `[H, W, 34]` offset (y, x) pairs. */
  readonly offset: ArrayLike<number>;
}

/** The graph's constants the decode uses. */
export interface MovenetDecodeConstantsF64 {
  /** `[H, W]` centre prior (`truediv_2_recip`). */
  readonly prior: ArrayLike<number>;
  /** Added to the distance (`add_5/y`). */
  readonly distanceBias: number;
  /** (y, x) output scale (`Reshape_13`). */
  readonly outputScale: readonly [number, number];
}

/** The reference decode's output and the values its argmaxes compared. */
export interface MovenetDecodeF64Result {
  /** (y, x, score) per keypoint: the graph's `[1, 1, 17, 3]`. */
  readonly keypoints: Float64Array;
  /** The centre cell. */
  readonly centerCell: number;
  /** Each keypoint's cell. */
  readonly keypointCells: number[];
  /** sigmoid(center) · prior per cell: what the centre argmax compared. */
  readonly centerValues: Float64Array;
  /** `[H·W, 17]`: sigmoid(heatmap) / (distance + bias) per cell and keypoint. */
  readonly keypointValues: Float64Array;
}

/** Options of {@linkcode decodeMovenetF64}. */
export interface DecodeMovenetF64Options {
  /** Round each op's result to float32 as TF.js does (default), or keep float64 throughout. */
  readonly storage?: "float32" | "float64";
}

/** First index of the maximum under a strict `>` scan (TF.js `ArgMax`). */
function argmax(values: Float64Array, count: number, stride: number, offset: number): number {
  let best = values[offset];
  let index = 0;
  for (let j = 0; j < count; j++) {
    const v = values[j * stride + offset];
    if (v > best) {
      best = v;
      index = j;
    }
  }
  return index;
}

/**
 * Decodes MoveNet's heads as its graph does.
 *
 * @param heads The four heads.
 * @param constants The graph's prior, distance bias and output scale.
 * @param options Float32 or float64 storage of intermediate results.
 * @returns The output, the chosen cells and the compared values.
 */
export function decodeMovenetF64(
  heads: MovenetHeadsF64,
  constants: MovenetDecodeConstantsF64,
  options: DecodeMovenetF64Options = {},
): MovenetDecodeF64Result {
  const round = (options.storage ?? "float32") === "float32" ? Math.fround : (x: number) => x;
  const { height, width } = heads;
  const cells = height * width;
  const sigmoid = (x: number) => round(1 / (1 + Math.exp(-x)));

  const centerValues = new Float64Array(cells);
  for (let i = 0; i < cells; i++) {
    centerValues[i] = round(sigmoid(heads.center[i]) * constants.prior[i]);
  }
  const centerCell = argmax(centerValues, cells, 1, 0);
  const cy = Math.floor(centerCell / width);
  const cx = centerCell - cy * width;

  const keypointValues = new Float64Array(cells * PARTS);
  const keypointCells: number[] = [];
  const keypoints = new Float64Array(PARTS * 3);
  for (let k = 0; k < PARTS; k++) {
    const ry = round(cy + heads.regress[centerCell * 2 * PARTS + 2 * k]);
    const rx = round(cx + heads.regress[centerCell * 2 * PARTS + 2 * k + 1]);
    for (let j = 0; j < cells; j++) {
      const y = Math.floor(j / width);
      const x = j - y * width;
      const dy2 = round((y - ry) * (y - ry));
      const dx2 = round((x - rx) * (x - rx));
      const distance = round(Math.sqrt(round(dy2 + dx2)));
      keypointValues[j * PARTS + k] = round(
        sigmoid(heads.heatmap[j * PARTS + k]) / round(distance + constants.distanceBias),
      );
    }
    const cell = argmax(keypointValues, cells, PARTS, k);
    keypointCells.push(cell);
    const ky = Math.floor(cell / width);
    const kx = cell - ky * width;
    const oy = round(ky + heads.offset[cell * 2 * PARTS + 2 * k]);
    const ox = round(kx + heads.offset[cell * 2 * PARTS + 2 * k + 1]);
    keypoints[3 * k] = round(oy * constants.outputScale[0]);
    keypoints[3 * k + 1] = round(ox * constants.outputScale[1]);
    keypoints[3 * k + 2] = sigmoid(heads.heatmap[cell * PARTS + k]);
  }
  return { keypoints, centerCell, keypointCells, centerValues, keypointValues };
}
