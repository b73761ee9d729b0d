/**
 * The WebGPU providers: Deno's built-in WebGPU and Dawn (`npm:webgpu`) in one process, the
 * provider choice and its errors, and the CLI's one-line errors for a bad provider name, a missing
 * Dawn addon and a missing EGL (real subprocesses).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createGpuContext, type GpuContext } from "../runtime/gpu_context.ts";
import {
  resolveWebGpuProvider,
  WEBGPU_PROVIDER_ENV,
  WEBGPU_PROVIDERS,
} from "../runtime/webgpu_provider.ts";
import { DAWN_BACKENDS, DAWN_MODULE, DAWN_MODULE_ENV } from "../runtime/_dawn_adapter.ts";
import { load } from "../detectors/posenet_model.ts";
import { readImageFile } from "../cli/read_image.ts";
import { InvalidInputError, WebGpuUnavailableError } from "../errors.ts";
import { moduleTempDir } from "./support/temp_dir.ts";

const REPO = new URL("..", import.meta.url);
const PHOTOS = new URL("fixtures/photos/", import.meta.url);
const { tempDir } = await moduleTempDir("webgpu-provider-test-");

/** Runs `fn` with environment variables set (undefined: removed), restoring them after. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T> | T) {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(before);
  }
}

Deno.test("resolveWebGpuProvider() takes the argument, then $POSENET_WEBGPU, then deno", async () => {
  assert.deepEqual(WEBGPU_PROVIDERS, ["deno", "dawn"]);
  await withEnv({ [WEBGPU_PROVIDER_ENV]: undefined }, () => {
    assert.equal(resolveWebGpuProvider(), "deno");
    assert.equal(resolveWebGpuProvider("dawn"), "dawn");
  });
  await withEnv({ [WEBGPU_PROVIDER_ENV]: "dawn" }, () => {
    assert.equal(resolveWebGpuProvider(), "dawn");
    assert.equal(resolveWebGpuProvider("deno"), "deno");
  });
  await withEnv({ [WEBGPU_PROVIDER_ENV]: "" }, () => assert.equal(resolveWebGpuProvider(), "deno"));
});

Deno.test("resolveWebGpuProvider() rejects an unknown name, listing the valid ones", async () => {
  assert.throws(
    () => resolveWebGpuProvider("wgpu"),
    (e: unknown) =>
      e instanceof InvalidInputError &&
      e.message === 'WebGPU provider must be "deno" or "dawn", got "wgpu"',
  );
  await withEnv({ [WEBGPU_PROVIDER_ENV]: "metal" }, async () => {
    await assert.rejects(
      createGpuContext(),
      (e: unknown) =>
        e instanceof InvalidInputError && /got "metal" \(from \$POSENET_WEBGPU\)/.test(e.message),
    );
  });
});

Deno.test("createGpuContext() on each provider says which provider and backend run", async () => {
  for (const provider of WEBGPU_PROVIDERS) {
    const gpu = await createGpuContext({ provider });
    try {
      console.log(`${provider}: ${JSON.stringify(gpu.adapter)}`);
      assert.equal(gpu.adapter.provider, provider);
      assert.ok(gpu.adapter.description.length > 0, "an adapter description");
      assert.ok(["core", "compatibility"].includes(gpu.adapter.featureLevel));
      if (provider === "dawn") {
        assert.ok((DAWN_BACKENDS as readonly string[]).includes(gpu.adapter.backend));
      }
    } finally {
      gpu.destroy();
    }
  }
});

Deno.test("createGpuContext() rejects an unknown Dawn backend, naming the valid ones", async () => {
  await assert.rejects(
    createGpuContext({ provider: "dawn", dawnBackend: "glide" }),
    (e: unknown) =>
      e instanceof InvalidInputError && /unknown Dawn backend "glide"/.test(e.message) &&
      /vulkan, opengl, opengles/.test(e.message),
  );
});

Deno.test("createGpuContext() with a Dawn addon that cannot load says what to do", async () => {
  // A package whose index.js fails as the real one does when its dist/ holds no dawn.node for
  // this platform.
  const dir = await tempDir();
  const index = join(dir, "index.js");
  await Deno.writeTextFile(
    index,
    'import { createRequire } from "node:module";\n' +
      "const require = createRequire(import.meta.url);\n" +
      'export const { create } = require("./dist/linux-x64/dawn.node");\n',
  );
  for (const module of [`file://${index}`, `file://${join(dir, "absent.js")}`]) {
    await withEnv({ [DAWN_MODULE_ENV]: module }, async () => {
      await assert.rejects(
        createGpuContext({ provider: "dawn" }),
        (e: unknown) =>
          e instanceof WebGpuUnavailableError &&
          e.message.startsWith(`the Dawn WebGPU provider could not be loaded from ${module}: `) &&
          /--allow-ffi/.test(e.message) && /provider "deno"/.test(e.message) &&
          !e.message.includes("\n"),
        module,
      );
    });
  }
});

/** Keypoints of both photos, single and multi pose, on one context. */
async function keypointsOn(gpu: GpuContext, resolution: number) {
  const net = await load({ inputResolution: resolution, context: gpu, maxFramesInFlight: 2 });
  try {
    const out = [];
    for (const photo of ["single_portrait.jpg", "group4_standing.jpg"]) {
      const image = await readImageFile(new URL(photo, PHOTOS).pathname);
      out.push(await net.estimateSinglePose(image));
      out.push(await net.estimateMultiplePoses(image, { maxDetections: 5 }));
      out.push(await net.estimateSinglePose(image, { flipHorizontal: true }));
    }
    return out;
  } finally {
    net.dispose();
  }
}

