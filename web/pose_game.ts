/**
 * The pose-matching game of the demo page, with no DOM in it: how alike two poses are
 * (cosine similarity of the confident keypoints, each pose centred and scaled to unit size, so a
 * player anywhere in the frame and at any distance can match), the target poses, and the levels
 * against a clock.
 *
 * @module
 */

/** A keypoint as the detectors give it (`DetectorKeypoint`): image pixels and a score. */
export interface GameKeypoint {
  /** Column, pixels. */
  readonly x: number;
  /** Row, pixels. */
  readonly y: number;
  /** Confidence in [0, 1]. */
  readonly score: number;
}

/** A pose: 17 keypoints in COCO order. */
export interface GamePose {
  /** The keypoints. */
  readonly keypoints: readonly GameKeypoint[];
}

/** Keypoints below this score count as not seen. */
export const MIN_KEYPOINT_SCORE = 0.3;

/**
 * How alike `player` is to `target`, in [0, 1]: over the keypoints seen in both (score at least
 * `minScore`), each pose's coordinates are one vector, centred on the mean of those keypoints and
 * scaled to unit length; the similarity is 1 − the distance between the two unit vectors
 * (√(2 − 2·cos), Move Mirror's cosine distance; clamped at 0), times the share of the target's
 * seen keypoints the player shows. The distance spreads what the cosine crowds near 1: two
 * different standing poses have a cosine near 0.95, but a similarity near 0.7. Fewer than 3
 * common keypoints score 0.
 *
 * @param target The pose to match.
 * @param player The player's pose.
 * @param minScore Least keypoint score that counts as seen.
 * @returns The similarity; 1 for the same pose at any position and scale.
 *
 * @example
 * ```ts
 * import { poseSimilarity } from "./pose_game.ts";
 * const a = { keypoints: [{ x: 0, y: 0, score: 1 }, { x: 10, y: 0, score: 1 }, { x: 0, y: 20, score: 1 }] };
 * const b = { keypoints: a.keypoints.map((k) => ({ ...k, x: 3 * k.x + 50, y: 3 * k.y })) };
 * console.log(poseSimilarity(a, b).toFixed(3)); // 1.000
 * ```
 */
export function poseSimilarity(
  target: GamePose,
  player: GamePose,
  minScore: number = MIN_KEYPOINT_SCORE,
): number {
  const n = Math.min(target.keypoints.length, player.keypoints.length);
  const common: number[] = [];
  let targetSeen = 0;
  for (let i = 0; i < n; i++) {
    const t = target.keypoints[i];
    if (!(t.score >= minScore)) continue;
    targetSeen++;
    if (player.keypoints[i].score >= minScore) common.push(i);
  }
  if (common.length < 3) return 0;
  const a = centredUnit(target.keypoints, common);
  const b = centredUnit(player.keypoints, common);
  if (a === undefined || b === undefined) return 0;
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  const distance = Math.sqrt(Math.max(0, 2 - 2 * dot));
  return Math.max(0, 1 - distance) * (common.length / targetSeen);
}

