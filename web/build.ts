/**
 * `deno task web`: builds the demo page into static files (default `out/web/`): `index.html`, the
 * page's code bundled for the browser (`app.js` and the chunks loaded only when used), the weights
 * of every model (`models/*.json`, `*.bin`, copied from the weights cache, downloaded once if
 * missing) and a sample photo. Everything the page fetches is in that folder, so any static
 * server (`deno task web:serve`) serves it from one origin.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename, dirname, join } from "node:path";
import { DEFAULT_MODELS, fetchDefaultWeights } from "../models/default_weights.ts";

const HERE = new URL(".", import.meta.url);

/**
 * Builds the page into `outDir`.
 *
 * @param outDir The folder to write (created; its old contents are replaced).
 * @returns The files written, relative to `outDir`.
 */
export async function buildWeb(outDir: string): Promise<string[]> {
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(join(outDir, "models"), { recursive: true });
  await Deno.mkdir(join(outDir, "samples"), { recursive: true });
  const bundle = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--code-splitting",
      "--outdir",
      outDir,
      new URL("app.ts", HERE).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!bundle.success) {
    throw new Error(`deno bundle failed:\n${new TextDecoder().decode(bundle.stderr)}`);
  }
  await Deno.copyFile(new URL("index.html", HERE), join(outDir, "index.html"));
  await Deno.copyFile(
    new URL("../tests/fixtures/photos/single_portrait.jpg", HERE),
    join(outDir, "samples", "portrait.jpg"),
  );
  for (const model of DEFAULT_MODELS) {
    const json = await fetchDefaultWeights(model);
    for (const file of [json, json.replace(/\.json$/, ".bin")]) {
      await Deno.copyFile(file, join(outDir, "models", basename(file)));
    }
  }
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(join(outDir, dir))) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory) await walk(path);
      else files.push(path);
    }
  };
  await walk("");
  return files.sort();
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: "string", default: "out/web" } } });
  const files = await buildWeb(values.out);
  let bytes = 0;
  for (const f of files) bytes += (await Deno.stat(join(values.out, f))).size;
  console.log(
    `built ${files.length} files (${(bytes / 1e6).toFixed(1)} MB) into ${values.out}/: ` +
      files.filter((f) => dirname(f) === ".").join(", ") + ", models/, samples/",
  );
  console.log(`serve it with: deno task web:serve (http://127.0.0.1:8000/)`);
}
