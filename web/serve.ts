/**
 * A static file server for the built page (`deno task web:serve`, and the browser test): serves a
 * folder on 127.0.0.1 with the content types the page needs, nothing outside the folder.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { extname, join, normalize } from "node:path";

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".bin": "application/octet-stream",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".map": "application/json",
};

/**
 * Serves `root` on `hostname:port` (port 0: any free one).
 *
 * @param root The folder.
 * @param options Host (default 127.0.0.1) and port (default 0).
 * @returns The server; `server.addr.port` is its port.
 */
export function serveStatic(
  root: string,
  options: { readonly hostname?: string; readonly port?: number } = {},
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: options.hostname ?? "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (request) => {
      const path = decodeURIComponent(new URL(request.url).pathname);
      const relative = normalize(path.endsWith("/") ? `${path}index.html` : path).replace(
        /^\/+/,
        "",
      );
      if (relative.startsWith("..")) return new Response("forbidden", { status: 403 });
      try {
        const body = await Deno.readFile(join(root, relative));
        return new Response(body, {
          headers: { "content-type": TYPES[extname(relative)] ?? "application/octet-stream" },
        });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      dir: { type: "string", default: "out/web" },
      port: { type: "string", default: "8000" },
    },
  });
  const server = serveStatic(values.dir, { port: Number(values.port) });
  console.log(`serving ${values.dir} on http://127.0.0.1:${server.addr.port}/`);
}
