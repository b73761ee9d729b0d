/**
 * The package in a real browser: the demo page built as `deno task web` builds it, served on
 * 127.0.0.1, run in Debian's headless Chromium (WebGPU compatibility mode on Mesa's lavapipe
 * through ANGLE) and driven over the DevTools protocol (`support/chromium.ts`). The page decodes
 * PNG fixtures itself (lossless, so it sees the same pixels as pngjs does here) and its keypoints
 * must equal this process's on Deno's WebGPU: PoseNet single and multi pose, MoveNet Lightning.
 * The game must score a matching pose above a mismatched one, a screenshot of the page with the
 * skeleton drawn is written to `out/browser_screenshot.png`, and the webcam loop must run on
 * Chromium's fake camera.
 *
 * Skipped, saying why, only where no Chromium is installed (`.ci/run` installs
 * `chromium-headless-shell` wherever Debian has it, and sets `POSENET_REQUIRE_BROWSER=1`, which
 * makes a missing browser a failure instead).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createDetector, type DetectedPose, type PoseDetector } from "../mod.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { decodeImage, encodePng, readImageFile } from "../cli/read_image.ts";
import { POSE_COLORS } from "../cli/draw_overlay.ts";
import { buildWeb } from "../web/build.ts";
import { serveStatic } from "../web/serve.ts";
import { CHROMIUM_WEBGPU_FLAGS, ChromiumPage, findChromium } from "./support/chromium.ts";
import { moduleTempDir } from "./support/temp_dir.ts";

const chromium = await findChromium();
if (!chromium && Deno.env.get("POSENET_REQUIRE_BROWSER") === "1") {
  throw new Error(
    "browser_test: POSENET_REQUIRE_BROWSER=1 (.ci/run installed chromium-headless-shell) but no " +
      "Chromium was found",
  );
}
if (!chromium) {
  console.warn(
    "browser_test: SKIPPED: no Chromium found (apt-get install -y chromium-headless-shell, or " +
      "set CHROMIUM_BIN)",
  );
}

const PHOTOS = new URL("./fixtures/photos/", import.meta.url);

/** Largest keypoint distance (px) and score difference allowed between the page and Deno. */
const MAX_PX = 1e-3;
const MAX_SCORE = 1e-5;

/** An RGBA image halved in each direction by 2x2 box averaging (a smaller fixture). */
function halve(image: { data: Uint8Array; width: number; height: number }) {
  const width = image.width >> 1;
  const height = image.height >> 1;
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 4; c++) {
        const at = (dy: number, dx: number) =>
          image.data[((2 * y + dy) * image.width + 2 * x + dx) * 4 + c];
        data[(y * width + x) * 4 + c] = (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1) + 2) >> 2;
      }
    }
  }
  return { data, width, height };
}

/** The image placed at (dx, dy) on a grey canvas of the given size: the same pose, moved. */
function placed(
  image: { data: Uint8Array; width: number; height: number },
  width: number,
  height: number,
  dx: number,
  dy: number,
) {
  const data = new Uint8Array(width * height * 4).fill(128);
  for (let y = 0; y < image.height; y++) {
    data.set(
      image.data.subarray(y * image.width * 4, (y + 1) * image.width * 4),
      ((y + dy) * width + dx) * 4,
    );
  }
  return { data, width, height };
}

/** Largest position and score differences between two pose lists of the same length. */
function differences(page: DetectedPose[], deno: DetectedPose[]) {
  assert.equal(page.length, deno.length, "number of poses");
  let px = 0;
  let score = 0;
  for (const [p, pose] of page.entries()) {
    score = Math.max(score, Math.abs(pose.score - deno[p].score));
    for (const [k, kp] of pose.keypoints.entries()) {
      const other = deno[p].keypoints[k];
      assert.equal(kp.name, other.name);
      px = Math.max(px, Math.hypot(kp.x - other.x, kp.y - other.y));
      score = Math.max(score, Math.abs(kp.score - other.score));
    }
  }
  return { px, score };
}

