/// <reference lib="dom" />
/**
 * The demo page: a webcam, video file or photo, the poses of the chosen model drawn on a canvas,
 * frames per second, and the pose-matching game. Everything it fetches (the code, the weights,
 * the sample photo) comes from the page's own origin; `deno task web` builds it into `out/web/`.
 *
 * `window.poseTest` is the page's interface for the headless-Chromium test and bench
 * (`tests/browser_test.ts`, `bench/browser_bench.ts`).
 *
 * @module
 */

import {
  createDetector,
  createGpuContext,
  type DetectedPose,
  type FeatureLevel,
  type GpuContext,
  type PoseDetector,
} from "../mod.ts";
import { drawSkeletons, drawTarget } from "./draw_skeleton.ts";
import { type GamePose, PoseGame, poseSimilarity } from "./pose_game.ts";

/** The models the page offers, by the `model` select's values. */
const MODELS: Readonly<
  Record<string, { label: string; make(gpu: GpuContext): Promise<PoseDetector> }>
> = {
  "posenet": {
    label: "PoseNet",
    make: (context) =>
      createDetector("PoseNet", { modelUrl: "models/posenet.json", inputResolution: 257, context }),
  },
  "movenet-lightning": {
    label: "MoveNet Lightning",
    make: (context) =>
      createDetector("MoveNet", {
        modelType: "SinglePose.Lightning",
        modelUrl: "models/movenet-lightning.json",
        context,
      }),
  },
  "movenet-thunder": {
    label: "MoveNet Thunder",
    make: (context) =>
      createDetector("MoveNet", {
        modelType: "SinglePose.Thunder",
        modelUrl: "models/movenet-thunder.json",
        context,
      }),
  },
  // MoveNet MultiPose: the weights are served; the detector comes with createDetector's
  // "MultiPose.Lightning" model type.
  "movenet-multipose": {
    label: "MoveNet MultiPose",
    make: (context) =>
      createDetector("MoveNet", {
        modelType: "MultiPose.Lightning",
        modelUrl: "models/movenet-multipose.json",
        context,
      }),
  },
};

/** Adapter choice: `auto` is createGpuContext's default (core, else compatibility). */
type AdapterChoice = "auto" | FeatureLevel;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const view = $<HTMLCanvasElement>("view");
const viewContext = view.getContext("2d")!;
const video = $<HTMLVideoElement>("video");
const status = (text: string) => $("status").textContent = text;

let gpu: Promise<GpuContext> | undefined;
let gpuChoice: AdapterChoice | undefined;
const detectors = new Map<string, Promise<PoseDetector>>();

/** The GPU context for an adapter choice (made once; a new choice replaces it and its models). */
function gpuFor(choice: AdapterChoice): Promise<GpuContext> {
  if (gpu === undefined || gpuChoice !== choice) {
    const old = gpu;
    for (const d of detectors.values()) d.then((x) => x.dispose(), () => {});
    detectors.clear();
    old?.then((g) => g.destroy(), () => {});
    gpuChoice = choice;
    gpu = createGpuContext(choice === "auto" ? {} : { featureLevel: choice });
  }
  return gpu;
}

/** The detector of `model` on the chosen adapter, loaded once. */
function detectorFor(model: string, choice: AdapterChoice): Promise<PoseDetector> {
  const spec = MODELS[model];
  if (!spec) throw new Error(`unknown model ${JSON.stringify(model)}`);
  const context = gpuFor(choice);
  let detector = detectors.get(model);
  if (!detector) {
    detector = context.then((g) => spec.make(g));
    detector.catch(() => detectors.delete(model));
    detectors.set(model, detector);
  }
  return detector;
}

/** A frame's pixels: the source drawn into a canvas of its own size, read back as RGBA. */
const grab = new OffscreenCanvas(1, 1);
const grabContext = grab.getContext("2d", { willReadFrequently: true })!;
function pixelsOf(source: CanvasImageSource, width: number, height: number): ImageData {
  if (grab.width !== width || grab.height !== height) {
    grab.width = width;
    grab.height = height;
  }
  grabContext.drawImage(source, 0, 0);
  return grabContext.getImageData(0, 0, width, height);
}

