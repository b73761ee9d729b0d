/**
 * Tests for the fall detector example (`examples/fall_detector.ts`) on stick-figure sequences
 * whose answer is known: falls of random direction, speed and start time, and the movements that
 * must not be taken for one (sitting down, slowly or fast; bending over; lying down slowly; a fall
 * followed by moving on or getting up), at random scales, offsets and frame rates (seeded,
 * printed), with keypoint noise, unsure keypoints and missing frames.
 *
 * "Slowly", as the detector defines it with its defaults: the hip centre drops by less than 0.8
 * torso lengths in any one second. The slow sequences here assert that premise on their own
 * noise-free figures, and the falls assert the opposite.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FallDetector, type FallStatus, runFallDetectorCli } from "../examples/fall_detector.ts";
import { between, mulberry32, runSeed } from "./support/random.ts";
import {
  blend,
  type Camera,
  figureKeypoints,
  type FigureParams,
  type Frame,
  type Noise,
  ramp,
  randomCamera,
  renderAnywhere,
  renderSequence,
  STANDING,
  TEST_NOISE,
} from "./support/stick_figure.ts";
import { moduleTempDir } from "./support/temp_dir.ts";

const SEED = runSeed("fall_detector_test");
const { tempDir } = await moduleTempDir("fall_detector_test_");

/** Standing with a little sway and drift, as someone idling or shifting their weight. */
function idle(t: number, x0 = 0): FigureParams {
  return {
    ...STANDING,
    torsoLeanDeg: 3 * Math.sin(t / 800),
    upperArmDeg: 8 + 5 * Math.sin(t / 500),
    forearmDeg: 12 + 5 * Math.sin(t / 500),
    x: x0 + 0.3 * Math.sin(t / 1500),
  };
}

/** Lying, head towards +x (`direction` 1: face down) or −x (−1: face up), breathing slightly. */
function lying(direction: 1 | -1, t: number, x0 = 0): FigureParams {
  return {
    ...STANDING,
    tiltDeg: 90 * direction,
    thighDeg: 15,
    shinDeg: -10,
    upperArmDeg: 60,
    forearmDeg: 70,
    torsoLeanDeg: 1.5 * Math.sin(t / 600),
    x: x0,
  };
}

/** A person standing `standMs`, then going from standing to lying over `fallMs`, then lying. */
function fallMotion(standMs: number, fallMs: number, direction: 1 | -1) {
  return (t: number): FigureParams => {
    const w = ramp(t, standMs, fallMs);
    return w === 0 ? idle(t) : blend(idle(standMs), lying(direction, t), w);
  };
}

/** The largest drop of the (noise-free) hip centre within any `windowMs`, in torso lengths. */
function largestHipDrop(
  motion: (t: number) => FigureParams,
  durationMs: number,
  windowMs = 1000,
): number {
  const step = 10, hipY: number[] = [];
  for (let t = 0; t <= durationMs; t += step) {
    const k = figureKeypoints(motion(t));
    hipY.push((k[11][1] + k[12][1]) / 2);
  }
  let largest = 0;
  for (let i = 0; i < hipY.length; i++) {
    for (let j = i; j < hipY.length && (j - i) * step <= windowMs; j++) {
      largest = Math.max(largest, hipY[j] - hipY[i]);
    }
  }
  return largest;
}

/** Runs a detector over the frames; returns the statuses of the frames that confirmed a fall. */
function events(frames: readonly Frame[], detector = new FallDetector()) {
  const found: { t: number; status: FallStatus }[] = [];
  for (const f of frames) {
    const status = detector.update(f.pose, f.t);
    if (status.newFall) found.push({ t: f.t, status });
  }
  return { found, detector };
}

