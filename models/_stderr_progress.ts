/**
 * Progress on stderr, written once for the weights download and the CLI: on a terminal one line
 * rewritten in place (`\r…\x1b[K`), otherwise one plain line per message. Text written through
 * the same sink first ends an open progress line, so it never lands on top of it. Writes are best
 * effort: a closed stderr loses them silently.
 *
 * @module
 */

/**
 * A progress line and other text sharing stderr.
 *
 * @example
 * ```ts
 * import { stderrProgress } from "./_stderr_progress.ts";
 *
 * const line = stderrProgress();
 * line.progress("downloading… 40%");
 * line.progress("downloading… 80%"); // replaces the line above on a terminal
 * line.write("done\n"); // on its own line
 * ```
 */
export interface StderrProgress {
  /** Whether stderr is a terminal (the progress line is rewritten in place). */
  readonly tty: boolean;
  /**
   * Shows `message` as the progress line.
   *
   * @param message One line, without a newline.
   */
  progress(message: string): void;
  /**
   * Writes `text` as is, after ending an open progress line; `write("")` only ends it.
   *
   * @param text Text to write.
   */
  write(text: string): void;
}

/**
 * The process's stderr as a {@linkcode StderrProgress}.
 *
 * @returns A sink whose progress line is open until the next {@linkcode StderrProgress.write}.
 *
 * @example
 * ```ts
 * import { stderrProgress } from "./_stderr_progress.ts";
 *
 * const line = stderrProgress();
 * for (const percent of [0, 50, 100]) line.progress(`working ${percent}%`);
 * line.write(""); // ends the line on a terminal
 * ```
 */
export function stderrProgress(): StderrProgress {
  const tty = isStderrTerminal();
  const encoder = new TextEncoder();
  const writeSync = (text: string) => {
    try {
      Deno.stderr.writeSync(encoder.encode(text));
    } catch {
      // stderr closed or unavailable: progress is best effort.
    }
  };
  let open = false;
  return {
    tty,
    progress(message) {
      if (tty) {
        open = true;
        writeSync(`\r${message}\x1b[K`);
      } else {
        writeSync(`${message}\n`);
      }
    },
    write(text) {
      if (open) {
        open = false;
        text = `\n${text}`;
      }
      if (text) writeSync(text);
    },
  };
}

function isStderrTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}
