/**
 * Tests for the repetition counter example (`examples/rep_counter.ts`) on stick-figure sequences
 * whose answer is known: random rep counts, depths, tempos, frame rates, scales and offsets (seeded,
 * printed), with keypoint noise, unsure keypoints and missing frames.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { InvalidInputError } from "../mod.ts";
import { RepCounter, type RepCounterOptions, runRepCounterCli } from "../examples/rep_counter.ts";
import { between, mulberry32, type Rng, runSeed } from "./support/random.ts";
import {
  type FigureParams,
  type Frame,
  kneeAngleDeg,
  NO_NOISE,
  type Noise,
  randomCamera,
  renderAnywhere,
  renderSequence,
  shoulderAngleDeg,
  STANDING,
  TEST_NOISE,
} from "./support/stick_figure.ts";
import { moduleTempDir } from "./support/temp_dir.ts";

const SEED = runSeed("rep_counter_test");
const { tempDir } = await moduleTempDir("rep_counter_test_");

/** The figure at knee angle `knee` (a squat: thighs forward, shins tilted, torso leaning). */
function squatAt(knee: number, swayT: number): FigureParams {
  const d = (180 - knee) / 120;
  return {
    ...STANDING,
    thighDeg: 85 * d,
    shinDeg: -35 * d,
    torsoLeanDeg: 40 * d + 2 * Math.sin(swayT / 700),
    upperArmDeg: 5 + 60 * d,
    forearmDeg: 10 + 60 * d,
    x: 0.05 * Math.sin(swayT / 1100),
  };
}

/** The figure with both straight arms raised to `shoulder` degrees (hip–shoulder–wrist). */
function raiseAt(shoulder: number, swayT: number): FigureParams {
  return {
    ...STANDING,
    upperArmDeg: shoulder,
    forearmDeg: shoulder,
    x: 0.05 * Math.sin(swayT / 1100),
    thighDeg: 2 * Math.sin(swayT / 900),
    shinDeg: 2 * Math.sin(swayT / 900),
  };
}

/** One repetition: rest `restMs`, then an angle profile from `from` to `to` and back over `ms`. */
interface Rep {
  readonly start: number;
  readonly restMs: number;
  readonly ms: number;
  readonly to: number;
}

/** `count` reps of random tempo, reaching an extreme angle drawn in [lo, hi]. */
function randomReps(rng: Rng, count: number, lo: number, hi: number, minMs = 1500): Rep[] {
  const reps: Rep[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const rep = {
      start,
      restMs: between(rng, 300, 900),
      ms: between(rng, minMs, 3000),
      to: between(rng, lo, hi),
    };
    reps.push(rep);
    start += rep.restMs + rep.ms;
  }
  return reps;
}

/** The angle at time `t` of a rep sequence resting at `rest`. */
function repAngle(reps: readonly Rep[], rest: number, t: number): number {
  for (const r of reps) {
    const u = t - r.start - r.restMs;
    if (u >= 0 && u < r.ms) {
      return rest + (r.to - rest) * (1 - Math.cos((2 * Math.PI * u) / r.ms)) / 2;
    }
  }
  return rest;
}

/** The total length of a rep sequence plus one second of rest. */
const lengthOf = (reps: readonly Rep[]) =>
  reps.length === 0
    ? 1000
    : reps[reps.length - 1].start + reps[reps.length - 1].restMs + reps[reps.length - 1].ms + 1000;

/** Runs a counter over frames; returns the final count and each frame's status. */
function run(frames: readonly Frame[], options: RepCounterOptions) {
  const counter = new RepCounter(options);
  const statuses = frames.map((f) => counter.update(f.pose, f.t));
  return { reps: counter.reps, statuses };
}

/** A squat sequence of `reps` with `noise`. */
function squats(
  rng: Rng,
  reps: readonly Rep[],
  noise: Noise,
  camera = randomCamera(rng),
  fps = between(rng, 15, 30),
) {
  return renderSequence(
    (t) => squatAt(repAngle(reps, 176, t), t),
    lengthOf(reps),
    fps,
    camera,
    rng,
    noise,
  );
}

