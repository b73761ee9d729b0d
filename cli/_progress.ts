/**
 * The `pose video` progress line: {@linkcode formatProgress} writes it (frames done of the total,
 * a bar, frames/s, time left), {@linkcode frameProgress} shows it on stderr: rewritten in place at
 * most 10 times a second on a terminal, else one plain line every 10 seconds.
 *
 * @module
 */

import type { StderrProgress } from "../models/_stderr_progress.ts";

/** What {@linkcode formatProgress} shows. */
export interface ProgressState {
  /** Frames finished. */
  readonly done: number;
  /** Frames in the video, when known. */
  readonly total?: number;
  /** Milliseconds since the start. */
  readonly elapsedMs: number;
  /** The rate to show; default `done / elapsed`. */
  readonly framesPerSecond?: number;
}

/**
 * `m:ss` (or `h:mm:ss`) of a number of seconds, rounded up.
 *
 * @param seconds At least 0.
 * @returns The clock text.
 *
 * @example
 * ```ts
 * import { clockText } from "./_progress.ts";
 * console.log(clockText(7.2), clockText(3725)); // "0:08" "1:02:05"
 * ```
 */
export function clockText(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const two = (n: number) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

/**
 * The progress line: `frames 37/120 [######--------------]  31%  12.4 frames/s  ETA 0:07`; without
 * a total, `frames 37  12.4 frames/s`. The rate is `framesPerSecond`, else the mean since the start;
 * the bar is 20 cells.
 *
 * @param state Frames done, the total, the time so far.
 * @returns One line without a newline.
 *
 * @example
 * ```ts
 * import { formatProgress } from "./_progress.ts";
 * console.log(formatProgress({ done: 30, total: 120, elapsedMs: 2500 }));
 * // "frames 30/120 [#####---------------]  25%  12.0 frames/s  ETA 0:08"
 * ```
 */
export function formatProgress(state: ProgressState): string {
  const { done, total, elapsedMs } = state;
  const rate = state.framesPerSecond ?? (elapsedMs > 0 ? done / (elapsedMs / 1000) : 0);
  const rateText = `${rate.toFixed(1)} frames/s`;
  if (total === undefined || total <= 0) return `frames ${done}  ${rateText}`;
  const fraction = Math.min(1, done / total);
  const cells = Math.round(fraction * 20);
  const bar = `[${"#".repeat(cells)}${"-".repeat(20 - cells)}]`;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const eta = rate > 0 ? clockText(Math.max(0, total - done) / rate) : "?";
  return `frames ${done}/${total} ${bar} ${percent}  ${rateText}  ETA ${eta}`;
}

/** A progress display fed one call per finished frame. */
export interface FrameProgress {
  /** Records that `done` frames are finished; shows the line when it is time. */
  update(done: number): void;
  /** Ends the line (on a terminal) after showing the final state. */
  end(done: number): void;
}

/**
 * Shows {@linkcode formatProgress} on `sink`: on a terminal at most every 100 ms, in place;
 * otherwise a plain line every `plainEveryMs` (10 s). The rate counts from the first finished frame
 * on (the first one also pays for the GPU pipelines' compilation), once there are two.
 *
 * @param sink stderr's progress line (`stderrProgress()`).
 * @param total Frames in the video, when known.
 * @param now The clock, in milliseconds (tests pass their own).
 * @param plainEveryMs How often a plain line is written when the sink is not a terminal.
 * @returns The display.
 *
 * @example
 * ```ts
 * import { frameProgress } from "./_progress.ts";
 *
 * const lines: string[] = [];
 * let t = 0;
 * const progress = frameProgress(
 *   { tty: true, progress: (m) => void lines.push(m), write: () => {} },
 *   10,
 *   () => t,
 * );
 * for (let i = 1; i <= 10; i++) (t += 50, progress.update(i));
 * progress.end(10);
 * console.log(lines.at(-1)); // "frames 10/10 [####################] 100%  20.0 frames/s  ETA 0:00"
 * ```
 */
export function frameProgress(
  sink: StderrProgress,
  total: number | undefined,
  now: () => number = () => performance.now(),
  plainEveryMs = 10_000,
): FrameProgress {
  const start = now();
  const every = sink.tty ? 100 : plainEveryMs;
  let shown = start;
  let first: { at: number; done: number } | undefined;
  const show = (done: number) => {
    shown = now();
    const framesPerSecond = first !== undefined && done > first.done && shown > first.at
      ? (done - first.done) / ((shown - first.at) / 1000)
      : undefined;
    sink.progress(formatProgress({ done, total, elapsedMs: shown - start, framesPerSecond }));
  };
  return {
    update(done) {
      first ??= { at: now(), done };
      if (now() - shown >= every) show(done);
    },
    end(done) {
      if (sink.tty) {
        show(done);
        sink.write("");
      }
    },
  };
}
