/**
 * Draws detected poses onto an RGBA image: the skeleton's bones as thick anti-aliased lines and
 * the keypoints as filled discs, one colour per pose. Pure TypeScript rasterisation, no
 * dependencies.
 *
 * Coordinates are PoseNet's: the centre of pixel column `i` is at `x = i` (and likewise for rows),
 * so a keypoint at `(10, 20)` is drawn centred on pixel `(10, 20)`. Everything is clipped to the
 * image; keypoints off the image, or with non-finite coordinates, never throw.
 *
 * @example Draw the poses of a photo and save a PNG
 * ```ts
 * import { load } from "../mod.ts";
 * import { drawPoses } from "./draw_overlay.ts";
 * import { encodePng, readImageFile } from "./read_image.ts";
 *
 * const image = await readImageFile("tests/fixtures/photos/group4_standing.jpg");
 * const model = await load();
 * const poses = await model.estimateMultiplePoses(image);
 * model.dispose();
 * const rgba = drawPoses(image, poses, { minScore: 0.5 });
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * await Deno.writeFile(path, encodePng(rgba, image.width, image.height));
 * ```
 *
 * @module
 */

import { isPositiveInteger } from "../_checks.ts";
import { describe } from "../_describe.ts";
import { InvalidInputError } from "../errors.ts";
import { type Keypoint, PART_NAMES, type Pose, SKELETON } from "../decode/keypoints.ts";

/** An RGB colour, each channel 0–255. */
export type Rgb = readonly [number, number, number];

/**
 * The pose colours, in order: pose `i` is drawn in `POSE_COLORS[i % 8]`. Eight saturated colours
 * chosen to be told apart easily (red, green, blue, orange, purple, cyan, magenta, yellow).
 */
export const POSE_COLORS: readonly Rgb[] = Object.freeze([
  Object.freeze([230, 25, 75] as const),
  Object.freeze([60, 180, 75] as const),
  Object.freeze([67, 99, 216] as const),
  Object.freeze([245, 130, 49] as const),
  Object.freeze([145, 30, 180] as const),
  Object.freeze([66, 212, 244] as const),
  Object.freeze([240, 50, 230] as const),
  Object.freeze([255, 225, 25] as const),
]);

/** The dark colour drawn around bones and keypoints so they stand out on any background. */
export const OUTLINE_COLOR: Rgb = Object.freeze([16, 16, 16] as const);

/**
 * Default least keypoint score to draw: 0.5, as TF.js PoseNet's demo (`minPartConfidence`) and
 * its `drawKeypoints` / `drawSkeleton` helpers use. Below it PoseNet's keypoints are mostly
 * guesses (occluded or out-of-frame parts).
 */
export const DEFAULT_MIN_SCORE = 0.5;

/** An RGBA image to draw on (not modified). */
export interface OverlayImage {
  /** `width * height * 4` bytes: R, G, B, A per pixel, row-major, top row first. */
  readonly data: Uint8Array | Uint8ClampedArray;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

/** Options of {@linkcode drawPoses}. */
export interface DrawPosesOptions {
  /**
   * Least keypoint score to draw, in [0, 1]. A keypoint is drawn when its score is ≥ `minScore`,
   * a bone when both its keypoints' scores are. Default {@linkcode DEFAULT_MIN_SCORE} (0.5).
   */
  readonly minScore?: number;
  /**
   * Bone width in pixels. Default `max(2, round(min(width, height) / 200))`, so lines stay
   * visible on large photos.
   */
  readonly lineWidth?: number;
  /** Keypoint disc radius in pixels (outline included). Default `max(4, round(1.5 * lineWidth))`. */
  readonly keypointRadius?: number;
  /**
   * The colour of each pose, by its index in `poses` (e.g. by track id); default
   * `POSE_COLORS[i % 8]`. A pose past the end of the list gets its default colour.
   */
  readonly colors?: readonly Rgb[];
}

/** The default bone width for an image size: `max(2, round(min(width, height) / 200))`. */
export function defaultLineWidth(width: number, height: number): number {
  return Math.max(2, Math.round(Math.min(width, height) / 200));
}

function checkPositive(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new InvalidInputError(
      `drawPoses: ${name} must be a positive number, got ${describe(value)}`,
    );
  }
  return value;
}

