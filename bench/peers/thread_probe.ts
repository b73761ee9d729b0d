/**
 * Per-thread CPU time of this process, from Linux's `/proc/<pid>/task/<tid>/stat`: how many
 * threads really worked while some code ran (to check that a "2-thread" peer uses two).
 *
 * @module
 */

/** CPU time one thread spent while the probed code ran. */
export interface ThreadTime {
  /** Thread id (the main thread's is the process id). */
  readonly tid: number;
  /** Thread name (`comm`), e.g. `deno`, `worker-1`, `V8 DefaultWorke`. */
  readonly name: string;
  /** User + system CPU milliseconds (10 ms resolution). */
  readonly cpuMs: number;
}

/** What {@linkcode probeThreads} measured. */
export interface ThreadProbe<T> {
  /** The probed function's result. */
  readonly result: T;
  /** Wall-clock milliseconds. */
  readonly wallMs: number;
  /** Threads that used any CPU, busiest first. */
  readonly threads: readonly ThreadTime[];
}

const TICK_MS = 10; // USER_HZ is 100 on Linux.

type Sample = Map<number, { name: string; ticks: number }>;

/** Parses `/proc/<pid>/task/<tid>/stat` lines (several may be concatenated). */
function parseStats(text: string, into: Sample): void {
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const open = line.indexOf("(");
    const close = line.lastIndexOf(")");
    const tid = Number(line.slice(0, open).trim());
    // After the parenthesised name: state is field 3, utime field 14, stime field 15.
    const rest = line.slice(close + 2).split(" ");
    into.set(tid, {
      name: line.slice(open + 1, close),
      ticks: Number(rest[11]) + Number(rest[12]),
    });
  }
}

/**
 * Every thread's CPU ticks. Deno refuses reads under `/proc/self` and `/proc/<pid>` without
 * `--allow-all`, so without it the files are read through `sh -c cat` (needs `--allow-run`).
 */
async function sample(): Promise<Sample> {
  const out: Sample = new Map();
  const dir = `/proc/${Deno.pid}/task`;
  try {
    for (const entry of Deno.readDirSync(dir)) {
      try {
        parseStats(Deno.readTextFileSync(`${dir}/${entry.name}/stat`), out);
      } catch {
        // The thread exited between the listing and the read.
      }
    }
    return out;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied)) {
      throw e;
    }
  }
  const { stdout } = await new Deno.Command("sh", {
    args: ["-c", `cat ${dir}/*/stat 2>/dev/null`],
    stdout: "piped",
    stderr: "null",
  }).output();
  parseStats(new TextDecoder().decode(stdout), out);
  if (out.size === 0) throw new Error(`cannot read ${dir}/*/stat`);
  return out;
}

/** Whether per-thread CPU times can be read here (Linux /proc, with read or run rights). */
export async function canProbeThreads(): Promise<boolean> {
  if (Deno.build.os !== "linux") return false;
  try {
    return (await sample()).has(Deno.pid);
  } catch {
    return false;
  }
}

/**
 * Runs `fn` and reports each thread's CPU time during it (10 ms resolution).
 *
 * @param fn The code to probe.
 * @returns Its result, the wall time and the per-thread CPU times.
 */
export async function probeThreads<T>(fn: () => Promise<T>): Promise<ThreadProbe<T>> {
  const before = await sample();
  const t0 = performance.now();
  const result = await fn();
  const wallMs = performance.now() - t0;
  const after = await sample();
  const threads: ThreadTime[] = [];
  for (const [tid, { name, ticks }] of after) {
    const cpuMs = (ticks - (before.get(tid)?.ticks ?? 0)) * TICK_MS;
    if (cpuMs > 0) threads.push({ tid, name, cpuMs });
  }
  threads.sort((a, b) => b.cpuMs - a.cpuMs);
  return { result, wallMs, threads };
}
