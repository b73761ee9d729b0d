/**
 * Example application: a fall detector. A fall is a sudden drop of the hip centre while the torso
 * turns from vertical to near horizontal, then lying still for a while. Built only on the
 * package's public surface (`../mod.ts`); copy it (with `_keypoints.ts`, and `_pose_jsonl.ts`
 * for the command line) into your own program.
 *
 * ```sh
 * deno run --allow-read examples/fall_detector.ts poses.jsonl
 * ```
 *
 * The JSONL is what the `pose video` command writes: one line per frame,
 * `{"frame", "timestampMs", "poses": [{"id"?, "score", "keypoints": [{"name","x","y","score"}]}]}`.
 *
 * @module
 */

import { type DetectedPose, InvalidInputError } from "../mod.ts";
import {
  confidentCentre,
  type Point,
  requireLaterTimestamp,
  requireNumberIn,
  requirePoseOrNothing,
} from "./_keypoints.ts";
import { type ExampleIo, type JsonlApp, numberFlag, processIo, runJsonlApp } from "./_jsonl_app.ts";

/**
 * `"unknown"`: no upright torso seen yet, so no body size to measure a drop with;
 * `"monitoring"`: watching for a drop; `"suspected"`: a sudden drop ending with the torso near
 * horizontal was seen, waiting for the person to lie still; `"fallen"`: confirmed, until the
 * person is upright again.
 */
export type FallState = "unknown" | "monitoring" | "suspected" | "fallen";

/** Options of {@linkcode FallDetector}; lengths are in torso lengths (scale-free). */
export interface FallDetectorOptions {
  /** Keypoints scoring below this are ignored (default 0.3). */
  readonly minKeypointScore?: number;
  /** The window a drop must happen in, in milliseconds (default 1000). */
  readonly dropWindowMs?: number;
  /** How far the hip centre must drop within the window, in torso lengths (default 0.8). */
  readonly minDropTorsoLengths?: number;
  /** A torso within this many degrees of vertical is upright (default 30). */
  readonly uprightMaxDeg?: number;
  /** A torso at least this many degrees from vertical is lying (default 60). */
  readonly lyingMinDeg?: number;
  /** How long the person must then lie still, in milliseconds (default 2000). */
  readonly stillMs?: number;
  /** "Still": the hip and shoulder centres stay within this radius of their mean, in torso lengths (default 0.25). */
  readonly stillRadiusTorsoLengths?: number;
  /** A suspected fall not followed by stillness within this time is dropped (default 10000 ms). */
  readonly suspectTimeoutMs?: number;
  /** Upright for this long (ms) ends a suspected fall or a fall (default 500). */
  readonly recoverMs?: number;
}

/** What {@linkcode FallDetector.update} returns. */
export interface FallStatus {
  /** The state after this frame. */
  readonly state: FallState;
  /** In `"suspected"` and `"fallen"`: when the sudden drop was seen (the fall's time), in ms. */
  readonly fallenAt?: number;
  /** True on the one frame that confirmed a fall (the event). */
  readonly newFall: boolean;
  /** This frame's torso angle from vertical in degrees (0 upright, 90 horizontal), if measured. */
  readonly torsoAngleDeg?: number;
}

/** One measured frame. */
interface Sample {
  readonly t: number;
  readonly hip: Point;
  readonly shoulder: Point;
  readonly angle: number;
}

const SHOULDERS = ["left_shoulder", "right_shoulder"] as const;
const HIPS = ["left_hip", "right_hip"] as const;

