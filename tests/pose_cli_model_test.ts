/**
 * Tests for the `pose` CLI's model choice (`--model`, `--model-url`): parsing and its usage
 * errors, and MoveNet's output (JSON shape, keypoint names, overlay) through a fake
 * `PoseDetector` injected as `io.loadDetector`, next to a fake PoseNet as `io.loadModel`.
 */

import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import {
  parsePoseArgs,
  POSE_CLI_MODELS,
  type PoseCliDetectorConfig,
  type PoseCliLoadConfig,
  type PoseCliModel,
  type PoseCliOptions,
  runPoseCli,
  USAGE,
  UsageError,
} from "../cli/pose.ts";
import { poseFromDetected } from "../cli/_output.ts";
import { decodeImage, encodePng } from "../cli/read_image.ts";
import { PART_NAMES, type Pose } from "../decode/keypoints.ts";
import { DeviceLostError } from "../errors.ts";
import {
  COCO_KEYPOINTS,
  type DetectedPose,
  type PoseDetector,
} from "../detectors/detector_types.ts";
import { mulberry32, runSeed } from "./support/random.ts";
import { moduleTempDir } from "./support/temp_dir.ts";

const PORTRAIT = new URL("fixtures/photos/single_portrait.jpg", import.meta.url).pathname;
const rng = mulberry32(runSeed("pose_cli_model_test"));
const { tempDir } = await moduleTempDir("pose_cli_model_test_");

const MOVENET_SIDES = { "movenet-lightning": 192, "movenet-thunder": 256 } as const;
const MOVENET_TYPES = {
  "movenet-lightning": "SinglePose.Lightning",
  "movenet-thunder": "SinglePose.Thunder",
} as const;

/** A random MoveNet pose on a `width`×`height` image, keypoints in COCO order. */
function randomDetectedPose(width: number, height: number): DetectedPose {
  return {
    score: rng(),
    keypoints: COCO_KEYPOINTS.map((name) => ({
      x: rng() * width,
      y: rng() * height,
      score: rng(),
      name,
    })),
  };
}

interface Calls {
  detectorLoads: PoseCliDetectorConfig[];
  estimates: unknown[];
  posenetLoads: PoseCliLoadConfig[];
  disposed: number;
}

/** Fake loaders: a MoveNet detector returning `poses`, and a PoseNet that must not be used. */
function fakes(
  side: number,
  poses: readonly DetectedPose[],
  behaviour: { estimateError?: unknown; progress?: string } = {},
) {
  const calls: Calls = { detectorLoads: [], estimates: [], posenetLoads: [], disposed: 0 };
  const loadDetector = (config: PoseCliDetectorConfig): Promise<PoseDetector> => {
    calls.detectorLoads.push(config);
    if (behaviour.progress !== undefined) config.onProgress?.(behaviour.progress);
    return Promise.resolve({
      model: `MoveNet ${config.modelType}`,
      inputResolution: { width: side, height: side },
      estimatePoses(_image, estimation) {
        calls.estimates.push(estimation);
        if (behaviour.estimateError !== undefined) return Promise.reject(behaviour.estimateError);
        return Promise.resolve(poses.map((p) => structuredClone(p)));
      },
      reset() {},
      dispose() {
        calls.disposed++;
      },
    });
  };
  const loadModel = (config: PoseCliLoadConfig): Promise<PoseCliModel> => {
    calls.posenetLoads.push(config);
    return Promise.reject(new Error("PoseNet must not be loaded"));
  };
  return { loadDetector, loadModel, calls };
}

/** A fake PoseNet returning `pose` for single-pose estimation. */
function fakePoseNet(pose: Pose, loads: PoseCliLoadConfig[] = []) {
  return (config: PoseCliLoadConfig): Promise<PoseCliModel> => {
    loads.push(config);
    return Promise.resolve({
      inputResolution: { width: 257, height: 257 },
      outputStride: 16,
      estimateSinglePose: () => Promise.resolve(structuredClone(pose)),
      estimateMultiplePoses: () => Promise.resolve([]),
      dispose() {},
    });
  };
}

async function run(
  args: string[],
  loaders: Pick<ReturnType<typeof fakes>, "loadDetector" | "loadModel">,
  cwd?: string,
) {
  let stdout = "", stderr = "";
  const code = await runPoseCli(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    progress: (line) => void (stderr += `${line}\n`),
    loadDetector: loaders.loadDetector,
    loadModel: loaders.loadModel,
    ...(cwd === undefined ? {} : { cwd }),
  });
  return { code, stdout, stderr };
}

