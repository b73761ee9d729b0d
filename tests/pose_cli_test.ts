/**
 * Tests for the `pose` CLI (`cli/pose.ts`), run in-process with a fake model injected through
 * `io.loadModel`, plus one subprocess run that checks a real process prints one line and no stack
 * trace.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type PoseCliLoadConfig,
  type PoseCliModel,
  type PoseImage,
  runPoseCli,
  USAGE,
} from "../cli/pose.ts";
import { POSE_COLORS } from "../cli/draw_overlay.ts";
import { decodeImage, encodePng } from "../cli/read_image.ts";
import { PART_NAMES, type Pose } from "../decode/keypoints.ts";
import { DeviceLostError, InvalidInputError, ModelLoadError } from "../errors.ts";

const REPO = new URL("..", import.meta.url);
const PORTRAIT = new URL("fixtures/photos/single_portrait.jpg", import.meta.url).pathname;

/** A pose spread over the image: keypoint k at (w * (k + 1) / 18, h / 2 + k), score 0.9. */
function fakePose(width: number, height: number, shift = 0, score = 0.9): Pose {
  return {
    score: 0.77,
    keypoints: PART_NAMES.map((part, k) => ({
      part,
      score,
      position: { x: (width * (k + 1)) / 18 + shift, y: height / 2 + k + shift },
    })),
  };
}

interface FakeCalls {
  loads: PoseCliLoadConfig[];
  single: { image: PoseImage; config: unknown }[];
  multi: { image: PoseImage; config: unknown }[];
  disposed: number;
}

/** A fake loader with the `load()` contract, recording every call. */
function fakeLoader(
  behaviour: {
    loadError?: unknown;
    estimateError?: unknown;
    poses?: number;
    progress?: string[];
  } = {},
): { load: (config: PoseCliLoadConfig) => Promise<PoseCliModel>; calls: FakeCalls } {
  const calls: FakeCalls = { loads: [], single: [], multi: [], disposed: 0 };
  const load = (config: PoseCliLoadConfig): Promise<PoseCliModel> => {
    calls.loads.push(config);
    for (const line of behaviour.progress ?? []) config.onProgress?.(line);
    if (behaviour.loadError !== undefined) return Promise.reject(behaviour.loadError);
    const r = config.inputResolution ?? 257;
    const inputResolution = typeof r === "number" ? { width: r, height: r } : r;
    return Promise.resolve({
      inputResolution,
      outputStride: config.outputStride ?? 16,
      estimateSinglePose(image, cfg) {
        calls.single.push({ image, config: cfg });
        if (behaviour.estimateError !== undefined) return Promise.reject(behaviour.estimateError);
        return Promise.resolve(fakePose(image.width, image.height));
      },
      estimateMultiplePoses(image, cfg) {
        calls.multi.push({ image, config: cfg });
        if (behaviour.estimateError !== undefined) return Promise.reject(behaviour.estimateError);
        const n = behaviour.poses ?? 2;
        return Promise.resolve(
          Array.from({ length: n }, (_, i) => fakePose(image.width, image.height, i * 40)),
        );
      },
      dispose() {
        calls.disposed++;
      },
    });
  };
  return { load, calls };
}

/** Runs the CLI in-process and captures its output. */
async function run(
  args: string[],
  loader = fakeLoader(),
): Promise<{ code: number; stdout: string; stderr: string; calls: FakeCalls }> {
  let stdout = "", stderr = "";
  const code = await runPoseCli(args, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    loadModel: loader.load,
  });
  return { code, stdout, stderr, calls: loader.calls };
}

