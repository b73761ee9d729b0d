/**
 * `.ci/run`'s bookkeeping, run in bash on its own functions (`count`, `run_tests`, `report_tests`,
 * `crashed_after_passing`) and its closing lines, with a fake test command: the rerun after a crash
 * at exit happens only in the step marked for it, keeps the crash's log, and is recorded on the line
 * before the final `N passed, N failed`.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { moduleTempDir } from "./support/temp_dir.ts";

const { tempDir } = await moduleTempDir("posenet_ci_run_");
const CI_RUN = fileURLToPath(new URL("../.ci/run", import.meta.url));

/** The functions of `.ci/run` (from `passed=0` to the first check) and its closing lines. */
async function ciParts(): Promise<{ functions: string; closing: string }> {
  const lines = (await Deno.readTextFile(CI_RUN)).split("\n");
  const start = lines.findIndex((l) => l.startsWith("passed=0"));
  const end = lines.findIndex((l) => l.startsWith("check "));
  const closing = lines.findIndex((l) => l.startsWith('echo "($SECONDS s in all)"'));
  assert.ok(start > 0 && end > start && closing > end, "the layout of .ci/run changed");
  return {
    functions: lines.slice(start, end).join("\n"),
    closing: lines.slice(closing).join("\n"),
  };
}

/**
 * Runs `body` in bash after `.ci/run`'s functions, with `fake` a test command that passes 3 tests
 * and then, on its first call only, crashes at exit like Mesa's GL driver did.
 */
async function runCi(body: string): Promise<{ out: string; code: number; log: string }> {
  const { functions, closing } = await ciParts();
  const log = await tempDir();
  const script = `set -uo pipefail
log=${JSON.stringify(log)}
step() { echo; echo "== $*"; }
calls=0
fake() {
  calls=$((calls + 1))
  echo "ok | 3 passed | 0 failed (1s)"
  if [ ! -e "$log/crashed" ]; then
    touch "$log/crashed"
    echo "free(): double free detected in tcache 2"
    echo "backtrace: #0 0xdead in llvmpipe_destroy_screen"
    return 134
  fi
}
${functions}
${body}
${closing}
`;
  const r = await new Deno.Command("bash", {
    args: ["-c", script],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return {
    out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr),
    code: r.code,
    log,
  };
}

Deno.test("`.ci/run` reruns a step that crashed at exit only where marked, and records it", async () => {
  const { out, code, log } = await runCi(
    'rerun_on_exit_crash=1 run_tests gl fake\nreport_tests gl "kernel tests on GL"',
  );
  assert.equal(code, 0, out);
  const lines = out.trimEnd().split("\n");
  assert.equal(lines.at(-1), "3 passed, 0 failed", out);
  assert.match(lines.at(-2)!, /^rerun after a crash at exit: kernel tests on GL \(rc 134, log /);
  assert.match(out, /WARNING: kernel tests on GL: every test passed, then the process crashed/);
  // The crash's log is kept, backtrace included, and its end shown.
  const kept = await Deno.readTextFile(`${log}/gl-crash.txt`);
  assert.match(kept, /double free/);
  assert.match(kept, /backtrace: #0/);
  assert.match(out, /WARNING: kernel tests on GL was run once more/);
  assert.equal(out.match(/backtrace: #0/g)?.length, 1, "the crashed run's end, shown once");
});

Deno.test("`.ci/run` counts a crash at exit as a failure in a step not marked for a rerun", async () => {
  const { out, code } = await runCi('run_tests vulkan fake\nreport_tests vulkan "tests on Vulkan"');
  assert.notEqual(code, 0, out);
  const lines = out.trimEnd().split("\n");
  assert.equal(lines.at(-1), "3 passed, 1 failed", out);
  assert.doesNotMatch(out, /rerun|once more/);
});

Deno.test("`.ci/run` runs the URL-import test once, inside `deno task test`", async () => {
  const ci = await Deno.readTextFile(CI_RUN);
  assert.doesNotMatch(ci, /url_import_test/);
  assert.match(ci, /deno task test\b/);
});
