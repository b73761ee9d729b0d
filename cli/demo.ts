/**
 * `deno task demo`: runs the `pose` CLI on two of the test photos and writes overlays.
 *
 * 1. Single-pose on `tests/fixtures/photos/single_portrait.jpg` → `out/demo_single.png`.
 * 2. Multi-pose on `tests/fixtures/photos/group4_standing.jpg` → `out/demo_overlay.png`.
 * 3. MoveNet Lightning on the portrait → `out/demo_movenet.png` (keypoints scored ≥ 0.3 drawn).
 *
 * stdout gets one JSON object `{"single": <pose CLI output>, "multi": <pose CLI output>}`; stderr
 * says which photo each is and where the overlays went. The model is loaded once for both runs
 * (they use the same resolution and stride). Errors print one line `demo: <message>` (or the
 * CLI's `pose: <message>`) and exit with 1.
 *
 * @module
 */

import {
  errorLine,
  type PoseCliLoadConfig,
  type PoseCliModel,
  processIo,
  runPoseCli,
} from "./pose.ts";

const PHOTOS = "tests/fixtures/photos";

/** The demo's runs: a name (the key in the JSON output) and the `pose` CLI arguments. */
export const DEMO_RUNS: readonly { readonly name: string; readonly args: readonly string[] }[] = [
  {
    name: "single",
    args: [`${PHOTOS}/single_portrait.jpg`, "--out", "out/demo_single.png"],
  },
  {
    name: "multi",
    args: [`${PHOTOS}/group4_standing.jpg`, "--multi", "--out", "out/demo_overlay.png"],
  },
  {
    name: "movenet",
    args: [
      `${PHOTOS}/single_portrait.jpg`,
      "--model",
      "movenet-lightning",
      "--min-score",
      "0.3",
      "--out",
      "out/demo_movenet.png",
    ],
  },
];

/** `mod.ts`'s `load()`, imported lazily. */
async function defaultLoad(config: PoseCliLoadConfig): Promise<PoseCliModel> {
  const { load } = await import("../mod.ts");
  return await load(config);
}

/**
 * Runs the demo.
 *
 * @param load The model loader (default: `mod.ts`'s `load()`).
 * @returns The exit code.
 */
export async function runDemo(
  load: (config: PoseCliLoadConfig) => Promise<PoseCliModel> = defaultLoad,
): Promise<number> {
  const io = processIo();
  // One model for every run: the CLI disposes of what its loader returns, so it gets a view
  // whose dispose() does nothing, and the real one is disposed of at the end.
  const models = new Map<string, PoseCliModel>();
  const sharedLoad = async (config: PoseCliLoadConfig): Promise<PoseCliModel> => {
    const key = JSON.stringify([
      config.inputResolution,
      config.outputStride,
      String(config.modelUrl),
    ]);
    let model = models.get(key);
    if (!model) {
      model = await load(config);
      models.set(key, model);
    }
    const shared = model;
    return {
      get inputResolution() {
        return shared.inputResolution;
      },
      get outputStride() {
        return shared.outputStride;
      },
      estimateSinglePose: (image, cfg) => shared.estimateSinglePose(image, cfg),
      estimateMultiplePoses: (image, cfg) => shared.estimateMultiplePoses(image, cfg),
      dispose: () => {},
    };
  };
  const results: string[] = [];
  try {
    for (const run of DEMO_RUNS) {
      io.stderr(`demo: ${run.name}-pose estimation on ${run.args[0]}\n`);
      let captured = "";
      const started = performance.now();
      const code = await runPoseCli(run.args, {
        stdout: (text) => {
          captured += text;
        },
        stderr: io.stderr,
        progress: io.progress,
        loadModel: sharedLoad,
      });
      if (code !== 0) return code;
      JSON.parse(captured); // the CLI printed one valid JSON object
      const indented = captured.trimEnd().replaceAll("\n", "\n  ");
      results.push(`  ${JSON.stringify(run.name)}: ${indented}`);
      io.stderr(`demo: ${run.name} done in ${Math.round(performance.now() - started)} ms\n`);
    }
    await io.stdout(`{\n${results.join(",\n")}\n}\n`);
    return 0;
  } catch (err) {
    io.stderr(`demo: ${errorLine(err)}\n`);
    return 1;
  } finally {
    for (const model of models.values()) {
      try {
        model.dispose();
      } catch {
        // ignore
      }
    }
  }
}

if (import.meta.main) {
  Deno.exit(await runDemo());
}
