/**
 * The published package works when imported from a URL: the files `deno publish` would ship are
 * served over HTTP from a temporary directory, and a fresh Deno process (empty `DENO_DIR`, no
 * config, no read access to the repository) imports `http://127.0.0.1:PORT/mod.ts`, loads the
 * default weights and estimates a pose. Its keypoints must equal an in-process run's exactly, and
 * every module of `mod.ts`'s graph must have been fetched over HTTP. A module that reads a sibling
 * file from disk (a `.wgsl` next to it, a fixture) or anything outside the published file set
 * fails this test.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { load } from "../mod.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";
import { readImageFile } from "../cli/read_image.ts";
import type { Pose } from "../decode/keypoints.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const PHOTO = join(REPO, "tests/fixtures/photos/single_portrait.jpg");
const CONFIG = { outputStride: 16, inputResolution: 257 } as const;

/** Runs `deno` with `args`; returns stdout, throwing with stderr on a non-zero exit. */
async function deno(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; clearEnv?: boolean } = {},
): Promise<{ stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    clearEnv: options.clearEnv,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(`deno ${args.join(" ")} exited with ${out.code}:\n${stderr}\n${stdout}`);
  }
  return { stdout, stderr };
}

/** The files `deno publish --dry-run` lists, relative to the repository root. */
async function publishedFiles(): Promise<string[]> {
  const { stdout, stderr } = await deno(["publish", "--dry-run", "--allow-dirty"], { cwd: REPO });
  const files = [...`${stdout}\n${stderr}`.matchAll(/^\s+(file:\/\/\S+) \(/gm)]
    .map((m) => relative(REPO, fileURLToPath(m[1])).replaceAll("\\", "/"));
  assert.ok(files.length > 0, `no files in the dry run's output:\n${stderr}\n${stdout}`);
  return files.sort();
}

interface ModuleInfo {
  specifier: string;
  dependencies?: { code?: { specifier: string } }[];
}

/**
 * The repository files in `mod.ts`'s module graph, relative to the repository root: `all` of them,
 * and the ones a run loads (`code`: reached through value imports; type-only imports are erased).
 */
async function localModuleGraph(): Promise<{ all: string[]; code: string[] }> {
  const { stdout } = await deno(["info", "--json", "mod.ts"], { cwd: REPO });
  const info = JSON.parse(stdout) as { roots: string[]; modules: ModuleInfo[] };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const code = new Set<string>();
  const visit = (specifier: string) => {
    if (code.has(specifier)) return;
    code.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dep.code) visit(dep.code.specifier);
    }
  };
  visit(info.roots[0]);
  const local = (specifiers: Iterable<string>) =>
    [...specifiers]
      .filter((s) => s.startsWith("file:"))
      .map((s) => relative(REPO, fileURLToPath(s)).replaceAll("\\", "/"))
      .sort();
  return { all: local(bySpecifier.keys()), code: local(code) };
}

/** Environment a GPU subprocess needs from ours (Mesa's backend choice, runtime dir, ...). */
function passThroughEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(Deno.env.toObject())) {
    if (
      /^(PATH|HOME|XDG_RUNTIME_DIR|DENO_WEBGPU_BACKEND|VK_.*|MESA_.*|LP_.*|GALLIUM_.*|LIBGL_.*)$/
        .test(name)
    ) {
      env[name] = value;
    }
  }
  return env;
}

Deno.test("the published file set is runtime code, README and LICENSE only", async () => {
  const files = await publishedFiles();
  for (const required of ["mod.ts", "LICENSE", "README.md", "deno.json", "cli/pose.ts"]) {
    assert.ok(files.includes(required), `${required} is not published: ${files.join(", ")}`);
  }
  const unwanted = files.filter((f) =>
    /^(tests|bench|reference|out|\.ci|\.cache)\//.test(f) || /_test\.ts$/.test(f) ||
    f === "cli/demo.ts"
  );
  assert.deepEqual(unwanted, [], "files that must not be published");
  const graph = (await localModuleGraph()).all;
  const missing = graph.filter((f) => !files.includes(f));
  assert.deepEqual(missing, [], "modules of mod.ts's graph that are not published");
});

