/**
 * The video demo's clip: OpenCV's sample `vtest.avi` (people walking across a campus, 768x576,
 * 10 frames/s, 795 frames), as Debian ships it in `opencv-doc` 4.6.0+dfsg-12 (`main`; Debian's
 * copyright file: Apache-2.0 AND BSD-3-Clause; it appears to come from the PETS 2009 data set,
 * University of Reading). {@linkcode fetchDemoClip} downloads the `.deb` once from the Debian
 * archive, streams its `data.tar.xz` member through `tar -xJO` to take out the one file, checks
 * the `.deb`'s and the clip's pinned sha256 and sizes, and keeps the clip in the cache directory
 * (`clips/vtest.avi` under `$POSENET_CACHE_DIR` or `~/.cache/posenet-webgpu`). The download is
 * bounded as the weights' are (an idle timeout and a byte cap); nothing else is kept.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { ModelLoadError } from "../errors.ts";
import { defaultCacheDir } from "../models/weights_cache.ts";
import { DEFAULT_NETWORK_TIMEOUT_MS, openBounded } from "../models/_bounded_fetch.ts";

/** A clip inside a Debian package, pinned. */
export interface DemoClipSpec {
  /** The package file's URL. */
  readonly debUrl: string;
  /** The package file's sha256 (hex). */
  readonly debSha256: string;
  /** The package file's size. */
  readonly debBytes: number;
  /** The clip's path in the package's `data.tar.xz`. */
  readonly member: string;
  /** The clip's sha256 (hex). */
  readonly sha256: string;
  /** The clip's size. */
  readonly bytes: number;
  /** Its path in the cache directory. */
  readonly file: string;
  /** The attribution. */
  readonly credit: string;
}

/** Where the video demo's clip comes from and what it must be. */
export const DEMO_CLIP: DemoClipSpec = Object.freeze({
  /** The Debian package file. */
  debUrl: "https://deb.debian.org/debian/pool/main/o/opencv/opencv-doc_4.6.0+dfsg-12_all.deb",
  debSha256: "4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a",
  debBytes: 95_715_012,
  /** The clip's path in the package's `data.tar.xz`. */
  member: "./usr/share/doc/opencv-doc/examples/data/vtest.avi",
  sha256: "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
  bytes: 8_131_690,
  /** Its name in the cache. */
  file: "clips/vtest.avi",
  /** The attribution the README and the demo print. */
  credit: "OpenCV sample data (samples/data/vtest.avi), © the OpenCV contributors, " +
    "Apache-2.0 AND BSD-3-Clause, via Debian opencv-doc 4.6.0+dfsg-12; apparently from the " +
    "PETS 2009 data set (University of Reading)",
});

/** Options of {@linkcode fetchDemoClip}. */
export interface FetchDemoClipOptions {
  /** The cache directory; default `defaultCacheDir()`. */
  readonly cacheDir?: string;
  /** Receives progress lines. */
  readonly onProgress?: (message: string) => void;
  /** The `fetch` to use (tests pass their own). */
  readonly fetch?: typeof fetch;
  /** The clip (default {@linkcode DEMO_CLIP}; tests pass their own). */
  readonly clip?: DemoClipSpec;
}

/** The sha256 of a file, or `undefined` when it cannot be read. */
async function fileSha256(path: string): Promise<string | undefined> {
  try {
    const hash = createHash("sha256");
    using file = await Deno.open(path, { read: true });
    for await (const chunk of file.readable) hash.update(chunk);
    return hash.digest("hex");
  } catch {
    return undefined;
  }
}

