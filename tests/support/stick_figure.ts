/**
 * A parametrised stick figure for the example applications' tests: joint angles → the 17 COCO
 * keypoints of a person seen from the side, with Gaussian noise, unsure (low-score) keypoints and
 * missing frames, rendered at any scale and offset. Lengths are in torso lengths (hip centre to
 * shoulder centre = 1); image y points down.
 *
 * @module
 */

import type { DetectedPose, DetectorKeypoint } from "../../mod.ts";
import { COCO_KEYPOINTS } from "../../mod.ts";
import { between, type Rng } from "./random.ts";

/** Segment lengths in torso lengths. */
export const SEGMENTS = Object.freeze({ thigh: 0.85, shin: 0.85, upperArm: 0.6, forearm: 0.55 });

/**
 * One instant of the figure. Angles in degrees. A segment's direction is measured from the
 * body's "down" (0°) towards its front (+90°) in the body's frame, which is itself turned by
 * `tiltDeg` (the whole body falling: +90° lies face down, −90° face up).
 */
export interface FigureParams {
  /** Whole-body rotation about the anchor (0 upright). */
  readonly tiltDeg: number;
  /** Torso lean forward from the body's vertical. */
  readonly torsoLeanDeg: number;
  /** Thigh direction (hip → knee) from down towards the front: 0 standing, 90 sitting. */
  readonly thighDeg: number;
  /** Shin direction (knee → ankle) from down towards the front: negative when the knee is ahead. */
  readonly shinDeg: number;
  /** Upper-arm direction (shoulder → elbow) from down towards the front: 0 hanging, 180 up. */
  readonly upperArmDeg: number;
  /** Forearm direction (elbow → wrist), same convention. */
  readonly forearmDeg: number;
  /** Where the anchor is, in torso lengths (image axes). */
  readonly x: number;
  /** Where the anchor is, in torso lengths (image axes, down +). */
  readonly y: number;
  /** What `x, y` place: the ankles' centre (standing on the floor) or the hip centre. */
  readonly anchor: "ankles" | "hip";
}

/** An upright, standing figure with its ankles at (0, 0). */
export const STANDING: FigureParams = Object.freeze({
  tiltDeg: 0,
  torsoLeanDeg: 0,
  thighDeg: 0,
  shinDeg: 0,
  upperArmDeg: 5,
  forearmDeg: 10,
  x: 0,
  y: 0,
  anchor: "ankles",
});

/** The knee's interior angle (hip–knee–ankle) of `p`, in degrees. */
export function kneeAngleDeg(p: FigureParams): number {
  return 180 - Math.abs(p.thighDeg - p.shinDeg);
}

/** The interior angle hip–shoulder–wrist of `p` with a straight arm (`forearmDeg = upperArmDeg`). */
export function shoulderAngleDeg(p: FigureParams): number {
  return Math.abs(p.upperArmDeg + p.torsoLeanDeg);
}

type Vec = readonly [number, number];

/** The 17 noise-free keypoint positions of `p`, in torso lengths, COCO order. */
export function figureKeypoints(p: FigureParams): Vec[] {
  const rad = Math.PI / 180;
  const tilt = p.tiltDeg * rad;
  const up: Vec = [Math.sin(tilt), -Math.cos(tilt)];
  const front: Vec = [Math.cos(tilt), Math.sin(tilt)];
  /** The direction `deg` from the body's down towards its front. */
  const dir = (deg: number): Vec => {
    const a = deg * rad;
    return [
      -up[0] * Math.cos(a) + front[0] * Math.sin(a),
      -up[1] * Math.cos(a) + front[1] * Math.sin(a),
    ];
  };
  const add = (a: Vec, b: Vec, k = 1): Vec => [a[0] + k * b[0], a[1] + k * b[1]];
  const hip: Vec = [0, 0];
  const shoulder = add(hip, dir(180 - p.torsoLeanDeg));
  const knee = add(hip, dir(p.thighDeg), SEGMENTS.thigh);
  const ankle = add(knee, dir(p.shinDeg), SEGMENTS.shin);
  const elbow = add(shoulder, dir(p.upperArmDeg), SEGMENTS.upperArm);
  const wrist = add(elbow, dir(p.forearmDeg), SEGMENTS.forearm);
  const headUp = dir(180 - p.torsoLeanDeg);
  const neckTop = add(shoulder, headUp, 0.35);
  const nose = add(add(neckTop, headUp, 0.1), front, 0.12);
  const eye = add(add(neckTop, headUp, 0.15), front, 0.08);
  const ear = add(add(neckTop, headUp, 0.12), front, -0.05);
  // The far side (right) a little behind the near side (left), so the pairs do not coincide;
  // the same offset for a whole side keeps each side's angles those of the parameters.
  const side = 0.06;
  const l = (v: Vec): Vec => add(v, up, side * 0.2);
  const r = (v: Vec): Vec => add(add(v, up, -side * 0.2), front, -side);
  const points: Vec[] = [
    nose,
    l(eye),
    r(eye),
    l(ear),
    r(ear),
    l(shoulder),
    r(shoulder),
    l(elbow),
    r(elbow),
    l(wrist),
    r(wrist),
    l(hip),
    r(hip),
    l(knee),
    r(knee),
    l(ankle),
    r(ankle),
  ];
  const origin = p.anchor === "hip" ? add(hip, front, -side / 2) : add(ankle, front, -side / 2);
  return points.map((v) => [v[0] - origin[0] + p.x, v[1] - origin[1] + p.y]);
}

/** How a figure is rendered to keypoints. */
export interface Camera {
  /** Pixels per torso length. */
  readonly scale: number;
  /** Pixel offset of the figure's (0, 0). */
  readonly offsetX: number;
  /** Pixel offset of the figure's (0, 0). */
  readonly offsetY: number;
}