/** Asserts that `stderr` is exactly one line `pose: …` with no stack trace. */
function assertOneLine(stderr: string): string {
  assert.ok(stderr.endsWith("\n"), `stderr ends with a newline: ${JSON.stringify(stderr)}`);
  const lines = stderr.slice(0, -1).split("\n");
  assert.equal(lines.length, 1, `exactly one line: ${JSON.stringify(stderr)}`);
  assert.match(lines[0], /^pose: \S/);
  assert.doesNotMatch(lines[0], /\bat .*:\d+:\d+/, "no stack trace");
  return lines[0];
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pose_cli_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A small grey RGBA PNG file. */
async function writeGreyPng(path: string, width: number, height: number): Promise<void> {
  const rgba = new Uint8Array(width * height * 4).fill(128);
  await Deno.writeFile(path, encodePng(rgba, width, height));
}

Deno.test("pose CLI: prints one JSON object of the documented shape (single pose)", async () => {
  const { code, stdout, stderr, calls } = await run([PORTRAIT]);
  assert.equal(code, 0, stderr);
  assert.equal(stderr, "");
  const result = JSON.parse(stdout);
  assert.deepEqual(Object.keys(result), ["image", "inputResolution", "outputStride", "poses"]);
  assert.deepEqual(result.image, { width: 700, height: 700 });
  assert.equal(result.inputResolution, 257);
  assert.equal(result.outputStride, 16);
  assert.equal(result.poses.length, 1);
  const [pose] = result.poses;
  assert.deepEqual(Object.keys(pose), ["score", "keypoints"]);
  assert.equal(pose.score, 0.77);
  assert.equal(pose.keypoints.length, 17);
  assert.deepEqual(pose.keypoints.map((k: { part: string }) => k.part), [...PART_NAMES]);
  for (const k of pose.keypoints) {
    assert.deepEqual(Object.keys(k), ["part", "score", "position"]);
    assert.deepEqual(Object.keys(k.position), ["x", "y"]);
  }
  assert.deepEqual(pose.keypoints[0], {
    part: "nose",
    score: 0.9,
    position: { x: 700 / 18, y: 350 },
  });
  // The loader got the defaults and the model the decoded RGBA image.
  assert.equal(calls.loads.length, 1);
  assert.equal(calls.loads[0].inputResolution, 257);
  assert.equal(calls.loads[0].outputStride, 16);
  assert.equal(calls.loads[0].modelUrl, undefined);
  assert.equal(calls.single.length, 1);
  assert.equal(calls.multi.length, 0);
  assert.deepEqual(calls.single[0].config, { flipHorizontal: false });
  assert.equal(calls.single[0].image.data.length, 700 * 700 * 4);
  assert.equal(calls.disposed, 1);
});

Deno.test("pose CLI: --resolution, --stride, --flip and --model reach the model", async () => {
  const { code, stdout, stderr, calls } = await run([
    PORTRAIT,
    "--resolution",
    "353x257",
    "--stride=32",
    "--flip",
    "--model",
    "some/dir/model.json",
  ]);
  assert.equal(code, 0, stderr);
  const result = JSON.parse(stdout);
  assert.deepEqual(result.inputResolution, { width: 353, height: 257 });
  assert.equal(result.outputStride, 32);
  assert.deepEqual(calls.loads[0].inputResolution, { width: 353, height: 257 });
  assert.equal(calls.loads[0].outputStride, 32);
  assert.equal(calls.loads[0].modelUrl, "some/dir/model.json");
  assert.deepEqual(calls.single[0].config, { flipHorizontal: true });

  const url = await run([PORTRAIT, "--model", "https://example.com/posenet/model.json"]);
  assert.equal(url.code, 0);
  assert.ok(url.calls.loads[0].modelUrl instanceof URL);
  assert.equal(String(url.calls.loads[0].modelUrl), "https://example.com/posenet/model.json");
  // A square WxH is printed as a number.
  const square = await run([PORTRAIT, "--resolution", "513x513"]);
  assert.equal(JSON.parse(square.stdout).inputResolution, 513);
});

Deno.test("pose CLI: --multi runs multi-pose estimation with its options", async () => {
  const { code, stdout, stderr, calls } = await run(
    [
      PORTRAIT,
      "--multi",
      "--max-detections",
      "3",
      "--score-threshold",
      "0.25",
      "--nms-radius",
      "12.5",
    ],
    fakeLoader({ poses: 3 }),
  );
  assert.equal(code, 0, stderr);
  assert.equal(calls.single.length, 0);
  assert.equal(calls.multi.length, 1);
  assert.deepEqual(calls.multi[0].config, {
    flipHorizontal: false,
    maxDetections: 3,
    scoreThreshold: 0.25,
    nmsRadius: 12.5,
  });
  const result = JSON.parse(stdout);
  assert.equal(result.poses.length, 3);
  for (const pose of result.poses) assert.equal(pose.keypoints.length, 17);
  // Without the options the model's defaults apply (nothing is passed); no pose is valid JSON.
  const none = await run([PORTRAIT, "--multi"], fakeLoader({ poses: 0 }));
  assert.equal(none.code, 0);
  assert.deepEqual(none.calls.multi[0].config, { flipHorizontal: false });
  assert.deepEqual(JSON.parse(none.stdout).poses, []);
});

Deno.test("pose CLI: progress messages go to stderr, never stdout", async () => {
  const { code, stdout, stderr } = await run(
    [PORTRAIT],
    fakeLoader({ progress: ["downloading PoseNet weights… 50%"] }),
  );
  assert.equal(code, 0);
  assert.equal(stderr, "downloading PoseNet weights… 50%\n");
  JSON.parse(stdout);
});

Deno.test("pose CLI: --out writes an overlay PNG that decodes", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "in.png");
    await writeGreyPng(input, 180, 120);
    const out = join(dir, "nested", "overlay.png");
    const { code, stdout, stderr } = await run([input, "--multi", "--out", out]);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, `pose: overlay written to ${out}\n`);
    JSON.parse(stdout);
    const img = decodeImage(await Deno.readFile(out), out);
    assert.equal(img.width, 180);
    assert.equal(img.height, 120);
    // The first pose's nose (10, 60) is drawn in the first colour; a far corner is unchanged.
    const at = (x: number, y: number) =>
      Array.from(img.data.subarray((y * 180 + x) * 4, (y * 180 + x) * 4 + 4));
    assert.deepEqual(at(10, 60), [...POSE_COLORS[0], 255]);
    assert.deepEqual(at(0, 0), [128, 128, 128, 128]);
    // The second pose (shifted by 40 px) has the second colour.
    assert.deepEqual(at(50, 100), [...POSE_COLORS[1], 255]);
  });
});