/**
 * Draws poses onto a copy of an RGBA image.
 *
 * For each pose, in its own colour (`options.colors`, else from {@linkcode POSE_COLORS}): the bones of
 * {@linkcode SKELETON} (PoseNet's `connectedPartNames`) whose two keypoints both score ≥
 * `minScore`, as anti-aliased lines with a dark border (`max(1.5, lineWidth / 3)` px), then a filled disc with a dark
 * outline at every keypoint scoring ≥ `minScore`. Later poses are drawn over earlier ones. Drawn
 * pixels become opaque.
 *
 * Keypoints are looked up by part name (falling back to their index in {@linkcode PART_NAMES}
 * order); missing keypoints and ones with non-finite coordinates or scores are skipped.
 *
 * @param image The RGBA image; it is not modified.
 * @param poses The poses, with positions in the image's pixel coordinates.
 * @param options Least score to draw, line width and keypoint radius.
 * @returns A new `width * height * 4` RGBA buffer with the poses drawn.
 * @throws {InvalidInputError} When the image size or data length is wrong, or an option is out of
 *   range.
 *
 * @example
 * ```ts
 * import { drawPoses } from "./draw_overlay.ts";
 *
 * const poses = [{
 *   score: 1,
 *   keypoints: [
 *     { part: "leftShoulder", score: 0.9, position: { x: 20, y: 20 } },
 *     { part: "leftElbow", score: 0.9, position: { x: 40, y: 44 } },
 *   ],
 * }];
 * const rgba = drawPoses({ data: new Uint8Array(64 * 64 * 4), width: 64, height: 64 }, poses);
 * console.log(rgba[(32 * 64 + 30) * 4 + 3]); // 255: the bone is drawn opaque
 * ```
 */
export function drawPoses(
  image: OverlayImage,
  poses: readonly Pose[],
  options: DrawPosesOptions = {},
): Uint8Array {
  const { width, height, data } = image ?? ({} as OverlayImage);
  if (!isPositiveInteger(width) || !isPositiveInteger(height)) {
    throw new InvalidInputError(
      `drawPoses: image size must be positive integers, got ${describe(width)}x${describe(height)}`,
    );
  }
  if (
    !(data instanceof Uint8Array || data instanceof Uint8ClampedArray) ||
    data.length !== width * height * 4
  ) {
    throw new InvalidInputError(
      `drawPoses: expected ${width * height * 4} RGBA bytes for ${width}x${height}, got ${
        (data as { length?: unknown } | undefined)?.length
      }`,
    );
  }
  if (!Array.isArray(poses)) {
    throw new InvalidInputError(`drawPoses: poses must be an array, got ${describe(poses)}`);
  }
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  if (typeof minScore !== "number" || !(minScore >= 0 && minScore <= 1)) {
    throw new InvalidInputError(
      `drawPoses: minScore must be a number in [0, 1], got ${describe(minScore)}`,
    );
  }
  const lineWidth = checkPositive(
    options.lineWidth ?? defaultLineWidth(width, height),
    "lineWidth",
  );
  const radius = checkPositive(
    options.keypointRadius ?? Math.max(4, Math.round(1.5 * lineWidth)),
    "keypointRadius",
  );
  const border = Math.max(1.5, lineWidth / 3);

  const out = new Uint8Array(width * height * 4);
  out.set(data);
  const canvas: Canvas = { data: out, width, height };

  poses.forEach((pose, poseIndex) => {
    const color = options.colors?.[poseIndex] ?? POSE_COLORS[poseIndex % POSE_COLORS.length];
    const points = visibleKeypoints(pose, minScore);
    const bones: Array<readonly [Point, Point]> = [];
    for (const [a, b] of SKELETON) {
      const pa = points[a], pb = points[b];
      if (pa && pb) bones.push([pa, pb]);
    }
    for (const [pa, pb] of bones) {
      fillCapsule(canvas, pa, pb, lineWidth / 2 + border, OUTLINE_COLOR);
    }
    for (const [pa, pb] of bones) fillCapsule(canvas, pa, pb, lineWidth / 2, color);
    for (const p of points) {
      if (!p) continue;
      fillCapsule(canvas, p, p, radius, OUTLINE_COLOR);
      fillCapsule(canvas, p, p, Math.max(radius - border, radius / 2), color);
    }
  });
  return out;
}

