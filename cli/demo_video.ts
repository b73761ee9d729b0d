/**
 * `deno task demo:video`: the `pose video` command on a real clip. The clip (OpenCV's sample
 * `vtest.avi`, people walking across a campus; see `_demo_clip.ts` for its source and licence) is
 * downloaded once and cached; the annotated video goes to `out/demo_video.mp4` and the poses to
 * `out/demo_video.jsonl`. The model is MoveNet MultiPose at a 512 longer side (1–6 walkers at a
 * time, each tracked with its own id and colour) unless the extra arguments name another; extra arguments go to the
 * command, e.g. `deno task demo:video --model movenet-thunder`.
 *
 * @module
 */

import { errorLine, processIo, runPoseCli } from "./pose.ts";
import { DEMO_CLIP, fetchDemoClip } from "./_demo_clip.ts";

/** Where the demo writes. */
export const DEMO_VIDEO_OUT = "out/demo_video.mp4";
/** Where the demo writes the poses. */
export const DEMO_VIDEO_JSONL = "out/demo_video.jsonl";
/**
 * The demo's model when the extra arguments name none: MultiPose with a 512 longer side (at
 * pose-detection's 256 the clip's walkers, 40–130 px tall in 768 × 576, are mostly too small).
 */
export const DEMO_VIDEO_MODEL: readonly string[] = [
  "--model",
  "movenet-multipose",
  "--max-dimension",
  "512",
];

/**
 * Runs the video demo.
 *
 * @param extra Arguments added to the `pose video` command line.
 * @returns The exit code.
 */
export async function runVideoDemo(extra: readonly string[]): Promise<number> {
  const io = processIo();
  let clip: string;
  try {
    clip = await fetchDemoClip({ onProgress: io.progress });
  } catch (err) {
    io.stderr(`demo: ${errorLine(err)}\n`);
    return 1;
  }
  io.stderr(`demo: the clip is ${DEMO_CLIP.credit}\n`);
  const code = await runPoseCli(
    [
      "video",
      clip,
      "--out",
      DEMO_VIDEO_OUT,
      "--jsonl",
      DEMO_VIDEO_JSONL,
      ...(extra.some((a) => a === "--model" || a.startsWith("--model=")) ? [] : DEMO_VIDEO_MODEL),
      ...extra,
    ],
    { ...io, cwd: undefined },
  );
  io.stderr("");
  return code;
}

if (import.meta.main) {
  Deno.exit(await runVideoDemo(Deno.args));
}
