/**
 * `pose video` end to end, as a subprocess on small synthetic clips that ffmpeg makes from a test
 * photo (a pan and zoom over `single_portrait.jpg`): the JSONL has one line per frame with
 * increasing timestamps, and its poses equal those of `estimatePoses` run here on the same frames
 * (decoded by ffmpeg directly, not by the CLI's decoder) with the same timestamps, whatever the
 * number of frames in flight; the annotated MP4 has as many frames, the same size and the poses
 * drawn; each bad input gives one line; Ctrl-C leaves a valid JSONL of the finished frames.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createDetector } from "../detectors/pose_detector.ts";
import { moduleTempDir } from "./support/temp_dir.ts";

const REPO = new URL("..", import.meta.url).pathname;
const PORTRAIT = join(REPO, "tests/fixtures/photos/single_portrait.jpg");
const { tempDir } = await moduleTempDir("posenet_video_cli_");
const dir = await tempDir();
const SIZE = 160;
const FRAMES = 12;
const RATE = 10;

/** Runs a command to the end; its exit code and text. */
async function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(command, { args, env, stdin: "null" }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** A clip of `frames` frames panning and zooming over the portrait. */
async function makeClip(path: string, frames: number, size: number): Promise<void> {
  const { code, stderr } = await run("ffmpeg", [
    ...["-v", "error", "-y", "-loop", "1", "-i", PORTRAIT],
    ...["-vf", `crop='600-6*n':'600-6*n':'4*n':'3*n',scale=${size}:${size}`, "-r", String(RATE)],
    ...["-frames:v", String(frames), "-c:v", "libx264", "-pix_fmt", "yuv420p", path],
  ]);
  assert.equal(code, 0, stderr);
}

/** The CLI as a subprocess, with the permissions of `deno task pose`. */
const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-net=registry.npmjs.org",
  "--allow-run=ffmpeg,ffprobe",
];
function poseVideo(args: string[], env: Record<string, string> = {}) {
  return run(Deno.execPath(), [
    "run",
    "-q",
    ...PERMISSIONS,
    join(REPO, "cli/pose.ts"),
    "video",
    ...args,
  ], env);
}

/** Decodes a video to RGBA frames with ffmpeg itself. */
async function decodeFrames(path: string, width: number, height: number): Promise<Uint8Array[]> {
  const out = await new Deno.Command("ffmpeg", {
    args: ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const bytes = width * height * 4;
  assert.equal(out.stdout.length % bytes, 0);
  return Array.from(
    { length: out.stdout.length / bytes },
    (_, i) => out.stdout.slice(i * bytes, (i + 1) * bytes),
  );
}

/** ffprobe's frame count, size, codec and pixel format of a video's first stream. */
async function probe(path: string) {
  const { code, stdout, stderr } = await run("ffprobe", [
    ...["-v", "error", "-count_frames", "-select_streams", "v:0"],
    ...[
      "-show_entries",
      "stream=nb_read_frames,width,height,codec_name,pix_fmt",
      "-of",
      "json",
      path,
    ],
  ]);
  assert.equal(code, 0, stderr);
  const [s] = JSON.parse(stdout).streams;
  return {
    frames: Number(s.nb_read_frames),
    width: s.width,
    height: s.height,
    codec: s.codec_name,
    pixFmt: s.pix_fmt,
  };
}

/** The JSON lines of a file, checking that every line is complete. */
async function readJsonl(path: string) {
  const text = await Deno.readTextFile(path);
  assert.ok(text === "" || text.endsWith("\n"), "the JSONL ends inside a line");
  return text.split("\n").filter((l) => l !== "").map((line) => JSON.parse(line));
}

// The video command needs ffmpeg (CI installs it): say so instead of a spawn error.
await run("ffmpeg", ["-version"]).catch((err) => {
  throw new Error(
    `tests/video_cli_test.ts needs ffmpeg and ffprobe: apt-get install ffmpeg (${err})`,
  );
});
const clip = join(dir, "clip.mp4");
await makeClip(clip, FRAMES, SIZE);

Deno.test("`pose video` writes one JSON line per frame, equal to estimatePoses on the same frames, and an annotated MP4", async () => {
  const expected = await (async () => {
    const frames = await decodeFrames(clip, SIZE, SIZE);
    assert.equal(frames.length, FRAMES);
    const detector = await createDetector("MoveNet", { modelType: "SinglePose.Lightning" });
    try {
      const lines = [];
      for (const [i, data] of frames.entries()) {
        const timestampMs = (i * 1000) / RATE;
        const poses = await detector.estimatePoses(
          { data, width: SIZE, height: SIZE },
          {},
          timestampMs,
        );
        lines.push({ frame: i, timestampMs, poses: JSON.parse(JSON.stringify(poses)) });
      }
      return lines;
    } finally {
      detector.dispose();
    }
  })();
  assert.ok(expected.some((l) => l.poses.length > 0), "the portrait gives poses");

  for (const inFlight of ["1", "4"]) {
    const out = join(dir, `annotated_${inFlight}.mp4`);
    const jsonl = join(dir, `poses_${inFlight}.jsonl`);
    const { code, stderr } = await poseVideo([
      clip,
      "--out",
      out,
      "--jsonl",
      jsonl,
      "--in-flight",
      inFlight,
    ]);
    assert.equal(code, 0, stderr);
    assert.match(
      stderr,
      new RegExp(`^pose video: ${FRAMES} frames in [\\d.]+ s \\([\\d.]+ frames/s\\); wrote .*\\n$`),
    );
    const lines = await readJsonl(jsonl);
    assert.equal(lines.length, FRAMES);
    for (let i = 1; i < lines.length; i++) {
      assert.ok(lines[i].timestampMs > lines[i - 1].timestampMs);
    }
    // Exactly the detector's poses (a JSON round trip keeps every double), keypoints renamed
    // nowhere, in frame order.
    const shaped = expected.map((l) => ({
      ...l,
      poses: l.poses.map((
        p: { score: number; keypoints: { name: string; x: number; y: number; score: number }[] },
      ) => ({
        score: p.score,
        keypoints: p.keypoints.map((k) => ({ name: k.name, x: k.x, y: k.y, score: k.score })),
      })),
    }));
    assert.deepEqual(lines, shaped, `--in-flight ${inFlight}`);
    if (inFlight === "4") {
      // --frames: only the first frames, the same lines.
      const some = join(dir, "first_frames.jsonl");
      const first = await poseVideo([clip, "--jsonl", some, "--frames", "5"]);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(await readJsonl(some), shaped.slice(0, 5));
    }

    assert.deepEqual(await probe(out), {
      frames: FRAMES,
      width: SIZE,
      height: SIZE,
      codec: "h264",
      pixFmt: "yuv420p",
    });
    // The poses are drawn: annotated frames differ from the input where the skeleton is.
    const original = await decodeFrames(clip, SIZE, SIZE);
    const annotated = await decodeFrames(out, SIZE, SIZE);
    const changed = (a: Uint8Array, b: Uint8Array) => {
      let n = 0;
      for (let p = 0; p < a.length; p += 4) {
        if (Math.abs(a[p] - b[p]) + Math.abs(a[p + 1] - b[p + 1]) > 120) n++;
      }
      return n;
    };
    for (const [i, line] of lines.entries()) {
      const n = changed(original[i], annotated[i]);
      if (line.poses.length > 0) assert.ok(n > 50, `frame ${i}: only ${n} pixels changed`);
      else assert.ok(n < 20, `frame ${i}: no pose, yet ${n} pixels changed`);
    }
  }
});

Deno.test("`pose video` writes the JSON lines to stdout without --jsonl", async () => {
  const { code, stdout, stderr } = await poseVideo([clip, "--model", "movenet-lightning"]);
  assert.equal(code, 0, stderr);
  const lines = stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.frame), Array.from({ length: FRAMES }, (_, i) => i));
});