Deno.test("`parsePoseArgs()` takes model names, PoseNet model.json paths and URLs", () => {
  const parse = (...args: string[]) => parsePoseArgs(["a.jpg", ...args]) as PoseCliOptions;
  assert.deepEqual(POSE_CLI_MODELS, [
    "posenet",
    "movenet-lightning",
    "movenet-thunder",
    "movenet-multipose",
  ]);
  const plain = parse();
  assert.equal(plain.model, "posenet");
  assert.equal(plain.modelGiven, false);
  assert.equal(plain.modelUrl, undefined);
  assert.equal(plain.resolution, 257);
  assert.equal(plain.stride, 16);
  for (const model of POSE_CLI_MODELS) {
    const options = parse("--model", model);
    assert.equal(options.model, model);
    assert.equal(options.modelGiven, true);
    assert.equal(options.modelUrl, undefined);
    // PoseNet's network options exist only for PoseNet.
    assert.equal(options.resolution, model === "posenet" ? 257 : undefined, model);
    assert.equal(options.stride, model === "posenet" ? 16 : undefined, model);
    const custom = parse(`--model=${model}`, "--model-url", "w/m.json");
    assert.equal(custom.model, model);
    assert.equal(custom.modelUrl, "w/m.json");
  }
  // A path or URL is a PoseNet model.json, as before.
  for (const path of ["model.json", "d/weights", "C:\\w\\m", "https://x.org/m.json?v=2"]) {
    const options = parse("--model", path);
    assert.equal(options.model, "posenet", path);
    assert.equal(options.modelUrl, path);
  }
  // MoveNet keeps the options that apply to every model.
  const movenet = parse(
    "--model",
    "movenet-thunder",
    "--flip",
    "--out",
    "o.png",
    "--min-score",
    "0.3",
  );
  assert.deepEqual(
    [movenet.flip, movenet.out, movenet.minScore, movenet.multi],
    [true, "o.png", 0.3, false],
  );
});

Deno.test("`runPoseCli()` refuses a bad --model or --model-url with one line, exit 2", async () => {
  const cases: [string[], string][] = [
    [
      ["--model", "movenet"],
      `--model "movenet" is neither a model (posenet, movenet-lightning, movenet-thunder, ` +
      `movenet-multipose) nor a path or URL of a model.json`,
    ],
    [
      ["--model", "MoveNet-Lightning"],
      `--model "MoveNet-Lightning" is neither a model (posenet, movenet-lightning, ` +
      `movenet-thunder, movenet-multipose) nor a path or URL of a model.json`,
    ],
    [
      ["--model="],
      "--model needs a path or URL of a model.json, or a model name: posenet, " +
      "movenet-lightning, movenet-thunder, movenet-multipose",
    ],
    [["--model"], "--model needs a value"],
    [["--model-url="], "--model-url needs a path or URL"],
    [["--model", "movenet-thunder", "--model", "posenet"], "--model is given twice"],
    [
      ["--model", "some/model.json", "--model-url", "other/model.json"],
      "--model-url needs a model name for --model, not a path: --model some/model.json already " +
      "gives the weights",
    ],
  ];
  for (const [args, message] of cases) {
    const loaders = fakes(192, []);
    const { code, stdout, stderr } = await run([PORTRAIT, ...args], loaders);
    assert.equal(stderr, `pose: ${message}\n`, args.join(" "));
    assert.equal(code, 2);
    assert.equal(stdout, "");
    assert.equal(loaders.calls.detectorLoads.length + loaders.calls.posenetLoads.length, 0);
    assert.throws(() => parsePoseArgs([PORTRAIT, ...args]), UsageError);
  }
});

Deno.test("`runPoseCli()` refuses PoseNet-only options with MoveNet, naming both", async () => {
  const posenetOnly: [string, ...string[]][] = [
    ["--resolution", "257"],
    ["--stride", "16"],
    ["--multi"],
    ["--max-detections", "3"],
    ["--score-threshold", "0.5"],
    ["--nms-radius", "20"],
  ];
  for (const model of ["movenet-lightning", "movenet-thunder"] as const) {
    for (const option of posenetOnly) {
      const loaders = fakes(MOVENET_SIDES[model], []);
      // The option before and after --model, and with a value that would itself be wrong.
      for (
        const args of [
          [...option, "--model", model],
          ["--model", model, ...option],
          ["--model", model, option[0], ...(option.length > 1 ? ["-7"] : [])],
        ]
      ) {
        const { code, stdout, stderr } = await run([PORTRAIT, ...args], loaders);
        assert.equal(
          stderr,
          `pose: ${option[0]} does not apply to --model ${model} (PoseNet only)\n`,
          args.join(" "),
        );
        assert.equal(code, 2);
        assert.equal(stdout, "");
      }
      assert.equal(loaders.calls.detectorLoads.length + loaders.calls.posenetLoads.length, 0);
    }
  }
});

