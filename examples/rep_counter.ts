/**
 * Example application: a repetition counter for squats or arm raises, from joint angles with
 * hysteresis. Built only on the package's public surface (`../mod.ts`); copy it (with
 * `_keypoints.ts`, and `_pose_jsonl.ts` for the command line) into your own program.
 *
 * ```sh
 * deno run --allow-read examples/rep_counter.ts poses.jsonl                      # squats
 * deno run --allow-read examples/rep_counter.ts poses.jsonl --exercise armRaise
 * ```
 *
 * The JSONL is what the `pose video` command writes: one line per frame,
 * `{"frame", "timestampMs", "poses": [{"id"?, "score", "keypoints": [{"name","x","y","score"}]}]}`.
 *
 * @module
 */

import { type DetectedPose, InvalidInputError } from "../mod.ts";
import {
  confidentKeypoint,
  jointAngleDeg,
  requireLaterTimestamp,
  requireNumberIn,
  requirePoseOrNothing,
} from "./_keypoints.ts";
import { type ExampleIo, type JsonlApp, numberFlag, processIo, runJsonlApp } from "./_jsonl_app.ts";

/** The exercises {@linkcode RepCounter} counts. */
export type Exercise = "squat" | "armRaise";

/**
 * Where the body is: `"up"` (squat: standing, knee angle above the high threshold; arm raise:
 * arms raised, shoulder angle above it), `"down"` (below the low threshold), or `"unknown"`
 * before the first confident reading beyond either threshold.
 */
export type RepPhase = "unknown" | "up" | "down";

/** Options of {@linkcode RepCounter}. */
export interface RepCounterOptions {
  /** `"squat"`: the hip–knee–ankle angle; `"armRaise"`: the hip–shoulder–wrist angle. */
  readonly exercise: Exercise;
  /** Phase `"down"` below this angle (degrees; squat 100, arm raise 45). */
  readonly lowAngleDeg?: number;
  /** Phase `"up"` above this angle (degrees; squat 160, arm raise 140). */
  readonly highAngleDeg?: number;
  /** Keypoints scoring below this are ignored (default 0.3). */
  readonly minKeypointScore?: number;
  /**
   * A phase changes only after this many consecutive confident frames beyond its threshold
   * (default 2), so that one mis-detected frame cannot make a rep. Frames without a reading
   * neither count nor break the run.
   */
  readonly confirmFrames?: number;
}

/** What {@linkcode RepCounter.update} returns. */
export interface RepStatus {
  /** Repetitions completed so far. */
  readonly reps: number;
  /** The phase after this frame. */
  readonly phase: RepPhase;
  /** This frame's joint angle in degrees (mean of the confident sides), if it had one. */
  readonly angle?: number;
  /** True on the frame that completed a repetition. */
  readonly repCompleted: boolean;
}

/** The two sides' joints of an exercise: [end, vertex, end, fallback end]. */
const JOINTS: Readonly<Record<Exercise, readonly (readonly string[])[]>> = {
  squat: [
    ["left_hip", "left_knee", "left_ankle"],
    ["right_hip", "right_knee", "right_ankle"],
  ],
  armRaise: [
    ["left_hip", "left_shoulder", "left_wrist", "left_elbow"],
    ["right_hip", "right_shoulder", "right_wrist", "right_elbow"],
  ],
};

/** Default thresholds (degrees) per exercise. */
const DEFAULT_ANGLES: Readonly<Record<Exercise, { low: number; high: number }>> = {
  squat: { low: 100, high: 160 },
  armRaise: { low: 45, high: 140 },
};

/** The phase a repetition starts and ends in: standing for squats, arms down for raises. */
const REST_PHASE: Readonly<Record<Exercise, "up" | "down">> = { squat: "up", armRaise: "down" };

/**
 * Counts repetitions from a person's poses, one video frame at a time.
 *
 * Each frame's angle is the mean over the sides whose three keypoints are confident (squat:
 * hip–knee–ankle; arm raise: hip–shoulder–wrist, or hip–shoulder–elbow where the wrist is
 * unsure). Hysteresis: the phase becomes `"down"` below `lowAngleDeg` and `"up"` above
 * `highAngleDeg` (each confirmed over `confirmFrames` frames) and stays as it is in between, so
 * an angle jittering around one threshold changes nothing. A repetition is one full cycle from
 * the rest phase (squat: up; arm raise: down) to the other and back, counted on the return.
 * Frames without a person or without a confident side keep the state as it is.
 *
 * @example
 * ```ts
 * import { RepCounter } from "./rep_counter.ts";
 *
 * // A side view: hip above the knee above the ankle, the knee bent to `kneeDeg`.
 * function pose(kneeDeg: number) {
 *   const a = ((180 - kneeDeg) * Math.PI) / 180;
 *   const keypoints = ["left", "right"].flatMap((side) => [
 *     { name: `${side}_hip`, x: 100, y: 100, score: 0.9 },
 *     { name: `${side}_knee`, x: 100, y: 200, score: 0.9 },
 *     { name: `${side}_ankle`, x: 100 - 100 * Math.sin(a), y: 200 + 100 * Math.cos(a), score: 0.9 },
 *   ]);
 *   return { score: 0.9, keypoints };
 * }
 * const counter = new RepCounter({ exercise: "squat" });
 * let t = 0;
 * for (const knee of [175, 175, 90, 85, 90, 170, 175, 80, 80, 176, 176]) {
 *   const status = counter.update(pose(knee), (t += 100));
 *   if (status.repCompleted) console.log(`rep ${status.reps} at ${t} ms`);
 * }
 * // rep 1 at 700 ms
 * // rep 2 at 1100 ms
 * ```
 */
