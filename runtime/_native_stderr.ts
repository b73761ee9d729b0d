/**
 * Capturing what native code (Dawn's addon, Mesa) writes to file descriptor 2 while a synchronous
 * call runs, so that adapter probing does not spray the user's terminal with warnings about
 * backends that were tried and rejected, and so that those warnings can be quoted in the error
 * when every backend fails.
 *
 * It uses libc through Deno's FFI (`pipe`, `dup`, `dup2`, `fcntl`, `read`, `close`), which the Dawn
 * provider needs anyway (`--allow-ffi`). Where libc cannot be opened (not Linux, or FFI denied) the
 * call runs with stderr as it is and nothing is captured.
 *
 * @module
 */

/** What a captured call returned and what native code wrote to stderr meanwhile. */
export interface Captured<T> {
  /** `fn`'s result. */
  readonly result: T;
  /** Text written to fd 2 during the call (up to 64 KiB), `""` when capture was unavailable. */
  readonly stderr: string;
}

const O_NONBLOCK = 0o4000;
const F_GETFL = 3;
const F_SETFL = 4;
const PIPE_CAPACITY = 64 * 1024;

const LIBC_SYMBOLS = {
  pipe: { parameters: ["buffer"], result: "i32" },
  dup: { parameters: ["i32"], result: "i32" },
  dup2: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

let libc: Libc | null | undefined;

function openLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    libc = Deno.build.os === "linux" ? Deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols : null;
  } catch {
    libc = null;
  }
  return libc;
}

/**
 * Runs `fn` with fd 2 redirected into a pipe and returns what was written there. `fn` must be
 * synchronous: anything written after it returns goes to the real stderr again. Output beyond the
 * pipe's 64 KiB is dropped rather than blocking the writer.
 *
 * @param fn The call whose native stderr output to capture.
 * @returns `fn`'s result and the captured text.
 */
export function captureNativeStderr<T>(fn: () => T): Captured<T> {
  const c = openLibc();
  if (c === null) return { result: fn(), stderr: "" };
  const fds = new Int32Array(2);
  if (c.pipe(fds) !== 0) return { result: fn(), stderr: "" };
  const [readEnd, writeEnd] = fds;
  // Neither end may block: a full pipe must not stall the writer, an empty one not the reader.
  for (const fd of fds) c.fcntl(fd, F_SETFL, c.fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
  const saved = c.dup(2);
  if (saved < 0 || c.dup2(writeEnd, 2) < 0) {
    c.close(readEnd);
    c.close(writeEnd);
    if (saved >= 0) c.close(saved);
    return { result: fn(), stderr: "" };
  }
  let result: T;
  let text = "";
  try {
    result = fn();
  } finally {
    c.dup2(saved, 2);
    c.close(saved);
    c.close(writeEnd);
    const chunk = new Uint8Array(PIPE_CAPACITY);
    const decoder = new TextDecoder();
    for (;;) {
      const n = Number(c.read(readEnd, chunk, BigInt(chunk.length)));
      if (n <= 0) break;
      text += decoder.decode(chunk.subarray(0, n), { stream: true });
    }
    c.close(readEnd);
    text += decoder.decode();
  }
  return { result, stderr: text };
}
