/**
 * The pure parts of `pose video`: the progress line (`cli/_progress.ts`), the JSON line and the
 * colour of each track (`cli/_video_output.ts`), the argument rules (`cli/_video_args.ts`) and the
 * bounded pipeline of frames in flight (`cli/_frame_pipeline.ts`), with no ffmpeg and no GPU.
 */

import assert from "node:assert/strict";
import { clockText, formatProgress, frameProgress } from "../cli/_progress.ts";
import { createTrackColoring, jsonlLine, jsonlRecord } from "../cli/_video_output.ts";
import { drawPoses, POSE_COLORS } from "../cli/draw_overlay.ts";
import { parseVideoArgs, type VideoCliOptions } from "../cli/_video_args.ts";
import { UsageError } from "../cli/_args.ts";
import { runFramePipeline } from "../cli/_frame_pipeline.ts";
import { COCO_KEYPOINTS, type DetectedPose } from "../detectors/detector_types.ts";

/** A random pose (17 keypoints) with optional id and box. */
function randomPose(extra: Partial<DetectedPose> = {}): DetectedPose {
  return {
    score: Math.random(),
    keypoints: COCO_KEYPOINTS.map((name) => ({
      x: Math.random() * 640,
      y: Math.random() * 480,
      score: Math.random(),
      name,
    })),
    ...extra,
  };
}