Deno.test("`RepCounter.update()` counts N random full squats as N reps (noise, unsure keypoints, missing frames)", () => {
  for (let trial = 0; trial < 8; trial++) {
    const rng = mulberry32(SEED + trial);
    const n = 1 + Math.floor(rng() * 8);
    const reps = randomReps(rng, n, 60, 90); // knee angle at the bottom: 60–90° (< 100)
    const { reps: counted, statuses } = run(squats(rng, reps, TEST_NOISE), { exercise: "squat" });
    assert.equal(counted, n, `trial ${trial}: ${n} squats`);
    assert.equal(statuses.filter((s) => s.repCompleted).length, n);
  }
});

Deno.test("`RepCounter.update()` counts each rep when the knee angle passes the high threshold on the way up", () => {
  const rng = mulberry32(SEED + 100);
  const reps = randomReps(rng, 5, 70, 85);
  const frames = squats(rng, reps, TEST_NOISE);
  const { statuses } = run(frames, { exercise: "squat" });
  const at = statuses.flatMap((s, i) => (s.repCompleted ? [frames[i].t] : []));
  assert.equal(at.length, 5);
  for (const [i, r] of reps.entries()) {
    // On the way up the (noise-free) angle 176 + (to − 176)(1 − cos 2πu/ms)/2 passes 160° at
    // u = ms (1 − acos(1 − 32/(176 − to)) / 2π); the count comes then or a few frames later.
    const u = r.ms * (1 - Math.acos(1 - 32 / (176 - r.to)) / (2 * Math.PI));
    const crossing = r.start + r.restMs + u;
    assert.ok(
      at[i] >= crossing - 60 && at[i] <= crossing + 400,
      `rep ${i} counted at ${at[i]} ms, the angle passes 160° at ${crossing} ms`,
    );
  }
});

Deno.test("`RepCounter.update()` counts no rep for half squats that never go below the low threshold", () => {
  for (let trial = 0; trial < 6; trial++) {
    const rng = mulberry32(SEED + 200 + trial);
    const reps = randomReps(rng, 1 + Math.floor(rng() * 8), 115, 140); // knee ≥ 115° > 100°
    const { reps: counted, statuses } = run(squats(rng, reps, TEST_NOISE), { exercise: "squat" });
    assert.equal(counted, 0, `trial ${trial}`);
    assert.ok(statuses.every((s) => s.phase !== "down"));
  }
});

Deno.test("`RepCounter.update()` does not count an angle jittering around either threshold (hysteresis)", () => {
  for (let trial = 0; trial < 4; trial++) {
    const rng = mulberry32(SEED + 300 + trial);
    const n = 2 + Math.floor(rng() * 4);
    const amp = between(rng, 5, 9), hz = between(rng, 1, 2);
    // Each rep: stand (176°), go down to 100° (the low threshold) and hover ±amp around it for
    // 1.6 s, rise to 160° (the high threshold) and hover around it for 1.6 s, then stand.
    const repMs = 500 + 600 + 1600 + 600 + 1600 + 400;
    const knee = (t: number) => {
      const u = t % repMs, w = Math.sin(2 * Math.PI * hz * (u / 1000));
      if (u < 500) return 176;
      if (u < 1100) return 176 - 76 * (u - 500) / 600;
      if (u < 2700) return 100 + amp * w;
      if (u < 3300) return 100 + 60 * (u - 2700) / 600;
      if (u < 4900) return 160 + amp * w;
      return 160 + 16 * (u - 4900) / 400;
    };
    const frames = renderAnywhere((t) => squatAt(knee(t), t), n * repMs - 1, rng);
    const crossings = frames.filter((f, i) =>
      i > 0 && (kneeAngleDeg(f.params) < 100) !== (kneeAngleDeg(frames[i - 1].params) < 100)
    ).length;
    assert.ok(crossings >= 4 * n, `the sequence crosses 100° ${crossings} times`); // the premise
    assert.equal(run(frames, { exercise: "squat" }).reps, n, `trial ${trial}`);
  }
});