Deno.test({
  name: "the demo page in headless Chromium gives Deno's keypoints, scores the game, draws poses",
  ignore: chromium === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const { tempDir } = await moduleTempDir("browser-test-");
    const site = await tempDir();
    await buildWeb(site);
    // PNG fixtures: decoded here by pngjs and in the page by Chromium, losslessly.
    const fixtures: Record<string, { data: Uint8Array; width: number; height: number }> = {};
    const portrait = await readImageFile(new URL("single_portrait.jpg", PHOTOS).pathname);
    fixtures["portrait.png"] = portrait;
    fixtures["portrait_moved.png"] = placed(halve(portrait), 700, 500, 300, 120);
    fixtures["dress.png"] = halve(
      await readImageFile(new URL("single_green_dress_crop.jpg", PHOTOS).pathname),
    );
    fixtures["group.png"] = halve(
      await readImageFile(new URL("group4_standing.jpg", PHOTOS).pathname),
    );
    await Deno.mkdir(join(site, "fixtures"));
    for (const [name, image] of Object.entries(fixtures)) {
      await Deno.writeFile(
        join(site, "fixtures", name),
        encodePng(image.data, image.width, image.height),
      );
    }
    const decoded = async (name: string) =>
      decodeImage(await Deno.readFile(join(site, "fixtures", name)), name);

    const server = serveStatic(site);
    const page = await ChromiumPage.launch(chromium!, {
      // Chromium's own fake camera (a test pattern) for the page's webcam loop.
      flags: [
        ...CHROMIUM_WEBGPU_FLAGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
      ],
    });
    const deno = new Map<string, PoseDetector>();
    try {
      await page.goto(`http://127.0.0.1:${server.addr.port}/index.html`);
      const adapter = await page.evaluate<{ featureLevel: string; backend: string }>(
        `poseTest.adapter("compatibility")`,
      );
      assert.equal(adapter.featureLevel, "compatibility");
      assert.equal(adapter.backend, "browser");

      const cases = [
        { model: "posenet", multi: false, image: "portrait.png", adapter: "compatibility" },
        { model: "posenet", multi: false, image: "dress.png", adapter: "compatibility" },
        { model: "posenet", multi: true, image: "group.png", adapter: "compatibility" },
        {
          model: "movenet-lightning",
          multi: false,
          image: "portrait.png",
          adapter: "compatibility",
        },
        { model: "movenet-multipose", multi: true, image: "group.png", adapter: "compatibility" },
        // A plain request: SwiftShader here; the multi-pose shaders must compile on it too.
        { model: "posenet", multi: true, image: "group.png", adapter: "core" },
      ];
      for (const { model, multi, image, adapter } of cases) {
        const what = `${model} ${multi ? "multi" : "single"} pose on ${image}, ${adapter} adapter`;
        await t.step(what, async () => {
          await page.evaluate(`poseTest.choose(${JSON.stringify(model)}, ${multi}, "${adapter}")`);
          const { featureLevel } = await page.evaluate<{ featureLevel: string }>(
            `poseTest.adapter("${adapter}")`,
          );
          assert.equal(featureLevel, adapter);
          const result = await page.evaluate<{ poses: DetectedPose[]; ms: number }>(
            `poseTest.estimate("fixtures/${image}")`,
          );
          let detector = deno.get(model);
          if (!detector) {
            detector = model === "posenet"
              ? await createDetector("PoseNet", {
                modelUrl: await fetchDefaultWeights("posenet"),
                inputResolution: 257,
              })
              : model === "movenet-multipose"
              ? await createDetector("MoveNet", {
                modelType: "MultiPose.Lightning",
                modelUrl: await fetchDefaultWeights("movenet-multipose"),
              })
              : await createDetector("MoveNet", {
                modelType: "SinglePose.Lightning",
                modelUrl: await fetchDefaultWeights("movenet-lightning"),
              });
            deno.set(model, detector);
          }
          const expected = await detector.estimatePoses(await decoded(image), {
            maxPoses: multi ? 5 : 1,
          });
          assert.ok(expected.length >= (multi ? 2 : 1), `Deno found ${expected.length} poses`);
          const { px, score } = differences(result.poses, expected);
          console.log(
            `  ${expected.length} pose(s); page vs Deno: max ${px.toExponential(2)} px, ` +
              `score ${score.toExponential(2)}; ${result.ms.toFixed(0)} ms in the page`,
          );
          assert.ok(px <= MAX_PX, `keypoints differ by ${px} px`);
          assert.ok(score <= MAX_SCORE, `scores differ by ${score}`);
        });
      }

      await t.step(
        "the game scores the same pose, moved and smaller, above another pose",
        async () => {
          await page.evaluate(`poseTest.choose("posenet", false, "compatibility")`);
          const matching = await page.evaluate<number>(
            `poseTest.similarity("fixtures/portrait.png", "fixtures/portrait_moved.png")`,
          );
          const mismatched = await page.evaluate<number>(
            `poseTest.similarity("fixtures/portrait.png", "fixtures/dress.png")`,
          );
          console.log(
            `  similarity: matching ${matching.toFixed(3)}, mismatched ${mismatched.toFixed(3)}`,
          );
          assert.ok(matching > 0.9, `a moved copy of the pose scores only ${matching}`);
          assert.ok(
            matching > mismatched + 0.1,
            `matching ${matching} vs mismatched ${mismatched}`,
          );
        },
      );

      await t.step("a screenshot shows the frame with the skeleton drawn", async () => {
        await page.evaluate(`poseTest.choose("posenet", true, "compatibility")`);
        await page.evaluate(`poseTest.playLevelWith("fixtures/group.png")`);
        const png = await page.screenshot();
        await Deno.mkdir("out", { recursive: true });
        await Deno.writeFile("out/browser_screenshot.png", png);
        const shot = decodeImage(png, "screenshot");
        // The first pose's colour, exactly, inside its drawn bones.
        const [r, g, b] = POSE_COLORS[0];
        let coloured = 0;
        for (let i = 0; i < shot.data.length; i += 4) {
          if (shot.data[i] === r && shot.data[i + 1] === g && shot.data[i + 2] === b) coloured++;
        }
        console.log(
          `  out/browser_screenshot.png: ${shot.width}x${shot.height}, ${coloured} skeleton pixels`,
        );
        assert.ok(coloured > 500, `only ${coloured} pixels of the first pose's colour`);
      });

      await t.step("the webcam loop runs video frames and shows frames/s", async () => {
        await page.evaluate(`poseTest.choose("movenet-lightning", false, "compatibility")`);
        await page.evaluate(`document.getElementById("webcam").click()`);
        let shown = "";
        for (let i = 0; i < 120 && !/^[0-9.]+ frames\/s$/.test(shown); i++) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          shown = await page.evaluate<string>(`document.getElementById("fps").textContent`);
        }
        console.log(`  fake camera, MoveNet Lightning: ${shown}`);
        assert.match(shown, /^[0-9.]+ frames\/s$/);
        assert.ok(Number.parseFloat(shown) > 0);
      });
    } catch (error) {
      console.error(`page log:\n${page.log.join("\n")}`);
      throw error;
    } finally {
      for (const d of deno.values()) d.dispose();
      await page.close();
      await server.shutdown();
    }
  },
});