Deno.test("`formatProgress()` shows done/total, a 20-cell bar, the mean rate and the time left", () => {
  assert.equal(
    formatProgress({ done: 30, total: 120, elapsedMs: 2500 }),
    "frames 30/120 [#####---------------]  25%  12.0 frames/s  ETA 0:08",
  );
  assert.equal(
    formatProgress({ done: 120, total: 120, elapsedMs: 60_000 }),
    "frames 120/120 [####################] 100%  2.0 frames/s  ETA 0:00",
  );
  // More frames than the container said (a variable-rate file): the bar stops at full.
  assert.match(formatProgress({ done: 130, total: 120, elapsedMs: 1000 }), /\[#{20}\] 100%/);
  assert.equal(formatProgress({ done: 7, elapsedMs: 2000 }), "frames 7  3.5 frames/s");
  assert.equal(formatProgress({ done: 0, total: 10, elapsedMs: 0 }).endsWith("ETA ?"), true);
  assert.equal(clockText(59.01), "1:00");
  assert.equal(clockText(3600 + 61), "1:01:01");
});

Deno.test("`frameProgress()` rewrites the line on a terminal, and writes plain lines every 10 s otherwise", () => {
  let t = 0;
  const tty: string[] = [];
  const ended: string[] = [];
  const onTerminal = frameProgress(
    { tty: true, progress: (m) => void tty.push(m), write: (m) => void ended.push(m) },
    100,
    () => t,
  );
  for (let i = 1; i <= 100; i++) (t += 10, onTerminal.update(i));
  onTerminal.end(100);
  // Every 100 ms of 1 s, plus the final state; then the line is ended.
  assert.equal(tty.length, 11);
  assert.match(tty.at(-1)!, /^frames 100\/100 .* 100\.0 frames\/s/);
  assert.deepEqual(ended, [""]);

  t = 0;
  const plain: string[] = [];
  const piped = frameProgress(
    { tty: false, progress: (m) => void plain.push(m), write: () => assert.fail("no write") },
    undefined,
    () => t,
  );
  for (let i = 1; i <= 250; i++) (t += 100, piped.update(i));
  piped.end(250);
  assert.deepEqual(plain, ["frames 100  10.0 frames/s", "frames 200  10.0 frames/s"]);

  // A slow first frame (the GPU pipelines compile) does not drag the rate down.
  t = 0;
  const slowStart: string[] = [];
  const warm = frameProgress(
    { tty: false, progress: (m) => void slowStart.push(m), write: () => {} },
    300,
    () => t,
  );
  t = 8000;
  warm.update(1);
  for (let i = 2; i <= 300; i++) (t += 100, warm.update(i));
  assert.deepEqual(slowStart, [
    "frames 21/300 [#-------------------]   7%  10.0 frames/s  ETA 0:28",
    "frames 121/300 [########------------]  40%  10.0 frames/s  ETA 0:18",
    "frames 221/300 [###############-----]  73%  10.0 frames/s  ETA 0:08",
  ]);
});

Deno.test("`jsonlRecord()` keeps every keypoint and writes `id` and `box` only when the pose has them", () => {
  const box = { xMin: 0.1, yMin: 0.2, xMax: 0.5, yMax: 0.9, width: 0.4, height: 0.7 };
  const tracked = randomPose({ id: 7, box });
  const plain = randomPose();
  const record = jsonlRecord(12, 400.5, [tracked, plain]);
  const parsed = JSON.parse(jsonlLine(record));
  assert.equal(jsonlLine(record).endsWith("}\n"), true);
  assert.equal(jsonlLine(record).indexOf("\n"), jsonlLine(record).length - 1);
  assert.deepEqual(Object.keys(parsed), ["frame", "timestampMs", "poses"]);
  assert.equal(parsed.frame, 12);
  assert.equal(parsed.timestampMs, 400.5);
  assert.deepEqual(Object.keys(parsed.poses[0]), ["id", "score", "box", "keypoints"]);
  assert.deepEqual(Object.keys(parsed.poses[1]), ["score", "keypoints"]);
  assert.deepEqual(parsed.poses[0].box, box);
  for (const [i, pose] of [tracked, plain].entries()) {
    assert.equal(parsed.poses[i].score, pose.score);
    assert.deepEqual(
      parsed.poses[i].keypoints,
      pose.keypoints.map((k) => ({ name: k.name, x: k.x, y: k.y, score: k.score })),
    );
  }
  assert.deepEqual(JSON.parse(jsonlLine(jsonlRecord(0, 0, []))), {
    frame: 0,
    timestampMs: 0,
    poses: [],
  });
});

Deno.test("`createTrackColoring()` keeps a track's colour and gives tracks on screen together different ones", () => {
  const n = POSE_COLORS.length;
  const colorsFor = createTrackColoring(3);
  // 1 and 9 (alike mod 8) get different colours; each keeps its own wherever it is in the list.
  const [a, b] = colorsFor([randomPose({ id: 1 }), randomPose({ id: 9 })]);
  assert.notEqual(a, b);
  assert.deepEqual(colorsFor([randomPose({ id: 9 }), randomPose({ id: 1 })]), [b, a]);
  // A new track avoids the live ones' colours, for up to 8 tracks at once.
  const eight = colorsFor([1, 9, 17, 25, 33, 41, 49, 57].map((id) => randomPose({ id })));
  assert.equal(new Set(eight).size, n);
  assert.deepEqual(eight.slice(0, 2), [a, b]);
  // A ninth shares the least recently used colour rather than failing.
  assert.ok(POSE_COLORS.includes(colorsFor([randomPose({ id: 99 })])[0]));
  // A track missing for more than 3 frames gives its colour back; one missing for fewer keeps it.
  colorsFor([randomPose({ id: 1 })]);
  for (let f = 0; f < 3; f++) colorsFor([]);
  assert.equal(colorsFor([randomPose({ id: 1 })])[0], a);
  for (let f = 0; f < 4; f++) colorsFor([]);
  const again = colorsFor([randomPose({ id: 2 }), randomPose({ id: 1 })]);
  assert.equal(again.length, 2);
  assert.notEqual(again[0], again[1]);
  // Poses without an id: by their index.
  assert.deepEqual(
    colorsFor([randomPose(), randomPose(), randomPose()]),
    POSE_COLORS.slice(0, 3),
  );
});

Deno.test("`drawPoses()` draws each pose in the colour `colors` gives it", () => {
  const size = 64;
  const pose = (x: number) => ({
    score: 1,
    keypoints: [
      { part: "leftShoulder", score: 0.9, position: { x, y: 10 } },
      { part: "leftElbow", score: 0.9, position: { x, y: 50 } },
    ],
  });
  const image = { data: new Uint8Array(size * size * 4), width: size, height: size };
  const colors = [POSE_COLORS[5], POSE_COLORS[2]];
  const drawn = drawPoses(image, [pose(16), pose(48)], { colors, lineWidth: 4 });
  const at = (x: number, y: number) =>
    Array.from(drawn.subarray((y * size + x) * 4, (y * size + x) * 4 + 3));
  assert.deepEqual(at(16, 30), [...colors[0]]);
  assert.deepEqual(at(48, 30), [...colors[1]]);
  // Without `colors`: by index.
  const plain = drawPoses(image, [pose(16), pose(48)], { lineWidth: 4 });
  assert.deepEqual(Array.from(plain.subarray((30 * size + 48) * 4, (30 * size + 48) * 4 + 3)), [
    ...POSE_COLORS[1],
  ]);
});

Deno.test("`parseVideoArgs()` takes the defaults and names the option of each mistake", () => {
  const options = parseVideoArgs(["in.mp4"]) as VideoCliOptions;
  assert.deepEqual(options, {
    input: "in.mp4",
    model: "movenet-lightning",
    inFlight: 4,
    minScore: 0.3,
  });
  assert.deepEqual(
    parseVideoArgs([
      "a.mkv",
      "--model",
      "posenet",
      "--max-poses",
      "3",
      "--jsonl",
      "-",
      "--in-flight",
      "1",
    ]),
    { input: "a.mkv", model: "posenet", inFlight: 1, minScore: 0.3, maxPoses: 3 },
  );
  assert.deepEqual(
    parseVideoArgs([
      "a.mp4",
      "--model",
      "movenet-multipose",
      "--max-dimension",
      "512",
      "--frames",
      "9",
    ]),
    {
      input: "a.mp4",
      model: "movenet-multipose",
      inFlight: 4,
      minScore: 0.3,
      frames: 9,
      maxDimension: 512,
    },
  );
  assert.equal(parseVideoArgs(["-h"]), "help");
  const cases: [string[], RegExp][] = [
    [[], /missing the video/],
    [["a.mp4", "b.mp4"], /expected one video, got 2/],
    [["a.mp4", "--in-flight", "0"], /--in-flight must be between 1 and 16, got 0/],
    [["a.mp4", "--in-flight", "two"], /--in-flight must be an integer/],
    [["a.mp4", "--model", "blazepose"], /--model must be one of posenet, movenet-lightning/],
    [["a.mp4", "--max-poses", "2"], /--max-poses does not apply to --model movenet-lightning/],
    [["a.mp4", "--min-score", "0.5"], /--min-score needs --out/],
    [["a.mp4", "--out", "o.mp4", "--min-score", "2"], /--min-score must be between 0 and 1/],
    [["a.mp4", "--webgpu", "metal"], /--webgpu:/],
    [["a.mp4", "--frames", "0"], /--frames must be between 1 and/],
    [["a.mp4", "--max-dimension", "512"], /--max-dimension is for --model movenet-multipose/],
    [
      ["a.mp4", "--model", "movenet-multipose", "--max-dimension", "500"],
      /--max-dimension must be a multiple of 32 from 32 to 1024/,
    ],
    [["a.mp4", "--fps", "3"], /unknown option --fps/],
    [["a.mp4", "--out"], /--out needs a value/],
    [["a.mp4", "--out", "x", "--out", "y"], /--out is given twice/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseVideoArgs(args), (err: unknown) => {
      assert.ok(err instanceof UsageError, `${args.join(" ")}: ${err}`);
      assert.match(err.message, message);
      return true;
    });
  }
});

/** A pipeline over `count` frames whose work takes random turns; records the order of events. */
function tracedPipeline(
  count: number,
  failAt?: { stage: "read" | "start" | "finish"; index: number },
  slowFinish = false,
) {
  const events: string[] = [];
  let read = 0;
  let open = 0;
  let mostOpen = 0;
  const tick = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
  const settled: number[] = [];
  return {
    events,
    settled,
    mostOpen: () => mostOpen,
    stages: {
      read: async () => {
        if (!slowFinish) await tick();
        if (failAt?.stage === "read" && read === failAt.index) throw new Error("read failed");
        if (read === count) return undefined;
        open++;
        mostOpen = Math.max(mostOpen, open);
        events.push(`read ${read}`);
        return { index: read++, pixels: Math.random() };
      },
      start: async (frame: { index: number; pixels: number }, index: number) => {
        assert.equal(frame.index, index);
        events.push(`start ${index}`);
        await tick();
        settled.push(index);
        if (failAt?.stage === "start" && index === failAt.index) throw new Error("start failed");
        return frame.pixels * 2;
      },
      finish: async (frame: { index: number; pixels: number }, result: number, index: number) => {
        assert.equal(frame.index, index);
        assert.equal(result, frame.pixels * 2);
        await (slowFinish ? new Promise((resolve) => setTimeout(resolve, 2)) : tick());
        if (failAt?.stage === "finish" && index === failAt.index) throw new Error("finish failed");
        events.push(`finish ${index}`);
        open--;
      },
    },
  };
}

Deno.test("`runFramePipeline()` finishes every frame in order with at most `inFlight` in flight", async () => {
  for (
    const [inFlight, slowFinish] of [[1, false], [2, false], [5, false], [1, true], [
      5,
      true,
    ]] as const
  ) {
    const traced = tracedPipeline(23, undefined, slowFinish);
    const result = await runFramePipeline(traced.stages, { inFlight });
    assert.deepEqual(result, { finished: 23, stopped: false });
    const finishes = traced.events.filter((e) => e.startsWith("finish"));
    assert.deepEqual(finishes, Array.from({ length: 23 }, (_, i) => `finish ${i}`));
    assert.equal(traced.mostOpen() <= inFlight, true, `inFlight ${inFlight}: ${traced.mostOpen()}`);
    if (inFlight === 1) {
      // One in flight: frame i + 1 is read only after frame i is finished.
      for (let i = 0; i + 1 < 23; i++) {
        assert.ok(traced.events.indexOf(`finish ${i}`) < traced.events.indexOf(`read ${i + 1}`));
      }
    } else if (slowFinish) {
      // Several, and finishing is the slow stage: reading runs ahead to fill every slot.
      assert.equal(traced.mostOpen(), inFlight);
    }
  }
});

Deno.test("`runFramePipeline()` stops at the first error after every started frame has settled", async () => {
  for (const stage of ["read", "start", "finish"] as const) {
    const traced = tracedPipeline(30, { stage, index: 6 });
    await assert.rejects(
      runFramePipeline(traced.stages, { inFlight: 4 }),
      new RegExp(`${stage} failed`),
    );
    const started = traced.events.filter((e) => e.startsWith("start")).length;
    assert.equal(traced.settled.length, started, `${stage}: a started frame was still running`);
    const finished = traced.events.filter((e) => e.startsWith("finish")).length;
    assert.equal(finished <= 6, true, `${stage}: ${finished} finished`);
  }
});

Deno.test("`runFramePipeline()` stops after the frame being finished when its signal aborts", async () => {
  const traced = tracedPipeline(1000);
  const stop = new AbortController();
  const stages = {
    ...traced.stages,
    finish: async (frame: { index: number; pixels: number }, result: number, index: number) => {
      await traced.stages.finish(frame, result, index);
      if (index === 9) stop.abort();
    },
  };
  const result = await runFramePipeline(stages, { inFlight: 3, signal: stop.signal });
  assert.deepEqual(result, { finished: 10, stopped: true });
  const started = traced.events.filter((e) => e.startsWith("start")).length;
  assert.equal(traced.settled.length, started);
  assert.equal(started <= 13, true);
});
