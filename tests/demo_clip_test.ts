/**
 * `fetchDemoClip()` (`cli/_demo_clip.ts`) on a small Debian package made here (an `ar` archive
 * with `debian-binary`, `control.tar.xz`, an odd-sized member and a `data.tar.xz` holding a random
 * "clip" of odd size),
 * served by a fake `fetch`: the clip is extracted and cached, a cached clip needs no network, a
 * damaged cache is downloaded again, and a package or clip that does not match its pin is refused.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type DemoClipSpec, fetchDemoClip } from "../cli/_demo_clip.ts";
import { ModelLoadError } from "../errors.ts";
import { moduleTempDir } from "./support/temp_dir.ts";

const { tempDir } = await moduleTempDir("posenet_demo_clip_");
const MEMBER = "./usr/share/doc/pkg/examples/data/walk.avi";

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** An `ar` archive of `members` (each padded to an even size, as `ar` does). */
function ar(members: [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [new TextEncoder().encode("!<arch>\n")];
  for (const [name, data] of members) {
    const header = `${name.padEnd(16)}${"0".padEnd(12)}${"0".padEnd(6)}${"0".padEnd(6)}` +
      `${"100644".padEnd(8)}${String(data.length).padEnd(10)}\`\n`;
    assert.equal(header.length, 60);
    parts.push(new TextEncoder().encode(header), data);
    if (data.length % 2) parts.push(new Uint8Array([10]));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

/** A `.tar.xz` of `files` (path → bytes), made with tar. */
async function tarXz(files: Record<string, Uint8Array>): Promise<Uint8Array> {
  const root = await tempDir();
  for (const [path, data] of Object.entries(files)) {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeFile(join(root, path), data);
  }
  const out = await new Deno.Command("tar", {
    args: ["-cJf", "-", "-C", root, ...Object.keys(files)],
    stdout: "piped",
  }).output();
  assert.equal(out.code, 0);
  return out.stdout;
}

const clip = crypto.getRandomValues(new Uint8Array(50_001));
const other = crypto.getRandomValues(new Uint8Array(999));
const deb = ar([
  ["debian-binary", new TextEncoder().encode("2.0\n")],
  ["control.tar.xz", await tarXz({ "./control": new TextEncoder().encode("Package: pkg\n") })],
  ["_odd", new TextEncoder().encode("5 byt")], // an odd size: ar pads it with a newline
  ["data.tar.xz", await tarXz({ "./usr/share/doc/pkg/other.bin": other, [MEMBER]: clip })],
]);
const SPEC: DemoClipSpec = {
  debUrl: "https://deb.example/pool/pkg.deb",
  debSha256: sha256(deb),
  debBytes: deb.length,
  member: MEMBER,
  sha256: sha256(clip),
  bytes: clip.length,
  file: "clips/walk.avi",
  credit: "test",
};

/** A fake `fetch` serving `body` in chunks of 7,777 bytes, counting its calls. */
function serving(body: Uint8Array) {
  const calls: string[] = [];
  const fetch = (url: string | URL | Request) => {
    calls.push(String(url));
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (at >= body.length) return c.close();
        c.enqueue(body.slice(at, at += 7777));
      },
    });
    return Promise.resolve(
      new Response(stream, { headers: { "content-length": String(body.length) } }),
    );
  };
  return { fetch: fetch as typeof globalThis.fetch, calls };
}

Deno.test("`fetchDemoClip()` takes the clip out of the package, caches it, and reuses the cache", async () => {
  const cacheDir = await tempDir();
  const first = serving(deb);
  const path = await fetchDemoClip({ cacheDir, fetch: first.fetch, clip: SPEC });
  assert.equal(path, join(cacheDir, "clips/walk.avi"));
  assert.deepEqual(await Deno.readFile(path), clip);
  assert.deepEqual(first.calls, [SPEC.debUrl]);

  const offline = serving(new Uint8Array(0));
  assert.equal(await fetchDemoClip({ cacheDir, fetch: offline.fetch, clip: SPEC }), path);
  assert.deepEqual(offline.calls, []);

  // A damaged cached clip is downloaded again.
  const damaged = clip.slice();
  damaged[12345] ^= 1;
  await Deno.writeFile(path, damaged);
  const again = serving(deb);
  await fetchDemoClip({ cacheDir, fetch: again.fetch, clip: SPEC });
  assert.deepEqual(await Deno.readFile(path), clip);
  assert.equal(again.calls.length, 1);
});

Deno.test("`fetchDemoClip()` refuses a package or a clip that does not match its pin", async () => {
  const corrupt = deb.slice();
  corrupt[40] ^= 0xff; // in the ar header's mtime field: still a readable package
  const cases: [Uint8Array, DemoClipSpec, RegExp][] = [
    [corrupt, SPEC, /do not match the pinned sha256/],
    [
      deb,
      { ...SPEC, sha256: "0".repeat(64) },
      /extracted demo clip does not match its pinned sha256/,
    ],
    [
      deb,
      { ...SPEC, member: "./usr/share/doc/pkg/missing.avi" },
      /tar could not extract the demo clip/,
    ],
    [deb, { ...SPEC, debBytes: deb.length - 1 }, /more than the \d+ expected/],
    [
      new TextEncoder().encode("<html>not a package</html>"),
      { ...SPEC, debBytes: 26 },
      /26 bytes that do not match the pinned sha256/,
    ],
  ];
  for (const [body, spec, message] of cases) {
    const cacheDir = await tempDir();
    await assert.rejects(
      fetchDemoClip({ cacheDir, fetch: serving(body).fetch, clip: spec }),
      (err: unknown) => {
        assert.ok(err instanceof ModelLoadError, String(err));
        assert.match(err.message, message);
        return true;
      },
    );
    const left = [...Deno.readDirSync(cacheDir)];
    assert.deepEqual(left, [], "nothing is cached");
  }
});