Deno.test("`FallDetector.update()` reports one fall, at the fall's time, after 2 s of lying still (one side or both)", () => {
  for (let trial = 0; trial < 10; trial++) {
    const rng = mulberry32(SEED + trial);
    const standMs = between(rng, 1500, 4000), fallMs = between(rng, 400, 800);
    const direction = rng() < 0.5 ? 1 : -1;
    const motion = fallMotion(standMs, fallMs, direction);
    assert.ok(largestHipDrop(motion, standMs + fallMs + 1000) > 1.2); // the premise: a sudden drop
    const fps = between(rng, 15, 30);
    const frames = renderSequence(
      motion,
      standMs + fallMs + 4000,
      fps,
      randomCamera(rng),
      rng,
      // Every third trial sees one side only (the far shoulder and hip hidden).
      trial % 3 === 0 ? { ...TEST_NOISE, occluded: ["right_shoulder", "right_hip"] } : TEST_NOISE,
    );
    const { found, detector } = events(frames);
    assert.equal(found.length, 1, `trial ${trial}: ${found.length} falls`);
    const [{ t, status }] = found;
    const end = standMs + fallMs;
    assert.ok(
      status.fallenAt! >= standMs && status.fallenAt! <= end + 100,
      `trial ${trial}: fall at ${status.fallenAt}, moved ${standMs}–${end}`,
    );
    assert.ok(
      t >= status.fallenAt! + 2000 && t <= end + 2000 + 300,
      `trial ${trial}: confirmed at ${t}, still from ${end}`,
    );
    assert.equal(detector.state, "fallen");
  }
});

Deno.test("`FallDetector.update()` reports nothing for sitting down, slowly or fast, and sitting still", () => {
  for (let trial = 0; trial < 6; trial++) {
    const rng = mulberry32(SEED + 100 + trial);
    const standMs = between(rng, 1000, 3000);
    const sitMs = trial % 2 === 0 ? between(rng, 1500, 3000) : between(rng, 300, 600); // slow, fast
    const seated: FigureParams = {
      ...STANDING,
      thighDeg: 90,
      shinDeg: between(rng, -10, 10),
      torsoLeanDeg: between(rng, -10, 20),
      upperArmDeg: 20,
      forearmDeg: 70,
    };
    const motion = (t: number) =>
      blend(idle(Math.min(t, standMs)), seated, ramp(t, standMs, sitMs));
    if (trial % 2 === 1) assert.ok(largestHipDrop(motion, standMs + sitMs + 1000) > 0.8); // fast: the drop alone would count
    const frames = renderAnywhere(motion, standMs + sitMs + 5000, rng);
    assert.equal(events(frames).found.length, 0, `trial ${trial}`);
  }
});

Deno.test("`FallDetector.update()` reports nothing for dropping into a crouch fast and holding it", () => {
  for (let trial = 0; trial < 4; trial++) {
    const rng = mulberry32(SEED + 150 + trial);
    const standMs = between(rng, 1000, 3000), downMs = between(rng, 300, 700);
    const crouch: FigureParams = {
      ...STANDING,
      thighDeg: 85,
      shinDeg: -35,
      torsoLeanDeg: between(rng, 35, 55),
      upperArmDeg: 70,
      forearmDeg: 80,
    };
    const motion = (t: number) =>
      blend(idle(Math.min(t, standMs)), crouch, ramp(t, standMs, downMs));
    assert.ok(largestHipDrop(motion, standMs + downMs + 1000) > 0.85); // the premise: a sudden drop
    const frames = renderAnywhere(motion, standMs + downMs + 5000, rng);
    assert.equal(events(frames).found.length, 0, `trial ${trial}`);
  }
});

Deno.test("`FallDetector.update()` reports nothing for bending over and staying bent", () => {
  for (let trial = 0; trial < 4; trial++) {
    const rng = mulberry32(SEED + 200 + trial);
    const standMs = between(rng, 1000, 3000), bendMs = between(rng, 400, 1500);
    const knees = between(rng, 0, 25);
    const bent: FigureParams = {
      ...STANDING,
      torsoLeanDeg: between(rng, 75, 100),
      thighDeg: knees,
      shinDeg: -knees,
      upperArmDeg: 100,
      forearmDeg: 100,
    };
    const motion = (t: number) =>
      t < standMs + bendMs + 4000
        ? blend(idle(Math.min(t, standMs)), bent, ramp(t, standMs, bendMs))
        : blend(bent, STANDING, ramp(t, standMs + bendMs + 4000, 1000));
    const frames = renderAnywhere(motion, standMs + bendMs + 6000, rng);
    assert.equal(events(frames).found.length, 0, `trial ${trial}`);
  }
});

Deno.test("`FallDetector.update()` reports nothing for lying down slowly (the fall's path over 5–8 s)", () => {
  for (let trial = 0; trial < 6; trial++) {
    const rng = mulberry32(SEED + 300 + trial);
    const standMs = between(rng, 1000, 3000), downMs = between(rng, 5000, 8000);
    const motion = fallMotion(standMs, downMs, rng() < 0.5 ? 1 : -1);
    const drop = largestHipDrop(motion, standMs + downMs);
    assert.ok(
      drop < 0.8,
      `premise: "slowly", largest drop in a second ${drop.toFixed(2)} torso lengths`,
    );
    const frames = renderAnywhere(motion, standMs + downMs + 5000, rng);
    assert.equal(events(frames).found.length, 0, `trial ${trial}`);
  }
});