Deno.test("mod.ts imported from an HTTP URL in a fresh DENO_DIR gives the same keypoints", async () => {
  const files = await publishedFiles();
  const graph = (await localModuleGraph()).code;
  const weightsJson = await fetchDefaultWeights(); // downloads only on a machine without the cache
  const cacheDir = dirname(weightsJson);
  const image = await readImageFile(PHOTO);

  const tmp = await Deno.makeTempDir({ prefix: "posenet-url-import-" });
  const site = join(tmp, "site");
  const denoDir = join(tmp, "deno_dir");
  const work = join(tmp, "work");
  await Deno.mkdir(denoDir);
  await Deno.mkdir(work);
  for (const file of files) {
    await Deno.mkdir(dirname(join(site, file)), { recursive: true });
    await Deno.copyFile(join(REPO, file), join(site, file));
  }
  const rgbaPath = join(work, "image.rgba");
  await Deno.writeFile(rgbaPath, image.data);

  const requests = new Map<string, number>();
  let probe = "";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req): Promise<Response> => {
      const path = decodeURIComponent(new URL(req.url).pathname).replace(/^\/+/, "");
      requests.set(path, (requests.get(path) ?? 0) + 1);
      if (path === "probe.ts") {
        return new Response(probe, { headers: { "content-type": "application/typescript" } });
      }
      if (path.split("/").includes("..") || !files.includes(path)) {
        return new Response("not found", { status: 404 });
      }
      const type = path.endsWith(".ts") ? "application/typescript" : "application/octet-stream";
      return new Response(await Deno.readFile(join(site, path)), {
        headers: { "content-type": type },
      });
    },
  );
  const host: string = `127.0.0.1:${server.addr.port}`;
  const base = `http://${host}`;
  // The probe is served too, so the subprocess's module graph has no file: URL at all.
  probe = `import { load } from "${base}/mod.ts";
const [rgbaPath, width, height] = Deno.args;
const data = await Deno.readFile(rgbaPath);
const net = await load(${JSON.stringify(CONFIG)});
try {
  const pose = await net.estimateSinglePose({ data, width: Number(width), height: Number(height) });
  console.log(JSON.stringify(pose));
} finally {
  net.dispose();
}
`;

  try {
    const env = { ...passThroughEnv(), DENO_DIR: denoDir, POSENET_CACHE_DIR: cacheDir };
    const { stdout } = await deno([
      "run",
      "--no-config",
      "--no-lock",
      `--allow-import=${host}`,
      `--allow-net=${host}`,
      `--allow-read=${cacheDir},${rgbaPath}`,
      `--allow-write=${cacheDir}`,
      "--allow-env",
      `${base}/probe.ts`,
      rgbaPath,
      String(image.width),
      String(image.height),
    ], { cwd: work, env, clearEnv: true });
    const remote = JSON.parse(stdout.trim().split("\n").at(-1)!) as Pose;

    // Every module of mod.ts's graph came over HTTP, and the process's graph has no file: URL.
    const notRequested = graph.filter((f) => !requests.has(f));
    assert.deepEqual(notRequested, [], "modules of mod.ts's graph never requested over HTTP");
    const info = await deno(
      ["info", "--json", "--no-config", "--no-lock", `--allow-import=${host}`, `${base}/probe.ts`],
      { cwd: work, env, clearEnv: true },
    );
    const specifiers = (JSON.parse(info.stdout) as { modules: { specifier: string }[] }).modules
      .map((m) => m.specifier);
    assert.deepEqual(
      specifiers.filter((s) => !s.startsWith(`${base}/`) && !s.startsWith("node:")),
      [],
      "modules of the URL import that are neither served nor node: builtins",
    );
    assert.ok(specifiers.includes(`${base}/mod.ts`));

    const net = await load(CONFIG);
    let local: Pose;
    try {
      local = await net.estimateSinglePose(image);
    } finally {
      net.dispose();
    }
    console.log(
      `served ${requests.size} paths (${[...requests.values()].reduce((a, b) => a + b)} requests)` +
        ` to a fresh DENO_DIR; its graph: ${specifiers.length} modules; nose at ` +
        `(${remote.keypoints[0].position.x}, ${remote.keypoints[0].position.y}) in both runs`,
    );
    assert.equal(remote.keypoints.length, 17);
    assert.deepEqual(remote, JSON.parse(JSON.stringify(local)));
  } finally {
    await server.shutdown();
    await Deno.remove(tmp, { recursive: true });
  }
});