export class RepCounter {
  /** The exercise counted. */
  readonly exercise: Exercise;
  /** Phase `"down"` below this angle (degrees). */
  readonly lowAngleDeg: number;
  /** Phase `"up"` above this angle (degrees). */
  readonly highAngleDeg: number;
  /** Keypoints scoring below this are ignored. */
  readonly minKeypointScore: number;
  /** Consecutive frames beyond a threshold that change the phase. */
  readonly confirmFrames: number;
  #reps = 0;
  #phase: RepPhase = "unknown";
  #cycleStarted = false;
  #pending: { phase: "up" | "down"; frames: number } | undefined;
  #lastTimestampMs: number | undefined;

  /**
   * Makes a counter.
   *
   * @param options The exercise and, optionally, thresholds and gating.
   * @throws {InvalidInputError} For an unknown exercise or thresholds out of order or range.
   */
  constructor(options: RepCounterOptions) {
    const exercise = options?.exercise;
    if (exercise !== "squat" && exercise !== "armRaise") {
      throw new InvalidInputError(
        `exercise must be "squat" or "armRaise", got ${JSON.stringify(exercise) ?? exercise}`,
      );
    }
    this.exercise = exercise;
    const defaults = DEFAULT_ANGLES[exercise];
    this.lowAngleDeg = requireNumberIn("lowAngleDeg", options.lowAngleDeg ?? defaults.low, 0, 180);
    this.highAngleDeg = requireNumberIn(
      "highAngleDeg",
      options.highAngleDeg ?? defaults.high,
      0,
      180,
    );
    if (!(this.lowAngleDeg < this.highAngleDeg)) {
      throw new InvalidInputError(
        `lowAngleDeg (${this.lowAngleDeg}) must be below highAngleDeg (${this.highAngleDeg})`,
      );
    }
    this.minKeypointScore = requireNumberIn(
      "minKeypointScore",
      options.minKeypointScore ?? 0.3,
      0,
      1,
    );
    const confirm = options.confirmFrames ?? 2;
    if (!Number.isSafeInteger(confirm) || confirm < 1) {
      throw new InvalidInputError(`confirmFrames must be a positive integer, got ${confirm}`);
    }
    this.confirmFrames = confirm;
  }

  /**
   * This pose's joint angle: the mean over the confident sides.
   *
   * @param pose A detector's pose.
   * @returns Degrees in [0, 180], or `undefined` when no side is confident.
   */
  angleOf(pose: DetectedPose): number | undefined {
    let sum = 0, sides = 0;
    for (const [aName, vName, bName, fallback] of JOINTS[this.exercise]) {
      const a = confidentKeypoint(pose, aName, this.minKeypointScore);
      const v = confidentKeypoint(pose, vName, this.minKeypointScore);
      const b = confidentKeypoint(pose, bName, this.minKeypointScore) ??
        (fallback === undefined
          ? undefined
          : confidentKeypoint(pose, fallback, this.minKeypointScore));
      if (a === undefined || v === undefined || b === undefined) continue;
      const angle = jointAngleDeg(a, v, b);
      if (Number.isNaN(angle)) continue;
      sum += angle;
      sides++;
    }
    return sides === 0 ? undefined : sum / sides;
  }

