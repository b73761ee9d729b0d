/**
 * The core as a web page sees it, checked in Deno: `mod.ts`'s static import graph holds no Node
 * built-in and no Deno-only module (those are imported dynamically, when used), and with Deno
 * hidden (a page: `document.baseURI`, no `Deno`) a relative `modelUrl` is fetched over HTTP
 * against the page, a `file:` URL and the default weights are refused with a message that says
 * what to do instead.
 */

import assert from "node:assert/strict";
import { ModelLoadError } from "../errors.ts";
import { loadTfjsGraphModel } from "../models/tfjs_graph_model.ts";
import { fetchDefaultWeights } from "../models/default_weights.ts";

/** The modules `mod.ts` reaches by static imports, and the dynamic imports found on the way. */
async function staticGraph(): Promise<{ statics: string[]; dynamics: string[] }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "mod.ts"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
    }[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const dynamics: string[] = [];
  const stack = [...info.roots];
  while (stack.length > 0) {
    const at = stack.pop()!;
    if (seen.has(at)) continue;
    seen.add(at);
    for (const dep of bySpecifier.get(at)?.dependencies ?? []) {
      const target = dep.code?.specifier ?? dep.specifier;
      if (dep.isDynamic) dynamics.push(target);
      else stack.push(target);
    }
  }
  return { statics: [...seen], dynamics };
}

Deno.test("`mod.ts` imports no Node built-in and no Deno-only module statically", async () => {
  const { statics, dynamics } = await staticGraph();
  assert.ok(statics.length > 50, `${statics.length} modules`);
  assert.deepEqual(statics.filter((s) => s.startsWith("node:") || s.startsWith("npm:")), []);
  const denoOnly = ["_pinned_weights.ts", "weights_cache.ts", "_local_files.ts"];
  for (const name of denoOnly) {
    assert.ok(
      !statics.some((s) => s.endsWith(`/models/${name}`)),
      `${name} is imported statically`,
    );
    assert.ok(
      dynamics.some((s) => s.endsWith(`/models/${name}`)),
      `${name} is not imported at all`,
    );
  }
});

/** Runs `fn` as a page would: no `Deno`, a document at `baseURI`. */
async function asPage<T>(baseURI: string, fn: () => Promise<T>): Promise<T> {
  const deno = globalThis.Deno;
  const scope = globalThis as { document?: unknown };
  Object.defineProperty(globalThis, "Deno", { value: undefined, configurable: true });
  scope.document = { baseURI };
  try {
    return await fn();
  } finally {
    Object.defineProperty(globalThis, "Deno", { value: deno, configurable: true });
    delete scope.document;
  }
}

Deno.test("in a page, a relative `modelUrl` is fetched against the page, a file: URL refused", async () => {
  const modelJson = await fetchDefaultWeights("posenet");
  const files: Record<string, Uint8Array<ArrayBuffer>> = {
    "/app/models/posenet.json": await Deno.readFile(modelJson),
    "/app/models/posenet.bin": await Deno.readFile(modelJson.replace(/\.json$/, ".bin")),
  };
  const asked: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    asked.push(path);
    const body = files[path];
    return body ? new Response(body) : new Response("not found", { status: 404 });
  });
  try {
    const page = `http://127.0.0.1:${server.addr.port}/app/index.html`;
    const weights = await asPage(page, () => loadTfjsGraphModel("models/posenet.json"));
    assert.equal(weights.heads.heatmap.outChannels, 17);
    assert.deepEqual(asked, ["/app/models/posenet.json", "/app/models/posenet.bin"]);
    const local = await asPage(
      page,
      () => loadTfjsGraphModel(`file://${modelJson}`).catch((e) => e),
    );
    assert.ok(local instanceof ModelLoadError, String(local));
    assert.match(local.message, /file: URLs are read only in Deno/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("in a page, `fetchDefaultWeights()` says to give the model's URL", async () => {
  const error = await asPage("http://127.0.0.1/", () => fetchDefaultWeights("movenet-thunder"))
    .catch((e) => e);
  assert.ok(error instanceof ModelLoadError, String(error));
  assert.match(error.message, /needs Deno; in a web page give the model's URL \(modelUrl/);
});