/** Reads an `ar` archive from a stream: each member's name and its bytes, in chunks. */
async function readAr(
  stream: ReadableStream<Uint8Array>,
  onMember: (name: string, size: number) => ((chunk: Uint8Array) => Promise<void>) | undefined,
): Promise<void> {
  const reader = stream.getReader();
  let buffered: Uint8Array = new Uint8Array(0);
  let ended = false;
  const fill = async (n: number) => {
    while (buffered.length < n && !ended) {
      const { value, done } = await reader.read();
      if (done) ended = true;
      else buffered = buffered.length === 0 ? value : concat(buffered, value);
    }
    return buffered.length >= n;
  };
  const take = (n: number) => {
    const out = buffered.subarray(0, n);
    buffered = buffered.subarray(n);
    return out;
  };
  if (!await fill(8) || new TextDecoder().decode(take(8)) !== "!<arch>\n") {
    throw new ModelLoadError("the demo clip's package is not an ar archive");
  }
  while (await fill(60)) {
    const header = new TextDecoder().decode(take(60));
    const name = header.slice(0, 16).trim().replace(/\/$/, "");
    const size = Number(header.slice(48, 58).trim());
    if (!Number.isSafeInteger(size) || header.slice(58, 60) !== "`\n") {
      throw new ModelLoadError("the demo clip's package has a malformed ar header");
    }
    const sink = onMember(name, size);
    let left = size + (size % 2); // members are padded to an even size
    let data = size;
    while (left > 0) {
      if (!await fill(1)) throw new ModelLoadError(`the demo clip's package ends inside ${name}`);
      const part = take(Math.min(left, buffered.length));
      left -= part.length;
      const useful = part.subarray(0, Math.min(part.length, data));
      data -= useful.length;
      if (sink && useful.length > 0) await sink(useful);
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Makes sure the demo clip is in the cache and returns its path. A cached clip whose sha256
 * matches is used as is (no network); otherwise the `.deb` is downloaded and the clip extracted.
 *
 * @param options Cache directory, progress and `fetch`.
 * @returns The clip's path.
 * @throws {ModelLoadError} On a network error or timeout, a size or sha256 mismatch, or a `tar`
 * that cannot read the package's `xz` data.
 *
 * @example
 * ```ts ignore
 * import { fetchDemoClip } from "./_demo_clip.ts";
 * console.log(await fetchDemoClip()); // ~/.cache/posenet-webgpu/clips/vtest.avi
 * ```
 */
export async function fetchDemoClip(options: FetchDemoClipOptions = {}): Promise<string> {
  const DEMO_CLIP = options.clip ?? DEFAULT_CLIP;
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const path = join(cacheDir, DEMO_CLIP.file);
  if (await fileSha256(path) === DEMO_CLIP.sha256) return path;
  const progress = options.onProgress ?? (() => {});
  progress(
    `demo: downloading the clip's package (${Math.round(DEMO_CLIP.debBytes / 1e6)} MB) ` +
      `from ${new URL(DEMO_CLIP.debUrl).host}`,
  );
  const { response, body, cancel } = await openBounded(DEMO_CLIP.debUrl, {
    fetch: options.fetch ?? fetch,
    what: `the demo clip's package ${DEMO_CLIP.debUrl}`,
    maxBytes: DEMO_CLIP.debBytes,
    timeoutMs: DEFAULT_NETWORK_TIMEOUT_MS,
  });
  if (!response.ok) {
    await cancel();
    throw new ModelLoadError(`${DEMO_CLIP.debUrl}: HTTP ${response.status}`);
  }
  const debHash = createHash("sha256");
  let received = 0;
  const hashed = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, out) {
        debHash.update(chunk);
        received += chunk.length;
        out.enqueue(chunk);
      },
    }),
  );
  let tar: Deno.ChildProcess;
  try {
    tar = new Deno.Command("tar", {
      args: ["-xJOf", "-", DEMO_CLIP.member],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    await cancel();
    throw new ModelLoadError(`cannot run tar to extract the demo clip: ${err}`);
  }
  const clipHash = createHash("sha256");
  const clip: Uint8Array[] = [];
  let clipBytes = 0;
  const collect = (async () => {
    for await (const chunk of tar.stdout) {
      clipBytes += chunk.length;
      if (clipBytes > DEMO_CLIP.bytes) throw new ModelLoadError("the demo clip is too large");
      clipHash.update(chunk);
      clip.push(chunk);
    }
  })();
  const tarErrors = new Response(tar.stderr).text();
  const writer = tar.stdin.getWriter();
  let sawData = false;
  let readError: { error: unknown } | undefined;
  try {
    await readAr(hashed, (name) => {
      if (name !== "data.tar.xz") return undefined;
      sawData = true;
      return (chunk) => writer.write(chunk);
    });
  } catch (error) {
    readError = { error };
    await hashed.cancel().catch(() => {});
  } finally {
    await writer.close().catch(() => {});
  }
  const [status] = await Promise.all([
    tar.status,
    collect.catch((e) => (readError ??= { error: e })),
  ]);
  const errors = (await tarErrors).trim().split("\n").at(-1) ?? "";
  if (readError && status.success) throw readError.error;
  if (received !== DEMO_CLIP.debBytes || debHash.digest("hex") !== DEMO_CLIP.debSha256) {
    throw new ModelLoadError(
      `${DEMO_CLIP.debUrl}: ${received} bytes that do not match the pinned sha256`,
    );
  }
  if (!sawData) throw new ModelLoadError("the demo clip's package has no data.tar.xz");
  if (!status.success) {
    throw new ModelLoadError(
      `tar could not extract the demo clip (${errors || `exit ${status.code}`}); it needs xz ` +
        "support (`apt-get install xz-utils`)",
    );
  }
  if (clipBytes !== DEMO_CLIP.bytes || clipHash.digest("hex") !== DEMO_CLIP.sha256) {
    throw new ModelLoadError(`the extracted demo clip does not match its pinned sha256`);
  }
  await Deno.mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${Deno.pid}`;
  const data = concatAll(clip, clipBytes);
  await Deno.writeFile(temp, data);
  await Deno.rename(temp, path);
  return path;
}

const DEFAULT_CLIP = DEMO_CLIP;

function concatAll(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
