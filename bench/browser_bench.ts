/**
 * Frames per second of the demo page in headless Chromium (`deno task web`'s build, served on
 * 127.0.0.1), on its two adapters on a GPU-less machine: WebGPU compatibility mode (ANGLE on
 * Mesa's lavapipe) and a plain request (SwiftShader). The page's own frame path is timed: draw
 * the photo into a canvas, read its pixels, estimate, draw the frame and skeleton.
 *
 *   deno run -A bench/browser_bench.ts [--frames 20]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { buildWeb } from "../web/build.ts";
import { serveStatic } from "../web/serve.ts";
import { ChromiumPage, findChromium } from "../tests/support/chromium.ts";

const { values } = parseArgs({ options: { frames: { type: "string", default: "20" } } });
const frames = Number(values.frames);
const chromium = await findChromium();
if (!chromium) throw new Error("no Chromium: apt-get install -y chromium-headless-shell");
const site = await Deno.makeTempDir({ prefix: "browser-bench-" });
await buildWeb(site);
const server = serveStatic(site);
const page = await ChromiumPage.launch(chromium);
try {
  await page.goto(`http://127.0.0.1:${server.addr.port}/index.html`);
  for (const adapter of ["compatibility", "core"]) {
    const info = await page.evaluate<Record<string, string>>(`poseTest.adapter("${adapter}")`);
    const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(" ") ||
      "(unnamed: ANGLE)";
    for (
      const [model, multi] of [
        ["posenet", false],
        ["posenet", true],
        ["movenet-lightning", false],
        ["movenet-thunder", false],
      ] as const
    ) {
      await page.evaluate(`poseTest.choose("${model}", ${multi}, "${adapter}")`);
      const fps = await page.evaluate<number>(
        `poseTest.framesPerSecond("samples/portrait.jpg", ${frames})`,
        600_000,
      );
      console.log(
        `${adapter.padEnd(13)} ${name.padEnd(20)} ${model}${multi ? " multi" : ""}: ` +
          `${fps.toFixed(1)} frames/s (${(1000 / fps).toFixed(0)} ms)`,
      );
    }
  }
} finally {
  await page.close();
  await server.shutdown();
  await Deno.remove(site, { recursive: true });
}