Deno.test("`pose video` gives one line for each bad input", async () => {
  const text = join(dir, "notes.txt");
  await Deno.writeTextFile(text, "not a video\n".repeat(20));
  const audio = join(dir, "tone.m4a");
  assert.equal(
    (await run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=0.5", audio]))
      .code,
    0,
  );
  const noTools = await tempDir();
  const cases: [string[], Record<string, string>, number, RegExp][] = [
    [[join(dir, "missing.mp4")], {}, 1, /^pose video: .*missing\.mp4: no such file$/],
    [
      [text],
      {},
      1,
      /^pose video: .*notes\.txt: not a video ffmpeg can read \(Invalid data found when processing input\)$/,
    ],
    [[audio], {}, 1, /^pose video: .*tone\.m4a: has no video stream$/],
    [[PORTRAIT], {}, 1, /^pose video: .*single_portrait\.jpg: is a still image, not a video/],
    [[dir], {}, 1, /^pose video: .*: is a directory, not a video$/],
    [[clip, "--out", dir], {}, 1, /^pose video: .*: cannot write the video: IsADirectory/],
    [[clip], { PATH: noTools }, 1, /^pose video: ffprobe not found: .*apt-get install ffmpeg/],
    [
      [clip, "--in-flight", "0"],
      {},
      2,
      /^pose video: --in-flight must be between 1 and 16, got 0$/,
    ],
    [[clip, "--model", "nope"], {}, 2, /^pose video: --model must be one of /],
    [[], {}, 2, /^pose video: missing the video argument/],
  ];
  for (const [args, env, expectedCode, message] of cases) {
    const { code, stdout, stderr } = await poseVideo(args, env);
    assert.equal(code, expectedCode, `${args.join(" ")}: ${stderr}`);
    assert.equal(stdout, "", args.join(" "));
    const lines = stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, `${args.join(" ")}: ${stderr}`);
    assert.match(lines[0], message);
  }
});

Deno.test("`pose video` stopped by SIGINT leaves a valid JSONL of the frames it finished and a readable MP4", async () => {
  const long = join(dir, "long.mp4");
  await makeClip(long, 90, 96);
  const jsonl = join(dir, "interrupted.jsonl");
  const out = join(dir, "interrupted.mp4");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      ...PERMISSIONS,
      join(REPO, "cli/pose.ts"),
      "video",
      long,
      "--out",
      out,
      "--jsonl",
      jsonl,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  // Wait for a few finished frames, then interrupt.
  for (let waited = 0;; waited += 50) {
    const done = await Deno.readTextFile(jsonl).then((t) => t.split("\n").length - 1, () => 0);
    if (done >= 3) break;
    assert.ok(waited < 60_000, "no frames after 60 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill("SIGINT");
  const status = await child.status;
  const message = await stderr;
  assert.equal(status.code, 130, message);
  const lines = await readJsonl(jsonl);
  assert.ok(lines.length >= 3 && lines.length < 90, `${lines.length} lines`);
  assert.deepEqual(lines.map((l) => l.frame), lines.map((_, i) => i));
  assert.equal(
    message,
    `pose video: interrupted after ${lines.length} frames; ${out} and ${jsonl} hold them\n`,
  );
  const video = await probe(out);
  assert.equal(video.frames, lines.length);
});
