/**
 * Random keypoint sequences for the tracking tests: people moving (drift, noise, sudden jumps),
 * keypoints going missing (low scores) and coming back, people appearing, disappearing and
 * returning, and irregular timestamps (jitter, repeats, a step back, gaps past `maxAge`). Every
 * value is a float32 (what a model's output tensor holds), so pose-detection's code reading a
 * tensor and ours reading numbers see the same values.
 *
 * @module
 */

import type { Rng } from "./random.ts";

const f = Math.fround;

/** A box as pose-detection makes it from a model's float32 corners. */
export interface SequenceBox {
  yMin: number;
  xMin: number;
  yMax: number;
  xMax: number;
  width: number;
  height: number;
}

/** One person in one frame: keypoints in fractions of the image. */
export interface SequencePose {
  score: number;
  keypoints: { x: number; y: number; score: number }[];
  box: SequenceBox;
}

/** One frame: its time and its people, most confident first. */
export interface SequenceFrame {
  timestampMs: number;
  poses: SequencePose[];
}

/**
 * Irregular frame times in ms: mostly ~33 ms apart with jitter, sometimes a repeat, a step back,
 * a short or a long gap (past a 1000 ms `maxAge`); fractional milliseconds included.
 *
 * @param rng Generator.
 * @param count Number of frames.
 * @param startMs The first time (0 exercises pose-detection's "no previous timestamp" case).
 * @returns The times.
 */
export function randomTimestamps(rng: Rng, count: number, startMs = 0): number[] {
  const out: number[] = [];
  let t = startMs;
  for (let i = 0; i < count; i++) {
    out.push(t);
    const u = rng();
    if (u < 0.05) continue; // a repeated time
    if (u < 0.08) t = Math.max(0, t - 10 - 20 * rng()); // a step back
    else if (u < 0.12) t += 1000 + 800 * rng(); // a long gap
    else if (u < 0.2) t += 1 + 5 * rng(); // a close pair
    else t += Math.round((33.3 + 8 * (rng() - 0.5)) * 1000) / 1000;
  }
  return out;
}

interface Person {
  cx: number;
  cy: number;
  vx: number;
  vy: number;
  size: number;
  template: { dx: number; dy: number; score: number }[];
  alive: boolean;
}

/**
 * A sequence of frames with up to `people` people.
 *
 * @param rng Generator.
 * @param options Frames, people, keypoints per person, and the chance per frame of a jump.
 * @returns The frames.
 */
export function randomPeopleSequence(
  rng: Rng,
  options: { frames: number; people: number; keypoints?: number; jumpChance?: number },
): SequenceFrame[] {
  const k = options.keypoints ?? 17;
  const people: Person[] = Array.from({ length: options.people }, () => ({
    cx: 0.1 + 0.8 * rng(),
    cy: 0.1 + 0.8 * rng(),
    vx: 0.02 * (rng() - 0.5),
    vy: 0.02 * (rng() - 0.5),
    size: 0.08 + 0.4 * rng(),
    template: Array.from({ length: k }, () => ({
      dx: rng() - 0.5,
      dy: rng() - 0.5,
      score: rng(),
    })),
    alive: rng() < 0.7,
  }));
  const times = randomTimestamps(rng, options.frames, rng() < 0.5 ? 0 : 1000 * rng());
  return times.map((timestampMs) => {
    const poses: SequencePose[] = [];
    for (const p of people) {
      if (rng() < 0.06) p.alive = !p.alive; // appears or disappears
      p.cx += p.vx;
      p.cy += p.vy;
      if (rng() < (options.jumpChance ?? 0.04)) {
        p.cx += 0.4 * (rng() - 0.5);
        p.cy += 0.4 * (rng() - 0.5);
      }
      if (!p.alive) continue;
      const keypoints = p.template.map((t) => {
        const u = rng();
        const score = u < 0.12
          ? 0.25 * rng() // missing
          : u < 0.14
          ? [0.2, 0.3][Math.floor(rng() * 2)] // at a threshold (as float32)
          : Math.min(1, Math.max(0, t.score + 0.2 * (rng() - 0.5)));
        return {
          y: f(p.cy + p.size * t.dy + 0.004 * p.size * (rng() - 0.5)),
          x: f(p.cx + p.size * t.dx + 0.004 * p.size * (rng() - 0.5)),
          score: f(score),
        };
      });
      const [yMin, xMin, yMax, xMax] = [
        f(Math.min(...keypoints.map((q) => q.y)) - 0.01),
        f(Math.min(...keypoints.map((q) => q.x)) - 0.01),
        f(Math.max(...keypoints.map((q) => q.y)) + 0.01),
        f(Math.max(...keypoints.map((q) => q.x)) + 0.01),
      ];
      poses.push({
        score: f(0.1 + 0.9 * rng()),
        keypoints,
        box: { yMin, xMin, yMax, xMax, width: xMax - xMin, height: yMax - yMin },
      });
    }
    poses.sort((a, b) => b.score - a.score);
    return { timestampMs, poses };
  });
}

/**
 * The MultiPose model output (`[1, n, 56]` flattened: 17 × (y, x, score), then yMin, xMin, yMax,
 * xMax, score per person) that holds these poses.
 *
 * @param poses One frame's poses.
 * @returns The values.
 */
export function multiPoseOutput(poses: readonly SequencePose[]): number[] {
  const out: number[] = [];
  for (const p of poses) {
    for (const q of p.keypoints) out.push(q.y, q.x, q.score);
    out.push(p.box.yMin, p.box.xMin, p.box.yMax, p.box.xMax, p.score);
  }
  return out;
}