/**
 * Detects falls in one person's poses, one video frame at a time.
 *
 * Each frame with a confident shoulder and a confident hip gives the hip centre, the shoulder
 * centre, and the torso (hip centre → shoulder centre): its length, and its angle from vertical.
 * The body size is the torso length of upright frames (an exponential mean), so every distance is
 * in torso lengths and the detector is independent of the person's size in the image and of
 * where they are. A fall is suspected when, within `dropWindowMs`, the hip centre has dropped by
 * at least `minDropTorsoLengths` and the torso has gone from upright (≤ `uprightMaxDeg`) to lying
 * (≥ `lyingMinDeg`); it is confirmed once the hip and shoulder centres of the last `stillMs` all
 * lie within `stillRadiusTorsoLengths` of their mean. Sitting down (the torso stays upright), a
 * crouch (it stays under `lyingMinDeg`), bending over (the hips do not drop) and lying down slowly
 * never trigger it; with the defaults, "slowly" means a hip drop of less than 0.8 torso lengths in
 * any second. A person upright for `recoverMs` ends a suspected fall or a fall, and the next fall
 * is a new event.
 *
 * @example
 * ```ts
 * import { FallDetector } from "./fall_detector.ts";
 *
 * // Hip centre at row `hipY`, a torso of 100 px at `angleDeg` from vertical.
 * function pose(hipY: number, angleDeg: number) {
 *   const a = (angleDeg * Math.PI) / 180;
 *   const at = (name: string, x: number, y: number) => ({ name, x, y, score: 0.9 });
 *   return {
 *     score: 0.9,
 *     keypoints: [
 *       at("left_hip", 300, hipY),
 *       at("left_shoulder", 300 + 100 * Math.sin(a), hipY - 100 * Math.cos(a)),
 *     ],
 *   };
 * }
 * const detector = new FallDetector();
 * for (let t = 0; t <= 6000; t += 100) {
 *   const p = Math.min(Math.max((t - 1000) / 500, 0), 1); // falls between 1.0 s and 1.5 s
 *   const status = detector.update(pose(200 + 170 * p, 90 * p), t);
 *   if (status.newFall) console.log(`fall at ${status.fallenAt} ms, confirmed at ${t} ms`);
 * }
 * // fall at 1400 ms, confirmed at 3500 ms
 * ```
 */
export class FallDetector {
  /** Keypoints scoring below this are ignored. */
  readonly minKeypointScore: number;
  /** The window a drop must happen in (ms). */
  readonly dropWindowMs: number;
  /** The drop that counts, in torso lengths. */
  readonly minDropTorsoLengths: number;
  /** Upright: torso within this angle of vertical (degrees). */
  readonly uprightMaxDeg: number;
  /** Lying: torso at least this far from vertical (degrees). */
  readonly lyingMinDeg: number;
  /** Stillness needed to confirm (ms). */
  readonly stillMs: number;
  /** The stillness radius, in torso lengths. */
  readonly stillRadiusTorsoLengths: number;
  /** A suspected fall is dropped after this long without stillness (ms). */
  readonly suspectTimeoutMs: number;
  /** Upright this long ends a fall (ms). */
  readonly recoverMs: number;
  #state: FallState = "unknown";
  #bodySize: number | undefined;
  #window: Sample[] = [];
  #fallenAt: number | undefined;
  #still: Sample[] = [];
  #uprightSince: number | undefined;
  #lastTimestampMs: number | undefined;

  /**
   * Makes a detector.
   *
   * @param options Thresholds (defaults in {@linkcode FallDetectorOptions}).
   * @throws {InvalidInputError} For an option out of range, or `uprightMaxDeg` ≥ `lyingMinDeg`.
   */
  constructor(options: FallDetectorOptions = {}) {
    this.minKeypointScore = requireNumberIn(
      "minKeypointScore",
      options.minKeypointScore ?? 0.3,
      0,
      1,
    );
    this.dropWindowMs = requireNumberIn("dropWindowMs", options.dropWindowMs ?? 1000, 1, 60_000);
    this.minDropTorsoLengths = requireNumberIn(
      "minDropTorsoLengths",
      options.minDropTorsoLengths ?? 0.8,
      0.01,
      10,
    );
    this.uprightMaxDeg = requireNumberIn("uprightMaxDeg", options.uprightMaxDeg ?? 30, 0, 90);
    this.lyingMinDeg = requireNumberIn("lyingMinDeg", options.lyingMinDeg ?? 60, 0, 180);
    if (!(this.uprightMaxDeg < this.lyingMinDeg)) {
      throw new InvalidInputError(
        `uprightMaxDeg (${this.uprightMaxDeg}) must be below lyingMinDeg (${this.lyingMinDeg})`,
      );
    }
    this.stillMs = requireNumberIn("stillMs", options.stillMs ?? 2000, 0, 600_000);
    this.stillRadiusTorsoLengths = requireNumberIn(
      "stillRadiusTorsoLengths",
      options.stillRadiusTorsoLengths ?? 0.25,
      0.001,
      10,
    );
    this.suspectTimeoutMs = requireNumberIn(
      "suspectTimeoutMs",
      options.suspectTimeoutMs ?? 10_000,
      1,
      3_600_000,
    );
    this.recoverMs = requireNumberIn("recoverMs", options.recoverMs ?? 500, 0, 600_000);
  }

  /** The state after the last frame. */
  get state(): FallState {
    return this.#state;
  }