Deno.test("pose CLI: with --flip the overlay is drawn on the mirrored image", async () => {
  await withTempDir(async (dir) => {
    // Left half black, right half white.
    const width = 90, height = 60;
    const rgba = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        rgba.fill(x < width / 2 ? 0 : 255, (y * width + x) * 4, (y * width + x) * 4 + 3);
        rgba[(y * width + x) * 4 + 3] = 255;
      }
    }
    const input = join(dir, "in.png");
    await Deno.writeFile(input, encodePng(rgba, width, height));
    const out = join(dir, "o.png");
    const { code, calls } = await run([input, "--flip", "--out", out]);
    assert.equal(code, 0);
    assert.deepEqual(calls.single[0].config, { flipHorizontal: true });
    const img = decodeImage(await Deno.readFile(out));
    assert.deepEqual(Array.from(img.data.subarray(0, 4)), [255, 255, 255, 255]);
    const last = (width - 1) * 4;
    assert.deepEqual(Array.from(img.data.subarray(last, last + 4)), [0, 0, 0, 255]);
  });
});

Deno.test("pose CLI: --min-score hides low-score keypoints in the overlay", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "in.png");
    await writeGreyPng(input, 90, 60);
    const out = join(dir, "o.png");
    const loader = fakeLoader();
    const { code } = await run([input, "--out", out, "--min-score", "0.95"], loader);
    assert.equal(code, 0);
    const img = decodeImage(await Deno.readFile(out));
    assert.ok(img.data.every((v) => v === 128), "nothing drawn: every score 0.9 < 0.95");
  });
});

