/**
 * An HTTP/1.1 server on 127.0.0.1 over raw TCP that misbehaves on purpose: it can accept and never
 * answer, stop in the middle of a body, send more than it announced, or redirect. Every connection
 * is closed when the server is disposed, and a hanging connection gives up by itself after
 * `maxHangMs`, so no test can hang on it.
 *
 * @module
 */

/** What the server does with one request. */
export type Behaviour =
  /** Accepts, reads the request, and never answers. */
  | { readonly kind: "hang" }
  /** Sends the headers (with `content-length` of the full body) and the first `sent` bytes. */
  | { readonly kind: "stall"; readonly body: Uint8Array; readonly sent: number }
  /** A normal answer; `contentLength: false` streams the body without a length. */
  | {
    readonly kind: "ok";
    readonly body: Uint8Array;
    readonly contentLength?: boolean;
    readonly headers?: Record<string, string>;
  }
  /** A redirect to `location`. */
  | { readonly kind: "redirect"; readonly location: string; readonly status?: number }
  /** A plain status with a short text body. */
  | { readonly kind: "status"; readonly status: number };

/** A running misbehaving server. */
export interface MisbehavingServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Request paths, in arrival order. */
  readonly requests: string[];
  /** Closes the listener and every connection. */
  [Symbol.asyncDispose](): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Starts a server answering each request path with the behaviour `route` picks.
 *
 * @param route The behaviour for a request path.
 * @param maxHangMs Longest a hanging or stalled connection stays open.
 * @returns The server.
 */
export function serveMisbehaving(
  route: (path: string) => Behaviour,
  maxHangMs = 10_000,
): MisbehavingServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: string[] = [];
  const conns = new Set<Deno.Conn>();
  const closed = Promise.withResolvers<void>();
  const handlers: Promise<void>[] = [];

  const hang = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, maxHangMs);
      closed.promise.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });

  async function handle(conn: Deno.Conn): Promise<void> {
    try {
      const head = await readHead(conn);
      if (head === undefined) return;
      const path = head.split(" ")[1] ?? "/";
      requests.push(path);
      const b = route(path);
      const write = async (data: Uint8Array) => {
        let at = 0;
        while (at < data.length) at += await conn.write(data.subarray(at));
      };
      const headers = (status: string, extra: Record<string, string>) =>
        encoder.encode(
          `HTTP/1.1 ${status}\r\nconnection: close\r\n` +
            Object.entries(extra).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n",
        );
      if (b.kind === "hang") {
        await hang();
      } else if (b.kind === "stall") {
        await write(headers("200 OK", { "content-length": String(b.body.length) }));
        await write(b.body.subarray(0, b.sent));
        await hang();
      } else if (b.kind === "ok") {
        const extra: Record<string, string> = { ...b.headers };
        if (b.contentLength !== false) extra["content-length"] = String(b.body.length);
        await write(headers("200 OK", extra));
        await write(b.body);
      } else if (b.kind === "redirect") {
        await write(headers(`${b.status ?? 302} Found`, {
          location: b.location,
          "content-length": "0",
        }));
      } else {
        const text = encoder.encode(`status ${b.status}`);
        await write(headers(`${b.status} Status`, { "content-length": String(text.length) }));
        await write(text);
      }
    } catch {
      // the client went away
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // closed already
      }
    }
  }

  const loop = (async () => {
    try {
      for await (const conn of listener) {
        conns.add(conn);
        handlers.push(handle(conn));
      }
    } catch {
      // listener closed
    }
  })();

  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    requests,
    async [Symbol.asyncDispose]() {
      closed.resolve();
      try {
        listener.close();
      } catch {
        // closed already
      }
      await loop;
      await Promise.all(handlers);
    },
  };
}

/** Reads the request head (up to the blank line); undefined when the client closes first. */
async function readHead(conn: Deno.Conn): Promise<string | undefined> {
  const buffer = new Uint8Array(16 * 1024);
  let length = 0;
  while (length < buffer.length) {
    const n = await conn.read(buffer.subarray(length));
    if (n === null) return undefined;
    length += n;
    const text = new TextDecoder().decode(buffer.subarray(0, length));
    if (text.includes("\r\n\r\n")) return text;
  }
  return undefined;
}