Deno.test("`RepCounter.update()` ignores one mis-detected frame (confirmFrames)", () => {
  const rng = mulberry32(SEED + 400);
  // Standing still for 10 s, with one confident "deep squat" frame about every second.
  const frames = renderSequence(
    (t) => squatAt(Math.floor(t / 33.3) % 30 === 17 ? 70 : 176, t),
    10_000,
    30,
    randomCamera(rng),
    rng,
    { ...TEST_NOISE, missingFrame: 0 },
  );
  assert.ok(frames.filter((f) => kneeAngleDeg(f.params) < 100).length >= 9); // the premise
  assert.equal(run(frames, { exercise: "squat" }).reps, 0);
});

Deno.test("`RepCounter.update()` keeps counting through many missing frames, unsure keypoints and an occluded leg", () => {
  for (let trial = 0; trial < 4; trial++) {
    const rng = mulberry32(SEED + 500 + trial);
    const n = 2 + Math.floor(rng() * 6);
    const reps = randomReps(rng, n, 60, 80, 1800);
    const occluded = trial % 2 === 0 ? ["left_hip", "left_knee", "left_ankle"] : ["right_ankle"];
    const heavy: Noise = { sigma: 0.02, unsureKeypoint: 0.1, missingFrame: 0.2, occluded };
    const frames = squats(rng, reps, heavy, randomCamera(rng), between(rng, 24, 30));
    // The premise: each rep still has at least 2 frames with a fully seen leg well below 100°
    // (about 40% of the frames are usable here); fewer could not be told from a glitch.
    const seenLeg = (f: Frame) =>
      ["left", "right"].some((side) =>
        ["hip", "knee", "ankle"].every((j) =>
          (f.pose?.keypoints.find((k) => k.name === `${side}_${j}`)?.score ?? 0) >= 0.3
        )
      );
    for (const r of reps) {
      const bottom = frames.filter((f) =>
        f.t >= r.start && f.t < r.start + r.restMs + r.ms && kneeAngleDeg(f.params) < 96 &&
        seenLeg(f)
      );
      assert.ok(
        bottom.length >= 2,
        `premise: ${bottom.length} usable frames at the bottom of a rep`,
      );
    }
    assert.equal(run(frames, { exercise: "squat" }).reps, n, `trial ${trial}`);
  }
});

Deno.test("`RepCounter.angleOf()` is the knee angle of the figure, on either side alone or both", () => {
  const rng = mulberry32(SEED + 600);
  const camera = randomCamera(rng);
  for (let i = 0; i < 50; i++) {
    const knee = between(rng, 40, 180);
    const p = squatAt(knee, between(rng, 0, 10_000));
    const [frame] = renderSequence(() => p, 0, 30, camera, rng, NO_NOISE);
    const counter = new RepCounter({ exercise: "squat" });
    const angle = counter.angleOf(frame.pose!);
    assert.ok(Math.abs(angle! - kneeAngleDeg(p)) < 1e-9, `${angle} vs ${kneeAngleDeg(p)}`);
    const oneSide = {
      ...frame.pose!,
      keypoints: frame.pose!.keypoints.map((k) =>
        k.name.startsWith("left") ? { ...k, score: 0.1 } : k
      ),
    };
    assert.ok(Math.abs(counter.angleOf(oneSide)! - kneeAngleDeg(p)) < 1e-9);
  }
  const none = renderSequence(() => STANDING, 0, 30, camera, rng, {
    ...NO_NOISE,
    occluded: ["left_knee", "right_knee"],
  });
  assert.equal(new RepCounter({ exercise: "squat" }).angleOf(none[0].pose!), undefined);
});