Deno.test("pose CLI: a bad command line exits 2 with one line naming the option", async () => {
  const cases: [string[], RegExp][] = [
    [[], /missing the image/],
    [[PORTRAIT, "--bogus"], /unknown option --bogus/],
    [[PORTRAIT, "-x"], /unknown option -x/],
    [[PORTRAIT, PORTRAIT], /expected one image, got 2/],
    [[PORTRAIT, "--resolution"], /--resolution needs a value/],
    [[PORTRAIT, "--resolution", "abc"], /--resolution must be an integer, got "abc"/],
    [[PORTRAIT, "--resolution", "256.5"], /--resolution must be an integer/],
    [
      [PORTRAIT, "--resolution", "250"],
      /--resolution 250 is not valid with --stride 16.*241 or 257/,
    ],
    [[PORTRAIT, "--resolution", "9999"], /--resolution must be between 17 and 2049/],
    [[PORTRAIT, "--resolution", "257x1x1"], /--resolution must be R or WxH/],
    [[PORTRAIT, "--resolution", "257x250"], /--resolution height 250 is not valid/],
    [[PORTRAIT, "--stride", "12"], /--stride must be 8, 16 or 32, got 12/],
    [[PORTRAIT, "--stride", "-8"], /--stride must be an integer/],
    [[PORTRAIT, "--stride", "8", "--stride", "8"], /--stride is given twice/],
    [[PORTRAIT, "--flip=yes"], /--flip takes no value/],
    [[PORTRAIT, "--max-detections", "3"], /--max-detections needs --multi/],
    [[PORTRAIT, "--multi", "--max-detections", "0"], /--max-detections must be between 1 and/],
    [[PORTRAIT, "--multi", "--max-detections", "2.5"], /--max-detections must be an integer/],
    [
      [PORTRAIT, "--multi", "--score-threshold", "1.5"],
      /--score-threshold must be between 0 and 1/,
    ],
    [[PORTRAIT, "--multi", "--score-threshold", "x"], /--score-threshold must be a number/],
    [[PORTRAIT, "--multi", "--nms-radius", "0"], /--nms-radius must be positive/],
    [[PORTRAIT, "--multi", "--nms-radius", "Infinity"], /--nms-radius must be a number/],
    [[PORTRAIT, "--out", ""], /--out needs a file path/],
    [[PORTRAIT, "--min-score", "0.3"], /--min-score needs --out/],
    [[PORTRAIT, "--model="], /--model needs a path or URL/],
  ];
  for (const [args, message] of cases) {
    const { code, stdout, stderr, calls } = await run(args);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.equal(stdout, "");
    assert.match(assertOneLine(stderr), message);
    assert.equal(calls.loads.length, 0, "the model is not loaded");
  }
});

Deno.test("pose CLI: --help prints the usage on stdout and exits 0", async () => {
  for (const flag of ["--help", "-h"]) {
    const { code, stdout, stderr } = await run([flag]);
    assert.equal(code, 0);
    assert.equal(stdout, USAGE);
    assert.equal(stderr, "");
  }
  for (
    const option of [
      "--resolution",
      "--stride",
      "--flip",
      "--multi",
      "--max-detections",
      "--score-threshold",
      "--nms-radius",
      "--out",
      "--min-score",
      "--model",
    ]
  ) {
    assert.ok(USAGE.includes(option), option);
  }
});

Deno.test("pose CLI: a missing image file exits 1 with one line naming the path", async () => {
  const path = "/nonexistent/dir/photo.jpg";
  const { code, stdout, stderr, calls } = await run([path]);
  assert.equal(code, 1);
  assert.equal(stdout, "");
  const line = assertOneLine(stderr);
  assert.ok(line.includes(path), line);
  assert.equal(calls.loads.length, 0);
});

