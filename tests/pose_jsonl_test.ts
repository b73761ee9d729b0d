/**
 * Tests for the example applications' command-line plumbing: the JSONL reader
 * (`examples/_pose_jsonl.ts`) and the shared runner (`examples/_jsonl_app.ts`).
 */

import assert from "node:assert/strict";
import { InvalidInputError } from "../mod.ts";
import { parsePoseJsonl, poseTracks } from "../examples/_pose_jsonl.ts";
import { type JsonlApp, numberFlag, runJsonlApp } from "../examples/_jsonl_app.ts";

const line = (t: number, poses: unknown = []) =>
  JSON.stringify({ frame: t, timestampMs: t, poses });

Deno.test("`parsePoseJsonl()` reads frames, ids and keypoints, skipping blank lines", () => {
  const keypoints = [{ name: "nose", x: 1.5, y: 2, score: 0.9 }, {
    name: "left_eye",
    x: null,
    y: null,
    score: null,
  }];
  const text = `${line(0)}\n\n${line(40, [{ id: 3, score: 0.7, keypoints }])}\r\n`;
  const frames = parsePoseJsonl(text, "p.jsonl");
  assert.equal(frames.length, 2);
  assert.deepEqual(frames[0], { frame: 0, timestampMs: 0, poses: [] });
  const [pose] = frames[1].poses;
  assert.equal(pose.id, 3);
  assert.deepEqual(pose.keypoints[0], { name: "nose", x: 1.5, y: 2, score: 0.9 });
  assert.ok(Number.isNaN(pose.keypoints[1].x) && Number.isNaN(pose.keypoints[1].score)); // null: not seen
});

Deno.test("`parsePoseJsonl()` names the file, the line and the field that is wrong", () => {
  const cases: [string, RegExp][] = [
    [`${line(0)}\n[1]`, /^p\.jsonl:2: a line must be a JSON object$/],
    [`${line(0)}\n{"timestampMs":`, /^p\.jsonl:2: not JSON \(/],
    [
      `${line(10)}\n${line(10)}`,
      /^p\.jsonl:2: timestampMs 10 is not after the previous frame's 10$/,
    ],
    ['{"timestampMs":0}', /^p\.jsonl:1: poses must be an array$/],
    [
      '{"timestampMs":0,"frame":-1,"poses":[]}',
      /^p\.jsonl:1: frame must be a non-negative integer$/,
    ],
    [line(0, [{ score: 1 }]), /^p\.jsonl:1: poses\[0\]\.keypoints must be an array$/],
    [
      line(0, [{ score: 1, id: "a", keypoints: [] }]),
      /^p\.jsonl:1: poses\[0\]\.id must be an integer$/,
    ],
    [
      line(0, [{ score: 1, keypoints: [{ name: 3, x: 0, y: 0, score: 1 }] }]),
      /poses\[0\]\.keypoints\[0\]\.name must be a string$/,
    ],
    [
      line(0, [{ score: 1, keypoints: [{ name: "nose", x: "1", y: 0, score: 1 }] }]),
      /poses\[0\]\.keypoints\[0\]\.x must be a number$/,
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parsePoseJsonl(text, "p.jsonl"),
      (e: unknown) => e instanceof InvalidInputError && message.test(e.message),
      text,
    );
  }
});

Deno.test("`poseTracks()` keys tracked poses by id and the best untracked pose as one person", () => {
  const tracks = poseTracks([
    { score: 0.2, keypoints: [] },
    { id: 9, score: 0.1, keypoints: [] },
    { score: 0.6, keypoints: [] },
    { id: 2, score: 0.9, keypoints: [] },
  ]);
  assert.deepEqual([...tracks].map(([k, p]) => [k, p.score]), [["person", 0.6], ["#9", 0.1], [
    "#2",
    0.9,
  ]]);
  assert.equal(poseTracks([]).size, 0);
});

Deno.test("`runJsonlApp()` feeds each person every frame from their first on, and reports usage errors", async () => {
  const seen: string[] = [];
  const app: JsonlApp<string[]> = {
    command: "probe",
    usage: "usage: probe FILE\n",
    flags: ["k"],
    make: (flags) => {
      numberFlag(flags, "k");
      return () => [];
    },
    step: (log, pose, t, who) => {
      log.push(`${t}:${pose === undefined ? "-" : "+"}`);
      return pose === undefined ? undefined : `${who} seen`;
    },
    summary: (trackers) => [...trackers].map(([who, log]) => `${who} ${log.join(",")}`),
  };
  const text = [
    line(0, [{ id: 1, score: 1, keypoints: [] }]),
    line(500, [{ id: 2, score: 1, keypoints: [] }]),
    line(1000),
  ].join("\n");
  const io = {
    stdout: (s: string) => void seen.push(s),
    stderr: (s: string) => void seen.push(`ERR ${s}`),
    readTextFile: () => Promise.resolve(text),
  };
  assert.equal(await runJsonlApp(app, ["f", "--k", "2"], io), 0);
  assert.deepEqual(seen, [
    "0.000 s  person #1 seen\n",
    "0.500 s  person #2 seen\n",
    "person #1 0:+,500:-,1000:-\n",
    "person #2 500:+,1000:-\n",
  ]);
  seen.length = 0;
  assert.equal(await runJsonlApp(app, ["f", "--k", "two"], io), 1);
  assert.deepEqual(seen, ['ERR probe: --k must be a number, got "two"\n']);
  seen.length = 0;
  assert.equal(await runJsonlApp(app, ["f", "--nope"], io), 2);
  assert.match(seen[0], /^ERR probe: Unknown option '--nope'.*\nusage: probe FILE\n$/s);
  seen.length = 0;
  assert.equal(await runJsonlApp(app, [], io), 2);
  assert.equal(seen[0], "ERR probe: give one JSONL file of poses\nusage: probe FILE\n");
  seen.length = 0;
  assert.equal(await runJsonlApp(app, ["--help"], io), 0);
  assert.deepEqual(seen, ["usage: probe FILE\n"]);
  seen.length = 0;
  assert.equal(
    await runJsonlApp(app, ["f"], { ...io, readTextFile: () => Promise.resolve(line(0)) }),
    0,
  );
  assert.deepEqual(seen, ["no person in any frame\n"]);
});
