/**
 * Network reads of the weights loaders, each with a connect/idle timeout and a byte cap: a server
 * that accepts and never answers, stops in the middle of a body, or sends more than the manifest
 * allows gives a {@linkcode ModelLoadError} within a bounded time instead of a hang or an
 * unbounded buffer.
 *
 * @module
 */

import { ModelLoadError } from "../errors.ts";
import { errorText } from "../_describe.ts";

/**
 * Default longest wait, in milliseconds, for a response's headers and then between two chunks of
 * its body.
 */
export const DEFAULT_NETWORK_TIMEOUT_MS = 30_000;

/** Options of {@linkcode openBounded}. */
export interface BoundedFetchOptions {
  /** The `fetch` to call; it receives an `AbortSignal` it should honour. */
  readonly fetch: typeof fetch;
  /** What is fetched, for messages, e.g. `model.json https://host/model.json`. */
  readonly what: string;
  /** Most bytes accepted in the body (a larger `content-length` is refused before reading). */
  readonly maxBytes: number;
  /** Longest wait for the headers, and then between two body chunks. */
  readonly timeoutMs: number;
  /** Checks the final (possibly redirected) URL of the response; throws to refuse it. */
  readonly checkUrl?: (url: URL) => void;
}

/** A response whose body enforces the timeout and the byte cap of {@linkcode openBounded}. */
export interface BoundedResponse {
  /** The response (status, headers); read its body only through `body`. */
  readonly response: Response;
  /** The body; reading it fails with a {@linkcode ModelLoadError} on a stall or overrun. */
  readonly body: ReadableStream<Uint8Array<ArrayBuffer>>;
  /** Releases the connection without reading the body. */
  cancel(): Promise<void>;
}

/**
 * Checks a timeout option: a positive finite number of milliseconds.
 *
 * @param value The option value (undefined gives the default).
 * @returns The timeout in milliseconds.
 * @throws {ModelLoadError} When it is not a positive finite number.
 */
export function networkTimeout(value: unknown): number {
  const ms = value ?? DEFAULT_NETWORK_TIMEOUT_MS;
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0) {
    throw new ModelLoadError(`timeoutMs must be a positive number of milliseconds, got ${ms}`);
  }
  return ms;
}

/**
 * Fetches `url` with a timeout on the headers and on every body chunk, and a cap on the body size.
 * The caller checks `response.ok` and reads `body` (or calls `cancel`).
 *
 * @param url The URL to fetch.
 * @param options The `fetch`, message label, byte cap, timeout and final-URL check.
 * @returns The response and its guarded body.
 * @throws {ModelLoadError} When the request fails or times out, the final URL is refused, or the
 *   announced length exceeds the cap.
 */
export async function openBounded(
  url: URL | string,
  options: BoundedFetchOptions,
): Promise<BoundedResponse> {
  const { what, maxBytes, timeoutMs } = options;
  const controller = new AbortController();
  const timed = <T>(promise: Promise<T>, waitingFor: string): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new ModelLoadError(
          `${what}: timed out after ${timeoutMs} ms waiting for ${waitingFor}`,
        );
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };

  let response: Response;
  // Called unbound: a browser's fetch throws "Illegal invocation" when called as a method of
  // another object (this options object).
  const fetchFn = options.fetch;
  try {
    response = await timed(
      fetchFn(url, { signal: controller.signal }),
      "the server to answer",
    );
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    throw new ModelLoadError(`cannot fetch ${what}: ${errorText(e)}`, { cause: e });
  }
  const cancel = async () => {
    controller.abort();
    await response.body?.cancel().catch(() => {});
  };
  try {
    if (response.url && options.checkUrl) {
      let final: URL;
      try {
        final = new URL(response.url);
      } catch {
        throw new ModelLoadError(`${what}: the response has an invalid URL ${response.url}`);
      }
      options.checkUrl(final);
    }
    const length = Number(response.headers.get("content-length") ?? NaN);
    if (Number.isFinite(length) && length > maxBytes) {
      throw new ModelLoadError(
        `${what} is ${length} bytes (content-length), more than the ${maxBytes} expected`,
      );
    }
  } catch (e) {
    await cancel();
    throw e;
  }

  const reader = response.body?.getReader();
  let received = 0;
  const body = new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(stream) {
      if (reader === undefined) return stream.close();
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await timed(reader.read(), `more data (${received} bytes received)`);
      } catch (e) {
        await reader.cancel().catch(() => {});
        if (e instanceof ModelLoadError) throw e;
        throw new ModelLoadError(
          `cannot fetch ${what}: ${errorText(e)} (${received} bytes received)`,
          { cause: e },
        );
      }
      if (chunk.done) return stream.close();
      received += chunk.value.byteLength;
      if (received > maxBytes) {
        controller.abort();
        await reader.cancel().catch(() => {});
        throw new ModelLoadError(`${what} is more than the ${maxBytes} bytes expected`);
      }
      stream.enqueue(chunk.value as Uint8Array<ArrayBuffer>);
    },
    async cancel(reason) {
      controller.abort();
      await reader?.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
  return { response, body, cancel };
}

/**
 * Reads a guarded body to its end.
 *
 * @param body A body from {@linkcode openBounded}.
 * @returns All its bytes.
 * @throws {ModelLoadError} On a stall, an overrun or a network error.
 */
export async function readAll(body: ReadableStream<Uint8Array<ArrayBuffer>>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    total += chunk.byteLength;
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