Deno.test("`RepCounter.update()` gives the same angles and count at any scale and offset", () => {
  const rng = mulberry32(SEED + 700);
  const reps = randomReps(rng, 4, 60, 90);
  const fps = between(rng, 15, 30);
  const seqSeed = SEED + 701;
  const a = squats(mulberry32(seqSeed), reps, TEST_NOISE, {
    scale: 25,
    offsetX: -3000,
    offsetY: 7000,
  }, fps);
  const b = squats(mulberry32(seqSeed), reps, TEST_NOISE, {
    scale: 900,
    offsetX: 320,
    offsetY: 240,
  }, fps);
  const ra = run(a, { exercise: "squat" }), rb = run(b, { exercise: "squat" });
  assert.equal(ra.reps, 4);
  assert.equal(rb.reps, 4);
  for (let i = 0; i < a.length; i++) {
    const x = ra.statuses[i].angle, y = rb.statuses[i].angle;
    assert.equal(x === undefined, y === undefined);
    if (x !== undefined) assert.ok(Math.abs(x - y!) < 1e-6, `frame ${i}: ${x} vs ${y}`);
    assert.equal(ra.statuses[i].phase, rb.statuses[i].phase);
  }
});

Deno.test("`RepCounter.update()` counts N arm raises, and none for raises that stop at shoulder height", () => {
  for (let trial = 0; trial < 6; trial++) {
    const rng = mulberry32(SEED + 800 + trial);
    const n = 1 + Math.floor(rng() * 7);
    const full = randomReps(rng, n, 150, 175);
    const camera = randomCamera(rng), fps = between(rng, 15, 30);
    const frames = renderSequence(
      (t) => raiseAt(repAngle(full, 8, t), t),
      lengthOf(full),
      fps,
      camera,
      rng,
      TEST_NOISE,
    );
    assert.equal(run(frames, { exercise: "armRaise" }).reps, n, `trial ${trial}: ${n} raises`);
    const partial = randomReps(rng, n, 80, 125);
    const low = renderSequence(
      (t) => raiseAt(repAngle(partial, 8, t), t),
      lengthOf(partial),
      fps,
      camera,
      rng,
      TEST_NOISE,
    );
    assert.equal(run(low, { exercise: "armRaise" }).reps, 0, `trial ${trial}: partial raises`);
  }
  assert.equal(shoulderAngleDeg(raiseAt(120, 0)), 120);
});

Deno.test("`RepCounter.update()` does not count a rep that started before the first frame", () => {
  const rng = mulberry32(SEED + 900);
  // Starts at the bottom of a squat, stands up, then does two squats.
  const reps = randomReps(rng, 2, 70, 80).map((r) => ({ ...r, start: r.start + 2000 }));
  const frames = renderSequence(
    (t) => squatAt(t < 1500 ? 75 + (101 * Math.max(0, t - 1000)) / 500 : repAngle(reps, 176, t), t),
    lengthOf(reps) + 2000,
    25,
    randomCamera(rng),
    rng,
    TEST_NOISE,
  );
  assert.equal(run(frames, { exercise: "squat" }).reps, 2);
});

Deno.test("`RepCounter` rejects bad options, timestamps and poses with a message naming them", () => {
  assert.throws(
    () => new RepCounter({ exercise: "pushup" as "squat" }),
    /exercise must be "squat" or "armRaise", got "pushup"/,
  );
  assert.throws(
    () => new RepCounter({ exercise: "squat", lowAngleDeg: 150, highAngleDeg: 120 }),
    /lowAngleDeg \(150\) must be below highAngleDeg \(120\)/,
  );
  assert.throws(
    () => new RepCounter({ exercise: "squat", highAngleDeg: 200 }),
    /highAngleDeg must be a number in \[0, 180\], got 200/,
  );
  assert.throws(
    () => new RepCounter({ exercise: "squat", minKeypointScore: NaN }),
    InvalidInputError,
  );
  assert.throws(
    () => new RepCounter({ exercise: "squat", confirmFrames: 0 }),
    /confirmFrames must be a positive integer/,
  );
  const counter = new RepCounter({ exercise: "squat" });
  counter.update(undefined, 100);
  assert.throws(
    () => counter.update(undefined, 100),
    /timestampMs must increase from frame to frame, got 100 after 100/,
  );
  assert.throws(
    () => counter.update(undefined, NaN),
    /timestampMs must be a finite number, got null/,
  );
  assert.throws(() => counter.update({ score: 1 } as never, 200), /pose must be a DetectedPose/);
  counter.reset();
  assert.deepEqual(counter.update(undefined, 0), {
    reps: 0,
    phase: "unknown",
    angle: undefined,
    repCompleted: false,
  });
});