/** Decodes an image URL exactly (PNG: lossless, no colour conversion) to RGBA. */
async function imageAt(url: string): Promise<{ bitmap: ImageBitmap; pixels: ImageData }> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status}`);
  const bitmap = await createImageBitmap(await response.blob(), {
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
  });
  return { bitmap, pixels: pixelsOf(bitmap, bitmap.width, bitmap.height) };
}

/** Draws the frame and its poses on the page's canvas. */
function show(source: CanvasImageSource, width: number, height: number, poses: DetectedPose[]) {
  if (view.width !== width || view.height !== height) {
    view.width = width;
    view.height = height;
  }
  viewContext.drawImage(source, 0, 0, width, height);
  drawSkeletons(viewContext, poses, { lineWidth: Math.max(2, Math.round(width / 160)) });
}

function choices(): { model: string; multi: boolean; adapter: AdapterChoice } {
  return {
    model: $<HTMLSelectElement>("model").value,
    multi: $<HTMLSelectElement>("poses").value === "multi",
    adapter: $<HTMLSelectElement>("adapter").value as AdapterChoice,
  };
}

// ---- The game ----
const game = new PoseGame();
let playing = false;
let customTarget: GamePose | undefined;
let lastPose: DetectedPose | undefined;
const targetCanvas = $<HTMLCanvasElement>("target");
const targetContext = targetCanvas.getContext("2d")!;

function showGame(now: number) {
  const state = game.state(now);
  const level = game.current;
  $("level").textContent = `${Math.min(state.level + 1, game.levels.length)}/${game.levels.length}`;
  $("levelName").textContent = state.over
    ? (state.won ? "all levels done!" : "time is up")
    : playing
    ? level!.name
    : "press Start";
  $("clock").textContent = playing ? state.secondsLeft.toFixed(1) : "–";
  $("match").textContent = `${Math.round(100 * state.similarity)}%`;
  $("points").textContent = String(state.points);
  const target = customTarget ?? level?.target;
  if (target) drawTarget(targetContext, target, targetCanvas.width, targetCanvas.height);
}

function scoreFrame(pose: DetectedPose | undefined, now: number) {
  lastPose = pose;
  if (customTarget) {
    $("match").textContent = pose
      ? `${Math.round(100 * poseSimilarity(customTarget, pose))}%`
      : "–";
    return;
  }
  if (!playing) return;
  const state = game.update(pose, now);
  if (state.over) playing = false;
  showGame(now);
}

$("start").onclick = () => {
  customTarget = undefined;
  playing = true;
  game.start(performance.now());
  showGame(performance.now());
};
$("capture").onclick = () => {
  if (!lastPose) return status("no pose seen yet to take as the target");
  customTarget = lastPose;
  playing = false;
  drawTarget(targetContext, customTarget, targetCanvas.width, targetCanvas.height);
};

// ---- The frame loop ----
let running = 0; // generation: a new source stops the old loop
let fps = 0;

async function runVideo() {
  const generation = ++running;
  let last = performance.now();
  while (generation === running && !video.paused) {
    const { model, multi, adapter } = choices();
    try {
      const detector = await detectorFor(model, adapter);
      const width = video.videoWidth;
      const height = video.videoHeight;
      if (width === 0 || height === 0) {
        await new Promise((r) => requestAnimationFrame(r));
        continue;
      }
      const now = performance.now();
      const poses = await detector.estimatePoses(
        pixelsOf(video, width, height),
        { maxPoses: multi ? 5 : 1 },
        now,
      );
      show(video, width, height, poses);
      scoreFrame(poses[0], now);
      const t = performance.now();
      fps = fps === 0 ? 1000 / (t - last) : 0.9 * fps + 0.1 * (1000 / (t - last));
      last = t;
      $("fps").textContent = `${fps.toFixed(1)} frames/s`;
      status(`${MODELS[model].label} on ${describeGpu(await gpuFor(adapter))}`);
    } catch (error) {
      status(String((error as Error)?.message ?? error));
      await new Promise((r) => setTimeout(r, 1000));
    }
    await new Promise((r) => requestAnimationFrame(r));
  }
}

function describeGpu(g: GpuContext): string {
  const { description, vendor, architecture, featureLevel, backend } = g.adapter;
  const name = [vendor, architecture, description].filter(Boolean).join(" ") ||
    "an unnamed adapter";
  return `${name} (${featureLevel}, ${backend})`;
}

async function playSource(src: string | MediaStream) {
  running++;
  video.pause();
  if (typeof src === "string") {
    video.srcObject = null;
    video.src = src;
  } else {
    video.srcObject = src;
  }
  await video.play();
  runVideo();
}

async function showStill(url: string) {
  running++;
  video.pause();
  const { model, multi, adapter } = choices();
  const { bitmap, pixels } = await imageAt(url);
  const detector = await detectorFor(model, adapter);
  const poses = await detector.estimatePoses(pixels, { maxPoses: multi ? 5 : 1 });
  show(bitmap, bitmap.width, bitmap.height, poses);
  scoreFrame(poses[0], performance.now());
  status(
    `${MODELS[model].label} on ${describeGpu(await gpuFor(adapter))}: ${poses.length} pose(s)`,
  );
}

$("webcam").onclick = async () => {
  try {
    await playSource(await navigator.mediaDevices.getUserMedia({ video: true }));
  } catch (error) {
    status(`no webcam: ${(error as Error).message}`);
  }
};
$<HTMLInputElement>("file").onchange = (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (!file) return;
  const url = URL.createObjectURL(file);
  (file.type.startsWith("image/") ? showStill(url) : playSource(url)).catch((e) =>
    status(String(e))
  );
};
$("sample").onclick = () => showStill("samples/portrait.jpg").catch((e) => status(String(e)));

// ---- The interface of the headless tests ----

/** What `poseTest.estimate` returns. */
interface EstimateResult {
  width: number;
  height: number;
  poses: DetectedPose[];
  ms: number;
}

const poseTest = {
  /** Chooses the adapter and model in the page's controls. */
  choose(model: string, multi: boolean, adapter: AdapterChoice) {
    $<HTMLSelectElement>("model").value = model;
    $<HTMLSelectElement>("poses").value = multi ? "multi" : "single";
    $<HTMLSelectElement>("adapter").value = adapter;
  },
  /** The adapter of a choice, as `GpuContext.adapter`. */
  async adapter(adapter: AdapterChoice) {
    return (await gpuFor(adapter)).adapter;
  },
  /** Poses of an image URL with the chosen model, drawn on the page's canvas. */
  async estimate(url: string): Promise<EstimateResult> {
    const { model, multi, adapter } = choices();
    const detector = await detectorFor(model, adapter);
    const { bitmap, pixels } = await imageAt(url);
    const t = performance.now();
    const poses = await detector.estimatePoses(pixels, { maxPoses: multi ? 5 : 1 });
    const ms = performance.now() - t;
    show(bitmap, bitmap.width, bitmap.height, poses);
    return { width: pixels.width, height: pixels.height, poses, ms };
  },
  /** The game's similarity of the first pose of `playerUrl` to the first pose of `targetUrl`. */
  async similarity(targetUrl: string, playerUrl: string): Promise<number> {
    const [target] = (await poseTest.estimate(targetUrl)).poses;
    const [player] = (await poseTest.estimate(playerUrl)).poses;
    if (!target || !player) throw new Error("no pose found in a game image");
    return poseSimilarity(target, player);
  },
  /**
   * Frames per second of the page's own frame path (draw the source into a canvas, read its
   * pixels, estimate, draw the frame and skeleton) over `frames` frames of an image, after one
   * warm-up frame.
   */
  async framesPerSecond(url: string, frames: number): Promise<number> {
    const { model, multi, adapter } = choices();
    const detector = await detectorFor(model, adapter);
    const { bitmap } = await imageAt(url);
    const once = async () => {
      const pixels = pixelsOf(bitmap, bitmap.width, bitmap.height);
      const poses = await detector.estimatePoses(pixels, { maxPoses: multi ? 5 : 1 });
      show(bitmap, bitmap.width, bitmap.height, poses);
    };
    await once();
    const t = performance.now();
    for (let i = 0; i < frames; i++) await once();
    const value = (1000 * frames) / (performance.now() - t);
    $("fps").textContent = `${value.toFixed(1)} frames/s`;
    return value;
  },
  /** Plays the game's first level against an image's pose and shows the panel. */
  async playLevelWith(url: string) {
    const { poses } = await poseTest.estimate(url);
    playing = true;
    customTarget = undefined;
    const now = performance.now();
    game.start(now);
    scoreFrame(poses[0], now + 1);
    showGame(now + 1);
    return game.state(now + 1);
  },
};
(globalThis as unknown as { poseTest: typeof poseTest }).poseTest = poseTest;

showGame(performance.now());
status("choose a source: Webcam, a video or image file, or the sample photo");
