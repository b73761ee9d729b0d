/**
 * The command line shared by the example applications: parse the flags, read the JSONL of poses
 * named on the command line, run one tracker per person over its frames, print what it reports,
 * and turn a bad input into one line `<command>: <message>` (never a stack trace).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type DetectedPose, InvalidInputError } from "../mod.ts";
import { parsePoseJsonl, poseTracks, trackLabel } from "./_pose_jsonl.ts";

/** Where an example command line writes and how it reads its file. */
export interface ExampleIo {
  /** Receives stdout text. */
  stdout(text: string): void;
  /** Receives stderr text. */
  stderr(text: string): void;
  /** Reads a file's text. */
  readTextFile(path: string): Promise<string>;
}

/** The flag values given, by name (string flags only; `undefined` when not given). */
export type FlagValues = Readonly<Record<string, string | undefined>>;

/** One application over a JSONL of poses: a tracker per person, fed frame by frame. */
export interface JsonlApp<T> {
  /** The command's name, starting each error line. */
  readonly command: string;
  /** The `--help` text. */
  readonly usage: string;
  /** Names of the string-valued flags (`--name VALUE`). */
  readonly flags: readonly string[];
  /**
   * Checks the flags and returns the maker of one tracker; called before the file is read.
   *
   * @throws {InvalidInputError} For a bad flag value.
   */
  make(flags: FlagValues): () => T;
  /** Feeds one frame to one person's tracker; returns a line to print, if any. */
  step(
    tracker: T,
    pose: DetectedPose | undefined,
    timestampMs: number,
    who: string,
  ): string | undefined;
  /** The closing lines, from every person's tracker (keyed `"person"`, `"person #3"`, …). */
  summary(trackers: ReadonlyMap<string, T>): string[];
}

/**
 * Reads a number flag.
 *
 * @param flags The flag values.
 * @param name The flag's name.
 * @returns The number, or `undefined` when the flag was not given.
 * @throws {InvalidInputError} `--name must be a number, got "…"`.
 *
 * @example
 * ```ts
 * import { numberFlag } from "./_jsonl_app.ts";
 *
 * console.log(numberFlag({ low: "95" }, "low"), numberFlag({}, "low")); // 95 undefined
 * ```
 */
export function numberFlag(flags: FlagValues, name: string): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) {
    throw new InvalidInputError(`--${name} must be a number, got ${JSON.stringify(v)}`);
  }
  return n;
}

/**
 * Runs an application on the command line `args`: one JSONL file and the app's flags. Persons
 * are keyed by track id (see `poseTracks`); each tracker is fed every frame from its person's
 * first one on, `undefined` where the person is not in the frame.
 *
 * @param app The application.
 * @param args The command's arguments.
 * @param io Where the text goes, and how the file is read.
 * @returns The exit code: 0, 1 for a bad input (or an unreadable file), 2 for a usage error.
 *
 * @example
 * ```ts
 * import { type JsonlApp, runJsonlApp } from "./_jsonl_app.ts";
 *
 * // Counts the frames each person is seen in.
 * const app: JsonlApp<{ seen: number }> = {
 *   command: "frames_seen",
 *   usage: "usage: frames_seen POSES.jsonl\n",
 *   flags: [],
 *   make: () => () => ({ seen: 0 }),
 *   step: (tracker, pose) => void (tracker.seen += pose === undefined ? 0 : 1),
 *   summary: (trackers) => [...trackers].map(([who, t]) => `${who}: ${t.seen}`),
 * };
 * const text = '{"frame":0,"timestampMs":0,"poses":[{"id":1,"score":1,"keypoints":[]}]}\n';
 * const code = await runJsonlApp(app, ["poses.jsonl"], {
 *   stdout: (s) => console.log(s.trimEnd()), // person #1: 1
 *   stderr: (s) => console.error(s.trimEnd()),
 *   readTextFile: () => Promise.resolve(text),
 * });
 * console.log(code); // 0
 * ```
 */
export async function runJsonlApp<T>(
  app: JsonlApp<T>,
  args: readonly string[],
  io: ExampleIo,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        ...Object.fromEntries(app.flags.map((name) => [name, { type: "string" as const }])),
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    io.stderr(`${app.command}: ${(e as Error).message}\n${app.usage}`);
    return 2;
  }
  if (parsed.values.help === true) {
    io.stdout(app.usage);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    io.stderr(`${app.command}: give one JSONL file of poses\n${app.usage}`);
    return 2;
  }
  const path = parsed.positionals[0];
  try {
    const make = app.make(parsed.values as FlagValues);
    const frames = parsePoseJsonl(await io.readTextFile(path), path);
    const trackers = new Map<string, T>();
    for (const { timestampMs, poses } of frames) {
      const tracks = poseTracks(poses);
      for (const key of tracks.keys()) if (!trackers.has(key)) trackers.set(key, make());
      for (const [key, tracker] of trackers) {
        const line = app.step(tracker, tracks.get(key), timestampMs, trackLabel(key));
        if (line !== undefined) io.stdout(`${(timestampMs / 1000).toFixed(3)} s  ${line}\n`);
      }
    }
    if (trackers.size === 0) io.stdout("no person in any frame\n");
    const byLabel = new Map([...trackers].map(([key, tracker]) => [trackLabel(key), tracker]));
    for (const line of app.summary(byLabel)) io.stdout(`${line}\n`);
    return 0;
  } catch (e) {
    if (e instanceof InvalidInputError) {
      io.stderr(`${app.command}: ${e.message}\n`);
      return 1;
    }
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) {
      io.stderr(`${app.command}: cannot read ${path}: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  }
}

/**
 * The process's streams and file system, for `import.meta.main`.
 *
 * @returns Writers that write all their bytes, and `Deno.readTextFile`.
 *
 * @example
 * ```ts
 * import { processIo } from "./_jsonl_app.ts";
 *
 * processIo().stdout("hello\n");
 * ```
 */
export function processIo(): ExampleIo {
  const writeAll = (stream: { writeSync(p: Uint8Array): number }, text: string) => {
    const bytes = new TextEncoder().encode(text);
    for (let at = 0; at < bytes.length;) at += stream.writeSync(bytes.subarray(at));
  };
  return {
    stdout: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => writeAll(Deno.stderr, text),
    readTextFile: (path) => Deno.readTextFile(path),
  };
}
