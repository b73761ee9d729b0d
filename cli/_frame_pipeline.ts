/**
 * A bounded, ordered pipeline of frames in flight: one loop reads frames and starts their work as
 * they arrive, another finishes them in order, and at most `inFlight` frames are between being
 * read and being finished. With several in flight the next frames are decoded and queued on the
 * detector while the oldest is drawn and encoded; with one, every stage waits for the others.
 *
 * @module
 */

/** The three stages of {@linkcode runFramePipeline}. */
export interface FramePipelineStages<F, R> {
  /** The next frame, or `undefined` after the last; called one at a time. */
  read(): Promise<F | undefined>;
  /** Starts a frame's work; called in read order, as soon as the frame is read. */
  start(frame: F, index: number): Promise<R>;
  /** Finishes a frame with its result; called in order, one at a time. */
  finish(frame: F, result: R, index: number): Promise<void>;
}

/** Options of {@linkcode runFramePipeline}. */
export interface FramePipelineOptions {
  /** Most frames read but not yet finished (at least 1). */
  readonly inFlight: number;
  /** Stops the run after the frame being finished; frames read but not finished are dropped. */
  readonly signal?: AbortSignal;
}

/** How a {@linkcode runFramePipeline} run ended. */
export interface FramePipelineResult {
  /** Frames finished. */
  readonly finished: number;
  /** Whether `signal` stopped it before the last frame. */
  readonly stopped: boolean;
}

/**
 * Runs frames through `stages` with at most `options.inFlight` in flight. The first error of any
 * stage stops the run and is thrown after every started frame's work has settled (so nothing
 * still runs on the detector when the caller disposes of it).
 *
 * @param stages Read, start and finish.
 * @param options Frames in flight and an abort signal.
 * @returns How many frames were finished, and whether the signal stopped the run.
 *
 * @example
 * ```ts
 * import { runFramePipeline } from "./_frame_pipeline.ts";
 *
 * const frames = [1, 2, 3, 4, 5];
 * const out: number[] = [];
 * const result = await runFramePipeline({
 *   read: () => Promise.resolve(frames.shift()),
 *   start: (frame) => Promise.resolve(frame * 10),
 *   finish: (_frame, result) => {
 *     out.push(result);
 *     return Promise.resolve();
 *   },
 * }, { inFlight: 3 });
 * console.log(out, result); // [10, 20, 30, 40, 50] { finished: 5, stopped: false }
 * ```
 */
export async function runFramePipeline<F, R>(
  stages: FramePipelineStages<F, R>,
  options: FramePipelineOptions,
): Promise<FramePipelineResult> {
  const inFlight = options.inFlight;
  if (!Number.isSafeInteger(inFlight) || inFlight < 1) {
    throw new RangeError(`inFlight must be a positive integer, got ${inFlight}`);
  }
  const pending: { frame: F; result: Promise<R> }[] = [];
  const halt = new AbortController();
  const signal = options.signal;
  const onAbort = () => halt.abort();
  signal?.addEventListener("abort", onAbort);
  if (signal?.aborted) halt.abort();
  const halted = new Promise<undefined>((resolve) => {
    halt.signal.addEventListener("abort", () => resolve(undefined));
  });
  let readDone = false;
  let reachedEnd = false;
  let wakeReader: (() => void) | undefined;
  let wakeFinisher: (() => void) | undefined;
  const wake = () => {
    wakeReader?.();
    wakeFinisher?.();
  };
  halt.signal.addEventListener("abort", wake);
  let finished = 0;

  const readLoop = async () => {
    try {
      let index = 0;
      while (!halt.signal.aborted) {
        if (pending.length >= inFlight) {
          await new Promise<void>((resolve) => wakeReader = resolve);
          wakeReader = undefined;
          continue;
        }
        const frame = await Promise.race([stages.read(), halted]);
        if (halt.signal.aborted) break;
        if (frame === undefined) {
          reachedEnd = true;
          break;
        }
        const result = stages.start(frame, index++);
        result.catch(() => {}); // seen by the finish loop; never unhandled
        pending.push({ frame, result });
        wakeFinisher?.();
      }
    } finally {
      readDone = true;
      wakeFinisher?.();
    }
  };

  const finishLoop = async () => {
    while (!halt.signal.aborted) {
      if (pending.length === 0) {
        if (readDone) break;
        await new Promise<void>((resolve) => wakeFinisher = resolve);
        wakeFinisher = undefined;
        continue;
      }
      const head = pending[0];
      const result = await head.result;
      await stages.finish(head.frame, result, finished);
      pending.shift();
      finished++;
      wakeReader?.();
    }
  };

  let failure: { error: unknown } | undefined;
  const guard = (loop: () => Promise<void>) => async () => {
    try {
      await loop();
    } catch (error) {
      failure ??= { error };
      halt.abort();
    }
  };
  try {
    await Promise.all([guard(readLoop)(), guard(finishLoop)()]);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    await Promise.allSettled(pending.map((p) => p.result));
  }
  if (failure) throw failure.error;
  return { finished, stopped: !reachedEnd || pending.length > 0 };
}
