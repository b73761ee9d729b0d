/**
 * The bench's JSON report across providers: a tiny real run (input 33, this runtime only, no
 * kernel table) in a subprocess, checking the fields other tools read.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { moduleTempDir } from "./support/temp_dir.ts";

const REPO = new URL("..", import.meta.url);
const { tempDir } = await moduleTempDir("bench-report-test-");

interface Report {
  adapters: { provider: string; backend: string; featureLevel: string }[];
  timing: Record<string, string>;
  ceilings: { provider: string; roundTripMs: number; gflops: number; gbps: number }[];
  endToEnd: {
    engine: string;
    provider: string | null;
    resolution: number;
    mode: string;
    medianMs: number;
  }[];
  kernels: { provider: string; timing: string }[];
}

Deno.test("bench --webgpu deno,dawn writes one ceilings row and one engine per provider", async () => {
  const json = join(await tempDir(), "bench.json");
  const run = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-net=registry.npmjs.org",
      "--allow-run",
      "--allow-sys",
      "--allow-ffi",
      "--allow-import",
      "bench/bench.ts",
      "--quick",
      "--webgpu",
      "deno,dawn",
      "--engines",
      "this",
      "--resolutions",
      "33",
      "--no-kernels",
      "--no-video",
      "--json",
      json,
    ],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(run.stderr);
  assert.equal(run.code, 0, stderr);
  const report: Report = JSON.parse(await Deno.readTextFile(json));
  assert.deepEqual(report.adapters.map((a) => a.provider), ["deno", "dawn"]);
  assert.deepEqual(report.ceilings.map((c) => c.provider), ["deno", "dawn"]);
  for (const c of report.ceilings) {
    assert.ok(c.roundTripMs > 0 && Number.isFinite(c.roundTripMs), `${c.provider} round trip`);
    assert.ok(c.gflops > 0 && c.gbps > 0, `${c.provider} ceilings`);
  }
  assert.ok(["timestamp-query", "cpu-batched"].includes(report.timing.dawn));
  const rows = report.endToEnd.map((f) => `${f.engine}/${f.provider}/${f.resolution}/${f.mode}`);
  assert.deepEqual(rows.sort(), [
    "this/dawn/33/latency",
    "this/dawn/33/throughput",
    "this/deno/33/latency",
    "this/deno/33/throughput",
  ]);
  assert.ok(report.endToEnd.every((f) => f.medianMs > 0));
  assert.deepEqual(report.kernels, []);
  const text = new TextDecoder().decode(run.stdout);
  assert.match(text, /\| this \(dawn\) +\| 33 /);
  assert.match(text, /dawn: .*round trip [0-9.]+ ms/);
});