/** The keypoints `indices` of a pose as one vector, centred and scaled to unit norm. */
function centredUnit(
  keypoints: readonly GameKeypoint[],
  indices: readonly number[],
): Float64Array | undefined {
  let mx = 0;
  let my = 0;
  for (const i of indices) {
    mx += keypoints[i].x;
    my += keypoints[i].y;
  }
  mx /= indices.length;
  my /= indices.length;
  const v = new Float64Array(indices.length * 2);
  let norm = 0;
  indices.forEach((k, i) => {
    v[2 * i] = keypoints[k].x - mx;
    v[2 * i + 1] = keypoints[k].y - my;
    norm += v[2 * i] ** 2 + v[2 * i + 1] ** 2;
  });
  norm = Math.sqrt(norm);
  if (!(norm > 0) || !Number.isFinite(norm)) return undefined;
  for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

/**
 * A stick figure as a pose: the 17 COCO keypoints of a standing person 2 units tall, arms at the
 * given angles from hanging down (degrees, outwards), all keypoints fully confident.
 *
 * @param leftArm The person's left arm (image right), degrees from hanging down.
 * @param rightArm The person's right arm (image left).
 * @param squat How far the hips drop, in units (0: standing).
 * @returns The pose, in units with y down, centred near 0.
 *
 * @example
 * ```ts
 * import { stickFigure } from "./pose_game.ts";
 * const tPose = stickFigure(90, 90);
 * console.log(tPose.keypoints.length, tPose.keypoints[9].y.toFixed(2)); // 17 -0.55
 * ```
 */
export function stickFigure(leftArm: number, rightArm: number, squat = 0): GamePose {
  const point = (x: number, y: number): GameKeypoint => ({ x, y, score: 1 });
  const arm = (side: 1 | -1, degrees: number, length: number) => {
    const r = (degrees * Math.PI) / 180;
    return point(side * (0.25 + length * Math.sin(r)), -0.55 + length * Math.cos(r));
  };
  const hipY = 0.1 + squat;
  const kneeX = 0.14 + squat * 0.6;
  return {
    keypoints: [
      point(0, -0.9), // nose
      point(0.05, -0.95), // left eye
      point(-0.05, -0.95), // right eye
      point(0.1, -0.92), // left ear
      point(-0.1, -0.92), // right ear
      point(0.25, -0.55), // left shoulder
      point(-0.25, -0.55), // right shoulder
      arm(1, leftArm, 0.35), // left elbow
      arm(-1, rightArm, 0.35), // right elbow
      arm(1, leftArm, 0.7), // left wrist
      arm(-1, rightArm, 0.7), // right wrist
      point(0.15, hipY), // left hip
      point(-0.15, hipY), // right hip
      point(kneeX, 0.55 + squat * 0.5), // left knee
      point(-kneeX, 0.55 + squat * 0.5), // right knee
      point(0.14, 1.0), // left ankle
      point(-0.14, 1.0), // right ankle
    ],
  };
}

/** One level of the game: a target pose, how alike the player must be, and for how long. */
export interface GameLevel {
  /** What the target is, shown to the player. */
  readonly name: string;
  /** The pose to match. */
  readonly target: GamePose;
  /** Least {@linkcode poseSimilarity} that counts as a match. */
  readonly threshold: number;
  /** Seconds the player has. */
  readonly seconds: number;
}

/**
 * The levels: easier poses with more time first, then stricter and faster. Each threshold is
 * above every other level's target's similarity to this one (the most alike pair, hands up and
 * the Y, is 0.80), so no level is passed with another level's pose (`pose_game_test.ts`).
 *
 * @example
 * ```ts
 * import { GAME_LEVELS } from "./pose_game.ts";
 * console.log(GAME_LEVELS.map((l) => l.name).join(", "));
 * ```
 */
export const GAME_LEVELS: readonly GameLevel[] = Object.freeze([
  { name: "Arms down", target: stickFigure(10, 10), threshold: 0.78, seconds: 20 },
  { name: "T-pose", target: stickFigure(90, 90), threshold: 0.8, seconds: 15 },
  { name: "Hands up", target: stickFigure(170, 170), threshold: 0.84, seconds: 12 },
  { name: "Left arm up", target: stickFigure(165, 15), threshold: 0.82, seconds: 10 },
  { name: "Right arm out", target: stickFigure(15, 90), threshold: 0.82, seconds: 8 },
  { name: "Y: arms up and out", target: stickFigure(135, 135), threshold: 0.86, seconds: 8 },
]);

/** What the game shows after a frame. */
export interface GameState {
  /** Index of the current level in the game's levels (its length once all are done). */
  readonly level: number;
  /** Seconds left on the clock of this level. */
  readonly secondsLeft: number;
  /** The last frame's similarity to the target. */
  readonly similarity: number;
  /** Points so far: per level passed, 100 plus 10 per second left. */
  readonly points: number;
  /** Whether the game is over: every level passed, or the clock ran out. */
  readonly over: boolean;
  /** Whether it ended with every level passed. */
  readonly won: boolean;
}

/**
 * The game's rules: levels against a clock. Feed it the player's pose on every frame with the
 * frame's time; a level is passed when the similarity reaches its threshold before its clock runs
 * out, which starts the next level's clock.
 *
 * @example
 * ```ts
 * import { PoseGame, stickFigure } from "./pose_game.ts";
 * const game = new PoseGame([{ name: "T", target: stickFigure(90, 90), threshold: 0.8, seconds: 5 }]);
 * game.start(0);
 * console.log(game.update(stickFigure(90, 90), 1000).won); // true
 * ```
 */
export class PoseGame {
  readonly levels: readonly GameLevel[];
  #level = 0;
  #levelStart = 0;
  #points = 0;
  #similarity = 0;
  #over = false;

  /** @param levels The levels, in order (default {@linkcode GAME_LEVELS}). */
  constructor(levels: readonly GameLevel[] = GAME_LEVELS) {
    if (levels.length === 0) throw new RangeError("PoseGame needs at least one level");
    this.levels = levels;
  }

  /** Starts (or restarts) at the first level; `nowMs` is the clock (e.g. `performance.now()`). */
  start(nowMs: number): GameState {
    this.#level = 0;
    this.#levelStart = nowMs;
    this.#points = 0;
    this.#similarity = 0;
    this.#over = false;
    return this.state(nowMs);
  }

  /** The current level, or `undefined` once the game is over. */
  get current(): GameLevel | undefined {
    return this.#over ? undefined : this.levels[this.#level];
  }

  /** Scores one frame's pose (or none: nobody seen) at time `nowMs`. */
  update(pose: GamePose | undefined, nowMs: number): GameState {
    const level = this.current;
    if (level === undefined) return this.state(nowMs);
    const left = level.seconds - (nowMs - this.#levelStart) / 1000;
    this.#similarity = pose ? poseSimilarity(level.target, pose) : 0;
    if (left <= 0) {
      this.#over = true;
    } else if (this.#similarity >= level.threshold) {
      this.#points += 100 + Math.round(10 * left);
      this.#level++;
      this.#levelStart = nowMs;
      if (this.#level === this.levels.length) this.#over = true;
    }
    return this.state(nowMs);
  }

  /** The state at time `nowMs`. */
  state(nowMs: number): GameState {
    const level = this.levels[this.#level];
    const secondsLeft = this.#over || level === undefined
      ? 0
      : Math.max(0, level.seconds - (nowMs - this.#levelStart) / 1000);
    return {
      level: this.#level,
      secondsLeft,
      similarity: this.#similarity,
      points: this.#points,
      over: this.#over,
      won: this.#over && this.#level === this.levels.length,
    };
  }
}