Deno.test("load() gives bit-identical keypoints on Deno's WebGPU and on Dawn in one process", async () => {
  const deno = await createGpuContext({ provider: "deno" });
  const dawn = await createGpuContext({ provider: "dawn" });
  try {
    for (const resolution of [257, 353]) {
      // Interleaved: both devices alive, frames alternating between them.
      const [a, b] = await Promise.all([
        keypointsOn(deno, resolution),
        keypointsOn(dawn, resolution),
      ]);
      assert.equal(a.length, 6);
      assert.equal(b.length, a.length);
      const poses = a.flat().length;
      assert.ok(poses >= 6, `found ${poses} poses`);
      assert.deepEqual(b, a, `keypoints at ${resolution} differ between providers`);
    }
  } finally {
    deno.destroy();
    dawn.destroy();
  }
});

Deno.test("load({ provider }) makes its own context on that provider", async () => {
  const net = await load({ inputResolution: 129, provider: "dawn" });
  try {
    assert.equal(net.context.adapter.provider, "dawn");
    const image = await readImageFile(new URL("single_portrait.jpg", PHOTOS).pathname);
    const pose = await net.estimateSinglePose(image);
    assert.equal(pose.keypoints.length, 17);
    assert.ok(pose.keypoints.every((k) => Number.isFinite(k.position.x) && k.score > 0));
  } finally {
    net.dispose();
  }
  const gpu = await createGpuContext({ provider: "deno" });
  try {
    await assert.rejects(
      load({ context: gpu, provider: "dawn" }),
      (e: unknown) =>
        e instanceof InvalidInputError && /either context or provider/.test(e.message),
    );
  } finally {
    gpu.destroy();
  }
});

/** Runs the CLI in a fresh process. */
async function runCli(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-net=registry.npmjs.org",
      "cli/pose.ts",
      ...args,
    ],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** The stderr of a failed run: exactly one line, returned without its newline. */
function oneLine(stderr: string): string {
  assert.ok(stderr.endsWith("\n") && stderr.indexOf("\n") === stderr.length - 1, stderr);
  return stderr.slice(0, -1);
}

const PORTRAIT = new URL("single_portrait.jpg", PHOTOS).pathname;

Deno.test("pose CLI (subprocess): --webgpu dawn prints the same JSON as Deno's WebGPU", async () => {
  const deno = await runCli([PORTRAIT, "--webgpu", "deno"]);
  const dawn = await runCli([PORTRAIT, "--webgpu", "dawn"]);
  assert.equal(deno.code, 0, deno.stderr);
  assert.equal(dawn.code, 0, dawn.stderr);
  assert.equal(JSON.parse(dawn.stdout).poses[0].keypoints.length, 17);
  assert.equal(dawn.stdout, deno.stdout);
  // Dawn's own warnings during adapter probing are captured, not printed.
  assert.doesNotMatch(dawn.stderr, /Warning|artificially reduced/, dawn.stderr);
});

Deno.test("pose CLI (subprocess): a bad provider name is one usage line, exit 2", async () => {
  const flag = await runCli([PORTRAIT, "--webgpu", "metal"]);
  assert.equal(flag.code, 2, flag.stderr);
  assert.equal(
    oneLine(flag.stderr),
    'pose: --webgpu: WebGPU provider must be "deno" or "dawn", got "metal"',
  );
  const env = await runCli([PORTRAIT], { [WEBGPU_PROVIDER_ENV]: "metal" });
  assert.equal(env.code, 1, env.stderr);
  assert.equal(
    oneLine(env.stderr),
    'pose: WebGPU provider must be "deno" or "dawn", got "metal" (from $POSENET_WEBGPU)',
  );
});

Deno.test("pose CLI (subprocess): a missing Dawn addon is one line naming it, exit 1", async () => {
  const module = `file://${join(await tempDir(), "webgpu", "index.js")}`;
  const run = await runCli([PORTRAIT, "--webgpu", "dawn"], { [DAWN_MODULE_ENV]: module });
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, "");
  assert.match(
    oneLine(run.stderr),
    new RegExp(`^pose: the Dawn WebGPU provider could not be loaded from ${module}: .*--allow-ffi`),
  );
  assert.notEqual(module, DAWN_MODULE);
});

Deno.test("pose CLI (subprocess): a missing EGL is one line naming libEGL and the fix", async () => {
  // The loader finds an unloadable libEGL.so first, as it would find none on a machine without
  // EGL; Dawn's Vulkan is ruled out by naming the GL backend.
  const dir = await tempDir();
  await Deno.writeTextFile(join(dir, "libEGL.so"), "not a shared object");
  await Deno.writeTextFile(join(dir, "libEGL.so.1"), "not a shared object");
  const run = await runCli([PORTRAIT, "--webgpu", "dawn"], {
    LD_LIBRARY_PATH: dir,
    POSENET_DAWN_BACKEND: "opengl",
  });
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, "");
  const line = oneLine(run.stderr);
  assert.match(line, /^pose: the Dawn WebGPU provider \(npm:webgpu@0\.6\.2\) found no adapter\./);
  assert.match(line, /Tried opengl \(core, EGL_PLATFORM=surfaceless\): .*libEGL\.so/);
  assert.match(line, /apt-get install -y libegl-dev/);
});