Deno.test("`FallDetector.update()` reports nothing when the person keeps moving or gets up at once", () => {
  for (let trial = 0; trial < 6; trial++) {
    const rng = mulberry32(SEED + 400 + trial);
    const standMs = between(rng, 1500, 3000), fallMs = between(rng, 400, 800);
    const direction = rng() < 0.5 ? 1 : -1;
    const end = standMs + fallMs;
    const fall = fallMotion(standMs, fallMs, direction);
    const motion = trial % 2 === 0
      // rolling / crawling on the floor for 6 s, never still for 2 s
      ? (t: number) =>
        t < end ? fall(t) : { ...lying(direction, t), x: 0.8 * Math.sin((t - end) / 400) }
      // lying 1 s, then getting up over 1.5 s, then standing
      : (t: number) =>
        t < end + 1000 ? fall(t) : blend(lying(direction, t), idle(t), ramp(t, end + 1000, 1500));
    const frames = renderAnywhere(motion, end + 6000, rng);
    const { found, detector } = events(frames);
    assert.equal(found.length, 0, `trial ${trial}`);
    if (trial % 2 === 1) assert.equal(detector.state, "monitoring");
  }
});

Deno.test("`FallDetector.update()` reports two falls when the person got up in between", () => {
  const rng = mulberry32(SEED + 500);
  const first = fallMotion(2000, 600, 1);
  const motion = (t: number) => {
    if (t < 6000) return first(t); // falls at 2.0–2.6 s, lies still until 6 s
    if (t < 10_000) return blend(lying(1, t), idle(t), ramp(t, 6000, 2000)); // up by 8 s
    return blend(idle(10_000), lying(-1, t), ramp(t, 10_000, 500)); // falls again at 10.0–10.5 s
  };
  const frames = renderSequence(motion, 14_000, 25, randomCamera(rng), rng, TEST_NOISE);
  const { found } = events(frames);
  assert.equal(found.length, 2);
  assert.ok(found[0].status.fallenAt! >= 2000 && found[0].status.fallenAt! <= 2700);
  assert.ok(found[1].status.fallenAt! >= 10_000 && found[1].status.fallenAt! <= 10_600);
});

Deno.test("`FallDetector.update()` finds the same falls at any scale and offset", () => {
  for (let trial = 0; trial < 4; trial++) {
    const rng = mulberry32(SEED + 600 + trial);
    const standMs = between(rng, 1500, 3000), fallMs = between(rng, 400, 800);
    const fall = fallMotion(standMs, fallMs, trial % 2 === 0 ? 1 : -1);
    const sitMs = between(rng, 300, 600);
    const seated: FigureParams = { ...STANDING, thighDeg: 90, shinDeg: 0, torsoLeanDeg: 10 };
    const sit = (t: number) => blend(idle(Math.min(t, standMs)), seated, ramp(t, standMs, sitMs));
    const fps = between(rng, 15, 30), seed = SEED + 650 + trial;
    const cameras: Camera[] = [{ scale: 12, offsetX: -4000, offsetY: 9000 }, {
      scale: 1500,
      offsetX: 320,
      offsetY: 240,
    }];
    const times = (motion: (t: number) => FigureParams, camera: Camera) =>
      events(renderSequence(motion, standMs + 5000, fps, camera, mulberry32(seed), TEST_NOISE))
        .found.map((e) => [e.t, e.status.fallenAt]);
    const [small, large] = cameras.map((c) => times(fall, c));
    assert.equal(small.length, 1, `trial ${trial}`);
    assert.deepEqual(small, large);
    assert.deepEqual(cameras.map((c) => times(sit, c)), [[], []]);
  }
});

