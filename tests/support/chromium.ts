/**
 * Headless Chromium driven over the DevTools protocol with Deno's own WebSocket (no npm driver):
 * launch `chromium-headless-shell` with WebGPU enabled, open a page, evaluate expressions in it
 * (awaiting promises, values returned as JSON) and take screenshots. For the browser test and the
 * browser bench.
 *
 * @module
 */

/** Flags that give headless Chromium WebGPU on a machine without a GPU (ANGLE on lavapipe). */
export const CHROMIUM_WEBGPU_FLAGS: readonly string[] = Object.freeze([
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--use-webgpu-adapter=opengles",
  "--use-angle=vulkan",
]);

/** Where Debian's packages put the browser, newest kind first. */
const CANDIDATES = ["chromium-headless-shell", "chromium", "google-chrome"];

/** The path of an installed Chromium, or `undefined` when there is none. */
export async function findChromium(): Promise<string | undefined> {
  const explicit = Deno.env.get("CHROMIUM_BIN");
  if (explicit) return explicit;
  for (const name of CANDIDATES) {
    for (const dir of ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"]) {
      try {
        const info = await Deno.stat(`${dir}/${name}`);
        if (info.isFile) return `${dir}/${name}`;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

interface Pending {
  resolve(value: Record<string, unknown>): void;
  reject(error: Error): void;
}

/** A running headless Chromium with one page attached. */
export class ChromiumPage {
  readonly #process: Deno.ChildProcess;
  readonly #socket: WebSocket;
  readonly #sessionId: string;
  readonly #profile: string;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(method: string, params: Record<string, unknown>) => void>();
  /** Console lines and exceptions of the page, for failure messages. */
  readonly log: string[] = [];
  #nextId = 1;

  private constructor(
    process: Deno.ChildProcess,
    socket: WebSocket,
    sessionId: string,
    profile: string,
  ) {
    this.#process = process;
    this.#socket = socket;
    this.#sessionId = sessionId;
    this.#profile = profile;
  }

  /** Launches Chromium and attaches to a blank page. */
  static async launch(
    binary: string,
    options: {
      readonly flags?: readonly string[];
      readonly width?: number;
      readonly height?: number;
    } = {},
  ): Promise<ChromiumPage> {
    const profile = await Deno.makeTempDir({ prefix: "chromium-profile-" });
    const process = new Deno.Command(binary, {
      args: [
        "--headless",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        `--window-size=${options.width ?? 1280},${options.height ?? 800}`,
        ...(options.flags ?? CHROMIUM_WEBGPU_FLAGS),
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const url = await devToolsUrl(process.stderr);
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`cannot connect to Chromium's DevTools at ${url}`));
    });
    const page = new ChromiumPage(process, socket, "", profile);
    socket.onmessage = (event) => page.#receive(JSON.parse(String(event.data)));
    const { targetId } = await page.#send("Target.createTarget", { url: "about:blank" }, "");
    const { sessionId } = await page.#send(
      "Target.attachToTarget",
      { targetId, flatten: true },
      "",
    );
    const attached = new ChromiumPage(process, socket, String(sessionId), profile);
    socket.onmessage = (event) => attached.#receive(JSON.parse(String(event.data)));
    attached.#nextId = page.#nextId;
    await attached.send("Page.enable");
    await attached.send("Runtime.enable");
    attached.#listeners.add((method, params) => {
      if (method === "Runtime.consoleAPICalled") {
        const args = (params.args as { value?: unknown; description?: string }[])
          .map((a) => a.value ?? a.description ?? "").join(" ");
        attached.log.push(`console.${params.type}: ${args}`);
      } else if (method === "Runtime.exceptionThrown") {
        const details = params.exceptionDetails as {
          text: string;
          exception?: { description?: string };
        };
        attached.log.push(`exception: ${details.exception?.description ?? details.text}`);
      }
    });
    return attached;
  }

  #receive(message: Record<string, unknown>): void {
    if (typeof message.id === "number") {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.error) {
        pending.reject(new Error(`DevTools: ${JSON.stringify(message.error)}`));
      } else {
        pending.resolve((message.result ?? {}) as Record<string, unknown>);
      }
    } else if (typeof message.method === "string") {
      for (const listener of this.#listeners) {
        listener(message.method, (message.params ?? {}) as Record<string, unknown>);
      }
    }
  }

  #send(
    method: string,
    params: Record<string, unknown>,
    sessionId: string,
  ): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const message: Record<string, unknown> = { id, method, params };
    if (sessionId) message.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify(message));
    });
  }

  /** Sends one DevTools command to the page's session. */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.#send(method, params, this.#sessionId);
  }

  /** Navigates and waits for the load event. */
  async goto(url: string, timeoutMs = 30_000): Promise<void> {
    let done!: () => void;
    const loaded = new Promise<void>((resolve) => done = resolve);
    const listener = (method: string) => {
      if (method === "Page.loadEventFired") done();
    };
    this.#listeners.add(listener);
    try {
      await this.send("Page.navigate", { url });
      await withTimeout(loaded, timeoutMs, `loading ${url}`);
    } finally {
      this.#listeners.delete(listener);
    }
  }

  /**
   * Evaluates `expression` in the page, awaiting a promise, and returns its value as JSON.
   * A thrown error rejects with the page's message.
   */
  async evaluate<T>(expression: string, timeoutMs = 120_000): Promise<T> {
    const result = await withTimeout(
      this.send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }),
      timeoutMs,
      `evaluating ${expression.slice(0, 80)}`,
    );
    const details = result.exceptionDetails as
      | { text: string; exception?: { description?: string } }
      | undefined;
    if (details) {
      throw new Error(`in the page: ${details.exception?.description ?? details.text}`);
    }
    return (result.result as { value: T }).value;
  }

  /** A PNG screenshot of the viewport. */
  async screenshot(): Promise<Uint8Array> {
    const { data } = await this.send("Page.captureScreenshot", { format: "png" });
    return Uint8Array.from(atob(String(data)), (c) => c.charCodeAt(0));
  }

  /** Closes the browser (politely, then by force) and removes its profile. */
  async close(): Promise<void> {
    await withTimeout(this.#send("Browser.close", {}, ""), 5_000, "closing Chromium").catch(
      () => {},
    );
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
    const exited = await withTimeout(this.#process.status, 5_000, "Chromium's exit").then(
      () => true,
      () => false,
    );
    if (!exited) {
      try {
        this.#process.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

/** Reads Chromium's stderr until it prints its DevTools WebSocket address; drains the rest. */
async function devToolsUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stderr.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const found = await withTimeout(
    (async () => {
      while (true) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`Chromium exited before DevTools started: ${text.slice(-2000)}`);
        text += decoder.decode(value, { stream: true });
        const match = text.match(/DevTools listening on (ws:\/\/\S+)/);
        if (match) return match[1];
      }
    })(),
    30_000,
    "waiting for Chromium's DevTools address",
  );
  // Keep reading so the browser never blocks on a full pipe.
  (async () => {
    try {
      while (!(await reader.read()).done) { /* drain */ }
    } catch {
      // closed
    }
  })();
  return found;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