  /** The body size (torso length in pixels of upright frames), once one was seen. */
  get bodySize(): number | undefined {
    return this.#bodySize;
  }

  /**
   * Takes one video frame.
   *
   * @param pose The person in this frame, or `undefined` when none was found.
   * @param timestampMs The frame's time in milliseconds, increasing from frame to frame.
   * @returns The state, the fall's time once suspected, and whether this frame confirmed a fall.
   * @throws {InvalidInputError} For a timestamp not after the previous one, or a non-pose.
   */
  update(pose: DetectedPose | undefined, timestampMs: number): FallStatus {
    const t = requireLaterTimestamp(timestampMs, this.#lastTimestampMs);
    this.#lastTimestampMs = t;
    const checked = requirePoseOrNothing(pose);
    const sample = checked === undefined ? undefined : this.#measure(checked, t);
    if (sample === undefined) return this.#status(false, undefined);
    const upright = sample.angle <= this.uprightMaxDeg;
    if (upright) {
      const length = Math.hypot(sample.shoulder.x - sample.hip.x, sample.shoulder.y - sample.hip.y);
      this.#bodySize = this.#bodySize === undefined
        ? length
        : this.#bodySize + 0.1 * (length - this.#bodySize);
      this.#uprightSince ??= t;
    } else {
      this.#uprightSince = undefined;
    }
    const recovered = this.#uprightSince !== undefined && t - this.#uprightSince >= this.recoverMs;
    let newFall = false;
    switch (this.#state) {
      case "unknown":
        if (this.#bodySize !== undefined) this.#state = "monitoring";
        this.#window = [sample];
        break;
      case "monitoring":
        this.#window.push(sample);
        while (this.#window[0].t < t - this.dropWindowMs) this.#window.shift();
        if (this.#isSuddenFall(sample)) {
          this.#state = "suspected";
          this.#fallenAt = t;
          this.#still = [sample];
        }
        break;
      case "suspected":
        if (recovered || t - (this.#fallenAt as number) > this.suspectTimeoutMs) {
          this.#monitorFrom(sample);
          break;
        }
        // The samples of the last `stillMs`, and the one before them (so that they span it).
        this.#still.push(sample);
        while (this.#still.length > 1 && this.#still[1].t <= t - this.stillMs) this.#still.shift();
        if (this.#still[0].t <= t - this.stillMs && this.#isStill()) {
          this.#state = "fallen";
          this.#still = [];
          newFall = true;
        }
        break;
      case "fallen":
        if (recovered) this.#monitorFrom(sample);
        break;
    }
    return this.#status(newFall, sample.angle);
  }

  /** Hip and shoulder centres and the torso angle, or `undefined` when not seen. */
  #measure(pose: DetectedPose, t: number): Sample | undefined {
    const hip = confidentCentre(pose, HIPS, this.minKeypointScore);
    const shoulder = confidentCentre(pose, SHOULDERS, this.minKeypointScore);
    if (hip === undefined || shoulder === undefined) return undefined;
    const dx = shoulder.x - hip.x, dy = shoulder.y - hip.y;
    if (dx === 0 && dy === 0) return undefined;
    // From the image's up direction (0, -1): 0° upright, 90° horizontal, 180° upside down.
    const angle = (Math.atan2(Math.abs(dx), -dy) * 180) / Math.PI;
    return { t, hip, shoulder, angle };
  }

  /** A drop of the hip of `minDropTorsoLengths` within the window, upright then lying now. */
  #isSuddenFall(now: Sample): boolean {
    if (this.#bodySize === undefined || now.angle < this.lyingMinDeg) return false;
    let highestHipY = Infinity, wasUpright = false;
    for (const s of this.#window) {
      highestHipY = Math.min(highestHipY, s.hip.y);
      wasUpright ||= s.angle <= this.uprightMaxDeg;
    }
    return wasUpright && now.hip.y - highestHipY >= this.minDropTorsoLengths * this.#bodySize;
  }

  /** Whether the hip and shoulder centres of the still window stay within the radius of their mean. */
  #isStill(): boolean {
    const radius = this.stillRadiusTorsoLengths * (this.#bodySize as number);
    for (const part of ["hip", "shoulder"] as const) {
      let mx = 0, my = 0;
      for (const s of this.#still) {
        mx += s[part].x;
        my += s[part].y;
      }
      mx /= this.#still.length;
      my /= this.#still.length;
      for (const s of this.#still) {
        if (Math.hypot(s[part].x - mx, s[part].y - my) > radius) return false;
      }
    }
    return true;
  }

  /** Back to monitoring, with a fresh window starting at `sample`. */
  #monitorFrom(sample: Sample): void {
    this.#state = "monitoring";
    this.#window = [sample];
    this.#fallenAt = undefined;
    this.#still = [];
  }

  #status(newFall: boolean, torsoAngleDeg: number | undefined): FallStatus {
    const fallenAt = this.#fallenAt;
    return {
      state: this.#state,
      ...(fallenAt === undefined ? {} : { fallenAt }),
      newFall,
      ...(torsoAngleDeg === undefined ? {} : { torsoAngleDeg }),
    };
  }

  /** Forgets everything: state, body size, window and the last timestamp. */
  reset(): void {
    this.#state = "unknown";
    this.#bodySize = undefined;
    this.#window = [];
    this.#fallenAt = undefined;
    this.#still = [];
    this.#uprightSince = undefined;
    this.#lastTimestampMs = undefined;
  }
}

const USAGE = `usage: deno run --allow-read examples/fall_detector.ts POSES.jsonl [options]

Finds falls in the poses of a video (the JSONL that \`pose video\` writes), one detector per
tracked person (poses without a track id: the best-scoring pose of each frame).

  --still-ms MS      how long a person must lie still after the drop (default 2000)
  --min-score S      keypoints scoring below S are ignored (default 0.3)
  -h, --help         this text
`;

/** The command line as a {@linkcode JsonlApp}: a detector per person, a line per fall. */
const FALL_DETECTOR_APP: JsonlApp<{ detector: FallDetector; falls: number }> = {
  command: "fall_detector",
  usage: USAGE,
  flags: ["still-ms", "min-score"],
  make(flags) {
    const options: FallDetectorOptions = {
      stillMs: numberFlag(flags, "still-ms"),
      minKeypointScore: numberFlag(flags, "min-score"),
    };
    new FallDetector(options); // checks the options before the file is read
    return () => ({ detector: new FallDetector(options), falls: 0 });
  },
  step(tracker, pose, timestampMs, who) {
    const { newFall, fallenAt } = tracker.detector.update(pose, timestampMs);
    if (!newFall) return undefined;
    tracker.falls++;
    return `${who}: fall at ${((fallenAt as number) / 1000).toFixed(3)} s ` +
      `(then still for ${tracker.detector.stillMs} ms)`;
  },
  summary(trackers) {
    const falls = [...trackers.values()].reduce((sum, t) => sum + t.falls, 0);
    return [`${falls} fall${falls === 1 ? "" : "s"}`];
  },
};

/**
 * The command line: reads the JSONL named in `args`, prints one line per confirmed fall and a
 * total. Errors are one line `fall_detector: <message>` on stderr.
 *
 * @param args The command's arguments.
 * @param io Where the text goes, and how the file is read.
 * @returns The exit code: 0, 1 for a bad input, 2 for a usage error.
 *
 * @example
 * ```ts
 * import { runFallDetectorCli } from "./fall_detector.ts";
 *
 * const lines: string[] = [];
 * for (let t = 0; t <= 5000; t += 100) {
 *   const p = Math.min(Math.max((t - 1000) / 400, 0), 1); // falls between 1.0 s and 1.4 s
 *   const a = (p * Math.PI) / 2;
 *   const keypoints = [
 *     { name: "left_hip", x: 300, y: 200 + 170 * p, score: 0.9 },
 *     { name: "left_shoulder", x: 300 + 100 * Math.sin(a), y: 200 + 170 * p - 100 * Math.cos(a), score: 0.9 },
 *   ];
 *   lines.push(JSON.stringify({ frame: t / 100, timestampMs: t, poses: [{ score: 0.9, keypoints }] }));
 * }
 * const code = await runFallDetectorCli(["poses.jsonl"], {
 *   stdout: (s) => console.log(s.trimEnd()),
 *   stderr: (s) => console.error(s.trimEnd()),
 *   readTextFile: () => Promise.resolve(lines.join("\n")),
 * });
 * // 3.400 s  person: fall at 1.300 s (then still for 2000 ms)
 * // 1 fall
 * console.log(code); // 0
 * ```
 */
export function runFallDetectorCli(args: readonly string[], io: ExampleIo): Promise<number> {
  return runJsonlApp(FALL_DETECTOR_APP, args, io);
}

if (import.meta.main) Deno.exit(await runFallDetectorCli(Deno.args, processIo()));