/**
 * A random camera: 40–400 px per torso length, anywhere in a 2000-px square around the origin.
 *
 * @param rng Random source.
 * @returns The camera.
 */
export function randomCamera(rng: Rng): Camera {
  return {
    scale: between(rng, 40, 400),
    offsetX: between(rng, -500, 1500),
    offsetY: between(rng, -500, 1500),
  };
}

/** Noise added to the keypoints. */
export interface Noise {
  /** Gaussian noise of each coordinate, in torso lengths. */
  readonly sigma: number;
  /** Chance that a keypoint is unsure: score below 0.2 and a position anywhere near the body. */
  readonly unsureKeypoint: number;
  /** Chance that a frame has no person at all. */
  readonly missingFrame: number;
  /** Keypoints always unsure (e.g. an occluded leg). */
  readonly occluded?: readonly string[];
}

/** No noise at all. */
export const NO_NOISE: Noise = Object.freeze({ sigma: 0, unsureKeypoint: 0, missingFrame: 0 });

/** The noise the tests use by default. */
export const TEST_NOISE: Noise = Object.freeze({
  sigma: 0.015,
  unsureKeypoint: 0.05,
  missingFrame: 0.03,
});

/** A standard normal draw (Box–Muller). */
function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/**
 * Renders `p` as a detector's pose: keypoints in pixels, scores in [0.6, 0.98] (unsure ones in
 * [0, 0.2) at a random place), or `undefined` for a missing frame.
 *
 * @param p The figure.
 * @param camera Scale and offset.
 * @param rng Random source (noise and scores).
 * @param noise What to add.
 * @returns The pose, or `undefined`.
 */
export function renderFigure(
  p: FigureParams,
  camera: Camera,
  rng: Rng,
  noise: Noise,
): DetectedPose | undefined {
  // Draw every random number whatever the noise, so one seed gives the same sequence of draws.
  const missing = rng() < noise.missingFrame;
  const points = figureKeypoints(p);
  const keypoints: DetectorKeypoint[] = points.map(([x, y], k) => {
    const name = COCO_KEYPOINTS[k];
    const nx = gaussian(rng) * noise.sigma, ny = gaussian(rng) * noise.sigma;
    const unsure = rng() < noise.unsureKeypoint || (noise.occluded?.includes(name) ?? false);
    const jx = (rng() - 0.5) * 4, jy = (rng() - 0.5) * 4, s = rng();
    const bx = unsure ? x + jx : x + nx, by = unsure ? y + jy : y + ny;
    return {
      name,
      x: camera.offsetX + camera.scale * bx,
      y: camera.offsetY + camera.scale * by,
      score: unsure ? 0.2 * s : 0.6 + 0.38 * s,
    };
  });
  if (missing) return undefined;
  return { score: 0.8, keypoints };
}

/** One frame of a rendered sequence. */
export interface Frame {
  /** Milliseconds. */
  readonly t: number;
  /** The pose, or `undefined` (missing frame). */
  readonly pose: DetectedPose | undefined;
  /** The parameters it was made from. */
  readonly params: FigureParams;
}

/**
 * Renders a motion at `fps` for `durationMs`.
 *
 * @param motion The figure at each time (ms).
 * @param durationMs Length of the sequence.
 * @param fps Frames per second.
 * @param camera Scale and offset.
 * @param rng Random source.
 * @param noise What to add.
 * @returns The frames, at times 0, 1000/fps, …
 */
export function renderSequence(
  motion: (tMs: number) => FigureParams,
  durationMs: number,
  fps: number,
  camera: Camera,
  rng: Rng,
  noise: Noise,
): Frame[] {
  const frames: Frame[] = [];
  for (let i = 0; (i * 1000) / fps <= durationMs; i++) {
    const t = (i * 1000) / fps;
    const params = motion(t);
    frames.push({ t, params, pose: renderFigure(params, camera, rng, noise) });
  }
  return frames;
}

/**
 * Renders a motion under random conditions: 15–30 frames per second, a {@linkcode randomCamera},
 * {@linkcode TEST_NOISE}.
 *
 * @param motion The figure at each time (ms).
 * @param durationMs Length of the sequence.
 * @param rng Random source (the frame rate, then the camera, then the noise).
 * @returns The frames.
 */
export function renderAnywhere(
  motion: (tMs: number) => FigureParams,
  durationMs: number,
  rng: Rng,
): Frame[] {
  return renderSequence(
    motion,
    durationMs,
    between(rng, 15, 30),
    randomCamera(rng),
    rng,
    TEST_NOISE,
  );
}

/** `a + (b − a)·w` for every numeric field of two figures (the anchor from `a`). */
export function blend(a: FigureParams, b: FigureParams, w: number): FigureParams {
  const mix = (u: number, v: number) => u + (v - u) * w;
  return {
    tiltDeg: mix(a.tiltDeg, b.tiltDeg),
    torsoLeanDeg: mix(a.torsoLeanDeg, b.torsoLeanDeg),
    thighDeg: mix(a.thighDeg, b.thighDeg),
    shinDeg: mix(a.shinDeg, b.shinDeg),
    upperArmDeg: mix(a.upperArmDeg, b.upperArmDeg),
    forearmDeg: mix(a.forearmDeg, b.forearmDeg),
    x: mix(a.x, b.x),
    y: mix(a.y, b.y),
    anchor: a.anchor,
  };
}

/** 0 before `start`, 1 after `start + duration`, a smooth (cosine) ramp between. */
export function ramp(t: number, start: number, duration: number): number {
  if (t <= start) return 0;
  if (t >= start + duration) return 1;
  return (1 - Math.cos((Math.PI * (t - start)) / duration)) / 2;
}