interface Point {
  readonly x: number;
  readonly y: number;
}

interface Canvas {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** The keypoints to draw, indexed by part id; `undefined` where a keypoint is not drawn. */
function visibleKeypoints(pose: Pose, minScore: number): Array<Point | undefined> {
  const keypoints: readonly Keypoint[] = Array.isArray(pose?.keypoints) ? pose.keypoints : [];
  return PART_NAMES.map((name, index) => {
    const kp = keypoints.find((k) => k?.part === name) ?? keypoints[index];
    if (!kp || typeof kp.score !== "number" || !(kp.score >= minScore)) return undefined;
    const x = kp.position?.x, y = kp.position?.y;
    if (typeof x !== "number" || typeof y !== "number") return undefined;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return undefined;
    return { x, y };
  });
}

/**
 * Fills the set of points within `r` of segment a–b (a disc when a = b), anti-aliased: a pixel
 * centre at distance d gets coverage clamp(r + 0.5 - d, 0, 1) and is blended with `color`.
 * Rows are scanned only over the x range the capsule can reach, clipped to the image.
 */
function fillCapsule(canvas: Canvas, a: Point, b: Point, r: number, color: Rgb): void {
  const { data, width, height } = canvas;
  const reach = r + 0.5;
  const y0 = Math.max(0, Math.ceil(Math.min(a.y, b.y) - reach));
  const y1 = Math.min(height - 1, Math.floor(Math.max(a.y, b.y) + reach));
  const bx0 = Math.max(0, Math.ceil(Math.min(a.x, b.x) - reach));
  const bx1 = Math.min(width - 1, Math.floor(Math.max(a.x, b.x) + reach));
  if (y0 > y1 || bx0 > bx1) return;
  const dx = b.x - a.x, dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  const len = Math.sqrt(len2);
  // Any point within `reach` of the segment's line lies within `reach * len / |dy|` of it along
  // a row, which bounds each row's scan when the segment is not (nearly) horizontal.
  const rowHalf = Math.abs(dy) > 1e-9 ? (reach * len) / Math.abs(dy) : Infinity;
  const [cr, cg, cb] = color;
  for (let py = y0; py <= y1; py++) {
    let x0 = bx0, x1 = bx1;
    if (rowHalf !== Infinity) {
      const xc = a.x + ((py - a.y) * dx) / dy;
      x0 = Math.max(x0, Math.ceil(xc - rowHalf));
      x1 = Math.min(x1, Math.floor(xc + rowHalf));
    }
    for (let px = x0; px <= x1; px++) {
      let t = len2 > 0 ? ((px - a.x) * dx + (py - a.y) * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = px - (a.x + t * dx), ey = py - (a.y + t * dy);
      const coverage = reach - Math.sqrt(ex * ex + ey * ey);
      if (coverage <= 0) continue;
      const alpha = coverage >= 1 ? 1 : coverage;
      const i = (py * width + px) * 4;
      if (alpha === 1) {
        data[i] = cr;
        data[i + 1] = cg;
        data[i + 2] = cb;
        data[i + 3] = 255;
      } else {
        data[i] = Math.round(data[i] + (cr - data[i]) * alpha);
        data[i + 1] = Math.round(data[i + 1] + (cg - data[i + 1]) * alpha);
        data[i + 2] = Math.round(data[i + 2] + (cb - data[i + 2]) * alpha);
        data[i + 3] = Math.round(data[i + 3] + (255 - data[i + 3]) * alpha);
      }
    }
  }
}