Deno.test("`runPoseCli()` prints MoveNet poses in PoseNet's JSON shape", async () => {
  for (const model of ["movenet-lightning", "movenet-thunder"] as const) {
    const side = MOVENET_SIDES[model];
    const pose = randomDetectedPose(700, 700);
    const loaders = fakes(side, [pose]);
    const { code, stdout, stderr } = await run([PORTRAIT, "--model", model], loaders);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
    const result = JSON.parse(stdout);
    assert.deepEqual(Object.keys(result), [
      "model",
      "image",
      "inputResolution",
      "outputStride",
      "poses",
    ]);
    assert.equal(result.model, model);
    assert.deepEqual(result.image, { width: 700, height: 700 });
    assert.equal(result.inputResolution, side);
    assert.equal(result.outputStride, 4);
    assert.equal(result.poses.length, 1);
    const [printed] = result.poses;
    assert.deepEqual(Object.keys(printed), ["score", "keypoints"]);
    assert.equal(printed.score, pose.score);
    // COCO names become PoseNet's parts one to one, in order; numbers are printed exactly.
    assert.deepEqual(printed.keypoints.map((k: { part: string }) => k.part), [...PART_NAMES]);
    printed.keypoints.forEach((k: Pose["keypoints"][number], i: number) => {
      assert.deepEqual(Object.keys(k), ["part", "score", "position"]);
      assert.deepEqual(Object.keys(k.position), ["x", "y"]);
      const from = pose.keypoints[i];
      assert.deepEqual([k.score, k.position.x, k.position.y], [from.score, from.x, from.y]);
    });
    // The detector was asked for the right model, once, with no PoseNet options, and disposed of.
    const { calls } = loaders;
    assert.equal(calls.posenetLoads.length, 0);
    assert.equal(calls.detectorLoads.length, 1);
    assert.deepEqual(Object.keys(calls.detectorLoads[0]).sort(), ["modelType", "onProgress"]);
    assert.equal(calls.detectorLoads[0].modelType, MOVENET_TYPES[model]);
    assert.deepEqual(calls.estimates, [{ flipHorizontal: false }]);
    assert.equal(calls.disposed, 1);
  }
});

Deno.test("`runPoseCli()` passes --flip, --model-url, --webgpu and progress to MoveNet", async () => {
  const cwd = await tempDir();
  const progress = "downloading MoveNet Thunder weights… 50%";
  const loaders = fakes(256, [], { progress });
  const args = ["--model", "movenet-thunder", "--flip", "--model-url", "w/thunder.json"];
  const first = await run([PORTRAIT, ...args, "--webgpu", "dawn"], loaders, cwd);
  assert.equal(first.code, 0, first.stderr);
  const [config] = loaders.calls.detectorLoads;
  assert.equal(config.modelUrl, resolve(cwd, "w/thunder.json"));
  assert.equal(config.provider, "dawn");
  assert.equal(first.stderr, `${progress}\n`);
  assert.deepEqual(loaders.calls.estimates, [{ flipHorizontal: true }]);
  // No pose found is valid JSON with no poses.
  assert.deepEqual(JSON.parse(first.stdout).poses, []);

  const url = "https://example.com/movenet/model.json";
  const second = await run([PORTRAIT, "--model", "movenet-lightning", "--model-url", url], loaders);
  assert.equal(second.code, 0, second.stderr);
  const urlConfig = loaders.calls.detectorLoads[1];
  assert.ok(urlConfig.modelUrl instanceof URL);
  assert.equal(String(urlConfig.modelUrl), url);
  assert.equal(urlConfig.provider, undefined);
  assert.equal(loaders.calls.disposed, 2);
});

Deno.test("`runPoseCli()` names the model in the JSON when --model is given", async () => {
  const pose = poseFromDetected(randomDetectedPose(700, 700));
  for (
    const [args, model] of [
      [["--model", "posenet"], "posenet"],
      [["--model", "some/dir/model.json"], "posenet"],
      [[], undefined],
    ] as const
  ) {
    const loads: PoseCliLoadConfig[] = [];
    const { code, stdout, stderr } = await run([PORTRAIT, ...args], {
      loadDetector: fakes(192, []).loadDetector,
      loadModel: fakePoseNet(pose, loads),
    });
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout);
    assert.equal(result.model, model, args.join(" "));
    assert.deepEqual(
      Object.keys(result),
      [...(model ? ["model"] : []), "image", "inputResolution", "outputStride", "poses"],
    );
    assert.deepEqual(result.poses, [pose]);
    assert.equal(loads[0].modelUrl, args[1] === "some/dir/model.json" ? args[1] : undefined);
  }
});