Deno.test("`FallDetector.update()` needs an upright torso first, and a lost person changes nothing", () => {
  const rng = mulberry32(SEED + 700);
  const camera = randomCamera(rng);
  // Already lying when the video starts: no body size yet, so no drop can be measured.
  const lyingOnly = renderSequence((t) => lying(1, t), 5000, 20, camera, rng, TEST_NOISE);
  const { found, detector } = events(lyingOnly);
  assert.equal(found.length, 0);
  assert.equal(detector.state, "unknown");
  assert.equal(detector.bodySize, undefined);
  // A fall seen only until the drop, then no person for 5 s: suspected, never confirmed.
  const frames = renderSequence(fallMotion(2000, 500, -1), 8000, 20, camera, rng, TEST_NOISE)
    .map((f) => (f.t > 2600 ? { ...f, pose: undefined } : f));
  const lost = events(frames);
  assert.equal(lost.found.length, 0);
  assert.equal(lost.detector.state, "suspected");
  assert.ok(
    Math.abs(lost.detector.bodySize! / camera.scale - 1) < 0.05,
    `body size ${lost.detector.bodySize} vs torso ${camera.scale}`,
  );
});

Deno.test("`FallDetector` rejects bad options, timestamps and poses with a message naming them", () => {
  assert.throws(
    () => new FallDetector({ uprightMaxDeg: 70, lyingMinDeg: 60 }),
    /uprightMaxDeg \(70\) must be below lyingMinDeg \(60\)/,
  );
  assert.throws(
    () => new FallDetector({ stillMs: -1 }),
    /stillMs must be a number in \[0, 600000\], got -1/,
  );
  assert.throws(
    () => new FallDetector({ minDropTorsoLengths: "1" as unknown as number }),
    /minDropTorsoLengths must be a number in \[0.01, 10\], got "1"/,
  );
  const detector = new FallDetector();
  detector.update(undefined, 0);
  assert.throws(
    () => detector.update(undefined, -5),
    /timestampMs must increase from frame to frame, got -5 after 0/,
  );
  assert.throws(() => detector.update(null as never, 10), /pose must be a DetectedPose/);
  detector.reset();
  assert.deepEqual(detector.update(undefined, -5), { state: "unknown", newFall: false });
});

/** The JSONL `pose video` writes for one untracked person. */
function jsonlOf(frames: readonly Frame[], id?: number): string[] {
  return frames.map((f, i) =>
    JSON.stringify({
      frame: i,
      timestampMs: f.t,
      poses: f.pose === undefined ? [] : [{ ...(id === undefined ? {} : { id }), ...f.pose }],
    })
  );
}

Deno.test("`runFallDetectorCli()` and the fall_detector command report the fall in a JSONL of poses", async () => {
  const rng = mulberry32(SEED + 800);
  const noise: Noise = { ...TEST_NOISE, missingFrame: 0 };
  const frames = renderSequence(fallMotion(2000, 500, 1), 6000, 20, randomCamera(rng), rng, noise);
  const text = jsonlOf(frames, 3).join("\n") + "\n";
  const out: string[] = [];
  const io = {
    stdout: (s: string) => void out.push(s),
    stderr: (s: string) => assert.fail(s),
    readTextFile: () => Promise.resolve(text),
  };
  assert.equal(await runFallDetectorCli(["poses.jsonl"], io), 0);
  const lines = out.join("").trimEnd().split("\n");
  assert.equal(lines.length, 2);
  assert.match(
    lines[0],
    /^\d+\.\d{3} s {2}person #3: fall at 2\.\d{3} s \(then still for 2000 ms\)$/,
  );
  assert.equal(lines[1], "1 fall");

  const dir = await tempDir();
  const good = join(dir, "poses.jsonl"), bad = join(dir, "bad.jsonl");
  await Deno.writeTextFile(good, jsonlOf(frames).join("\n"));
  await Deno.writeTextFile(bad, jsonlOf(frames.slice(0, 3)).join("\n") + "\n{not json\n");
  const script = new URL("../examples/fall_detector.ts", import.meta.url).pathname;
  const runIt = async (...args: string[]) => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", script, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: r.code,
      out: new TextDecoder().decode(r.stdout),
      err: new TextDecoder().decode(r.stderr),
    };
  };
  const ok = await runIt(good);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /person: fall at 2\.\d{3} s .*\n1 fall\n$/);
  const failed = await runIt(bad);
  assert.equal(failed.code, 1);
  assert.match(
    failed.err,
    new RegExp(`^fall_detector: ${bad.replaceAll(".", "\\.")}:4: not JSON \\(.*\\)\\n$`),
  );
  const usage = await runIt();
  assert.equal(usage.code, 2);
  assert.match(usage.err, /^fall_detector: give one JSONL file of poses\nusage: /);
});