  /**
   * Takes one video frame.
   *
   * @param pose The person in this frame, or `undefined` when none was found.
   * @param timestampMs The frame's time in milliseconds, increasing from frame to frame.
   * @returns The count, the phase and this frame's angle.
   * @throws {InvalidInputError} For a timestamp not after the previous one, or a non-pose.
   */
  update(pose: DetectedPose | undefined, timestampMs: number): RepStatus {
    this.#lastTimestampMs = requireLaterTimestamp(timestampMs, this.#lastTimestampMs);
    const checked = requirePoseOrNothing(pose);
    const angle = checked === undefined ? undefined : this.angleOf(checked);
    let repCompleted = false;
    if (angle !== undefined) {
      const beyond = angle < this.lowAngleDeg
        ? "down"
        : angle > this.highAngleDeg
        ? "up"
        : undefined;
      if (beyond === undefined || beyond === this.#phase) {
        this.#pending = undefined;
      } else {
        const frames = this.#pending?.phase === beyond ? this.#pending.frames + 1 : 1;
        this.#pending = { phase: beyond, frames };
        if (frames >= this.confirmFrames) repCompleted = this.#enter(beyond);
      }
    }
    return { reps: this.#reps, phase: this.#phase, angle, repCompleted };
  }

  /** Moves to `phase`; returns whether that completed a repetition. */
  #enter(phase: "up" | "down"): boolean {
    const rest = REST_PHASE[this.exercise];
    const from = this.#phase;
    this.#phase = phase;
    this.#pending = undefined;
    if (phase !== rest) {
      this.#cycleStarted = from === rest;
      return false;
    }
    if (!this.#cycleStarted) return false;
    this.#cycleStarted = false;
    this.#reps++;
    return true;
  }

  /** Repetitions completed so far. */
  get reps(): number {
    return this.#reps;
  }

  /** Forgets the count, the phase and the last timestamp. */
  reset(): void {
    this.#reps = 0;
    this.#phase = "unknown";
    this.#cycleStarted = false;
    this.#pending = undefined;
    this.#lastTimestampMs = undefined;
  }
}

const USAGE = `usage: deno run --allow-read examples/rep_counter.ts POSES.jsonl [options]

Counts squats or arm raises in the poses of a video (the JSONL that \`pose video\` writes),
one counter per tracked person (poses without a track id: the best-scoring pose of each frame).

  --exercise squat|armRaise   what to count (default squat)
  --low DEG                   phase "down" below this angle (squat 100, armRaise 45)
  --high DEG                  phase "up" above this angle (squat 160, armRaise 140)
  --min-score S               keypoints scoring below S are ignored (default 0.3)
  -h, --help                  this text
`;

/** The command line as a {@linkcode JsonlApp}: a counter per person, a line per rep. */
const REP_COUNTER_APP: JsonlApp<RepCounter> = {
  command: "rep_counter",
  usage: USAGE,
  flags: ["exercise", "low", "high", "min-score"],
  make(flags) {
    const options: RepCounterOptions = {
      exercise: (flags.exercise ?? "squat") as Exercise,
      lowAngleDeg: numberFlag(flags, "low"),
      highAngleDeg: numberFlag(flags, "high"),
      minKeypointScore: numberFlag(flags, "min-score"),
    };
    new RepCounter(options); // checks the options before the file is read
    return () => new RepCounter(options);
  },
  step(counter, pose, timestampMs, who) {
    const { repCompleted, reps, angle } = counter.update(pose, timestampMs);
    return repCompleted ? `${who}: rep ${reps} (angle ${Math.round(angle ?? NaN)}°)` : undefined;
  },
  summary(counters) {
    return [...counters].map(([who, counter]) => {
      const noun = counter.exercise === "squat" ? "squat" : "arm raise";
      return `${who}: ${counter.reps} ${noun} rep${counter.reps === 1 ? "" : "s"}`;
    });
  },
};

/**
 * The command line: reads the JSONL named in `args`, prints one line per completed repetition
 * and a total per person. Errors are one line `rep_counter: <message>` on stderr.
 *
 * @param args The command's arguments.
 * @param io Where the text goes, and how the file is read.
 * @returns The exit code: 0, 1 for a bad input, 2 for a usage error.
 *
 * @example
 * ```ts
 * import { runRepCounterCli } from "./rep_counter.ts";
 *
 * const line = (t: number, knee: number) => {
 *   const a = ((180 - knee) * Math.PI) / 180;
 *   const keypoints = [
 *     { name: "left_hip", x: 100, y: 100, score: 0.9 },
 *     { name: "left_knee", x: 100, y: 200, score: 0.9 },
 *     { name: "left_ankle", x: 100 - 100 * Math.sin(a), y: 200 + 100 * Math.cos(a), score: 0.9 },
 *   ];
 *   return JSON.stringify({ frame: t / 100, timestampMs: t, poses: [{ score: 0.9, keypoints }] });
 * };
 * const text = [175, 175, 80, 80, 175, 175].map((knee, i) => line(i * 100, knee)).join("\n");
 * const code = await runRepCounterCli(["poses.jsonl"], {
 *   stdout: (s) => console.log(s.trimEnd()),
 *   stderr: (s) => console.error(s.trimEnd()),
 *   readTextFile: () => Promise.resolve(text),
 * });
 * // 0.500 s  person: rep 1 (angle 175°)
 * // person: 1 squat rep
 * console.log(code); // 0
 * ```
 */
export function runRepCounterCli(args: readonly string[], io: ExampleIo): Promise<number> {
  return runJsonlApp(REP_COUNTER_APP, args, io);
}

if (import.meta.main) Deno.exit(await runRepCounterCli(Deno.args, processIo()));