Deno.test("`runPoseCli()` draws a MoveNet pose as PoseNet's same pose", async () => {
  const dir = await tempDir();
  const width = 160, height = 120;
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = Math.floor(rng() * 256);
  const input = join(dir, "in.png");
  await Deno.writeFile(input, encodePng(rgba, width, height));
  // Scores above the drawing threshold, so every bone and keypoint is drawn.
  const detected = randomDetectedPose(width, height);
  const drawn = {
    ...detected,
    keypoints: detected.keypoints.map((k) => ({ ...k, score: 0.6 + 0.4 * k.score })),
  };
  for (const flip of [false, true]) {
    const extra = flip ? ["--flip"] : [];
    const movenetOut = join(dir, `movenet_${flip}.png`);
    const moved = await run(
      [input, "--model", "movenet-lightning", "--out", movenetOut, ...extra],
      fakes(192, [drawn]),
    );
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal(moved.stderr, `pose: overlay written to ${movenetOut}\n`);
    const posenetOut = join(dir, `posenet_${flip}.png`);
    const same = await run([input, "--out", posenetOut, ...extra], {
      loadDetector: fakes(192, []).loadDetector,
      loadModel: fakePoseNet(poseFromDetected(drawn)),
    });
    assert.equal(same.code, 0, same.stderr);
    const a = decodeImage(await Deno.readFile(movenetOut));
    const b = decodeImage(await Deno.readFile(posenetOut));
    // Compared as a count (a deepEqual diff of two images takes minutes to print).
    assert.equal(a.data.length, b.data.length);
    const differ = a.data.filter((v, i) => v !== b.data[i]).length;
    assert.equal(differ, 0, `flip ${flip}: ${differ} of ${a.data.length} bytes differ`);
    // Something was drawn: the overlay differs from the (possibly mirrored) input.
    assert.ok(a.data.some((v, i) => v !== rgba[i]));
  }
});

Deno.test("`runPoseCli()` prints a MoveNet failure as one line, exit 1, detector disposed", async () => {
  const loaders = fakes(192, [], {
    estimateError: new DeviceLostError("the GPU device was lost:\n  reason: destroyed"),
  });
  const { code, stdout, stderr } = await run([PORTRAIT, "--model", "movenet-lightning"], loaders);
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.equal(stderr, "pose: the GPU device was lost: reason: destroyed\n");
  assert.equal(loaders.calls.disposed, 1);

  const odd = randomDetectedPose(10, 10);
  const renamed = { ...odd, keypoints: [{ ...odd.keypoints[0], name: "nose_tip" }] };
  const bad = await run([PORTRAIT, "--model", "movenet-thunder"], fakes(256, [renamed]));
  assert.equal(bad.code, 1);
  assert.equal(
    bad.stderr,
    `pose: the detector gave a keypoint named "nose_tip", not COCO's\n`,
  );
});

Deno.test("`USAGE` lists the models and --model-url", () => {
  for (const model of POSE_CLI_MODELS) assert.ok(USAGE.includes(model), model);
  // Each option has its own line, at the start.
  assert.match(
    USAGE,
    /^ {2}--model NAME\|PATH {5}the model \(default posenet\):\n {24}posenet, movenet-lightning, /m,
  );
  assert.match(USAGE, /^ {2}--model-url PATH\|URL {2}custom weights /m);
  for (const line of USAGE.split("\n")) assert.ok(line.length <= 100, line);
});

Deno.test("`runPoseCli()` prints MoveNet MultiPose's poses, in order, each with its box", async () => {
  const poses = [randomDetectedPose(700, 700), randomDetectedPose(700, 700)].map((p, i) => ({
    ...p,
    box: { yMin: 0.1 * i, xMin: 0.2, yMax: 0.5, xMax: 0.9, width: 0.7, height: 0.5 - 0.1 * i },
  }));
  const loaders = fakes(256, poses);
  const { code, stdout, stderr } = await run([PORTRAIT, "--model", "movenet-multipose"], loaders);
  assert.equal(code, 0, stderr);
  const result = JSON.parse(stdout);
  assert.equal(result.model, "movenet-multipose");
  assert.equal(loaders.calls.detectorLoads[0].modelType, "MultiPose.Lightning");
  assert.equal(result.poses.length, 2);
  result.poses.forEach((printed: { score: number; box: unknown }, i: number) => {
    assert.deepEqual(Object.keys(printed), ["score", "keypoints", "box"]);
    assert.equal(printed.score, poses[i].score);
    assert.deepEqual(printed.box, poses[i].box);
  });
  assert.equal(loaders.calls.disposed, 1);
});
