/**
 * Where a TF.js graph model's files come from and which reads are allowed: model.json as a path,
 * `file:` or http(s) URL; shards resolved next to it and never outside its directory (nor
 * redirected outside it); sizes checked before a local file is read; every network read bounded in
 * time and bytes.
 *
 * A string that is not a URL is a file path in Deno (relative to the working directory) and a URL
 * relative to the document in a web page, fetched over HTTP. Local files are read by
 * `_local_files.ts`, loaded only when a model is read from one, so this module runs in a page.
 *
 * @module
 */

import { ModelLoadError } from "../errors.ts";
import { showJson } from "../_describe.ts";
import { networkTimeout, openBounded, readAll } from "./_bounded_fetch.ts";
import { fail, guard, parseJson } from "./_tfjs_json.ts";
import { checkShardPath, groupSizeError, readManifest } from "./_tfjs_manifest.ts";

/** Largest model.json read over http(s) (PoseNet's is 32 KB; its weights are in the shards). */
const MAX_MODEL_JSON_BYTES = 32 * 1024 * 1024;

/** A model.json document and its weight shards as read, before any parsing of the graph. */
export interface TfjsModelFiles {
  /** The parsed model.json. */
  readonly doc: unknown;
  /** Every shard's bytes, in manifest order. */
  readonly shards: Uint8Array[];
}

/**
 * Reads a model.json and its shards from a path or URL under the path policy of
 * {@linkcode checkInModelDir} and the read bounds of `_bounded_fetch.ts`.
 */
export async function readTfjsModelFiles(
  source: string | URL,
  options: { readonly fetch?: typeof fetch; readonly timeoutMs?: number } = {},
): Promise<TfjsModelFiles> {
  const modelUrl = await toModelUrl(source);
  const net: NetworkRead = {
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: networkTimeout(options.timeoutMs),
  };
  const text = new TextDecoder().decode(
    await readResource(modelUrl, net, `model.json ${display(modelUrl)}`, MAX_MODEL_JSON_BYTES),
  );
  const doc = parseJson(text, display(modelUrl));
  const manifest = guard(() => readManifest(doc));
  const shards: Uint8Array[] = [];
  for (const group of manifest.groups) {
    const urls = group.paths.map((path) => resolveShardUrl(modelUrl, path));
    if (modelUrl.protocol === "file:") {
      // Check sizes before reading so a wrong (possibly huge) file is never read into memory.
      let total = 0;
      for (const [i, url] of urls.entries()) {
        total += await fileSize(url, group.paths[i], group.index);
      }
      if (total !== group.byteLength) throw groupSizeError(group, total);
    }
    let left = group.byteLength; // what the shards of this group may still hold
    for (const [i, url] of urls.entries()) {
      const shard = await readResource(
        url,
        net,
        `weights shard "${group.paths[i]}" (weights group ${group.index}) at ${display(url)}`,
        left,
        (final) => checkInModelDir(modelUrl, final, `weights shard "${group.paths[i]}" redirected`),
      );
      left -= shard.byteLength;
      shards.push(shard);
    }
  }
  return { doc, shards };
}

/**
 * The URL of a model source: a URL as it is; a string with a scheme parsed as a URL; any other
 * string a file path in Deno, and a URL relative to the document in a web page.
 */
export async function toModelUrl(source: string | URL): Promise<URL> {
  if (source instanceof URL) {
    if (!["file:", "http:", "https:"].includes(source.protocol)) {
      fail(`model source ${source.href} must be a file path, file: URL or http(s) URL`);
    }
    return new URL(source.href);
  }
  if (typeof source !== "string" || source === "") {
    fail(`model source must be a non-empty path or URL, got ${showJson(source)}`);
  }
  if (/^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(source)) {
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      return fail(`model source "${source}" is not a valid URL`);
    }
    return await toModelUrl(url);
  }
  const page = documentBase();
  if (page !== undefined) {
    try {
      return await toModelUrl(new URL(source, page));
    } catch (e) {
      if (e instanceof ModelLoadError) throw e;
      return fail(`model source "${source}" does not resolve against the page's URL ${page}`);
    }
  }
  return (await import("./_local_files.ts")).fileUrlOfPath(source);
}

/**
 * The base URL that relative model sources resolve against in a web page or worker (one with
 * `location` and no Deno), or `undefined` in Deno, where they are file paths.
 */
function documentBase(): string | undefined {
  if ((globalThis as { Deno?: unknown }).Deno !== undefined) return undefined;
  const scope = globalThis as { document?: { baseURI?: string }; location?: { href?: string } };
  return scope.document?.baseURI ?? scope.location?.href;
}

/** A URL as errors show it: a `file:` URL as its path, any other as its `href`. */
export function display(url: URL): string {
  if (url.protocol !== "file:") return url.href;
  try {
    const path = decodeURIComponent(url.pathname);
    // file:///C:/x is the Windows path C:/x; a host is a UNC share.
    const local = /^\/[a-zA-Z]:\//.test(path) ? path.slice(1) : path;
    return url.host ? `//${url.host}${local}` : local;
  } catch {
    return url.href;
  }
}

export function resolveShardUrl(modelUrl: URL, path: string): URL {
  checkShardPath(path);
  let url: URL;
  try {
    url = new URL(path, modelUrl);
  } catch {
    return fail(`weights shard path "${path}" does not resolve against ${display(modelUrl)}`);
  }
  checkInModelDir(modelUrl, url, `weights shard path "${path}" resolves`);
  return url;
}

/** Fails unless `url` lies in the directory of `modelUrl` (same protocol and host). */
export function checkInModelDir(modelUrl: URL, url: URL, what: string): void {
  const base = new URL(".", modelUrl);
  if (
    url.protocol !== base.protocol || url.host !== base.host ||
    !url.pathname.startsWith(base.pathname)
  ) {
    fail(`${what} to ${display(url)}, outside the model directory ${display(base)}`);
  }
}

export interface NetworkRead {
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
}

export async function fileSize(url: URL, path: string, group: number): Promise<number> {
  const local = await import("./_local_files.ts");
  return await local.localFileSize(
    url,
    `weights shard "${path}" at ${display(url)}`,
    `weights shard "${path}" (weights group ${group}) not found at ${display(url)}`,
  );
}

export async function readResource(
  url: URL,
  net: NetworkRead,
  what: string,
  maxBytes: number,
  checkUrl?: (final: URL) => void,
): Promise<Uint8Array> {
  if (url.protocol === "file:") {
    if ((globalThis as { Deno?: unknown }).Deno === undefined) {
      throw new ModelLoadError(
        `cannot read ${what}: file: URLs are read only in Deno; in a web page give an http(s) ` +
          "URL, or one relative to the page",
      );
    }
    return await (await import("./_local_files.ts")).readLocalFile(url, what);
  }
  const { response, body, cancel } = await openBounded(url, { ...net, what, maxBytes, checkUrl });
  if (!response.ok) {
    await cancel();
    if (response.status === 404) throw new ModelLoadError(`${what} not found (HTTP 404)`);
    throw new ModelLoadError(
      `cannot fetch ${what}: HTTP ${response.status} ${response.statusText}`.trim(),
    );
  }
  return await readAll(body);
}