Deno.test("pose CLI: an undecodable file exits 1 with one line", async () => {
  await withTempDir(async (dir) => {
    const cases: [string, Uint8Array][] = [
      ["text.jpg", new TextEncoder().encode("this is not an image\n")],
      ["empty.png", new Uint8Array(0)],
      ["truncated.jpg", (await Deno.readFile(PORTRAIT)).subarray(0, 2000)],
    ];
    for (const [name, bytes] of cases) {
      const path = join(dir, name);
      await Deno.writeFile(path, bytes);
      const { code, stdout, stderr, calls } = await run([path]);
      assert.equal(code, 1, name);
      assert.equal(stdout, "");
      assert.ok(assertOneLine(stderr).includes(path), stderr);
      assert.equal(calls.loads.length, 0);
    }
    // A directory is not an image either.
    const { code, stderr } = await run([dir]);
    assert.equal(code, 1);
    assertOneLine(stderr);
  });
});

Deno.test("pose CLI: errors thrown by the model print one line and exit 1", async () => {
  const errors: [string, { loadError?: unknown; estimateError?: unknown }, RegExp][] = [
    [
      "load fails",
      {
        loadError: new ModelLoadError("model.json: weights shard group1-shard1of1.bin is missing"),
      },
      /^pose: model\.json: weights shard group1-shard1of1\.bin is missing$/,
    ],
    [
      "device lost, multi-line message",
      { estimateError: new DeviceLostError("the GPU device was lost:\n  reason: destroyed\n") },
      /^pose: the GPU device was lost: reason: destroyed$/,
    ],
    [
      "invalid input",
      { estimateError: new InvalidInputError("inputResolution 250 is not valid") },
      /^pose: inputResolution 250 is not valid$/,
    ],
    [
      "unexpected error",
      { estimateError: new TypeError("x is undefined") },
      /^pose: TypeError: x is undefined$/,
    ],
    ["a thrown string", { loadError: "boom" }, /^pose: boom$/],
  ];
  for (const [what, behaviour, message] of errors) {
    for (const multi of [false, true]) {
      const loader = fakeLoader(behaviour);
      const { code, stdout, stderr, calls } = await run(
        multi ? [PORTRAIT, "--multi"] : [PORTRAIT],
        loader,
      );
      assert.equal(code, 1, what);
      assert.equal(stdout, "", what);
      assert.match(assertOneLine(stderr), message, what);
      // A loaded model is disposed of even when estimation fails.
      assert.equal(calls.disposed, behaviour.loadError === undefined ? 1 : 0, what);
    }
  }
});

Deno.test("pose CLI: an unwritable --out path exits 1 with one line naming it", async () => {
  await withTempDir(async (dir) => {
    const blocker = join(dir, "file");
    await Deno.writeFile(blocker, new Uint8Array(1));
    const out = join(blocker, "overlay.png"); // a path below a regular file
    const { code, stderr } = await run([PORTRAIT, "--out", out]);
    assert.equal(code, 1);
    assert.ok(assertOneLine(stderr).includes(out), stderr);
  });
});

Deno.test("pose CLI (subprocess): a missing image prints one line on stderr and exits 1", async () => {
  const runCli = async (args: string[]) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", "cli/pose.ts", ...args],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    return {
      code: output.code,
      stdout: new TextDecoder().decode(output.stdout),
      stderr: new TextDecoder().decode(output.stderr),
    };
  };
  const missing = await runCli(["/nonexistent.jpg"]);
  assert.equal(missing.code, 1, missing.stderr);
  assert.equal(missing.stdout, "");
  assert.match(assertOneLine(missing.stderr), /^pose: \/nonexistent\.jpg: cannot read image file/);

  const usage = await runCli([PORTRAIT, "--stride", "7"]);
  assert.equal(usage.code, 2, usage.stderr);
  assert.equal(usage.stderr, "pose: --stride must be 8, 16 or 32, got 7\n");
});