/** A JSONL line of `pose video` for the frames of several tracks. */
function jsonlOf(tracks: readonly { id?: number; frames: readonly Frame[] }[]): string {
  const lines: string[] = [];
  for (let i = 0; i < tracks[0].frames.length; i++) {
    const poses = tracks.flatMap(({ id, frames }) => {
      const pose = frames[i].pose;
      return pose === undefined
        ? []
        : [{ ...(id === undefined ? {} : { id }), score: pose.score, keypoints: pose.keypoints }];
    });
    lines.push(JSON.stringify({ frame: i, timestampMs: tracks[0].frames[i].t, poses }));
  }
  return lines.join("\n") + "\n";
}

Deno.test("`runRepCounterCli()` counts per tracked person in a JSONL of poses", async () => {
  const rng = mulberry32(SEED + 1000);
  const fps = 20;
  const reps3 = randomReps(rng, 3, 65, 85), reps5 = randomReps(rng, 5, 65, 85);
  const length = Math.max(lengthOf(reps3), lengthOf(reps5));
  const seq = (reps: Rep[]) =>
    renderSequence(
      (t) => squatAt(repAngle(reps, 176, t), t),
      length,
      fps,
      randomCamera(rng),
      rng,
      TEST_NOISE,
    );
  const text = jsonlOf([{ id: 7, frames: seq(reps3) }, { id: 2, frames: seq(reps5) }]);
  const out: string[] = [], err: string[] = [];
  const io = {
    stdout: (s: string) => void out.push(s),
    stderr: (s: string) => void err.push(s),
    readTextFile: () => Promise.resolve(text),
  };
  assert.equal(await runRepCounterCli(["poses.jsonl"], io), 0);
  const lines = out.join("").trimEnd().split("\n");
  assert.deepEqual(lines.slice(-2), ["person #7: 3 squat reps", "person #2: 5 squat reps"]);
  assert.equal(lines.filter((l) => /person #7: rep \d/.test(l)).length, 3);
  assert.equal(lines.filter((l) => /person #2: rep \d/.test(l)).length, 5);
  assert.deepEqual(err, []);
});

Deno.test("the rep_counter command prints the counts, and one error line for a bad file", async () => {
  const dir = await tempDir();
  const rng = mulberry32(SEED + 1100);
  const reps = randomReps(rng, 2, 65, 85);
  const good = join(dir, "poses.jsonl"), bad = join(dir, "bad.jsonl");
  await Deno.writeTextFile(good, jsonlOf([{ frames: squats(rng, reps, TEST_NOISE) }]));
  await Deno.writeTextFile(
    bad,
    '{"frame":0,"timestampMs":0,"poses":[]}\n{"frame":1,"timestampMs":"x","poses":[]}\n',
  );
  const script = new URL("../examples/rep_counter.ts", import.meta.url).pathname;
  const runIt = async (...args: string[]) => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", script, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
  };
  const ok = await runIt(good);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /person: 2 squat reps\n$/);
  const failed = await runIt(bad);
  assert.equal(failed.code, 1);
  assert.equal(failed.err, `rep_counter: ${bad}:2: timestampMs must be a finite number\n`);
  const missing = await runIt(join(dir, "none.jsonl"));
  assert.equal(missing.code, 1);
  assert.match(missing.err, /^rep_counter: cannot read .*none\.jsonl: .*\n$/);
  const usage = await runIt(good, "--exercise", "pushup");
  assert.equal(usage.code, 1);
  assert.equal(usage.err, 'rep_counter: exercise must be "squat" or "armRaise", got "pushup"\n');
});
